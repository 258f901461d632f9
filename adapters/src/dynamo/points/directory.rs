//! What the points domain reads from the customer and group directory
//! ([`scrm_core::contacts`]): the [`Memberships`] port implemented over the directory's read
//! API. Checking many customers at once (bulk awards, imports) reads the directory's
//! customer items in batches of 100 through the directory's own key functions, instead of
//! one query per customer.
use crate::dynamo::contacts::{keys as dir_keys, DynamoDirectory};
use crate::dynamo::item::s;
use crate::dynamo::{AttrMap, ItemExt, StoreError};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use scrm_core::contacts::DirectoryRead;
use scrm_core::points::model::CustomerId;
use scrm_core::points::ports::Memberships;
use scrm_core::tenants::TenantId;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// DynamoDB's `BatchGetItem` limit.
const BATCH_GET: usize = 100;

impl Memberships for DynamoDirectory {
    async fn known_customers(
        &self,
        tenant: &TenantId,
        ids: &[CustomerId],
    ) -> Result<HashSet<CustomerId>, StoreError> {
        let table = self.db.tables.directory.clone();
        let by_pk: HashMap<String, &CustomerId> = ids
            .iter()
            .map(|c| (dir_keys::customer_pk(tenant, c.as_str()), c))
            .collect();
        let pks: Vec<&String> = by_pk.keys().collect();
        let mut known = HashSet::new();
        for chunk in pks.chunks(BATCH_GET) {
            let keys: Vec<AttrMap> = chunk
                .iter()
                .map(|pk| {
                    AttrMap::from([
                        ("pk".to_string(), s(pk.as_str())),
                        ("sk".to_string(), s(dir_keys::PROFILE)),
                    ])
                })
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .projection_expression("pk")
                    .build()
                    .map_err(|e| StoreError::Backend(Box::new(e)))?,
            );
            let mut attempt = 0u32;
            while let Some(req) = request.take() {
                let out = self
                    .db
                    .client
                    .batch_get_item()
                    .request_items(&table, req)
                    .send()
                    .await
                    .map_err(crate::dynamo::from_sdk)?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&table))
                    .unwrap_or_default()
                {
                    if let Some(c) = by_pk.get(item.s("pk")?) {
                        known.insert((*c).clone());
                    }
                }
                request = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&table))
                    .filter(|k| !k.keys().is_empty());
                if request.is_some() {
                    attempt += 1;
                    if attempt > 10 {
                        return Err(StoreError::Retryable("unprocessed batch keys".into()));
                    }
                    tokio::time::sleep(Duration::from_millis(20 << attempt.min(5))).await;
                }
            }
        }
        Ok(known)
    }

    async fn group_customers(
        &self,
        tenant: &TenantId,
        chat_id: &str,
    ) -> Result<Option<Vec<CustomerId>>, StoreError> {
        let Some(view) = self.group(tenant, chat_id).await? else {
            return Ok(None);
        };
        if view.group.dismissed {
            return Ok(Some(Vec::new()));
        }
        Ok(Some(
            view.members
                .iter()
                .filter(|m| m.active && m.is_customer)
                .filter_map(|m| CustomerId::parse(&m.member_id).ok())
                .collect(),
        ))
    }

    async fn customer_groups(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .member_groups(tenant, customer.as_str())
            .await?
            .into_iter()
            .filter(|g| g.membership.active && !g.group_dismissed)
            .map(|g| g.membership.chat_id)
            .collect())
    }

    async fn groups(&self, tenant: &TenantId) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = DirectoryRead::groups(self, tenant, None, after.as_deref(), 200).await?;
            all.extend(
                page.items
                    .into_iter()
                    .filter(|g| !g.dismissed)
                    .map(|g| (g.chat_id, g.name)),
            );
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        Ok(all)
    }
}
