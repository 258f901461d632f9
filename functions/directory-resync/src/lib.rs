//! Handler of the `directory-resync` function: runs a full directory re-sync job
//! (`ResyncRequested`, from the admin API or from itself) for a bounded time, checkpointing
//! after every WeCom page, then re-publishes `ResyncRequested` to continue where it stopped.
//! The job logic lives in `scrm_core::contacts::resync` and
//! `scrm_core::contacts::resync_run`; this parses the event and answers the outcome.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoTags;
use scrm_core::clock::Clock;
use scrm_core::contacts::resync_run::{Ran, RequestedResync};
pub use scrm_core::contacts::resync_run::{ResyncRunError, ResyncSettings};
use scrm_core::contacts::source::DirectorySource;
use scrm_core::events::{DomainEvent, EventEnvelope, EventPublisher};
use scrm_core::tenants::TenantLookup;
use serde_json::{json, Value};
use std::sync::Arc;
use tracing::Instrument;

/// Everything the function needs, built once per container.
pub struct Resyncer<T, S, P> {
    /// Tenants (for the customer-contact secret).
    pub tenants: T,
    /// The directory and its jobs.
    pub dir: DynamoDirectory,
    /// The corp tag mirror.
    pub tags: DynamoTags,
    /// WeCom's API.
    pub source: S,
    /// Where `ResyncRequested` goes to continue a job.
    pub publisher: P,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Budget per invocation.
    pub settings: ResyncSettings,
}

/// The function's handler: one `ResyncRequested` event, one bounded run. The error says
/// whether Lambda should retry (`wire` maps it to the invocation's error once).
pub async fn handle<T, S, P>(
    r: &Resyncer<T, S, P>,
    event: LambdaEvent<Value>,
) -> Result<Value, ResyncRunError>
where
    T: TenantLookup,
    S: DirectorySource,
    P: EventPublisher,
{
    let request_id = event.context.request_id.clone();
    let envelope = EventEnvelope::from_eventbridge_json(&event.payload)
        .map_err(|e| ResyncRunError::Permanent(format!("not a domain event: {e}")))?;
    let DomainEvent::ResyncRequested { job_id } = &envelope.event else {
        return Err(ResyncRunError::Permanent(format!(
            "expected ResyncRequested, got {}",
            envelope.detail_type()
        )));
    };
    let span = tracing::info_span!("resync", request_id = %request_id, tenant = %envelope.tenant, job_id = %job_id);
    let run = RequestedResync {
        tenants: &r.tenants,
        dir: &r.dir,
        tags: &r.tags,
        source: &r.source,
        publisher: &r.publisher,
        clock: &*r.clock,
        settings: r.settings,
    };
    let ran = run.run(&envelope.tenant, job_id).instrument(span).await?;
    Ok(match ran {
        Ran::Done(job) => json!({"job_id": job_id, "outcome": "done", "progress": job.progress}),
        Ran::Continued(job) => {
            json!({"job_id": job_id, "outcome": "continue", "progress": job.progress})
        }
        Ran::NotRunnable => json!({"job_id": job_id, "outcome": "not_runnable"}),
    })
}
