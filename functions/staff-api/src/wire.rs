//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the router. `main.rs` and the deployment's multi-call binary both start here.
use crate::{router, SidebarStores, StaffApi};
use scrm_adapters::bootstrap::{Container, WeComUse};
use scrm_core::clock::SystemClock;
use scrm_core::jssdk::WebOrigins;
use std::sync::Arc;

/// Builds the task center once and serves requests.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    // A staff member waits on every call (login, signatures, tag edits): short retries.
    let wecom = c.wecom(WeComUse::PersonWaiting)?;
    let api = StaffApi {
        store: c.sop(),
        // The task content's materials, as the dispatcher sends them.
        materials: c.materials(&wecom)?,
        wecom,
        tenants: c.tenants_with_secrets()?,
        directory: c.directory(),
        refused_codes: Default::default(),
        clock: Arc::new(SystemClock),
        signing_key: c.signing_keys()?,
        web_origins: WebOrigins::parse(&std::env::var("PUBLIC_WEB_ORIGINS").unwrap_or_default()),
        sidebar: SidebarStores {
            tags: c.tags(),
            points: c.points(),
        },
        links: c.link_tracker(),
    };
    router(Arc::new(api)).serve().await
}
