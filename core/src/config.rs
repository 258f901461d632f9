//! Typed configuration read once at cold start from the environment the SAM template
//! (or `.local/env` for local runs) sets. A missing required value fails the cold start,
//! not the first request.
use std::fmt;

/// The names of the four tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    /// Tenants, API keys, cached access tokens.
    pub tenants: String,
    /// Customers, groups, memberships, callback receipts, sync jobs.
    pub directory: String,
    /// The points ledger: balances, entries, lots, idempotency records, rewards.
    pub ledger: String,
    /// SOP plans, occurrences and tasks.
    pub tasks: String,
}

impl TableNames {
    /// The names under a prefix, as `scrm tables create --prefix` and the template's
    /// `TablePrefix` parameter make them.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            tenants: format!("{prefix}-tenants"),
            directory: format!("{prefix}-directory"),
            ledger: format!("{prefix}-ledger"),
            tasks: format!("{prefix}-tasks"),
        }
    }

    /// Reads `TENANTS_TABLE`, `DIRECTORY_TABLE`, `LEDGER_TABLE`, `TASKS_TABLE`, each
    /// defaulting to `${TABLE_PREFIX:-scrm}-<name>`.
    pub fn from_env() -> Self {
        let prefix = std::env::var("TABLE_PREFIX").unwrap_or_else(|_| "scrm".to_string());
        let defaults = Self::with_prefix(&prefix);
        let pick = |var: &str, default: String| std::env::var(var).unwrap_or(default);
        Self {
            tenants: pick("TENANTS_TABLE", defaults.tenants),
            directory: pick("DIRECTORY_TABLE", defaults.directory),
            ledger: pick("LEDGER_TABLE", defaults.ledger),
            tasks: pick("TASKS_TABLE", defaults.tasks),
        }
    }
}

/// Where domain events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSink {
    /// The project's EventBridge bus (deployed).
    EventBridge { bus_name: String },
    /// Local runs: the functions served by `cargo lambda watch`, reached through the Lambda
    /// invoke API at this base URL, following the code's routing table.
    LocalLambda { base_url: String },
    /// Nowhere (tools that publish nothing).
    Discard,
}

/// A secret string: never printed, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value, for the one place that needs it (signing, encrypting).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything a function needs to build its clients.
#[derive(Debug, Clone)]
pub struct Config {
    /// Table names.
    pub tables: TableNames,
    /// Domain event destination.
    pub events: EventSink,
    /// WeCom server API base URL (the fake server in tests and local runs).
    pub wecom_api_base: String,
    /// Base URL of the staff API, whose JSON task list reminders link to when the
    /// deployment has no mobile pages.
    pub public_base_url: String,
    /// Public URL of the mobile pages (`STAFF_PAGES_URL`): reminders open their task
    /// center when it is set.
    pub staff_pages_url: Option<String>,
}

/// A configuration value that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads the environment described in `docs/ARCHITECTURE.md`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let events = if let Ok(url) = std::env::var("LOCAL_LAMBDA_URL") {
            EventSink::LocalLambda { base_url: url }
        } else if let Ok(bus) = std::env::var("EVENT_BUS_NAME") {
            EventSink::EventBridge { bus_name: bus }
        } else {
            EventSink::Discard
        };
        Ok(Self {
            tables: TableNames::from_env(),
            events,
            wecom_api_base: std::env::var("WECOM_API_BASE")
                .unwrap_or_else(|_| "https://qyapi.weixin.qq.com/cgi-bin".to_string()),
            public_base_url: std::env::var("PUBLIC_BASE_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:9000/lambda-url/staff-api".to_string()),
            staff_pages_url: std::env::var("STAFF_PAGES_URL")
                .ok()
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty()),
        })
    }
}
