//! The ledger table adapter (key layout in [`super::keys`]). Every ledger change is one
//! `TransactWriteItems`: the idempotency record (`attribute_not_exists`; a check-in has
//! none, its state's condition and stored answer do that work), the entry
//! (`attribute_not_exists`), the balance (its version and lot debt as read), each lot
//! taken (its remaining points as read) and the extras (check-in state, reward stock). A
//! failed condition says which: the key was applied already, the account moved (re-plan),
//! or an extra (sold out).
use scrm_core::points::jobs::{ItemResult, Job, JobItem, JobOp, RequestRecord};
pub mod directory;
pub mod keys;
mod ranking;

use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK, TTL};
use crate::dynamo::update::{item_absent, item_exists};
use crate::dynamo::{ensure_applied, Cond, Db, Query, StoreError, Table, Update};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use scrm_core::points::accounts::{
    balance_position, check_in_position, AccountFacts, AccountSort, IndexedAccount, SortOrder,
};
use scrm_core::points::model::{CustomerId, Entry, EntryKind, Lot, LotTake, NEVER};
use scrm_core::points::plan::{AccountState, Settle};
use scrm_core::points::ports::*;
use scrm_core::points::rewards::{GrantWrite, NewReward, Redemption, Reward, RewardPatch};
use scrm_core::points::rules::{CheckInState, CustomerProfile, PointsRules};
use scrm_core::points::stats::{shard_of, DayFigures, Figure, STATS_SHARDS};
use scrm_core::points::views::{DayTotals, GroupDay};
use scrm_core::tenants::TenantId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// How long a drained lot is kept before TTL removes it.
const DRAINED_LOT_DAYS: i64 = 7;

/// The DynamoDB adapter of the points domain (ledger table).
#[derive(Debug, Clone)]
pub struct DynamoPoints {
    table: Table,
    /// The days with entries this process has recorded already (see `mark_entry_days`):
    /// each is written once per process, not once per entry.
    days_marked: Arc<Mutex<HashSet<String>>>,
    /// Tenants' earning rules as read, when this container caches them (see
    /// [`DynamoPoints::with_rules_cache`]).
    rules_cache: Option<Arc<RulesCache>>,
}

/// Earning rules read within the last `ttl`, per tenant.
#[derive(Debug)]
struct RulesCache {
    ttl: std::time::Duration,
    rules: Mutex<HashMap<TenantId, (std::time::Instant, PointsRules)>>,
}

/// How many tenants' rules a container keeps before it forgets them all.
const RULES_CACHED_MAX: usize = 1024;

/// How many recorded days a process remembers before it forgets them all (and writes each
/// again once, conditionally).
const DAYS_MARKED_MAX: usize = 4096;

impl DynamoPoints {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self {
            table: db.ledger(),
            days_marked: Arc::default(),
            rules_cache: None,
        }
    }

    /// Keeps each tenant's earning rules for `ttl` after reading them (the customer API,
    /// where every check-in reads them): a change of the rules takes effect in such a
    /// container within `ttl`. Rules this adapter writes replace its cached copy at once.
    pub fn with_rules_cache(mut self, ttl: std::time::Duration) -> Self {
        self.rules_cache = Some(Arc::new(RulesCache {
            ttl,
            rules: Mutex::default(),
        }));
        self
    }

    fn cached_rules(&self, tenant: &TenantId) -> Option<PointsRules> {
        let cache = self.rules_cache.as_ref()?;
        let map = cache.rules.lock().ok()?;
        map.get(tenant)
            .filter(|(read_at, _)| read_at.elapsed() < cache.ttl)
            .map(|(_, rules)| rules.clone())
    }

    fn cache_rules(&self, tenant: &TenantId, rules: &PointsRules) {
        let Some(cache) = self.rules_cache.as_ref() else {
            return;
        };
        if let Ok(mut map) = cache.rules.lock() {
            if map.len() >= RULES_CACHED_MAX {
                map.clear();
            }
            map.insert(tenant.clone(), (std::time::Instant::now(), rules.clone()));
        }
    }

    /// Records that the day of each of `entries` had entries on the customer's day-index
    /// shard, before the entries are written: a crash in between leaves a day marked
    /// without entries (read for nothing), never entries on an unmarked day (missed).
    async fn mark_entry_days(
        &self,
        account: &Account,
        entries: &[Entry],
    ) -> Result<(), StoreError> {
        let shard = keys::shard(&account.customer);
        let pk = keys::entry_days_pk(&account.tenant, shard);
        let dates: HashSet<&str> = entries.iter().map(|e| e.local_date.as_str()).collect();
        for date in dates {
            let marker = format!("{pk}/{date}");
            if self
                .days_marked
                .lock()
                .map(|m| m.contains(&marker))
                .unwrap_or(false)
            {
                continue;
            }
            // Conditional: an existing marker is not rewritten.
            self.table
                .put_new(item::item([(PK, s(&pk)), (SK, s(keys::day_sk(date)))]))
                .await?;
            if let Ok(mut m) = self.days_marked.lock() {
                if m.len() >= DAYS_MARKED_MAX {
                    m.clear();
                }
                m.insert(marker);
            }
        }
        Ok(())
    }

    /// One day's counters and the once-record of `once_key`, plus `extra` (the number of
    /// customers' update), in one transaction; a key counted already counts nothing.
    async fn count_with(
        &self,
        tenant: &TenantId,
        date: &str,
        figure: Figure,
        once_key: &str,
        extra: Option<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        let ttl = (Utc::now() + chrono::Duration::days(COUNTED_DAYS)).timestamp();
        let record = item::item([
            (PK, s(keys::stats_once_pk(tenant, once_key))),
            (SK, s(keys::STATS_ONCE)),
            ("date", s(date)),
            (TTL, n(ttl)),
        ]);
        let mut u = Update::new();
        u.add(figure.attr(), 1).set("date", s(date));
        let mut actions = vec![
            self.table.tx_put(record, &Cond::item_absent())?,
            self.table.tx_update(
                keys::stats_pk(tenant, shard_of(once_key)),
                keys::day_sk(date),
                &u,
            )?,
        ];
        actions.extend(extra);
        // Two changes counted on one shard at the same moment conflict (a transaction's
        // items are locked): retry a few times, jittered.
        let mut attempt = 0u64;
        loop {
            match self.table.transact(actions.clone()).await {
                Ok(()) => return Ok(()),
                // Counted already.
                Err(e) if e.condition_failed_at(0) => return Ok(()),
                Err(e) if attempt < 4 && (e.is_retryable() || conflicted(&e)) => {
                    attempt += 1;
                    let ms = rand::random_range(5..=25 * attempt);
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A day's totals from the given day-index shards (the others had no entries), cached
    /// when `cacheable`.
    async fn sum_day(
        &self,
        tenant: &TenantId,
        date: &str,
        shards: &[u32],
        cacheable: bool,
    ) -> Result<DayTotals, StoreError> {
        let reads = shards.iter().map(|&shard| {
            let index = keys::day_index(tenant, date, shard);
            async move {
                let q = Query::index(GSI2, index).projection("kind, amount");
                let mut found = Vec::new();
                for item in self.table.query_all(q).await? {
                    let kind = EntryKind::parse(item.s("kind")?)
                        .ok_or_else(|| StoreError::Corrupt("entry kind".into()))?;
                    found.push((kind, item.n("amount")?));
                }
                Ok::<_, StoreError>(found)
            }
        });
        let mut totals = DayTotals {
            date: date.to_string(),
            ..Default::default()
        };
        for shard in futures::future::join_all(reads).await {
            for (kind, amount) in shard? {
                totals.add(kind, amount);
            }
        }
        if cacheable {
            self.table
                .put(item::item([
                    (PK, s(keys::points_pk(tenant))),
                    (SK, s(keys::day_sk(date))),
                    ("totals", item::json(&totals)),
                ]))
                .await?;
        }
        Ok(totals)
    }

    /// The number of customers' shard items.
    async fn customers_total_shards(&self, tenant: &TenantId) -> Result<i64, StoreError> {
        let keys = (0..STATS_SHARDS)
            .map(|shard| {
                crate::dynamo::key(
                    keys::customers_total_pk(tenant, shard),
                    keys::CUSTOMERS_TOTAL,
                )
            })
            .collect();
        let mut total = 0;
        for item in self.table.batch_get(keys, Some("customers")).await? {
            total += item.n_opt("customers")?.unwrap_or(0);
        }
        Ok(total)
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<AttrMap>, StoreError> {
        self.table.get_consistent(pk, sk).await
    }

    /// Every item of a partition (strongly consistent), optionally only sort keys starting
    /// with `prefix`.
    async fn query_all(
        &self,
        pk: String,
        prefix: Option<&str>,
    ) -> Result<Vec<AttrMap>, StoreError> {
        let mut q = Query::partition(pk).consistent();
        if let Some(p) = prefix {
            q = q.sk_begins_with(p);
        }
        self.table.query_all(q).await
    }
}

/// What each action of a transaction is, to read cancellation reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Idem,
    Account,
    Extra(usize),
}

fn lot_take_update(
    table: &Table,
    pk: &str,
    take: &LotTake,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, StoreError> {
    let mut u = Update::new();
    let after = take.before - take.taken;
    u.set("remaining", n(after));
    if after == 0 {
        u.remove(GSI1_PK).remove(GSI1_SK).set(
            TTL,
            n((now + chrono::Duration::days(DRAINED_LOT_DAYS)).timestamp()),
        );
    }
    let remaining = u.name("remaining");
    u.value(":before", n(take.before))
        .when(format!("{remaining} = :before"));
    table.tx_update(pk, keys::lot_sk(&take.expires_on), &u)
}

fn entry_item(account: &Account, e: &Entry) -> AttrMap {
    let pk = keys::account_pk(&account.tenant, &account.customer);
    let mut item = item::item([
        (PK, s(pk)),
        (SK, s(keys::tx_sk(e.seq))),
        ("customer", s(account.customer.as_str())),
        ("seq", n(e.seq)),
        ("kind", s(e.kind.as_str())),
        ("amount", n(e.amount)),
        ("balance_after", n(e.balance_after)),
        ("reason", s(&e.origin.reason)),
        ("source", s(&e.origin.source)),
        ("operator", s(&e.origin.operator)),
        ("idempotency_key", s(&e.idempotency_key)),
        ("created_at", s(e.created_at.to_rfc3339())),
        ("local_date", s(&e.local_date)),
        ("lots", item::json(&e.lots)),
        (
            GSI2_PK,
            s(keys::day_index(
                &account.tenant,
                &e.local_date,
                keys::shard(&account.customer),
            )),
        ),
        (GSI2_SK, s(format!("{}#{:010}", account.customer, e.seq))),
    ]);
    if !e.details.is_null() {
        item.insert("details".into(), item::json(&e.details));
    }
    item
}

fn entry_from_item(item: &AttrMap) -> Result<Entry, StoreError> {
    Ok(Entry {
        seq: item.n("seq")?,
        kind: EntryKind::parse(item.s("kind")?)
            .ok_or_else(|| StoreError::Corrupt("entry kind".into()))?,
        amount: item.n("amount")?,
        balance_after: item.n("balance_after")?,
        origin: scrm_core::points::model::Origin {
            reason: item.s("reason")?.to_string(),
            source: item.s("source")?.to_string(),
            operator: item.s("operator")?.to_string(),
        },
        idempotency_key: item.s("idempotency_key")?.to_string(),
        created_at: parse_time(item.s("created_at")?)?,
        local_date: item.s("local_date")?.to_string(),
        lots: item.json("lots")?,
        details: if item.s_opt("details").is_some() {
            item.json("details")?
        } else {
            serde_json::Value::Null
        },
    })
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("bad timestamp `{raw}`")))
}

fn balance_from_item(item: Option<&AttrMap>) -> Result<AccountState, StoreError> {
    Ok(match item {
        Some(i) => AccountState {
            exists: true,
            balance: i.n("balance")?,
            version: i.n("version")?,
            lot_debt: i.n_opt("lot_debt")?.unwrap_or(0),
            lots: Vec::new(),
        },
        None => AccountState::default(),
    })
}

fn lot_from_item(item: &AttrMap) -> Result<Lot, StoreError> {
    Ok(Lot {
        expires_on: item.s("expires_on")?.to_string(),
        remaining: item.n("remaining")?,
    })
}

fn check_in_from_item(item: &AttrMap) -> Result<CheckInState, StoreError> {
    let count = |name: &str| -> Result<u32, StoreError> {
        Ok(item.n_opt(name)?.unwrap_or(0).max(0) as u32)
    };
    Ok(CheckInState {
        last_date: item.s_opt("last_date").map(str::to_string),
        streak: count("streak")?,
        longest: count("longest")?,
        total: count("total")?,
        period: item.s_opt("period").map(str::to_string),
        period_count: count("period_count")?,
        result: if item.s_opt("result").is_some() {
            Some(item.json("result")?)
        } else {
            None
        },
    })
}

/// A balance item's lifetime `(earned, spent, expired)`, if counted from its first entry.
fn totals_of(item: &AttrMap) -> Result<Option<(i64, i64, i64)>, StoreError> {
    Ok(match item.n_opt("totals_from")? {
        Some(0) => Some((
            item.n_opt("earned")?.unwrap_or(0),
            item.n_opt("spent")?.unwrap_or(0),
            item.n_opt("expired")?.unwrap_or(0),
        )),
        // Entries before the totals were kept: unknown.
        _ => None,
    })
}

impl DynamoPoints {
    async fn lots(&self, pk: &str) -> Result<Vec<Lot>, StoreError> {
        let q = Query::partition(pk)
            .consistent()
            .sk_begins_with(keys::LOT)
            .filter("remaining > :z")
            .value(":z", n(0));
        let mut lots = self
            .table
            .query_all(q)
            .await?
            .iter()
            .map(lot_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        lots.sort_by(|a, b| a.expires_on.cmp(&b.expires_on));
        Ok(lots)
    }

    async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
        tags: &[Tag],
    ) -> Result<(), CommitError> {
        match self.table.transact(actions).await {
            Ok(()) => Ok(()),
            Err(StoreError::TransactionCanceled { reasons }) => {
                let failed = reasons
                    .iter()
                    .position(|r| r == "ConditionalCheckFailed")
                    .and_then(|i| tags.get(i).copied());
                match failed {
                    Some(Tag::Idem) => Err(CommitError::Replay),
                    Some(Tag::Extra(i)) => Err(CommitError::Extra(i)),
                    Some(Tag::Account) | None => Err(CommitError::Conflict),
                }
            }
            Err(other) => Err(CommitError::Store(other)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn balance_update(
        &self,
        account: &Account,
        before: &AccountState,
        balance: i64,
        version: i64,
        lot_debt: i64,
        entries: &[Entry],
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let pk = keys::account_pk(&account.tenant, &account.customer);
        let mut u = Update::new();
        u.set("balance", n(balance))
            .set("version", n(version))
            .set("lot_debt", n(lot_debt))
            .set("updated_at", s(now.to_rfc3339()));
        // The accounts list: by balance, from a sharded index.
        u.set(
            GSI1_PK,
            s(keys::balances_index(
                &account.tenant,
                keys::shard(&account.customer),
            )),
        )
        .set(GSI1_SK, s(balance_position(balance, &account.customer)));
        // Lifetime totals, counted from the entry `totals_from` on (0: the whole life).
        let (mut earned, mut spent, mut expired) = (0, 0, 0);
        for e in entries {
            match e.kind {
                EntryKind::Earn | EntryKind::Import => earned += e.amount.abs(),
                EntryKind::Spend => spent += e.amount.abs(),
                EntryKind::Expire => expired += e.amount.abs(),
                EntryKind::Deduct | EntryKind::Clear | EntryKind::ZeroOnLeave => {}
            }
        }
        u.add("earned", earned)
            .add("spent", spent)
            .add("expired", expired)
            .set_if_not_exists("totals_from", n(before.version));
        if before.exists {
            let v = u.name("version");
            let d = u.name("lot_debt");
            u.value(":v0", n(before.version))
                .value(":d0", n(before.lot_debt))
                .when(format!("{v} = :v0 AND {d} = :d0"));
        } else {
            u.when(item_absent());
        }
        self.table.tx_update(pk, keys::BAL, &u)
    }
}

impl LedgerStore for DynamoPoints {
    async fn load(
        &self,
        account: &Account,
        what: Load,
    ) -> Result<(AccountState, Option<CheckInState>), StoreError> {
        let pk = keys::account_pk(&account.tenant, &account.customer);
        let bal = self.get(pk.clone(), keys::BAL);
        let lots = async {
            if what.lots {
                self.lots(&pk).await
            } else {
                Ok(Vec::new())
            }
        };
        let check_in = async {
            if what.check_in {
                self.get(pk.clone(), keys::CHECKIN).await
            } else {
                Ok(None)
            }
        };
        let (bal, lots, check_in) = futures::join!(bal, lots, check_in);
        let mut state = balance_from_item(bal?.as_ref())?;
        state.lots = lots?;
        let check_in = check_in?.as_ref().map(check_in_from_item).transpose()?;
        Ok((state, check_in))
    }

    async fn commit(&self, c: &Commit) -> Result<(), CommitError> {
        let table = &self.table;
        let pk = keys::account_pk(&c.account.tenant, &c.account.customer);
        let mut actions = Vec::new();
        let mut tags = Vec::new();
        if c.key_record {
            let mut idem = item::item([
                (PK, s(&pk)),
                (SK, s(keys::idem_sk(c.key.as_str()))),
                ("fingerprint", s(&c.fingerprint)),
                ("result", item::json(&c.result)),
                ("created_at", s(c.now.to_rfc3339())),
            ]);
            if let Some(ttl) = c.key_expires_at {
                idem.insert(TTL.into(), n(ttl));
            }
            actions.push(table.tx_put(idem, &Cond::item_absent())?);
            tags.push(Tag::Idem);
        }
        if !c.entries.is_empty() {
            self.mark_entry_days(&c.account, &c.entries)
                .await
                .map_err(CommitError::Store)?;
            actions.push(self.balance_update(
                &c.account,
                &c.before,
                c.plan.balance_after,
                c.plan.version_after,
                c.plan.lot_debt_after,
                &c.entries,
                c.now,
            )?);
            tags.push(Tag::Account);
            for entry in &c.entries {
                actions.push(table.tx_put(entry_item(&c.account, entry), &Cond::item_absent())?);
                tags.push(Tag::Account);
            }
            if let Some((date, amount)) = &c.plan.credit {
                let mut u = Update::new();
                u.add("remaining", *amount)
                    .add("earned", *amount)
                    .set("expires_on", s(date))
                    .set("customer", s(c.account.customer.as_str()))
                    .remove(TTL);
                if date != NEVER {
                    u.set(
                        GSI1_PK,
                        s(keys::expiry_index(
                            &c.account.tenant,
                            date,
                            keys::shard(&c.account.customer),
                        )),
                    )
                    .set(GSI1_SK, s(c.account.customer.as_str()));
                }
                actions.push(table.tx_update(pk.clone(), keys::lot_sk(date), &u)?);
                tags.push(Tag::Account);
            }
            for take in &c.plan.takes {
                actions.push(lot_take_update(table, &pk, take, c.now)?);
                tags.push(Tag::Account);
            }
        }
        for (i, extra) in c.extras.iter().enumerate() {
            actions.push(self.extra_action(c, &pk, extra)?);
            tags.push(Tag::Extra(i));
        }
        self.transact(actions, &tags).await
    }

    async fn settle(
        &self,
        account: &Account,
        before: &AccountState,
        settle: &Settle,
        now: DateTime<Utc>,
    ) -> Result<(), CommitError> {
        let pk = keys::account_pk(&account.tenant, &account.customer);
        let mut actions = vec![self.balance_update(
            account,
            before,
            before.balance,
            before.version,
            settle.lot_debt_after,
            &[],
            now,
        )?];
        let mut tags = vec![Tag::Account];
        for take in &settle.takes {
            actions.push(lot_take_update(&self.table, &pk, take, now)?);
            tags.push(Tag::Account);
        }
        self.transact(actions, &tags).await
    }

    async fn idempotency(
        &self,
        account: &Account,
        key: &scrm_core::points::model::IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let pk = keys::account_pk(&account.tenant, &account.customer);
        let Some(item) = self.get(pk, &keys::idem_sk(key.as_str())).await? else {
            return Ok(None);
        };
        Ok(Some(IdempotencyRecord {
            fingerprint: item.s("fingerprint")?.to_string(),
            result: item.json("result")?,
        }))
    }
}

impl DynamoPoints {
    fn extra_action(
        &self,
        c: &Commit,
        pk: &str,
        extra: &Extra,
    ) -> Result<TransactWriteItem, StoreError> {
        match extra {
            Extra::CheckIn {
                expected_last,
                after,
            } => {
                let mut u = Update::new();
                // Names are placeholders: `total` (and others) are reserved words.
                u.set("last_date", s(after.last_date.clone().unwrap_or_default()))
                    .set("streak", n(i64::from(after.streak)))
                    .set("longest", n(i64::from(after.longest)))
                    .set("total", n(i64::from(after.total)))
                    .set("period", s(after.period.clone().unwrap_or_default()))
                    .set("period_count", n(i64::from(after.period_count)))
                    // The day's answer, for a same-day retry (no idempotency record).
                    .set("result", item::json(&c.result))
                    .set("updated_at", s(c.now.to_rfc3339()));
                // The accounts list: by last check-in, from a sharded index.
                if let Some(last) = &after.last_date {
                    u.set(
                        GSI1_PK,
                        s(keys::check_ins_index(
                            &c.account.tenant,
                            keys::shard(&c.account.customer),
                        )),
                    )
                    .set(GSI1_SK, s(check_in_position(last, &c.account.customer)));
                }
                match expected_last {
                    Some(prev) => {
                        let last = u.name("last_date");
                        u.value(":prev", s(prev)).when(format!("{last} = :prev"));
                    }
                    None => {
                        u.when(item_absent());
                    }
                }
                self.table.tx_update(pk, keys::CHECKIN, &u)
            }
            Extra::TakeStock { reward_id, cost } => {
                let mut u = Update::new();
                u.increment("stock", -1)
                    .increment_from("redeemed", 0, 1)
                    .set("updated_at", s(c.now.to_rfc3339()));
                let active = u.name("active");
                let stock = u.name("stock");
                let cost_name = u.name("cost");
                u.value(":t", AttributeValue::Bool(true))
                    .value(":one", n(1))
                    .value(":cost", n(*cost))
                    .when(format!(
                        "{} AND {active} = :t AND {stock} >= :one AND {cost_name} = :cost",
                        item_exists()
                    ));
                self.table.tx_update(
                    keys::rewards_pk(&c.account.tenant),
                    keys::reward_sk(reward_id),
                    &u,
                )
            }
            Extra::Redemption(r) => {
                let item = item::item([
                    (PK, s(keys::redemptions_pk(&c.account.tenant, &r.reward_id))),
                    (
                        SK,
                        s(format!(
                            "REDEEM#{}#{}#{:010}",
                            r.redeemed_at.to_rfc3339(),
                            r.external_userid,
                            r.seq
                        )),
                    ),
                    ("redemption", item::json(r)),
                ]);
                self.table.tx_put(item, &Cond::item_absent())
            }
        }
    }
}

impl HistoryRead for DynamoPoints {
    async fn summary(
        &self,
        account: &Account,
    ) -> Result<(BalanceRecord, Option<CheckInState>, Vec<Lot>), StoreError> {
        let (state, check_in) = self
            .load(
                account,
                Load {
                    lots: true,
                    check_in: true,
                },
            )
            .await?;
        Ok((
            BalanceRecord {
                balance: state.balance,
                entries: state.version,
                lot_debt: state.lot_debt,
            },
            check_in,
            state.lots,
        ))
    }

    async fn entries(
        &self,
        account: &Account,
        before_seq: Option<i64>,
        limit: i32,
    ) -> Result<Vec<Entry>, StoreError> {
        // Entries are numbered from 1: nothing comes before the first.
        if before_seq.is_some_and(|seq| seq <= 1) {
            return Ok(Vec::new());
        }
        let pk = keys::account_pk(&account.tenant, &account.customer);
        let upper = match before_seq {
            Some(seq) => keys::tx_sk(seq - 1),
            None => format!("{}~", keys::TX),
        };
        let q = Query::partition(pk)
            .sk_between(keys::tx_sk(1), upper)
            .descending()
            .page_size(usize::try_from(limit).unwrap_or(0));
        self.table
            .query_page(&q)
            .await?
            .items
            .iter()
            .map(entry_from_item)
            .collect()
    }

    async fn day_totals(
        &self,
        tenant: &TenantId,
        date: &str,
        cacheable: bool,
    ) -> Result<DayTotals, StoreError> {
        let pk = keys::points_pk(tenant);
        if cacheable {
            if let Some(item) = self.get(pk.clone(), &keys::day_sk(date)).await? {
                return item.json("totals");
            }
        }
        let all: Vec<u32> = (0..keys::SHARDS).collect();
        self.sum_day(tenant, date, &all, cacheable).await
    }

    async fn days_totals(
        &self,
        tenant: &TenantId,
        dates: &[String],
        closed_through: Option<&str>,
    ) -> Result<Vec<DayTotals>, StoreError> {
        let (Some(first), Some(last)) = (dates.first(), dates.last()) else {
            return Ok(Vec::new());
        };
        let range = |q: Query| q.sk_between(keys::day_sk(first), keys::day_sk(last));
        // The closed days cached already: one query.
        let cached = async {
            let mut cached: HashMap<String, DayTotals> = HashMap::new();
            let q = range(Query::partition(keys::points_pk(tenant)));
            for item in self.table.query_all(q).await? {
                let totals: DayTotals = item.json("totals")?;
                cached.insert(totals.date.clone(), totals);
            }
            Ok::<_, StoreError>(cached)
        };
        // The days that had entries, and on which day-index shards: one query per shard, at
        // once.
        let with_entries = async {
            let shards = (0..keys::SHARDS).map(|shard| async move {
                let q = range(Query::partition(keys::entry_days_pk(tenant, shard))).projection(SK);
                Ok::<_, StoreError>((shard, self.table.query_all(q).await?))
            });
            let mut days: HashMap<String, Vec<u32>> = HashMap::new();
            for (shard, items) in futures::future::try_join_all(shards).await? {
                for item in items {
                    if let Some(date) = item.s(SK)?.strip_prefix("DAY#") {
                        days.entry(date.to_string()).or_default().push(shard);
                    }
                }
            }
            Ok::<_, StoreError>(days)
        };
        let (mut cached, with_entries) = futures::try_join!(cached, with_entries)?;
        let closed = |d: &str| closed_through.is_some_and(|c| d <= c);
        // What is left to read from the day index: days with entries, not cached.
        // Owned items: the stream's futures borrow nothing of the iterator (the handler's
        // future must be `Send` for any lifetime).
        let missing: Vec<(String, Vec<u32>, bool)> = dates
            .iter()
            .filter(|d| !(closed(d) && cached.contains_key(d.as_str())))
            .filter_map(|d| Some((d.clone(), with_entries.get(d)?.clone(), closed(d))))
            .collect();
        let mut read: HashMap<String, DayTotals> = futures::stream::iter(missing)
            .map(|(d, shards, closed)| async move {
                let totals = self.sum_day(tenant, &d, &shards, closed).await?;
                Ok::<_, StoreError>((d, totals))
            })
            .buffer_unordered(8)
            .try_collect()
            .await?;
        Ok(dates
            .iter()
            .map(|d| {
                read.remove(d)
                    .or_else(|| closed(d).then(|| cached.remove(d)).flatten())
                    .unwrap_or_else(|| DayTotals {
                        date: d.clone(),
                        ..Default::default()
                    })
            })
            .collect())
    }
}

impl RulesStore for DynamoPoints {
    async fn rules(&self, tenant: &TenantId) -> Result<PointsRules, StoreError> {
        if let Some(rules) = self.cached_rules(tenant) {
            return Ok(rules);
        }
        let rules = match self.get(keys::points_pk(tenant), keys::RULES).await? {
            Some(item) => item.json("rules")?,
            None => PointsRules::default(),
        };
        self.cache_rules(tenant, &rules);
        Ok(rules)
    }

    async fn put_rules(
        &self,
        tenant: &TenantId,
        rules: &PointsRules,
        sweep_from: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let pk = keys::points_pk(tenant);
        if rules.validity_days.is_some() {
            let cursor = SweepCursor {
                done_through: sweep_from.format("%Y-%m-%d").to_string(),
                in_progress: None,
                shards_done: Vec::new(),
            };
            self.table
                .put_new(item::item([
                    (PK, s(&pk)),
                    (SK, s(keys::SWEEP)),
                    ("cursor", item::json(&cursor)),
                    ("done_through", s(&cursor.done_through)),
                ]))
                .await?;
        }
        self.table
            .put(item::item([
                (PK, s(pk)),
                (SK, s(keys::RULES)),
                ("rules", item::json(rules)),
                ("updated_at", s(now.to_rfc3339())),
            ]))
            .await?;
        self.cache_rules(tenant, rules);
        Ok(())
    }
}

impl SweepStore for DynamoPoints {
    async fn sweep_cursor(&self, tenant: &TenantId) -> Result<Option<SweepCursor>, StoreError> {
        self.get(keys::points_pk(tenant), keys::SWEEP)
            .await?
            .map(|i| i.json("cursor"))
            .transpose()
    }

    async fn save_sweep_cursor(
        &self,
        tenant: &TenantId,
        cursor: &SweepCursor,
    ) -> Result<(), StoreError> {
        // Never backwards: a sweep running alongside one that already finished the day
        // must not record the day as unfinished again. A refused save is such a sweep's,
        // and dropping it loses nothing (the day is done).
        let mut cond = Cond::new();
        let done = cond.name("done_through");
        cond.value(":done", s(&cursor.done_through))
            .when(format!("attribute_not_exists({done}) OR {done} <= :done"));
        self.table
            .put_if(
                item::item([
                    (PK, s(keys::points_pk(tenant))),
                    (SK, s(keys::SWEEP)),
                    ("cursor", item::json(cursor)),
                    ("done_through", s(&cursor.done_through)),
                ]),
                &cond,
            )
            .await?;
        Ok(())
    }

    async fn expiring_lots(
        &self,
        tenant: &TenantId,
        date: &str,
        shard: u32,
        page: Option<String>,
    ) -> Result<(Vec<ExpiringLot>, Option<String>), StoreError> {
        let start: Option<AttrMap> = match page {
            Some(p) => {
                let m: HashMap<String, String> = serde_json::from_str(&p)
                    .map_err(|_| StoreError::Corrupt("sweep page cursor".into()))?;
                Some(m.into_iter().map(|(k, v)| (k, s(v))).collect())
            }
            None => None,
        };
        let q = Query::index(GSI1, keys::expiry_index(tenant, date, shard))
            .start_after(start)
            .page_size(200);
        let out = self.table.query_page(&q).await?;
        let mut lots = Vec::new();
        for item in out.items {
            let customer = CustomerId::parse(item.s("customer")?)
                .map_err(|_| StoreError::Corrupt("lot customer".into()))?;
            lots.push(ExpiringLot {
                customer,
                expires_on: item.s("expires_on")?.to_string(),
            });
        }
        let next = out.last_key.map(|k| {
            let m: HashMap<String, String> = k
                .into_iter()
                .filter_map(|(k, v)| v.as_s().ok().map(|v| (k, v.clone())))
                .collect();
            serde_json::to_string(&m).unwrap_or_default()
        });
        Ok((lots, next))
    }
}

fn reward_from_item(item: &AttrMap) -> Result<Reward, StoreError> {
    Ok(Reward {
        reward_id: item.s("reward_id")?.to_string(),
        name: item.s("name")?.to_string(),
        description: item.s_opt("description").map(str::to_string),
        cost: item.n("cost")?,
        stock: item.n("stock")?,
        redeemed: item.n_opt("redeemed")?.unwrap_or(0),
        active: item.bool_opt("active").unwrap_or(false),
        created_at: parse_time(item.s("created_at")?)?,
        updated_at: parse_time(item.s("updated_at")?)?,
    })
}

impl DynamoPoints {
    fn reward_write_record(
        &self,
        tenant: &TenantId,
        key: &WriteKey,
        reward_id: &str,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        self.table.tx_put(
            item::item([
                (PK, s(keys::rewards_pk(tenant))),
                (SK, s(keys::reward_write_sk(key.key.as_str()))),
                ("fingerprint", s(&key.fingerprint)),
                ("reward_id", s(reward_id)),
                ("created_at", s(now.to_rfc3339())),
                (TTL, n(key.expires_at)),
            ]),
            &Cond::item_absent(),
        )
    }

    /// The earlier write under `key` (after its record's condition failed).
    async fn reward_write_before(
        &self,
        tenant: &TenantId,
        key: &WriteKey,
    ) -> Result<Keyed<Reward>, StoreError> {
        let item = self
            .get(
                keys::rewards_pk(tenant),
                &keys::reward_write_sk(key.key.as_str()),
            )
            .await?
            .ok_or(StoreError::ConditionFailed)?;
        Ok(Keyed::Before {
            fingerprint: item.s("fingerprint")?.to_string(),
            reward_id: item.s("reward_id")?.to_string(),
        })
    }

    /// Which action of a cancelled transaction failed its condition.
    fn failed_action(err: &StoreError) -> Option<usize> {
        match err {
            StoreError::TransactionCanceled { reasons } => {
                reasons.iter().position(|r| r == "ConditionalCheckFailed")
            }
            _ => None,
        }
    }
}

impl RewardStore for DynamoPoints {
    async fn create_reward(
        &self,
        tenant: &TenantId,
        reward: &NewReward,
        id: &str,
        key: &WriteKey,
        now: DateTime<Utc>,
    ) -> Result<Keyed<Reward>, StoreError> {
        let mut item = item::item([
            (PK, s(keys::rewards_pk(tenant))),
            (SK, s(keys::reward_sk(id))),
            ("reward_id", s(id)),
            ("name", s(reward.name.trim())),
            ("cost", n(reward.cost)),
            ("stock", n(reward.stock)),
            ("redeemed", n(0)),
            ("active", AttributeValue::Bool(reward.active)),
            ("created_at", s(now.to_rfc3339())),
            ("updated_at", s(now.to_rfc3339())),
        ]);
        if let Some(d) = &reward.description {
            item.insert("description".into(), s(d));
        }
        let created = reward_from_item(&item)?;
        let actions = vec![
            self.reward_write_record(tenant, key, id, now)?,
            self.table.tx_put(item, &Cond::item_absent())?,
        ];
        match self.table.transact(actions).await {
            Ok(()) => Ok(Keyed::Done(created)),
            Err(e) if Self::failed_action(&e) == Some(0) => {
                self.reward_write_before(tenant, key).await
            }
            Err(StoreError::TransactionCanceled { .. }) => Err(StoreError::ConditionFailed),
            Err(e) => Err(e),
        }
    }

    async fn update_reward(
        &self,
        tenant: &TenantId,
        id: &str,
        patch: &RewardPatch,
        key: Option<&WriteKey>,
        now: DateTime<Utc>,
    ) -> Result<Option<Keyed<Reward>>, StoreError> {
        let mut u = Update::new();
        u.set("updated_at", s(now.to_rfc3339()))
            .set_if_some("name", patch.name.as_ref().map(|name| s(name.trim())))
            .set_if_some("description", patch.description.as_deref().map(s))
            .set_if_some("cost", patch.cost.map(n))
            .set_if_some("active", patch.active.map(AttributeValue::Bool))
            .when(item_exists());
        if let Some(delta) = patch.add_stock {
            u.increment("stock", delta);
            if delta < 0 {
                let stock = u.name("stock");
                u.value(":neg", n(-delta)).when(format!("{stock} >= :neg"));
            }
        }
        let Some(key) = key else {
            return match self
                .table
                .update_returning(keys::rewards_pk(tenant), keys::reward_sk(id), &u)
                .await?
            {
                Some(item) => Ok(Some(Keyed::Done(reward_from_item(&item)?))),
                None => match self.reward(tenant, id).await? {
                    None => Ok(None),
                    Some(_) => Err(StoreError::ConditionFailed),
                },
            };
        };
        let actions = vec![
            self.reward_write_record(tenant, key, id, now)?,
            self.table
                .tx_update(keys::rewards_pk(tenant), keys::reward_sk(id), &u)?,
        ];
        match self.table.transact(actions).await {
            Ok(()) => Ok(self.reward(tenant, id).await?.map(Keyed::Done)),
            Err(e) if Self::failed_action(&e) == Some(0) => {
                self.reward_write_before(tenant, key).await.map(Some)
            }
            Err(StoreError::TransactionCanceled { .. }) => match self.reward(tenant, id).await? {
                None => Ok(None),
                Some(_) => Err(StoreError::ConditionFailed),
            },
            Err(e) => Err(e),
        }
    }

    async fn reward(&self, tenant: &TenantId, id: &str) -> Result<Option<Reward>, StoreError> {
        self.get(keys::rewards_pk(tenant), &keys::reward_sk(id))
            .await?
            .as_ref()
            .map(reward_from_item)
            .transpose()
    }

    async fn rewards(&self, tenant: &TenantId) -> Result<Vec<Reward>, StoreError> {
        self.query_all(keys::rewards_pk(tenant), Some("REWARD#"))
            .await?
            .iter()
            .map(reward_from_item)
            .collect()
    }

    async fn redemptions(
        &self,
        tenant: &TenantId,
        id: &str,
        limit: i32,
    ) -> Result<Vec<Redemption>, StoreError> {
        let q = Query::partition(keys::redemptions_pk(tenant, id))
            .sk_begins_with("REDEEM#")
            .descending()
            .page_size(usize::try_from(limit).unwrap_or(0));
        self.table
            .query_page(&q)
            .await?
            .items
            .iter()
            .map(|i| i.json("redemption"))
            .collect()
    }

    async fn grant_reward(
        &self,
        tenant: &TenantId,
        key: &str,
        r: &Redemption,
    ) -> Result<GrantWrite, StoreError> {
        let grant_pk = format!("{tenant}#RGRANT#{key}");
        let record = item::item([
            (PK, s(&grant_pk)),
            (SK, s("GRANT")),
            ("redemption", item::json(r)),
        ]);
        let mut u = Update::new();
        u.increment("stock", -1)
            .increment_from("redeemed", 0, 1)
            .set("updated_at", s(r.redeemed_at.to_rfc3339()));
        let stock = u.name("stock");
        u.value(":one", n(1))
            .when(format!("{} AND {stock} >= :one", item_exists()));
        let redemption = item::item([
            (PK, s(keys::redemptions_pk(tenant, &r.reward_id))),
            (
                SK,
                s(format!(
                    "REDEEM#{}#{}#G{key}",
                    r.redeemed_at.to_rfc3339(),
                    r.external_userid
                )),
            ),
            ("redemption", item::json(r)),
        ]);
        let actions = vec![
            self.table.tx_put(record, &Cond::item_absent())?,
            self.table
                .tx_update(keys::rewards_pk(tenant), keys::reward_sk(&r.reward_id), &u)?,
            self.table.tx_put(redemption, &Cond::item_absent())?,
        ];
        match self.table.transact(actions).await {
            Ok(()) => Ok(GrantWrite::Granted(r.clone())),
            Err(e) if Self::failed_action(&e) == Some(0) => {
                match self.table.get_consistent(grant_pk, "GRANT").await? {
                    Some(item) => Ok(GrantWrite::Already(item.json("redemption")?)),
                    None => Err(StoreError::Retryable("grant record vanished".into())),
                }
            }
            Err(e) if Self::failed_action(&e) == Some(1) => {
                match self.reward(tenant, &r.reward_id).await? {
                    None => Ok(GrantWrite::NoSuchReward),
                    Some(_) => Ok(GrantWrite::OutOfStock),
                }
            }
            Err(e) => Err(e),
        }
    }
}

impl ProfileStore for DynamoPoints {
    async fn profile(&self, account: &Account) -> Result<CustomerProfile, StoreError> {
        let pk = keys::account_pk(&account.tenant, &account.customer);
        match self.get(pk, keys::PROFILE).await? {
            Some(item) => item.json("profile"),
            None => Ok(CustomerProfile::default()),
        }
    }

    async fn put_profile(
        &self,
        account: &Account,
        profile: &CustomerProfile,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let pk = keys::account_pk(&account.tenant, &account.customer);
        self.table
            .put(item::item([
                (PK, s(pk)),
                (SK, s(keys::PROFILE)),
                ("profile", item::json(profile)),
                ("updated_at", s(now.to_rfc3339())),
            ]))
            .await?;
        Ok(())
    }
}

/// Whether a transaction was cancelled because another one held one of its items.
fn conflicted(e: &StoreError) -> bool {
    matches!(e, StoreError::TransactionCanceled { reasons } if reasons.iter().any(|r| r == "TransactionConflict"))
}

/// How long a counted change's record is kept: longer than any redelivery (EventBridge
/// retries for a day; a replay from the dead-letter queue comes within days).
const COUNTED_DAYS: i64 = 30;

impl ActivityStore for DynamoPoints {
    async fn count_once(
        &self,
        tenant: &TenantId,
        date: &str,
        figure: Figure,
        once_key: &str,
    ) -> Result<(), StoreError> {
        self.count_with(tenant, date, figure, once_key, None).await
    }

    async fn count_customer_once(
        &self,
        tenant: &TenantId,
        date: &str,
        figure: Figure,
        once_key: &str,
        delta: i64,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.add("customers", delta);
        // Another shard than the day's counter may take it: the key decides both.
        let shard = shard_of(&format!("total:{once_key}"));
        let total = self.table.tx_update(
            keys::customers_total_pk(tenant, shard),
            keys::CUSTOMERS_TOTAL,
            &u,
        )?;
        self.count_with(tenant, date, figure, once_key, Some(total))
            .await
    }

    async fn customers_total(&self, tenant: &TenantId) -> Result<i64, StoreError> {
        self.customers_total_shards(tenant).await
    }

    async fn correct_customers_total(
        &self,
        tenant: &TenantId,
        count: i64,
    ) -> Result<i64, StoreError> {
        let delta = count - self.customers_total_shards(tenant).await?;
        if delta != 0 {
            let mut u = Update::new();
            u.add("customers", delta);
            self.table
                .update(
                    keys::customers_total_pk(tenant, 0),
                    keys::CUSTOMERS_TOTAL,
                    &u,
                )
                .await?;
        }
        Ok(delta)
    }

    async fn day_figures(
        &self,
        tenant: &TenantId,
        dates: &[String],
    ) -> Result<Vec<DayFigures>, StoreError> {
        let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) else {
            return Ok(Vec::new());
        };
        // One query per shard over the window's days, at once.
        let shards = (0..STATS_SHARDS).map(|shard| {
            self.table.query_all(
                Query::partition(keys::stats_pk(tenant, shard))
                    .sk_between(keys::day_sk(first), keys::day_sk(last)),
            )
        });
        let items: Vec<AttrMap> = futures::future::try_join_all(shards)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let mut by_date: HashMap<String, DayFigures> = HashMap::new();
        for item in items {
            let date = item.s("date")?.to_string();
            let day = by_date.entry(date.clone()).or_insert_with(|| DayFigures {
                date,
                ..Default::default()
            });
            for figure in Figure::ALL {
                day.add(figure, item.n_opt(figure.attr())?.unwrap_or(0));
            }
        }
        Ok(dates
            .iter()
            .map(|d| {
                by_date.remove(d).unwrap_or_else(|| DayFigures {
                    date: d.clone(),
                    ..Default::default()
                })
            })
            .collect())
    }

    async fn record_check_in(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        chat_ids: &[String],
        date: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let items = chat_ids
            .iter()
            .map(|chat| {
                item::item([
                    (PK, s(keys::group_day_pk(tenant, chat, date))),
                    (SK, s(format!("CHECKIN#{customer}"))),
                    ("member", s(customer.as_str())),
                    ("at", s(at.to_rfc3339())),
                ])
            })
            .collect();
        self.table.batch_put(items).await
    }

    async fn record_membership(
        &self,
        tenant: &TenantId,
        c: &MembershipChange,
    ) -> Result<(), StoreError> {
        let what = if c.joined { "JOIN" } else { "LEAVE" };
        self.table
            .put(item::item([
                (PK, s(keys::group_day_pk(tenant, &c.chat_id, &c.date))),
                (SK, s(format!("{what}#{}#{}", c.member_id, c.event_id))),
                ("member", s(&c.member_id)),
                ("at", s(c.at.to_rfc3339())),
            ]))
            .await?;
        Ok(())
    }

    async fn group_day(
        &self,
        tenant: &TenantId,
        chat_id: &str,
        date: &str,
    ) -> Result<GroupDay, StoreError> {
        let items = self
            .query_all(keys::group_day_pk(tenant, chat_id, date), None)
            .await?;
        let mut day = GroupDay {
            chat_id: chat_id.to_string(),
            date: date.to_string(),
            ..Default::default()
        };
        for item in &items {
            let member = item.s("member")?.to_string();
            match item.s(SK)?.split('#').next() {
                Some("CHECKIN") => day.checked_in.push(member),
                Some("JOIN") => day.joined.push(member),
                Some("LEAVE") => day.left.push(member),
                _ => {}
            }
        }
        Ok(day)
    }
}

fn job_from_item(item: &AttrMap) -> Result<Job, StoreError> {
    let mut job: Job = item.json("job")?;
    job.next_chunk = item.n("next_chunk")?.max(0) as usize;
    job.published = item.bool_opt("published").unwrap_or(false);
    job.fingerprint = item.s_opt("fingerprint").unwrap_or_default().to_string();
    job.chunk_set = item.s_opt("chunk_set").map(str::to_string);
    // Jobs of the first layout had no `ready`: they were written complete.
    job.ready = item.bool_opt("ready").unwrap_or(true);
    Ok(job)
}

fn job_item(job: &Job) -> AttrMap {
    let mut item = item::item([
        (PK, s(keys::job_pk(&job.tenant, &job.job_id))),
        (SK, s(keys::JOB)),
        ("job", item::json(job)),
        ("next_chunk", n(job.next_chunk as i64)),
        ("published", AttributeValue::Bool(job.published)),
        (GSI1_PK, s(keys::jobs_index(&job.tenant))),
        (
            GSI1_SK,
            s(format!("{}#{}", job.created_at.to_rfc3339(), job.job_id)),
        ),
        ("fingerprint", s(&job.fingerprint)),
        ("ready", AttributeValue::Bool(job.ready)),
    ]);
    if let Some(set) = &job.chunk_set {
        item.insert("chunk_set".into(), s(set));
    }
    item
}

impl JobStore for DynamoPoints {
    async fn request(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        self.get(keys::request_pk(tenant, key), keys::REQUEST)
            .await?
            .map(|i| i.json("record"))
            .transpose()
    }

    async fn create_request(
        &self,
        tenant: &TenantId,
        key: &str,
        record: &RequestRecord,
    ) -> Result<bool, StoreError> {
        self.table
            .put_new(item::item([
                (PK, s(keys::request_pk(tenant, key))),
                (SK, s(keys::REQUEST)),
                ("record", item::json(record)),
                (
                    TTL,
                    n((record.created_at
                        + chrono::Duration::days(scrm_core::points::ledger::KEY_RETENTION_DAYS))
                    .timestamp()),
                ),
            ]))
            .await
    }

    async fn save_request(
        &self,
        tenant: &TenantId,
        key: &str,
        record: &RequestRecord,
    ) -> Result<(), StoreError> {
        self.table
            .put(item::item([
                (PK, s(keys::request_pk(tenant, key))),
                (SK, s(keys::REQUEST)),
                ("record", item::json(record)),
                (
                    TTL,
                    n((record.created_at
                        + chrono::Duration::days(scrm_core::points::ledger::KEY_RETENTION_DAYS))
                    .timestamp()),
                ),
            ]))
            .await?;
        Ok(())
    }

    async fn create_job(&self, job: &Job, chunks: &[Vec<JobItem>]) -> Result<bool, StoreError> {
        let pk = keys::job_pk(&job.tenant, &job.job_id);
        let mut pending = job.clone();
        pending.ready = false;
        // The job item first, only if absent: it holds the request's fingerprint, so a
        // different request under the same key never writes chunks for it.
        let created = self.table.put_new(job_item(&pending)).await?;
        if !created {
            let Some(item) = self.get(pk.clone(), keys::JOB).await? else {
                return Ok(false);
            };
            let stored = job_from_item(&item)?;
            if stored.ready || stored.fingerprint != job.fingerprint {
                return Ok(false);
            }
            // The same request, whose first attempt stopped before the job was ready:
            // this attempt writes its own set of chunks below.
        }
        let set = job.chunk_set.as_deref();
        let items = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                item::item([
                    (PK, s(&pk)),
                    (SK, s(keys::chunk_sk(set, i))),
                    ("items", item::json(c)),
                ])
            })
            .collect();
        self.table.batch_put(items).await?;
        // Ready, naming this set, unless another attempt made it ready first (then its
        // set is the job's and this one is never read).
        let mut ready = job.clone();
        ready.ready = true;
        let mut u = Update::new();
        u.set("job", item::json(&ready))
            .set("ready", AttributeValue::Bool(true))
            .set_if_some("chunk_set", set.map(s));
        let (ready_name, fp_name) = (u.name("ready"), u.name("fingerprint"));
        u.value(":not_ready", AttributeValue::Bool(false))
            .value(":fp", s(&job.fingerprint))
            .when(format!("{ready_name} = :not_ready AND {fp_name} = :fp"));
        self.table.update(pk, keys::JOB, &u).await?;
        Ok(created)
    }

    async fn job(&self, tenant: &TenantId, job_id: &str) -> Result<Option<Job>, StoreError> {
        self.get(keys::job_pk(tenant, job_id), keys::JOB)
            .await?
            .as_ref()
            .map(job_from_item)
            .transpose()
    }

    async fn chunk(
        &self,
        job: &Job,
        n: usize,
    ) -> Result<(Vec<JobItem>, Option<Vec<ItemResult>>), StoreError> {
        let item = self
            .get(
                keys::job_pk(&job.tenant, &job.job_id),
                &keys::chunk_sk(job.chunk_set.as_deref(), n),
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("job {} chunk {n} missing", job.job_id)))?;
        let items = item.json("items")?;
        let results = if item.s_opt("results").is_some() {
            Some(item.json("results")?)
        } else {
            None
        };
        Ok((items, results))
    }

    async fn complete_chunk(
        &self,
        job: &Job,
        chunk: usize,
        results: &[ItemResult],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let pk = keys::job_pk(&job.tenant, &job.job_id);
        let mut chunk_u = Update::new();
        chunk_u.set("results", item::json(&results));
        let mut job_u = Update::new();
        job_u
            .set("job", item::json(job))
            .set("next_chunk", n(job.next_chunk as i64))
            .set("updated_at", s(now.to_rfc3339()));
        let next_chunk = job_u.name("next_chunk");
        job_u
            .value(":n", n(chunk as i64))
            .when(format!("{next_chunk} = :n"));
        let actions = vec![
            self.table.tx_update(
                pk.clone(),
                keys::chunk_sk(job.chunk_set.as_deref(), chunk),
                &chunk_u,
            )?,
            self.table.tx_update(pk, keys::JOB, &job_u)?,
        ];
        match self.transact(actions, &[Tag::Extra(0), Tag::Account]).await {
            Ok(()) => Ok(true),
            Err(CommitError::Conflict) => Ok(false),
            Err(CommitError::Store(e)) => Err(e),
            Err(_) => Ok(false),
        }
    }

    async fn mark_published(&self, tenant: &TenantId, job_id: &str) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("published", AttributeValue::Bool(true))
            .when(item_exists());
        ensure_applied(
            self.table
                .update(keys::job_pk(tenant, job_id), keys::JOB, &u)
                .await?,
        )?;
        Ok(())
    }

    async fn jobs(
        &self,
        tenant: &TenantId,
        op: Option<JobOp>,
        limit: i32,
    ) -> Result<Vec<Job>, StoreError> {
        let q = Query::index(GSI1, keys::jobs_index(tenant)).descending();
        let mut stream = self.table.items(q);
        let mut jobs = Vec::new();
        while let Some(item) = stream.next().await {
            let job = job_from_item(&item?)?;
            if op.map(|o| o == job.op).unwrap_or(true) {
                jobs.push(job);
            }
            if jobs.len() >= limit as usize {
                break;
            }
        }
        Ok(jobs)
    }
}

impl AccountIndex for DynamoPoints {
    async fn index_page(
        &self,
        tenant: &TenantId,
        sort: AccountSort,
        order: SortOrder,
        shard: u32,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<IndexedAccount>, StoreError> {
        let index = match sort {
            AccountSort::Balance => keys::balances_index(tenant, shard),
            AccountSort::LastCheckIn => keys::check_ins_index(tenant, shard),
        };
        let mut q = Query::index(GSI1, index).page_size(limit);
        q = match (order, after) {
            (SortOrder::Asc, Some(c)) => q.sk_after(c),
            (SortOrder::Desc, Some(c)) => q.sk_before(c).descending(),
            (SortOrder::Desc, None) => q.descending(),
            (SortOrder::Asc, None) => q,
        };
        let q = q.projection(format!("{GSI1_SK}, {PK}"));
        self.table
            .query_up_to(q, limit)
            .await?
            .iter()
            .map(|item| {
                let position = item.s(GSI1_SK)?.to_string();
                let customer = position
                    .split_once('#')
                    .and_then(|(_, c)| CustomerId::parse(c).ok())
                    .ok_or_else(|| StoreError::Corrupt("account index position".into()))?;
                Ok(IndexedAccount { position, customer })
            })
            .collect()
    }

    async fn account_rows(
        &self,
        tenant: &TenantId,
        customers: &[CustomerId],
    ) -> Result<Vec<AccountFacts>, StoreError> {
        let by_pk: HashMap<String, &CustomerId> = customers
            .iter()
            .map(|c| (keys::account_pk(tenant, c), c))
            .collect();
        let keys: Vec<AttrMap> = by_pk
            .keys()
            .flat_map(|pk| {
                [
                    crate::dynamo::key(pk.as_str(), keys::BAL),
                    crate::dynamo::key(pk.as_str(), keys::CHECKIN),
                ]
            })
            .collect();
        let mut facts: HashMap<&CustomerId, AccountFacts> = HashMap::new();
        for item in self.table.batch_get(keys, None).await? {
            let Some(c) = by_pk.get(item.s(PK)?) else {
                continue;
            };
            let f = facts.entry(*c).or_insert_with(|| AccountFacts {
                customer: (*c).clone(),
                balance: 0,
                totals: Some((0, 0, 0)),
                check_in: None,
            });
            match item.s(SK)? {
                keys::BAL => {
                    f.balance = item.n("balance")?;
                    f.totals = totals_of(&item)?;
                }
                _ => f.check_in = Some(check_in_from_item(&item)?),
            }
        }
        Ok(facts.into_values().collect())
    }
}
