//! Wiring only: the container's adapters, built once per cold start, handed to the handler.
//! `main.rs` and the deployment's multi-call binary both start here.
use crate::{handle, CodeCache, LinkRedirect};
use scrm_adapters::bootstrap::Container;
use scrm_core::clock::SystemClock;
use std::sync::Arc;

/// Builds the handler once and serves requests.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let handler = LinkRedirect {
        store: c.growth(),
        publisher: c.publisher(),
        // Without the signing keys every visitor is anonymous (counted, not identified).
        signing_keys: c.signing_keys().ok(),
        clock: Arc::new(SystemClock),
        cache: CodeCache::default(),
    };
    lambda_http::run(lambda_http::service_fn(|req| handle(&handler, req))).await
}
