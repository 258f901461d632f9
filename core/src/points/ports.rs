//! The points domain's ports: what the rules need from storage and from the directory,
//! split by capability so that each function takes only what it uses. The DynamoDB
//! adapter ([`super::dynamo::DynamoPoints`]) implements them all; the directory ones are
//! implemented over the contacts module's read API ([`super::directory`]).
use super::accounts::{AccountFacts, AccountSort, IndexedAccount, SortOrder};
use super::jobs::{ItemResult, Job, JobItem, JobOp, RequestRecord};
use super::model::{Applied, CustomerId, Entry, IdempotencyKey};
use super::plan::{AccountState, Plan, Settle};
use super::ranking::{RankFigure, RankedRow, RankingJob, RankingSnapshot, ShardAccount};
use super::rewards::{GrantWrite, NewReward, Redemption, Reward, RewardPatch};
use super::rules::{CheckInState, CustomerProfile, PointsRules};
use super::stats::{DayFigures, Figure};
use super::views::{DayTotals, GroupDay};
use crate::ports::StoreError;
use crate::tenants::TenantId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::future::Future;

/// How many shards the expiry index is split into (the sweep works each shard; the
/// adapter spreads lots over them by a hash of the customer).
pub const EXPIRY_SHARDS: u32 = 16;

/// A customer's account in a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Account {
    /// The tenant.
    pub tenant: TenantId,
    /// The customer.
    pub customer: CustomerId,
}

impl Account {
    /// Builds an account reference.
    pub fn new(tenant: TenantId, customer: CustomerId) -> Self {
        Self { tenant, customer }
    }
}

/// What to read before planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// The lots (debits and expiry need them; credits do not).
    pub lots: bool,
    /// The check-in state.
    pub check_in: bool,
}

/// Items written in the same transaction as a ledger change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extra {
    /// The check-in state moves from `expected_last` to `after`, storing the commit's
    /// result as the day's answer.
    CheckIn {
        /// The last check-in date read before planning (`None`: never checked in).
        expected_last: Option<String>,
        /// The state after.
        after: CheckInState,
    },
    /// One unit of a reward's stock, at the price read before planning.
    TakeStock {
        /// The reward.
        reward_id: String,
        /// Its cost when read.
        cost: i64,
    },
    /// The redemption record the merchant fulfils from.
    Redemption(Redemption),
}

/// One ledger transaction: the idempotency record, the entry, the balance, the lots and
/// the extras, all or nothing.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The account.
    pub account: Account,
    /// The idempotency key.
    pub key: IdempotencyKey,
    /// What the request was (a retry with the same key must be the same request).
    pub fingerprint: String,
    /// When the idempotency record may be deleted (epoch seconds); `None`: kept forever
    /// ("once per customer ever" rules, imports).
    pub key_expires_at: Option<i64>,
    /// Whether the key gets an idempotency record. A check-in does not: its key is its
    /// day, the check-in state's condition (`last_date` as read) makes it once a day, and
    /// the state stores its answer for a same-day retry.
    pub key_record: bool,
    /// The state the plan was made from (its version and debt are conditions).
    pub before: AccountState,
    /// The plan.
    pub plan: Plan,
    /// The entries, in order, when the plan changes the balance (two for a credit
    /// already past its validity: the credit and its expiry).
    pub entries: Vec<Entry>,
    /// The answer stored with the idempotency record.
    pub result: Applied,
    /// Items written with it.
    pub extras: Vec<Extra>,
    /// When.
    pub now: DateTime<Utc>,
}

/// Why a commit did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The idempotency key was already applied: answer the stored result.
    #[error("idempotency key already applied")]
    Replay,
    /// The account changed since it was read: read again and re-plan.
    #[error("account changed concurrently")]
    Conflict,
    /// The condition of extra number `n` failed.
    #[error("condition of extra {0} failed")]
    Extra(usize),
    /// The store failed (see [`StoreError::is_retryable`]).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A stored idempotency record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The request's fingerprint.
    pub fingerprint: String,
    /// The first result.
    pub result: Applied,
}

/// The ledger's reads and writes.
pub trait LedgerStore: Send + Sync {
    /// Reads the account consistently.
    fn load(
        &self,
        account: &Account,
        what: Load,
    ) -> impl Future<Output = Result<(AccountState, Option<CheckInState>), StoreError>> + Send;
    /// Writes a plan in one conditional transaction.
    fn commit(&self, commit: &Commit) -> impl Future<Output = Result<(), CommitError>> + Send;
    /// Takes lot debt from lots in one conditional transaction.
    fn settle(
        &self,
        account: &Account,
        before: &AccountState,
        settle: &Settle,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;
    /// The record of an idempotency key, if applied.
    fn idempotency(
        &self,
        account: &Account,
        key: &IdempotencyKey,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;
}

/// A customer's balance item as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BalanceRecord {
    /// Balance.
    pub balance: i64,
    /// Entries so far.
    pub entries: i64,
    /// Lot debt outstanding (0 except for a moment after a debit over many lots).
    pub lot_debt: i64,
}

/// Reads for views.
pub trait HistoryRead: Send + Sync {
    /// Balance, check-in state and lots still holding points.
    fn summary(
        &self,
        account: &Account,
    ) -> impl Future<
        Output = Result<(BalanceRecord, Option<CheckInState>, Vec<super::model::Lot>), StoreError>,
    > + Send;
    /// Entries newest first, strictly before `before_seq` when given.
    fn entries(
        &self,
        account: &Account,
        before_seq: Option<i64>,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;
    /// A tenant-local day's totals by kind, read from the day index.
    fn day_totals(
        &self,
        tenant: &TenantId,
        date: &str,
        cacheable: bool,
    ) -> impl Future<Output = Result<DayTotals, StoreError>> + Send;
    /// The totals of each of `dates` (`YYYY-MM-DD`, oldest first), in the order given; the
    /// days up to `closed_through` are cached once read (see `day_totals`). Reads only
    /// the days that had entries (a day without any is all zeros), so a window costs a
    /// few reads however long it is.
    fn days_totals(
        &self,
        tenant: &TenantId,
        dates: &[String],
        closed_through: Option<&str>,
    ) -> impl Future<Output = Result<Vec<DayTotals>, StoreError>> + Send;
}

/// The tenant's rules and the sweep's cursor.
pub trait RulesStore: Send + Sync {
    /// The rules (all off when never set).
    fn rules(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<PointsRules, StoreError>> + Send;
    /// Replaces the rules. When they set a validity, the sweep cursor is created at
    /// `sweep_from` unless it exists, so the sweep starts looking at expiring lots.
    fn put_rules(
        &self,
        tenant: &TenantId,
        rules: &PointsRules,
        sweep_from: NaiveDate,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Where the expiry sweep is for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SweepCursor {
    /// Every lot expiring on or before this date has been expired.
    pub done_through: String,
    /// The date being swept, if a sweep stopped halfway.
    pub in_progress: Option<String>,
    /// Its shards already swept.
    pub shards_done: Vec<u32>,
}

/// A lot found in the expiry index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringLot {
    /// The account.
    pub customer: CustomerId,
    /// The lot.
    pub expires_on: String,
}

/// The expiry index and the sweep's cursor.
pub trait SweepStore: Send + Sync {
    /// The cursor; `None` when the tenant never had expiring points.
    fn sweep_cursor(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<SweepCursor>, StoreError>> + Send;
    /// Saves the cursor.
    fn save_sweep_cursor(
        &self,
        tenant: &TenantId,
        cursor: &SweepCursor,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// One page of the lots indexed as expiring on `date` in `shard`.
    fn expiring_lots(
        &self,
        tenant: &TenantId,
        date: &str,
        shard: u32,
        page: Option<String>,
    ) -> impl Future<Output = Result<(Vec<ExpiringLot>, Option<String>), StoreError>> + Send;
}

/// The idempotency record of a catalogue write, written in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteKey {
    /// The caller's key.
    pub key: IdempotencyKey,
    /// What the request was (a retry under the key must be the same request).
    pub fingerprint: String,
    /// When the record may be deleted (epoch seconds).
    pub expires_at: i64,
}

/// A keyed write's outcome: done now, or done before under the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed<T> {
    /// Done now.
    Done(T),
    /// The key was used before: by the request with this fingerprint, on this reward.
    Before {
        /// The earlier request's fingerprint.
        fingerprint: String,
        /// The reward it created or changed.
        reward_id: String,
    },
}

/// The rewards catalogue.
pub trait RewardStore: Send + Sync {
    /// Adds a reward, with the key's record in the same transaction.
    fn create_reward(
        &self,
        tenant: &TenantId,
        reward: &NewReward,
        id: &str,
        key: &WriteKey,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Keyed<Reward>, StoreError>> + Send;
    /// Changes a reward, with the key's record in the same transaction when given;
    /// `None` if it does not exist; [`StoreError::ConditionFailed`] if it would take more
    /// stock than is left.
    fn update_reward(
        &self,
        tenant: &TenantId,
        id: &str,
        patch: &RewardPatch,
        key: Option<&WriteKey>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Keyed<Reward>>, StoreError>> + Send;
    /// One reward.
    fn reward(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> impl Future<Output = Result<Option<Reward>, StoreError>> + Send;
    /// Every reward.
    fn rewards(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<Reward>, StoreError>> + Send;
    /// A reward's redemptions, newest first.
    fn redemptions(
        &self,
        tenant: &TenantId,
        id: &str,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<Redemption>, StoreError>> + Send;
    /// A reward handed over at no cost (no points move, so no ledger entry), once per
    /// `key`: in one transaction the grant's record (`attribute_not_exists`), one unit of
    /// stock (`stock >= 1`) and the redemption the merchant fulfils from.
    fn grant_reward(
        &self,
        tenant: &TenantId,
        key: &str,
        redemption: &Redemption,
    ) -> impl Future<Output = Result<GrantWrite, StoreError>> + Send;
}

/// Customer-entered profiles.
pub trait ProfileStore: Send + Sync {
    /// The profile (empty when never filled).
    fn profile(
        &self,
        account: &Account,
    ) -> impl Future<Output = Result<CustomerProfile, StoreError>> + Send;
    /// Replaces the profile.
    fn put_profile(
        &self,
        account: &Account,
        profile: &CustomerProfile,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A member joining or leaving a group, as a domain event told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipChange {
    /// The group.
    pub chat_id: String,
    /// The member (customer or staff).
    pub member_id: String,
    /// Joined (`true`) or left.
    pub joined: bool,
    /// The tenant-local day.
    pub date: String,
    /// The event (recording is idempotent on it).
    pub event_id: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What happened in a group on a day, for the per-group views.
pub trait ActivityStore: Send + Sync {
    /// Records that a customer checked in on `date` while a member of `chat_ids`.
    fn record_check_in(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        chat_ids: &[String],
        date: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a join or leave, once per event.
    fn record_membership(
        &self,
        tenant: &TenantId,
        change: &MembershipChange,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A group's day.
    fn group_day(
        &self,
        tenant: &TenantId,
        chat_id: &str,
        date: &str,
    ) -> impl Future<Output = Result<GroupDay, StoreError>> + Send;
    /// Adds one to `figure` on tenant-local `date`, once per `once_key`: a key counted
    /// already counts nothing (the key's record and the counter are one transaction).
    fn count_once(
        &self,
        tenant: &TenantId,
        date: &str,
        figure: Figure,
        once_key: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// [`ActivityStore::count_once`] for a customer gained (`delta` 1) or lost (`delta`
    /// -1): the number of customers changes by `delta` in the same transaction.
    fn count_customer_once(
        &self,
        tenant: &TenantId,
        date: &str,
        figure: Figure,
        once_key: &str,
        delta: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The number of customers, as counted.
    fn customers_total(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// Sets the number of customers to `count` (what a re-sync found), by adding the
    /// difference from the counted number; returns that difference.
    fn correct_customers_total(
        &self,
        tenant: &TenantId,
        count: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// The counted figures of each of `dates` (zeros for a day nothing was counted on),
    /// in the order given.
    fn day_figures(
        &self,
        tenant: &TenantId,
        dates: &[String],
    ) -> impl Future<Output = Result<Vec<DayFigures>, StoreError>> + Send;
}

/// Every account of a tenant, listed in a sort order from sharded indexes (see
/// [`super::accounts`]).
pub trait AccountIndex: Send + Sync {
    /// Up to `limit` accounts of index shard `shard` in `sort` and `order`, strictly after
    /// the index position `after` (a [`IndexedAccount::position`]).
    fn index_page(
        &self,
        tenant: &TenantId,
        sort: AccountSort,
        order: SortOrder,
        shard: u32,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<IndexedAccount>, StoreError>> + Send;
    /// The balance items (with lifetime totals) and check-in states of `customers`.
    fn account_rows(
        &self,
        tenant: &TenantId,
        customers: &[CustomerId],
    ) -> impl Future<Output = Result<Vec<AccountFacts>, StoreError>> + Send;
}

/// Ranking snapshots (see [`super::ranking`]): the jobs that build them, their chunks,
/// and the tenant's pointer to the ranking served.
pub trait RankingStore: Send + Sync {
    /// Creates a ranking job if absent (`false`: it exists) and names it on the tenant's
    /// pointer as the one being built.
    fn create_ranking_job(
        &self,
        job: &RankingJob,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A ranking job (strongly consistent).
    fn ranking_job(
        &self,
        tenant: &TenantId,
        job_id: &str,
    ) -> impl Future<Output = Result<Option<RankingJob>, StoreError>> + Send;
    /// Records that the job's event went out.
    fn mark_ranking_published(
        &self,
        tenant: &TenantId,
        job_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every account of one shard: its balance item's totals and its check-in state.
    fn shard_accounts(
        &self,
        tenant: &TenantId,
        shard: u32,
    ) -> impl Future<Output = Result<Vec<ShardAccount>, StoreError>> + Send;
    /// Stores chunks `(last position, text)` of one figure and shard in attempt `run`.
    fn put_ranking_chunks(
        &self,
        job: &RankingJob,
        run: &str,
        figure: RankFigure,
        shard: u32,
        chunks: &[(String, String)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Saves the job as `next` (its shard `shard` done) only if it is still at that shard:
    /// `false` if another run moved it first.
    fn complete_ranking_shard(
        &self,
        next: &RankingJob,
        shard: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Makes `snapshot` the tenant's ranking, unless a newer one is already.
    fn serve_ranking(
        &self,
        tenant: &TenantId,
        snapshot: &RankingSnapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The tenant's ranking (if any was completed) and the newest job asked for.
    fn latest_ranking(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<(Option<RankingSnapshot>, Option<String>), StoreError>> + Send;
    /// Rows of `snapshot`'s `figure` in `shard` around the position `after`: the `chunks`
    /// chunks following it in `order` and the chunk holding it (any order; the caller
    /// picks the page, [`super::ranking::page_rows`]).
    #[allow(clippy::too_many_arguments)]
    fn ranking_rows(
        &self,
        tenant: &TenantId,
        snapshot: &RankingSnapshot,
        figure: RankFigure,
        shard: u32,
        order: SortOrder,
        after: Option<&str>,
        chunks: usize,
    ) -> impl Future<Output = Result<Vec<RankedRow>, StoreError>> + Send;
}

/// Customers' names from the directory (WeCom's name on the customer's profile).
pub trait CustomerNames: Send + Sync {
    /// The names of those of `customers` the directory knows.
    fn customer_names(
        &self,
        tenant: &TenantId,
        customers: &[CustomerId],
    ) -> impl Future<Output = Result<std::collections::HashMap<CustomerId, String>, StoreError>> + Send;
    /// Up to `limit` customers whose external_userid starts with `prefix`, in id order,
    /// strictly after `after`.
    fn customers_with_prefix(
        &self,
        tenant: &TenantId,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<CustomerId>, StoreError>> + Send;
}

/// Bulk requests and resumable jobs.
pub trait JobStore: Send + Sync {
    /// A bulk request's record.
    fn request(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> impl Future<Output = Result<Option<RequestRecord>, StoreError>> + Send;
    /// Stores a bulk request's record; `Ok(false)` if one exists already.
    fn create_request(
        &self,
        tenant: &TenantId,
        key: &str,
        record: &RequestRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces a bulk request's record (its result once done).
    fn save_request(
        &self,
        tenant: &TenantId,
        key: &str,
        record: &RequestRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates a job and its chunks: the job item first (only if absent, not ready),
    /// then the chunks as the set `job.chunk_set`, then the job made ready naming that
    /// set (only if it is not ready yet). A job that exists already with the same
    /// fingerprint and is not ready (its creator stopped halfway) gets this set written
    /// and named the same way; one with another fingerprint is left untouched.
    /// `Ok(false)` if the job existed already; read it to see what it is.
    fn create_job(
        &self,
        job: &Job,
        chunks: &[Vec<JobItem>],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A job.
    fn job(
        &self,
        tenant: &TenantId,
        job_id: &str,
    ) -> impl Future<Output = Result<Option<Job>, StoreError>> + Send;
    /// A chunk's items and, once processed, its results (from the job's chunk set).
    fn chunk(
        &self,
        job: &Job,
        n: usize,
    ) -> impl Future<Output = Result<(Vec<JobItem>, Option<Vec<ItemResult>>), StoreError>> + Send;
    /// Saves a chunk's results and moves the job past it, if the job is still at `n`;
    /// `Ok(false)` when another run already moved it.
    fn complete_chunk(
        &self,
        job: &Job,
        n: usize,
        results: &[ItemResult],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks a job's event as published.
    fn mark_published(
        &self,
        tenant: &TenantId,
        job_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A tenant's jobs, newest first.
    fn jobs(
        &self,
        tenant: &TenantId,
        op: Option<JobOp>,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<Job>, StoreError>> + Send;
}

/// What the points domain reads from the customer and group directory.
pub trait Memberships: Send + Sync {
    /// Which of `ids` are customers the directory knows.
    fn known_customers(
        &self,
        tenant: &TenantId,
        ids: &[CustomerId],
    ) -> impl Future<Output = Result<HashSet<CustomerId>, StoreError>> + Send;
    /// The customers currently in a group; `None` if the group is unknown.
    fn group_customers(
        &self,
        tenant: &TenantId,
        chat_id: &str,
    ) -> impl Future<Output = Result<Option<Vec<CustomerId>>, StoreError>> + Send;
    /// The groups a customer is currently in.
    fn customer_groups(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Every group of the tenant that is not dismissed, with its name.
    fn groups(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<(String, Option<String>)>, StoreError>> + Send;
    /// How many active follow relations (staff members who have the customer as a contact)
    /// the directory holds for `external_userid`.
    fn active_follows(
        &self,
        tenant: &TenantId,
        external_userid: &str,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}
