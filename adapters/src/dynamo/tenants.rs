//! The tenants table adapter. Tenants are read on every callback (token and key), so a warm
//! container keeps them for a short time instead of reading DynamoDB per request.
use crate::dynamo::item::{self, AttrMap, ItemExt};
use crate::dynamo::{Db, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use scrm_core::config::Secret;
use scrm_core::tenants::apikeys::{ApiKey, ApiKeyRecord, Role};
use scrm_core::tenants::model::{Tenant, TenantId, TenantSettings};
use scrm_core::tenants::ports::*;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const PROFILE: &str = "PROFILE";
const APIKEY: &str = "APIKEY#";
/// How long a warm container trusts its copy of a tenant.
const CACHE_TTL: Duration = Duration::from_secs(60);
#[derive(Debug)]
pub struct DynamoTenants {
    db: Db,
    cache: Mutex<HashMap<TenantId, (Instant, Tenant)>>,
}

impl DynamoTenants {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> &str {
        &self.db.tables.tenants
    }

    fn cached(&self, id: &TenantId) -> Option<Tenant> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(id)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, t)| t.clone())
    }

    fn remember(&self, tenant: &Tenant) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(tenant.id.clone(), (Instant::now(), tenant.clone()));
    }

    fn forget(&self, id: &TenantId) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.remove(id);
    }
}

fn tenant_to_item(t: &Tenant) -> AttrMap {
    let mut item = item::item([
        ("pk", item::s(t.id.as_str())),
        ("sk", item::s(PROFILE)),
        ("name", item::s(&t.name)),
        ("callback_token", item::s(t.callback_token.expose())),
        ("encoding_aes_key", item::s(t.encoding_aes_key.expose())),
        ("contact_secret", item::s(t.contact_secret.expose())),
        ("settings", item::json(&t.settings)),
        ("created_at", item::s(t.created_at.to_rfc3339())),
    ]);
    if let Some(agent) = t.app_agent_id {
        item.insert("app_agent_id".into(), item::n(agent));
    }
    if let Some(secret) = &t.app_secret {
        item.insert("app_secret".into(), item::s(secret.expose()));
    }
    item
}

fn tenant_from_item(item: &AttrMap) -> Result<Tenant, StoreError> {
    let id = TenantId::parse(item.s("pk")?)
        .map_err(|_| StoreError::Corrupt("tenant pk is not a corp id".into()))?;
    Ok(Tenant {
        id,
        name: item.s("name")?.to_string(),
        callback_token: Secret::new(item.s("callback_token")?),
        encoding_aes_key: Secret::new(item.s("encoding_aes_key")?),
        contact_secret: Secret::new(item.s("contact_secret")?),
        app_agent_id: item.n_opt("app_agent_id")?,
        app_secret: item.s_opt("app_secret").map(Secret::new),
        settings: item.json("settings")?,
        created_at: DateTime::parse_from_rfc3339(item.s("created_at")?)
            .map_err(|_| StoreError::Corrupt("created_at".into()))?
            .with_timezone(&Utc),
    })
}

impl TenantLookup for DynamoTenants {
    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        if let Some(t) = self.cached(id) {
            return Ok(Some(t));
        }
        let out = self
            .db
            .client
            .get_item()
            .table_name(self.table())
            .key("pk", item::s(id.as_str()))
            .key("sk", item::s(PROFILE))
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
        match out.item {
            Some(item) => {
                let tenant = tenant_from_item(&item)?;
                self.remember(&tenant);
                Ok(Some(tenant))
            }
            None => Ok(None),
        }
    }

    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        // The tenants table is small (one profile item per corp, a few keys and tokens), so
        // a filtered scan is the simplest correct listing.
        let mut ids = Vec::new();
        let mut pages = self
            .db
            .client
            .scan()
            .table_name(self.table())
            .filter_expression("sk = :p")
            .expression_attribute_values(":p", item::s(PROFILE))
            .projection_expression("pk")
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(crate::dynamo::from_sdk)?;
            if let Ok(id) = TenantId::parse(item.s("pk")?) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }
}

impl TenantWrite for DynamoTenants {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        let result = self
            .db
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(tenant_to_item(tenant)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        crate::dynamo::applied(result)
    }

    async fn update_settings(
        &self,
        id: &TenantId,
        settings: &TenantSettings,
    ) -> Result<(), StoreError> {
        self.db
            .client
            .update_item()
            .table_name(self.table())
            .key("pk", item::s(id.as_str()))
            .key("sk", item::s(PROFILE))
            .update_expression("SET settings = :s")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":s", item::json(settings))
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
        self.forget(id);
        Ok(())
    }
}

fn key_record_from_item(item: &AttrMap) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        key_id: item.s("key_id")?.to_string(),
        name: item.s("name")?.to_string(),
        role: Role::parse(item.s("role")?).ok_or_else(|| StoreError::Corrupt("role".into()))?,
        created_at: DateTime::parse_from_rfc3339(item.s("created_at")?)
            .map_err(|_| StoreError::Corrupt("created_at".into()))?
            .with_timezone(&Utc),
        revoked: item.bool_opt("revoked").unwrap_or(false),
    })
}

impl ApiKeyStore for DynamoTenants {
    async fn put_key(&self, key: &ApiKey, record: &ApiKeyRecord) -> Result<(), StoreError> {
        self.db
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item::item([
                ("pk", item::s(key.tenant().as_str())),
                ("sk", item::s(format!("{APIKEY}{}", key.hash()))),
                ("key_id", item::s(&record.key_id)),
                ("name", item::s(&record.name)),
                ("role", item::s(record.role.as_str())),
                ("created_at", item::s(record.created_at.to_rfc3339())),
                ("revoked", AttributeValue::Bool(record.revoked)),
            ])))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
        Ok(())
    }

    async fn find_key(&self, key: &ApiKey) -> Result<Option<ApiKeyRecord>, StoreError> {
        let out = self
            .db
            .client
            .get_item()
            .table_name(self.table())
            .key("pk", item::s(key.tenant().as_str()))
            .key("sk", item::s(format!("{APIKEY}{}", key.hash())))
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
        out.item.as_ref().map(key_record_from_item).transpose()
    }

    async fn list_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut pages = self
            .db
            .client
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :k)")
            .expression_attribute_values(":pk", item::s(tenant.as_str()))
            .expression_attribute_values(":k", item::s(APIKEY))
            .into_paginator()
            .items()
            .send();
        let mut keys = Vec::new();
        while let Some(item) = pages.next().await {
            keys.push(key_record_from_item(
                &item.map_err(crate::dynamo::from_sdk)?,
            )?);
        }
        keys.sort_by_key(|k| k.created_at);
        Ok(keys)
    }

    async fn revoke_key(&self, tenant: &TenantId, key_id: &str) -> Result<bool, StoreError> {
        let mut pages = self
            .db
            .client
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :k)")
            .filter_expression("key_id = :id")
            .expression_attribute_values(":pk", item::s(tenant.as_str()))
            .expression_attribute_values(":k", item::s(format!("{APIKEY}{key_id}")))
            .expression_attribute_values(":id", item::s(key_id))
            .into_paginator()
            .items()
            .send();
        // Key ids are unique prefixes of the hash: the first match is the key.
        if let Some(item) = pages.next().await {
            let item = item.map_err(crate::dynamo::from_sdk)?;
            self.db
                .client
                .update_item()
                .table_name(self.table())
                .key("pk", item::s(tenant.as_str()))
                .key("sk", item::s(item.s("sk")?))
                .update_expression("SET revoked = :t")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .send()
                .await
                .map_err(crate::dynamo::from_sdk)?;
            return Ok(true);
        }
        Ok(false)
    }
}
