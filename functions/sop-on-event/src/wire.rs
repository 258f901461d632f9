//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::handle;
use scrm_adapters::bootstrap::Container;
use scrm_core::clock::SystemClock;
use scrm_core::sop::on_event::OnEvent;
use std::sync::Arc;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let handler = OnEvent {
        store: c.sop(),
        tenants: c.tenants(),
        clock: Arc::new(SystemClock),
    };
    lambda_runtime::run(lambda_runtime::service_fn(|event| handle(&handler, event))).await
}
