//! The ledger table adapter (key layout in [`super::keys`]). Every ledger change is one
//! `TransactWriteItems`: the idempotency record (`attribute_not_exists`), the entry
//! (`attribute_not_exists`), the balance (its version and lot debt as read), each lot
//! taken (its remaining points as read) and the extras (check-in state, reward stock). A
//! failed condition says which: the key was applied already, the account moved (re-plan),
//! or an extra (sold out).
use scrm_core::points::jobs::{ItemResult, Job, JobItem, JobOp, RequestRecord};
pub mod directory;
pub mod keys;

use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::{Db, StoreError};
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, PutRequest, ReturnValue, TransactWriteItem, Update, WriteRequest,
};
use chrono::{DateTime, NaiveDate, Utc};
use scrm_core::points::model::{CustomerId, Entry, EntryKind, Lot, LotTake, NEVER};
use scrm_core::points::plan::{AccountState, Settle};
use scrm_core::points::ports::*;
use scrm_core::points::rewards::{NewReward, Redemption, Reward, RewardPatch};
use scrm_core::points::rules::{CheckInState, CustomerProfile, PointsRules};
use scrm_core::points::views::{DayTotals, GroupDay};
use scrm_core::tenants::TenantId;
use std::collections::HashMap;
use std::time::Duration;

/// How long a drained lot is kept before TTL removes it.
const DRAINED_LOT_DAYS: i64 = 7;

/// The DynamoDB adapter of the points domain (ledger table).
#[derive(Debug, Clone)]
pub struct DynamoPoints {
    db: Db,
}

impl DynamoPoints {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    fn table(&self) -> &str {
        &self.db.tables.ledger
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<AttrMap>, StoreError> {
        self.db.get_consistent(self.table(), pk, sk).await
    }

    async fn put_item(&self, item: AttrMap, condition: Option<&str>) -> Result<bool, StoreError> {
        self.db.put_if(self.table(), item, condition).await
    }

    async fn query_all(
        &self,
        pk: String,
        prefix: Option<&str>,
    ) -> Result<Vec<AttrMap>, StoreError> {
        let mut q = self
            .db
            .client
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .expression_attribute_values(":pk", s(pk));
        q = match prefix {
            Some(p) => q
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":p", s(p)),
            None => q.key_condition_expression("pk = :pk"),
        };
        let mut stream = q.into_paginator().items().send();
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            items.push(item.map_err(crate::dynamo::from_sdk)?);
        }
        Ok(items)
    }

    /// Writes items with `BatchWriteItem` (25 per call), resending what DynamoDB leaves
    /// unprocessed. Only for idempotent puts of deterministic keys.
    async fn batch_put(&self, items: Vec<AttrMap>) -> Result<(), StoreError> {
        for chunk in items.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(|e| StoreError::Backend(Box::new(e)))
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0..10u32 {
                if pending.is_empty() {
                    break;
                }
                let out = self
                    .db
                    .client
                    .batch_write_item()
                    .request_items(self.table(), pending.clone())
                    .send()
                    .await
                    .map_err(crate::dynamo::from_sdk)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(self.table()))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20 << attempt.min(5))).await;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Retryable("unprocessed batch items".into()));
            }
        }
        Ok(())
    }
}

fn tx_put(
    table: &str,
    item: AttrMap,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_string))
        .build()
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

struct Upd {
    set: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Upd {
    fn new() -> Self {
        Self {
            set: Vec::new(),
            add: Vec::new(),
            remove: Vec::new(),
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }

    fn expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.set.is_empty() {
            parts.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.add.is_empty() {
            parts.push(format!("ADD {}", self.add.join(", ")));
        }
        if !self.remove.is_empty() {
            parts.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        parts.join(" ")
    }

    fn val(&mut self, name: &str, v: AttributeValue) -> &mut Self {
        self.values.insert(name.to_string(), v);
        self
    }

    fn into_tx(
        self,
        table: &str,
        pk: String,
        sk: String,
        condition: Option<String>,
    ) -> Result<TransactWriteItem, StoreError> {
        let expr = self.expression();
        let update = Update::builder()
            .table_name(table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(expr)
            .set_condition_expression(condition)
            .set_expression_attribute_names((!self.names.is_empty()).then_some(self.names))
            .set_expression_attribute_values((!self.values.is_empty()).then_some(self.values))
            .build()
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(TransactWriteItem::builder().update(update).build())
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
    table: &str,
    pk: &str,
    take: &LotTake,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, StoreError> {
    let mut u = Upd::new();
    let after = take.before - take.taken;
    u.set.push("remaining = :after".into());
    u.val(":after", n(after)).val(":before", n(take.before));
    if after == 0 {
        u.remove.push("gsi1pk".into());
        u.remove.push("gsi1sk".into());
        u.set.push("#ttl = :ttl".into());
        u.names.insert("#ttl".into(), "ttl".into());
        u.val(
            ":ttl",
            n((now + chrono::Duration::days(DRAINED_LOT_DAYS)).timestamp()),
        );
    }
    u.into_tx(
        table,
        pk.to_string(),
        keys::lot_sk(&take.expires_on),
        Some("remaining = :before".into()),
    )
}

fn entry_item(account: &Account, e: &Entry) -> AttrMap {
    let pk = keys::account_pk(&account.tenant, &account.customer);
    let mut item = item::item([
        ("pk", s(pk)),
        ("sk", s(keys::tx_sk(e.seq))),
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
            "gsi2pk",
            s(keys::day_index(
                &account.tenant,
                &e.local_date,
                keys::shard(&account.customer),
            )),
        ),
        ("gsi2sk", s(format!("{}#{:010}", account.customer, e.seq))),
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
    })
}

impl DynamoPoints {
    async fn lots(&self, pk: &str) -> Result<Vec<Lot>, StoreError> {
        let mut stream = self
            .db
            .client
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .filter_expression("remaining > :z")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":p", s(keys::LOT))
            .expression_attribute_values(":z", n(0))
            .into_paginator()
            .items()
            .send();
        let mut lots = Vec::new();
        while let Some(item) = stream.next().await {
            lots.push(lot_from_item(&item.map_err(crate::dynamo::from_sdk)?)?);
        }
        lots.sort_by(|a, b| a.expires_on.cmp(&b.expires_on));
        Ok(lots)
    }

    async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
        tags: &[Tag],
    ) -> Result<(), CommitError> {
        let result = self
            .db
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match crate::dynamo::from_transact(e) {
                StoreError::TransactionCanceled { reasons } => {
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
                other => Err(CommitError::Store(other)),
            },
        }
    }

    fn balance_update(
        &self,
        pk: &str,
        before: &AccountState,
        balance: i64,
        version: i64,
        lot_debt: i64,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut u = Upd::new();
        u.set.push("balance = :b".into());
        u.set.push("version = :v1".into());
        u.set.push("lot_debt = :d1".into());
        u.set.push("updated_at = :now".into());
        u.val(":b", n(balance))
            .val(":v1", n(version))
            .val(":d1", n(lot_debt))
            .val(":now", s(now.to_rfc3339()));
        let condition = if before.exists {
            u.val(":v0", n(before.version))
                .val(":d0", n(before.lot_debt));
            "version = :v0 AND lot_debt = :d0"
        } else {
            "attribute_not_exists(pk)"
        };
        u.into_tx(
            self.table(),
            pk.to_string(),
            keys::BAL.to_string(),
            Some(condition.to_string()),
        )
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
        let table = self.table();
        let pk = keys::account_pk(&c.account.tenant, &c.account.customer);
        let mut actions = Vec::new();
        let mut tags = Vec::new();
        let mut idem = item::item([
            ("pk", s(&pk)),
            ("sk", s(keys::idem_sk(c.key.as_str()))),
            ("fingerprint", s(&c.fingerprint)),
            ("result", item::json(&c.result)),
            ("created_at", s(c.now.to_rfc3339())),
        ]);
        if let Some(ttl) = c.key_expires_at {
            idem.insert("ttl".into(), n(ttl));
        }
        actions.push(tx_put(table, idem, Some("attribute_not_exists(pk)"))?);
        tags.push(Tag::Idem);
        if let Some(entry) = &c.entry {
            actions.push(self.balance_update(
                &pk,
                &c.before,
                c.plan.balance_after,
                c.plan.version_after,
                c.plan.lot_debt_after,
                c.now,
            )?);
            tags.push(Tag::Account);
            actions.push(tx_put(
                table,
                entry_item(&c.account, entry),
                Some("attribute_not_exists(pk)"),
            )?);
            tags.push(Tag::Account);
            if let Some((date, amount)) = &c.plan.credit {
                let mut u = Upd::new();
                u.add.push("remaining :a".into());
                u.add.push("earned :a".into());
                u.set.push("expires_on = :e".into());
                u.set.push("customer = :c".into());
                u.remove.push("#ttl".into());
                u.names.insert("#ttl".into(), "ttl".into());
                u.val(":a", n(*amount))
                    .val(":e", s(date))
                    .val(":c", s(c.account.customer.as_str()));
                if date != NEVER {
                    u.set.push("gsi1pk = :g".into());
                    u.set.push("gsi1sk = :gs".into());
                    u.val(
                        ":g",
                        s(keys::expiry_index(
                            &c.account.tenant,
                            date,
                            keys::shard(&c.account.customer),
                        )),
                    )
                    .val(":gs", s(c.account.customer.as_str()));
                }
                actions.push(u.into_tx(table, pk.clone(), keys::lot_sk(date), None)?);
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
            &pk,
            before,
            before.balance,
            before.version,
            settle.lot_debt_after,
            now,
        )?];
        let mut tags = vec![Tag::Account];
        for take in &settle.takes {
            actions.push(lot_take_update(self.table(), &pk, take, now)?);
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
        let table = self.table();
        match extra {
            Extra::CheckIn {
                expected_last,
                after,
            } => {
                let mut u = Upd::new();
                for (attr, v) in [
                    ("last_date", s(after.last_date.clone().unwrap_or_default())),
                    ("streak", n(i64::from(after.streak))),
                    ("longest", n(i64::from(after.longest))),
                    ("total", n(i64::from(after.total))),
                    ("period", s(after.period.clone().unwrap_or_default())),
                    ("period_count", n(i64::from(after.period_count))),
                    ("updated_at", s(c.now.to_rfc3339())),
                ] {
                    // Names are placeholders: `total` (and others) are reserved words.
                    u.set.push(format!("#{attr} = :{attr}"));
                    u.names.insert(format!("#{attr}"), attr.to_string());
                    u.val(&format!(":{attr}"), v);
                }
                let condition = match expected_last {
                    Some(prev) => {
                        u.val(":prev", s(prev));
                        "#last_date = :prev"
                    }
                    None => "attribute_not_exists(pk)",
                };
                u.into_tx(
                    table,
                    pk.to_string(),
                    keys::CHECKIN.to_string(),
                    Some(condition.to_string()),
                )
            }
            Extra::TakeStock { reward_id, cost } => {
                let mut u = Upd::new();
                u.set.push("stock = stock - :one".into());
                u.set
                    .push("redeemed = if_not_exists(redeemed, :zero) + :one".into());
                u.set.push("updated_at = :now".into());
                u.val(":one", n(1))
                    .val(":zero", n(0))
                    .val(":now", s(c.now.to_rfc3339()))
                    .val(":t", AttributeValue::Bool(true))
                    .val(":cost", n(*cost));
                u.into_tx(
                    table,
                    keys::rewards_pk(&c.account.tenant),
                    keys::reward_sk(reward_id),
                    Some(
                        "attribute_exists(pk) AND active = :t AND stock >= :one AND cost = :cost"
                            .into(),
                    ),
                )
            }
            Extra::Redemption(r) => {
                let item = item::item([
                    (
                        "pk",
                        s(keys::redemptions_pk(&c.account.tenant, &r.reward_id)),
                    ),
                    (
                        "sk",
                        s(format!(
                            "REDEEM#{}#{}#{:010}",
                            r.redeemed_at.to_rfc3339(),
                            r.external_userid,
                            r.seq
                        )),
                    ),
                    ("redemption", item::json(r)),
                ]);
                tx_put(table, item, Some("attribute_not_exists(pk)"))
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
        let pk = keys::account_pk(&account.tenant, &account.customer);
        let upper = match before_seq {
            Some(seq) => keys::tx_sk(seq - 1),
            None => format!("{}~", keys::TX),
        };
        let out = self
            .db
            .client
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":lo", s(keys::tx_sk(1)))
            .expression_attribute_values(":hi", s(upper))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
        out.items
            .unwrap_or_default()
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
        let shards = (0..keys::SHARDS).map(|shard| {
            let index = keys::day_index(tenant, date, shard);
            async move {
                let mut stream = self
                    .db
                    .client
                    .query()
                    .table_name(self.table())
                    .index_name("gsi2")
                    .key_condition_expression("gsi2pk = :pk")
                    .expression_attribute_values(":pk", s(index))
                    .projection_expression("kind, amount")
                    .into_paginator()
                    .items()
                    .send();
                let mut found = Vec::new();
                while let Some(item) = stream.next().await {
                    let item = item.map_err(crate::dynamo::from_sdk)?;
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
        for shard in futures::future::join_all(shards).await {
            for (kind, amount) in shard? {
                totals.add(kind, amount);
            }
        }
        if cacheable {
            self.put_item(
                item::item([
                    ("pk", s(pk)),
                    ("sk", s(keys::day_sk(date))),
                    ("totals", item::json(&totals)),
                ]),
                None,
            )
            .await?;
        }
        Ok(totals)
    }
}

impl RulesStore for DynamoPoints {
    async fn rules(&self, tenant: &TenantId) -> Result<PointsRules, StoreError> {
        match self.get(keys::points_pk(tenant), keys::RULES).await? {
            Some(item) => item.json("rules"),
            None => Ok(PointsRules::default()),
        }
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
            self.put_item(
                item::item([
                    ("pk", s(&pk)),
                    ("sk", s(keys::SWEEP)),
                    ("cursor", item::json(&cursor)),
                ]),
                Some("attribute_not_exists(pk)"),
            )
            .await?;
        }
        self.put_item(
            item::item([
                ("pk", s(pk)),
                ("sk", s(keys::RULES)),
                ("rules", item::json(rules)),
                ("updated_at", s(now.to_rfc3339())),
            ]),
            None,
        )
        .await?;
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
        self.put_item(
            item::item([
                ("pk", s(keys::points_pk(tenant))),
                ("sk", s(keys::SWEEP)),
                ("cursor", item::json(cursor)),
            ]),
            None,
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
        let out = self
            .db
            .client
            .query()
            .table_name(self.table())
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(keys::expiry_index(tenant, date, shard)))
            .set_exclusive_start_key(start)
            .limit(200)
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
        let mut lots = Vec::new();
        for item in out.items.unwrap_or_default() {
            let customer = CustomerId::parse(item.s("customer")?)
                .map_err(|_| StoreError::Corrupt("lot customer".into()))?;
            lots.push(ExpiringLot {
                customer,
                expires_on: item.s("expires_on")?.to_string(),
            });
        }
        let next = out.last_evaluated_key.map(|k| {
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

impl RewardStore for DynamoPoints {
    async fn create_reward(
        &self,
        tenant: &TenantId,
        reward: &NewReward,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Reward, StoreError> {
        let mut item = item::item([
            ("pk", s(keys::rewards_pk(tenant))),
            ("sk", s(keys::reward_sk(id))),
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
        if !self
            .put_item(item, Some("attribute_not_exists(pk)"))
            .await?
        {
            return Err(StoreError::ConditionFailed);
        }
        Ok(created)
    }

    async fn update_reward(
        &self,
        tenant: &TenantId,
        id: &str,
        patch: &RewardPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Reward>, StoreError> {
        let mut u = Upd::new();
        let mut condition = vec!["attribute_exists(pk)".to_string()];
        u.set.push("updated_at = :now".into());
        u.val(":now", s(now.to_rfc3339()));
        if let Some(name) = &patch.name {
            u.set.push("#name = :name".into());
            u.names.insert("#name".into(), "name".into());
            u.val(":name", s(name.trim()));
        }
        if let Some(d) = &patch.description {
            u.set.push("description = :d".into());
            u.val(":d", s(d));
        }
        if let Some(c) = patch.cost {
            u.set.push("cost = :cost".into());
            u.val(":cost", n(c));
        }
        if let Some(a) = patch.active {
            u.set.push("active = :active".into());
            u.val(":active", AttributeValue::Bool(a));
        }
        if let Some(delta) = patch.add_stock {
            u.set.push("stock = stock + :ds".into());
            u.val(":ds", n(delta));
            if delta < 0 {
                condition.push("stock >= :neg".into());
                u.val(":neg", n(-delta));
            }
        }
        let expr = u.expression();
        let result = self
            .db
            .client
            .update_item()
            .table_name(self.table())
            .key("pk", s(keys::rewards_pk(tenant)))
            .key("sk", s(keys::reward_sk(id)))
            .update_expression(expr)
            .condition_expression(condition.join(" AND "))
            .set_expression_attribute_names((!u.names.is_empty()).then_some(u.names))
            .set_expression_attribute_values(Some(u.values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.as_ref().map(reward_from_item).transpose(),
            Err(e) => match crate::dynamo::from_sdk(e) {
                StoreError::ConditionFailed => match self.reward(tenant, id).await? {
                    None => Ok(None),
                    Some(_) => Err(StoreError::ConditionFailed),
                },
                other => Err(other),
            },
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
        let out = self
            .db
            .client
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(keys::redemptions_pk(tenant, id)))
            .expression_attribute_values(":p", s("REDEEM#"))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(|i| i.json("redemption"))
            .collect()
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
        self.put_item(
            item::item([
                ("pk", s(pk)),
                ("sk", s(keys::PROFILE)),
                ("profile", item::json(profile)),
                ("updated_at", s(now.to_rfc3339())),
            ]),
            None,
        )
        .await?;
        Ok(())
    }
}

impl ActivityStore for DynamoPoints {
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
                    ("pk", s(keys::group_day_pk(tenant, chat, date))),
                    ("sk", s(format!("CHECKIN#{customer}"))),
                    ("member", s(customer.as_str())),
                    ("at", s(at.to_rfc3339())),
                ])
            })
            .collect();
        self.batch_put(items).await
    }

    async fn record_membership(
        &self,
        tenant: &TenantId,
        c: &MembershipChange,
    ) -> Result<(), StoreError> {
        let what = if c.joined { "JOIN" } else { "LEAVE" };
        self.put_item(
            item::item([
                ("pk", s(keys::group_day_pk(tenant, &c.chat_id, &c.date))),
                ("sk", s(format!("{what}#{}#{}", c.member_id, c.event_id))),
                ("member", s(&c.member_id)),
                ("at", s(c.at.to_rfc3339())),
            ]),
            None,
        )
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
            match item.s("sk")?.split('#').next() {
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
    Ok(job)
}

fn job_item(job: &Job) -> AttrMap {
    item::item([
        ("pk", s(keys::job_pk(&job.tenant, &job.job_id))),
        ("sk", s(keys::JOB)),
        ("job", item::json(job)),
        ("next_chunk", n(job.next_chunk as i64)),
        ("published", AttributeValue::Bool(job.published)),
        ("gsi1pk", s(keys::jobs_index(&job.tenant))),
        (
            "gsi1sk",
            s(format!("{}#{}", job.created_at.to_rfc3339(), job.job_id)),
        ),
    ])
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
        self.put_item(
            item::item([
                ("pk", s(keys::request_pk(tenant, key))),
                ("sk", s(keys::REQUEST)),
                ("record", item::json(record)),
                (
                    "ttl",
                    n((record.created_at
                        + chrono::Duration::days(scrm_core::points::ledger::KEY_RETENTION_DAYS))
                    .timestamp()),
                ),
            ]),
            Some("attribute_not_exists(pk)"),
        )
        .await
    }

    async fn save_request(
        &self,
        tenant: &TenantId,
        key: &str,
        record: &RequestRecord,
    ) -> Result<(), StoreError> {
        self.put_item(
            item::item([
                ("pk", s(keys::request_pk(tenant, key))),
                ("sk", s(keys::REQUEST)),
                ("record", item::json(record)),
                (
                    "ttl",
                    n((record.created_at
                        + chrono::Duration::days(scrm_core::points::ledger::KEY_RETENTION_DAYS))
                    .timestamp()),
                ),
            ]),
            None,
        )
        .await?;
        Ok(())
    }

    async fn create_job(&self, job: &Job, chunks: &[Vec<JobItem>]) -> Result<bool, StoreError> {
        let pk = keys::job_pk(&job.tenant, &job.job_id);
        let items = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                item::item([
                    ("pk", s(&pk)),
                    ("sk", s(keys::chunk_sk(i))),
                    ("items", item::json(c)),
                ])
            })
            .collect();
        // Chunks first (deterministic keys, so rewriting them is harmless), then the job
        // item, whose existence means the job is complete and runnable.
        self.batch_put(items).await?;
        self.put_item(job_item(job), Some("attribute_not_exists(pk)"))
            .await
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
        tenant: &TenantId,
        job_id: &str,
        n: usize,
    ) -> Result<(Vec<JobItem>, Option<Vec<ItemResult>>), StoreError> {
        let item = self
            .get(keys::job_pk(tenant, job_id), &keys::chunk_sk(n))
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("job {job_id} chunk {n} missing")))?;
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
        let mut chunk_u = Upd::new();
        chunk_u.set.push("results = :r".into());
        chunk_u.val(":r", item::json(&results));
        let mut job_u = Upd::new();
        job_u.set.push("job = :j".into());
        job_u.set.push("next_chunk = :next".into());
        job_u.set.push("updated_at = :now".into());
        job_u
            .val(":j", item::json(job))
            .val(":next", n(job.next_chunk as i64))
            .val(":n", n(chunk as i64))
            .val(":now", s(now.to_rfc3339()));
        let actions = vec![
            chunk_u.into_tx(self.table(), pk.clone(), keys::chunk_sk(chunk), None)?,
            job_u.into_tx(
                self.table(),
                pk,
                keys::JOB.to_string(),
                Some("next_chunk = :n".into()),
            )?,
        ];
        match self.transact(actions, &[Tag::Extra(0), Tag::Account]).await {
            Ok(()) => Ok(true),
            Err(CommitError::Conflict) => Ok(false),
            Err(CommitError::Store(e)) => Err(e),
            Err(_) => Ok(false),
        }
    }

    async fn mark_published(&self, tenant: &TenantId, job_id: &str) -> Result<(), StoreError> {
        self.db
            .client
            .update_item()
            .table_name(self.table())
            .key("pk", s(keys::job_pk(tenant, job_id)))
            .key("sk", s(keys::JOB))
            .update_expression("SET published = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
        Ok(())
    }

    async fn jobs(
        &self,
        tenant: &TenantId,
        op: Option<JobOp>,
        limit: i32,
    ) -> Result<Vec<Job>, StoreError> {
        let mut stream = self
            .db
            .client
            .query()
            .table_name(self.table())
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(keys::jobs_index(tenant)))
            .scan_index_forward(false)
            .into_paginator()
            .items()
            .send();
        let mut jobs = Vec::new();
        while let Some(item) = stream.next().await {
            let job = job_from_item(&item.map_err(crate::dynamo::from_sdk)?)?;
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
