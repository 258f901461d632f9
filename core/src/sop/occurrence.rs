//! Occurrences (a plan firing at one scheduled time), journey runs (one customer's way
//! through a journey), and the outbox of WeCom calls an occurrence causes (one reminder per
//! staff member, and optionally the WeCom mass-message or moments task), with the retry
//! rules that make WeCom failures visible and bounded.
use super::content::Content;
use super::plan::{JourneyStep, PlanId, PlanKind};
use super::task::OccurrenceId;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// An occurrence counts as late when it is dispatched this long after its scheduled time
/// (the dispatcher runs every minute; anything later was caught up after an outage).
pub const LATE_AFTER: Duration = Duration::minutes(5);

/// A plan firing at one scheduled time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    /// The plan.
    pub plan_id: PlanId,
    /// The occurrence.
    pub occurrence_id: OccurrenceId,
    /// The plan's kind.
    pub kind: PlanKind,
    /// The plan's name then.
    pub plan_name: String,
    /// The plan's version then (edits apply to later occurrences only).
    pub plan_version: i64,
    /// When it was scheduled.
    pub scheduled_at: DateTime<Utc>,
    /// When it was dispatched.
    pub dispatched_at: DateTime<Utc>,
    /// Dispatched [`LATE_AFTER`] or more after its time.
    pub late: bool,
    /// The content (group, moments, calendar).
    pub content: Option<Content>,
    /// The journey step (both branches).
    pub step: Option<JourneyStep>,
    /// The step's index, for journeys.
    pub step_index: Option<usize>,
    /// The calendar item's title, if any.
    pub title: Option<String>,
}

impl Occurrence {
    /// Whether an occurrence scheduled at `scheduled` and dispatched at `now` is late.
    pub fn is_late(scheduled: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now - scheduled >= LATE_AFTER
    }

    /// The content for a journey branch (`silent`/`replied`) or the occurrence's content.
    pub fn content_for(&self, branch: Option<&str>) -> Option<&Content> {
        match (&self.step, branch) {
            (Some(step), Some("replied")) => Some(&step.replied),
            (Some(step), _) => Some(&step.silent),
            (None, _) => self.content.as_ref(),
        }
    }
}

/// Which branch a journey customer is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Branch {
    /// Has not replied: nurture content.
    Silent,
    /// Replied: conversion content.
    Replied,
}

impl Branch {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Branch::Silent => "silent",
            Branch::Replied => "replied",
        }
    }
}

/// One customer's way through a journey plan, started when they entered its stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyRun {
    /// `{plan}#{customer}#{entered epoch}`: one run per stage entry, whatever the retries.
    pub run_id: String,
    /// The plan.
    pub plan_id: PlanId,
    /// The customer.
    pub external_userid: String,
    /// When they entered the stage.
    pub entered_at: DateTime<Utc>,
    /// Which branch applies.
    pub branch: Branch,
    /// The staff member the customer last replied to, if known.
    pub replied_to: Option<String>,
    /// The next step to dispatch.
    pub next_step: usize,
    /// When it is due (none once finished).
    pub next_due: Option<DateTime<Utc>>,
}

impl JourneyRun {
    /// The run id of a stage entry.
    pub fn id_for(plan: &PlanId, external_userid: &str, entered_at: DateTime<Utc>) -> String {
        format!("{plan}#{external_userid}#{}", entered_at.timestamp())
    }
}

/// What an outbox entry asks WeCom for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxKind {
    /// The application-message reminder to one staff member (a textcard to their list).
    Reminder {
        /// The staff member.
        staff: String,
        /// How many tasks they got in this occurrence.
        tasks: usize,
    },
    /// A WeCom mass-message task (add_msg_template) with the staff member as sender.
    GroupMessage {
        /// The sender.
        staff: String,
        /// Chunk number (WeCom takes ≤2000 groups / ≤10000 customers per task).
        chunk: usize,
        /// `group` or `single`.
        chat_type: String,
        /// The journey branch whose content is sent (journeys only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
        /// chat_ids or external_userids.
        targets: Vec<String>,
    },
    /// A WeCom moments task (add_moment_task) for the senders.
    MomentTask {
        /// Staff who post.
        senders: Vec<String>,
        /// Audience tags.
        tags: Vec<String>,
    },
}

impl OutboxKind {
    /// The sort-key suffix, unique within the occurrence.
    pub fn key(&self) -> String {
        match self {
            OutboxKind::Reminder { staff, .. } => format!("REM#{staff}"),
            OutboxKind::GroupMessage {
                staff,
                chunk,
                branch,
                ..
            } => format!("GMSG#{staff}#{}#{chunk}", branch.as_deref().unwrap_or("-")),
            OutboxKind::MomentTask { .. } => "MOMENT".to_string(),
        }
    }

    /// A short name for logs and the API.
    pub fn name(&self) -> &'static str {
        match self {
            OutboxKind::Reminder { .. } => "reminder",
            OutboxKind::GroupMessage { .. } => "group_message",
            OutboxKind::MomentTask { .. } => "moment_task",
        }
    }
}

/// Where an outbox entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Not yet accepted by WeCom (new, or retrying after a failure).
    Pending,
    /// WeCom accepted it.
    Sent,
    /// Gave up after [`MAX_ATTEMPTS`]; `last_errcode` says why.
    Failed,
}

impl OutboxState {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(OutboxState::Pending),
            "sent" => Some(OutboxState::Sent),
            "failed" => Some(OutboxState::Failed),
            _ => None,
        }
    }
}

/// Attempts before an outbox entry is marked failed.
pub const MAX_ATTEMPTS: u32 = 5;
/// The first retry delay; doubled per attempt.
pub const RETRY_BASE: Duration = Duration::minutes(1);
/// The longest retry delay.
pub const RETRY_MAX: Duration = Duration::minutes(30);
/// How long a dispatcher owns an entry it is sending (longer than a WeCom call's budget).
pub const CLAIM_FOR: Duration = Duration::seconds(90);

/// When to try again after `attempts` failed attempts, or `None` to give up.
pub fn retry_at(attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let factor = 1i32 << attempts.saturating_sub(1).min(10);
    let delay = (RETRY_BASE * factor).min(RETRY_MAX);
    Some(now + delay)
}

/// One WeCom call an occurrence causes, with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// The plan.
    pub plan_id: PlanId,
    /// The occurrence.
    pub occurrence_id: OccurrenceId,
    /// What to send.
    #[serde(flatten)]
    pub kind: OutboxKind,
    /// Delivery state.
    pub state: OutboxState,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// WeCom's errcode of the last failure (none for timeouts and transport failures).
    pub last_errcode: Option<i64>,
    /// The last failure, for people.
    pub last_error: Option<String>,
    /// WeCom's id for what it created (msgid or jobid), once sent.
    pub wecom_id: Option<String>,
    /// The Moments post a moments task created, once WeCom finished the job (the jobid
    /// expires after 24 hours; the post's id is what publication statuses are read by).
    #[serde(default)]
    pub moment_id: Option<String>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// When results are next fetched (mass-message and moments tasks, until settled).
    pub next_sync_at: Option<DateTime<Utc>>,
    /// When the first attempt was claimed: WeCom's lists are searched from then on when an
    /// attempt's outcome is unknown.
    #[serde(default)]
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// Attempts whose outcome was recorded; fewer than the attempts claimed before this one
    /// means a run stopped between calling WeCom and recording the answer.
    #[serde(default)]
    pub settled_attempts: u32,
    /// The last recorded attempt may have taken effect at WeCom without its answer (a
    /// timeout, a broken connection, an unreadable answer).
    #[serde(default)]
    pub outcome_unknown: bool,
}

impl OutboxItem {
    /// A new pending entry, due at once.
    pub fn new(
        plan_id: PlanId,
        occurrence_id: OccurrenceId,
        kind: OutboxKind,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            plan_id,
            occurrence_id,
            kind,
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            last_errcode: None,
            last_error: None,
            wecom_id: None,
            moment_id: None,
            sent_at: None,
            next_sync_at: None,
            first_attempt_at: None,
            settled_attempts: 0,
            outcome_unknown: false,
        }
    }

    /// Whether WeCom may have this entry's task (asked of a stored entry): accepted, an
    /// attempt whose outcome is unknown, or one claimed and not yet recorded.
    pub fn may_exist_at_wecom(&self) -> bool {
        self.state == OutboxState::Sent
            || self.outcome_unknown
            || self.attempts > self.settled_attempts
    }

    /// Whether an earlier attempt may have reached WeCom although none was recorded as
    /// accepted (asked of an entry as claimed, its attempt already counted): then WeCom is
    /// asked what it has before anything is sent again.
    pub fn may_have_reached_wecom(&self) -> bool {
        self.outcome_unknown || self.attempts.saturating_sub(1) > self.settled_attempts
    }
}

/// Results of WeCom tasks are fetched this often...
pub const SYNC_EVERY: Duration = Duration::minutes(10);
/// ...for this long after the task was created (WeCom's msgids are queried for days; staff
/// confirm within a day or two).
pub const SYNC_FOR: Duration = Duration::days(3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_then_give_up() {
        let now = Utc::now();
        assert_eq!(retry_at(1, now), Some(now + Duration::minutes(1)));
        assert_eq!(retry_at(2, now), Some(now + Duration::minutes(2)));
        assert_eq!(retry_at(4, now), Some(now + Duration::minutes(8)));
        assert_eq!(retry_at(MAX_ATTEMPTS, now), None);
    }

    #[test]
    fn an_attempt_whose_answer_was_lost_leaves_the_entry_in_doubt() {
        let now = Utc::now();
        let plan = PlanId::parse("p01abc").unwrap();
        let kind = OutboxKind::Reminder {
            staff: "u1".into(),
            tasks: 1,
        };
        let mut item = OutboxItem::new(plan, OccurrenceId::at(now), kind, now);
        // First claim: nothing was tried before.
        item.attempts = 1;
        assert!(!item.may_have_reached_wecom());
        // The run stopped before recording the answer; the next claim is in doubt.
        item.attempts = 2;
        assert!(item.may_have_reached_wecom());
        // Recorded answers clear the doubt, unless the answer was a timeout.
        item.settled_attempts = 1;
        assert!(!item.may_have_reached_wecom());
        item.outcome_unknown = true;
        assert!(item.may_have_reached_wecom());
    }

    #[test]
    fn lateness_has_a_grace_period() {
        let at = Utc::now();
        assert!(!Occurrence::is_late(at, at + Duration::minutes(1)));
        assert!(Occurrence::is_late(at, at + Duration::minutes(5)));
    }
}
