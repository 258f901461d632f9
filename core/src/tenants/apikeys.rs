//! Tenant-scoped API keys for the admin API. A key is shown once, when it is created; only
//! its SHA-256 is stored. The key names its tenant, so looking it up never scans other
//! tenants, and a key can only ever reach its own tenant's data.
use super::model::TenantId;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// What a key may do. Ordered: an admin can do everything an operator can, and an
/// operator everything a viewer can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only: look-ups, figures, reports.
    Viewer,
    /// Day-to-day operations: points, SOP plans, re-syncs.
    Operator,
    /// Tenant settings and API keys.
    Admin,
}

impl Role {
    /// Parses `viewer`, `operator` or `admin`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

const PREFIX: &str = "scrm_";

/// A presented or freshly minted API key: `scrm_<corp id>_<64 hex>`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    tenant: TenantId,
    full: String,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}, ***)", self.tenant)
    }
}

impl ApiKey {
    /// Mints a new random key for a tenant.
    pub fn generate(tenant: &TenantId) -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Self {
            tenant: tenant.clone(),
            full: format!("{PREFIX}{}_{}", tenant, hex::encode(secret)),
        }
    }

    /// Parses a presented key; `None` if it is not shaped like one.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(PREFIX)?;
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

    /// The tenant the key belongs to.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The hash that is stored and looked up.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.full.as_bytes()))
    }

    /// The key itself, to show once to whoever created it.
    pub fn reveal(&self) -> &str {
        &self.full
    }
}

/// A stored key: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// A short public id (the first 12 hex digits of the hash), for listings and revocation.
    pub key_id: String,
    /// Free-form label ("ops laptop", "BI export").
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// Who is calling: the key's tenant and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The only tenant this caller may touch.
    pub tenant: TenantId,
    /// What it may do.
    pub role: Role,
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
    /// A valid key whose role is too low.
    #[error("this API key's role ({have}) cannot do this; it needs {need}")]
    Forbidden {
        /// The key's role.
        have: &'static str,
        /// The role needed.
        need: &'static str,
    },
}

impl Principal {
    /// Fails unless the caller's role is at least `need`.
    pub fn require(&self, need: Role) -> Result<(), AuthError> {
        if self.role >= need {
            Ok(())
        } else {
            Err(AuthError::Forbidden {
                have: self.role.as_str(),
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

    #[test]
    fn roles_are_ordered() {
        let p = Principal {
            tenant: TenantId::parse("ww0001").unwrap(),
            role: Role::Operator,
            key_id: "k".into(),
        };
        assert!(p.require(Role::Viewer).is_ok());
        assert!(p.require(Role::Operator).is_ok());
        assert!(p.require(Role::Admin).is_err());
    }
}
