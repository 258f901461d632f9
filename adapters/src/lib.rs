//! The implementations of `scrm-core`'s ports, and the edge every function shares.
//!
//! - [`dynamo`]: one small DynamoDB toolkit ([`dynamo::Table`]-style helpers on [`dynamo::Db`],
//!   one update-expression builder, item attribute helpers, one error mapping, the table
//!   definitions) and the adapters of the directory, ledger, tasks and tenants tables.
//! - [`wecom`]: the WeCom server-API client (token cache, retries, typed errcodes) and its
//!   implementations of the contexts' WeCom ports; the fake WeCom server behind the
//!   `fake-wecom` feature.
//! - [`events`]: the EventBridge publisher (and the local one for `cargo lambda watch`).
//! - [`queue`]: the SOP dispatch queue on SQS, and Lambda's SQS event and batch answer.
//! - [`lambda`]: the one mapping of a use case's error to Lambda's `Diagnostic`.
//! - [`http`] (feature `http`): the one HTTP edge of the function-URL functions.
//! - [`aws_http`]: the AWS SDK's HTTP client (reqwest on rustls with *ring*: one TLS stack).
//! - [`crypto`]: data keys for sealing secrets at rest (KMS, or a local key).
//! - [`bootstrap`]: configuration, SDK clients and adapters, built once per container.
#![forbid(unsafe_code)]

pub mod aws_http;
pub mod bootstrap;
pub mod crypto;
pub mod dynamo;
pub mod events;
#[cfg(feature = "http")]
pub mod http;
pub mod lambda;
pub mod pictures;
pub mod queue;
pub mod s3;
pub mod telemetry;
pub mod wecom;
