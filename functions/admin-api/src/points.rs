//! Admin routes of the points domain.
use crate::{AdminApi, Matched, Route};
use lambda_http::{Body, Request, Response};
use scrm_core::http::ApiError;
use scrm_core::tenants::Principal;

/// The routes of this module (kept in step with docs/openapi.yaml by a test).
pub const ROUTES: &[Route] = &[];

/// Handles a matched route of this module.
pub async fn handle(
    _api: &AdminApi,
    _principal: &Principal,
    _matched: &Matched,
    _req: &Request,
) -> Result<Response<Body>, ApiError> {
    Err(ApiError::not_found("no such endpoint"))
}
