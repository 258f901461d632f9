//! Applying a callback's change to the directory, and the domain events it produces.
//!
//! A [`Change`] is what a WeCom callback says happened, normalised away from the XML. Where
//! the callback carries only ids (a customer was added, a group was updated), the detail is
//! fetched from WeCom's API within a short budget, so that the callback is still answered
//! within WeCom's 5 seconds; if WeCom is slow or down, what the callback says is recorded
//! and the item is flagged for the re-sync. A callback never fails because WeCom's API did.
//!
//! Applying is two steps. [`Applier::prepare`] reads (WeCom's detail, the directory as it
//! is) and decides the events the change produces; the inbox records that plan on the
//! callback's receipt before [`Applier::execute`] writes anything. Every write is
//! idempotent, so applying the same change twice (a re-delivery taking over a crashed
//! attempt) changes nothing more, and the takeover publishes the recorded plan: a diff or
//! a previous owner read again from a directory that already holds the effects would lose
//! events. A join or a leave is published only when the write made it (the membership
//! remembers which callback did, so a retried callback still counts as having made it):
//! one fact, one event. Event ids derive from the callback's dedupe key and the event's
//! subject, so a re-published event carries the same id.
use super::ports::{looks_like_customer, DirectoryRead, DirectoryWrite, FollowWrite, MemberWrite};
use super::source::DirectorySource;
use super::{RelationStatus, TransferFailure};
use crate::events::{DomainEvent, RemovedBy};
use crate::ports::StoreError;
use crate::tags::{self, TagChange, TagKind, TagMirror};
use crate::tenants::TenantId;
use crate::wecom::api::{CorpCredentials, ExternalContactDetail, GroupChat, WeComError};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

/// What a callback says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `add_external_contact` / `add_half_external_contact`.
    ContactAdded {
        /// The staff member.
        userid: String,
        /// The customer.
        external_userid: String,
        /// The channel.
        state: Option<String>,
        /// Whether the member has not yet confirmed (free verification).
        half: bool,
        /// WeCom's single-use `WelcomeCode` (20 s), handed on in the event.
        welcome_code: Option<String>,
    },
    /// `edit_external_contact`.
    ContactEdited {
        /// The staff member.
        userid: String,
        /// The customer.
        external_userid: String,
    },
    /// `del_external_contact` (by the member) / `del_follow_user` (by the customer).
    ContactRemoved {
        /// The staff member.
        userid: String,
        /// The customer.
        external_userid: String,
        /// Who removed whom.
        by: RemovedBy,
        /// `DELETE_BY_TRANSFER` for an on-job transfer.
        source: Option<String>,
    },
    /// `transfer_fail`.
    TransferFailed {
        /// The takeover member.
        userid: String,
        /// The customer.
        external_userid: String,
        /// `customer_refused` / `customer_limit_exceed`.
        reason: String,
    },
    /// `change_external_chat` / `create`.
    GroupCreated {
        /// The group.
        chat_id: String,
    },
    /// `change_external_chat` / `update`.
    GroupUpdated {
        /// The group.
        chat_id: String,
        /// `add_member`, `del_member`, `change_owner`, `change_name`, `change_notice`.
        detail: String,
        /// JoinScene (add_member).
        join_scene: Option<i64>,
        /// QuitScene (del_member).
        quit_scene: Option<i64>,
        /// MemChangeList.
        members: Vec<String>,
        /// CurMemVer.
        cur_mem_ver: Option<String>,
    },
    /// `change_external_chat` / `dismiss`.
    GroupDismissed {
        /// The group.
        chat_id: String,
    },
    /// `change_external_tag`.
    TagChanged {
        /// Tag or group id.
        id: String,
        /// `tag` / `tag_group`.
        tag_type: Option<String>,
        /// `create`, `update`, `delete`, `shuffle`.
        change: String,
    },
}

/// How long a group's fetched detail (`groupchat/get`) spares the fetch for members joining
/// or leaving it: WeCom limits calls per API, and a join burst would otherwise fetch once
/// per callback.
pub const DETAIL_FRESH_SECONDS: i64 = 60;

/// A domain event with the subject that makes its id unique within one callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Produced {
    /// Stable within the callback: the id is `cb:{dedupe key}:{detail-type}[:{subject}]`.
    pub subject: Option<String>,
    /// The event.
    pub event: DomainEvent,
}

impl Produced {
    fn of(event: DomainEvent) -> Self {
        Self {
            subject: None,
            event,
        }
    }

    fn about(event: DomainEvent, subject: &str) -> Self {
        Self {
            subject: Some(subject.to_string()),
            event,
        }
    }

    /// The event id, derived from the callback's dedupe key.
    pub fn event_id(&self, dedupe_key: &str) -> String {
        match &self.subject {
            Some(s) => format!("cb:{dedupe_key}:{}:{s}", self.event.detail_type()),
            None => format!("cb:{dedupe_key}:{}", self.event.detail_type()),
        }
    }
}

/// Applies changes for one tenant.
pub struct Applier<'a, D, M, S> {
    /// The directory.
    pub dir: &'a D,
    /// The tag mirror.
    pub tags: &'a M,
    /// WeCom, when the tenant has a customer-contact secret.
    pub source: Option<(&'a S, CorpCredentials)>,
    /// The longest one WeCom read may take.
    pub fetch_budget: Duration,
    /// The tenant.
    pub tenant: &'a TenantId,
}

impl<D, M, S> Applier<'_, D, M, S>
where
    D: DirectoryWrite + DirectoryRead,
    M: TagMirror,
    S: DirectorySource,
{
    fn wecom(&self) -> Option<(&S, &CorpCredentials)> {
        self.source.as_ref().map(|(s, c)| (*s, c))
    }

    /// Runs a WeCom read within the budget; `None` (logged) when it fails or is too slow.
    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, WeComError>>,
    ) -> Option<T> {
        match tokio::time::timeout(self.fetch_budget, call).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(what, error = %e, "WeCom read failed; recording the callback's facts, re-sync will fill in");
                None
            }
            Err(_) => {
                tracing::warn!(
                    what,
                    budget_ms = self.fetch_budget.as_millis() as u64,
                    "WeCom read too slow; recording the callback's facts"
                );
                None
            }
        }
    }

    /// Applies a change that happened at `at` (epoch seconds) on behalf of the callback
    /// `by` (its dedupe key) and returns the events it produced: [`Applier::prepare`] then
    /// [`Applier::execute`] with the plan just made.
    pub async fn apply(
        &self,
        change: &Change,
        at: i64,
        by: &str,
    ) -> Result<Vec<Produced>, StoreError> {
        let prepared = self.prepare(change, at).await?;
        let planned: Vec<DomainEvent> = prepared.planned.iter().map(|p| p.event.clone()).collect();
        let kept = self.execute(change, at, &prepared, &planned, by).await?;
        Ok(prepared
            .planned
            .into_iter()
            .zip(kept)
            .filter_map(|(p, keep)| keep.then_some(p))
            .collect())
    }

    /// Reads what applying `change` needs (WeCom's detail, within the budget, and the
    /// directory as it is now) and decides the events the change produces. Nothing is
    /// written: the caller records the plan before [`Applier::execute`] writes, so that a
    /// retry after a crash publishes what this plan says, not what a directory that
    /// already holds the effects would suggest.
    ///
    /// A member joining or leaving (WeCom names them in the callback) does not fetch the
    /// group's detail again when it was fetched within [`DETAIL_FRESH_SECONDS`] of `at`
    /// (the change's time): in a join burst, one `groupchat/get` per group and window
    /// instead of one per callback. Such a change is written from what the callback says
    /// (a member's type from their id, the join time and scene from the callback), and the
    /// member list's version with the count.
    pub async fn prepare(&self, change: &Change, at: i64) -> Result<Prepared, StoreError> {
        let t = self.tenant;
        let mut coalesced = false;
        let (fetched, planned) = match change {
            Change::ContactAdded {
                userid,
                external_userid,
                state,
                half,
                welcome_code,
            } => (
                Fetched::Customer(self.customer_detail(external_userid).await),
                vec![Produced::of(DomainEvent::ContactAdded {
                    external_userid: external_userid.clone(),
                    userid: userid.clone(),
                    state: state.clone(),
                    half: *half,
                    welcome_code: welcome_code.clone(),
                })],
            ),
            Change::ContactEdited {
                userid,
                external_userid,
            } => (
                // Always WeCom's current state: two edits within one second cannot be told
                // apart, so whichever delivery comes last writes what WeCom holds now.
                Fetched::Customer(self.customer_detail(external_userid).await),
                vec![Produced::of(DomainEvent::ContactEdited {
                    external_userid: external_userid.clone(),
                    userid: userid.clone(),
                })],
            ),
            Change::ContactRemoved {
                userid,
                external_userid,
                by,
                source,
            } => (
                Fetched::Nothing,
                vec![Produced::of(DomainEvent::ContactRemoved {
                    external_userid: external_userid.clone(),
                    userid: userid.clone(),
                    by: *by,
                    source: source.clone(),
                })],
            ),
            Change::TransferFailed {
                userid,
                external_userid,
                reason,
            } => (
                Fetched::Nothing,
                vec![Produced::of(DomainEvent::ContactTransferFailed {
                    external_userid: external_userid.clone(),
                    userid: userid.clone(),
                    reason: reason.clone(),
                })],
            ),
            Change::GroupCreated { chat_id } => {
                let chat = self.group_detail(chat_id).await;
                let mut planned = vec![Produced::of(DomainEvent::GroupCreated {
                    chat_id: chat_id.to_string(),
                })];
                if let Some(chat) = &chat {
                    // The members a group is created with joined it, although WeCom sends
                    // no add_member for them; one already in (an add_member that came
                    // first) has had their event.
                    let active = self.active_members(chat_id).await?;
                    for m in chat.member_list.iter().map(MemberWrite::from_api) {
                        if active.contains(&m.member_id) {
                            continue;
                        }
                        planned.push(Produced::about(
                            DomainEvent::MemberJoinedGroup {
                                chat_id: chat_id.to_string(),
                                member_id: m.member_id.clone(),
                                is_customer: m.is_customer,
                                join_scene: m.join_scene,
                                state: m.state.clone(),
                            },
                            &m.member_id,
                        ));
                    }
                }
                (Fetched::Group(chat), planned)
            }
            Change::GroupUpdated {
                chat_id,
                detail,
                join_scene,
                quit_scene,
                members,
                cur_mem_ver,
            } => {
                let member_change =
                    matches!(detail.as_str(), "add_member" | "del_member") && !members.is_empty();
                coalesced = member_change
                    && self.wecom().is_some()
                    && self
                        .dir
                        .group_detail_fetched_at(t, chat_id)
                        .await?
                        .is_some_and(|fetched| (at - fetched).abs() < DETAIL_FRESH_SECONDS);
                let chat = if coalesced {
                    None
                } else {
                    self.group_detail(chat_id).await
                };
                let mut planned = Vec::new();
                match detail.as_str() {
                    "add_member" => {
                        let listed = listed_members(chat.as_ref());
                        for id in self
                            .changed_members(chat_id, members, chat.as_ref(), true)
                            .await?
                        {
                            let listed_member = listed.get(id.as_str());
                            let is_customer = listed_member
                                .map(|m| m.member_type == 2)
                                .unwrap_or_else(|| looks_like_customer(&id));
                            planned.push(Produced::about(
                                DomainEvent::MemberJoinedGroup {
                                    chat_id: chat_id.clone(),
                                    member_id: id.clone(),
                                    is_customer,
                                    join_scene: *join_scene,
                                    state: listed_member
                                        .and_then(|m| m.state.clone())
                                        .filter(|s| !s.is_empty()),
                                },
                                &id,
                            ));
                        }
                    }
                    "del_member" => {
                        let changed = self
                            .changed_members(chat_id, members, chat.as_ref(), false)
                            .await?;
                        let stored_type: HashMap<String, bool> = self
                            .dir
                            .group(t, chat_id)
                            .await?
                            .map(|g| {
                                g.members
                                    .into_iter()
                                    .map(|m| (m.member_id, m.is_customer))
                                    .collect()
                            })
                            .unwrap_or_default();
                        for id in changed {
                            let is_customer = stored_type
                                .get(&id)
                                .copied()
                                .unwrap_or_else(|| looks_like_customer(&id));
                            planned.push(Produced::about(
                                DomainEvent::MemberLeftGroup {
                                    chat_id: chat_id.clone(),
                                    member_id: id.clone(),
                                    is_customer,
                                    quit_scene: *quit_scene,
                                },
                                &id,
                            ));
                        }
                    }
                    "change_owner" => {
                        // The owner before this change is the directory's now, before any
                        // write of this change.
                        let previous_owner = self
                            .dir
                            .group_profile(t, chat_id)
                            .await?
                            .and_then(|g| g.owner);
                        let new_owner = current_detail(chat.as_ref(), cur_mem_ver.as_deref())
                            .or(chat.as_ref())
                            .map(|c| c.owner.clone());
                        planned.push(Produced::of(DomainEvent::GroupOwnerChanged {
                            chat_id: chat_id.clone(),
                            previous_owner: previous_owner
                                .filter(|p| Some(p) != new_owner.as_ref()),
                            new_owner,
                        }));
                    }
                    other => planned.push(Produced::of(DomainEvent::GroupUpdated {
                        chat_id: chat_id.clone(),
                        detail: other.to_string(),
                    })),
                }
                (Fetched::Group(chat), planned)
            }
            Change::GroupDismissed { chat_id } => (
                Fetched::Nothing,
                vec![Produced::of(DomainEvent::GroupDismissed {
                    chat_id: chat_id.clone(),
                })],
            ),
            Change::TagChanged {
                id,
                tag_type,
                change,
            } => (
                Fetched::Nothing,
                vec![Produced::of(DomainEvent::CorpTagChanged {
                    id: id.clone(),
                    tag_type: tag_type.clone(),
                    change: change.clone(),
                })],
            ),
        };
        Ok(Prepared {
            fetched,
            planned,
            coalesced,
        })
    }

    /// Writes the change's effects (every write idempotent) on behalf of the callback `by`
    /// and says, for each of `planned` (the events decided by [`Applier::prepare`], this
    /// attempt's or an earlier one's), whether it is published: a join or a leave only when
    /// this change made it (now or in an earlier attempt), one fact, one event.
    pub async fn execute(
        &self,
        change: &Change,
        at: i64,
        prepared: &Prepared,
        planned: &[DomainEvent],
        by: &str,
    ) -> Result<Vec<bool>, StoreError> {
        let t = self.tenant;
        let mut kept = vec![true; planned.len()];
        match change {
            Change::ContactAdded {
                userid,
                external_userid,
                state,
                half,
                ..
            } => {
                let status = if *half {
                    RelationStatus::Half
                } else {
                    RelationStatus::Active
                };
                self.write_contact(
                    external_userid,
                    userid,
                    status,
                    state.clone(),
                    prepared.customer(),
                    at,
                )
                .await?;
                self.dir.touch_staff(t, userid, at).await?;
            }
            Change::ContactEdited {
                userid,
                external_userid,
            } => {
                let detail = prepared.customer();
                match detail.and_then(|d| {
                    d.follow_user
                        .iter()
                        .find(|f| &f.userid == userid)
                        .map(|f| (d, f))
                }) {
                    Some((d, f)) => {
                        self.dir
                            .put_customer_detail(t, &d.external_contact, at)
                            .await?;
                        let follow = FollowWrite::from_follow_user(f, RelationStatus::Active);
                        self.dir
                            .put_follow(t, external_userid, userid, &follow, at)
                            .await?;
                    }
                    None => {
                        match detail {
                            Some(d) => {
                                self.dir
                                    .put_customer_detail(t, &d.external_contact, at)
                                    .await?;
                            }
                            None => {
                                self.dir
                                    .touch_customer(t, external_userid, true, at)
                                    .await?
                            }
                        }
                        self.dir
                            .mark_follow_needs_sync(t, external_userid, userid, at)
                            .await?;
                    }
                }
            }
            Change::ContactRemoved {
                userid,
                external_userid,
                by: removed_by,
                source,
            } => {
                self.dir
                    .touch_customer(t, external_userid, false, at)
                    .await?;
                self.dir
                    .remove_follow(
                        t,
                        external_userid,
                        userid,
                        *removed_by,
                        source.as_deref(),
                        at,
                    )
                    .await?;
            }
            Change::TransferFailed {
                userid,
                external_userid,
                reason,
            } => {
                self.dir
                    .record_transfer_failure(
                        t,
                        external_userid,
                        &TransferFailure {
                            userid: userid.clone(),
                            reason: reason.clone(),
                            at,
                        },
                    )
                    .await?;
            }
            Change::GroupCreated { chat_id } => match prepared.group() {
                Some(chat) => {
                    self.dir.put_group_detail(t, chat, None, at).await?;
                    let members: Vec<MemberWrite> =
                        chat.member_list.iter().map(MemberWrite::from_api).collect();
                    self.dir.put_members(t, chat_id, &members, at).await?;
                    // The whole list is held: from now on joins and leaves keep the count.
                    self.dir.mark_members_counted(t, chat_id).await?;
                    if !chat.owner.is_empty() {
                        self.dir.touch_staff(t, &chat.owner, at).await?;
                    }
                }
                None => self.dir.touch_group(t, chat_id, true, at).await?,
            },
            Change::GroupUpdated {
                chat_id,
                cur_mem_ver,
                ..
            } => {
                let chat = prepared.group();
                let listed = listed_members(chat);
                let version = cur_mem_ver.as_deref();
                // Whether a membership write recorded the version with its count.
                let mut versioned = false;
                for (event, keep) in planned.iter().zip(kept.iter_mut()) {
                    match event {
                        DomainEvent::MemberJoinedGroup {
                            member_id,
                            is_customer,
                            join_scene,
                            ..
                        } => {
                            let m = match listed.get(member_id.as_str()) {
                                Some(m) => {
                                    let mut w = MemberWrite::from_api(m);
                                    if w.join_scene.is_none() {
                                        w.join_scene = *join_scene;
                                    }
                                    w
                                }
                                None => MemberWrite {
                                    member_id: member_id.clone(),
                                    is_customer: *is_customer,
                                    join_time: Some(at),
                                    join_scene: *join_scene,
                                    invitor: None,
                                    group_nickname: None,
                                    name: None,
                                    state: None,
                                },
                            };
                            *keep = self
                                .dir
                                .member_joined_by(t, chat_id, &m, at, by, version)
                                .await?;
                            versioned |= *keep;
                        }
                        DomainEvent::MemberLeftGroup {
                            member_id,
                            is_customer,
                            quit_scene,
                            ..
                        } => {
                            *keep = self
                                .dir
                                .member_left_by(
                                    t,
                                    chat_id,
                                    member_id,
                                    *is_customer,
                                    *quit_scene,
                                    at,
                                    by,
                                    version,
                                )
                                .await?;
                            versioned |= *keep;
                        }
                        DomainEvent::GroupOwnerChanged {
                            new_owner: Some(owner),
                            ..
                        } => self.dir.touch_staff(t, owner, at).await?,
                        _ => {}
                    }
                }
                match current_detail(chat, version) {
                    Some(c) => {
                        self.dir.put_group_detail(t, c, None, at).await?;
                    }
                    None => {
                        // WeCom's detail failed or lagged: the group is flagged for the
                        // re-sync. Not fetched on purpose: the group is known and fresh.
                        if !prepared.coalesced {
                            self.dir.touch_group(t, chat_id, true, at).await?;
                        }
                        if let (Some(v), false) = (version, versioned) {
                            self.dir.set_member_version(t, chat_id, v, at).await?;
                        }
                    }
                }
            }
            Change::GroupDismissed { chat_id } => {
                self.dir.dismiss_group(t, chat_id, at).await?;
            }
            Change::TagChanged {
                id,
                tag_type,
                change,
            } => {
                let tag_change = TagChange {
                    change: change.clone(),
                    id: id.clone(),
                    kind: TagKind::parse(tag_type.as_deref()),
                };
                // The tags' state is always read from WeCom, so two updates within one
                // second land on what WeCom holds now, whichever is applied last.
                tags::apply_change(
                    self.tags,
                    t,
                    &tag_change,
                    at,
                    |tag_ids, group_ids| async move {
                        let (s, c) = self.wecom()?;
                        self.bounded("get_corp_tag_list", s.corp_tags(c, &tag_ids, &group_ids))
                            .await
                    },
                )
                .await?;
            }
        }
        Ok(kept)
    }

    /// The members the directory holds as current in a group.
    async fn active_members(&self, chat_id: &str) -> Result<HashSet<String>, StoreError> {
        Ok(self
            .dir
            .group(self.tenant, chat_id)
            .await?
            .map(|g| {
                g.members
                    .into_iter()
                    .filter(|m| m.active)
                    .map(|m| m.member_id)
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn customer_detail(&self, external_userid: &str) -> Option<ExternalContactDetail> {
        let (s, c) = self.wecom()?;
        self.bounded("externalcontact/get", s.customer_detail(c, external_userid))
            .await
    }

    async fn group_detail(&self, chat_id: &str) -> Option<GroupChat> {
        let (s, c) = self.wecom()?;
        self.bounded("groupchat/get", s.group_detail(c, chat_id))
            .await
    }

    async fn write_contact(
        &self,
        external_userid: &str,
        userid: &str,
        status: RelationStatus,
        state: Option<String>,
        detail: Option<&ExternalContactDetail>,
        at: i64,
    ) -> Result<(), StoreError> {
        let t = self.tenant;
        let follow = match detail {
            Some(d) => {
                self.dir
                    .put_customer_detail(t, &d.external_contact, at)
                    .await?;
                match d.follow_user.iter().find(|f| f.userid == userid) {
                    Some(f) => {
                        let mut w = FollowWrite::from_follow_user(f, status);
                        if w.state.is_none() {
                            w.state = state;
                        }
                        w
                    }
                    None => FollowWrite::from_callback(status, state, at),
                }
            }
            None => {
                self.dir
                    .touch_customer(t, external_userid, true, at)
                    .await?;
                FollowWrite::from_callback(status, state, at)
            }
        };
        self.dir
            .put_follow(t, external_userid, userid, &follow, at)
            .await?;
        Ok(())
    }

    /// The members a join or leave concerns: MemChangeList, or (when WeCom sent no list)
    /// the difference between the fetched member list and the directory (read before this
    /// change writes anything: see [`Applier::prepare`]).
    async fn changed_members(
        &self,
        chat_id: &str,
        listed: &[String],
        chat: Option<&GroupChat>,
        joined: bool,
    ) -> Result<Vec<String>, StoreError> {
        if !listed.is_empty() {
            let mut seen = HashSet::new();
            return Ok(listed
                .iter()
                .filter(|id| !id.is_empty() && seen.insert(id.as_str()))
                .cloned()
                .collect());
        }
        let Some(chat) = chat else {
            return Ok(Vec::new());
        };
        let active = self.active_members(chat_id).await?;
        let now: HashSet<String> = chat.member_list.iter().map(|m| m.userid.clone()).collect();
        let mut diff: Vec<String> = if joined {
            now.difference(&active).cloned().collect()
        } else {
            active.difference(&now).cloned().collect()
        };
        diff.sort();
        Ok(diff)
    }
}

/// What [`Applier::prepare`] read and decided.
#[derive(Debug, Clone)]
pub struct Prepared {
    fetched: Fetched,
    /// The events the change produces if its writes take effect.
    pub planned: Vec<Produced>,
    /// Whether WeCom's detail was not fetched because a recent fetch made it needless.
    coalesced: bool,
}

#[derive(Debug, Clone)]
enum Fetched {
    Nothing,
    Customer(Option<ExternalContactDetail>),
    Group(Option<GroupChat>),
}

impl Prepared {
    fn customer(&self) -> Option<&ExternalContactDetail> {
        match &self.fetched {
            Fetched::Customer(d) => d.as_ref(),
            _ => None,
        }
    }

    fn group(&self) -> Option<&GroupChat> {
        match &self.fetched {
            Fetched::Group(c) => c.as_ref(),
            _ => None,
        }
    }
}

/// The fetched member list by member id.
fn listed_members(chat: Option<&GroupChat>) -> HashMap<&str, &crate::wecom::api::GroupMember> {
    chat.iter()
        .flat_map(|c| c.member_list.iter())
        .map(|m| (m.userid.as_str(), m))
        .collect()
}

/// The fetched detail when it includes this change: its member version is the callback's
/// (or the callback names none); WeCom may answer stale data for a moment.
fn current_detail<'c>(
    chat: Option<&'c GroupChat>,
    cur_mem_ver: Option<&str>,
) -> Option<&'c GroupChat> {
    chat.filter(|c| match cur_mem_ver {
        Some(v) => c.member_version.as_deref() == Some(v),
        None => true,
    })
}
