//! The one shared library of the WeCom SCRM backend.
//!
//! Organised by domain. Pure rules (crypto, event parsing, points and SOP rules) sit apart
//! from the adapters that talk to DynamoDB, EventBridge and WeCom's server API, so that the
//! rules are tested without I/O and the adapters are tested against DynamoDB Local and a
//! fake WeCom server.
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod contacts;
pub mod events;
pub mod http;
pub mod points;
pub mod sop;
pub mod store;
pub mod tags;
pub mod telemetry;
pub mod tenants;
pub mod tokens;
pub mod wecom;
