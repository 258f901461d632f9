//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::{handle, CallbackHandler, CallbackPolicy};
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_core::clock::SystemClock;
use std::sync::Arc;

/// Builds the handler once and serves requests.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let policy = CallbackPolicy::default();
    let handler = CallbackHandler {
        tenants: c.tenants(),
        dir: c.directory(),
        tags: c.tags(),
        source: c.wecom(WeComUse::WhileCallbackWaits {
            budget: policy.fetch_budget,
        })?,
        publisher: c.publisher(),
        clock: Arc::new(SystemClock),
        policy,
    };
    lambda_http::run(lambda_http::service_fn(|req| handle(&handler, req))).await
}
