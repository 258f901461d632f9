//! Plans: what to push, to whom, when. Four kinds share one shape (a name, a spec, a
//! status and a version): group SOPs, moments SOPs, the group calendar and customer
//! journeys. Validation is pure and names every problem's field, so that a bad edit is
//! refused with a clear error and nothing changes.
use super::content::{Content, ContentUse};
use super::schedule::{before_minute_of, resolve_local, LocalDateTime, LocalTime, Schedule};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A plan's id: `p` and a lowercase ULID (sortable by creation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PlanId(String);

impl PlanId {
    /// A fresh id.
    pub fn generate() -> Self {
        Self(format!("p{}", ulid::Ulid::new().to_string().to_lowercase()))
    }

    /// Validates a presented id: 2–40 lowercase letters or digits starting with `p`.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.starts_with('p')
            && (2..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        ok.then(|| Self(raw.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PlanId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        PlanId::parse(&raw).ok_or_else(|| serde::de::Error::custom("invalid plan id"))
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which groups a group plan reaches: the explicit `chat_ids`, plus every group that
/// matches the condition on `owners` and `group_tags` (a group matches when its owner is
/// one of `owners`, if any are given, and it carries one of `group_tags`, if any are
/// given). Dismissed groups are never reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GroupTargets {
    /// Explicit groups.
    #[serde(default)]
    pub chat_ids: Vec<String>,
    /// Group owners (staff userids).
    #[serde(default)]
    pub owners: Vec<String>,
    /// Group tags (see the group-tag endpoint).
    #[serde(default)]
    pub group_tags: Vec<String>,
}

impl GroupTargets {
    /// Whether nothing at all is targeted.
    pub fn is_empty(&self) -> bool {
        self.chat_ids.is_empty() && self.owners.is_empty() && self.group_tags.is_empty()
    }
}

/// One dated item of a group calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarItem {
    /// When, in the tenant's timezone.
    pub at: LocalDateTime,
    /// A title for staff ("618 pre-sale").
    #[serde(default)]
    pub title: Option<String>,
    /// What to push.
    pub content: Content,
}

/// One step of a journey: `day` days after the day the customer entered the stage, at
/// `time`; customers who replied get `replied`, silent ones `silent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneyStep {
    /// Days after the entry day (0 = the same day).
    pub day: u32,
    /// Time of day.
    pub time: LocalTime,
    /// Nurture content for customers who have not replied.
    pub silent: Content,
    /// Conversion content for customers who replied.
    pub replied: Content,
}

impl JourneyStep {
    /// When this step is due for a customer who entered at `entered_at`.
    pub fn due(&self, entered_at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let day = entered_at.with_timezone(&tz).date_naive() + Duration::days(i64::from(self.day));
        resolve_local(tz, day.and_time(self.time.naive()))
    }
}

/// What a plan does, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlanSpec {
    /// 群SOP: content to matching groups at recurring times; one task per group, for its
    /// owner.
    Group {
        /// Which groups.
        targets: GroupTargets,
        /// When.
        schedule: Schedule,
        /// What.
        content: Content,
    },
    /// 朋友圈SOP: a moments post the listed staff must publish, visible to customers with
    /// the audience tags (everyone if none).
    Moments {
        /// Staff who post.
        senders: Vec<String>,
        /// Customer tags the post is visible to.
        #[serde(default)]
        audience_tags: Vec<String>,
        /// When.
        schedule: Schedule,
        /// What.
        content: Content,
    },
    /// 群日历: dated one-off items on chosen groups.
    Calendar {
        /// Which groups.
        targets: GroupTargets,
        /// The dated items.
        items: Vec<CalendarItem>,
    },
    /// 客户旅程: steps relative to a customer's entry into a lifecycle stage.
    Journey {
        /// The lifecycle stage whose entry starts the journey.
        stage: String,
        /// The steps, in time order.
        steps: Vec<JourneyStep>,
    },
}

/// The kind of a plan, as stored and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// Group SOP.
    Group,
    /// Moments SOP.
    Moments,
    /// Group calendar.
    Calendar,
    /// Customer journey.
    Journey,
}

/// A plan's life: active plans fire, paused ones wait, ended ones never fire again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Fires.
    Active,
    /// Skips its occurrences until resumed.
    Paused,
    /// Finished for good.
    Ended,
}

impl PlanStatus {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlanStatus::Active => "active",
            PlanStatus::Paused => "paused",
            PlanStatus::Ended => "ended",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(PlanStatus::Active),
            "paused" => Some(PlanStatus::Paused),
            "ended" => Some(PlanStatus::Ended),
            _ => None,
        }
    }
}

/// A stored plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Its id.
    pub plan_id: PlanId,
    /// A name for people.
    pub name: String,
    /// What it does.
    pub spec: PlanSpec,
    /// Active, paused, ended.
    pub status: PlanStatus,
    /// Incremented by every change; edits name the version they start from.
    pub version: i64,
    /// The next occurrence still to dispatch (none for journeys, paused or ended plans,
    /// and plans with nothing left to fire).
    pub next_due: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A plan as created or edited through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInput {
    /// A name for people.
    pub name: String,
    /// What it does.
    #[serde(flatten)]
    pub spec: PlanSpec,
}

/// One problem with a plan: which field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A JSON path such as `content.attachments` or `steps[1].time`.
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl Problem {
    /// The problems in one line (`field: message; …`), for an error's message.
    pub fn summary(problems: &[Problem]) -> String {
        problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Largest lists a plan may hold (DynamoDB's 400 KB item and WeCom's limits).
pub mod limits {
    /// Explicit groups, owners or tags per plan.
    pub const TARGETS: usize = 2000;
    /// Moments senders per plan.
    pub const SENDERS: usize = 1000;
    /// Calendar items per plan.
    pub const CALENDAR_ITEMS: usize = 100;
    /// Journey steps per plan.
    pub const JOURNEY_STEPS: usize = 30;
    /// Furthest journey step, in days.
    pub const JOURNEY_DAYS: u32 = 365;
    /// Largest spec (targets, schedule, content), as JSON bytes: a plan is one item.
    pub const SPEC_BYTES: usize = 256 * 1024;
}

fn check_ids(field: &str, ids: &[String], max: usize, out: &mut Vec<Problem>) {
    if ids.len() > max {
        out.push(Problem {
            field: field.into(),
            message: format!("{} entries; at most {max} are allowed", ids.len()),
        });
    }
    for id in ids {
        if id.trim().is_empty() || id.len() > 128 || id.contains('#') || id.contains('|') {
            out.push(Problem {
                field: field.into(),
                message: format!("`{id}` is not a valid id (1-128 characters, no # or |)"),
            });
        }
    }
}

fn content_problems(at: &str, c: &Content, usage: ContentUse, out: &mut Vec<Problem>) {
    out.extend(
        c.problems(at, usage)
            .into_iter()
            .map(|(field, message)| Problem { field, message }),
    );
}

impl PlanSpec {
    /// The ids of the content center's materials the plan's contents refer to, each once.
    pub fn material_ids(&self) -> Vec<String> {
        let contents: Vec<&Content> = match self {
            PlanSpec::Group { content, .. } | PlanSpec::Moments { content, .. } => vec![content],
            PlanSpec::Calendar { items, .. } => items.iter().map(|i| &i.content).collect(),
            PlanSpec::Journey { steps, .. } => {
                steps.iter().flat_map(|s| [&s.silent, &s.replied]).collect()
            }
        };
        let mut ids: Vec<String> = Vec::new();
        for id in contents.iter().flat_map(|c| c.material_ids()) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// The kind.
    pub fn kind(&self) -> PlanKind {
        match self {
            PlanSpec::Group { .. } => PlanKind::Group,
            PlanSpec::Moments { .. } => PlanKind::Moments,
            PlanSpec::Calendar { .. } => PlanKind::Calendar,
            PlanSpec::Journey { .. } => PlanKind::Journey,
        }
    }

    /// Every problem with the spec; `now` and `tz` reject calendar items in the past
    /// (before `now`'s minute: see [`before_minute_of`]).
    pub fn problems(&self, now: DateTime<Utc>, tz: Tz) -> Vec<Problem> {
        let mut out = Vec::new();
        let schedule_problems = |s: &Schedule, out: &mut Vec<Problem>| {
            out.extend(
                s.problems()
                    .into_iter()
                    .map(|(field, message)| Problem { field, message }),
            )
        };
        match self {
            PlanSpec::Group {
                targets,
                schedule,
                content,
            } => {
                targets_problems(targets, &mut out);
                schedule_problems(schedule, &mut out);
                content_problems("content", content, ContentUse::Message, &mut out);
            }
            PlanSpec::Moments {
                senders,
                audience_tags,
                schedule,
                content,
            } => {
                if senders.is_empty() {
                    out.push(Problem {
                        field: "senders".into(),
                        message: "name at least one staff member who posts".into(),
                    });
                }
                check_ids("senders", senders, limits::SENDERS, &mut out);
                check_ids("audience_tags", audience_tags, limits::TARGETS, &mut out);
                schedule_problems(schedule, &mut out);
                content_problems("content", content, ContentUse::Moments, &mut out);
            }
            PlanSpec::Calendar { targets, items } => {
                targets_problems(targets, &mut out);
                if items.is_empty() {
                    out.push(Problem {
                        field: "items".into(),
                        message: "a calendar needs at least one dated item".into(),
                    });
                }
                if items.len() > limits::CALENDAR_ITEMS {
                    out.push(Problem {
                        field: "items".into(),
                        message: format!(
                            "{} items; at most {} are allowed",
                            items.len(),
                            limits::CALENDAR_ITEMS
                        ),
                    });
                }
                let mut seen = std::collections::HashSet::new();
                for (i, item) in items.iter().enumerate() {
                    if !seen.insert(item.at) {
                        out.push(Problem {
                            field: format!("items[{i}].at"),
                            message: format!("two items at {}", item.at),
                        });
                    }
                    if item.at.in_tz(tz) <= before_minute_of(now) {
                        out.push(Problem {
                            field: format!("items[{i}].at"),
                            message: format!("{} is in the past", item.at),
                        });
                    }
                    content_problems(
                        &format!("items[{i}].content"),
                        &item.content,
                        ContentUse::Message,
                        &mut out,
                    );
                }
            }
            PlanSpec::Journey { stage, steps } => {
                if stage.trim().is_empty() || stage.len() > 64 || stage.contains('#') {
                    out.push(Problem {
                        field: "stage".into(),
                        message: "stage must be 1-64 characters without #".into(),
                    });
                }
                if steps.is_empty() {
                    out.push(Problem {
                        field: "steps".into(),
                        message: "a journey needs at least one step".into(),
                    });
                }
                if steps.len() > limits::JOURNEY_STEPS {
                    out.push(Problem {
                        field: "steps".into(),
                        message: format!("at most {} steps are allowed", limits::JOURNEY_STEPS),
                    });
                }
                for (i, step) in steps.iter().enumerate() {
                    if step.day > limits::JOURNEY_DAYS {
                        out.push(Problem {
                            field: format!("steps[{i}].day"),
                            message: format!("day is at most {}", limits::JOURNEY_DAYS),
                        });
                    }
                    if i > 0 && (steps[i - 1].day, steps[i - 1].time) >= (step.day, step.time) {
                        out.push(Problem {
                            field: format!("steps[{i}]"),
                            message: "steps must be in strictly increasing (day, time) order"
                                .into(),
                        });
                    }
                    content_problems(
                        &format!("steps[{i}].silent"),
                        &step.silent,
                        ContentUse::Message,
                        &mut out,
                    );
                    content_problems(
                        &format!("steps[{i}].replied"),
                        &step.replied,
                        ContentUse::Message,
                        &mut out,
                    );
                }
            }
        }
        let bytes = serde_json::to_vec(self).map_or(0, |v| v.len());
        if bytes > limits::SPEC_BYTES {
            out.push(Problem {
                field: String::new(),
                message: format!(
                    "the plan is {bytes} bytes as JSON; at most {} are allowed",
                    limits::SPEC_BYTES
                ),
            });
        }
        out
    }

    /// The first occurrence of a plan saved at `now`: from `now`'s minute on (see
    /// [`before_minute_of`]), so one of that very minute is due at once.
    pub fn first_due(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.next_after(before_minute_of(now), tz)
    }

    /// The first occurrence strictly after `after` (journeys have none of their own: their
    /// steps are due per customer run).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            PlanSpec::Group { schedule, .. } | PlanSpec::Moments { schedule, .. } => {
                schedule.next_after(after, tz)
            }
            PlanSpec::Calendar { items, .. } => items
                .iter()
                .map(|i| i.at.in_tz(tz))
                .filter(|at| *at > after)
                .min(),
            PlanSpec::Journey { .. } => None,
        }
    }

    /// The content of the occurrence at `at` (calendar plans have one per item).
    pub fn content_at(&self, at: DateTime<Utc>, tz: Tz) -> Option<&Content> {
        match self {
            PlanSpec::Group { content, .. } | PlanSpec::Moments { content, .. } => Some(content),
            PlanSpec::Calendar { items, .. } => items
                .iter()
                .find(|i| i.at.in_tz(tz) == at)
                .map(|i| &i.content),
            PlanSpec::Journey { .. } => None,
        }
    }
}

fn targets_problems(targets: &GroupTargets, out: &mut Vec<Problem>) {
    if targets.is_empty() {
        out.push(Problem {
            field: "targets".into(),
            message: "targets are empty: give chat_ids, owners or group_tags".into(),
        });
    }
    check_ids("targets.chat_ids", &targets.chat_ids, limits::TARGETS, out);
    check_ids("targets.owners", &targets.owners, limits::TARGETS, out);
    check_ids(
        "targets.group_tags",
        &targets.group_tags,
        limits::TARGETS,
        out,
    );
}

impl PlanInput {
    /// Every problem with the input (name and spec).
    pub fn problems(&self, now: DateTime<Utc>, tz: Tz) -> Vec<Problem> {
        let mut out = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            out.push(Problem {
                field: "name".into(),
                message: "name must be 1 to 100 characters".into(),
            });
        }
        out.extend(self.spec.problems(now, tz));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn input(json: serde_json::Value) -> PlanInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_valid_group_plan_has_no_problems() {
        let p = input(serde_json::json!({
            "name": "Morning",
            "kind": "group",
            "targets": {"owners": ["zhangsan"]},
            "schedule": {"kind": "daily", "time": "09:00"},
            "content": {"text": "早上好"}
        }));
        assert!(p.problems(Utc::now(), Shanghai).is_empty());
    }

    #[test]
    fn empty_targets_and_bad_journeys_are_named() {
        let p = input(serde_json::json!({
            "name": "",
            "kind": "group",
            "targets": {},
            "schedule": {"kind": "monthly", "days": [], "time": "09:00"},
            "content": {"text": ""}
        }));
        let fields: Vec<String> = p
            .problems(Utc::now(), Shanghai)
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["name", "targets", "schedule.days", "content"]);
        let j = input(serde_json::json!({
            "name": "J",
            "kind": "journey",
            "stage": "new",
            "steps": [
                {"day": 2, "time": "20:00", "silent": {"text": "a"}, "replied": {"text": "b"}},
                {"day": 0, "time": "10:00", "silent": {"text": "a"}, "replied": {"text": "b"}}
            ]
        }));
        let p = j.problems(Utc::now(), Shanghai);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field, "steps[1]");
    }

    #[test]
    fn calendar_items_in_the_past_are_refused() {
        let now = DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = input(serde_json::json!({
            "name": "618",
            "kind": "calendar",
            "targets": {"chat_ids": ["wr1"]},
            "items": [
                {"at": "2025-05-31T10:00", "content": {"text": "late"}},
                {"at": "2025-06-18T10:00", "content": {"text": "ok"}}
            ]
        }));
        let p = c.problems(now, Shanghai);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field, "items[0].at");
        let next = c.spec.next_after(now, Shanghai).unwrap();
        assert_eq!(next.to_rfc3339(), "2025-06-18T02:00:00+00:00");
        assert_eq!(c.spec.content_at(next, Shanghai).unwrap().text, "ok");
    }

    #[test]
    fn a_plan_saved_during_one_of_its_minutes_is_due_at_once() {
        let at = |raw: &str| {
            DateTime::parse_from_rfc3339(raw)
                .unwrap()
                .with_timezone(&Utc)
        };
        // 10:00:40 in Shanghai.
        let now = at("2025-06-01T02:00:40Z");
        let daily = input(serde_json::json!({
            "name": "daily",
            "kind": "group",
            "targets": {"chat_ids": ["wr1"]},
            "schedule": {"kind": "daily", "time": "10:00"},
            "content": {"text": "hi"}
        }));
        assert_eq!(
            daily.spec.first_due(now, Shanghai),
            Some(at("2025-06-01T02:00:00Z"))
        );
        // From the next minute on, today's 10:00 is past: tomorrow's.
        assert_eq!(
            daily.spec.first_due(at("2025-06-01T02:01:00Z"), Shanghai),
            Some(at("2025-06-02T02:00:00Z"))
        );
        // A calendar item of this minute is not in the past; one of the minute before is.
        let calendar = |when: &str| {
            input(serde_json::json!({
                "name": "now",
                "kind": "calendar",
                "targets": {"chat_ids": ["wr1"]},
                "items": [{"at": when, "content": {"text": "now"}}]
            }))
        };
        assert!(calendar("2025-06-01T10:00")
            .problems(now, Shanghai)
            .is_empty());
        assert_eq!(
            calendar("2025-06-01T09:59").problems(now, Shanghai).len(),
            1
        );
        assert_eq!(
            calendar("2025-06-01T10:00").spec.first_due(now, Shanghai),
            Some(at("2025-06-01T02:00:00Z"))
        );
    }

    #[test]
    fn journey_steps_are_relative_to_the_entry_day() {
        let step = JourneyStep {
            day: 2,
            time: LocalTime::parse("20:00").unwrap(),
            silent: Content::default(),
            replied: Content::default(),
        };
        // Entered 2025-06-30 23:30 Shanghai (15:30Z): day 2 is July 2nd.
        let entered = DateTime::parse_from_rfc3339("2025-06-30T15:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            step.due(entered, Shanghai).to_rfc3339(),
            "2025-07-02T12:00:00+00:00"
        );
    }

    #[test]
    fn unknown_kinds_and_fields_are_refused() {
        let e = serde_json::from_value::<PlanInput>(serde_json::json!({
            "name": "x", "kind": "sms"
        }))
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown variant"), "{e}");
    }
}
