//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::{handle, GrowthOnEvent};
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_core::clock::SystemClock;
use std::sync::Arc;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    // The welcome's 20 s window is short: WeCom's busy answers are retried briefly by the
    // client, then within the window by the use case.
    let wecom = c.wecom(WeComUse::PersonWaiting)?;
    let handler = GrowthOnEvent {
        store: c.growth(),
        materials: c.materials(&wecom)?,
        links: c.link_tracker(),
        wecom,
        facts: c.directory(),
        tenants: c.tenants_with_secrets()?,
        clock: Arc::new(SystemClock),
    };
    lambda_runtime::run(lambda_runtime::service_fn(|event| handle(&handler, event))).await
}
