//! The integration tests: one test binary, a module per feature. Every test runs against
//! DynamoDB Local (started by `scripts/test.sh`, endpoint in `AWS_ENDPOINT_URL_DYNAMODB`)
//! and, where WeCom is involved, the fake WeCom server on loopback.

mod admin;
mod callback;
mod console;
mod content;
mod dashboard;
mod directory;
mod fission;
mod fission_group;
mod forms;
mod growth;
mod growth_group;
mod growth_rota;
mod infra;
mod inputs;
mod jssdk;
mod layers;
mod links;
mod official_account;
mod peak_meter;
mod points;
mod search;
mod secrets;
mod sidebar;
mod sop;
mod wecom_api;
mod wecom_crypto;
