//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::handle;
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_core::clock::SystemClock;
use scrm_core::sop::dispatch::Dispatcher;
use std::sync::Arc;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let wecom = c.wecom(WeComUse::Background)?;
    let dispatcher = Dispatcher {
        store: c.sop(),
        directory: c.directory(),
        materials: c.materials(&wecom)?,
        links: c.link_tracker(),
        wecom,
        tenants: c.tenants_with_secrets()?,
        clock: Arc::new(SystemClock),
        signing_key: c.signing_keys()?,
        public_base_url: c.config.public_base_url.clone(),
        staff_pages_url: c.config.staff_pages_url.clone(),
    };
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        handle(&dispatcher, event)
    }))
    .await
}
