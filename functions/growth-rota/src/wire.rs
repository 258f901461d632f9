//! Wiring only: the container's adapters and WeCom client, built once per cold start,
//! handed to the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::{handle_minute, GrowthMinute};
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_core::clock::SystemClock;
use scrm_core::growth::rota_runner::RotaRunner;
use std::sync::Arc;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let minute = GrowthMinute {
        rota: RotaRunner {
            store: c.growth(),
            wecom: c.wecom(WeComUse::Background)?,
            tenants: c.tenants_with_secrets()?,
            clock: Arc::new(SystemClock),
        },
        cards: c.directory(),
        ledger: c.points(),
        publisher: c.publisher(),
    };
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        handle_minute(&minute, event)
    }))
    .await
}
