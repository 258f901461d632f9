//! Domain events that change what staff must do (the `sop-on-event` function's use case).
//!
//! - `StageEntered`: starts a run of every active journey plan of the stage for the
//!   customer (one run per stage entry, whatever the redeliveries), due at its first step
//!   still ahead.
//! - `CustomerReplied`: moves the customer's runs to the "replied" branch, remembering the
//!   staff member replied to.
//! - `GroupOwnerChanged`: pending tasks of the group for anyone but the new owner fail with
//!   "group transferred to another owner".
//! - `GroupDismissed`: pending tasks of the group fail with "group dismissed".
//! - `StaffDeparted`: the staff member's pending tasks fail with "staff left the company".
//!
//! Every effect is idempotent (deterministic run ids; task transitions conditional on
//! "pending"), so EventBridge's at-least-once delivery changes nothing twice.
use super::occurrence::{Branch, JourneyRun, OutboxKind};
use super::plan::PlanSpec;
use super::ports::{OutboxStore, PlanStore, TaskStore};
use super::task::{Failure, Target, Task, TaskKey, TaskStatus};
use crate::clock::Clock;
use crate::events::{DomainEvent, EventEnvelope};
use crate::ports::{MayRetry, StoreError};
use crate::tenants::{TenantId, TenantLookup};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

/// Tasks failed per page when a staff member leaves.
const PAGE: usize = 200;

/// Everything the use case needs; the function builds it once per container.
pub struct OnEvent<S, T> {
    /// The tasks table.
    pub store: S,
    /// Tenants (timezone).
    pub tenants: T,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// What an event did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct EventOutcome {
    /// Journey runs started.
    pub runs_started: usize,
    /// Journey runs switched to the replied branch.
    pub runs_replied: usize,
    /// Tasks failed.
    pub tasks_failed: usize,
}

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum OnEventError {
    /// The payload is not a domain event (never retried).
    #[error("not a domain event: {0}")]
    BadEvent(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl MayRetry for OnEventError {
    /// Whether a redelivery may succeed.
    fn is_retryable(&self) -> bool {
        match self {
            OnEventError::BadEvent(_) => false,
            // Any store failure is worth a redelivery: effects are idempotent.
            OnEventError::Store(e) => !matches!(e, StoreError::Corrupt(_)),
        }
    }
}

impl<S: PlanStore + TaskStore + OutboxStore, T: TenantLookup> OnEvent<S, T> {
    /// Applies one event.
    pub async fn apply(&self, env: &EventEnvelope) -> Result<EventOutcome, OnEventError> {
        let t = TenantId::parse(&env.tenant)
            .map_err(|_| OnEventError::BadEvent(format!("invalid tenant `{}`", env.tenant)))?;
        let now = self.clock.now();
        let outcome = match &env.event {
            DomainEvent::StageEntered {
                external_userid,
                stage,
                ..
            } => {
                self.stage_entered(&t, external_userid, stage, env.occurred_at)
                    .await?
            }
            DomainEvent::CustomerReplied {
                external_userid,
                userid,
            } => {
                let mut o = EventOutcome::default();
                for run in self.store.customer_runs(&t, external_userid).await? {
                    if run.next_due.is_some() {
                        self.store
                            .set_branch(&t, &run.run_id, Branch::Replied, userid.as_deref())
                            .await?;
                        o.runs_replied += 1;
                    }
                }
                o
            }
            DomainEvent::GroupOwnerChanged {
                chat_id, new_owner, ..
            } => {
                let failure = Failure::group_transferred(new_owner.as_deref());
                let mut o = EventOutcome::default();
                for task in self.store.pending_group_tasks(&t, chat_id).await? {
                    if new_owner.as_deref() == Some(task.staff.as_str()) {
                        continue;
                    }
                    if self.fail(&t, &task, &failure, now).await? {
                        o.tasks_failed += 1;
                    }
                }
                o
            }
            DomainEvent::GroupDismissed { chat_id } => {
                let failure = Failure::group_dismissed();
                let mut o = EventOutcome::default();
                for task in self.store.pending_group_tasks(&t, chat_id).await? {
                    if self.fail(&t, &task, &failure, now).await? {
                        o.tasks_failed += 1;
                    }
                }
                o
            }
            DomainEvent::StaffDeparted { userid } => {
                let failure = Failure::staff_left();
                let mut o = EventOutcome::default();
                // Pages follow the index's order with a cursor, so a task that still shows
                // as pending in the (eventually consistent) index is not read twice.
                let mut cursor: Option<String> = None;
                loop {
                    let page = self
                        .store
                        .staff_tasks(&t, userid, TaskStatus::Pending, cursor.as_deref(), PAGE)
                        .await?;
                    for task in &page.items {
                        if self.fail(&t, task, &failure, now).await? {
                            o.tasks_failed += 1;
                        }
                    }
                    match page.next_cursor {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
                o
            }
            _ => EventOutcome::default(),
        };
        tracing::info!(?outcome, "event applied");
        Ok(outcome)
    }

    /// Fails a pending task. Its quota counters are given back only if its message was
    /// certainly not sent: no WeCom mass-message task for it may exist (one the staff member
    /// could have confirmed before leaving or handing the group over).
    async fn fail(
        &self,
        t: &TenantId,
        task: &Task,
        failure: &Failure,
        now: DateTime<Utc>,
    ) -> Result<bool, OnEventError> {
        let key = TaskKey {
            plan_id: task.plan_id.clone(),
            occurrence_id: task.occurrence_id.clone(),
            target: task.target.clone(),
            staff: task.staff.clone(),
        };
        let release = failure.releases_quota() && !self.may_have_been_sent(t, task).await?;
        Ok(self.store.fail_task(t, &key, failure, release, now).await?)
    }

    /// Whether a WeCom mass-message task covering the task's target from its staff member
    /// may exist.
    async fn may_have_been_sent(&self, t: &TenantId, task: &Task) -> Result<bool, OnEventError> {
        let target = match &task.target {
            Target::Group { chat_id } => chat_id,
            Target::Customer { external_userid } => external_userid,
            Target::Audience => return Ok(false),
        };
        let entries = self
            .store
            .occurrence_outbox(t, &task.plan_id, &task.occurrence_id)
            .await?;
        Ok(entries.iter().any(|e| match &e.kind {
            OutboxKind::GroupMessage { staff, targets, .. } => {
                *staff == task.staff && targets.contains(target) && e.may_exist_at_wecom()
            }
            _ => false,
        }))
    }

    async fn stage_entered(
        &self,
        t: &TenantId,
        external_userid: &str,
        stage: &str,
        entered_at: DateTime<Utc>,
    ) -> Result<EventOutcome, OnEventError> {
        let mut o = EventOutcome::default();
        let Some(tenant) = self.tenants.tenant(t).await? else {
            return Ok(o);
        };
        let tz = tenant.settings.tz();
        for plan in self.store.journey_plans(t, stage).await? {
            let PlanSpec::Journey { steps, .. } = &plan.spec else {
                continue;
            };
            // The first step still ahead of the entry (a 10:00 step of day 0 is skipped for
            // a customer who entered at 15:00).
            let first = steps
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.due(entered_at, tz)))
                .find(|(_, due)| *due > entered_at);
            let Some((next_step, due)) = first else {
                continue;
            };
            let run = JourneyRun {
                run_id: JourneyRun::id_for(&plan.plan_id, external_userid, entered_at),
                plan_id: plan.plan_id.clone(),
                external_userid: external_userid.to_string(),
                entered_at,
                branch: Branch::Silent,
                replied_to: None,
                next_step,
                next_due: Some(due),
            };
            if self.store.put_run(t, &run).await? {
                o.runs_started += 1;
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_store_failure_but_a_corrupt_item_is_redelivered() {
        let backend = StoreError::Backend(Box::new(std::io::Error::other("down")));
        assert!(OnEventError::Store(backend).is_retryable());
        assert!(OnEventError::Store(StoreError::ConditionFailed).is_retryable());
        assert!(!OnEventError::Store(StoreError::Corrupt("x".into())).is_retryable());
        assert!(!OnEventError::BadEvent("x".into()).is_retryable());
    }
}
