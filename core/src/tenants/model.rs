//! The tenant and its settings. Secrets are [`Secret`]s: never printed, never returned by
//! the admin API ([`TenantView`] is what leaves the system).
use crate::config::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

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
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            timezone: "Asia/Shanghai".to_string(),
            group_message_quota: GroupMessageQuota::default(),
            create_wecom_group_messages: false,
            create_wecom_moment_tasks: false,
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

#[cfg(test)]
mod tests {
    use super::*;

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
