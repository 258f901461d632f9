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
use super::keys;
use super::DynamoDirectory;
use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::StoreError;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use scrm_core::contacts::model::Page;
use scrm_core::contacts::receipts::*;
use scrm_core::events::EventEnvelope;
use scrm_core::tenants::TenantId;
fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn events_of(item: &AttrMap) -> Result<Option<Vec<EventEnvelope>>, StoreError> {
    match item.s_opt("events") {
        Some(_) => item.json("events").map(Some),
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
        let result = self
            .db
            .client
            .update_item()
            .table_name(self.table())
            .key("pk", s(keys::receipt_pk(t, dedupe_key)))
            .key("sk", s(keys::RECEIPT))
            .update_expression(
                "SET lease_owner = :me, lease_until = :until, attempts = attempts + :one",
            )
            .condition_expression("#st <> :published AND lease_until < :now")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":published", s(ReceiptStatus::Published.as_str()))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.attributes),
            Err(e) => match crate::dynamo::from_sdk(e) {
                StoreError::ConditionFailed => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn transition(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        expression: &str,
        values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .db
            .client
            .update_item()
            .table_name(self.table())
            .key("pk", s(keys::receipt_pk(t, dedupe_key)))
            .key("sk", s(keys::RECEIPT))
            .update_expression(expression)
            .condition_expression("lease_owner = :me")
            .expression_attribute_values(":me", s(&lease.owner));
        if expression.contains("#st") {
            req = req.expression_attribute_names("#st", "status");
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        crate::dynamo::applied(req.send().await)
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
            ("pk", s(keys::receipt_pk(t, dedupe_key))),
            ("sk", s(keys::RECEIPT)),
            ("gsi1pk", s(keys::callbacks_index(t))),
            ("gsi1sk", s(&index_sk)),
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
            ("ttl", n(now.timestamp() + RECEIPT_TTL_DAYS * 24 * 3600)),
        ]);
        if receipt.unknown {
            item.insert("gsi2pk".into(), s(keys::unknown_callbacks_index(t)));
            item.insert("gsi2sk".into(), s(&index_sk));
        }
        let put = self
            .db
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let existing = match put {
            Ok(_) => {
                return Ok(Acquired::Owned {
                    lease,
                    status: ReceiptStatus::Received,
                    events: None,
                    resumed: false,
                })
            }
            Err(SdkError::ServiceError(service))
                if matches!(
                    service.err(),
                    PutItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                match service.into_err() {
                    PutItemError::ConditionalCheckFailedException(c) => c.item,
                    _ => None,
                }
            }
            Err(e) => return Err(crate::dynamo::from_sdk(e)),
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

    async fn mark_applied(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.transition(
            t,
            dedupe_key,
            lease,
            "SET #st = :applied, events = :events, applied_at = :at",
            vec![
                (":applied", s(ReceiptStatus::Applied.as_str())),
                (":events", item::json(&events)),
                (":at", s(stamp(now))),
            ],
        )
        .await
    }

    async fn mark_published(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.transition(
            t,
            dedupe_key,
            lease,
            "SET #st = :published, published_at = :at, lease_until = :zero REMOVE last_error",
            vec![
                (":published", s(ReceiptStatus::Published.as_str())),
                (":at", s(stamp(now))),
                (":zero", n(0)),
            ],
        )
        .await
    }

    async fn release(
        &self,
        t: &TenantId,
        dedupe_key: &str,
        lease: &Lease,
        error: &str,
    ) -> Result<(), StoreError> {
        self.transition(
            t,
            dedupe_key,
            lease,
            "SET lease_until = :zero, last_error = :err",
            vec![(":zero", n(0)), (":err", s(error))],
        )
        .await?;
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

    async fn receipts(
        &self,
        t: &TenantId,
        unknown_only: bool,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Page<ReceiptView>, StoreError> {
        let (index, pk_attr, sk_attr, pk) = if unknown_only {
            ("gsi2", "gsi2pk", "gsi2sk", keys::unknown_callbacks_index(t))
        } else {
            ("gsi1", "gsi1pk", "gsi1sk", keys::callbacks_index(t))
        };
        let mut q = self
            .db
            .client
            .query()
            .table_name(self.table())
            .index_name(index)
            .scan_index_forward(false)
            .limit((limit + 1) as i32)
            .expression_attribute_values(":pk", s(pk));
        q = match before {
            Some(b) => q
                .key_condition_expression(format!("{pk_attr} = :pk AND {sk_attr} < :before"))
                .expression_attribute_values(":before", s(b)),
            None => q.key_condition_expression(format!("{pk_attr} = :pk")),
        };
        let out = q.send().await.map_err(crate::dynamo::from_sdk)?;
        let items = out.items.unwrap_or_default();
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
