//! What a customer joining a group does to group codes (`growth-on-event`, on
//! `MemberJoinedGroup`; the directory has counted the join before the event is published):
//! - for every code offering the group now (its `current`): a join by QR code (scene 3)
//!   is counted once, for that code, day and group. When the callback read the group's
//!   detail the event names the code's `state` the customer joined through, and only that
//!   code counts it (a join through a fission inviter's code counts for no group code);
//!   when it reused a detail fetched moments before it names none, and each code offering
//!   the group counts it;
//! - then the code's rotation is computed again from the directory's member counts and,
//!   when its groups change, given to WeCom (`update_join_way`) and saved under the
//!   version condition.
use super::group_code::{
    join_way, rotate, GroupCode, GroupCodeInput, GroupCodeStatus, JOIN_SCENE_QR,
};
use super::on_event::{GrowthEventError, GrowthOutcome};
use super::ports::{GroupCodeStore, GroupFacts, JoinWayWeCom};
use super::state::is_group_code_state;
use crate::clock::Clock;
use crate::contacts::source::contact_credentials;
use crate::events::{DomainEvent, EventEnvelope};
use crate::tenants::{TenantId, TenantLookup};
use crate::wecom::api::{CorpCredentials, JOIN_WAY_CHATS};
use std::collections::{HashMap, HashSet};

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
        state: joined_through,
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
    // The pool also names group fission campaigns offering the group: not codes.
    for state in states.into_iter().filter(|s| is_group_code_state(s)) {
        let Some(code) = d.store.group_code(&t, &state).await? else {
            continue;
        };
        if code.status != GroupCodeStatus::Active || !code.current.contains(chat_id) {
            continue;
        }
        let through_this = joined_through.as_deref().is_none_or(|s| s == state);
        if *join_scene == Some(JOIN_SCENE_QR)
            && through_this
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
/// changed. Sizes: see [`sizes_for_rotation`].
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
    let sizes = sizes_for_rotation(d.facts, t, &code.spec).await?;
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

/// The pool's member counts for a rotation: every group as WeCom's detail last gave it (one
/// batch read), then the groups that would be offered counted exactly (joins landed there
/// within the last minute and the detail may not have them yet), again until the first
/// [`JOIN_WAY_CHATS`] groups below `full_at` are all counted exactly. A join thus costs a
/// few counts (about the 5 offered), not one per group of the pool. A group whose last
/// detail says full is taken as full: joins only add to it; members leaving within a minute
/// of its fetch show at its next fetch or re-sync.
async fn sizes_for_rotation<F: GroupFacts>(
    facts: &F,
    t: &TenantId,
    spec: &GroupCodeInput,
) -> Result<HashMap<String, i64>, GrowthEventError> {
    let mut sizes = facts.group_sizes(t, &spec.chat_ids, &[]).await?;
    let mut counted: HashSet<String> = HashSet::new();
    loop {
        let offered: Vec<String> = spec
            .chat_ids
            .iter()
            .filter(|c| sizes.get(*c).is_some_and(|n| *n < spec.full_at))
            .take(JOIN_WAY_CHATS)
            .filter(|c| !counted.contains(*c))
            .cloned()
            .collect();
        if offered.is_empty() {
            return Ok(sizes);
        }
        sizes.extend(facts.group_sizes(t, &offered, &offered).await?);
        counted.extend(offered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StoreError;
    use std::sync::Mutex;

    /// Groups with a count as last fetched and a count now; remembers what was counted.
    struct Facts {
        fetched: HashMap<String, i64>,
        now: HashMap<String, i64>,
        counted: Mutex<Vec<String>>,
    }

    impl GroupFacts for Facts {
        async fn group_sizes(
            &self,
            _t: &TenantId,
            chat_ids: &[String],
            exact: &[String],
        ) -> Result<HashMap<String, i64>, StoreError> {
            self.counted.lock().unwrap().extend(exact.iter().cloned());
            Ok(chat_ids
                .iter()
                .filter_map(|c| {
                    let n = if exact.contains(c) {
                        self.now.get(c)
                    } else {
                        self.fetched.get(c)
                    };
                    Some((c.clone(), *n?))
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn a_rotation_counts_the_groups_it_would_offer_not_the_whole_pool() {
        let pool: Vec<String> = (0..40).map(|i| format!("wr{i:02}")).collect();
        // The first 30 are full as last fetched; wr30 filled since its last fetch.
        let fetched: HashMap<String, i64> = pool
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), if i < 30 { 195 } else { 150 }))
            .collect();
        let mut now = fetched.clone();
        now.insert("wr30".into(), 195);
        let facts = Facts {
            fetched,
            now,
            counted: Mutex::new(Vec::new()),
        };
        let spec = GroupCodeInput {
            name: "pool".into(),
            chat_ids: pool,
            full_at: 195,
            auto_create_room: false,
            room_base_name: None,
            room_base_id: 1,
        };
        let t = TenantId::parse("wwcorp").unwrap();
        let sizes = sizes_for_rotation(&facts, &t, &spec).await.unwrap();
        assert_eq!(
            rotate(&spec, &sizes).current,
            ["wr31", "wr32", "wr33", "wr34", "wr35"],
            "the group filled since its fetch is not offered"
        );
        let mut counted = facts.counted.into_inner().unwrap();
        counted.sort();
        assert_eq!(
            counted,
            ["wr30", "wr31", "wr32", "wr33", "wr34", "wr35"],
            "the 5 it would offer, and the one that came in for the full one"
        );
    }
}
