//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::handle;
use scrm_adapters::bootstrap::Container;
use scrm_adapters::lambda::FnError;
use scrm_core::clock::SystemClock;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let (points, directory, tenants) = (c.points(), c.directory(), c.tenants());
    lambda_runtime::run(lambda_runtime::service_fn(|event| async {
        handle(&points, &directory, &tenants, &SystemClock, event)
            .await
            .map_err(FnError::from)
    }))
    .await
}
