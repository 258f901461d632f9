//! The growth context's store in the tasks table (layout in [`keys`]), and the directory's
//! facts the growth consumer reads.
mod coupons;
pub mod fission;
pub mod forms;
pub mod keys;
mod links;

use super::item::{json, n, s, AttrMap, ItemExt};
use super::schema::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK, TTL};
use super::table::{key, PutOutcome, Query, Table};
use super::update::{Cond, Update};
use super::{Db, DynamoDirectory};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use keys::*;
use scrm_core::contacts::DirectoryRead;
use scrm_core::growth::{
    AddRecord, ChannelCode, CodeStatus, ContactFacts, GroupCode, GroupCodeStore, GroupDay,
    GroupFacts, GrowthStore, MemberDay, Movement, RotaDue, Welcome, WelcomeOutcome,
};
use scrm_core::ports::StoreError;
use scrm_core::tenants::TenantId;
use std::collections::HashMap;

/// Records of adds live 90 days (WeCom re-delivers within minutes; events within a day).
const RECORD_TTL_SECS: i64 = 90 * 86_400;
/// A member's day lives about 400 days.
const STATS_TTL_SECS: i64 = 400 * 86_400;

/// The growth store.
#[derive(Debug, Clone)]
pub struct DynamoGrowth {
    table: Table,
}

impl DynamoGrowth {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self { table: db.tasks() }
    }

    /// Writes a count with the record that makes it once (the record first, conditional on
    /// not being counted yet): true when counted now, false when the record says it was.
    async fn count_once(
        &self,
        actions: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        match self.table.transact(actions).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled { reasons })
                if reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn code_item(t: &TenantId, code: &ChannelCode) -> AttrMap {
    let mut item: AttrMap = [
        (PK, s(code_pk(t, &code.state))),
        (SK, s(CODE_SK)),
        (GSI2_PK, s(codes_index(t))),
        (GSI2_SK, s(&code.state)),
        ("code", json(code)),
        ("version", n(code.version)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(due) = code.rota_due {
        item.insert("rota_due".into(), n(due.timestamp()));
        if code.status == CodeStatus::Active {
            item.insert(GSI1_PK.into(), s(rota_due_pk(rota_shard(t, &code.state))));
            item.insert(
                GSI1_SK.into(),
                s(rota_due_sk(due.timestamp(), t, &code.state)),
            );
        }
    }
    item.shrink_to_fit();
    item
}

fn code_of(item: &AttrMap) -> Result<ChannelCode, StoreError> {
    let mut code: ChannelCode = item.json("code")?;
    code.rota_due = item
        .n_opt("rota_due")?
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single());
    Ok(code)
}

/// A rota due index entry's sort key: `{due:012}#{tenant}#{state}`.
fn rota_due_of(sk: &str) -> Result<RotaDue, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("rota due entry {sk}"));
    let mut parts = sk.splitn(3, '#');
    let (Some(due), Some(t), Some(state)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(corrupt());
    };
    let due = due
        .parse::<i64>()
        .ok()
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
        .ok_or_else(corrupt)?;
    Ok(RotaDue {
        tenant: TenantId::parse(t).map_err(|_| corrupt())?,
        state: state.to_string(),
        due,
    })
}

fn outcome_name(o: WelcomeOutcome) -> String {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn date_key(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl GrowthStore for DynamoGrowth {
    async fn create_code(
        &self,
        t: &TenantId,
        code: &ChannelCode,
    ) -> Result<Option<ChannelCode>, StoreError> {
        match self
            .table
            .put_or_get_old(code_item(t, code), &Cond::item_absent())
            .await?
        {
            PutOutcome::Written => Ok(None),
            PutOutcome::Blocked(Some(old)) => code_of(&old).map(Some),
            PutOutcome::Blocked(None) => self.code(t, &code.state).await,
        }
    }

    async fn code(&self, t: &TenantId, state: &str) -> Result<Option<ChannelCode>, StoreError> {
        self.table
            .get_consistent(code_pk(t, state), CODE_SK)
            .await?
            .as_ref()
            .map(code_of)
            .transpose()
    }

    async fn codes(&self, t: &TenantId) -> Result<Vec<ChannelCode>, StoreError> {
        let items = self
            .table
            .query_all(Query::index(GSI2, codes_index(t)))
            .await?;
        items.iter().map(code_of).collect()
    }

    async fn save_code(
        &self,
        t: &TenantId,
        code: &ChannelCode,
        version: i64,
    ) -> Result<bool, StoreError> {
        let mut cond = Cond::item_exists();
        let v = cond.name("version");
        cond.when(format!("{v} = :expected"))
            .value(":expected", n(version));
        self.table.put_if(code_item(t, code), &cond).await
    }

    async fn rota_due(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RotaDue>, StoreError> {
        // Every sort key of a due time up to `until` sorts below this one ('#' < '~').
        let last = format!("{:012}~", until.timestamp());
        let per_shard = limit.div_ceil(ROTA_SHARDS as usize).max(1);
        let queries = (0..ROTA_SHARDS).map(|shard| {
            self.table.query_up_to(
                Query::index(GSI1, rota_due_pk(shard))
                    .sk_at_most(last.clone())
                    .projection(GSI1_SK),
                per_shard,
            )
        });
        let mut out = Vec::new();
        for item in futures::future::try_join_all(queries)
            .await?
            .into_iter()
            .flatten()
        {
            match rota_due_of(item.s(GSI1_SK)?) {
                Ok(entry) => out.push(entry),
                // Not ours to fix here; the code's next write replaces it.
                Err(e) => tracing::warn!(error = %e, "unreadable rota due entry"),
            }
        }
        out.sort_by_key(|e| e.due);
        Ok(out)
    }

    async fn delete_code(&self, t: &TenantId, state: &str) -> Result<(), StoreError> {
        self.table.delete(code_pk(t, state), CODE_SK).await
    }

    async fn default_welcome(&self, t: &TenantId) -> Result<Option<Welcome>, StoreError> {
        self.table
            .get(default_welcome_pk(t), DEFAULT_SK)
            .await?
            .map(|item| item.json("welcome"))
            .transpose()
    }

    async fn set_default_welcome(
        &self,
        t: &TenantId,
        welcome: Option<&Welcome>,
    ) -> Result<(), StoreError> {
        match welcome {
            Some(w) => {
                self.table
                    .put(
                        [
                            (PK, s(default_welcome_pk(t))),
                            (SK, s(DEFAULT_SK)),
                            ("welcome", json(w)),
                        ]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                    )
                    .await
            }
            None => self.table.delete(default_welcome_pk(t), DEFAULT_SK).await,
        }
    }

    async fn add_record(
        &self,
        t: &TenantId,
        event_id: &str,
    ) -> Result<Option<AddRecord>, StoreError> {
        let Some(item) = self
            .table
            .get_consistent(record_pk(t, event_id), RECORD_SK)
            .await?
        else {
            return Ok(None);
        };
        let welcome = item
            .s_opt("welcome")
            .map(|w| {
                serde_json::from_value(serde_json::Value::String(w.to_string()))
                    .map_err(|e| StoreError::Corrupt(format!("welcome outcome: {e}")))
            })
            .transpose()?;
        Ok(Some(AddRecord {
            welcome,
            errcode: item.n_opt("errcode")?,
            counted: item.bool_opt("counted").unwrap_or(false),
        }))
    }

    async fn record_welcome(
        &self,
        t: &TenantId,
        event_id: &str,
        state: Option<&str>,
        outcome: WelcomeOutcome,
        errcode: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("welcome", s(outcome_name(outcome)))
            .set_if_some("errcode", errcode.map(n))
            .set_if_some("state", state.map(s))
            .set_if_not_exists(TTL, n(now_secs() + RECORD_TTL_SECS));
        let w = u.name("welcome");
        u.when(format!("attribute_not_exists({w})"));
        // Recorded once: a concurrent delivery that recorded first keeps its outcome.
        self.table
            .update(record_pk(t, event_id), RECORD_SK, &u)
            .await?;
        Ok(())
    }

    async fn count_once(
        &self,
        t: &TenantId,
        event_id: &str,
        state: &str,
        date: NaiveDate,
        userid: &str,
        movement: Movement,
    ) -> Result<bool, StoreError> {
        let mut record = Update::new();
        record
            .set("counted", AttributeValue::Bool(true))
            .set_if_not_exists(TTL, n(now_secs() + RECORD_TTL_SECS));
        let c = record.name("counted");
        record.when(format!("attribute_not_exists({c})"));
        let mut counter = Update::new();
        counter
            .add(
                match movement {
                    Movement::Added => "added",
                    Movement::Removed => "removed",
                },
                1,
            )
            .set_if_not_exists(TTL, n(now_secs() + STATS_TTL_SECS));
        let actions = vec![
            self.table
                .tx_update(record_pk(t, event_id), RECORD_SK, &record)?,
            self.table.tx_update(
                stats_pk(t, stats_shard(state, userid)),
                stats_sk(state, &date_key(date), userid),
                &counter,
            )?,
        ];
        self.count_once(actions).await
    }

    async fn adds_of(
        &self,
        t: &TenantId,
        state: &str,
        date: NaiveDate,
        userids: &[String],
    ) -> Result<HashMap<String, u32>, StoreError> {
        let day = date_key(date);
        let keys = userids
            .iter()
            .map(|u| key(stats_pk(t, stats_shard(state, u)), stats_sk(state, &day, u)))
            .collect();
        let mut out = HashMap::new();
        for item in self.table.batch_get(keys, None).await? {
            let sk = item.s(SK)?;
            let userid = sk.rsplit('#').next().unwrap_or_default().to_string();
            let added = item.n_opt("added")?.unwrap_or(0);
            out.insert(userid, u32::try_from(added.max(0)).unwrap_or(u32::MAX));
        }
        Ok(out)
    }

    async fn figures(
        &self,
        t: &TenantId,
        state: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<MemberDay>, StoreError> {
        let (lo, hi) = (
            format!("{state}#{}", date_key(from)),
            format!("{state}#{}#\u{10FFFF}", date_key(to)),
        );
        let queries = (0..STATS_SHARDS).map(|shard| {
            self.table
                .query_all(Query::partition(stats_pk(t, shard)).sk_between(lo.clone(), hi.clone()))
        });
        let mut rows = Vec::new();
        for item in futures::future::try_join_all(queries)
            .await?
            .into_iter()
            .flatten()
        {
            let sk = item.s(SK)?;
            let mut parts = sk.splitn(3, '#');
            let (_, date, userid) = (parts.next(), parts.next(), parts.next());
            rows.push(MemberDay {
                date: date.unwrap_or_default().to_string(),
                userid: userid.unwrap_or_default().to_string(),
                added: item.n_opt("added")?.unwrap_or(0),
                removed: item.n_opt("removed")?.unwrap_or(0),
            });
        }
        Ok(rows)
    }
}

fn group_code_item(t: &TenantId, code: &GroupCode) -> AttrMap {
    [
        (PK, s(group_code_pk(t, &code.state))),
        (SK, s(CODE_SK)),
        (GSI2_PK, s(group_codes_index(t))),
        (GSI2_SK, s(&code.state)),
        ("code", json(code)),
        ("version", n(code.version)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Deletes at once, a few at a time (a pool has at most 100 groups).
const PARALLEL_DELETES: usize = 8;

impl GroupCodeStore for DynamoGrowth {
    async fn create_group_code(
        &self,
        t: &TenantId,
        code: &GroupCode,
    ) -> Result<Option<GroupCode>, StoreError> {
        match self
            .table
            .put_or_get_old(group_code_item(t, code), &Cond::item_absent())
            .await?
        {
            PutOutcome::Written => Ok(None),
            PutOutcome::Blocked(Some(old)) => old.json("code").map(Some),
            PutOutcome::Blocked(None) => self.group_code(t, &code.state).await,
        }
    }

    async fn group_code(&self, t: &TenantId, state: &str) -> Result<Option<GroupCode>, StoreError> {
        self.table
            .get_consistent(group_code_pk(t, state), CODE_SK)
            .await?
            .map(|item| item.json("code"))
            .transpose()
    }

    async fn group_codes(&self, t: &TenantId) -> Result<Vec<GroupCode>, StoreError> {
        let items = self
            .table
            .query_all(Query::index(GSI2, group_codes_index(t)))
            .await?;
        items.iter().map(|item| item.json("code")).collect()
    }

    async fn save_group_code(
        &self,
        t: &TenantId,
        code: &GroupCode,
        version: i64,
    ) -> Result<bool, StoreError> {
        let mut cond = Cond::item_exists();
        let v = cond.name("version");
        cond.when(format!("{v} = :expected"))
            .value(":expected", n(version));
        self.table.put_if(group_code_item(t, code), &cond).await
    }

    async fn delete_group_code(&self, t: &TenantId, state: &str) -> Result<(), StoreError> {
        self.table.delete(group_code_pk(t, state), CODE_SK).await
    }

    async fn index_pool(
        &self,
        t: &TenantId,
        state: &str,
        chat_ids: &[String],
    ) -> Result<(), StoreError> {
        let items = chat_ids
            .iter()
            .map(|c| {
                [(PK, s(pool_pk(t, c))), (SK, s(state))]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect()
            })
            .collect();
        self.table.batch_put(items).await
    }

    async fn unindex_pool(
        &self,
        t: &TenantId,
        state: &str,
        chat_ids: &[String],
    ) -> Result<(), StoreError> {
        for chunk in chat_ids.chunks(PARALLEL_DELETES) {
            futures::future::try_join_all(
                chunk
                    .iter()
                    .map(|c| self.table.delete(pool_pk(t, c), state)),
            )
            .await?;
        }
        Ok(())
    }

    async fn codes_of_chat(&self, t: &TenantId, chat_id: &str) -> Result<Vec<String>, StoreError> {
        let items = self
            .table
            .query_all(Query::partition(pool_pk(t, chat_id)))
            .await?;
        items
            .iter()
            .map(|item| item.s(SK).map(str::to_string))
            .collect()
    }

    async fn count_join_once(
        &self,
        t: &TenantId,
        event_id: &str,
        state: &str,
        date: NaiveDate,
        chat_id: &str,
    ) -> Result<bool, StoreError> {
        let mut record = Update::new();
        record
            .set("counted", AttributeValue::Bool(true))
            .set_if_not_exists(TTL, n(now_secs() + RECORD_TTL_SECS));
        let c = record.name("counted");
        record.when(format!("attribute_not_exists({c})"));
        let mut counter = Update::new();
        counter
            .add("joined", 1)
            .set_if_not_exists(TTL, n(now_secs() + STATS_TTL_SECS));
        let actions = vec![
            self.table
                .tx_update(join_record_pk(t, event_id), state, &record)?,
            self.table.tx_update(
                group_stats_pk(t, group_stats_shard(state, chat_id)),
                stats_sk(state, &date_key(date), chat_id),
                &counter,
            )?,
        ];
        self.count_once(actions).await
    }

    async fn group_figures(
        &self,
        t: &TenantId,
        state: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<GroupDay>, StoreError> {
        let (lo, hi) = (
            format!("{state}#{}", date_key(from)),
            format!("{state}#{}#\u{10FFFF}", date_key(to)),
        );
        let queries = (0..STATS_SHARDS).map(|shard| {
            self.table.query_all(
                Query::partition(group_stats_pk(t, shard)).sk_between(lo.clone(), hi.clone()),
            )
        });
        let mut rows = Vec::new();
        for item in futures::future::try_join_all(queries)
            .await?
            .into_iter()
            .flatten()
        {
            let sk = item.s(SK)?;
            let mut parts = sk.splitn(3, '#');
            let (_, date, chat_id) = (parts.next(), parts.next(), parts.next());
            rows.push(GroupDay {
                date: date.unwrap_or_default().to_string(),
                chat_id: chat_id.unwrap_or_default().to_string(),
                joined: item.n_opt("joined")?.unwrap_or(0),
            });
        }
        Ok(rows)
    }
}

impl GroupFacts for DynamoDirectory {
    async fn group_sizes(
        &self,
        t: &TenantId,
        chat_ids: &[String],
        exact: &[String],
    ) -> Result<HashMap<String, i64>, StoreError> {
        use crate::dynamo::contacts::keys as dir;
        use futures::{StreamExt, TryStreamExt};
        use std::collections::HashSet;
        if chat_ids.is_empty() {
            return Ok(HashMap::new());
        }
        // The profile says whether the group is known and live; the counters item (when
        // there is one) holds the count WeCom's detail last gave, else the profile's, and
        // whether the group's active memberships are its count.
        let keys = chat_ids
            .iter()
            .flat_map(|c| {
                let pk = dir::group_pk(t, c);
                [key(pk.clone(), dir::PROFILE), key(pk, dir::COUNTS)]
            })
            .collect();
        let found = self.table.batch_get(keys, None).await?;
        let mut profiles: HashMap<&str, i64> = HashMap::new();
        let mut counts: HashMap<&str, i64> = HashMap::new();
        let mut counted: HashSet<&str> = HashSet::new();
        for item in &found {
            let pk = item.s(PK)?;
            match item.s(SK)? {
                dir::PROFILE if !item.bool_opt("dismissed").unwrap_or(false) => {
                    profiles.insert(pk, item.n_opt("member_count")?.unwrap_or(0));
                }
                dir::COUNTS => {
                    if let Some(c) = item.n_opt("member_count")? {
                        counts.insert(pk, c);
                    }
                    if item.bool_opt(crate::dynamo::contacts::MEMBERS_COUNTED) == Some(true) {
                        counted.insert(pk);
                    }
                }
                _ => {}
            }
        }
        let mut sizes: HashMap<String, i64> = chat_ids
            .iter()
            .filter_map(|c| {
                let pk = dir::group_pk(t, c);
                let profile = profiles.get(pk.as_str())?;
                let n = counts.get(pk.as_str()).unwrap_or(profile);
                Some((c.clone(), (*n).max(0)))
            })
            .collect();
        let mut counts_now = Vec::new();
        for c in exact
            .iter()
            .filter(|c| sizes.contains_key(*c))
            .filter(|c| counted.contains(dir::group_pk(t, c).as_str()))
        {
            let (dir, t, c) = (self.clone(), t.clone(), c.clone());
            counts_now.push(async move {
                let n = dir.count_members(&t, &c).await?;
                Ok::<_, StoreError>((c, n))
            });
        }
        let exact_counts = futures::stream::iter(counts_now)
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?;
        sizes.extend(exact_counts);
        Ok(sizes)
    }
}

impl ContactFacts for DynamoDirectory {
    async fn customer_name(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(DirectoryRead::customer(self, t, external_userid)
            .await?
            .and_then(|c| c.customer.name))
    }

    async fn relation_state(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(DirectoryRead::customer(self, t, external_userid)
            .await?
            .and_then(|c| {
                c.follow_users
                    .into_iter()
                    .find(|f| f.userid == userid)
                    .and_then(|f| f.state)
            }))
    }
}
