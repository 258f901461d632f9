//! The directory table adapter: customers, follow relations, known staff, groups and
//! memberships. Every write is idempotent and carries the epoch seconds of the change it
//! applies (`event_at`): a write older than what an item already holds is dropped, so a
//! late re-delivery or reordered callbacks never move the directory backwards.
mod follow_tags;
pub mod keys;
mod receipt_codec;
mod receipts;
mod resync;

use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{
    GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, GSI3, GSI3_PK, GSI3_SK, GSI4, GSI4_PK, GSI4_SK,
    SK,
};
use crate::dynamo::{Db, Query, StoreError, Table, Update};
use aws_sdk_dynamodb::types::AttributeValue;
use futures::{StreamExt, TryStreamExt};
use scrm_core::contacts::model::*;
use scrm_core::contacts::ports::*;
use scrm_core::contacts::resync::{follow_content_hash, profile_content_hash};
use scrm_core::contacts::search::{name_position, name_shard, normalize_name, NAME_SHARDS};
use scrm_core::events::RemovedBy;
use scrm_core::tenants::TenantId;
use scrm_core::wecom::api::{ExternalContact, GroupChat};
use std::collections::HashSet;

/// How many single-item writes run at once when a whole member list is written.
const WRITE_CONCURRENCY: usize = 8;
/// How many customers' partitions a page of the customer listing reads at once.
const READ_CONCURRENCY: usize = 16;
/// The attribute holding the content hash of what WeCom returned for a customer profile or
/// a follow relation ([`scrm_core::contacts::resync`]): set by every write of WeCom's
/// detail, removed by any other change of the relation's content, so a re-sync can tell
/// an unchanged record without writing it.
pub(crate) const CONTENT_HASH: &str = "content_hash";
/// The counters item's mark that the group's member count is the count of its active
/// memberships (gsi4 `{corp}#GMEMBERS#{chat}`): set once the directory held the group's
/// whole member list (its creation, a re-sync). Without it (a group first seen in a
/// change, or counted before the index) the count is the one WeCom's detail last gave.
pub(crate) const MEMBERS_COUNTED: &str = "members_counted";

/// The DynamoDB adapter of the directory table (also the callback receipts and re-sync
/// jobs, see `receipts` and `resync`).
#[derive(Debug, Clone)]
pub struct DynamoDirectory {
    pub(crate) table: Table,
}

impl DynamoDirectory {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self {
            table: db.directory(),
        }
    }

    /// Applies an update under its condition; `Ok(false)` when the condition failed.
    pub(crate) async fn update(
        &self,
        pk: String,
        sk: impl Into<String>,
        u: &Update,
    ) -> Result<bool, StoreError> {
        self.table.update(pk, sk, u).await
    }

    pub(crate) async fn get(&self, pk: String, sk: &str) -> Result<Option<AttrMap>, StoreError> {
        self.table.get_consistent(pk, sk).await
    }

    async fn query_partition(&self, pk: String) -> Result<Vec<AttrMap>, StoreError> {
        self.table
            .query_all(Query::partition(pk).consistent())
            .await
    }

    /// Whether the membership is in state `active` because of the change `by` (the
    /// callback's dedupe key recorded in `joined_by` / `left_by` by the write that made it).
    async fn made_by(
        &self,
        t: &TenantId,
        chat_id: &str,
        member_id: &str,
        active: bool,
        by: &str,
    ) -> Result<bool, StoreError> {
        let attr = if active { "joined_by" } else { "left_by" };
        Ok(self
            .get(keys::group_pk(t, chat_id), &keys::member_sk(member_id))
            .await?
            .is_some_and(|m| {
                m.bool_opt("active").unwrap_or(false) == active && m.s_opt(attr) == Some(by)
            }))
    }

    /// A join, counted once: `by` (a change's id) is recorded on the membership, so that
    /// the same change retried reports the join it made.
    #[allow(clippy::too_many_arguments)]
    async fn join(
        &self,
        t: &TenantId,
        chat_id: &str,
        m: &MemberWrite,
        at: i64,
        by: Option<&str>,
        version: Option<&str>,
    ) -> Result<bool, StoreError> {
        // One write: the membership, its entry in the member's groups (gsi1) and in the
        // group's count (gsi4) come with it; conditioned on its state, so a member is
        // counted once however often the change is applied.
        let mut u = active_member_update(t, chat_id, m, at);
        match by {
            Some(by) => u.set("joined_by", s(by)),
            None => u.remove("joined_by"),
        };
        u.remove("left_by");
        member_version(&mut u, version, at);
        let active = u.name("active");
        u.value(":f", AttributeValue::Bool(false))
            .when(format!("(attribute_not_exists({active}) OR {active} = :f)"));
        if self
            .update(
                keys::group_pk(t, chat_id),
                keys::member_sk(&m.member_id),
                &u,
            )
            .await?
        {
            return Ok(true);
        }
        match by {
            Some(by) => self.made_by(t, chat_id, &m.member_id, true, by).await,
            None => Ok(false),
        }
    }

    /// A leave, uncounted once; `by` as for [`Self::join`].
    #[allow(clippy::too_many_arguments)]
    async fn leave(
        &self,
        t: &TenantId,
        chat_id: &str,
        member_id: &str,
        is_customer: bool,
        quit_scene: Option<i64>,
        at: i64,
        by: Option<&str>,
        version: Option<&str>,
    ) -> Result<bool, StoreError> {
        let left = |cond_active: bool| {
            let mut u = Update::new();
            member_keys_guessed(&mut u, t, chat_id, member_id, is_customer);
            uncounted(&mut u);
            u.set("active", AttributeValue::Bool(false))
                .set("left_at", n(at))
                .set("event_at", n(at))
                .set("updated_at", n(at));
            match quit_scene {
                Some(q) => u.set("quit_scene", n(q)),
                None => u.remove("quit_scene"),
            };
            not_older(&mut u, at);
            if cond_active {
                // Only the write that makes the leave names its change.
                match by {
                    Some(by) => u.set("left_by", s(by)),
                    None => u.remove("left_by"),
                };
                member_version(&mut u, version, at);
                let active = u.name("active");
                u.value(":t", AttributeValue::Bool(true))
                    .when(format!("{active} = :t"));
            }
            u
        };
        // One write, as for a join: the membership's count entry leaves with it.
        let u = left(true);
        if self
            .update(keys::group_pk(t, chat_id), keys::member_sk(member_id), &u)
            .await?
        {
            return Ok(true);
        }
        if let Some(by) = by {
            if self.made_by(t, chat_id, member_id, false, by).await? {
                return Ok(true);
            }
        }
        // Not a current member (unknown, or already gone): record the departure anyway,
        // unless a newer change is stored, without touching the count.
        let u = left(false);
        self.update(keys::group_pk(t, chat_id), keys::member_sk(member_id), &u)
            .await?;
        Ok(false)
    }
}

/// The condition "this change is not older than what the item already holds": the item
/// keeps the epoch seconds of the newest change applied in `event_at`, so a late
/// re-delivery or a reordered callback never overwrites newer facts.
fn not_older(u: &mut Update, at: i64) {
    let n = u.name("event_at");
    u.value(":at", AttributeValue::N(at.to_string()));
    u.when(format!("(attribute_not_exists({n}) OR {n} <= :at)"));
}

fn opt_s(v: Option<&str>) -> Option<AttributeValue> {
    v.map(s)
}

/// The customer's entry in the listing by id (gsi4, keys only, sharded by a hash of the
/// id: written once, when the profile is created). The old layout's gsi1 entry (every
/// attribute, one partition per tenant) is dropped by the same write.
fn customer_keys(u: &mut Update, t: &TenantId, external_userid: &str) {
    u.set(
        GSI4_PK,
        s(keys::customer_shard_index(t, name_shard(external_userid))),
    )
    .set(GSI4_SK, s(external_userid))
    .set("external_userid", s(external_userid))
    .remove(GSI1_PK)
    .remove(GSI1_SK);
}

/// A follow relation is in no index (its readers read the customer's partition); the old
/// layout's gsi1 `{corp}#CUSTOMERS` and gsi2 `{corp}#STAFF#{userid}` entries (every
/// attribute, no reader) are dropped by its next write.
fn follow_keys(u: &mut Update) {
    u.remove(GSI1_PK)
        .remove(GSI1_SK)
        .remove(GSI2_PK)
        .remove(GSI2_SK);
}

/// The customer's entry in the name index (gsi3, keys only): DynamoDB writes the index
/// only when these keys change, so a profile written again with the same name costs the
/// index nothing. A customer without a name leaves the index.
fn customer_name_keys(u: &mut Update, t: &TenantId, external_userid: &str, name: &str) {
    match name_position(name, external_userid) {
        Some(position) => {
            u.set(
                GSI3_PK,
                s(keys::names_index(t, name_shard(external_userid))),
            )
            .set(GSI3_SK, s(position));
        }
        None => {
            u.remove(GSI3_PK).remove(GSI3_SK);
        }
    }
}

fn group_keys(u: &mut Update, t: &TenantId, chat_id: &str) {
    u.set(GSI1_PK, s(keys::groups_index(t)))
        .set(GSI1_SK, s(chat_id))
        .set("chat_id", s(chat_id));
}

fn member_keys(u: &mut Update, t: &TenantId, chat_id: &str, member_id: &str, is_customer: bool) {
    u.set(GSI1_PK, s(keys::member_groups_index(t, member_id)))
        .set(GSI1_SK, s(chat_id))
        .set("chat_id", s(chat_id))
        .set("member_id", s(member_id))
        .set("is_customer", AttributeValue::Bool(is_customer));
}

/// Like [`member_keys`], but the member's type is only a guess: it does not overwrite a
/// type already stored.
fn member_keys_guessed(u: &mut Update, t: &TenantId, chat_id: &str, member_id: &str, guess: bool) {
    u.set(GSI1_PK, s(keys::member_groups_index(t, member_id)))
        .set(GSI1_SK, s(chat_id))
        .set("chat_id", s(chat_id))
        .set("member_id", s(member_id))
        .set_if_not_exists("is_customer", AttributeValue::Bool(guess));
}

/// The active membership's entry in its group's count (gsi4, keys only): written when
/// the membership becomes active, not again while it stays so (keys unchanged), removed
/// when it leaves. The group's member count is a count of these entries.
fn counted(u: &mut Update, t: &TenantId, chat_id: &str, member_id: &str) {
    u.set(GSI4_PK, s(keys::group_members_index(t, chat_id)))
        .set(GSI4_SK, s(member_id));
}

/// A membership that is not active leaves its group's count.
fn uncounted(u: &mut Update) {
    u.remove(GSI4_PK).remove(GSI4_SK);
}

/// The member list's version after a membership change, recorded on the membership the
/// change wrote (no other item is written for it): the group's version is the newest
/// recorded on its memberships and its counters item (`members_at`).
fn member_version(u: &mut Update, version: Option<&str>, at: i64) {
    if let Some(v) = version {
        u.set("member_version", s(v)).set("members_at", n(at));
    }
}

fn active_member_update(t: &TenantId, chat_id: &str, m: &MemberWrite, at: i64) -> Update {
    let mut u = Update::new();
    member_keys(&mut u, t, chat_id, &m.member_id, m.is_customer);
    counted(&mut u, t, chat_id, &m.member_id);
    u.set("active", AttributeValue::Bool(true))
        .set("event_at", n(at))
        .set("updated_at", n(at))
        .set_if_some("join_time", m.join_time.map(n))
        .set_if_some("join_scene", m.join_scene.map(n))
        .set_if_some("invitor", opt_s(m.invitor.as_deref()))
        .set_if_some("group_nickname", opt_s(m.group_nickname.as_deref()))
        .set_if_some("name", opt_s(m.name.as_deref()))
        .set_if_some("state", opt_s(m.state.as_deref()))
        .remove("left_at")
        .remove("quit_scene");
    not_older(&mut u, at);
    u
}

impl DirectoryWrite for DynamoDirectory {
    async fn put_customer_detail(
        &self,
        t: &TenantId,
        c: &ExternalContact,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        customer_keys(&mut u, t, &c.external_userid);
        customer_name_keys(&mut u, t, &c.external_userid, &c.name);
        u.set(CONTENT_HASH, s(profile_content_hash(c)))
            .set("name", s(&c.name))
            .set("contact_type", n(c.contact_type))
            .set("gender", n(c.gender))
            .set_if_some("avatar", opt_s(c.avatar.as_deref()))
            .set_if_some("unionid", opt_s(c.unionid.as_deref()))
            .set_if_some("corp_name", opt_s(c.corp_name.as_deref()))
            .set_if_some("position", opt_s(c.position.as_deref()))
            .set("needs_sync", AttributeValue::Bool(false))
            .set("event_at", n(at))
            .set("updated_at", n(at));
        not_older(&mut u, at);
        self.update(keys::customer_pk(t, &c.external_userid), keys::PROFILE, &u)
            .await
    }

    async fn touch_customer(
        &self,
        t: &TenantId,
        external_userid: &str,
        needs_sync: bool,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        customer_keys(&mut u, t, external_userid);
        if needs_sync {
            u.set("needs_sync", AttributeValue::Bool(true));
        } else {
            u.set_if_not_exists("needs_sync", AttributeValue::Bool(false));
        }
        u.set_if_not_exists("updated_at", n(at));
        self.update(keys::customer_pk(t, external_userid), keys::PROFILE, &u)
            .await?;
        Ok(())
    }

    async fn put_follow(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
        f: &FollowWrite,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        follow_keys(&mut u);
        u.set("external_userid", s(external_userid))
            .set("userid", s(userid))
            .set("status", s(f.status.as_str()))
            .set_if_some("remark", opt_s(f.remark.as_deref()))
            .set_if_some("description", opt_s(f.description.as_deref()))
            .set_if_some("tags", f.tags.as_ref().map(item::json))
            .set_if_some("add_way", f.add_way.map(n))
            .set_if_some("state", opt_s(f.state.as_deref()))
            .set_if_some("oper_userid", opt_s(f.oper_userid.as_deref()))
            .set("needs_sync", AttributeValue::Bool(f.needs_sync))
            .set("event_at", n(at))
            .set("updated_at", n(at));
        if let Some(created) = f.createtime {
            if f.needs_sync {
                // A callback's own time is only a stand-in for WeCom's createtime.
                u.set_if_not_exists("createtime", n(created));
            } else {
                u.set("createtime", n(created));
            }
        }
        if f.needs_sync {
            u.remove(CONTENT_HASH);
        } else {
            u.set(CONTENT_HASH, s(follow_content_hash(f)));
        }
        if f.status != RelationStatus::Removed {
            u.remove("removed_by")
                .remove("removed_source")
                .remove("removed_at");
        }
        not_older(&mut u, at);
        self.update(
            keys::customer_pk(t, external_userid),
            keys::follow_sk(userid),
            &u,
        )
        .await
    }

    async fn mark_follow_needs_sync(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        follow_keys(&mut u);
        u.set("external_userid", s(external_userid))
            .set("userid", s(userid))
            .remove(CONTENT_HASH)
            .set_if_not_exists("status", s(RelationStatus::Active.as_str()))
            .set("needs_sync", AttributeValue::Bool(true))
            .set("updated_at", n(at));
        self.update(
            keys::customer_pk(t, external_userid),
            keys::follow_sk(userid),
            &u,
        )
        .await?;
        Ok(())
    }

    async fn remove_follow(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
        by: RemovedBy,
        source: Option<&str>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        follow_keys(&mut u);
        u.set("external_userid", s(external_userid))
            .set("userid", s(userid))
            .remove(CONTENT_HASH)
            .set("status", s(RelationStatus::Removed.as_str()))
            .set("removed_by", item::json(&by))
            .set("removed_at", n(at))
            .set_if_not_exists("needs_sync", AttributeValue::Bool(false))
            .set("event_at", n(at))
            .set("updated_at", n(at));
        match source {
            Some(src) => u.set("removed_source", s(src)),
            None => u.remove("removed_source"),
        };
        not_older(&mut u, at);
        self.update(
            keys::customer_pk(t, external_userid),
            keys::follow_sk(userid),
            &u,
        )
        .await
    }

    async fn record_transfer_failure(
        &self,
        t: &TenantId,
        external_userid: &str,
        failure: &TransferFailure,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        customer_keys(&mut u, t, external_userid);
        u.set("last_transfer_failure", item::json(failure))
            .set_if_not_exists("needs_sync", AttributeValue::Bool(false))
            .set_if_not_exists("updated_at", n(failure.at));
        let name = u.name("last_transfer_failure_at");
        u.set("last_transfer_failure_at", n(failure.at))
            .value(":tf_at", n(failure.at))
            .when(format!(
                "(attribute_not_exists({name}) OR {name} <= :tf_at)"
            ));
        self.update(keys::customer_pk(t, external_userid), keys::PROFILE, &u)
            .await?;
        Ok(())
    }

    async fn touch_staff(&self, t: &TenantId, userid: &str, at: i64) -> Result<(), StoreError> {
        // Read first (half a read unit): a member already known, as nearly every member a
        // callback names is, is not written again (a write would cost a unit however
        // little it changes). A member written meanwhile by another writer is known too.
        if let Some(known) = self
            .table
            .get(keys::staff_pk(t, userid), keys::PROFILE)
            .await?
        {
            if known.s_opt(GSI1_PK).is_some()
                && known.s_opt("userid").is_some()
                && known.n_opt("first_seen_at")?.is_some()
            {
                return Ok(());
            }
        }
        let mut u = Update::new();
        u.set(GSI1_PK, s(keys::staffs_index(t)))
            .set(GSI1_SK, s(userid))
            .set("userid", s(userid))
            .set_if_not_exists("first_seen_at", n(at));
        self.update(keys::staff_pk(t, userid), keys::PROFILE, &u)
            .await?;
        Ok(())
    }

    async fn record_staff_status(
        &self,
        t: &TenantId,
        userid: &str,
        status: StaffState,
        at: i64,
    ) -> Result<bool, StoreError> {
        if status == StaffState::Departed {
            return self.record_staff_departure(t, userid, at).await;
        }
        let mut u = Update::new();
        u.set(GSI1_PK, s(keys::staffs_index(t)))
            .set(GSI1_SK, s(userid))
            .set("userid", s(userid))
            .set_if_not_exists("first_seen_at", n(at))
            .set("staff_status", s(status.as_str()))
            .set("status_at", n(at))
            .remove("departed_at")
            .remove("departure_published");
        staff_not_older(&mut u, at);
        self.update(keys::staff_pk(t, userid), keys::PROFILE, &u)
            .await
    }

    async fn record_staff_departure(
        &self,
        t: &TenantId,
        userid: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.set(GSI1_PK, s(keys::staffs_index(t)))
            .set(GSI1_SK, s(userid))
            .set("userid", s(userid))
            .set_if_not_exists("first_seen_at", n(at))
            .set("staff_status", s(StaffState::Departed.as_str()))
            .set("status_at", n(at))
            .set("departed_at", n(at))
            .set("departure_published", AttributeValue::Bool(false));
        staff_not_older(&mut u, at);
        let st = u.name("staff_status");
        u.value(":departed", s(StaffState::Departed.as_str()))
            .when(format!("(attribute_not_exists({st}) OR {st} <> :departed)"));
        self.update(keys::staff_pk(t, userid), keys::PROFILE, &u)
            .await
    }

    async fn mark_departure_published(
        &self,
        t: &TenantId,
        userid: &str,
        departed_at: i64,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("departure_published", AttributeValue::Bool(true));
        let st = u.name("staff_status");
        let dep = u.name("departed_at");
        u.value(":departed", s(StaffState::Departed.as_str()))
            .value(":dep", n(departed_at))
            .when(format!("{st} = :departed AND {dep} = :dep"));
        self.update(keys::staff_pk(t, userid), keys::PROFILE, &u)
            .await?;
        Ok(())
    }

    async fn put_group_detail(
        &self,
        t: &TenantId,
        chat: &GroupChat,
        status: Option<i64>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let pk = keys::group_pk(t, &chat.chat_id);
        // The count and the member list's version go to the counters item (not indexed),
        // with when WeCom's detail was fetched (callbacks within a few seconds of it do not
        // fetch again). The profile, which two indexes list, is written only when what it
        // says changes.
        let mut c = Update::new();
        c.set("chat_id", s(&chat.chat_id))
            .set("member_count", n(chat.member_list.len() as i64))
            .set_if_some("member_version", opt_s(chat.member_version.as_deref()))
            .set("members_at", n(at))
            .set("detail_at", n(at));
        let mat = c.name("members_at");
        c.value(":mv_at", n(at))
            .when(format!("(attribute_not_exists({mat}) OR {mat} <= :mv_at)"));
        let counted = self.update(pk.clone(), keys::COUNTS, &c).await?;
        let stored = self.get(pk.clone(), keys::PROFILE).await?;
        if let Some(p) = &stored {
            if p.n_opt("event_at")?.unwrap_or(0) > at {
                return Ok(false);
            }
            let same = p.s_opt("name") == Some(chat.name.as_str())
                && p.s_opt("owner") == Some(chat.owner.as_str())
                && p.n_opt("create_time")? == Some(chat.create_time)
                && p.s_opt("notice") == chat.notice.as_deref()
                && status.is_none_or(|st| p.n_opt("status").ok().flatten() == Some(st))
                && p.n_opt("status")?.is_some()
                && p.bool_opt("needs_sync") == Some(false)
                && p.bool_opt("dismissed").is_none()
                && p.s_opt(GSI2_PK) == Some(keys::owner_index(t, &chat.owner).as_str());
            if same {
                return Ok(counted);
            }
        }
        let mut u = Update::new();
        group_keys(&mut u, t, &chat.chat_id);
        u.set("name", s(&chat.name))
            .set("owner", s(&chat.owner))
            .set(GSI2_PK, s(keys::owner_index(t, &chat.owner)))
            .set(GSI2_SK, s(&chat.chat_id))
            .set("create_time", n(chat.create_time))
            .set("needs_sync", AttributeValue::Bool(false))
            .set("event_at", n(at))
            .set("updated_at", n(at));
        match status {
            Some(st) => u.set("status", n(st)),
            None => u.set_if_not_exists("status", n(0)),
        };
        match &chat.notice {
            Some(notice) => u.set("notice", s(notice)),
            None => u.remove("notice"),
        };
        u.remove("dismissed");
        not_older(&mut u, at);
        self.update(pk, keys::PROFILE, &u).await
    }

    async fn touch_group(
        &self,
        t: &TenantId,
        chat_id: &str,
        needs_sync: bool,
        at: i64,
    ) -> Result<(), StoreError> {
        // Read first: a group already known (and flagged, if asked) is not written again.
        if let Some(p) = self.get(keys::group_pk(t, chat_id), keys::PROFILE).await? {
            if p.s_opt(GSI1_PK).is_some() && (!needs_sync || p.bool_opt("needs_sync") == Some(true))
            {
                return Ok(());
            }
        }
        let mut u = Update::new();
        group_keys(&mut u, t, chat_id);
        if needs_sync {
            u.set("needs_sync", AttributeValue::Bool(true));
        } else {
            u.set_if_not_exists("needs_sync", AttributeValue::Bool(false));
        }
        u.set_if_not_exists("status", n(0))
            .set_if_not_exists("updated_at", n(at));
        self.update(keys::group_pk(t, chat_id), keys::PROFILE, &u)
            .await?;
        Ok(())
    }

    async fn set_member_version(
        &self,
        t: &TenantId,
        chat_id: &str,
        version: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.set("chat_id", s(chat_id))
            .set("member_version", s(version))
            .set("members_at", n(at));
        let name = u.name("members_at");
        u.value(":mv_at", n(at)).when(format!(
            "(attribute_not_exists({name}) OR {name} <= :mv_at)"
        ));
        self.update(keys::group_pk(t, chat_id), keys::COUNTS, &u)
            .await
    }

    async fn dismiss_group(
        &self,
        t: &TenantId,
        chat_id: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        group_keys(&mut u, t, chat_id);
        u.set("dismissed", AttributeValue::Bool(true))
            .set("dismissed_at", n(at))
            .set_if_not_exists("member_count", n(0))
            .set_if_not_exists("status", n(0))
            .set_if_not_exists("needs_sync", AttributeValue::Bool(false))
            .set("event_at", n(at))
            .set("updated_at", n(at));
        not_older(&mut u, at);
        self.update(keys::group_pk(t, chat_id), keys::PROFILE, &u)
            .await
    }

    async fn member_joined(
        &self,
        t: &TenantId,
        chat_id: &str,
        m: &MemberWrite,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.join(t, chat_id, m, at, None, None).await
    }

    async fn member_joined_by(
        &self,
        t: &TenantId,
        chat_id: &str,
        m: &MemberWrite,
        at: i64,
        by: &str,
        version: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.join(t, chat_id, m, at, Some(by), version).await
    }

    async fn member_left(
        &self,
        t: &TenantId,
        chat_id: &str,
        member_id: &str,
        is_customer: bool,
        quit_scene: Option<i64>,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.leave(
            t,
            chat_id,
            member_id,
            is_customer,
            quit_scene,
            at,
            None,
            None,
        )
        .await
    }

    async fn member_left_by(
        &self,
        t: &TenantId,
        chat_id: &str,
        member_id: &str,
        is_customer: bool,
        quit_scene: Option<i64>,
        at: i64,
        by: &str,
        version: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.leave(
            t,
            chat_id,
            member_id,
            is_customer,
            quit_scene,
            at,
            Some(by),
            version,
        )
        .await
    }

    async fn put_members(
        &self,
        t: &TenantId,
        chat_id: &str,
        members: &[MemberWrite],
        at: i64,
    ) -> Result<(), StoreError> {
        let writes: Vec<_> = members
            .iter()
            .map(|m| {
                let u = active_member_update(t, chat_id, m, at);
                async move {
                    self.update(
                        keys::group_pk(t, chat_id),
                        keys::member_sk(&m.member_id),
                        &u,
                    )
                    .await
                }
            })
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<bool>>()
            .await?;
        Ok(())
    }

    async fn mark_absent_members_left(
        &self,
        t: &TenantId,
        chat_id: &str,
        present: &HashSet<String>,
        at: i64,
    ) -> Result<usize, StoreError> {
        let items = self.query_partition(keys::group_pk(t, chat_id)).await?;
        let gone: Vec<(String, bool)> = items
            .iter()
            .filter(|i| i.s_opt(SK).is_some_and(|sk| sk.starts_with(keys::MEMBER)))
            .filter(|i| i.bool_opt("active").unwrap_or(false))
            .filter_map(|i| {
                let id = i.s_opt("member_id")?;
                (!present.contains(id))
                    .then(|| (id.to_string(), i.bool_opt("is_customer").unwrap_or(false)))
            })
            .collect();
        let count = gone.len();
        let writes: Vec<_> = gone
            .into_iter()
            .map(|(id, is_customer)| async move {
                let mut u = Update::new();
                member_keys(&mut u, t, chat_id, &id, is_customer);
                uncounted(&mut u);
                u.set("active", AttributeValue::Bool(false))
                    .set("left_at", n(at))
                    .set("event_at", n(at))
                    .set("updated_at", n(at))
                    .remove("quit_scene");
                not_older(&mut u, at);
                self.update(keys::group_pk(t, chat_id), keys::member_sk(&id), &u)
                    .await
            })
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<bool>>()
            .await?;
        Ok(count)
    }

    async fn mark_members_counted(&self, t: &TenantId, chat_id: &str) -> Result<(), StoreError> {
        let pk = keys::group_pk(t, chat_id);
        if self
            .get(pk.clone(), keys::COUNTS)
            .await?
            .is_some_and(|c| c.bool_opt(MEMBERS_COUNTED) == Some(true))
        {
            return Ok(());
        }
        // Memberships written before the count index (the migration): each active one gets
        // its entry, unless it left meanwhile (its leave removed what there was).
        let items = self.query_partition(pk.clone()).await?;
        let uncounted: Vec<String> = items
            .iter()
            .filter(|i| i.s_opt(SK).is_some_and(|sk| sk.starts_with(keys::MEMBER)))
            .filter(|i| i.bool_opt("active").unwrap_or(false) && i.s_opt(GSI4_PK).is_none())
            .filter_map(|i| i.s_opt("member_id").map(str::to_string))
            .collect();
        let writes: Vec<_> = uncounted
            .iter()
            .map(|id| {
                let mut u = Update::new();
                counted(&mut u, t, chat_id, id);
                let active = u.name("active");
                u.value(":t", AttributeValue::Bool(true))
                    .when(format!("{active} = :t"));
                let pk = pk.clone();
                async move { self.update(pk, keys::member_sk(id), &u).await }
            })
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<bool>>()
            .await?;
        let mut c = Update::new();
        c.set("chat_id", s(chat_id))
            .set(MEMBERS_COUNTED, AttributeValue::Bool(true));
        self.update(pk, keys::COUNTS, &c).await?;
        Ok(())
    }
}

// ----- reading ---------------------------------------------------------------------------

/// The condition "this status check is not older than the one the staff item holds".
fn staff_not_older(u: &mut Update, at: i64) {
    let n = u.name("status_at");
    u.value(":status_at_cond", AttributeValue::N(at.to_string()))
        .when(format!(
            "(attribute_not_exists({n}) OR {n} <= :status_at_cond)"
        ));
}

fn staff_from_item(item: &AttrMap) -> Result<StaffMember, StoreError> {
    let status = match item.s_opt("staff_status") {
        Some(raw) => Some(
            StaffState::parse(raw)
                .ok_or_else(|| StoreError::Corrupt(format!("staff status {raw}")))?,
        ),
        None => None,
    };
    Ok(StaffMember {
        userid: item.s("userid")?.to_string(),
        status,
        status_at: item.n_opt("status_at")?,
        departed_at: item.n_opt("departed_at")?,
        departure_published: matches!(
            item.get("departure_published"),
            Some(AttributeValue::Bool(true))
        ),
        first_seen_at: item.n_opt("first_seen_at")?,
    })
}

fn opt_string(item: &AttrMap, name: &str) -> Option<String> {
    item.s_opt(name).map(str::to_string)
}

fn customer_from_item(item: &AttrMap) -> Result<Customer, StoreError> {
    Ok(Customer {
        external_userid: item.s("external_userid")?.to_string(),
        name: opt_string(item, "name"),
        avatar: opt_string(item, "avatar"),
        contact_type: item.n_opt("contact_type")?,
        gender: item.n_opt("gender")?,
        unionid: opt_string(item, "unionid"),
        corp_name: opt_string(item, "corp_name"),
        position: opt_string(item, "position"),
        needs_sync: item.bool_opt("needs_sync").unwrap_or(false),
        last_transfer_failure: match item.s_opt("last_transfer_failure") {
            Some(_) => Some(item.json("last_transfer_failure")?),
            None => None,
        },
        updated_at: item.n_opt("updated_at")?.unwrap_or(0),
    })
}

fn follow_from_item(item: &AttrMap) -> Result<FollowRelation, StoreError> {
    Ok(FollowRelation {
        external_userid: item.s("external_userid")?.to_string(),
        userid: item.s("userid")?.to_string(),
        status: RelationStatus::parse(item.s("status")?)
            .ok_or_else(|| StoreError::Corrupt("follow status".into()))?,
        remark: opt_string(item, "remark"),
        description: opt_string(item, "description"),
        tags: match item.s_opt("tags") {
            Some(_) => item.json("tags")?,
            None => Vec::new(),
        },
        add_way: item.n_opt("add_way")?,
        state: opt_string(item, "state"),
        createtime: item.n_opt("createtime")?,
        oper_userid: opt_string(item, "oper_userid"),
        removed_by: match item.s_opt("removed_by") {
            Some(_) => Some(item.json("removed_by")?),
            None => None,
        },
        removed_source: opt_string(item, "removed_source"),
        removed_at: item.n_opt("removed_at")?,
        needs_sync: item.bool_opt("needs_sync").unwrap_or(false),
        updated_at: item.n_opt("updated_at")?.unwrap_or(0),
    })
}

fn group_from_item(item: &AttrMap) -> Result<Group, StoreError> {
    Ok(Group {
        chat_id: item.s("chat_id")?.to_string(),
        name: opt_string(item, "name"),
        owner: opt_string(item, "owner"),
        notice: opt_string(item, "notice"),
        create_time: item.n_opt("create_time")?,
        member_count: item.n_opt("member_count")?.unwrap_or(0).max(0),
        status: item.n_opt("status")?.unwrap_or(0),
        dismissed: item.bool_opt("dismissed").unwrap_or(false),
        member_version: opt_string(item, "member_version"),
        needs_sync: item.bool_opt("needs_sync").unwrap_or(false),
        updated_at: item.n_opt("updated_at")?.unwrap_or(0),
    })
}

/// The group's counters item over its profile: the count and the member list's version
/// as WeCom's detail last gave them (a group without a counters item keeps the profile's).
/// A counted group's readers replace the count with its active memberships'.
fn overlay_counts(g: &mut Group, counts: &AttrMap) -> Result<(), StoreError> {
    if let Some(c) = counts.n_opt("member_count")? {
        g.member_count = c.max(0);
    }
    if let Some(v) = counts.s_opt("member_version") {
        g.member_version = Some(v.to_string());
    }
    Ok(())
}

/// Whether the group's member count is the count of its active memberships.
fn members_counted(counts: Option<&AttrMap>) -> bool {
    counts.is_some_and(|c| c.bool_opt(MEMBERS_COUNTED) == Some(true))
}

/// The member-list version an item records and when (`members_at`): the counters item's
/// from WeCom's detail, a membership's from the change that wrote it.
fn recorded_version(item: &AttrMap) -> Result<Option<(i64, &str)>, StoreError> {
    Ok(
        match (item.n_opt("members_at")?, item.s_opt("member_version")) {
            (Some(at), Some(v)) => Some((at, v)),
            _ => None,
        },
    )
}

impl DynamoDirectory {
    /// How many members the group has now: its entries in the count index (keys only;
    /// every page, eventually consistent).
    pub(crate) async fn count_members(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> Result<i64, StoreError> {
        self.table
            .count(&Query::index(GSI4, keys::group_members_index(t, chat_id)))
            .await
    }

    /// A group's profile with the count and version WeCom's detail last gave (two item
    /// reads, no count): for readers that need the group's name, owner or state.
    pub(crate) async fn group_profile_as_fetched(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> Result<Option<(Group, bool)>, StoreError> {
        let pk = keys::group_pk(t, chat_id);
        let (profile, counts) = futures::try_join!(
            self.get(pk.clone(), keys::PROFILE),
            self.get(pk.clone(), keys::COUNTS)
        )?;
        let Some(profile) = profile else {
            return Ok(None);
        };
        let mut group = group_from_item(&profile)?;
        if let Some(c) = &counts {
            overlay_counts(&mut group, c)?;
        }
        Ok(Some((group, members_counted(counts.as_ref()))))
    }

    /// Overlays the counters items of `groups` (one batch read).
    async fn with_counts(&self, t: &TenantId, groups: &mut [Group]) -> Result<(), StoreError> {
        if groups.is_empty() {
            return Ok(());
        }
        let found = self
            .table
            .batch_get(
                groups
                    .iter()
                    .map(|g| crate::dynamo::key(keys::group_pk(t, &g.chat_id), keys::COUNTS))
                    .collect(),
                None,
            )
            .await?;
        let by_chat: std::collections::HashMap<&str, &AttrMap> = found
            .iter()
            .filter_map(|c| Some((c.s_opt("chat_id")?, c)))
            .collect();
        for g in groups.iter_mut() {
            if let Some(c) = by_chat.get(g.chat_id.as_str()) {
                overlay_counts(g, c)?;
            }
        }
        Ok(())
    }
}

fn membership_from_item(item: &AttrMap) -> Result<Membership, StoreError> {
    Ok(Membership {
        chat_id: item.s("chat_id")?.to_string(),
        member_id: item.s("member_id")?.to_string(),
        is_customer: item.bool_opt("is_customer").unwrap_or(false),
        active: item.bool_opt("active").unwrap_or(false),
        join_time: item.n_opt("join_time")?,
        join_scene: item.n_opt("join_scene")?,
        invitor: opt_string(item, "invitor"),
        group_nickname: opt_string(item, "group_nickname"),
        name: opt_string(item, "name"),
        state: opt_string(item, "state"),
        left_at: item.n_opt("left_at")?,
        quit_scene: item.n_opt("quit_scene")?,
        updated_at: item.n_opt("updated_at")?.unwrap_or(0),
    })
}

fn customer_view(items: &[AttrMap]) -> Result<Option<CustomerView>, StoreError> {
    let mut customer = None;
    let mut follows = Vec::new();
    for item in items {
        match item.s_opt(SK) {
            Some(keys::PROFILE) => customer = Some(customer_from_item(item)?),
            Some(sk) if sk.starts_with(keys::FOLLOW) => follows.push(follow_from_item(item)?),
            _ => {}
        }
    }
    follows.sort_by(|a, b| a.userid.cmp(&b.userid));
    Ok(customer.map(|customer| CustomerView {
        customer,
        follow_users: follows,
    }))
}

impl DirectoryRead for DynamoDirectory {
    async fn customer(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> Result<Option<CustomerView>, StoreError> {
        let items = self
            .query_partition(keys::customer_pk(t, external_userid))
            .await?;
        customer_view(&items)
    }

    async fn customers(
        &self,
        t: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<CustomerView>, StoreError> {
        // The listing's shards merged give the next ids in global id order (and whether
        // more remain); then the page's customers are read, their partitions at once.
        let mut ids = self.customer_ids(t, None, after, limit + 1).await?;
        let has_more = ids.len() > limit;
        ids.truncate(limit);
        let mut items = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(READ_CONCURRENCY) {
            let partitions = futures::future::try_join_all(
                chunk
                    .iter()
                    .map(|id| self.query_partition(keys::customer_pk(t, id))),
            )
            .await?;
            for partition in &partitions {
                items.extend(customer_view(partition)?);
            }
        }
        let next_cursor = has_more.then(|| ids.last().cloned()).flatten();
        Ok(Page { items, next_cursor })
    }

    async fn group_profile(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> Result<Option<Group>, StoreError> {
        let Some((mut group, counted)) = self.group_profile_as_fetched(t, chat_id).await? else {
            return Ok(None);
        };
        if counted {
            group.member_count = self.count_members(t, chat_id).await?;
        }
        Ok(Some(group))
    }

    async fn group_detail_fetched_at(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        match self.get(keys::group_pk(t, chat_id), keys::COUNTS).await? {
            Some(c) => c.n_opt("detail_at"),
            None => Ok(None),
        }
    }

    async fn group(&self, t: &TenantId, chat_id: &str) -> Result<Option<GroupView>, StoreError> {
        let items = self.query_partition(keys::group_pk(t, chat_id)).await?;
        let mut group = None;
        let mut counts = None;
        let mut members = Vec::new();
        let mut version: Option<(i64, &str)> = None;
        for item in &items {
            match item.s_opt(SK) {
                Some(keys::PROFILE) => group = Some(group_from_item(item)?),
                Some(keys::COUNTS) => counts = Some(item),
                Some(sk) if sk.starts_with(keys::MEMBER) => {
                    members.push(membership_from_item(item)?)
                }
                _ => {}
            }
            if let Some(recorded) = recorded_version(item)? {
                if version.is_none_or(|(at, _)| recorded.0 > at) {
                    version = Some(recorded);
                }
            }
        }
        members.sort_by(|a, b| {
            b.active
                .cmp(&a.active)
                .then(a.join_time.cmp(&b.join_time))
                .then(a.member_id.cmp(&b.member_id))
        });
        if let (Some(g), Some(c)) = (group.as_mut(), counts) {
            overlay_counts(g, c)?;
        }
        if let Some(g) = group.as_mut() {
            // The partition holds every membership (read consistently): the active ones
            // are the count the index would give.
            let active = members.iter().filter(|m| m.active).count() as i64;
            if members_counted(counts) {
                g.member_count = active;
            } else {
                // Not every member may be known yet (no re-sync since the count index):
                // the memberships known are a floor under WeCom's last figure.
                g.member_count = g.member_count.max(active);
            }
            if let Some((_, v)) = version {
                g.member_version = Some(v.to_string());
            }
        }
        Ok(group.map(|group| GroupView { group, members }))
    }

    async fn groups(
        &self,
        t: &TenantId,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Group>, StoreError> {
        let mut q = match owner {
            Some(o) => Query::index(GSI2, keys::owner_index(t, o)),
            None => Query::index(GSI1, keys::groups_index(t)),
        };
        if let Some(a) = after {
            q = q.sk_after(a);
        }
        let mut stream = self.table.items(q);
        let mut items = Vec::new();
        let mut has_more = false;
        while let Some(item) = stream.next().await {
            let item = item?;
            if items.len() == limit {
                has_more = true;
                break;
            }
            items.push(group_from_item(&item)?);
        }
        let next_cursor = has_more
            .then(|| items.last().map(|g: &Group| g.chat_id.clone()))
            .flatten();
        self.with_counts(t, &mut items).await?;
        Ok(Page { items, next_cursor })
    }

    async fn member_groups(
        &self,
        t: &TenantId,
        member_id: &str,
    ) -> Result<Vec<MemberGroup>, StoreError> {
        let items = self
            .table
            .query_all(Query::index(GSI1, keys::member_groups_index(t, member_id)))
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let membership = membership_from_item(item)?;
            let group = self
                .group_profile_as_fetched(t, &membership.chat_id)
                .await?
                .map(|(g, _)| g);
            out.push(MemberGroup {
                group_name: group.as_ref().and_then(|g| g.name.clone()),
                group_dismissed: group.map(|g| g.dismissed).unwrap_or(false),
                membership,
            });
        }
        Ok(out)
    }

    async fn known_staff(&self, t: &TenantId) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = self
            .table
            .query_all(Query::index(GSI1, keys::staffs_index(t)))
            .await?
            .iter()
            .map(|i| opt_string(i, "userid").unwrap_or_default())
            .collect();
        ids.retain(|id| !id.is_empty());
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    async fn staff_member(
        &self,
        t: &TenantId,
        userid: &str,
    ) -> Result<Option<StaffMember>, StoreError> {
        self.get(keys::staff_pk(t, userid), keys::PROFILE)
            .await?
            .as_ref()
            .map(staff_from_item)
            .transpose()
    }

    async fn groups_named(
        &self,
        t: &TenantId,
        owner: Option<&str>,
        normalized: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Group>, StoreError> {
        // At most 10,000 groups a tenant: reading the listing until the page is full costs
        // at most the partition (a few MB of reads) and no index write on any group change.
        let mut q = match owner {
            Some(o) => Query::index(GSI2, keys::owner_index(t, o)),
            None => Query::index(GSI1, keys::groups_index(t)),
        };
        if let Some(a) = after {
            q = q.sk_after(a);
        }
        let mut stream = self.table.items(q.page_size(1000));
        let mut items = Vec::new();
        let mut has_more = false;
        while let Some(item) = stream.next().await {
            let item = item?;
            let matches = item
                .s_opt("name")
                .is_some_and(|n| normalize_name(n).contains(normalized));
            if !matches {
                continue;
            }
            if items.len() == limit {
                has_more = true;
                break;
            }
            items.push(group_from_item(&item)?);
        }
        let next_cursor = has_more
            .then(|| items.last().map(|g: &Group| g.chat_id.clone()))
            .flatten();
        self.with_counts(t, &mut items).await?;
        Ok(Page { items, next_cursor })
    }

    async fn staff_members(&self, t: &TenantId) -> Result<Vec<StaffMember>, StoreError> {
        let items = self
            .table
            .query_all(Query::index(GSI1, keys::staffs_index(t)))
            .await?;
        let mut out = items
            .iter()
            .filter(|i| i.s_opt("userid").is_some_and(|u| !u.is_empty()))
            .map(staff_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.userid.cmp(&b.userid));
        Ok(out)
    }
}

impl NameIndex for DynamoDirectory {
    async fn name_positions(
        &self,
        t: &TenantId,
        shard: u32,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // Positions that start with the prefix and come after the cursor: from the cursor
        // (itself dropped below) to the prefix followed by the highest character.
        let high = format!("{prefix}\u{10FFFF}");
        let low = after.unwrap_or(prefix).to_string();
        if low > high {
            return Ok(Vec::new());
        }
        let q = Query::index(GSI3, keys::names_index(t, shard))
            .sk_between(low, high)
            .page_size(limit + 1);
        let after = after.map(str::to_string);
        self.table
            .items(q)
            .try_filter_map(|item| {
                let after = after.clone();
                async move {
                    let position = item.s(GSI3_SK)?.to_string();
                    Ok((Some(&position) != after.as_ref()).then_some(position))
                }
            })
            .take(limit)
            .try_collect()
            .await
    }
}

/// How far a customer index backfill got ([`DynamoDirectory::backfill_customer_index`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerBackfill {
    /// Customer profiles read.
    pub read: u64,
    /// Profiles moved to the listing by id (gsi4), with their name index entry.
    pub written: u64,
    /// The last customer done: pass as `after` to resume.
    pub last: Option<String>,
}

impl DynamoDirectory {
    /// Up to `limit` customer ids of a tenant in id order, after `after` (exclusive) and
    /// starting with `prefix` if given: every shard of the listing (gsi4) is read up to
    /// `limit` entries at once, and the shards' entries merged, which is the exact global
    /// order. Keys only: 16 small queries.
    pub(crate) async fn customer_ids(
        &self,
        t: &TenantId,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let range = match prefix {
            Some(prefix) => {
                let high = format!("{prefix}\u{10FFFF}");
                let low = match after {
                    Some(a) if a > prefix => a.to_string(),
                    _ => prefix.to_string(),
                };
                if low > high {
                    return Ok(Vec::new());
                }
                Some((low, high))
            }
            None => None,
        };
        let shards = (0..NAME_SHARDS).map(|shard| {
            let mut q =
                Query::index(GSI4, keys::customer_shard_index(t, shard)).page_size(limit + 1);
            q = match (&range, after) {
                (Some((low, high)), _) => q.sk_between(low.clone(), high.clone()),
                (None, Some(a)) => q.sk_after(a),
                (None, None) => q,
            };
            async move {
                let mut stream = self.table.items(q);
                let mut ids = Vec::new();
                while let Some(item) = stream.next().await {
                    let id = item?.s(GSI4_SK)?.to_string();
                    if Some(id.as_str()) == after {
                        continue;
                    }
                    ids.push(id);
                    if ids.len() == limit {
                        break;
                    }
                }
                Ok::<_, StoreError>(ids)
            }
        });
        let mut ids: Vec<String> = futures::future::try_join_all(shards)
            .await?
            .into_iter()
            .flatten()
            .collect();
        ids.sort();
        ids.truncate(limit);
        Ok(ids)
    }

    /// Moves up to `batch` customers of a tenant after `after` (by id) from the old
    /// layout's listing (gsi1 `{corp}#CUSTOMERS`, every attribute, one partition a tenant)
    /// to the listing by id (gsi4, keys only, sharded), giving each its name index entry
    /// (gsi3) on the way; their follow relations leave gsi1 and gsi2. Each item read leaves
    /// gsi1, so running it again from the start reads only what is left. A profile's write
    /// is conditional on the name being the one read (a concurrent rename writes both
    /// entries itself), every write on the item existing.
    pub async fn backfill_customer_index(
        &self,
        t: &TenantId,
        after: Option<&str>,
        batch: usize,
    ) -> Result<(CustomerBackfill, bool), StoreError> {
        let mut q = Query::index(GSI1, keys::customers_index(t)).page_size(1000);
        if let Some(a) = after {
            q = q.sk_after(keys::after_customer(a));
        }
        let mut stream = self.table.items(q);
        let mut done = CustomerBackfill::default();
        let mut finished = true;
        while let Some(item) = stream.next().await {
            let item = item?;
            let ext = item.s("external_userid")?.to_string();
            let sk = item.s(SK)?.to_string();
            let mut u = Update::new();
            u.when(crate::dynamo::update::item_exists());
            if sk != keys::PROFILE {
                // A follow relation of a customer already counted: out of gsi1 and gsi2.
                follow_keys(&mut u);
                self.update(keys::customer_pk(t, &ext), sk, &u).await?;
                continue;
            }
            if done.read as usize == batch {
                finished = false;
                break;
            }
            done.read += 1;
            customer_keys(&mut u, t, &ext);
            let name = u.name("name");
            match item.s_opt("name") {
                Some(read_name) => {
                    customer_name_keys(&mut u, t, &ext, read_name);
                    u.value(":read_name", s(read_name));
                    u.when(format!("{name} = :read_name"));
                }
                None => {
                    u.when(format!("attribute_not_exists({name})"));
                }
            }
            if self
                .update(keys::customer_pk(t, &ext), keys::PROFILE, &u)
                .await?
            {
                done.written += 1;
            }
            done.last = Some(ext);
        }
        Ok((done, finished))
    }
}
