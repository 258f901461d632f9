//! `POST /v1/customer-sessions`: customer tokens for the merchant's H5 pages, minted only
//! for a server holding a tenant API key (operator or above).
//!
//! The merchant's H5 backend performs WeChat OAuth on its official account itself (it holds
//! the AppSecret; WeChat's `sns/oauth2/access_token` answers `openid` and `unionid`) and
//! sends us the pair: we map it to the corp's customer through WeCom and answer the signed
//! token and its expiry, which the backend hands to its page. Alternatively an operator
//! names a customer the directory knows (`external_userid`, e.g. for links sent in-app).
//! The browser never obtains a token by itself: see [`scrm_core::points::session`].
use crate::{AdminApi, Matched};
use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::http::{self, json_response, ApiError};
use scrm_adapters::wecom::DynamoTokenCache;
use scrm_adapters::wecom::RetryPolicy;
use scrm_adapters::wecom::WeComClient;
use scrm_adapters::wecom::WeComConfig;
use scrm_core::points::session::{self, CustomerSession, SessionError, WeChatIdentity};
use scrm_core::points::CustomerId;
use scrm_core::tenants::{Principal, TenantLookup};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The path of the route (its `Route` is in [`super::ROUTES`]).
pub const PATH: &str = "/v1/customer-sessions";

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

enum Subject {
    WeChat(WeChatIdentity),
    Customer(CustomerId),
}

impl SessionBody {
    fn subject(self) -> Result<Subject, ApiError> {
        match (self.unionid, self.openid, self.external_userid) {
            (Some(u), Some(o), None) => WeChatIdentity::parse(&u, &o)
                .map(Subject::WeChat)
                .map_err(|e| ApiError::validation(e.to_string())),
            (None, None, Some(ext)) => CustomerId::parse(&ext)
                .map(Subject::Customer)
                .map_err(|e| ApiError::validation(e.to_string())),
            _ => Err(ApiError::validation(
                "give either unionid and openid, or external_userid",
            )),
        }
    }
}

/// The WeCom client of one request. A customer is waiting on the other side, so WeCom's
/// busy answers are retried briefly and then reported (503) for the page to retry, rather
/// than holding the request for the client's default budget. Built per request (the
/// access token is shared through the tenants table; building costs no network call).
fn wecom_client(api: &AdminApi) -> Result<WeComClient, ApiError> {
    let mut config = WeComConfig::new(&api.wecom_api_base);
    config.retry = RetryPolicy {
        busy_retries: 2,
        rate_limit_attempts: 2,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(1),
        budget: Duration::from_secs(4),
    };
    let cache = DynamoTokenCache::new(api.db.client.clone(), api.db.tables.tenants.clone());
    WeComClient::new(config, Arc::new(cache)).map_err(|e| {
        tracing::error!(error = %e, "WeCom client could not be built");
        ApiError::internal()
    })
}

/// Handles `POST /v1/customer-sessions` for the key's tenant.
pub async fn handle(
    api: &AdminApi,
    principal: &Principal,
    _matched: &Matched,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let body: SessionBody = http::parse_json(req)?;
    let subject = body.subject()?;
    let tenant_id = &principal.tenant;
    let now = api.clock.now();
    let (minted, via) = match subject {
        Subject::WeChat(who) => {
            let tenant = api
                .tenants
                .tenant(tenant_id)
                .await?
                .ok_or_else(|| ApiError::not_found("tenant not registered"))?;
            let wecom = wecom_client(api)?;
            let s = session::for_wechat_user(&wecom, &api.signing_key, &tenant, &who, now).await;
            (s, "wechat")
        }
        Subject::Customer(customer) => {
            let directory = DynamoDirectory::new(api.db.clone());
            let s = session::for_known_customer(
                &directory,
                &api.signing_key,
                tenant_id,
                &customer,
                now,
            )
            .await;
            (s, "external_userid")
        }
    };
    let minted: CustomerSession = minted.map_err(|e: SessionError| {
        tracing::info!(via, outcome = %e, "customer session refused");
        ApiError::from(e)
    })?;
    tracing::info!(
        via,
        key_id = %principal.key_id,
        external_userid = %minted.external_userid,
        expires_at = minted.expires_at,
        "customer session issued"
    );
    let mut resp = json_response(201, &minted);
    // A credential: no cache on the way may keep it.
    resp.headers_mut().insert(
        "cache-control",
        lambda_http::http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}
