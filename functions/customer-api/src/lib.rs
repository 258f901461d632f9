//! `customer-api` (function URL): what a customer's H5 page calls — check-in, profile
//! completion, follow confirmation, balance and history, rewards and redemption.
//!
//! A customer is identified only by a signed, expiring token bound to the tenant and the
//! customer (`Authorization: Bearer <token>`, see [`scrm_core::tokens`]). This API never
//! mints one: no unauthenticated request can obtain a customer token. The merchant's H5
//! backend gets it from the admin API (`POST /v1/customer-sessions`, a tenant API key)
//! after doing WeChat OAuth itself, and hands it to its page (see
//! [`scrm_core::points::session`] for why the browser's word is not enough).
//!
//! Browsers call it cross-origin (the merchant's H5 domain), so preflight requests
//! (`OPTIONS`) are answered here and every answer carries `Access-Control-Allow-Origin:
//! *`. A wildcard is safe: the credential is a bearer token the page sends explicitly,
//! never a cookie, so another site cannot act with it.
pub mod wire;

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoPoints;
use scrm_adapters::dynamo::DynamoTenants;
use scrm_adapters::http::IntoResponse;
use scrm_adapters::http::{self, json_response, ApiError};
use scrm_core::clock::Clock;
use scrm_core::config::Secret;
use scrm_core::points::earn::{check_in_customer, confirm_follow, save_profile, FollowChannel};
use scrm_core::points::ledger::redeem;
use scrm_core::points::ports::{HistoryRead, RewardStore};
use scrm_core::points::rules::CustomerProfile;
use scrm_core::points::{Account, CustomerId, IdempotencyKey, Origin, When};
use scrm_core::tenants::{Tenant, TenantId, TenantLookup};
use scrm_core::tokens::{self, TokenKind};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tracing::Instrument;

/// Everything the customer API needs, built once per container.
pub struct CustomerApi {
    /// The ledger table.
    pub points: DynamoPoints,
    /// The directory (the customer's groups, for the per-group check-in views).
    pub directory: DynamoDirectory,
    /// Tenants (timezone).
    pub tenants: DynamoTenants,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The key customer tokens are verified with (the admin API signs with the same key).
    pub signing_key: Secret,
}

/// CORS: the methods the routes use.
pub const CORS_ALLOW_METHODS: &str = "GET, POST, PUT, OPTIONS";
/// CORS: the request headers a page sends.
pub const CORS_ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key";
/// CORS: how long a browser may cache a preflight answer, seconds.
pub const CORS_MAX_AGE: &str = "600";

/// The routes: (method, path template). Documented in `docs/customer-api.yaml`.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/check-in"),
    ("GET", "/v1/me"),
    ("GET", "/v1/me/ledger"),
    ("PUT", "/v1/me/profile"),
    ("POST", "/v1/me/follows"),
    ("GET", "/v1/rewards"),
    ("POST", "/v1/rewards/{reward_id}/redeem"),
];

fn route(method: &str, segs: &[String]) -> Result<(&'static str, Vec<String>), ApiError> {
    let mut path_known = false;
    for (m, template) in ROUTES {
        let parts: Vec<&str> = template.split('/').filter(|p| !p.is_empty()).collect();
        if parts.len() != segs.len() {
            continue;
        }
        let mut params = Vec::new();
        let matched = parts.iter().zip(segs).all(|(p, s)| {
            if p.starts_with('{') {
                params.push(s.clone());
                true
            } else {
                p == s
            }
        });
        if matched {
            path_known = true;
            if *m == method {
                return Ok((template, params));
            }
        }
    }
    if path_known {
        Err(ApiError::method_not_allowed())
    } else {
        Err(ApiError::not_found("no such endpoint"))
    }
}

/// The function's handler: route, authenticate the customer, dispatch, map errors once.
pub async fn handle(
    api: &CustomerApi,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
    let request_id = http::request_id(&req);
    let span = tracing::info_span!(
        "customer",
        request_id = %request_id,
        tenant = tracing::field::Empty,
        route = tracing::field::Empty
    );
    let result = if req.method() == lambda_http::http::Method::OPTIONS {
        preflight(&req)
    } else {
        dispatch(api, &req).instrument(span.clone()).await
    };
    let mut resp = match result {
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
    };
    resp.headers_mut()
        .insert("access-control-allow-origin", HeaderValue::from_static("*"));
    Ok(resp)
}

/// A CORS preflight: 204 with what the page may send, for any served path; the usual
/// 404 otherwise. Needs no token (browsers never send one on a preflight).
fn preflight(req: &Request) -> Result<Response<Body>, ApiError> {
    match route("OPTIONS", &http::segments(req)) {
        Err(e) if e.status != 405 => Err(e),
        _ => {
            let mut resp = Response::new(Body::Empty);
            *resp.status_mut() = lambda_http::http::StatusCode::NO_CONTENT;
            let headers = resp.headers_mut();
            headers.insert(
                "access-control-allow-methods",
                HeaderValue::from_static(CORS_ALLOW_METHODS),
            );
            headers.insert(
                "access-control-allow-headers",
                HeaderValue::from_static(CORS_ALLOW_HEADERS),
            );
            headers.insert(
                "access-control-max-age",
                HeaderValue::from_static(CORS_MAX_AGE),
            );
            Ok(resp)
        }
    }
}

/// The customer a valid token names, and their tenant.
struct Caller {
    account: Account,
    tenant: Tenant,
}

async fn authenticate(api: &CustomerApi, req: &Request) -> Result<Caller, ApiError> {
    let unauthenticated = |m: &str| ApiError::new(401, "unauthenticated", m.to_string());
    let token = http::header(req, "authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| unauthenticated("a customer token is required"))?;
    let claims = tokens::verify(
        &api.signing_key,
        token.trim(),
        TokenKind::Customer,
        api.clock.now(),
    )
    .map_err(|e| unauthenticated(&e.to_string()))?;
    let tenant_id =
        TenantId::parse(&claims.tenant).map_err(|_| unauthenticated("invalid token"))?;
    let customer =
        CustomerId::parse(&claims.subject).map_err(|_| unauthenticated("invalid token"))?;
    let tenant = api
        .tenants
        .tenant(&tenant_id)
        .await?
        .ok_or_else(|| unauthenticated("invalid token"))?;
    tracing::Span::current().record("tenant", tenant_id.as_str());
    Ok(Caller {
        account: Account::new(tenant_id, customer),
        tenant,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowRequest {
    channel: FollowChannel,
}

async fn dispatch(api: &CustomerApi, req: &Request) -> Result<Response<Body>, ApiError> {
    let segs = http::segments(req);
    let (template, params) = route(req.method().as_str(), &segs)?;
    tracing::Span::current().record("route", template);
    let caller = authenticate(api, req).await?;
    let account = &caller.account;
    let when = When::new(api.clock.now(), caller.tenant.settings.tz());
    match template {
        "/v1/check-in" => {
            let out = check_in_customer(&api.points, &api.directory, account, when).await?;
            Ok(json_response(200, &out))
        }
        "/v1/me" => {
            let (bal, check_in, lots) = api.points.summary(account).await?;
            let check_in = check_in.unwrap_or_default();
            let today = when.today();
            Ok(json_response(
                200,
                &json!({
                    "external_userid": account.customer,
                    "balance": bal.balance,
                    "current_streak": check_in.current_streak(today),
                    "longest_streak": check_in.longest,
                    "total_check_ins": check_in.total,
                    "checked_in_today": check_in.last_day() == Some(today),
                    "lots": lots.iter().map(|l| json!({"expires_on": l.expiry_date(), "points": l.remaining})).collect::<Vec<_>>(),
                }),
            ))
        }
        "/v1/me/ledger" => {
            let limit = http::page_limit(req, 20, 100)?;
            let before = match http::query(req, "cursor") {
                Some(c) => Some(
                    c.parse::<i64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| ApiError::validation("cursor is not valid"))?,
                ),
                None => None,
            };
            let entries = api.points.entries(account, before, limit).await?;
            let next = (entries.len() == limit as usize)
                .then(|| entries.last().map(|e| e.seq.to_string()))
                .flatten()
                .filter(|s| s != "1");
            Ok(json_response(
                200,
                &json!({ "entries": entries, "next_cursor": next }),
            ))
        }
        "/v1/me/profile" => {
            let update: CustomerProfile = http::parse_json(req)?;
            let saved = save_profile(&api.points, account, &update, when).await?;
            Ok(json_response(200, &saved))
        }
        "/v1/me/follows" => {
            let body: FollowRequest = http::parse_json(req)?;
            let out = confirm_follow(&api.points, account, body.channel, when).await?;
            Ok(json_response(200, &out))
        }
        "/v1/rewards" => {
            let rewards: Vec<_> = api
                .points
                .rewards(&account.tenant)
                .await?
                .into_iter()
                .filter(|r| r.active)
                .map(|r| {
                    json!({
                        "reward_id": r.reward_id, "name": r.name, "description": r.description,
                        "cost": r.cost, "in_stock": r.stock > 0,
                    })
                })
                .collect();
            Ok(json_response(200, &json!({ "rewards": rewards })))
        }
        "/v1/rewards/{reward_id}/redeem" => {
            let key = http::header(req, "idempotency-key")
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "idempotency_key_required",
                        "an Idempotency-Key header is required",
                    )
                })
                .and_then(|k| {
                    IdempotencyKey::parse(k).map_err(|e| ApiError::validation(e.to_string()))
                })?;
            let origin = Origin::new(
                "redeem",
                "customer-api",
                format!("customer:{}", account.customer),
            );
            let key = IdempotencyKey::system(format!("redeem:{}", key.as_str()));
            let out = redeem(&api.points, account, &params[0], key, origin, when).await?;
            Ok(json_response(200, &out))
        }
        _ => Err(ApiError::not_found("no such endpoint")),
    }
}
