//! What is due when: the next occurrences of a schedule in the tenant's timezone (the plan
//! editor's preview), and the calendar of a date range across the tenant's plans (the
//! console's week / month view) — occurrences already dispatched, read from the store,
//! and those still ahead, expanded from each active plan's schedule from its next due
//! time on (exactly what the dispatcher will fire unless the plan changes). Journeys have
//! no calendar of their own (their steps are due per customer) and are not listed.
//!
//! The work is bounded: at most [`MAX_RANGE_DAYS`] days, [`MAX_PLANS`] plans (newest
//! first; `truncated` says when more exist), and the occurrences each plan has in the
//! range.
use super::figures::Figures;
use super::occurrence::Occurrence;
use super::plan::{Plan, PlanId, PlanKind, PlanSpec, PlanStatus};
use super::ports::{PlanStore, TaskStore};
use super::schedule::{local_date, resolve_local, Schedule};
use super::task::OccurrenceId;
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::tenants::TenantId;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

/// The most occurrences a schedule preview lists.
pub const MAX_PREVIEW: usize = 50;
/// The longest calendar range, in days (six weeks: a month view with its edges).
pub const MAX_RANGE_DAYS: i64 = 42;
/// The most plans a calendar reads.
pub const MAX_PLANS: usize = 200;
/// The most dispatched occurrences whose tasks a calendar counts.
pub const MAX_COUNTED: usize = 400;

/// One upcoming occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpcomingAt {
    /// The instant (UTC).
    pub at: DateTime<Utc>,
    /// The tenant-local date and time, `YYYY-MM-DDTHH:MM`.
    pub local: String,
    /// The local weekday, `mon` … `sun`.
    pub weekday: String,
}

fn upcoming(at: DateTime<Utc>, tz: Tz) -> UpcomingAt {
    let local = at.with_timezone(&tz);
    UpcomingAt {
        at,
        local: local.format("%Y-%m-%dT%H:%M").to_string(),
        weekday: local.format("%a").to_string().to_lowercase(),
    }
}

/// Why a preview or a calendar was refused.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The schedule is not valid: every problem as `(field, message)`.
    #[error("invalid schedule: {}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    InvalidSchedule(Vec<(String, String)>),
    /// A parameter out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::InvalidSchedule(ref problems) => {
                let problems: Vec<serde_json::Value> = problems
                    .iter()
                    .map(|(field, message)| serde_json::json!({"field": field, "message": message}))
                    .collect();
                ApiError::validation(e.to_string())
                    .with_details(serde_json::json!({ "problems": problems }))
            }
            CalendarError::Invalid(_) => ApiError::validation(e.to_string()),
            CalendarError::Store(s) => s.into(),
        }
    }
}

/// The next `count` occurrences of `schedule` strictly after `after`, in `tz`.
pub fn schedule_preview(
    schedule: &Schedule,
    count: usize,
    after: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<UpcomingAt>, CalendarError> {
    let problems = schedule.problems();
    if !problems.is_empty() {
        return Err(CalendarError::InvalidSchedule(problems));
    }
    if !(1..=MAX_PREVIEW).contains(&count) {
        return Err(CalendarError::Invalid(format!(
            "count must be from 1 to {MAX_PREVIEW}"
        )));
    }
    let mut out = Vec::with_capacity(count);
    let mut from = after;
    while out.len() < count {
        let Some(next) = schedule.next_after(from, tz) else {
            break;
        };
        out.push(upcoming(next, tz));
        from = next;
    }
    Ok(out)
}

/// A local date range, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl Range {
    /// Checks `from <= to` and the length.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, CalendarError> {
        if to < from {
            return Err(CalendarError::Invalid("to is before from".into()));
        }
        if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
            return Err(CalendarError::Invalid(format!(
                "the range is at most {MAX_RANGE_DAYS} days"
            )));
        }
        Ok(Self { from, to })
    }

    /// The first instant of the range in `tz`.
    pub fn start(&self, tz: Tz) -> DateTime<Utc> {
        resolve_local(tz, self.from.and_time(NaiveTime::MIN))
    }

    /// The first instant after the range in `tz`.
    pub fn end(&self, tz: Tz) -> DateTime<Utc> {
        let next = self.to + Duration::days(1);
        resolve_local(tz, next.and_time(NaiveTime::MIN))
    }
}

/// Where an entry of the calendar is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Dispatched: its tasks exist.
    Dispatched,
    /// Ahead (or due this minute): the dispatcher will fire it unless the plan changes.
    Scheduled,
}

/// Task counts of a dispatched occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct TaskCounts {
    /// Tasks.
    pub total: usize,
    /// Done.
    pub done: usize,
    /// Failed.
    pub failed: usize,
    /// Still pending.
    pub pending: usize,
}

impl TaskCounts {
    /// From an occurrence's figures.
    pub fn of(f: &Figures) -> Self {
        TaskCounts {
            total: f.tasks_total,
            done: f.tasks_done,
            failed: f.failed_tasks,
            pending: f.tasks_pending,
        }
    }

    /// Adds another's counts.
    pub fn add(&mut self, o: &TaskCounts) {
        self.total += o.total;
        self.done += o.done;
        self.failed += o.failed;
        self.pending += o.pending;
    }
}

/// One entry: a plan's occurrence on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarEntry {
    /// The tenant-local day.
    pub date: NaiveDate,
    /// The plan.
    pub plan_id: PlanId,
    /// Its name.
    pub plan_name: String,
    /// Its kind.
    pub kind: PlanKind,
    /// The occurrence's time.
    pub at: UpcomingAt,
    /// The occurrence id (dispatched or to be).
    pub occurrence_id: OccurrenceId,
    /// Dispatched or scheduled.
    pub status: EntryStatus,
    /// Dispatched late (after an outage).
    pub late: bool,
    /// How many targets: tasks of a dispatched occurrence; for one ahead, the explicit
    /// groups or moments senders when the plan names them only, else `None` (owners and
    /// group tags are resolved at dispatch).
    pub target_count: Option<usize>,
    /// Task counts of a dispatched occurrence (`None` ahead, or past [`MAX_COUNTED`]).
    pub tasks: Option<TaskCounts>,
    /// The calendar item's title.
    pub title: Option<String>,
}

/// The targets an occurrence ahead will have, when the plan names them outright.
pub fn planned_targets(spec: &PlanSpec) -> Option<usize> {
    match spec {
        PlanSpec::Group { targets, .. } | PlanSpec::Calendar { targets, .. } => {
            (targets.owners.is_empty() && targets.group_tags.is_empty())
                .then_some(targets.chat_ids.len())
        }
        PlanSpec::Moments { senders, .. } => Some(senders.len()),
        PlanSpec::Journey { .. } => None,
    }
}

/// The occurrences of an active plan from its next due time to the end of the range.
pub fn ahead(plan: &Plan, range: Range, tz: Tz) -> Vec<DateTime<Utc>> {
    let (Some(first), PlanStatus::Active) = (plan.next_due, plan.status) else {
        return Vec::new();
    };
    let (start, end) = (range.start(tz), range.end(tz));
    let mut out = Vec::new();
    let mut at = Some(first);
    while let Some(t) = at {
        if t >= end {
            break;
        }
        if t >= start {
            out.push(t);
        }
        at = plan.spec.next_after(t, tz);
    }
    out
}

/// An entry from a plan and an instant.
fn entry(plan: &Plan, at: DateTime<Utc>, tz: Tz) -> CalendarEntry {
    let title = match &plan.spec {
        PlanSpec::Calendar { items, .. } => items
            .iter()
            .find(|i| i.at.in_tz(tz) == at)
            .and_then(|i| i.title.clone()),
        _ => None,
    };
    CalendarEntry {
        date: local_date(at, tz),
        plan_id: plan.plan_id.clone(),
        plan_name: plan.name.clone(),
        kind: plan.spec.kind(),
        at: upcoming(at, tz),
        occurrence_id: OccurrenceId::at(at),
        status: EntryStatus::Scheduled,
        late: false,
        target_count: planned_targets(&plan.spec),
        tasks: None,
        title,
    }
}

/// The calendar.
#[derive(Debug, Clone, Serialize)]
pub struct Calendar {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// The tenant's timezone.
    pub timezone: String,
    /// Entries by time.
    pub entries: Vec<CalendarEntry>,
    /// More plans exist than were read ([`MAX_PLANS`]), or more occurrences than were
    /// counted ([`MAX_COUNTED`]).
    pub truncated: bool,
}

/// A plan's dispatched occurrences within `[start, end)`, newest first.
async fn dispatched_in<S: TaskStore>(
    store: &S,
    t: &TenantId,
    plan: &PlanId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Occurrence>, StoreError> {
    // Occurrence ids sort by time; journeys add a step suffix, which sorts after.
    let before = OccurrenceId::at(end);
    let mut out = Vec::new();
    let mut cursor = Some(before);
    while let Some(c) = cursor.take() {
        let page = store.occurrences(t, plan, Some(&c), 100).await?;
        let mut older = false;
        for occ in page.items {
            if occ.scheduled_at < start {
                older = true;
                break;
            }
            if occ.scheduled_at < end {
                out.push(occ);
            }
        }
        if !older {
            cursor = page.next_cursor.and_then(|n| OccurrenceId::parse(&n));
        }
    }
    Ok(out)
}

/// What the tenant's plans executed on one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ExecutedDay {
    /// Occurrences dispatched for the day.
    pub occurrences: usize,
    /// Their tasks (of the occurrences counted, see [`Executed::truncated`]).
    pub tasks: TaskCounts,
}

/// Execution per local day over a range of past days.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Executed {
    /// Per day, for the days with occurrences.
    pub days: std::collections::BTreeMap<NaiveDate, ExecutedDay>,
    /// More plans than [`MAX_PLANS`], or more occurrences than [`MAX_COUNTED`] whose
    /// tasks were counted.
    pub truncated: bool,
}

/// The occurrences dispatched for each local day of `[from, to]` across the tenant's
/// plans (journeys included), with their tasks' counts.
pub async fn executed<S: PlanStore + TaskStore>(
    store: &S,
    t: &TenantId,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> Result<Executed, CalendarError> {
    let range = Range { from, to };
    let (start, end) = (range.start(tz), range.end(tz));
    let page = store.plans(t, None, MAX_PLANS).await?;
    let mut out = Executed {
        truncated: page.next_cursor.is_some(),
        ..Default::default()
    };
    let plans: Vec<Plan> = page
        .items
        .into_iter()
        .filter(|p| p.created_at < end)
        .collect();
    let ids: Vec<PlanId> = plans.iter().map(|p| p.plan_id.clone()).collect();
    let occs: Vec<Occurrence> = stream::iter(ids)
        .map(|id| async move { dispatched_in(store, t, &id, start, end).await })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    out.truncated |= occs.len() > MAX_COUNTED;
    let counted = stream::iter(occs.into_iter().enumerate())
        .map(|(n, occ)| async move {
            let tasks = if n < MAX_COUNTED {
                let tasks = store
                    .occurrence_tasks(t, &occ.plan_id, &occ.occurrence_id)
                    .await?;
                TaskCounts::of(&Figures::of(&tasks))
            } else {
                TaskCounts::default()
            };
            Ok::<_, StoreError>((local_date(occ.scheduled_at, tz), tasks))
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?;
    for (date, tasks) in counted {
        let day = out.days.entry(date).or_default();
        day.occurrences += 1;
        day.tasks.add(&tasks);
    }
    Ok(out)
}

/// The calendar of `range` across the tenant's plans.
pub async fn calendar<S: PlanStore + TaskStore>(
    store: &S,
    t: &TenantId,
    range: Range,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Calendar, CalendarError> {
    let (start, end) = (range.start(tz), range.end(tz));
    let page = store.plans(t, None, MAX_PLANS).await?;
    let mut truncated = page.next_cursor.is_some();
    let plans: Vec<Plan> = page
        .items
        .into_iter()
        .filter(|p| p.spec.kind() != PlanKind::Journey)
        // A plan created after the range ended has nothing in it.
        .filter(|p| p.created_at < end)
        .collect();
    let mut entries = Vec::new();
    let mut dispatched: Vec<(usize, Occurrence)> = Vec::new();
    let owned: Vec<(usize, PlanId, DateTime<Utc>)> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.plan_id.clone(), p.created_at))
        .collect();
    let reads = stream::iter(owned)
        .map(|(i, id, created_at)| async move {
            let occs = if created_at <= now.min(end) {
                dispatched_in(store, t, &id, start, end).await?
            } else {
                Vec::new()
            };
            Ok::<_, StoreError>((i, occs))
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?;
    for (i, occs) in reads {
        dispatched.extend(occs.into_iter().map(|o| (i, o)));
    }
    for plan in &plans {
        for at in ahead(plan, range, tz) {
            // Due but not yet dispatched this minute: listed once, as scheduled.
            let done = dispatched
                .iter()
                .any(|(_, o)| o.plan_id == plan.plan_id && o.scheduled_at == at);
            if !done {
                entries.push(entry(plan, at, tz));
            }
        }
    }
    if dispatched.len() > MAX_COUNTED {
        truncated = true;
    }
    let counted = stream::iter(dispatched.into_iter().enumerate())
        .map(|(n, (i, occ))| {
            let plan = &plans[i];
            async move {
                let tasks = if n < MAX_COUNTED {
                    let tasks = store
                        .occurrence_tasks(t, &plan.plan_id, &occ.occurrence_id)
                        .await?;
                    Some(TaskCounts::of(&Figures::of(&tasks)))
                } else {
                    None
                };
                let mut e = entry(plan, occ.scheduled_at, tz);
                e.occurrence_id = occ.occurrence_id.clone();
                e.plan_name = occ.plan_name.clone();
                e.status = EntryStatus::Dispatched;
                e.late = occ.late;
                e.title = occ.title.clone().or(e.title);
                e.target_count = tasks.map(|c| c.total);
                e.tasks = tasks;
                Ok::<_, StoreError>(e)
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?;
    entries.extend(counted);
    entries.sort_by(|a, b| (a.at.at, a.plan_id.as_str()).cmp(&(b.at.at, b.plan_id.as_str())));
    Ok(Calendar {
        from: range.from,
        to: range.to,
        timezone: tz.name().to_string(),
        entries,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sop::plan::GroupTargets;
    use crate::sop::schedule::LocalTime;
    use crate::sop::Content;
    use chrono_tz::Asia::Shanghai;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_weekly_preview_lists_local_times() {
        let s: Schedule = serde_json::from_value(
            serde_json::json!({"kind":"weekly","weekdays":["mon","thu"],"time":"09:30"}),
        )
        .unwrap();
        // Sunday 2026-03-01 12:00 in Shanghai.
        let next = schedule_preview(&s, 3, utc("2026-03-01T04:00:00Z"), Shanghai).unwrap();
        let local: Vec<&str> = next.iter().map(|u| u.local.as_str()).collect();
        assert_eq!(
            local,
            ["2026-03-02T09:30", "2026-03-05T09:30", "2026-03-09T09:30"]
        );
        assert_eq!(next[0].weekday, "mon");
        assert_eq!(next[0].at, utc("2026-03-02T01:30:00Z"));
        let bad: Schedule = serde_json::from_value(
            serde_json::json!({"kind":"weekly","weekdays":[],"time":"09:30"}),
        )
        .unwrap();
        assert!(matches!(
            schedule_preview(&bad, 3, utc("2026-03-01T04:00:00Z"), Shanghai),
            Err(CalendarError::InvalidSchedule(_))
        ));
        assert!(schedule_preview(&s, 0, utc("2026-03-01T04:00:00Z"), Shanghai).is_err());
    }

    #[test]
    fn ranges_are_bounded_and_plans_expand_from_their_next_due() {
        assert!(Range::new(d("2026-03-01"), d("2026-04-11")).is_ok());
        assert!(Range::new(d("2026-03-01"), d("2026-04-12")).is_err());
        assert!(Range::new(d("2026-03-02"), d("2026-03-01")).is_err());
        let plan = Plan {
            plan_id: PlanId::parse("p1").unwrap(),
            name: "daily".into(),
            spec: PlanSpec::Group {
                targets: GroupTargets {
                    chat_ids: vec!["wr1".into(), "wr2".into()],
                    ..Default::default()
                },
                schedule: Schedule::Daily {
                    time: LocalTime::new(9, 0).unwrap(),
                },
                content: Content::default(),
            },
            status: PlanStatus::Active,
            version: 1,
            next_due: Some(utc("2026-03-03T01:00:00Z")),
            created_at: utc("2026-03-01T00:00:00Z"),
            updated_at: utc("2026-03-01T00:00:00Z"),
        };
        let range = Range::new(d("2026-03-01"), d("2026-03-07")).unwrap();
        let at = ahead(&plan, range, Shanghai);
        assert_eq!(at.len(), 5, "3rd to 7th");
        assert_eq!(planned_targets(&plan.spec), Some(2));
        let paused = Plan {
            status: PlanStatus::Paused,
            ..plan
        };
        assert!(ahead(&paused, range, Shanghai).is_empty());
    }
}
