//! WeCom's protocol, as pure code: callback crypto, callback event parsing, and the server
//! API's request and response shapes and errcodes (the HTTP client is in `scrm-adapters`).
pub mod api;
pub mod crypto;
pub mod events;
mod flat_xml;
