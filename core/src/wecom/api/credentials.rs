//! An app's credentials and the identity of its cached access token (pure: no I/O).
use super::WeComRateLimits;
use crate::config::Secret;
use crate::jssdk::TicketKind;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What the client needs to get a token for one app of one corp.
#[derive(Clone, Debug)]
pub struct CorpCredentials {
    /// The corp id (`ww…`).
    pub corp_id: String,
    /// The secret of the app (客户联系 secret, or a self-built app's secret). Never printed.
    pub secret: Secret,
    /// The self-built app's agent id; required by `message/send`.
    pub agent_id: Option<i64>,
    /// How often the corp may call each API (the tenant's setting; WeCom's documented rule
    /// by default): the client paces its calls below it.
    pub rate_limits: Arc<WeComRateLimits>,
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
            rate_limits: WeComRateLimits::shared_default(),
        }
    }

    /// The same credentials under the tenant's `rate_limits` instead of WeCom's default.
    pub fn with_rate_limits(mut self, rate_limits: &Arc<WeComRateLimits>) -> Self {
        self.rate_limits = Arc::clone(rate_limits);
        self
    }

    /// The cache key of this app's token: the corp and a fingerprint of the secret, so that
    /// a rotated secret never reuses the old secret's token and the secret is never stored.
    pub fn token_key(&self) -> TokenKey {
        TokenKey {
            corp_id: self.corp_id.clone(),
            fingerprint: secret_fingerprint(self.secret.expose()),
            kind: CachedKind::AccessToken,
        }
    }

    /// The cache key of this app's jsapi ticket of `kind` (per corp and app, like its token).
    pub fn ticket_key(&self, kind: TicketKind) -> TokenKey {
        TokenKey {
            kind: match kind {
                TicketKind::Corp => CachedKind::CorpTicket,
                TicketKind::Agent => CachedKind::AgentTicket,
            },
            ..self.token_key()
        }
    }
}

/// The cache key of a WeChat official account's access token, kept with the tenant that
/// configured the account: a fingerprint of the app id and secret.
pub fn official_token_key(corp_id: &str, app_id: &str, secret: &str) -> TokenKey {
    TokenKey {
        corp_id: corp_id.to_string(),
        fingerprint: secret_fingerprint(&format!("{app_id}:{secret}")),
        kind: CachedKind::OfficialAccessToken,
    }
}

/// What a cached credential is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CachedKind {
    /// A WeCom access token.
    AccessToken,
    /// The corp's jsapi ticket (`get_jsapi_ticket`).
    CorpTicket,
    /// The app's jsapi ticket (`ticket/get?type=agent_config`).
    AgentTicket,
    /// A WeChat official account's access token.
    OfficialAccessToken,
}

/// The first 16 hex digits of SHA-256 of the secret: enough to tell secrets apart, useless
/// to recover one.
pub fn secret_fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = hex::encode(digest);
    hex.truncate(16);
    hex
}

/// Identifies one cached credential: (corp, secret fingerprint, kind).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenKey {
    corp_id: String,
    fingerprint: String,
    kind: CachedKind,
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

    /// What is cached.
    pub fn kind(&self) -> CachedKind {
        self.kind
    }

    /// The tenants table's sort key: `TOKEN#{fingerprint}` for an access token,
    /// `TICKET#CORP#…` / `TICKET#AGENT#…` for jsapi tickets, `OATOKEN#…` for an official
    /// account's token.
    pub fn sort_key(&self) -> String {
        match self.kind {
            CachedKind::AccessToken => format!("TOKEN#{}", self.fingerprint),
            CachedKind::CorpTicket => format!("TICKET#CORP#{}", self.fingerprint),
            CachedKind::AgentTicket => format!("TICKET#AGENT#{}", self.fingerprint),
            CachedKind::OfficialAccessToken => format!("OATOKEN#{}", self.fingerprint),
        }
    }

    /// What the sealed copy is bound to (`scrm_core::secrets::SealContext`'s purpose), so
    /// that a ticket copied onto a token item does not open as a token.
    pub fn seal_purpose(&self) -> &'static str {
        match self.kind {
            CachedKind::AccessToken => "access-token",
            CachedKind::CorpTicket => "jsapi-ticket-corp",
            CachedKind::AgentTicket => "jsapi-ticket-agent",
            CachedKind::OfficialAccessToken => "official-access-token",
        }
    }
}
