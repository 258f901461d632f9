//! The integration tests: one test binary, a module per feature. Every test runs against
//! DynamoDB Local (started by `scripts/test.sh`, endpoint in `AWS_ENDPOINT_URL_DYNAMODB`)
//! and, where WeCom is involved, the fake WeCom server on loopback.

mod admin;
mod callback;
mod console;
mod directory;
mod infra;
mod inputs;
mod jssdk;
mod layers;
mod official_account;
mod points;
mod secrets;
mod sop;
mod wecom_api;
mod wecom_crypto;
