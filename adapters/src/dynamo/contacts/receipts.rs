//! Callback receipts: what makes a WeCom callback land exactly once.
//!
//! WeCom re-delivers a callback it got no answer to within 5 seconds, and customer-contact
//! events carry no MsgId, so each callback is keyed by a dedupe key derived from its
//! content. Its receipt is written before any effect and moves through a small state
//! machine:
//!
//! ```text
//!   (none) --put--> received --effects written--> applied --events published--> published
//! ```
//!
//! One delivery at a time owns a receipt through a lease (`lease_owner`, `lease_until`).
//! - A first delivery creates the receipt with a conditional put and owns it.
//! - A duplicate finds it `published` and does nothing.
//! - A concurrent duplicate finds a live lease and waits for the owner (or asks WeCom to
//!   retry), so concurrent deliveries give one effect.
//! - A delivery that crashed midway leaves its lease to expire; the next re-delivery takes
//!   the receipt over (a conditional update, so only one can) and continues from the
//!   recorded state: effects again if still `received` (they are idempotent), else only the
//!   publication of the events recorded at `applied` (same deterministic event ids).
//!
//! A failed attempt releases its lease at once, so WeCom's next re-delivery need not wait.
//!
//! The events decided before any effect are recorded as `planned` (see
//! `scrm_core::contacts::receipts`), in the put that creates the receipt when the delivery
//! decided them first. Listings are keys only and sharded by a hash of the dedupe key
//! (gsi3, [`keys::CALLBACK_SHARDS`]): a receipt of a known event is in
//! `{corp}#CALLBACKS#PENDING#{shard}` until published (the sweep's work list), then in
//! `{corp}#CALLBACKS#{shard}`; an unknown event in `{corp}#CALLBACKS#UNKNOWN`. The XML is
//! in no index; readers query the shards, merge by received time and read the receipts.
//! Receipts written before the shards keep their gsi1/gsi2 entries (all attributes) until
//! they expire, and are read from there too.
use super::keys;
use super::DynamoDirectory;
use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{GSI1, GSI2, GSI2_PK, GSI2_SK, GSI3, GSI3_PK, GSI3_SK, PK, SK, TTL};
use crate::dynamo::table::key;
use crate::dynamo::{Cond, PutOutcome, Query, StoreError, Update};
use chrono::{DateTime, Utc};
use scrm_core::contacts::model::Page;
use scrm_core::contacts::receipts::*;
use scrm_core::events::EventEnvelope;
use scrm_core::tenants::TenantId;
use std::collections::HashSet;

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn events_of(item: &AttrMap) -> Result<Option<Vec<EventEnvelope>>, StoreError> {
    json_opt(item, "events")
}

fn json_opt(item: &AttrMap, attr: &str) -> Result<Option<Vec<EventEnvelope>>, StoreError> {
    match item.s_opt(attr) {
        Some(_) => item.json(attr).map(Some),
        None => Ok(None),
    }
}

fn view_of(item: &AttrMap) -> Result<ReceiptView, StoreError> {
    Ok(ReceiptView {
        dedupe_key: item.s("dedupe_key")?.to_string(),
        kind: item.s("kind")?.to_string(),
        unknown: item.bool_opt("unknown").unwrap_or(false),
        status: ReceiptStatus::parse(item.s("status")?)?,
        received_at: item.s("received_at")?.to_string(),
        event_time: item.n_opt("event_time")?.unwrap_or(0),
        attempts: item.n_opt("attempts")?.unwrap_or(1),
        events: events_of(item)?.map(|e| e.len()),
        last_error: item.s_opt("last_error").map(str::to_string),
        xml: item.s("xml")?.to_string(),
    })
}

/// A receipt's position in its listings: received time, then the key.
fn listing_sk(received_at: &str, dedupe_key: &str) -> String {
    format!("{received_at}#{dedupe_key}")
}

/// One listing read: the positions (sort key, receipt pk) of `q`, up to its page size.
async fn positions(
    dir: &DynamoDirectory,
    q: Query,
    sort_attr: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let page = dir.table.query_page(&q).await?;
    Ok(page
        .items
        .iter()
        .filter_map(|i| Some((i.s_opt(sort_attr)?.to_string(), i.s_opt(PK)?.to_string())))
        .collect())
}

impl DynamoDirectory {
    /// Takes over a receipt whose lease has expired; `None` if another delivery got it or
    /// it is done.
    async fn take_over(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<AttrMap>, StoreError> {
        let mut u = Update::new();
        u.set("lease_owner", s(owner))
            .set("lease_until", n(until_ms))
            .increment("attempts", 1);
        let status = u.name("status");
        let lease_until = u.name("lease_until");
        u.value(":published", s(ReceiptStatus::Published.as_str()))
            .value(":now", n(now_ms))
            .when(format!("{status} <> :published AND {lease_until} < :now"));
        self.table
            .update_returning(keys::receipt_pk(t, dedupe_key), keys::RECEIPT, &u)
            .await
    }

    /// Applies `u` to the receipt if `lease` still owns it.
    async fn transition(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        mut u: Update,
    ) -> Result<bool, StoreError> {
        let owner = u.name("lease_owner");
        u.value(":me", s(&lease.owner))
            .when(format!("{owner} = :me"));
        self.update(keys::receipt_pk(t, dedupe_key), keys::RECEIPT, &u)
            .await
    }

    /// What a delivery finding the receipt `existing` may do: nothing (done), wait (a live
    /// lease), or take it over.
    async fn acquire_existing(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        existing: &AttrMap,
        lease: Lease,
        now_ms: i64,
    ) -> Result<Acquired, StoreError> {
        let status = ReceiptStatus::parse(existing.s("status")?)?;
        if status == ReceiptStatus::Published {
            return Ok(Acquired::Done);
        }
        if existing.n_opt("lease_until")?.unwrap_or(0) >= now_ms {
            return Ok(Acquired::Busy);
        }
        match self
            .take_over(t, dedupe_key, &lease.owner, now_ms, lease.until_ms)
            .await?
        {
            Some(item) => acquired_from(&item, lease, true),
            None => match self.receipt_status(t, dedupe_key).await? {
                Some(ReceiptStatus::Published) => Ok(Acquired::Done),
                _ => Ok(Acquired::Busy),
            },
        }
    }

    /// Reads the receipts at `positions` (newest or oldest first, as given), skipping any
    /// gone meanwhile (expired).
    async fn receipts_at(&self, pks: &[String]) -> Result<Vec<AttrMap>, StoreError> {
        if pks.is_empty() {
            return Ok(Vec::new());
        }
        let found = self
            .table
            .batch_get(
                pks.iter()
                    .map(|pk| key(pk.clone(), keys::RECEIPT))
                    .collect(),
                None,
            )
            .await?;
        let mut by_pk: std::collections::HashMap<String, AttrMap> = found
            .into_iter()
            .filter_map(|i| Some((i.s_opt(PK)?.to_string(), i)))
            .collect();
        Ok(pks.iter().filter_map(|pk| by_pk.remove(pk)).collect())
    }

    /// The listing partitions a receipt page reads: every shard of `kind`, plus the
    /// pre-shard partition (gsi1 / gsi2, all attributes) while its receipts live.
    async fn merged_positions(
        &self,
        shards: Vec<Query>,
        legacy: Query,
        descending: bool,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let legacy_sort = legacy.sort_key();
        let reads = shards
            .into_iter()
            .map(|q| positions(self, q, GSI3_SK))
            .chain(std::iter::once(positions(self, legacy, legacy_sort)));
        let mut all: Vec<(String, String)> = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        all.sort();
        if descending {
            all.reverse();
        }
        let mut seen = HashSet::new();
        all.retain(|(_, pk)| seen.insert(pk.clone()));
        all.truncate(limit);
        Ok(all)
    }
}

fn acquired_from(item: &AttrMap, lease: Lease, resumed: bool) -> Result<Acquired, StoreError> {
    let status = ReceiptStatus::parse(item.s("status")?)?;
    if status == ReceiptStatus::Published {
        return Ok(Acquired::Done);
    }
    Ok(Acquired::Owned {
        lease,
        status,
        events: events_of(item)?,
        planned: json_opt(item, "planned")?,
        resumed,
    })
}

impl ReceiptStore for DynamoDirectory {
    async fn acquire(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        receipt: &NewReceipt,
        now: DateTime<Utc>,
        lease_ms: i64,
    ) -> Result<Acquired, StoreError> {
        let now_ms = now.timestamp_millis();
        let lease = Lease {
            owner: ulid::Ulid::new().to_string(),
            until_ms: now_ms + lease_ms,
        };
        // A receipt is read before it is written: a re-delivery of a finished callback
        // writes nothing (a failed conditional put would still cost its units). A receipt
        // with a plan comes from a delivery that has just read it absent.
        if receipt.planned.is_none() {
            if let Some(existing) = self
                .get(keys::receipt_pk(t, dedupe_key), keys::RECEIPT)
                .await?
            {
                return self
                    .acquire_existing(t, dedupe_key, &existing, lease, now_ms)
                    .await;
            }
        }
        let received_at = stamp(now);
        let listing = if receipt.unknown {
            keys::unknown_callbacks_index(t)
        } else {
            keys::pending_callbacks_index(t, keys::callback_shard(dedupe_key))
        };
        let mut item = item::item([
            (PK, s(keys::receipt_pk(t, dedupe_key))),
            (SK, s(keys::RECEIPT)),
            (GSI3_PK, s(listing)),
            (GSI3_SK, s(listing_sk(&received_at, dedupe_key))),
            ("dedupe_key", s(dedupe_key)),
            ("kind", s(&receipt.kind)),
            (
                "unknown",
                aws_sdk_dynamodb::types::AttributeValue::Bool(receipt.unknown),
            ),
            ("xml", s(&receipt.xml)),
            ("event_time", n(receipt.event_time)),
            ("status", s(ReceiptStatus::Received.as_str())),
            ("received_at", s(&received_at)),
            ("attempts", n(1)),
            ("lease_owner", s(&lease.owner)),
            ("lease_until", n(lease.until_ms)),
            (TTL, n(now.timestamp() + RECEIPT_TTL_DAYS * 24 * 3600)),
        ]);
        if let Some(planned) = &receipt.planned {
            item.insert("planned".into(), item::json(planned));
        }
        let existing = match self
            .table
            .put_or_get_old(item, &Cond::item_absent())
            .await?
        {
            PutOutcome::Written => {
                return Ok(Acquired::Owned {
                    lease,
                    status: ReceiptStatus::Received,
                    events: None,
                    planned: receipt.planned.clone(),
                    resumed: false,
                })
            }
            PutOutcome::Blocked(existing) => existing,
        };
        let existing = match existing {
            Some(item) => item,
            None => match self
                .get(keys::receipt_pk(t, dedupe_key), keys::RECEIPT)
                .await?
            {
                Some(item) => item,
                None => return Ok(Acquired::Busy),
            },
        };
        self.acquire_existing(t, dedupe_key, &existing, lease, now_ms)
            .await
    }

    async fn record_plan(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        planned: &[EventEnvelope],
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.set("planned", item::json(&planned));
        self.transition(t, dedupe_key, lease, u).await
    }

    async fn mark_applied(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.set("status", s(ReceiptStatus::Applied.as_str()))
            .set("events", item::json(&events))
            .set("applied_at", s(stamp(now)));
        self.transition(t, dedupe_key, lease, u).await
    }

    async fn mark_published(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        unknown: bool,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.set("status", s(ReceiptStatus::Published.as_str()))
            .set("events", item::json(&events))
            .set("published_at", s(stamp(now)))
            .set("lease_until", n(0))
            .remove("last_error");
        if !unknown {
            // Out of the pending shard the sweep reads, into the published one at the same
            // position (a receipt from before the shards, with no position, stays in
            // gsi1's listing and leaves gsi2's pending partition).
            u.set(
                GSI3_PK,
                s(keys::callbacks_index(t, keys::callback_shard(dedupe_key))),
            )
            .remove(GSI2_PK)
            .remove(GSI2_SK);
        }
        self.transition(t, dedupe_key, lease, u).await
    }

    async fn release(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("lease_until", n(0)).set("last_error", s(error));
        self.transition(t, dedupe_key, lease, u).await?;
        Ok(())
    }

    async fn receipt_status(
        &self,
        t: &TenantId,
        dedupe_key: &str,
    ) -> Result<Option<ReceiptStatus>, StoreError> {
        match self
            .get(keys::receipt_pk(t, dedupe_key), keys::RECEIPT)
            .await?
        {
            Some(item) => Ok(Some(ReceiptStatus::parse(item.s("status")?)?)),
            None => Ok(None),
        }
    }

    async fn stuck(
        &self,
        t: &TenantId,
        received_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ReceiptView>, StoreError> {
        let before = stamp(received_before);
        let shards = (0..keys::CALLBACK_SHARDS)
            .map(|shard| {
                Query::index(GSI3, keys::pending_callbacks_index(t, shard))
                    .sk_before(before.clone())
                    .page_size(limit)
            })
            .collect();
        let legacy = Query::index(GSI2, keys::legacy_pending_callbacks_index(t))
            .sk_before(before.clone())
            .page_size(limit);
        let oldest = self.merged_positions(shards, legacy, false, limit).await?;
        let pks: Vec<String> = oldest.into_iter().map(|(_, pk)| pk).collect();
        self.receipts_at(&pks)
            .await?
            .iter()
            .map(view_of)
            .filter(|v| !matches!(v, Ok(v) if v.status == ReceiptStatus::Published))
            .collect()
    }

    async fn receipts(
        &self,
        t: &TenantId,
        unknown_only: bool,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Page<ReceiptView>, StoreError> {
        let page = |q: Query| {
            let q = q.descending().page_size(limit + 1);
            match before {
                Some(b) => q.sk_before(b),
                None => q,
            }
        };
        let (shards, legacy): (Vec<Query>, Query) = if unknown_only {
            (
                vec![page(Query::index(GSI3, keys::unknown_callbacks_index(t)))],
                page(Query::index(GSI2, keys::legacy_unknown_callbacks_index(t))),
            )
        } else {
            let mut shards: Vec<Query> = (0..keys::CALLBACK_SHARDS)
                .flat_map(|shard| {
                    [
                        page(Query::index(GSI3, keys::callbacks_index(t, shard))),
                        page(Query::index(GSI3, keys::pending_callbacks_index(t, shard))),
                    ]
                })
                .collect();
            shards.push(page(Query::index(GSI3, keys::unknown_callbacks_index(t))));
            (
                shards,
                page(Query::index(GSI1, keys::legacy_callbacks_index(t))),
            )
        };
        let newest = self
            .merged_positions(shards, legacy, true, limit + 1)
            .await?;
        let has_more = newest.len() > limit;
        let shown: Vec<&(String, String)> = newest.iter().take(limit).collect();
        let pks: Vec<String> = shown.iter().map(|(_, pk)| pk.clone()).collect();
        let items = self
            .receipts_at(&pks)
            .await?
            .iter()
            .map(view_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_cursor: if has_more {
                shown.last().map(|(sk, _)| sk.clone())
            } else {
                None
            },
        })
    }
}
