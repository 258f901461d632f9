//! The tasks table's key layout, in one place. Every partition key starts with the tenant.
//!
//! | Item | pk | sk | gsi1 (pk / sk) | gsi2 (pk / sk) |
//! |---|---|---|---|---|
//! | Plan (with its last dispatch failure while it has not moved on) | `{t}#PLAN#{plan}` | `PLAN` | `{t}#DUE` / `{due epoch:012}#P#{plan}` (active, with a next occurrence) | `{t}#PLANS` / `{plan}` |
//! | Occurrence | `{t}#PLAN#{plan}` | `OCC#{occ}` | | |
//! | Task (16 shards by target) | `{t}#OCC#{plan}#{occ}#{shard:02}` (before sharding: `{t}#OCC#{plan}#{occ}`, still read) | `TASK#{target}` (`TASK#A:all#{staff}` for a moments sender) | `{t}#STAFF#{staff}` / `{P,D,F}#{scheduled:012}#{plan}#{occ}#{target}` | `{t}#TARGET#{target}` / `{scheduled:012}#{plan}#{occ}#{staff}` (pending only) |
//! | Outbox entry | `{t}#OCC#{plan}#{occ}` | `OUT#REM#{staff}`, `OUT#GMSG#{staff}#{branch or -}#{n}`, `OUT#MOMENT` | `{t}#OUTBOX` / `{next attempt:012}#…` (pending), then `{t}#SYNC` / `{next sync:012}#…` (awaiting WeCom results) | |
//! | Journey run | `{t}#JRUN#{plan}#{customer}#{entered}` | `RUN` | `{t}#DUE` / `{due:012}#J#{run}` (while steps remain) | `{t}#CUSTRUNS#{customer}` / `{run}` |
//! | Stage index | `{t}#STAGE#{stage}` | `PLAN#{plan}` | | |
//! | Quota counter | `{t}#QUOTA#G#{chat}` or `{t}#QUOTA#C#{customer}` | `M2025-07`, `W2025-27`, `D2025-07-01`, `S#{staff}#D2025-07-01` | | |
//! | Group tag | `{t}#GTAGS#{chat}` | `TAG#{tag}` | | `{t}#GTAG#{tag}` / `{chat}` |
use chrono::{DateTime, Utc};
use scrm_core::sop::plan::PlanId;
use scrm_core::sop::task::{OccurrenceId, Target};
use scrm_core::tenants::TenantId;
use sha2::{Digest, Sha256};

/// The sort key of a plan.
pub const PLAN: &str = "PLAN";
/// The sort key of a journey run.
pub const RUN: &str = "RUN";
/// Sort-key prefix of occurrences under a plan.
pub const OCC: &str = "OCC#";
/// Sort-key prefix of tasks under an occurrence.
pub const TASK: &str = "TASK#";
/// Sort-key prefix of outbox entries under an occurrence.
pub const OUTBOX: &str = "OUT#";

/// A plan's partition (the plan and its occurrences).
pub fn plan_pk(t: &TenantId, plan: &PlanId) -> String {
    format!("{t}#PLAN#{plan}")
}

/// An occurrence's sort key.
pub fn occ_sk(occ: &OccurrenceId) -> String {
    format!("{OCC}{occ}")
}

/// An occurrence's partition: its outbox entries (one per staff member and WeCom task), and
/// the tasks stored before they were sharded (still read until they expire).
pub fn occ_pk(t: &TenantId, plan: &PlanId, occ: &OccurrenceId) -> String {
    format!("{t}#OCC#{plan}#{occ}")
}

/// Shards of an occurrence's tasks: a 10k-group occurrence created within the minute writes
/// ~1,000 units/s, which one partition (1,000 WCU/s) cannot take; spread over 16 each takes
/// ~60.
pub const TASK_SHARDS: u32 = 16;

/// The shard of a task's target: stable across runs and processes, so a re-run finds the
/// task it created.
pub fn task_shard(target: &Target) -> u32 {
    let digest = Sha256::digest(target.key().as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % TASK_SHARDS
}

/// A shard of an occurrence's tasks.
pub fn occ_tasks_pk(t: &TenantId, plan: &PlanId, occ: &OccurrenceId, shard: u32) -> String {
    format!("{t}#OCC#{plan}#{occ}#{shard:02}")
}

/// The partition a task of `target` is created in.
pub fn task_pk(t: &TenantId, plan: &PlanId, occ: &OccurrenceId, target: &Target) -> String {
    occ_tasks_pk(t, plan, occ, task_shard(target))
}

/// A task's sort key: one task per group or customer and occurrence, whoever executes it
/// (an owner transfer or another journey contact never makes a second task). A moments
/// audience is each sender's own, so a moments task is per sender.
pub fn task_sk(target: &Target, staff: &str) -> String {
    match target {
        Target::Audience => format!("{TASK}{}#{staff}", target.key()),
        _ => format!("{TASK}{}", target.key()),
    }
}

/// The sort key tasks were stored under before a task's key left out its staff member
/// (`TASK#{target}#{staff}`); still read, so that tasks of earlier occurrences stay
/// reachable until they expire.
pub fn legacy_task_sk(target: &Target, staff: &str) -> String {
    format!("{TASK}{}#{staff}", target.key())
}

/// The due index partition of a tenant.
pub fn due_index(t: &TenantId) -> String {
    format!("{t}#DUE")
}

/// A due index sort key: zero-padded epoch seconds sort by time.
pub fn due_sk(at: DateTime<Utc>, kind: &str, id: &str) -> String {
    format!("{:012}#{kind}#{id}", at.timestamp())
}

/// The index partition listing a tenant's plans.
pub fn plans_index(t: &TenantId) -> String {
    format!("{t}#PLANS")
}

/// The index partition listing a staff member's tasks.
pub fn staff_index(t: &TenantId, staff: &str) -> String {
    format!("{t}#STAFF#{staff}")
}

/// The index partition listing the pending tasks of a target.
pub fn target_index(t: &TenantId, target_key: &str) -> String {
    format!("{t}#TARGET#{target_key}")
}

/// The index partition of outbox entries awaiting an attempt.
pub fn outbox_index(t: &TenantId) -> String {
    format!("{t}#OUTBOX")
}

/// The index partition of WeCom tasks awaiting a result sync.
pub fn sync_index(t: &TenantId) -> String {
    format!("{t}#SYNC")
}

/// A journey run's partition.
pub fn run_pk(t: &TenantId, run_id: &str) -> String {
    format!("{t}#JRUN#{run_id}")
}

/// The index partition of a customer's journey runs.
pub fn customer_runs_index(t: &TenantId, external_userid: &str) -> String {
    format!("{t}#CUSTRUNS#{external_userid}")
}

/// The partition listing the journey plans of a stage.
pub fn stage_pk(t: &TenantId, stage: &str) -> String {
    format!("{t}#STAGE#{stage}")
}

/// A stage entry's sort key.
pub fn stage_sk(plan: &PlanId) -> String {
    format!("PLAN#{plan}")
}

/// A quota counter's partition (`counter` is `G#{chat}` or `C#{customer}`).
pub fn quota_pk(t: &TenantId, counter: &str) -> String {
    format!("{t}#QUOTA#{counter}")
}

/// A group's tags partition.
pub fn group_tags_pk(t: &TenantId, chat_id: &str) -> String {
    format!("{t}#GTAGS#{chat_id}")
}

/// A group tag's sort key.
pub fn tag_sk(tag: &str) -> String {
    format!("TAG#{tag}")
}

/// The index partition listing the groups with a tag.
pub fn tagged_index(t: &TenantId, tag: &str) -> String {
    format!("{t}#GTAG#{tag}")
}
