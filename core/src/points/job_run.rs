//! One invocation's share of a bulk points job announced by `PointsJobCreated`: the job
//! runs chunk by chunk ([`super::bulk::run_job`]), saving progress after each; when the
//! invocation's budget runs out the job is announced again, and the next invocation resumes
//! at the first unfinished chunk. A crash or a redelivered event resumes the same way, and
//! every item is idempotent, so nothing is paid twice.
use super::bulk::{run_job, JobRun, Stop};
use super::error::EventFnError;
use super::jobs::Job;
use super::ports::{JobStore, LedgerStore, RulesStore};
use crate::clock::Clock;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::tenants::{TenantId, TenantLookup};

/// How an invocation's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announced {
    /// Every chunk is done.
    Done(Job),
    /// The budget ran out first; the job was announced again to continue from
    /// `next_chunk`.
    Paused(Job),
}

/// Runs job `job_id` of `tenant` (as the event names them) until it is done or `stop`
/// says to pause, and announces it again when paused.
pub async fn run_announced<S, T, P>(
    points: &S,
    tenants: &T,
    publisher: &P,
    clock: &dyn Clock,
    tenant: &str,
    job_id: &str,
    stop: Stop,
) -> Result<Announced, EventFnError>
where
    S: LedgerStore + JobStore + RulesStore,
    T: TenantLookup,
    P: EventPublisher,
{
    let tenant = TenantId::parse(tenant).map_err(|e| EventFnError::NonRetryable(e.to_string()))?;
    let Some(t) = tenants.tenant(&tenant).await? else {
        return Err(EventFnError::NonRetryable("unknown tenant".into()));
    };
    let run = run_job(
        points,
        &tenant,
        job_id,
        t.settings.tz(),
        || clock.now(),
        stop,
    )
    .await?;
    match run {
        JobRun::Done(job) => {
            tracing::info!(
                total = job.total,
                applied = job.progress.applied,
                "job done"
            );
            Ok(Announced::Done(job))
        }
        JobRun::Paused(job) => {
            let next = EventEnvelope::new(
                format!("points-job:{}:from:{}", job.job_id, job.next_chunk),
                tenant.as_str(),
                clock.now(),
                DomainEvent::PointsJobCreated {
                    job_id: job.job_id.clone(),
                },
            );
            publisher
                .publish(&[next])
                .await
                .map_err(|e| EventFnError::Retryable(e.to_string()))?;
            tracing::info!(
                next_chunk = job.next_chunk,
                of = job.chunks,
                "job paused; continues"
            );
            Ok(Announced::Paused(job))
        }
        JobRun::Missing => Err(EventFnError::NonRetryable(format!("no job {job_id}"))),
    }
}
