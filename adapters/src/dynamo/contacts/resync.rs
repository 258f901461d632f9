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
use crate::dynamo::StoreError;
use aws_sdk_dynamodb::types::ReturnValue;
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
            ("pk", s(keys::job_pk(t, job_id))),
            ("sk", s(keys::JOB)),
            ("gsi1pk", s(keys::jobs_index(t))),
            ("gsi1sk", s(format!("{created}#{job_id}"))),
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
        self.db
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
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
        let out = self
            .db
            .client
            .query()
            .table_name(self.table())
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(keys::jobs_index(t)))
            .scan_index_forward(false)
            .limit(limit as i32)
            .send()
            .await
            .map_err(crate::dynamo::from_sdk)?;
        let items = out
            .items
            .unwrap_or_default()
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
        let result = self
            .db
            .client
            .update_item()
            .table_name(self.table())
            .key("pk", s(keys::job_pk(t, job_id)))
            .key("sk", s(keys::JOB))
            .update_expression(
                "SET lease_owner = :me, lease_until = :until, #st = :running, \
                 invocations = invocations + :one, updated_at = :at",
            )
            .condition_expression(
                "attribute_exists(pk) AND (#st = :pending OR #st = :running) AND lease_until < :now",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":me", s(&owner))
            .expression_attribute_values(":until", n(now_ms + lease_ms))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":pending", s(JobStatus::Pending.as_str()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":at", s(stamp(now)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes {
                Some(item) => Ok(Some((JobLease { owner }, job_from_item(&item)?))),
                None => Ok(None),
            },
            Err(e) => match crate::dynamo::from_sdk(e) {
                StoreError::ConditionFailed => Ok(None),
                other => Err(other),
            },
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
        let mut set = vec![
            "phase = :to_phase",
            "#cur = :to_cursor",
            "position_index = :to_index",
            "updated_at = :at",
        ];
        if staff.is_some() {
            set.push("staff = :staff");
        }
        if unlicensed.is_some() {
            set.push("unlicensed = :unlicensed");
        }
        let expression = format!(
            "SET {} ADD p_pages :d_pages, p_tags :d_tags, p_groups :d_groups, \
             p_members :d_members, p_customers :d_customers, p_skipped :d_skipped, \
             p_staff :d_staff, p_departed :d_departed",
            set.join(", ")
        );
        let mut req = self
            .db
            .client
            .update_item()
            .table_name(self.table())
            .key("pk", s(keys::job_pk(t, job_id)))
            .key("sk", s(keys::JOB))
            .update_expression(expression)
            .condition_expression(
                "lease_owner = :me AND phase = :from_phase AND #cur = :from_cursor \
                 AND position_index = :from_index",
            )
            .expression_attribute_names("#cur", "cursor")
            .expression_attribute_values(":me", s(&lease.owner))
            .expression_attribute_values(":from_phase", s(from.phase.as_str()))
            .expression_attribute_values(":from_cursor", s(&from.cursor))
            .expression_attribute_values(":from_index", n(from.index))
            .expression_attribute_values(":to_phase", s(to.phase.as_str()))
            .expression_attribute_values(":to_cursor", s(&to.cursor))
            .expression_attribute_values(":to_index", n(to.index))
            .expression_attribute_values(":at", s(stamp(now)))
            .expression_attribute_values(":d_pages", n(delta.pages))
            .expression_attribute_values(":d_tags", n(delta.tags))
            .expression_attribute_values(":d_groups", n(delta.groups))
            .expression_attribute_values(":d_members", n(delta.members))
            .expression_attribute_values(":d_customers", n(delta.customers))
            .expression_attribute_values(":d_skipped", n(delta.skipped))
            .expression_attribute_values(":d_staff", n(delta.staff))
            .expression_attribute_values(":d_departed", n(delta.departed));
        if let Some(staff) = staff {
            req = req.expression_attribute_values(":staff", item::json(&staff));
        }
        if let Some(unlicensed) = unlicensed {
            req = req.expression_attribute_values(":unlicensed", item::json(&unlicensed));
        }
        crate::dynamo::applied(req.send().await)
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
        let mut expression = String::from("SET #st = :st, lease_until = :zero, updated_at = :at");
        if matches!(status, JobStatus::Done | JobStatus::Failed) {
            expression.push_str(", finished_at = :at");
        }
        if error.is_some() {
            expression.push_str(", last_error = :err");
        }
        let mut req = self
            .db
            .client
            .update_item()
            .table_name(self.table())
            .key("pk", s(keys::job_pk(t, job_id)))
            .key("sk", s(keys::JOB))
            .update_expression(expression)
            .condition_expression("lease_owner = :me")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":at", s(stamp(now)))
            .expression_attribute_values(":me", s(&lease.owner));
        if let Some(err) = error {
            req = req.expression_attribute_values(":err", s(err));
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) => match crate::dynamo::from_sdk(e) {
                StoreError::ConditionFailed => Ok(()),
                other => Err(other),
            },
        }
    }
}
