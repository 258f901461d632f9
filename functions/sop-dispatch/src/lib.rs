//! The `sop-dispatch` function: every minute, due plan occurrences become tasks and staff
//! are reminded. The run itself is the use case [`scrm_core::sop::dispatch`]; this crate
//! parses the scheduled event, calls it and maps its error for Lambda.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::lambda::FnError;
use scrm_core::sop::dispatch::{DispatchInput, Dispatcher};
use scrm_core::sop::{GroupDirectory, GroupTagStore, OutboxStore, PlanStore, SopWeCom, TaskStore};
use scrm_core::tenants::TenantLookup;
use tracing::Instrument;

/// The Lambda handler: EventBridge's scheduled event (its fields ignored), or
/// `{"tenant": "<corp id>"}` to run one tenant only; answers with the run's report.
pub async fn handle<S, D, W, T>(
    d: &Dispatcher<S, D, W, T>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, FnError>
where
    S: PlanStore + TaskStore + OutboxStore + GroupTagStore,
    D: GroupDirectory,
    W: SopWeCom,
    T: TenantLookup,
{
    let input: DispatchInput = serde_json::from_value(event.payload).unwrap_or_default();
    let span = tracing::info_span!("sop_dispatch", request_id = %event.context.request_id);
    let report = d.run(&input).instrument(span).await?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}
