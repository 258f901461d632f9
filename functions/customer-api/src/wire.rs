//! Wiring only: the container's adapters and clients, built once per cold start, handed to
//! the router. `main.rs` and the deployment's multi-call binary both start here.
use crate::official::OfficialLogin;
use crate::{router, CustomerApi};
use scrm_adapters::bootstrap::{wecom_config, BootError, Container, WeComUse};
use scrm_adapters::dynamo::DynamoOfficialAccounts;
use scrm_adapters::wecom::{DynamoTokenCache, WeChatClient};
use scrm_core::clock::SystemClock;
use scrm_core::official::{DEFAULT_API_BASE, DEFAULT_OAUTH_BASE};
use std::sync::Arc;

/// Builds the API once and serves requests.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    let api = CustomerApi {
        points: c.points().with_rules_cache(crate::RULES_CACHED_FOR),
        directory: c.directory(),
        tenants: c.tenants(),
        clock: Arc::new(SystemClock),
        signing_key: c.signing_keys()?,
        official: Some(Arc::new(official_login(&c)?)),
        forms: crate::forms::Forms {
            store: c.growth(),
            publisher: c.publisher(),
        },
        fission: Some(Arc::new(crate::fission::Fission {
            store: c.growth(),
            wecom: c.wecom(WeComUse::PersonWaiting)?,
            tenants: c.tenants_with_secrets()?,
            pictures: scrm_adapters::pictures::HttpPictures::from_env(),
        })),
    };
    router(Arc::new(api)).serve().await
}

/// The official-account login: the one part of this API that opens tenant secrets (the
/// account's AppSecret, the customer-contact secret for WeCom's unionid mapping) and caches
/// the account's access token, sealed.
fn official_login(c: &Container) -> Result<OfficialLogin, BootError> {
    let keys = c.secret_keys()?;
    let cache = DynamoTokenCache::new(
        c.db.client.clone(),
        c.db.tables.tenants.clone(),
        keys.clone(),
    );
    let base = std::env::var("WECHAT_API_BASE").unwrap_or_else(|_| DEFAULT_API_BASE.into());
    let wechat = WeChatClient::new(
        wecom_config(&base, WeComUse::PersonWaiting),
        Arc::new(cache),
    )
    .map_err(|e| BootError::Client(e.to_string()))?;
    Ok(OfficialLogin {
        accounts: DynamoOfficialAccounts::new(&c.db.clone().with_secret_keys(keys)),
        wechat,
        wecom: c.wecom(WeComUse::PersonWaiting)?,
        tenants: c.tenants_with_secrets()?,
        authorize_url: std::env::var("WECHAT_OAUTH_BASE")
            .unwrap_or_else(|_| DEFAULT_OAUTH_BASE.into()),
    })
}
