//! The tenant and its settings. Secrets are [`Secret`]s: never printed, never returned by
//! the admin API ([`TenantView`] is what leaves the system).
use crate::config::Secret;
use crate::wecom::api::WeComRateLimits;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A WeCom corp id: the tenant key that starts every partition key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

/// A corp id that is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid corp id: must be 4 to 64 letters or digits")]
pub struct InvalidTenantId;

impl TenantId {
    /// Validates a corp id (`ww…`/`wx…` in practice): 4–64 ASCII letters or digits. The
    /// restriction keeps `#`, which separates key parts, out of keys.
    pub fn parse(raw: &str) -> Result<Self, InvalidTenantId> {
        let ok = (4..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(InvalidTenantId)
        }
    }

    /// The corp id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        TenantId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// How many enterprise group messages one customer or customer group may receive. WeCom
/// has changed this rule before (it was 4 a month), so it is a per-tenant setting whose
/// default is today's rule: as many as the month has days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GroupMessageQuota {
    /// As many per calendar month as the month has days (WeCom's default today).
    #[default]
    DaysInMonth,
    /// At most `limit` per calendar month (the old rule was 4).
    PerMonth {
        /// Messages per month.
        limit: u32,
    },
    /// At most 7 per week (Monday to Sunday), an option of WeCom's 群发助手.
    PerWeek {
        /// Messages per week.
        limit: u32,
    },
    /// At most 1 per day, an option of WeCom's 群发助手.
    PerDay {
        /// Messages per day.
        limit: u32,
    },
}

/// A tenant's behaviour settings (not secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    /// The IANA timezone that decides what a "day" is (check-ins, schedules, expiry).
    pub timezone: String,
    /// The group-message receive quota per customer / customer group.
    pub group_message_quota: GroupMessageQuota,
    /// Whether SOP dispatch also creates the WeCom group-message task
    /// (`add_msg_template`) so that staff only confirm in WeCom.
    pub create_wecom_group_messages: bool,
    /// Whether Moments SOP dispatch also creates the WeCom moments task.
    pub create_wecom_moment_tasks: bool,
    /// How often the corp may call each WeCom API (WeCom has changed it before): the
    /// client paces the tenant's calls below it. Settings stored before it existed read
    /// as today's documented rule.
    #[serde(with = "crate::wecom::api::shared_rate_limits")]
    pub wecom_rate_limits: Arc<WeComRateLimits>,
    /// Whether tracked links send an unidentified visitor inside WeChat through the
    /// official account's silent OAuth (`snsapi_base`) first, when an account is
    /// configured. Settings stored before it existed read as on.
    pub link_visitor_oauth: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            timezone: "Asia/Shanghai".to_string(),
            group_message_quota: GroupMessageQuota::default(),
            create_wecom_group_messages: false,
            create_wecom_moment_tasks: false,
            wecom_rate_limits: WeComRateLimits::shared_default(),
            link_visitor_oauth: true,
        }
    }
}

impl TenantSettings {
    /// The timezone, falling back to Asia/Shanghai if the stored name is unknown.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

/// A tenant with its secrets.
#[derive(Clone)]
pub struct Tenant {
    /// The corp id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// The callback Token (signature only).
    pub callback_token: Secret,
    /// The callback EncodingAESKey (43 characters).
    pub encoding_aes_key: Secret,
    /// The 客户联系 secret (or that of the self-built app configured for customer contact).
    pub contact_secret: Secret,
    /// The self-built app that sends staff reminders: agent id and secret.
    pub app_agent_id: Option<i64>,
    /// The app secret.
    pub app_secret: Option<Secret>,
    /// Settings.
    pub settings: TenantSettings,
    /// When the tenant was registered.
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What the admin API shows of a tenant: never a secret, only whether each is set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TenantView {
    /// The corp id.
    pub corp_id: String,
    /// Display name.
    pub name: String,
    /// Settings.
    pub settings: TenantSettings,
    /// Whether the callback token and key are set.
    pub callback_configured: bool,
    /// Whether the customer-contact secret is set.
    pub contact_secret_configured: bool,
    /// The reminder app's agent id, if set.
    pub app_agent_id: Option<i64>,
    /// Registration time.
    pub created_at: DateTime<Utc>,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        Self {
            corp_id: t.id.to_string(),
            name: t.name.clone(),
            settings: t.settings.clone(),
            callback_configured: !t.callback_token.expose().is_empty()
                && !t.encoding_aes_key.expose().is_empty(),
            contact_secret_configured: !t.contact_secret.expose().is_empty(),
            app_agent_id: t.app_agent_id,
            created_at: t.created_at,
        }
    }
}

/// The longest contact or app secret accepted, in bytes (WeCom's are 43).
pub const MAX_SECRET_LEN: usize = 128;

/// A change of a tenant's WeCom secrets: each given one replaces the stored one, the others
/// are kept. Built only by [`SecretsChange::parse`], so every value is checked.
#[derive(Clone, Default)]
pub struct SecretsChange {
    /// The 客户联系 secret.
    pub contact_secret: Option<Secret>,
    /// The reminder / console-login app's secret.
    pub app_secret: Option<Secret>,
    /// The app's agent id.
    pub agent_id: Option<i64>,
    /// The callback Token.
    pub callback_token: Option<Secret>,
    /// The callback EncodingAESKey.
    pub encoding_aes_key: Option<Secret>,
}

/// Why a secrets change was refused (the values themselves are never in the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretsChangeError {
    /// Nothing to change.
    #[error("give at least one of contact_secret, app_secret, agent_id, callback_token, encoding_aes_key")]
    Empty,
    /// A contact or app secret out of shape.
    #[error("{0} must be 1 to 128 printable ASCII characters without spaces")]
    Secret(&'static str),
    /// An agent id that is not a positive 32-bit integer.
    #[error("agent_id must be an integer from 1 to 2147483647")]
    AgentId,
    /// A callback token out of shape.
    #[error("callback_token must be 3 to 32 letters or digits")]
    CallbackToken,
    /// An EncodingAESKey out of shape.
    #[error("encoding_aes_key must be exactly 43 characters of A-Z, a-z, 0-9, + and /")]
    EncodingAesKey,
}

impl SecretsChange {
    /// Checks the given values: secrets 1 to [`MAX_SECRET_LEN`] printable ASCII characters
    /// without spaces, agent id 1 to 2^31-1, token 3 to 32 alphanumerics, EncodingAESKey
    /// exactly 43 characters of the base64 alphabet; at least one value.
    pub fn parse(
        contact_secret: Option<String>,
        app_secret: Option<String>,
        agent_id: Option<i64>,
        callback_token: Option<String>,
        encoding_aes_key: Option<String>,
    ) -> Result<Self, SecretsChangeError> {
        fn secret(
            field: &'static str,
            v: Option<String>,
        ) -> Result<Option<Secret>, SecretsChangeError> {
            match v {
                Some(v)
                    if v.is_empty()
                        || v.len() > MAX_SECRET_LEN
                        || !v.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    Err(SecretsChangeError::Secret(field))
                }
                other => Ok(other.map(Secret::new)),
            }
        }
        if contact_secret.is_none()
            && app_secret.is_none()
            && agent_id.is_none()
            && callback_token.is_none()
            && encoding_aes_key.is_none()
        {
            return Err(SecretsChangeError::Empty);
        }
        if agent_id.is_some_and(|a| !(1..=i64::from(i32::MAX)).contains(&a)) {
            return Err(SecretsChangeError::AgentId);
        }
        if let Some(t) = &callback_token {
            if !(3..=32).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(SecretsChangeError::CallbackToken);
            }
        }
        if let Some(k) = &encoding_aes_key {
            let base64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
            if k.len() != 43 || !k.bytes().all(base64) {
                return Err(SecretsChangeError::EncodingAesKey);
            }
        }
        Ok(Self {
            contact_secret: secret("contact_secret", contact_secret)?,
            app_secret: secret("app_secret", app_secret)?,
            agent_id,
            callback_token: callback_token.map(Secret::new),
            encoding_aes_key: encoding_aes_key.map(Secret::new),
        })
    }
}

impl fmt::Debug for SecretsChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsChange")
            .field("contact_secret", &self.contact_secret.is_some())
            .field("app_secret", &self.app_secret.is_some())
            .field("agent_id", &self.agent_id)
            .field("callback_token", &self.callback_token.is_some())
            .field("encoding_aes_key", &self.encoding_aes_key.is_some())
            .finish()
    }
}

/// Which of a tenant's secrets are set (never their values), and when they last changed
/// through the admin API (`None`: not since registration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsStatus {
    /// Whether the 客户联系 secret is set.
    pub contact_secret: bool,
    /// Whether the app secret is set.
    pub app_secret: bool,
    /// Whether the app's agent id is set.
    pub agent_id: bool,
    /// Whether the callback Token is set.
    pub callback_token: bool,
    /// Whether the callback EncodingAESKey is set.
    pub encoding_aes_key: bool,
    /// When the secrets were last changed through the admin API.
    pub updated_at: Option<DateTime<Utc>>,
}

impl SecretsStatus {
    /// The status of `t`'s secrets, changed at `updated_at`.
    pub fn of(t: &Tenant, updated_at: Option<DateTime<Utc>>) -> Self {
        Self {
            contact_secret: !t.contact_secret.expose().is_empty(),
            app_secret: t
                .app_secret
                .as_ref()
                .is_some_and(|s| !s.expose().is_empty()),
            agent_id: t.app_agent_id.is_some(),
            callback_token: !t.callback_token.expose().is_empty(),
            encoding_aes_key: !t.encoding_aes_key.expose().is_empty(),
            updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_changes_are_checked() {
        let ok = |c, a, g, t, k| SecretsChange::parse(c, a, g, t, k);
        let s = |v: &str| Some(v.to_string());
        let key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        assert!(ok(s("c"), None, None, None, None).is_ok());
        assert!(ok(None, None, Some(1000002), s("Tok3n"), s(key)).is_ok());
        assert_eq!(
            ok(None, None, None, None, None).unwrap_err(),
            SecretsChangeError::Empty
        );
        assert!(ok(s(""), None, None, None, None).is_err());
        assert!(ok(None, s("a b"), None, None, None).is_err());
        assert!(ok(None, s(&"x".repeat(129)), None, None, None).is_err());
        assert!(ok(None, None, Some(0), None, None).is_err());
        assert!(ok(None, None, Some(1 << 31), None, None).is_err());
        assert!(ok(None, None, None, s("ab"), None).is_err());
        assert!(ok(None, None, None, s("tok_en"), None).is_err());
        assert!(ok(None, None, None, None, s(&key[1..])).is_err());
        assert!(ok(None, None, None, None, s(&key.replace('a', "-"))).is_err());
        let shown = format!("{:?}", ok(s("SECRET"), None, None, None, None).unwrap());
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn corp_ids_are_validated() {
        assert!(TenantId::parse("ww5823bf96d3bd56c7").is_ok());
        assert!(TenantId::parse("ww#1").is_err());
        assert!(TenantId::parse("abc").is_err());
        assert!(TenantId::parse(&"a".repeat(65)).is_err());
        assert!(TenantId::parse("ww12_34").is_err());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let t = Tenant {
            id: TenantId::parse("ww0001").unwrap(),
            name: "Shop".into(),
            callback_token: Secret::new("tok-SECRET"),
            encoding_aes_key: Secret::new("key-SECRET"),
            contact_secret: Secret::new("contact-SECRET"),
            app_agent_id: Some(1),
            app_secret: Some(Secret::new("app-SECRET")),
            settings: TenantSettings::default(),
            created_at: Utc::now(),
        };
        let shown = format!("{t:?} {:?}", TenantView::from(&t));
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
