//! Handler of the `directory-resync` function: runs a full directory re-sync job
//! (`ResyncRequested`, from the admin API or from itself) for a bounded time, checkpointing
//! after every WeCom page, then re-publishes `ResyncRequested` to continue where it stopped.
//! The job logic lives in `scrm_core::contacts::resync`.
pub mod wire;

use lambda_runtime::{Diagnostic, LambdaEvent};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoTags;
use scrm_adapters::dynamo::StoreError;
use scrm_core::clock::Clock;
use scrm_core::contacts::resync::{Resync, ResyncError, RunBudget, RunOutcome};
use scrm_core::contacts::source::{contact_credentials, DirectorySource};
use scrm_core::events::{DomainEvent, EventEnvelope, EventPublisher, PublishError};
use scrm_core::tenants::{TenantId, TenantLookup};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// How much one invocation does.
#[derive(Debug, Clone, Copy)]
pub struct ResyncSettings {
    /// Stop starting WeCom pages after this long (the function's timeout must leave room
    /// for the page in flight).
    pub run_for: Duration,
    /// Stop after this many pages (tests use it to interrupt a job).
    pub max_pages: Option<u32>,
    /// Groups per `groupchat/list` page.
    pub group_page_size: u32,
    /// Records per `batch/get_by_user` page.
    pub customer_page_size: u32,
}

impl Default for ResyncSettings {
    fn default() -> Self {
        Self {
            run_for: Duration::from_secs(600),
            max_pages: None,
            group_page_size: 100,
            customer_page_size: 100,
        }
    }
}

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

/// Why an invocation failed. The Lambda error type says whether retrying can help:
/// `Retryable` (WeCom or DynamoDB unavailable; the job resumes from its checkpoint) or
/// `Permanent` (malformed event, unknown tenant, bad credentials).
#[derive(Debug, thiserror::Error)]
pub enum ResyncFnError {
    /// A later attempt may succeed.
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help.
    #[error("{0}")]
    Permanent(String),
}

impl From<ResyncFnError> for Diagnostic {
    fn from(e: ResyncFnError) -> Self {
        let (kind, message) = match &e {
            ResyncFnError::Retryable(m) => ("Retryable", m.clone()),
            ResyncFnError::Permanent(m) => ("Permanent", m.clone()),
        };
        Diagnostic {
            error_type: kind.to_string(),
            error_message: message,
        }
    }
}

impl From<StoreError> for ResyncFnError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(_) => ResyncFnError::Permanent(e.to_string()),
            other => ResyncFnError::Retryable(other.to_string()),
        }
    }
}

impl From<ResyncError> for ResyncFnError {
    fn from(e: ResyncError) -> Self {
        if e.is_retryable() {
            ResyncFnError::Retryable(e.to_string())
        } else {
            ResyncFnError::Permanent(e.to_string())
        }
    }
}

impl From<PublishError> for ResyncFnError {
    fn from(e: PublishError) -> Self {
        ResyncFnError::Retryable(e.to_string())
    }
}

/// The function's handler: one `ResyncRequested` event, one bounded run.
pub async fn handle<T, S, P>(
    r: &Resyncer<T, S, P>,
    event: LambdaEvent<Value>,
) -> Result<Value, ResyncFnError>
where
    T: TenantLookup,
    S: DirectorySource,
    P: EventPublisher,
{
    let request_id = event.context.request_id.clone();
    let envelope = EventEnvelope::from_eventbridge_json(&event.payload)
        .map_err(|e| ResyncFnError::Permanent(format!("not a domain event: {e}")))?;
    let DomainEvent::ResyncRequested { job_id } = &envelope.event else {
        return Err(ResyncFnError::Permanent(format!(
            "expected ResyncRequested, got {}",
            envelope.detail_type()
        )));
    };
    let span = tracing::info_span!("resync", request_id = %request_id, tenant = %envelope.tenant, job_id = %job_id);
    run_job(r, &envelope.tenant, job_id).instrument(span).await
}

async fn run_job<T, S, P>(
    r: &Resyncer<T, S, P>,
    tenant: &str,
    job_id: &str,
) -> Result<Value, ResyncFnError>
where
    T: TenantLookup,
    S: DirectorySource,
    P: EventPublisher,
{
    let t = TenantId::parse(tenant)
        .map_err(|e| ResyncFnError::Permanent(format!("tenant `{tenant}`: {e}")))?;
    let tenant = r
        .tenants
        .tenant(&t)
        .await?
        .ok_or_else(|| ResyncFnError::Permanent(format!("unknown tenant {t}")))?;
    let creds = contact_credentials(&tenant)
        .ok_or_else(|| ResyncFnError::Permanent(ResyncError::NoCredentials.to_string()))?;
    let resync = Resync {
        dir: &r.dir,
        tags: &r.tags,
        source: &r.source,
        creds: &creds,
        tenant: &t,
        events: &r.publisher,
    };
    let budget = RunBudget {
        deadline: Instant::now() + r.settings.run_for,
        max_pages: r.settings.max_pages,
        group_page_size: r.settings.group_page_size,
        customer_page_size: r.settings.customer_page_size,
    };
    // The lease outlives the run by a margin, so that a crashed run's job is taken over
    // soon after, never during, a live run.
    let lease_ms = (r.settings.run_for + Duration::from_secs(60)).as_millis() as i64;
    let now = r.clock.now();
    let outcome = match resync.run(job_id, now, lease_ms, budget).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(error = %e, retryable = e.is_retryable(), "re-sync run failed");
            return Err(e.into());
        }
    };
    match outcome {
        RunOutcome::Done(job) => {
            Ok(json!({"job_id": job_id, "outcome": "done", "progress": job.progress}))
        }
        RunOutcome::Continue(job) => {
            let next = EventEnvelope::new(
                format!("resync:{job_id}:{}", job.invocations),
                t.as_str(),
                now,
                DomainEvent::ResyncRequested {
                    job_id: job_id.to_string(),
                },
            );
            r.publisher.publish(&[next]).await?;
            Ok(json!({"job_id": job_id, "outcome": "continue", "progress": job.progress}))
        }
        RunOutcome::NotRunnable => {
            tracing::info!("job finished or held by another run; nothing to do");
            Ok(json!({"job_id": job_id, "outcome": "not_runnable"}))
        }
        RunOutcome::NotFound => Err(ResyncFnError::Permanent(format!("no job {job_id}"))),
    }
}
