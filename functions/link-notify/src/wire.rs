//! Wiring only: the container's adapters and WeCom client, built once per cold start,
//! handed to the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::{handle, LinkNotify};
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_core::clock::SystemClock;
use std::sync::Arc;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let handler = LinkNotify {
        store: c.growth(),
        messenger: c.wecom(WeComUse::Background)?,
        facts: c.directory(),
        tenants: c.tenants_with_secrets()?,
        clock: Arc::new(SystemClock),
    };
    lambda_runtime::run(lambda_runtime::service_fn(|event| handle(&handler, event))).await
}
