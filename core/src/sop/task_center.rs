//! The task center (任务中心, `staff-api`): who a staff member is, their tasks with the
//! content ready to copy, and marking one pushed. A staff member only ever sees and changes
//! their own tasks: anyone else's is "not found" (its existence is not told).
//!
//! Who a staff member is: a staff session token, obtained by exchanging either the link of
//! a reminder (it lives minutes and is exchanged once: a conditional write records the
//! exchange, so of two racing exchanges one wins) or a WeCom OAuth code (checked with
//! WeCom; codes work once). The session lives an hour, and every request with it is
//! refused once the directory records the member as departed.
//!
//! Unauthenticated requests cost little: a code that cannot be WeCom's (too long, odd
//! characters) or whose corp is not a tenant is refused before WeCom is asked, and a code
//! WeCom refused is remembered by the container ([`RefusedCodes`]), so replaying it does
//! not reach WeCom again. Every such refusal is the same 401 `invalid_code`, so corps cannot
//! be told apart from outside.
use super::content::{Attachment, Content, ContentUse};
use super::occurrence::Occurrence;
use super::plan::PlanId;
use super::ports::{GroupDirectory, SopWeCom, StaffLinkStore, TaskStore};
use super::reminder::{staff_token, LinkClaims, STAFF_SESSION_TTL};
use super::task::{DoneBy, Failure, OccurrenceId, Target, Task, TaskKey, TaskStatus};
use crate::clock::Clock;
use crate::contacts::Page;
use crate::content::MaterialResolver;
use crate::http::ApiError;
use crate::links::{LinkTracker, SendContext, Via};
use crate::ports::StoreError;
use crate::tenants::{Tenant, TenantId, TenantLookup};
use crate::tokens::SigningKeys;
use crate::tokens::{self, TokenError, TokenKind};
use crate::wecom::api::{OAuthIdentity, WeComError};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// The longest OAuth code accepted (WeCom's are well under 100 characters).
pub const MAX_CODE_LEN: usize = 128;

/// Why the task center refused a request.
#[derive(Debug, thiserror::Error)]
pub enum TaskCenterError {
    /// The link or session expired.
    #[error("the link or session has expired; open the task center from WeCom again")]
    LinkExpired,
    /// The token is not a valid staff session or link (or its corp is gone).
    #[error("invalid staff token")]
    InvalidToken,
    /// The link was already exchanged for a session.
    #[error("this link was already used; open the task center from WeCom again")]
    LinkUsed,
    /// Neither a token nor an OAuth code.
    #[error("open the task center from your reminder or from WeCom (token or OAuth code)")]
    NoCredentials,
    /// The OAuth code is invalid or was used, or its corp is not a tenant (not told apart).
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
    /// The directory records the member as having left the corp.
    #[error("this member has left the corp")]
    StaffDeparted,
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
            E::LinkUsed => ApiError::new(401, "link_used", e.to_string()),
            E::UnknownStatus(_) => ApiError::validation(e.to_string()),
            E::NoSuchTask => ApiError::not_found(e.to_string()),
            E::InvalidCode => ApiError::new(401, "invalid_code", e.to_string()),
            E::WeComBusy | E::Busy => ApiError::unavailable(),
            E::WeComFailed => ApiError::new(502, "wecom_error", e.to_string()),
            E::NotStaff => ApiError::new(403, "not_staff", e.to_string()),
            E::StaffDeparted => ApiError::new(403, "staff_departed", e.to_string()),
            E::TaskFailed(_) => ApiError::conflict("task_not_pending", e.to_string()),
            E::Store(s) => s.into(),
        }
    }
}

/// OAuth codes WeCom refused, remembered by a container for as long as a code could live
/// (WeCom's last 5 minutes), so that replaying one costs no WeCom call. Bounded: when full,
/// what expired is dropped, and if that is not enough, everything.
#[derive(Debug, Default)]
pub struct RefusedCodes {
    codes: Mutex<HashMap<(String, String), DateTime<Utc>>>,
}

impl RefusedCodes {
    /// How long a refused code is remembered.
    pub const KEEP: Duration = Duration::minutes(5);
    /// At most this many are remembered.
    pub const CAPACITY: usize = 10_000;

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), DateTime<Utc>>> {
        self.codes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether WeCom refused `code` of `corp` recently.
    pub fn contains(&self, corp: &str, code: &str, now: DateTime<Utc>) -> bool {
        self.lock()
            .get(&(corp.to_string(), code.to_string()))
            .is_some_and(|until| *until > now)
    }

    /// Remembers that WeCom refused `code` of `corp`.
    pub fn insert(&self, corp: &str, code: &str, now: DateTime<Utc>) {
        let mut codes = self.lock();
        if codes.len() >= Self::CAPACITY {
            codes.retain(|_, until| *until > now);
            if codes.len() >= Self::CAPACITY {
                codes.clear();
            }
        }
        codes.insert((corp.to_string(), code.to_string()), now + Self::KEEP);
    }

    /// How many are remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `code` could be a WeCom OAuth code: 1 to [`MAX_CODE_LEN`] letters, digits, `-`
/// or `_`.
pub fn plausible_code(code: &str) -> bool {
    (1..=MAX_CODE_LEN).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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
    /// A session token issued for an exchanged link or OAuth code (the next calls use it;
    /// links and codes work once), with its expiry.
    pub fresh_token: Option<(String, DateTime<Utc>)>,
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
pub struct TaskCenter<'a, S, W, T, D> {
    /// The tasks table (and the record of exchanged links).
    pub store: &'a S,
    /// WeCom (OAuth).
    pub wecom: &'a W,
    /// Tenants.
    pub tenants: &'a T,
    /// The directory: who has left the corp.
    pub directory: &'a D,
    /// OAuth codes WeCom refused lately.
    pub refused_codes: &'a RefusedCodes,
    /// Verifies and signs staff tokens.
    pub signing_key: &'a SigningKeys,
    /// Time.
    pub clock: &'a dyn Clock,
    /// Links marked `track` in the content to copy: the short link of the plan, the
    /// occurrence and the member, the very one the dispatcher's WeCom task carries.
    pub links: &'a dyn LinkTracker,
    /// Materials of the content center in the content to copy: made what the dispatcher
    /// sends (a text material's text joins the text; an image its picture URL; a video or
    /// file its current WeCom media id, uploaded again when near expiry).
    pub materials: &'a dyn MaterialResolver,
}

impl<S, W, T, D> TaskCenter<'_, S, W, T, D>
where
    S: TaskStore + StaffLinkStore,
    W: SopWeCom,
    T: TenantLookup,
    D: GroupDirectory,
{
    /// Refuses a member the directory records as departed.
    async fn still_staff(&self, t: &TenantId, userid: &str) -> Result<(), TaskCenterError> {
        let departed = self
            .directory
            .departed_staff(t, &[userid.to_string()])
            .await?;
        if departed.contains(userid) {
            tracing::info!("staff member has left the corp: refused");
            return Err(TaskCenterError::StaffDeparted);
        }
        Ok(())
    }

    fn session(&self, tenant: Tenant, userid: String) -> StaffIdentity {
        let now = self.clock.now();
        let token = staff_token(self.signing_key, &tenant.id, &userid, now);
        StaffIdentity {
            tenant,
            userid,
            fresh_token: Some((token, now + STAFF_SESSION_TTL)),
        }
    }

    /// The staff member a session token names (still a member of the corp).
    pub async fn by_session(&self, token: &str) -> Result<StaffIdentity, TaskCenterError> {
        let claims = tokens::verify(self.signing_key, token, TokenKind::Staff, self.clock.now())
            .map_err(token_error)?;
        let tenant = self.token_tenant(&claims.tenant).await?;
        self.still_staff(&tenant.id, &claims.subject).await?;
        Ok(StaffIdentity {
            tenant,
            userid: claims.subject,
            fresh_token: None,
        })
    }

    /// Exchanges a reminder link, once, for a session (the member must still be staff).
    pub async fn exchange_link(&self, link: &str) -> Result<StaffIdentity, TaskCenterError> {
        let link: LinkClaims = tokens::verify_as(
            self.signing_key,
            link,
            TokenKind::StaffLink,
            self.clock.now(),
            |l: &LinkClaims| &l.claims,
        )
        .map_err(token_error)?;
        let tenant = self.token_tenant(&link.claims.tenant).await?;
        let userid = link.claims.subject;
        self.still_staff(&tenant.id, &userid).await?;
        if !self
            .store
            .redeem_link(&tenant.id, &link.link_id, &userid, link.claims.expires_at)
            .await?
        {
            tracing::warn!("staff link presented again after its exchange: refused");
            return Err(TaskCenterError::LinkUsed);
        }
        Ok(self.session(tenant, userid))
    }

    async fn token_tenant(&self, raw: &str) -> Result<Tenant, TaskCenterError> {
        let id = TenantId::parse(raw).map_err(|_| TaskCenterError::InvalidToken)?;
        self.tenants
            .tenant(&id)
            .await?
            .ok_or(TaskCenterError::InvalidToken)
    }

    /// The staff member a WeCom OAuth code belongs to, with a session.
    pub async fn by_oauth(
        &self,
        corp_id: &str,
        code: &str,
    ) -> Result<StaffIdentity, TaskCenterError> {
        let now = self.clock.now();
        if !plausible_code(code) || self.refused_codes.contains(corp_id, code, now) {
            return Err(TaskCenterError::InvalidCode);
        }
        // An unknown corp is refused like a bad code: which corps are tenants is not told.
        let Ok(id) = TenantId::parse(corp_id) else {
            return Err(TaskCenterError::InvalidCode);
        };
        let Some(tenant) = self.tenants.tenant(&id).await? else {
            return Err(TaskCenterError::InvalidCode);
        };
        let identity = match self.wecom.oauth_identity(&tenant, code).await {
            Ok(identity) => identity,
            Err(e) => {
                let e = oauth_error(e);
                if matches!(e, TaskCenterError::InvalidCode) {
                    self.refused_codes.insert(corp_id, code, now);
                }
                return Err(e);
            }
        };
        match identity {
            OAuthIdentity::Member { userid, .. } => {
                self.still_staff(&tenant.id, &userid).await?;
                Ok(self.session(tenant, userid))
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
            items: self.views(&who.tenant, page.items).await?,
            next_cursor: page.next_cursor,
        })
    }

    /// One task of the caller's.
    pub async fn task(&self, who: &StaffIdentity, id: &str) -> Result<TaskView, TaskCenterError> {
        let task = self.own_task(who, id).await?;
        self.view(&who.tenant, task).await
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

    /// `content` with each material replaced by what the dispatcher sends for it (the same
    /// resolver, for a message), one material at a time: a material that cannot be resolved
    /// (deleted, not ready, no library here, WeCom failing) stays `{kind: material,
    /// material_id}`, and the rest still shows.
    async fn with_materials(
        &self,
        tenant: &Tenant,
        content: &Content,
        now: DateTime<Utc>,
    ) -> Content {
        if content.material_ids().is_empty() {
            return content.clone();
        }
        let mut text = content.text.clone();
        let mut attachments = Vec::with_capacity(content.attachments.len());
        for a in &content.attachments {
            let Attachment::Material { material_id } = a else {
                attachments.push(a.clone());
                continue;
            };
            let one = Content {
                text: String::new(),
                attachments: vec![a.clone()],
            };
            match self
                .materials
                .resolve(tenant, &one, ContentUse::Message, now)
                .await
            {
                Ok(r) => {
                    attachments.extend(r.attachments);
                    if text.trim().is_empty() {
                        text = r.text;
                    } else if !r.text.trim().is_empty() {
                        text = format!("{text}\n{}", r.text);
                    }
                }
                Err(e) => {
                    tracing::warn!(material_id = %material_id, error = %e, "task content: material not resolved");
                    attachments.push(a.clone());
                }
            }
        }
        Content { text, attachments }
    }

    async fn view(&self, tenant: &Tenant, task: Task) -> Result<TaskView, TaskCenterError> {
        let mut views = self.views(tenant, vec![task]).await?;
        views.pop().ok_or(TaskCenterError::NoSuchTask)
    }

    /// The tasks with their occurrence's content (each occurrence read once).
    async fn views(
        &self,
        tenant: &Tenant,
        tasks: Vec<Task>,
    ) -> Result<Vec<TaskView>, TaskCenterError> {
        let t = &tenant.id;
        let now = self.clock.now();
        let mut occs: HashMap<(PlanId, OccurrenceId), Option<Occurrence>> = HashMap::new();
        // Each occurrence's content per branch, its materials resolved once.
        let mut resolved: HashMap<(PlanId, OccurrenceId, Option<String>), Option<Content>> =
            HashMap::new();
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            let k = (task.plan_id.clone(), task.occurrence_id.clone());
            if !occs.contains_key(&k) {
                let o = self.store.occurrence(t, &k.0, &k.1).await?;
                occs.insert(k.clone(), o);
            }
            let rk = (k.0.clone(), k.1.clone(), task.branch.clone());
            if !resolved.contains_key(&rk) {
                let raw = occs
                    .get(&k)
                    .and_then(Option::as_ref)
                    .and_then(|o| o.content_for(task.branch.as_deref()));
                let c = match raw {
                    Some(c) => Some(self.with_materials(tenant, c, now).await),
                    None => None,
                };
                resolved.insert(rk.clone(), c);
            }
            let content = resolved.get(&rk).cloned().flatten();
            let content = match content {
                Some(c) => {
                    let context = SendContext {
                        via: Via::Plan,
                        plan: Some(task.plan_id.to_string()),
                        occurrence: Some(task.occurrence_id.to_string()),
                        staff: Some(task.staff.clone()),
                        ..SendContext::default()
                    };
                    Some(
                        c.with_tracked_links(self.links, tenant, &context, now)
                            .await,
                    )
                }
                None => None,
            };
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

/// A refused token, said for the caller.
fn token_error(e: TokenError) -> TaskCenterError {
    match e {
        TokenError::Expired => TaskCenterError::LinkExpired,
        TokenError::Invalid | TokenError::WrongKind => TaskCenterError::InvalidToken,
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

    #[test]
    fn codes_are_bounded_and_refused_ones_remembered_for_a_while() {
        assert!(plausible_code("CODE_abc-123"));
        assert!(!plausible_code(""));
        assert!(!plausible_code(&"a".repeat(MAX_CODE_LEN + 1)));
        assert!(!plausible_code("a b"));
        let now = Utc::now();
        let refused = RefusedCodes::default();
        refused.insert("ww01", "c1", now);
        assert!(refused.contains("ww01", "c1", now));
        assert!(!refused.contains("ww02", "c1", now));
        assert!(!refused.contains("ww01", "c1", now + RefusedCodes::KEEP));
        for i in 0..RefusedCodes::CAPACITY + 5 {
            refused.insert("ww01", &format!("x{i}"), now);
        }
        assert!(refused.len() <= RefusedCodes::CAPACITY);
    }
}
