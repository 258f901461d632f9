//! `points-expiry-sweep`: hourly. For every tenant whose local day has turned since its
//! last sweep, expires the lots past their validity, oldest day first, as ledger entries.
//! Reads only the lots indexed as expiring on the days swept (sharded index), so its cost
//! follows the expiring lots, not the table. A re-run of a swept day reads nothing; a run
//! stopped halfway resumes from the tenant's cursor. The sweep lives in
//! `scrm_core::points::sweep_all`; this sets its time budget from the invocation.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_core::clock::Clock;
use scrm_core::points::error::EventFnError;
use scrm_core::points::ports::{LedgerStore, SweepStore};
use scrm_core::points::sweep_all::sweep_all;
use scrm_core::tenants::TenantLookup;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Time kept back from the invocation's deadline.
const SAFETY_MARGIN: Duration = Duration::from_secs(60);

/// Handles one scheduled invocation.
pub async fn handle<S, T>(
    points: &S,
    tenants: &T,
    clock: &dyn Clock,
    event: LambdaEvent<Value>,
) -> Result<Value, EventFnError>
where
    S: LedgerStore + SweepStore,
    T: TenantLookup,
{
    // The invocation's own time, not the input's scheduled time: a retry hours later
    // sweeps the days that have turned by then.
    let now = clock.now();
    let deadline = (event.context.deadline > 0).then(|| {
        let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        Instant::now()
            + Duration::from_millis(event.context.deadline.saturating_sub(now_ms))
                .saturating_sub(SAFETY_MARGIN)
    });
    let span = tracing::info_span!("expiry_sweep", request_id = %event.context.request_id);
    let swept = sweep_all(points, tenants, now, deadline)
        .instrument(span)
        .await?;
    Ok(json!({ "swept": swept }))
}
