//! The tenants table adapter. Tenants are read on every callback (token and key), so a warm
//! container keeps them for a short time instead of reading DynamoDB per request.
//!
//! A tenant's secrets (callback token, EncodingAESKey, customer-contact and app secrets) are
//! stored sealed (`scrm_core::secrets`): one JSON document, AES-256-GCM under a data key of
//! its own, in `secrets`, with the wrapped data key in `secrets_key`. Only an adapter built
//! from a [`Db`] with a key service reads them; any other answers tenants whose secrets are
//! withheld (empty) and cannot register a tenant. Profiles written before sealing (plain
//! attributes) are still read, by the adapters with a key service only, until
//! [`DynamoTenants::seal_plaintext_secrets`] (`scrm tenant seal-secrets`) seals them.
use crate::dynamo::item::{self, AttrMap, ItemExt};
use crate::dynamo::schema::{PK, SK};
use crate::dynamo::sealed::SealedAttrs;
use crate::dynamo::update::item_exists;
use crate::dynamo::{ensure_applied, Cond, Db, Query, StoreError, Table, Update};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use scrm_core::config::Secret;
use scrm_core::secrets::{KeyService, SealContext, SealError};
use scrm_core::tenants::apikeys::{ApiKey, ApiKeyRecord, Role, Scope};
use scrm_core::tenants::model::{SecretsChange, SecretsStatus, Tenant, TenantId, TenantSettings};
use scrm_core::tenants::ports::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PROFILE: &str = "PROFILE";
/// Where a profile keeps its sealed secrets.
const SECRETS: SealedAttrs = SealedAttrs {
    ciphertext: "secrets",
    wrapped_key: "secrets_key",
};
/// The plain secret attributes of profiles written before secrets were sealed.
const PLAINTEXT_SECRETS: [&str; 4] = [
    "callback_token",
    "encoding_aes_key",
    "contact_secret",
    "app_secret",
];
pub(crate) const APIKEY: &str = "APIKEY#";
/// How long a warm container trusts its copy of a tenant.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a warm container remembers that a corp is not a tenant, so that a flood of
/// requests for it (callbacks, staff logins) costs one read, not one each. Short, so that
/// a tenant registered meanwhile is soon served.
const MISS_TTL: Duration = Duration::from_secs(15);
/// At most this many misses are remembered (when full, the expired are dropped, and if that
/// is not enough, all).
const MISS_CAPACITY: usize = 10_000;
#[derive(Debug)]
pub struct DynamoTenants {
    table: Table,
    /// Opens and seals secrets; `None` in the functions that must not read them.
    keys: Option<Arc<dyn KeyService>>,
    cache: Mutex<HashMap<TenantId, (Instant, Tenant)>>,
    misses: Mutex<HashMap<TenantId, Instant>>,
}

impl DynamoTenants {
    /// Builds the adapter. With the handle's key service (if it has one) it reads and writes
    /// secrets; without, secrets are withheld.
    pub fn new(db: Db) -> Self {
        Self {
            table: db.tenants(),
            keys: db.secret_keys().cloned(),
            cache: Mutex::new(HashMap::new()),
            misses: Mutex::new(HashMap::new()),
        }
    }

    fn known_miss(&self, id: &TenantId) -> bool {
        let misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        misses.get(id).is_some_and(|at| at.elapsed() < MISS_TTL)
    }

    fn remember_miss(&self, id: &TenantId) {
        let mut misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        if misses.len() >= MISS_CAPACITY {
            misses.retain(|_, at| at.elapsed() < MISS_TTL);
            if misses.len() >= MISS_CAPACITY {
                misses.clear();
            }
        }
        misses.insert(id.clone(), Instant::now());
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

    /// The tenants' official accounts, over the same table and key service.
    pub fn official_accounts(&self) -> crate::dynamo::DynamoOfficialAccounts {
        crate::dynamo::DynamoOfficialAccounts::over(self.table.clone(), self.keys.clone())
    }
}

/// The sealed document of a tenant's secrets.
#[derive(Serialize, Deserialize)]
struct SecretsDoc {
    callback_token: String,
    encoding_aes_key: String,
    contact_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app_secret: Option<String>,
}

impl SecretsDoc {
    fn of(t: &Tenant) -> Self {
        Self {
            callback_token: t.callback_token.expose().to_string(),
            encoding_aes_key: t.encoding_aes_key.expose().to_string(),
            contact_secret: t.contact_secret.expose().to_string(),
            app_secret: t.app_secret.as_ref().map(|s| s.expose().to_string()),
        }
    }

    /// The plain attributes of a profile written before sealing.
    fn from_plaintext(item: &AttrMap) -> Result<Self, StoreError> {
        Ok(Self {
            callback_token: item.s("callback_token")?.to_string(),
            encoding_aes_key: item.s("encoding_aes_key")?.to_string(),
            contact_secret: item.s("contact_secret")?.to_string(),
            app_secret: item.s_opt("app_secret").map(str::to_string),
        })
    }

    /// What a function without the key service sees.
    fn withheld() -> Self {
        Self {
            callback_token: String::new(),
            encoding_aes_key: String::new(),
            contact_secret: String::new(),
            app_secret: None,
        }
    }
}

fn no_key_service() -> StoreError {
    StoreError::Backend(Box::new(SealError::KeyService(
        "no key service: this function may not write tenant secrets".into(),
    )))
}

impl DynamoTenants {
    async fn tenant_to_item(&self, t: &Tenant) -> Result<AttrMap, StoreError> {
        let keys = self.keys.as_deref().ok_or_else(no_key_service)?;
        let mut item = item::item([
            (PK, item::s(t.id.as_str())),
            (SK, item::s(PROFILE)),
            ("name", item::s(&t.name)),
            ("settings", item::json(&t.settings)),
            ("created_at", item::s(t.created_at.to_rfc3339())),
        ]);
        if let Some(agent) = t.app_agent_id {
            item.insert("app_agent_id".into(), item::n(agent));
        }
        let doc = serde_json::to_vec(&SecretsDoc::of(t))
            .map_err(|e| StoreError::Corrupt(format!("secrets: {e}")))?;
        let context = SealContext::tenant_secrets(t.id.as_str());
        SECRETS.seal_into(keys, &context, &doc, &mut item).await?;
        Ok(item)
    }

    async fn secrets_of(&self, id: &TenantId, item: &AttrMap) -> Result<SecretsDoc, StoreError> {
        let Some(keys) = self.keys.as_deref() else {
            return Ok(SecretsDoc::withheld());
        };
        let context = SealContext::tenant_secrets(id.as_str());
        match SECRETS.open_from(keys, &context, item).await? {
            Some(doc) => serde_json::from_slice(&doc)
                .map_err(|_| StoreError::Corrupt("sealed secrets are not a document".into())),
            None => SecretsDoc::from_plaintext(item),
        }
    }

    async fn tenant_from_item(&self, item: &AttrMap) -> Result<Tenant, StoreError> {
        let id = TenantId::parse(item.s(PK)?)
            .map_err(|_| StoreError::Corrupt("tenant pk is not a corp id".into()))?;
        let secrets = self.secrets_of(&id, item).await?;
        Ok(Tenant {
            id,
            name: item.s("name")?.to_string(),
            callback_token: Secret::new(secrets.callback_token),
            encoding_aes_key: Secret::new(secrets.encoding_aes_key),
            contact_secret: Secret::new(secrets.contact_secret),
            app_agent_id: item.n_opt("app_agent_id")?,
            app_secret: secrets.app_secret.map(Secret::new),
            settings: item.json("settings")?,
            created_at: DateTime::parse_from_rfc3339(item.s("created_at")?)
                .map_err(|_| StoreError::Corrupt("created_at".into()))?
                .with_timezone(&Utc),
        })
    }

    /// Seals the secrets of every profile still holding them in plain attributes (written
    /// before sealing) and removes those attributes; answers the tenants sealed. Each
    /// profile is updated on the condition that its plain secrets are unchanged, so running
    /// it twice, or alongside a writer, seals each profile once.
    pub async fn seal_plaintext_secrets(&self) -> Result<Vec<TenantId>, StoreError> {
        let keys = self.keys.as_deref().ok_or_else(no_key_service)?;
        let mut plain = Cond::new();
        let token = plain.name("callback_token");
        plain
            .value(":p", item::s(PROFILE))
            .when(format!("{SK} = :p AND attribute_exists({token})"));
        let mut sealed = Vec::new();
        for item in self.table.scan_all(&plain, None).await? {
            let id = TenantId::parse(item.s(PK)?)
                .map_err(|_| StoreError::Corrupt("tenant pk is not a corp id".into()))?;
            let doc = SecretsDoc::from_plaintext(&item)?;
            let bytes = serde_json::to_vec(&doc)
                .map_err(|e| StoreError::Corrupt(format!("secrets: {e}")))?;
            let mut attrs = AttrMap::new();
            let context = SealContext::tenant_secrets(id.as_str());
            SECRETS
                .seal_into(keys, &context, &bytes, &mut attrs)
                .await?;
            let mut u = Update::new();
            for (name, value) in attrs {
                u.set(&name, value);
            }
            for name in PLAINTEXT_SECRETS {
                u.remove(name);
            }
            let old = u.name("callback_token");
            u.value(":old", item::s(&doc.callback_token))
                .when(format!("{old} = :old"));
            if self.table.update(id.as_str(), PROFILE, &u).await? {
                self.forget(&id);
                sealed.push(id);
            }
        }
        Ok(sealed)
    }
}

impl TenantLookup for DynamoTenants {
    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        if let Some(t) = self.cached(id) {
            return Ok(Some(t));
        }
        if self.known_miss(id) {
            return Ok(None);
        }
        // Eventually consistent: a warm container keeps a tenant for a minute anyway.
        let item = self.table.get(id.as_str(), PROFILE).await?;
        match item {
            Some(item) => {
                let tenant = self.tenant_from_item(&item).await?;
                self.remember(&tenant);
                Ok(Some(tenant))
            }
            None => {
                self.remember_miss(id);
                Ok(None)
            }
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
        let created = self
            .table
            .put_new(self.tenant_to_item(tenant).await?)
            .await?;
        let mut misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        misses.remove(&tenant.id);
        Ok(created)
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

/// When the secrets were last changed through the admin API (RFC 3339).
const SECRETS_UPDATED_AT: &str = "secrets_updated_at";
/// How many times a secrets change is re-read and re-applied when another writer changed
/// the secrets in between.
const SECRETS_TRIES: usize = 3;

impl DynamoTenants {
    fn secrets_updated_at(item: &AttrMap) -> Option<DateTime<Utc>> {
        item.s_opt(SECRETS_UPDATED_AT)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }
}

impl TenantSecrets for DynamoTenants {
    async fn change_secrets(
        &self,
        id: &TenantId,
        change: &SecretsChange,
        at: DateTime<Utc>,
    ) -> Result<Option<SecretsStatus>, StoreError> {
        let keys = self.keys.as_deref().ok_or_else(no_key_service)?;
        for _ in 0..SECRETS_TRIES {
            let Some(item) = self.table.get_consistent(id.as_str(), PROFILE).await? else {
                return Ok(None);
            };
            let mut tenant = self.tenant_from_item(&item).await?;
            if let Some(v) = &change.contact_secret {
                tenant.contact_secret = v.clone();
            }
            if let Some(v) = &change.app_secret {
                tenant.app_secret = Some(v.clone());
            }
            if let Some(v) = change.agent_id {
                tenant.app_agent_id = Some(v);
            }
            if let Some(v) = &change.callback_token {
                tenant.callback_token = v.clone();
            }
            if let Some(v) = &change.encoding_aes_key {
                tenant.encoding_aes_key = v.clone();
            }
            let doc = serde_json::to_vec(&SecretsDoc::of(&tenant))
                .map_err(|e| StoreError::Corrupt(format!("secrets: {e}")))?;
            let mut sealed = AttrMap::new();
            let context = SealContext::tenant_secrets(id.as_str());
            SECRETS.seal_into(keys, &context, &doc, &mut sealed).await?;
            let mut u = Update::new();
            for (name, value) in sealed {
                u.set(&name, value);
            }
            // A profile written before sealing loses its plain secrets now.
            for name in PLAINTEXT_SECRETS {
                u.remove(name);
            }
            if let Some(agent) = tenant.app_agent_id {
                u.set("app_agent_id", item::n(agent));
            }
            u.set(SECRETS_UPDATED_AT, item::s(at.to_rfc3339()));
            // Applied only over the secrets just read, so that two changes at once do not
            // lose one another's values.
            let old = u.name(SECRETS.ciphertext);
            match item.get(SECRETS.ciphertext) {
                Some(v) => {
                    u.value(":old_secrets", v.clone())
                        .when(format!("{old} = :old_secrets"));
                }
                None => {
                    u.when(item_exists())
                        .when(format!("attribute_not_exists({old})"));
                }
            }
            if self.table.update(id.as_str(), PROFILE, &u).await? {
                self.forget(id);
                return Ok(Some(SecretsStatus::of(&tenant, Some(at))));
            }
        }
        Err(StoreError::ConditionFailed)
    }

    async fn secrets_status(&self, id: &TenantId) -> Result<Option<SecretsStatus>, StoreError> {
        let Some(item) = self.table.get_consistent(id.as_str(), PROFILE).await? else {
            return Ok(None);
        };
        if self.keys.is_none() {
            return Err(no_key_service());
        }
        let tenant = self.tenant_from_item(&item).await?;
        Ok(Some(SecretsStatus::of(
            &tenant,
            Self::secrets_updated_at(&item),
        )))
    }
}

pub(crate) fn key_record_from_item(item: &AttrMap) -> Result<ApiKeyRecord, StoreError> {
    let role = Role::parse(item.s("role")?).ok_or_else(|| StoreError::Corrupt("role".into()))?;
    // Keys issued before scopes existed carry only their role, which stands for its scopes.
    let scopes = match item.get("scopes") {
        Some(_) => item
            .strings("scopes")
            .iter()
            .map(|raw| Scope::parse(raw).ok_or_else(|| StoreError::Corrupt("scope".into())))
            .collect::<Result<_, _>>()?,
        None => role.scopes(),
    };
    Ok(ApiKeyRecord {
        key_id: item.s("key_id")?.to_string(),
        name: item.s("name")?.to_string(),
        role,
        scopes,
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
            (
                "scopes",
                AttributeValue::Ss(record.scopes.iter().map(|s| s.as_str().into()).collect()),
            ),
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
