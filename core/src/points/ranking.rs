//! Ranking snapshots: the accounts list sorted by a figure that no live index holds
//! (lifetime `earned`, `spent`, `expired`, and the current `streak`).
//!
//! Indexing these live would add an index write to nearly every ledger write (every
//! check-in changes earned and the streak), against the check-in's write budget. So an
//! operator asks for a ranking instead: a resumable job reads every account once and
//! stores, for each figure, the accounts in order as of that moment.
//!
//! - The job works shard by shard ([`RANK_SHARDS`], the shards of the balance and
//!   check-in indexes): it reads the shard's balance items and check-in states (both
//!   index partitions project every attribute), computes each figure ([`figure_value`]; the
//!   streak as of the tenant-local day the job was asked for), sorts the shard's accounts
//!   by `(value, customer)` and writes them as chunks of [`ROWS_PER_CHUNK`] rows, one
//!   partition per shard, figure and attempt, keyed by each chunk's last position. Writes
//!   are paced to [`PARTITION_WCU_PER_SEC`] per partition. The job's progress (shards
//!   done, accounts read, the attempt of each shard done) moves by one conditional update
//!   per shard, so a run that stops resumes at the first shard not done, and a shard
//!   redone by an overlapping run writes an attempt of its own that nothing reads.
//! - When the last shard is done, the tenant's ranking pointer names the job (only if
//!   it is newer than the one named), and the list serves the four orders from it:
//!   per shard the rows after the cursor ([`page_rows`]), merged like the live indexes,
//!   each row's figures read live. Chunks expire [`SNAPSHOT_DAYS`] days after the
//!   ranking (older rankings go by themselves); a ranking older than that is not served.
use super::accounts::{balance_position, IndexedAccount, SortOrder};
use super::error::EventFnError;
use super::jobs::JobStatus;
use super::model::CustomerId;
use super::ports::{ActivityStore, RankingStore, EXPIRY_SHARDS};
use super::rules::CheckInState;
use super::PointsError;
use crate::clock::Clock;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::tenants::{TenantId, TenantLookup};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// Shards a ranking is built and read by (those of the balance and check-in indexes).
pub const RANK_SHARDS: u32 = EXPIRY_SHARDS;
/// Rows per stored chunk: about 8 KB at typical ids, at most 30 KB at 128-character ids.
pub const ROWS_PER_CHUNK: usize = 200;
/// Chunks written per request (one `BatchWriteItem`).
pub const CHUNKS_PER_WRITE: usize = 25;
/// The write rate a job gives each of its partitions: a quarter of a partition's 1,000
/// WCU/s, under the 30% a partition may take.
pub const PARTITION_WCU_PER_SEC: u64 = 250;
/// How long a ranking is served (and its chunks kept, plus a day).
pub const SNAPSHOT_DAYS: i64 = 7;
/// Ranking job ids start with this (they share `PointsJobCreated` with bulk jobs).
pub const JOB_PREFIX: &str = "rk";

/// A figure a ranking orders accounts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankFigure {
    /// Points earned over the account's life.
    Earned,
    /// Points spent on rewards.
    Spent,
    /// Points expired.
    Expired,
    /// The current check-in streak (as of the ranking's day).
    Streak,
}

impl RankFigure {
    /// Every figure, in a fixed order.
    pub const ALL: [RankFigure; 4] = [Self::Earned, Self::Spent, Self::Expired, Self::Streak];

    /// The name in the API and in keys.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Earned => "earned",
            Self::Spent => "spent",
            Self::Expired => "expired",
            Self::Streak => "streak",
        }
    }

    /// Parses the API name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == raw)
    }
}

/// What one account of a shard contributes to a ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardAccount {
    /// The customer.
    pub customer: CustomerId,
    /// Lifetime `(earned, spent, expired)`; `None` when the account's first entries
    /// predate these totals (or it has no balance item: nothing earned).
    pub totals: Option<(i64, i64, i64)>,
    /// Whether it has a balance item.
    pub has_balance: bool,
    /// Its check-in state, if it ever checked in.
    pub check_in: Option<CheckInState>,
}

/// An account's value of `figure` as of tenant-local `day`; `None`: not ranked by it (its
/// lifetime totals are unknown, like the list's empty cells).
pub fn figure_value(a: &ShardAccount, figure: RankFigure, day: NaiveDate) -> Option<i64> {
    let totals = if a.has_balance {
        a.totals
    } else {
        Some((0, 0, 0))
    };
    match figure {
        RankFigure::Earned => totals.map(|t| t.0),
        RankFigure::Spent => totals.map(|t| t.1),
        RankFigure::Expired => totals.map(|t| t.2),
        RankFigure::Streak => Some(
            a.check_in
                .as_ref()
                .map_or(0, |c| i64::from(c.current_streak(day))),
        ),
    }
}

/// One row of a ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankedRow {
    /// The figure's value (never negative).
    pub value: i64,
    /// The customer.
    pub customer: CustomerId,
}

impl RankedRow {
    /// Its position: the value zero-padded, then the customer (ties by customer id), the
    /// same shape as the balance index's positions.
    pub fn position(&self) -> String {
        balance_position(self.value, &self.customer)
    }
}

/// A shard's accounts in ascending order of `figure` (ties by customer id), as of `day`.
pub fn rank_shard(accounts: &[ShardAccount], figure: RankFigure, day: NaiveDate) -> Vec<RankedRow> {
    let mut rows: Vec<RankedRow> = accounts
        .iter()
        .filter_map(|a| {
            let customer = a.customer.clone();
            let value = figure_value(a, figure, day)?.max(0);
            Some(RankedRow { value, customer })
        })
        .collect();
    rows.sort_by(|a, b| (a.value, &a.customer).cmp(&(b.value, &b.customer)));
    rows.dedup_by(|a, b| a.customer == b.customer);
    rows
}

/// A chunk's stored text: one `value customer` line per row.
pub fn encode_chunk(rows: &[RankedRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 40);
    for r in rows {
        out.push_str(&r.value.to_string());
        out.push(' ');
        out.push_str(r.customer.as_str());
        out.push('\n');
    }
    out
}

/// The rows of a stored chunk.
pub fn decode_chunk(text: &str) -> Result<Vec<RankedRow>, String> {
    text.lines()
        .map(|line| {
            let (v, c) = line.split_once(' ').ok_or("ranking row without a value")?;
            Ok(RankedRow {
                value: v.parse().map_err(|_| "ranking row value")?,
                customer: CustomerId::parse(c).map_err(|_| "ranking row customer")?,
            })
        })
        .collect()
}

/// The write units of storing one chunk (1 per KB started; `overhead` for its keys and
/// attribute names).
pub fn chunk_wcu(text: &str, overhead: usize) -> u64 {
    (text.len() + overhead).div_ceil(1024).max(1) as u64
}

/// The first `limit` rows strictly after the position `after` in `order`, from rows
/// read around it (in any order, possibly repeated).
pub fn page_rows(
    rows: Vec<RankedRow>,
    order: SortOrder,
    after: Option<&str>,
    limit: usize,
) -> Vec<IndexedAccount> {
    let mut page: Vec<IndexedAccount> = rows
        .into_iter()
        .map(|r| IndexedAccount {
            position: r.position(),
            customer: r.customer,
        })
        .filter(|a| match (order, after) {
            (_, None) => true,
            (SortOrder::Asc, Some(c)) => a.position.as_str() > c,
            (SortOrder::Desc, Some(c)) => a.position.as_str() < c,
        })
        .collect();
    page.sort_by(|a, b| match order {
        SortOrder::Asc => a.position.cmp(&b.position),
        SortOrder::Desc => b.position.cmp(&a.position),
    });
    page.dedup_by(|a, b| a.position == b.position);
    page.truncate(limit);
    page
}

/// Chunks to read from one shard for a page of `limit` rows: the chunk holding the
/// cursor may have one row left after it.
pub fn chunks_for(limit: usize) -> usize {
    limit.div_ceil(ROWS_PER_CHUNK) + 1
}

/// A ranking job: its progress and, shard by shard, which attempt's chunks are the
/// ranking's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankingJob {
    /// Id (derived from the tenant and the request's key, so a retry finds it).
    pub job_id: String,
    /// The tenant.
    pub tenant: TenantId,
    /// Pending, running, done.
    pub status: JobStatus,
    /// The tenant-local day the streaks are counted as of.
    pub day: NaiveDate,
    /// Shards (of [`RANK_SHARDS`]) done.
    pub shards_done: u32,
    /// Shards in all.
    pub shards: u32,
    /// Accounts read so far.
    pub accounts_read: u64,
    /// Accounts expected in all: the tenant's customers until a shard is done, then the
    /// accounts read scaled to every shard.
    pub total_estimate: u64,
    /// Who asked.
    pub requested_by: String,
    /// When it was asked for: the ranking's time.
    pub created_at: DateTime<Utc>,
    /// Last progress.
    pub updated_at: DateTime<Utc>,
    /// The attempt whose chunks hold each shard done (in shard order).
    #[serde(skip)]
    pub runs: Vec<String>,
    /// Whether the `PointsJobCreated` event went out.
    #[serde(skip)]
    pub published: bool,
}

impl RankingJob {
    /// Derives the job id from the tenant and the request's idempotency key.
    pub fn id_for(tenant: &TenantId, request_key: &str) -> String {
        let digest = Sha256::digest(format!("{tenant}\u{1f}ranking\u{1f}{request_key}").as_bytes());
        format!("{JOB_PREFIX}{}", &hex::encode(digest)[..24])
    }

    /// Whether an id is a ranking job's.
    pub fn is_ranking_id(job_id: &str) -> bool {
        job_id.starts_with(JOB_PREFIX)
    }

    /// The job after shard `shard` was done by attempt `run`, having read `read` accounts.
    pub fn after_shard(&self, run: &str, read: u64, now: DateTime<Utc>) -> RankingJob {
        let mut next = self.clone();
        next.shards_done += 1;
        next.runs.push(run.to_string());
        next.accounts_read += read;
        next.total_estimate = (next.accounts_read * u64::from(next.shards))
            .div_ceil(u64::from(next.shards_done.max(1)));
        next.status = if next.shards_done >= next.shards {
            next.total_estimate = next.accounts_read;
            JobStatus::Done
        } else {
            JobStatus::Running
        };
        next.updated_at = now;
        next
    }

    /// The ranking it built, once done.
    pub fn snapshot(&self) -> Option<RankingSnapshot> {
        (self.status == JobStatus::Done && self.runs.len() == self.shards as usize).then(|| {
            RankingSnapshot {
                job_id: self.job_id.clone(),
                ranked_at: self.created_at,
                day: self.day,
                accounts: self.accounts_read,
                runs: self.runs.clone(),
            }
        })
    }
}

/// A complete ranking: what the list reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankingSnapshot {
    /// The job that built it.
    pub job_id: String,
    /// When it was asked for (every account was read after this).
    pub ranked_at: DateTime<Utc>,
    /// The tenant-local day of its streaks.
    pub day: NaiveDate,
    /// Accounts read.
    pub accounts: u64,
    /// The attempt holding each shard's chunks.
    #[serde(skip)]
    pub runs: Vec<String>,
}

impl RankingSnapshot {
    /// Whether it is still served at `now`.
    pub fn served_at(&self, now: DateTime<Utc>) -> bool {
        now < self.ranked_at + chrono::Duration::days(SNAPSHOT_DAYS)
    }
}

/// The tenant's rankings as the console sees them: the one served and the one being built.
#[derive(Debug, Clone, Serialize)]
pub struct RankingStatus {
    /// The ranking served (none yet, or too old).
    pub ranked: Option<RankingSnapshot>,
    /// The newest job, while it is not done.
    pub building: Option<RankingJob>,
}

async fn announce<P: EventPublisher>(
    publisher: &P,
    job: &RankingJob,
    now: DateTime<Utc>,
) -> Result<(), PointsError> {
    let id = if job.shards_done == 0 {
        format!("points-job:{}", job.job_id)
    } else {
        format!("points-job:{}:from:{}", job.job_id, job.shards_done)
    };
    let event = EventEnvelope::new(
        id,
        job.tenant.as_str(),
        now,
        DomainEvent::PointsJobCreated {
            job_id: job.job_id.clone(),
        },
    );
    publisher.publish(&[event]).await.map_err(|e| {
        tracing::warn!(error = %e, job_id = %job.job_id, "ranking event not published");
        PointsError::Busy
    })
}

/// Asks for a ranking under an idempotency key: creates the job (once per key) and
/// announces it; a retry answers the same job, announcing it again only if the first
/// announcement did not go out.
pub async fn request_ranking<S, P>(
    store: &S,
    publisher: &P,
    tenant: &TenantId,
    request_key: &str,
    requested_by: &str,
    now: DateTime<Utc>,
    day: NaiveDate,
) -> Result<RankingJob, PointsError>
where
    S: RankingStore + ActivityStore,
    P: EventPublisher,
{
    let job_id = RankingJob::id_for(tenant, request_key);
    let mut job = match store.ranking_job(tenant, &job_id).await? {
        Some(job) => job,
        None => {
            let customers = store.customers_total(tenant).await?.max(0) as u64;
            let job = RankingJob {
                job_id: job_id.clone(),
                tenant: tenant.clone(),
                status: JobStatus::Pending,
                day,
                shards_done: 0,
                shards: RANK_SHARDS,
                accounts_read: 0,
                total_estimate: customers,
                requested_by: requested_by.to_string(),
                created_at: now,
                updated_at: now,
                runs: Vec::new(),
                published: false,
            };
            store.create_ranking_job(&job).await?;
            store
                .ranking_job(tenant, &job_id)
                .await?
                .ok_or(PointsError::NotFound("ranking job"))?
        }
    };
    if !job.published {
        announce(publisher, &job, now).await?;
        store.mark_ranking_published(tenant, &job_id).await?;
        job.published = true;
    }
    Ok(job)
}

/// The ranking served and the one being built.
pub async fn ranking_status<S: RankingStore>(
    store: &S,
    tenant: &TenantId,
    now: DateTime<Utc>,
) -> Result<RankingStatus, PointsError> {
    let (ranked, building) = store.latest_ranking(tenant).await?;
    let building = match building {
        Some(id) => store
            .ranking_job(tenant, &id)
            .await?
            .filter(|j| j.status != JobStatus::Done),
        None => None,
    };
    Ok(RankingStatus {
        ranked: ranked.filter(|r| r.served_at(now)),
        building,
    })
}

/// How a ranking run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RankingRun {
    /// Every shard is done and the ranking is served.
    Done(RankingJob),
    /// Stopped (deadline or shard budget) before the end; continues from `shards_done`.
    Paused(RankingJob),
    /// No such job.
    Missing,
}

/// When a run stops to let the next invocation continue.
#[derive(Debug, Clone, Copy, Default)]
pub struct RankStop {
    /// Stop before starting a shard after this instant.
    pub deadline: Option<Instant>,
    /// Stop after this many shards.
    pub max_shards: Option<u32>,
}

/// Writes one figure's chunks of one shard, paced to [`PARTITION_WCU_PER_SEC`].
async fn write_figure<S: RankingStore>(
    store: &S,
    job: &RankingJob,
    run: &str,
    figure: RankFigure,
    shard: u32,
    rows: &[RankedRow],
) -> Result<u64, PointsError> {
    let chunks: Vec<(String, String)> = rows
        .chunks(ROWS_PER_CHUNK)
        .map(|c| (c[c.len() - 1].position(), encode_chunk(c)))
        .collect();
    let mut written = 0u64;
    let started = Instant::now();
    for batch in chunks.chunks(CHUNKS_PER_WRITE) {
        let wcu: u64 = batch
            .iter()
            // The keys and attribute names: about 150 bytes.
            .map(|(last, text)| chunk_wcu(text, last.len() + 150))
            .sum();
        store
            .put_ranking_chunks(job, run, figure, shard, batch)
            .await?;
        written += wcu;
        let due = Duration::from_millis(written * 1000 / PARTITION_WCU_PER_SEC);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    Ok(written)
}

/// Runs a ranking job from its first shard not done until it is done or `stop` says to
/// pause; when done, makes it the tenant's ranking (unless a newer one is).
pub async fn run_ranking<S: RankingStore>(
    store: &S,
    tenant: &TenantId,
    job_id: &str,
    now: impl Fn() -> DateTime<Utc>,
    stop: RankStop,
) -> Result<RankingRun, PointsError> {
    let Some(mut job) = store.ranking_job(tenant, job_id).await? else {
        return Ok(RankingRun::Missing);
    };
    let mut done_here = 0u32;
    while job.shards_done < job.shards {
        let late = stop.deadline.is_some_and(|d| Instant::now() >= d);
        let enough = stop.max_shards.is_some_and(|m| done_here >= m);
        if late || enough {
            return Ok(RankingRun::Paused(job));
        }
        done_here += 1;
        let shard = job.shards_done;
        let accounts = store.shard_accounts(tenant, shard).await?;
        let run = ulid::Ulid::new().to_string().to_lowercase();
        let writes = RankFigure::ALL.map(|figure| {
            let rows = rank_shard(&accounts, figure, job.day);
            let (job, run) = (&job, run.as_str());
            async move { write_figure(store, job, run, figure, shard, &rows).await }
        });
        let wcu: u64 = futures::future::try_join_all(writes).await?.iter().sum();
        let next = job.after_shard(&run, accounts.len() as u64, now());
        if store.complete_ranking_shard(&next, shard).await? {
            tracing::info!(
                job_id,
                shard,
                wcu,
                accounts = accounts.len(),
                "ranking shard done"
            );
            job = next;
        } else {
            // Another run did this shard first: its attempt is the ranking's.
            job = store
                .ranking_job(tenant, job_id)
                .await?
                .ok_or(PointsError::NotFound("ranking job"))?;
        }
    }
    if let Some(snapshot) = job.snapshot() {
        store.serve_ranking(tenant, &snapshot).await?;
    }
    Ok(RankingRun::Done(job))
}

/// Runs ranking job `job_id` of `tenant` (as `PointsJobCreated` names it) until it is done
/// or `stop` says to pause, and announces it again when paused.
pub async fn run_announced_ranking<S, T, P>(
    store: &S,
    tenants: &T,
    publisher: &P,
    clock: &dyn Clock,
    tenant: &str,
    job_id: &str,
    stop: RankStop,
) -> Result<RankingRun, EventFnError>
where
    S: RankingStore,
    T: TenantLookup,
    P: EventPublisher,
{
    let tenant = TenantId::parse(tenant).map_err(|e| EventFnError::NonRetryable(e.to_string()))?;
    if tenants.tenant(&tenant).await?.is_none() {
        return Err(EventFnError::NonRetryable("unknown tenant".into()));
    }
    let run = run_ranking(store, &tenant, job_id, || clock.now(), stop).await?;
    match &run {
        RankingRun::Paused(job) => {
            announce(publisher, job, clock.now())
                .await
                .map_err(|e| EventFnError::Retryable(e.to_string()))?;
            tracing::info!(shards_done = job.shards_done, "ranking paused; continues");
        }
        RankingRun::Done(job) => {
            tracing::info!(accounts = job.accounts_read, "ranking done");
        }
        RankingRun::Missing => {
            return Err(EventFnError::NonRetryable(format!(
                "no ranking job {job_id}"
            )));
        }
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
    }

    fn account(
        id: &str,
        totals: Option<(i64, i64, i64)>,
        last: Option<&str>,
        streak: u32,
    ) -> ShardAccount {
        ShardAccount {
            customer: CustomerId::parse(id).unwrap(),
            totals,
            has_balance: true,
            check_in: last.map(|d| CheckInState {
                last_date: Some(d.into()),
                streak,
                ..CheckInState::default()
            }),
        }
    }

    fn ids(rows: &[RankedRow]) -> Vec<&str> {
        rows.iter().map(|r| r.customer.as_str()).collect()
    }

    #[test]
    fn a_shard_is_ranked_by_value_with_ties_by_customer() {
        let accounts = vec![
            account("wm-c", Some((50, 5, 0)), None, 0),
            account("wm-a", Some((50, 9, 1)), None, 0),
            account("wm-b", Some((10, 0, 2)), None, 0),
            account("wm-old", None, None, 0),
        ];
        let earned = rank_shard(&accounts, RankFigure::Earned, day());
        assert_eq!(ids(&earned), ["wm-b", "wm-a", "wm-c"]);
        let spent = rank_shard(&accounts, RankFigure::Spent, day());
        assert_eq!(ids(&spent), ["wm-b", "wm-c", "wm-a"]);
        // Unknown totals are not ranked by them, but every account has a streak.
        assert_eq!(rank_shard(&accounts, RankFigure::Streak, day()).len(), 4);
        // A check-in state without a balance item has earned nothing.
        let only_checked_in = ShardAccount {
            has_balance: false,
            ..account("wm-d", None, Some("2026-03-10"), 1)
        };
        assert_eq!(
            figure_value(&only_checked_in, RankFigure::Earned, day()),
            Some(0)
        );
    }

    #[test]
    fn the_streak_is_counted_as_of_the_rankings_day() {
        let accounts = vec![
            account("wm-today", Some((0, 0, 0)), Some("2026-03-10"), 3),
            account("wm-yesterday", Some((0, 0, 0)), Some("2026-03-09"), 5),
            account("wm-lapsed", Some((0, 0, 0)), Some("2026-03-07"), 9),
            account("wm-never", Some((0, 0, 0)), None, 0),
        ];
        let rows = rank_shard(&accounts, RankFigure::Streak, day());
        let values: Vec<(&str, i64)> = rows
            .iter()
            .map(|r| (r.customer.as_str(), r.value))
            .collect();
        assert_eq!(
            values,
            [
                ("wm-lapsed", 0),
                ("wm-never", 0),
                ("wm-today", 3),
                ("wm-yesterday", 5)
            ]
        );
        // A day later the one checked in "yesterday" has lapsed.
        let later = day().succ_opt().unwrap().succ_opt().unwrap();
        let rows = rank_shard(&accounts, RankFigure::Streak, later);
        assert!(rows.iter().all(|r| r.value == 0));
    }

    #[test]
    fn chunks_round_trip_and_count_their_units() {
        let rows: Vec<RankedRow> = (0..ROWS_PER_CHUNK)
            .map(|i| RankedRow {
                value: i as i64 * 7,
                customer: CustomerId::parse(&format!("wmAbCdEfGhIjKlMnOpQrStUvWx{i:06}")).unwrap(),
            })
            .collect();
        let text = encode_chunk(&rows);
        assert_eq!(decode_chunk(&text).unwrap(), rows);
        // A chunk of typical rows is under 10 units.
        assert!(chunk_wcu(&text, 200) <= 10, "{}", chunk_wcu(&text, 200));
        assert!(decode_chunk("12\n").is_err());
        assert!(decode_chunk("x wm1\n").is_err());
    }

    #[test]
    fn a_page_is_the_rows_strictly_after_the_cursor_in_order() {
        let rows: Vec<RankedRow> = [(3, "b"), (1, "a"), (3, "a"), (7, "c"), (0, "z")]
            .into_iter()
            .map(|(v, c)| RankedRow {
                value: v,
                customer: CustomerId::parse(c).unwrap(),
            })
            .collect();
        let names = |p: Vec<IndexedAccount>| -> Vec<String> {
            p.into_iter()
                .map(|a| a.customer.as_str().to_string())
                .collect()
        };
        assert_eq!(
            names(page_rows(rows.clone(), SortOrder::Desc, None, 3)),
            ["c", "b", "a"]
        );
        let cursor = balance_position(3, &CustomerId::parse("b").unwrap());
        assert_eq!(
            names(page_rows(rows.clone(), SortOrder::Desc, Some(&cursor), 10)),
            ["a", "a", "z"]
        );
        assert_eq!(
            names(page_rows(rows.clone(), SortOrder::Asc, Some(&cursor), 10)),
            ["c"]
        );
        let mut twice = rows.clone();
        twice.extend(rows);
        assert_eq!(names(page_rows(twice, SortOrder::Asc, None, 10)).len(), 5);
        assert_eq!(chunks_for(200), 2);
        assert_eq!(chunks_for(1), 2);
    }

    #[test]
    fn progress_estimates_the_total_and_ends_with_the_count() {
        let t = TenantId::parse("ww0001").unwrap();
        let now = Utc::now();
        let job = RankingJob {
            job_id: RankingJob::id_for(&t, "k"),
            tenant: t.clone(),
            status: JobStatus::Pending,
            day: day(),
            shards_done: 0,
            shards: 4,
            accounts_read: 0,
            total_estimate: 7,
            requested_by: "op".into(),
            created_at: now,
            updated_at: now,
            runs: vec![],
            published: true,
        };
        assert!(RankingJob::is_ranking_id(&job.job_id));
        assert_ne!(RankingJob::id_for(&t, "k"), RankingJob::id_for(&t, "k2"));
        let one = job.after_shard("r0", 10, now);
        assert_eq!(
            (one.shards_done, one.total_estimate, one.status),
            (1, 40, JobStatus::Running)
        );
        assert!(one.snapshot().is_none());
        let done = one
            .after_shard("r1", 12, now)
            .after_shard("r2", 8, now)
            .after_shard("r3", 9, now);
        assert_eq!((done.total_estimate, done.status), (39, JobStatus::Done));
        let snap = done.snapshot().unwrap();
        assert_eq!(snap.runs, ["r0", "r1", "r2", "r3"]);
        assert!(snap.served_at(now + chrono::Duration::days(SNAPSHOT_DAYS - 1)));
        assert!(!snap.served_at(now + chrono::Duration::days(SNAPSHOT_DAYS)));
    }
}
