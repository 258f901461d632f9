//! Structured logs: JSON in Lambda (and whenever `LOG_FORMAT=json`), human-readable
//! otherwise. Every handler opens a span carrying the tenant and the request id, so every
//! line it logs carries them too.
use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber once; later calls are no-ops (tests call it freely).
pub fn init() {
    let filter = EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok()
        || std::env::var("LOG_FORMAT")
            .map(|v| v == "json")
            .unwrap_or(false);
    let builder = fmt().with_env_filter(filter).with_target(false);
    let result = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .without_time()
            .try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
    // An already-installed subscriber is fine: tests and local tools initialise repeatedly.
    let _ = result;
}
