//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::{handle, CallbackSweep, SWEEP_BATCH};
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_adapters::lambda::Invocation;
use scrm_core::clock::SystemClock;
use scrm_core::contacts::inbox::InboxSettings;
use std::sync::Arc;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let sweep = CallbackSweep {
        tenants: c.tenants_with_secrets()?,
        dir: c.directory(),
        tags: c.tags(),
        source: c.wecom(WeComUse::Background)?,
        publisher: c.publisher(),
        clock: Arc::new(SystemClock),
        settings: InboxSettings::default(),
        batch: SWEEP_BATCH,
    };
    let sweep = &sweep;
    // Boxed: the inbox's nested futures overflow the compiler's depth limit unboxed.
    lambda_runtime::run(lambda_runtime::service_fn(|event| -> Invocation<'_> {
        Box::pin(async move { handle(sweep, event).await })
    }))
    .await
}
