//! The `growth-rota` function: every minute, the channel codes whose shift boundary (or a
//! capped rota's midnight) has come are moved to the rota's choice of now at WeCom, so that
//! the first customer after a boundary reaches the new shift. The use case is
//! [`scrm_core::growth::rota_runner`]; this crate parses the scheduled event, calls it and
//! maps its error for Lambda.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::lambda::FnError;
use scrm_core::growth::rota_runner::{RotaInput, RotaRunner};
use scrm_core::growth::{GrowthStore, GrowthWeCom};
use scrm_core::sop::dispatch::{Deadline, NoDeadline};
use scrm_core::tenants::TenantLookup;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::Instrument;

/// How long before Lambda's deadline the run stops starting codes: longer than one WeCom
/// call with its retries, so that the run ends by itself and the rest stays due.
pub const MARGIN: Duration = Duration::from_secs(10);

/// Lambda's deadline less [`MARGIN`].
#[derive(Debug, Clone, Copy)]
pub struct InvocationDeadline {
    stop_at: SystemTime,
}

impl InvocationDeadline {
    /// From the invocation context's deadline (epoch milliseconds); `None` when it has
    /// none or one already past (a hand-made event, a local emulator's fixed value).
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

/// The Lambda handler: the scheduler's event (its fields ignored), or `{"tenant": "<corp
/// id>"}` to move one tenant's due codes only; answers with what was done.
pub async fn handle<S, W, T>(
    r: &RotaRunner<S, W, T>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, FnError>
where
    S: GrowthStore,
    W: GrowthWeCom,
    T: TenantLookup,
{
    let input: RotaInput = serde_json::from_value(event.payload).unwrap_or_default();
    let span = tracing::info_span!("growth_rota", request_id = %event.context.request_id);
    let report = match InvocationDeadline::from_context(event.context.deadline) {
        Some(deadline) => r.run(&input, &deadline).instrument(span).await?,
        None => r.run(&input, &NoDeadline).instrument(span).await?,
    };
    Ok(serde_json::to_value(report).unwrap_or_default())
}
