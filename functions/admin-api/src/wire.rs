//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the router. `main.rs` and the deployment's multi-call binary both start here.
use crate::console::Console;
use crate::{router, AdminApi};
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_core::clock::SystemClock;
use std::sync::Arc;

/// Builds the API once and serves requests.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let api = AdminApi {
        tenants: c.tenants_with_secrets()?,
        directory: c.directory(),
        tags: c.tags(),
        points: c.points(),
        sop: c.sop(),
        growth: c.growth(),
        publisher: c.publisher(),
        wecom: c.wecom(WeComUse::PersonWaiting)?,
        clock: Arc::new(SystemClock),
        signing_key: c.signing_keys()?,
        console: Console::from_env(&c.db)?,
        content: crate::content::ContentCenter::new(&c.db, c.objects()?),
    };
    router(Arc::new(api)).serve().await
}
