//! What handlers read from a request: [`Head`] (headers, query parameters as Lambda parsed
//! them, path parameters decoded once), [`RawBody`] and [`Json`] with the APIs' limits and
//! error codes.
use super::edge::{path_params, HttpError, RoutePath};
use super::{bounded_limit, MAX_JSON_BODY};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::RequestExt;
use scrm_core::http::ApiError;
use serde::de::DeserializeOwned;
use std::convert::Infallible;

/// A request's headers, query and path parameters.
#[derive(Debug, Clone)]
pub struct Head {
    headers: HeaderMap,
    query: Option<QueryMap>,
    params: Vec<String>,
}

impl Head {
    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter (decoded once, as lambda_http parsed it from the raw query).
    pub fn query(&self, name: &str) -> Option<String> {
        self.query
            .as_ref()
            .and_then(|q| q.first(name).map(str::to_string))
    }

    /// The `i`-th path parameter of the route's template, decoded; empty if there is none.
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    /// A bounded page size from the `limit` query parameter.
    pub fn page_limit(&self, default: i32, max: i32) -> Result<i32, ApiError> {
        bounded_limit(self.query("limit"), default, max)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Head {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let params = parts
            .extensions
            .get::<RoutePath>()
            .map(|t| path_params(t.0, parts.uri.path()))
            .unwrap_or_default();
        Ok(Head {
            headers: parts.headers.clone(),
            query: parts.query_string_parameters_ref().cloned(),
            params,
        })
    }
}

/// The whole body, as it arrived (Lambda delivers it in one piece; each route applies its
/// own limit).
#[derive(Debug, Clone)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = HttpError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .map(RawBody)
            .map_err(|e| {
                tracing::error!(error = %e, "request body unreadable");
                ApiError::internal().into()
            })
    }
}

/// A JSON body of at most [`MAX_JSON_BODY`] bytes, parsed into `T` (see [`json_body`]).
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        Ok(Json(json_body(&bytes, MAX_JSON_BODY)?))
    }
}

/// Parses a JSON body of at most `limit` bytes into `T`, rejecting an oversized (413
/// `body_too_large`), empty or malformed (400 `invalid_json`) or unfitting (400
/// `validation_failed`) body: never a panic, never a partial change.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, ApiError> {
    if bytes.len() > limit {
        return Err(ApiError::too_large(limit));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_json",
            "a JSON body is required",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            "invalid_json"
        } else {
            "validation_failed"
        };
        ApiError::bad_request(code, format!("invalid request body: {e}"))
    })
}
