//! The one error a use case answers an HTTP caller with: a status, a stable JSON error code
//! and a message. Pure data: the HTTP edge (`scrm-adapters`, feature `http`) renders it, once,
//! as `{"error": {"code", "message", "details"?}}`.
use crate::ports::StoreError;
use crate::tenants::{AuthError, AuthenticateError};

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
