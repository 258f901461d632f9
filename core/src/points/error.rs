//! The points domain's one error type, and its one mapping to HTTP.
use super::plan::PlanError;
use crate::http::ApiError;
use crate::ports::StoreError;

/// What a points operation can fail with, said so that the caller knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum PointsError {
    /// The request is not acceptable (bad amount, bad field...): fix it, nothing changed.
    #[error("{0}")]
    Validation(String),
    /// Not enough points: nothing changed.
    #[error("insufficient points: {available} available, {requested} requested")]
    Insufficient {
        /// What could be spent.
        available: i64,
        /// What was asked.
        requested: i64,
    },
    /// The idempotency key was already used for a different request: use a new key.
    #[error("idempotency key already used for a different request")]
    KeyReused,
    /// The thing named does not exist (in this tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The reward has no stock left.
    #[error("reward out of stock")]
    OutOfStock,
    /// The reward is not offered (inactive).
    #[error("reward not available")]
    RewardInactive,
    /// The rule this operation needs is switched off by the tenant.
    #[error("{0} is not enabled")]
    RuleDisabled(&'static str),
    /// The customer is not (yet) a customer of the tenant in WeCom.
    #[error("{0}")]
    NotACustomer(String),
    /// Contention did not clear within the retry budget: retry later, nothing changed.
    #[error("busy; retry later")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PointsError {
    /// Whether a later retry of the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PointsError::Busy => true,
            PointsError::Store(e) => e.is_retryable(),
            _ => false,
        }
    }
}

impl From<PlanError> for PointsError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Insufficient {
                available,
                requested,
            } => PointsError::Insufficient {
                available,
                requested,
            },
            PlanError::BadAmount => PointsError::Validation("amount must be positive".into()),
            // Settled by the service before planning; reaching here means contention.
            PlanError::DebtOutstanding => PointsError::Busy,
        }
    }
}

impl From<PointsError> for ApiError {
    fn from(e: PointsError) -> Self {
        match e {
            PointsError::Validation(m) => ApiError::validation(m),
            PointsError::Insufficient {
                available,
                requested,
            } => ApiError::conflict("insufficient_points", e.to_string()).with_details(
                serde_json::json!({ "available": available, "requested": requested }),
            ),
            PointsError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
            PointsError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            PointsError::OutOfStock => ApiError::conflict("out_of_stock", e.to_string()),
            PointsError::RewardInactive => ApiError::conflict("reward_inactive", e.to_string()),
            PointsError::RuleDisabled(_) => ApiError::conflict("rule_disabled", e.to_string()),
            PointsError::NotACustomer(m) => ApiError::new(403, "not_a_customer", m),
            PointsError::Busy => ApiError::unavailable(),
            PointsError::Store(s) => s.into(),
        }
    }
}

/// The error of the event- and schedule-triggered points functions: says whether the
/// invocation should be retried (the work is idempotent, so a retry is always safe; a
/// non-retryable error would fail the same way again).
#[derive(Debug, thiserror::Error)]
pub enum EventFnError {
    /// A transient failure (store busy, publish failed): retry.
    #[error("retryable: {0}")]
    Retryable(String),
    /// The event itself cannot be handled (malformed, unknown tenant).
    #[error("not retryable: {0}")]
    NonRetryable(String),
}

impl From<PointsError> for EventFnError {
    fn from(e: PointsError) -> Self {
        if e.is_retryable() {
            EventFnError::Retryable(e.to_string())
        } else {
            EventFnError::NonRetryable(e.to_string())
        }
    }
}

impl From<StoreError> for EventFnError {
    fn from(e: StoreError) -> Self {
        PointsError::Store(e).into()
    }
}

impl crate::ports::MayRetry for EventFnError {
    fn is_retryable(&self) -> bool {
        matches!(self, EventFnError::Retryable(_))
    }
}
