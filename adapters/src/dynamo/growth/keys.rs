//! The growth context's keys, in the tasks table (`{t}` is the corp id):
//!
//! | Item | pk | sk | gsi1 (pk / sk) | gsi2 (pk / sk) |
//! |---|---|---|---|---|
//! | Channel code (`code` JSON, `version`, `rota_due` epoch s) | `{t}#CHAN#{state}` | `CODE` | `ROTADUE#{shard}` / `{rota_due:012}#{t}#{state}` while active with a next boundary | `{t}#CHANS` / `{state}` |
//! | Default welcome (`welcome` JSON) | `{t}#WELCOME` | `DEFAULT` | | |
//! | Record of an add or removal (`welcome`, `errcode`, `state`, `counted`; TTL 90 days) | `{t}#GADD#{event id}` | `ADD` | | |
//! | A member's day through a code (`added`, `removed`; TTL 400 days) | `{t}#CHSTATS#{shard}` | `{state}#{date}#{userid}` | | |
//! | Group code (`code` JSON, `version`) | `{t}#GCODE#{state}` | `CODE` | | `{t}#GCODES` / `{state}` |
//! | A group in a group code's pool | `{t}#GCCHAT#{chat_id}` | `{state}` | | |
//! | Record of a join counted for a group code (TTL 90 days) | `{t}#GJOIN#{event id}` | `{state}` | | |
//! | A group's day through a group code (`joined`; TTL 400 days) | `{t}#GCSTATS#{shard}` | `{state}#{date}#{chat_id}` | | |
//!
//! The figures are spread over 16 partitions by a hash of the code and member, so that no
//! partition takes a whole tenant's adds, and a member's day is one item (the rota's cap
//! reads it).
//!
//! The rota's due index is the one growth partition not under a tenant: the minute's runner
//! reads what is due across every tenant without iterating them (16 queries a minute,
//! whatever the number of tenants and codes). Its 16 shards, by a hash of tenant and code,
//! spread the writes of a boundary many codes share (09:00 in one zone). Being the code
//! item's own index entry, it moves with the code's writes and leaves with its delete.
use scrm_core::tenants::TenantId;
use sha2::{Digest, Sha256};

/// Partitions of the figures.
pub const STATS_SHARDS: u32 = 16;

/// A code.
pub fn code_pk(t: &TenantId, state: &str) -> String {
    format!("{t}#CHAN#{state}")
}
/// The code item's sort key.
pub const CODE_SK: &str = "CODE";
/// The tenant's codes (gsi2).
pub fn codes_index(t: &TenantId) -> String {
    format!("{t}#CHANS")
}
/// The default welcome.
pub fn default_welcome_pk(t: &TenantId) -> String {
    format!("{t}#WELCOME")
}
/// The default welcome's sort key.
pub const DEFAULT_SK: &str = "DEFAULT";
/// The record of an add or removal.
pub fn record_pk(t: &TenantId, event_id: &str) -> String {
    format!("{t}#GADD#{event_id}")
}
/// The record's sort key.
pub const RECORD_SK: &str = "ADD";

/// Partitions of the rota's due index.
pub const ROTA_SHARDS: u32 = 16;
/// The shard of a code in the rota's due index (stable: a code's entry moves within it).
pub fn rota_shard(t: &TenantId, state: &str) -> u32 {
    let digest = Sha256::digest(format!("{t}#{state}").as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % ROTA_SHARDS
}
/// A partition of the rota's due index (gsi1).
pub fn rota_due_pk(shard: u32) -> String {
    format!("ROTADUE#{shard:02}")
}
/// A code's place in the rota's due index: due time (epoch s, 12 digits), tenant, code.
pub fn rota_due_sk(due_epoch: i64, t: &TenantId, state: &str) -> String {
    format!("{due_epoch:012}#{t}#{state}")
}

/// The shard of a code's member: stable, so every add of the member's day through the code
/// lands on one item.
pub fn stats_shard(state: &str, userid: &str) -> u32 {
    let digest = Sha256::digest(format!("{state}#{userid}").as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % STATS_SHARDS
}
/// A partition of the figures.
pub fn stats_pk(t: &TenantId, shard: u32) -> String {
    format!("{t}#CHSTATS#{shard:02}")
}
/// A member's day through a code.
pub fn stats_sk(state: &str, date: &str, userid: &str) -> String {
    format!("{state}#{date}#{userid}")
}

/// A group code.
pub fn group_code_pk(t: &TenantId, state: &str) -> String {
    format!("{t}#GCODE#{state}")
}
/// The tenant's group codes (gsi2).
pub fn group_codes_index(t: &TenantId) -> String {
    format!("{t}#GCODES")
}
/// The group codes with a group in their pool, and the group fission campaigns offering it
/// (sort key: the code's state or the campaign's id).
pub fn pool_pk(t: &TenantId, chat_id: &str) -> String {
    format!("{t}#GCCHAT#{chat_id}")
}
/// The records of one join event, one per code it was counted for (sort key: the state).
pub fn join_record_pk(t: &TenantId, event_id: &str) -> String {
    format!("{t}#GJOIN#{event_id}")
}
/// The shard of a code's group: every join of the group's day through the code lands on
/// one item.
pub fn group_stats_shard(state: &str, chat_id: &str) -> u32 {
    stats_shard(state, chat_id)
}
/// A partition of the group codes' figures.
pub fn group_stats_pk(t: &TenantId, shard: u32) -> String {
    format!("{t}#GCSTATS#{shard:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(stats_shard("ch1", "amy"), stats_shard("ch1", "amy"));
        let used: std::collections::HashSet<u32> = (0..200)
            .map(|i| stats_shard("ch0123456789abcdef", &format!("u{i}")))
            .collect();
        assert!(used.len() > 12, "{used:?}");
        assert!(used.iter().all(|s| *s < STATS_SHARDS));
    }
}
