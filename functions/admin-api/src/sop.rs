//! Admin routes of the SOP domain: plans (create, read, list, edit future occurrences,
//! pause, resume, end), occurrences with the state of their WeCom calls, execution
//! figures per plan and per occurrence, and group tags (WeCom has none on customer groups,
//! so the SOP module keeps them for group conditions).
use crate::{AdminApi, Matched, Route};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::DynamoSop;
use scrm_adapters::http::{self, json_response, ApiError};
use scrm_core::sop::{
    Figures, GroupTagStore, Occurrence, OccurrenceId, OutboxStore, Plan, PlanId, PlanInput,
    PlanSpec, PlanStatus, PlanStore, Problem, TaskStore,
};
use scrm_core::tenants::{Principal, Role, Tenant, TenantLookup};
use serde::{Deserialize, Serialize};

/// The routes of this module (kept in step with docs/openapi.yaml by a test).
pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/v1/sop/plans",
        role: Role::Operator,
    },
    Route {
        method: "GET",
        path: "/v1/sop/plans",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/sop/plans/{plan_id}",
        role: Role::Viewer,
    },
    Route {
        method: "PUT",
        path: "/v1/sop/plans/{plan_id}",
        role: Role::Operator,
    },
    Route {
        method: "POST",
        path: "/v1/sop/plans/{plan_id}/pause",
        role: Role::Operator,
    },
    Route {
        method: "POST",
        path: "/v1/sop/plans/{plan_id}/resume",
        role: Role::Operator,
    },
    Route {
        method: "POST",
        path: "/v1/sop/plans/{plan_id}/end",
        role: Role::Operator,
    },
    Route {
        method: "GET",
        path: "/v1/sop/plans/{plan_id}/occurrences",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/sop/plans/{plan_id}/occurrences/{occurrence_id}",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/sop/plans/{plan_id}/figures",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/sop/plans/{plan_id}/occurrences/{occurrence_id}/figures",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/sop/group-tags/{chat_id}",
        role: Role::Viewer,
    },
    Route {
        method: "PUT",
        path: "/v1/sop/group-tags/{chat_id}",
        role: Role::Operator,
    },
];

/// A plan as the API shows it: the spec's fields at the top level.
#[derive(Debug, Serialize)]
struct PlanView<'a> {
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

fn view(p: &Plan) -> PlanView<'_> {
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

fn invalid(problems: Vec<Problem>) -> ApiError {
    let summary = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::validation(format!("invalid plan: {summary}"))
        .with_details(serde_json::json!({ "problems": problems }))
}

fn plan_id(raw: &str) -> Result<PlanId, ApiError> {
    PlanId::parse(raw).ok_or_else(|| ApiError::not_found("no such plan"))
}

fn occurrence_id(raw: &str) -> Result<OccurrenceId, ApiError> {
    OccurrenceId::parse(raw).ok_or_else(|| ApiError::not_found("no such occurrence"))
}

fn check_chat_id(raw: &str) -> Result<(), ApiError> {
    if raw.is_empty() || raw.len() > 128 || raw.contains('#') {
        return Err(ApiError::validation("invalid chat_id"));
    }
    Ok(())
}

async fn tenant(api: &AdminApi, principal: &Principal) -> Result<Tenant, ApiError> {
    api.tenants
        .tenant(&principal.tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant not registered"))
}

async fn load(store: &DynamoSop, principal: &Principal, id: &PlanId) -> Result<Plan, ApiError> {
    store
        .plan(&principal.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such plan"))
}

fn occurrence_limit(req: &Request) -> Result<usize, ApiError> {
    Ok(usize::try_from(http::page_limit(req, 30, 100)?).unwrap_or(30))
}

/// Handles a matched route of this module.
pub async fn handle(
    api: &AdminApi,
    principal: &Principal,
    matched: &Matched,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let store = DynamoSop::new(api.db.clone());
    let t = &principal.tenant;
    let now = api.clock.now();
    let p = &matched.params;
    match (matched.route.method, matched.route.path) {
        ("POST", "/v1/sop/plans") => {
            let input: PlanInput = http::parse_json(req)?;
            let tenant = tenant(api, principal).await?;
            let tz = tenant.settings.tz();
            let problems = input.problems(now, tz);
            if !problems.is_empty() {
                return Err(invalid(problems));
            }
            let next_due = input.spec.next_after(now, tz);
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
            store.create_plan(t, &plan).await?;
            tracing::info!(plan_id = %plan.plan_id, kind = ?plan.spec.kind(), "plan created");
            Ok(json_response(201, &view(&plan)))
        }
        ("GET", "/v1/sop/plans") => {
            let limit = usize::try_from(http::page_limit(req, 50, 200)?).unwrap_or(50);
            let before = match http::query(req, "cursor") {
                Some(c) => {
                    Some(PlanId::parse(&c).ok_or_else(|| ApiError::validation("invalid cursor"))?)
                }
                None => None,
            };
            let page = store.plans(t, before.as_ref(), limit).await?;
            let plans: Vec<PlanView<'_>> = page.items.iter().map(view).collect();
            Ok(json_response(
                200,
                &serde_json::json!({ "plans": plans, "next_cursor": page.next_cursor }),
            ))
        }
        ("GET", "/v1/sop/plans/{plan_id}") => {
            let plan = load(&store, principal, &plan_id(&p[0])?).await?;
            Ok(json_response(200, &view(&plan)))
        }
        ("PUT", "/v1/sop/plans/{plan_id}") => {
            let id = plan_id(&p[0])?;
            let edit: EditInput = http::parse_json(req)?;
            let current = load(&store, principal, &id).await?;
            if current.status == PlanStatus::Ended {
                return Err(ApiError::conflict(
                    "plan_ended",
                    "an ended plan cannot be edited",
                ));
            }
            if edit.version != current.version {
                return Err(ApiError::conflict(
                    "version_conflict",
                    format!(
                        "the plan is at version {}, not {}: reload it and edit again",
                        current.version, edit.version
                    ),
                ));
            }
            if edit.plan.spec.kind() != current.spec.kind() {
                return Err(ApiError::validation(format!(
                    "a plan's kind cannot change (it is {:?})",
                    current.spec.kind()
                )));
            }
            let tenant = tenant(api, principal).await?;
            let tz = tenant.settings.tz();
            let problems = edit.plan.problems(now, tz);
            if !problems.is_empty() {
                return Err(invalid(problems));
            }
            // Occurrences already dispatched keep what they had; the edit applies from the
            // next occurrence after now.
            let next_due = match current.status {
                PlanStatus::Active => edit.plan.spec.next_after(now, tz),
                _ => None,
            };
            let plan = Plan {
                name: edit.plan.name.trim().to_string(),
                spec: edit.plan.spec,
                version: current.version + 1,
                next_due,
                updated_at: now,
                ..current.clone()
            };
            save(&store, principal, &plan, &current).await?;
            tracing::info!(plan_id = %plan.plan_id, version = plan.version, "plan edited");
            Ok(json_response(200, &view(&plan)))
        }
        ("POST", "/v1/sop/plans/{plan_id}/pause")
        | ("POST", "/v1/sop/plans/{plan_id}/resume")
        | ("POST", "/v1/sop/plans/{plan_id}/end") => {
            let id = plan_id(&p[0])?;
            let current = load(&store, principal, &id).await?;
            let action = matched.route.path.rsplit('/').next().unwrap_or_default();
            if current.status == PlanStatus::Ended {
                return Err(ApiError::conflict("plan_ended", "the plan has ended"));
            }
            let tz = tenant(api, principal).await?.settings.tz();
            let (status, next_due) = match action {
                "pause" => (PlanStatus::Paused, None),
                // Occurrences missed while paused are skipped, not caught up.
                "resume" => (PlanStatus::Active, current.spec.next_after(now, tz)),
                _ => (PlanStatus::Ended, None),
            };
            if status == current.status {
                return Ok(json_response(200, &view(&current)));
            }
            let plan = Plan {
                status,
                next_due,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            save(&store, principal, &plan, &current).await?;
            tracing::info!(plan_id = %plan.plan_id, status = plan.status.as_str(), "plan status changed");
            Ok(json_response(200, &view(&plan)))
        }
        ("GET", "/v1/sop/plans/{plan_id}/occurrences") => {
            let id = plan_id(&p[0])?;
            load(&store, principal, &id).await?;
            let before = match http::query(req, "cursor") {
                Some(c) => Some(
                    OccurrenceId::parse(&c)
                        .ok_or_else(|| ApiError::validation("invalid cursor"))?,
                ),
                None => None,
            };
            let page = store
                .occurrences(t, &id, before.as_ref(), occurrence_limit(req)?)
                .await?;
            Ok(json_response(
                200,
                &serde_json::json!({ "occurrences": page.items, "next_cursor": page.next_cursor }),
            ))
        }
        ("GET", "/v1/sop/plans/{plan_id}/occurrences/{occurrence_id}") => {
            let id = plan_id(&p[0])?;
            let occ_id = occurrence_id(&p[1])?;
            let occ = store
                .occurrence(t, &id, &occ_id)
                .await?
                .ok_or_else(|| ApiError::not_found("no such occurrence"))?;
            let outbox = store.occurrence_outbox(t, &id, &occ_id).await?;
            Ok(json_response(
                200,
                &serde_json::json!({ "occurrence": occ, "wecom_calls": outbox }),
            ))
        }
        ("GET", "/v1/sop/plans/{plan_id}/occurrences/{occurrence_id}/figures") => {
            let id = plan_id(&p[0])?;
            let occ_id = occurrence_id(&p[1])?;
            let occ = store
                .occurrence(t, &id, &occ_id)
                .await?
                .ok_or_else(|| ApiError::not_found("no such occurrence"))?;
            let tasks = store.occurrence_tasks(t, &id, &occ_id).await?;
            Ok(json_response(
                200,
                &serde_json::json!({
                    "plan_id": id,
                    "occurrence_id": occ_id,
                    "scheduled_at": occ.scheduled_at,
                    "late": occ.late,
                    "figures": Figures::of(&tasks),
                }),
            ))
        }
        ("GET", "/v1/sop/plans/{plan_id}/figures") => {
            let id = plan_id(&p[0])?;
            load(&store, principal, &id).await?;
            let before = match http::query(req, "cursor") {
                Some(c) => Some(
                    OccurrenceId::parse(&c)
                        .ok_or_else(|| ApiError::validation("invalid cursor"))?,
                ),
                None => None,
            };
            let page = store
                .occurrences(t, &id, before.as_ref(), occurrence_limit(req)?)
                .await?;
            let mut all = Vec::new();
            let mut per_occurrence = Vec::new();
            for occ in &page.items {
                let tasks = store.occurrence_tasks(t, &id, &occ.occurrence_id).await?;
                let mut f = Figures::of(&tasks);
                f.per_owner.clear();
                f.per_group.clear();
                per_occurrence.push(summary(occ, f));
                all.extend(tasks);
            }
            Ok(json_response(
                200,
                &serde_json::json!({
                    "plan_id": id,
                    "figures": Figures::of(&all),
                    "occurrences": per_occurrence,
                    "next_cursor": page.next_cursor,
                }),
            ))
        }
        ("GET", "/v1/sop/group-tags/{chat_id}") => {
            check_chat_id(&p[0])?;
            let tags = store.group_tags(t, &p[0]).await?;
            Ok(json_response(
                200,
                &serde_json::json!({ "chat_id": p[0], "tags": tags }),
            ))
        }
        ("PUT", "/v1/sop/group-tags/{chat_id}") => {
            check_chat_id(&p[0])?;
            let input: TagsInput = http::parse_json(req)?;
            let mut tags: Vec<String> = input.tags.iter().map(|s| s.trim().to_string()).collect();
            tags.sort();
            tags.dedup();
            if tags.len() > 100
                || tags
                    .iter()
                    .any(|t| t.is_empty() || t.chars().count() > 64 || t.contains('#'))
            {
                return Err(ApiError::validation(
                    "tags: at most 100, each 1-64 characters without #",
                ));
            }
            store.set_group_tags(t, &p[0], &tags).await?;
            Ok(json_response(
                200,
                &serde_json::json!({ "chat_id": p[0], "tags": tags }),
            ))
        }
        _ => Err(ApiError::not_found("no such endpoint")),
    }
}

fn summary(occ: &Occurrence, figures: Figures) -> serde_json::Value {
    serde_json::json!({
        "occurrence_id": occ.occurrence_id,
        "scheduled_at": occ.scheduled_at,
        "late": occ.late,
        "figures": figures,
    })
}

async fn save(
    store: &DynamoSop,
    principal: &Principal,
    plan: &Plan,
    previous: &Plan,
) -> Result<(), ApiError> {
    if store
        .replace_plan(&principal.tenant, plan, previous)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "version_conflict",
            "the plan changed meanwhile: reload it and try again",
        ))
    }
}
