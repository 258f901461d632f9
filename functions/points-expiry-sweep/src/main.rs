//! Wiring only: configuration, clients built once, then the handler.
use lambda_runtime::{run, service_fn, Error};
use points_expiry_sweep_fn::handle;
use scrm_core::clock::SystemClock;
use scrm_core::config::{aws_sdk_config, Config};
use scrm_core::points::DynamoPoints;
use scrm_core::store::Db;
use scrm_core::tenants::DynamoTenants;

#[tokio::main]
async fn main() -> Result<(), Error> {
    scrm_core::telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws_sdk_config().await;
    let db = Db::from_sdk_config(&sdk, config.tables.clone());
    let points = DynamoPoints::new(db.clone());
    let tenants = DynamoTenants::new(db);
    let clock = SystemClock;
    run(service_fn(|event| handle(&points, &tenants, &clock, event))).await
}
