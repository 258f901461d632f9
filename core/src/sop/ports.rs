//! What the SOP functions need from the outside world, split by capability so that each
//! function takes only what it uses: plans, tasks, the outbox of WeCom calls, group tags,
//! the directory's groups and customers, and WeCom itself.
use super::occurrence::{Branch, JourneyRun, Occurrence, OutboxItem};
use super::plan::{Plan, PlanId};
use super::quota::QuotaSlot;
use super::task::{DoneBy, Failure, OccurrenceId, Task, TaskKey, TaskStatus};
use crate::contacts::Page;
use crate::ports::StoreError;
use crate::tenants::{Tenant, TenantId};
use crate::wecom::api::{
    AddMsgTemplateResult, GroupMsgSendResult, MomentPublish, MomentTask, MomentTaskResult,
    MsgTemplate, OAuthIdentity, WeComError,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashSet;
use std::future::Future;

/// Something the due index says is due.
#[derive(Debug, Clone)]
pub enum DueEntry {
    /// A plan's next occurrence.
    Plan(Plan),
    /// A journey run's next step.
    Run(JourneyRun),
    /// An item of the due index that cannot be read: dispatch records the failure on its
    /// plan (when known) and goes on with the rest.
    Unreadable {
        /// The plan it belongs to, when its id could be read.
        plan_id: Option<PlanId>,
        /// What is wrong with it.
        error: String,
    },
}

/// The last failure to dispatch a plan (cleared when the plan next moves on), shown with
/// its figures so that operators see why a plan does not fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DispatchFailure {
    /// What went wrong.
    pub message: String,
    /// When it last happened.
    pub at: DateTime<Utc>,
    /// Dispatch runs that failed on the plan since it last moved on.
    pub failures: i64,
}

/// Plans: the admin API's CRUD and the dispatcher's due index.
pub trait PlanStore: Send + Sync {
    /// Stores a new plan (and indexes it by due time, and by stage for journeys).
    fn create_plan(
        &self,
        t: &TenantId,
        plan: &Plan,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A plan.
    fn plan(
        &self,
        t: &TenantId,
        id: &PlanId,
    ) -> impl Future<Output = Result<Option<Plan>, StoreError>> + Send;
    /// A page of plans, newest first.
    fn plans(
        &self,
        t: &TenantId,
        before: Option<&PlanId>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Plan>, StoreError>> + Send;
    /// Replaces `previous` with `plan` if the stored plan is still at `previous.version`
    /// (`Ok(false)` otherwise), re-indexing its due time and stage.
    fn replace_plan(
        &self,
        t: &TenantId,
        plan: &Plan,
        previous: &Plan,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Moves a plan's next occurrence from `from` to `to` (none: nothing left), unless
    /// another run already moved it or an edit changed the plan since `version` was read
    /// (`Ok(false)`). Clears the plan's recorded dispatch failure.
    fn advance_plan(
        &self,
        t: &TenantId,
        id: &PlanId,
        version: i64,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records that dispatching a plan failed (counted until the plan moves on).
    fn record_dispatch_failure(
        &self,
        t: &TenantId,
        id: &PlanId,
        message: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A plan's recorded dispatch failure, if any.
    fn dispatch_failure(
        &self,
        t: &TenantId,
        id: &PlanId,
    ) -> impl Future<Output = Result<Option<DispatchFailure>, StoreError>> + Send;
    /// Plans and journey runs due at or before `now` (at most `limit`), oldest first. The
    /// cost is the number due, not the number of plans.
    fn due(
        &self,
        t: &TenantId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DueEntry>, StoreError>> + Send;
    /// Active journey plans of a stage.
    fn journey_plans(
        &self,
        t: &TenantId,
        stage: &str,
    ) -> impl Future<Output = Result<Vec<Plan>, StoreError>> + Send;
}

/// One task to create, with the quota counters it reserves.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// The task (pending).
    pub task: Task,
    /// Counters to reserve; if one is full the task is stored failed with its rule.
    pub slots: Vec<QuotaSlot>,
}

/// What happened to a [`NewTask`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Created pending, quota reserved.
    Pending,
    /// Created failed: a quota counter was full.
    QuotaFailed(Failure),
    /// It already existed (an earlier or overlapping run created it): nothing changed. The
    /// stored task says what became of it (its status, and its staff member, which is
    /// not part of a task's identity).
    Existed(Box<Task>),
}

/// Occurrences, tasks and journey runs.
pub trait TaskStore: Send + Sync {
    /// Stores an occurrence unless it exists; `Ok(false)` if it did.
    fn put_occurrence(
        &self,
        t: &TenantId,
        occ: &Occurrence,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// An occurrence.
    fn occurrence(
        &self,
        t: &TenantId,
        plan: &PlanId,
        occ: &OccurrenceId,
    ) -> impl Future<Output = Result<Option<Occurrence>, StoreError>> + Send;
    /// A page of a plan's occurrences, newest first.
    fn occurrences(
        &self,
        t: &TenantId,
        plan: &PlanId,
        before: Option<&OccurrenceId>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Occurrence>, StoreError>> + Send;
    /// Creates tasks exactly once each (one per plan, occurrence and target, whoever
    /// executes it; conditional writes), reserving their quota atomically with them.
    /// Outcomes are in input order.
    fn create_tasks(
        &self,
        t: &TenantId,
        tasks: Vec<NewTask>,
    ) -> impl Future<Output = Result<Vec<Created>, StoreError>> + Send;
    /// Every task of an occurrence.
    fn occurrence_tasks(
        &self,
        t: &TenantId,
        plan: &PlanId,
        occ: &OccurrenceId,
    ) -> impl Future<Output = Result<Vec<Task>, StoreError>> + Send;
    /// One task (`None` also when it is another staff member's).
    fn task(
        &self,
        t: &TenantId,
        key: &TaskKey,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// A page of a staff member's tasks of one status, newest first.
    fn staff_tasks(
        &self,
        t: &TenantId,
        staff: &str,
        status: TaskStatus,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Task>, StoreError>> + Send;
    /// Pending tasks targeting a group.
    fn pending_group_tasks(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> impl Future<Output = Result<Vec<Task>, StoreError>> + Send;
    /// Marks a pending task done; `Ok(false)` if it was not pending.
    fn complete_task(
        &self,
        t: &TenantId,
        key: &TaskKey,
        by: DoneBy,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks a pending task failed, releasing its quota counters when `release_quota` (the
    /// caller knows nothing was sent); `Ok(false)` if it was not pending.
    fn fail_task(
        &self,
        t: &TenantId,
        key: &TaskKey,
        failure: &Failure,
        release_quota: bool,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Starts a journey run unless it exists; `Ok(false)` if it did.
    fn put_run(
        &self,
        t: &TenantId,
        run: &JourneyRun,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A customer's journey runs.
    fn customer_runs(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> impl Future<Output = Result<Vec<JourneyRun>, StoreError>> + Send;
    /// Switches a run's branch.
    fn set_branch(
        &self,
        t: &TenantId,
        run_id: &str,
        branch: Branch,
        replied_to: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Moves a run from step `from` to `to_step` due at `to_due` (none: finished), unless
    /// another run already did (`Ok(false)`).
    fn advance_run(
        &self,
        t: &TenantId,
        run_id: &str,
        from: usize,
        to_step: usize,
        to_due: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The outbox of WeCom calls: created once, claimed by one dispatcher at a time, retried
/// with backoff, given up after a limit.
pub trait OutboxStore: Send + Sync {
    /// Stores an entry unless it exists; `Ok(false)` if it did.
    fn put_outbox(
        &self,
        t: &TenantId,
        item: &OutboxItem,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Entries whose next attempt is due (at most `limit`).
    fn outbox_due(
        &self,
        t: &TenantId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxItem>, StoreError>> + Send;
    /// Claims a pending, due, unclaimed entry for this run; `None` if someone else has it,
    /// it is not due or not pending. Counts the attempt.
    fn claim_outbox(
        &self,
        t: &TenantId,
        plan: &PlanId,
        occ: &OccurrenceId,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<OutboxItem>, StoreError>> + Send;
    /// Records the outcome of a claimed attempt (`item` carries the new state).
    fn settle_outbox(
        &self,
        t: &TenantId,
        item: &OutboxItem,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Entries whose WeCom results are due to be fetched.
    fn sync_due(
        &self,
        t: &TenantId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxItem>, StoreError>> + Send;
    /// The WeCom ids (msgids, moment ids) recorded on entries still awaiting results: a
    /// reconciliation never takes one of them for the entry it reconciles.
    fn recorded_wecom_ids(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<HashSet<String>, StoreError>> + Send;
    /// The entries of an occurrence (their state is shown to operators).
    fn occurrence_outbox(
        &self,
        t: &TenantId,
        plan: &PlanId,
        occ: &OccurrenceId,
    ) -> impl Future<Output = Result<Vec<OutboxItem>, StoreError>> + Send;
}

/// The dispatch queue: the scheduler's messages to the dispatch workers (delivered at least
/// once; a worker's work is idempotent).
pub trait DispatchQueue: Send + Sync {
    /// Enqueues messages (all or an error: a message already enqueued when a later one
    /// fails is harmless, its work being idempotent).
    fn enqueue(
        &self,
        messages: &[super::dispatch::DispatchMessage],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Group tags kept by the SOP module (WeCom has no corp tags on customer groups).
pub trait GroupTagStore: Send + Sync {
    /// Replaces a group's tags.
    fn set_group_tags(
        &self,
        t: &TenantId,
        chat_id: &str,
        tags: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A group's tags.
    fn group_tags(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// The groups carrying a tag.
    fn tagged_groups(
        &self,
        t: &TenantId,
        tag: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// A group as the SOP module needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// The group.
    pub chat_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its owner.
    pub owner: Option<String>,
    /// Whether it was dismissed.
    pub dismissed: bool,
}

/// The directory's groups and customers (read only).
pub trait GroupDirectory: Send + Sync {
    /// A group.
    fn group_info(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> impl Future<Output = Result<Option<GroupInfo>, StoreError>> + Send;
    /// Every group of an owner.
    fn owner_groups(
        &self,
        t: &TenantId,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<GroupInfo>, StoreError>> + Send;
    /// The staff members who are active contacts of a customer, earliest added first.
    fn customer_staff(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Which of `userids` the directory records as having left the corp: dispatch creates
    /// their tasks failed (`staff_left`) instead of reminding them.
    fn departed_staff(
        &self,
        t: &TenantId,
        userids: &[String],
    ) -> impl Future<Output = Result<HashSet<String>, StoreError>> + Send;
}

/// A mass-message task or Moments post WeCom lists as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOnWeCom {
    /// The msgid or moment_id.
    pub id: String,
    /// Who created it (a mass message's sender; a corp Moments post's may be empty).
    pub creator: String,
    /// When WeCom created it.
    pub created_at: DateTime<Utc>,
    /// Its text.
    pub text: String,
}

/// The WeCom calls of the SOP module.
pub trait SopWeCom: Send + Sync {
    /// Sends the reminder textcard to one staff member from the tenant's app.
    fn send_reminder(
        &self,
        tenant: &Tenant,
        userid: &str,
        title: &str,
        description: &str,
        url: &str,
    ) -> impl Future<Output = Result<(), WeComError>> + Send;
    /// Creates a mass-message task (customer-contact secret).
    fn add_msg_template(
        &self,
        tenant: &Tenant,
        template: &MsgTemplate,
    ) -> impl Future<Output = Result<AddMsgTemplateResult, WeComError>> + Send;
    /// Creates a moments task.
    fn add_moment_task(
        &self,
        tenant: &Tenant,
        task: &MomentTask,
    ) -> impl Future<Output = Result<String, WeComError>> + Send;
    /// The mass-message tasks `creator` created (`get_groupmsg_list_v2`, corp-created) of
    /// `chat_type` between `from` and `to`: how a call whose answer was lost is reconciled.
    fn group_messages_created(
        &self,
        tenant: &Tenant,
        chat_type: &str,
        creator: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<CreatedOnWeCom>, WeComError>> + Send;
    /// The corp-created Moments posts between `from` and `to` (`get_moment_list`).
    fn moments_created(
        &self,
        tenant: &Tenant,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<CreatedOnWeCom>, WeComError>> + Send;
    /// Every delivery record of a sender for a mass-message task.
    fn group_message_results(
        &self,
        tenant: &Tenant,
        msgid: &str,
        userid: &str,
    ) -> impl Future<Output = Result<Vec<GroupMsgSendResult>, WeComError>> + Send;
    /// The result of a moments task.
    fn moment_task_result(
        &self,
        tenant: &Tenant,
        jobid: &str,
    ) -> impl Future<Output = Result<MomentTaskResult, WeComError>> + Send;
    /// Every sender's publication status of a Moments post (`get_moment_task`).
    fn moment_publications(
        &self,
        tenant: &Tenant,
        moment_id: &str,
    ) -> impl Future<Output = Result<Vec<MomentPublish>, WeComError>> + Send;
    /// Who a WeCom OAuth code belongs to (the tenant's app).
    fn oauth_identity(
        &self,
        tenant: &Tenant,
        code: &str,
    ) -> impl Future<Output = Result<OAuthIdentity, WeComError>> + Send;
}

/// Records the one exchange of each staff link (the task center's single-use links).
pub trait StaffLinkStore: Send + Sync {
    /// Records that link `link_id` of `userid` was exchanged, unless it was already (a
    /// conditional write, so of two racing exchanges exactly one wins): `Ok(true)` for the
    /// first. The record may be forgotten after `expires_at` (epoch seconds), when the link
    /// is refused anyway.
    fn redeem_link(
        &self,
        t: &TenantId,
        link_id: &str,
        userid: &str,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
