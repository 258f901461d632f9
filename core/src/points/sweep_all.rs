//! The hourly expiry sweep across tenants (`points-expiry-sweep`): every tenant whose local
//! day has turned since its last sweep has its lots past their validity expired, oldest
//! day first, as ledger entries ([`super::sweep::sweep_tenant`]). A tenant that fails does
//! not stop the others; the invocation then fails retryable, and the retry resumes from
//! each tenant's cursor.
use super::error::EventFnError;
use super::ports::{LedgerStore, SweepStore};
use super::sweep::{sweep_tenant, SweepReport};
use super::When;
use crate::tenants::TenantLookup;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::time::Instant;
use tracing::Instrument;

/// Tenants swept at once.
const TENANT_CONCURRENCY: usize = 4;

/// Sweeps every tenant up to its local today at `now`, stopping before `deadline`; answers
/// the reports of the tenants where something happened (days swept, or not finished).
pub async fn sweep_all<S, T>(
    points: &S,
    tenants: &T,
    now: DateTime<Utc>,
    deadline: Option<Instant>,
) -> Result<Vec<SweepReport>, EventFnError>
where
    S: LedgerStore + SweepStore,
    T: TenantLookup,
{
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
    Ok(swept)
}
