//! Acquisition: channel codes (渠道活码, WeCom's 「联系我」 codes with a generated `state`)
//! with a staff rota, a welcome message sent on add, tags and a remark applied on add, and
//! per-code daily figures; the tenant's default welcome for adds without a channel.
//!
//! - [`model`]: what an operator configures and its limits;
//! - [`rota`]: who a code adds to at a local time (pure);
//! - [`welcome`]: rendering a welcome and a remark (pure);
//! - [`state`]: generated states, stable per idempotency key;
//! - [`admin`]: the admin API's use cases;
//! - [`on_event`]: the consumer of `ContactAdded` / `ContactRemoved`;
//! - [`group_code`]: group codes (群活码), a join way rotating through a pool of groups
//!   (pure); [`group_code_admin`] and [`group_code_event`] their admin API and consumer;
//! - [`fission`]: fission campaigns' rules (pure): who counts for whom, holds, tiers;
//!   [`fission_admin`] their admin and customer API, [`fission_run`] joins, leaves, holds
//!   ending, payouts and campaigns' ends; [`fission_event`] group campaigns' joins and
//!   departures; [`fission_coupons`] the coupon code lists coupon tiers pay from;
//! - [`welcome_refs`]: a welcome's materials and group invite, checked and prepared at save;
//! - [`rota_runner`]: every minute, the codes whose shift boundary has come moved on;
//! - [`ports`]: the store, WeCom and the directory's facts.
pub mod admin;
pub mod fission;
pub mod fission_admin;
pub mod fission_coupons;
pub mod fission_event;
pub mod fission_run;
pub mod group_code;
pub mod group_code_admin;
pub mod group_code_event;
pub mod model;
pub mod on_event;
pub mod ports;
pub mod rota;
pub mod rota_runner;
pub mod state;
pub mod welcome;
pub mod welcome_refs;

pub use group_code::{GroupCode, GroupCodeInput, GroupCodeStatus};
pub use model::{
    ChannelCode, CodeInput, CodeKind, CodeStatus, Rota, Shift, Welcome, WelcomeAttachment,
};
pub use ports::{
    AddRecord, ContactFacts, GroupCodeStore, GroupDay, GroupFacts, GrowthStore, GrowthWeCom,
    JoinWayWeCom, MemberDay, Movement, RotaDue, WelcomeOutcome,
};
