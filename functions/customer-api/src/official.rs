//! Built-in login through the tenant's WeChat official account, and the follow check
//! (use cases in [`scrm_core::official`]).
//!
//! - `GET /v1/oauth/official/options?corp_id=` (no token) → `{configured, app_id?,
//!   authorize_url, scopes}`: what the page needs to send the browser to WeChat's authorize
//!   page (a corp that is no tenant answers `configured: false`, like one without an account).
//! - `POST /v1/oauth/official/session {corp_id, code, scope?}` (no token) → the customer
//!   token, as the admin API's `POST /v1/customer-sessions` answers it: this API exchanges
//!   the code with WeChat itself, so the identity is WeChat's word, not the browser's.
use crate::{Api, CustomerApi};
use axum::extract::State;
use axum::http::HeaderValue;
use scrm_adapters::dynamo::{DynamoOfficialAccounts, DynamoTenants};
use scrm_adapters::http::{json, ApiError, Head, Json, Reply};
use scrm_adapters::wecom::{WeChatClient, WeComClient};
use scrm_core::clock::Clock;
use scrm_core::official::{self, OfficialError, Scope};
use scrm_core::tenants::{TenantId, TenantLookup};
use serde::Deserialize;

/// What the official-account login needs: the accounts (secrets opened), WeChat, WeCom (the
/// unionid mapping) and the tenants with their secrets.
pub struct OfficialLogin {
    /// The tenants' official accounts.
    pub accounts: DynamoOfficialAccounts,
    /// WeChat's official-account API (`WECHAT_API_BASE`).
    pub wechat: WeChatClient,
    /// WeCom (`unionid_to_external_userid`).
    pub wecom: WeComClient,
    /// Tenants, with their secrets (the customer-contact secret for WeCom).
    pub tenants: DynamoTenants,
    /// WeChat's authorize page (`WECHAT_OAUTH_BASE`).
    pub authorize_url: String,
}

fn corp_id(raw: Option<String>) -> Result<TenantId, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::validation("corp_id is required"))?;
    TenantId::parse(&raw).map_err(|_| ApiError::validation("corp_id is not a valid corp id"))
}

fn enabled(api: &CustomerApi) -> Result<&OfficialLogin, ApiError> {
    api.official
        .as_deref()
        .ok_or_else(|| OfficialError::NotConfigured.into())
}

pub(crate) async fn options(State(api): Api, head: Head) -> Reply {
    let tenant = corp_id(head.query("corp_id"))?;
    let answer = match api.official.as_deref() {
        Some(o) => official::login_options(&o.accounts, Some(&tenant), &o.authorize_url).await?,
        None => official::LoginOptions {
            configured: false,
            app_id: None,
            authorize_url: official::DEFAULT_OAUTH_BASE.to_string(),
            scopes: ["snsapi_base", "snsapi_userinfo"],
        },
    };
    Ok(json(200, &answer))
}

/// The page's code, from WeChat's redirect.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionBody {
    corp_id: String,
    code: String,
    #[serde(default)]
    scope: Scope,
}

pub(crate) async fn session(State(api): Api, Json(body): Json<SessionBody>) -> Reply {
    let tenant_id = corp_id(Some(body.corp_id))?;
    if !official::plausible_code(&body.code) {
        return Err(ApiError::from(OfficialError::InvalidCode).into());
    }
    let o = enabled(&api)?;
    let tenant = o
        .tenants
        .tenant(&tenant_id)
        .await?
        .ok_or(OfficialError::NotConfigured)?;
    scrm_adapters::http::record_tenant(tenant_id.as_str());
    let minted = official::login(
        &o.accounts,
        &o.wechat,
        &o.wecom,
        &api.signing_key,
        &tenant,
        &body.code,
        body.scope,
        api.clock.now(),
    )
    .await?;
    let mut resp = json(201, &minted);
    // A credential: no cache on the way may keep it.
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(resp)
}
