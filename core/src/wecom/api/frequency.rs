//! WeCom's frequency limits on one corp's API calls, as a tenant setting.
//!
//! WeCom has changed these rules before (older documents say 2,000 calls a minute and 30,000
//! an hour per API; today's say 10,000 and 150,000), so they are a per-tenant setting whose
//! default is today's documented rule. The client paces each corp's calls of each API below
//! them (`scrm_adapters::wecom`), and reads a 45009 as "retry later", never as a failure.
use super::paths;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// At most `calls` calls in any `window_secs` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrequencyRule {
    /// Calls allowed in one window.
    pub calls: u32,
    /// The window, in seconds.
    pub window_secs: u32,
}

impl FrequencyRule {
    /// `calls` per `window_secs` seconds.
    pub const fn new(calls: u32, window_secs: u32) -> Self {
        Self { calls, window_secs }
    }

    /// The window.
    pub fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.window_secs))
    }
}

/// The most calls a rule may allow in a window.
pub const MAX_RULE_CALLS: u32 = 10_000_000;
/// The longest window of a rule: a day.
pub const MAX_RULE_WINDOW_SECS: u32 = 86_400;
/// The most rules that apply to one API.
pub const MAX_RULES_PER_API: usize = 4;
/// The most APIs with rules of their own.
pub const MAX_OVERRIDES: usize = 32;

/// How often one corp may call WeCom's server API: every API is counted on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeComRateLimits {
    /// The rules of every API without rules of its own (WeCom today: 10,000 calls a minute
    /// and 150,000 an hour, per corp and per API).
    pub per_api: Vec<FrequencyRule>,
    /// APIs (paths under `cgi-bin/`, e.g. `externalcontact/add_moment_task`) with rules of
    /// their own, which replace `per_api` for them (WeCom today: 10 Moments tasks a minute).
    pub overrides: BTreeMap<String, Vec<FrequencyRule>>,
}

impl Default for WeComRateLimits {
    fn default() -> Self {
        Self {
            per_api: vec![
                FrequencyRule::new(10_000, 60),
                FrequencyRule::new(150_000, 3_600),
            ],
            overrides: BTreeMap::from([(
                paths::ADD_MOMENT_TASK.to_string(),
                vec![FrequencyRule::new(10, 60)],
            )]),
        }
    }
}

/// WeCom's documented rule, shared: credentials built without a tenant's setting point at it.
static DEFAULT_LIMITS: LazyLock<Arc<WeComRateLimits>> =
    LazyLock::new(|| Arc::new(WeComRateLimits::default()));

impl WeComRateLimits {
    /// WeCom's documented rule, shared (cloning it copies a pointer).
    pub fn shared_default() -> Arc<WeComRateLimits> {
        DEFAULT_LIMITS.clone()
    }
}

/// Serde for a shared [`WeComRateLimits`] (`#[serde(with = "...")]`): stored as the limits
/// themselves, shared in memory so that every call's credentials copy a pointer.
pub mod shared_rate_limits {
    use super::*;

    /// Writes the limits.
    pub fn serialize<S: Serializer>(v: &Arc<WeComRateLimits>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().serialize(s)
    }

    /// Reads the limits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<WeComRateLimits>, D::Error> {
        WeComRateLimits::deserialize(d).map(Arc::new)
    }
}

/// Why rate limits were refused (the admin API answers 400 with the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitsError {
    /// A rule out of range.
    #[error(
        "wecom_rate_limits: every rule needs calls from 1 to {MAX_RULE_CALLS} and window_secs \
         from 1 to {MAX_RULE_WINDOW_SECS}"
    )]
    Rule,
    /// Too few or too many rules for one API.
    #[error("wecom_rate_limits: each API needs 1 to {MAX_RULES_PER_API} rules")]
    RuleCount,
    /// Too many overrides, or an override's key is not an API path.
    #[error(
        "wecom_rate_limits.overrides: at most {MAX_OVERRIDES} APIs, each named by its path under \
         cgi-bin/ (1 to 100 of a-z, 0-9, _ and /)"
    )]
    Override,
}

impl WeComRateLimits {
    /// The rules of `path`.
    pub fn rules_for(&self, path: &str) -> &[FrequencyRule] {
        self.overrides
            .get(path)
            .map(Vec::as_slice)
            .unwrap_or(&self.per_api)
    }

    /// Checks the settings before they are stored.
    pub fn check(&self) -> Result<(), RateLimitsError> {
        fn rules(rules: &[FrequencyRule]) -> Result<(), RateLimitsError> {
            if rules.is_empty() || rules.len() > MAX_RULES_PER_API {
                return Err(RateLimitsError::RuleCount);
            }
            let ok = |r: &FrequencyRule| {
                (1..=MAX_RULE_CALLS).contains(&r.calls)
                    && (1..=MAX_RULE_WINDOW_SECS).contains(&r.window_secs)
            };
            if rules.iter().all(ok) {
                Ok(())
            } else {
                Err(RateLimitsError::Rule)
            }
        }
        rules(&self.per_api)?;
        if self.overrides.len() > MAX_OVERRIDES {
            return Err(RateLimitsError::Override);
        }
        for (path, r) in &self.overrides {
            let named = (1..=100).contains(&path.len())
                && !path.starts_with('/')
                && path.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'/'
                });
            if !named {
                return Err(RateLimitsError::Override);
            }
            rules(r)?;
        }
        Ok(())
    }

    /// How long WeCom keeps an API blocked once it answered 45009: the shortest window of
    /// its rules (WeCom blocks a minute's limit for 60 s, an hour's for the hour).
    pub fn block_for(&self, path: &str) -> Duration {
        self.rules_for(path)
            .iter()
            .map(FrequencyRule::window)
            .min()
            .unwrap_or(Duration::from_secs(60))
            .max(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_todays_documented_rule_and_passes_its_own_check() {
        let limits = WeComRateLimits::default();
        assert!(limits.check().is_ok());
        assert_eq!(
            limits.rules_for(paths::GROUPCHAT_GET),
            [
                FrequencyRule::new(10_000, 60),
                FrequencyRule::new(150_000, 3_600)
            ]
        );
        assert_eq!(
            limits.rules_for(paths::ADD_MOMENT_TASK),
            [FrequencyRule::new(10, 60)]
        );
        assert_eq!(
            limits.block_for(paths::GROUPCHAT_GET),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn stored_settings_without_the_field_read_as_the_default() {
        let limits: WeComRateLimits = serde_json::from_str("{}").unwrap();
        assert_eq!(limits, WeComRateLimits::default());
        let only_per_api: WeComRateLimits =
            serde_json::from_str(r#"{"per_api":[{"calls":2000,"window_secs":60}]}"#).unwrap();
        assert_eq!(only_per_api.per_api, [FrequencyRule::new(2_000, 60)]);
    }

    #[test]
    fn check_refuses_empty_zero_huge_and_unnamed_rules() {
        let mut l = WeComRateLimits {
            per_api: vec![],
            ..WeComRateLimits::default()
        };
        assert_eq!(l.check(), Err(RateLimitsError::RuleCount));
        l.per_api = vec![FrequencyRule::new(0, 60)];
        assert_eq!(l.check(), Err(RateLimitsError::Rule));
        l.per_api = vec![FrequencyRule::new(10, 0)];
        assert_eq!(l.check(), Err(RateLimitsError::Rule));
        l.per_api = vec![FrequencyRule::new(10, 86_401)];
        assert_eq!(l.check(), Err(RateLimitsError::Rule));
        l.per_api = vec![FrequencyRule::new(10, 60); 5];
        assert_eq!(l.check(), Err(RateLimitsError::RuleCount));
        l.per_api = vec![FrequencyRule::new(10, 60)];
        l.overrides
            .insert("Bad Path".into(), vec![FrequencyRule::new(1, 1)]);
        assert_eq!(l.check(), Err(RateLimitsError::Override));
    }
}
