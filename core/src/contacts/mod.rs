//! The customer and group directory, kept current from WeCom's callbacks and re-synced
//! from WeCom's API.
//!
//! - [`model`]: customers with their follow relations, groups with their memberships.
//! - [`store`]: the DynamoDB adapter of the directory table (key layout in [`keys`]).
//!   Writes are idempotent and order-tolerant: each item keeps the time of the newest change
//!   applied, and an older change is dropped.
pub mod apply;
pub mod keys;
pub mod model;
pub mod receipts;
pub mod resync;
pub mod store;

pub(crate) mod expr;
pub mod source;

pub use model::*;
pub use store::{
    looks_like_customer, DirectoryRead, DirectoryWrite, DynamoDirectory, FollowWrite, MemberWrite,
};
