//! The outbox of WeCom calls: entries recorded once per occurrence, then attempted under an
//! expiring claim, so that overlapping and retried runs call WeCom once per entry; failed
//! attempts are retried with backoff and given up after a limit.
use super::{Deadline, DispatchError, DispatchReport, Dispatcher};
use crate::links::{SendContext, Via};
use crate::ports::StoreError;
use crate::sop::content::ContentUse;
use crate::sop::occurrence::{
    retry_at, Occurrence, OutboxItem, OutboxKind, OutboxState, SYNC_EVERY,
};
use crate::sop::plan::PlanId;
use crate::sop::ports::{CreatedOnWeCom, OutboxStore, SopWeCom, TaskStore};
use crate::sop::reminder::{reminder_text, reminder_url, TaskCenter};
use crate::sop::task::{Failure, OccurrenceId, Target, TaskKey};
use crate::tenants::{Tenant, TenantId};
use crate::wecom::api::{
    ChatType, MomentAudience, MomentSenders, MomentTask, MomentVisibleRange, MsgTemplate,
    WeComError,
};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;

/// WeCom calls at once.
const SEND_CONCURRENCY: usize = 8;
/// Slack around the window searched when reconciling (clocks differ by seconds).
const RECONCILE_MARGIN: Duration = Duration::minutes(2);
/// The least wait before an entry refused by a frequency limit is tried again (the next
/// minute's run).
const RATE_LIMIT_WAIT: Duration = Duration::minutes(1);

/// What WeCom has for an entry after an attempt.
enum Accepted {
    /// Accepted now (with WeCom's msgid or jobid, if it gives one).
    Sent(Option<String>),
    /// A mass-message task an earlier attempt created (its msgid).
    Found(String),
    /// A Moments post an earlier attempt created (its moment_id).
    FoundMoment(String),
}

/// Whether a failed call may still have taken effect at WeCom: no answer, a broken
/// connection, or an answer that could not be read.
fn outcome_unknown(e: &WeComError) -> bool {
    match e {
        WeComError::Timeout
        | WeComError::Transport(_)
        | WeComError::Decode { .. }
        | WeComError::UnexpectedResponse { .. } => true,
        WeComError::HttpStatus { status, .. } => *status >= 500,
        _ => false,
    }
}

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
        deadline: &dyn Deadline,
    ) -> Result<DispatchReport, DispatchError> {
        let mut keys = Vec::new();
        for kind in kinds {
            let key = kind.key();
            let item = OutboxItem::new(occ.plan_id.clone(), occ.occurrence_id.clone(), kind, now);
            self.store.put_outbox(&tenant.id, &item).await?;
            keys.push((occ.plan_id.clone(), occ.occurrence_id.clone(), key));
        }
        self.attempt_all(tenant, &keys, now, deadline).await
    }

    /// Attempts entries (a few at once), each under its claim; none is started once the
    /// deadline has come (the entries stay pending, and the redelivery attempts them).
    pub(super) async fn attempt_all(
        &self,
        tenant: &Tenant,
        keys: &[(PlanId, OccurrenceId, String)],
        now: DateTime<Utc>,
        deadline: &dyn Deadline,
    ) -> Result<DispatchReport, DispatchError> {
        let results: Vec<Result<Option<(OutboxState, bool)>, DispatchError>> =
            futures::stream::iter(keys.iter().map(|(p, o, k)| async move {
                if deadline.passed() {
                    return Err(DispatchError::DeadlineReached);
                }
                self.attempt(tenant, p, o, k, now).await
            }))
            .buffer_unordered(SEND_CONCURRENCY)
            .collect()
            .await;
        let mut report = DispatchReport::default();
        let mut stopped = false;
        for r in results {
            let r = match r {
                Err(DispatchError::DeadlineReached) => {
                    stopped = true;
                    continue;
                }
                r => r,
            };
            match r? {
                Some((OutboxState::Sent, true)) => report.reconciled += 1,
                Some((OutboxState::Sent, false)) => report.sent += 1,
                Some((OutboxState::Pending, _)) => report.retrying += 1,
                Some((OutboxState::Failed, _)) => report.given_up += 1,
                None => {}
            }
        }
        if stopped {
            return Err(DispatchError::DeadlineReached);
        }
        Ok(report)
    }

    /// One attempt at an outbox entry, under a claim: `None` if another run has it or it is
    /// not due; else its new state, and whether WeCom was found to have it already.
    ///
    /// Sends are at-least-once at WeCom's edge: a timeout may have taken effect, and a run
    /// may stop between WeCom's answer and recording it. Before calling again for an entry
    /// in that doubt, WeCom's own lists are asked (mass-message tasks by sender and time,
    /// Moments posts by time) and only what WeCom does not have is sent.
    async fn attempt(
        &self,
        tenant: &Tenant,
        plan: &PlanId,
        occ_id: &OccurrenceId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(OutboxState, bool)>, DispatchError> {
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
        // Whether an earlier attempt may have taken effect at WeCom unrecorded; cleared once
        // WeCom's lists say it did not.
        let mut in_doubt = item.may_have_reached_wecom();
        let result: Result<Accepted, WeComError> = match &item.kind {
            OutboxKind::Reminder { staff, tasks } => {
                let (title, description) =
                    reminder_text(&occ.plan_name, occ.scheduled_at, tz, *tasks, occ.late);
                // Every attempt sends the very same message (the link is the entry's, as of
                // its first attempt), so WeCom's duplicate check drops a resend of one that
                // did arrive.
                let entry = format!("{plan}|{occ_id}|{}", item.kind.key());
                let center = match &self.staff_pages_url {
                    Some(url) => TaskCenter::Pages {
                        url,
                        agent_id: tenant.app_agent_id,
                    },
                    None => TaskCenter::Api(&self.public_base_url),
                };
                let url = reminder_url(
                    center,
                    &self.signing_key,
                    t,
                    staff,
                    &entry,
                    item.first_attempt_at.unwrap_or(now),
                );
                self.wecom
                    .send_reminder(tenant, staff, &title, &description, &url)
                    .await
                    .map(|()| Accepted::Sent(None))
            }
            OutboxKind::GroupMessage {
                staff,
                chat_type,
                branch,
                targets,
                ..
            } => 'send: {
                let content = occ
                    .content_for(branch.as_deref())
                    .cloned()
                    .unwrap_or_default();
                // Materials become WeCom media now (uploaded again when near expiry).
                let content = match self
                    .materials
                    .resolve(tenant, &content, ContentUse::Message, now)
                    .await
                {
                    Ok(c) => c,
                    Err(e) => break 'send Err(e.into_wecom()),
                };
                let context = SendContext {
                    via: Via::Plan,
                    plan: Some(plan.to_string()),
                    occurrence: Some(occ_id.to_string()),
                    staff: Some(staff.clone()),
                    ..SendContext::default()
                };
                let content = content
                    .with_tracked_links(self.links.as_ref(), tenant, &context, now)
                    .await;
                let (text, attachments) = content.to_wecom_message();
                let group = chat_type == "group";
                let found = if in_doubt {
                    let text = text
                        .as_ref()
                        .map(|t| t.content.as_str())
                        .unwrap_or_default();
                    self.find_created(tenant, &item, text, now, |from, to| {
                        self.wecom
                            .group_messages_created(tenant, chat_type, staff, from, to)
                    })
                    .await?
                } else {
                    Ok(None)
                };
                match found {
                    Ok(Some(msgid)) => Ok(Accepted::Found(msgid)),
                    Ok(None) => {
                        in_doubt = false;
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
                                Ok(Accepted::Sent(Some(r.msgid)))
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            OutboxKind::MomentTask { senders, tags } => 'send: {
                let content = occ.content.clone().unwrap_or_default();
                let content = match self
                    .materials
                    .resolve(tenant, &content, ContentUse::Moments, now)
                    .await
                {
                    Ok(c) => c,
                    Err(e) => break 'send Err(e.into_wecom()),
                };
                // One post for every sender: its clicks are the plan's and occurrence's.
                let context = SendContext {
                    via: Via::Plan,
                    plan: Some(plan.to_string()),
                    occurrence: Some(occ_id.to_string()),
                    ..SendContext::default()
                };
                let content = content
                    .with_tracked_links(self.links.as_ref(), tenant, &context, now)
                    .await;
                let (text, attachments) = content.to_wecom_moment();
                let found = if in_doubt {
                    let text = text
                        .as_ref()
                        .map(|t| t.content.as_str())
                        .unwrap_or_default();
                    self.find_created(tenant, &item, text, now, |from, to| {
                        self.wecom.moments_created(tenant, from, to)
                    })
                    .await?
                } else {
                    Ok(None)
                };
                match found {
                    Ok(Some(moment_id)) => Ok(Accepted::FoundMoment(moment_id)),
                    Ok(None) => {
                        in_doubt = false;
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
                        self.wecom
                            .add_moment_task(tenant, &task)
                            .await
                            .map(|jobid| Accepted::Sent(Some(jobid)))
                    }
                    Err(e) => Err(e),
                }
            }
        };
        let mut reconciled = false;
        item.settled_attempts = item.attempts;
        match result {
            Ok(accepted) => {
                item.state = OutboxState::Sent;
                item.sent_at = Some(now);
                item.next_attempt_at = None;
                item.last_error = None;
                item.last_errcode = None;
                item.outcome_unknown = false;
                match accepted {
                    Accepted::Sent(wecom_id) => item.wecom_id = wecom_id,
                    Accepted::Found(msgid) => {
                        reconciled = true;
                        item.wecom_id = Some(msgid);
                    }
                    Accepted::FoundMoment(moment_id) => {
                        // The jobid of the lost answer is unknown; the post's id is what
                        // the result sync reads publications by.
                        reconciled = true;
                        item.wecom_id = None;
                        item.moment_id = Some(moment_id);
                    }
                }
                let synced = item.wecom_id.is_some() || item.moment_id.is_some();
                item.next_sync_at = synced.then(|| now + SYNC_EVERY);
                tracing::info!(kind = item.kind.name(), plan = %plan, occurrence = %occ_id, reconciled, "WeCom accepted");
            }
            Err(e) if e.retry_after().is_some() => {
                // WeCom's frequency limit (or the client's pacing) refused the call: it took
                // no effect, so it is no attempt. The entry waits for the window to pass,
                // neither failed nor counted towards giving up.
                let after = e.retry_after().unwrap_or_default();
                item.attempts = item.attempts.saturating_sub(1);
                item.settled_attempts = item.attempts;
                item.last_errcode = e.errcode();
                item.last_error = Some(e.to_string());
                item.outcome_unknown = in_doubt;
                item.state = OutboxState::Pending;
                item.next_attempt_at = Some(
                    now + Duration::from_std(after)
                        .unwrap_or(RATE_LIMIT_WAIT)
                        .max(RATE_LIMIT_WAIT),
                );
                tracing::warn!(kind = item.kind.name(), errcode = ?item.last_errcode, error = %e, "WeCom asks to retry later");
            }
            Err(e) => {
                item.last_errcode = e.errcode();
                item.last_error = Some(e.to_string());
                item.outcome_unknown = in_doubt || outcome_unknown(&e);
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
        Ok(Some((item.state, reconciled)))
    }

    /// What WeCom created for this entry in an attempt whose answer was lost: the oldest
    /// item of `list` (WeCom's creations between the entry's first attempt and now) with the
    /// entry's text that no other entry has recorded. `Err` inside: WeCom could not say.
    async fn find_created<F, Fut>(
        &self,
        tenant: &Tenant,
        item: &OutboxItem,
        text: &str,
        now: DateTime<Utc>,
        list: F,
    ) -> Result<Result<Option<String>, WeComError>, DispatchError>
    where
        F: FnOnce(DateTime<Utc>, DateTime<Utc>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<CreatedOnWeCom>, WeComError>>,
    {
        let from = item.first_attempt_at.unwrap_or(now) - RECONCILE_MARGIN;
        let to = now + RECONCILE_MARGIN;
        // WeCom answers windows of at most a month; an older first attempt cannot be
        // retrying (retries end within the hour).
        let from = from.max(to - Duration::days(30));
        let created = match list(from, to).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(kind = item.kind.name(), error = %e, "could not reconcile with WeCom; will retry");
                return Ok(Err(e));
            }
        };
        let recorded = self.store.recorded_wecom_ids(&tenant.id).await?;
        let found = created
            .into_iter()
            .filter(|c| c.text == text && !recorded.contains(&c.id))
            .filter(|c| c.created_at >= from && c.created_at <= to)
            .min_by_key(|c| c.created_at)
            .map(|c| c.id);
        tracing::info!(kind = item.kind.name(), found = ?found, "reconciled with WeCom before resending");
        Ok(Ok(found))
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
            // WeCom refused the target up front: nothing was sent to it.
            self.store.fail_task(t, &key, &failure, true, now).await?;
        }
        Ok(())
    }
}
