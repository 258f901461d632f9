//! Structured logs: JSON in Lambda (and whenever `LOG_FORMAT=json`), human-readable
//! otherwise. Every handler opens a span carrying the tenant and the request id, so every
//! line it logs carries them too.
//!
//! The level filter is `tracing_subscriber`'s `Targets` (`info`, or `warn,scrm_core=debug`),
//! not `EnvFilter`: the same directives without the regex engine in every binary.
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, Layer};

/// The filter from `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls) or
/// `RUST_LOG`; `info` when neither is set or parses.
fn filter() -> Targets {
    ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find_map(|raw| raw.to_ascii_lowercase().parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// Installs the global subscriber once; later calls are no-ops (tests call it freely).
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok()
        || std::env::var("LOG_FORMAT")
            .map(|v| v == "json")
            .unwrap_or(false);
    let layer = if json {
        fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .without_time()
            .with_target(false)
            .boxed()
    } else {
        fmt::layer().with_ansi(false).with_target(false).boxed()
    };
    // An already-installed subscriber is fine: tests and local tools initialise repeatedly.
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter()))
        .try_init();
}
