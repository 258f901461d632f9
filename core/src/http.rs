//! HTTP plumbing shared by the function-URL functions: one error type mapped to a status
//! and a stable JSON error code exactly once, JSON bodies, paths and request ids.
use crate::store::StoreError;
use crate::tenants::store::AuthenticateError;
use crate::tenants::AuthError;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The largest JSON body the admin and customer APIs accept.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// An error answered to an HTTP caller: a status, a stable machine-readable code and a
/// human message. 5xx bodies are opaque; their cause goes to the log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable snake_case code (documented in the OpenAPI file).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// Optional structured details (per-field problems, per-row reports).
    pub details: Option<serde_json::Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Any status and code.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }
    /// 400 with a specific code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    /// 400 `validation_failed`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "validation_failed", message)
    }
    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
    /// 409 with a specific code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }
    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(405, "method_not_allowed", "method not allowed on this path")
    }
    /// 413 `body_too_large`.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "body_too_large",
            format!("body larger than {limit} bytes"),
        )
    }
    /// 500 `internal`: the message is opaque on purpose.
    pub fn internal() -> Self {
        Self::new(500, "internal", "internal error; it has been logged")
    }
    /// 503 `unavailable`: retry later.
    pub fn unavailable() -> Self {
        Self::new(503, "unavailable", "temporarily unavailable; retry later")
    }
    /// Attaches structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The response: `{"error": {"code", "message", "details"?}}`.
    pub fn into_response(self) -> Response<Body> {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if let Some(details) = self.details {
            error["details"] = details;
        }
        json_response(self.status, &serde_json::json!({ "error": error }))
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_retryable() {
            tracing::warn!(error = %err, "store busy");
            ApiError::unavailable()
        } else {
            tracing::error!(error = %err, cause = ?std::error::Error::source(&err), "store failure");
            ApiError::internal()
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Missing | AuthError::Invalid => {
                ApiError::new(401, "unauthenticated", err.to_string())
            }
            AuthError::Forbidden { .. } => ApiError::new(403, "forbidden", err.to_string()),
        }
    }
}

impl From<AuthenticateError> for ApiError {
    fn from(err: AuthenticateError) -> Self {
        match err {
            AuthenticateError::Auth(a) => a.into(),
            AuthenticateError::Store(s) => s.into(),
        }
    }
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
    let bytes = body_bytes(req);
    if bytes.len() > MAX_JSON_BODY {
        return Err(ApiError::too_large(MAX_JSON_BODY));
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
    match query(req, "limit") {
        None => Ok(default),
        Some(raw) => match raw.parse::<i32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::validation(format!(
                "limit must be an integer from 1 to {max}"
            ))),
        },
    }
}
