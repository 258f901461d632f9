//! Wiring only: the container's adapters and the queue, built once per cold start, handed
//! to the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::handle;
use scrm_adapters::bootstrap::{BootError, Container};
use scrm_adapters::queue::SqsQueue;
use scrm_core::clock::SystemClock;
use scrm_core::sop::dispatch::Scheduler;
use std::sync::Arc;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let scheduler = Scheduler {
        store: c.sop(),
        // Ids and settings only: the scheduler opens no secrets and calls no WeCom.
        tenants: c.tenants(),
        queue: SqsQueue::from_env(&c.sdk).map_err(BootError::from)?,
        clock: Arc::new(SystemClock),
    };
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        handle(&scheduler, event)
    }))
    .await
}
