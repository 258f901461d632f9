//! Callback receipts: what makes a WeCom callback land exactly once.
//!
//! WeCom re-delivers a callback it got no answer to within 5 seconds, and customer-contact
//! events carry no MsgId, so each callback is keyed by a dedupe key derived from its
//! content. Its receipt is written before any effect and moves through a small state
//! machine:
//!
//! ```text
//!   (none) --put with the plan--> received (planned) --effects written, events published-->
//!          published
//!   (a failed publication records `applied` with the events, for the next delivery)
//! ```
//!
//! A delivery reads the receipt before writing anything, so a re-delivery of a finished
//! callback costs one read and no write. A first delivery decides the events (reading WeCom
//! and the directory) and creates the receipt with that plan in one conditional put; then
//! the effects; then, after publishing, one update to `published`.
//!
//! One delivery at a time owns a receipt through a lease (`lease_owner`, `lease_until`).
//! - A first delivery creates the receipt with a conditional put and owns it.
//! - A duplicate finds it `published` and does nothing.
//! - A concurrent duplicate finds a live lease and waits for the owner (or asks WeCom to
//!   retry), so concurrent deliveries give one effect.
//! - A delivery that crashed midway leaves its lease to expire; the next re-delivery takes
//!   the receipt over (a conditional update, so only one can) and continues from the
//!   recorded state: effects again if still `received` (they are idempotent), else only the
//!   publication of the events recorded at `applied` (same deterministic event ids).
//! - The events a change may produce are decided once, before any effect is written, from
//!   the directory as it was then, and recorded on the receipt (`planned`). A takeover
//!   writes the effects again but keeps that plan, so it publishes exactly what the first
//!   attempt would have, although the directory already holds the effects. Membership
//!   writes carry the dedupe key, so "this callback already made that change" still counts
//!   as having made it.
//!
//! A failed attempt releases its lease at once, so WeCom's next re-delivery need not wait.
//! A receipt still unpublished past its lease (its delivery died after WeCom's last retry)
//! is listed by [`ReceiptStore::stuck`] and finished by the scheduled sweep
//! ([`super::inbox::Inbox::sweep`]).
use crate::events::EventEnvelope;
use crate::ports::StoreError;
use serde::{Deserialize, Serialize};

/// How long receipts are kept (the dedupe window WeCom needs is minutes; the rest is for
/// operators looking at what arrived).
pub const RECEIPT_TTL_DAYS: i64 = 30;

/// Where a receipt is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Durably received; effects not yet (all) written.
    Received,
    /// Effects written; the domain events are recorded on the receipt, not yet published.
    Applied,
    /// Done.
    Published,
}

impl ReceiptStatus {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReceiptStatus::Received => "received",
            ReceiptStatus::Applied => "applied",
            ReceiptStatus::Published => "published",
        }
    }

    /// Reads a stored name.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        match raw {
            "received" => Ok(ReceiptStatus::Received),
            "applied" => Ok(ReceiptStatus::Applied),
            "published" => Ok(ReceiptStatus::Published),
            other => Err(StoreError::Corrupt(format!("receipt status {other}"))),
        }
    }
}

/// What is recorded about a callback when it first arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReceipt {
    /// `Event` or `Event/ChangeType` (e.g. `change_external_contact/add_external_contact`).
    pub kind: String,
    /// Whether the event is one the system does not know (stored and acknowledged only).
    pub unknown: bool,
    /// The decrypted XML.
    pub xml: String,
    /// The callback's CreateTime (epoch seconds).
    pub event_time: i64,
    /// The events decided before any effect, when the delivery creating the receipt made
    /// its plan first (recorded in the same write).
    pub planned: Option<Vec<EventEnvelope>>,
}

/// A lease on a receipt, held by one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// A random id of the delivery attempt.
    pub owner: String,
    /// Until when (epoch milliseconds).
    pub until_ms: i64,
}

/// The outcome of trying to take a receipt.
#[derive(Debug, Clone, PartialEq)]
pub enum Acquired {
    /// This delivery owns the receipt and must carry it on from `status`.
    Owned {
        /// The lease to present on every transition.
        lease: Lease,
        /// Where the receipt is (`Received` for a first delivery).
        status: ReceiptStatus,
        /// The events recorded at `applied`, when resuming from there.
        events: Option<Vec<EventEnvelope>>,
        /// The events planned before the effects, when an earlier attempt recorded them.
        planned: Option<Vec<EventEnvelope>>,
        /// Whether this is a takeover of an attempt that did not finish.
        resumed: bool,
    },
    /// Already published: a duplicate with nothing left to do.
    Done,
    /// Another delivery holds a live lease.
    Busy,
}

/// A receipt as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptView {
    /// The dedupe key.
    pub dedupe_key: String,
    /// `Event/ChangeType`.
    pub kind: String,
    /// Whether the event is unknown to the system.
    pub unknown: bool,
    /// Where it is.
    pub status: ReceiptStatus,
    /// When it first arrived.
    pub received_at: String,
    /// The callback's CreateTime (epoch seconds).
    pub event_time: i64,
    /// Deliveries that worked on it (re-deliveries that found it done are not counted).
    pub attempts: i64,
    /// How many domain events it produced (once applied).
    pub events: Option<usize>,
    /// The last failure, if an attempt failed.
    pub last_error: Option<String>,
    /// The decrypted XML.
    pub xml: String,
}

pub use super::ports::ReceiptStore;
