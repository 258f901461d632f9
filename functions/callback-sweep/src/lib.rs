//! `callback-sweep`: every five minutes, finishes the WeCom callbacks whose delivery died
//! and that no re-delivery finished (WeCom re-delivers only three times, and a re-delivery
//! arriving while the dying delivery's lease still runs is asked to retry). For every
//! tenant it reads the receipts still unpublished past their lease (a sparse index, so the
//! cost follows the stuck receipts, not the callbacks) and carries each on from its
//! recorded state through the inbox, exactly as a re-delivery taking it over would:
//! effects (idempotent, with the events planned by the first attempt), publication,
//! `published`. The use case is `scrm_core::contacts::inbox::Inbox::sweep`.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::dynamo::{DynamoDirectory, DynamoTags};
use scrm_adapters::lambda::FnError;
use scrm_core::clock::Clock;
use scrm_core::contacts::inbox::{Inbox, InboxSettings, Swept};
use scrm_core::contacts::source::DirectorySource;
use scrm_core::events::EventPublisher;
use scrm_core::tenants::TenantLookup;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// The most receipts finished per tenant and run (the next run takes the rest).
pub const SWEEP_BATCH: usize = 100;

/// Everything the function needs, built once per container.
pub struct CallbackSweep<T, S, P> {
    /// Tenants (with the contact secret, for WeCom reads).
    pub tenants: T,
    /// The directory and the receipts.
    pub dir: DynamoDirectory,
    /// The corp tag mirror.
    pub tags: DynamoTags,
    /// WeCom's API, for details the callbacks lack.
    pub source: S,
    /// Domain events.
    pub publisher: P,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The inbox's timing: the same lease as the callback function's.
    pub settings: InboxSettings,
    /// Receipts per tenant and run.
    pub batch: usize,
}

impl<T, S, P> CallbackSweep<T, S, P>
where
    T: TenantLookup,
    S: DirectorySource,
    P: EventPublisher,
{
    /// Sweeps every tenant; a tenant whose receipts cannot be read fails the run after the
    /// others are swept (Lambda retries; finishing a receipt twice does nothing more).
    pub async fn run(&self) -> Result<Swept, scrm_core::ports::StoreError> {
        let inbox = Inbox {
            receipts: &self.dir,
            dir: &self.dir,
            tags: &self.tags,
            source: &self.source,
            publisher: &self.publisher,
            clock: &*self.clock,
            settings: InboxSettings {
                // A receipt a live delivery holds is left to it at once.
                wait_for_peer: Duration::ZERO,
                ..self.settings
            },
        };
        let mut total = Swept::default();
        let mut first_error = None;
        for id in self.tenants.tenant_ids().await? {
            let Some(tenant) = self.tenants.tenant(&id).await? else {
                continue;
            };
            let span = tracing::info_span!("callback_sweep", tenant = %id);
            match inbox.sweep(&tenant, self.batch).instrument(span).await {
                Ok(swept) => {
                    if swept != Swept::default() {
                        tracing::info!(tenant = %id, finished = swept.finished, busy = swept.busy, failed = swept.failed, "stuck callbacks swept");
                    }
                    total.finished += swept.finished;
                    total.busy += swept.busy;
                    total.already_done += swept.already_done;
                    total.failed += swept.failed;
                }
                Err(e) => {
                    tracing::warn!(tenant = %id, error = %e, "sweeping a tenant's callbacks failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }
}

/// The Lambda handler: the scheduled event (its content is not read); answers with the
/// run's counts.
pub async fn handle<T, S, P>(
    sweep: &CallbackSweep<T, S, P>,
    event: LambdaEvent<Value>,
) -> Result<Value, FnError>
where
    T: TenantLookup,
    S: DirectorySource,
    P: EventPublisher,
{
    let span = tracing::info_span!("callback_sweep_run", request_id = %event.context.request_id);
    let swept = sweep.run().instrument(span).await?;
    Ok(json!({
        "finished": swept.finished,
        "busy": swept.busy,
        "already_done": swept.already_done,
        "failed": swept.failed,
    }))
}
