//! The `staff-api` function: the task center (任务中心).
//!
//! A staff member is identified either by the signed link of their reminder (a staff token,
//! as `Authorization: Bearer <token>` or `?token=`), or by WeCom OAuth (`?corp_id=&code=`,
//! the code exchanged for their userid through `auth/getuserinfo`; the answer then carries
//! a fresh token for the next calls, since codes work once). They only ever see and change
//! their own tasks.
//!
//! Routes:
//! - `POST /v1/session` `{corp_id, code}` → `{token, userid, expires_at}`;
//! - `GET /v1/tasks?status=pending|done|failed&cursor=&limit=` → their tasks, newest
//!   first, each with the prepared content ready to copy;
//! - `GET /v1/tasks/{task_id}` → one task;
//! - `POST /v1/tasks/{task_id}/done` → marks it pushed (idempotent).
pub mod wire;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use scrm_adapters::http::IntoResponse;
use scrm_adapters::http::{self, json_response, ApiError};
use scrm_core::clock::Clock;
use scrm_core::config::Secret;
use scrm_core::sop::reminder::{staff_token, STAFF_LINK_TTL};
use scrm_core::sop::{
    Content, DoneBy, Failure, Occurrence, OccurrenceId, PlanId, SopWeCom, Target, Task, TaskKey,
    TaskStatus, TaskStore,
};
use scrm_core::tenants::{Tenant, TenantId, TenantLookup};
use scrm_core::tokens::{self, TokenError, TokenKind};
use scrm_core::wecom::api::{OAuthIdentity, WeComError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use tracing::Instrument;

/// Everything the function needs, built once per container.
pub struct StaffApi<S, W, T> {
    /// The tasks table.
    pub store: S,
    /// WeCom (OAuth).
    pub wecom: W,
    /// Tenants.
    pub tenants: T,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Verifies and signs staff tokens.
    pub signing_key: Secret,
}

/// Who is calling.
struct Identity {
    tenant: Tenant,
    userid: String,
    /// A token issued for an OAuth login.
    fresh_token: Option<String>,
}

/// A task as the task center shows it.
#[derive(Debug, Serialize)]
pub struct TaskView {
    /// The opaque id.
    pub task_id: String,
    /// The plan.
    pub plan_id: String,
    /// Its name.
    pub plan_name: String,
    /// The occurrence.
    pub occurrence_id: String,
    /// What to push to.
    pub target: Target,
    /// The group's name, when known.
    pub target_name: Option<String>,
    /// 待推送 pending, 已推送 done, or failed.
    pub status: TaskStatus,
    /// When it was scheduled.
    pub scheduled_at: DateTime<Utc>,
    /// Dispatched late (after an outage).
    pub late: bool,
    /// The content to copy.
    pub content: Option<Content>,
    /// When it was done, and by whom.
    pub done_at: Option<DateTime<Utc>>,
    /// `staff` or `wecom`.
    pub done_by: Option<DoneBy>,
    /// Why it failed.
    pub failure: Option<Failure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRequest {
    corp_id: String,
    code: String,
}

fn token_error(e: TokenError) -> ApiError {
    match e {
        TokenError::Expired => ApiError::new(
            401,
            "token_expired",
            "the link has expired; open the task center from WeCom again",
        ),
        TokenError::Invalid | TokenError::WrongKind => {
            ApiError::new(401, "unauthenticated", "invalid staff token")
        }
    }
}

fn wecom_error(e: WeComError) -> ApiError {
    match e.errcode() {
        Some(40029) | Some(40163) | Some(41008) => ApiError::new(
            401,
            "invalid_code",
            "the WeCom login code is invalid or already used",
        ),
        _ if e.is_retryable() => ApiError::unavailable(),
        _ => {
            tracing::error!(error = %e, "WeCom OAuth failed");
            ApiError::new(502, "wecom_error", "WeCom could not confirm who you are")
        }
    }
}

/// The function's handler.
pub async fn handle<S: TaskStore, W: SopWeCom, T: TenantLookup>(
    api: &StaffApi<S, W, T>,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
    let request_id = http::request_id(&req);
    let span = tracing::info_span!("staff", request_id = %request_id, tenant = tracing::field::Empty, userid = tracing::field::Empty);
    let result = api.route(&req).instrument(span.clone()).await;
    Ok(match result {
        Ok(resp) => resp,
        Err(err) => {
            let _enter = span.enter();
            if err.status >= 500 {
                tracing::error!(code = err.code, "request failed");
            } else {
                tracing::info!(status = err.status, code = err.code, "request rejected");
            }
            err.into_response()
        }
    })
}

impl<S: TaskStore, W: SopWeCom, T: TenantLookup> StaffApi<S, W, T> {
    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let segs = http::segments(req);
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let method = req.method().as_str();
        match (method, segs.as_slice()) {
            ("POST", ["v1", "session"]) => self.session(req).await,
            ("GET", ["v1", "tasks"]) => {
                let who = self.identify(req).await?;
                self.list(req, &who).await
            }
            ("GET", ["v1", "tasks", id]) => {
                let who = self.identify(req).await?;
                let task = self.own_task(&who, id).await?;
                let view = self.views(&who.tenant.id, vec![task]).await?.remove(0);
                Ok(json_response(200, &view))
            }
            ("POST", ["v1", "tasks", id, "done"]) => {
                let who = self.identify(req).await?;
                self.done(&who, id).await
            }
            (_, ["v1", "session"]) | (_, ["v1", "tasks"]) | (_, ["v1", "tasks", _]) => {
                Err(ApiError::method_not_allowed())
            }
            (_, ["v1", "tasks", _, "done"]) => Err(ApiError::method_not_allowed()),
            _ => Err(ApiError::not_found("no such endpoint")),
        }
    }

    async fn tenant(&self, raw: &str) -> Result<Tenant, ApiError> {
        let id = TenantId::parse(raw).map_err(|_| ApiError::validation("invalid corp_id"))?;
        self.tenants
            .tenant(&id)
            .await?
            .ok_or_else(|| ApiError::not_found("unknown corp"))
    }

    async fn oauth(&self, corp_id: &str, code: &str) -> Result<Identity, ApiError> {
        let tenant = self.tenant(corp_id).await?;
        match self
            .wecom
            .oauth_identity(&tenant, code)
            .await
            .map_err(wecom_error)?
        {
            OAuthIdentity::Member { userid, .. } => {
                let token = staff_token(&self.signing_key, &tenant.id, &userid, self.clock.now());
                Ok(Identity {
                    tenant,
                    userid,
                    fresh_token: Some(token),
                })
            }
            OAuthIdentity::NonMember { .. } => Err(ApiError::new(
                403,
                "not_staff",
                "this WeCom account is not a member of the corp",
            )),
        }
    }

    async fn identify(&self, req: &Request) -> Result<Identity, ApiError> {
        let header_token = http::header(req, "authorization")
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_string());
        let token = header_token.or_else(|| http::query(req, "token"));
        let who = if let Some(token) = token {
            let claims = tokens::verify(
                &self.signing_key,
                &token,
                TokenKind::Staff,
                self.clock.now(),
            )
            .map_err(token_error)?;
            let tenant = self
                .tenant(&claims.tenant)
                .await
                .map_err(|_| ApiError::new(401, "unauthenticated", "invalid staff token"))?;
            Identity {
                tenant,
                userid: claims.subject,
                fresh_token: None,
            }
        } else if let (Some(corp), Some(code)) =
            (http::query(req, "corp_id"), http::query(req, "code"))
        {
            self.oauth(&corp, &code).await?
        } else {
            return Err(ApiError::new(
                401,
                "unauthenticated",
                "open the task center from your reminder or from WeCom (token or OAuth code)",
            ));
        };
        let span = tracing::Span::current();
        span.record("tenant", who.tenant.id.as_str());
        span.record("userid", who.userid.as_str());
        Ok(who)
    }

    async fn session(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: SessionRequest = http::parse_json(req)?;
        let who = self.oauth(&body.corp_id, &body.code).await?;
        Ok(json_response(
            200,
            &serde_json::json!({
                "token": who.fresh_token,
                "userid": who.userid,
                "expires_at": self.clock.now() + STAFF_LINK_TTL,
            }),
        ))
    }

    async fn list(&self, req: &Request, who: &Identity) -> Result<Response<Body>, ApiError> {
        let status = match http::query(req, "status").as_deref() {
            None | Some("pending") => TaskStatus::Pending,
            Some("done") => TaskStatus::Done,
            Some("failed") => TaskStatus::Failed,
            Some(other) => {
                return Err(ApiError::validation(format!(
                    "status `{other}` is not pending, done or failed"
                )))
            }
        };
        let limit = http::page_limit(req, 50, 200)?;
        let cursor = http::query(req, "cursor");
        let page = self
            .store
            .staff_tasks(
                &who.tenant.id,
                &who.userid,
                status,
                cursor.as_deref(),
                usize::try_from(limit).unwrap_or(50),
            )
            .await?;
        let tasks = self.views(&who.tenant.id, page.items).await?;
        let mut body = serde_json::json!({
            "userid": who.userid,
            "status": status,
            "tasks": tasks,
            "next_cursor": page.next_cursor,
        });
        if let Some(token) = &who.fresh_token {
            body["token"] = serde_json::json!(token);
        }
        Ok(json_response(200, &body))
    }

    /// A task of the caller's; anyone else's is "not found" (its existence is not told).
    async fn own_task(&self, who: &Identity, id: &str) -> Result<Task, ApiError> {
        let key = TaskKey::parse(id)
            .filter(|k| k.staff == who.userid)
            .ok_or_else(|| ApiError::not_found("no such task"))?;
        self.store
            .task(&who.tenant.id, &key)
            .await?
            .ok_or_else(|| ApiError::not_found("no such task"))
    }

    async fn done(&self, who: &Identity, id: &str) -> Result<Response<Body>, ApiError> {
        let task = self.own_task(who, id).await?;
        let key = TaskKey {
            plan_id: task.plan_id.clone(),
            occurrence_id: task.occurrence_id.clone(),
            target: task.target.clone(),
            staff: task.staff.clone(),
        };
        let now = self.clock.now();
        if !self
            .store
            .complete_task(&who.tenant.id, &key, DoneBy::Staff, now)
            .await?
        {
            let current = self.own_task(who, id).await?;
            match current.status {
                TaskStatus::Done => {}
                TaskStatus::Failed => {
                    return Err(ApiError::conflict(
                        "task_not_pending",
                        format!(
                            "the task failed and cannot be marked done: {}",
                            current
                                .failure
                                .as_ref()
                                .map(|f| f.message.as_str())
                                .unwrap_or("unknown reason")
                        ),
                    ))
                }
                TaskStatus::Pending => return Err(ApiError::unavailable()),
            }
        } else {
            tracing::info!(task_id = %id, "task marked done by staff");
        }
        let task = self.own_task(who, id).await?;
        let view = self.views(&who.tenant.id, vec![task]).await?.remove(0);
        Ok(json_response(200, &view))
    }

    async fn views(&self, t: &TenantId, tasks: Vec<Task>) -> Result<Vec<TaskView>, ApiError> {
        let mut occs: HashMap<(PlanId, OccurrenceId), Option<Occurrence>> = HashMap::new();
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            let k = (task.plan_id.clone(), task.occurrence_id.clone());
            if !occs.contains_key(&k) {
                let o = self.store.occurrence(t, &k.0, &k.1).await?;
                occs.insert(k.clone(), o);
            }
            let content = occs
                .get(&k)
                .and_then(Option::as_ref)
                .and_then(|o| o.content_for(task.branch.as_deref()))
                .cloned();
            out.push(TaskView {
                task_id: task.task_id,
                plan_id: task.plan_id.to_string(),
                plan_name: task.plan_name,
                occurrence_id: task.occurrence_id.to_string(),
                target: task.target,
                target_name: task.target_name,
                status: task.status,
                scheduled_at: task.scheduled_at,
                late: task.late,
                content,
                done_at: task.done_at,
                done_by: task.done_by,
                failure: task.failure,
            });
        }
        Ok(out)
    }
}
