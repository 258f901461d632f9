//! The tenants table adapter. Tenants are read on every callback (token and key), so a warm
//! container keeps them for a short time instead of reading DynamoDB per request.
use crate::dynamo::item::{self, AttrMap, ItemExt};
use crate::dynamo::schema::{PK, SK};
use crate::dynamo::update::item_exists;
use crate::dynamo::{ensure_applied, Cond, Db, Query, StoreError, Table, Update};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use futures::StreamExt;
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
    table: Table,
    cache: Mutex<HashMap<TenantId, (Instant, Tenant)>>,
}

impl DynamoTenants {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self {
            table: db.tenants(),
            cache: Mutex::new(HashMap::new()),
        }
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
        (PK, item::s(t.id.as_str())),
        (SK, item::s(PROFILE)),
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
    let id = TenantId::parse(item.s(PK)?)
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
        // Eventually consistent: a warm container keeps a tenant for a minute anyway.
        let item = self.table.get(id.as_str(), PROFILE).await?;
        match item {
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
        let mut profiles = Cond::new();
        profiles
            .value(":p", item::s(PROFILE))
            .when(format!("{SK} = :p"));
        let mut ids = Vec::new();
        for item in self.table.scan_all(&profiles, Some(PK)).await? {
            if let Ok(id) = TenantId::parse(item.s(PK)?) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }
}

impl TenantWrite for DynamoTenants {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        self.table.put_new(tenant_to_item(tenant)).await
    }

    async fn update_settings(
        &self,
        id: &TenantId,
        settings: &TenantSettings,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("settings", item::json(settings)).when(item_exists());
        ensure_applied(self.table.update(id.as_str(), PROFILE, &u).await?)?;
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
        let item = item::item([
            (PK, item::s(key.tenant().as_str())),
            (SK, item::s(format!("{APIKEY}{}", key.hash()))),
            ("key_id", item::s(&record.key_id)),
            ("name", item::s(&record.name)),
            ("role", item::s(record.role.as_str())),
            ("created_at", item::s(record.created_at.to_rfc3339())),
            ("revoked", AttributeValue::Bool(record.revoked)),
        ]);
        ensure_applied(self.table.put_new(item).await?)
    }

    async fn find_key(&self, key: &ApiKey) -> Result<Option<ApiKeyRecord>, StoreError> {
        let item = self
            .table
            .get(key.tenant().as_str(), format!("{APIKEY}{}", key.hash()))
            .await?;
        item.as_ref().map(key_record_from_item).transpose()
    }

    async fn list_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut keys = self
            .table
            .query_all(Query::partition(tenant.as_str()).sk_begins_with(APIKEY))
            .await?
            .iter()
            .map(key_record_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by_key(|k| k.created_at);
        Ok(keys)
    }

    async fn revoke_key(&self, tenant: &TenantId, key_id: &str) -> Result<bool, StoreError> {
        let q = Query::partition(tenant.as_str())
            .sk_begins_with(format!("{APIKEY}{key_id}"))
            .filter("key_id = :id")
            .value(":id", item::s(key_id));
        let mut matches = self.table.items(q);
        // Key ids are unique prefixes of the hash: the first match is the key.
        if let Some(item) = matches.next().await {
            let item = item?;
            let mut u = Update::new();
            u.set("revoked", AttributeValue::Bool(true));
            self.table.update(tenant.as_str(), item.s(SK)?, &u).await?;
            return Ok(true);
        }
        Ok(false)
    }
}
