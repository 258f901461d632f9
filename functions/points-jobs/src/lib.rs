//! `points-jobs`: runs a large bulk points job (award, deduct, clear, import) announced by
//! `PointsJobCreated`. Works chunk by chunk, saving progress after each; when its time
//! budget runs out it announces the job again and stops, and the next invocation resumes
//! at the first unfinished chunk. A crash or a redelivered event resumes the same way, and
//! every item is idempotent, so nothing is paid twice. Ranking jobs (ids starting `rk`,
//! announced by the same event) run here too, shard by shard, resuming the same way. The
//! runs live in `scrm_core::points::job_run` and `scrm_core::points::ranking`; this parses
//! the event and the invocation's deadline.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_core::clock::Clock;
use scrm_core::events::{DomainEvent, EventEnvelope, EventPublisher};
use scrm_core::points::bulk::Stop;
use scrm_core::points::error::EventFnError;
use scrm_core::points::job_run::{run_announced, Announced};
use scrm_core::points::ports::{JobStore, LedgerStore, RankingStore, RulesStore};
use scrm_core::points::ranking::{run_announced_ranking, RankStop, RankingJob, RankingRun};
use scrm_core::tenants::TenantLookup;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Time kept back from the invocation's deadline to save progress and re-announce.
pub const SAFETY_MARGIN: Duration = Duration::from_secs(60);

/// How much one invocation does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// At most this many chunks per invocation (`None`: until the time budget ends).
    pub max_chunks: Option<usize>,
    /// At most this many ranking shards per invocation (`None`: until the time budget
    /// ends).
    pub max_shards: Option<u32>,
}

/// The instant to stop starting work, from the invocation's deadline; none for 0 (a
/// hand-made event) or a deadline already past when the invocation starts, which Lambda
/// never sends but a local emulator does (`cargo lambda watch` sends a fixed 600000).
fn deadline_of(ctx: &lambda_runtime::Context) -> Option<Instant> {
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    if ctx.deadline == 0 || ctx.deadline <= now_ms {
        return None;
    }
    let left = Duration::from_millis(ctx.deadline.saturating_sub(now_ms));
    Some(Instant::now() + left.saturating_sub(SAFETY_MARGIN))
}

/// Handles one `PointsJobCreated` event.
pub async fn handle<S, T, P>(
    points: &S,
    tenants: &T,
    publisher: &P,
    clock: &dyn Clock,
    limits: Limits,
    event: LambdaEvent<Value>,
) -> Result<Value, EventFnError>
where
    S: LedgerStore + JobStore + RulesStore + RankingStore,
    T: TenantLookup,
    P: EventPublisher,
{
    let envelope = EventEnvelope::from_eventbridge_json(&event.payload)
        .map_err(|e| EventFnError::NonRetryable(format!("not a domain event: {e}")))?;
    let DomainEvent::PointsJobCreated { job_id } = &envelope.event else {
        return Ok(json!({ "ignored": envelope.detail_type() }));
    };
    let span = tracing::info_span!(
        "points_job",
        tenant = %envelope.tenant,
        job_id = %job_id,
        request_id = %event.context.request_id,
    );
    if RankingJob::is_ranking_id(job_id) {
        let stop = RankStop {
            deadline: deadline_of(&event.context),
            max_shards: limits.max_shards,
        };
        let run = run_announced_ranking(
            points,
            tenants,
            publisher,
            clock,
            &envelope.tenant,
            job_id,
            stop,
        )
        .instrument(span)
        .await?;
        return Ok(match run {
            RankingRun::Paused(job) => {
                json!({ "job_id": job.job_id, "status": "paused", "shards_done": job.shards_done })
            }
            RankingRun::Done(job) => {
                json!({ "job_id": job.job_id, "status": "done", "accounts": job.accounts_read })
            }
            RankingRun::Missing => json!({ "job_id": job_id, "status": "missing" }),
        });
    }
    let stop = Stop {
        deadline: deadline_of(&event.context),
        max_chunks: limits.max_chunks,
    };
    let run = run_announced(
        points,
        tenants,
        publisher,
        clock,
        &envelope.tenant,
        job_id,
        stop,
    )
    .instrument(span)
    .await?;
    Ok(match run {
        Announced::Done(job) => {
            json!({ "job_id": job.job_id, "status": "done", "progress": job.progress })
        }
        Announced::Paused(job) => {
            json!({ "job_id": job.job_id, "status": "paused", "next_chunk": job.next_chunk })
        }
    })
}
