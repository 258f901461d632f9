//! The directory's ports: what the callback inbox, the re-sync and the other contexts need
//! from the directory store and from WeCom's directory APIs. The DynamoDB and WeCom
//! adapters implement them in `scrm-adapters`.
use super::model::*;
use super::receipts::{Acquired, Lease, NewReceipt, ReceiptStatus, ReceiptView};
use super::resync::{JobLease, JobStatus, Position, Progress, RecordKey, ResyncJob};
use crate::events::EventEnvelope;
use crate::events::RemovedBy;
use crate::ports::StoreError;
use crate::tenants::TenantId;
use crate::wecom::api::{
    BatchGetByUserPage, CorpCredentials, CorpTagGroup, ExternalContactDetail, GroupChatListPage,
    StaffStatus, WeComError,
};
use crate::wecom::api::{ExternalContact, FollowInfo, FollowUser, GroupChat, GroupMember};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::future::Future;

/// What to write on a follow relation. `None` fields are left as they are, so a callback
/// that only knows the channel does not erase a remark fetched earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowWrite {
    /// The relation's state.
    pub status: RelationStatus,
    /// Remark.
    pub remark: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Tags (replaced as a whole when given).
    pub tags: Option<Vec<RelationTag>>,
    /// add_way.
    pub add_way: Option<i64>,
    /// Channel `state`.
    pub state: Option<String>,
    /// When the member added the customer (epoch seconds).
    pub createtime: Option<i64>,
    /// Who initiated the add.
    pub oper_userid: Option<String>,
    /// Whether WeCom's detail is still missing.
    pub needs_sync: bool,
}

impl FollowWrite {
    /// What a callback alone tells: the state and the channel, detail to be synced.
    pub fn from_callback(status: RelationStatus, state: Option<String>, at: i64) -> Self {
        Self {
            status,
            remark: None,
            description: None,
            tags: None,
            add_way: None,
            state,
            createtime: Some(at),
            oper_userid: None,
            needs_sync: true,
        }
    }

    /// A relation as `externalcontact/get` returns it (tags with names).
    pub fn from_follow_user(f: &FollowUser, status: RelationStatus) -> Self {
        Self {
            status,
            remark: Some(f.remark.clone()),
            description: Some(f.description.clone()),
            tags: Some(
                f.tags
                    .iter()
                    .map(|t| RelationTag {
                        tag_id: t.tag_id.clone(),
                        group_name: Some(t.group_name.clone()),
                        tag_name: Some(t.tag_name.clone()),
                        tag_type: t.tag_type,
                    })
                    .collect(),
            ),
            add_way: Some(f.add_way),
            state: f.state.clone(),
            createtime: Some(f.createtime),
            oper_userid: f.oper_userid.clone(),
            needs_sync: false,
        }
    }

    /// A relation as `batch/get_by_user` returns it: tag ids only, named through `name_of`
    /// (the corp tag mirror), which gives `(group name, tag name)`.
    pub fn from_follow_info(
        f: &FollowInfo,
        name_of: impl Fn(&str) -> Option<(String, String)>,
    ) -> Self {
        Self {
            status: RelationStatus::Active,
            remark: Some(f.remark.clone()),
            description: Some(f.description.clone()),
            tags: Some(
                f.tag_id
                    .iter()
                    .map(|id| {
                        let names = name_of(id);
                        RelationTag {
                            tag_id: Some(id.clone()),
                            group_name: names.as_ref().map(|n| n.0.clone()),
                            tag_name: names.map(|n| n.1),
                            tag_type: 1,
                        }
                    })
                    .collect(),
            ),
            add_way: Some(f.add_way),
            state: f.state.clone(),
            createtime: Some(f.createtime),
            oper_userid: f.oper_userid.clone(),
            needs_sync: false,
        }
    }
}

/// What to write on a membership that is (or becomes) active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberWrite {
    /// userid or external_userid.
    pub member_id: String,
    /// Whether a customer.
    pub is_customer: bool,
    /// Join time (epoch seconds).
    pub join_time: Option<i64>,
    /// Join scene.
    pub join_scene: Option<i64>,
    /// Who invited them.
    pub invitor: Option<String>,
    /// Nickname in the group.
    pub group_nickname: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// The 「加入群聊」 state.
    pub state: Option<String>,
}

impl MemberWrite {
    /// A member as `groupchat/get` lists them.
    pub fn from_api(m: &GroupMember) -> Self {
        Self {
            member_id: m.userid.clone(),
            is_customer: m.member_type == 2,
            join_time: Some(m.join_time),
            join_scene: Some(m.join_scene),
            invitor: m.invitor.as_ref().map(|i| i.userid.clone()),
            group_nickname: Some(m.group_nickname.clone()).filter(|n| !n.is_empty()),
            name: m.name.clone().filter(|n| !n.is_empty()),
            state: m.state.clone(),
        }
    }
}

/// Whether an id names a customer when WeCom did not say: external_userids start with
/// `wm` (WeChat customers) or `wo` (WeCom customers); staff userids are chosen by the corp.
/// Used only when the member's type could not be fetched.
pub fn looks_like_customer(member_id: &str) -> bool {
    member_id.starts_with("wm") || member_id.starts_with("wo")
}

/// The directory writes the callback effects and the re-sync make.
pub trait DirectoryWrite: Send + Sync {
    /// Writes a customer's profile as WeCom returned it; `Ok(false)` if a newer one is
    /// already stored.
    fn put_customer_detail(
        &self,
        t: &TenantId,
        contact: &ExternalContact,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Makes sure the customer exists; `needs_sync` flags that WeCom's detail is missing.
    fn touch_customer(
        &self,
        t: &TenantId,
        external_userid: &str,
        needs_sync: bool,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes a follow relation; `Ok(false)` if a newer change is already stored.
    fn put_follow(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
        follow: &FollowWrite,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Flags a follow relation whose change could not be fetched from WeCom (its state is
    /// left as it is; a new relation counts as active).
    fn mark_follow_needs_sync(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Marks a follow relation removed, keeping it with who removed whom.
    fn remove_follow(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
        by: RemovedBy,
        source: Option<&str>,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records a failed transfer on the customer.
    fn record_transfer_failure(
        &self,
        t: &TenantId,
        external_userid: &str,
        failure: &TransferFailure,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Remembers a staff member (the re-sync lists customers per known member).
    fn touch_staff(
        &self,
        t: &TenantId,
        userid: &str,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a staff member's status as checked at `at` (not `Departed`: see
    /// [`DirectoryWrite::record_staff_departure`]). A member seen again after a departure
    /// is active again and loses the departure. `Ok(false)` if a newer check is stored.
    fn record_staff_status(
        &self,
        t: &TenantId,
        userid: &str,
        status: StaffState,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records that a staff member left, unless the directory already has them departed
    /// (or a newer check): `Ok(true)` exactly once per departure. The departure stays
    /// unpublished until [`DirectoryWrite::mark_departure_published`].
    fn record_staff_departure(
        &self,
        t: &TenantId,
        userid: &str,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Notes that `StaffDeparted` was published for the departure recorded at
    /// `departed_at` (nothing if the member is no longer recorded departed then).
    fn mark_departure_published(
        &self,
        t: &TenantId,
        userid: &str,
        departed_at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes a group as `groupchat/get` returned it (its member count is the list's
    /// length); `Ok(false)` if a newer change is already stored.
    fn put_group_detail(
        &self,
        t: &TenantId,
        chat: &GroupChat,
        status: Option<i64>,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Makes sure the group exists; `needs_sync` flags that WeCom's detail is missing.
    fn touch_group(
        &self,
        t: &TenantId,
        chat_id: &str,
        needs_sync: bool,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records the member-list version after a membership change, unless a newer change
    /// already set it.
    fn set_member_version(
        &self,
        t: &TenantId,
        chat_id: &str,
        version: &str,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks a group dismissed.
    fn dismiss_group(
        &self,
        t: &TenantId,
        chat_id: &str,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Someone joined: activates the membership and counts them, once; `Ok(false)` if they
    /// were already in (or a newer change is stored).
    fn member_joined(
        &self,
        t: &TenantId,
        chat_id: &str,
        member: &MemberWrite,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// [`DirectoryWrite::member_joined`] on behalf of one change (`by`, the callback's dedupe
    /// key, recorded on the membership): `Ok(true)` also when that same change already
    /// made the member join, so that a retried change reports what it did the first time.
    /// `version` (the member list's version after the change) is recorded on the
    /// membership by the same write; the group's version is the newest recorded.
    #[allow(clippy::too_many_arguments)]
    fn member_joined_by(
        &self,
        t: &TenantId,
        chat_id: &str,
        member: &MemberWrite,
        at: i64,
        by: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// [`DirectoryWrite::member_left`] on behalf of one change (`by`, recorded on the
    /// membership): `Ok(true)` also when that same change already made the member leave.
    /// `version` as for [`DirectoryWrite::member_joined_by`].
    #[allow(clippy::too_many_arguments)]
    fn member_left_by(
        &self,
        t: &TenantId,
        chat_id: &str,
        member_id: &str,
        is_customer: bool,
        quit_scene: Option<i64>,
        at: i64,
        by: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Someone left: deactivates the membership and uncounts them, once; `Ok(false)` if
    /// they were not in (the departure is still recorded). `is_customer` is a guess used
    /// only when the membership is unknown.
    fn member_left(
        &self,
        t: &TenantId,
        chat_id: &str,
        member_id: &str,
        is_customer: bool,
        quit_scene: Option<i64>,
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Writes a whole member list as current (the count is set by `put_group_detail`).
    fn put_members(
        &self,
        t: &TenantId,
        chat_id: &str,
        members: &[MemberWrite],
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Marks every active member not in `present` as left; returns how many.
    fn mark_absent_members_left(
        &self,
        t: &TenantId,
        chat_id: &str,
        present: &HashSet<String>,
        at: i64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Records that the directory holds the group's whole member list (just written from
    /// WeCom's list, absent members marked left): from then on the group's member count
    /// is the count of its active memberships, which every join and leave keeps. Active
    /// memberships written before they were counted are given their count keys first.
    /// Writes nothing when the group is already counted so.
    fn mark_members_counted(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The directory look-ups.
pub trait DirectoryRead: Send + Sync {
    /// A customer with every follow relation.
    fn customer(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> impl Future<Output = Result<Option<CustomerView>, StoreError>> + Send;
    /// A page of customers with their follow relations, ordered by id.
    fn customers(
        &self,
        t: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<CustomerView>, StoreError>> + Send;
    /// A group without its members; its member count as exact as [`DirectoryRead::group`]'s
    /// (counted from the index of active memberships), its member version as of WeCom's
    /// last detail.
    fn group_profile(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> impl Future<Output = Result<Option<Group>, StoreError>> + Send;
    /// When WeCom's detail of a group (`groupchat/get`) was last written (epoch seconds of
    /// the change it was fetched for), if ever since the group's counters item exists.
    fn group_detail_fetched_at(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
    /// A group with its members, current and past.
    fn group(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> impl Future<Output = Result<Option<GroupView>, StoreError>> + Send;
    /// A page of groups (of one owner, if given), ordered by id. Each group's member count
    /// is the one WeCom's detail gave when it was last fetched (about once a minute for a
    /// group receiving joins, on every change otherwise, and by every re-sync): a page of
    /// many groups is one batch read, not a count per group.
    fn groups(
        &self,
        t: &TenantId,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Group>, StoreError>> + Send;
    /// The groups someone is or was a member of.
    fn member_groups(
        &self,
        t: &TenantId,
        member_id: &str,
    ) -> impl Future<Output = Result<Vec<MemberGroup>, StoreError>> + Send;
    /// Every staff member the directory has seen.
    fn known_staff(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// A staff member with their recorded status (strongly consistent).
    fn staff_member(
        &self,
        t: &TenantId,
        userid: &str,
    ) -> impl Future<Output = Result<Option<StaffMember>, StoreError>> + Send;
    /// Every staff member the directory has seen, with their status, ordered by userid
    /// (read from an index: a write a moment old may not show yet).
    fn staff_members(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<Vec<StaffMember>, StoreError>> + Send;
    /// A page of groups (of one owner, if given) whose normalized name contains
    /// `normalized` ([`super::search::normalize_name`]), ordered by id, strictly after
    /// the group `after`.
    fn groups_named(
        &self,
        t: &TenantId,
        owner: Option<&str>,
        normalized: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Group>, StoreError>> + Send;
}

/// The sharded customer name index ([`super::search`]).
pub trait NameIndex: Send + Sync {
    /// Up to `limit` positions of shard `shard` that start with `prefix`, strictly after
    /// `after`, ascending.
    fn name_positions(
        &self,
        t: &TenantId,
        shard: u32,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// The receipts' store.
pub trait ReceiptStore: Send + Sync {
    /// Creates the receipt, or takes over an abandoned one, or reports it done or busy.
    fn acquire(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        receipt: &NewReceipt,
        now: DateTime<Utc>,
        lease_ms: i64,
    ) -> impl Future<Output = Result<Acquired, StoreError>> + Send;
    /// Records, while `received` and before any effect, the events the change may produce
    /// (decided from the directory as it was); `Ok(false)` if the lease was lost.
    fn record_plan(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        planned: &[EventEnvelope],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// `received → applied`, recording the events to publish; `Ok(false)` if the lease was
    /// lost to another delivery (which then finishes the job).
    fn mark_applied(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// `→ published` with the events published, ending the lease; `Ok(false)` if the
    /// lease was lost. `unknown` is the receipt's [`NewReceipt::unknown`] (its listing
    /// stays).
    #[allow(clippy::too_many_arguments)]
    fn mark_published(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        unknown: bool,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Gives the lease up after a failure, so that the next delivery takes over at once.
    fn release(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        error: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A receipt's status.
    fn receipt_status(
        &self,
        t: &TenantId,
        dedupe_key: &str,
    ) -> impl Future<Output = Result<Option<ReceiptStatus>, StoreError>> + Send;
    /// Receipts not yet published that arrived before `received_before`, oldest first (up
    /// to `limit`): deliveries that died and that no re-delivery finished. Read from an
    /// index, so a receipt published a moment ago may still be listed.
    fn stuck(
        &self,
        t: &TenantId,
        received_before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ReceiptView>, StoreError>> + Send;
    /// Received callbacks, newest first (only unknown events when `unknown_only`).
    fn receipts(
        &self,
        t: &TenantId,
        unknown_only: bool,
        before: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<ReceiptView>, StoreError>> + Send;
}

/// The jobs' store.
pub trait ResyncJobs: Send + Sync {
    /// Creates a pending job.
    fn create_job(
        &self,
        t: &TenantId,
        job_id: &str,
        requested_userids: &[String],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ResyncJob, StoreError>> + Send;
    /// A job.
    fn job(
        &self,
        t: &TenantId,
        job_id: &str,
    ) -> impl Future<Output = Result<Option<ResyncJob>, StoreError>> + Send;
    /// Jobs, newest first.
    fn jobs(
        &self,
        t: &TenantId,
        limit: usize,
    ) -> impl Future<Output = Result<Page<ResyncJob>, StoreError>> + Send;
    /// Takes the job for a run unless it is finished or another run holds it.
    fn lease_job(
        &self,
        t: &TenantId,
        job_id: &str,
        now: DateTime<Utc>,
        lease_ms: i64,
    ) -> impl Future<Output = Result<Option<(JobLease, ResyncJob)>, StoreError>> + Send;
    /// Moves the job from `from` to `to`, adding `delta` to its progress (and setting the
    /// staff or unlicensed lists when given); `Ok(false)` if the lease or position moved.
    #[allow(clippy::too_many_arguments)]
    fn checkpoint(
        &self,
        t: &TenantId,
        job_id: &str,
        lease: &JobLease,
        from: &Position,
        to: &Position,
        delta: &Progress,
        staff: Option<&[String]>,
        unlicensed: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Ends a run: `Done`/`Failed` finish the job; `Running` releases the lease (with the
    /// error that stopped it, if any) so the next run can go on.
    fn end_run(
        &self,
        t: &TenantId,
        job_id: &str,
        lease: &JobLease,
        status: JobStatus,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The content hashes the directory holds for these customer records (read in
    /// batches, not written). A record that is absent, carries no hash, or is flagged
    /// `needs_sync` is left out: it is to be written.
    fn stored_hashes(
        &self,
        t: &TenantId,
        records: &[RecordKey],
    ) -> impl Future<Output = Result<HashMap<RecordKey, String>, StoreError>> + Send;
}

/// WeCom's customer-contact read APIs.
pub trait DirectorySource: Send + Sync {
    /// `externalcontact/get_follow_user_list`: the members with customer contact (members
    /// who left are not listed).
    fn follow_users(
        &self,
        creds: &CorpCredentials,
    ) -> impl Future<Output = Result<Vec<String>, WeComError>> + Send;
    /// `user/get`: a member's status (an unknown userid is [`StaffStatus::Left`]).
    fn staff_status(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> impl Future<Output = Result<StaffStatus, WeComError>> + Send;
    /// `externalcontact/get`, every follower.
    fn customer_detail(
        &self,
        creds: &CorpCredentials,
        external_userid: &str,
    ) -> impl Future<Output = Result<ExternalContactDetail, WeComError>> + Send;
    /// `externalcontact/groupchat/get` (with member names).
    fn group_detail(
        &self,
        creds: &CorpCredentials,
        chat_id: &str,
    ) -> impl Future<Output = Result<GroupChat, WeComError>> + Send;
    /// `externalcontact/get_corp_tag_list` (everything when both filters are empty).
    fn corp_tags(
        &self,
        creds: &CorpCredentials,
        tag_ids: &[String],
        group_ids: &[String],
    ) -> impl Future<Output = Result<Vec<CorpTagGroup>, WeComError>> + Send;
    /// One page of `externalcontact/groupchat/list`, every owner status (`status_filter`
    /// 0): the groups of `owners` (at most 100), or every group when `owners` is empty
    /// (which WeCom refuses with 81017 when its visible range has more than 1,000 members).
    fn group_page(
        &self,
        creds: &CorpCredentials,
        owners: &[String],
        cursor: &str,
        limit: u32,
    ) -> impl Future<Output = Result<GroupChatListPage, WeComError>> + Send;
    /// One page of `externalcontact/batch/get_by_user` for up to 100 members.
    fn customers_page(
        &self,
        creds: &CorpCredentials,
        userids: &[String],
        cursor: &str,
        limit: u32,
    ) -> impl Future<Output = Result<BatchGetByUserPage, WeComError>> + Send;
    /// `externalcontact/list`: one member's customers.
    fn member_customer_ids(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> impl Future<Output = Result<Vec<String>, WeComError>> + Send;
}
