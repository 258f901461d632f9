//! The deployment's one binary. Every function of `infra/template.yaml` ships this same
//! `bootstrap` and says which function it is in `SCRM_FUNCTION`; each keeps its own role,
//! triggers and settings. One binary instead of fifteen makes the deployment build link once
//! (minutes instead of twenty) and share one copy of the SDKs; the per-function crates still
//! build their own binaries for local runs (`cargo lambda watch`).
use lambda_runtime::Error;

/// The functions this binary can be, by the name the template gives in `SCRM_FUNCTION`.
const FUNCTIONS: [&str; 17] = [
    "wecom-callback",
    "admin-api",
    "customer-api",
    "staff-api",
    "points-on-event",
    "growth-on-event",
    "growth-rota",
    "points-jobs",
    "points-expiry-sweep",
    "sop-dispatch",
    "sop-dispatch-worker",
    "sop-on-event",
    "sop-result-sync",
    "directory-resync",
    "callback-sweep",
    "link-redirect",
    "link-notify",
];

// Lambda gives an execution environment one invocation at a time: a single-threaded runtime
// serves it (the handlers' own concurrency, e.g. parallel DynamoDB reads, still interleaves).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let name = std::env::var("SCRM_FUNCTION").unwrap_or_default();
    match name.as_str() {
        "wecom-callback" => wecom_callback_fn::wire::run().await,
        "admin-api" => admin_api_fn::wire::run().await,
        "customer-api" => customer_api_fn::wire::run().await,
        "staff-api" => staff_api_fn::wire::run().await,
        "points-on-event" => points_on_event_fn::wire::run().await,
        "growth-on-event" => growth_on_event_fn::wire::run().await,
        "growth-rota" => growth_rota_fn::wire::run().await,
        "points-jobs" => points_jobs_fn::wire::run().await,
        "points-expiry-sweep" => points_expiry_sweep_fn::wire::run().await,
        "sop-dispatch" => sop_dispatch_fn::wire::run().await,
        "sop-dispatch-worker" => sop_dispatch_worker_fn::wire::run().await,
        "sop-on-event" => sop_on_event_fn::wire::run().await,
        "sop-result-sync" => sop_result_sync_fn::wire::run().await,
        "directory-resync" => directory_resync_fn::wire::run().await,
        "callback-sweep" => callback_sweep_fn::wire::run().await,
        "link-redirect" => link_redirect_fn::wire::run().await,
        "link-notify" => link_notify_fn::wire::run().await,
        other => Err(format!(
            "SCRM_FUNCTION is {other:?}; it must be one of {}",
            FUNCTIONS.join(", ")
        )
        .into()),
    }
}
