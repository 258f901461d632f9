//! Tasks: one per (plan occurrence, target group or customer set, executing staff member),
//! with a deterministic identity so that dispatch creates each exactly once however often it
//! runs. A task is pending until the staff member (or WeCom's send result) says it was
//! pushed, or it fails with a specific reason.
use super::plan::PlanId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a task pushes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A customer group (group SOP, calendar).
    Group {
        /// The group.
        chat_id: String,
    },
    /// One customer (journey).
    Customer {
        /// The customer.
        external_userid: String,
    },
    /// The customers a moments post is visible to (moments SOP).
    Audience,
}

impl Target {
    /// The key part: `G:{chat}`, `C:{ext}`, `A:all`.
    pub fn key(&self) -> String {
        match self {
            Target::Group { chat_id } => format!("G:{chat_id}"),
            Target::Customer { external_userid } => format!("C:{external_userid}"),
            Target::Audience => "A:all".to_string(),
        }
    }

    /// Parses a key part.
    pub fn parse_key(raw: &str) -> Option<Self> {
        let (kind, id) = raw.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        match kind {
            "G" => Some(Target::Group {
                chat_id: id.to_string(),
            }),
            "C" => Some(Target::Customer {
                external_userid: id.to_string(),
            }),
            "A" => Some(Target::Audience),
            _ => None,
        }
    }

    /// The group, for group targets.
    pub fn chat_id(&self) -> Option<&str> {
        match self {
            Target::Group { chat_id } => Some(chat_id),
            _ => None,
        }
    }
}

/// A task's identity: plan, occurrence, target, staff. Its text form (the `task_id` the
/// task center shows) is an opaque base64url string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskKey {
    /// The plan.
    pub plan_id: PlanId,
    /// The occurrence.
    pub occurrence_id: OccurrenceId,
    /// The target.
    pub target: Target,
    /// The staff member who executes it.
    pub staff: String,
}

impl TaskKey {
    /// The opaque id.
    pub fn id(&self) -> String {
        let raw = format!(
            "{}|{}|{}|{}",
            self.plan_id,
            self.occurrence_id,
            self.target.key(),
            self.staff
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Parses an opaque id.
    pub fn parse(id: &str) -> Option<Self> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
        let mut parts = raw.splitn(4, '|');
        let plan_id = PlanId::parse(parts.next()?)?;
        let occurrence_id = OccurrenceId::parse(parts.next()?)?;
        let target = Target::parse_key(parts.next()?)?;
        let staff = parts.next()?.to_string();
        if staff.is_empty() || staff.contains('#') {
            return None;
        }
        Some(Self {
            plan_id,
            occurrence_id,
            target,
            staff,
        })
    }
}

/// An occurrence's id: the scheduled instant in UTC (`20250701T0100Z`), with a journey
/// step suffix (`20250701T0100Z-s2`). Sorts by time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OccurrenceId(String);

impl OccurrenceId {
    /// The occurrence of a plan scheduled at `at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        Self(at.format("%Y%m%dT%H%MZ").to_string())
    }

    /// The occurrence of journey step `step` due at `at`.
    pub fn journey(at: DateTime<Utc>, step: usize) -> Self {
        Self(format!("{}-s{step}", at.format("%Y%m%dT%H%MZ")))
    }

    /// Validates a presented id.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = (14..=24).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || b"TZs-".contains(&b));
        ok.then(|| Self(raw.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OccurrenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// 待推送: waiting for the staff member.
    Pending,
    /// 已推送: pushed.
    Done,
    /// Will not be pushed; see the failure.
    Failed,
}

impl TaskStatus {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(TaskStatus::Pending),
            "done" => Some(TaskStatus::Done),
            "failed" => Some(TaskStatus::Failed),
            _ => None,
        }
    }

    /// The one-letter prefix of the staff index's sort key (pending first).
    pub fn index_prefix(&self) -> &'static str {
        match self {
            TaskStatus::Pending => "P",
            TaskStatus::Done => "D",
            TaskStatus::Failed => "F",
        }
    }

    /// Whether a task may move from `self` to `to`: only pending tasks move, and only
    /// to done or failed.
    pub fn can_become(&self, to: TaskStatus) -> bool {
        *self == TaskStatus::Pending && to != TaskStatus::Pending
    }
}

/// Who said a task was pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoneBy {
    /// The staff member, in the task center.
    Staff,
    /// WeCom's send result.
    Wecom,
}

/// Why a task failed: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Stable code (`staff_left`, `group_transferred`, `group_dismissed`,
    /// `quota_reached`, `staff_daily_limit`, `not_friend`, `wecom_quota_reached`,
    /// `wecom_errcode`, `no_staff`, `owner_unknown`).
    pub code: String,
    /// What happened.
    pub message: String,
    /// WeCom's errcode, when WeCom refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
}

impl Failure {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            errcode: None,
        }
    }

    /// The staff member left the company.
    pub fn staff_left() -> Self {
        Self::new("staff_left", "the staff member left the company")
    }

    /// The group now has another owner.
    pub fn group_transferred(new_owner: Option<&str>) -> Self {
        let msg = match new_owner {
            Some(o) => format!("the group was transferred to another owner ({o})"),
            None => "the group was transferred to another owner".to_string(),
        };
        Self::new("group_transferred", msg)
    }

    /// The group was dismissed.
    pub fn group_dismissed() -> Self {
        Self::new("group_dismissed", "the group was dismissed")
    }

    /// The receive quota of the group or customer is used up.
    pub fn quota_reached(what: &str, rule: &str) -> Self {
        Self::new(
            "quota_reached",
            format!("{what} already reached its group-message limit ({rule})"),
        )
    }

    /// The customer already gets a group message from this staff member that day.
    pub fn staff_daily_limit(date: &str) -> Self {
        Self::new(
            "staff_daily_limit",
            format!(
                "the customer already gets a group message from this staff member on {date} \
                 (WeCom allows one per staff member per day)"
            ),
        )
    }

    /// WeCom refused with an errcode.
    pub fn wecom(errcode: i64) -> Self {
        Self {
            errcode: Some(errcode),
            ..Self::new("wecom_errcode", format!("WeCom errcode {errcode}"))
        }
    }

    /// WeCom's send result: the customer is no longer a contact.
    pub fn not_friend() -> Self {
        Self::new(
            "not_friend",
            "WeCom: the customer is no longer a contact of the staff member",
        )
    }

    /// WeCom's send result status 3: the receive quota was reached at WeCom.
    pub fn wecom_quota_reached() -> Self {
        Self::new(
            "wecom_quota_reached",
            "WeCom: the customer or group already received its quota of group messages",
        )
    }

    /// A journey customer has no staff contact to push from.
    pub fn no_staff() -> Self {
        Self::new(
            "no_staff",
            "the customer has no active staff contact to push from",
        )
    }

    /// Whether the failure means nothing was sent and any reserved quota can be released.
    pub fn releases_quota(&self) -> bool {
        !matches!(
            self.code.as_str(),
            "quota_reached" | "staff_daily_limit" | "wecom_quota_reached"
        )
    }
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The opaque id.
    pub task_id: String,
    /// The plan.
    pub plan_id: PlanId,
    /// The plan's name when the task was created.
    pub plan_name: String,
    /// The occurrence.
    pub occurrence_id: OccurrenceId,
    /// What it pushes to.
    pub target: Target,
    /// The target's name (group name), when known.
    pub target_name: Option<String>,
    /// Who executes it.
    pub staff: String,
    /// Pending, done, failed.
    pub status: TaskStatus,
    /// When the occurrence was scheduled.
    pub scheduled_at: DateTime<Utc>,
    /// Whether the occurrence was dispatched late (after an outage).
    pub late: bool,
    /// Journey branch (`silent` or `replied`) whose content applies.
    pub branch: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was done.
    pub done_at: Option<DateTime<Utc>>,
    /// Who said it was done.
    pub done_by: Option<DoneBy>,
    /// Why it failed.
    pub failure: Option<Failure>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_round_trip_and_reject_garbage() {
        let key = TaskKey {
            plan_id: PlanId::parse("p01abc").unwrap(),
            occurrence_id: OccurrenceId::journey(Utc::now(), 3),
            target: Target::Group {
                chat_id: "wrOgQh".into(),
            },
            staff: "zhang.san@x".into(),
        };
        let id = key.id();
        assert_eq!(TaskKey::parse(&id), Some(key));
        assert!(TaskKey::parse("not-a-task").is_none());
        assert!(TaskKey::parse(&URL_SAFE_NO_PAD.encode("p1|x|G:a|u")).is_none());
    }

    #[test]
    fn only_pending_tasks_move() {
        assert!(TaskStatus::Pending.can_become(TaskStatus::Done));
        assert!(TaskStatus::Pending.can_become(TaskStatus::Failed));
        assert!(!TaskStatus::Done.can_become(TaskStatus::Failed));
        assert!(!TaskStatus::Failed.can_become(TaskStatus::Done));
        assert!(!TaskStatus::Pending.can_become(TaskStatus::Pending));
    }
}
