//! Handler of the `directory-resync` function: runs a full directory re-sync job
//! (`ResyncRequested`, from the admin API or from itself) for a bounded time, checkpointing
//! after every WeCom page, then re-publishes `ResyncRequested` to continue where it stopped.
//! The job logic lives in `scrm_core::contacts::resync` and
//! `scrm_core::contacts::resync_run`; this parses the event and answers the outcome.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoPoints;
use scrm_adapters::dynamo::DynamoTags;
use scrm_core::clock::Clock;
use scrm_core::contacts::resync_run::{Ran, RequestedResync};
pub use scrm_core::contacts::resync_run::{ResyncRunError, ResyncSettings};
use scrm_core::contacts::source::DirectorySource;
use scrm_core::dashboard::recount_customers;
use scrm_core::events::{DomainEvent, EventEnvelope, EventPublisher};
use scrm_core::tenants::{TenantId, TenantLookup};
use serde_json::{json, Value};
use std::sync::Arc;
use tracing::Instrument;

/// Everything the function needs, built once per container.
pub struct Resyncer<T, S, P> {
    /// Tenants (for the customer-contact secret).
    pub tenants: T,
    /// The directory and its jobs.
    pub dir: DynamoDirectory,
    /// The dashboard's counters (the number of customers, corrected when a job ends).
    pub points: DynamoPoints,
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
    let ran = run
        .run(&envelope.tenant, job_id)
        .instrument(span.clone())
        .await?;
    Ok(match ran {
        Ran::Done(job) => {
            // The directory is now as WeCom says: the dashboard's number of customers is
            // set to what it holds. The job is done whatever happens here (a failure is
            // logged; the next re-sync corrects the number).
            let customers = match TenantId::parse(&envelope.tenant) {
                Ok(tenant) => recount_customers(&r.dir, &r.points, &tenant)
                    .instrument(span)
                    .await
                    .inspect_err(|e| tracing::error!(error = %e, "customers not recounted"))
                    .ok(),
                Err(_) => None,
            };
            json!({"job_id": job_id, "outcome": "done", "progress": job.progress, "customers": customers})
        }
        Ran::Continued(job) => {
            json!({"job_id": job_id, "outcome": "continue", "progress": job.progress})
        }
        Ran::NotRunnable => json!({"job_id": job_id, "outcome": "not_runnable"}),
    })
}
