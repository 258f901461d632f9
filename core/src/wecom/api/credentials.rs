//! An app's credentials and the identity of its cached access token (pure: no I/O).
use crate::config::Secret;
use sha2::{Digest, Sha256};

/// What the client needs to get a token for one app of one corp.
#[derive(Clone, Debug)]
pub struct CorpCredentials {
    /// The corp id (`ww…`).
    pub corp_id: String,
    /// The secret of the app (客户联系 secret, or a self-built app's secret). Never printed.
    pub secret: Secret,
    /// The self-built app's agent id; required by `message/send`.
    pub agent_id: Option<i64>,
}

impl CorpCredentials {
    /// Credentials for one app of one corp.
    pub fn new(
        corp_id: impl Into<String>,
        secret: impl Into<String>,
        agent_id: Option<i64>,
    ) -> Self {
        Self {
            corp_id: corp_id.into(),
            secret: Secret::new(secret),
            agent_id,
        }
    }

    /// The cache key of this app's token: the corp and a fingerprint of the secret, so that
    /// a rotated secret never reuses the old secret's token and the secret is never stored.
    pub fn token_key(&self) -> TokenKey {
        TokenKey {
            corp_id: self.corp_id.clone(),
            fingerprint: secret_fingerprint(self.secret.expose()),
        }
    }
}

/// The first 16 hex digits of SHA-256 of the secret: enough to tell secrets apart, useless
/// to recover one.
pub fn secret_fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = hex::encode(digest);
    hex.truncate(16);
    hex
}

/// Identifies one cached token: (corp, secret fingerprint).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenKey {
    corp_id: String,
    fingerprint: String,
}

impl TokenKey {
    /// The corp id (the tenants table's partition key).
    pub fn corp_id(&self) -> &str {
        &self.corp_id
    }

    /// The secret's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The tenants table's sort key of this token: `TOKEN#{fingerprint}`.
    pub fn sort_key(&self) -> String {
        format!("TOKEN#{}", self.fingerprint)
    }
}
