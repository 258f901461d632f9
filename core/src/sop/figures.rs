//! Execution figures: the eight numbers merchants ask for, per plan and per occurrence,
//! computed from the tasks themselves (so they are never out of step with them).
//!
//! - Owners not yet executed: staff with at least one pending task.
//! - Owners executed: staff with no pending task and at least one done.
//! - Failed tasks (with a count per reason).
//! - Groups not yet sent / sent / failed: group tasks by status.
//! - A per-owner view and a per-group view.
use super::task::{Task, TaskStatus};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One staff member's part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct OwnerFigures {
    /// The staff member.
    pub userid: String,
    /// Pending tasks.
    pub pending: usize,
    /// Done tasks.
    pub done: usize,
    /// Failed tasks.
    pub failed: usize,
    /// No pending task and at least one done.
    pub executed: bool,
}

/// One group's part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct GroupFigures {
    /// The group.
    pub chat_id: String,
    /// Its name, when known.
    pub name: Option<String>,
    /// Who was to push to it.
    pub owners: BTreeSet<String>,
    /// Pending pushes.
    pub pending: usize,
    /// Pushes done.
    pub sent: usize,
    /// Failed pushes.
    pub failed: usize,
    /// The latest failure's reason code, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The latest failure's message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

/// The figures of a set of tasks (one occurrence, or a plan's occurrences).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Figures {
    /// Owners not yet executed.
    pub owners_not_executed: usize,
    /// Owners executed.
    pub owners_executed: usize,
    /// Failed tasks.
    pub failed_tasks: usize,
    /// Failed tasks per reason code.
    pub failed_by_reason: BTreeMap<String, usize>,
    /// Group pushes not yet sent.
    pub groups_not_sent: usize,
    /// Group pushes sent.
    pub groups_sent: usize,
    /// Group pushes failed.
    pub groups_failed: usize,
    /// All tasks.
    pub tasks_total: usize,
    /// Pending tasks.
    pub tasks_pending: usize,
    /// Done tasks.
    pub tasks_done: usize,
    /// Per owner, by userid.
    pub per_owner: Vec<OwnerFigures>,
    /// Per group, by chat id.
    pub per_group: Vec<GroupFigures>,
}

impl Figures {
    /// The figures of `tasks`.
    pub fn of<'a>(tasks: impl IntoIterator<Item = &'a Task>) -> Self {
        let mut f = Figures::default();
        let mut owners: BTreeMap<String, OwnerFigures> = BTreeMap::new();
        let mut groups: BTreeMap<String, GroupFigures> = BTreeMap::new();
        for t in tasks {
            f.tasks_total += 1;
            let owner = owners
                .entry(t.staff.clone())
                .or_insert_with(|| OwnerFigures {
                    userid: t.staff.clone(),
                    ..Default::default()
                });
            let group = t.target.chat_id().map(|chat| {
                let g = groups
                    .entry(chat.to_string())
                    .or_insert_with(|| GroupFigures {
                        chat_id: chat.to_string(),
                        ..Default::default()
                    });
                if g.name.is_none() {
                    g.name = t.target_name.clone();
                }
                g.owners.insert(t.staff.clone());
                g
            });
            match t.status {
                TaskStatus::Pending => {
                    f.tasks_pending += 1;
                    owner.pending += 1;
                    if let Some(g) = group {
                        f.groups_not_sent += 1;
                        g.pending += 1;
                    }
                }
                TaskStatus::Done => {
                    f.tasks_done += 1;
                    owner.done += 1;
                    if let Some(g) = group {
                        f.groups_sent += 1;
                        g.sent += 1;
                    }
                }
                TaskStatus::Failed => {
                    f.failed_tasks += 1;
                    owner.failed += 1;
                    let code = t
                        .failure
                        .as_ref()
                        .map(|r| r.code.clone())
                        .unwrap_or_else(|| "unknown".into());
                    *f.failed_by_reason.entry(code.clone()).or_default() += 1;
                    if let Some(g) = group {
                        f.groups_failed += 1;
                        g.failed += 1;
                        g.failure = Some(code);
                        g.failure_message = t.failure.as_ref().map(|r| r.message.clone());
                    }
                }
            }
        }
        for o in owners.values_mut() {
            o.executed = o.pending == 0 && o.done > 0;
            if o.pending > 0 {
                f.owners_not_executed += 1;
            } else if o.executed {
                f.owners_executed += 1;
            }
        }
        f.per_owner = owners.into_values().collect();
        f.per_group = groups.into_values().collect();
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sop::plan::PlanId;
    use crate::sop::task::{Failure, OccurrenceId, Target};
    use chrono::Utc;

    fn task(staff: &str, chat: &str, status: TaskStatus, failure: Option<Failure>) -> Task {
        Task {
            task_id: format!("{staff}{chat}"),
            plan_id: PlanId::parse("p1").unwrap(),
            plan_name: "P".into(),
            occurrence_id: OccurrenceId::at(Utc::now()),
            target: Target::Group {
                chat_id: chat.into(),
            },
            target_name: Some(format!("group {chat}")),
            staff: staff.into(),
            status,
            scheduled_at: Utc::now(),
            late: false,
            branch: None,
            created_at: Utc::now(),
            done_at: None,
            done_by: None,
            failure,
        }
    }

    #[test]
    fn the_eight_figures() {
        let tasks = vec![
            task("a", "g1", TaskStatus::Done, None),
            task("a", "g2", TaskStatus::Done, None),
            task("b", "g3", TaskStatus::Pending, None),
            task("b", "g4", TaskStatus::Done, None),
            task("c", "g5", TaskStatus::Failed, Some(Failure::staff_left())),
            task(
                "d",
                "g6",
                TaskStatus::Failed,
                Some(Failure::group_dismissed()),
            ),
            task("d", "g7", TaskStatus::Done, None),
        ];
        let f = Figures::of(&tasks);
        assert_eq!(f.owners_not_executed, 1); // b
        assert_eq!(f.owners_executed, 2); // a, d
        assert_eq!(f.failed_tasks, 2);
        assert_eq!(f.failed_by_reason["staff_left"], 1);
        assert_eq!(f.groups_not_sent, 1);
        assert_eq!(f.groups_sent, 4);
        assert_eq!(f.groups_failed, 2);
        assert_eq!(f.per_owner.len(), 4);
        assert!(!f.per_owner[1].executed);
        assert!(!f.per_owner[2].executed, "only failures is not executed");
        assert_eq!(f.per_group.len(), 7);
        assert_eq!(f.per_group[5].failure.as_deref(), Some("group_dismissed"));
    }
}
