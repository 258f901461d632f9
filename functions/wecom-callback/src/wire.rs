//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::{
    handle, CallbackHandler, CallbackPolicy, DEFAULT_TIMESTAMP_WINDOW, MAX_TIMESTAMP_WINDOW,
};
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_core::clock::SystemClock;
use std::sync::Arc;
use std::time::Duration;

/// Builds the handler once and serves requests.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let policy = CallbackPolicy {
        timestamp_window: timestamp_window_from_env()?,
        ..CallbackPolicy::default()
    };
    let handler = CallbackHandler {
        tenants: c.tenants_with_secrets()?,
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

/// `CALLBACK_TIMESTAMP_WINDOW_SECONDS` (default 900): a malformed or out-of-range value
/// fails the cold start, not a callback.
fn timestamp_window_from_env() -> Result<Duration, lambda_runtime::Error> {
    let Ok(raw) = std::env::var("CALLBACK_TIMESTAMP_WINDOW_SECONDS") else {
        return Ok(DEFAULT_TIMESTAMP_WINDOW);
    };
    match raw.trim().parse::<u64>() {
        Ok(secs) if secs >= 60 && secs <= MAX_TIMESTAMP_WINDOW.as_secs() => {
            Ok(Duration::from_secs(secs))
        }
        _ => Err(format!(
            "CALLBACK_TIMESTAMP_WINDOW_SECONDS must be whole seconds from 60 to {}, not {raw:?}",
            MAX_TIMESTAMP_WINDOW.as_secs()
        )
        .into()),
    }
}
