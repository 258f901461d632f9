//! Dispatch: every minute, due plan occurrences become tasks and staff are reminded.
//!
//! The work fans out. The minute's scheduler (`sop-dispatch`, [`Scheduler`]) only reads each
//! tenant's due index and enqueues [`DispatchMessage`]s: one per due plan, and one per tenant
//! with anything else to do (journey steps, outbox retries, unreadable due entries). Workers
//! (`sop-dispatch-worker`, [`Dispatcher::work`]) take the messages in parallel, so that one
//! tenant's 10k-group plan never delays another tenant's minute. A worker stops at its
//! [`Deadline`] between steps and leaves its message to be delivered again; every step below
//! is idempotent, so the redelivery continues where it stopped (tasks already created are
//! found, entries already sent are not sent again).
//!
//! Per tenant, the work is:
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
//!    marked failed with WeCom's errcode. An entry whose last attempt may have taken effect
//!    unanswered is first reconciled with WeCom's lists ([`outbox`]).
//!
//! Re-fired, overlapping and retried runs create and send nothing twice: every create is
//! conditional on absence (a task that exists is read back and pushed only if still
//! pending, by the staff member it was created for), every move of a plan or run on its
//! previous position (and a plan's on its version), and every WeCom call on an expiring
//! claim. A plan that fails is recorded on the plan and skipped; the tenant's run goes on.
//!
//! - [`plans`]: a due plan's occurrences, expanded into tasks and outbox entries.
//! - [`journeys`]: due journey steps, one task per customer, grouped into occurrences.
//! - [`outbox`]: recording outbox entries and attempting them under a claim.
//!
//! [`MAX_ATTEMPTS`]: crate::sop::occurrence::MAX_ATTEMPTS
mod journeys;
mod outbox;
mod plans;

use super::occurrence::Occurrence;
use super::plan::{PlanId, PlanStatus};
use super::ports::{
    Created, DispatchQueue, DueEntry, GroupDirectory, GroupTagStore, NewTask, OutboxStore,
    PlanStore, SopWeCom, TaskStore,
};
use super::task::{OccurrenceId, Task, TaskStatus};
use crate::clock::Clock;
use crate::ports::{MayRetry, StoreError};
use crate::tenants::{Tenant, TenantId, TenantLookup};
use crate::tokens::SigningKeys;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracing::Instrument;

/// Most due entries read per tenant and run (the rest are read by the next run).
pub const DUE_BATCH: usize = 500;
/// Most occurrences one plan catches up per run.
pub const MAX_CATCH_UP: usize = 100;
/// Most outbox retries per tenant and run.
pub const OUTBOX_BATCH: usize = 200;
/// Plans expanded at once (in-process runs, [`Dispatcher::run`]).
const PLAN_CONCURRENCY: usize = 4;
/// Tasks created between two looks at the deadline (a few transactions at once).
pub(super) const CREATE_CHUNK: usize = 200;

/// When a worker must stop: checked between steps (a chunk of tasks, an outbox attempt, an
/// occurrence). A worker that stops leaves its message undeleted; its redelivery goes on
/// from what is stored.
pub trait Deadline: Send + Sync {
    /// Whether the time to stop has come.
    fn passed(&self) -> bool;
}

/// No deadline: in-process runs and operators' runs go to the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDeadline;

impl Deadline for NoDeadline {
    fn passed(&self) -> bool {
        false
    }
}

/// One unit of dispatch work, the body of one queue message: a tenant's due plan, or (no
/// plan) the tenant's other due work: journey steps, outbox retries, unreadable due entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchMessage {
    /// The tenant (corp id).
    pub tenant: String,
    /// The due plan, if the message is one plan's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// What the scheduler did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleReport {
    /// Tenants looked at.
    pub tenants: usize,
    /// Messages enqueued.
    pub messages: usize,
    /// Tenants whose due index could not be read (tried again next minute).
    pub tenants_failed: usize,
}

/// The minute's scheduler (`sop-dispatch`): reads each tenant's due index (what is due, not
/// every plan) and enqueues the work; it dispatches nothing itself.
pub struct Scheduler<S, T, Q> {
    /// The tasks table.
    pub store: S,
    /// Tenants.
    pub tenants: T,
    /// The dispatch queue.
    pub queue: Q,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// Tenants whose due index is read at once.
const SCHEDULE_CONCURRENCY: usize = 16;

impl<S, T, Q> Scheduler<S, T, Q>
where
    S: PlanStore + OutboxStore,
    T: TenantLookup,
    Q: DispatchQueue,
{
    /// One minute: a message per due plan and one per tenant with other due work (with
    /// `{"tenant": …}`, that tenant only, and its tenant message always).
    pub async fn run(&self, input: &DispatchInput) -> Result<ScheduleReport, DispatchError> {
        let now = self.clock.now();
        let ids = match &input.tenant {
            Some(raw) => {
                let id =
                    TenantId::parse(raw).map_err(|_| DispatchError::UnknownTenant(raw.clone()))?;
                if self.tenants.tenant(&id).await?.is_none() {
                    return Err(DispatchError::UnknownTenant(raw.clone()));
                }
                vec![id]
            }
            None => self.tenants.tenant_ids().await?,
        };
        let forced = input.tenant.is_some();
        let found: Vec<(TenantId, Result<Vec<DispatchMessage>, StoreError>)> =
            futures::stream::iter(ids.into_iter().map(|id| async move {
                let m = self.messages_for(&id, now, forced).await;
                (id, m)
            }))
            .buffer_unordered(SCHEDULE_CONCURRENCY)
            .collect()
            .await;
        let mut report = ScheduleReport::default();
        let mut messages = Vec::new();
        for (id, m) in found {
            report.tenants += 1;
            match m {
                Ok(m) => messages.extend(m),
                Err(e) => {
                    report.tenants_failed += 1;
                    tracing::error!(tenant = %id, error = %e, "due index unreadable; next minute retries");
                }
            }
        }
        report.messages = messages.len();
        self.queue.enqueue(&messages).await?;
        tracing::info!(?report, "dispatch scheduled");
        Ok(report)
    }

    /// A tenant's messages: one per due plan, and the tenant's own if anything else is due.
    async fn messages_for(
        &self,
        t: &TenantId,
        now: chrono::DateTime<chrono::Utc>,
        forced: bool,
    ) -> Result<Vec<DispatchMessage>, StoreError> {
        let mut messages = Vec::new();
        let mut other_work = forced;
        for entry in self.store.due(t, now, DUE_BATCH).await? {
            match entry {
                DueEntry::Plan(p) => messages.push(DispatchMessage {
                    tenant: t.to_string(),
                    plan: Some(p.plan_id.to_string()),
                }),
                DueEntry::Run(_) | DueEntry::Unreadable { .. } => other_work = true,
            }
        }
        if !other_work {
            other_work = !self.store.outbox_due(t, now, 1).await?.is_empty();
        }
        if other_work {
            messages.push(DispatchMessage {
                tenant: t.to_string(),
                plan: None,
            });
        }
        Ok(messages)
    }
}

/// Everything the use case needs; the function builds it once per container.
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
    pub signing_key: SigningKeys,
    /// Base URL of the staff API (its JSON task list: the reminders' link without the
    /// mobile pages).
    pub public_base_url: String,
    /// Public URL of the mobile pages (their task center: the reminders' link), if the
    /// deployment serves them.
    pub staff_pages_url: Option<String>,
    /// Makes the content center's materials sendable (WeCom media uploaded, or uploaded
    /// again before it expires) when a WeCom task is created.
    pub materials: Arc<dyn crate::content::MaterialResolver>,
    /// Makes the links marked `track` tracked short links of the plan, the occurrence and
    /// the sending member.
    pub links: Arc<dyn crate::links::LinkTracker>,
}

/// The scheduler's input: EventBridge's scheduled event (ignored fields), or
/// `{"tenant": "<corp id>"}` to schedule one tenant only (operators, tests).
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
    /// WeCom calls found already made at WeCom (an earlier attempt's answer was lost), so
    /// not made again.
    pub reconciled: usize,
    /// Plans (or journey batches) whose dispatch failed this run; each failure is recorded
    /// on its plan and the run goes on with the others.
    pub plans_failed: usize,
}

impl DispatchReport {
    /// Adds another run's counts (a worker's messages, a run's plans).
    pub fn add(&mut self, o: &DispatchReport) {
        self.tenants += o.tenants;
        self.occurrences += o.occurrences;
        self.late_occurrences += o.late_occurrences;
        self.tasks_created += o.tasks_created;
        self.tasks_failed += o.tasks_failed;
        self.tasks_existing += o.tasks_existing;
        self.sent += o.sent;
        self.retrying += o.retrying;
        self.given_up += o.given_up;
        self.reconciled += o.reconciled;
        self.plans_failed += o.plans_failed;
    }

    fn count(&mut self, outcomes: &[Created], tasks: &[NewTask]) {
        for (o, nt) in outcomes.iter().zip(tasks) {
            match o {
                Created::Pending if nt.task.status == TaskStatus::Failed => self.tasks_failed += 1,
                Created::Pending => self.tasks_created += 1,
                Created::QuotaFailed(_) => self.tasks_failed += 1,
                Created::Existed(_) => self.tasks_existing += 1,
            }
        }
    }
}

/// The task still to push after a create: the new one if it was created pending, the
/// stored one if it already existed and is still pending (with its own staff member, who
/// may differ from the one resolved now), nothing if it failed or was done.
pub(super) fn still_to_push<'a>(outcome: &'a Created, nt: &'a NewTask) -> Option<&'a Task> {
    let task = match outcome {
        Created::Pending => &nt.task,
        Created::QuotaFailed(_) => return None,
        Created::Existed(stored) => stored,
    };
    (task.status == TaskStatus::Pending).then_some(task)
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
    /// The worker's deadline came mid-work: what is done is stored, the rest is left to the
    /// message's redelivery.
    #[error("deadline reached; the rest is left to a redelivery")]
    DeadlineReached,
}

impl MayRetry for DispatchError {
    /// Whether running again may succeed.
    fn is_retryable(&self) -> bool {
        match self {
            DispatchError::Store(e) => e.is_retryable(),
            DispatchError::UnknownTenant(_) => false,
            DispatchError::DeadlineReached => true,
        }
    }
}

impl<S, D, W, T> Dispatcher<S, D, W, T>
where
    S: PlanStore + TaskStore + OutboxStore + GroupTagStore,
    D: GroupDirectory,
    W: SopWeCom,
    T: TenantLookup,
{
    /// One run over every tenant (or the one the input names), in-process and without the
    /// queue (benchmarks, operators' tools). A failing tenant does not stop the others; the run then fails so that it is retried. (A failing plan does not
    /// fail its tenant: it is recorded on the plan, see [`Self::run_tenant`].)
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

    /// One tenant's run in-process: its due plans (a few at once), then its other work. A
    /// plan that cannot be read or expanded is recorded on the plan (shown with its figures)
    /// and skipped: the tenant's other plans, its journeys and its outbox retries go on.
    pub async fn run_tenant(&self, tenant: &Tenant) -> Result<DispatchReport, DispatchError> {
        let now = self.clock.now();
        let due = self.store.due(&tenant.id, now, DUE_BATCH).await?;
        let (plans, rest): (Vec<DueEntry>, Vec<DueEntry>) = due
            .into_iter()
            .partition(|e| matches!(e, DueEntry::Plan(_)));
        let results: Vec<Result<DispatchReport, DispatchError>> =
            futures::stream::iter(plans.iter().filter_map(|e| match e {
                DueEntry::Plan(p) => Some(self.plan_work(tenant, p, now, &NoDeadline)),
                _ => None,
            }))
            .buffer_unordered(PLAN_CONCURRENCY)
            .collect()
            .await;
        let mut report = DispatchReport::default();
        for r in results {
            report.add(&r?);
        }
        report.add(&self.tenant_work(tenant, rest, now, &NoDeadline).await?);
        tracing::info!(?report, "dispatch run done");
        Ok(report)
    }

    /// One queue message (a worker's unit of work), until `deadline`. A tenant or plan that
    /// is gone, or a plan no longer active or due, is nothing to do. `Err` only when the
    /// message should be delivered again: the deadline came, or the store failed.
    pub async fn work(
        &self,
        message: &DispatchMessage,
        deadline: &dyn Deadline,
    ) -> Result<DispatchReport, DispatchError> {
        let Ok(id) = TenantId::parse(&message.tenant) else {
            tracing::warn!(tenant = %message.tenant, "message for an invalid tenant dropped");
            return Ok(DispatchReport::default());
        };
        let Some(tenant) = self.tenants.tenant(&id).await? else {
            tracing::warn!(tenant = %id, "message for an unknown tenant dropped");
            return Ok(DispatchReport::default());
        };
        let now = self.clock.now();
        let span = tracing::info_span!("tenant", tenant = %id, plan = message.plan.as_deref().unwrap_or("-"));
        async {
            let report = match &message.plan {
                Some(raw) => {
                    let Some(plan_id) = PlanId::parse(raw) else {
                        tracing::warn!(plan = %raw, "message for an invalid plan dropped");
                        return Ok(DispatchReport::default());
                    };
                    let plan = match self.store.plan(&id, &plan_id).await {
                        Ok(Some(p)) => p,
                        Ok(None) => return Ok(DispatchReport::default()),
                        Err(e) if e.is_retryable() => return Err(e.into()),
                        Err(e) => {
                            self.record_failure(&id, &plan_id, &e.to_string(), now)
                                .await;
                            return Ok(DispatchReport {
                                plans_failed: 1,
                                ..Default::default()
                            });
                        }
                    };
                    if plan.status != PlanStatus::Active {
                        // Paused or ended since it was enqueued: its edit owns what follows.
                        return Ok(DispatchReport::default());
                    }
                    self.plan_work(&tenant, &plan, now, deadline).await?
                }
                None => {
                    let due = self.store.due(&id, now, DUE_BATCH).await?;
                    let rest = due
                        .into_iter()
                        .filter(|e| !matches!(e, DueEntry::Plan(_)))
                        .collect();
                    self.tenant_work(&tenant, rest, now, deadline).await?
                }
            };
            tracing::info!(?report, "dispatch work done");
            Ok(report)
        }
        .instrument(span)
        .await
    }

    /// One due plan. Its failure is recorded on the plan and counted (the plan stays due and
    /// the next minute tries again); only a deadline stops the caller.
    async fn plan_work(
        &self,
        tenant: &Tenant,
        plan: &super::plan::Plan,
        now: chrono::DateTime<chrono::Utc>,
        deadline: &dyn Deadline,
    ) -> Result<DispatchReport, DispatchError> {
        match self.dispatch_plan(tenant, plan, now, deadline).await {
            Ok(r) => Ok(r),
            Err(DispatchError::DeadlineReached) => Err(DispatchError::DeadlineReached),
            Err(e) => {
                tracing::error!(plan = %plan.plan_id, error = %e, "plan dispatch failed; the others go on");
                self.record_failure(&tenant.id, &plan.plan_id, &e.to_string(), now)
                    .await;
                Ok(DispatchReport {
                    plans_failed: 1,
                    ..Default::default()
                })
            }
        }
    }

    /// A tenant's due work other than plans: unreadable due entries recorded on their plans,
    /// journey steps, then outbox retries (and anything an interrupted run left unsent).
    async fn tenant_work(
        &self,
        tenant: &Tenant,
        due: Vec<DueEntry>,
        now: chrono::DateTime<chrono::Utc>,
        deadline: &dyn Deadline,
    ) -> Result<DispatchReport, DispatchError> {
        let t = &tenant.id;
        let mut report = DispatchReport {
            tenants: 1,
            ..Default::default()
        };
        let mut runs = Vec::new();
        for entry in due {
            match entry {
                DueEntry::Plan(_) => {}
                DueEntry::Run(r) => runs.push(r),
                DueEntry::Unreadable { plan_id, error } => {
                    report.plans_failed += 1;
                    tracing::error!(plan = ?plan_id, %error, "unreadable due entry skipped");
                    if let Some(id) = plan_id {
                        self.record_failure(t, &id, &error, now).await;
                    }
                }
            }
        }
        if !runs.is_empty() {
            match self.dispatch_runs(tenant, runs, now, deadline).await {
                Ok(r) => report.add(&r),
                Err(DispatchError::DeadlineReached) => return Err(DispatchError::DeadlineReached),
                Err(e) => {
                    report.plans_failed += 1;
                    tracing::error!(error = %e, "journey dispatch failed; outbox retries go on");
                }
            }
        }
        let items = self.store.outbox_due(t, now, OUTBOX_BATCH).await?;
        let keys: Vec<(PlanId, OccurrenceId, String)> = items
            .into_iter()
            .map(|i| (i.plan_id, i.occurrence_id, i.kind.key()))
            .collect();
        report.add(&self.attempt_all(tenant, &keys, now, deadline).await?);
        Ok(report)
    }
}

impl<S: PlanStore, D, W, T> Dispatcher<S, D, W, T> {
    /// Records a plan's dispatch failure; failing to record it is only logged (the plan
    /// stays due and is tried again next run).
    pub(super) async fn record_failure(
        &self,
        t: &TenantId,
        id: &PlanId,
        message: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        if let Err(e) = self
            .store
            .record_dispatch_failure(t, id, message, now)
            .await
        {
            tracing::warn!(plan = %id, error = %e, "could not record the plan's dispatch failure");
        }
    }
}

impl<S: TaskStore, D, W, T> Dispatcher<S, D, W, T> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy() -> StoreError {
        StoreError::Retryable(Box::new(std::io::Error::other("throttled")))
    }

    #[test]
    fn a_queue_message_names_its_tenant_and_its_plan_if_any() {
        let tenant = DispatchMessage {
            tenant: "wwcorp".into(),
            plan: None,
        };
        let plan = DispatchMessage {
            tenant: "wwcorp".into(),
            plan: Some("p1".into()),
        };
        assert_eq!(
            serde_json::to_string(&tenant).unwrap(),
            r#"{"tenant":"wwcorp"}"#
        );
        assert_eq!(
            serde_json::to_string(&plan).unwrap(),
            r#"{"tenant":"wwcorp","plan":"p1"}"#
        );
        let read: DispatchMessage = serde_json::from_str(r#"{"tenant":"wwcorp"}"#).unwrap();
        assert_eq!(read, tenant);
        // The deadline stops a worker, which leaves its message to a redelivery.
        assert!(DispatchError::DeadlineReached.is_retryable());
        assert!(!NoDeadline.passed());
    }

    #[test]
    fn a_run_is_retried_only_when_the_store_was_busy() {
        assert!(DispatchError::Store(busy()).is_retryable());
        assert!(!DispatchError::Store(StoreError::Corrupt("x".into())).is_retryable());
        assert!(!DispatchError::Store(StoreError::ConditionFailed).is_retryable());
        assert!(!DispatchError::UnknownTenant("wwx".into()).is_retryable());
    }
}
