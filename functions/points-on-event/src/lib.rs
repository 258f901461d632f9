//! `points-on-event`: newcomer points on a customer's first add as a contact and/or first
//! group join (per the tenant's rules, once per customer ever), zero points when a
//! customer leaves a group (when the tenant says so), and the joins and leaves of each
//! group's day for the views. Idempotent on the event: a redelivered event pays nothing
//! twice and records nothing twice.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_core::events::{DomainEvent, EventEnvelope};
use scrm_core::points::earn::{newcomer, zero_on_leave, NewcomerTrigger};
use scrm_core::points::error::EventFnError;
use scrm_core::points::ports::{ActivityStore, LedgerStore, MembershipChange, RulesStore};
use scrm_core::points::{Account, CustomerId, Outcome, When};
use scrm_core::tenants::{TenantId, TenantLookup};
use serde_json::{json, Value};
use tracing::Instrument;

fn outcome_json(o: Option<Outcome>) -> Value {
    match o {
        Some(o) => json!({ "applied": o.applied, "replayed": o.replayed }),
        None => Value::Null,
    }
}

/// Handles one domain event delivered by the EventBridge rule.
pub async fn handle<S, T>(
    points: &S,
    tenants: &T,
    event: LambdaEvent<Value>,
) -> Result<Value, EventFnError>
where
    S: LedgerStore + RulesStore + ActivityStore,
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
    process(points, tenants, envelope).instrument(span).await
}

async fn process<S, T>(points: &S, tenants: &T, env: EventEnvelope) -> Result<Value, EventFnError>
where
    S: LedgerStore + RulesStore + ActivityStore,
    T: TenantLookup,
{
    let tenant =
        TenantId::parse(&env.tenant).map_err(|e| EventFnError::NonRetryable(e.to_string()))?;
    let Some(t) = tenants.tenant(&tenant).await? else {
        tracing::warn!("event for an unknown tenant ignored");
        return Ok(json!({ "ignored": "unknown tenant" }));
    };
    // The event's own time decides its day, so a redelivery lands on the same day.
    let when = When::new(env.occurred_at, t.settings.tz());
    let date = when.today().format("%Y-%m-%d").to_string();
    let account = |id: &str| {
        CustomerId::parse(id)
            .ok()
            .map(|c| Account::new(tenant.clone(), c))
    };
    let change = |chat_id: &str, member_id: &str, joined: bool| MembershipChange {
        chat_id: chat_id.to_string(),
        member_id: member_id.to_string(),
        joined,
        date: date.clone(),
        event_id: env.event_id.clone(),
        at: env.occurred_at,
    };
    let result = match &env.event {
        DomainEvent::ContactAdded {
            external_userid,
            half,
            ..
        } => {
            // A half add (customer added a member who has not confirmed) is not a
            // contact yet; the confirmation's full add pays.
            match (account(external_userid), half) {
                (Some(a), false) => outcome_json(
                    newcomer(
                        points,
                        &a,
                        NewcomerTrigger::ContactAdded,
                        &env.event_id,
                        when,
                    )
                    .await?,
                ),
                _ => Value::Null,
            }
        }
        DomainEvent::MemberJoinedGroup {
            chat_id,
            member_id,
            is_customer,
            ..
        } => {
            points
                .record_membership(&tenant, &change(chat_id, member_id, true))
                .await?;
            match (account(member_id), is_customer) {
                (Some(a), true) => outcome_json(
                    newcomer(
                        points,
                        &a,
                        NewcomerTrigger::JoinedGroup,
                        &env.event_id,
                        when,
                    )
                    .await?,
                ),
                _ => Value::Null,
            }
        }
        DomainEvent::MemberLeftGroup {
            chat_id,
            member_id,
            is_customer,
            ..
        } => {
            points
                .record_membership(&tenant, &change(chat_id, member_id, false))
                .await?;
            match (account(member_id), is_customer) {
                (Some(a), true) => {
                    outcome_json(zero_on_leave(points, &a, chat_id, &env.event_id, when).await?)
                }
                _ => Value::Null,
            }
        }
        other => {
            tracing::debug!(detail_type = other.detail_type(), "not a points event");
            return Ok(json!({ "ignored": other.detail_type() }));
        }
    };
    tracing::info!(result = %result, "event handled");
    Ok(json!({ "event_id": env.event_id, "points": result }))
}
