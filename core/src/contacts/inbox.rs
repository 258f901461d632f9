//! The callback inbox: lands a verified callback exactly once (the receipt state machine of
//! [`super::receipts`]).
//!
//! A durable receipt keyed by the tenant and the event's content-derived dedupe key is
//! written first; the directory effects follow, then the domain events, each step recorded
//! on the receipt. A re-delivery of a finished callback does nothing; concurrent deliveries
//! of one callback give one effect; a delivery that died midway is completed by WeCom's
//! next re-delivery. Unknown events are stored with their XML and acknowledged.
//!
//! WeCom reads are bounded (see [`InboxSettings::fetch_budget`]) so that the whole stays
//! well inside WeCom's 5 seconds.
use super::apply::{Applier, Produced};
use super::callback::Callback;
use super::ports::{DirectoryRead, DirectoryWrite};
use super::receipts::{Acquired, NewReceipt, ReceiptStatus, ReceiptStore};
use super::source::{contact_credentials, DirectorySource};
use crate::clock::Clock;
use crate::events::{EventEnvelope, EventPublisher, PublishError};
use crate::ports::StoreError;
use crate::tags::TagMirror;
use crate::tenants::{Tenant, TenantId};
use std::time::Duration;

/// The inbox's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxSettings {
    /// How long a delivery owns a receipt before a re-delivery may take it over. Longer
    /// than one delivery's work, shorter than WeCom's re-delivery interval.
    pub lease: Duration,
    /// How long a concurrent duplicate waits for the owner before asking WeCom to retry.
    pub wait_for_peer: Duration,
    /// The longest one WeCom API read may take while handling a callback.
    pub fetch_budget: Duration,
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(10),
            wait_for_peer: Duration::from_millis(1500),
            fetch_budget: Duration::from_millis(1500),
        }
    }
}

/// How a delivery ended; every one of them is acknowledged to WeCom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// This delivery wrote the effects (or resumed them) and published the events.
    Landed {
        /// How many domain events were published.
        events: usize,
    },
    /// A duplicate of a callback already published: nothing done.
    Duplicate,
    /// A concurrent duplicate whose owner finished while this one waited.
    PeerFinished,
    /// The lease was lost to a re-delivery after the effects were written; that delivery
    /// finishes the callback.
    LeaseLost,
}

/// Why a callback could not be landed now; WeCom's re-delivery tries again, and the
/// receipt says where to resume.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The directory or the receipts could not be read or written.
    #[error("directory: {0}")]
    Store(#[from] StoreError),
    /// The domain events could not be published.
    #[error("publish: {0}")]
    Publish(#[from] PublishError),
    /// Another delivery holds the receipt and did not finish within the wait.
    #[error("this callback is being processed by another delivery; retry later")]
    InProgress,
}

/// Lands callbacks for one container: the ports, borrowed, and the timing.
pub struct Inbox<'a, R, D, M, S, P> {
    /// The receipts.
    pub receipts: &'a R,
    /// The directory.
    pub dir: &'a D,
    /// The corp tag mirror.
    pub tags: &'a M,
    /// WeCom's API, for details the callback lacks (short timeouts).
    pub source: &'a S,
    /// Domain events.
    pub publisher: &'a P,
    /// Time.
    pub clock: &'a dyn Clock,
    /// Timing.
    pub settings: InboxSettings,
}

impl<R, D, M, S, P> Inbox<'_, R, D, M, S, P>
where
    R: ReceiptStore,
    D: DirectoryRead + DirectoryWrite,
    M: TagMirror,
    S: DirectorySource,
    P: EventPublisher,
{
    /// Lands a verified callback exactly once (the receipt state machine).
    pub async fn land(&self, tenant: &Tenant, cb: &Callback) -> Result<Landed, InboxError> {
        let t = &tenant.id;
        let receipt = NewReceipt {
            kind: cb.kind.clone(),
            unknown: cb.change.is_none(),
            xml: cb.xml.clone(),
            event_time: cb.event_time,
        };
        let lease_ms = self.settings.lease.as_millis() as i64;
        let acquired = self
            .receipts
            .acquire(t, &cb.dedupe_key, &receipt, self.clock.now(), lease_ms)
            .await?;
        let (lease, status, recorded, resumed) = match acquired {
            Acquired::Done => {
                tracing::info!(kind = %cb.kind, "duplicate delivery; already done");
                return Ok(Landed::Duplicate);
            }
            Acquired::Busy => return self.wait_for_peer(t, &cb.dedupe_key).await,
            Acquired::Owned {
                lease,
                status,
                events,
                resumed,
            } => (lease, status, events, resumed),
        };
        if resumed {
            tracing::warn!(
                status = status.as_str(),
                "taking over a delivery that did not finish"
            );
        }
        let outcome = async {
            let events = match (status, recorded) {
                (ReceiptStatus::Applied, Some(events)) => events,
                _ => {
                    let events = self.effects(tenant, cb).await?;
                    if !self
                        .receipts
                        .mark_applied(t, &cb.dedupe_key, &lease, &events, self.clock.now())
                        .await?
                    {
                        tracing::warn!("lease lost to a re-delivery, which finishes the callback");
                        return Ok(Landed::LeaseLost);
                    }
                    events
                }
            };
            if let Err(e) = self.publisher.publish(&events).await {
                tracing::error!(error = %e, events = events.len(), "publishing domain events failed");
                return Err(InboxError::Publish(e));
            }
            self.receipts
                .mark_published(t, &cb.dedupe_key, &lease, self.clock.now())
                .await?;
            tracing::info!(kind = %cb.kind, events = events.len(), unknown = cb.change.is_none(), "callback landed");
            Ok(Landed::Landed {
                events: events.len(),
            })
        }
        .await;
        match outcome {
            Ok(landed) => Ok(landed),
            Err(failure) => {
                // Let WeCom's next re-delivery take over at once.
                if let Err(e) = self
                    .receipts
                    .release(t, &cb.dedupe_key, &lease, &failure.to_string())
                    .await
                {
                    tracing::warn!(error = %e, "could not release the receipt lease");
                }
                Err(failure)
            }
        }
    }

    /// Applies the callback's change and returns the envelopes of its domain events.
    async fn effects(
        &self,
        tenant: &Tenant,
        cb: &Callback,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let Some(change) = &cb.change else {
            return Ok(Vec::new());
        };
        let applier = Applier {
            dir: self.dir,
            tags: self.tags,
            source: contact_credentials(tenant).map(|c| (self.source, c)),
            fetch_budget: self.settings.fetch_budget,
            tenant: &tenant.id,
        };
        let produced: Vec<Produced> = applier.apply(change, cb.event_time).await?;
        let occurred_at =
            chrono::DateTime::from_timestamp(cb.event_time, 0).unwrap_or_else(|| self.clock.now());
        Ok(produced
            .into_iter()
            .map(|p| {
                EventEnvelope::new(
                    p.event_id(&cb.dedupe_key),
                    tenant.id.as_str(),
                    occurred_at,
                    p.event,
                )
            })
            .collect())
    }

    /// A concurrent duplicate: wait (bounded) for the delivery that owns the receipt; if it
    /// has not finished, ask WeCom to deliver again later rather than acknowledge a callback
    /// whose effects might still be lost.
    async fn wait_for_peer(&self, t: &TenantId, dedupe_key: &str) -> Result<Landed, InboxError> {
        let deadline = tokio::time::Instant::now() + self.settings.wait_for_peer;
        loop {
            if self.receipts.receipt_status(t, dedupe_key).await? == Some(ReceiptStatus::Published)
            {
                tracing::info!("concurrent duplicate; the other delivery finished");
                return Ok(Landed::PeerFinished);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(InboxError::InProgress);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
