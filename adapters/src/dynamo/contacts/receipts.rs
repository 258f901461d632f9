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
//! `{corp}#CALLBACKS#{shard}` from its creation, by received time, and never moves, so
//! publishing writes no index; an unknown event in `{corp}#CALLBACKS#UNKNOWN`. The XML is
//! in no index; readers query the shards, merge by received time and read the receipts.
//! The sweep walks the shards from where its last run stopped (a cursor item per tenant)
//! and reads each receipt about once. A receipt is kept under 1 KB (one write unit a
//! write; [`super::receipt_codec`]), and publishing changes a few small attributes.
//! Receipts written while unpublished ones had pending shards of their own
//! (`{corp}#CALLBACKS#PENDING#{shard}`) are swept from there and move out when published;
//! receipts written before the shards keep their gsi1/gsi2 entries (all attributes) until
//! they expire, and are read from there too.
use super::keys;
use super::receipt_codec;
use super::DynamoDirectory;
use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{GSI1, GSI2, GSI2_PK, GSI2_SK, GSI3, GSI3_PK, GSI3_SK, PK, SK, TTL};
use crate::dynamo::table::key;
use crate::dynamo::{Cond, PutOutcome, Query, StoreError, Update};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use scrm_core::contacts::model::Page;
use scrm_core::contacts::receipts::*;
use scrm_core::events::EventEnvelope;
use scrm_core::tenants::TenantId;
use std::collections::HashSet;

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The encoded XML (binary, [`receipt_codec`]), the compact plan and the count of the
/// events published. Receipts written before keep `xml`, `planned` and `events` (full JSON)
/// and are read as they are.
const XML_ENCODED: &str = "xml_c";
const PLAN: &str = "plan";
const EVENTS_PUBLISHED: &str = "events_n";

/// The tenant and the dedupe key a receipt's partition key names (`{corp}#CB#{key}`; the
/// key is hex).
fn receipt_names(item: &AttrMap) -> Result<(&str, &str), StoreError> {
    item.s(PK)?
        .rsplit_once("#CB#")
        .ok_or_else(|| StoreError::Corrupt("receipt key".into()))
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

/// The plan recorded on the receipt: compact, or (written before) full JSON.
fn plan_of(item: &AttrMap) -> Result<Option<Vec<EventEnvelope>>, StoreError> {
    let Some(stored) = item.s_opt(PLAN) else {
        return json_opt(item, "planned");
    };
    let (tenant, dedupe_key) = receipt_names(item)?;
    let event_time = item.n_opt("event_time")?.unwrap_or(0);
    receipt_codec::decode_events(stored, tenant, dedupe_key, event_time)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("receipt plan: {e}")))
}

fn xml_of(item: &AttrMap) -> Result<String, StoreError> {
    match item.get(XML_ENCODED) {
        Some(AttributeValue::B(encoded)) => receipt_codec::decode_xml(encoded.as_ref())
            .ok_or_else(|| StoreError::Corrupt("receipt XML".into())),
        _ => Ok(item.s("xml")?.to_string()),
    }
}

fn view_of(item: &AttrMap) -> Result<ReceiptView, StoreError> {
    let events = match item.n_opt(EVENTS_PUBLISHED)? {
        Some(n) => Some(n.max(0) as usize),
        None => events_of(item)?.map(|e| e.len()),
    };
    Ok(ReceiptView {
        dedupe_key: match item.s_opt("dedupe_key") {
            Some(key) => key.to_string(),
            None => receipt_names(item)?.1.to_string(),
        },
        kind: item.s("kind")?.to_string(),
        unknown: item.bool_opt("unknown").unwrap_or(false),
        status: ReceiptStatus::parse(item.s("status")?)?,
        received_at: item.s("received_at")?.to_string(),
        event_time: item.n_opt("event_time")?.unwrap_or(0),
        attempts: item.n_opt("attempts")?.unwrap_or(1),
        events,
        last_error: item.s_opt("last_error").map(str::to_string),
        xml: xml_of(item)?,
    })
}

/// A receipt's position in its listings: received time, then the start of the key (the
/// time alone could tie; the whole key is in the entry's table key).
fn listing_sk(received_at: &str, dedupe_key: &str) -> String {
    let short = dedupe_key.get(..16).unwrap_or(dedupe_key);
    format!("{received_at}#{short}")
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

/// How long an entry may take to appear in the listing index after its receipt is
/// written: the sweep's walk reads up to the lease's end, but its position stays this far
/// behind, so it never passes an entry not yet visible (the last minute is read again).
const LISTING_SETTLE: chrono::Duration = chrono::Duration::seconds(60);
/// Where a tenant's first walk starts (receipts received before the walk existed that are
/// not published are in the pending shards, read by [`DynamoDirectory::stuck_in_pending`]).
const FIRST_WALK_BACK: chrono::Duration = chrono::Duration::hours(1);
/// Listing entries a walk reads per shard and run: the rest waits for the next run.
const WALK_PAGE: usize = 2_000;
/// Unpublished receipts the walk remembers (found and handed to the sweep, read again until
/// published); past this many the oldest are dropped with a warning (they stay listed as
/// `received` for operators).
const MAX_UNFINISHED: usize = 500;

/// The sweep's walk of one tenant's listing shards: the last position read in each, and the
/// receipts found there unpublished.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct SweepCursor {
    /// Per shard (`00`..), the listing position read last.
    positions: std::collections::BTreeMap<String, String>,
    /// Dedupe keys of receipts found unpublished, oldest first.
    unfinished: Vec<String>,
}

impl DynamoDirectory {
    /// Receipts written before listings stopped moving that are still unpublished: in the
    /// pending shards (gsi3) or, older still, gsi2's pending partition, until they are
    /// published (publishing moves them out) or expire.
    async fn stuck_in_pending(
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

    /// Walks the listing shards from where the last run stopped to `received_before` and
    /// returns the receipts found unpublished, oldest first, with
    /// those found unpublished before and still not published (up to `limit`; the others
    /// stay remembered). Every receipt is read about once, whatever its state: the
    /// listing entry never moves, so publishing writes no index.
    async fn walk_listing(
        &self,
        t: &TenantId,
        received_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ReceiptView>, StoreError> {
        let cursor_pk = keys::callback_sweep_pk(t);
        let stored = self.get(cursor_pk.clone(), keys::SWEEP_CURSOR).await?;
        let cursor: SweepCursor = match &stored {
            Some(item) => item.json("cursor")?,
            None => SweepCursor::default(),
        };
        let upto = stamp(received_before);
        let settled = stamp(received_before - LISTING_SETTLE);
        let first = stamp(received_before - FIRST_WALK_BACK);
        let shard_name = |shard: u32| format!("{shard:02}");
        let reads = (0..keys::CALLBACK_SHARDS).map(|shard| {
            let from = cursor
                .positions
                .get(&shard_name(shard))
                .cloned()
                .unwrap_or_else(|| first.clone());
            let q = Query::index(GSI3, keys::callbacks_index(t, shard))
                .sk_between(from.clone(), upto.clone())
                .page_size(WALK_PAGE);
            let behind = from < upto;
            async move {
                let items = if behind {
                    self.table.query_up_to(q, WALK_PAGE).await?
                } else {
                    Vec::new()
                };
                let read: Vec<(String, String)> = items
                    .iter()
                    .filter_map(|i| Some((i.s_opt(GSI3_SK)?.to_string(), i.s_opt(PK)?.to_string())))
                    .filter(|(sk, _)| *sk != from)
                    .collect();
                Ok::<_, StoreError>((shard, read))
            }
        });
        let pages = futures::future::try_join_all(reads).await?;
        let mut positions = cursor.positions.clone();
        let mut pks: Vec<String> = cursor
            .unfinished
            .iter()
            .map(|key| keys::receipt_pk(t, key))
            .collect();
        for (shard, read) in &pages {
            if let Some((last, _)) = read.iter().rev().find(|(sk, _)| *sk <= settled) {
                positions.insert(shard_name(*shard), last.clone());
            }
            pks.extend(read.iter().map(|(_, pk)| pk.clone()));
        }
        let mut seen = HashSet::new();
        pks.retain(|pk| seen.insert(pk.clone()));
        let mut unpublished: Vec<ReceiptView> = Vec::new();
        for chunk in pks.chunks(100) {
            for item in self.receipts_at(chunk).await? {
                let view = view_of(&item)?;
                if view.status != ReceiptStatus::Published {
                    unpublished.push(view);
                }
            }
        }
        unpublished.sort_by(|a, b| a.received_at.cmp(&b.received_at));
        let mut unfinished: Vec<String> =
            unpublished.iter().map(|v| v.dedupe_key.clone()).collect();
        if unfinished.len() > MAX_UNFINISHED {
            let dropped = unfinished.len() - MAX_UNFINISHED;
            tracing::warn!(
                dropped,
                "more unpublished callbacks than the sweep remembers; the oldest are left listed as received"
            );
            unfinished.drain(..dropped);
        }
        let next = SweepCursor {
            positions,
            unfinished,
        };
        if next != cursor {
            self.table
                .put(item::item([
                    (PK, s(cursor_pk)),
                    (SK, s(keys::SWEEP_CURSOR)),
                    ("cursor", item::json(&next)),
                ]))
                .await?;
        }
        unpublished.truncate(limit);
        Ok(unpublished)
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
        planned: plan_of(item)?,
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
            keys::callbacks_index(t, keys::callback_shard(dedupe_key))
        };
        // Under 1 KB for a usual callback (one write unit): the key only in the partition
        // key, the XML encoded, the plan without what the receipt already says.
        let mut item = item::item([
            (PK, s(keys::receipt_pk(t, dedupe_key))),
            (SK, s(keys::RECEIPT)),
            (GSI3_PK, s(listing)),
            (GSI3_SK, s(listing_sk(&received_at, dedupe_key))),
            ("kind", s(&receipt.kind)),
            (
                XML_ENCODED,
                AttributeValue::B(Blob::new(receipt_codec::encode_xml(&receipt.xml))),
            ),
            ("event_time", n(receipt.event_time)),
            ("status", s(ReceiptStatus::Received.as_str())),
            ("received_at", s(&received_at)),
            ("attempts", n(1)),
            ("lease_owner", s(&lease.owner)),
            ("lease_until", n(lease.until_ms)),
            (TTL, n(now.timestamp() + RECEIPT_TTL_DAYS * 24 * 3600)),
        ]);
        if receipt.unknown {
            item.insert("unknown".into(), AttributeValue::Bool(true));
        }
        if let Some(planned) = &receipt.planned {
            item.insert(
                PLAN.into(),
                s(receipt_codec::encode_events(
                    planned,
                    t.as_str(),
                    dedupe_key,
                    receipt.event_time,
                )),
            );
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
        // The receipt's CreateTime is not at hand: the events keep their `occurred_at`.
        let mut u = Update::new();
        u.set(
            PLAN,
            s(receipt_codec::encode_events(
                planned,
                t.as_str(),
                dedupe_key,
                i64::MIN,
            )),
        );
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
        // A small change: the events published are the plan's (or those recorded at
        // `applied`), so only their number is kept, and the receipt stays under 1 KB.
        let mut u = Update::new();
        u.set("status", s(ReceiptStatus::Published.as_str()))
            .set(EVENTS_PUBLISHED, n(events.len() as i64))
            .set("published_at", s(stamp(now)))
            .set("lease_until", n(0))
            .remove("last_error");
        if !unknown {
            // The listing shard the receipt was created in: the same key, so no index write.
            // A receipt created while pending receipts had shards of their own moves out of
            // its pending shard here (one from before the shards, with no position, stays
            // in gsi1's listing and leaves gsi2's pending partition).
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
        let mut stuck = self.stuck_in_pending(t, received_before, limit).await?;
        if stuck.len() < limit {
            let walked = self
                .walk_listing(t, received_before, limit - stuck.len())
                .await?;
            stuck.extend(walked);
        }
        Ok(stuck)
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
