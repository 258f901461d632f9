//! The web console's login, sessions and members' roles (rules in
//! [`scrm_core::tenants::console`]).
//!
//! - `GET /v1/console/login-options?corp_id=` (no credentials): what the login page needs to
//!   build WeCom's scan-login link.
//! - `POST /v1/console/sessions/wecom` (no credentials): a scan-login code for a session.
//! - `POST /v1/console/sessions/key` (an API key): a session with the key's scopes.
//! - `GET` / `DELETE /v1/console/session` (a session): who am I; log out.
//! - `GET /v1/console/members`, `PUT` / `DELETE /v1/console/members/{userid}` (admin): who
//!   may use the console, with which role.
//!
//! Every route of the admin API accepts a session token where it accepts an API key
//! ([`caller`], used by [`crate::Key`]).
use crate::{Admin, AdminApi, AnyKey, Api, Key, Table};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::Response;
use scrm_adapters::dynamo::{Db, DynamoConsole};
use scrm_adapters::http::{json, record_tenant, record_user, Head, HttpError, Json, Reply};
use scrm_core::clock::Clock;
use scrm_core::http::ApiError;
use scrm_core::tenants::apikeys::bearer;
use scrm_core::tenants::console::{
    self, authenticate_session, member_role, session_bearer, Access, Actor, ConsoleError,
    SessionCaller, SessionSubject, DEFAULT_LOGIN_BASE,
};
use scrm_core::tenants::ports::authenticate;
use scrm_core::tenants::{Principal, TenantLookup};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The environment variable naming WeCom's scan-login host (the fake WeCom server locally).
pub const LOGIN_BASE_ENV: &str = "WECOM_LOGIN_BASE";
/// The longest search text of the member list.
const MAX_SEARCH_CHARS: usize = 64;

/// The console's part of the admin API.
#[derive(Debug)]
pub struct Console {
    /// Sessions and members' roles.
    pub store: DynamoConsole,
    /// WeCom's scan-login host, without a trailing `/`.
    pub login_base: String,
}

impl Console {
    /// Over the handle's tables, with the scan-login host `login_base`.
    pub fn new(db: &Db, login_base: &str) -> Self {
        Self {
            store: DynamoConsole::new(db),
            login_base: login_base.trim_end_matches('/').to_string(),
        }
    }

    /// Over the handle's tables, with the scan-login host of `WECOM_LOGIN_BASE` (WeCom's
    /// when unset); an invalid value fails the cold start.
    pub fn from_env(db: &Db) -> Result<Self, String> {
        let base = std::env::var(LOGIN_BASE_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_LOGIN_BASE.to_string());
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!("{LOGIN_BASE_ENV} must be an http(s) URL"));
        }
        Ok(Self::new(db, base.trim()))
    }
}

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    t.get("/v1/console/login-options", login_options)
        .post("/v1/console/sessions/wecom", wecom_login)
        .post("/v1/console/sessions/key", key_login)
        .get("/v1/console/session", whoami)
        .delete("/v1/console/session", logout)
        .get("/v1/console/members", members)
        .put("/v1/console/members/{userid}", set_role)
        .delete("/v1/console/members/{userid}", remove_member)
}

/// Who is calling, from an `Authorization` header: a console session token (`scs_…`) or an
/// API key; and who their changes are attributed to.
pub async fn caller(
    api: &AdminApi,
    authorization: Option<&str>,
) -> Result<(Principal, Actor), HttpError> {
    if let Some(token) = session_bearer(authorization) {
        let c = authenticate_session(&api.console.store, &api.directory, token, api.clock.now())
            .await?;
        if let Actor::Member(userid) = &c.actor {
            record_user(userid);
        }
        return Ok((c.principal, c.actor));
    }
    let principal = authenticate(&api.tenants, authorization).await?;
    let actor = Actor::Key(principal.key_id.clone());
    Ok((principal, actor))
}

/// The caller of a route that needs a console session (not an API key).
pub struct Session(SessionCaller);

impl FromRequestParts<Arc<AdminApi>> for Session {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &Arc<AdminApi>,
    ) -> Result<Self, Self::Rejection> {
        let authorization = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let token = session_bearer(authorization).ok_or(ConsoleError::NotASession)?;
        let c = authenticate_session(&api.console.store, &api.directory, token, api.clock.now())
            .await?;
        record_tenant(c.principal.tenant.as_str());
        Ok(Session(c))
    }
}

type ConsoleAccess<'a> = Access<
    'a,
    DynamoConsole,
    scrm_adapters::wecom::WeComClient,
    scrm_adapters::dynamo::DynamoTenants,
    scrm_adapters::dynamo::DynamoDirectory,
>;

/// Logins and roles over the API's adapters.
fn access(api: &AdminApi) -> ConsoleAccess<'_> {
    Access {
        store: &api.console.store,
        wecom: &api.wecom,
        tenants: &api.tenants,
        directory: &api.directory,
    }
}

/// A credential in a response: no cache on the way may keep it.
fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    resp
}

async fn login_options(State(api): Api, head: Head) -> Reply {
    let corp_id = head
        .query("corp_id")
        .ok_or_else(|| ApiError::validation("corp_id is required"))?;
    let options = console::login_options(&api.tenants, &corp_id, &api.console.login_base).await?;
    Ok(json(200, &options))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeComLogin {
    corp_id: String,
    code: String,
}

async fn wecom_login(State(api): Api, Json(body): Json<WeComLogin>) -> Reply {
    let opened = access(&api)
        .login_with_wecom(&body.corp_id, &body.code, api.clock.now())
        .await?;
    Ok(no_store(json(201, &opened)))
}

async fn key_login(State(api): Api, key: Key<AnyKey>, head: Head) -> Reply {
    // A session cannot open another: only an API key can.
    let Ok(presented) = bearer(head.header("authorization")) else {
        return Err(ApiError::new(
            401,
            "unauthenticated",
            "a key session is opened with an API key, not with a session",
        )
        .into());
    };
    let opened = console::login_with_key(
        &api.console.store,
        &presented,
        &key.principal,
        api.clock.now(),
    )
    .await?;
    Ok(no_store(json(201, &opened)))
}

async fn whoami(Session(c): Session) -> Reply {
    let (kind, member, key_id) = match &c.record.subject {
        SessionSubject::Member { userid, name, .. } => (
            "member",
            Some(json!({ "userid": userid, "name": name })),
            None,
        ),
        SessionSubject::Key { key_id, .. } => ("key", None, Some(key_id.clone())),
    };
    Ok(json(
        200,
        &json!({
            "corp_id": c.principal.tenant.as_str(),
            "kind": kind,
            "member": member,
            "key_id": key_id,
            "role": c.principal.role.as_str(),
            "scopes": c.principal.scopes,
            "expires_at": c.record.expires_at,
            "session_id": c.record.session_id,
        }),
    ))
}

async fn logout(State(api): Api, Session(c): Session) -> Reply {
    console::logout(&api.console.store, &c).await?;
    Ok(json(200, &json!({ "logged_out": true })))
}

async fn members(State(api): Api, key: Key<Admin>, head: Head) -> Reply {
    let limit = head.page_limit(50, 200)?;
    let q = head.query("q");
    if q.as_ref()
        .is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS)
    {
        return Err(
            ApiError::validation(format!("q is at most {MAX_SEARCH_CHARS} characters")).into(),
        );
    }
    let cursor = head.query("cursor");
    if let Some(c) = &cursor {
        console::valid_userid(c).map_err(|_| ApiError::validation("cursor is not a userid"))?;
    }
    let page = console::members(
        &api.console.store,
        &api.directory,
        &key.tenant,
        q.as_deref(),
        cursor.as_deref(),
        usize::try_from(limit).unwrap_or(50),
    )
    .await?;
    Ok(json(200, &page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRole {
    role: String,
}

async fn set_role(
    State(api): Api,
    key: Key<Admin>,
    head: Head,
    Json(body): Json<SetRole>,
) -> Reply {
    let userid = console::valid_userid(head.param(0))?;
    let role = member_role(&body.role)?;
    let Some(tenant) = api.tenants.tenant(&key.tenant).await? else {
        return Err(ApiError::not_found("tenant not found").into());
    };
    let outcome = access(&api)
        .set_role(&tenant, userid, role, key.actor(), api.clock.now())
        .await?;
    Ok(json(200, &outcome))
}

async fn remove_member(State(api): Api, key: Key<Admin>, head: Head) -> Reply {
    let outcome =
        console::remove_member(&api.console.store, &key.tenant, head.param(0), key.actor()).await?;
    Ok(json(200, &outcome))
}
