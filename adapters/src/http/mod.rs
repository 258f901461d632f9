//! The HTTP edge of the function-URL functions: the one rendering of core's [`ApiError`] as
//! a response, JSON bodies, paths, query parameters and request ids.
//!
//! The APIs (admin, customer, staff) are axum routers built from one route table each and
//! served by [`Edge`] (see [`edge`]); their handlers read requests through [`Head`],
//! [`RawBody`] and [`Json`] (see [`extract`]). The helpers on `lambda_http`'s own request
//! below serve the functions that take requests without a router (the WeCom callback).
pub mod edge;
pub mod extract;

pub use edge::{json, record_tenant, record_user, Cors, Edge, HttpError, Reply, Route, Routes};
pub use extract::{json_body, path_id, Head, Json, RawBody, MAX_PATH_ID_CHARS};

use lambda_http::{Body, Request, RequestExt, Response};
pub use scrm_core::http::{ApiError, MAX_JSON_BODY};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Renders an [`ApiError`] as a response (the one place that does).
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response<Body>;
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response<Body> {
        error_response(self)
    }
}

/// The response of an error: `{"error": {"code", "message", "details"?}}`. 5xx bodies are
/// opaque; their cause goes to the log only.
pub fn error_response(err: ApiError) -> Response<Body> {
    json_response(err.status, &error_body(&err))
}

/// The body of an error: `{"error": {"code", "message", "details"?}}`.
pub(crate) fn error_body(err: &ApiError) -> serde_json::Value {
    let mut error = serde_json::json!({ "code": err.code, "message": err.message });
    if let Some(details) = &err.details {
        error["details"] = details.clone();
    }
    serde_json::json!({ "error": error })
}

/// A JSON response.
pub fn json_response<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_string());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(text))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// A plain-text response (WeCom wants the bare echostr, no quotes, no newline).
pub fn text_response(status: u16, body: impl Into<String>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::Text(body.into()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// The body as bytes, whether it arrived as text or (base64-decoded) binary.
pub fn body_bytes(req: &Request) -> &[u8] {
    req.body().as_ref()
}

/// Parses a JSON body into `T`, rejecting an oversized, empty or malformed body with a
/// clear 4xx (never a panic, never a partial change).
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    json_body(body_bytes(req), MAX_JSON_BODY)
}

/// The request path split into non-empty segments.
pub fn segments(req: &Request) -> Vec<String> {
    req.uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// The query parameters (decoded once, as lambda_http parsed them from the raw query).
pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name).map(str::to_string))
}

/// The Lambda request id, or a fresh ULID when the request did not come through Lambda
/// (tests, tools).
pub fn request_id(req: &Request) -> String {
    req.lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| ulid::Ulid::new().to_string())
}

/// A header value as text.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A bounded page size from the `limit` query parameter.
pub fn page_limit(req: &Request, default: i32, max: i32) -> Result<i32, ApiError> {
    bounded_limit(query(req, "limit"), default, max)
}

/// A page size from a raw `limit`: `default` if absent, else an integer from 1 to `max`.
pub(crate) fn bounded_limit(raw: Option<String>, default: i32, max: i32) -> Result<i32, ApiError> {
    match raw {
        None => Ok(default),
        Some(raw) => match raw.parse::<i32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::validation(format!(
                "limit must be an integer from 1 to {max}"
            ))),
        },
    }
}
