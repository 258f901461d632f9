//! The full directory re-sync from WeCom's API, for a new tenant or after missed callbacks.
//!
//! A job is an item (`{corp}#RESYNC#{job}` / `JOB`) that holds its phase, the cursor within
//! the phase and its progress. It runs in phases:
//!
//! 1. `tags`: the corp tag library (`get_corp_tag_list`), so follow relations' tag ids can
//!    be named;
//! 2. `staff`: the members with customer contact (`get_follow_user_list`) are recorded
//!    active; every other member the directory knows is checked with `user/get`, and one
//!    who left is recorded departed and `StaffDeparted` is published for them, once per
//!    departure (see [`Resync`]);
//! 3. `groups`: `groupchat/list` by owners, 100 at a time, page by page, every owner
//!    status; `groupchat/get` for each group (group, all members; members no longer listed
//!    are marked left; owners and staff members become known staff). The owners are fixed
//!    when the phase starts: every member the directory knows, departed ones included (their
//!    groups may await 离职继承), and the userids given when the job was started;
//! 4. `customers`: `batch/get_by_user` for the known staff who have not left (plus any
//!    userids given when the job was started), 100 members per batch, page by page
//!    (customers and their follow relations);
//! 5. `singles`: members `batch/get_by_user` reported unlicensed, one by one through
//!    `externalcontact/list` and `externalcontact/get`.
//!
//! After every page the job item is updated in one conditional write: the next cursor and
//! the page's counts together, guarded by the runner's lease and the position it started
//! from. Directory writes are idempotent upserts, so a run stopped anywhere (budget spent,
//! crash, WeCom down) resumes at the last checkpoint, writes the same values again for a
//! half-done page, and counts each page exactly once. A run processes pages for a bounded
//! time, then the function re-publishes `ResyncRequested` to continue.
//!
//! The staff list is what WeCom lists with customer contact (phase 2) together with what
//! the directory knows: follow users seen in callbacks, group owners and staff members
//! (phase 3), plus any userids given when the job was started.
//!
//! Nothing unchanged is written again. Every customer profile and follow relation keeps a
//! content hash of what WeCom returned for it ([`profile_content_hash`],
//! [`follow_content_hash`], set by every write of WeCom's detail); a customer page first
//! reads the stored hashes of its records in one batch ([`ResyncJobs::stored_hashes`]) and
//! writes only the records whose hash differs (or that are flagged `needs_sync`). A group
//! is compared with what the directory holds (one read of its partition) and only a changed
//! profile, changed memberships and members gone are written. A re-sync of an unchanged
//! directory therefore writes only its checkpoints.
use super::model::{GroupView, Membership};
use super::ports::{DirectoryRead, DirectoryWrite, FollowWrite, MemberWrite};
use super::source::DirectorySource;
use super::{RelationStatus, StaffState};
use crate::events::{DomainEvent, EventEnvelope, EventPublisher, PublishError};
use crate::ports::StoreError;
use crate::tags::{self, TagMirror};
use crate::tenants::TenantId;
use crate::wecom::api::{
    limits, CorpCredentials, ExternalContact, GroupChat, GroupChatListPage, StaffStatus, WeComError,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

/// One customer record of the directory: the profile (`userid` none) or the follow
/// relation of `userid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordKey {
    /// The customer.
    pub external_userid: String,
    /// The follow user, for a follow relation.
    pub userid: Option<String>,
}

impl RecordKey {
    /// The customer's profile.
    pub fn profile(external_userid: &str) -> Self {
        Self {
            external_userid: external_userid.to_string(),
            userid: None,
        }
    }
    /// The follow relation of `userid` with the customer.
    pub fn follow(external_userid: &str, userid: &str) -> Self {
        Self {
            external_userid: external_userid.to_string(),
            userid: Some(userid.to_string()),
        }
    }
}

fn content_hash(canonical: &[u8]) -> String {
    let digest = Sha256::digest(canonical);
    // 96 bits: a collision (a change taken for no change) is out of reach at any corp's
    // size; the prefix names the recipe, so a new recipe only rewrites each record once.
    format!("v1:{}", hex::encode(&digest[..12]))
}

/// The content hash of a customer's profile as WeCom returned it (every field it holds).
pub fn profile_content_hash(c: &ExternalContact) -> String {
    content_hash(&serde_json::to_vec(c).unwrap_or_default())
}

/// The content hash of what a follow relation write sets.
pub fn follow_content_hash(f: &FollowWrite) -> String {
    let canonical = serde_json::json!([
        f.status.as_str(),
        f.remark,
        f.description,
        f.tags,
        f.add_way,
        f.state,
        f.createtime,
        f.oper_userid,
        f.needs_sync,
    ]);
    content_hash(canonical.to_string().as_bytes())
}

/// Whether the directory holds the record with this content (its hash stored and current).
fn holds(stored: &HashMap<RecordKey, String>, key: &RecordKey, hash: &str) -> bool {
    stored.get(key).is_some_and(|h| h == hash)
}

/// Whether the stored group profile already says what `chat` (listed with `status`) says.
fn group_unchanged(view: &GroupView, chat: &GroupChat, status: i64) -> bool {
    let g = &view.group;
    !g.needs_sync
        && !g.dismissed
        && g.name.as_deref() == Some(chat.name.as_str())
        && g.owner.as_deref() == Some(chat.owner.as_str())
        && g.notice == chat.notice
        && g.create_time == Some(chat.create_time)
        && g.member_count == chat.member_list.len() as i64
        && g.status == status
        && (chat.member_version.is_none() || g.member_version == chat.member_version)
}

/// Whether a stored membership is active and already says what `m` would write (a field
/// `m` leaves out is left as stored by the write too).
fn member_unchanged(stored: &Membership, m: &MemberWrite) -> bool {
    fn same<T: PartialEq>(new: &Option<T>, old: &Option<T>) -> bool {
        new.is_none() || new == old
    }
    stored.active
        && stored.left_at.is_none()
        && stored.quit_scene.is_none()
        && stored.is_customer == m.is_customer
        && same(&m.join_time, &stored.join_time)
        && same(&m.join_scene, &stored.join_scene)
        && same(&m.invitor, &stored.invitor)
        && same(&m.group_nickname, &stored.group_nickname)
        && same(&m.name, &stored.name)
        && same(&m.state, &stored.state)
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Created, not started.
    Pending,
    /// Started; more to do.
    Running,
    /// Finished.
    Done,
    /// Stopped for a reason retrying cannot fix (credentials, trusted IPs).
    Failed,
}

impl JobStatus {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
    /// Reads a stored name.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        Ok(match raw {
            "pending" => JobStatus::Pending,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            other => return Err(StoreError::Corrupt(format!("job status {other}"))),
        })
    }
}

/// The phase a job is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Corp tags.
    Tags,
    /// Staff: who has customer contact, who left.
    Staff,
    /// Groups and members.
    Groups,
    /// Customers of the known staff, in batches.
    Customers,
    /// Customers of unlicensed members, one member at a time.
    Singles,
    /// Nothing left.
    Done,
}

impl Phase {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Phase::Tags => "tags",
            Phase::Staff => "staff",
            Phase::Groups => "groups",
            Phase::Customers => "customers",
            Phase::Singles => "singles",
            Phase::Done => "done",
        }
    }
    /// Reads a stored name.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        Ok(match raw {
            "tags" => Phase::Tags,
            "staff" => Phase::Staff,
            "groups" => Phase::Groups,
            "customers" => Phase::Customers,
            "singles" => Phase::Singles,
            "done" => Phase::Done,
            other => return Err(StoreError::Corrupt(format!("job phase {other}"))),
        })
    }
}

/// What a job has done so far (each page counted once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// WeCom pages completed (a tag library read, a group page, a customer page, a member).
    pub pages: i64,
    /// Corp tags read.
    pub tags: i64,
    /// Groups written.
    pub groups: i64,
    /// Group memberships written.
    pub members: i64,
    /// Follow relations (customer records) written.
    pub customers: i64,
    /// Groups or customers WeCom would not return (skipped).
    pub skipped: i64,
    /// Members WeCom lists with customer contact.
    #[serde(default)]
    pub staff: i64,
    /// Members newly recorded as departed.
    #[serde(default)]
    pub departed: i64,
    /// Customer records (profiles and follow relations) WeCom returned as the directory
    /// holds them: read, not written.
    #[serde(default)]
    pub unchanged: i64,
}

/// A position within a job: what a checkpoint moves from and to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Phase.
    pub phase: Phase,
    /// WeCom's cursor within the phase (empty: start of the phase or batch).
    pub cursor: String,
    /// In `groups`: the batch of 100 owners; in `customers`: the batch of 100 staff; in
    /// `singles`: the member's index.
    pub index: i64,
}

/// A re-sync job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResyncJob {
    /// The job.
    pub job_id: String,
    /// Status.
    pub status: JobStatus,
    /// Where it is.
    pub position: Position,
    /// In the groups phase, the owners whose groups are listed (fixed when the phase
    /// starts); from the customers phase on, the staff whose customers are read (fixed when
    /// that phase starts).
    pub staff: Vec<String>,
    /// Members `batch/get_by_user` reported unlicensed.
    pub unlicensed: Vec<String>,
    /// Userids given when the job was started.
    pub requested_userids: Vec<String>,
    /// Progress.
    pub progress: Progress,
    /// Invocations that worked on it.
    pub invocations: i64,
    /// When created.
    pub created_at: String,
    /// When last checkpointed.
    pub updated_at: String,
    /// When finished.
    pub finished_at: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// A held job lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLease {
    /// The runner's random id.
    pub owner: String,
}

/// How much one run may do.
#[derive(Debug, Clone, Copy)]
pub struct RunBudget {
    /// Stop starting pages after this instant.
    pub deadline: Instant,
    /// Stop after this many pages (tests interrupt jobs with it).
    pub max_pages: Option<u32>,
    /// Groups per `groupchat/list` page (1..=1000).
    pub group_page_size: u32,
    /// Records per `batch/get_by_user` page (1..=100).
    pub customer_page_size: u32,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// The job is finished.
    Done(ResyncJob),
    /// The budget ran out with work left: publish `ResyncRequested` to continue.
    Continue(ResyncJob),
    /// Another run holds the job, or it is already finished: nothing to do.
    NotRunnable,
    /// No such job.
    NotFound,
}

/// A run failed.
#[derive(Debug, thiserror::Error)]
pub enum ResyncError {
    /// WeCom failed; `is_retryable` says whether a later run may succeed.
    #[error(transparent)]
    WeCom(#[from] WeComError),
    /// The directory could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `StaffDeparted` could not be published (the departure stays recorded as
    /// unpublished; the retried run publishes it).
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The tenant has no customer-contact secret.
    #[error("the tenant has no customer-contact secret; a re-sync cannot read WeCom")]
    NoCredentials,
}

impl ResyncError {
    /// Whether a later run may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ResyncError::WeCom(e) => e.is_retryable(),
            ResyncError::Store(e) => !matches!(e, StoreError::Corrupt(_)),
            ResyncError::Publish(_) => true,
            ResyncError::NoCredentials => false,
        }
    }
}

impl From<tags::SyncError> for ResyncError {
    fn from(e: tags::SyncError) -> Self {
        match e {
            tags::SyncError::WeCom(w) => ResyncError::WeCom(w),
            tags::SyncError::Store(s) => ResyncError::Store(s),
        }
    }
}

/// Everything a run needs.
///
/// Departures are published exactly once: the directory first records the member as
/// departed with the departure unpublished (a conditional write that succeeds once per
/// departure), then `StaffDeparted` is published with the id
/// `staff-departed:{corp}:{userid}:{departed_at}`, then the departure is marked published.
/// A run that stops in between re-publishes the same event (same id) when the phase is
/// retried; a later re-sync publishes nothing.
pub struct Resync<'a, D, M, S, P> {
    /// Directory and jobs.
    pub dir: &'a D,
    /// Tag mirror.
    pub tags: &'a M,
    /// WeCom.
    pub source: &'a S,
    /// The tenant's customer-contact credentials.
    pub creds: &'a CorpCredentials,
    /// The tenant.
    pub tenant: &'a TenantId,
    /// Where `StaffDeparted` goes.
    pub events: &'a P,
}

/// One page's result: the next position, counts, and list updates.
struct Step {
    to: Position,
    delta: Progress,
    staff: Option<Vec<String>>,
    unlicensed: Option<Vec<String>>,
}

fn is_skippable(e: &WeComError) -> bool {
    matches!(e, WeComError::Api { .. }) && !e.is_retryable()
}

impl<D, M, S, P> Resync<'_, D, M, S, P>
where
    D: ResyncJobs + DirectoryWrite + DirectoryRead,
    M: TagMirror,
    S: DirectorySource,
    P: EventPublisher,
{
    /// Runs a job within `budget` from where it stopped. `now` stamps the writes (the
    /// directory's newest-change rule then keeps any newer callback's facts).
    pub async fn run(
        &self,
        job_id: &str,
        now: DateTime<Utc>,
        lease_ms: i64,
        budget: RunBudget,
    ) -> Result<RunOutcome, ResyncError> {
        let t = self.tenant;
        let Some((lease, mut job)) = self.dir.lease_job(t, job_id, now, lease_ms).await? else {
            return Ok(match self.dir.job(t, job_id).await? {
                Some(_) => RunOutcome::NotRunnable,
                None => RunOutcome::NotFound,
            });
        };
        let mut pages = 0u32;
        let at = now.timestamp();
        loop {
            if job.position.phase == Phase::Done {
                self.dir
                    .end_run(t, job_id, &lease, JobStatus::Done, None, now)
                    .await?;
                job.status = JobStatus::Done;
                tracing::info!(job_id, progress = ?job.progress, "re-sync done");
                return Ok(RunOutcome::Done(job));
            }
            let out_of_budget = Instant::now() >= budget.deadline
                || budget.max_pages.is_some_and(|max| pages >= max);
            if out_of_budget {
                self.dir
                    .end_run(t, job_id, &lease, JobStatus::Running, None, now)
                    .await?;
                tracing::info!(job_id, pages, position = ?job.position, "re-sync budget spent; continuing later");
                return Ok(RunOutcome::Continue(job));
            }
            let step = match self.step(&job, at, &budget).await {
                Ok(step) => step,
                Err(err) => {
                    let status = if err.is_retryable() {
                        JobStatus::Running
                    } else {
                        JobStatus::Failed
                    };
                    self.dir
                        .end_run(t, job_id, &lease, status, Some(&err.to_string()), now)
                        .await?;
                    return Err(err);
                }
            };
            let moved = self
                .dir
                .checkpoint(
                    t,
                    job_id,
                    &lease,
                    &job.position,
                    &step.to,
                    &step.delta,
                    step.staff.as_deref(),
                    step.unlicensed.as_deref(),
                    now,
                )
                .await?;
            if !moved {
                tracing::warn!(job_id, "re-sync lease lost; another run continues");
                return Ok(RunOutcome::NotRunnable);
            }
            pages += 1;
            job.position = step.to;
            add(&mut job.progress, &step.delta);
            if let Some(staff) = step.staff {
                job.staff = staff;
            }
            if let Some(unlicensed) = step.unlicensed {
                job.unlicensed = unlicensed;
            }
        }
    }

    async fn step(
        &self,
        job: &ResyncJob,
        at: i64,
        budget: &RunBudget,
    ) -> Result<Step, ResyncError> {
        let t = self.tenant;
        let pos = &job.position;
        match pos.phase {
            Phase::Tags => {
                let count = tags::sync_all(self.tags, self.source, self.creds, t, at).await?;
                Ok(Step {
                    to: Position {
                        phase: Phase::Staff,
                        cursor: String::new(),
                        index: 0,
                    },
                    delta: Progress {
                        pages: 1,
                        tags: count as i64,
                        ..Progress::default()
                    },
                    staff: None,
                    unlicensed: None,
                })
            }
            Phase::Staff => self.staff_phase(job, at).await,
            Phase::Groups => self.groups_page(job, at, budget.group_page_size).await,
            Phase::Customers => {
                self.customers_page(job, at, budget.customer_page_size)
                    .await
            }
            Phase::Singles => self.single_member(job, at).await,
            Phase::Done => unreachable!("a finished job has no step"),
        }
    }

    /// One `groupchat/list` page of the current owner batch, each group read in full.
    ///
    /// Groups are always listed by owner batches (`owner_filter`, 100 owners, the job's
    /// `staff` list as the staff phase fixed it), never unfiltered: WeCom refuses an
    /// unfiltered list with 81017 when its visible range has more than 1,000 members, and
    /// that range (not the members with customer contact we can count) is unknown to us, so
    /// a "small corp" cannot be told apart reliably; one path also keeps the checkpoint
    /// (batch index, cursor within the batch) the same for every corp. An empty owner list
    /// (a job checkpointed in this phase before owners were fixed, or a directory knowing
    /// nobody) lists unfiltered, continuing from its cursor.
    async fn groups_page(&self, job: &ResyncJob, at: i64, limit: u32) -> Result<Step, ResyncError> {
        let t = self.tenant;
        let pos = &job.position;
        let batches: Vec<&[String]> = job.staff.chunks(limits::GROUPCHAT_OWNERS).collect();
        let owners: &[String] = if batches.is_empty() {
            &[]
        } else {
            match batches.get(pos.index.max(0) as usize) {
                Some(batch) => batch,
                None => {
                    return Ok(Step {
                        to: Position {
                            phase: Phase::Customers,
                            cursor: String::new(),
                            index: 0,
                        },
                        delta: Progress::default(),
                        staff: Some(self.staff_list().await?),
                        unlicensed: None,
                    })
                }
            }
        };
        let mut delta = Progress {
            pages: 1,
            ..Progress::default()
        };
        let page = match self
            .source
            .group_page(
                self.creds,
                owners,
                &pos.cursor,
                limit.clamp(1, limits::GROUPCHAT_PAGE),
            )
            .await
        {
            Ok(page) => page,
            // A batch WeCom refuses for good (a requested userid it does not accept, say)
            // is counted skipped and the next batch goes on; an unfiltered list has no
            // other batch, so its refusal fails the job.
            Err(e) if !owners.is_empty() && is_skippable(&e) => {
                tracing::warn!(batch = pos.index, error = %e, "group owner batch refused; skipped");
                delta.skipped += 1;
                GroupChatListPage::default()
            }
            Err(e) => return Err(e.into()),
        };
        let mut staff = BTreeSet::new();
        for summary in &page.group_chat_list {
            let chat = match self.source.group_detail(self.creds, &summary.chat_id).await {
                Ok(chat) => chat,
                Err(e) if is_skippable(&e) => {
                    tracing::warn!(chat_id = %summary.chat_id, error = %e, "group skipped");
                    delta.skipped += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let members: Vec<MemberWrite> =
                chat.member_list.iter().map(MemberWrite::from_api).collect();
            let present: HashSet<String> = members.iter().map(|m| m.member_id.clone()).collect();
            // Only what differs from the directory is written.
            let stored = self.dir.group(t, &chat.chat_id).await?;
            let stored_members: HashMap<&str, &Membership> = stored
                .iter()
                .flat_map(|v| v.members.iter())
                .map(|m| (m.member_id.as_str(), m))
                .collect();
            if !stored
                .as_ref()
                .is_some_and(|v| group_unchanged(v, &chat, summary.status))
            {
                self.dir
                    .put_group_detail(t, &chat, Some(summary.status), at)
                    .await?;
            }
            let changed: Vec<MemberWrite> = members
                .iter()
                .filter(|m| {
                    !stored_members
                        .get(m.member_id.as_str())
                        .is_some_and(|s| member_unchanged(s, m))
                })
                .cloned()
                .collect();
            if !changed.is_empty() {
                self.dir.put_members(t, &chat.chat_id, &changed, at).await?;
            }
            let any_gone = stored_members
                .values()
                .any(|m| m.active && !present.contains(&m.member_id));
            if any_gone {
                self.dir
                    .mark_absent_members_left(t, &chat.chat_id, &present, at)
                    .await?;
            }
            // The directory now holds WeCom's list: the group's count is its active
            // memberships from here on (a group first seen in a change, or counted before
            // the count index, gets there at its first re-sync; nothing written after).
            self.dir.mark_members_counted(t, &chat.chat_id).await?;
            if !chat.owner.is_empty() {
                staff.insert(chat.owner.clone());
            }
            staff.extend(
                members
                    .iter()
                    .filter(|m| !m.is_customer)
                    .map(|m| m.member_id.clone()),
            );
            delta.groups += 1;
            delta.members += members.len() as i64;
        }
        // Every owner the staff phase listed (all but the requested userids) is known to
        // the directory already; only the others are recorded.
        let requested: HashSet<&String> = job.requested_userids.iter().collect();
        let known: HashSet<&String> = job
            .staff
            .iter()
            .filter(|u| !requested.contains(u))
            .collect();
        for userid in staff.iter().filter(|u| !known.contains(u)) {
            self.dir.touch_staff(t, userid, at).await?;
        }
        let next_batch = pos.index + 1;
        let to = if !page.next_cursor.is_empty() {
            Position {
                phase: Phase::Groups,
                cursor: page.next_cursor,
                index: pos.index,
            }
        } else if (next_batch.max(0) as usize) < batches.len() {
            Position {
                phase: Phase::Groups,
                cursor: String::new(),
                index: next_batch,
            }
        } else {
            Position {
                phase: Phase::Customers,
                cursor: String::new(),
                index: 0,
            }
        };
        // Entering the customers phase fixes the staff list (replacing the owners).
        let staff_list = if to.phase == Phase::Customers {
            Some(self.staff_list().await?)
        } else {
            None
        };
        Ok(Step {
            to,
            delta,
            staff: staff_list,
            unlicensed: None,
        })
    }

    /// The staff whose customers are read: every known member who has not left.
    async fn staff_list(&self) -> Result<Vec<String>, ResyncError> {
        Ok(self
            .dir
            .staff_members(self.tenant)
            .await?
            .into_iter()
            .filter(|m| !m.departed())
            .map(|m| m.userid)
            .collect())
    }

    /// Records who has customer contact (active) and checks every other known member with
    /// `user/get`, recording their status; a member who left is recorded departed and
    /// `StaffDeparted` is published for them. Fixes the owners the groups phase lists by.
    async fn staff_phase(&self, job: &ResyncJob, at: i64) -> Result<Step, ResyncError> {
        let t = self.tenant;
        let listed: BTreeSet<String> = self
            .source
            .follow_users(self.creds)
            .await?
            .into_iter()
            .filter(|u| !u.is_empty())
            .collect();
        let mut delta = Progress {
            pages: 1,
            staff: listed.len() as i64,
            ..Progress::default()
        };
        for userid in &listed {
            self.dir
                .record_staff_status(t, userid, StaffState::Active, at)
                .await?;
        }
        let known = self.dir.staff_members(t).await?;
        let mut unpublished: BTreeSet<String> = known
            .iter()
            .filter(|m| m.departed() && !m.departure_published)
            .map(|m| m.userid.clone())
            .collect();
        for member in known
            .iter()
            .filter(|m| !m.departed() && !listed.contains(&m.userid))
        {
            let userid = &member.userid;
            let status = match self.source.staff_status(self.creds, userid).await {
                Ok(status) => status,
                Err(e) if is_skippable(&e) => {
                    tracing::warn!(userid = %userid, error = %e, "staff status unavailable; skipped");
                    delta.skipped += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let state = match status {
                StaffStatus::Active => StaffState::Active,
                StaffStatus::Disabled => StaffState::Disabled,
                StaffStatus::NotActivated => StaffState::NotActivated,
                StaffStatus::Left => StaffState::Departed,
                StaffStatus::Other(_) => StaffState::Other,
            };
            if state == StaffState::Departed {
                if self.dir.record_staff_departure(t, userid, at).await? {
                    tracing::info!(userid = %userid, "staff member left; recorded departed");
                    delta.departed += 1;
                    unpublished.insert(userid.clone());
                }
            } else {
                self.dir.record_staff_status(t, userid, state, at).await?;
            }
        }
        self.publish_departures(&unpublished).await?;
        // The groups phase lists groups by these owners: everyone listed with customer
        // contact, every member the directory knows (departed ones too: a group awaiting
        // 离职继承 is still theirs) and the requested userids. Sorted, so the batches stay
        // the same however often the phase is resumed.
        let mut owners = listed;
        owners.extend(known.into_iter().map(|m| m.userid));
        owners.extend(job.requested_userids.iter().cloned());
        owners.retain(|u| !u.is_empty());
        Ok(Step {
            to: Position {
                phase: Phase::Groups,
                cursor: String::new(),
                index: 0,
            },
            delta,
            staff: Some(owners.into_iter().collect()),
            unlicensed: None,
        })
    }

    /// Publishes `StaffDeparted` for each recorded, unpublished departure, then marks them
    /// published. Each is re-read consistently, so an index lagging behind changes nothing.
    async fn publish_departures(&self, userids: &BTreeSet<String>) -> Result<(), ResyncError> {
        let t = self.tenant;
        let mut due = Vec::new();
        for userid in userids {
            let Some(member) = self.dir.staff_member(t, userid).await? else {
                continue;
            };
            if let (true, false, Some(departed_at)) = (
                member.departed(),
                member.departure_published,
                member.departed_at,
            ) {
                due.push((member.userid, departed_at));
            }
        }
        if due.is_empty() {
            return Ok(());
        }
        let events: Vec<EventEnvelope> = due
            .iter()
            .map(|(userid, departed_at)| {
                EventEnvelope::new(
                    staff_departed_event_id(t, userid, *departed_at),
                    t.as_str(),
                    DateTime::from_timestamp(*departed_at, 0).unwrap_or_default(),
                    DomainEvent::StaffDeparted {
                        userid: userid.clone(),
                    },
                )
            })
            .collect();
        self.events.publish(&events).await?;
        for (userid, departed_at) in &due {
            self.dir
                .mark_departure_published(t, userid, *departed_at)
                .await?;
        }
        tracing::info!(count = due.len(), "StaffDeparted published");
        Ok(())
    }

    async fn customers_page(
        &self,
        job: &ResyncJob,
        at: i64,
        limit: u32,
    ) -> Result<Step, ResyncError> {
        let t = self.tenant;
        let pos = &job.position;
        let mut staff: BTreeSet<String> = job.staff.iter().cloned().collect();
        staff.extend(job.requested_userids.iter().cloned());
        let staff: Vec<String> = staff.into_iter().collect();
        let batches: Vec<&[String]> = staff.chunks(limits::BATCH_USERIDS).collect();
        let Some(batch) = batches.get(pos.index as usize) else {
            return Ok(Step {
                to: Position {
                    phase: Phase::Singles,
                    cursor: String::new(),
                    index: 0,
                },
                delta: Progress::default(),
                staff: None,
                unlicensed: None,
            });
        };
        let names = tags::tag_names(&self.tags.tag_groups(t).await?);
        let page = match self
            .source
            .customers_page(
                self.creds,
                batch,
                &pos.cursor,
                limit.clamp(1, limits::BATCH_PAGE),
            )
            .await
        {
            Ok(page) => page,
            // Every member of the batch unlicensed (701008), or unknown to WeCom: the
            // batch's members go to the one-by-one phase.
            Err(e) if is_skippable(&e) => {
                tracing::warn!(error = %e, "customer batch refused; members go one by one");
                let mut unlicensed: BTreeSet<String> = job.unlicensed.iter().cloned().collect();
                unlicensed.extend(batch.iter().cloned());
                return Ok(Step {
                    to: Position {
                        phase: Phase::Customers,
                        cursor: String::new(),
                        index: pos.index + 1,
                    },
                    delta: Progress {
                        pages: 1,
                        ..Progress::default()
                    },
                    staff: None,
                    unlicensed: Some(unlicensed.into_iter().collect()),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let mut delta = Progress {
            pages: 1,
            ..Progress::default()
        };
        let records: Vec<(&ExternalContact, &str, FollowWrite)> = page
            .external_contact_list
            .iter()
            .map(|r| {
                let follow =
                    FollowWrite::from_follow_info(&r.follow_info, |id| names.get(id).cloned());
                (&r.external_contact, r.follow_info.userid.as_str(), follow)
            })
            .collect();
        self.write_changed(&records, at, &mut delta).await?;
        let unlicensed = (!page.fail_info.unlicensed_userid_list.is_empty()).then(|| {
            let mut all: BTreeSet<String> = job.unlicensed.iter().cloned().collect();
            all.extend(page.fail_info.unlicensed_userid_list.iter().cloned());
            all.into_iter().collect::<Vec<_>>()
        });
        let to = if page.next_cursor.is_empty() {
            Position {
                phase: Phase::Customers,
                cursor: String::new(),
                index: pos.index + 1,
            }
        } else {
            Position {
                phase: Phase::Customers,
                cursor: page.next_cursor,
                index: pos.index,
            }
        };
        Ok(Step {
            to,
            delta,
            staff: None,
            unlicensed,
        })
    }

    /// Writes the customer records (a profile and one follow relation each) whose content
    /// the directory does not hold yet: the stored hashes are read in one batch first, and a
    /// profile listed more than once (one record per follow user) is written once.
    async fn write_changed(
        &self,
        records: &[(&ExternalContact, &str, FollowWrite)],
        at: i64,
        delta: &mut Progress,
    ) -> Result<(), ResyncError> {
        let t = self.tenant;
        let hashed: Vec<(RecordKey, String, RecordKey, String)> = records
            .iter()
            .map(|(c, userid, follow)| {
                let ext = &c.external_userid;
                (
                    RecordKey::profile(ext),
                    profile_content_hash(c),
                    RecordKey::follow(ext, userid),
                    follow_content_hash(follow),
                )
            })
            .collect();
        let mut wanted: Vec<RecordKey> = Vec::with_capacity(hashed.len() * 2);
        let mut seen = HashSet::new();
        for (profile, _, follow, _) in &hashed {
            for key in [profile, follow] {
                if seen.insert(key.clone()) {
                    wanted.push(key.clone());
                }
            }
        }
        let stored = self.dir.stored_hashes(t, &wanted).await?;
        let mut profiles_done = HashSet::new();
        for ((c, userid, follow), (profile_key, profile_hash, follow_key, follow_hash)) in
            records.iter().zip(&hashed)
        {
            if profiles_done.insert(profile_key.clone()) {
                if holds(&stored, profile_key, profile_hash) {
                    delta.unchanged += 1;
                } else {
                    self.dir.put_customer_detail(t, c, at).await?;
                }
            }
            if holds(&stored, follow_key, follow_hash) {
                delta.unchanged += 1;
            } else {
                self.dir
                    .put_follow(t, &c.external_userid, userid, follow, at)
                    .await?;
            }
            delta.customers += 1;
        }
        Ok(())
    }

    async fn single_member(&self, job: &ResyncJob, at: i64) -> Result<Step, ResyncError> {
        let t = self.tenant;
        let pos = &job.position;
        let Some(userid) = job.unlicensed.get(pos.index as usize) else {
            return Ok(Step {
                to: Position {
                    phase: Phase::Done,
                    cursor: String::new(),
                    index: 0,
                },
                delta: Progress::default(),
                staff: None,
                unlicensed: None,
            });
        };
        let mut delta = Progress {
            pages: 1,
            ..Progress::default()
        };
        let ids = match self.source.member_customer_ids(self.creds, userid).await {
            Ok(ids) => ids,
            Err(e) if is_skippable(&e) => {
                delta.skipped += 1;
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
        for chunk in ids.chunks(limits::BATCH_PAGE as usize) {
            let mut details = Vec::with_capacity(chunk.len());
            for ext_id in chunk {
                match self.source.customer_detail(self.creds, ext_id).await {
                    Ok(d) => details.push(d),
                    Err(e) if is_skippable(&e) => delta.skipped += 1,
                    Err(e) => return Err(e.into()),
                }
            }
            let mut records = Vec::with_capacity(details.len());
            for detail in &details {
                match detail.follow_user.iter().find(|f| &f.userid == userid) {
                    Some(f) => records.push((
                        &detail.external_contact,
                        userid.as_str(),
                        FollowWrite::from_follow_user(f, RelationStatus::Active),
                    )),
                    // No relation with this member any more: the profile alone.
                    None => {
                        let c = &detail.external_contact;
                        let stored = self
                            .dir
                            .stored_hashes(t, &[RecordKey::profile(&c.external_userid)])
                            .await?;
                        let key = RecordKey::profile(&c.external_userid);
                        if holds(&stored, &key, &profile_content_hash(c)) {
                            delta.unchanged += 1;
                        } else {
                            self.dir.put_customer_detail(t, c, at).await?;
                        }
                    }
                }
            }
            self.write_changed(&records, at, &mut delta).await?;
        }
        Ok(Step {
            to: Position {
                phase: Phase::Singles,
                cursor: String::new(),
                index: pos.index + 1,
            },
            delta,
            staff: None,
            unlicensed: None,
        })
    }
}

/// The id of the `StaffDeparted` event of one departure: deterministic, so a retried
/// publication carries the same id, and distinct for a later departure of the same userid.
pub fn staff_departed_event_id(t: &TenantId, userid: &str, departed_at: i64) -> String {
    format!("staff-departed:{t}:{userid}:{departed_at}")
}

fn add(p: &mut Progress, d: &Progress) {
    p.pages += d.pages;
    p.tags += d.tags;
    p.groups += d.groups;
    p.members += d.members;
    p.customers += d.customers;
    p.skipped += d.skipped;
    p.staff += d.staff;
    p.departed += d.departed;
    p.unchanged += d.unchanged;
}

pub use super::ports::ResyncJobs;
