//! Wiring only: configuration, clients built once, then the handler.
use lambda_http::{run, service_fn, Error};
use scrm_core::clock::SystemClock;
use scrm_core::config::{aws_sdk_config, Config};
use scrm_core::contacts::DynamoDirectory;
use scrm_core::events::AnyPublisher;
use scrm_core::store::Db;
use scrm_core::tags::DynamoTags;
use scrm_core::tenants::DynamoTenants;
use scrm_core::wecom::api::{DynamoTokenCache, RetryPolicy, WeComClient, WeComConfig};
use std::sync::Arc;
use std::time::Duration;
use wecom_callback_fn::{handle, CallbackHandler, CallbackPolicy};

#[tokio::main]
async fn main() -> Result<(), Error> {
    scrm_core::telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws_sdk_config().await;
    let db = Db::from_sdk_config(&sdk, config.tables.clone());
    let policy = CallbackPolicy::default();
    // WeCom reads made while a callback waits for its answer: short, barely retried.
    let mut wecom = WeComConfig::new(&config.wecom_api_base);
    wecom.connect_timeout = Duration::from_millis(800);
    wecom.request_timeout = policy.fetch_budget;
    wecom.retry = RetryPolicy {
        busy_retries: 1,
        rate_limit_attempts: 1,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(200),
        budget: policy.fetch_budget,
    };
    let cache = DynamoTokenCache::new(db.client.clone(), config.tables.tenants.clone());
    let handler = CallbackHandler {
        tenants: DynamoTenants::new(db.clone()),
        dir: DynamoDirectory::new(db.clone()),
        tags: DynamoTags::new(db),
        source: WeComClient::new(wecom, Arc::new(cache))?,
        publisher: AnyPublisher::from_config(&config.events, &sdk),
        clock: Arc::new(SystemClock),
        policy,
    };
    run(service_fn(|req| handle(&handler, req))).await
}
