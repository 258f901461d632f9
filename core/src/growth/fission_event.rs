//! What a customer joining or leaving a group does to group fission campaigns
//! (`growth-on-event`, on `MemberJoinedGroup` and `MemberLeftGroup`):
//! - a join through an inviter's 「加入群聊」 code counts for that inviter as
//!   [`fission_run::on_joined_group`] decides. The event names the code's `state` when the
//!   callback read the group's detail; when it reused a detail read moments before (a burst
//!   of joins), the state is read from WeCom (`groupchat/get`) here, and only for groups a
//!   live group campaign offers (the groups' pool index names the campaigns), so a burst in
//!   other groups costs no call;
//! - leaving the group joined through an inviter's code within the hold revokes the count
//!   ([`fission_run::on_left_group`]).
use super::fission::{is_campaign_id, is_inviter_state};
use super::fission_run::{self, JoinDeps, JoinOutcome};
use super::on_event::GrowthEventError;
use super::ports::{CustomerCards, FissionStore, GroupCodeStore, GrowthWeCom};
use crate::contacts::source::contact_credentials;
use crate::events::{DomainEvent, EventEnvelope};
use crate::tenants::{TenantId, TenantLookup};
use chrono::{DateTime, Utc};

/// What a join or departure did to group campaigns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupFission {
    /// The join's outcome, when it came through an inviter's code.
    pub joined: Option<JoinOutcome>,
    /// Claims a departure revoked.
    pub revoked: u32,
    /// Whether the join's state had to be read from WeCom.
    pub state_fetched: bool,
}

/// Handles one `MemberJoinedGroup` or `MemberLeftGroup` of a customer; other events do
/// nothing.
pub async fn on_group_event<S, W, C, T>(
    d: &JoinDeps<'_, S, W, C, T>,
    env: &EventEnvelope,
) -> Result<GroupFission, GrowthEventError>
where
    S: FissionStore + GroupCodeStore,
    W: GrowthWeCom,
    C: CustomerCards,
    T: TenantLookup,
{
    let mut out = GroupFission::default();
    match &env.event {
        DomainEvent::MemberJoinedGroup {
            chat_id,
            member_id,
            is_customer: true,
            state,
            ..
        } => {
            let t = tenant_of(env)?;
            let state = match state {
                Some(s) => Some(s.clone()),
                None => {
                    let fetched = fetch_state(d, &t, chat_id, member_id, env.occurred_at).await?;
                    out.state_fetched = fetched.is_some();
                    fetched.flatten()
                }
            };
            if let Some(state) = state.filter(|s| is_inviter_state(s)) {
                out.joined = fission_run::on_joined_group(
                    d,
                    &t,
                    &env.event_id,
                    &state,
                    member_id,
                    chat_id,
                    env.occurred_at,
                )
                .await?;
            }
        }
        DomainEvent::MemberLeftGroup {
            chat_id,
            member_id,
            is_customer: true,
            ..
        } => {
            let t = tenant_of(env)?;
            out.revoked =
                fission_run::on_left_group(d.store, &t, chat_id, member_id, env.occurred_at)
                    .await?;
        }
        _ => {}
    }
    Ok(out)
}

fn tenant_of(env: &EventEnvelope) -> Result<TenantId, GrowthEventError> {
    TenantId::parse(&env.tenant).map_err(|e| GrowthEventError::Malformed(e.to_string()))
}

/// The state `member_id` joined `chat_id` through, read from WeCom when a live group
/// campaign offers the group: `None` when none does (nothing asked), `Some(None)` when
/// WeCom lists no state (or the tenant has no customer-contact secret).
async fn fetch_state<S, W, C, T>(
    d: &JoinDeps<'_, S, W, C, T>,
    t: &TenantId,
    chat_id: &str,
    member_id: &str,
    at: DateTime<Utc>,
) -> Result<Option<Option<String>>, GrowthEventError>
where
    S: FissionStore + GroupCodeStore,
    W: GrowthWeCom,
    T: TenantLookup,
{
    let mut offered = false;
    for id in d.store.codes_of_chat(t, chat_id).await? {
        if !is_campaign_id(&id) {
            continue;
        }
        let Some(c) = d.store.campaign(t, &id).await? else {
            continue;
        };
        if c.closed_at.is_none()
            && c.rules().open_at(at)
            && c.spec.chat_ids.iter().any(|g| g == chat_id)
        {
            offered = true;
            break;
        }
    }
    if !offered {
        return Ok(None);
    }
    let Some(tenant) = d.tenants.tenant(t).await? else {
        return Ok(Some(None));
    };
    let Some(creds) = contact_credentials(&tenant) else {
        return Ok(Some(None));
    };
    Ok(Some(d.wecom.join_state(&creds, chat_id, member_id).await?))
}
