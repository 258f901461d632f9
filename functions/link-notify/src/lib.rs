//! The `link-notify` function: tells the staff member who sent a tracked link that a
//! customer clicked it, in WeCom, at most one app message per member a minute. Two
//! triggers: the `CustomerInteracted` rule (a click noted once and, when the member's window
//! is free, sent at once) and a schedule every minute (the clicks that waited for a window
//! sent when it ends). The rules are [`scrm_core::links::notify`]; this crate parses the
//! delivery, calls them and maps their error for Lambda.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::lambda::FnError;
use scrm_core::clock::Clock;
use scrm_core::events::EventEnvelope;
use scrm_core::growth::ContactFacts;
use scrm_core::links::notify::{flush, on_interacted, NotifyDeps, NotifyOutcome, Sent};
use scrm_core::links::{LinkError, LinkStore, StaffMessenger};
use scrm_core::tenants::TenantLookup;
use serde_json::{json, Value};
use std::sync::Arc;
use tracing::Instrument;

/// What the handler is built from.
pub struct LinkNotify<S, M, F, T> {
    /// Pending notes, windows.
    pub store: S,
    /// WeCom's app messages.
    pub messenger: M,
    /// Customers' names.
    pub facts: F,
    /// Tenants (with the app's secret).
    pub tenants: T,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl<S, M, F, T> LinkNotify<S, M, F, T> {
    fn deps(&self) -> NotifyDeps<'_, S, M, F, T> {
        NotifyDeps {
            store: &self.store,
            messenger: &self.messenger,
            facts: &self.facts,
            tenants: &self.tenants,
            clock: self.clock.as_ref(),
        }
    }
}

fn sent_json(sent: &Sent) -> Value {
    match sent {
        Sent::Message(n) => json!({ "message": n }),
        Sent::Waiting => json!("waiting"),
        Sent::Nothing => json!("nothing"),
        Sent::Deferred => json!("deferred"),
        Sent::Dropped => json!("dropped"),
    }
}

/// The Lambda handler: EventBridge's `CustomerInteracted` delivery, or the schedule's event
/// (`source` `aws.events`, or any payload without a `detail` naming a domain event).
pub async fn handle<S, M, F, T>(
    h: &LinkNotify<S, M, F, T>,
    event: LambdaEvent<Value>,
) -> Result<Value, FnError>
where
    S: LinkStore,
    M: StaffMessenger,
    F: ContactFacts,
    T: TenantLookup,
{
    let is_domain_event =
        event.payload.get("source").and_then(Value::as_str) == Some(scrm_core::events::SOURCE);
    if !is_domain_event {
        let span = tracing::info_span!("link_notify_flush", request_id = %event.context.request_id);
        let report = flush(&h.deps()).instrument(span.clone()).await?;
        let result = json!({
            "due": report.due, "messages": report.messages, "clicks": report.clicks,
        });
        span.in_scope(|| tracing::info!(result = %result, "flushed"));
        return Ok(result);
    }
    let envelope = EventEnvelope::from_eventbridge_json(&event.payload)
        .map_err(|e| LinkError::Malformed(e.to_string()))?;
    let span = tracing::info_span!(
        "link_notify",
        request_id = %event.context.request_id,
        tenant = %envelope.tenant,
        event_id = %envelope.event_id,
    );
    let outcome = apply(h, &envelope).instrument(span.clone()).await?;
    let result = match outcome {
        NotifyOutcome::Ignored(why) => json!({ "ignored": why }),
        NotifyOutcome::Duplicate => json!({ "duplicate": envelope.event_id }),
        NotifyOutcome::Noted(sent) => {
            json!({ "event_id": envelope.event_id, "sent": sent_json(&sent) })
        }
    };
    span.in_scope(|| tracing::info!(result = %result, "event handled"));
    Ok(result)
}

/// Applies one event (tests call it directly).
pub async fn apply<S, M, F, T>(
    h: &LinkNotify<S, M, F, T>,
    envelope: &EventEnvelope,
) -> Result<NotifyOutcome, LinkError>
where
    S: LinkStore,
    M: StaffMessenger,
    F: ContactFacts,
    T: TenantLookup,
{
    on_interacted(&h.deps(), envelope).await
}

/// One flush (tests call it directly).
pub async fn run_flush<S, M, F, T>(
    h: &LinkNotify<S, M, F, T>,
) -> Result<scrm_core::links::notify::FlushReport, LinkError>
where
    S: LinkStore,
    M: StaffMessenger,
    F: ContactFacts,
    T: TenantLookup,
{
    flush(&h.deps()).await
}
