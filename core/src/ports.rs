//! The vocabulary every context's ports share: the one error a store port answers with.
//!
//! Core defines it without any SDK type, so that the domain can act on what a store said
//! (a failed condition, a cancelled transaction, a busy table) without knowing which store
//! it is; the DynamoDB adapter maps the SDK's errors onto it exactly once.
use std::error::Error as StdError;

/// What went wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition on a single-item write failed: the item was not in the expected state
    /// (already exists, version moved, balance too low...).
    #[error("conditional check failed")]
    ConditionFailed,
    /// A transaction was cancelled. `reasons` is ordered like the request's actions;
    /// `"ConditionalCheckFailed"` at an index says which condition failed, `"None"` that the
    /// action was fine.
    #[error("transaction cancelled: {reasons:?}")]
    TransactionCanceled {
        /// One code per action, in request order.
        reasons: Vec<String>,
    },
    /// Throttling or a transaction conflict: safe to retry later.
    #[error("throttled or conflicting; retry")]
    Retryable(#[source] Box<dyn StdError + Send + Sync>),
    /// An item does not have the shape the code expects.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// Any other store failure.
    #[error("store: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    /// Whether a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Retryable(_))
    }

    /// For a cancelled transaction, whether the action at `index` failed its condition.
    pub fn condition_failed_at(&self, index: usize) -> bool {
        match self {
            StoreError::TransactionCanceled { reasons } => reasons
                .get(index)
                .map(|r| r == "ConditionalCheckFailed")
                .unwrap_or(false),
            StoreError::ConditionFailed => index == 0,
            _ => false,
        }
    }

    /// Whether any action of a cancelled transaction failed its condition.
    pub fn any_condition_failed(&self) -> bool {
        match self {
            StoreError::TransactionCanceled { reasons } => {
                reasons.iter().any(|r| r == "ConditionalCheckFailed")
            }
            StoreError::ConditionFailed => true,
            _ => false,
        }
    }
}

/// An error that says whether the same work may succeed if tried again: what an event- or
/// schedule-triggered function tells Lambda (retry the invocation, or give up and let the
/// failure go to the dead-letter queue). The Lambda edge maps it to a `Diagnostic` once.
pub trait MayRetry: StdError {
    /// Whether a later attempt may succeed.
    fn is_retryable(&self) -> bool;
}

impl MayRetry for StoreError {
    fn is_retryable(&self) -> bool {
        StoreError::is_retryable(self)
    }
}
