//! The ledger table's key layout, in one place. Every partition key starts with the tenant.
//!
//! | Item | pk | sk | index |
//! |---|---|---|---|
//! | Balance | `{corp}#ACCT#{ext}` | `BAL` | gsi1 `{corp}#ACCTS#{shard}` / `{balance:015}#{ext}` |
//! | Entry (append-only) | `{corp}#ACCT#{ext}` | `TX#{seq:010}` | gsi2 `{corp}#LDAY#{date}#{shard}` / `{ext}#{seq}` |
//! | Lot (one per expiry date) | `{corp}#ACCT#{ext}` | `LOT#{expires_on}` | gsi1 `{corp}#EXP#{expires_on}#{shard}` / `{ext}` while points are left |
//! | Idempotency record (none for a check-in) | `{corp}#ACCT#{ext}` | `IDEM#{key}` | |
//! | Check-in state (with the last check-in's answer) | `{corp}#ACCT#{ext}` | `CHECKIN` | gsi1 `{corp}#CHECKINS#{shard}` / `{last date}#{ext}` |
//! | Customer profile | `{corp}#ACCT#{ext}` | `PROFILE` | |
//! | Rules / sweep cursor / closed-day totals | `{corp}#POINTS` | `RULES` / `SWEEP` / `DAY#{date}` | |
//! | Reward / catalogue write's idempotency record | `{corp}#REWARDS` | `REWARD#{id}` / `IDEM#{key}` | |
//! | Redemption | `{corp}#REWARD#{id}` | `REDEEM#{at}#{ext}#{seq}` | |
//! | Bulk request | `{corp}#PREQ#{key}` | `REQUEST` | |
//! | Job / job chunk | `{corp}#PJOB#{job}` | `JOB` / `CHUNK#{set}#{n:06}` | gsi1 `{corp}#PJOBS` / `{created}#{job}` (JOB) |
//! | Group-day activity | `{corp}#GDAY#{chat}#{date}` | `CHECKIN#{ext}` / `JOIN#{member}#{event}` / `LEAVE#{member}#{event}` | |
//! | Daily counters (8 shards, an item per day in each) / a counted change's record | `{corp}#STATS#{shard}` / `{corp}#STATS#ONCE#{key}` | `DAY#{date}` / `ONCE` | |
//! | Number of customers (8 shards) | `{corp}#STATS#CUSTOMERS#{shard}` | `TOTAL` | |
//! | A day that had entries (one partition per day-index shard) | `{corp}#LDAYS#{shard}` | `DAY#{date}` | |
//! | Ranking pointer (the ranking served, the job building one) | `{corp}#POINTS` | `RANKING` | |
//! | Ranking job | `{corp}#RANKJOB#{job}` | `JOB` | |
//! | Ranking chunk (`value customer` rows) | `{corp}#RANK#{job}#{shard}#{figure}#{attempt}` | last position `{value:015}#{ext}` | |
use scrm_core::points::model::CustomerId;
use scrm_core::tenants::TenantId;
use sha2::{Digest, Sha256};

/// Shards of the expiry and day indexes: one day's expiring lots (or entries) spread
/// over this many index partitions, so that no single partition takes a whole day's
/// writes and the sweep reads shards in parallel.
pub const SHARDS: u32 = scrm_core::points::ports::EXPIRY_SHARDS;

/// The balance item's sort key.
pub const BAL: &str = "BAL";
/// The check-in state's sort key.
pub const CHECKIN: &str = "CHECKIN";
/// The customer profile's sort key.
pub const PROFILE: &str = "PROFILE";
/// Sort-key prefix of entries.
pub const TX: &str = "TX#";
/// Sort-key prefix of lots.
pub const LOT: &str = "LOT#";
/// Sort-key prefix of idempotency records.
pub const IDEM: &str = "IDEM#";
/// The rules' sort key.
pub const RULES: &str = "RULES";
/// The sweep cursor's sort key.
pub const SWEEP: &str = "SWEEP";
/// A job's own sort key.
pub const JOB: &str = "JOB";
/// A bulk request's sort key.
pub const REQUEST: &str = "REQUEST";

/// A customer's account partition.
pub fn account_pk(t: &TenantId, c: &CustomerId) -> String {
    format!("{t}#ACCT#{c}")
}

/// An entry's sort key: zero-padded so that entries sort by number.
pub fn tx_sk(seq: i64) -> String {
    format!("{TX}{seq:010}")
}

/// A lot's sort key.
pub fn lot_sk(expires_on: &str) -> String {
    format!("{LOT}{expires_on}")
}

/// An idempotency record's sort key.
pub fn idem_sk(key: &str) -> String {
    format!("{IDEM}{key}")
}

/// The tenant's points settings partition (rules, sweep cursor, closed-day totals).
pub fn points_pk(t: &TenantId) -> String {
    format!("{t}#POINTS")
}

/// A closed day's totals.
pub fn day_sk(date: &str) -> String {
    format!("DAY#{date}")
}

/// The shard of a customer in the sharded indexes: stable across runs and processes.
pub fn shard(c: &CustomerId) -> u32 {
    let digest = Sha256::digest(c.as_str().as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % SHARDS
}

/// The expiry index partition of a date and shard.
pub fn expiry_index(t: &TenantId, date: &str, shard: u32) -> String {
    format!("{t}#EXP#{date}#{shard:02}")
}

/// The entries-by-day index partition of a date and shard.
pub fn day_index(t: &TenantId, date: &str, shard: u32) -> String {
    format!("{t}#LDAY#{date}#{shard:02}")
}

/// The rewards catalogue partition.
pub fn rewards_pk(t: &TenantId) -> String {
    format!("{t}#REWARDS")
}

/// A reward's sort key.
pub fn reward_sk(id: &str) -> String {
    format!("REWARD#{id}")
}

/// The sort key of a catalogue write's idempotency record (rewards partition).
pub fn reward_write_sk(key: &str) -> String {
    format!("{IDEM}{key}")
}

/// A reward's redemptions partition.
pub fn redemptions_pk(t: &TenantId, reward_id: &str) -> String {
    format!("{t}#REWARD#{reward_id}")
}

/// A bulk request's partition.
pub fn request_pk(t: &TenantId, key: &str) -> String {
    format!("{t}#PREQ#{key}")
}

/// A job's partition.
pub fn job_pk(t: &TenantId, job_id: &str) -> String {
    format!("{t}#PJOB#{job_id}")
}

/// A job chunk's sort key, in the job's chunk set (`None`: the first layout, one unnamed
/// set).
pub fn chunk_sk(set: Option<&str>, n: usize) -> String {
    match set {
        Some(set) => format!("CHUNK#{set}#{n:06}"),
        None => format!("CHUNK#{n:06}"),
    }
}

/// The index partition listing a tenant's jobs.
pub fn jobs_index(t: &TenantId) -> String {
    format!("{t}#PJOBS")
}

/// A group's activity partition for one tenant-local day.
pub fn group_day_pk(t: &TenantId, chat_id: &str, date: &str) -> String {
    format!("{t}#GDAY#{chat_id}#{date}")
}

/// A daily counters partition: one of `STATS_SHARDS`, holding that shard's item of every
/// day (sort key [`day_sk`]), so that a window of days is one query per shard.
pub fn stats_pk(t: &TenantId, shard: u32) -> String {
    format!("{t}#STATS#{shard:02}")
}

/// The partition of the record that a change was counted (its key).
pub fn stats_once_pk(t: &TenantId, once_key: &str) -> String {
    format!("{t}#STATS#ONCE#{once_key}")
}

/// The sort key of counted-change records.
pub const STATS_ONCE: &str = "ONCE";

/// A partition of the number of customers: one of `STATS_SHARDS`, not per day.
pub fn customers_total_pk(t: &TenantId, shard: u32) -> String {
    format!("{t}#STATS#CUSTOMERS#{shard:02}")
}

/// The sort key of the number of customers' items.
pub const CUSTOMERS_TOTAL: &str = "TOTAL";

/// A partition of the days that had ledger entries (one item per day, `DAY#{date}`), one
/// per day-index shard: a window's days with entries are read with one query per shard.
pub fn entry_days_pk(t: &TenantId, shard: u32) -> String {
    format!("{t}#LDAYS#{shard:02}")
}

/// The ranking pointer's sort key (points settings partition).
pub const RANKING: &str = "RANKING";

/// A ranking job's partition.
pub fn ranking_job_pk(t: &TenantId, job_id: &str) -> String {
    format!("{t}#RANKJOB#{job_id}")
}

/// The partition of one ranking's chunks of one shard and figure, written by one attempt
/// at that shard; sort key: each chunk's last position.
pub fn ranking_chunks_pk(
    t: &TenantId,
    job_id: &str,
    shard: u32,
    figure: &str,
    run: &str,
) -> String {
    format!("{t}#RANK#{job_id}#{shard:02}#{figure}#{run}")
}

/// The accounts-by-balance index partition of a shard (balance items, gsi1).
pub fn balances_index(t: &TenantId, shard: u32) -> String {
    format!("{t}#ACCTS#{shard:02}")
}

/// The accounts-by-last-check-in index partition of a shard (check-in states, gsi1).
pub fn check_ins_index(t: &TenantId, shard: u32) -> String {
    format!("{t}#CHECKINS#{shard:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_start_with_the_tenant_and_sort_entries_by_number() {
        let t = TenantId::parse("ww0001").unwrap();
        let c = CustomerId::parse("wm1").unwrap();
        assert!(account_pk(&t, &c).starts_with("ww0001#"));
        assert!(tx_sk(9) < tx_sk(10));
        assert!(lot_sk("2026-01-02") < lot_sk(scrm_core::points::model::NEVER));
        assert!(shard(&c) < SHARDS);
        assert_eq!(shard(&c), shard(&CustomerId::parse("wm1").unwrap()));
    }
}
