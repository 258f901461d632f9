//! Admin routes of the SOP domain: plans (create, read, list, edit future occurrences,
//! pause, resume, end), occurrences with the state of their WeCom calls, execution
//! figures per plan and per occurrence, and group tags (WeCom has none on customer groups,
//! so the SOP module keeps them for group conditions). Rules in [`scrm_core::sop::admin`].
use crate::{Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use scrm_adapters::http::{json, json_body, ApiError, Head, Json, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::clock::Clock;
use scrm_core::points::admin::when_for;
use scrm_core::sop::admin::{self, PlanAction, PlanView};
use scrm_core::sop::calendar;
use scrm_core::sop::Schedule;
use scrm_core::sop::{
    Figures, GroupTagStore, OccurrenceId, OutboxStore, PlanId, PlanInput, PlanStore, TaskStore,
};
use serde::Deserialize;
use serde_json::json;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    const PLAN: &str = "/v1/sop/plans/{plan_id}";
    const OCCURRENCE: &str = "/v1/sop/plans/{plan_id}/occurrences/{occurrence_id}";
    t.post("/v1/sop/plans", create)
        .get("/v1/sop/plans", list)
        .get(PLAN, plan)
        .put(PLAN, edit)
        .post("/v1/sop/plans/{plan_id}/pause", pause)
        .post("/v1/sop/plans/{plan_id}/resume", resume)
        .post("/v1/sop/plans/{plan_id}/end", end)
        .get("/v1/sop/plans/{plan_id}/occurrences", occurrences)
        .get(OCCURRENCE, occurrence)
        .get("/v1/sop/plans/{plan_id}/figures", plan_figures)
        .get(
            "/v1/sop/plans/{plan_id}/occurrences/{occurrence_id}/figures",
            occurrence_figures,
        )
        .get("/v1/sop/group-tags/{chat_id}", group_tags)
        .put("/v1/sop/group-tags/{chat_id}", set_group_tags)
        .post("/v1/sop/schedule-preview", schedule_preview)
        .get("/v1/sop/calendar", calendar)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewInput {
    schedule: Schedule,
    #[serde(default = "default_count")]
    count: usize,
}

fn default_count() -> usize {
    5
}

async fn schedule_preview(State(api): Api, key: Key<Viewer>, RawBody(b): RawBody) -> Reply {
    let input: PreviewInput = json_body(&b, MAX_JSON_BODY)?;
    let when = when_for(&api.tenants, &key.tenant, api.clock.now()).await?;
    // From this minute on, as a plan saved now fires (its first occurrence may be now).
    let after = scrm_core::sop::schedule::before_minute_of(when.now);
    let next = calendar::schedule_preview(&input.schedule, input.count, after, when.tz)?;
    Ok(json(
        200,
        &json!({ "timezone": when.tz.name(), "occurrences": next }),
    ))
}

fn date_param(head: &Head, name: &str) -> Result<chrono::NaiveDate, ApiError> {
    let raw = head
        .query(name)
        .ok_or_else(|| ApiError::validation(format!("{name} is required (YYYY-MM-DD)")))?;
    chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
        .map_err(|_| ApiError::validation(format!("{name} must be YYYY-MM-DD")))
}

async fn calendar(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let range = calendar::Range::new(date_param(&head, "from")?, date_param(&head, "to")?)?;
    let when = when_for(&api.tenants, &key.tenant, api.clock.now()).await?;
    let cal = calendar::calendar(&api.sop, &key.tenant, range, when.tz, when.now).await?;
    Ok(json(200, &cal))
}

/// An edit: the whole plan as it should be from now on, and the version it starts from.
#[derive(Debug, Deserialize)]
struct EditInput {
    version: i64,
    #[serde(flatten)]
    plan: PlanInput,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsInput {
    tags: Vec<String>,
}

fn occurrence_limit(head: &Head) -> Result<usize, ApiError> {
    Ok(usize::try_from(head.page_limit(30, 100)?).unwrap_or(30))
}

fn occurrence_cursor(head: &Head) -> Result<Option<OccurrenceId>, ApiError> {
    head.query("cursor")
        .map(|c| OccurrenceId::parse(&c).ok_or_else(|| ApiError::validation("invalid cursor")))
        .transpose()
}

async fn create(State(api): Api, key: Key<Operator>, Json(input): Json<PlanInput>) -> Reply {
    let materials = input.spec.material_ids();
    crate::content::check_plan_materials(&api, &key.tenant, &materials).await?;
    let plan =
        admin::create_plan(&api.sop, &api.tenants, &key.tenant, input, api.clock.now()).await?;
    record_materials(&api, &key.tenant, &plan.plan_id, &materials).await?;
    Ok(json(201, &PlanView::from(&plan)))
}

/// Counts the plan among the users of the materials it refers to (and no longer among
/// those it dropped). After the save: a failure here is answered 5xx and the retried save
/// counts again, once.
async fn record_materials(
    api: &crate::AdminApi,
    t: &scrm_core::tenants::TenantId,
    plan: &PlanId,
    materials: &[String],
) -> Result<(), ApiError> {
    scrm_core::content::admin::record_references(
        &api.content.store,
        t,
        scrm_core::content::UsageKind::Plan,
        plan.as_str(),
        materials,
    )
    .await?;
    Ok(())
}

async fn list(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let limit = usize::try_from(head.page_limit(50, 200)?).unwrap_or(50);
    let before = head
        .query("cursor")
        .map(|c| PlanId::parse(&c).ok_or_else(|| ApiError::validation("invalid cursor")))
        .transpose()?;
    let page = api.sop.plans(&key.tenant, before.as_ref(), limit).await?;
    let plans: Vec<PlanView<'_>> = page.items.iter().map(PlanView::from).collect();
    Ok(json(
        200,
        &json!({ "plans": plans, "next_cursor": page.next_cursor }),
    ))
}

async fn plan(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = admin::plan_id(head.param(0))?;
    let plan = admin::load_plan(&api.sop, &key.tenant, &id).await?;
    Ok(json(200, &PlanView::from(&plan)))
}

async fn edit(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let id = admin::plan_id(head.param(0))?;
    let edit: EditInput = json_body(&body, MAX_JSON_BODY)?;
    let (t, now) = (&key.tenant, api.clock.now());
    let materials = edit.plan.spec.material_ids();
    crate::content::check_plan_materials(&api, t, &materials).await?;
    let plan =
        admin::edit_plan(&api.sop, &api.tenants, t, &id, edit.version, edit.plan, now).await?;
    record_materials(&api, t, &plan.plan_id, &materials).await?;
    Ok(json(200, &PlanView::from(&plan)))
}

async fn change_status(api: Api, key: Key<Operator>, head: Head, action: PlanAction) -> Reply {
    let State(api) = api;
    let id = admin::plan_id(head.param(0))?;
    let (t, now) = (&key.tenant, api.clock.now());
    let plan = admin::change_status(&api.sop, &api.tenants, t, &id, action, now).await?;
    Ok(json(200, &PlanView::from(&plan)))
}

async fn pause(api: Api, key: Key<Operator>, head: Head) -> Reply {
    change_status(api, key, head, PlanAction::Pause).await
}

async fn resume(api: Api, key: Key<Operator>, head: Head) -> Reply {
    change_status(api, key, head, PlanAction::Resume).await
}

async fn end(api: Api, key: Key<Operator>, head: Head) -> Reply {
    change_status(api, key, head, PlanAction::End).await
}

async fn occurrences(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = admin::plan_id(head.param(0))?;
    admin::load_plan(&api.sop, &key.tenant, &id).await?;
    let before = occurrence_cursor(&head)?;
    let page = api
        .sop
        .occurrences(&key.tenant, &id, before.as_ref(), occurrence_limit(&head)?)
        .await?;
    Ok(json(
        200,
        &json!({ "occurrences": page.items, "next_cursor": page.next_cursor }),
    ))
}

async fn occurrence(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = admin::plan_id(head.param(0))?;
    let occ_id = admin::occurrence_id(head.param(1))?;
    let occ = admin::load_occurrence(&api.sop, &key.tenant, &id, &occ_id).await?;
    let outbox = api.sop.occurrence_outbox(&key.tenant, &id, &occ_id).await?;
    Ok(json(
        200,
        &json!({ "occurrence": occ, "wecom_calls": outbox }),
    ))
}

async fn occurrence_figures(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = admin::plan_id(head.param(0))?;
    let occ_id = admin::occurrence_id(head.param(1))?;
    let occ = admin::load_occurrence(&api.sop, &key.tenant, &id, &occ_id).await?;
    let tasks = api.sop.occurrence_tasks(&key.tenant, &id, &occ_id).await?;
    Ok(json(
        200,
        &json!({
            "plan_id": id,
            "occurrence_id": occ_id,
            "scheduled_at": occ.scheduled_at,
            "late": occ.late,
            "figures": Figures::of(&tasks),
        }),
    ))
}

async fn plan_figures(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = admin::plan_id(head.param(0))?;
    admin::load_plan(&api.sop, &key.tenant, &id).await?;
    let before = occurrence_cursor(&head)?;
    let limit = occurrence_limit(&head)?;
    let f = admin::plan_figures(&api.sop, &key.tenant, &id, before.as_ref(), limit).await?;
    let per_occurrence: Vec<serde_json::Value> = f
        .occurrences
        .iter()
        .map(|(occ, figures)| {
            json!({
                "occurrence_id": occ.occurrence_id,
                "scheduled_at": occ.scheduled_at,
                "late": occ.late,
                "figures": figures,
            })
        })
        .collect();
    Ok(json(
        200,
        &json!({
            "plan_id": id,
            "figures": f.figures,
            "dispatch_failure": f.dispatch_failure,
            "occurrences": per_occurrence,
            "next_cursor": f.next_cursor,
        }),
    ))
}

async fn group_tags(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let chat_id = head.param(0);
    admin::check_chat_id(chat_id)?;
    let tags = api.sop.group_tags(&key.tenant, chat_id).await?;
    Ok(json(200, &json!({ "chat_id": chat_id, "tags": tags })))
}

async fn set_group_tags(
    State(api): Api,
    key: Key<Operator>,
    head: Head,
    RawBody(b): RawBody,
) -> Reply {
    let chat_id = head.param(0);
    admin::check_chat_id(chat_id)?;
    let input: TagsInput = json_body(&b, MAX_JSON_BODY)?;
    let tags = admin::set_group_tags(&api.sop, &key.tenant, chat_id, &input.tags).await?;
    Ok(json(200, &json!({ "chat_id": chat_id, "tags": tags })))
}
