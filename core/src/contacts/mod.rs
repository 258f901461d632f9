//! The customer and group directory, kept current from WeCom's callbacks and re-synced
//! from WeCom's API.
//!
//! - [`model`]: customers with their follow relations, groups with their memberships.
//! - [`ports`]: what the directory needs from its store and from WeCom.
//! - [`callback`]: a parsed callback's kind, dedupe key and change; [`apply`]: a change's
//!   effects on the directory; [`receipts`]: the receipt state machine and its port;
//!   [`inbox`]: the use case that lands each callback exactly once (receipt → effects →
//!   publish, with lease and takeover).
//! - [`resync`]: the resumable full re-sync; [`resync_run`]: one run of it on
//!   `ResyncRequested` (lease, budget, continuation).
//! - [`admin`]: the directory look-ups of the admin API; [`search`]: customers by name
//!   (a sharded name index) or id, groups by name.
pub mod admin;
pub mod apply;
pub mod callback;
pub mod inbox;
pub mod model;
pub mod ports;
pub mod receipts;
pub mod resync;
pub mod resync_run;
pub mod search;
pub mod source;

pub use model::*;
pub use ports::{
    looks_like_customer, DirectoryRead, DirectoryWrite, FollowWrite, MemberWrite, NameIndex,
};
