//! DynamoDB: the client and table names ([`Db`]), the one toolkit every adapter uses
//! ([`Table`]: reads, conditional writes, queries with paging, transactions, batches with
//! retries), the table definitions (the one source of truth for the template's tables, for
//! local set-up and for key attribute names), item helpers, the one update-expression and
//! condition builder ([`Update`], [`Cond`]), the one mapping of SDK errors to core's
//! [`StoreError`], and the adapters of the four tables.
//!
//! Every partition key starts with the tenant (the WeCom corp id), so a tenant's data can
//! never be reached through another tenant's keys.
pub mod console;
pub mod contacts;
pub mod content;
pub mod error;
pub mod growth;
pub mod item;
pub mod official;
pub mod points;
pub mod schema;
pub mod sealed;
pub mod sop;
pub mod table;
pub mod tags;
pub mod tenants;
pub mod update;

pub use console::DynamoConsole;
pub use contacts::DynamoDirectory;
pub use content::DynamoContent;
pub use error::{applied, ensure_applied, from_sdk, from_transact};
pub use growth::DynamoGrowth;
pub use item::{AttrMap, ItemExt};
pub use official::DynamoOfficialAccounts;
pub use points::DynamoPoints;
pub use scrm_core::ports::StoreError;
pub use sop::DynamoSop;
pub use table::{key, PutOutcome, Query, QueryPage, Table};
pub use tags::DynamoTags;
pub use tenants::DynamoTenants;
pub use update::{Cond, Update};

use aws_sdk_dynamodb::Client;
use scrm_core::config::TableNames;
use scrm_core::secrets::KeyService;
use std::sync::Arc;

/// A DynamoDB client plus the table names: the handle every DynamoDB adapter is built from;
/// and, only for the functions that may read secrets, the key service that opens them.
#[derive(Debug, Clone)]
pub struct Db {
    /// The SDK client (built once per container).
    pub client: Client,
    /// The table names.
    pub tables: TableNames,
    /// Seals and opens secrets at rest (tenant secrets, cached access tokens). `None`: the
    /// adapters built from this handle can neither read nor write a secret.
    secret_keys: Option<Arc<dyn KeyService>>,
}

impl Db {
    /// Wraps a client and the table names; no key service.
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self {
            client,
            tables,
            secret_keys: None,
        }
    }

    /// The same handle with a key service, for the adapters that read or write secrets.
    pub fn with_secret_keys(mut self, keys: Arc<dyn KeyService>) -> Self {
        self.secret_keys = Some(keys);
        self
    }

    /// The key service, if this handle has one.
    pub fn secret_keys(&self) -> Option<&Arc<dyn KeyService>> {
        self.secret_keys.as_ref()
    }

    /// Builds the client from an SDK configuration.
    pub fn from_sdk_config(sdk: &aws_types::sdk_config::SdkConfig, tables: TableNames) -> Self {
        Self::new(Client::new(sdk), tables)
    }
}

impl Db {
    /// One of the tables, by name.
    pub fn table(&self, name: &str) -> Table {
        Table::new(self.client.clone(), name)
    }

    /// The tenants table.
    pub fn tenants(&self) -> Table {
        self.table(&self.tables.tenants)
    }

    /// The directory table.
    pub fn directory(&self) -> Table {
        self.table(&self.tables.directory)
    }

    /// The ledger table.
    pub fn ledger(&self) -> Table {
        self.table(&self.tables.ledger)
    }

    /// The tasks table.
    pub fn tasks(&self) -> Table {
        self.table(&self.tables.tasks)
    }
}

/// Formats the partition key of a tenant-scoped entity: `{corp}#{kind}#{id}`.
pub fn tenant_key(tenant: &str, kind: &str, id: &str) -> String {
    format!("{tenant}#{kind}#{id}")
}

/// Epoch seconds, as DynamoDB's TTL wants them.
pub fn epoch_seconds(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp()
}
