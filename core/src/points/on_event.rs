//! The points rules a domain event triggers (`points-on-event`): newcomer points on a
//! customer's first add as a contact and/or first group join (per the tenant's rules, once
//! per customer ever), zero points when a customer leaves (the tenant's community by
//! default, or any group, when the tenant says so), the joins and leaves of each group's
//! day for the views, and the dashboard's daily counters (contacts added, customers gained
//! and lost, joins, leaves). Idempotent on the event: a redelivered event pays nothing
//! twice and records nothing twice. A change counts for the event's own time; points
//! whose validity has ended by the time a late event is handled are expired at once.
use super::earn::{newcomer, zero_on_leave, NewcomerTrigger};
use super::error::EventFnError;
use super::ports::{ActivityStore, LedgerStore, MembershipChange, Memberships, RulesStore};
use super::stats::{self, Figure};
use super::{Account, CustomerId, Outcome, When};
use crate::clock::Clock;
use crate::events::{DomainEvent, EventEnvelope};
use crate::tenants::{TenantId, TenantLookup};

/// What an event did to points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPoints {
    /// The event's tenant is not registered: ignored.
    UnknownTenant,
    /// Not an event the points rules react to (its detail-type).
    NotPoints(&'static str),
    /// Handled: the rule's outcome, `None` when no rule paid or zeroed anything.
    Handled(Option<Outcome>),
}

/// Applies the points rules `env` triggers.
pub async fn on_event<S, M, T>(
    points: &S,
    directory: &M,
    tenants: &T,
    clock: &dyn Clock,
    env: &EventEnvelope,
) -> Result<EventPoints, EventFnError>
where
    S: LedgerStore + RulesStore + ActivityStore,
    M: Memberships,
    T: TenantLookup,
{
    let tenant =
        TenantId::parse(&env.tenant).map_err(|e| EventFnError::NonRetryable(e.to_string()))?;
    let Some(t) = tenants.tenant(&tenant).await? else {
        tracing::warn!("event for an unknown tenant ignored");
        return Ok(EventPoints::UnknownTenant);
    };
    // The event's own time decides its day, so a redelivery lands on the same day; the
    // time of handling decides what has already expired.
    let when = When::dated(env.occurred_at, clock.now(), t.settings.tz());
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
    let outcome = match &env.event {
        DomainEvent::ContactAdded {
            external_userid,
            half,
            ..
        } => {
            // A half add (customer added a member who has not confirmed) is not a
            // contact yet; the confirmation's full add pays.
            if !half {
                points
                    .count_once(
                        &tenant,
                        &date,
                        Figure::ContactsAdded,
                        &stats::contact_added_key(&env.event_id),
                    )
                    .await?;
                // The directory holds the add already (it is written before the event is
                // published): this relation alone means the customer is new to the tenant.
                if directory.active_follows(&tenant, external_userid).await? == 1 {
                    points
                        .count_customer_once(
                            &tenant,
                            &date,
                            Figure::CustomersAdded,
                            &stats::customer_added_key(&env.event_id),
                            1,
                        )
                        .await?;
                }
            }
            match (account(external_userid), half) {
                (Some(a), false) => {
                    newcomer(
                        points,
                        &a,
                        NewcomerTrigger::ContactAdded,
                        &env.event_id,
                        when,
                    )
                    .await?
                }
                _ => None,
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
            points
                .count_once(
                    &tenant,
                    &date,
                    Figure::MembersJoined,
                    &stats::membership_key(&env.event_id, chat_id, member_id, true),
                )
                .await?;
            match (account(member_id), is_customer) {
                (Some(a), true) => {
                    newcomer(
                        points,
                        &a,
                        NewcomerTrigger::JoinedGroup,
                        &env.event_id,
                        when,
                    )
                    .await?
                }
                _ => None,
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
            points
                .count_once(
                    &tenant,
                    &date,
                    Figure::MembersLeft,
                    &stats::membership_key(&env.event_id, chat_id, member_id, false),
                )
                .await?;
            match (account(member_id), is_customer) {
                (Some(a), true) => {
                    zero_on_leave(points, directory, &a, chat_id, &env.event_id, when).await?
                }
                _ => None,
            }
        }
        DomainEvent::ContactRemoved {
            external_userid, ..
        } => {
            // Written before the event was published: no active relation left means the
            // tenant lost the customer.
            if directory.active_follows(&tenant, external_userid).await? == 0 {
                points
                    .count_customer_once(
                        &tenant,
                        &date,
                        Figure::CustomersLost,
                        &stats::customer_lost_key(&env.event_id),
                        -1,
                    )
                    .await?;
            }
            None
        }
        other => {
            tracing::debug!(detail_type = other.detail_type(), "not a points event");
            return Ok(EventPoints::NotPoints(other.detail_type()));
        }
    };
    Ok(EventPoints::Handled(outcome))
}
