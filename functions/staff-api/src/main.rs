//! Wiring only: configuration, clients built once, then the handler.
use lambda_http::{run, service_fn, Error};
use scrm_core::clock::SystemClock;
use scrm_core::config::{aws_sdk_config, Config};
use scrm_core::sop::DynamoSop;
use scrm_core::store::Db;
use scrm_core::tenants::DynamoTenants;
use scrm_core::wecom::api::{DynamoTokenCache, WeComClient, WeComConfig};
use staff_api_fn::{handle, StaffApi};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    scrm_core::telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws_sdk_config().await;
    let db = Db::from_sdk_config(&sdk, config.tables.clone());
    let cache = DynamoTokenCache::new(db.client.clone(), config.tables.tenants.clone());
    let api = StaffApi {
        store: DynamoSop::new(db.clone()),
        wecom: WeComClient::new(WeComConfig::new(&config.wecom_api_base), Arc::new(cache))?,
        tenants: DynamoTenants::new(db),
        clock: Arc::new(SystemClock),
        signing_key: config.signing_key.clone(),
    };
    run(service_fn(|req| handle(&api, req))).await
}
