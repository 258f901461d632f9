//! The directory table's key layout, in one place. Every partition key starts with the
//! tenant (the corp id), so one tenant's keys can never name another tenant's items.
//!
//! | Item | pk | sk | gsi1 (pk / sk) | gsi2 (pk / sk) |
//! |---|---|---|---|---|
//! | Customer | `{corp}#CUST#{ext}` | `PROFILE` | | |
//! | Follow relation | `{corp}#CUST#{ext}` | `FOLLOW#{userid}` | | |
//! | Known staff member | `{corp}#STAFF#{userid}` | `PROFILE` | `{corp}#STAFFS` / `{userid}` | |
//! | Group | `{corp}#GROUP#{chat}` | `PROFILE` | `{corp}#GROUPS` / `{chat}` | `{corp}#OWNER#{owner}` / `{chat}` |
//! | Membership | `{corp}#GROUP#{chat}` | `MEMBER#{member}` | `{corp}#MEMBER#{member}` / `{chat}` | |
//! | Group's counters (not indexed; the member count as WeCom's detail last gave it) | `{corp}#GROUP#{chat}` | `COUNTS` | | |
//! | Callback receipt | `{corp}#CB#{dedupe key}` | `RECEIPT` | | |
//! | The callback sweep's walk of the listing | `{corp}#CBSWEEP` | `CURSOR` | | |
//! | Re-sync job | `{corp}#RESYNC#{job}` | `JOB` | `{corp}#RESYNCS` / `{created}#{job}` | |
//! | Re-sync job's list part (staff, unlicensed, requested userids) | `{corp}#RESYNC#{job}` | `LIST#{list}#{generation}#{n:04}` | | |
//!
//! A customer with a name is also in gsi3 (keys only): `{corp}#NAME#{shard:02}` /
//! `{normalized name}#{ext}` ([`scrm_core::contacts::search`]). A callback receipt is in
//! gsi3 too, by received time (`{received}#{key's first 16 hex}`): `{corp}#CALLBACKS#{shard:02}`
//! from its creation, never moved (known events; receipts written earlier sat in
//! `{corp}#CALLBACKS#PENDING#{shard:02}` until published), or `{corp}#CALLBACKS#UNKNOWN`
//! (unknown events); `{shard}` hashes the dedupe key. Every customer is in gsi4
//! (keys only): `{corp}#CUSTOMERS#{shard:02}` / `{ext}`, the listing by id, 16 shards by a
//! hash of the id. Items written before gsi4 may still carry gsi1 `{corp}#CUSTOMERS` (and
//! follow relations gsi2 `{corp}#STAFF#{userid}`) until their next write or the backfill
//! removes them. An active membership is also in gsi4 (keys only):
//! `{corp}#GMEMBERS#{chat}` / `{member}`, the group's members counted
//! ([`group_members_index`]); a leave removes the entry.
//!
//! Corp tags live in the same table under `{corp}#TAGS` (see [`scrm_core::tags`]).
use scrm_core::tenants::TenantId;

/// The sort key of a customer's, a staff member's or a group's own item.
pub const PROFILE: &str = "PROFILE";
/// Sort-key prefix of follow relations under a customer.
pub const FOLLOW: &str = "FOLLOW#";
/// Sort-key prefix of memberships under a group.
pub const MEMBER: &str = "MEMBER#";
/// The sort key of a callback receipt.
pub const RECEIPT: &str = "RECEIPT";
/// The sort key of a group's counters (the member count and version WeCom's detail last
/// gave, when it was last fetched, and `members_counted` once the group's active
/// memberships are its count): not indexed. Joins and leaves do not write it.
pub const COUNTS: &str = "COUNTS";
/// The sort key of a re-sync job.
pub const JOB: &str = "JOB";

/// A customer's partition.
pub fn customer_pk(t: &TenantId, external_userid: &str) -> String {
    format!("{t}#CUST#{external_userid}")
}

/// The follow relation's sort key.
pub fn follow_sk(userid: &str) -> String {
    format!("{FOLLOW}{userid}")
}

/// The old layout's gsi1 partition listing every customer (and their follow relations)
/// of a tenant: read only by the backfill that moves its items to [`customer_shard_index`].
pub fn customers_index(t: &TenantId) -> String {
    format!("{t}#CUSTOMERS")
}

/// A shard of the customer listing (gsi4, keys only) by id.
pub fn customer_shard_index(t: &TenantId, shard: u32) -> String {
    format!("{t}#CUSTOMERS#{shard:02}")
}

/// A shard of the name index (gsi3) listing customers by normalized name.
pub fn names_index(t: &TenantId, shard: u32) -> String {
    format!("{t}#NAME#{shard:02}")
}

/// A known staff member's partition.
pub fn staff_pk(t: &TenantId, userid: &str) -> String {
    format!("{t}#STAFF#{userid}")
}

/// The index partition listing every known staff member.
pub fn staffs_index(t: &TenantId) -> String {
    format!("{t}#STAFFS")
}

/// A group's partition.
pub fn group_pk(t: &TenantId, chat_id: &str) -> String {
    format!("{t}#GROUP#{chat_id}")
}

/// A membership's sort key.
pub fn member_sk(member_id: &str) -> String {
    format!("{MEMBER}{member_id}")
}

/// The index partition (gsi4, keys only) holding one entry per active member of a group:
/// the group's member count is a count of it, so a join or a leave writes only its own
/// membership (the entry comes and goes with it) and no shared counter.
pub fn group_members_index(t: &TenantId, chat_id: &str) -> String {
    format!("{t}#GMEMBERS#{chat_id}")
}

/// The index partition listing every group of a tenant.
pub fn groups_index(t: &TenantId) -> String {
    format!("{t}#GROUPS")
}

/// The index partition listing one owner's groups.
pub fn owner_index(t: &TenantId, owner: &str) -> String {
    format!("{t}#OWNER#{owner}")
}

/// The index partition listing one member's (customer's or staff's) groups.
pub fn member_groups_index(t: &TenantId, member_id: &str) -> String {
    format!("{t}#MEMBER#{member_id}")
}

/// A callback receipt's partition.
pub fn receipt_pk(t: &TenantId, dedupe_key: &str) -> String {
    format!("{t}#CB#{dedupe_key}")
}

/// How many shards the receipts' listings (gsi3, keys only) are spread over: a 300/s
/// burst of callbacks puts about 40 entries a second on each.
pub const CALLBACK_SHARDS: u32 = 8;

/// The listing shard of a receipt: a hash of its dedupe key.
pub fn callback_shard(dedupe_key: &str) -> u32 {
    use sha2::{Digest, Sha256};
    u32::from(Sha256::digest(dedupe_key.as_bytes())[0]) % CALLBACK_SHARDS
}

/// A shard of the callbacks of known events (gsi3, keys only), by received time: a receipt
/// is listed here from its creation and never moves (the sweep walks these shards).
pub fn callbacks_index(t: &TenantId, shard: u32) -> String {
    format!("{t}#CALLBACKS#{shard:02}")
}

/// Before listings stopped moving: a shard of the receipts of known events not yet
/// published (gsi3, keys only), which publishing moved to [`callbacks_index`]. Read while
/// receipts written then live (30 days).
pub fn pending_callbacks_index(t: &TenantId, shard: u32) -> String {
    format!("{t}#CALLBACKS#PENDING#{shard:02}")
}

/// The partition of the sweep's walk through a tenant's listing shards.
pub fn callback_sweep_pk(t: &TenantId) -> String {
    format!("{t}#CBSWEEP")
}

/// The sort key of the sweep's walk.
pub const SWEEP_CURSOR: &str = "CURSOR";

/// The callbacks whose event is unknown (gsi3, keys only; rare, so one partition).
pub fn unknown_callbacks_index(t: &TenantId) -> String {
    format!("{t}#CALLBACKS#UNKNOWN")
}

/// Before the sharded listings: every receipt in gsi1 (all attributes), newest last. Read
/// while receipts written then live (30 days).
pub fn legacy_callbacks_index(t: &TenantId) -> String {
    format!("{t}#CALLBACKS")
}

/// Before the sharded listings: gsi2's unknown events (all attributes).
pub fn legacy_unknown_callbacks_index(t: &TenantId) -> String {
    format!("{t}#CALLBACKS#UNKNOWN")
}

/// Before the sharded listings: gsi2's receipts not yet published (all attributes).
pub fn legacy_pending_callbacks_index(t: &TenantId) -> String {
    format!("{t}#CALLBACKS#PENDING")
}

/// A re-sync job's partition.
pub fn job_pk(t: &TenantId, job_id: &str) -> String {
    format!("{t}#RESYNC#{job_id}")
}

/// The sort-key prefix of one written generation of a re-sync job's list (`staff`,
/// `unlicensed`, `requested`).
pub fn job_list_prefix(list: &str, generation: &str) -> String {
    format!("LIST#{list}#{generation}#")
}

/// The sort key of part `n` of one generation of a re-sync job's list.
pub fn job_list_sk(list: &str, generation: &str, n: usize) -> String {
    format!("{}{n:04}", job_list_prefix(list, generation))
}

/// The index partition listing a tenant's re-sync jobs.
pub fn jobs_index(t: &TenantId) -> String {
    format!("{t}#RESYNCS")
}

/// The old layout's gsi1 sort key that sorts after every item of customer `ext` in
/// [`customers_index`] and before the next customer: ids are letters, digits, `_` and `-`,
/// all above `#`, and `~` sorts above them all.
pub fn after_customer(external_userid: &str) -> String {
    format!("{external_userid}#~")
}
