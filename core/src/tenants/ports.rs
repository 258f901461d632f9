//! The tenants context's ports (tenants, API keys) and the use cases built on them.
use super::apikeys::{ApiKey, ApiKeyRecord, AuthError, Principal, Role};
use super::model::{SecretsChange, SecretsStatus, Tenant, TenantId, TenantSettings};
use crate::ports::StoreError;
use chrono::{DateTime, Utc};
use std::future::Future;

/// Reads tenants.
pub trait TenantLookup: Send + Sync {
    /// The tenant, if registered.
    fn tenant(
        &self,
        id: &TenantId,
    ) -> impl Future<Output = Result<Option<Tenant>, StoreError>> + Send;
    /// Every registered tenant id (schedules iterate them).
    fn tenant_ids(&self) -> impl Future<Output = Result<Vec<TenantId>, StoreError>> + Send;
}

/// Registers and changes tenants.
pub trait TenantWrite: Send + Sync {
    /// Registers a tenant; `Ok(false)` if it already exists (nothing changed).
    fn create_tenant(
        &self,
        tenant: &Tenant,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces a tenant's settings.
    fn update_settings(
        &self,
        id: &TenantId,
        settings: &TenantSettings,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Replaces a tenant's secrets (sealed at rest) and tells which are set.
pub trait TenantSecrets: Send + Sync {
    /// Applies `change` to the tenant's secrets (the others are kept), stamped `at`;
    /// `Ok(None)` if the tenant is not registered.
    fn change_secrets(
        &self,
        id: &TenantId,
        change: &SecretsChange,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<SecretsStatus>, StoreError>> + Send;
    /// Which of the tenant's secrets are set; `Ok(None)` if it is not registered.
    fn secrets_status(
        &self,
        id: &TenantId,
    ) -> impl Future<Output = Result<Option<SecretsStatus>, StoreError>> + Send;
}

/// Stores and checks API keys.
pub trait ApiKeyStore: Send + Sync {
    /// Stores a new key's hash and record.
    fn put_key(
        &self,
        key: &ApiKey,
        record: &ApiKeyRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The record of a presented key, if it exists.
    fn find_key(
        &self,
        key: &ApiKey,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, StoreError>> + Send;
    /// Every key of a tenant (records only).
    fn list_keys(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<ApiKeyRecord>, StoreError>> + Send;
    /// Revokes a key by its public id; `Ok(false)` if there is no such key.
    fn revoke_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Authentication failed or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// The caller is not authenticated.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The key store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Authenticates an `Authorization` header value against the key store.
pub async fn authenticate<K: ApiKeyStore>(
    keys: &K,
    authorization: Option<&str>,
) -> Result<Principal, AuthenticateError> {
    let key = super::apikeys::bearer(authorization)?;
    match keys.find_key(&key).await? {
        Some(record) if !record.revoked => Ok(Principal {
            tenant: key.tenant().clone(),
            role: record.role,
            scopes: record.scopes,
            key_id: record.key_id,
        }),
        _ => Err(AuthError::Invalid.into()),
    }
}

/// Mints a key, stores its hash, and returns the key (to show once) with its record.
pub async fn issue_key<K: ApiKeyStore>(
    keys: &K,
    tenant: &TenantId,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(ApiKey, ApiKeyRecord), StoreError> {
    let key = ApiKey::generate(tenant);
    let record = ApiKeyRecord {
        key_id: key.hash()[..12].to_string(),
        name: name.to_string(),
        role,
        scopes: role.scopes(),
        created_at: now,
        revoked: false,
    };
    keys.put_key(&key, &record).await?;
    Ok((key, record))
}
