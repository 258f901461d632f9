//! Community points (社群积分): a money-grade ledger with earning rules, check-ins,
//! rewards, expiry, import and bulk operations.
//!
//! - [`model`], [`rules`], [`plan`], [`import`], [`views`], [`rewards`]: pure values and
//!   rules, tested without I/O (FIFO lots, streaks in the tenant's timezone, CSV rows).
//! - [`ledger`]: the write path — read, plan, one conditional transaction with the
//!   idempotency record, re-plan on contention; a retried key answers the first result.
//! - [`earn`], [`jobs`], [`sweep`]: the rules applied (check-in, profile, follows,
//!   newcomer, zero-on-leave), bulk operations and resumable jobs, the expiry sweep.
//! - [`session`]: customer tokens, minted only on a server's word (an API key).
//! - [`ports`]: what these need, by capability; [`dynamo`] implements them on the ledger
//!   table (layout in [`keys`]); [`directory`] reads memberships from [`crate::contacts`].
//!
//! The ledger's invariants: entries are append-only and numbered without gaps; the
//! balance equals the sum of the entries and the sum of the lots' remaining points; it is
//! never negative; every change is an entry with its reason, source and operator.
pub mod accounts;
pub mod admin;
pub mod bulk;
pub mod check_in_page;
pub mod earn;
pub mod error;
pub mod import;
pub mod job_run;
pub mod jobs;
pub mod ledger;
pub mod model;
pub mod on_event;
pub mod orders;
pub mod plan;
pub mod ports;
pub mod preview;
pub mod ranking;
pub mod rewards;
pub mod rules;
pub mod session;
pub mod stats;
pub mod sweep;
pub mod sweep_all;
pub mod views;

pub use error::PointsError;
pub use ledger::When;
pub use model::{Applied, CustomerId, Entry, EntryKind, IdempotencyKey, Origin, Outcome, Points};
pub use ports::Account;
pub use rules::PointsRules;
