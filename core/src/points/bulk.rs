//! Submitting and running bulk operations. A request carries an idempotency key; its
//! record (fingerprint, then answer or job) makes a retried request answer the same and a
//! different request under the same key a conflict. Up to [`INLINE_LIMIT`] items run in
//! the request; more become a job run by `points-jobs`, chunk by chunk, resumable.
use super::jobs::{
    chunks, run_items, ItemResult, Job, JobItem, JobOp, JobStatus, RequestRecord, RunContext,
    Summary, INLINE_LIMIT,
};
use super::ledger::When;
use super::model::Origin;
use super::ports::{JobStore, LedgerStore, RulesStore};
use super::PointsError;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::tenants::TenantId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Instant;

/// A bulk request.
#[derive(Debug, Clone)]
pub struct BulkRequest {
    /// The operation.
    pub op: JobOp,
    /// One item per customer (or file row).
    pub items: Vec<JobItem>,
    /// Why, from where, by whom.
    pub origin: Origin,
    /// The request's idempotency key.
    pub request_key: String,
    /// What the request is (same key, same fingerprint).
    pub fingerprint: String,
    /// Whether item keys are kept forever (imports).
    pub keys_forever: bool,
}

/// The answer to a bulk request.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum BulkAnswer {
    /// Ran in the request.
    Inline {
        /// Counts.
        summary: Summary,
        /// Per item, in request order.
        results: Vec<ItemResult>,
        /// Whether this repeats an earlier identical request (nothing changed now).
        replayed: bool,
    },
    /// Runs as a job.
    Job {
        /// The job.
        job: Job,
    },
}

async fn publish_job<S: JobStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    job: &mut Job,
    now: DateTime<Utc>,
) -> Result<(), PointsError> {
    if job.published {
        return Ok(());
    }
    let event = EventEnvelope::new(
        format!("points-job:{}", job.job_id),
        job.tenant.as_str(),
        now,
        DomainEvent::PointsJobCreated {
            job_id: job.job_id.clone(),
        },
    );
    publisher.publish(&[event]).await.map_err(|e| {
        tracing::warn!(error = %e, job_id = %job.job_id, "job event not published");
        PointsError::Busy
    })?;
    store.mark_published(&job.tenant, &job.job_id).await?;
    job.published = true;
    Ok(())
}

/// Submits a bulk request: answers a retry from its record, runs a small one inline,
/// creates and announces a job for a large one.
pub async fn submit<S, P>(
    store: &S,
    publisher: &P,
    tenant: &TenantId,
    req: BulkRequest,
    when: When,
) -> Result<BulkAnswer, PointsError>
where
    S: LedgerStore + JobStore + RulesStore,
    P: EventPublisher,
{
    let existing = store.request(tenant, &req.request_key).await?;
    if let Some(rec) = &existing {
        if rec.fingerprint != req.fingerprint {
            return Err(PointsError::KeyReused);
        }
        if let Some(job_id) = &rec.job_id {
            let mut job = store
                .job(tenant, job_id)
                .await?
                .ok_or(PointsError::NotFound("job"))?;
            if !job.ready {
                // Its chunks are being written by the first request (or it stopped
                // halfway): this request writes them again below.
                return submit_job(store, publisher, tenant, req, when, false).await;
            }
            publish_job(store, publisher, &mut job, when.now).await?;
            return Ok(BulkAnswer::Job { job });
        }
        if let (Some(summary), Some(results)) = (rec.summary, rec.results.clone()) {
            return Ok(BulkAnswer::Inline {
                summary,
                results,
                replayed: true,
            });
        }
    }
    let mut record = RequestRecord {
        fingerprint: req.fingerprint.clone(),
        op: req.op,
        job_id: None,
        summary: None,
        results: None,
        created_at: when.now,
    };
    if req.items.len() <= INLINE_LIMIT {
        let rules = store.rules(tenant).await?;
        if existing.is_none()
            && !store
                .create_request(tenant, &req.request_key, &record)
                .await?
        {
            // A concurrent identical request created it: check it is the same request;
            // running the items again is harmless (each item is idempotent).
            if let Some(rec) = store.request(tenant, &req.request_key).await? {
                if rec.fingerprint != req.fingerprint {
                    return Err(PointsError::KeyReused);
                }
            }
        }
        let ctx = RunContext {
            tenant: tenant.clone(),
            op: req.op,
            origin: req.origin.clone(),
            rules,
            keys_forever: req.keys_forever,
            when,
        };
        let results = run_items(store, &ctx, &req.items).await?;
        let mut summary = Summary::default();
        summary.add(&results);
        record.summary = Some(summary);
        record.results = Some(results.clone());
        store
            .save_request(tenant, &req.request_key, &record)
            .await?;
        return Ok(BulkAnswer::Inline {
            summary,
            results,
            replayed: false,
        });
    }
    submit_job(store, publisher, tenant, req, when, existing.is_none()).await
}

/// Creates (or finishes creating) the job of a large request and announces it. The job
/// item is written first, conditionally, with the request's fingerprint; chunks are
/// written only by a request whose fingerprint is the job's, as a set of its own that the
/// job names when it becomes ready. So a different request under the same key is refused
/// on every path (even when the first request stopped before writing its record), and a
/// job's chunks are never replaced.
async fn submit_job<S, P>(
    store: &S,
    publisher: &P,
    tenant: &TenantId,
    req: BulkRequest,
    when: When,
    record_missing: bool,
) -> Result<BulkAnswer, PointsError>
where
    S: LedgerStore + JobStore + RulesStore,
    P: EventPublisher,
{
    let job_id = Job::id_for(tenant, &req.request_key);
    let mut items = req.items;
    // Two identical requests may list the same customers in another order: sorted, they
    // write the same chunks.
    items.sort_by(|a, b| {
        (&a.external_userid, a.line, &a.key).cmp(&(&b.external_userid, b.line, &b.key))
    });
    let parts = chunks(items);
    let mut job = Job {
        job_id: job_id.clone(),
        tenant: tenant.clone(),
        op: req.op,
        status: JobStatus::Pending,
        total: parts.iter().map(|c| c.len() as u64).sum(),
        chunks: parts.len(),
        next_chunk: 0,
        progress: Summary::default(),
        origin: req.origin,
        keys_forever: req.keys_forever,
        published: false,
        created_at: when.now,
        updated_at: when.now,
        fingerprint: req.fingerprint.clone(),
        chunk_set: Some(ulid::Ulid::new().to_string().to_lowercase()),
        ready: false,
    };
    store.create_job(&job, &parts).await?;
    job = store
        .job(tenant, &job_id)
        .await?
        .ok_or(PointsError::NotFound("job"))?;
    if job.fingerprint != req.fingerprint {
        return Err(PointsError::KeyReused);
    }
    if !job.ready {
        // Another request with the same content is writing it: its retry answers.
        return Err(PointsError::Busy);
    }
    let record = RequestRecord {
        fingerprint: req.fingerprint.clone(),
        op: req.op,
        job_id: Some(job_id),
        summary: None,
        results: None,
        created_at: when.now,
    };
    if record_missing
        && !store
            .create_request(tenant, &req.request_key, &record)
            .await?
    {
        let stored = store.request(tenant, &req.request_key).await?;
        if stored.is_some_and(|r| r.fingerprint != req.fingerprint) {
            return Err(PointsError::KeyReused);
        }
    }
    publish_job(store, publisher, &mut job, when.now).await?;
    Ok(BulkAnswer::Job { job })
}

/// How a job run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRun {
    /// Every chunk is done.
    Done(Job),
    /// The deadline came first; the job continues from `next_chunk`.
    Paused(Job),
    /// No such job.
    Missing,
}

/// When a run stops to let the next invocation continue.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stop {
    /// Stop before starting a chunk after this instant (the invocation's time budget).
    pub deadline: Option<Instant>,
    /// Stop after this many chunks.
    pub max_chunks: Option<usize>,
}

/// Runs a job from its first unfinished chunk until it is done or `stop` says to pause.
/// Each chunk's results and the job's progress are saved together, only if the job is
/// still at that chunk, so two overlapping runs never count a chunk twice.
pub async fn run_job<S>(
    store: &S,
    tenant: &TenantId,
    job_id: &str,
    tz: chrono_tz::Tz,
    now: impl Fn() -> DateTime<Utc>,
    stop: Stop,
) -> Result<JobRun, PointsError>
where
    S: LedgerStore + JobStore + RulesStore,
{
    let Some(mut job) = store.job(tenant, job_id).await? else {
        return Ok(JobRun::Missing);
    };
    if !job.ready {
        // Announced only once ready; a job still being written is retried later.
        return Err(PointsError::Busy);
    }
    let rules = store.rules(tenant).await?;
    let mut done_here = 0usize;
    while job.next_chunk < job.chunks {
        let late = stop.deadline.map(|d| Instant::now() >= d).unwrap_or(false);
        let enough = stop.max_chunks.map(|m| done_here >= m).unwrap_or(false);
        if late || enough {
            return Ok(JobRun::Paused(job));
        }
        done_here += 1;
        let n = job.next_chunk;
        let (items, _) = store.chunk(&job, n).await?;
        let ctx = RunContext {
            tenant: tenant.clone(),
            op: job.op,
            origin: job.origin.clone(),
            rules: rules.clone(),
            keys_forever: job.keys_forever,
            when: When::new(now(), tz),
        };
        let results = run_items(store, &ctx, &items).await?;
        let mut next = job.clone();
        next.progress.add(&results);
        next.next_chunk = n + 1;
        next.status = if next.next_chunk >= next.chunks {
            JobStatus::Done
        } else {
            JobStatus::Running
        };
        next.updated_at = now();
        if store.complete_chunk(&next, n, &results, now()).await? {
            tracing::info!(job_id, chunk = n, of = job.chunks, "job chunk done");
            job = next;
        } else {
            job = store
                .job(tenant, job_id)
                .await?
                .ok_or(PointsError::NotFound("job"))?;
        }
    }
    Ok(JobRun::Done(job))
}
