//! The full directory re-sync from WeCom's API, for a new tenant or after missed callbacks.
//!
//! A job is an item (`{corp}#RESYNC#{job}` / `JOB`) that holds its phase, the cursor within
//! the phase and its progress. It runs in phases:
//!
//! 1. `tags`: the corp tag library (`get_corp_tag_list`), so follow relations' tag ids can
//!    be named;
//! 2. `staff`: the members with customer contact (`get_follow_user_list`) are recorded
//!    active; every other member the directory knows is checked with `user/get`, and one
//!    who left is recorded departed and `StaffDeparted` is published for them, once per
//!    departure (see [`Resync`]);
//! 3. `groups`: `groupchat/list` page by page, `groupchat/get` for each group (group, all
//!    members; members no longer listed are marked left; owners and staff members become
//!    known staff);
//! 4. `customers`: `batch/get_by_user` for the known staff who have not left (plus any
//!    userids given when the job was started), 100 members per batch, page by page
//!    (customers and their follow relations);
//! 5. `singles`: members `batch/get_by_user` reported unlicensed, one by one through
//!    `externalcontact/list` and `externalcontact/get`.
//!
//! After every page the job item is updated in one conditional write: the next cursor and
//! the page's counts together, guarded by the runner's lease and the position it started
//! from. Directory writes are idempotent upserts, so a run stopped anywhere (budget spent,
//! crash, WeCom down) resumes at the last checkpoint, writes the same values again for a
//! half-done page, and counts each page exactly once. A run processes pages for a bounded
//! time, then the function re-publishes `ResyncRequested` to continue.
//!
//! The staff list is what WeCom lists with customer contact (phase 2) together with what
//! the directory knows: follow users seen in callbacks, group owners and staff members
//! (phase 3), plus any userids given when the job was started.
//!
//! The job's lists (staff, unlicensed members, requested userids) grow with the corp: 15,000
//! members are more than one DynamoDB item can hold (400 KB). So each list is kept out of
//! the job item, in parts of [`LIST_PART_IDS`] ids (`LIST#{list}#{generation}#{n:04}` in
//! the job's partition); the job item names the generation and the length. A new list is a
//! new generation, written before the checkpoint that names it, so the checkpoint (one
//! conditional write) switches lists atomically and a run that lost its lease never
//! changes the parts the job names. The replaced generation is deleted afterwards.
use super::keys;
use super::{DynamoDirectory, CONTENT_HASH};
use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{GSI1, GSI1_PK, GSI1_SK, PK, SK};
use crate::dynamo::update::item_exists;
use crate::dynamo::{ensure_applied, Query, StoreError, Update};
use chrono::{DateTime, Utc};
use scrm_core::contacts::model::Page;
use scrm_core::contacts::resync::*;
use scrm_core::tenants::TenantId;
use std::collections::HashMap;

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Ids per list part: 1,000 ids of at most 128 bytes stay far below DynamoDB's 400 KB
/// item limit however many members a corp has.
pub const LIST_PART_IDS: usize = 1000;

/// One of a job's lists: its name in the parts' keys, and the attribute that held it
/// inline on the job item before lists were kept apart (still read).
#[derive(Debug, Clone, Copy)]
struct JobList {
    name: &'static str,
    inline: &'static str,
}

const STAFF: JobList = JobList {
    name: "staff",
    inline: "staff",
};
const UNLICENSED: JobList = JobList {
    name: "unlicensed",
    inline: "unlicensed",
};
const REQUESTED: JobList = JobList {
    name: "requested",
    inline: "requested_userids",
};

impl JobList {
    /// The job item's attribute naming the list's generation.
    fn generation_attr(self) -> String {
        format!("{}_list", self.name)
    }
    /// The job item's attribute holding the list's length.
    fn len_attr(self) -> String {
        format!("{}_len", self.name)
    }
}

/// The list's generation and length as the job item names them.
fn list_ref(item: &AttrMap, list: JobList) -> Result<Option<(String, usize)>, StoreError> {
    match item.s_opt(&list.generation_attr()) {
        Some(generation) => {
            let len = item.n_opt(&list.len_attr())?.unwrap_or(0).max(0) as usize;
            Ok(Some((generation.to_string(), len)))
        }
        None => Ok(None),
    }
}

/// The job item's own fields; its lists are read apart ([`DynamoDirectory::job_of`]).
fn job_from_item(item: &AttrMap) -> Result<ResyncJob, StoreError> {
    let list = |name: &str| -> Result<Vec<String>, StoreError> {
        match item.s_opt(name) {
            Some(_) => item.json(name),
            None => Ok(Vec::new()),
        }
    };
    Ok(ResyncJob {
        job_id: item.s("job_id")?.to_string(),
        status: JobStatus::parse(item.s("status")?)?,
        position: Position {
            phase: Phase::parse(item.s("phase")?)?,
            cursor: item.s_opt("cursor").unwrap_or_default().to_string(),
            index: item.n_opt("position_index")?.unwrap_or(0),
        },
        staff: list("staff")?,
        unlicensed: list("unlicensed")?,
        requested_userids: list("requested_userids")?,
        progress: Progress {
            pages: item.n_opt("p_pages")?.unwrap_or(0),
            tags: item.n_opt("p_tags")?.unwrap_or(0),
            groups: item.n_opt("p_groups")?.unwrap_or(0),
            members: item.n_opt("p_members")?.unwrap_or(0),
            customers: item.n_opt("p_customers")?.unwrap_or(0),
            skipped: item.n_opt("p_skipped")?.unwrap_or(0),
            staff: item.n_opt("p_staff")?.unwrap_or(0),
            departed: item.n_opt("p_departed")?.unwrap_or(0),
            unchanged: item.n_opt("p_unchanged")?.unwrap_or(0),
        },
        invocations: item.n_opt("invocations")?.unwrap_or(0),
        created_at: item.s("created_at")?.to_string(),
        updated_at: item.s("updated_at")?.to_string(),
        finished_at: item.s_opt("finished_at").map(str::to_string),
        last_error: item.s_opt("last_error").map(str::to_string),
    })
}

impl DynamoDirectory {
    /// Writes `ids` as a new generation of `list` of the job; returns the generation.
    async fn write_list(
        &self,
        t: &TenantId,
        job_id: &str,
        list: JobList,
        ids: &[String],
    ) -> Result<String, StoreError> {
        let generation = ulid::Ulid::new().to_string();
        let pk = keys::job_pk(t, job_id);
        let parts = ids
            .chunks(LIST_PART_IDS)
            .enumerate()
            .map(|(n, part)| {
                item::item([
                    (PK, s(&pk)),
                    (SK, s(keys::job_list_sk(list.name, &generation, n))),
                    ("ids", item::json(&part)),
                ])
            })
            .collect();
        self.table.batch_put(parts).await?;
        Ok(generation)
    }

    /// The ids of one generation of `list`, in order.
    async fn read_list(
        &self,
        t: &TenantId,
        job_id: &str,
        list: JobList,
        generation: &str,
        len: usize,
    ) -> Result<Vec<String>, StoreError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let q = Query::partition(keys::job_pk(t, job_id))
            .sk_begins_with(keys::job_list_prefix(list.name, generation))
            .consistent();
        let mut ids = Vec::with_capacity(len);
        for part in self.table.query_all(q).await? {
            ids.extend(part.json::<Vec<String>>("ids")?);
        }
        if ids.len() < len {
            return Err(StoreError::Corrupt(format!(
                "re-sync job {job_id}: {} list has {} of {len} ids",
                list.name,
                ids.len()
            )));
        }
        ids.truncate(len);
        Ok(ids)
    }

    /// Deletes one generation of `list` (best effort: a part left behind is never read).
    async fn delete_list(
        &self,
        t: &TenantId,
        job_id: &str,
        list: JobList,
        generation: &str,
        len: usize,
    ) {
        let pk = keys::job_pk(t, job_id);
        for n in 0..len.div_ceil(LIST_PART_IDS) {
            let sk = keys::job_list_sk(list.name, generation, n);
            if let Err(e) = self.table.delete(pk.clone(), sk).await {
                tracing::warn!(job_id, list = list.name, error = %e, "replaced re-sync list part not deleted");
            }
        }
    }

    /// A job with its lists.
    async fn job_of(&self, t: &TenantId, item: &AttrMap) -> Result<ResyncJob, StoreError> {
        let mut job = job_from_item(item)?;
        for list in [STAFF, UNLICENSED, REQUESTED] {
            let Some((generation, len)) = list_ref(item, list)? else {
                continue;
            };
            let ids = self
                .read_list(t, &job.job_id, list, &generation, len)
                .await?;
            match list.name {
                "staff" => job.staff = ids,
                "unlicensed" => job.unlicensed = ids,
                _ => job.requested_userids = ids,
            }
        }
        Ok(job)
    }
}

impl ResyncJobs for DynamoDirectory {
    async fn create_job(
        &self,
        t: &TenantId,
        job_id: &str,
        requested_userids: &[String],
        now: DateTime<Utc>,
    ) -> Result<ResyncJob, StoreError> {
        let created = stamp(now);
        let requested = if requested_userids.is_empty() {
            None
        } else {
            Some(
                self.write_list(t, job_id, REQUESTED, requested_userids)
                    .await?,
            )
        };
        let mut item = item::item([
            (PK, s(keys::job_pk(t, job_id))),
            (SK, s(keys::JOB)),
            (GSI1_PK, s(keys::jobs_index(t))),
            (GSI1_SK, s(format!("{created}#{job_id}"))),
            ("job_id", s(job_id)),
            ("status", s(JobStatus::Pending.as_str())),
            ("phase", s(Phase::Tags.as_str())),
            ("cursor", s("")),
            ("position_index", n(0)),
            ("invocations", n(0)),
            ("lease_until", n(0)),
            ("created_at", s(&created)),
            ("updated_at", s(&created)),
        ]);
        if let Some(generation) = requested {
            item.insert(REQUESTED.generation_attr(), s(generation));
            item.insert(REQUESTED.len_attr(), n(requested_userids.len() as i64));
        }
        ensure_applied(self.table.put_new(item.clone()).await?)?;
        let mut job = job_from_item(&item)?;
        job.requested_userids = requested_userids.to_vec();
        Ok(job)
    }

    async fn job(&self, t: &TenantId, job_id: &str) -> Result<Option<ResyncJob>, StoreError> {
        match self.get(keys::job_pk(t, job_id), keys::JOB).await? {
            Some(item) => Ok(Some(self.job_of(t, &item).await?)),
            None => Ok(None),
        }
    }

    async fn jobs(&self, t: &TenantId, limit: usize) -> Result<Page<ResyncJob>, StoreError> {
        let q = Query::index(GSI1, keys::jobs_index(t))
            .descending()
            .page_size(limit);
        // The list answers each job without its member lists (a job's own look-up has
        // them): a page of jobs holding thousands of userids each would pass what one
        // answer can carry.
        let items = self
            .table
            .query_page(&q)
            .await?
            .items
            .iter()
            .map(job_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_cursor: None,
        })
    }

    async fn lease_job(
        &self,
        t: &TenantId,
        job_id: &str,
        now: DateTime<Utc>,
        lease_ms: i64,
    ) -> Result<Option<(JobLease, ResyncJob)>, StoreError> {
        let owner = ulid::Ulid::new().to_string();
        let now_ms = now.timestamp_millis();
        let mut u = Update::new();
        u.set("lease_owner", s(&owner))
            .set("lease_until", n(now_ms + lease_ms))
            .set("status", s(JobStatus::Running.as_str()))
            .increment("invocations", 1)
            .set("updated_at", s(stamp(now)));
        let status = u.name("status");
        let lease_until = u.name("lease_until");
        u.value(":pending", s(JobStatus::Pending.as_str()))
            .value(":running", s(JobStatus::Running.as_str()))
            .value(":now", n(now_ms))
            .when(format!(
                "{} AND ({status} = :pending OR {status} = :running) AND {lease_until} < :now",
                item_exists()
            ));
        match self
            .table
            .update_returning(keys::job_pk(t, job_id), keys::JOB, &u)
            .await?
        {
            Some(item) => Ok(Some((JobLease { owner }, self.job_of(t, &item).await?))),
            None => Ok(None),
        }
    }

    async fn checkpoint(
        &self,
        t: &TenantId,
        job_id: &str,
        lease: &JobLease,
        from: &Position,
        to: &Position,
        delta: &Progress,
        staff: Option<&[String]>,
        unlicensed: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.set("phase", s(to.phase.as_str()))
            .set("cursor", s(&to.cursor))
            .set("position_index", n(to.index))
            .set("updated_at", s(stamp(now)));
        let lists = [(STAFF, staff), (UNLICENSED, unlicensed)];
        // The generations this checkpoint replaces (no other run can checkpoint while the
        // lease is ours, so what the job names now is what gets replaced).
        let current = match lists.iter().any(|(_, ids)| ids.is_some()) {
            true => self.get(keys::job_pk(t, job_id), keys::JOB).await?,
            false => None,
        };
        let mut written = Vec::new();
        for (list, ids) in lists {
            let Some(ids) = ids else { continue };
            let generation = self.write_list(t, job_id, list, ids).await?;
            u.set(&list.generation_attr(), s(&generation))
                .set(&list.len_attr(), n(ids.len() as i64))
                .remove(list.inline);
            let replaced = match &current {
                Some(item) => list_ref(item, list)?,
                None => None,
            };
            written.push((list, generation, ids.len(), replaced));
        }
        u.add("p_pages", delta.pages)
            .add("p_tags", delta.tags)
            .add("p_groups", delta.groups)
            .add("p_members", delta.members)
            .add("p_customers", delta.customers)
            .add("p_skipped", delta.skipped)
            .add("p_staff", delta.staff)
            .add("p_departed", delta.departed)
            .add("p_unchanged", delta.unchanged);
        let owner = u.name("lease_owner");
        let phase = u.name("phase");
        let cursor = u.name("cursor");
        let index = u.name("position_index");
        u.value(":me", s(&lease.owner))
            .value(":from_phase", s(from.phase.as_str()))
            .value(":from_cursor", s(&from.cursor))
            .value(":from_index", n(from.index))
            .when(format!(
                "{owner} = :me AND {phase} = :from_phase AND {cursor} = :from_cursor \
                 AND {index} = :from_index"
            ));
        let moved = self.update(keys::job_pk(t, job_id), keys::JOB, &u).await?;
        for (list, generation, len, replaced) in written {
            let (gone, gone_len) = match (moved, replaced) {
                (true, Some(old)) => old,
                (true, None) => continue,
                (false, _) => (generation, len),
            };
            self.delete_list(t, job_id, list, &gone, gone_len).await;
        }
        Ok(moved)
    }

    async fn end_run(
        &self,
        t: &TenantId,
        job_id: &str,
        lease: &JobLease,
        status: JobStatus,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("status", s(status.as_str()))
            .set("lease_until", n(0))
            .set("updated_at", s(stamp(now)));
        if matches!(status, JobStatus::Done | JobStatus::Failed) {
            u.set("finished_at", s(stamp(now)));
        }
        if let Some(err) = error {
            u.set("last_error", s(err));
        }
        let owner = u.name("lease_owner");
        u.value(":me", s(&lease.owner))
            .when(format!("{owner} = :me"));
        // A lease no longer ours (taken over) is not an error: nothing to record.
        self.update(keys::job_pk(t, job_id), keys::JOB, &u).await?;
        Ok(())
    }

    async fn stored_hashes(
        &self,
        t: &TenantId,
        records: &[RecordKey],
    ) -> Result<HashMap<RecordKey, String>, StoreError> {
        let by_key: HashMap<(String, String), &RecordKey> = records
            .iter()
            .map(|r| {
                let sk = match &r.userid {
                    Some(userid) => keys::follow_sk(userid),
                    None => keys::PROFILE.to_string(),
                };
                ((keys::customer_pk(t, &r.external_userid), sk), r)
            })
            .collect();
        let wanted: Vec<AttrMap> = by_key
            .keys()
            .map(|(pk, sk)| crate::dynamo::table::key(pk.as_str(), sk.as_str()))
            .collect();
        // Eventually consistent (half the read units): a write a moment old that the read
        // misses is a callback's newer fact, which the re-sync's write would not change
        // either way (its fetch from WeCom may predate it).
        let projection = format!("{PK}, {SK}, {CONTENT_HASH}, needs_sync");
        let mut stored = HashMap::new();
        for item in self.table.batch_get(wanted, Some(&projection)).await? {
            if item.bool_opt("needs_sync").unwrap_or(false) {
                continue;
            }
            let (Some(hash), Ok(pk), Ok(sk)) = (item.s_opt(CONTENT_HASH), item.s(PK), item.s(SK))
            else {
                continue;
            };
            if let Some(record) = by_key.get(&(pk.to_string(), sk.to_string())) {
                stored.insert((*record).clone(), hash.to_string());
            }
        }
        Ok(stored)
    }
}
