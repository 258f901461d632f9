//! Group codes administration (admin API): create (idempotent on the key, `creating`
//! before WeCom is asked), edit (version-guarded), delete; a code's daily joins.
//!
//! A retried create that finds its code `creating` creates the join way again: WeCom lists
//! no join ways, so an answer lost after WeCom created one cannot be reconciled. That
//! orphan is harmless: it has the code's state and groups, and its QR code is shown
//! nowhere, so nobody scans it.
use super::admin::{GrowthError, INVALID_PARAMETER, MAX_FIGURE_DAYS};
use super::group_code::{join_way, rotate, GroupCode, GroupCodeInput, GroupCodeStatus, Rotation};
use super::model::Problem;
use super::ports::{GroupCodeStore, GroupDay, GroupFacts, JoinWayWeCom};
use super::state::{group_state_for, request_hash};
use crate::contacts::source::contact_credentials;
use crate::tenants::admin::registered;
use crate::tenants::{Tenant, TenantId, TenantLookup};
use crate::wecom::api::{CorpCredentials, WeComError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The ports the admin use cases take.
pub struct GroupCodeAdmin<'a, S, W, F, L> {
    /// Codes, pool entries, figures.
    pub store: &'a S,
    /// WeCom's join ways.
    pub wecom: &'a W,
    /// The directory's groups.
    pub facts: &'a F,
    /// Tenants.
    pub tenants: &'a L,
}

fn credentials(tenant: &Tenant) -> Result<CorpCredentials, GrowthError> {
    contact_credentials(tenant).ok_or(GrowthError::NoContactSecret)
}

/// The input's own problems, then those of groups the directory does not know (a
/// dismissed group counts as unknown); the pool's rotation when there are none.
async fn checked<F: GroupFacts>(
    facts: &F,
    t: &TenantId,
    input: &GroupCodeInput,
) -> Result<Rotation, GrowthError> {
    let mut problems = input.problems();
    if !problems.is_empty() {
        return Err(GrowthError::Invalid(problems));
    }
    // An operator's create or edit: every group of the pool counted now.
    let sizes = facts
        .group_sizes(t, &input.chat_ids, &input.chat_ids)
        .await?;
    for (i, id) in input.chat_ids.iter().enumerate() {
        if !sizes.contains_key(id) {
            problems.push(Problem {
                field: format!("chat_ids[{i}]"),
                message: format!("no customer group {id} in the directory"),
            });
        }
    }
    if !problems.is_empty() {
        return Err(GrowthError::Invalid(problems));
    }
    Ok(rotate(input, &sizes))
}

impl<S, W, F, L> GroupCodeAdmin<'_, S, W, F, L>
where
    S: GroupCodeStore,
    W: JoinWayWeCom,
    F: GroupFacts,
    L: TenantLookup,
{
    /// Creates a code, idempotently on `idempotency_key`: recorded `creating` (with its
    /// state and pool entries) before WeCom is asked. `Ok((code, true))` when this call
    /// created it, `(code, false)` for a replay.
    pub async fn create(
        &self,
        t: &TenantId,
        idempotency_key: &str,
        input: GroupCodeInput,
        now: DateTime<Utc>,
    ) -> Result<(GroupCode, bool), GrowthError> {
        let rotation = checked(self.facts, t, &input).await?;
        let tenant: Tenant = registered::<_, GrowthError>(self.tenants, t).await?;
        let creds = credentials(&tenant)?;
        let hash = request_hash(&serde_json::to_string(&input).unwrap_or_default());
        let fresh = GroupCode {
            state: group_state_for(t.as_str(), idempotency_key),
            spec: input,
            status: GroupCodeStatus::Creating,
            config_id: None,
            qr_code: None,
            current: Vec::new(),
            all_full: false,
            version: 1,
            request_hash: hash.clone(),
            created_at: now,
            updated_at: now,
        };
        let mut code = match self.store.create_group_code(t, &fresh).await? {
            None => fresh,
            Some(stored) if stored.request_hash != hash => return Err(GrowthError::KeyReused),
            Some(stored) if stored.status != GroupCodeStatus::Creating => {
                return Ok((stored, false))
            }
            // An earlier attempt may have reached WeCom; WeCom lists no join ways to find
            // it by, so it is created again (the orphan is shown nowhere).
            Some(stored) => stored,
        };
        self.store
            .index_pool(t, &code.state, &code.spec.chat_ids)
            .await?;
        let config_id = match self
            .wecom
            .add_join_way(&creds, &join_way(&code, &rotation.current))
            .await
        {
            Ok(id) => id,
            Err(e) if e.is_retryable() => return Err(GrowthError::Unavailable(e)),
            Err(e) => {
                // A refusal took no effect: nothing is kept, so a corrected request may use
                // the same key.
                self.store.delete_group_code(t, &code.state).await?;
                self.store
                    .unindex_pool(t, &code.state, &code.spec.chat_ids)
                    .await?;
                return Err(GrowthError::Refused(e));
            }
        };
        let info = self.wecom.get_join_way(&creds, &config_id).await?;
        let version = code.version;
        code.status = GroupCodeStatus::Active;
        code.config_id = Some(config_id);
        code.qr_code = info.qr_code.filter(|q| !q.is_empty());
        code.current = rotation.current;
        code.all_full = rotation.all_full;
        code.version = version + 1;
        code.updated_at = now;
        if !self.store.save_group_code(t, &code, version).await? {
            // A concurrent retry finished it first.
            let stored = self
                .store
                .group_code(t, &code.state)
                .await?
                .ok_or(GrowthError::NoSuchCode)?;
            return Ok((stored, false));
        }
        Ok((code, true))
    }

    async fn existing(&self, t: &TenantId, state: &str) -> Result<GroupCode, GrowthError> {
        self.store
            .group_code(t, state)
            .await?
            .ok_or(GrowthError::NoSuchCode)
    }

    /// Replaces a code's settings (from `version`); WeCom's join way gets the new pool's
    /// rotation (`update_join_way`, every setting).
    pub async fn edit(
        &self,
        t: &TenantId,
        state: &str,
        version: i64,
        input: GroupCodeInput,
        now: DateTime<Utc>,
    ) -> Result<GroupCode, GrowthError> {
        let rotation = checked(self.facts, t, &input).await?;
        let tenant: Tenant = registered::<_, GrowthError>(self.tenants, t).await?;
        let creds = credentials(&tenant)?;
        let mut code = self.existing(t, state).await?;
        if code.status == GroupCodeStatus::Creating {
            return Err(GrowthError::Creating);
        }
        if code.version != version {
            return Err(GrowthError::StaleVersion {
                current: code.version,
                given: version,
            });
        }
        let gone: Vec<String> = code
            .spec
            .chat_ids
            .iter()
            .filter(|c| !input.chat_ids.contains(c))
            .cloned()
            .collect();
        let added: Vec<String> = input
            .chat_ids
            .iter()
            .filter(|c| !code.spec.chat_ids.contains(c))
            .cloned()
            .collect();
        code.spec = input;
        self.wecom
            .update_join_way(&creds, &join_way(&code, &rotation.current))
            .await?;
        // New entries first: an entry without its group in the code's pool is ignored, a
        // missing one would miss joins.
        self.store.index_pool(t, state, &added).await?;
        code.current = rotation.current;
        code.all_full = rotation.all_full;
        code.version = version + 1;
        code.updated_at = now;
        if !self.store.save_group_code(t, &code, version).await? {
            return Err(GrowthError::ChangedMeanwhile);
        }
        self.store.unindex_pool(t, state, &gone).await?;
        Ok(code)
    }

    /// Deletes a code at WeCom (a join way WeCom no longer knows counts as gone) and here;
    /// a second delete is 404. Its figures stay until they expire.
    pub async fn delete(&self, t: &TenantId, state: &str) -> Result<(), GrowthError> {
        let tenant: Tenant = registered::<_, GrowthError>(self.tenants, t).await?;
        let creds = credentials(&tenant)?;
        let code = self.existing(t, state).await?;
        if let Some(id) = &code.config_id {
            match self.wecom.del_join_way(&creds, id).await {
                Ok(()) => {}
                Err(WeComError::Api {
                    errcode: INVALID_PARAMETER,
                    ..
                }) => tracing::info!(state, "WeCom no longer knows the join way"),
                Err(e) => return Err(e.into()),
            }
        }
        self.store.delete_group_code(t, state).await?;
        self.store
            .unindex_pool(t, state, &code.spec.chat_ids)
            .await?;
        Ok(())
    }
}

/// A group's joins of a day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupJoins {
    /// The group.
    pub chat_id: String,
    /// Joins by QR code.
    pub joined: i64,
}

/// A code's joins of a day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JoinDay {
    /// The local day.
    pub date: String,
    /// Joins by QR code.
    pub joined: i64,
    /// Per group (those with joins), by chat id.
    pub groups: Vec<GroupJoins>,
}

/// Sums group rows into days (every day of the range, oldest first, empty ones too).
pub fn join_days(rows: &[GroupDay], from: NaiveDate, to: NaiveDate) -> Vec<JoinDay> {
    let mut by_day: BTreeMap<String, JoinDay> = BTreeMap::new();
    let mut d = from;
    while d <= to {
        let date = d.format("%Y-%m-%d").to_string();
        by_day.insert(
            date.clone(),
            JoinDay {
                date,
                ..Default::default()
            },
        );
        d = d.succ_opt().unwrap_or(to + chrono::Duration::days(1));
    }
    for r in rows {
        if let Some(day) = by_day.get_mut(&r.date) {
            day.joined += r.joined;
            day.groups.push(GroupJoins {
                chat_id: r.chat_id.clone(),
                joined: r.joined,
            });
        }
    }
    for day in by_day.values_mut() {
        day.groups.sort_by(|a, b| a.chat_id.cmp(&b.chat_id));
    }
    by_day.into_values().collect()
}

/// A code's joins per day, `from` to `to` inclusive (at most [`MAX_FIGURE_DAYS`]).
pub async fn figures<S: GroupCodeStore>(
    store: &S,
    t: &TenantId,
    state: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<JoinDay>, GrowthError> {
    if to < from || (to - from).num_days() >= MAX_FIGURE_DAYS {
        return Err(GrowthError::Invalid(vec![Problem {
            field: "to".into(),
            message: format!("from ≤ to, at most {MAX_FIGURE_DAYS} days"),
        }]));
    }
    store
        .group_code(t, state)
        .await?
        .ok_or(GrowthError::NoSuchCode)?;
    let rows = store.group_figures(t, state, from, to).await?;
    Ok(join_days(&rows, from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_fill_every_day_and_sum_groups() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let row = |date: &str, c: &str, n| GroupDay {
            date: date.into(),
            chat_id: c.into(),
            joined: n,
        };
        let out = join_days(
            &[row("2026-03-02", "wr2", 3), row("2026-03-02", "wr1", 2)],
            d("2026-03-01"),
            d("2026-03-03"),
        );
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].joined, 0);
        assert_eq!(out[1].joined, 5);
        assert_eq!(out[1].groups[0].chat_id, "wr1");
        assert!(out[2].groups.is_empty());
    }
}
