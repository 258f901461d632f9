//! The admin API (function URL): tenants and API keys, directory look-ups and re-sync,
//! points administration, SOP plans and figures. Every route authenticates with a
//! tenant-scoped API key and only ever touches that key's tenant.
//!
//! Routes are declared per domain module (`ROUTES`), so that the OpenAPI file can be
//! checked against them, and dispatched here.
pub mod directory;
pub mod points;
pub mod sop;
pub mod tenant;

pub mod wire;

use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::Db;
use scrm_adapters::dynamo::DynamoTenants;
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::http::IntoResponse;
use scrm_adapters::http::{self, ApiError};
use scrm_core::clock::Clock;
use scrm_core::config::Secret;
use scrm_core::tenants::ports::authenticate;
use scrm_core::tenants::{Principal, Role};
use std::sync::Arc;
use tracing::Instrument;

/// One documented route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template as in the OpenAPI file (`/v1/customers/{external_userid}`).
    pub path: &'static str,
    /// The least role allowed.
    pub role: Role,
}

/// Everything the admin API needs, built once per container.
pub struct AdminApi {
    /// Tables.
    pub db: Db,
    /// Tenants and API keys.
    pub tenants: DynamoTenants,
    /// Domain events.
    pub publisher: AnyPublisher,
    /// WeCom API base URL (re-sync, look-ups).
    pub wecom_api_base: String,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// HMAC key for signed links and tokens.
    pub signing_key: Secret,
}

/// Every route of the admin API.
pub fn routes() -> Vec<Route> {
    let mut all = Vec::new();
    all.extend_from_slice(tenant::ROUTES);
    all.extend_from_slice(directory::ROUTES);
    all.extend_from_slice(points::ROUTES);
    all.extend_from_slice(sop::ROUTES);
    all
}

/// Matches a path against a template, returning the `{param}` values in order.
pub fn match_path(template: &str, segments: &[String]) -> Option<Vec<String>> {
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (part, seg) in parts.iter().zip(segments) {
        if part.starts_with('{') && part.ends_with('}') {
            params.push(seg.clone());
        } else if part != seg {
            return None;
        }
    }
    Some(params)
}

/// A matched route with its path parameters.
#[derive(Debug, Clone)]
pub struct Matched {
    /// The route.
    pub route: Route,
    /// Path parameters in order.
    pub params: Vec<String>,
}

fn find_route(method: &str, segments: &[String]) -> Result<Matched, ApiError> {
    let mut path_matched = false;
    for route in routes() {
        if let Some(params) = match_path(route.path, segments) {
            path_matched = true;
            if route.method == method {
                return Ok(Matched { route, params });
            }
        }
    }
    if path_matched {
        Err(ApiError::method_not_allowed())
    } else {
        Err(ApiError::not_found("no such endpoint"))
    }
}

/// The function's handler: authenticate, authorise, dispatch, map errors once.
pub async fn handle(
    api: &AdminApi,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
    let request_id = http::request_id(&req);
    let span = tracing::info_span!("admin", request_id = %request_id, tenant = tracing::field::Empty, route = tracing::field::Empty);
    let result = async {
        let segments = http::segments(&req);
        let method = req.method().as_str().to_string();
        let matched = find_route(&method, &segments)?;
        tracing::Span::current().record("route", matched.route.path);
        let principal = authenticate(&api.tenants, http::header(&req, "authorization")).await?;
        tracing::Span::current().record("tenant", principal.tenant.as_str());
        principal.require(matched.route.role)?;
        dispatch(api, &principal, &matched, &req).await
    }
    .instrument(span.clone())
    .await;
    let response = match result {
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
    Ok(response)
}

async fn dispatch(
    api: &AdminApi,
    principal: &Principal,
    matched: &Matched,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let path = matched.route.path;
    if tenant::ROUTES.iter().any(|r| r.path == path) {
        return tenant::handle(api, principal, matched, req).await;
    }
    if directory::ROUTES.iter().any(|r| r.path == path) {
        return directory::handle(api, principal, matched, req).await;
    }
    if points::ROUTES.iter().any(|r| r.path == path) {
        return points::handle(api, principal, matched, req).await;
    }
    if sop::ROUTES.iter().any(|r| r.path == path) {
        return sop::handle(api, principal, matched, req).await;
    }
    Err(ApiError::not_found("no such endpoint"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segments() {
        let segs: Vec<String> = ["v1", "customers", "wm1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            match_path("/v1/customers/{id}", &segs),
            Some(vec!["wm1".to_string()])
        );
        assert_eq!(match_path("/v1/customers", &segs), None);
    }

    #[test]
    fn no_two_routes_share_method_and_path() {
        let all = routes();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(!(a.method == b.method && a.path == b.path), "{a:?} twice");
            }
        }
    }
}
