//! Due journey steps: one task per customer for their staff contact (the one they replied
//! to, else the earliest added still in the corp), grouped by occurrence so that each staff
//! member gets one reminder; then every processed run moves on to its next step.
use super::{still_to_push, Deadline, DispatchError, DispatchReport, Dispatcher, MAX_CATCH_UP};
use crate::sop::occurrence::{JourneyRun, Occurrence, OutboxKind};
use crate::sop::plan::{Plan, PlanId, PlanSpec, PlanStatus};
use crate::sop::ports::{GroupDirectory, NewTask, OutboxStore, PlanStore, SopWeCom, TaskStore};
use crate::sop::quota;
use crate::sop::schedule::local_date;
use crate::sop::task::{Failure, OccurrenceId, Target, Task, TaskKey, TaskStatus};
use crate::tenants::Tenant;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Customers per WeCom mass-message task (WeCom's limit).
const CUSTOMERS_PER_TEMPLATE: usize = 10_000;
/// The staff placeholder of a journey task whose customer has no staff contact.
const NO_STAFF: &str = "-";

/// The journey tasks of one occurrence: the occurrence and (run index, task) pairs.
type Batch = (Occurrence, Vec<(usize, NewTask)>);

impl<S, D, W, T> Dispatcher<S, D, W, T>
where
    S: PlanStore + TaskStore + OutboxStore,
    D: GroupDirectory,
    W: SopWeCom,
{
    /// Journey steps due: one task per customer for their staff contact, grouped by
    /// occurrence (plan, step, due time) so that each staff member gets one reminder.
    pub(super) async fn dispatch_runs(
        &self,
        tenant: &Tenant,
        mut runs: Vec<JourneyRun>,
        now: DateTime<Utc>,
        deadline: &dyn Deadline,
    ) -> Result<DispatchReport, DispatchError> {
        let t = &tenant.id;
        let tz = tenant.settings.tz();
        let mut report = DispatchReport::default();
        let mut plans: BTreeMap<PlanId, Option<Plan>> = BTreeMap::new();
        let mut unreadable: BTreeSet<PlanId> = BTreeSet::new();
        for _ in 0..MAX_CATCH_UP {
            runs.retain(|r| r.next_due.is_some_and(|d| d <= now));
            if runs.is_empty() {
                break;
            }
            if deadline.passed() {
                return Err(DispatchError::DeadlineReached);
            }
            // (plan, occurrence) → (occurrence, [(run index, task)])
            let mut batches: BTreeMap<(PlanId, OccurrenceId), Batch> = BTreeMap::new();
            let mut skip: Vec<usize> = Vec::new();
            for (i, run) in runs.iter().enumerate() {
                if !plans.contains_key(&run.plan_id) && !unreadable.contains(&run.plan_id) {
                    match self.store.plan(t, &run.plan_id).await {
                        Ok(p) => {
                            plans.insert(run.plan_id.clone(), p);
                        }
                        Err(e) => {
                            // This plan's runs wait (they stay due); the others go on.
                            report.plans_failed += 1;
                            tracing::error!(plan = %run.plan_id, error = %e, "journey plan unreadable");
                            self.record_failure(t, &run.plan_id, &e.to_string(), now)
                                .await;
                            unreadable.insert(run.plan_id.clone());
                        }
                    }
                }
                if unreadable.contains(&run.plan_id) {
                    continue;
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
                    if let Some(task) = still_to_push(o, nt) {
                        if let Target::Customer { external_userid } = &task.target {
                            per_staff
                                .entry((
                                    task.staff.clone(),
                                    task.branch.clone().unwrap_or_default(),
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
                report.add(
                    &self
                        .queue_and_send(tenant, &occ, kinds, now, deadline)
                        .await?,
                );
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
