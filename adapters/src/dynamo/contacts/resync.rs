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
use super::keys;
use super::DynamoDirectory;
use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{GSI1, GSI1_PK, GSI1_SK, PK, SK};
use crate::dynamo::update::item_exists;
use crate::dynamo::{ensure_applied, Query, StoreError, Update};
use chrono::{DateTime, Utc};
use scrm_core::contacts::model::Page;
use scrm_core::contacts::resync::*;
use scrm_core::tenants::TenantId;

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

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
        },
        invocations: item.n_opt("invocations")?.unwrap_or(0),
        created_at: item.s("created_at")?.to_string(),
        updated_at: item.s("updated_at")?.to_string(),
        finished_at: item.s_opt("finished_at").map(str::to_string),
        last_error: item.s_opt("last_error").map(str::to_string),
    })
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
        let item = item::item([
            (PK, s(keys::job_pk(t, job_id))),
            (SK, s(keys::JOB)),
            (GSI1_PK, s(keys::jobs_index(t))),
            (GSI1_SK, s(format!("{created}#{job_id}"))),
            ("job_id", s(job_id)),
            ("status", s(JobStatus::Pending.as_str())),
            ("phase", s(Phase::Tags.as_str())),
            ("cursor", s("")),
            ("position_index", n(0)),
            ("requested_userids", item::json(&requested_userids)),
            ("invocations", n(0)),
            ("lease_until", n(0)),
            ("created_at", s(&created)),
            ("updated_at", s(&created)),
        ]);
        ensure_applied(self.table.put_new(item.clone()).await?)?;
        job_from_item(&item)
    }

    async fn job(&self, t: &TenantId, job_id: &str) -> Result<Option<ResyncJob>, StoreError> {
        self.get(keys::job_pk(t, job_id), keys::JOB)
            .await?
            .as_ref()
            .map(job_from_item)
            .transpose()
    }

    async fn jobs(&self, t: &TenantId, limit: usize) -> Result<Page<ResyncJob>, StoreError> {
        let q = Query::index(GSI1, keys::jobs_index(t))
            .descending()
            .page_size(limit);
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
            Some(item) => Ok(Some((JobLease { owner }, job_from_item(&item)?))),
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
        if let Some(staff) = staff {
            u.set("staff", item::json(&staff));
        }
        if let Some(unlicensed) = unlicensed {
            u.set("unlicensed", item::json(&unlicensed));
        }
        u.add("p_pages", delta.pages)
            .add("p_tags", delta.tags)
            .add("p_groups", delta.groups)
            .add("p_members", delta.members)
            .add("p_customers", delta.customers)
            .add("p_skipped", delta.skipped)
            .add("p_staff", delta.staff)
            .add("p_departed", delta.departed);
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
        self.update(keys::job_pk(t, job_id), keys::JOB, &u).await
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
}
