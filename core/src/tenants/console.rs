//! The web console's login, roles and sessions.
//!
//! A merchant's staff log in with WeCom (the self-built app's scan login: a code, then
//! `auth/getuserinfo`), and the tenant's admin maps members to roles (viewer / operator /
//! admin: the scopes of the API keys of those roles). A member without a role, a visitor
//! who is not a member and a member the directory records as departed are refused. An API
//! key can also open a session (the first admin of a new tenant, development); that session
//! carries the key's scopes and dies with the key.
//!
//! A session is a random bearer token (`scs_<corp>_<64 hex>`); only its SHA-256 is stored,
//! with who it is, its role and its absolute end ([`SESSION_TTL`] after login). Every
//! request reads the record (strongly consistent), so logging out, changing or removing a
//! member's role, a member's departure and a key's revocation end sessions at once.
//!
//! Changing a role and logging in cannot interleave into a session with a stale role: each
//! change moves the member's grant to a new version and then deletes their sessions, and a
//! login stores its session in one transaction with a check that the grant still has the
//! version it read (see [`ConsoleStore::create_session`]).
use super::apikeys::{ApiKey, ApiKeyRecord, AuthError, Principal, Role, Scope, TenantBearer};
use super::model::{Tenant, TenantId};
use super::ports::TenantLookup;
use crate::contacts::ports::DirectoryRead;
use crate::contacts::{StaffMember, StaffState};
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::wecom::api::{OAuthIdentity, User, WeComError};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;

/// How long a console session lives, from login (absolute: using it does not extend it).
pub const SESSION_TTL: Duration = Duration::hours(8);
/// WeCom's scan-login host, unless the deployment names another (`WECOM_LOGIN_BASE`).
pub const DEFAULT_LOGIN_BASE: &str = "https://login.work.weixin.qq.com";
/// The scan-login page under the login base.
pub const SSO_PATH: &str = "/wwlogin/sso/login";
/// The longest WeCom userid (WeCom: 1 to 64 bytes).
pub const MAX_USERID_LEN: usize = 64;
/// How many tries a login makes when a role change races it.
const LOGIN_TRIES: usize = 3;

const PREFIX: &str = "scs_";

/// A console session token: `scs_<corp id>_<64 hex>`. It names its tenant, so looking it
/// up reads only that tenant's partition.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(TenantBearer);

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionToken({}, ***)", self.0.tenant())
    }
}

impl SessionToken {
    /// Mints a new random token for a tenant.
    pub fn generate(tenant: &TenantId) -> Self {
        Self(TenantBearer::generate(PREFIX, tenant))
    }

    /// Parses a presented token; `None` if it is not shaped like one.
    pub fn parse(raw: &str) -> Option<Self> {
        TenantBearer::parse(PREFIX, raw).map(Self)
    }

    /// The tenant the session belongs to.
    pub fn tenant(&self) -> &TenantId {
        self.0.tenant()
    }

    /// The hash that is stored and looked up.
    pub fn hash(&self) -> String {
        self.0.hash()
    }

    /// The token itself, answered once, at login.
    pub fn reveal(&self) -> &str {
        self.0.reveal()
    }
}

/// The bearer credential of an `Authorization` header value, if it is a console session
/// token (anything else is left to API-key authentication).
pub fn session_bearer(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    token.starts_with(PREFIX).then_some(token)
}

/// Who changes are attributed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An API key, directly or through a key session (`key:<key id>`).
    Key(String),
    /// A member logged in with WeCom (`member:<userid>`).
    Member(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Key(id) => write!(f, "key:{id}"),
            Actor::Member(userid) => write!(f, "member:{userid}"),
        }
    }
}

/// Who a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSubject {
    /// A member, logged in with WeCom, holding the grant of `grant_version`.
    Member {
        /// The member.
        userid: String,
        /// Their name, when WeCom told it.
        name: Option<String>,
        /// The version of the grant the session was opened under.
        grant_version: i64,
    },
    /// An API key.
    Key {
        /// Its public id.
        key_id: String,
        /// Its stored hash (to find its record: a revoked key ends the session).
        key_hash: String,
    },
}

/// A stored session: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// A short public id (the first 12 hex digits of the token's hash), for logs.
    pub session_id: String,
    /// Who it is.
    pub subject: SessionSubject,
    /// The role it was opened with.
    pub role: Role,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// When it ends, whatever happens.
    pub expires_at: DateTime<Utc>,
}

/// A member's console role, as the tenant's admin set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberGrant {
    /// The member.
    pub userid: String,
    /// Viewer, operator or admin.
    pub role: Role,
    /// Their name, when WeCom told it.
    pub name: Option<String>,
    /// Moves on with every change of role (sessions name the version they were opened
    /// under).
    pub version: i64,
    /// When the role was last set.
    pub granted_at: DateTime<Utc>,
    /// Who set it (`key:<id>` or `member:<userid>`).
    pub granted_by: String,
    /// The member's last console login.
    pub last_login_at: Option<DateTime<Utc>>,
}

/// What setting a role did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantChange {
    /// The grant as it is now.
    pub grant: MemberGrant,
    /// Whether anything changed (`false`: the member already had that role).
    pub changed: bool,
}

/// Stores console sessions and members' roles.
pub trait ConsoleStore: Send + Sync {
    /// Stores a new session under the token's hash. For a member session, in one
    /// transaction with a check that the member's grant still has the version the session
    /// names (and records the login on it): `Ok(false)` if it does not (the role changed or
    /// was removed meanwhile), and nothing is stored.
    fn create_session(
        &self,
        t: &TenantId,
        hash: &str,
        record: &SessionRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The session stored under a token's hash (strongly consistent).
    fn session(
        &self,
        t: &TenantId,
        hash: &str,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;
    /// Deletes a session (nothing if there is none).
    fn delete_session(
        &self,
        t: &TenantId,
        hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes every session of a member; answers how many there were.
    fn delete_member_sessions(
        &self,
        t: &TenantId,
        userid: &str,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// A member's grant (strongly consistent).
    fn grant(
        &self,
        t: &TenantId,
        userid: &str,
    ) -> impl Future<Output = Result<Option<MemberGrant>, StoreError>> + Send;
    /// Every grant of a tenant, ordered by userid.
    fn grants(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<Vec<MemberGrant>, StoreError>> + Send;
    /// Sets a member's role (and name, when known), moving the grant to a new version
    /// unless the member already had that role.
    fn put_grant(
        &self,
        t: &TenantId,
        userid: &str,
        role: Role,
        name: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<GrantChange, StoreError>> + Send;
    /// Removes a member's grant; `Ok(false)` if there was none.
    fn delete_grant(
        &self,
        t: &TenantId,
        userid: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// An API key's record by its stored hash.
    fn key_by_hash(
        &self,
        t: &TenantId,
        hash: &str,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, StoreError>> + Send;
}

/// What console login asks WeCom.
pub trait ConsoleWeCom: Send + Sync {
    /// Who a scan-login code belongs to (`auth/getuserinfo` with the tenant's app).
    fn login_identity(
        &self,
        tenant: &Tenant,
        code: &str,
    ) -> impl Future<Output = Result<OAuthIdentity, WeComError>> + Send;
    /// A member (`user/get`); `Ok(None)` if WeCom knows no such member.
    fn member(
        &self,
        tenant: &Tenant,
        userid: &str,
    ) -> impl Future<Output = Result<Option<User>, WeComError>> + Send;
}

/// Why a console request failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// A scan-login code WeCom refused (or that cannot be one, or of a corp that is no
    /// tenant with an app: not told apart, so tenants cannot be enumerated).
    #[error("the WeCom login code is invalid, used or expired: scan again")]
    CodeInvalid,
    /// The person who scanned is not a member of the corp.
    #[error("you are not a member of this corp")]
    NotAMember,
    /// The directory records the member as having left the corp.
    #[error("this member has left the corp")]
    MemberDeparted,
    /// An authenticated member without a console role (who they are, so that the console
    /// can say who is signed in).
    #[error("you have no role in this console yet: ask your admin to give you one")]
    NoRole {
        /// The member's userid.
        userid: String,
        /// The member's name, if WeCom told it.
        name: Option<String>,
    },
    /// No session, or one that ended (logged out, role changed, departed, key revoked).
    #[error("no console session or it has ended: log in again")]
    SessionInvalid,
    /// A session past its end.
    #[error("the console session has expired: log in again")]
    SessionExpired,
    /// A route that needs a console session was called with something else.
    #[error("this route needs a console session token (`scs_…`)")]
    NotASession,
    /// A role members cannot hold.
    #[error("role `{0}` is not viewer, operator or admin")]
    InvalidRole(String),
    /// A userid WeCom cannot have.
    #[error("userid must be 1 to 64 letters, digits, `_`, `-`, `.` or `@`")]
    InvalidUserid,
    /// A corp id that cannot be one.
    #[error("corp_id is not a corp id")]
    InvalidCorpId,
    /// WeCom says there is no such member.
    #[error("WeCom knows no member `{0}`")]
    MemberNotFound(String),
    /// The member's role kept changing while they logged in.
    #[error("your role changed while you logged in: try again")]
    RoleChanged,
    /// WeCom is busy; retry.
    #[error("WeCom is busy; retry shortly")]
    WeComBusy,
    /// WeCom failed.
    #[error("WeCom could not be asked who logged in")]
    WeComFailed,
    /// An API key's authentication failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ConsoleError> for ApiError {
    fn from(e: ConsoleError) -> Self {
        use ConsoleError as E;
        match e {
            E::CodeInvalid => ApiError::new(401, "wecom_code_invalid", e.to_string()),
            E::NotAMember => ApiError::new(403, "not_a_member", e.to_string()),
            E::MemberDeparted => ApiError::new(403, "member_departed", e.to_string()),
            E::NoRole {
                ref userid,
                ref name,
            } => {
                let details = serde_json::json!({ "userid": userid, "name": name });
                ApiError::new(403, "no_role", e.to_string()).with_details(details)
            }
            E::SessionInvalid | E::NotASession => {
                ApiError::new(401, "unauthenticated", e.to_string())
            }
            E::SessionExpired => ApiError::new(401, "session_expired", e.to_string()),
            E::InvalidRole(_) | E::InvalidUserid | E::InvalidCorpId => {
                ApiError::validation(e.to_string())
            }
            E::MemberNotFound(_) => ApiError::new(404, "member_not_found", e.to_string()),
            E::RoleChanged => ApiError::conflict("role_changed", e.to_string()),
            E::WeComBusy => ApiError::new(503, "wecom_busy", e.to_string()),
            E::WeComFailed => ApiError::new(502, "wecom_failed", e.to_string()),
            E::Auth(a) => a.into(),
            E::Store(s) => s.into(),
        }
    }
}

/// A role a member may hold: viewer, operator or admin (not session_issuer, a key's role).
pub fn member_role(raw: &str) -> Result<Role, ConsoleError> {
    match Role::parse(raw) {
        Some(r @ (Role::Viewer | Role::Operator | Role::Admin)) => Ok(r),
        _ => Err(ConsoleError::InvalidRole(raw.chars().take(40).collect())),
    }
}

/// A userid as WeCom allows them: 1 to 64 letters, digits, `_`, `-`, `.` or `@`.
pub fn valid_userid(raw: &str) -> Result<&str, ConsoleError> {
    let ok = (1..=MAX_USERID_LEN).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
    if ok {
        Ok(raw)
    } else {
        Err(ConsoleError::InvalidUserid)
    }
}

/// What the login page needs to build WeCom's scan-login link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginOptions {
    /// The corp (the link's `appid`).
    pub corp_id: String,
    /// Whether WeCom login is available (a tenant with a self-built app). `false` for a
    /// corp that is no tenant too: which corps are tenants is not told.
    pub wecom_login: bool,
    /// The app's agent id (the link's `agentid`).
    pub agent_id: Option<i64>,
    /// The scan-login page: `{login_base}/wwlogin/sso/login`.
    pub sso_url: String,
    /// How long a session lives, in seconds.
    pub session_ttl_seconds: i64,
}

/// The login options of a corp.
pub async fn login_options<T: TenantLookup>(
    tenants: &T,
    corp_id: &str,
    login_base: &str,
) -> Result<LoginOptions, ConsoleError> {
    let id = TenantId::parse(corp_id).map_err(|_| ConsoleError::InvalidCorpId)?;
    let agent_id = tenants
        .tenant(&id)
        .await?
        .and_then(|t| t.app_agent_id.filter(|_| t.app_secret.is_some()));
    Ok(LoginOptions {
        corp_id: id.as_str().to_string(),
        wecom_login: agent_id.is_some(),
        agent_id,
        sso_url: format!("{}{SSO_PATH}", login_base.trim_end_matches('/')),
        session_ttl_seconds: SESSION_TTL.num_seconds(),
    })
}

/// A session just opened: the token is shown in this answer only.
#[derive(Debug, Clone, Serialize)]
pub struct OpenedSession {
    /// The bearer token.
    pub token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The member (absent for a key session).
    pub member: Option<MemberRef>,
    /// The key (absent for a member session).
    pub key_id: Option<String>,
    /// The role.
    pub role: Role,
    /// What it may do.
    pub scopes: BTreeSet<Scope>,
}

/// A member named in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRef {
    /// The member.
    pub userid: String,
    /// Their name, when known.
    pub name: Option<String>,
}

/// Who may use the console: WeCom logins and members' roles, over their ports.
pub struct Access<'a, S, W, T, D> {
    /// Sessions and grants.
    pub store: &'a S,
    /// WeCom.
    pub wecom: &'a W,
    /// Tenants.
    pub tenants: &'a T,
    /// The directory (departed members).
    pub directory: &'a D,
}

impl<S, W, T, D> Access<'_, S, W, T, D>
where
    S: ConsoleStore,
    W: ConsoleWeCom,
    T: TenantLookup,
    D: DirectoryRead,
{
    /// Exchanges a scan-login code for a session.
    pub async fn login_with_wecom(
        &self,
        corp_id: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<OpenedSession, ConsoleError> {
        if !crate::sop::task_center::plausible_code(code) {
            return Err(ConsoleError::CodeInvalid);
        }
        // A corp that is no tenant, or has no app, is refused like a bad code.
        let id = TenantId::parse(corp_id).map_err(|_| ConsoleError::CodeInvalid)?;
        let tenant = match self.tenants.tenant(&id).await? {
            Some(t) if t.app_agent_id.is_some() && t.app_secret.is_some() => t,
            _ => return Err(ConsoleError::CodeInvalid),
        };
        let identity = self
            .wecom
            .login_identity(&tenant, code)
            .await
            .map_err(wecom_error)?;
        let userid = match identity {
            OAuthIdentity::Member { userid, .. } => userid,
            OAuthIdentity::NonMember { .. } => {
                tracing::info!("console login by someone outside the corp: refused");
                return Err(ConsoleError::NotAMember);
            }
        };
        if departed(self.directory, &id, &userid).await? {
            tracing::info!("console login by a departed member: refused");
            return Err(ConsoleError::MemberDeparted);
        }
        let name = match self.wecom.member(&tenant, &userid).await {
            Ok(user) => user.and_then(|u| u.name).filter(|n| !n.is_empty()),
            Err(e) => {
                tracing::warn!(error = %e, "member's name not read; the session has none");
                None
            }
        };
        for _ in 0..LOGIN_TRIES {
            let Some(grant) = self.store.grant(&id, &userid).await? else {
                return Err(ConsoleError::NoRole {
                    userid: userid.clone(),
                    name: name.clone(),
                });
            };
            let token = SessionToken::generate(&id);
            let hash = token.hash();
            let record = SessionRecord {
                session_id: hash[..12].to_string(),
                subject: SessionSubject::Member {
                    userid: userid.clone(),
                    name: name.clone().or_else(|| grant.name.clone()),
                    grant_version: grant.version,
                },
                role: grant.role,
                created_at: now,
                expires_at: now + SESSION_TTL,
            };
            if self.store.create_session(&id, &hash, &record).await? {
                tracing::info!(session_id = %record.session_id, role = grant.role.as_str(), "console login with WeCom");
                return Ok(opened(&token, &record, grant.role.scopes()));
            }
        }
        Err(ConsoleError::RoleChanged)
    }

    /// Sets a member's role (idempotent: the same role again changes nothing and ends no
    /// session). A change ends the member's sessions. WeCom is asked for the member's name; a
    /// member WeCom does not know is refused, a member the directory records as departed too.
    pub async fn set_role(
        &self,
        tenant: &Tenant,
        userid: &str,
        role: Role,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<RoleOutcome, ConsoleError> {
        let userid = valid_userid(userid)?;
        if departed(self.directory, &tenant.id, userid).await? {
            return Err(ConsoleError::MemberDeparted);
        }
        // The name is a convenience: when WeCom cannot be asked (no app, busy), the role is
        // set without it. Only WeCom's own "no such member" refuses.
        let name = match self.wecom.member(tenant, userid).await {
            Ok(Some(user)) => user.name.filter(|n| !n.is_empty()),
            Ok(None) => return Err(ConsoleError::MemberNotFound(userid.to_string())),
            Err(e) => {
                tracing::warn!(error = %e, "member's name not read; role set without it");
                None
            }
        };
        let change = self
            .store
            .put_grant(
                &tenant.id,
                userid,
                role,
                name.as_deref(),
                &by.to_string(),
                now,
            )
            .await?;
        let sessions_ended = if change.changed {
            self.store
                .delete_member_sessions(&tenant.id, userid)
                .await?
        } else {
            0
        };
        if change.changed {
            tracing::info!(role = role.as_str(), by = %by, sessions_ended, "console role set");
        }
        Ok(RoleOutcome {
            userid: userid.to_string(),
            name: change.grant.name,
            role: Some(change.grant.role),
            changed: change.changed,
            sessions_ended,
        })
    }
}

/// Opens a session for an API key (already authenticated as `principal`): it carries the
/// key's scopes and dies with the key.
pub async fn login_with_key<S: ConsoleStore>(
    store: &S,
    key: &ApiKey,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<OpenedSession, ConsoleError> {
    let token = SessionToken::generate(&principal.tenant);
    let hash = token.hash();
    let record = SessionRecord {
        session_id: hash[..12].to_string(),
        subject: SessionSubject::Key {
            key_id: principal.key_id.clone(),
            key_hash: key.hash(),
        },
        role: principal.role,
        created_at: now,
        expires_at: now + SESSION_TTL,
    };
    if !store
        .create_session(&principal.tenant, &hash, &record)
        .await?
    {
        return Err(ConsoleError::SessionInvalid);
    }
    tracing::info!(session_id = %record.session_id, key_id = %principal.key_id, "console login with an API key");
    Ok(opened(&token, &record, principal.scopes.clone()))
}

fn opened(token: &SessionToken, record: &SessionRecord, scopes: BTreeSet<Scope>) -> OpenedSession {
    let (member, key_id) = match &record.subject {
        SessionSubject::Member { userid, name, .. } => (
            Some(MemberRef {
                userid: userid.clone(),
                name: name.clone(),
            }),
            None,
        ),
        SessionSubject::Key { key_id, .. } => (None, Some(key_id.clone())),
    };
    OpenedSession {
        token: token.reveal().to_string(),
        expires_at: record.expires_at,
        member,
        key_id,
        role: record.role,
        scopes,
    }
}

/// A caller authenticated by a console session.
#[derive(Debug, Clone)]
pub struct SessionCaller {
    /// What it may do, as an API key's principal (its `key_id` is the key's for a key
    /// session, `session:<session id>` for a member's).
    pub principal: Principal,
    /// Who changes are attributed to.
    pub actor: Actor,
    /// The session.
    pub record: SessionRecord,
    /// The stored hash of its token (logout deletes it).
    pub hash: String,
}

/// Authenticates a console session token: the stored session, not past its end, of a
/// member who has not left the corp and whose grant is the one the session was opened
/// under, or of a key that is not revoked.
pub async fn authenticate_session<S: ConsoleStore, D: DirectoryRead>(
    store: &S,
    directory: &D,
    token: &str,
    now: DateTime<Utc>,
) -> Result<SessionCaller, ConsoleError> {
    let token = SessionToken::parse(token).ok_or(ConsoleError::SessionInvalid)?;
    let t = token.tenant().clone();
    let hash = token.hash();
    let record = store
        .session(&t, &hash)
        .await?
        .ok_or(ConsoleError::SessionInvalid)?;
    if record.expires_at <= now {
        return Err(ConsoleError::SessionExpired);
    }
    let (actor, scopes, key_id) = match &record.subject {
        SessionSubject::Member { userid, .. } => {
            if departed(directory, &t, userid).await? {
                tracing::info!(session_id = %record.session_id, "session of a departed member: ended");
                store.delete_member_sessions(&t, userid).await?;
                return Err(ConsoleError::SessionInvalid);
            }
            (
                Actor::Member(userid.clone()),
                record.role.scopes(),
                format!("session:{}", record.session_id),
            )
        }
        SessionSubject::Key { key_id, key_hash } => match store.key_by_hash(&t, key_hash).await? {
            Some(key) if !key.revoked => (Actor::Key(key_id.clone()), key.scopes, key_id.clone()),
            _ => {
                store.delete_session(&t, &hash).await?;
                return Err(ConsoleError::SessionInvalid);
            }
        },
    };
    Ok(SessionCaller {
        principal: Principal {
            tenant: t,
            role: record.role,
            scopes,
            key_id,
        },
        actor,
        record,
        hash,
    })
}

/// Ends a session (logout).
pub async fn logout<S: ConsoleStore>(
    store: &S,
    caller: &SessionCaller,
) -> Result<(), ConsoleError> {
    store
        .delete_session(&caller.principal.tenant, &caller.hash)
        .await?;
    tracing::info!(session_id = %caller.record.session_id, "console logout");
    Ok(())
}

async fn departed<D: DirectoryRead>(
    directory: &D,
    t: &TenantId,
    userid: &str,
) -> Result<bool, StoreError> {
    Ok(directory
        .staff_member(t, userid)
        .await?
        .is_some_and(|m| m.departed()))
}

/// A member as the console's member list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// The member.
    pub userid: String,
    /// Their name, when known (WeCom told it at a login or when their role was set).
    pub name: Option<String>,
    /// Their console role; `None`: no access.
    pub role: Option<Role>,
    /// What the directory last recorded of them (`active`, `departed`, …); `None` if the
    /// directory has not seen them.
    pub status: Option<String>,
    /// Their last console login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When their role was last set, and by whom.
    pub granted_at: Option<DateTime<Utc>>,
    /// `key:<id>` or `member:<userid>`.
    pub granted_by: Option<String>,
}

/// A page of members.
#[derive(Debug, Clone, Serialize)]
pub struct MemberPage {
    /// The members, ordered by userid.
    pub members: Vec<MemberView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The tenant's members: every member the directory has seen and every member with a
/// role, ordered by userid, after `cursor` (a userid), at most `limit`, those whose userid
/// or name contains `q` (case-insensitive) when given.
pub async fn members<S: ConsoleStore, D: DirectoryRead>(
    store: &S,
    directory: &D,
    t: &TenantId,
    q: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<MemberPage, ConsoleError> {
    let (staff, grants) = futures::try_join!(directory.staff_members(t), store.grants(t))?;
    Ok(member_page(staff, grants, q, cursor, limit))
}

/// The members the directory has seen and those with a role, one row each, filtered and
/// paged as [`members`] says.
pub fn member_page(
    staff: Vec<StaffMember>,
    grants: Vec<MemberGrant>,
    q: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> MemberPage {
    let mut all = std::collections::BTreeMap::<String, MemberView>::new();
    for m in staff {
        all.insert(
            m.userid.clone(),
            MemberView {
                userid: m.userid,
                name: None,
                role: None,
                status: m.status.map(|s: StaffState| s.as_str().to_string()),
                last_login_at: None,
                granted_at: None,
                granted_by: None,
            },
        );
    }
    for g in grants {
        let view = all.entry(g.userid.clone()).or_insert_with(|| MemberView {
            userid: g.userid.clone(),
            name: None,
            role: None,
            status: None,
            last_login_at: None,
            granted_at: None,
            granted_by: None,
        });
        view.name = g.name;
        view.role = Some(g.role);
        view.last_login_at = g.last_login_at;
        view.granted_at = Some(g.granted_at);
        view.granted_by = Some(g.granted_by);
    }
    let needle = q.map(str::to_lowercase).filter(|q| !q.is_empty());
    let mut matching = all
        .into_values()
        .filter(|m| cursor.is_none_or(|c| m.userid.as_str() > c))
        .filter(|m| {
            needle.as_ref().is_none_or(|n| {
                m.userid.to_lowercase().contains(n)
                    || m.name
                        .as_ref()
                        .is_some_and(|x| x.to_lowercase().contains(n))
            })
        });
    let members: Vec<MemberView> = matching.by_ref().take(limit).collect();
    let next_cursor = match matching.next() {
        Some(_) => members.last().map(|m| m.userid.clone()),
        None => None,
    };
    MemberPage {
        members,
        next_cursor,
    }
}

/// What setting or removing a role did.
#[derive(Debug, Clone, Serialize)]
pub struct RoleOutcome {
    /// The member.
    pub userid: String,
    /// Their name, when known.
    pub name: Option<String>,
    /// Their role now; `None`: no access.
    pub role: Option<Role>,
    /// Whether anything changed.
    pub changed: bool,
    /// How many of their sessions were ended.
    pub sessions_ended: usize,
}

/// Removes a member's access and ends their sessions (idempotent).
pub async fn remove_member<S: ConsoleStore>(
    store: &S,
    t: &TenantId,
    userid: &str,
    by: &Actor,
) -> Result<RoleOutcome, ConsoleError> {
    let userid = valid_userid(userid)?;
    let removed = store.delete_grant(t, userid).await?;
    let sessions_ended = store.delete_member_sessions(t, userid).await?;
    if removed || sessions_ended > 0 {
        tracing::info!(by = %by, sessions_ended, "console access removed");
    }
    Ok(RoleOutcome {
        userid: userid.to_string(),
        name: None,
        role: None,
        changed: removed,
        sessions_ended,
    })
}

/// A failed scan-login look-up, said for the caller.
fn wecom_error(e: WeComError) -> ConsoleError {
    match e.errcode() {
        Some(40029) | Some(40163) | Some(41008) | Some(50001) => ConsoleError::CodeInvalid,
        _ if e.is_retryable() => ConsoleError::WeComBusy,
        _ => {
            tracing::error!(error = %e, "WeCom scan login failed");
            ConsoleError::WeComFailed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_tenant_and_hide_their_secret() {
        let t = TenantId::parse("ww0001").unwrap();
        let token = SessionToken::generate(&t);
        let parsed = SessionToken::parse(token.reveal()).unwrap();
        assert_eq!(parsed.tenant(), &t);
        assert_eq!(parsed.hash(), token.hash());
        assert!(!format!("{token:?}").contains(&token.reveal()[10..]));
        assert!(SessionToken::parse("scs_ww0001_zz").is_none());
        assert!(SessionToken::parse(&token.reveal().replace("scs_", "scrm_")).is_none());
        // An API key is not a session token, and the other way round.
        let key = ApiKey::generate(&t);
        assert!(SessionToken::parse(key.reveal()).is_none());
        assert!(ApiKey::parse(token.reveal()).is_none());
    }

    #[test]
    fn only_session_tokens_are_taken_from_the_header() {
        let t = TenantId::parse("ww0001").unwrap();
        let token = SessionToken::generate(&t);
        let header = format!("Bearer {}", token.reveal());
        assert_eq!(session_bearer(Some(&header)), Some(token.reveal()));
        let key = ApiKey::generate(&t);
        assert_eq!(
            session_bearer(Some(&format!("Bearer {}", key.reveal()))),
            None
        );
        assert_eq!(session_bearer(None), None);
        assert_eq!(session_bearer(Some("Basic scs_x")), None);
    }

    #[test]
    fn members_hold_viewer_operator_or_admin_only() {
        assert_eq!(member_role("viewer").unwrap(), Role::Viewer);
        assert_eq!(member_role("admin").unwrap(), Role::Admin);
        assert!(matches!(
            member_role("session_issuer"),
            Err(ConsoleError::InvalidRole(_))
        ));
        assert!(member_role("root").is_err());
        let e = ApiError::from(member_role("x").unwrap_err());
        assert_eq!((e.status, e.code), (400, "validation_failed"));
    }

    #[test]
    fn userids_are_what_wecom_allows() {
        assert!(valid_userid("zhangsan").is_ok());
        assert!(valid_userid("Zhang.San-01@x_y").is_ok());
        for bad in ["", "a#b", "a b", "张三", &"x".repeat(65)] {
            assert!(valid_userid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn actors_say_who_changed_things() {
        assert_eq!(Actor::Key("abc".into()).to_string(), "key:abc");
        assert_eq!(
            Actor::Member("zhangsan".into()).to_string(),
            "member:zhangsan"
        );
    }

    #[test]
    fn refusals_have_stable_codes() {
        let cases = [
            (ConsoleError::CodeInvalid, 401, "wecom_code_invalid"),
            (ConsoleError::NotAMember, 403, "not_a_member"),
            (ConsoleError::MemberDeparted, 403, "member_departed"),
            (
                ConsoleError::NoRole {
                    userid: "zhaoliu".into(),
                    name: None,
                },
                403,
                "no_role",
            ),
            (ConsoleError::SessionInvalid, 401, "unauthenticated"),
            (ConsoleError::SessionExpired, 401, "session_expired"),
            (
                ConsoleError::MemberNotFound("x".into()),
                404,
                "member_not_found",
            ),
        ];
        for (e, status, code) in cases {
            let e = ApiError::from(e);
            assert_eq!((e.status, e.code), (status, code));
        }
    }

    fn grant(userid: &str, role: Role, name: &str) -> MemberGrant {
        MemberGrant {
            userid: userid.into(),
            role,
            name: Some(name.into()),
            version: 1,
            granted_at: Utc::now(),
            granted_by: "key:k".into(),
            last_login_at: None,
        }
    }

    fn staff(userid: &str, status: StaffState) -> StaffMember {
        StaffMember {
            userid: userid.into(),
            status: Some(status),
            status_at: None,
            departed_at: None,
            departure_published: false,
            first_seen_at: None,
        }
    }

    #[test]
    fn members_merge_the_directory_and_the_roles_one_row_each_paged_by_userid() {
        let page = |q, cursor, limit| {
            member_page(
                vec![
                    staff("lisi", StaffState::Active),
                    staff("wangwu", StaffState::Departed),
                    staff("zhangsan", StaffState::Active),
                ],
                vec![
                    grant("zhangsan", Role::Admin, "张三"),
                    grant("alice", Role::Viewer, "Alice"),
                ],
                q,
                cursor,
                limit,
            )
        };
        let all = page(None, None, 10);
        let ids: Vec<_> = all.members.iter().map(|m| m.userid.as_str()).collect();
        assert_eq!(ids, ["alice", "lisi", "wangwu", "zhangsan"]);
        assert!(all.next_cursor.is_none());
        let zhangsan = &all.members[3];
        assert_eq!(
            (
                zhangsan.role,
                zhangsan.status.as_deref(),
                zhangsan.name.as_deref()
            ),
            (Some(Role::Admin), Some("active"), Some("张三"))
        );
        assert_eq!(
            all.members[0].status, None,
            "a role the directory has not seen"
        );
        assert_eq!(all.members[1].role, None, "seen, without a role");
        assert_eq!(all.members[2].status.as_deref(), Some("departed"));

        let first = page(None, None, 2);
        assert_eq!(first.members.len(), 2);
        assert_eq!(first.next_cursor.as_deref(), Some("lisi"));
        let rest = page(None, Some("lisi"), 2);
        let ids: Vec<_> = rest.members.iter().map(|m| m.userid.as_str()).collect();
        assert_eq!(ids, ["wangwu", "zhangsan"]);
        assert!(rest.next_cursor.is_none(), "no empty last page");

        let found = page(Some("张"), None, 10);
        assert_eq!(found.members.len(), 1);
        assert_eq!(page(Some("ALI"), None, 10).members[0].userid, "alice");
    }

    #[test]
    fn sessions_live_eight_hours() {
        assert_eq!(SESSION_TTL.num_seconds(), 8 * 3600);
    }
}
