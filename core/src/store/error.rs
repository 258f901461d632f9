//! The store layer's one error type. SDK errors keep their source; conditional-check
//! failures and cancelled transactions become variants callers can act on.
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use std::error::Error as StdError;

/// What went wrong talking to DynamoDB.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition expression on a single-item write failed: the item was not in the
    /// expected state (already exists, version moved, balance too low...).
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
    /// Any other SDK failure.
    #[error("dynamodb: {0}")]
    Sdk(#[source] Box<dyn StdError + Send + Sync>),
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

    /// Maps any single-item SDK error, turning a conditional-check failure into
    /// [`StoreError::ConditionFailed`].
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let code = err.code().map(str::to_string);
        match code.as_deref() {
            Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
            Some("ProvisionedThroughputExceededException")
            | Some("ThrottlingException")
            | Some("RequestLimitExceeded")
            | Some("TransactionConflictException")
            | Some("TransactionInProgressException") => StoreError::Retryable(Box::new(err)),
            _ => StoreError::Sdk(Box::new(err)),
        }
    }

    /// The outcome of a conditional single-item write: `Ok(true)` if it was applied,
    /// `Ok(false)` if its condition failed, an error otherwise.
    pub fn applied<O, E, R>(result: Result<O, SdkError<E, R>>) -> Result<bool, StoreError>
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match result {
            Ok(_) => Ok(true),
            Err(e) => match StoreError::from_sdk(e) {
                StoreError::ConditionFailed => Ok(false),
                other => Err(other),
            },
        }
    }

    /// Maps a `TransactWriteItems` error, keeping the cancellation reasons.
    pub fn from_transact<R>(err: SdkError<TransactWriteItemsError, R>) -> Self
    where
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        if let SdkError::ServiceError(service) = &err {
            if let TransactWriteItemsError::TransactionCanceledException(cancel) = service.err() {
                let reasons: Vec<String> = cancel
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_string())
                    .collect();
                // A cancellation caused only by conflicts with other transactions (no
                // failed condition) is retryable.
                if reasons.iter().any(|r| r == "TransactionConflict")
                    && !reasons.iter().any(|r| r == "ConditionalCheckFailed")
                {
                    return StoreError::Retryable(Box::new(err));
                }
                return StoreError::TransactionCanceled { reasons };
            }
        }
        StoreError::from_sdk(err)
    }
}

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
