//! The `sop-dispatch` function, the minute's scheduler: every minute it reads each tenant's
//! due index and enqueues the work on the dispatch queue (one message per due plan, one per
//! tenant with other due work); `sop-dispatch-worker` does the work. The use case is
//! [`scrm_core::sop::dispatch::Scheduler`]; this crate parses the scheduled event, calls it
//! and maps its error for Lambda.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::lambda::FnError;
use scrm_core::sop::dispatch::{DispatchInput, Scheduler};
use scrm_core::sop::{DispatchQueue, OutboxStore, PlanStore};
use scrm_core::tenants::TenantLookup;
use tracing::Instrument;

/// The Lambda handler: EventBridge's scheduled event (its fields ignored), or
/// `{"tenant": "<corp id>"}` to schedule one tenant only; answers with what was enqueued.
pub async fn handle<S, T, Q>(
    s: &Scheduler<S, T, Q>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, FnError>
where
    S: PlanStore + OutboxStore,
    T: TenantLookup,
    Q: DispatchQueue,
{
    let input: DispatchInput = serde_json::from_value(event.payload).unwrap_or_default();
    let span = tracing::info_span!("sop_dispatch", request_id = %event.context.request_id);
    let report = s.run(&input).instrument(span).await?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}
