//! The table definitions: the one source of truth. `scrm tables create` and the test
//! harness create tables from these; `tests/it/infra.rs` proves `infra/template.yaml`
//! declares exactly the same keys, indexes and TTL attribute.
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use scrm_core::config::TableNames;
use scrm_core::ports::StoreError;

/// The partition-key attribute of every table.
pub const PK: &str = "pk";
/// The sort-key attribute of every table.
pub const SK: &str = "sk";
/// The TTL attribute (epoch seconds) of every table.
pub const TTL: &str = "ttl";

/// What a global secondary index projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexProjection {
    /// Every attribute: every change of an indexed item rewrites its index entry.
    All,
    /// The table's and the index's keys only: the entry is written only when a key
    /// changes; readers fetch the items they need.
    KeysOnly,
}

impl IndexProjection {
    /// The CloudFormation / DynamoDB name (`ALL`, `KEYS_ONLY`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::KeysOnly => "KEYS_ONLY",
        }
    }
}

/// A global secondary index: string hash and range keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsiDef {
    /// Index name.
    pub name: &'static str,
    /// Hash-key attribute.
    pub pk: &'static str,
    /// Range-key attribute.
    pub sk: &'static str,
    /// What it projects.
    pub projection: IndexProjection,
}

/// The hash-key attribute of [`GSI1`].
pub const GSI1_PK: &str = "gsi1pk";
/// The range-key attribute of [`GSI1`].
pub const GSI1_SK: &str = "gsi1sk";
/// The hash-key attribute of [`GSI2`].
pub const GSI2_PK: &str = "gsi2pk";
/// The range-key attribute of [`GSI2`].
pub const GSI2_SK: &str = "gsi2sk";
/// The hash-key attribute of [`GSI3`].
pub const GSI3_PK: &str = "gsi3pk";
/// The range-key attribute of [`GSI3`].
pub const GSI3_SK: &str = "gsi3sk";
/// The hash-key attribute of [`GSI4`].
pub const GSI4_PK: &str = "gsi4pk";
/// The range-key attribute of [`GSI4`].
pub const GSI4_SK: &str = "gsi4sk";

/// The first generic sparse index.
pub const GSI1: GsiDef = GsiDef {
    name: "gsi1",
    pk: GSI1_PK,
    sk: GSI1_SK,
    projection: IndexProjection::All,
};
/// The second generic sparse index.
pub const GSI2: GsiDef = GsiDef {
    name: "gsi2",
    pk: GSI2_PK,
    sk: GSI2_SK,
    projection: IndexProjection::All,
};
/// The directory's keys-only index: customers by name, sharded
/// (`{corp}#NAME#{shard}` / `{normalized name}#{external_userid}`).
pub const GSI3: GsiDef = GsiDef {
    name: "gsi3",
    pk: GSI3_PK,
    sk: GSI3_SK,
    projection: IndexProjection::KeysOnly,
};
/// The directory's keys-only index: customers by id, sharded
/// (`{corp}#CUSTOMERS#{shard}` / `{external_userid}`).
pub const GSI4: GsiDef = GsiDef {
    name: "gsi4",
    pk: GSI4_PK,
    sk: GSI4_SK,
    projection: IndexProjection::KeysOnly,
};

/// One table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    /// The CloudFormation logical id in `infra/template.yaml`.
    pub logical_id: &'static str,
    /// The name after the prefix (`scrm-<suffix>`).
    pub suffix: &'static str,
    /// Its global secondary indexes.
    pub gsis: &'static [GsiDef],
}

/// Tenants, API keys, cached access tokens.
pub const TENANTS: TableDef = TableDef {
    logical_id: "TenantsTable",
    suffix: "tenants",
    gsis: &[],
};
/// Customers, groups, memberships, callback receipts, sync jobs.
pub const DIRECTORY: TableDef = TableDef {
    logical_id: "DirectoryTable",
    suffix: "directory",
    gsis: &[GSI1, GSI2, GSI3, GSI4],
};
/// The points ledger.
pub const LEDGER: TableDef = TableDef {
    logical_id: "LedgerTable",
    suffix: "ledger",
    gsis: &[GSI1, GSI2],
};
/// SOP plans, occurrences and tasks.
pub const TASKS: TableDef = TableDef {
    logical_id: "TasksTable",
    suffix: "tasks",
    gsis: &[GSI1, GSI2],
};

/// Every table.
pub const ALL: [TableDef; 4] = [TENANTS, DIRECTORY, LEDGER, TASKS];

impl TableDef {
    /// This table's name in a set of names.
    pub fn name_in<'a>(&self, names: &'a TableNames) -> &'a str {
        match self.suffix {
            "tenants" => &names.tenants,
            "directory" => &names.directory,
            "ledger" => &names.ledger,
            _ => &names.tasks,
        }
    }

    /// The string attributes the table defines (keys of the table and of its indexes).
    pub fn attribute_names(&self) -> Vec<&'static str> {
        let mut names = vec![PK, SK];
        for gsi in self.gsis {
            names.push(gsi.pk);
            names.push(gsi.sk);
        }
        names
    }
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| StoreError::Backend(Box::new(e)))
}

fn index_def(gsi: &GsiDef) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(gsi.name)
        .key_schema(key(gsi.pk, KeyType::Hash)?)
        .key_schema(key(gsi.sk, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(match gsi.projection {
                    IndexProjection::All => ProjectionType::All,
                    IndexProjection::KeysOnly => ProjectionType::KeysOnly,
                })
                .build(),
        )
        .build()
        .map_err(|e| StoreError::Backend(Box::new(e)))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::Backend(Box::new(e)))
}

/// Adds to an existing table the first index its definition has and the table lacks (the
/// migration of a table created before that index; DynamoDB builds one new index at a
/// time and backfills it from the items' index attributes). Returns the index asked for;
/// `None` when none is missing. Run again once it is active for the next one.
pub async fn add_missing_index(
    client: &Client,
    def: &TableDef,
    name: &str,
) -> Result<Option<&'static str>, StoreError> {
    let described = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(crate::dynamo::from_sdk)?;
    let present: Vec<String> = described
        .table()
        .map(|t| {
            t.global_secondary_indexes()
                .iter()
                .filter_map(|g| g.index_name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let Some(missing) = def
        .gsis
        .iter()
        .find(|g| !present.iter().any(|p| p == g.name))
    else {
        return Ok(None);
    };
    client
        .update_table()
        .table_name(name)
        .attribute_definitions(string_attribute(missing.pk)?)
        .attribute_definitions(string_attribute(missing.sk)?)
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                        .index_name(missing.name)
                        .key_schema(key(missing.pk, KeyType::Hash)?)
                        .key_schema(key(missing.sk, KeyType::Range)?)
                        .set_projection(index_def(missing)?.projection)
                        .build()
                        .map_err(|e| StoreError::Backend(Box::new(e)))?,
                )
                .build(),
        )
        .send()
        .await
        .map_err(crate::dynamo::from_sdk)?;
    Ok(Some(missing.name))
}

/// Creates every table that does not exist yet and turns TTL on; an existing table gets
/// the first index it lacks ([`add_missing_index`]), so it can be run again at any time.
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<Vec<String>, StoreError> {
    let mut created = Vec::new();
    for def in ALL {
        let name = def.name_in(names);
        let mut req = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?);
        for attr in def.attribute_names() {
            req = req.attribute_definitions(string_attribute(attr)?);
        }
        for gsi in def.gsis {
            req = req.global_secondary_indexes(index_def(gsi)?);
        }
        match req.send().await {
            Ok(_) => created.push(name.to_string()),
            Err(err) => {
                use aws_sdk_dynamodb::error::ProvideErrorMetadata;
                if err.code() == Some("ResourceInUseException") {
                    add_missing_index(client, &def, name).await?;
                    continue;
                }
                return Err(crate::dynamo::from_sdk(err));
            }
        }
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL)
                    .enabled(true)
                    .build()
                    .map_err(|e| StoreError::Backend(Box::new(e)))?,
            )
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
    }
    Ok(created)
}
