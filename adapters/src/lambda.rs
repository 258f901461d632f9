//! The one mapping of a use case's error to what Lambda records for an event- or
//! schedule-triggered function: `Retryable` (Lambda retries the invocation; the work is
//! idempotent) or `NonRetryable` (the same input would fail the same way).
use lambda_runtime::Diagnostic;
use scrm_core::ports::MayRetry;
use std::future::Future;
use std::pin::Pin;

/// One invocation of an event function, boxed. The use cases that nest the WeCom client's
/// and DynamoDB's futures deeply (a re-sync run, a points job) give a future type that,
/// unboxed inside the runtime's own future, overflows the compiler's query depth limit in
/// the multi-call binary; a boxed invocation is one allocation per event.
pub type Invocation<'a> =
    Pin<Box<dyn Future<Output = Result<serde_json::Value, FnError>> + Send + 'a>>;

/// A failed invocation, as the event functions return it.
#[derive(Debug)]
pub struct FnError {
    retryable: bool,
    message: String,
}

impl FnError {
    /// Whether Lambda should retry.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
    /// The message logged and recorded.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: MayRetry> From<E> for FnError {
    fn from(e: E) -> Self {
        let retryable = e.is_retryable();
        if retryable {
            tracing::warn!(error = %e, "invocation failed; retryable");
        } else {
            tracing::error!(error = %e, "invocation failed; not retryable");
        }
        FnError {
            retryable,
            message: e.to_string(),
        }
    }
}

impl From<FnError> for Diagnostic {
    fn from(e: FnError) -> Self {
        Diagnostic {
            error_type: if e.retryable {
                "Retryable"
            } else {
                "NonRetryable"
            }
            .to_string(),
            error_message: e.message,
        }
    }
}
