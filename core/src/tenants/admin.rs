//! A tenant's administration of itself (admin API): its profile, its settings and its API
//! keys; and the look-up every admin use case starts from, the key's tenant as registered.
use super::apikeys::{ApiKey, ApiKeyRecord, Role};
use super::model::{
    GroupMessageQuota, SecretsChange, SecretsChangeError, SecretsStatus, Tenant, TenantId,
    TenantSettings, TenantView,
};
use super::ports::{issue_key, ApiKeyStore, TenantLookup, TenantSecrets, TenantWrite};
use crate::http::ApiError;
use crate::ports::StoreError;
use chrono::{DateTime, Utc};

/// The longest name of an API key, in bytes.
pub const MAX_KEY_NAME: usize = 100;

/// The tenant of a valid key is not registered (any more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tenant not registered")]
pub struct NotRegistered;

impl From<NotRegistered> for ApiError {
    fn from(e: NotRegistered) -> Self {
        ApiError::not_found(e.to_string())
    }
}

/// The registered tenant `id`, in any error type a use case reports.
pub async fn registered<L, E>(tenants: &L, id: &TenantId) -> Result<Tenant, E>
where
    L: TenantLookup,
    E: From<StoreError> + From<NotRegistered>,
{
    tenants
        .tenant(id)
        .await?
        .ok_or_else(|| NotRegistered.into())
}

/// Why a tenant administration request was refused.
#[derive(Debug, thiserror::Error)]
pub enum TenantAdminError {
    /// The timezone is not an IANA name.
    #[error("unknown timezone `{0}` (use an IANA name such as Asia/Shanghai)")]
    UnknownTimezone(String),
    /// The group-message quota's limit does not fit its period.
    #[error("group_message_quota limit out of range (per_month 1-31, per_week 1-7, per_day 1)")]
    QuotaOutOfRange,
    /// WeCom's frequency limits out of range.
    #[error(transparent)]
    RateLimits(#[from] crate::wecom::api::RateLimitsError),
    /// A key's name is empty or too long.
    #[error("name must be 1 to 100 characters")]
    KeyName,
    /// No such key in this tenant.
    #[error("no such key")]
    NoSuchKey,
    /// The secrets kept changing while a change was applied.
    #[error("the secrets changed meanwhile: retry")]
    SecretsChanged,
    /// A secrets change out of shape.
    #[error(transparent)]
    Secrets(#[from] SecretsChangeError),
    /// The tenant is not registered.
    #[error(transparent)]
    NotRegistered(#[from] NotRegistered),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TenantAdminError> for ApiError {
    fn from(e: TenantAdminError) -> Self {
        match e {
            TenantAdminError::UnknownTimezone(_)
            | TenantAdminError::QuotaOutOfRange
            | TenantAdminError::RateLimits(_)
            | TenantAdminError::KeyName
            | TenantAdminError::Secrets(_) => ApiError::validation(e.to_string()),
            TenantAdminError::NoSuchKey => ApiError::not_found(e.to_string()),
            TenantAdminError::SecretsChanged => {
                ApiError::conflict("secrets_changed", e.to_string())
            }
            TenantAdminError::NotRegistered(n) => n.into(),
            TenantAdminError::Store(s) => s.into(),
        }
    }
}

/// The tenant as the admin API shows it (never a secret).
pub async fn profile<L: TenantLookup>(
    tenants: &L,
    id: &TenantId,
) -> Result<TenantView, TenantAdminError> {
    let tenant = registered::<_, TenantAdminError>(tenants, id).await?;
    Ok(TenantView::from(&tenant))
}

/// Checks settings before they are stored: a known timezone, a quota its period allows,
/// WeCom's frequency limits in range.
pub fn check_settings(s: &TenantSettings) -> Result<(), TenantAdminError> {
    if s.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(TenantAdminError::UnknownTimezone(s.timezone.clone()));
    }
    let limit_ok = match s.group_message_quota {
        GroupMessageQuota::DaysInMonth => true,
        GroupMessageQuota::PerMonth { limit } => (1..=31).contains(&limit),
        GroupMessageQuota::PerWeek { limit } => (1..=7).contains(&limit),
        GroupMessageQuota::PerDay { limit } => limit == 1,
    };
    if !limit_ok {
        return Err(TenantAdminError::QuotaOutOfRange);
    }
    s.wecom_rate_limits.check()?;
    Ok(())
}

/// Replaces the tenant's settings once they are checked (nothing changes otherwise).
pub async fn change_settings<W: TenantWrite>(
    tenants: &W,
    id: &TenantId,
    settings: &TenantSettings,
) -> Result<(), TenantAdminError> {
    check_settings(settings)?;
    tenants.update_settings(id, settings).await?;
    Ok(())
}

/// Which of the tenant's secrets are set (never their values).
pub async fn secrets_status<S: TenantSecrets>(
    tenants: &S,
    id: &TenantId,
) -> Result<SecretsStatus, TenantAdminError> {
    Ok(tenants.secrets_status(id).await?.ok_or(NotRegistered)?)
}

/// Replaces the given secrets of the tenant (sealed by the store) and answers which are
/// set. Cached WeCom tokens need no dropping: they are keyed by a fingerprint of the secret
/// they were fetched with, so the next call with a new secret fetches its own token.
pub async fn change_secrets<S: TenantSecrets>(
    tenants: &S,
    id: &TenantId,
    change: &SecretsChange,
    now: DateTime<Utc>,
) -> Result<SecretsStatus, TenantAdminError> {
    let status = match tenants.change_secrets(id, change, now).await {
        Err(StoreError::ConditionFailed) => return Err(TenantAdminError::SecretsChanged),
        other => other?.ok_or(NotRegistered)?,
    };
    tracing::info!(?change, "tenant secrets changed");
    Ok(status)
}

/// Issues a key named `name` (trimmed, 1 to [`MAX_KEY_NAME`] bytes) with `role`: the key,
/// to show once, and its record.
pub async fn new_key<K: ApiKeyStore>(
    keys: &K,
    tenant: &TenantId,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(ApiKey, ApiKeyRecord), TenantAdminError> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_KEY_NAME {
        return Err(TenantAdminError::KeyName);
    }
    let (key, record) = issue_key(keys, tenant, name, role, now).await?;
    tracing::info!(key_id = %record.key_id, role = record.role.as_str(), "api key issued");
    Ok((key, record))
}

/// Revokes a key of the tenant by its public id.
pub async fn revoke_key<K: ApiKeyStore>(
    keys: &K,
    tenant: &TenantId,
    key_id: &str,
) -> Result<(), TenantAdminError> {
    if !keys.revoke_key(tenant, key_id).await? {
        return Err(TenantAdminError::NoSuchKey);
    }
    tracing::info!(%key_id, "api key revoked");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_need_a_known_timezone_and_a_quota_their_period_allows() {
        let mut s = TenantSettings::default();
        assert!(check_settings(&s).is_ok());
        s.timezone = "Mars/Olympus".into();
        assert!(matches!(
            check_settings(&s),
            Err(TenantAdminError::UnknownTimezone(_))
        ));
        s.timezone = "Asia/Tokyo".into();
        s.group_message_quota = GroupMessageQuota::PerWeek { limit: 9 };
        let err = check_settings(&s).unwrap_err();
        assert_eq!(ApiError::from(err).code, "validation_failed");
        s.group_message_quota = GroupMessageQuota::PerMonth { limit: 4 };
        assert!(check_settings(&s).is_ok());
        std::sync::Arc::make_mut(&mut s.wecom_rate_limits)
            .per_api
            .clear();
        let err = check_settings(&s).unwrap_err();
        assert_eq!(ApiError::from(err).code, "validation_failed");
    }
}
