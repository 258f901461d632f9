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
//! well inside WeCom's 5 seconds. Receipts whose delivery died after WeCom stopped
//! re-delivering are finished by [`Inbox::sweep`] (the `callback-sweep` schedule).
use super::apply::{Applier, Prepared, Produced};
use super::callback::{parse_callback, Callback};
use super::ports::{DirectoryRead, DirectoryWrite};
use super::receipts::{Acquired, Lease, NewReceipt, ReceiptStatus, ReceiptStore};
use super::source::{contact_credentials, DirectorySource};
use crate::clock::Clock;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher, PublishError};
use crate::ports::StoreError;
use crate::tags::TagMirror;
use crate::tenants::{Tenant, TenantId};
use std::time::Duration;

/// The inbox's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxSettings {
    /// How long a delivery owns a receipt before another delivery (or the sweep) may take
    /// it over: at least the callback function's timeout (10 s in the template), so a
    /// takeover never runs beside an attempt still alive. WeCom gives up on an answer
    /// after 5 s and re-delivers (three retries at most), so a re-delivery can arrive
    /// while the lease still runs: it waits [`InboxSettings::wait_for_peer`], then asks
    /// WeCom to retry (503). A receipt left unfinished after WeCom's last retry is
    /// finished by the scheduled sweep ([`Inbox::sweep`]).
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
    /// A state change already published, applied again with WeCom's state read anew
    /// (nothing published).
    Refreshed,
}

/// What a sweep of one tenant's stuck receipts did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Receipts finished (effects, events published, `published`).
    pub finished: usize,
    /// Receipts a delivery holds a live lease on (left to it).
    pub busy: usize,
    /// Receipts published meanwhile by another delivery.
    pub already_done: usize,
    /// Receipts that could not be finished now (the next sweep retries).
    pub failed: usize,
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
    ///
    /// A callback whose effect is "read WeCom's current state" ([`Callback::refresh`]) is
    /// applied again when its receipt is already published: WeCom's fields cannot tell two
    /// such changes within one second apart, so a second delivery may be a second change,
    /// and reading the state again is right either way (its event is not published twice).
    pub async fn land(&self, tenant: &Tenant, cb: &Callback) -> Result<Landed, InboxError> {
        self.land_as(tenant, cb, cb.refresh).await
    }

    async fn land_as(
        &self,
        tenant: &Tenant,
        cb: &Callback,
        refresh_when_done: bool,
    ) -> Result<Landed, InboxError> {
        let t = &tenant.id;
        // Read before writing: a re-delivery of a finished callback writes nothing.
        let found = self.receipts.receipt_status(t, &cb.dedupe_key).await?;
        if found == Some(ReceiptStatus::Published) {
            if refresh_when_done {
                tracing::info!(kind = %cb.kind, "delivery of a published state change; reading WeCom's state again");
                self.refresh(tenant, cb).await?;
                return Ok(Landed::Refreshed);
            }
            tracing::info!(kind = %cb.kind, "duplicate delivery; already done");
            return Ok(Landed::Duplicate);
        }
        // A first delivery decides its events before writing anything, and the put that
        // creates the receipt records them: one write where a plan used to be a second.
        let (planned, prepared) = match (found, &cb.change) {
            (None, Some(change)) => {
                let prepared = self.applier(tenant).prepare(change, cb.event_time).await?;
                let planned = self.envelopes(tenant, cb, prepared.planned.clone());
                (Some(planned), Some(prepared))
            }
            (None, None) => (Some(Vec::new()), None),
            (Some(_), _) => (None, None),
        };
        let receipt = NewReceipt {
            kind: cb.kind.clone(),
            unknown: cb.change.is_none(),
            xml: cb.xml.clone(),
            event_time: cb.event_time,
            planned,
        };
        let lease_ms = self.settings.lease.as_millis() as i64;
        let acquired = self
            .receipts
            .acquire(t, &cb.dedupe_key, &receipt, self.clock.now(), lease_ms)
            .await?;
        let (lease, status, recorded, planned, resumed) = match acquired {
            Acquired::Done if refresh_when_done => {
                tracing::info!(kind = %cb.kind, "delivery of a published state change; reading WeCom's state again");
                self.refresh(tenant, cb).await?;
                return Ok(Landed::Refreshed);
            }
            Acquired::Done => {
                tracing::info!(kind = %cb.kind, "duplicate delivery; already done");
                return Ok(Landed::Duplicate);
            }
            Acquired::Busy => {
                let landed = self.wait_for_peer(t, &cb.dedupe_key).await?;
                if refresh_when_done {
                    self.refresh(tenant, cb).await?;
                }
                return Ok(landed);
            }
            Acquired::Owned {
                lease,
                status,
                events,
                planned,
                resumed,
            } => (lease, status, events, planned, resumed),
        };
        if resumed {
            tracing::warn!(
                status = status.as_str(),
                planned = planned.is_some(),
                "taking over a delivery that did not finish"
            );
        }
        // The plan this delivery made is only good for the receipt it created.
        let prepared = prepared.filter(|_| !resumed);
        let mut written: Option<Vec<EventEnvelope>> = None;
        let outcome = async {
            let events = match (status, recorded) {
                (ReceiptStatus::Applied, Some(events)) => events,
                _ => match self.effects(tenant, cb, &lease, planned, prepared).await? {
                    Some(events) => events,
                    None => {
                        tracing::warn!("lease lost to a re-delivery, which finishes the callback");
                        return Ok(Landed::LeaseLost);
                    }
                },
            };
            written = Some(events.clone());
            if let Err(e) = self.publisher.publish(&events).await {
                tracing::error!(error = %e, events = events.len(), "publishing domain events failed");
                return Err(InboxError::Publish(e));
            }
            if !self
                .receipts
                .mark_published(
                    t,
                    &cb.dedupe_key,
                    &lease,
                    receipt.unknown,
                    &events,
                    self.clock.now(),
                )
                .await?
            {
                tracing::warn!("lease lost after publishing; the other delivery publishes the same event ids");
            }
            tracing::info!(kind = %cb.kind, events = events.len(), unknown = cb.change.is_none(), "callback landed");
            Ok(Landed::Landed {
                events: events.len(),
            })
        }
        .await;
        match outcome {
            Ok(landed) => Ok(landed),
            Err(failure) => {
                // The effects are written: record what to publish, so the next delivery
                // only publishes (only on this failure path: a delivery that dies here is
                // taken over from its plan, the effects written again idempotently).
                if let (Some(events), InboxError::Publish(_)) = (&written, &failure) {
                    if let Err(e) = self
                        .receipts
                        .mark_applied(t, &cb.dedupe_key, &lease, events, self.clock.now())
                        .await
                    {
                        tracing::warn!(error = %e, "could not record the events to publish");
                    }
                }
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

    /// Finishes the receipts of `tenant` still unpublished past their lease: deliveries
    /// that died after WeCom's last re-delivery (WeCom retries only three times). Each is
    /// taken over like a re-delivery would (a conditional update, so a live delivery or a
    /// concurrent sweep keeps it) and carried on from its recorded state: effects
    /// (idempotent, with the recorded plan), publication, `published`. At most `limit`
    /// receipts, oldest first.
    pub async fn sweep(&self, tenant: &Tenant, limit: usize) -> Result<Swept, StoreError> {
        let lease = chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
        let stuck = self
            .receipts
            .stuck(&tenant.id, self.clock.now() - lease, limit)
            .await?;
        let mut swept = Swept::default();
        for receipt in stuck {
            let cb = match parse_callback(receipt.xml.clone()) {
                // The key it was stored under, whatever today's key derivation says.
                Ok(cb) => Callback {
                    dedupe_key: receipt.dedupe_key.clone(),
                    ..cb
                },
                Err(e) => {
                    tracing::error!(dedupe_key = %receipt.dedupe_key, error = %e, "stored callback unreadable; left as it is");
                    swept.failed += 1;
                    continue;
                }
            };
            match self.land_as(tenant, &cb, false).await {
                Ok(Landed::Landed { .. }) => swept.finished += 1,
                Ok(_) => swept.already_done += 1,
                Err(InboxError::InProgress) => swept.busy += 1,
                Err(e) => {
                    tracing::warn!(dedupe_key = %receipt.dedupe_key, error = %e, "could not finish a stuck callback; the next sweep retries");
                    swept.failed += 1;
                }
            }
        }
        Ok(swept)
    }

    /// Writes the callback's effects with the plan (recorded when the receipt was created,
    /// or by an earlier attempt; else made and recorded now, before any write) and returns
    /// the events to publish: a join or a leave only when its write made it. `prepared` is
    /// this delivery's own reading, when it made the plan. `None` when the lease was lost
    /// to another delivery.
    async fn effects(
        &self,
        tenant: &Tenant,
        cb: &Callback,
        lease: &Lease,
        planned: Option<Vec<EventEnvelope>>,
        prepared: Option<Prepared>,
    ) -> Result<Option<Vec<EventEnvelope>>, InboxError> {
        let t = &tenant.id;
        let Some(change) = &cb.change else {
            return Ok(Some(Vec::new()));
        };
        let applier = self.applier(tenant);
        let prepared = match prepared {
            Some(prepared) => prepared,
            None => applier.prepare(change, cb.event_time).await?,
        };
        let planned = match planned {
            Some(planned) => planned,
            None => {
                let planned = self.envelopes(tenant, cb, prepared.planned.clone());
                if !self
                    .receipts
                    .record_plan(t, &cb.dedupe_key, lease, &planned)
                    .await?
                {
                    return Ok(None);
                }
                planned
            }
        };
        let decided: Vec<DomainEvent> = planned.iter().map(|e| e.event.clone()).collect();
        let kept = applier
            .execute(change, cb.event_time, &prepared, &decided, &cb.dedupe_key)
            .await?;
        Ok(Some(
            planned
                .into_iter()
                .zip(kept)
                .filter_map(|(e, keep)| keep.then_some(e))
                .collect(),
        ))
    }

    /// Applies a state change again (WeCom's state read anew); nothing is published.
    /// Without WeCom's API (no contact secret) there is nothing new to learn, and nothing
    /// is written.
    async fn refresh(&self, tenant: &Tenant, cb: &Callback) -> Result<(), StoreError> {
        if contact_credentials(tenant).is_none() {
            return Ok(());
        }
        if let Some(change) = &cb.change {
            self.applier(tenant)
                .apply(change, cb.event_time, &cb.dedupe_key)
                .await?;
        }
        Ok(())
    }

    fn applier<'t>(&'t self, tenant: &'t Tenant) -> Applier<'t, D, M, S> {
        Applier {
            dir: self.dir,
            tags: self.tags,
            source: contact_credentials(tenant).map(|c| (self.source, c)),
            fetch_budget: self.settings.fetch_budget,
            tenant: &tenant.id,
        }
    }

    fn envelopes(
        &self,
        tenant: &Tenant,
        cb: &Callback,
        produced: Vec<Produced>,
    ) -> Vec<EventEnvelope> {
        let occurred_at =
            chrono::DateTime::from_timestamp(cb.event_time, 0).unwrap_or_else(|| self.clock.now());
        produced
            .into_iter()
            .map(|p| {
                EventEnvelope::new(
                    p.event_id(&cb.dedupe_key),
                    tenant.id.as_str(),
                    occurred_at,
                    p.event,
                )
            })
            .collect()
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
