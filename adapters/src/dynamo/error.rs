//! The one mapping of DynamoDB SDK errors onto core's [`StoreError`]: the source is kept;
//! conditional-check failures and cancelled transactions become variants callers act on.
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use scrm_core::ports::StoreError;
use std::error::Error as StdError;

/// Maps any single-item SDK error, turning a conditional-check failure into
/// [`StoreError::ConditionFailed`].
pub fn from_sdk<E, R>(err: SdkError<E, R>) -> StoreError
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
        _ => StoreError::Backend(Box::new(err)),
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
        Err(e) => match from_sdk(e) {
            StoreError::ConditionFailed => Ok(false),
            other => Err(other),
        },
    }
}

/// `Ok(())` if a conditional write was applied, [`StoreError::ConditionFailed`] if not: for
/// writes whose failed condition is an error to their caller.
pub fn ensure_applied(applied: bool) -> Result<(), StoreError> {
    if applied {
        Ok(())
    } else {
        Err(StoreError::ConditionFailed)
    }
}

/// Maps a `TransactWriteItems` error, keeping the cancellation reasons.
pub fn from_transact<R>(err: SdkError<TransactWriteItemsError, R>) -> StoreError
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
    from_sdk(err)
}
