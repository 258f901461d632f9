//! `POST /v1/customer-sessions`: customer tokens for the merchant's H5 pages, minted only
//! for a server holding a tenant API key with the scope `sessions:issue` (a
//! `session_issuer` key, which can do nothing else, is the one the H5 backend should hold).
//!
//! The merchant's H5 backend performs WeChat OAuth on its official account itself (it holds
//! the AppSecret; WeChat's `sns/oauth2/access_token` answers `openid` and `unionid`) and
//! sends us the pair: we map it to the corp's customer through WeCom and answer the signed
//! token and its expiry, which the backend hands to its page. Alternatively a key with the
//! scope `admin` names a customer the directory knows (`external_userid`, e.g. for links
//! sent in-app): naming any customer is impersonating them, so an internet-facing
//! session-issuer key cannot.
//! The browser never obtains a token by itself: see [`scrm_core::points::session`]. The
//! WeCom client is the container's (built once, in `wire`).
use crate::{Api, Key, SessionIssuer, Table};
use axum::extract::State;
use axum::http::HeaderValue;
use scrm_adapters::http::{json, Json, Reply};
use scrm_core::clock::Clock;
use scrm_core::points::admin::{open_session, SessionSubject};
use scrm_core::tenants::Scope;
use serde::Deserialize;

/// The path of the route.
pub const PATH: &str = "/v1/customer-sessions";

/// Adds the route of this module.
pub fn routes(t: Table) -> Table {
    t.post(PATH, create)
}

/// Either a WeChat identity from the caller's own OAuth exchange, or a known customer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionBody {
    #[serde(default)]
    unionid: Option<String>,
    #[serde(default)]
    openid: Option<String>,
    #[serde(default)]
    external_userid: Option<String>,
}

/// Mints a session for the key's tenant.
async fn create(State(api): Api, key: Key<SessionIssuer>, Json(body): Json<SessionBody>) -> Reply {
    let subject = SessionSubject::from_fields(body.unionid, body.openid, body.external_userid)?;
    if let SessionSubject::Customer(_) = subject {
        key.require(Scope::Admin)?;
    }
    let minted = open_session(
        &api.wecom,
        &api.directory,
        &api.tenants,
        &api.signing_key,
        &key.tenant,
        &key.key_id,
        subject,
        api.clock.now(),
    )
    .await?;
    let mut resp = json(201, &minted);
    // A credential: no cache on the way may keep it.
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(resp)
}
