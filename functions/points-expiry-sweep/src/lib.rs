//! `points-expiry-sweep`: hourly. For every tenant whose local day has turned since its
//! last sweep, expires the lots past their validity, oldest day first, as ledger entries.
//! Reads only the lots indexed as expiring on the days swept (sharded index), so its cost
//! follows the expiring lots, not the table. A re-run of a swept day reads nothing; a run
//! stopped halfway resumes from the tenant's cursor.
pub mod wire;

use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use scrm_core::clock::Clock;
use scrm_core::points::error::EventFnError;
use scrm_core::points::ports::{LedgerStore, SweepStore};
use scrm_core::points::sweep::{sweep_tenant, SweepReport};
use scrm_core::points::When;
use scrm_core::tenants::TenantLookup;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Tenants swept at once.
const TENANT_CONCURRENCY: usize = 4;
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
    async {
        let ids = tenants.tenant_ids().await?;
        let results: Vec<Result<SweepReport, (String, EventFnError)>> = futures::stream::iter(ids)
            .map(|id| async move {
                let tz = match tenants.tenant(&id).await {
                    Ok(Some(t)) => t.settings.tz(),
                    Ok(None) => return Ok(SweepReport::default()),
                    Err(e) => return Err((id.to_string(), e.into())),
                };
                sweep_tenant(points, &id, When::new(now, tz), deadline)
                    .instrument(tracing::info_span!("tenant", tenant = %id))
                    .await
                    .map_err(|e| (id.to_string(), e.into()))
            })
            .buffer_unordered(TENANT_CONCURRENCY)
            .collect()
            .await;
        let mut swept = Vec::new();
        let mut failed = Vec::new();
        for r in results {
            match r {
                Ok(report) if !report.days.is_empty() || !report.finished => {
                    tracing::info!(
                        tenant = %report.tenant,
                        days = ?report.days,
                        lots = report.lots_expired,
                        points = report.points_expired,
                        finished = report.finished,
                        "tenant swept"
                    );
                    swept.push(report);
                }
                Ok(_) => {}
                Err((tenant, e)) => {
                    tracing::error!(%tenant, error = %e, "tenant sweep failed");
                    failed.push(tenant);
                }
            }
        }
        if !failed.is_empty() {
            // Every expiry is idempotent and cursors were saved: a retry resumes.
            return Err(EventFnError::Retryable(format!(
                "sweep failed for {} tenant(s)",
                failed.len()
            )));
        }
        Ok(json!({ "swept": swept }))
    }
    .instrument(span)
    .await
}
