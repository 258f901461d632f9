//! Wiring only: the container's adapters, built once per cold start, handed to the handler.
//! `main.rs` and the deployment's multi-call binary both start here.
use crate::{handle, AppCache, CodeCache, LinkRedirect, OAuthSetup};
use scrm_adapters::bootstrap::{wecom_config, BootError, Container, WeComUse};
use scrm_adapters::dynamo::{DynamoOfficialAccounts, DynamoTenants};
use scrm_adapters::wecom::{DynamoTokenCache, WeChatClient, WeComClient};
use scrm_core::clock::SystemClock;
use scrm_core::links::visitor::OfficialLinkOAuth;
use scrm_core::official::{DEFAULT_API_BASE, DEFAULT_OAUTH_BASE};
use scrm_core::tokens::SigningKeys;
use std::sync::Arc;

/// The official-account OAuth of the deployment's clients.
pub type OfficialOAuth =
    OfficialLinkOAuth<DynamoOfficialAccounts, WeChatClient, WeComClient, DynamoTenants>;

/// Builds the handler once and serves requests.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let c = Container::from_env().await?;
    // Without the signing keys every visitor is anonymous (counted, not identified).
    let signing_keys = c.signing_keys().ok();
    let oauth = match &signing_keys {
        Some(keys) => match official_oauth(&c, keys.clone()) {
            Ok(o) => Some(o),
            Err(e) => {
                tracing::warn!(error = %e, "official-account OAuth of link visitors is off");
                None
            }
        },
        None => None,
    };
    let handler = LinkRedirect {
        store: c.growth(),
        publisher: c.publisher(),
        signing_keys,
        clock: Arc::new(SystemClock),
        cache: CodeCache::default(),
        oauth,
    };
    lambda_http::run(lambda_http::service_fn(|req| handle(&handler, req))).await
}

/// What the OAuth needs: the one part of this function that opens tenant secrets (the
/// account's AppSecret, WeCom's customer-contact secret for the unionid mapping), as
/// `customer-api`'s official-account login does.
fn official_oauth(
    c: &Container,
    keys: SigningKeys,
) -> Result<OAuthSetup<OfficialOAuth>, BootError> {
    let secret_keys = c.secret_keys()?;
    let cache = DynamoTokenCache::new(
        c.db.client.clone(),
        c.db.tables.tenants.clone(),
        secret_keys.clone(),
    );
    let base = std::env::var("WECHAT_API_BASE").unwrap_or_else(|_| DEFAULT_API_BASE.into());
    let wechat = WeChatClient::new(
        wecom_config(&base, WeComUse::PersonWaiting),
        Arc::new(cache),
    )
    .map_err(|e| BootError::Client(e.to_string()))?;
    Ok(OAuthSetup {
        oauth: OfficialLinkOAuth {
            accounts: DynamoOfficialAccounts::new(&c.db.clone().with_secret_keys(secret_keys)),
            wechat,
            resolver: c.wecom(WeComUse::PersonWaiting)?,
            tenants: c.tenants_with_secrets()?,
            keys,
        },
        authorize_url: std::env::var("WECHAT_OAUTH_BASE")
            .unwrap_or_else(|_| DEFAULT_OAUTH_BASE.into()),
        public_base: std::env::var("LINKS_BASE_URL")
            .ok()
            .filter(|b| !b.is_empty()),
        apps: AppCache::default(),
    })
}
