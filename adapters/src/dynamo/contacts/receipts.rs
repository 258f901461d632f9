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
//! `scrm_core::contacts::receipts`). A receipt of a known event is listed in the sparse
//! index partition `{corp}#CALLBACKS#PENDING` (gsi2) from its creation until it is
//! published, so the sweep reads only receipts still unfinished (unknown events keep gsi2
//! for their own listing, and have no effects to finish).
use super::keys;
use super::DynamoDirectory;
use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK, TTL};
use crate::dynamo::{Cond, PutOutcome, Query, StoreError, Update};
use chrono::{DateTime, Utc};
use scrm_core::contacts::model::Page;
use scrm_core::contacts::receipts::*;
use scrm_core::events::EventEnvelope;
use scrm_core::tenants::TenantId;
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
        let received_at = stamp(now);
        let index_sk = format!("{received_at}#{dedupe_key}");
        let mut item = item::item([
            (PK, s(keys::receipt_pk(t, dedupe_key))),
            (SK, s(keys::RECEIPT)),
            (GSI1_PK, s(keys::callbacks_index(t))),
            (GSI1_SK, s(&index_sk)),
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
        let listing = if receipt.unknown {
            keys::unknown_callbacks_index(t)
        } else {
            keys::pending_callbacks_index(t)
        };
        item.insert(GSI2_PK.into(), s(listing));
        item.insert(GSI2_SK.into(), s(&index_sk));
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
                    planned: None,
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
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.set("status", s(ReceiptStatus::Published.as_str()))
            .set("published_at", s(stamp(now)))
            .set("lease_until", n(0))
            .remove("last_error");
        if !unknown {
            // Out of the pending listing the sweep reads.
            u.remove(GSI2_PK).remove(GSI2_SK);
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
        let q = Query::index(GSI2, keys::pending_callbacks_index(t))
            .sk_before(stamp(received_before))
            .page_size(limit);
        let items = self.table.query_page(&q).await?.items;
        items
            .iter()
            .take(limit)
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
        let mut q = if unknown_only {
            Query::index(GSI2, keys::unknown_callbacks_index(t))
        } else {
            Query::index(GSI1, keys::callbacks_index(t))
        }
        .descending()
        .page_size(limit + 1);
        if let Some(b) = before {
            q = q.sk_before(b);
        }
        let sk_attr = q.sort_key();
        let items = self.table.query_page(&q).await?.items;
        let has_more = items.len() > limit;
        let mut views = Vec::new();
        let mut last_sk = None;
        for item in items.iter().take(limit) {
            views.push(view_of(item)?);
            last_sk = item.s_opt(sk_attr).map(str::to_string);
        }
        Ok(Page {
            items: views,
            next_cursor: if has_more { last_sk } else { None },
        })
    }
}
