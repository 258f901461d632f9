//! The outbox of WeCom calls: entries recorded once per occurrence, then attempted under an
//! expiring claim, so that overlapping and retried runs call WeCom once per entry; failed
//! attempts are retried with backoff and given up after a limit.
use super::{DispatchError, DispatchReport, Dispatcher};
use crate::ports::StoreError;
use crate::sop::occurrence::{
    retry_at, Occurrence, OutboxItem, OutboxKind, OutboxState, SYNC_EVERY,
};
use crate::sop::plan::PlanId;
use crate::sop::ports::{OutboxStore, SopWeCom, TaskStore};
use crate::sop::reminder::{reminder_text, task_list_url};
use crate::sop::task::{Failure, OccurrenceId, Target, TaskKey};
use crate::tenants::{Tenant, TenantId};
use crate::wecom::api::{
    ChatType, MomentAudience, MomentSenders, MomentTask, MomentVisibleRange, MsgTemplate,
    WeComError,
};
use chrono::{DateTime, Utc};
use futures::StreamExt;

/// WeCom calls at once.
const SEND_CONCURRENCY: usize = 8;

impl<S, D, W, T> Dispatcher<S, D, W, T>
where
    S: TaskStore + OutboxStore,
    W: SopWeCom,
{
    /// Records outbox entries (once) and attempts them.
    pub(super) async fn queue_and_send(
        &self,
        tenant: &Tenant,
        occ: &Occurrence,
        kinds: Vec<OutboxKind>,
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, DispatchError> {
        let mut keys = Vec::new();
        for kind in kinds {
            let key = kind.key();
            let item = OutboxItem::new(occ.plan_id.clone(), occ.occurrence_id.clone(), kind, now);
            self.store.put_outbox(&tenant.id, &item).await?;
            keys.push((occ.plan_id.clone(), occ.occurrence_id.clone(), key));
        }
        self.attempt_all(tenant, &keys, now).await
    }

    pub(super) async fn attempt_all(
        &self,
        tenant: &Tenant,
        keys: &[(PlanId, OccurrenceId, String)],
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, DispatchError> {
        let results: Vec<Result<Option<OutboxState>, DispatchError>> = futures::stream::iter(
            keys.iter()
                .map(|(p, o, k)| self.attempt(tenant, p, o, k, now)),
        )
        .buffer_unordered(SEND_CONCURRENCY)
        .collect()
        .await;
        let mut report = DispatchReport::default();
        for r in results {
            match r? {
                Some(OutboxState::Sent) => report.sent += 1,
                Some(OutboxState::Pending) => report.retrying += 1,
                Some(OutboxState::Failed) => report.given_up += 1,
                None => {}
            }
        }
        Ok(report)
    }

    /// One attempt at an outbox entry, under a claim: `None` if another run has it or it is
    /// not due.
    async fn attempt(
        &self,
        tenant: &Tenant,
        plan: &PlanId,
        occ_id: &OccurrenceId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OutboxState>, DispatchError> {
        let t = &tenant.id;
        let Some(mut item) = self.store.claim_outbox(t, plan, occ_id, key, now).await? else {
            return Ok(None);
        };
        let Some(occ) = self.store.occurrence(t, plan, occ_id).await? else {
            return Err(
                StoreError::Corrupt(format!("outbox entry without occurrence {occ_id}")).into(),
            );
        };
        let tz = tenant.settings.tz();
        let result: Result<Option<String>, WeComError> = match &item.kind {
            OutboxKind::Reminder { staff, tasks } => {
                let (title, description) =
                    reminder_text(&occ.plan_name, occ.scheduled_at, tz, *tasks, occ.late);
                let url = task_list_url(&self.public_base_url, &self.signing_key, t, staff, now);
                self.wecom
                    .send_reminder(tenant, staff, &title, &description, &url)
                    .await
                    .map(|()| None)
            }
            OutboxKind::GroupMessage {
                staff,
                chat_type,
                branch,
                targets,
                ..
            } => {
                let content = occ
                    .content_for(branch.as_deref())
                    .cloned()
                    .unwrap_or_default();
                let (text, attachments) = content.to_wecom_message();
                let group = chat_type == "group";
                let template = MsgTemplate {
                    chat_type: if group {
                        ChatType::Group
                    } else {
                        ChatType::Single
                    },
                    external_userid: if group { Vec::new() } else { targets.clone() },
                    chat_id_list: if group { targets.clone() } else { Vec::new() },
                    sender: Some(staff.clone()),
                    allow_select: false,
                    text,
                    attachments,
                };
                match self.wecom.add_msg_template(tenant, &template).await {
                    Ok(r) => {
                        self.refused_targets(t, &occ, staff, group, &r.fail_list, now)
                            .await?;
                        Ok(Some(r.msgid))
                    }
                    Err(e) => Err(e),
                }
            }
            OutboxKind::MomentTask { senders, tags } => {
                let content = occ.content.clone().unwrap_or_default();
                let (text, attachments) = content.to_wecom_moment();
                let task = MomentTask {
                    text,
                    attachments,
                    visible_range: Some(MomentVisibleRange {
                        sender_list: Some(MomentSenders {
                            user_list: senders.clone(),
                            department_list: Vec::new(),
                        }),
                        external_contact_list: (!tags.is_empty()).then(|| MomentAudience {
                            tag_list: tags.clone(),
                        }),
                    }),
                };
                self.wecom.add_moment_task(tenant, &task).await.map(Some)
            }
        };
        match result {
            Ok(wecom_id) => {
                item.state = OutboxState::Sent;
                item.sent_at = Some(now);
                item.next_attempt_at = None;
                item.last_error = None;
                item.last_errcode = None;
                item.next_sync_at = wecom_id.as_ref().map(|_| now + SYNC_EVERY);
                item.wecom_id = wecom_id;
                tracing::info!(kind = item.kind.name(), plan = %plan, occurrence = %occ_id, "WeCom accepted");
            }
            Err(e) => {
                item.last_errcode = e.errcode();
                item.last_error = Some(e.to_string());
                match retry_at(item.attempts, now) {
                    Some(next) => {
                        item.state = OutboxState::Pending;
                        item.next_attempt_at = Some(next);
                        tracing::warn!(kind = item.kind.name(), attempts = item.attempts, errcode = ?item.last_errcode, error = %e, "WeCom call failed; will retry");
                    }
                    None => {
                        item.state = OutboxState::Failed;
                        item.next_attempt_at = None;
                        tracing::error!(kind = item.kind.name(), attempts = item.attempts, errcode = ?item.last_errcode, error = %e, "WeCom call failed; giving up");
                    }
                }
            }
        }
        self.store.settle_outbox(t, &item).await?;
        Ok(Some(item.state))
    }

    /// Targets WeCom refused when creating a mass-message task will not receive it.
    async fn refused_targets(
        &self,
        t: &TenantId,
        occ: &Occurrence,
        staff: &str,
        group: bool,
        refused: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        for target in refused {
            let key = TaskKey {
                plan_id: occ.plan_id.clone(),
                occurrence_id: occ.occurrence_id.clone(),
                target: if group {
                    Target::Group {
                        chat_id: target.clone(),
                    }
                } else {
                    Target::Customer {
                        external_userid: target.clone(),
                    }
                },
                staff: staff.to_string(),
            };
            let failure = Failure {
                code: "wecom_refused".into(),
                message: "WeCom refused this target when the group-message task was created".into(),
                errcode: None,
            };
            self.store.fail_task(t, &key, &failure, now).await?;
        }
        Ok(())
    }
}
