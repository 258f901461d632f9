//! Bulk operations (award, deduct, clear, import) for many customers at once. Small ones
//! run inline in the request; large ones become a job: its items are stored in chunks,
//! a `PointsJobCreated` event starts the `points-jobs` function, which works through the
//! chunks and records progress after each, so that a run that stops (timeout, crash,
//! redelivery) resumes at the first unfinished chunk. Every item is a ledger write with
//! its own idempotency key, so re-running a chunk pays nothing twice.
use super::ledger::{apply, Operation, When};
use super::model::{CustomerId, EntryKind, IdempotencyKey, Origin, Points};
use super::ports::{Account, LedgerStore};
use super::rules::PointsRules;
use super::PointsError;
use crate::tenants::TenantId;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Requests for more customers than this run as a job.
pub const INLINE_LIMIT: usize = 1000;
/// Items per stored chunk (a chunk is the unit of progress).
pub const CHUNK_SIZE: usize = 500;
/// Ledger writes in flight at once within a bulk run.
pub const CONCURRENCY: usize = 16;

/// The operation applied to every item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOp {
    /// Award `points`.
    Award,
    /// Deduct `points` (never below zero: an item without enough points is rejected).
    Deduct,
    /// Remove every point.
    Clear,
    /// Import `points` from a file.
    Import,
}

impl JobOp {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobOp::Award => "award",
            JobOp::Deduct => "deduct",
            JobOp::Clear => "clear",
            JobOp::Import => "import",
        }
    }
}

/// One customer of a bulk operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobItem {
    /// The customer as given.
    pub external_userid: String,
    /// Points (0 for clear).
    #[serde(default)]
    pub points: i64,
    /// The item's idempotency key.
    pub key: String,
    /// The file line (imports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Reason for this item (imports may give one per row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Already known not to apply (bad row, unknown customer): the stable code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject: Option<String>,
}

/// What became of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Applied now.
    Applied,
    /// Applied by an earlier request with the same key: nothing changed now.
    AlreadyApplied,
    /// Not applied; see `code`.
    Rejected,
}

/// The report line of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    /// The customer as given.
    pub external_userid: String,
    /// The file line (imports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// What happened.
    pub status: ItemStatus,
    /// Why it was rejected (stable code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Signed change applied.
    pub amount: i64,
    /// Balance after, when applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<i64>,
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Items.
    pub total: u64,
    /// Applied now.
    pub applied: u64,
    /// Applied earlier.
    pub already_applied: u64,
    /// Rejected.
    pub rejected: u64,
    /// Σ of the changes applied now.
    pub points: i64,
}

impl Summary {
    /// Adds results.
    pub fn add(&mut self, results: &[ItemResult]) {
        for r in results {
            self.total += 1;
            match r.status {
                ItemStatus::Applied => {
                    self.applied += 1;
                    self.points += r.amount;
                }
                ItemStatus::AlreadyApplied => self.already_applied += 1,
                ItemStatus::Rejected => self.rejected += 1,
            }
        }
    }
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for its first run.
    Pending,
    /// Some chunks done.
    Running,
    /// Every chunk done.
    Done,
}

/// A resumable bulk job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Id (derived from the tenant and the request's key, so a retried request finds it).
    pub job_id: String,
    /// The tenant.
    pub tenant: TenantId,
    /// The operation.
    pub op: JobOp,
    /// Pending, running, done.
    pub status: JobStatus,
    /// Items.
    pub total: u64,
    /// Chunks.
    pub chunks: usize,
    /// The first chunk not done.
    pub next_chunk: usize,
    /// Counts so far.
    pub progress: Summary,
    /// Why, from where, by whom.
    pub origin: Origin,
    /// Whether item keys are kept forever (imports).
    pub keys_forever: bool,
    /// Whether the `PointsJobCreated` event went out.
    pub published: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last progress.
    pub updated_at: DateTime<Utc>,
    /// The fingerprint of the request that created it: another request under the same key
    /// is refused even when the request's record is missing (a crash between the job and
    /// the record).
    #[serde(skip)]
    pub fingerprint: String,
    /// Which written set of chunks is the job's. Each request writing a job's chunks
    /// writes its own set; the set the job names when it becomes ready is the one that
    /// runs, so chunks are never overwritten by another request. `None`: the first
    /// layout, one unnamed set.
    #[serde(skip)]
    pub chunk_set: Option<String>,
    /// Whether its chunks are all written (a job is announced and run only then).
    #[serde(skip)]
    pub ready: bool,
}

impl Job {
    /// Derives the job id from the tenant and the request's identity.
    pub fn id_for(tenant: &TenantId, request_key: &str) -> String {
        let digest = Sha256::digest(format!("{tenant}\u{1f}{request_key}").as_bytes());
        format!("pj{}", &hex::encode(digest)[..24])
    }
}

/// A bulk request's record: the first request's fingerprint and, once done, its answer
/// (inline) or its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// What the request was.
    pub fingerprint: String,
    /// The operation.
    pub op: JobOp,
    /// The job, when it runs as one.
    pub job_id: Option<String>,
    /// The answer of an inline run, once done.
    pub summary: Option<Summary>,
    /// Per-item results of an inline run, once done.
    pub results: Option<Vec<ItemResult>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A hash of a bulk request's content.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..16])
}

/// The most bytes of items (as JSON) one stored chunk holds: with its results added when
/// it is done, a chunk stays well below the store's 400 KB item limit whatever its items'
/// reasons and ids hold.
pub const CHUNK_BYTES: usize = 200 * 1024;

/// Splits items into chunks of at most [`CHUNK_SIZE`] items and [`CHUNK_BYTES`] bytes.
pub fn chunks(items: Vec<JobItem>) -> Vec<Vec<JobItem>> {
    let mut out = Vec::new();
    let mut chunk = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = serde_json::to_vec(&item).map_or(0, |v| v.len()) + 1;
        if !chunk.is_empty() && (chunk.len() == CHUNK_SIZE || bytes + size > CHUNK_BYTES) {
            out.push(std::mem::take(&mut chunk));
            bytes = 0;
        }
        bytes += size;
        chunk.push(item);
    }
    if !chunk.is_empty() {
        out.push(chunk);
    }
    out
}

/// The stable code of a per-item failure.
pub fn error_code(e: &PointsError) -> &'static str {
    match e {
        PointsError::Validation(_) => "validation_failed",
        PointsError::Insufficient { .. } => "insufficient_points",
        PointsError::KeyReused => "idempotency_key_reused",
        PointsError::NotFound(_) => "not_found",
        PointsError::OutOfStock => "out_of_stock",
        PointsError::RewardInactive => "reward_inactive",
        PointsError::RuleDisabled(_) => "rule_disabled",
        PointsError::NotACustomer(_) => "not_a_customer",
        PointsError::Busy => "unavailable",
        PointsError::Store(_) => "unavailable",
    }
}

/// What every item of a run shares.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The tenant.
    pub tenant: TenantId,
    /// The operation.
    pub op: JobOp,
    /// Why, from where, by whom (an item's own reason replaces the reason).
    pub origin: Origin,
    /// The rules (validity of awarded and imported points).
    pub rules: PointsRules,
    /// Whether item keys are kept forever.
    pub keys_forever: bool,
    /// Time and timezone.
    pub when: When,
}

fn rejected(item: &JobItem, code: &str) -> ItemResult {
    ItemResult {
        external_userid: item.external_userid.clone(),
        line: item.line,
        status: ItemStatus::Rejected,
        code: Some(code.to_string()),
        amount: 0,
        balance: None,
    }
}

async fn run_item<S: LedgerStore>(
    store: &S,
    ctx: &RunContext,
    item: &JobItem,
) -> Result<ItemResult, PointsError> {
    if let Some(code) = &item.reject {
        return Ok(rejected(item, code));
    }
    let Ok(customer) = CustomerId::parse(&item.external_userid) else {
        return Ok(rejected(item, "invalid_customer"));
    };
    let Ok(key) = IdempotencyKey::parse(&item.key) else {
        return Ok(rejected(item, "validation_failed"));
    };
    let mut origin = ctx.origin.clone();
    if let Some(r) = &item.reason {
        origin.reason = r.clone();
    }
    let points = Points::new(item.points);
    let op = match (ctx.op, points) {
        (JobOp::Award, Ok(p)) => Operation::credit(
            key,
            EntryKind::Earn,
            p,
            ctx.rules.expiry_for(ctx.when.today()),
            origin,
        ),
        (JobOp::Import, Ok(p)) => Operation::credit(
            key,
            EntryKind::Import,
            p,
            ctx.rules.expiry_for(ctx.when.today()),
            origin,
        ),
        (JobOp::Deduct, Ok(p)) => Operation::debit(key, EntryKind::Deduct, p, origin),
        (JobOp::Clear, _) => Operation::clear(key, EntryKind::Clear, origin),
        (_, Err(_)) => return Ok(rejected(item, "bad_number")),
    };
    let op = if ctx.keys_forever { op.forever() } else { op };
    let account = Account::new(ctx.tenant.clone(), customer);
    match apply(store, &account, &op, ctx.when).await {
        Ok(out) => Ok(ItemResult {
            external_userid: item.external_userid.clone(),
            line: item.line,
            status: if out.replayed {
                ItemStatus::AlreadyApplied
            } else {
                ItemStatus::Applied
            },
            code: None,
            amount: out.applied.amount,
            balance: Some(out.applied.balance),
        }),
        Err(e) if e.is_retryable() => Err(e),
        Err(e) => Ok(rejected(item, error_code(&e))),
    }
}

/// Runs items with bounded concurrency, results in item order. Fails (retryably) if any
/// item could not be decided because the store was unavailable: running the same items
/// again is safe and finishes them.
pub async fn run_items<S: LedgerStore>(
    store: &S,
    ctx: &RunContext,
    items: &[JobItem],
) -> Result<Vec<ItemResult>, PointsError> {
    // Owned items: a stream over borrowed items trips the compiler's `Send` inference
    // for handlers that must be `Send` for every lifetime.
    let results: Vec<Result<ItemResult, PointsError>> = futures::stream::iter(items.to_vec())
        .map(|item| async move { run_item(store, ctx, &item).await })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_chunked_in_order() {
        let items: Vec<JobItem> = (0..1201)
            .map(|i| JobItem {
                external_userid: format!("wm{i}"),
                points: 1,
                key: "k".into(),
                line: None,
                reason: None,
                reject: None,
            })
            .collect();
        let c = chunks(items);
        assert_eq!(
            c.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![500, 500, 201]
        );
        assert_eq!(c[2][0].external_userid, "wm1000");
    }

    #[test]
    fn chunks_stay_below_a_byte_budget() {
        let items: Vec<JobItem> = (0..1000)
            .map(|i| JobItem {
                external_userid: format!("{i:0>128}"),
                points: 1,
                key: format!("import:row:{i:0>40}"),
                line: Some(i),
                reason: Some("😀".repeat(200)),
                reject: Some("invalid_customer".into()),
            })
            .collect();
        let c = chunks(items);
        assert!(c.len() > 2, "{}", c.len());
        assert_eq!(c.iter().map(Vec::len).sum::<usize>(), 1000);
        for chunk in &c {
            assert!(serde_json::to_vec(chunk).unwrap().len() <= CHUNK_BYTES);
        }
    }

    #[test]
    fn job_ids_are_stable_per_tenant_and_key() {
        let a = TenantId::parse("ww0001").unwrap();
        let b = TenantId::parse("ww0002").unwrap();
        assert_eq!(Job::id_for(&a, "k1"), Job::id_for(&a, "k1"));
        assert_ne!(Job::id_for(&a, "k1"), Job::id_for(&b, "k1"));
    }
}
