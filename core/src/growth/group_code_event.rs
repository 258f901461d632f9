//! What a customer joining a group does to group codes (`growth-on-event`, on
//! `MemberJoinedGroup`; the directory has counted the join before the event is published):
//! - for every code offering the group now (its `current`): a join by QR code (scene 3)
//!   is counted once, for that code, day and group. The event does not say which QR code
//!   the customer scanned (the group's own, or one of several codes sharing the group), so
//!   each code offering the group counts it;
//! - then the code's rotation is computed again from the directory's member counts and,
//!   when its groups change, given to WeCom (`update_join_way`) and saved under the
//!   version condition.
use super::group_code::{join_way, rotate, GroupCode, GroupCodeStatus, JOIN_SCENE_QR};
use super::on_event::{GrowthEventError, GrowthOutcome};
use super::ports::{GroupCodeStore, GroupFacts, JoinWayWeCom};
use crate::clock::Clock;
use crate::contacts::source::contact_credentials;
use crate::events::{DomainEvent, EventEnvelope};
use crate::tenants::{TenantId, TenantLookup};
use crate::wecom::api::CorpCredentials;

/// What a join did to group codes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinHandled {
    /// The codes whose figures this delivery counted the join in.
    pub counted: Vec<String>,
    /// The codes whose groups this delivery changed.
    pub rotated: Vec<String>,
}

/// What a join did, or why it was left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// The tenant is not registered, or the event is not a join (see [`GrowthOutcome`]).
    Ignored(GrowthOutcome),
    /// Handled.
    Handled(JoinHandled),
}

/// The ports the consumer uses for group codes.
pub struct GroupCodeDeps<'a, S, W, F, T> {
    /// Codes, pool entries, figures.
    pub store: &'a S,
    /// WeCom's join ways.
    pub wecom: &'a W,
    /// The directory's groups.
    pub facts: &'a F,
    /// Tenants.
    pub tenants: &'a T,
    /// Time.
    pub clock: &'a dyn Clock,
}

/// Handles one `MemberJoinedGroup`.
pub async fn on_member_joined<S, W, F, T>(
    d: &GroupCodeDeps<'_, S, W, F, T>,
    env: &EventEnvelope,
) -> Result<JoinOutcome, GrowthEventError>
where
    S: GroupCodeStore,
    W: JoinWayWeCom,
    F: GroupFacts,
    T: TenantLookup,
{
    let DomainEvent::MemberJoinedGroup {
        chat_id,
        is_customer,
        join_scene,
        ..
    } = &env.event
    else {
        return Ok(JoinOutcome::Ignored(GrowthOutcome::NotGrowth(
            env.event.detail_type(),
        )));
    };
    let mut handled = JoinHandled::default();
    if !is_customer {
        return Ok(JoinOutcome::Handled(handled));
    }
    let t = TenantId::parse(&env.tenant).map_err(|e| GrowthEventError::Malformed(e.to_string()))?;
    let Some(tenant) = d.tenants.tenant(&t).await? else {
        tracing::warn!("event for an unknown tenant ignored");
        return Ok(JoinOutcome::Ignored(GrowthOutcome::UnknownTenant));
    };
    let states = d.store.codes_of_chat(&t, chat_id).await?;
    if states.is_empty() {
        return Ok(JoinOutcome::Handled(handled));
    }
    let date = env
        .occurred_at
        .with_timezone(&tenant.settings.tz())
        .date_naive();
    let creds = contact_credentials(&tenant);
    for state in states {
        let Some(code) = d.store.group_code(&t, &state).await? else {
            continue;
        };
        if code.status != GroupCodeStatus::Active || !code.current.contains(chat_id) {
            continue;
        }
        if *join_scene == Some(JOIN_SCENE_QR)
            && d.store
                .count_join_once(&t, &env.event_id, &state, date, chat_id)
                .await?
        {
            handled.counted.push(state.clone());
        }
        match &creds {
            Some(c) => {
                if rotate_code(d, c, &t, code).await? {
                    handled.rotated.push(state);
                }
            }
            None => tracing::warn!(state, "no contact secret: the code is not rotated"),
        }
    }
    Ok(JoinOutcome::Handled(handled))
}

/// Computes the code's rotation again; gives WeCom new groups when they differ and saves
/// the code (an edit in between wins: it gave WeCom its own). `Ok(true)` when the groups
/// changed.
async fn rotate_code<S, W, F, T>(
    d: &GroupCodeDeps<'_, S, W, F, T>,
    creds: &CorpCredentials,
    t: &TenantId,
    mut code: GroupCode,
) -> Result<bool, GrowthEventError>
where
    S: GroupCodeStore,
    W: JoinWayWeCom,
    F: GroupFacts,
    T: TenantLookup,
{
    let sizes = d.facts.group_sizes(t, &code.spec.chat_ids).await?;
    let rotation = rotate(&code.spec, &sizes);
    let moved = rotation.current != code.current;
    if !moved && rotation.all_full == code.all_full {
        return Ok(false);
    }
    if moved {
        d.wecom
            .update_join_way(creds, &join_way(&code, &rotation.current))
            .await?;
        tracing::info!(state = code.state, current = ?rotation.current, all_full = rotation.all_full, "group code rotated");
    }
    let version = code.version;
    code.current = rotation.current;
    code.all_full = rotation.all_full;
    code.version = version + 1;
    code.updated_at = d.clock.now();
    if !d.store.save_group_code(t, &code, version).await? {
        tracing::info!(
            state = code.state,
            "the code changed meanwhile; its write stands"
        );
    }
    Ok(moved)
}
