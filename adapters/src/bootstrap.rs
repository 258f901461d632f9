//! Built once per container and shared by every function's wiring: structured logs, the
//! configuration from the environment, the AWS SDK configuration, the DynamoDB handle, and
//! the adapters and clients built from them. A missing required setting fails the cold
//! start, not the first request.
use crate::dynamo::{
    Db, DynamoDirectory, DynamoGrowth, DynamoPoints, DynamoSop, DynamoTags, DynamoTenants,
};
use crate::events::AnyPublisher;
use crate::wecom::{DynamoTokenCache, RetryPolicy, WeComClient, WeComConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;
use aws_types::sdk_config::SdkConfig;
use scrm_core::config::{Config, ConfigError};
use scrm_core::secrets::KeyService;
use scrm_core::tokens::SigningKeys;
use std::sync::Arc;
use std::time::Duration;

/// How a function uses WeCom's API, which decides the client's timeouts and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeComUse {
    /// Background work (schedules, events, the admin API): WeCom's default timeouts and
    /// bounded retries with backoff.
    Background,
    /// A person waits for the answer (a customer page asking for its session): WeCom's busy
    /// answers are retried briefly and then reported (503), for the page to retry, rather
    /// than holding the request for the background budget.
    PersonWaiting,
    /// Reads made while a WeCom callback waits for its answer (WeCom re-delivers after
    /// 5 s): short timeouts, barely retried, within `budget`.
    WhileCallbackWaits {
        /// The most one read may take, retries included.
        budget: Duration,
    },
}

/// What every function is wired from, built once per container.
#[derive(Debug, Clone)]
pub struct Container {
    /// The configuration read from the environment.
    pub config: Config,
    /// The AWS SDK configuration (credentials, region, retries, timeouts).
    pub sdk: SdkConfig,
    /// The DynamoDB client and table names.
    pub db: Db,
}

/// A cold start failed.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// A setting is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A client could not be built.
    #[error("client: {0}")]
    Client(String),
}

impl Container {
    /// Installs the logs, reads the configuration and loads the AWS SDK configuration.
    pub async fn from_env() -> Result<Self, BootError> {
        crate::telemetry::init();
        let config = Config::from_env()?;
        let sdk = aws_sdk_config()?;
        let db = Db::new(dynamodb_client(&sdk), config.tables.clone());
        Ok(Self { config, sdk, db })
    }

    /// The tenants table adapter without the key service: settings and ids, secrets
    /// withheld. What the functions that neither call WeCom nor verify callbacks get.
    pub fn tenants(&self) -> DynamoTenants {
        DynamoTenants::new(self.db.clone())
    }

    /// The tenants table adapter that opens tenant secrets: only for the functions that call
    /// WeCom or verify callbacks (the template grants only them `kms:Decrypt`).
    pub fn tenants_with_secrets(&self) -> Result<DynamoTenants, BootError> {
        Ok(DynamoTenants::new(
            self.db.clone().with_secret_keys(self.secret_keys()?),
        ))
    }

    /// The key service that seals and opens secrets at rest (`SECRETS_KMS_KEY_ID` or, in
    /// local runs, `SECRETS_LOCAL_KEY`). Built only by the functions that ask for it.
    pub fn secret_keys(&self) -> Result<Arc<dyn KeyService>, BootError> {
        crate::crypto::key_service_from_env(&self.sdk)?.ok_or_else(|| {
            BootError::Config(ConfigError(format!(
                "{} or {} must be set",
                crate::crypto::KMS_KEY_ENV,
                crate::crypto::LOCAL_KEY_ENV
            )))
        })
    }

    /// The token signing keys (`TOKEN_SIGNING_KEYS`): only for the functions that sign or
    /// verify customer tokens and staff links.
    pub fn signing_keys(&self) -> Result<SigningKeys, BootError> {
        Ok(SigningKeys::from_env()?)
    }
    /// The directory table adapter.
    pub fn directory(&self) -> DynamoDirectory {
        DynamoDirectory::new(self.db.clone())
    }
    /// The corp tag mirror (directory table).
    pub fn tags(&self) -> DynamoTags {
        DynamoTags::new(self.db.clone())
    }
    /// The ledger table adapter.
    pub fn points(&self) -> DynamoPoints {
        DynamoPoints::new(self.db.clone())
    }
    /// The tasks table adapter.
    pub fn sop(&self) -> DynamoSop {
        DynamoSop::new(self.db.clone())
    }
    /// Channel codes, welcome records and their figures (tasks table).
    pub fn growth(&self) -> DynamoGrowth {
        DynamoGrowth::new(self.db.clone())
    }
    /// The content center's materials (tasks table).
    pub fn content(&self) -> crate::dynamo::DynamoContent {
        crate::dynamo::DynamoContent::new(self.db.clone())
    }
    /// The content center's bucket (`CONTENT_BUCKET`), if configured.
    pub fn objects(&self) -> Result<Option<crate::s3::S3Objects>, BootError> {
        Ok(crate::s3::S3Objects::from_env(&self.sdk)?)
    }
    /// What makes links sent in messages tracked short links: over the growth store under
    /// `LINKS_BASE_URL` (the redirect function's public base) when set; otherwise links go
    /// as they are.
    pub fn link_tracker(&self) -> Arc<dyn scrm_core::links::tracker::LinkTracker> {
        match std::env::var("LINKS_BASE_URL") {
            Ok(base) if !base.trim().is_empty() => {
                Arc::new(scrm_core::links::tracker::StoreTracker {
                    store: self.growth(),
                    base,
                })
            }
            _ => Arc::new(scrm_core::links::tracker::NoTracking),
        }
    }
    /// What makes materials sendable at send time: over the bucket and `wecom` when a
    /// bucket is configured; otherwise content referring to materials is refused.
    pub fn materials(
        &self,
        wecom: &WeComClient,
    ) -> Result<Arc<dyn scrm_core::content::MaterialResolver>, BootError> {
        Ok(match self.objects()? {
            Some(objects) => Arc::new(scrm_core::content::MediaResolver {
                store: self.content(),
                objects,
                uploader: wecom.clone(),
            }),
            None => Arc::new(scrm_core::content::NoMaterials),
        })
    }
    /// The publisher of domain events the configuration asks for.
    pub fn publisher(&self) -> AnyPublisher {
        AnyPublisher::from_config(&self.config.events, &self.sdk)
    }

    /// The WeCom client, its tokens shared (sealed) through the tenants table.
    pub fn wecom(&self, usage: WeComUse) -> Result<WeComClient, BootError> {
        let cache = DynamoTokenCache::new(
            self.db.client.clone(),
            self.db.tables.tenants.clone(),
            self.secret_keys()?,
        );
        WeComClient::new(
            wecom_config(&self.config.wecom_api_base, usage),
            Arc::new(cache),
        )
        .map_err(|e| BootError::Client(e.to_string()))
    }
}

/// The client settings for a use.
pub fn wecom_config(base_url: &str, usage: WeComUse) -> WeComConfig {
    let mut config = WeComConfig::new(base_url);
    // This container's share of each corp's WeCom limits (docs/ARCHITECTURE.md, "Pacing").
    config.pacing = crate::wecom::PacingPolicy::from_env();
    match usage {
        WeComUse::Background => {}
        WeComUse::PersonWaiting => {
            config.retry = RetryPolicy {
                busy_retries: 2,
                rate_limit_attempts: 2,
                base_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(1),
                budget: Duration::from_secs(4),
            };
        }
        WeComUse::WhileCallbackWaits { budget } => {
            config.connect_timeout = Duration::from_millis(800);
            config.request_timeout = budget;
            config.retry = RetryPolicy {
                busy_retries: 1,
                rate_limit_attempts: 1,
                base_delay: Duration::from_millis(100),
                max_delay: Duration::from_millis(200),
                budget,
            };
        }
    }
    config
}

/// The AWS SDK configuration, from the environment Lambda gives every function: the region
/// (`AWS_REGION`) and the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). Lambda needs nothing else, so the deployed
/// binaries carry no credential chain (no `aws-config`, no STS client); the `scrm` CLI, run
/// by people with profiles, keeps the full chain.
pub fn aws_sdk_config() -> Result<SdkConfig, ConfigError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or_else(|| ConfigError("AWS_REGION must be set".into()))?;
    let (Some(key_id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
    else {
        return Err(ConfigError(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them)".into(),
        ));
    };
    let credentials = Credentials::new(
        key_id,
        secret,
        var("AWS_SESSION_TOKEN"),
        None,
        "environment",
    );
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(crate::aws_http::sdk_http_client())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(15))
                .build(),
        )
        .build())
}

/// The DynamoDB client: `AWS_ENDPOINT_URL_DYNAMODB` (the standard variable) points it at
/// DynamoDB Local in tests and local runs.
pub fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(url) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .ok()
        .filter(|v| !v.is_empty())
    {
        config = config.endpoint_url(url);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}
