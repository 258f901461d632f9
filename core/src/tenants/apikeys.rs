//! Tenant-scoped API keys for the admin API. A key is shown once, when it is created; only
//! its SHA-256 is stored. The key names its tenant, so looking it up never scans other
//! tenants, and a key can only ever reach its own tenant's data.
use super::model::TenantId;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;

/// One thing a key may do. A key carries a set of scopes, so each caller gets the least it
/// needs: the merchant's H5 backend, which faces the internet, holds a key that can only
/// mint customer sessions, not one that can also award points or message customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Look-ups, figures, reports (personal data redacted).
    #[serde(rename = "read")]
    Read,
    /// Personal data unredacted: customers' mobiles and addresses, raw callback XML.
    #[serde(rename = "personal_data:read")]
    PersonalData,
    /// Day-to-day changes: points, rewards, SOP plans, re-syncs.
    #[serde(rename = "write")]
    Write,
    /// `POST /v1/customer-sessions` for a WeChat user (unionid/openid) only.
    #[serde(rename = "sessions:issue")]
    SessionsIssue,
    /// Tenant settings, API keys, earning rules, and sessions for a named customer.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::PersonalData,
        Scope::Write,
        Scope::SessionsIssue,
        Scope::Admin,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::PersonalData => "personal_data:read",
            Scope::Write => "write",
            Scope::SessionsIssue => "sessions:issue",
            Scope::Admin => "admin",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A key's preset: the set of scopes it is issued with. Keys issued before scopes existed
/// carry only their role, which stands for the same set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only: look-ups, figures, reports; personal data redacted.
    Viewer,
    /// Day-to-day operations: points, SOP plans, re-syncs, customer sessions.
    Operator,
    /// Everything, including tenant settings and API keys.
    Admin,
    /// Customer sessions for WeChat users only: the key of the merchant's H5 backend.
    SessionIssuer,
}

impl Role {
    /// Parses `viewer`, `operator`, `admin` or `session_issuer`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            "session_issuer" => Some(Role::SessionIssuer),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::SessionIssuer => "session_issuer",
        }
    }

    /// The scopes a key of this role carries.
    pub fn scopes(&self) -> BTreeSet<Scope> {
        let scopes: &[Scope] = match self {
            Role::Viewer => &[Scope::Read],
            Role::Operator => &[
                Scope::Read,
                Scope::PersonalData,
                Scope::Write,
                Scope::SessionsIssue,
            ],
            Role::Admin => &Scope::ALL,
            Role::SessionIssuer => &[Scope::SessionsIssue],
        };
        scopes.iter().copied().collect()
    }
}

const PREFIX: &str = "scrm_";

/// A tenant-scoped bearer secret, `<prefix><corp id>_<64 hex>`: API keys and console session
/// tokens both have this shape. It names its tenant, so looking it up reads only that
/// tenant's partition; only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TenantBearer {
    tenant: TenantId,
    full: String,
}

impl TenantBearer {
    /// Mints a new random secret for a tenant.
    pub(crate) fn generate(prefix: &str, tenant: &TenantId) -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Self {
            tenant: tenant.clone(),
            full: format!("{prefix}{}_{}", tenant, hex::encode(secret)),
        }
    }

    /// Parses a presented secret; `None` if it is not shaped like one.
    pub(crate) fn parse(prefix: &str, raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(prefix)?;
        let (corp, secret) = rest.rsplit_once('_')?;
        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let tenant = TenantId::parse(corp).ok()?;
        Some(Self {
            tenant,
            full: raw.to_string(),
        })
    }

    pub(crate) fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    pub(crate) fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.full.as_bytes()))
    }

    pub(crate) fn reveal(&self) -> &str {
        &self.full
    }
}

/// A presented or freshly minted API key: `scrm_<corp id>_<64 hex>`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(TenantBearer);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}, ***)", self.0.tenant())
    }
}

impl ApiKey {
    /// Mints a new random key for a tenant.
    pub fn generate(tenant: &TenantId) -> Self {
        Self(TenantBearer::generate(PREFIX, tenant))
    }

    /// Parses a presented key; `None` if it is not shaped like one.
    pub fn parse(raw: &str) -> Option<Self> {
        TenantBearer::parse(PREFIX, raw).map(Self)
    }

    /// The tenant the key belongs to.
    pub fn tenant(&self) -> &TenantId {
        self.0.tenant()
    }

    /// The hash that is stored and looked up.
    pub fn hash(&self) -> String {
        self.0.hash()
    }

    /// The key itself, to show once to whoever created it.
    pub fn reveal(&self) -> &str {
        self.0.reveal()
    }
}

/// A stored key: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// A short public id (the first 12 hex digits of the hash), for listings and revocation.
    pub key_id: String,
    /// Free-form label ("ops laptop", "BI export").
    pub name: String,
    /// Its role (the preset its scopes came from).
    pub role: Role,
    /// What it may do.
    pub scopes: BTreeSet<Scope>,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// Who is calling: the key's tenant, role and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The only tenant this caller may touch.
    pub tenant: TenantId,
    /// The key's role.
    pub role: Role,
    /// What it may do.
    pub scopes: BTreeSet<Scope>,
    /// Which key it used.
    pub key_id: String,
}

/// Why a request was not authenticated or not allowed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error("missing API key: send `Authorization: Bearer <key>`")]
    Missing,
    /// A key that is malformed, unknown or revoked (not told apart, on purpose).
    #[error("invalid API key")]
    Invalid,
    /// A valid key without the scope the request needs.
    #[error("this API key cannot do this: it needs the scope `{need}`")]
    Forbidden {
        /// The scope needed.
        need: &'static str,
    },
}

impl Principal {
    /// Whether the caller's key carries `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Fails unless the caller's key carries `need`.
    pub fn require(&self, need: Scope) -> Result<(), AuthError> {
        if self.has(need) {
            Ok(())
        } else {
            Err(AuthError::Forbidden {
                need: need.as_str(),
            })
        }
    }
}

/// Extracts the key from an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<ApiKey, AuthError> {
    let value = header.ok_or(AuthError::Missing)?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(AuthError::Invalid)?;
    ApiKey::parse(token.trim()).ok_or(AuthError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_to_their_tenant() {
        let t = TenantId::parse("ww0001").unwrap();
        let k = ApiKey::generate(&t);
        let parsed = ApiKey::parse(k.reveal()).unwrap();
        assert_eq!(parsed.tenant(), &t);
        assert_eq!(parsed.hash(), k.hash());
        assert!(!format!("{k:?}").contains(&k.reveal()[10..]));
    }

    #[test]
    fn malformed_keys_are_rejected() {
        assert_eq!(bearer(None), Err(AuthError::Missing));
        assert_eq!(bearer(Some("Basic abc")), Err(AuthError::Invalid));
        assert_eq!(bearer(Some("Bearer scrm_ww01_zz")), Err(AuthError::Invalid));
        assert!(ApiKey::parse("scrm_ww#1_aa").is_none());
    }

    fn principal(role: Role) -> Principal {
        Principal {
            tenant: TenantId::parse("ww0001").unwrap(),
            role,
            scopes: role.scopes(),
            key_id: "k".into(),
        }
    }

    #[test]
    fn roles_keep_what_they_could_do_and_a_session_issuer_only_issues_sessions() {
        let op = principal(Role::Operator);
        assert!(op.require(Scope::Read).is_ok());
        assert!(op.require(Scope::Write).is_ok());
        assert!(op.require(Scope::SessionsIssue).is_ok());
        assert!(op.require(Scope::Admin).is_err());
        let viewer = principal(Role::Viewer);
        assert!(viewer.require(Scope::Read).is_ok());
        assert!(!viewer.has(Scope::PersonalData));
        let issuer = principal(Role::SessionIssuer);
        assert!(issuer.require(Scope::SessionsIssue).is_ok());
        for s in [Scope::Read, Scope::PersonalData, Scope::Write, Scope::Admin] {
            assert_eq!(
                issuer.require(s),
                Err(AuthError::Forbidden { need: s.as_str() })
            );
        }
        assert_eq!(principal(Role::Admin).scopes.len(), Scope::ALL.len());
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            let wire = serde_json::to_string(&s).unwrap();
            assert_eq!(wire, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(Role::parse("session_issuer"), Some(Role::SessionIssuer));
    }
}
