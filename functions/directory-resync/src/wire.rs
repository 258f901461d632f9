//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::{handle, ResyncSettings, Resyncer};
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_adapters::lambda::{FnError, Invocation};
use scrm_core::clock::SystemClock;
use std::sync::Arc;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let resyncer = Resyncer {
        tenants: c.tenants_with_secrets()?,
        dir: c.directory(),
        points: c.points(),
        tags: c.tags(),
        source: c.wecom(WeComUse::Background)?,
        publisher: c.publisher(),
        clock: Arc::new(SystemClock),
        settings: ResyncSettings::default(),
    };
    let resyncer = &resyncer;
    lambda_runtime::run(lambda_runtime::service_fn(|event| -> Invocation<'_> {
        Box::pin(async move { handle(resyncer, event).await.map_err(FnError::from) })
    }))
    .await
}
