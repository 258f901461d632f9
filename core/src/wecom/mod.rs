//! WeCom: callback crypto, callback event parsing, and the server API client.
pub mod api;
pub mod crypto;
pub mod events;
#[cfg(feature = "fake-wecom")]
pub mod fake;
