//! Ranking snapshots on the ledger table (rules in [`scrm_core::points::ranking`]): the
//! job item, the chunks (one partition per ranking, shard, figure and attempt, sorted by
//! each chunk's last position) and the tenant's pointer in its points partition.
use super::{check_in_from_item, keys, totals_of, DynamoPoints};
use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{GSI1, GSI1_SK, PK, SK, TTL};
use crate::dynamo::update::item_exists;
use crate::dynamo::{ensure_applied, Query, StoreError, Update};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use scrm_core::points::accounts::SortOrder;
use scrm_core::points::model::CustomerId;
use scrm_core::points::ports::RankingStore;
use scrm_core::points::ranking::{
    decode_chunk, RankFigure, RankedRow, RankingJob, RankingSnapshot, ShardAccount, SNAPSHOT_DAYS,
};
use scrm_core::tenants::TenantId;
use std::collections::BTreeMap;

/// Above every position (positions are digits, `#` and id characters).
const AFTER_EVERY_POSITION: &str = "~";

/// When a ranking's items expire: a day after it stops being served.
fn expiry(created: DateTime<Utc>) -> AttributeValue {
    n((created + Duration::days(SNAPSHOT_DAYS + 1)).timestamp())
}

fn job_from_item(item: &AttrMap) -> Result<RankingJob, StoreError> {
    let mut job: RankingJob = item.json("job")?;
    job.runs = item.json("runs")?;
    job.shards_done = item.n("shards_done")?.max(0) as u32;
    job.published = item.bool_opt("published").unwrap_or(false);
    Ok(job)
}

/// The customer of an index position `{head}#{ext}`.
fn customer_of(item: &AttrMap) -> Result<CustomerId, StoreError> {
    item.s(GSI1_SK)?
        .split_once('#')
        .and_then(|(_, c)| CustomerId::parse(c).ok())
        .ok_or_else(|| StoreError::Corrupt("account index position".into()))
}

fn rows_of(items: &[AttrMap]) -> Result<Vec<RankedRow>, StoreError> {
    let mut rows = Vec::new();
    for i in items {
        rows.extend(decode_chunk(i.s("rows")?).map_err(|e| StoreError::Corrupt(e.to_string()))?);
    }
    Ok(rows)
}

impl RankingStore for DynamoPoints {
    async fn create_ranking_job(&self, job: &RankingJob) -> Result<bool, StoreError> {
        let created = self
            .table
            .put_new(item::item([
                (PK, s(keys::ranking_job_pk(&job.tenant, &job.job_id))),
                (SK, s(keys::JOB)),
                ("job", item::json(job)),
                ("runs", item::json(&job.runs)),
                ("shards_done", n(i64::from(job.shards_done))),
                ("published", AttributeValue::Bool(false)),
                (TTL, expiry(job.created_at)),
            ]))
            .await?;
        if created {
            let mut u = Update::new();
            u.set("building", s(&job.job_id));
            self.table
                .update(keys::points_pk(&job.tenant), keys::RANKING, &u)
                .await?;
        }
        Ok(created)
    }

    async fn ranking_job(
        &self,
        tenant: &TenantId,
        job_id: &str,
    ) -> Result<Option<RankingJob>, StoreError> {
        self.get(keys::ranking_job_pk(tenant, job_id), keys::JOB)
            .await?
            .as_ref()
            .map(job_from_item)
            .transpose()
    }

    async fn mark_ranking_published(
        &self,
        tenant: &TenantId,
        job_id: &str,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("published", AttributeValue::Bool(true))
            .when(item_exists());
        ensure_applied(
            self.table
                .update(keys::ranking_job_pk(tenant, job_id), keys::JOB, &u)
                .await?,
        )
    }

    async fn shard_accounts(
        &self,
        tenant: &TenantId,
        shard: u32,
    ) -> Result<Vec<ShardAccount>, StoreError> {
        // Both index partitions project every attribute: the totals and the check-in
        // state come with the keys, nothing is fetched by key. Only what the figures need
        // is kept in memory (a shard of the largest tenant is 62,500 accounts).
        let (balances, check_ins) = futures::try_join!(
            self.table.query_all(
                Query::index(GSI1, keys::balances_index(tenant, shard))
                    .projection(format!("{GSI1_SK}, totals_from, earned, spent, expired")),
            ),
            self.table.query_all(
                Query::index(GSI1, keys::check_ins_index(tenant, shard))
                    .projection(format!("{GSI1_SK}, last_date, streak")),
            ),
        )?;
        let mut accounts: BTreeMap<CustomerId, ShardAccount> = BTreeMap::new();
        for item in &balances {
            let customer = customer_of(item)?;
            accounts.insert(
                customer.clone(),
                ShardAccount {
                    customer,
                    totals: totals_of(item)?,
                    has_balance: true,
                    check_in: None,
                },
            );
        }
        for item in &check_ins {
            let customer = customer_of(item)?;
            let state = check_in_from_item(item)?;
            accounts
                .entry(customer.clone())
                .or_insert(ShardAccount {
                    customer,
                    totals: None,
                    has_balance: false,
                    check_in: None,
                })
                .check_in = Some(state);
        }
        Ok(accounts.into_values().collect())
    }

    async fn put_ranking_chunks(
        &self,
        job: &RankingJob,
        run: &str,
        figure: RankFigure,
        shard: u32,
        chunks: &[(String, String)],
    ) -> Result<(), StoreError> {
        let pk = keys::ranking_chunks_pk(&job.tenant, &job.job_id, shard, figure.as_str(), run);
        let items = chunks
            .iter()
            .map(|(last, text)| {
                item::item([
                    (PK, s(&pk)),
                    (SK, s(last)),
                    ("rows", s(text)),
                    (TTL, expiry(job.created_at)),
                ])
            })
            .collect();
        self.table.batch_put(items).await
    }

    async fn complete_ranking_shard(
        &self,
        next: &RankingJob,
        shard: u32,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.set("job", item::json(next))
            .set("runs", item::json(&next.runs))
            .set("shards_done", n(i64::from(next.shards_done)));
        let done = u.name("shards_done");
        u.value(":shard", n(i64::from(shard)))
            .when(format!("{done} = :shard"));
        self.table
            .update(
                keys::ranking_job_pk(&next.tenant, &next.job_id),
                keys::JOB,
                &u,
            )
            .await
    }

    async fn serve_ranking(
        &self,
        tenant: &TenantId,
        snapshot: &RankingSnapshot,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("ranked", item::json(snapshot))
            .set("ranked_runs", item::json(&snapshot.runs))
            .set("ranked_ms", n(snapshot.ranked_at.timestamp_millis()));
        let at = u.name("ranked_ms");
        // Only a newer ranking replaces the one served (a job finishing late does not),
        // and the same one is not written again.
        u.value(":at", n(snapshot.ranked_at.timestamp_millis()))
            .when(format!("attribute_not_exists({at}) OR {at} < :at"));
        self.table
            .update(keys::points_pk(tenant), keys::RANKING, &u)
            .await?;
        Ok(())
    }

    async fn latest_ranking(
        &self,
        tenant: &TenantId,
    ) -> Result<(Option<RankingSnapshot>, Option<String>), StoreError> {
        let Some(item) = self.get(keys::points_pk(tenant), keys::RANKING).await? else {
            return Ok((None, None));
        };
        let ranked = if item.s_opt("ranked").is_some() {
            let mut snapshot: RankingSnapshot = item.json("ranked")?;
            snapshot.runs = item.json("ranked_runs")?;
            Some(snapshot)
        } else {
            None
        };
        Ok((ranked, item.s_opt("building").map(str::to_string)))
    }

    async fn ranking_rows(
        &self,
        tenant: &TenantId,
        snapshot: &RankingSnapshot,
        figure: RankFigure,
        shard: u32,
        order: SortOrder,
        after: Option<&str>,
        chunks: usize,
    ) -> Result<Vec<RankedRow>, StoreError> {
        let run = snapshot
            .runs
            .get(shard as usize)
            .ok_or_else(|| StoreError::Corrupt(format!("ranking without shard {shard}")))?;
        let pk = keys::ranking_chunks_pk(tenant, &snapshot.job_id, shard, figure.as_str(), run);
        // Chunks are keyed by their last position: those after the cursor start with the
        // chunk holding it (ascending); descending, the chunk holding the cursor is the
        // first keyed at or above it, then those keyed below it.
        let q = Query::partition(pk.clone()).page_size(chunks);
        let items = match (order, after) {
            (SortOrder::Asc, None) => self.table.query_up_to(q, chunks).await?,
            (SortOrder::Asc, Some(c)) => self.table.query_up_to(q.sk_after(c), chunks).await?,
            (SortOrder::Desc, None) => self.table.query_up_to(q.descending(), chunks).await?,
            (SortOrder::Desc, Some(c)) => {
                let holding = Query::partition(pk).page_size(1);
                let (mut holding, below) = futures::try_join!(
                    self.table
                        .query_up_to(holding.sk_between(c, AFTER_EVERY_POSITION), 1),
                    self.table.query_up_to(q.sk_before(c).descending(), chunks),
                )?;
                holding.extend(below);
                holding
            }
        };
        rows_of(&items)
    }
}
