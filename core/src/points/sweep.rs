//! The daily expiry sweep for one tenant. Lots are indexed by expiry date and shard
//! (`gsi1`), so a day's sweep reads only the lots expiring that day: its cost grows with
//! them, not with the table. The tenant's cursor records the last day fully swept and,
//! for a day in progress, the shards already done, so a sweep stopped halfway resumes
//! where it stopped, and a day already swept is not read again. Each lot is expired by an
//! idempotent ledger write (key `expire:{date}` in the account), so even a lot swept twice
//! expires once.
use super::ledger::{expire_lot, When};
use super::ports::EXPIRY_SHARDS as SHARDS;
use super::ports::{Account, LedgerStore, SweepCursor, SweepStore};
use super::PointsError;
use crate::tenants::TenantId;
use chrono::NaiveDate;
use futures::StreamExt;
use serde::Serialize;
use std::time::Instant;
use tokio::sync::Mutex;

/// Lots expired at once within a shard.
const LOT_CONCURRENCY: usize = 4;
/// Shards swept at once: every shard of a day, so the day's writes spread over all the
/// index partitions at once instead of a quarter of them at a time (each shard then
/// takes 1/16 of the day's rate); 64 ledger writes in flight in all.
const SHARD_CONCURRENCY: usize = SHARDS as usize;

/// What a tenant's sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// The tenant.
    pub tenant: String,
    /// Days completed in this run.
    pub days: Vec<String>,
    /// Lots expired now.
    pub lots_expired: u64,
    /// Points expired now.
    pub points_expired: i64,
    /// Whether the tenant is swept up to its local today.
    pub finished: bool,
}

fn parse_day(raw: &str) -> Result<NaiveDate, PointsError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| PointsError::Store(crate::ports::StoreError::Corrupt("sweep cursor".into())))
}

async fn sweep_shard<S: LedgerStore + SweepStore>(
    store: &S,
    tenant: &TenantId,
    date: &str,
    shard: u32,
    when: When,
) -> Result<(u64, i64), PointsError> {
    let mut page = None;
    let (mut lots, mut points) = (0u64, 0i64);
    loop {
        let (found, next) = store.expiring_lots(tenant, date, shard, page).await?;
        let results: Vec<Result<i64, PointsError>> = futures::stream::iter(found)
            .map(|lot| async move {
                let account = Account::new(tenant.clone(), lot.customer);
                let out = expire_lot(store, &account, &lot.expires_on, when).await?;
                Ok(if out.replayed { 0 } else { -out.applied.amount })
            })
            .buffer_unordered(LOT_CONCURRENCY)
            .collect()
            .await;
        for r in results {
            let n = r?;
            if n > 0 {
                lots += 1;
                points += n;
            }
        }
        match next {
            Some(n) => page = Some(n),
            None => return Ok((lots, points)),
        }
    }
}

/// Sweeps a tenant up to its local today. Stops early (cursor saved, `finished: false`)
/// when `deadline` passes; the next run resumes.
pub async fn sweep_tenant<S: LedgerStore + SweepStore>(
    store: &S,
    tenant: &TenantId,
    when: When,
    deadline: Option<Instant>,
) -> Result<SweepReport, PointsError> {
    let mut report = SweepReport {
        tenant: tenant.to_string(),
        ..Default::default()
    };
    let Some(mut cursor) = store.sweep_cursor(tenant).await? else {
        // The tenant never had points with a validity: nothing can expire.
        report.finished = true;
        return Ok(report);
    };
    let today = when.today();
    let mut day = parse_day(&cursor.done_through)?;
    while day < today {
        let Some(next) = day.succ_opt() else { break };
        let date = next.format("%Y-%m-%d").to_string();
        if cursor.in_progress.as_deref() != Some(date.as_str()) {
            cursor.in_progress = Some(date.clone());
            cursor.shards_done.clear();
        }
        let todo: Vec<u32> = (0..SHARDS)
            .filter(|s| !cursor.shards_done.contains(s))
            .collect();
        let shared = Mutex::new((cursor.clone(), 0u64, 0i64));
        let results: Vec<Result<(), PointsError>> = futures::stream::iter(todo)
            .map(|shard| {
                let date = date.clone();
                let shared = &shared;
                async move {
                    if deadline.map(|d| Instant::now() >= d).unwrap_or(false) {
                        return Ok(());
                    }
                    let (lots, points) = sweep_shard(store, tenant, &date, shard, when).await?;
                    let mut g = shared.lock().await;
                    g.0.shards_done.push(shard);
                    g.0.shards_done.sort_unstable();
                    g.1 += lots;
                    g.2 += points;
                    store.save_sweep_cursor(tenant, &g.0).await?;
                    Ok(())
                }
            })
            .buffer_unordered(SHARD_CONCURRENCY)
            .collect()
            .await;
        let (c, lots, points) = shared.into_inner();
        cursor = c;
        report.lots_expired += lots;
        report.points_expired += points;
        for r in results {
            r?;
        }
        if cursor.shards_done.len() < SHARDS as usize {
            return Ok(report);
        }
        cursor = SweepCursor {
            done_through: date.clone(),
            in_progress: None,
            shards_done: Vec::new(),
        };
        store.save_sweep_cursor(tenant, &cursor).await?;
        report.days.push(date);
        day = next;
    }
    report.finished = true;
    Ok(report)
}
