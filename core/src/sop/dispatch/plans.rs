//! A due plan's occurrences: each expanded into tasks (group and calendar plans: one per
//! resolved group for its owner; moments plans: one per sender) and outbox entries, then
//! the plan's next time moved on under a condition.
use super::{
    still_to_push, Deadline, DispatchError, DispatchReport, Dispatcher, CREATE_CHUNK, MAX_CATCH_UP,
};
use crate::sop::occurrence::{Occurrence, OutboxKind};
use crate::sop::plan::{Plan, PlanSpec};
use crate::sop::ports::{
    GroupDirectory, GroupTagStore, NewTask, OutboxStore, PlanStore, SopWeCom, TaskStore,
};
use crate::sop::quota;
use crate::sop::schedule::local_date;
use crate::sop::targets::resolve_groups;
use crate::sop::task::{Failure, OccurrenceId, Target, Task, TaskKey, TaskStatus};
use crate::tenants::Tenant;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Groups per WeCom mass-message task (WeCom's limit).
const CHATS_PER_TEMPLATE: usize = 2000;

/// The task, created failed because its staff member left the corp.
fn staff_left(mut task: Task) -> Task {
    task.status = TaskStatus::Failed;
    task.failure = Some(Failure::staff_left());
    task
}

impl<S, D, W, T> Dispatcher<S, D, W, T>
where
    S: PlanStore + TaskStore + OutboxStore + GroupTagStore,
    D: GroupDirectory,
    W: SopWeCom,
{
    /// A due plan's occurrences up to now, oldest first (at most [`MAX_CATCH_UP`] per run):
    /// each is expanded, then the plan is moved on past it.
    pub(super) async fn dispatch_plan(
        &self,
        tenant: &Tenant,
        plan: &Plan,
        now: DateTime<Utc>,
        deadline: &dyn Deadline,
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
            if deadline.passed() {
                return Err(DispatchError::DeadlineReached);
            }
            report.add(&self.expand(tenant, plan, at, now, deadline).await?);
            let next = plan.spec.next_after(at, tz);
            if !self
                .store
                .advance_plan(&tenant.id, &plan.plan_id, plan.version, at, next)
                .await?
            {
                // Another run moved the plan on, or an edit or a pause changed it (and kept
                // any occurrence still due): whoever did owns what follows.
                break;
            }
            match next {
                Some(n) => at = n,
                None => break,
            }
        }
        Ok(report)
    }

    /// One occurrence of a plan: stored once, its tasks created, its outbox entries recorded
    /// and attempted.
    async fn expand(
        &self,
        tenant: &Tenant,
        plan: &Plan,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        deadline: &dyn Deadline,
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
                let outcomes = self.create_in_chunks(t, &tasks, deadline).await?;
                report.count(&outcomes, &tasks);
                // Per owner: the groups still to push in this occurrence (a task an earlier
                // run created counts as it is stored: failed or done ones are not pushed
                // again, and it stays with the owner it was created for).
                let mut per_staff: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (o, nt) in outcomes.iter().zip(&tasks) {
                    if let Some(task) = still_to_push(o, nt) {
                        if let Some(chat) = task.target.chat_id() {
                            per_staff
                                .entry(task.staff.clone())
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
                let present: Vec<String> = outcomes
                    .iter()
                    .zip(&tasks)
                    .filter_map(|(o, nt)| still_to_push(o, nt))
                    .map(|task| task.staff.clone())
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
        report.add(
            &self
                .queue_and_send(tenant, &occ, outbox, now, deadline)
                .await?,
        );
        Ok(report)
    }

    /// Creates an occurrence's tasks a chunk at a time, looking at the deadline before each:
    /// a worker stopped between chunks leaves the created tasks, which its redelivery finds
    /// (`Existed`) and pushes as they are stored.
    async fn create_in_chunks(
        &self,
        t: &crate::tenants::TenantId,
        tasks: &[NewTask],
        deadline: &dyn Deadline,
    ) -> Result<Vec<crate::sop::ports::Created>, DispatchError> {
        let mut outcomes = Vec::with_capacity(tasks.len());
        for chunk in tasks.chunks(CREATE_CHUNK) {
            if deadline.passed() {
                return Err(DispatchError::DeadlineReached);
            }
            outcomes.extend(self.store.create_tasks(t, chunk.to_vec()).await?);
        }
        Ok(outcomes)
    }
}
