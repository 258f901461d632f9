//! Result sync (the `sop-result-sync` function's use case): every ten minutes, reads
//! WeCom's results for the mass-message and moments tasks SOP dispatch created, and settles
//! the tasks.
//!
//! - `get_groupmsg_send_result`: status 1 (sent) marks the task done (by WeCom); status 2
//!   fails it "not a friend"; status 3 fails it "quota reached at WeCom".
//! - `get_moment_task_result`: when WeCom finished creating the post, a non-zero errcode
//!   fails every sender's task with it (`wecom`); senders WeCom refused fail
//!   (`wecom_refused`); the post's `moment_id` is kept on the entry.
//! - `get_moment_task` (by `moment_id`): a sender whose `publish_status` is 1 (published)
//!   is done (by WeCom); one who has not published yet stays pending.
//!
//! An entry is synced until all its targets are settled or [`SYNC_FOR`] has passed.
use super::occurrence::{OutboxItem, OutboxKind, SYNC_EVERY, SYNC_FOR};
use super::ports::{OutboxStore, SopWeCom, TaskStore};
use super::task::{DoneBy, Failure, Target, TaskKey};
use crate::clock::Clock;
use crate::ports::{MayRetry, StoreError};
use crate::tenants::{Tenant, TenantId, TenantLookup};
use crate::wecom::api::{MomentPublish, SendStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracing::Instrument;

/// Most entries synced per tenant and run.
const BATCH: usize = 200;

/// Everything the use case needs; the function builds it once per container.
pub struct ResultSync<S, W, T> {
    /// The tasks table.
    pub store: S,
    /// WeCom.
    pub wecom: W,
    /// Tenants (credentials).
    pub tenants: T,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// The input: the scheduled event, or `{"tenant": "<corp id>"}` for one tenant.
#[derive(Debug, Default, Deserialize)]
pub struct SyncInput {
    /// Only this tenant.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Entries synced.
    pub entries: usize,
    /// Tasks marked done.
    pub done: usize,
    /// Tasks marked failed.
    pub failed: usize,
    /// Entries WeCom could not answer for this time.
    pub errors: usize,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The input names an invalid tenant.
    #[error("unknown tenant: {0}")]
    UnknownTenant(String),
}

impl MayRetry for SyncError {
    /// Whether running again may succeed: only when the store was throttled or conflicting.
    fn is_retryable(&self) -> bool {
        matches!(self, SyncError::Store(s) if s.is_retryable())
    }
}

impl<S: TaskStore + OutboxStore, W: SopWeCom, T: TenantLookup> ResultSync<S, W, T> {
    /// One run over every tenant (or the one named).
    pub async fn run(&self, input: &SyncInput) -> Result<SyncReport, SyncError> {
        let ids = match &input.tenant {
            Some(raw) => {
                vec![TenantId::parse(raw).map_err(|_| SyncError::UnknownTenant(raw.clone()))?]
            }
            None => self.tenants.tenant_ids().await?,
        };
        let mut report = SyncReport::default();
        for id in ids {
            let Some(tenant) = self.tenants.tenant(&id).await? else {
                continue;
            };
            let span = tracing::info_span!("tenant", tenant = %id);
            let r = self.run_tenant(&tenant).instrument(span).await?;
            report.entries += r.entries;
            report.done += r.done;
            report.failed += r.failed;
            report.errors += r.errors;
        }
        Ok(report)
    }

    /// One tenant.
    pub async fn run_tenant(&self, tenant: &Tenant) -> Result<SyncReport, SyncError> {
        let now = self.clock.now();
        let mut report = SyncReport::default();
        for item in self.store.sync_due(&tenant.id, now, BATCH).await? {
            report.entries += 1;
            self.sync(tenant, item, now, &mut report).await?;
        }
        Ok(report)
    }

    async fn settle(
        &self,
        t: &TenantId,
        key: TaskKey,
        outcome: Result<DateTime<Utc>, Failure>,
        now: DateTime<Utc>,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        match outcome {
            Ok(at) => {
                if self.store.complete_task(t, &key, DoneBy::Wecom, at).await? {
                    report.done += 1;
                }
            }
            Err(failure) => {
                // WeCom's own verdict on this target: it was not received (not a friend)
                // or WeCom's quota refused it, whose counter stays used.
                let release = failure.releases_quota();
                if self
                    .store
                    .fail_task(t, &key, &failure, release, now)
                    .await?
                {
                    report.failed += 1;
                }
            }
        }
        Ok(())
    }

    async fn sync(
        &self,
        tenant: &Tenant,
        mut item: OutboxItem,
        now: DateTime<Utc>,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let t = &tenant.id;
        // A Moments post found by reconciliation has its post id but no jobid.
        if item.wecom_id.is_none() && item.moment_id.is_none() {
            item.next_sync_at = None;
            self.store.settle_outbox(t, &item).await?;
            return Ok(());
        }
        let wecom_id = item.wecom_id.clone().unwrap_or_default();
        let key = |target: Target, staff: &str| TaskKey {
            plan_id: item.plan_id.clone(),
            occurrence_id: item.occurrence_id.clone(),
            target,
            staff: staff.to_string(),
        };
        let mut settled_all = false;
        match &item.kind {
            OutboxKind::GroupMessage {
                staff,
                chat_type,
                targets,
                ..
            } if !wecom_id.is_empty() => match self
                .wecom
                .group_message_results(tenant, &wecom_id, staff)
                .await
            {
                Ok(records) => {
                    let group = chat_type == "group";
                    let mut settled = 0;
                    for r in records {
                        let target = if group {
                            r.chat_id.clone().map(|chat_id| Target::Group { chat_id })
                        } else {
                            r.external_userid
                                .clone()
                                .map(|external_userid| Target::Customer { external_userid })
                        };
                        let Some(target) = target else { continue };
                        let outcome = match r.send_status() {
                            SendStatus::Sent => Ok(r
                                .send_time
                                .and_then(|s| DateTime::from_timestamp(s, 0))
                                .unwrap_or(now)),
                            SendStatus::NotFriend => Err(Failure::not_friend()),
                            SendStatus::QuotaReached => Err(Failure::wecom_quota_reached()),
                            SendStatus::NotSent | SendStatus::Other(_) => continue,
                        };
                        settled += 1;
                        self.settle(t, key(target, staff), outcome, now, report)
                            .await?;
                    }
                    settled_all = settled >= targets.len();
                }
                Err(e) => {
                    report.errors += 1;
                    tracing::warn!(msgid = %wecom_id, error = %e, "send results unavailable; will retry");
                    item.last_errcode = e.errcode();
                    item.last_error = Some(e.to_string());
                }
            },
            OutboxKind::MomentTask { senders, .. } => {
                // 1. Once WeCom finished creating the post: failures, and the post's id.
                if item.moment_id.is_none() && !wecom_id.is_empty() {
                    match self.wecom.moment_task_result(tenant, &wecom_id).await {
                        Ok(result) if result.is_done() => {
                            let outcome = result.result.unwrap_or_default();
                            let refused: Vec<String> = outcome
                                .invalid_sender_list
                                .map(|l| l.user_list)
                                .unwrap_or_default();
                            if outcome.errcode != 0 {
                                for s in senders {
                                    let failure = Err(Failure::wecom(outcome.errcode));
                                    self.settle(t, key(Target::Audience, s), failure, now, report)
                                        .await?;
                                }
                                settled_all = true;
                            } else {
                                for s in senders.iter().filter(|s| refused.contains(*s)) {
                                    let failure = Err(Failure {
                                        code: "wecom_refused".into(),
                                        message: "WeCom refused this staff member as a sender"
                                            .into(),
                                        errcode: None,
                                    });
                                    self.settle(t, key(Target::Audience, s), failure, now, report)
                                        .await?;
                                }
                                match outcome.moment_id.filter(|m| !m.is_empty()) {
                                    Some(moment_id) => item.moment_id = Some(moment_id),
                                    None if refused.len() >= senders.len() => settled_all = true,
                                    None => {
                                        report.errors += 1;
                                        tracing::warn!(jobid = %wecom_id, "moments task finished without a moment_id");
                                        item.last_error = Some(
                                            "moments task finished without a moment_id".into(),
                                        );
                                    }
                                }
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            report.errors += 1;
                            tracing::warn!(jobid = %wecom_id, error = %e, "moment task result unavailable; will retry");
                            item.last_errcode = e.errcode();
                            item.last_error = Some(e.to_string());
                        }
                    }
                }
                // 2. Who actually published it: only they are done.
                if let Some(moment_id) = item.moment_id.clone() {
                    match self.wecom.moment_publications(tenant, &moment_id).await {
                        Ok(list) => {
                            for s in senders {
                                let published =
                                    list.iter().any(|p| &p.userid == s && p.published());
                                if published {
                                    self.settle(t, key(Target::Audience, s), Ok(now), now, report)
                                        .await?;
                                }
                            }
                            // Settled when every sender WeCom asked to publish did.
                            settled_all = senders.iter().all(|s| {
                                list.iter()
                                    .filter(|p| &p.userid == s)
                                    .all(MomentPublish::published)
                            });
                        }
                        Err(e) => {
                            report.errors += 1;
                            tracing::warn!(moment_id = %moment_id, error = %e, "moment publication statuses unavailable; will retry");
                            item.last_errcode = e.errcode();
                            item.last_error = Some(e.to_string());
                        }
                    }
                }
            }
            OutboxKind::Reminder { .. } | OutboxKind::GroupMessage { .. } => settled_all = true,
        }
        let expired = item.sent_at.is_none_or(|at| now - at > SYNC_FOR);
        item.next_sync_at = if settled_all || expired {
            None
        } else {
            Some(now + SYNC_EVERY)
        };
        self.store.settle_outbox(t, &item).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_retried_only_when_the_store_was_busy() {
        let busy = StoreError::Retryable(Box::new(std::io::Error::other("throttled")));
        assert!(SyncError::Store(busy).is_retryable());
        let backend = StoreError::Backend(Box::new(std::io::Error::other("down")));
        assert!(!SyncError::Store(backend).is_retryable());
        assert!(!SyncError::UnknownTenant("wwx".into()).is_retryable());
    }
}
