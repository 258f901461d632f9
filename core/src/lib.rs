//! The domain and the use cases of the WeCom SCRM, and nothing that talks to a network.
//!
//! Organised by context (`contacts`, `points`, `sop`, `tags`, `tenants`, `events`). Each
//! context keeps its ports (the traits its use cases need from stores and from WeCom) in
//! its `ports.rs`; the implementations live in `scrm-adapters`. WeCom's protocol (callback
//! crypto, callback XML, server-API request and response shapes, errcodes) is pure code and
//! lives here in `wecom`. A CI step and a test (`tests/it/layers.rs`) fail if this crate
//! gains a dependency on an SDK or an HTTP crate.
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod contacts;
pub mod content;
pub mod dashboard;
pub mod events;
pub mod forms;
pub mod growth;
pub mod http;
pub mod jssdk;
pub mod links;
pub mod official;
pub mod points;
pub mod ports;
pub mod secrets;
pub mod sidebar;
pub mod sop;
pub mod tags;
pub mod tenants;
pub mod tokens;
pub mod wecom;
