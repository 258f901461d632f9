//! DynamoDB: the client and table names ([`Db`]), the table definitions (the one source of
//! truth for the template's tables and for local set-up), item helpers, the one
//! update-expression builder, the one mapping of SDK errors to core's [`StoreError`], and
//! the adapters of the four tables.
//!
//! Every partition key starts with the tenant (the WeCom corp id), so a tenant's data can
//! never be reached through another tenant's keys.
pub mod contacts;
pub mod error;
pub mod item;
pub mod points;
pub mod schema;
pub mod sop;
pub mod tags;
pub mod tenants;
pub mod update;

pub use contacts::DynamoDirectory;
pub use error::{applied, from_sdk, from_transact};
pub use item::{AttrMap, ItemExt};
pub use points::DynamoPoints;
pub use scrm_core::ports::StoreError;
pub use sop::DynamoSop;
pub use tags::DynamoTags;
pub use tenants::DynamoTenants;
pub use update::Update;

use aws_sdk_dynamodb::Client;
use scrm_core::config::TableNames;

/// A DynamoDB client plus the table names: the handle every DynamoDB adapter is built from.
#[derive(Debug, Clone)]
pub struct Db {
    /// The SDK client (built once per container).
    pub client: Client,
    /// The table names.
    pub tables: TableNames,
}

impl Db {
    /// Wraps a client and the table names.
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    /// Builds the client from an SDK configuration.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, tables: TableNames) -> Self {
        Self::new(Client::new(sdk), tables)
    }
}

impl Db {
    /// A strongly consistent read of one item of `table`.
    pub async fn get_consistent(
        &self,
        table: &str,
        pk: String,
        sk: &str,
    ) -> Result<Option<item::AttrMap>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(schema::PK, item::s(pk))
            .key(schema::SK, item::s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(from_sdk)?;
        Ok(out.item)
    }

    /// Puts an item under an optional condition: `Ok(false)` if the condition failed.
    pub async fn put_if(
        &self,
        table: &str,
        item: item::AttrMap,
        condition: Option<&str>,
    ) -> Result<bool, StoreError> {
        applied(
            self.client
                .put_item()
                .table_name(table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_string))
                .send()
                .await,
        )
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
