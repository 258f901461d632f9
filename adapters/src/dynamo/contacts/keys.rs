//! The directory table's key layout, in one place. Every partition key starts with the
//! tenant (the corp id), so one tenant's keys can never name another tenant's items.
//!
//! | Item | pk | sk | gsi1 (pk / sk) | gsi2 (pk / sk) |
//! |---|---|---|---|---|
//! | Customer | `{corp}#CUST#{ext}` | `PROFILE` | `{corp}#CUSTOMERS` / `{ext}` | |
//! | Follow relation | `{corp}#CUST#{ext}` | `FOLLOW#{userid}` | `{corp}#CUSTOMERS` / `{ext}#{userid}` | `{corp}#STAFF#{userid}` / `{ext}` |
//! | Known staff member | `{corp}#STAFF#{userid}` | `PROFILE` | `{corp}#STAFFS` / `{userid}` | |
//! | Group | `{corp}#GROUP#{chat}` | `PROFILE` | `{corp}#GROUPS` / `{chat}` | `{corp}#OWNER#{owner}` / `{chat}` |
//! | Membership | `{corp}#GROUP#{chat}` | `MEMBER#{member}` | `{corp}#MEMBER#{member}` / `{chat}` | |
//! | Callback receipt | `{corp}#CB#{dedupe key}` | `RECEIPT` | `{corp}#CALLBACKS` / `{received}#{key}` | `{corp}#CALLBACKS#UNKNOWN` / same (unknown events); `{corp}#CALLBACKS#PENDING` / same (known events until published) |
//! | Re-sync job | `{corp}#RESYNC#{job}` | `JOB` | `{corp}#RESYNCS` / `{created}#{job}` | |
//! | Re-sync job's list part (staff, unlicensed, requested userids) | `{corp}#RESYNC#{job}` | `LIST#{list}#{generation}#{n:04}` | | |
//!
//! A customer with a name is also in gsi3 (keys only): `{corp}#NAME#{shard:02}` /
//! `{normalized name}#{ext}` ([`scrm_core::contacts::search`]).
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

/// The index partition listing every customer (and their follow relations) of a tenant.
pub fn customers_index(t: &TenantId) -> String {
    format!("{t}#CUSTOMERS")
}

/// A shard of the name index (gsi3) listing customers by normalized name.
pub fn names_index(t: &TenantId, shard: u32) -> String {
    format!("{t}#NAME#{shard:02}")
}

/// The index partition listing one staff member's customers.
pub fn staff_customers_index(t: &TenantId, userid: &str) -> String {
    format!("{t}#STAFF#{userid}")
}

/// A known staff member's partition (same text as [`staff_customers_index`], on purpose a
/// different attribute: the table's pk, not gsi2pk).
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

/// The index partition listing received callbacks, newest last.
pub fn callbacks_index(t: &TenantId) -> String {
    format!("{t}#CALLBACKS")
}

/// The index partition listing callbacks whose event is unknown.
pub fn unknown_callbacks_index(t: &TenantId) -> String {
    format!("{t}#CALLBACKS#UNKNOWN")
}

/// The index partition listing receipts of known events not yet published (the sweep's
/// work list), oldest first.
pub fn pending_callbacks_index(t: &TenantId) -> String {
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

/// The gsi1 sort key that sorts after every item of customer `ext` in
/// [`customers_index`] and before the next customer: ids are letters, digits, `_` and `-`,
/// all above `#`, and `~` sorts above them all.
pub fn after_customer(external_userid: &str) -> String {
    format!("{external_userid}#~")
}
