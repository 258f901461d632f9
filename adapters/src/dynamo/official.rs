//! A tenant's WeChat official account in the tenants table: item `pk = {corp}`,
//! `sk = OFFICIAL_ACCOUNT` with `app_id`, the sealed secret (`oa_secret`, `oa_secret_key`,
//! bound to the tenant and the purpose `official-account-secret`) and `updated_at`. Only an
//! adapter built from a [`Db`] with a key service reads or writes it.
use crate::dynamo::item::{self, n, s, ItemExt};
use crate::dynamo::schema::{PK, SK};
use crate::dynamo::sealed::SealedAttrs;
use crate::dynamo::{Db, StoreError, Table};
use scrm_core::official::{OfficialAccount, OfficialAccounts};
use scrm_core::secrets::{KeyService, SealContext};
use scrm_core::tenants::TenantId;
use std::sync::Arc;

/// The item's sort key.
const SORT_KEY: &str = "OFFICIAL_ACCOUNT";
const ATTR_APP_ID: &str = "app_id";
const ATTR_UPDATED_AT: &str = "updated_at";
const SECRET: SealedAttrs = SealedAttrs {
    ciphertext: "oa_secret",
    wrapped_key: "oa_secret_key",
};

/// The official accounts of tenants.
#[derive(Debug, Clone)]
pub struct DynamoOfficialAccounts {
    table: Table,
    keys: Option<Arc<dyn KeyService>>,
}

impl DynamoOfficialAccounts {
    /// The store over the handle's tenants table, with its key service if it has one.
    pub fn new(db: &Db) -> Self {
        Self {
            table: db.tenants(),
            keys: db.secret_keys().cloned(),
        }
    }

    /// The store over `table` (the tenants table) with `keys`.
    pub fn over(table: Table, keys: Option<Arc<dyn KeyService>>) -> Self {
        Self { table, keys }
    }

    fn keys(&self) -> Result<&dyn KeyService, StoreError> {
        self.keys.as_deref().ok_or_else(|| {
            StoreError::Backend("no key service: this function may not open tenant secrets".into())
        })
    }
}

impl OfficialAccounts for DynamoOfficialAccounts {
    async fn official_account(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<OfficialAccount>, StoreError> {
        let Some(found) = self.table.get_consistent(tenant.as_str(), SORT_KEY).await? else {
            return Ok(None);
        };
        let context = SealContext::official_account(tenant.as_str());
        let secret = SECRET
            .open_from(self.keys()?, &context, &found)
            .await?
            .ok_or_else(|| StoreError::Corrupt("official account without its secret".into()))?;
        let secret = String::from_utf8(secret)
            .map_err(|_| StoreError::Corrupt("official account secret is not text".into()))?;
        Ok(Some(OfficialAccount {
            app_id: found.s(ATTR_APP_ID)?.to_string(),
            secret: scrm_core::config::Secret::new(secret),
        }))
    }

    async fn put_official_account(
        &self,
        tenant: &TenantId,
        account: &OfficialAccount,
    ) -> Result<(), StoreError> {
        let mut record = item::item([
            (PK, s(tenant.as_str())),
            (SK, s(SORT_KEY)),
            (ATTR_APP_ID, s(&account.app_id)),
            (ATTR_UPDATED_AT, n(chrono::Utc::now().timestamp())),
        ]);
        let context = SealContext::official_account(tenant.as_str());
        SECRET
            .seal_into(
                self.keys()?,
                &context,
                account.secret.expose().as_bytes(),
                &mut record,
            )
            .await?;
        self.table.put(record).await
    }

    async fn remove_official_account(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        let existed = self
            .table
            .get_consistent(tenant.as_str(), SORT_KEY)
            .await?
            .is_some();
        self.table.delete(tenant.as_str(), SORT_KEY).await?;
        Ok(existed)
    }
}
