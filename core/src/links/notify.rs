//! Telling the staff member who sent a link that a customer clicked it, in WeCom (an app
//! message), without ever passing WeCom's 30 messages a minute per member: at most one
//! message per member per [`WINDOW`], listing every click since the last one.
//!
//! A click's event notes the click on the member's pending list once (a redelivered event
//! notes nothing and sends nothing), then claims the member's window: free, the pending
//! clicks go out at once in one message; taken (a message went out less than a minute
//! ago), they wait, and the minute's flush ([`flush`]) sends them when the window ends.
use super::ports::{Claim, ClickNote, LinkStore, StaffMessenger};
use super::LinkError;
use crate::clock::Clock;
use crate::events::{DomainEvent, EventEnvelope};
use crate::growth::ContactFacts;
use crate::tenants::{Tenant, TenantId, TenantLookup};
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// At most one message per member within this long.
pub const WINDOW: chrono::Duration = chrono::Duration::seconds(60);
/// Clicks listed one per line in a message; more are summed up in a last line.
pub const LISTED: usize = 10;
/// Staff members a flush handles at most (the rest next minute).
pub const FLUSH_LIMIT: usize = 2000;

/// What the consumer and the flush use.
pub struct NotifyDeps<'a, S, M, F, T> {
    /// Links and pending notes.
    pub store: &'a S,
    /// WeCom's app messages.
    pub messenger: &'a M,
    /// Customers' names.
    pub facts: &'a F,
    /// Tenants (with the app's secret).
    pub tenants: &'a T,
    /// Time.
    pub clock: &'a dyn Clock,
}

/// What one staff member's turn did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// One message listing this many clicks went out.
    Message(usize),
    /// A message went out within the window; the clicks wait for the flush.
    Waiting,
    /// Nothing was pending.
    Nothing,
    /// WeCom could not take it now; the clicks stay pending for the flush.
    Deferred,
    /// WeCom refused for good (no app configured, the member left): the clicks are dropped.
    Dropped,
}

/// What an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// Not a click of a link a staff member sent, or no such tenant.
    Ignored(&'static str),
    /// The event was noted before (a redelivery): nothing sent.
    Duplicate,
    /// Noted; what the member's turn did.
    Noted(Sent),
}

/// The consumer of `CustomerInteracted`.
pub async fn on_interacted<S, M, F, T>(
    deps: &NotifyDeps<'_, S, M, F, T>,
    envelope: &EventEnvelope,
) -> Result<NotifyOutcome, LinkError>
where
    S: LinkStore,
    M: StaffMessenger,
    F: ContactFacts,
    T: TenantLookup,
{
    let DomainEvent::CustomerInteracted {
        external_userid,
        userid: Some(staff),
        link: Some(link),
        ..
    } = &envelope.event
    else {
        return Ok(NotifyOutcome::Ignored(
            "not a link click sent by a staff member",
        ));
    };
    let t = TenantId::parse(&envelope.tenant)
        .map_err(|_| LinkError::Malformed(envelope.tenant.clone()))?;
    let Some(tenant) = deps.tenants.tenant(&t).await? else {
        return Ok(NotifyOutcome::Ignored("unknown tenant"));
    };
    let note = ClickNote {
        event_id: envelope.event_id.clone(),
        at: envelope.occurred_at,
        customer: external_userid.clone(),
        customer_name: deps.facts.customer_name(&t, external_userid).await?,
        title: link.title.clone(),
    };
    if !deps.store.note_click(&t, staff, &note).await? {
        return Ok(NotifyOutcome::Duplicate);
    }
    let sent = send_pending(deps, &tenant, staff, deps.clock.now()).await?;
    Ok(NotifyOutcome::Noted(sent))
}

/// What a flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Staff members due.
    pub due: usize,
    /// Messages sent.
    pub messages: usize,
    /// Clicks those messages listed.
    pub clicks: usize,
}

/// Every minute: the members whose clicks wait get them, once their window has ended.
pub async fn flush<S, M, F, T>(deps: &NotifyDeps<'_, S, M, F, T>) -> Result<FlushReport, LinkError>
where
    S: LinkStore,
    M: StaffMessenger,
    F: ContactFacts,
    T: TenantLookup,
{
    let now = deps.clock.now();
    let due = deps.store.notify_due(now, FLUSH_LIMIT).await?;
    let mut report = FlushReport {
        due: due.len(),
        ..FlushReport::default()
    };
    let mut tenants: std::collections::HashMap<TenantId, Option<Tenant>> = Default::default();
    for d in due {
        if !tenants.contains_key(&d.tenant) {
            let tenant = deps.tenants.tenant(&d.tenant).await?;
            tenants.insert(d.tenant.clone(), tenant);
        }
        let Some(Some(tenant)) = tenants.get(&d.tenant) else {
            continue;
        };
        if let Sent::Message(n) = send_pending(deps, tenant, &d.staff, now).await? {
            report.messages += 1;
            report.clicks += n;
        }
    }
    Ok(report)
}

/// Claims the member's window and, when free, sends what is pending in one message.
pub async fn send_pending<S, M, F, T>(
    deps: &NotifyDeps<'_, S, M, F, T>,
    tenant: &Tenant,
    staff: &str,
    now: DateTime<Utc>,
) -> Result<Sent, LinkError>
where
    S: LinkStore,
    M: StaffMessenger,
{
    let t = &tenant.id;
    let until = now + WINDOW;
    let mut notes = match deps.store.claim_window(t, staff, now, until).await? {
        Claim::Busy => return Ok(Sent::Waiting),
        Claim::Claimed(notes) => notes,
    };
    if notes.is_empty() {
        // Nothing left (a flush after the event's own send): out of the index, window given back.
        deps.store.notes_sent(t, staff, &[]).await?;
        deps.store.release_window(t, staff, until).await?;
        return Ok(Sent::Nothing);
    }
    notes.sort_by(|a, b| a.at.cmp(&b.at).then(a.event_id.cmp(&b.event_id)));
    let ids: Vec<String> = notes.iter().map(|n| n.event_id.clone()).collect();
    let text = render(&notes, tenant.settings.tz());
    match deps.messenger.send_text(tenant, staff, &text).await {
        Ok(()) => {
            deps.store.notes_sent(t, staff, &ids).await?;
            Ok(Sent::Message(notes.len()))
        }
        Err(e) if e.is_retryable() => {
            tracing::warn!(error = %e, staff, "click notification deferred");
            deps.store.release_window(t, staff, until).await?;
            Ok(Sent::Deferred)
        }
        Err(e) => {
            tracing::warn!(error = %e, staff, "click notification refused; dropped");
            deps.store.notes_sent(t, staff, &ids).await?;
            Ok(Sent::Dropped)
        }
    }
}

/// The message: one line per click (at most [`LISTED`]), oldest first, local times; names
/// and titles cut so that the longest stays within WeCom's 2048 bytes.
pub fn render(notes: &[ClickNote], tz: chrono_tz::Tz) -> String {
    let mut text = format!("客户点击了你发送的链接（{} 次）：", notes.len());
    for n in notes.iter().take(LISTED) {
        let who = n.customer_name.as_deref().unwrap_or(&n.customer);
        let who: String = who.chars().take(16).collect();
        let title: String = n.title.chars().take(24).collect();
        let _ = write!(
            text,
            "\n· {who} 点击「{title}」 {}",
            n.at.with_timezone(&tz).format("%H:%M")
        );
    }
    if notes.len() > LISTED {
        let _ = write!(text, "\n……另有 {} 次点击", notes.len() - LISTED);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_lists_ten_clicks_and_counts_the_rest_within_wecoms_bound() {
        let notes: Vec<ClickNote> = (0..25)
            .map(|i| ClickNote {
                event_id: format!("lc:{i}"),
                at: chrono::DateTime::from_timestamp(1_772_400_000 + i, 0).unwrap(),
                customer: format!("wm{i}"),
                customer_name: Some("名".repeat(100)),
                title: "标".repeat(100),
            })
            .collect();
        let text = render(&notes, chrono_tz::Asia::Shanghai);
        assert!(text.starts_with("客户点击了你发送的链接（25 次）"));
        assert_eq!(text.lines().count(), 1 + LISTED + 1);
        assert!(text.ends_with("另有 15 次点击"));
        assert!(text.len() <= 2048, "{}", text.len());
    }
}
