//! `customer-api` (function URL): what a customer's H5 page calls — check-in, profile
//! completion, follow confirmation, balance and history, rewards and redemption.
//!
//! A customer is identified only by a signed, expiring token bound to the tenant and the
//! customer (`Authorization: Bearer <token>`, see [`scrm_core::tokens`]; the [`Caller`]
//! extractor). A token comes either from the merchant's H5 backend, which gets it from the
//! admin API (`POST /v1/customer-sessions`, a tenant API key) after doing WeChat OAuth
//! itself (see [`scrm_core::points::session`] for why the browser's word is not enough), or
//! from this API's own login through the tenant's official account ([`official`]: the code
//! is exchanged with WeChat here, so the identity is WeChat's word). With the official
//! account configured, a follow of it is checked with WeChat before it is rewarded.
//!
//! Browsers call it cross-origin (the merchant's H5 domain), so preflight requests
//! (`OPTIONS`) are answered on every served path and every answer carries
//! `Access-Control-Allow-Origin: *` ([`CORS`]). A wildcard is safe: the credential is a
//! bearer token the page sends explicitly, never a cookie, so another site cannot act with
//! it.
pub mod fission;
pub mod forms;
pub mod official;
pub mod wire;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoPoints, DynamoTenants};
use scrm_adapters::http::{json, record_tenant, ApiError, Cors, Edge, Head, HttpError, Json};
use scrm_adapters::http::{Reply, Route, Routes};
use scrm_core::clock::Clock;
use scrm_core::official::{check_follow, verify_customer, CustomerClaims};
use scrm_core::points::check_in_page::{self as page, Month};
use scrm_core::points::earn::{check_in_customer, confirm_follow, save_profile, FollowChannel};
use scrm_core::points::ledger::redeem;
use scrm_core::points::ports::{HistoryRead, RewardStore};
use scrm_core::points::rules::CustomerProfile;
use scrm_core::points::{Account, CustomerId, IdempotencyKey, Origin, When};
use scrm_core::tenants::{TenantId, TenantLookup};
use scrm_core::tokens::SigningKeys;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// How long a container keeps a tenant's earning rules after reading them: every check-in
/// needs them, so a warm container reads them twice a minute at most, and a change of the
/// rules takes effect in customer-api within this time.
pub const RULES_CACHED_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// Everything the customer API needs, built once per container.
pub struct CustomerApi {
    /// The ledger table (deployed with the rules cached for [`RULES_CACHED_FOR`]).
    pub points: DynamoPoints,
    /// The directory (the customer's groups, for the per-group check-in views).
    pub directory: DynamoDirectory,
    /// Tenants (timezone).
    pub tenants: DynamoTenants,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The key customer tokens are verified with (the admin API signs with the same key).
    pub signing_key: SigningKeys,
    /// The official-account login and follow checks; `None` where they are not wired
    /// (tokens then come from the admin API only, and follows are taken on the word).
    pub official: Option<Arc<official::OfficialLogin>>,
    /// Smart forms: their store and where a submission's event goes.
    pub forms: forms::Forms,
    /// Fission campaigns' pages; `None` where they are not wired (answered 503).
    pub fission: Option<Arc<fission::Fission>>,
}

/// What browsers are told: the methods the routes use, the headers a page sends, and how
/// long a preflight answer may be cached (seconds).
pub const CORS: Cors = Cors {
    allow_methods: "GET, POST, PUT, OPTIONS",
    allow_headers: "authorization, content-type, idempotency-key",
    max_age: "600",
};

pub(crate) type Api = State<Arc<CustomerApi>>;

fn table() -> Routes<Arc<CustomerApi>> {
    Routes::new("customer")
        .cors(CORS)
        .post("/v1/check-in", check_in)
        .get("/v1/check-in", check_in_page)
        .get("/v1/me", me)
        .get("/v1/me/ledger", ledger)
        .put("/v1/me/profile", profile)
        .post("/v1/me/follows", follows)
        .get("/v1/rewards", rewards)
        .post("/v1/rewards/{reward_id}/redeem", redeem_reward)
        .get("/v1/oauth/official/options", official::options)
        .post("/v1/oauth/official/session", official::session)
        .get("/v1/forms/{form_id}", forms::form)
        .post("/v1/forms/{form_id}/submissions", forms::submit)
        .get("/v1/fission/{campaign_id}", fission::page)
        .post("/v1/fission/{campaign_id}/code", fission::code)
        .get("/v1/fission/{campaign_id}/poster", fission::poster)
}

/// The routes, documented in `docs/customer-api.yaml` (preflights aside).
pub fn routes() -> Vec<Route> {
    table().routes()
}

/// The customer API over `api`, with the edge around it.
pub fn router(api: Arc<CustomerApi>) -> Edge {
    table().into_edge(api)
}

/// Answers one request through a router built for it (tests; the deployment builds the
/// router once, in [`wire`]).
pub async fn handle(
    api: &Arc<CustomerApi>,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
    Ok(router(api.clone()).respond(req).await)
}

/// The customer a valid token names, and the current time in their tenant's timezone.
pub struct Caller {
    /// The customer's account.
    pub account: Account,
    /// Now, where the tenant is.
    pub when: When,
    /// The openid under the tenant's official account, when the token came from its login.
    pub openid: Option<String>,
}

impl FromRequestParts<Arc<CustomerApi>> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &Arc<CustomerApi>,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated = |m: &str| ApiError::new(401, "unauthenticated", m.to_string());
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| unauthenticated("a customer token is required"))?;
        let CustomerClaims { claims, openid } =
            verify_customer(&api.signing_key, token.trim(), api.clock.now())
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
        record_tenant(tenant_id.as_str());
        Ok(Caller {
            account: Account::new(tenant_id, customer),
            when: When::new(api.clock.now(), tenant.settings.tz()),
            openid,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowRequest {
    channel: FollowChannel,
}

async fn check_in(State(api): Api, c: Caller) -> Reply {
    let out = check_in_customer(&api.points, &api.directory, &c.account, c.when).await?;
    Ok(json(200, &out))
}

/// The check-in page in one read (the streak, the next tiers, a month's check-ins), so the
/// page draws after a single round trip.
async fn check_in_page(State(api): Api, c: Caller, head: Head) -> Reply {
    let month = head
        .query("month")
        .map(|m| Month::parse(&m).map_err(ApiError::validation))
        .transpose()?;
    let out = page::check_in_page(&api.points, &c.account, c.when, month).await?;
    Ok(json(200, &out))
}

async fn me(State(api): Api, c: Caller) -> Reply {
    let (bal, check_in, lots) = api.points.summary(&c.account).await?;
    let check_in = check_in.unwrap_or_default();
    let today = c.when.today();
    Ok(json(
        200,
        &json!({
            "external_userid": c.account.customer,
            "balance": bal.balance,
            "current_streak": check_in.current_streak(today),
            "longest_streak": check_in.longest,
            "total_check_ins": check_in.total,
            "checked_in_today": check_in.last_day() == Some(today),
            "lots": lots.iter().map(|l| json!({"expires_on": l.expiry_date(), "points": l.remaining})).collect::<Vec<_>>(),
        }),
    ))
}

async fn ledger(State(api): Api, c: Caller, head: Head) -> Reply {
    let limit = head.page_limit(20, 100)?;
    let before = match head.query("cursor") {
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::validation("cursor is not valid"))?,
        ),
        None => None,
    };
    let entries = api.points.entries(&c.account, before, limit).await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.seq.to_string()))
        .flatten()
        .filter(|s| s != "1");
    Ok(json(
        200,
        &json!({ "entries": entries, "next_cursor": next }),
    ))
}

async fn profile(State(api): Api, c: Caller, Json(update): Json<CustomerProfile>) -> Reply {
    let saved = save_profile(&api.points, &c.account, &update, c.when).await?;
    Ok(json(200, &saved))
}

async fn follows(State(api): Api, c: Caller, Json(body): Json<FollowRequest>) -> Reply {
    if let (FollowChannel::OfficialAccount, Some(o)) = (body.channel, api.official.as_deref()) {
        check_follow(
            &o.accounts,
            &o.wechat,
            &c.account.tenant,
            c.openid.as_deref(),
        )
        .await?;
    }
    let out = confirm_follow(&api.points, &c.account, body.channel, c.when).await?;
    Ok(json(200, &out))
}

async fn rewards(State(api): Api, c: Caller) -> Reply {
    let rewards: Vec<_> = api
        .points
        .rewards(&c.account.tenant)
        .await?
        .into_iter()
        .filter(|r| r.active)
        .map(|r| {
            json!({
                "reward_id": r.reward_id, "name": r.name, "description": r.description,
                "cost": r.cost, "stock": r.stock.max(0), "in_stock": r.stock > 0,
            })
        })
        .collect();
    Ok(json(200, &json!({ "rewards": rewards })))
}

async fn redeem_reward(State(api): Api, c: Caller, head: Head) -> Reply {
    let key = head
        .header("idempotency-key")
        .ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key_required",
                "an Idempotency-Key header is required",
            )
        })
        .and_then(|k| IdempotencyKey::parse(k).map_err(|e| ApiError::validation(e.to_string())))?;
    let origin = Origin::new(
        "redeem",
        "customer-api",
        format!("customer:{}", c.account.customer),
    );
    let key = IdempotencyKey::system(format!("redeem:{}", key.as_str()));
    let out = redeem(
        &api.points,
        &c.account,
        head.id(0, "reward_id")?,
        key,
        origin,
        c.when,
    )
    .await?;
    Ok(json(200, &out))
}
