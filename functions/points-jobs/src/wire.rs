//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the handler. `main.rs` and the deployment's multi-call binary both start here.
use crate::{handle, Limits};
use scrm_adapters::bootstrap::Container;
use scrm_adapters::lambda::{FnError, Invocation};
use scrm_core::clock::SystemClock;

/// Builds the handler once and serves invocations.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let (points, tenants, publisher) = (c.points(), c.tenants(), c.publisher());
    let (points, tenants, publisher) = (&points, &tenants, &publisher);
    lambda_runtime::run(lambda_runtime::service_fn(|event| -> Invocation<'_> {
        Box::pin(async move {
            handle(
                points,
                tenants,
                publisher,
                &SystemClock,
                Limits::default(),
                event,
            )
            .await
            .map_err(FnError::from)
        })
    }))
    .await
}
