//! The `staff-api` function: the task center (任务中心; use cases in
//! [`scrm_core::sop::task_center`]).
//!
//! A staff member calls with a staff session token (`Authorization: Bearer <token>`, the
//! [`Staff`] extractor), which lasts an hour and is refused once the directory records them
//! as departed. A session is obtained by exchanging, once, either the signed link of their
//! reminder (it lives minutes) or a WeCom OAuth code (exchanged for their userid through
//! `auth/getuserinfo`): at `POST /v1/session`, or by opening `GET /v1/tasks` with
//! `?token=<link>` or `?corp_id=&code=` (the [`Entry`] extractor), whose answer then
//! carries the session token for the next calls. They only ever see and change their own
//! tasks.
//!
//! Routes:
//! - `POST /v1/session` `{link}` or `{corp_id, code}` → `{token, userid, expires_at}`;
//! - `GET /v1/tasks?status=pending|done|failed&cursor=&limit=` → their tasks, newest
//!   first, each with the prepared content ready to copy;
//! - `GET /v1/tasks/{task_id}` → one task (session only);
//! - `POST /v1/tasks/{task_id}/done` → marks it pushed (idempotent; session only);
//! - `GET /v1/jssdk/signature?url=<page url>` → the JS-SDK signatures of a staff page
//!   (`wx.config` and `wx.agentConfig`) for a page on the configured web origins
//!   (`PUBLIC_WEB_ORIGINS`; session only);
//! - `GET /v1/sidebar/customer/{external_userid}` and `GET /v1/sidebar/group/{chat_id}` →
//!   the customer sidebar's profile of a customer or a group of the caller's tenant
//!   ([`scrm_core::sidebar`]; session only);
//! - `PUT /v1/sidebar/customer/{external_userid}/tags` `{add, remove}` → edits the corp
//!   tags the caller keeps on the customer, in WeCom and then in the directory
//!   ([`scrm_core::tags::edit`]; session only).
//!
//! The routes are documented in `docs/staff-api.yaml`.
pub mod wire;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::{Db, DynamoPoints, DynamoTags};
use scrm_adapters::http::{json, record_tenant, record_user, Edge, Head, HttpError, Json};
use scrm_adapters::http::{Reply, Route, Routes};
use scrm_core::clock::Clock;
use scrm_core::contacts::DirectoryRead;
use scrm_core::content::MaterialResolver;
use scrm_core::jssdk::{page_signatures, JsApiTickets, WebOrigins};
use scrm_core::links::LinkTracker;
use scrm_core::points::CustomerId;
use scrm_core::sidebar::SidebarReads;
use scrm_core::sop::ports::{GroupDirectory, GroupTagStore, StaffLinkStore};
use scrm_core::sop::task_center::{
    parse_status, RefusedCodes, StaffIdentity, TaskCenter, TaskCenterError,
};
use scrm_core::sop::{SopWeCom, TaskStore};
use scrm_core::tags::edit::{edit_customer_tags, TagEdit};
use scrm_core::tags::{FollowTags, TagMarking};
use scrm_core::tenants::TenantLookup;
use scrm_core::tokens::SigningKeys;
use serde::Deserialize;
use std::sync::Arc;

pub use scrm_core::sop::task_center::TaskView;

/// Everything the function needs, built once per container.
pub struct StaffApi<S, W, T, D> {
    /// The tasks table (and the record of exchanged links).
    pub store: S,
    /// WeCom (OAuth).
    pub wecom: W,
    /// Tenants.
    pub tenants: T,
    /// The directory: who has left the corp.
    pub directory: D,
    /// OAuth codes WeCom refused lately (kept by the container).
    pub refused_codes: RefusedCodes,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Verifies and signs staff tokens.
    pub signing_key: SigningKeys,
    /// The origins of the pages the JS-SDK signatures are made for (`PUBLIC_WEB_ORIGINS`).
    pub web_origins: WebOrigins,
    /// What the customer sidebar reads besides the directory and the tasks table.
    pub sidebar: SidebarStores,
    /// Mints the short links of the links marked `track` in the content to copy.
    pub links: Arc<dyn LinkTracker>,
    /// Makes the materials in the content to copy what the dispatcher sends (the same
    /// resolver; without a content bucket they stay material ids).
    pub materials: Arc<dyn MaterialResolver>,
}

/// The stores the customer sidebar reads besides the directory and the tasks table: the
/// corp tag mirror and the ledger (balances, entries, group days).
pub struct SidebarStores {
    /// The corp tag mirror.
    pub tags: DynamoTags,
    /// The ledger.
    pub points: DynamoPoints,
}

impl SidebarStores {
    /// Both over the tables of `db`.
    pub fn new(db: Db) -> Self {
        Self {
            tags: DynamoTags::new(db.clone()),
            points: DynamoPoints::new(db),
        }
    }
}

impl<S, W, T, D> StaffApi<S, W, T, D>
where
    S: TaskStore + StaffLinkStore,
    W: SopWeCom + JsApiTickets,
    T: TenantLookup,
    D: GroupDirectory,
{
    /// The task center over this API's ports.
    pub fn center(&self) -> TaskCenter<'_, S, W, T, D> {
        TaskCenter {
            store: &self.store,
            wecom: &self.wecom,
            tenants: &self.tenants,
            directory: &self.directory,
            refused_codes: &self.refused_codes,
            signing_key: &self.signing_key,
            clock: &*self.clock,
            links: self.links.as_ref(),
            materials: self.materials.as_ref(),
        }
    }
}

type Api<S, W, T, D> = State<Arc<StaffApi<S, W, T, D>>>;

fn table<S, W, T, D>() -> Routes<Arc<StaffApi<S, W, T, D>>>
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    Routes::new("staff")
        .post("/v1/session", session::<S, W, T, D>)
        .get("/v1/tasks", list::<S, W, T, D>)
        .get("/v1/tasks/{task_id}", task::<S, W, T, D>)
        .post("/v1/tasks/{task_id}/done", done::<S, W, T, D>)
        .get("/v1/jssdk/signature", signature::<S, W, T, D>)
        .get(
            "/v1/sidebar/customer/{external_userid}",
            sidebar_customer::<S, W, T, D>,
        )
        .put(
            "/v1/sidebar/customer/{external_userid}/tags",
            sidebar_tags::<S, W, T, D>,
        )
        .get("/v1/sidebar/group/{chat_id}", sidebar_group::<S, W, T, D>)
}

/// The routes.
pub fn routes() -> Vec<Route> {
    use scrm_adapters::dynamo::{DynamoDirectory, DynamoSop, DynamoTenants};
    table::<DynamoSop, scrm_adapters::wecom::WeComClient, DynamoTenants, DynamoDirectory>().routes()
}

/// The task center over `api`, with the edge around it.
pub fn router<S, W, T, D>(api: Arc<StaffApi<S, W, T, D>>) -> Edge
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    table().into_edge(api)
}

/// Answers one request through a router built for it (tests; the deployment builds the
/// router once, in [`wire`]).
pub async fn handle<S, W, T, D>(
    api: &Arc<StaffApi<S, W, T, D>>,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible>
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    Ok(router(api.clone()).respond(req).await)
}

fn bearer(head: &Head) -> Option<String> {
    head.header("authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
}

fn on_span(who: &StaffIdentity) {
    record_tenant(who.tenant.id.as_str());
    record_user(&who.userid);
}

/// The calling staff member, by their session token (`Authorization: Bearer`): the only
/// credential of the routes that read one task or change one. Their tenant and userid go
/// on the request's span.
pub struct Staff(pub StaffIdentity);

impl<S, W, T, D> FromRequestParts<Arc<StaffApi<S, W, T, D>>> for Staff
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &Arc<StaffApi<S, W, T, D>>,
    ) -> Result<Self, Self::Rejection> {
        let Ok(head) = Head::from_request_parts(parts, api).await;
        let token = bearer(&head).ok_or(TaskCenterError::NoCredentials)?;
        let who = api.center().by_session(&token).await?;
        on_span(&who);
        Ok(Staff(who))
    }
}

/// The calling staff member on the task list, the page a reminder or WeCom opens: a
/// session token, or else a reminder link (`?token=`) or an OAuth code (`?corp_id=&code=`)
/// exchanged here, once, for a session the answer carries.
pub struct Entry(pub StaffIdentity);

impl<S, W, T, D> FromRequestParts<Arc<StaffApi<S, W, T, D>>> for Entry
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &Arc<StaffApi<S, W, T, D>>,
    ) -> Result<Self, Self::Rejection> {
        let Ok(head) = Head::from_request_parts(parts, api).await;
        let center = api.center();
        let who = if let Some(token) = bearer(&head) {
            center.by_session(&token).await?
        } else if let Some(link) = head.query("token") {
            center.exchange_link(&link).await?
        } else if let (Some(corp), Some(code)) = (head.query("corp_id"), head.query("code")) {
            center.by_oauth(&corp, &code).await?
        } else {
            return Err(TaskCenterError::NoCredentials.into());
        };
        on_span(&who);
        Ok(Entry(who))
    }
}

/// A reminder link, or a WeCom OAuth code with its corp.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRequest {
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    corp_id: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

async fn session<S, W, T, D>(State(api): Api<S, W, T, D>, Json(body): Json<SessionRequest>) -> Reply
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    let center = api.center();
    let who = match (body.link, body.corp_id, body.code) {
        (Some(link), None, None) => center.exchange_link(&link).await?,
        (None, Some(corp), Some(code)) => center.by_oauth(&corp, &code).await?,
        _ => {
            return Err(scrm_adapters::http::ApiError::validation(
                "give either link, or corp_id and code",
            )
            .into())
        }
    };
    on_span(&who);
    let (token, expires_at) = who.fresh_token.ok_or(TaskCenterError::InvalidToken)?;
    let mut resp = json(
        200,
        &serde_json::json!({
            "token": token,
            "userid": who.userid,
            "expires_at": expires_at,
        }),
    );
    no_store(&mut resp);
    Ok(resp)
}

/// A session token is a credential: no cache on the way may keep an answer carrying one.
fn no_store(resp: &mut axum::response::Response) {
    resp.headers_mut().insert(
        "cache-control",
        axum::http::HeaderValue::from_static("no-store"),
    );
}

async fn list<S, W, T, D>(State(api): Api<S, W, T, D>, Entry(who): Entry, head: Head) -> Reply
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
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
    let fresh = who.fresh_token.is_some();
    if let Some((token, expires_at)) = &who.fresh_token {
        body["token"] = serde_json::json!(token);
        body["expires_at"] = serde_json::json!(expires_at);
    }
    let mut resp = json(200, &body);
    if fresh {
        no_store(&mut resp);
    }
    Ok(resp)
}

async fn task<S, W, T, D>(State(api): Api<S, W, T, D>, Staff(who): Staff, head: Head) -> Reply
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    Ok(json(200, &api.center().task(&who, head.param(0)).await?))
}

async fn done<S, W, T, D>(State(api): Api<S, W, T, D>, Staff(who): Staff, head: Head) -> Reply
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    Ok(json(200, &api.center().done(&who, head.param(0)).await?))
}

async fn signature<S, W, T, D>(State(api): Api<S, W, T, D>, Staff(who): Staff, head: Head) -> Reply
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    let url = head
        .query("url")
        .ok_or_else(|| scrm_adapters::http::ApiError::validation("url is required"))?;
    let signatures = page_signatures(
        &api.wecom,
        &api.web_origins,
        &who.tenant,
        &url,
        api.clock.now().timestamp(),
    )
    .await?;
    let mut resp = json(200, &signatures);
    // Signatures are made from a credential and for one page: not for shared caches.
    no_store(&mut resp);
    Ok(resp)
}

impl<S, W, T, D> StaffApi<S, W, T, D>
where
    S: TaskStore + StaffLinkStore + GroupTagStore,
    W: SopWeCom + JsApiTickets + TagMarking,
    T: TenantLookup,
    D: GroupDirectory + DirectoryRead + FollowTags,
{
    /// The sidebar's reads over this API's stores.
    fn sidebar_reads(&self) -> SidebarReads<'_, D, DynamoTags, DynamoPoints, S> {
        SidebarReads {
            directory: &self.directory,
            tags: &self.sidebar.tags,
            points: &self.sidebar.points,
            group_tags: &self.store,
        }
    }
}

async fn sidebar_customer<S, W, T, D>(
    State(api): Api<S, W, T, D>,
    Staff(who): Staff,
    head: Head,
) -> Reply
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    let profile = api
        .sidebar_reads()
        .customer(&who.tenant, &who.userid, head.param(0), api.clock.now())
        .await?;
    let mut resp = json(200, &profile);
    // A customer's profile is personal data: not for shared caches.
    no_store(&mut resp);
    Ok(resp)
}

async fn sidebar_group<S, W, T, D>(
    State(api): Api<S, W, T, D>,
    Staff(who): Staff,
    head: Head,
) -> Reply
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    let profile = api
        .sidebar_reads()
        .group(&who.tenant, head.param(0), api.clock.now())
        .await?;
    let mut resp = json(200, &profile);
    no_store(&mut resp);
    Ok(resp)
}

async fn sidebar_tags<S, W, T, D>(
    State(api): Api<S, W, T, D>,
    Staff(who): Staff,
    head: Head,
    Json(edit): Json<TagEdit>,
) -> Reply
where
    S: TaskStore + StaffLinkStore + GroupTagStore + 'static,
    W: SopWeCom + JsApiTickets + TagMarking + 'static,
    T: TenantLookup + 'static,
    D: GroupDirectory + DirectoryRead + FollowTags + 'static,
{
    let external_userid = head.param(0);
    CustomerId::parse(external_userid).map_err(|_| {
        scrm_adapters::http::ApiError::validation(
            "external_userid must be 1 to 128 letters, digits, `_` or `-`",
        )
    })?;
    let tags = edit_customer_tags(
        &api.directory,
        &api.directory,
        &api.sidebar.tags,
        &api.wecom,
        &who.tenant,
        &who.userid,
        external_userid,
        &edit,
        api.clock.now().timestamp(),
    )
    .await?;
    let tags: Vec<_> = tags
        .into_iter()
        .filter_map(|t| {
            Some(serde_json::json!({
                "tag_id": t.tag_id?,
                "name": t.tag_name,
                "group_name": t.group_name,
            }))
        })
        .collect();
    Ok(json(
        200,
        &serde_json::json!({ "external_userid": external_userid, "tags": tags }),
    ))
}
