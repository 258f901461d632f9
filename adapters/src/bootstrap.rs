//! Built once per container and shared by every function's wiring: structured logs, the
//! configuration from the environment, the AWS SDK configuration, the DynamoDB handle, and
//! the adapters and clients built from them. A missing required setting fails the cold
//! start, not the first request.
use crate::dynamo::{Db, DynamoDirectory, DynamoPoints, DynamoSop, DynamoTags, DynamoTenants};
use crate::events::AnyPublisher;
use crate::wecom::{DynamoTokenCache, RetryPolicy, WeComClient, WeComConfig};
use scrm_core::config::{Config, ConfigError};
use std::sync::Arc;
use std::time::Duration;

/// How a function uses WeCom's API, which decides the client's timeouts and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeComUse {
    /// Background work (schedules, events, the admin API): WeCom's default timeouts and
    /// bounded retries with backoff.
    Background,
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
    /// The AWS SDK configuration (credentials, region, endpoints).
    pub sdk: aws_config::SdkConfig,
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
        let sdk = aws_sdk_config().await;
        let db = Db::from_sdk_config(&sdk, config.tables.clone());
        Ok(Self { config, sdk, db })
    }

    /// The tenants table adapter.
    pub fn tenants(&self) -> DynamoTenants {
        DynamoTenants::new(self.db.clone())
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
    /// The publisher of domain events the configuration asks for.
    pub fn publisher(&self) -> AnyPublisher {
        AnyPublisher::from_config(&self.config.events, &self.sdk)
    }

    /// The WeCom client, its tokens shared through the tenants table.
    pub fn wecom(&self, usage: WeComUse) -> Result<WeComClient, BootError> {
        let cache = DynamoTokenCache::new(self.db.client.clone(), self.db.tables.tenants.clone());
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
    if let WeComUse::WhileCallbackWaits { budget } = usage {
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
    config
}

/// Loads the AWS SDK configuration once per container. DynamoDB Local is selected by the
/// standard `AWS_ENDPOINT_URL_DYNAMODB` variable, which aws-config reads itself.
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion};
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(15))
                .build(),
        )
        .load()
        .await
}
