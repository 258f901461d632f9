//! Wiring only: configuration, clients built once, then the handler.
use customer_api_fn::{handle, CustomerApi};
use lambda_http::{run, service_fn, Error};
use scrm_core::clock::SystemClock;
use scrm_core::config::{aws_sdk_config, Config};
use scrm_core::contacts::DynamoDirectory;
use scrm_core::points::DynamoPoints;
use scrm_core::store::Db;
use scrm_core::tenants::DynamoTenants;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    scrm_core::telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws_sdk_config().await;
    let db = Db::from_sdk_config(&sdk, config.tables.clone());
    let api = CustomerApi {
        points: DynamoPoints::new(db.clone()),
        directory: DynamoDirectory::new(db.clone()),
        tenants: DynamoTenants::new(db),
        clock: Arc::new(SystemClock),
        signing_key: config.signing_key.clone(),
    };
    run(service_fn(|req| handle(&api, req))).await
}
