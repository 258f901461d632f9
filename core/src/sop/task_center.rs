//! The task center (任务中心, `staff-api`): who a staff member is (the signed link of their
//! reminder, or a WeCom OAuth code exchanged for their userid, which then earns a fresh
//! link since codes work once), their tasks with the content ready to copy, and marking
//! one pushed. A staff member only ever sees and changes their own tasks: anyone else's is
//! "not found" (its existence is not told).
use super::content::Content;
use super::occurrence::Occurrence;
use super::plan::PlanId;
use super::ports::{SopWeCom, TaskStore};
use super::reminder::staff_token;
use super::task::{DoneBy, Failure, OccurrenceId, Target, Task, TaskKey, TaskStatus};
use crate::clock::Clock;
use crate::config::Secret;
use crate::contacts::Page;
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::tenants::{Tenant, TenantId, TenantLookup};
use crate::tokens::{self, TokenError, TokenKind};
use crate::wecom::api::{OAuthIdentity, WeComError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// Why the task center refused a request.
#[derive(Debug, thiserror::Error)]
pub enum TaskCenterError {
    /// The signed link expired.
    #[error("the link has expired; open the task center from WeCom again")]
    LinkExpired,
    /// The token is not a valid staff token (or its corp is gone).
    #[error("invalid staff token")]
    InvalidToken,
    /// Neither a token nor an OAuth code.
    #[error("open the task center from your reminder or from WeCom (token or OAuth code)")]
    NoCredentials,
    /// A corp id that cannot be one.
    #[error("invalid corp_id")]
    InvalidCorpId,
    /// A corp that is not a tenant.
    #[error("unknown corp")]
    UnknownCorp,
    /// The OAuth code is invalid or was used.
    #[error("the WeCom login code is invalid or already used")]
    InvalidCode,
    /// WeCom is busy: retry later.
    #[error("WeCom is busy")]
    WeComBusy,
    /// WeCom could not say who the code belongs to.
    #[error("WeCom could not confirm who you are")]
    WeComFailed,
    /// The WeCom account is not a member of the corp.
    #[error("this WeCom account is not a member of the corp")]
    NotStaff,
    /// A task status that does not exist.
    #[error("status `{0}` is not pending, done or failed")]
    UnknownStatus(String),
    /// No such task of the caller's.
    #[error("no such task")]
    NoSuchTask,
    /// The task failed; it cannot be marked done.
    #[error("the task failed and cannot be marked done: {0}")]
    TaskFailed(String),
    /// The task is changing: retry.
    #[error("the task is changing; retry")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TaskCenterError> for ApiError {
    fn from(e: TaskCenterError) -> Self {
        use TaskCenterError as E;
        match e {
            E::LinkExpired => ApiError::new(401, "token_expired", e.to_string()),
            E::InvalidToken | E::NoCredentials => {
                ApiError::new(401, "unauthenticated", e.to_string())
            }
            E::InvalidCorpId | E::UnknownStatus(_) => ApiError::validation(e.to_string()),
            E::UnknownCorp | E::NoSuchTask => ApiError::not_found(e.to_string()),
            E::InvalidCode => ApiError::new(401, "invalid_code", e.to_string()),
            E::WeComBusy | E::Busy => ApiError::unavailable(),
            E::WeComFailed => ApiError::new(502, "wecom_error", e.to_string()),
            E::NotStaff => ApiError::new(403, "not_staff", e.to_string()),
            E::TaskFailed(_) => ApiError::conflict("task_not_pending", e.to_string()),
            E::Store(s) => s.into(),
        }
    }
}

/// A task status from the `status` filter (pending when absent).
pub fn parse_status(raw: Option<&str>) -> Result<TaskStatus, TaskCenterError> {
    match raw {
        None | Some("pending") => Ok(TaskStatus::Pending),
        Some("done") => Ok(TaskStatus::Done),
        Some("failed") => Ok(TaskStatus::Failed),
        Some(other) => Err(TaskCenterError::UnknownStatus(other.to_string())),
    }
}

/// A staff member, identified.
pub struct StaffIdentity {
    /// Their corp.
    pub tenant: Tenant,
    /// Their userid.
    pub userid: String,
    /// A token issued for an OAuth login (the next calls use it; codes work once).
    pub fresh_token: Option<String>,
}

/// A task as the task center shows it.
#[derive(Debug, Serialize)]
pub struct TaskView {
    /// The opaque id.
    pub task_id: String,
    /// The plan.
    pub plan_id: String,
    /// Its name.
    pub plan_name: String,
    /// The occurrence.
    pub occurrence_id: String,
    /// What to push to.
    pub target: Target,
    /// The group's name, when known.
    pub target_name: Option<String>,
    /// 待推送 pending, 已推送 done, or failed.
    pub status: TaskStatus,
    /// When it was scheduled.
    pub scheduled_at: DateTime<Utc>,
    /// Dispatched late (after an outage).
    pub late: bool,
    /// The content to copy.
    pub content: Option<Content>,
    /// When it was done, and by whom.
    pub done_at: Option<DateTime<Utc>>,
    /// `staff` or `wecom`.
    pub done_by: Option<DoneBy>,
    /// Why it failed.
    pub failure: Option<Failure>,
}

/// The task center over its ports.
pub struct TaskCenter<'a, S, W, T> {
    /// The tasks table.
    pub store: &'a S,
    /// WeCom (OAuth).
    pub wecom: &'a W,
    /// Tenants.
    pub tenants: &'a T,
    /// Verifies and signs staff tokens.
    pub signing_key: &'a Secret,
    /// Time.
    pub clock: &'a dyn Clock,
}

impl<S: TaskStore, W: SopWeCom, T: TenantLookup> TaskCenter<'_, S, W, T> {
    async fn tenant(&self, raw: &str) -> Result<Tenant, TaskCenterError> {
        let id = TenantId::parse(raw).map_err(|_| TaskCenterError::InvalidCorpId)?;
        self.tenants
            .tenant(&id)
            .await?
            .ok_or(TaskCenterError::UnknownCorp)
    }

    /// The staff member a signed link names.
    pub async fn by_token(&self, token: &str) -> Result<StaffIdentity, TaskCenterError> {
        let claims = tokens::verify(self.signing_key, token, TokenKind::Staff, self.clock.now())
            .map_err(|e| match e {
                TokenError::Expired => TaskCenterError::LinkExpired,
                TokenError::Invalid | TokenError::WrongKind => TaskCenterError::InvalidToken,
            })?;
        let tenant = self
            .tenant(&claims.tenant)
            .await
            .map_err(|_| TaskCenterError::InvalidToken)?;
        Ok(StaffIdentity {
            tenant,
            userid: claims.subject,
            fresh_token: None,
        })
    }

    /// The staff member a WeCom OAuth code belongs to, with a fresh link.
    pub async fn by_oauth(
        &self,
        corp_id: &str,
        code: &str,
    ) -> Result<StaffIdentity, TaskCenterError> {
        let tenant = self.tenant(corp_id).await?;
        match self
            .wecom
            .oauth_identity(&tenant, code)
            .await
            .map_err(oauth_error)?
        {
            OAuthIdentity::Member { userid, .. } => {
                let token = staff_token(self.signing_key, &tenant.id, &userid, self.clock.now());
                Ok(StaffIdentity {
                    tenant,
                    userid,
                    fresh_token: Some(token),
                })
            }
            OAuthIdentity::NonMember { .. } => Err(TaskCenterError::NotStaff),
        }
    }

    /// The caller's tasks of one status, newest first.
    pub async fn list(
        &self,
        who: &StaffIdentity,
        status: TaskStatus,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TaskView>, TaskCenterError> {
        let page = self
            .store
            .staff_tasks(&who.tenant.id, &who.userid, status, cursor, limit)
            .await?;
        Ok(Page {
            items: self.views(&who.tenant.id, page.items).await?,
            next_cursor: page.next_cursor,
        })
    }

    /// One task of the caller's.
    pub async fn task(&self, who: &StaffIdentity, id: &str) -> Result<TaskView, TaskCenterError> {
        let task = self.own_task(who, id).await?;
        self.view(&who.tenant.id, task).await
    }

    /// Marks a task of the caller's pushed (idempotent: a done task stays done).
    pub async fn done(&self, who: &StaffIdentity, id: &str) -> Result<TaskView, TaskCenterError> {
        let task = self.own_task(who, id).await?;
        let key = TaskKey {
            plan_id: task.plan_id.clone(),
            occurrence_id: task.occurrence_id.clone(),
            target: task.target.clone(),
            staff: task.staff.clone(),
        };
        let now = self.clock.now();
        if !self
            .store
            .complete_task(&who.tenant.id, &key, DoneBy::Staff, now)
            .await?
        {
            let current = self.own_task(who, id).await?;
            match current.status {
                TaskStatus::Done => {}
                TaskStatus::Failed => {
                    return Err(TaskCenterError::TaskFailed(
                        current
                            .failure
                            .as_ref()
                            .map(|f| f.message.clone())
                            .unwrap_or_else(|| "unknown reason".to_string()),
                    ))
                }
                TaskStatus::Pending => return Err(TaskCenterError::Busy),
            }
        } else {
            tracing::info!(task_id = %id, "task marked done by staff");
        }
        self.task(who, id).await
    }

    async fn own_task(&self, who: &StaffIdentity, id: &str) -> Result<Task, TaskCenterError> {
        let key = TaskKey::parse(id)
            .filter(|k| k.staff == who.userid)
            .ok_or(TaskCenterError::NoSuchTask)?;
        self.store
            .task(&who.tenant.id, &key)
            .await?
            .ok_or(TaskCenterError::NoSuchTask)
    }

    async fn view(&self, t: &TenantId, task: Task) -> Result<TaskView, TaskCenterError> {
        let mut views = self.views(t, vec![task]).await?;
        views.pop().ok_or(TaskCenterError::NoSuchTask)
    }

    /// The tasks with their occurrence's content (each occurrence read once).
    async fn views(
        &self,
        t: &TenantId,
        tasks: Vec<Task>,
    ) -> Result<Vec<TaskView>, TaskCenterError> {
        let mut occs: HashMap<(PlanId, OccurrenceId), Option<Occurrence>> = HashMap::new();
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            let k = (task.plan_id.clone(), task.occurrence_id.clone());
            if !occs.contains_key(&k) {
                let o = self.store.occurrence(t, &k.0, &k.1).await?;
                occs.insert(k.clone(), o);
            }
            let content = occs
                .get(&k)
                .and_then(Option::as_ref)
                .and_then(|o| o.content_for(task.branch.as_deref()))
                .cloned();
            out.push(TaskView {
                task_id: task.task_id,
                plan_id: task.plan_id.to_string(),
                plan_name: task.plan_name,
                occurrence_id: task.occurrence_id.to_string(),
                target: task.target,
                target_name: task.target_name,
                status: task.status,
                scheduled_at: task.scheduled_at,
                late: task.late,
                content,
                done_at: task.done_at,
                done_by: task.done_by,
                failure: task.failure,
            });
        }
        Ok(out)
    }
}

/// A failed OAuth look-up, said for the caller.
fn oauth_error(e: WeComError) -> TaskCenterError {
    match e.errcode() {
        Some(40029) | Some(40163) | Some(41008) => TaskCenterError::InvalidCode,
        _ if e.is_retryable() => TaskCenterError::WeComBusy,
        _ => {
            tracing::error!(error = %e, "WeCom OAuth failed");
            TaskCenterError::WeComFailed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_filter_pending_by_default() {
        assert_eq!(parse_status(None).unwrap(), TaskStatus::Pending);
        assert_eq!(parse_status(Some("done")).unwrap(), TaskStatus::Done);
        let e = ApiError::from(parse_status(Some("later")).unwrap_err());
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (
                400,
                "validation_failed",
                "status `later` is not pending, done or failed"
            )
        );
        let e = ApiError::from(TaskCenterError::LinkExpired);
        assert_eq!((e.status, e.code), (401, "token_expired"));
    }
}
