//! The `sop-dispatch-worker` function: fed by the dispatch queue (Lambda's SQS event source
//! mapping, `ReportBatchItemFailures`), it does the work `sop-dispatch` enqueued: a tenant's
//! due plan, or its other due work. Workers run in parallel, so one tenant's large plan
//! never delays another tenant's minute. The use case is
//! [`scrm_core::sop::dispatch::Dispatcher::work`].
//!
//! A worker stops [`MARGIN`] before Lambda's deadline, between steps, and reports its
//! message failed: SQS delivers it again after the queue's visibility timeout, and the
//! redelivery goes on from what is stored (every step is idempotent). A worker killed at
//! the deadline itself leaves the same state, a step at most half done and done again.
pub mod wire;

use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use scrm_adapters::lambda::FnError;
use scrm_adapters::queue::{BatchItemFailure, BatchResponse, SqsEvent};
use scrm_core::sop::dispatch::{Deadline, DispatchMessage, DispatchReport, Dispatcher, NoDeadline};
use scrm_core::sop::{GroupDirectory, GroupTagStore, OutboxStore, PlanStore, SopWeCom, TaskStore};
use scrm_core::tenants::TenantLookup;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::Instrument;

/// How long before Lambda's deadline a worker stops starting steps: longer than the
/// longest step (a chunk of task transactions, or a WeCom call with its retries).
pub const MARGIN: Duration = Duration::from_secs(20);
/// Messages of one batch worked at once.
const CONCURRENCY: usize = 10;

/// Lambda's deadline less [`MARGIN`].
#[derive(Debug, Clone, Copy)]
pub struct InvocationDeadline {
    stop_at: SystemTime,
}

impl InvocationDeadline {
    /// From the invocation context's deadline (epoch milliseconds); `None` when it has
    /// none: 0 (a hand-made event), or a deadline already past when the invocation starts,
    /// which Lambda never sends but a local emulator does (`cargo lambda watch` sends a
    /// fixed 600000, i.e. ten minutes after 1970).
    pub fn from_context(deadline_ms: u64) -> Option<Self> {
        let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
        (deadline_ms > 0 && deadline > SystemTime::now()).then(|| Self {
            stop_at: deadline - MARGIN,
        })
    }
}

impl Deadline for InvocationDeadline {
    fn passed(&self) -> bool {
        SystemTime::now() >= self.stop_at
    }
}

/// The Lambda handler: Lambda's SQS event; answers the messages to deliver again.
pub async fn handle<S, D, W, T>(
    d: &Dispatcher<S, D, W, T>,
    event: LambdaEvent<SqsEvent>,
) -> Result<BatchResponse, FnError>
where
    S: PlanStore + TaskStore + OutboxStore + GroupTagStore,
    D: GroupDirectory,
    W: SopWeCom,
    T: TenantLookup,
{
    let span = tracing::info_span!("sop_dispatch_worker", request_id = %event.context.request_id);
    let (answer, report) = match InvocationDeadline::from_context(event.context.deadline) {
        Some(deadline) => {
            work_batch(d, &event.payload, &deadline)
                .instrument(span)
                .await
        }
        None => {
            work_batch(d, &event.payload, &NoDeadline)
                .instrument(span)
                .await
        }
    };
    tracing::info!(
        ?report,
        failed = answer.batch_item_failures.len(),
        "dispatch batch done"
    );
    Ok(answer)
}

/// A batch of messages, until `deadline`: each worked on its own (a few at once); the
/// failed ones are answered for redelivery, with the sum of the others' reports. A body
/// that is no message is logged and dropped: delivering it again cannot help.
pub async fn work_batch<S, D, W, T>(
    d: &Dispatcher<S, D, W, T>,
    event: &SqsEvent,
    deadline: &dyn Deadline,
) -> (BatchResponse, DispatchReport)
where
    S: PlanStore + TaskStore + OutboxStore + GroupTagStore,
    D: GroupDirectory,
    W: SopWeCom,
    T: TenantLookup,
{
    let outcomes: Vec<Result<DispatchReport, String>> =
        futures::stream::iter(event.records.iter().map(|r| async move {
            let message: DispatchMessage = match serde_json::from_str(&r.body) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(message_id = %r.message_id, error = %e, "not a dispatch message; dropped");
                    return Ok(DispatchReport::default());
                }
            };
            d.work(&message, deadline).await.map_err(|e| {
                tracing::warn!(message_id = %r.message_id, tenant = %message.tenant, plan = ?message.plan, error = %e, "dispatch work left for redelivery");
                r.message_id.clone()
            })
        }))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut answer = BatchResponse::default();
    let mut report = DispatchReport::default();
    for outcome in outcomes {
        match outcome {
            Ok(r) => report.add(&r),
            Err(item_identifier) => answer
                .batch_item_failures
                .push(BatchItemFailure { item_identifier }),
        }
    }
    (answer, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_past_at_the_start_means_none() {
        assert!(InvocationDeadline::from_context(0).is_none());
        assert!(InvocationDeadline::from_context(600_000).is_none());
    }

    #[test]
    fn lambdas_deadline_stops_the_margin_before_it() {
        let in_five_minutes = SystemTime::now() + Duration::from_secs(300);
        let ms = in_five_minutes
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64;
        let deadline = InvocationDeadline::from_context(ms).expect("a deadline");
        assert!(!deadline.passed());
        let soon = SystemTime::now() + MARGIN / 2;
        let ms = soon
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64;
        assert!(InvocationDeadline::from_context(ms)
            .expect("a deadline")
            .passed());
    }
}
