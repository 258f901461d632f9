//! Wiring only: configuration, clients built once, then the handler.
use directory_resync_fn::{handle, ResyncSettings, Resyncer};
use lambda_runtime::{run, service_fn, Error};
use scrm_core::clock::SystemClock;
use scrm_core::config::{aws_sdk_config, Config};
use scrm_core::contacts::DynamoDirectory;
use scrm_core::events::AnyPublisher;
use scrm_core::store::Db;
use scrm_core::tags::DynamoTags;
use scrm_core::tenants::DynamoTenants;
use scrm_core::wecom::api::{DynamoTokenCache, WeComClient, WeComConfig};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    scrm_core::telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws_sdk_config().await;
    let db = Db::from_sdk_config(&sdk, config.tables.clone());
    let cache = DynamoTokenCache::new(db.client.clone(), config.tables.tenants.clone());
    let source = WeComClient::new(WeComConfig::new(&config.wecom_api_base), Arc::new(cache))?;
    let resyncer = Resyncer {
        tenants: DynamoTenants::new(db.clone()),
        dir: DynamoDirectory::new(db.clone()),
        tags: DynamoTags::new(db),
        source,
        publisher: AnyPublisher::from_config(&config.events, &sdk),
        clock: Arc::new(SystemClock),
        settings: ResyncSettings::default(),
    };
    run(service_fn(|event| handle(&resyncer, event))).await
}
