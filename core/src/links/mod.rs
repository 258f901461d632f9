//! Tracked links (链接追踪): every link sent in a plan, a welcome message or a campaign can go
//! through a short URL (`/l/{code}`) whose redirect counts the click, for the code's send
//! context (link, plan, occurrence, staff member, channel), and, when the visitor is a known
//! customer, publishes `CustomerInteracted`; the staff member who sent the link is told in
//! WeCom, at most once a minute.
//!
//! - [`model`]: links, codes, send contexts, their limits;
//! - [`admin`]: creating and listing links, minting a code for a send context, the figures;
//! - [`click`]: what a click does (the redirect function's use case);
//! - [`notify`]: the consumer of `CustomerInteracted` that tells the staff member, coalesced;
//! - [`visitor`]: who clicked: the visitor cookie, the official account's OAuth;
//! - [`tracker`]: short links minted where features send links (welcome messages, plans);
//! - [`ports`]: the store, WeCom's app messages and the official account's OAuth.
pub mod admin;
pub mod click;
pub mod model;
pub mod notify;
pub mod ports;
pub mod tracker;
pub mod visitor;

pub use admin::Target;
pub use model::{
    CodeDay, Link, LinkCode, LinkInput, SendContext, ShortCode, TargetUrl, Via, Visitor,
};
pub use ports::{ClickNote, LinkOAuth, LinkStore, MintOutcome, OAuthVisitor, StaffMessenger};
pub use tracker::{LinkTracker, NoTracking, StoreTracker};

use crate::http::ApiError;
use crate::ports::{MayRetry, StoreError};
use crate::wecom::api::WeComError;

/// Why a links use case failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The input breaks the rules (each problem listed).
    #[error("the link is not valid: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// No such link.
    #[error("no such link")]
    NoSuchLink,
    /// The idempotency key was used for another link.
    #[error("the Idempotency-Key was used for another link")]
    KeyReused,
    /// The code of this send context is held by another link (vanishingly rare).
    #[error("the short code of this send context is taken")]
    Collision,
    /// A bad date range.
    #[error("{0}")]
    BadRange(String),
    /// WeCom failed where a retry may succeed.
    #[error(transparent)]
    WeCom(#[from] WeComError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The event cannot be handled (malformed tenant id).
    #[error("not a link event: {0}")]
    Malformed(String),
}

impl MayRetry for LinkError {
    fn is_retryable(&self) -> bool {
        match self {
            LinkError::Store(e) => e.is_retryable(),
            LinkError::WeCom(e) => e.is_retryable(),
            LinkError::Collision => true,
            _ => false,
        }
    }
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Invalid(ref problems) => ApiError::validation(e.to_string())
                .with_details(serde_json::json!({ "problems": problems })),
            LinkError::NoSuchLink => ApiError::not_found(e.to_string()),
            LinkError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
            LinkError::Collision => ApiError::conflict("code_taken", e.to_string()),
            LinkError::BadRange(m) => ApiError::validation(m),
            LinkError::WeCom(_) | LinkError::Malformed(_) => {
                tracing::warn!(error = %e, "link request failed");
                ApiError::unavailable()
            }
            LinkError::Store(s) => s.into(),
        }
    }
}
