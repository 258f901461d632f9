//! The customer and group directory, kept current from WeCom's callbacks and re-synced
//! from WeCom's API.
//!
//! - [`model`]: customers with their follow relations, groups with their memberships.
//! - [`ports`]: what the directory needs from its store and from WeCom.
//! - [`apply`]: a callback's effects on the directory; [`receipts`]: the inbox that lands
//!   each callback exactly once; [`resync`]: the resumable full re-sync.
pub mod apply;
pub mod model;
pub mod ports;
pub mod receipts;
pub mod resync;
pub mod source;

pub use model::*;
pub use ports::{looks_like_customer, DirectoryRead, DirectoryWrite, FollowWrite, MemberWrite};
