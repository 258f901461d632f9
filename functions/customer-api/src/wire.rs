//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the router. `main.rs` and the deployment's multi-call binary both start here.
use crate::{router, CustomerApi};
use scrm_adapters::bootstrap::Container;
use scrm_core::clock::SystemClock;
use std::sync::Arc;

/// Builds the API once and serves requests.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let api = CustomerApi {
        points: c.points(),
        directory: c.directory(),
        tenants: c.tenants(),
        clock: Arc::new(SystemClock),
        signing_key: c.signing_keys()?,
    };
    router(Arc::new(api)).serve().await
}
