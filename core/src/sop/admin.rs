//! The SOP administration (admin API): plans (create, edit future occurrences, pause,
//! resume, end), the look-ups of plans and occurrences, execution figures per plan, and the
//! group tags the SOP module keeps (WeCom has none on customer groups).
use super::figures::Figures;
use super::occurrence::Occurrence;
use super::plan::{Plan, PlanId, PlanInput, PlanKind, PlanSpec, PlanStatus, Problem};
use super::ports::{DispatchFailure, GroupTagStore, PlanStore, TaskStore};
use super::task::OccurrenceId;
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::tenants::admin::{registered, NotRegistered};
use crate::tenants::{TenantId, TenantLookup};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The most tags a group carries.
pub const MAX_GROUP_TAGS: usize = 100;

/// Why a plan or group-tag request was refused.
#[derive(Debug, thiserror::Error)]
pub enum PlanAdminError {
    /// The plan is not acceptable: every problem, per field.
    #[error("invalid plan: {}", Problem::summary(.0))]
    Invalid(Vec<Problem>),
    /// No such plan in this tenant.
    #[error("no such plan")]
    NoSuchPlan,
    /// No such occurrence of the plan.
    #[error("no such occurrence")]
    NoSuchOccurrence,
    /// An edit of an ended plan.
    #[error("an ended plan cannot be edited")]
    EditEnded,
    /// A status change of an ended plan.
    #[error("the plan has ended")]
    Ended,
    /// The edit starts from another version than the stored one.
    #[error("the plan is at version {current}, not {given}: reload it and edit again")]
    StaleVersion {
        /// The stored version.
        current: i64,
        /// The edit's.
        given: i64,
    },
    /// The plan changed between its read and its write.
    #[error("the plan changed meanwhile: reload it and try again")]
    ChangedMeanwhile,
    /// An edit would change the plan's kind.
    #[error("a plan's kind cannot change (it is {0:?})")]
    KindChange(PlanKind),
    /// A group id that cannot be WeCom's.
    #[error("invalid chat_id")]
    InvalidChatId,
    /// Tags out of bounds.
    #[error("tags: at most 100, each 1-64 characters without #")]
    InvalidTags,
    /// The tenant is not registered.
    #[error(transparent)]
    NotRegistered(#[from] NotRegistered),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PlanAdminError> for ApiError {
    fn from(e: PlanAdminError) -> Self {
        match e {
            PlanAdminError::Invalid(ref problems) => {
                let details = serde_json::json!({ "problems": problems });
                ApiError::validation(e.to_string()).with_details(details)
            }
            PlanAdminError::KindChange(_)
            | PlanAdminError::InvalidChatId
            | PlanAdminError::InvalidTags => ApiError::validation(e.to_string()),
            PlanAdminError::NoSuchPlan | PlanAdminError::NoSuchOccurrence => {
                ApiError::not_found(e.to_string())
            }
            PlanAdminError::EditEnded | PlanAdminError::Ended => {
                ApiError::conflict("plan_ended", e.to_string())
            }
            PlanAdminError::StaleVersion { .. } | PlanAdminError::ChangedMeanwhile => {
                ApiError::conflict("version_conflict", e.to_string())
            }
            PlanAdminError::NotRegistered(n) => n.into(),
            PlanAdminError::Store(s) => s.into(),
        }
    }
}

/// A plan as the API shows it: the spec's fields at the top level.
#[derive(Debug, Serialize)]
pub struct PlanView<'a> {
    plan_id: &'a PlanId,
    name: &'a str,
    #[serde(flatten)]
    spec: &'a PlanSpec,
    status: PlanStatus,
    version: i64,
    next_due: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> From<&'a Plan> for PlanView<'a> {
    fn from(p: &'a Plan) -> Self {
        PlanView {
            plan_id: &p.plan_id,
            name: &p.name,
            spec: &p.spec,
            status: p.status,
            version: p.version,
            next_due: p.next_due,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A plan id from a path (one that cannot be an id names no plan).
pub fn plan_id(raw: &str) -> Result<PlanId, PlanAdminError> {
    PlanId::parse(raw).ok_or(PlanAdminError::NoSuchPlan)
}

/// An occurrence id from a path.
pub fn occurrence_id(raw: &str) -> Result<OccurrenceId, PlanAdminError> {
    OccurrenceId::parse(raw).ok_or(PlanAdminError::NoSuchOccurrence)
}

/// A plan of the tenant.
pub async fn load_plan<S: PlanStore>(
    plans: &S,
    t: &TenantId,
    id: &PlanId,
) -> Result<Plan, PlanAdminError> {
    plans.plan(t, id).await?.ok_or(PlanAdminError::NoSuchPlan)
}

/// An occurrence of a plan of the tenant.
pub async fn load_occurrence<S: TaskStore>(
    tasks: &S,
    t: &TenantId,
    plan: &PlanId,
    occ: &OccurrenceId,
) -> Result<Occurrence, PlanAdminError> {
    tasks
        .occurrence(t, plan, occ)
        .await?
        .ok_or(PlanAdminError::NoSuchOccurrence)
}

/// Creates an active plan, its first occurrence due after `now` in the tenant's timezone.
pub async fn create_plan<S: PlanStore, L: TenantLookup>(
    plans: &S,
    tenants: &L,
    t: &TenantId,
    input: PlanInput,
    now: DateTime<Utc>,
) -> Result<Plan, PlanAdminError> {
    let tz = registered::<_, PlanAdminError>(tenants, t)
        .await?
        .settings
        .tz();
    let problems = input.problems(now, tz);
    if !problems.is_empty() {
        return Err(PlanAdminError::Invalid(problems));
    }
    let next_due = input.spec.first_due(now, tz);
    let plan = Plan {
        plan_id: PlanId::generate(),
        name: input.name.trim().to_string(),
        spec: input.spec,
        status: PlanStatus::Active,
        version: 1,
        next_due,
        created_at: now,
        updated_at: now,
    };
    plans.create_plan(t, &plan).await?;
    tracing::info!(plan_id = %plan.plan_id, kind = ?plan.spec.kind(), "plan created");
    Ok(plan)
}

/// Where an edited active plan resumes: an occurrence that was due and not yet dispatched
/// (the edit came in the minute before dispatch ran, or during a backlog) is kept, so an
/// edit never loses it; otherwise the edited schedule's next occurrence after `now`.
pub fn next_due_after_edit(
    current: Option<DateTime<Utc>>,
    edited: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match current {
        Some(due) if due <= now => Some(due),
        _ => edited,
    }
}

/// Replaces a plan from its next occurrence after `now` on, if the edit starts from the
/// stored `version` (occurrences already dispatched keep what they had; one already due
/// and not yet dispatched is kept and dispatched with the edited plan). Its kind stays.
pub async fn edit_plan<S: PlanStore, L: TenantLookup>(
    plans: &S,
    tenants: &L,
    t: &TenantId,
    id: &PlanId,
    version: i64,
    input: PlanInput,
    now: DateTime<Utc>,
) -> Result<Plan, PlanAdminError> {
    let current = load_plan(plans, t, id).await?;
    if current.status == PlanStatus::Ended {
        return Err(PlanAdminError::EditEnded);
    }
    if version != current.version {
        return Err(PlanAdminError::StaleVersion {
            current: current.version,
            given: version,
        });
    }
    if input.spec.kind() != current.spec.kind() {
        return Err(PlanAdminError::KindChange(current.spec.kind()));
    }
    let tz = registered::<_, PlanAdminError>(tenants, t)
        .await?
        .settings
        .tz();
    let problems = input.problems(now, tz);
    if !problems.is_empty() {
        return Err(PlanAdminError::Invalid(problems));
    }
    let next_due = match current.status {
        PlanStatus::Active => {
            next_due_after_edit(current.next_due, input.spec.next_after(now, tz), now)
        }
        _ => None,
    };
    let plan = Plan {
        name: input.name.trim().to_string(),
        spec: input.spec,
        version: current.version + 1,
        next_due,
        updated_at: now,
        ..current.clone()
    };
    save(plans, t, &plan, &current).await?;
    tracing::info!(plan_id = %plan.plan_id, version = plan.version, "plan edited");
    Ok(plan)
}

/// A change of a plan's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanAction {
    /// Stop firing until resumed.
    Pause,
    /// Fire again from the next occurrence after now (missed ones are skipped, not
    /// caught up).
    Resume,
    /// Stop for good.
    End,
}

/// Pauses, resumes or ends a plan; asking for the status it has changes nothing.
pub async fn change_status<S: PlanStore, L: TenantLookup>(
    plans: &S,
    tenants: &L,
    t: &TenantId,
    id: &PlanId,
    action: PlanAction,
    now: DateTime<Utc>,
) -> Result<Plan, PlanAdminError> {
    let current = load_plan(plans, t, id).await?;
    if current.status == PlanStatus::Ended {
        return Err(PlanAdminError::Ended);
    }
    let tz = registered::<_, PlanAdminError>(tenants, t)
        .await?
        .settings
        .tz();
    let (status, next_due) = match action {
        PlanAction::Pause => (PlanStatus::Paused, None),
        PlanAction::Resume => (PlanStatus::Active, current.spec.next_after(now, tz)),
        PlanAction::End => (PlanStatus::Ended, None),
    };
    if status == current.status {
        return Ok(current);
    }
    let plan = Plan {
        status,
        next_due,
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    save(plans, t, &plan, &current).await?;
    tracing::info!(plan_id = %plan.plan_id, status = plan.status.as_str(), "plan status changed");
    Ok(plan)
}

async fn save<S: PlanStore>(
    plans: &S,
    t: &TenantId,
    plan: &Plan,
    previous: &Plan,
) -> Result<(), PlanAdminError> {
    if plans.replace_plan(t, plan, previous).await? {
        Ok(())
    } else {
        Err(PlanAdminError::ChangedMeanwhile)
    }
}

/// A plan's figures over a page of its occurrences.
#[derive(Debug, Clone)]
pub struct PlanFigures {
    /// Over every task of the page's occurrences.
    pub figures: Figures,
    /// Per occurrence, newest first (without the per-owner and per-group breakdowns).
    pub occurrences: Vec<(Occurrence, Figures)>,
    /// The next page.
    pub next_cursor: Option<String>,
    /// Why the plan last failed to dispatch, while it has not moved on since.
    pub dispatch_failure: Option<DispatchFailure>,
}

/// The figures of a page of the plan's occurrences (before `before`, at most `limit`).
pub async fn plan_figures<S: TaskStore + PlanStore>(
    tasks: &S,
    t: &TenantId,
    id: &PlanId,
    before: Option<&OccurrenceId>,
    limit: usize,
) -> Result<PlanFigures, PlanAdminError> {
    let page = tasks.occurrences(t, id, before, limit).await?;
    let mut all = Vec::new();
    let mut occurrences = Vec::with_capacity(page.items.len());
    for occ in page.items {
        let of_occ = tasks.occurrence_tasks(t, id, &occ.occurrence_id).await?;
        let mut f = Figures::of(&of_occ);
        f.per_owner.clear();
        f.per_group.clear();
        occurrences.push((occ, f));
        all.extend(of_occ);
    }
    Ok(PlanFigures {
        figures: Figures::of(&all),
        occurrences,
        next_cursor: page.next_cursor,
        dispatch_failure: tasks.dispatch_failure(t, id).await?,
    })
}

/// A group id from a path.
pub fn check_chat_id(raw: &str) -> Result<(), PlanAdminError> {
    if raw.is_empty()
        || raw.chars().count() > 128
        || raw.contains('#')
        || raw.chars().any(char::is_control)
    {
        return Err(PlanAdminError::InvalidChatId);
    }
    Ok(())
}

/// Replaces a group's tags: trimmed, sorted, once each; at most [`MAX_GROUP_TAGS`], each
/// 1 to 64 characters without `#`. The tags as stored.
pub async fn set_group_tags<S: GroupTagStore>(
    store: &S,
    t: &TenantId,
    chat_id: &str,
    tags: &[String],
) -> Result<Vec<String>, PlanAdminError> {
    check_chat_id(chat_id)?;
    let mut tags: Vec<String> = tags.iter().map(|s| s.trim().to_string()).collect();
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_GROUP_TAGS
        || tags
            .iter()
            .any(|t| t.is_empty() || t.chars().count() > 64 || t.contains('#'))
    {
        return Err(PlanAdminError::InvalidTags);
    }
    store.set_group_tags(t, chat_id, &tags).await?;
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_keeps_an_occurrence_that_is_due_and_not_dispatched() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let due = at("2026-03-02T01:00:00Z");
        let edited = Some(at("2026-03-03T01:00:00Z"));
        // 20 seconds after 09:00, before that minute's dispatch ran.
        let now = at("2026-03-02T01:00:20Z");
        assert_eq!(next_due_after_edit(Some(due), edited, now), Some(due));
        // Not yet due: the edited schedule decides.
        let early = at("2026-03-02T00:59:00Z");
        assert_eq!(next_due_after_edit(Some(due), edited, early), edited);
        assert_eq!(next_due_after_edit(None, edited, now), edited);
    }

    #[test]
    fn errors_keep_their_codes_and_messages() {
        let e = ApiError::from(PlanAdminError::StaleVersion {
            current: 3,
            given: 2,
        });
        assert_eq!((e.status, e.code), (409, "version_conflict"));
        assert_eq!(
            e.message,
            "the plan is at version 3, not 2: reload it and edit again"
        );
        let e = ApiError::from(PlanAdminError::Invalid(vec![Problem {
            field: "name".into(),
            message: "required".into(),
        }]));
        assert_eq!((e.status, e.code), (400, "validation_failed"));
        assert_eq!(e.message, "invalid plan: name: required");
        assert!(e.details.is_some());
        assert_eq!(ApiError::from(PlanAdminError::EditEnded).code, "plan_ended");
        assert!(check_chat_id("wr1").is_ok());
        assert!(check_chat_id("a#b").is_err());
    }
}
