//! The admin API (function URL): tenants and API keys, directory look-ups and re-sync,
//! points administration, SOP plans and figures, channel codes and welcome messages, the
//! console's login and roles. Every route
//! authenticates with a tenant-scoped API key or console session ([`Key`], carrying the
//! scope the route needs; the console's login routes excepted) and only ever touches that
//! caller's tenant.
//!
//! Each domain module adds its routes to one table ([`routes`], which `docs/openapi.yaml`
//! is checked against); the table becomes the router served by the shared HTTP edge
//! (`scrm_adapters::http`). The rules live in `scrm_core`'s use cases; the handlers here
//! read the request, call one, and shape the answer.
pub mod console;
pub mod content;
pub mod dashboard;
pub mod directory;
pub mod fission;
pub mod forms;
pub mod group_codes;
pub mod growth;
pub mod links;
pub mod points;
pub mod sop;
pub mod tenant;

pub mod wire;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::{
    DynamoDirectory, DynamoGrowth, DynamoPoints, DynamoSop, DynamoTags, DynamoTenants,
};
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::http::{record_tenant, Edge, HttpError, Route, Routes};
use scrm_adapters::wecom::WeComClient;
use scrm_core::clock::Clock;
use scrm_core::tenants::console::Actor;
use scrm_core::tenants::{Principal, Scope};
use scrm_core::tokens::SigningKeys;
use std::marker::PhantomData;
use std::sync::Arc;

/// Everything the admin API needs, built once per container (see [`wire`]).
pub struct AdminApi {
    /// Tenants and API keys.
    pub tenants: DynamoTenants,
    /// Customers, groups, received callbacks, re-sync jobs.
    pub directory: DynamoDirectory,
    /// The corp tag mirror.
    pub tags: DynamoTags,
    /// The ledger.
    pub points: DynamoPoints,
    /// Plans, occurrences, tasks, group tags.
    pub sop: DynamoSop,
    /// Channel codes, the default welcome, their figures.
    pub growth: DynamoGrowth,
    /// Domain events.
    pub publisher: AnyPublisher,
    /// WeCom (customer sessions map WeChat users to customers).
    pub wecom: WeComClient,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// HMAC key for signed links and tokens.
    pub signing_key: SigningKeys,
    /// Console sessions and members' roles, and WeCom's scan-login host.
    pub console: console::Console,
    /// The content center's materials and the bucket of their files.
    pub content: content::ContentCenter,
}

/// The state every handler gets.
pub type Api = State<Arc<AdminApi>>;
/// The admin API's route table.
pub type Table = Routes<Arc<AdminApi>>;

/// The scope a route needs, as a type (see [`Key`]).
pub trait Least: Send + Sync + 'static {
    /// The scope; `None`: any valid key.
    const SCOPE: Option<Scope>;
}
/// Any valid key (who am I).
pub struct AnyKey;
/// Reads (`read`).
pub struct Viewer;
/// Day-to-day changes (`write`).
pub struct Operator;
/// Settings, keys, rules (`admin`).
pub struct Admin;
/// Customer sessions for WeChat users (`sessions:issue`).
pub struct SessionIssuer;
impl Least for AnyKey {
    const SCOPE: Option<Scope> = None;
}
impl Least for Viewer {
    const SCOPE: Option<Scope> = Some(Scope::Read);
}
impl Least for Operator {
    const SCOPE: Option<Scope> = Some(Scope::Write);
}
impl Least for Admin {
    const SCOPE: Option<Scope> = Some(Scope::Admin);
}
impl Least for SessionIssuer {
    const SCOPE: Option<Scope> = Some(Scope::SessionsIssue);
}

/// The caller: a valid API key (`Authorization: Bearer scrm_…`) or console session
/// (`Bearer scs_…`, see [`console`]) carrying the scope `R` stands for. Its tenant goes on
/// the request's span.
pub struct Key<R> {
    /// Who the key is (for a member's console session, its `key_id` is `session:<id>`).
    pub principal: Principal,
    actor: Actor,
    least: PhantomData<R>,
}

impl<R> Key<R> {
    /// What changes are attributed to: `key:<key id>`, or `member:<userid>` for a member
    /// logged in to the console.
    pub fn operator(&self) -> String {
        self.actor.to_string()
    }

    /// Who is calling.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

impl<R> std::ops::Deref for Key<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<R: Least> FromRequestParts<Arc<AdminApi>> for Key<R> {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &Arc<AdminApi>,
    ) -> Result<Self, Self::Rejection> {
        let authorization = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let (principal, actor) = console::caller(api, authorization).await?;
        record_tenant(principal.tenant.as_str());
        if let Some(scope) = R::SCOPE {
            principal.require(scope)?;
        }
        Ok(Key {
            principal,
            actor,
            least: PhantomData,
        })
    }
}

/// The request's `Idempotency-Key` header, which the route requires (missing: 400
/// `idempotency_key_required`; malformed: 400 `validation_failed`).
pub(crate) fn required_idempotency_key(
    head: &scrm_adapters::http::Head,
) -> Result<scrm_core::points::IdempotencyKey, scrm_adapters::http::ApiError> {
    use scrm_adapters::http::ApiError;
    let raw = head.header("idempotency-key").ok_or_else(|| {
        ApiError::bad_request(
            "idempotency_key_required",
            "an Idempotency-Key header is required",
        )
    })?;
    scrm_core::points::IdempotencyKey::parse(raw).map_err(|e| ApiError::validation(e.to_string()))
}

/// An edit's body: the whole resource as it should be and the `version` it starts from.
/// The version is taken out before the rest is read as `T`, so a `T` that refuses unknown
/// fields still does (serde's `flatten` would accept them).
pub(crate) fn versioned_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<(i64, T), scrm_adapters::http::ApiError> {
    use scrm_adapters::http::{json_body, ApiError, MAX_JSON_BODY};
    let mut fields: serde_json::Map<String, serde_json::Value> = json_body(body, MAX_JSON_BODY)?;
    let version = fields
        .remove("version")
        .ok_or_else(|| ApiError::validation("version is required"))?
        .as_i64()
        .ok_or_else(|| ApiError::validation("version must be an integer"))?;
    let rest = serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| {
        ApiError::bad_request("validation_failed", format!("invalid request body: {e}"))
    })?;
    Ok((version, rest))
}

fn table() -> Table {
    let t = Routes::new("admin");
    let t = tenant::routes(t);
    let t = directory::routes(t);
    let t = points::routes(t);
    let t = console::routes(t);
    let t = dashboard::routes(t);
    let t = growth::routes(t);
    let t = content::routes(t);
    let t = links::routes(t);
    let t = forms::routes(t);
    sop::routes(t)
}

/// Every route of the admin API.
pub fn routes() -> Vec<Route> {
    table().routes()
}

/// The admin API over `api`, with the edge around it.
pub fn router(api: Arc<AdminApi>) -> Edge {
    table().into_edge(api)
}

/// Answers one request through a router built for it (tests; the deployment builds the
/// router once, in [`wire`]).
pub async fn handle(
    api: &Arc<AdminApi>,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
    Ok(router(api.clone()).respond(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_routes_share_method_and_path() {
        let all = routes();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(!(a.method == b.method && a.path == b.path), "{a:?} twice");
            }
        }
        assert!(all.len() > 40, "{}", all.len());
    }
}
