//! `points-on-event`: newcomer points on a customer's first add as a contact and/or first
//! group join (per the tenant's rules, once per customer ever), zero points when a
//! customer leaves a group (when the tenant says so), and the joins and leaves of each
//! group's day for the views. Idempotent on the event: a redelivered event pays nothing
//! twice and records nothing twice. The rules live in `scrm_core::points::on_event`.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_core::clock::Clock;
use scrm_core::events::EventEnvelope;
use scrm_core::points::error::EventFnError;
use scrm_core::points::on_event::{on_event, EventPoints};
use scrm_core::points::ports::{ActivityStore, LedgerStore, Memberships, RulesStore};
use scrm_core::points::Outcome;
use scrm_core::tenants::TenantLookup;
use serde_json::{json, Value};
use tracing::Instrument;

fn outcome_json(o: Option<Outcome>) -> Value {
    match o {
        Some(o) => json!({ "applied": o.applied, "replayed": o.replayed }),
        None => Value::Null,
    }
}

/// Handles one domain event delivered by the EventBridge rule.
pub async fn handle<S, M, T>(
    points: &S,
    directory: &M,
    tenants: &T,
    clock: &dyn Clock,
    event: LambdaEvent<Value>,
) -> Result<Value, EventFnError>
where
    S: LedgerStore + RulesStore + ActivityStore,
    M: Memberships,
    T: TenantLookup,
{
    let envelope = EventEnvelope::from_eventbridge_json(&event.payload)
        .map_err(|e| EventFnError::NonRetryable(format!("not a domain event: {e}")))?;
    let span = tracing::info_span!(
        "points_on_event",
        tenant = %envelope.tenant,
        event_id = %envelope.event_id,
        detail_type = envelope.detail_type(),
        request_id = %event.context.request_id,
    );
    let points = on_event(points, directory, tenants, clock, &envelope)
        .instrument(span.clone())
        .await?;
    Ok(match points {
        EventPoints::UnknownTenant => json!({ "ignored": "unknown tenant" }),
        EventPoints::NotPoints(detail_type) => json!({ "ignored": detail_type }),
        EventPoints::Handled(outcome) => {
            let result = outcome_json(outcome);
            span.in_scope(|| tracing::info!(result = %result, "event handled"));
            json!({ "event_id": envelope.event_id, "points": result })
        }
    })
}
