//! Channel codes administration (admin API): create (idempotent, reconciled with WeCom by
//! state), edit, pause, resume, delete; the tenant's default welcome; a code's daily
//! figures.
use super::model::{ChannelCode, CodeInput, CodeStatus, Problem, Welcome};
use super::ports::{GrowthStore, GrowthWeCom, MemberDay};
use super::rota::{self, choose, Choice};
use super::state::{request_hash, state_for};
use crate::contacts::source::contact_credentials;
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::sop::schedule::resolve_local;
use crate::tenants::admin::{registered, NotRegistered};
use crate::tenants::{Tenant, TenantId, TenantLookup};
use crate::wecom::api::{ContactWay, CorpCredentials, WeComError, CONTACT_WAY_REMARK_CHARS};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The longest range of figures one request reads, in days.
pub const MAX_FIGURE_DAYS: i64 = 92;
/// How far before a code's record `list_contact_way` is searched for it (clock skew).
const FIND_SLACK_SECS: i64 = 300;
/// WeCom's "invalid parameter", which is also its answer for a config id it does not know.
pub(crate) const INVALID_PARAMETER: i64 = 40058;

/// Why a growth request (a channel code's or a group code's) was refused.
#[derive(Debug, thiserror::Error)]
pub enum GrowthError {
    /// The input is not acceptable: every problem, per field.
    #[error("invalid code: {}", Problem::summary(.0))]
    Invalid(Vec<Problem>),
    /// No such code (channel or group code) in this tenant.
    #[error("no such code")]
    NoSuchCode,
    /// The idempotency key was used for another request body.
    #[error("this Idempotency-Key was used for another request")]
    KeyReused,
    /// The code is still being created (its creation's retry finishes it).
    #[error("the code is still being created: retry its create with the same Idempotency-Key")]
    Creating,
    /// The edit starts from another version than the stored one.
    #[error("the code is at version {current}, not {given}: reload it and edit again")]
    StaleVersion {
        /// The stored version.
        current: i64,
        /// The edit's.
        given: i64,
    },
    /// The code changed between its read and its write.
    #[error("the code changed meanwhile: reload it and try again")]
    ChangedMeanwhile,
    /// The tenant has no customer-contact secret: WeCom cannot be asked.
    #[error("the tenant has no customer-contact secret configured")]
    NoContactSecret,
    /// WeCom refused the request (bad member, no permission...): nothing was kept.
    #[error("WeCom refused it: {0}")]
    Refused(WeComError),
    /// WeCom could not be reached or was busy; the request may be retried as it was.
    #[error("WeCom is unavailable: {0}")]
    Unavailable(WeComError),
    /// The tenant is not registered.
    #[error(transparent)]
    NotRegistered(#[from] NotRegistered),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WeComError> for GrowthError {
    fn from(e: WeComError) -> Self {
        if e.is_retryable() {
            GrowthError::Unavailable(e)
        } else {
            GrowthError::Refused(e)
        }
    }
}

impl From<GrowthError> for ApiError {
    fn from(e: GrowthError) -> Self {
        match e {
            GrowthError::Invalid(ref problems) => {
                let details = serde_json::json!({ "problems": problems });
                ApiError::validation(e.to_string()).with_details(details)
            }
            GrowthError::NoSuchCode => ApiError::not_found(e.to_string()),
            GrowthError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
            GrowthError::Creating => ApiError::conflict("code_creating", e.to_string()),
            GrowthError::StaleVersion { .. } | GrowthError::ChangedMeanwhile => {
                ApiError::conflict("version_conflict", e.to_string())
            }
            GrowthError::NoContactSecret => ApiError::conflict("no_contact_secret", e.to_string()),
            GrowthError::Refused(ref w) => {
                let errcode = match w {
                    WeComError::Api { errcode, .. } => Some(*errcode),
                    _ => None,
                };
                ApiError::bad_request("wecom_refused", e.to_string())
                    .with_details(serde_json::json!({ "errcode": errcode }))
            }
            GrowthError::Unavailable(_) => {
                tracing::warn!(error = %e, "WeCom unavailable");
                ApiError::new(503, "wecom_unavailable", e.to_string())
            }
            GrowthError::NotRegistered(n) => n.into(),
            GrowthError::Store(s) => s.into(),
        }
    }
}

fn credentials(tenant: &Tenant) -> Result<CorpCredentials, GrowthError> {
    contact_credentials(tenant).ok_or(GrowthError::NoContactSecret)
}

fn check(input: &CodeInput) -> Result<(), GrowthError> {
    let problems = input.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(GrowthError::Invalid(problems))
    }
}

/// WeCom's settings of `code` with `members` on duty (an update when it has a config id).
pub fn contact_way(code: &ChannelCode, members: &[String]) -> ContactWay {
    let remark: String = code
        .spec
        .name
        .trim()
        .chars()
        .take(CONTACT_WAY_REMARK_CHARS)
        .collect();
    ContactWay {
        config_id: code.config_id.clone(),
        kind: code
            .config_id
            .is_none()
            .then(|| code.spec.kind.wecom_type()),
        scene: code.config_id.is_none().then_some(2),
        remark: Some(remark),
        skip_verify: code.spec.skip_verify,
        state: code.state.clone(),
        user: members.to_vec(),
    }
}

/// The rota's choice now for `code`, with today's adds through it.
pub async fn choice_now<S: GrowthStore>(
    store: &S,
    t: &TenantId,
    code: &ChannelCode,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> Result<Choice, StoreError> {
    let local = now.with_timezone(&tenant.settings.tz()).naive_local();
    let adds = if code.spec.rota.daily_cap.is_some() {
        store
            .adds_of(t, &code.state, local.date(), &code.spec.rota.members())
            .await?
    } else {
        Default::default()
    };
    Ok(choose(&code.spec.rota, code.spec.kind, local, &adds))
}

/// When `code`'s rota choice may next change by itself after `now` (see
/// [`rota::next_change`]), as an instant in the tenant's zone; `None` when it never does.
pub fn rota_due(code: &ChannelCode, tenant: &Tenant, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = tenant.settings.tz();
    let local = now.with_timezone(&tz).naive_local();
    let next = rota::next_change(&code.spec.rota, local)?;
    // A boundary inside a DST change can resolve to an instant not after now: a minute on.
    Some(resolve_local(tz, next).max(now + chrono::Duration::minutes(1)))
}

/// What a code is to be: the operator's input, and what its references resolved to
/// before anything was written.
#[derive(Clone, Debug)]
pub struct CodeRequest {
    /// The code as the operator asked for it.
    pub input: CodeInput,
    /// WeCom's permanent URL of the picture inviting into `input.group_invite`'s group.
    pub invite_pic_url: Option<String>,
}

/// Creates a code, idempotently on `idempotency_key`: the code is recorded (`creating`,
/// with its state) before WeCom is asked, so that a retry after a lost answer finds it
/// at WeCom by its state instead of creating a second one. `Ok((code, true))` when this
/// call created it, `(code, false)` for a replay.
pub async fn create_code<S, W, L>(
    store: &S,
    wecom: &W,
    tenants: &L,
    t: &TenantId,
    idempotency_key: &str,
    request: CodeRequest,
    now: DateTime<Utc>,
) -> Result<(ChannelCode, bool), GrowthError>
where
    S: GrowthStore,
    W: GrowthWeCom,
    L: TenantLookup,
{
    let CodeRequest {
        input,
        invite_pic_url,
    } = request;
    check(&input)?;
    let tenant: Tenant = registered::<_, GrowthError>(tenants, t).await?;
    let creds = credentials(&tenant)?;
    let hash = request_hash(&serde_json::to_string(&input).unwrap_or_default());
    let fresh = ChannelCode {
        state: state_for(t.as_str(), idempotency_key),
        spec: input,
        status: CodeStatus::Creating,
        config_id: None,
        qr_code: None,
        invite_pic_url,
        on_duty: Vec::new(),
        version: 1,
        request_hash: hash.clone(),
        created_at: now,
        updated_at: now,
        rota_due: None,
    };
    let (mut code, found) = match store.create_code(t, &fresh).await? {
        None => (fresh, None),
        Some(stored) if stored.request_hash != hash => return Err(GrowthError::KeyReused),
        Some(stored) if stored.status != CodeStatus::Creating => return Ok((stored, false)),
        Some(stored) => {
            // An earlier attempt recorded it and may have reached WeCom.
            let since = stored.created_at.timestamp() - FIND_SLACK_SECS;
            let found = wecom
                .find_contact_way(&creds, &stored.state, since, now.timestamp())
                .await?;
            (stored, found)
        }
    };
    let choice = choice_now(store, t, &code, &tenant, now).await?;
    let (config_id, qr_code) = match found {
        Some(info) => (info.config_id, info.qr_code),
        None => match wecom
            .add_contact_way(&creds, &contact_way(&code, &choice.members))
            .await
        {
            Ok(created) => (created.config_id, created.qr_code),
            Err(e) if e.is_retryable() => return Err(GrowthError::Unavailable(e)),
            Err(e) => {
                // A refusal took no effect: nothing is kept, so a corrected request may
                // use the same key.
                store.delete_code(t, &code.state).await?;
                return Err(GrowthError::Refused(e));
            }
        },
    };
    let version = code.version;
    code.status = CodeStatus::Active;
    code.config_id = Some(config_id);
    code.qr_code = qr_code;
    code.on_duty = choice.members;
    code.version = version + 1;
    code.updated_at = now;
    code.rota_due = rota_due(&code, &tenant, now);
    if !store.save_code(t, &code, version).await? {
        // A concurrent retry finished it first.
        let stored = store
            .code(t, &code.state)
            .await?
            .ok_or(GrowthError::NoSuchCode)?;
        return Ok((stored, false));
    }
    Ok((code, true))
}

async fn existing<S: GrowthStore>(
    store: &S,
    t: &TenantId,
    state: &str,
) -> Result<ChannelCode, GrowthError> {
    store.code(t, state).await?.ok_or(GrowthError::NoSuchCode)
}

/// Replaces a code's settings (from `version`); WeCom gets the members the new rota puts on
/// duty now.
#[allow(clippy::too_many_arguments)]
pub async fn edit_code<S, W, L>(
    store: &S,
    wecom: &W,
    tenants: &L,
    t: &TenantId,
    state: &str,
    version: i64,
    request: CodeRequest,
    now: DateTime<Utc>,
) -> Result<ChannelCode, GrowthError>
where
    S: GrowthStore,
    W: GrowthWeCom,
    L: TenantLookup,
{
    let CodeRequest {
        input,
        invite_pic_url,
    } = request;
    check(&input)?;
    let tenant: Tenant = registered::<_, GrowthError>(tenants, t).await?;
    let creds = credentials(&tenant)?;
    let mut code = existing(store, t, state).await?;
    if code.status == CodeStatus::Creating {
        return Err(GrowthError::Creating);
    }
    if code.version != version {
        return Err(GrowthError::StaleVersion {
            current: code.version,
            given: version,
        });
    }
    code.spec = input;
    code.invite_pic_url = invite_pic_url;
    let choice = choice_now(store, t, &code, &tenant, now).await?;
    wecom
        .update_contact_way(&creds, &contact_way(&code, &choice.members))
        .await?;
    code.on_duty = choice.members;
    code.version = version + 1;
    code.updated_at = now;
    code.rota_due = (code.status == CodeStatus::Active)
        .then(|| rota_due(&code, &tenant, now))
        .flatten();
    if !store.save_code(t, &code, version).await? {
        return Err(GrowthError::ChangedMeanwhile);
    }
    Ok(code)
}

/// Pauses (`paused = true`) or resumes a code: a paused code still adds customers (WeCom
/// has no pause), but nothing is sent or applied to them.
pub async fn set_paused<S: GrowthStore>(
    store: &S,
    t: &TenantId,
    state: &str,
    paused: bool,
    now: DateTime<Utc>,
) -> Result<ChannelCode, GrowthError> {
    let mut code = existing(store, t, state).await?;
    if code.status == CodeStatus::Creating {
        return Err(GrowthError::Creating);
    }
    let status = if paused {
        CodeStatus::Paused
    } else {
        CodeStatus::Active
    };
    if code.status == status {
        return Ok(code);
    }
    let version = code.version;
    code.status = status;
    code.version = version + 1;
    code.updated_at = now;
    // A paused code is not rotated (as on adds); a resumed one is due at once, so that the
    // rota's runner gives WeCom the choice of now if the shifts moved meanwhile.
    code.rota_due = (!paused).then_some(now);
    if !store.save_code(t, &code, version).await? {
        return Err(GrowthError::ChangedMeanwhile);
    }
    Ok(code)
}

/// Deletes a code at WeCom and here. Deleting one WeCom no longer knows, or one whose
/// creation never reached WeCom, deletes the record alone; a second delete is 404.
pub async fn delete_code<S, W, L>(
    store: &S,
    wecom: &W,
    tenants: &L,
    t: &TenantId,
    state: &str,
    now: DateTime<Utc>,
) -> Result<(), GrowthError>
where
    S: GrowthStore,
    W: GrowthWeCom,
    L: TenantLookup,
{
    let tenant: Tenant = registered::<_, GrowthError>(tenants, t).await?;
    let creds = credentials(&tenant)?;
    let code = existing(store, t, state).await?;
    let config_id = match &code.config_id {
        Some(id) => Some(id.clone()),
        None => wecom
            .find_contact_way(
                &creds,
                state,
                code.created_at.timestamp() - FIND_SLACK_SECS,
                now.timestamp(),
            )
            .await?
            .map(|w| w.config_id),
    };
    if let Some(id) = config_id {
        match wecom.del_contact_way(&creds, &id).await {
            Ok(()) => {}
            Err(WeComError::Api {
                errcode: INVALID_PARAMETER,
                ..
            }) => tracing::info!(state, "WeCom no longer knows the code; deleting the record"),
            Err(e) => return Err(e.into()),
        }
    }
    store.delete_code(t, state).await?;
    Ok(())
}

/// Sets (or with `None` removes) the tenant's default welcome.
pub async fn set_default_welcome<S: GrowthStore, L: TenantLookup>(
    store: &S,
    tenants: &L,
    t: &TenantId,
    welcome: Option<Welcome>,
) -> Result<Option<Welcome>, GrowthError> {
    registered::<_, GrowthError>(tenants, t).await?;
    if let Some(w) = &welcome {
        let mut problems = Vec::new();
        w.problems("welcome", &mut problems);
        if !problems.is_empty() {
            return Err(GrowthError::Invalid(problems));
        }
    }
    store.set_default_welcome(t, welcome.as_ref()).await?;
    Ok(welcome)
}

/// A member's figures of a day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberFigures {
    /// The member.
    pub userid: String,
    /// Adds.
    pub added: i64,
    /// Deletions.
    pub removed: i64,
    /// Adds less deletions.
    pub net: i64,
}

/// A code's figures of a day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayFigures {
    /// The local day.
    pub date: String,
    /// Adds.
    pub added: i64,
    /// Deletions (by either side) of relations made through the code.
    pub removed: i64,
    /// Adds less deletions.
    pub net: i64,
    /// Per member.
    pub members: Vec<MemberFigures>,
}

/// Sums member rows into days (every day of the range, oldest first, empty ones too).
pub fn days(rows: &[MemberDay], from: NaiveDate, to: NaiveDate) -> Vec<DayFigures> {
    let mut by_day: BTreeMap<String, DayFigures> = BTreeMap::new();
    let mut d = from;
    while d <= to {
        let date = d.format("%Y-%m-%d").to_string();
        by_day.insert(
            date.clone(),
            DayFigures {
                date,
                ..Default::default()
            },
        );
        d = d.succ_opt().unwrap_or(to + chrono::Duration::days(1));
    }
    for r in rows {
        if let Some(day) = by_day.get_mut(&r.date) {
            day.added += r.added;
            day.removed += r.removed;
            day.net = day.added - day.removed;
            day.members.push(MemberFigures {
                userid: r.userid.clone(),
                added: r.added,
                removed: r.removed,
                net: r.added - r.removed,
            });
        }
    }
    for day in by_day.values_mut() {
        day.members.sort_by(|a, b| a.userid.cmp(&b.userid));
    }
    by_day.into_values().collect()
}

/// A code's figures per day, `from` to `to` inclusive (at most [`MAX_FIGURE_DAYS`]).
pub async fn figures<S: GrowthStore>(
    store: &S,
    t: &TenantId,
    state: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayFigures>, GrowthError> {
    if to < from || (to - from).num_days() >= MAX_FIGURE_DAYS {
        return Err(GrowthError::Invalid(vec![Problem {
            field: "to".into(),
            message: format!("from ≤ to, at most {MAX_FIGURE_DAYS} days"),
        }]));
    }
    existing(store, t, state).await?;
    let rows = store.figures(t, state, from, to).await?;
    Ok(days(&rows, from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_fill_every_day_and_sum_members() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let row = |date: &str, u: &str, a, r| MemberDay {
            date: date.into(),
            userid: u.into(),
            added: a,
            removed: r,
        };
        let out = days(
            &[
                row("2026-03-02", "bob", 3, 1),
                row("2026-03-02", "amy", 2, 0),
                row("2026-03-04", "amy", 1, 2),
            ],
            d("2026-03-02"),
            d("2026-03-04"),
        );
        assert_eq!(out.len(), 3);
        assert_eq!((out[0].added, out[0].removed, out[0].net), (5, 1, 4));
        assert_eq!(out[0].members[0].userid, "amy");
        assert_eq!(
            out[1],
            DayFigures {
                date: "2026-03-03".into(),
                ..Default::default()
            }
        );
        assert_eq!(out[2].net, -1);
    }
}
