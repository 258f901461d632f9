//! The points administration (admin API) besides bulk orders ([`super::orders`]): the
//! earning rules, the rewards catalogue, the views that need more than one read (groups by
//! check-in rate, whether a day is closed), and customer sessions minted for a merchant's
//! server.
use super::import::{MalformedCsv, MAX_FILE_BYTES};
use super::jobs::fingerprint;
use super::ledger::{When, KEY_RETENTION_DAYS};
use super::model::{CustomerId, IdempotencyKey};
use super::ports::{ActivityStore, Keyed, Memberships, RewardStore, RulesStore, WriteKey};
use super::rewards::{NewReward, Redemption, Reward, RewardPatch};
use super::rules::{InvalidRules, PointsRules};
use super::session::{self, CustomerSession, SessionError, UnionIdResolver, WeChatIdentity};
use super::views::{rank_by_low_rate, rate, GroupRate};
use super::PointsError;
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::tenants::admin::{registered, NotRegistered};
use crate::tenants::{TenantId, TenantLookup};
use crate::tokens::SigningKeys;
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use serde_json::json;
use std::collections::HashSet;

/// Why a points administration request was refused.
#[derive(Debug, thiserror::Error)]
pub enum PointsAdminError {
    /// The request is not acceptable: fix it, nothing changed.
    #[error("{0}")]
    Invalid(String),
    /// The rules are not acceptable (the field at fault in the details).
    #[error(transparent)]
    InvalidRules(#[from] InvalidRules),
    /// Some customer ids cannot be ids (up to 20 of them in the details).
    #[error("some external_userids are not valid ids")]
    InvalidIds(Vec<String>),
    /// Groups the directory does not know.
    #[error("unknown group(s)")]
    UnknownGroups(Vec<String>),
    /// An import file refused as a whole.
    #[error(transparent)]
    Csv(#[from] MalformedCsv),
    /// No such reward in this tenant.
    #[error("no such reward")]
    NoSuchReward,
    /// A stock change would take more than is left.
    #[error("cannot remove more stock than is left")]
    InsufficientStock,
    /// A write that must be idempotent came without an `Idempotency-Key`.
    #[error("an Idempotency-Key header is required")]
    KeyRequired,
    /// No session: not a customer, unknown, or WeCom failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The tenant is not registered.
    #[error(transparent)]
    NotRegistered(#[from] NotRegistered),
    /// A points operation failed.
    #[error(transparent)]
    Points(#[from] PointsError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PointsAdminError> for ApiError {
    fn from(e: PointsAdminError) -> Self {
        match e {
            PointsAdminError::Invalid(m) => ApiError::validation(m),
            PointsAdminError::InvalidRules(r) => ApiError::validation(r.to_string())
                .with_details(json!({ "field": r.field, "problem": r.problem })),
            PointsAdminError::InvalidIds(mut ids) => {
                ids.truncate(20);
                ApiError::validation("some external_userids are not valid ids")
                    .with_details(json!({ "invalid": ids }))
            }
            PointsAdminError::UnknownGroups(chats) => ApiError::not_found("unknown group(s)")
                .with_details(json!({ "unknown_chat_ids": chats })),
            PointsAdminError::Csv(MalformedCsv::TooLarge) => ApiError::too_large(MAX_FILE_BYTES),
            PointsAdminError::Csv(csv) => {
                let err = ApiError::bad_request("malformed_csv", csv.to_string());
                match csv {
                    MalformedCsv::Broken { line, .. } => err.with_details(json!({ "line": line })),
                    _ => err,
                }
            }
            PointsAdminError::NoSuchReward => ApiError::not_found("no such reward"),
            PointsAdminError::InsufficientStock => {
                ApiError::conflict("insufficient_stock", e.to_string())
            }
            PointsAdminError::KeyRequired => {
                ApiError::bad_request("idempotency_key_required", e.to_string())
            }
            PointsAdminError::Session(s) => s.into(),
            PointsAdminError::NotRegistered(n) => n.into(),
            PointsAdminError::Points(p) => p.into(),
            PointsAdminError::Store(s) => s.into(),
        }
    }
}

/// `now` in the tenant's timezone.
pub async fn when_for<L: TenantLookup>(
    tenants: &L,
    tenant: &TenantId,
    now: DateTime<Utc>,
) -> Result<When, PointsAdminError> {
    let t = registered::<_, PointsAdminError>(tenants, tenant).await?;
    Ok(When::new(now, t.settings.tz()))
}

/// A reason given with an order: trimmed, `default` when absent or blank, at most 200
/// characters.
pub fn reason(raw: Option<String>, default: &str) -> Result<String, PointsAdminError> {
    match raw.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()) {
        None => Ok(default.to_string()),
        Some(r) if r.chars().count() <= 200 => Ok(r),
        Some(_) => Err(PointsAdminError::Invalid(
            "reason: at most 200 characters".into(),
        )),
    }
}

/// Replaces the tenant's earning rules once they are valid. Lots expiring from yesterday
/// on are swept.
pub async fn replace_rules<S: RulesStore, L: TenantLookup>(
    store: &S,
    tenants: &L,
    tenant: &TenantId,
    rules: &PointsRules,
    operator: &str,
    now: DateTime<Utc>,
) -> Result<(), PointsAdminError> {
    rules.validate()?;
    let when = when_for(tenants, tenant, now).await?;
    let yesterday = when.today().pred_opt().unwrap_or(when.today());
    store.put_rules(tenant, rules, yesterday, when.now).await?;
    tracing::info!(%operator, "points rules replaced");
    Ok(())
}

/// The record of a catalogue write under `key`: what the request was, kept as long as
/// the ledger's idempotency records.
fn write_key(key: IdempotencyKey, what: &[&str], now: DateTime<Utc>) -> WriteKey {
    WriteKey {
        key,
        fingerprint: fingerprint(what),
        expires_at: (now + chrono::Duration::days(KEY_RETENTION_DAYS)).timestamp(),
    }
}

/// Answers a write made before under the same key: the same request answers the reward
/// as it is now (nothing changes again); another request is refused.
async fn answer_before<S: RewardStore>(
    store: &S,
    tenant: &TenantId,
    key: &WriteKey,
    outcome: Keyed<Reward>,
) -> Result<Reward, PointsAdminError> {
    match outcome {
        Keyed::Done(reward) => Ok(reward),
        Keyed::Before {
            fingerprint,
            reward_id,
        } if fingerprint == key.fingerprint => store
            .reward(tenant, &reward_id)
            .await?
            .ok_or(PointsAdminError::NoSuchReward),
        Keyed::Before { .. } => Err(PointsError::KeyReused.into()),
    }
}

/// Adds a reward to the catalogue, once per idempotency key (a retry answers the reward
/// created first; the key with another reward is refused).
pub async fn create_reward<S: RewardStore>(
    store: &S,
    tenant: &TenantId,
    new: &NewReward,
    key: Option<IdempotencyKey>,
    operator: &str,
    now: DateTime<Utc>,
) -> Result<Reward, PointsAdminError> {
    new.validate().map_err(PointsAdminError::Invalid)?;
    let key = key.ok_or(PointsAdminError::KeyRequired)?;
    let body = serde_json::to_string(new).unwrap_or_default();
    let key = write_key(key, &["create_reward", &body], now);
    let id = ulid::Ulid::new().to_string();
    let outcome = store.create_reward(tenant, new, &id, &key, now).await?;
    let created = matches!(outcome, Keyed::Done(_));
    let reward = answer_before(store, tenant, &key, outcome).await?;
    if created {
        tracing::info!(reward_id = %id, %operator, "reward created");
    }
    Ok(reward)
}

/// Changes a reward. A stock change (a delta, never taking more than is left) needs an
/// idempotency key, so that a retried restock counts once; changes that only set values
/// are idempotent by themselves and take a key optionally.
pub async fn update_reward<S: RewardStore>(
    store: &S,
    tenant: &TenantId,
    id: &str,
    patch: &RewardPatch,
    key: Option<IdempotencyKey>,
    now: DateTime<Utc>,
) -> Result<Reward, PointsAdminError> {
    patch.validate().map_err(PointsAdminError::Invalid)?;
    if patch.add_stock.is_some() && key.is_none() {
        return Err(PointsAdminError::KeyRequired);
    }
    let body = serde_json::to_string(patch).unwrap_or_default();
    let key = key.map(|k| write_key(k, &["update_reward", id, &body], now));
    match store
        .update_reward(tenant, id, patch, key.as_ref(), now)
        .await
    {
        Ok(Some(Keyed::Done(r))) => Ok(r),
        Ok(Some(before)) => match &key {
            Some(key) => answer_before(store, tenant, key, before).await,
            None => Err(PointsError::KeyReused.into()),
        },
        Ok(None) => Err(PointsAdminError::NoSuchReward),
        Err(StoreError::ConditionFailed) => Err(PointsAdminError::InsufficientStock),
        Err(e) => Err(e.into()),
    }
}

/// A reward's redemptions, newest first.
pub async fn redemptions<S: RewardStore>(
    store: &S,
    tenant: &TenantId,
    id: &str,
    limit: i32,
) -> Result<Vec<Redemption>, PointsAdminError> {
    if store.reward(tenant, id).await?.is_none() {
        return Err(PointsAdminError::NoSuchReward);
    }
    Ok(store.redemptions(tenant, id, limit).await?)
}

/// Whether a day's totals are final (cached): late events can no longer land on it two
/// days after.
pub fn day_closed(today: NaiveDate, date: NaiveDate) -> bool {
    today
        .checked_sub_days(chrono::Days::new(2))
        .map(|d| date <= d)
        .unwrap_or(false)
}

/// The tenant's groups on `date` (`YYYY-MM-DD`), lowest check-in rate first, at most
/// `limit`; and how many groups there are.
pub async fn check_in_rates<A: ActivityStore, M: Memberships>(
    activity: &A,
    directory: &M,
    tenant: &TenantId,
    date: &str,
    limit: usize,
) -> Result<(Vec<GroupRate>, usize), StoreError> {
    let groups = directory.groups(tenant).await?;
    let rates: Vec<Result<GroupRate, StoreError>> = futures::stream::iter(groups)
        .map(|(chat_id, name)| group_rate(activity, directory, tenant, chat_id, name, date))
        .buffer_unordered(8)
        .collect()
        .await;
    let rates = rates.into_iter().collect::<Result<Vec<_>, _>>()?;
    let total = rates.len();
    Ok((rank_by_low_rate(rates, limit), total))
}

async fn group_rate<A: ActivityStore, M: Memberships>(
    activity: &A,
    directory: &M,
    tenant: &TenantId,
    chat_id: String,
    name: Option<String>,
    date: &str,
) -> Result<GroupRate, StoreError> {
    let members: HashSet<String> = directory
        .group_customers(tenant, &chat_id)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.to_string())
        .collect();
    let day = activity.group_day(tenant, &chat_id, date).await?;
    let checked = day
        .checked_in
        .iter()
        .filter(|c| members.contains(*c))
        .count() as i64;
    let customers = members.len() as i64;
    Ok(GroupRate {
        chat_id,
        name,
        customers,
        checked_in: checked,
        rate: rate(checked, customers),
    })
}

/// Whom a customer session is for: a WeChat user the merchant's server identified through
/// its own OAuth exchange, or a customer the directory knows.
#[derive(Debug, Clone)]
pub enum SessionSubject {
    /// A WeChat user, mapped to the corp's customer through WeCom.
    WeChat(WeChatIdentity),
    /// A known customer.
    Customer(CustomerId),
}

impl SessionSubject {
    /// Either `unionid` and `openid`, or `external_userid` alone.
    pub fn from_fields(
        unionid: Option<String>,
        openid: Option<String>,
        external_userid: Option<String>,
    ) -> Result<Self, PointsAdminError> {
        match (unionid, openid, external_userid) {
            (Some(u), Some(o), None) => WeChatIdentity::parse(&u, &o)
                .map(SessionSubject::WeChat)
                .map_err(|e| PointsAdminError::Invalid(e.to_string())),
            (None, None, Some(ext)) => CustomerId::parse(&ext)
                .map(SessionSubject::Customer)
                .map_err(|e| PointsAdminError::Invalid(e.to_string())),
            _ => Err(PointsAdminError::Invalid(
                "give either unionid and openid, or external_userid".into(),
            )),
        }
    }

    /// How the subject was named (logs).
    pub fn via(&self) -> &'static str {
        match self {
            SessionSubject::WeChat(_) => "wechat",
            SessionSubject::Customer(_) => "external_userid",
        }
    }
}

/// Mints a customer session for `subject` in the key's tenant (never another: the tenant
/// is the key's, not the request's). See [`super::session`].
#[allow(clippy::too_many_arguments)]
pub async fn open_session<R, M, L>(
    wecom: &R,
    directory: &M,
    tenants: &L,
    signing_key: &SigningKeys,
    tenant_id: &TenantId,
    key_id: &str,
    subject: SessionSubject,
    now: DateTime<Utc>,
) -> Result<CustomerSession, PointsAdminError>
where
    R: UnionIdResolver,
    M: Memberships,
    L: TenantLookup,
{
    let via = subject.via();
    let minted = match subject {
        SessionSubject::WeChat(who) => {
            let tenant = registered::<_, PointsAdminError>(tenants, tenant_id).await?;
            session::for_wechat_user(wecom, signing_key, &tenant, &who, now).await
        }
        SessionSubject::Customer(customer) => {
            session::for_known_customer(directory, signing_key, tenant_id, &customer, now).await
        }
    };
    let minted = minted.inspect_err(|e| {
        tracing::info!(via, outcome = %e, "customer session refused");
    })?;
    tracing::info!(
        via,
        key_id = %key_id,
        external_userid = %minted.external_userid,
        expires_at = minted.expires_at,
        "customer session issued"
    );
    Ok(minted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_closes_two_days_after() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(day_closed(d("2026-03-10"), d("2026-03-08")));
        assert!(!day_closed(d("2026-03-10"), d("2026-03-09")));
    }

    #[test]
    fn a_session_names_one_subject() {
        let s = |u: Option<&str>, o: Option<&str>, e: Option<&str>| {
            SessionSubject::from_fields(
                u.map(String::from),
                o.map(String::from),
                e.map(String::from),
            )
        };
        assert!(matches!(
            s(Some("u"), Some("o"), None),
            Ok(SessionSubject::WeChat(_))
        ));
        assert!(matches!(
            s(None, None, Some("wm1")),
            Ok(SessionSubject::Customer(_))
        ));
        for bad in [
            s(Some("u"), None, None),
            s(Some("u"), Some("o"), Some("wm1")),
            s(None, None, None),
            s(Some(""), Some("o"), None),
        ] {
            assert_eq!(ApiError::from(bad.unwrap_err()).code, "validation_failed");
        }
    }

    #[test]
    fn reasons_default_and_are_bounded() {
        assert_eq!(reason(None, "manual").unwrap(), "manual");
        assert_eq!(reason(Some("  ".into()), "manual").unwrap(), "manual");
        assert_eq!(reason(Some(" gift ".into()), "manual").unwrap(), "gift");
        assert!(reason(Some("x".repeat(201)), "manual").is_err());
    }
}
