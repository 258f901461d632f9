//! The `sop-dispatch` function: every minute, due plan occurrences become tasks and staff
//! are reminded.
//!
//! Per tenant, one run:
//! 1. reads the due index (plans and journey runs whose next time is now or past; the cost
//!    is what is due, not how many plans exist);
//! 2. expands each due occurrence, oldest first, catching up occurrences missed during an
//!    outage (marked late): resolves the targets against the directory, creates one task
//!    per (occurrence, target, staff member) with deterministic keys and conditional writes,
//!    reserving WeCom's receive quota atomically (a task over quota is stored failed with
//!    the rule; a task whose staff member the directory records as departed is stored
//!    failed `staff_left`, reserves nothing and reminds nobody), then moves the plan's next
//!    time on with a condition;
//! 3. records one outbox entry per staff member (the reminder) and, where the tenant enables
//!    it, the WeCom mass-message or moments task, and attempts them under a claim;
//! 4. retries outbox entries whose backoff has passed; after [`MAX_ATTEMPTS`] an entry is
//!    marked failed with WeCom's errcode.
//!
//! Re-fired, overlapping and retried runs create and send nothing twice: every create is
//! conditional on absence, every move of a plan or run on its previous position, and every
//! WeCom call on an expiring claim.
//!
//! [`MAX_ATTEMPTS`]: scrm_core::sop::occurrence::MAX_ATTEMPTS
pub mod wire;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use lambda_runtime::{Diagnostic, LambdaEvent};
use scrm_adapters::dynamo::StoreError;
use scrm_core::clock::Clock;
use scrm_core::config::Secret;
use scrm_core::sop::occurrence::{retry_at, SYNC_EVERY};
use scrm_core::sop::quota;
use scrm_core::sop::reminder::{reminder_text, task_list_url};
use scrm_core::sop::schedule::local_date;
use scrm_core::sop::targets::resolve_groups;
use scrm_core::sop::{
    Created, DueEntry, Failure, GroupDirectory, GroupTagStore, JourneyRun, NewTask, Occurrence,
    OccurrenceId, OutboxItem, OutboxKind, OutboxState, OutboxStore, Plan, PlanId, PlanSpec,
    PlanStatus, PlanStore, SopWeCom, Target, Task, TaskKey, TaskStatus, TaskStore,
};
use scrm_core::tenants::{Tenant, TenantId, TenantLookup};
use scrm_core::wecom::api::{
    ChatType, MomentAudience, MomentSenders, MomentTask, MomentVisibleRange, MsgTemplate,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tracing::Instrument;

/// Most due entries read per tenant and run (the rest are read by the next run).
pub const DUE_BATCH: usize = 500;
/// Most occurrences one plan catches up per run.
pub const MAX_CATCH_UP: usize = 100;
/// Most outbox retries per tenant and run.
pub const OUTBOX_BATCH: usize = 200;
/// Plans expanded at once.
const PLAN_CONCURRENCY: usize = 4;
/// WeCom calls at once.
const SEND_CONCURRENCY: usize = 8;
/// Groups per WeCom mass-message task (WeCom's limit).
const CHATS_PER_TEMPLATE: usize = 2000;
/// Customers per WeCom mass-message task (WeCom's limit).
const CUSTOMERS_PER_TEMPLATE: usize = 10_000;
/// The staff placeholder of a journey task whose customer has no staff contact.
const NO_STAFF: &str = "-";

/// The task, created failed because its staff member left the corp.
fn staff_left(mut task: Task) -> Task {
    task.status = TaskStatus::Failed;
    task.failure = Some(Failure::staff_left());
    task
}

/// The journey tasks of one occurrence: the occurrence and (run index, task) pairs.
type Batch = (Occurrence, Vec<(usize, NewTask)>);

/// Everything the function needs, built once per container.
pub struct Dispatcher<S, D, W, T> {
    /// The tasks table.
    pub store: S,
    /// The directory.
    pub directory: D,
    /// WeCom.
    pub wecom: W,
    /// Tenants (settings and credentials).
    pub tenants: T,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Signs the staff links in reminders.
    pub signing_key: Secret,
    /// Base URL of the staff API (the task center).
    pub public_base_url: String,
}

/// The function's input: EventBridge's scheduled event (ignored fields), or
/// `{"tenant": "<corp id>"}` to run one tenant only (operators, tests).
#[derive(Debug, Default, Deserialize)]
pub struct DispatchInput {
    /// Only this tenant.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    /// Tenants run.
    pub tenants: usize,
    /// Occurrences expanded (including ones an earlier run had started).
    pub occurrences: usize,
    /// Of which late (caught up after an outage).
    pub late_occurrences: usize,
    /// Tasks created pending.
    pub tasks_created: usize,
    /// Tasks created failed (a quota rule, or no staff contact).
    pub tasks_failed: usize,
    /// Tasks that already existed.
    pub tasks_existing: usize,
    /// WeCom calls accepted.
    pub sent: usize,
    /// WeCom calls that failed and will be retried.
    pub retrying: usize,
    /// WeCom calls given up.
    pub given_up: usize,
}

impl DispatchReport {
    fn add(&mut self, o: &DispatchReport) {
        self.tenants += o.tenants;
        self.occurrences += o.occurrences;
        self.late_occurrences += o.late_occurrences;
        self.tasks_created += o.tasks_created;
        self.tasks_failed += o.tasks_failed;
        self.tasks_existing += o.tasks_existing;
        self.sent += o.sent;
        self.retrying += o.retrying;
        self.given_up += o.given_up;
    }

    fn count(&mut self, outcomes: &[Created], tasks: &[NewTask]) {
        for (o, nt) in outcomes.iter().zip(tasks) {
            match o {
                Created::Pending if nt.task.status == TaskStatus::Failed => self.tasks_failed += 1,
                Created::Pending => self.tasks_created += 1,
                Created::QuotaFailed(_) => self.tasks_failed += 1,
                Created::Existed => self.tasks_existing += 1,
            }
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The store failed; retryable when it was throttled or conflicting.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The input names an unknown or invalid tenant.
    #[error("unknown tenant: {0}")]
    UnknownTenant(String),
}

impl DispatchError {
    /// Whether running again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            DispatchError::Store(e) => e.is_retryable(),
            DispatchError::UnknownTenant(_) => false,
        }
    }
}

impl From<DispatchError> for Diagnostic {
    fn from(e: DispatchError) -> Self {
        Diagnostic {
            error_type: if e.is_retryable() {
                "Retryable".into()
            } else {
                "NonRetryable".into()
            },
            error_message: e.to_string(),
        }
    }
}

/// The Lambda handler.
pub async fn handle<S, D, W, T>(
    d: &Dispatcher<S, D, W, T>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, DispatchError>
where
    S: PlanStore + TaskStore + OutboxStore + GroupTagStore,
    D: GroupDirectory,
    W: SopWeCom,
    T: TenantLookup,
{
    let input: DispatchInput = serde_json::from_value(event.payload).unwrap_or_default();
    let span = tracing::info_span!("sop_dispatch", request_id = %event.context.request_id);
    let report = d.run(&input).instrument(span).await?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}

impl<S, D, W, T> Dispatcher<S, D, W, T>
where
    S: PlanStore + TaskStore + OutboxStore + GroupTagStore,
    D: GroupDirectory,
    W: SopWeCom,
    T: TenantLookup,
{
    /// One run over every tenant (or the one the input names). A failing tenant does not
    /// stop the others; the run then fails so that it is retried.
    pub async fn run(&self, input: &DispatchInput) -> Result<DispatchReport, DispatchError> {
        let ids = match &input.tenant {
            Some(raw) => {
                vec![TenantId::parse(raw).map_err(|_| DispatchError::UnknownTenant(raw.clone()))?]
            }
            None => self.tenants.tenant_ids().await?,
        };
        let mut report = DispatchReport::default();
        let mut first_error = None;
        for id in ids {
            let Some(tenant) = self.tenants.tenant(&id).await? else {
                if input.tenant.is_some() {
                    return Err(DispatchError::UnknownTenant(id.to_string()));
                }
                continue;
            };
            let span = tracing::info_span!("tenant", tenant = %id);
            match self.run_tenant(&tenant).instrument(span).await {
                Ok(r) => report.add(&r),
                Err(e) => {
                    tracing::error!(tenant = %id, error = %e, "dispatch failed for tenant");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// One tenant's run.
    pub async fn run_tenant(&self, tenant: &Tenant) -> Result<DispatchReport, DispatchError> {
        let now = self.clock.now();
        let t = &tenant.id;
        let mut report = DispatchReport {
            tenants: 1,
            ..Default::default()
        };
        let due = self.store.due(t, now, DUE_BATCH).await?;
        let mut plans = Vec::new();
        let mut runs = Vec::new();
        for entry in due {
            match entry {
                DueEntry::Plan(p) => plans.push(p),
                DueEntry::Run(r) => runs.push(r),
            }
        }
        let results: Vec<Result<DispatchReport, DispatchError>> =
            futures::stream::iter(plans.iter().map(|p| self.dispatch_plan(tenant, p, now)))
                .buffer_unordered(PLAN_CONCURRENCY)
                .collect()
                .await;
        for r in results {
            report.add(&r?);
        }
        if !runs.is_empty() {
            report.add(&self.dispatch_runs(tenant, runs, now).await?);
        }
        // Retries (and anything an interrupted run left unsent).
        let items = self.store.outbox_due(t, now, OUTBOX_BATCH).await?;
        let keys: Vec<(PlanId, OccurrenceId, String)> = items
            .into_iter()
            .map(|i| (i.plan_id, i.occurrence_id, i.kind.key()))
            .collect();
        report.add(&self.attempt_all(tenant, &keys, now).await?);
        tracing::info!(?report, "dispatch run done");
        Ok(report)
    }

    async fn dispatch_plan(
        &self,
        tenant: &Tenant,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, DispatchError> {
        let tz = tenant.settings.tz();
        let mut report = DispatchReport::default();
        let Some(mut at) = plan.next_due else {
            return Ok(report);
        };
        for _ in 0..MAX_CATCH_UP {
            if at > now {
                break;
            }
            report.add(&self.expand(tenant, plan, at, now).await?);
            let next = plan.spec.next_after(at, tz);
            if !self
                .store
                .advance_plan(&tenant.id, &plan.plan_id, at, next)
                .await?
            {
                // Another run (or an edit, a pause) moved the plan on: it owns what follows.
                break;
            }
            match next {
                Some(n) => at = n,
                None => break,
            }
        }
        Ok(report)
    }

    /// Stores the occurrence (or reads the one an earlier run stored).
    async fn occurrence(&self, t: &TenantId, occ: Occurrence) -> Result<Occurrence, DispatchError> {
        if self.store.put_occurrence(t, &occ).await? {
            return Ok(occ);
        }
        Ok(self
            .store
            .occurrence(t, &occ.plan_id, &occ.occurrence_id)
            .await?
            .unwrap_or(occ))
    }

    async fn expand(
        &self,
        tenant: &Tenant,
        plan: &Plan,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, DispatchError> {
        let t = &tenant.id;
        let tz = tenant.settings.tz();
        let mut report = DispatchReport {
            occurrences: 1,
            ..Default::default()
        };
        let title = match &plan.spec {
            PlanSpec::Calendar { items, .. } => items
                .iter()
                .find(|i| i.at.in_tz(tz) == at)
                .and_then(|i| i.title.clone()),
            _ => None,
        };
        let occ = self
            .occurrence(
                t,
                Occurrence {
                    plan_id: plan.plan_id.clone(),
                    occurrence_id: OccurrenceId::at(at),
                    kind: plan.spec.kind(),
                    plan_name: plan.name.clone(),
                    plan_version: plan.version,
                    scheduled_at: at,
                    dispatched_at: now,
                    late: Occurrence::is_late(at, now),
                    content: plan.spec.content_at(at, tz).cloned(),
                    step: None,
                    step_index: None,
                    title,
                },
            )
            .await?;
        if occ.late {
            report.late_occurrences += 1;
        }
        let base = |target: Target, staff: &str, name: Option<String>| {
            let key = TaskKey {
                plan_id: occ.plan_id.clone(),
                occurrence_id: occ.occurrence_id.clone(),
                target: target.clone(),
                staff: staff.to_string(),
            };
            Task {
                task_id: key.id(),
                plan_id: occ.plan_id.clone(),
                plan_name: occ.plan_name.clone(),
                occurrence_id: occ.occurrence_id.clone(),
                target,
                target_name: name,
                staff: staff.to_string(),
                status: TaskStatus::Pending,
                scheduled_at: occ.scheduled_at,
                late: occ.late,
                branch: None,
                created_at: now,
                done_at: None,
                done_by: None,
                failure: None,
            }
        };
        let date = local_date(at, tz);
        let quota_rule = tenant.settings.group_message_quota;
        let mut outbox = Vec::new();
        match &plan.spec {
            PlanSpec::Group { targets, .. } | PlanSpec::Calendar { targets, .. } => {
                let groups = resolve_groups(&self.directory, &self.store, t, targets).await?;
                let owners: Vec<String> = groups.iter().filter_map(|g| g.owner.clone()).collect();
                let departed = self.directory.departed_staff(t, &owners).await?;
                let tasks: Vec<NewTask> = groups
                    .iter()
                    .map(|g| {
                        let owner = g.owner.clone().unwrap_or_default();
                        let task = base(
                            Target::Group {
                                chat_id: g.chat_id.clone(),
                            },
                            &owner,
                            g.name.clone(),
                        );
                        if departed.contains(&owner) {
                            // The owner left: nobody can push to the group; nothing is
                            // reserved, nobody is reminded.
                            NewTask {
                                task: staff_left(task),
                                slots: Vec::new(),
                            }
                        } else {
                            NewTask {
                                task,
                                slots: quota::group_slots(quota_rule, &g.chat_id, date),
                            }
                        }
                    })
                    .collect();
                let outcomes = self.store.create_tasks(t, tasks.clone()).await?;
                report.count(&outcomes, &tasks);
                // Per owner: the groups still to push in this occurrence.
                let mut per_staff: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (o, nt) in outcomes.iter().zip(&tasks) {
                    if nt.task.status == TaskStatus::Pending
                        && !matches!(o, Created::QuotaFailed(_))
                    {
                        if let Some(chat) = nt.task.target.chat_id() {
                            per_staff
                                .entry(nt.task.staff.clone())
                                .or_default()
                                .push(chat.to_string());
                        }
                    }
                }
                for (staff, chats) in &per_staff {
                    outbox.push(OutboxKind::Reminder {
                        staff: staff.clone(),
                        tasks: chats.len(),
                    });
                    if tenant.settings.create_wecom_group_messages {
                        for (chunk, part) in chats.chunks(CHATS_PER_TEMPLATE).enumerate() {
                            outbox.push(OutboxKind::GroupMessage {
                                staff: staff.clone(),
                                chunk,
                                chat_type: "group".into(),
                                branch: None,
                                targets: part.to_vec(),
                            });
                        }
                    }
                }
            }
            PlanSpec::Moments {
                senders,
                audience_tags,
                ..
            } => {
                let departed = self.directory.departed_staff(t, senders).await?;
                let tasks: Vec<NewTask> = senders
                    .iter()
                    .map(|s| {
                        let task = base(Target::Audience, s, None);
                        NewTask {
                            task: if departed.contains(s) {
                                staff_left(task)
                            } else {
                                task
                            },
                            slots: Vec::new(),
                        }
                    })
                    .collect();
                let outcomes = self.store.create_tasks(t, tasks.clone()).await?;
                report.count(&outcomes, &tasks);
                let present: Vec<String> = senders
                    .iter()
                    .filter(|s| !departed.contains(*s))
                    .cloned()
                    .collect();
                for s in &present {
                    outbox.push(OutboxKind::Reminder {
                        staff: s.clone(),
                        tasks: 1,
                    });
                }
                if tenant.settings.create_wecom_moment_tasks && !present.is_empty() {
                    outbox.push(OutboxKind::MomentTask {
                        senders: present,
                        tags: audience_tags.clone(),
                    });
                }
            }
            PlanSpec::Journey { .. } => {}
        }
        report.add(&self.queue_and_send(tenant, &occ, outbox, now).await?);
        Ok(report)
    }

    /// Records outbox entries (once) and attempts them.
    async fn queue_and_send(
        &self,
        tenant: &Tenant,
        occ: &Occurrence,
        kinds: Vec<OutboxKind>,
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, DispatchError> {
        let mut keys = Vec::new();
        for kind in kinds {
            let key = kind.key();
            let item = OutboxItem::new(occ.plan_id.clone(), occ.occurrence_id.clone(), kind, now);
            self.store.put_outbox(&tenant.id, &item).await?;
            keys.push((occ.plan_id.clone(), occ.occurrence_id.clone(), key));
        }
        self.attempt_all(tenant, &keys, now).await
    }

    async fn attempt_all(
        &self,
        tenant: &Tenant,
        keys: &[(PlanId, OccurrenceId, String)],
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, DispatchError> {
        let results: Vec<Result<Option<OutboxState>, DispatchError>> = futures::stream::iter(
            keys.iter()
                .map(|(p, o, k)| self.attempt(tenant, p, o, k, now)),
        )
        .buffer_unordered(SEND_CONCURRENCY)
        .collect()
        .await;
        let mut report = DispatchReport::default();
        for r in results {
            match r? {
                Some(OutboxState::Sent) => report.sent += 1,
                Some(OutboxState::Pending) => report.retrying += 1,
                Some(OutboxState::Failed) => report.given_up += 1,
                None => {}
            }
        }
        Ok(report)
    }

    /// One attempt at an outbox entry, under a claim: `None` if another run has it or it is
    /// not due.
    async fn attempt(
        &self,
        tenant: &Tenant,
        plan: &PlanId,
        occ_id: &OccurrenceId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OutboxState>, DispatchError> {
        let t = &tenant.id;
        let Some(mut item) = self.store.claim_outbox(t, plan, occ_id, key, now).await? else {
            return Ok(None);
        };
        let Some(occ) = self.store.occurrence(t, plan, occ_id).await? else {
            return Err(
                StoreError::Corrupt(format!("outbox entry without occurrence {occ_id}")).into(),
            );
        };
        let tz = tenant.settings.tz();
        let result: Result<Option<String>, scrm_core::wecom::api::WeComError> = match &item.kind {
            OutboxKind::Reminder { staff, tasks } => {
                let (title, description) =
                    reminder_text(&occ.plan_name, occ.scheduled_at, tz, *tasks, occ.late);
                let url = task_list_url(&self.public_base_url, &self.signing_key, t, staff, now);
                self.wecom
                    .send_reminder(tenant, staff, &title, &description, &url)
                    .await
                    .map(|()| None)
            }
            OutboxKind::GroupMessage {
                staff,
                chat_type,
                branch,
                targets,
                ..
            } => {
                let content = occ
                    .content_for(branch.as_deref())
                    .cloned()
                    .unwrap_or_default();
                let (text, attachments) = content.to_wecom_message();
                let group = chat_type == "group";
                let template = MsgTemplate {
                    chat_type: if group {
                        ChatType::Group
                    } else {
                        ChatType::Single
                    },
                    external_userid: if group { Vec::new() } else { targets.clone() },
                    chat_id_list: if group { targets.clone() } else { Vec::new() },
                    sender: Some(staff.clone()),
                    allow_select: false,
                    text,
                    attachments,
                };
                match self.wecom.add_msg_template(tenant, &template).await {
                    Ok(r) => {
                        self.refused_targets(t, &occ, staff, group, &r.fail_list, now)
                            .await?;
                        Ok(Some(r.msgid))
                    }
                    Err(e) => Err(e),
                }
            }
            OutboxKind::MomentTask { senders, tags } => {
                let content = occ.content.clone().unwrap_or_default();
                let (text, attachments) = content.to_wecom_moment();
                let task = MomentTask {
                    text,
                    attachments,
                    visible_range: Some(MomentVisibleRange {
                        sender_list: Some(MomentSenders {
                            user_list: senders.clone(),
                            department_list: Vec::new(),
                        }),
                        external_contact_list: (!tags.is_empty()).then(|| MomentAudience {
                            tag_list: tags.clone(),
                        }),
                    }),
                };
                self.wecom.add_moment_task(tenant, &task).await.map(Some)
            }
        };
        match result {
            Ok(wecom_id) => {
                item.state = OutboxState::Sent;
                item.sent_at = Some(now);
                item.next_attempt_at = None;
                item.last_error = None;
                item.last_errcode = None;
                item.next_sync_at = wecom_id.as_ref().map(|_| now + SYNC_EVERY);
                item.wecom_id = wecom_id;
                tracing::info!(kind = item.kind.name(), plan = %plan, occurrence = %occ_id, "WeCom accepted");
            }
            Err(e) => {
                item.last_errcode = e.errcode();
                item.last_error = Some(e.to_string());
                match retry_at(item.attempts, now) {
                    Some(next) => {
                        item.state = OutboxState::Pending;
                        item.next_attempt_at = Some(next);
                        tracing::warn!(kind = item.kind.name(), attempts = item.attempts, errcode = ?item.last_errcode, error = %e, "WeCom call failed; will retry");
                    }
                    None => {
                        item.state = OutboxState::Failed;
                        item.next_attempt_at = None;
                        tracing::error!(kind = item.kind.name(), attempts = item.attempts, errcode = ?item.last_errcode, error = %e, "WeCom call failed; giving up");
                    }
                }
            }
        }
        self.store.settle_outbox(t, &item).await?;
        Ok(Some(item.state))
    }

    /// Targets WeCom refused when creating a mass-message task will not receive it.
    async fn refused_targets(
        &self,
        t: &TenantId,
        occ: &Occurrence,
        staff: &str,
        group: bool,
        refused: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        for target in refused {
            let key = TaskKey {
                plan_id: occ.plan_id.clone(),
                occurrence_id: occ.occurrence_id.clone(),
                target: if group {
                    Target::Group {
                        chat_id: target.clone(),
                    }
                } else {
                    Target::Customer {
                        external_userid: target.clone(),
                    }
                },
                staff: staff.to_string(),
            };
            let failure = Failure {
                code: "wecom_refused".into(),
                message: "WeCom refused this target when the group-message task was created".into(),
                errcode: None,
            };
            self.store.fail_task(t, &key, &failure, now).await?;
        }
        Ok(())
    }

    /// Journey steps due: one task per customer for their staff contact, grouped by
    /// occurrence (plan, step, due time) so that each staff member gets one reminder.
    async fn dispatch_runs(
        &self,
        tenant: &Tenant,
        mut runs: Vec<JourneyRun>,
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, DispatchError> {
        let t = &tenant.id;
        let tz = tenant.settings.tz();
        let mut report = DispatchReport::default();
        let mut plans: BTreeMap<PlanId, Option<Plan>> = BTreeMap::new();
        for _ in 0..MAX_CATCH_UP {
            runs.retain(|r| r.next_due.is_some_and(|d| d <= now));
            if runs.is_empty() {
                break;
            }
            // (plan, occurrence) → (occurrence, [(run index, task)])
            let mut batches: BTreeMap<(PlanId, OccurrenceId), Batch> = BTreeMap::new();
            let mut skip: Vec<usize> = Vec::new();
            for (i, run) in runs.iter().enumerate() {
                if !plans.contains_key(&run.plan_id) {
                    let p = self.store.plan(t, &run.plan_id).await?;
                    plans.insert(run.plan_id.clone(), p);
                }
                let plan = plans.get(&run.plan_id).and_then(Option::as_ref);
                let steps = match plan.map(|p| (&p.spec, p.status)) {
                    Some((PlanSpec::Journey { steps, .. }, status))
                        if status != PlanStatus::Ended =>
                    {
                        steps
                    }
                    _ => {
                        // The plan is gone or ended: the run ends.
                        self.store
                            .advance_run(t, &run.run_id, run.next_step, run.next_step, None)
                            .await?;
                        skip.push(i);
                        continue;
                    }
                };
                let Some(plan) = plan else { continue };
                let Some(step) = steps.get(run.next_step) else {
                    self.store
                        .advance_run(t, &run.run_id, run.next_step, run.next_step, None)
                        .await?;
                    skip.push(i);
                    continue;
                };
                if plan.status == PlanStatus::Paused {
                    // Paused journeys skip their due steps.
                    skip.push(i);
                    continue;
                }
                let due = run.next_due.unwrap_or(now);
                let occ_id = OccurrenceId::journey(due, run.next_step);
                let entry = batches
                    .entry((plan.plan_id.clone(), occ_id.clone()))
                    .or_insert_with(|| {
                        (
                            Occurrence {
                                plan_id: plan.plan_id.clone(),
                                occurrence_id: occ_id.clone(),
                                kind: plan.spec.kind(),
                                plan_name: plan.name.clone(),
                                plan_version: plan.version,
                                scheduled_at: due,
                                dispatched_at: now,
                                late: Occurrence::is_late(due, now),
                                content: None,
                                step: Some(step.clone()),
                                step_index: Some(run.next_step),
                                title: None,
                            },
                            Vec::new(),
                        )
                    });
                let all_staff = self
                    .directory
                    .customer_staff(t, &run.external_userid)
                    .await?;
                let departed = self.directory.departed_staff(t, &all_staff).await?;
                let staff_list: Vec<String> = all_staff
                    .iter()
                    .filter(|u| !departed.contains(*u))
                    .cloned()
                    .collect();
                let staff = run
                    .replied_to
                    .clone()
                    .filter(|u| staff_list.contains(u))
                    .or_else(|| staff_list.first().cloned());
                // Every contact of the customer left: the task goes to the one who would
                // have had it, failed.
                let left = match &staff {
                    None => run
                        .replied_to
                        .clone()
                        .filter(|u| all_staff.contains(u))
                        .or_else(|| all_staff.first().cloned()),
                    Some(_) => None,
                };
                let target = Target::Customer {
                    external_userid: run.external_userid.clone(),
                };
                let staff_id = staff
                    .clone()
                    .or_else(|| left.clone())
                    .unwrap_or_else(|| NO_STAFF.to_string());
                let key = TaskKey {
                    plan_id: plan.plan_id.clone(),
                    occurrence_id: occ_id.clone(),
                    target: target.clone(),
                    staff: staff_id.clone(),
                };
                let (status, failure, slots) = match &staff {
                    Some(s) => (
                        TaskStatus::Pending,
                        None,
                        quota::customer_slots(
                            tenant.settings.group_message_quota,
                            &run.external_userid,
                            s,
                            local_date(due, tz),
                        ),
                    ),
                    None if left.is_some() => {
                        (TaskStatus::Failed, Some(Failure::staff_left()), Vec::new())
                    }
                    None => (TaskStatus::Failed, Some(Failure::no_staff()), Vec::new()),
                };
                entry.1.push((
                    i,
                    NewTask {
                        task: Task {
                            task_id: key.id(),
                            plan_id: plan.plan_id.clone(),
                            plan_name: plan.name.clone(),
                            occurrence_id: occ_id,
                            target,
                            target_name: None,
                            staff: staff_id,
                            status,
                            scheduled_at: due,
                            late: Occurrence::is_late(due, now),
                            branch: Some(run.branch.as_str().to_string()),
                            created_at: now,
                            done_at: None,
                            done_by: None,
                            failure,
                        },
                        slots,
                    },
                ));
            }
            for (_, (occ, entries)) in batches {
                let occ = self.occurrence(t, occ).await?;
                report.occurrences += 1;
                if occ.late {
                    report.late_occurrences += 1;
                }
                let tasks: Vec<NewTask> = entries.iter().map(|(_, nt)| nt.clone()).collect();
                let outcomes = self.store.create_tasks(t, tasks.clone()).await?;
                report.count(&outcomes, &tasks);
                let mut per_staff: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
                for (o, nt) in outcomes.iter().zip(&tasks) {
                    if nt.task.status == TaskStatus::Pending
                        && !matches!(o, Created::QuotaFailed(_))
                    {
                        if let Target::Customer { external_userid } = &nt.task.target {
                            per_staff
                                .entry((
                                    nt.task.staff.clone(),
                                    nt.task.branch.clone().unwrap_or_default(),
                                ))
                                .or_default()
                                .push(external_userid.clone());
                        }
                    }
                }
                let mut kinds = Vec::new();
                let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                for ((staff, branch), customers) in &per_staff {
                    *counts.entry(staff.clone()).or_default() += customers.len();
                    if tenant.settings.create_wecom_group_messages {
                        for (chunk, part) in customers.chunks(CUSTOMERS_PER_TEMPLATE).enumerate() {
                            kinds.push(OutboxKind::GroupMessage {
                                staff: staff.clone(),
                                chunk,
                                chat_type: "single".into(),
                                branch: Some(branch.clone()),
                                targets: part.to_vec(),
                            });
                        }
                    }
                }
                for (staff, n) in counts {
                    kinds.push(OutboxKind::Reminder { staff, tasks: n });
                }
                report.add(&self.queue_and_send(tenant, &occ, kinds, now).await?);
            }
            // Move every processed run on (and skip the paused ones' steps).
            let mut keep = Vec::new();
            for (i, run) in runs.iter_mut().enumerate() {
                let Some(Some(plan)) = plans.get(&run.plan_id) else {
                    continue;
                };
                let PlanSpec::Journey { steps, .. } = &plan.spec else {
                    continue;
                };
                if skip.contains(&i) && plan.status != PlanStatus::Paused {
                    continue;
                }
                let next = run.next_step + 1;
                let due = steps.get(next).map(|s| s.due(run.entered_at, tz));
                if self
                    .store
                    .advance_run(t, &run.run_id, run.next_step, next, due)
                    .await?
                {
                    run.next_step = next;
                    run.next_due = due;
                    keep.push(run.clone());
                }
            }
            runs = keep;
        }
        Ok(report)
    }
}
