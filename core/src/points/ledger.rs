//! The ledger's write path: read the account, plan, commit in one conditional
//! transaction with the idempotency record, and on contention read again and re-plan.
//! A request whose key was already applied answers the stored first result, whatever the
//! account looks like now. A check-in has no idempotency record: the check-in state's
//! condition makes it once a day and the state keeps the day's answer.
use super::model::{Applied, Entry, EntryKind, EntryLot, IdempotencyKey, Origin, Outcome, Points};
use super::plan::{plan, plan_settle, Change, Plan};
use super::ports::{Account, Commit, CommitError, Extra, LedgerStore, Load, RewardStore};
use super::rewards::Redemption;
use super::rules::{check_in, CheckInRefused, CheckInRule};
use super::PointsError;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Attempts of one write under contention before answering "busy".
const MAX_ATTEMPTS: u32 = 40;
/// How long idempotency records of ordinary requests are kept.
pub const KEY_RETENTION_DAYS: i64 = 90;

/// What a write does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    /// A balance change.
    Change(Change),
    /// A daily check-in under `rule`, its points valid until `expires_on`.
    CheckIn {
        /// The tenant's check-in rule.
        rule: CheckInRule,
        /// Expiry of the points earned (from the validity rule).
        expires_on: Option<NaiveDate>,
    },
    /// A redemption of a reward at the cost read from the catalogue.
    Redeem {
        /// The reward.
        reward_id: String,
        /// Its name.
        reward_name: String,
        /// Its cost.
        cost: i64,
    },
}

/// One ledger write.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The idempotency key.
    pub key: IdempotencyKey,
    /// Whether the key is kept forever ("once per customer ever", imports) rather than
    /// for [`KEY_RETENTION_DAYS`].
    pub key_forever: bool,
    /// A rule paid once per customer ever: a record under the key means "already paid",
    /// whatever the rule pays now (a tenant changing the amount must not turn a later
    /// trigger into a conflicting request).
    pub once: bool,
    /// Why, from where, by whom.
    pub origin: Origin,
    /// What.
    pub kind: OpKind,
    /// Details stored on the entry and in the result.
    pub details: serde_json::Value,
}

impl Operation {
    /// A credit of `points` (earn or import).
    pub fn credit(
        key: IdempotencyKey,
        kind: EntryKind,
        points: Points,
        expires_on: Option<NaiveDate>,
        origin: Origin,
    ) -> Self {
        Self {
            key,
            key_forever: false,
            once: false,
            origin,
            kind: OpKind::Change(Change::Credit {
                kind,
                amount: points.get(),
                expires_on,
            }),
            details: serde_json::Value::Null,
        }
    }

    /// A debit of `points` (spend or deduct).
    pub fn debit(key: IdempotencyKey, kind: EntryKind, points: Points, origin: Origin) -> Self {
        Self {
            key,
            key_forever: false,
            once: false,
            origin,
            kind: OpKind::Change(Change::Debit {
                kind,
                amount: points.get(),
            }),
            details: serde_json::Value::Null,
        }
    }

    /// Removes every point (clear or zero-on-leave).
    pub fn clear(key: IdempotencyKey, kind: EntryKind, origin: Origin) -> Self {
        Self {
            key,
            key_forever: false,
            once: false,
            origin,
            kind: OpKind::Change(Change::ClearAll { kind }),
            details: serde_json::Value::Null,
        }
    }

    /// Keeps the idempotency record forever.
    pub fn forever(mut self) -> Self {
        self.key_forever = true;
        self
    }

    /// Makes it a rule paid once per customer ever: the key is kept forever and a record
    /// under it answers "already paid", whatever the amount now.
    pub fn once_per_customer(mut self) -> Self {
        self.key_forever = true;
        self.once = true;
        self
    }

    /// Whether a stored record's fingerprint is this request's.
    fn same_request(&self, fingerprint: &str) -> bool {
        self.once || fingerprint == self.fingerprint()
    }

    /// Attaches details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// What identifies the request behind the key: a retry must repeat it. Derived from
    /// what the caller asked, not from what was computed (an expiry date computed on a
    /// later day must not make a retry look different).
    pub fn fingerprint(&self) -> String {
        let what = match &self.kind {
            OpKind::Change(Change::Credit { kind, .. }) if self.once => {
                format!("credit:{}:once", kind.as_str())
            }
            OpKind::Change(Change::Credit { kind, amount, .. }) => {
                format!("credit:{}:{amount}", kind.as_str())
            }
            OpKind::Change(Change::Debit { kind, amount }) => {
                format!("debit:{}:{amount}", kind.as_str())
            }
            OpKind::Change(Change::ClearAll { kind }) => format!("clear:{}", kind.as_str()),
            OpKind::Change(Change::ExpireLot { expires_on }) => format!("expire:{expires_on}"),
            OpKind::CheckIn { .. } => "check_in".to_string(),
            OpKind::Redeem { reward_id, .. } => format!("redeem:{reward_id}"),
        };
        hex::encode(&Sha256::digest(what.as_bytes())[..12])
    }

    fn load(&self) -> Load {
        match &self.kind {
            OpKind::Change(Change::Credit { .. }) => Load {
                lots: false,
                check_in: false,
            },
            OpKind::CheckIn { .. } => Load {
                lots: false,
                check_in: true,
            },
            _ => Load {
                lots: true,
                check_in: false,
            },
        }
    }
}

/// Time and place of a write: the instant it counts for and the tenant's timezone, which
/// decide the local day (check-ins, expiry dates, day totals), and the instant it is
/// written, which decides what has already expired.
#[derive(Debug, Clone, Copy)]
pub struct When {
    /// The instant the change counts for (an event's own time for changes it triggers).
    pub now: DateTime<Utc>,
    /// The tenant's timezone.
    pub tz: Tz,
    /// The instant of writing: later than `now` when an event arrives late (a slow
    /// delivery, a replay from the dead-letter queue).
    pub written_at: DateTime<Utc>,
}

impl When {
    /// A change that counts for the instant it is written.
    pub fn new(now: DateTime<Utc>, tz: Tz) -> Self {
        Self {
            now,
            tz,
            written_at: now,
        }
    }

    /// A change dated `at` (an event's time) and written at `written_at`.
    pub fn dated(at: DateTime<Utc>, written_at: DateTime<Utc>, tz: Tz) -> Self {
        Self {
            now: at,
            tz,
            written_at: written_at.max(at),
        }
    }

    /// The tenant-local date the change counts for.
    pub fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.tz).date_naive()
    }

    /// The tenant-local date of writing: what is spendable and what has expired.
    pub fn written_today(&self) -> NaiveDate {
        self.written_at.with_timezone(&self.tz).date_naive()
    }
}

async fn backoff(attempt: u32) {
    let cap = (5u64 << attempt.min(6)).min(250);
    let ms = rand::rng().random_range(1..=cap);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Answers the stored result if `key` was already applied with the same request, or
/// refuses a different request under the same key; otherwise returns `err`.
async fn replay_or<S: LedgerStore>(
    store: &S,
    account: &Account,
    op: &Operation,
    err: PointsError,
) -> Result<Outcome, PointsError> {
    match store.idempotency(account, &op.key).await? {
        Some(rec) if op.same_request(&rec.fingerprint) => Ok(Outcome {
            applied: rec.result,
            replayed: true,
        }),
        Some(_) => Err(PointsError::KeyReused),
        None => Err(err),
    }
}

/// Pays down any lot debt until there is none.
pub async fn settle_all<S: LedgerStore>(
    store: &S,
    account: &Account,
    when: When,
) -> Result<(), PointsError> {
    for attempt in 0..MAX_ATTEMPTS {
        let (state, _) = store
            .load(
                account,
                Load {
                    lots: true,
                    check_in: false,
                },
            )
            .await?;
        let Some(step) = plan_settle(&state, when.today()) else {
            return Ok(());
        };
        match store.settle(account, &state, &step, when.now).await {
            Ok(()) => continue,
            Err(CommitError::Store(e)) if !e.is_retryable() => return Err(e.into()),
            Err(_) => backoff(attempt).await,
        }
    }
    Err(PointsError::Busy)
}

/// The entries a plan writes: none when nothing changes, one for a change, two for a
/// credit already past its validity (the credit, then its expiry).
fn build_entries(
    op: &Operation,
    plan: &Plan,
    details: &serde_json::Value,
    when: When,
) -> Vec<Entry> {
    if plan.amount == 0 {
        return Vec::new();
    }
    if let Some((date, points)) = &plan.expired_at_once {
        let lot = |points| {
            vec![EntryLot {
                expires_on: date.clone(),
                points,
            }]
        };
        let credit = Entry {
            seq: plan.version_after - 1,
            kind: plan.kind,
            amount: *points,
            balance_after: plan.balance_after + points,
            origin: op.origin.clone(),
            idempotency_key: op.key.as_str().to_string(),
            created_at: when.now,
            local_date: when.today().format("%Y-%m-%d").to_string(),
            lots: lot(*points),
            details: details.clone(),
        };
        let expiry = Entry {
            seq: plan.version_after,
            kind: EntryKind::Expire,
            amount: -points,
            balance_after: plan.balance_after,
            origin: Origin::new("expired", format!("on_arrival:{date}"), "system"),
            idempotency_key: format!("{}:expired", op.key.as_str()),
            created_at: when.written_at,
            local_date: when.written_today().format("%Y-%m-%d").to_string(),
            lots: lot(-points),
            details: serde_json::Value::Null,
        };
        return vec![credit, expiry];
    }
    let lots = match &plan.credit {
        Some((date, n)) => vec![EntryLot {
            expires_on: date.clone(),
            points: *n,
        }],
        None => plan
            .takes
            .iter()
            .map(|t| EntryLot {
                expires_on: t.expires_on.clone(),
                points: -t.taken,
            })
            .collect(),
    };
    vec![Entry {
        seq: plan.version_after,
        kind: plan.kind,
        amount: plan.amount,
        balance_after: plan.balance_after,
        origin: op.origin.clone(),
        idempotency_key: op.key.as_str().to_string(),
        created_at: when.now,
        local_date: when.today().format("%Y-%m-%d").to_string(),
        lots,
        details: details.clone(),
    }]
}

/// Applies one operation to an account, exactly once per idempotency key.
pub async fn apply<S: LedgerStore>(
    store: &S,
    account: &Account,
    op: &Operation,
    when: When,
) -> Result<Outcome, PointsError> {
    let fingerprint = op.fingerprint();
    let today = when.today();
    for attempt in 0..MAX_ATTEMPTS {
        let (state, check_in_state) = store.load(account, op.load()).await?;
        if state.lot_debt > 0 {
            settle_all(store, account, when).await?;
            continue;
        }
        let mut details = op.details.clone();
        let mut extras = Vec::new();
        let change = match &op.kind {
            OpKind::Change(c) => c.clone(),
            OpKind::CheckIn { rule, expires_on } => {
                let before = check_in_state.clone().unwrap_or_default();
                // Checked in today already: the state holds that check-in's answer
                // (a state written before it held one: the idempotency record, below).
                if before.last_day() == Some(today) {
                    if let Some(first) = &before.result {
                        return Ok(Outcome {
                            applied: first.clone(),
                            replayed: true,
                        });
                    }
                }
                match check_in(rule, &before, today) {
                    Ok(award) => {
                        details = serde_json::to_value(&award).unwrap_or_default();
                        extras.push(Extra::CheckIn {
                            expected_last: before.last_date.clone(),
                            after: award.state.clone(),
                        });
                        Change::Credit {
                            kind: EntryKind::Earn,
                            amount: award.total,
                            expires_on: *expires_on,
                        }
                    }
                    Err(CheckInRefused::Disabled) => {
                        return replay_or(store, account, op, PointsError::RuleDisabled("check-in"))
                            .await
                    }
                    Err(CheckInRefused::AlreadyToday) => {
                        // The key is per day, so a same-day retry replays; this is a
                        // check-in whose record has gone (never within a day).
                        return replay_or(
                            store,
                            account,
                            op,
                            PointsError::Validation("already checked in today".into()),
                        )
                        .await;
                    }
                }
            }
            OpKind::Redeem {
                reward_id,
                reward_name,
                cost,
            } => {
                extras.push(Extra::TakeStock {
                    reward_id: reward_id.clone(),
                    cost: *cost,
                });
                extras.push(Extra::Redemption(Redemption {
                    reward_id: reward_id.clone(),
                    reward_name: reward_name.clone(),
                    external_userid: account.customer.as_str().to_string(),
                    cost: *cost,
                    seq: state.version + 1,
                    redeemed_at: when.now,
                }));
                details = serde_json::json!({ "reward_id": reward_id, "reward_name": reward_name });
                Change::Debit {
                    kind: EntryKind::Spend,
                    amount: *cost,
                }
            }
        };
        // What is spendable or already expired is decided by the day of writing.
        let plan = match plan(&state, &change, when.written_today()) {
            Ok(p) => p,
            Err(e) => return replay_or(store, account, op, e.into()).await,
        };
        if let Some((date, _)) = &plan.expired_at_once {
            match &mut details {
                serde_json::Value::Object(map) => {
                    map.insert("expired_on_arrival".into(), date.clone().into());
                }
                other => *other = serde_json::json!({ "expired_on_arrival": date }),
            }
        }
        let entries = build_entries(op, &plan, &details, when);
        let result = Applied {
            seq: entries.first().map(|e| e.seq),
            kind: plan.kind,
            amount: plan.amount,
            balance: plan.balance_after,
            details: details.clone(),
        };
        let debt_after = plan.lot_debt_after;
        let commit = Commit {
            account: account.clone(),
            key: op.key.clone(),
            fingerprint: fingerprint.clone(),
            key_expires_at: (!op.key_forever)
                .then(|| (when.now + chrono::Duration::days(KEY_RETENTION_DAYS)).timestamp()),
            key_record: !matches!(op.kind, OpKind::CheckIn { .. }),
            before: state,
            plan,
            entries,
            result: result.clone(),
            extras,
            now: when.now,
        };
        match store.commit(&commit).await {
            Ok(()) => {
                if debt_after > 0 {
                    if let Err(e) = settle_all(store, account, when).await {
                        // The change is committed; the next write settles the rest.
                        tracing::warn!(error = %e, "lot debt left to settle");
                    }
                }
                return Ok(Outcome {
                    applied: result,
                    replayed: false,
                });
            }
            Err(CommitError::Replay) => match store.idempotency(account, &op.key).await? {
                Some(rec) if op.same_request(&rec.fingerprint) => {
                    return Ok(Outcome {
                        applied: rec.result,
                        replayed: true,
                    })
                }
                Some(_) => return Err(PointsError::KeyReused),
                None => backoff(attempt).await,
            },
            Err(CommitError::Extra(i)) => match commit.extras.get(i) {
                Some(Extra::TakeStock { .. }) => {
                    return replay_or(store, account, op, PointsError::OutOfStock).await
                }
                _ => backoff(attempt).await,
            },
            Err(CommitError::Conflict) => backoff(attempt).await,
            Err(CommitError::Store(e)) if e.is_retryable() => backoff(attempt).await,
            Err(CommitError::Store(e)) => return Err(e.into()),
        }
    }
    Err(PointsError::Busy)
}

/// Redeems a reward: checks it is offered and in stock, then spends its cost and takes
/// one unit of stock in the same transaction. A retry with the same key answers the
/// first result; a reward sold out meanwhile answers [`PointsError::OutOfStock`].
pub async fn redeem<S: LedgerStore + RewardStore>(
    store: &S,
    account: &Account,
    reward_id: &str,
    key: IdempotencyKey,
    origin: Origin,
    when: When,
) -> Result<Outcome, PointsError> {
    for _ in 0..3 {
        let reward = store.reward(&account.tenant, reward_id).await?;
        let op = Operation {
            key: key.clone(),
            key_forever: false,
            once: false,
            origin: origin.clone(),
            kind: OpKind::Redeem {
                reward_id: reward_id.to_string(),
                reward_name: reward.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
                cost: reward.as_ref().map(|r| r.cost).unwrap_or(0),
            },
            details: serde_json::Value::Null,
        };
        let Some(reward) = reward else {
            return replay_or(store, account, &op, PointsError::NotFound("reward")).await;
        };
        if !reward.active {
            return replay_or(store, account, &op, PointsError::RewardInactive).await;
        }
        if reward.stock <= 0 {
            return replay_or(store, account, &op, PointsError::OutOfStock).await;
        }
        match apply(store, account, &op, when).await {
            Err(PointsError::OutOfStock) => {
                // The stock condition failed: sold out, withdrawn, or repriced meanwhile.
                match store.reward(&account.tenant, reward_id).await? {
                    Some(r) if r.active && r.stock > 0 && r.cost != reward.cost => continue,
                    Some(r) if !r.active => return Err(PointsError::RewardInactive),
                    Some(r) if r.stock > 0 => continue,
                    _ => return Err(PointsError::OutOfStock),
                }
            }
            other => return other,
        }
    }
    Err(PointsError::Busy)
}

/// The idempotency key of a system rule paid once per customer ever.
pub fn once_key(rule: &str) -> IdempotencyKey {
    IdempotencyKey::system(format!("once:{rule}"))
}

/// The idempotency key of a check-in on a tenant-local day.
pub fn check_in_key(day: NaiveDate) -> IdempotencyKey {
    IdempotencyKey::system(format!("checkin:{}", day.format("%Y-%m-%d")))
}

/// The idempotency key of expiring one lot.
pub fn expiry_key(expires_on: &str) -> IdempotencyKey {
    IdempotencyKey::system(format!("expire:{expires_on}"))
}

/// Expires what is left of one lot (the sweep's step).
pub async fn expire_lot<S: LedgerStore>(
    store: &S,
    account: &Account,
    expires_on: &str,
    when: When,
) -> Result<Outcome, PointsError> {
    let op = Operation {
        key: expiry_key(expires_on),
        key_forever: false,
        once: false,
        origin: Origin::new("expired", format!("sweep:{expires_on}"), "system"),
        kind: OpKind::Change(Change::ExpireLot {
            expires_on: expires_on.to_string(),
        }),
        details: serde_json::Value::Null,
    };
    apply(store, account, &op, when).await
}
