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
//!    marked failed with WeCom's errcode.
//!
//! Re-fired, overlapping and retried runs create and send nothing twice: every create is
//! conditional on absence, every move of a plan or run on its previous position, and every
//! WeCom call on an expiring claim.
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
use super::task::{OccurrenceId, TaskStatus};
use crate::clock::Clock;
use crate::config::Secret;
use crate::ports::{MayRetry, StoreError};
use crate::tenants::{Tenant, TenantId, TenantLookup};
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
