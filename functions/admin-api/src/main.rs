//! Wiring only: configuration, clients built once, then the handler.
use admin_api_fn::{handle, AdminApi};
use lambda_http::{run, service_fn, Error};
use scrm_core::clock::SystemClock;
use scrm_core::config::{aws_sdk_config, Config};
use scrm_core::events::AnyPublisher;
use scrm_core::store::Db;
use scrm_core::tenants::DynamoTenants;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    scrm_core::telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws_sdk_config().await;
    let db = Db::from_sdk_config(&sdk, config.tables.clone());
    let api = AdminApi {
        tenants: DynamoTenants::new(db.clone()),
        db,
        publisher: AnyPublisher::from_config(&config.events, &sdk),
        wecom_api_base: config.wecom_api_base.clone(),
        clock: Arc::new(SystemClock),
        signing_key: config.signing_key.clone(),
    };
    run(service_fn(|req| handle(&api, req))).await
}
