//! What the points domain reads from the customer and group directory
//! ([`scrm_core::contacts`]): the [`Memberships`] port implemented over the directory's read
//! API. Checking many customers at once (bulk awards, imports) reads the directory's
//! customer items in batches of 100 through the directory's own key functions, instead of
//! one query per customer.
use crate::dynamo::contacts::{keys as dir_keys, DynamoDirectory};
use crate::dynamo::schema::PK;
use crate::dynamo::{key, AttrMap, ItemExt, StoreError};
use scrm_core::contacts::{DirectoryRead, RelationStatus};
use scrm_core::points::model::CustomerId;
use scrm_core::points::ports::{CustomerNames, Memberships};
use scrm_core::tenants::TenantId;
use std::collections::{HashMap, HashSet};

impl Memberships for DynamoDirectory {
    async fn known_customers(
        &self,
        tenant: &TenantId,
        ids: &[CustomerId],
    ) -> Result<HashSet<CustomerId>, StoreError> {
        let by_pk: HashMap<String, &CustomerId> = ids
            .iter()
            .map(|c| (dir_keys::customer_pk(tenant, c.as_str()), c))
            .collect();
        let keys: Vec<AttrMap> = by_pk
            .keys()
            .map(|pk| key(pk.as_str(), dir_keys::PROFILE))
            .collect();
        let mut known = HashSet::new();
        for item in self.table.batch_get(keys, Some(PK)).await? {
            if let Some(c) = by_pk.get(item.s(PK)?) {
                known.insert((*c).clone());
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

    async fn active_follows(
        &self,
        tenant: &TenantId,
        external_userid: &str,
    ) -> Result<usize, StoreError> {
        Ok(self
            .customer(tenant, external_userid)
            .await?
            .map(|c| {
                c.follow_users
                    .iter()
                    .filter(|f| f.status == RelationStatus::Active)
                    .count()
            })
            .unwrap_or(0))
    }
}

impl CustomerNames for DynamoDirectory {
    async fn customer_names(
        &self,
        tenant: &TenantId,
        customers: &[CustomerId],
    ) -> Result<HashMap<CustomerId, String>, StoreError> {
        let by_pk: HashMap<String, &CustomerId> = customers
            .iter()
            .map(|c| (dir_keys::customer_pk(tenant, c.as_str()), c))
            .collect();
        let keys: Vec<AttrMap> = by_pk
            .keys()
            .map(|pk| key(pk.as_str(), dir_keys::PROFILE))
            .collect();
        let mut names = HashMap::new();
        // `name` is a reserved word, and a batch read takes no attribute names: whole items.
        for item in self.table.batch_get(keys, None).await? {
            if let (Some(c), Some(name)) = (by_pk.get(item.s(PK)?), item.s_opt("name")) {
                names.insert((*c).clone(), name.to_string());
            }
        }
        Ok(names)
    }

    async fn customers_with_prefix(
        &self,
        tenant: &TenantId,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CustomerId>, StoreError> {
        // The directory's customer listing by id (sharded, merged in id order).
        let ids = self
            .customer_ids(tenant, Some(prefix), after, limit)
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| CustomerId::parse(id).ok())
            .collect())
    }
}
