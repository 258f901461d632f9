//! The one DynamoDB toolkit every adapter uses: a [`Table`] (client + table name) with
//! reads (get, query one page, query all pages, scan), conditional writes (put, update,
//! delete), transactions and batches with bounded retries of unprocessed items. Errors go
//! through the one mapping in [`super::error`]; key attribute names come from
//! [`super::schema`].
use super::error::{applied, from_sdk, from_transact};
use super::item::{s, AttrMap};
use super::schema::{GsiDef, PK, SK};
use super::update::{Cond, Update};
use super::StoreError;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update as UpdateAction, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use std::time::Duration;

/// DynamoDB's `BatchWriteItem` limit.
const BATCH_WRITE: usize = 25;
/// DynamoDB's `BatchGetItem` limit.
const BATCH_GET: usize = 100;
/// Calls per batch before unprocessed items are given up on (as retryable).
const BATCH_CALLS: u32 = 10;

/// The pause before the `retry`-th resend (from 0) of unprocessed batch items: 20 ms,
/// doubling up to 640 ms.
fn backoff(retry: u32) -> Duration {
    Duration::from_millis(20 << retry.min(5))
}

fn build_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// The primary key of an item: `{pk, sk}`.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> AttrMap {
    AttrMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

/// The outcome of a conditional put that asks for the item it ran into.
#[derive(Debug)]
pub enum PutOutcome {
    /// The item was written.
    Written,
    /// The condition failed; the item in the way (as DynamoDB returned it, if it did).
    Blocked(Option<AttrMap>),
}

/// One page of a query.
#[derive(Debug, Default)]
pub struct QueryPage {
    /// The items of the page.
    pub items: Vec<AttrMap>,
    /// Where the next page starts (`None` after the last page).
    pub last_key: Option<AttrMap>,
}

/// A query of the table or of one of its indexes. The key condition is built from the
/// schema's key attributes: a partition, then optionally one sort-key clause.
#[derive(Debug, Clone)]
pub struct Query {
    index: Option<&'static str>,
    pk_attr: &'static str,
    sk_attr: &'static str,
    sort: Option<String>,
    expr: Cond,
    projection: Option<String>,
    forward: bool,
    page_size: Option<i32>,
    consistent: bool,
    start: Option<AttrMap>,
}

impl Query {
    fn new(index: Option<&'static str>, pk_attr: &'static str, sk_attr: &'static str) -> Self {
        Self {
            index,
            pk_attr,
            sk_attr,
            sort: None,
            expr: Cond::new(),
            projection: None,
            forward: true,
            page_size: None,
            consistent: false,
            start: None,
        }
    }

    /// The items of one partition of the table (`pk = :pk`).
    pub fn partition(pk: impl Into<String>) -> Self {
        let mut q = Self::new(None, PK, SK);
        q.expr.value(":pk", s(pk));
        q
    }

    /// The items of one partition of a global secondary index (`gsiNpk = :pk`).
    pub fn index(gsi: GsiDef, pk: impl Into<String>) -> Self {
        let mut q = Self::new(Some(gsi.name), gsi.pk, gsi.sk);
        q.expr.value(":pk", s(pk));
        q
    }

    /// The sort-key attribute this query's key condition is on (`sk` or the index's).
    pub fn sort_key(&self) -> &'static str {
        self.sk_attr
    }

    fn sort(mut self, clause: String, values: &[(&str, String)]) -> Self {
        for (p, v) in values {
            self.expr.value(p, s(v.as_str()));
        }
        self.sort = Some(clause);
        self
    }

    /// Sort keys starting with `prefix`.
    pub fn sk_begins_with(self, prefix: impl Into<String>) -> Self {
        let clause = format!("begins_with({}, :sk)", self.sk_attr);
        self.sort(clause, &[(":sk", prefix.into())])
    }

    /// Sort keys from `lo` to `hi`, both included.
    pub fn sk_between(self, lo: impl Into<String>, hi: impl Into<String>) -> Self {
        let clause = format!("{} BETWEEN :lo AND :hi", self.sk_attr);
        self.sort(clause, &[(":lo", lo.into()), (":hi", hi.into())])
    }

    /// Sort keys above `v`.
    pub fn sk_after(self, v: impl Into<String>) -> Self {
        let clause = format!("{} > :sk", self.sk_attr);
        self.sort(clause, &[(":sk", v.into())])
    }

    /// Sort keys below `v`.
    pub fn sk_before(self, v: impl Into<String>) -> Self {
        let clause = format!("{} < :sk", self.sk_attr);
        self.sort(clause, &[(":sk", v.into())])
    }

    /// Sort keys up to `v`, included.
    pub fn sk_at_most(self, v: impl Into<String>) -> Self {
        let clause = format!("{} <= :sk", self.sk_attr);
        self.sort(clause, &[(":sk", v.into())])
    }

    /// A filter clause (applied after reading: read capacity and `Limit` count every item
    /// read); values through [`Query::value`].
    pub fn filter(mut self, clause: impl Into<String>) -> Self {
        self.expr.when(clause);
        self
    }

    /// Binds a value placeholder of a filter clause.
    pub fn value(mut self, placeholder: &str, v: AttributeValue) -> Self {
        self.expr.value(placeholder, v);
        self
    }

    /// Reads only these attributes.
    pub fn projection(mut self, p: impl Into<String>) -> Self {
        self.projection = Some(p.into());
        self
    }

    /// Newest (highest sort key) first.
    pub fn descending(mut self) -> Self {
        self.forward = false;
        self
    }

    /// At most `n` items read per page (DynamoDB's `Limit`).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = Some(i32::try_from(n).unwrap_or(i32::MAX));
        self
    }

    /// A strongly consistent read (the table only; indexes cannot).
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// Starts after this key (a previous page's [`QueryPage::last_key`]).
    pub fn start_after(mut self, key: Option<AttrMap>) -> Self {
        self.start = key;
        self
    }

    fn key_condition(&self) -> String {
        match &self.sort {
            Some(sort) => format!("{} = :pk AND {sort}", self.pk_attr),
            None => format!("{} = :pk", self.pk_attr),
        }
    }
}

/// One table: the client and the table's name.
///
/// Every request's future is boxed (`.send().boxed()`): the SDK's futures nest deeply, and
/// a function's handler future nests every call it makes, so boxing here keeps their
/// layouts within the compiler's limits, for one allocation per request.
#[derive(Debug, Clone)]
pub struct Table {
    client: Client,
    name: String,
}

impl Table {
    /// The table `name` through `client`.
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    // ----- reads -------------------------------------------------------------------------

    async fn get_item(
        &self,
        pk: String,
        sk: String,
        consistent: bool,
    ) -> Result<Option<AttrMap>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .consistent_read(consistent)
            .send()
            .boxed()
            .await
            .map_err(from_sdk)?;
        Ok(out.item)
    }

    /// A strongly consistent read of one item.
    pub async fn get_consistent(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Result<Option<AttrMap>, StoreError> {
        self.get_item(pk.into(), sk.into(), true).await
    }

    /// An eventually consistent read of one item (half the read capacity).
    pub async fn get(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Result<Option<AttrMap>, StoreError> {
        self.get_item(pk.into(), sk.into(), false).await
    }

    /// One page of a query.
    pub async fn query_page(&self, q: &Query) -> Result<QueryPage, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .set_index_name(q.index.map(str::to_string))
            .key_condition_expression(q.key_condition())
            .set_filter_expression(q.expr.expression())
            .set_projection_expression(q.projection.clone())
            .set_expression_attribute_names(q.expr.names())
            .set_expression_attribute_values(q.expr.values())
            .scan_index_forward(q.forward)
            .set_limit(q.page_size)
            .set_consistent_read(q.consistent.then_some(true))
            .set_exclusive_start_key(q.start.clone())
            .send()
            .boxed()
            .await
            .map_err(from_sdk)?;
        Ok(QueryPage {
            items: out.items.unwrap_or_default(),
            last_key: out.last_evaluated_key.filter(|k| !k.is_empty()),
        })
    }

    /// The query's items, page after page (`ExclusiveStartKey`), read as they are
    /// consumed: a page is only requested once the previous one is used up. Boxed, so that
    /// the futures of the callers stay shallow (the compiler lays out nested futures).
    pub fn items(&self, q: Query) -> BoxStream<'_, Result<AttrMap, StoreError>> {
        futures::stream::try_unfold(Some(q), move |state| async move {
            let Some(mut q) = state else {
                return Ok(None);
            };
            let page = self.query_page(&q).await?;
            let next = page.last_key.map(|k| {
                q.start = Some(k);
                q
            });
            let items = futures::stream::iter(page.items.into_iter().map(Ok::<_, StoreError>));
            Ok(Some((items, next)))
        })
        .try_flatten()
        .boxed()
    }

    /// How many items the query matches (`Select=COUNT`, every page): DynamoDB reads the
    /// entries but returns none, so a count costs the read units of what it counts and no
    /// transfer.
    pub async fn count(&self, q: &Query) -> Result<i64, StoreError> {
        let mut total = 0i64;
        let mut start = q.start.clone();
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.name)
                .set_index_name(q.index.map(str::to_string))
                .key_condition_expression(q.key_condition())
                .set_filter_expression(q.expr.expression())
                .set_expression_attribute_names(q.expr.names())
                .set_expression_attribute_values(q.expr.values())
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_consistent_read(q.consistent.then_some(true))
                .set_exclusive_start_key(start)
                .send()
                .boxed()
                .await
                .map_err(from_sdk)?;
            total += i64::from(out.count);
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    /// Every item of the query, all pages.
    pub async fn query_all(&self, q: Query) -> Result<Vec<AttrMap>, StoreError> {
        self.items(q).try_collect().await
    }

    /// The query's first `max` items, reading no page more than needed.
    pub async fn query_up_to(&self, q: Query, max: usize) -> Result<Vec<AttrMap>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        self.items(q).take(max).try_collect().await
    }

    /// Every item matching `filter` (which may be empty), all pages of a scan.
    pub async fn scan_all(
        &self,
        filter: &Cond,
        projection: Option<&str>,
    ) -> Result<Vec<AttrMap>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<AttrMap> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.name)
                .set_filter_expression(filter.expression())
                .set_projection_expression(projection.map(str::to_string))
                .set_expression_attribute_names(filter.names())
                .set_expression_attribute_values(filter.values())
                .set_exclusive_start_key(start.take())
                .send()
                .boxed()
                .await
                .map_err(from_sdk)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }

    // ----- single-item writes ------------------------------------------------------------

    /// Puts an item, replacing any item with its key.
    pub async fn put(&self, item: AttrMap) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .boxed()
            .await
            .map_err(from_sdk)?;
        Ok(())
    }

    /// Puts an item under a condition: `Ok(false)` if the condition failed.
    pub async fn put_if(&self, item: AttrMap, cond: &Cond) -> Result<bool, StoreError> {
        applied(
            self.client
                .put_item()
                .table_name(&self.name)
                .set_item(Some(item))
                .set_condition_expression(cond.expression())
                .set_expression_attribute_names(cond.names())
                .set_expression_attribute_values(cond.values())
                .send()
                .boxed()
                .await,
        )
    }

    /// Creates an item (`attribute_not_exists(pk)`): `Ok(false)` if it exists.
    pub async fn put_new(&self, item: AttrMap) -> Result<bool, StoreError> {
        self.put_if(item, &Cond::item_absent()).await
    }

    /// Puts an item under a condition; when the condition fails, DynamoDB returns the item
    /// in the way (`ReturnValuesOnConditionCheckFailure = ALL_OLD`).
    pub async fn put_or_get_old(
        &self,
        item: AttrMap,
        cond: &Cond,
    ) -> Result<PutOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .set_condition_expression(cond.expression())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .boxed()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Written),
            Err(SdkError::ServiceError(service))
                if matches!(
                    service.err(),
                    PutItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                match service.into_err() {
                    PutItemError::ConditionalCheckFailedException(c) => {
                        Ok(PutOutcome::Blocked(c.item))
                    }
                    _ => Ok(PutOutcome::Blocked(None)),
                }
            }
            Err(e) => Err(from_sdk(e)),
        }
    }

    fn update_request(
        &self,
        pk: String,
        sk: String,
        u: &Update,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let cond = u.condition();
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .update_expression(u.expression())
            .set_condition_expression(cond.expression())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values())
    }

    /// Applies an update (creating the item if it does not exist) under its condition:
    /// `Ok(false)` if the condition failed.
    pub async fn update(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
        u: &Update,
    ) -> Result<bool, StoreError> {
        applied(
            self.update_request(pk.into(), sk.into(), u)
                .send()
                .boxed()
                .await,
        )
    }

    /// Applies an update and returns the item as it is afterwards (`ALL_NEW`); `Ok(None)`
    /// if the condition failed.
    pub async fn update_returning(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
        u: &Update,
    ) -> Result<Option<AttrMap>, StoreError> {
        let result = self
            .update_request(pk.into(), sk.into(), u)
            .return_values(ReturnValue::AllNew)
            .send()
            .boxed()
            .await;
        match result {
            Ok(out) => Ok(out.attributes),
            Err(e) => match from_sdk(e) {
                StoreError::ConditionFailed => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Deletes an item (nothing if it does not exist).
    pub async fn delete(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .send()
            .boxed()
            .await
            .map_err(from_sdk)?;
        Ok(())
    }

    /// Deletes an item if `cond` holds: `Ok(false)` if it did not.
    pub async fn delete_if(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
        cond: &Cond,
    ) -> Result<bool, StoreError> {
        applied(
            self.client
                .delete_item()
                .table_name(&self.name)
                .set_key(Some(key(pk, sk)))
                .set_condition_expression(cond.expression())
                .set_expression_attribute_names(cond.names())
                .set_expression_attribute_values(cond.values())
                .send()
                .boxed()
                .await,
        )
    }

    // ----- transactions ------------------------------------------------------------------

    /// A put action of a transaction.
    pub fn tx_put(&self, item: AttrMap, cond: &Cond) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .set_condition_expression(cond.expression())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An update action of a transaction.
    pub fn tx_update(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
        u: &Update,
    ) -> Result<TransactWriteItem, StoreError> {
        let cond = u.condition();
        let update = UpdateAction::builder()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .update_expression(u.expression())
            .set_condition_expression(cond.expression())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// An unconditional delete action of a transaction.
    pub fn tx_delete(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// A delete action of a transaction under a condition (a count-once record leaving).
    pub fn tx_delete_if(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
        cond: &Cond,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .set_condition_expression(cond.expression())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Writes the actions in one transaction (all or nothing). A cancellation becomes
    /// [`StoreError::TransactionCanceled`] with the reason per action (see
    /// [`super::error::from_transact`]).
    pub async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .boxed()
            .await
            .map(|_| ())
            .map_err(from_transact)
    }

    // ----- batches -----------------------------------------------------------------------

    /// Puts items with `BatchWriteItem` (25 per call), resending what DynamoDB leaves
    /// unprocessed with backoff, up to 10 calls per batch. No conditions: only for
    /// idempotent puts of deterministic keys.
    pub async fn batch_put(&self, items: Vec<AttrMap>) -> Result<(), StoreError> {
        for chunk in items.chunks(BATCH_WRITE) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(build_error)
                })
                .collect::<Result<_, _>>()?;
            let mut calls = 0u32;
            while !pending.is_empty() {
                if calls == BATCH_CALLS {
                    return Err(StoreError::Retryable("unprocessed batch items".into()));
                }
                if calls > 0 {
                    tokio::time::sleep(backoff(calls - 1)).await;
                }
                calls += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.name, pending)
                    .send()
                    .boxed()
                    .await
                    .map_err(from_sdk)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.name))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    /// Reads items by key with `BatchGetItem` (100 keys per call, eventually consistent),
    /// resending unprocessed keys with backoff, up to 10 calls per batch. Items come back in
    /// no particular order; missing ones are simply absent.
    pub async fn batch_get(
        &self,
        keys: Vec<AttrMap>,
        projection: Option<&str>,
    ) -> Result<Vec<AttrMap>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .set_projection_expression(projection.map(str::to_string))
                    .build()
                    .map_err(build_error)?,
            );
            let mut calls = 0u32;
            while let Some(request) = pending.take() {
                if calls == BATCH_CALLS {
                    return Err(StoreError::Retryable("unprocessed batch keys".into()));
                }
                if calls > 0 {
                    tokio::time::sleep(backoff(calls - 1)).await;
                }
                calls += 1;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.name, request)
                    .send()
                    .boxed()
                    .await
                    .map_err(from_sdk)?;
                found.extend(
                    out.responses
                        .and_then(|mut r| r.remove(&self.name))
                        .unwrap_or_default(),
                );
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.name))
                    .filter(|k| !k.keys().is_empty());
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::schema::GSI1;

    #[test]
    fn key_conditions_use_the_schema_attributes() {
        let q = Query::partition("p").sk_begins_with("LOT#");
        assert_eq!(q.key_condition(), "pk = :pk AND begins_with(sk, :sk)");
        let q = Query::index(GSI1, "p").sk_between("a", "b").descending();
        assert_eq!(
            q.key_condition(),
            "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi"
        );
        assert_eq!(q.index, Some(GSI1.name));
        assert_eq!(q.sort_key(), GSI1.sk);
        assert_eq!(q.expr.values().map(|v| v.len()), Some(3));
        assert!(q.expr.expression().is_none());
    }

    #[test]
    fn backoff_is_bounded() {
        assert_eq!(backoff(0), Duration::from_millis(20));
        assert_eq!(backoff(9), Duration::from_millis(640));
    }
}
