//! Dispatch (the `sop-dispatch` function's use case): every minute, due plan occurrences
//! become tasks and staff are reminded.
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
use super::plan::PlanId;
use super::ports::{
    Created, DueEntry, GroupDirectory, GroupTagStore, NewTask, OutboxStore, PlanStore, SopWeCom,
    TaskStore,
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
/// Plans expanded at once.
const PLAN_CONCURRENCY: usize = 4;

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
    /// WeCom calls found already made at WeCom (an earlier attempt's answer was lost), so
    /// not made again.
    pub reconciled: usize,
    /// Plans (or journey batches) whose dispatch failed this run; each failure is recorded
    /// on its plan and the run goes on with the others.
    pub plans_failed: usize,
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
}

impl MayRetry for DispatchError {
    /// Whether running again may succeed.
    fn is_retryable(&self) -> bool {
        match self {
            DispatchError::Store(e) => e.is_retryable(),
            DispatchError::UnknownTenant(_) => false,
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
    /// One run over every tenant (or the one the input names). A failing tenant does not
    /// stop the others; the run then fails so that it is retried. (A failing plan does not
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

    /// One tenant's run. A plan that cannot be read or expanded is recorded on the plan
    /// (shown with its figures) and skipped: the tenant's other plans, its journeys and its
    /// outbox retries go on.
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
                DueEntry::Unreadable { plan_id, error } => {
                    report.plans_failed += 1;
                    tracing::error!(plan = ?plan_id, %error, "unreadable due entry skipped");
                    if let Some(id) = plan_id {
                        self.record_failure(t, &id, &error, now).await;
                    }
                }
            }
        }
        let results: Vec<(PlanId, Result<DispatchReport, DispatchError>)> =
            futures::stream::iter(plans.iter().map(|p| async move {
                (p.plan_id.clone(), self.dispatch_plan(tenant, p, now).await)
            }))
            .buffer_unordered(PLAN_CONCURRENCY)
            .collect()
            .await;
        for (id, r) in results {
            match r {
                Ok(r) => report.add(&r),
                Err(e) => {
                    report.plans_failed += 1;
                    tracing::error!(plan = %id, error = %e, "plan dispatch failed; the others go on");
                    self.record_failure(t, &id, &e.to_string(), now).await;
                }
            }
        }
        if !runs.is_empty() {
            match self.dispatch_runs(tenant, runs, now).await {
                Ok(r) => report.add(&r),
                Err(e) => {
                    report.plans_failed += 1;
                    tracing::error!(error = %e, "journey dispatch failed; outbox retries go on");
                }
            }
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
    fn a_run_is_retried_only_when_the_store_was_busy() {
        assert!(DispatchError::Store(busy()).is_retryable());
        assert!(!DispatchError::Store(StoreError::Corrupt("x".into())).is_retryable());
        assert!(!DispatchError::Store(StoreError::ConditionFailed).is_retryable());
        assert!(!DispatchError::UnknownTenant("wwx".into()).is_retryable());
    }
}
