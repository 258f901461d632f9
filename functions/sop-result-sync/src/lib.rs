//! The `sop-result-sync` function: every ten minutes, reads WeCom's results for the
//! mass-message and moments tasks SOP dispatch created, and settles the tasks. The sync is
//! the use case [`scrm_core::sop::result_sync`]; this crate parses the scheduled event,
//! calls it and maps its error for Lambda.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::lambda::FnError;
use scrm_core::sop::result_sync::{ResultSync, SyncInput};
use scrm_core::sop::{OutboxStore, SopWeCom, TaskStore};
use scrm_core::tenants::TenantLookup;
use tracing::Instrument;

/// The Lambda handler: the scheduled event, or `{"tenant": "<corp id>"}` for one tenant;
/// answers with the run's report.
pub async fn handle<S: TaskStore + OutboxStore, W: SopWeCom, T: TenantLookup>(
    h: &ResultSync<S, W, T>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, FnError> {
    let input: SyncInput = serde_json::from_value(event.payload).unwrap_or_default();
    let span = tracing::info_span!("sop_result_sync", request_id = %event.context.request_id);
    let report = h.run(&input).instrument(span).await?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}
