//! The `sop-on-event` function: domain events that change what staff must do (journeys
//! started, tasks failed when their group or staff member went away). The effects are the
//! use case [`scrm_core::sop::on_event`]; this crate parses EventBridge's delivery, calls it
//! and maps its error for Lambda.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::lambda::FnError;
use scrm_core::events::EventEnvelope;
use scrm_core::sop::on_event::{OnEvent, OnEventError};
use scrm_core::sop::{OutboxStore, PlanStore, TaskStore};
use scrm_core::tenants::TenantLookup;
use tracing::Instrument;

/// The Lambda handler (EventBridge delivers `{"detail-type", "detail", ...}`).
pub async fn handle<S: PlanStore + TaskStore + OutboxStore, T: TenantLookup>(
    h: &OnEvent<S, T>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, FnError> {
    let envelope = EventEnvelope::from_eventbridge_json(&event.payload)
        .map_err(|e| OnEventError::BadEvent(e.to_string()))?;
    let span = tracing::info_span!(
        "sop_on_event",
        request_id = %event.context.request_id,
        tenant = %envelope.tenant,
        event_id = %envelope.event_id,
        detail_type = envelope.detail_type()
    );
    let outcome = h.apply(&envelope).instrument(span).await?;
    Ok(serde_json::to_value(outcome).unwrap_or_default())
}
