//! The `staff-api` function: the task center (任务中心; use cases in
//! [`scrm_core::sop::task_center`]).
//!
//! A staff member is identified either by the signed link of their reminder (a staff token,
//! as `Authorization: Bearer <token>` or `?token=`), or by WeCom OAuth (`?corp_id=&code=`,
//! the code exchanged for their userid through `auth/getuserinfo`; the answer then carries
//! a fresh token for the next calls, since codes work once): the [`Staff`] extractor. They
//! only ever see and change their own tasks.
//!
//! Routes:
//! - `POST /v1/session` `{corp_id, code}` → `{token, userid, expires_at}`;
//! - `GET /v1/tasks?status=pending|done|failed&cursor=&limit=` → their tasks, newest
//!   first, each with the prepared content ready to copy;
//! - `GET /v1/tasks/{task_id}` → one task;
//! - `POST /v1/tasks/{task_id}/done` → marks it pushed (idempotent).
pub mod wire;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use lambda_http::{Body, Request, Response};
use scrm_adapters::http::{json, record_tenant, record_user, Edge, Head, HttpError, Json};
use scrm_adapters::http::{Reply, Route, Routes};
use scrm_core::clock::Clock;
use scrm_core::config::Secret;
use scrm_core::sop::reminder::STAFF_LINK_TTL;
use scrm_core::sop::task_center::{parse_status, StaffIdentity, TaskCenter, TaskCenterError};
use scrm_core::sop::{SopWeCom, TaskStore};
use scrm_core::tenants::TenantLookup;
use serde::Deserialize;
use std::sync::Arc;

pub use scrm_core::sop::task_center::TaskView;

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

impl<S: TaskStore, W: SopWeCom, T: TenantLookup> StaffApi<S, W, T> {
    /// The task center over this API's ports.
    pub fn center(&self) -> TaskCenter<'_, S, W, T> {
        TaskCenter {
            store: &self.store,
            wecom: &self.wecom,
            tenants: &self.tenants,
            signing_key: &self.signing_key,
            clock: &*self.clock,
        }
    }
}

type Api<S, W, T> = State<Arc<StaffApi<S, W, T>>>;

fn table<S, W, T>() -> Routes<Arc<StaffApi<S, W, T>>>
where
    S: TaskStore + 'static,
    W: SopWeCom + 'static,
    T: TenantLookup + 'static,
{
    Routes::new("staff")
        .post("/v1/session", session::<S, W, T>)
        .get("/v1/tasks", list::<S, W, T>)
        .get("/v1/tasks/{task_id}", task::<S, W, T>)
        .post("/v1/tasks/{task_id}/done", done::<S, W, T>)
}

/// The routes.
pub fn routes() -> Vec<Route> {
    use scrm_adapters::dynamo::{DynamoSop, DynamoTenants};
    table::<DynamoSop, scrm_adapters::wecom::WeComClient, DynamoTenants>().routes()
}

/// The task center over `api`, with the edge around it.
pub fn router<S, W, T>(api: Arc<StaffApi<S, W, T>>) -> Edge
where
    S: TaskStore + 'static,
    W: SopWeCom + 'static,
    T: TenantLookup + 'static,
{
    table().into_edge(api)
}

/// Answers one request through a router built for it (tests; the deployment builds the
/// router once, in [`wire`]).
pub async fn handle<S, W, T>(
    api: &Arc<StaffApi<S, W, T>>,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible>
where
    S: TaskStore + 'static,
    W: SopWeCom + 'static,
    T: TenantLookup + 'static,
{
    Ok(router(api.clone()).respond(req).await)
}

/// The calling staff member (see the module's documentation); their tenant and userid go
/// on the request's span.
pub struct Staff(pub StaffIdentity);

impl<S, W, T> FromRequestParts<Arc<StaffApi<S, W, T>>> for Staff
where
    S: TaskStore + 'static,
    W: SopWeCom + 'static,
    T: TenantLookup + 'static,
{
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &Arc<StaffApi<S, W, T>>,
    ) -> Result<Self, Self::Rejection> {
        let Ok(head) = Head::from_request_parts(parts, api).await;
        let header_token = head
            .header("authorization")
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_string());
        let center = api.center();
        let who = if let Some(token) = header_token.or_else(|| head.query("token")) {
            center.by_token(&token).await?
        } else if let (Some(corp), Some(code)) = (head.query("corp_id"), head.query("code")) {
            center.by_oauth(&corp, &code).await?
        } else {
            return Err(TaskCenterError::NoCredentials.into());
        };
        record_tenant(who.tenant.id.as_str());
        record_user(&who.userid);
        Ok(Staff(who))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRequest {
    corp_id: String,
    code: String,
}

async fn session<S, W, T>(State(api): Api<S, W, T>, Json(body): Json<SessionRequest>) -> Reply
where
    S: TaskStore + 'static,
    W: SopWeCom + 'static,
    T: TenantLookup + 'static,
{
    let who = api.center().by_oauth(&body.corp_id, &body.code).await?;
    Ok(json(
        200,
        &serde_json::json!({
            "token": who.fresh_token,
            "userid": who.userid,
            "expires_at": api.clock.now() + STAFF_LINK_TTL,
        }),
    ))
}

async fn list<S, W, T>(State(api): Api<S, W, T>, Staff(who): Staff, head: Head) -> Reply
where
    S: TaskStore + 'static,
    W: SopWeCom + 'static,
    T: TenantLookup + 'static,
{
    let status = parse_status(head.query("status").as_deref())?;
    let limit = usize::try_from(head.page_limit(50, 200)?).unwrap_or(50);
    let cursor = head.query("cursor");
    let page = api
        .center()
        .list(&who, status, cursor.as_deref(), limit)
        .await?;
    let mut body = serde_json::json!({
        "userid": who.userid,
        "status": status,
        "tasks": page.items,
        "next_cursor": page.next_cursor,
    });
    if let Some(token) = &who.fresh_token {
        body["token"] = serde_json::json!(token);
    }
    Ok(json(200, &body))
}

async fn task<S, W, T>(State(api): Api<S, W, T>, Staff(who): Staff, head: Head) -> Reply
where
    S: TaskStore + 'static,
    W: SopWeCom + 'static,
    T: TenantLookup + 'static,
{
    Ok(json(200, &api.center().task(&who, head.param(0)).await?))
}

async fn done<S, W, T>(State(api): Api<S, W, T>, Staff(who): Staff, head: Head) -> Reply
where
    S: TaskStore + 'static,
    W: SopWeCom + 'static,
    T: TenantLookup + 'static,
{
    Ok(json(200, &api.center().done(&who, head.param(0)).await?))
}
