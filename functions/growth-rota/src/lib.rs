//! The `growth-rota` function, growth's minute: the channel codes whose shift boundary (or a
//! capped rota's midnight) has come are moved to the rota's choice of now at WeCom, so that
//! the first customer after a boundary reaches the new shift
//! ([`scrm_core::growth::rota_runner`]); then fission campaigns' holds that ended are
//! confirmed and the tiers earned paid ([`scrm_core::growth::fission_run::run_due`]), the
//! campaigns whose end came have their inviters' personal codes deleted
//! ([`scrm_core::growth::fission_run::run_ends`]), and the fission events written meanwhile
//! are published ([`scrm_core::growth::fission_run::publish_outbox`]). This crate parses
//! the scheduled event, calls them and maps their errors for Lambda.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::lambda::FnError;
use scrm_core::events::EventPublisher;
use scrm_core::growth::fission_run::{publish_outbox, run_due, run_ends, FissionDeps};
use scrm_core::growth::ports::{CouponStore, CustomerCards, FissionStore};
use scrm_core::growth::rota_runner::{RotaInput, RotaRunner};
use scrm_core::growth::{GroupCodeStore, GrowthStore, GrowthWeCom, JoinWayWeCom};
use scrm_core::points::ports::{LedgerStore, RewardStore, RulesStore};
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

/// Growth's minute: the rota's run, then fission's.
pub struct GrowthMinute<S, W, T, C, L, P> {
    /// The rota's runner (its store, WeCom and tenants serve fission too).
    pub rota: RotaRunner<S, W, T>,
    /// The directory's cards.
    pub cards: C,
    /// The ledger that pays fission tiers (and the catalogue their rewards come from).
    pub ledger: L,
    /// Where fission's domain events go.
    pub publisher: P,
}

/// The deployed handler: [`handle`], then the fission holds and payouts due. A failed
/// fission run fails the invocation (the scheduler's next minute retries what is left).
pub async fn handle_minute<S, W, T, C, L, P>(
    m: &GrowthMinute<S, W, T, C, L, P>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, FnError>
where
    S: GrowthStore + FissionStore + CouponStore + GroupCodeStore,
    W: GrowthWeCom + JoinWayWeCom,
    T: TenantLookup,
    C: CustomerCards,
    L: LedgerStore + RulesStore + RewardStore,
    P: EventPublisher,
{
    let request_id = event.context.request_id.clone();
    let deadline = InvocationDeadline::from_context(event.context.deadline);
    let only = serde_json::from_value::<RotaInput>(event.payload.clone())
        .ok()
        .and_then(|i| i.tenant)
        .and_then(|t| scrm_core::tenants::TenantId::parse(&t).ok());
    let mut answer = handle(&m.rota, event).await?;
    let deps = FissionDeps {
        store: &m.rota.store,
        wecom: &m.rota.wecom,
        cards: &m.cards,
        ledger: &m.ledger,
        tenants: &m.rota.tenants,
    };
    let span = tracing::info_span!("fission_run", request_id = %request_id);
    let now = m.rota.clock.now();
    let report = run_due(&deps, now, only.as_ref())
        .instrument(span.clone())
        .await?;
    let ends = match &deadline {
        Some(d) => {
            run_ends(&deps, now, only.as_ref(), d)
                .instrument(span.clone())
                .await?
        }
        None => {
            run_ends(&deps, now, only.as_ref(), &NoDeadline)
                .instrument(span.clone())
                .await?
        }
    };
    let published = publish_outbox(&m.rota.store, &m.publisher, only.as_ref())
        .instrument(span)
        .await?;
    if let Some(obj) = answer.as_object_mut() {
        obj.insert(
            "fission".into(),
            serde_json::json!({
                "confirmed": report.confirmed,
                "paid": report.paid,
                "waiting": report.waiting,
                "failed": report.failed,
                "codes_removed": ends.codes_removed,
                "campaigns_closed": ends.closed,
                "campaigns_left": ends.left,
                "events_published": published,
            }),
        );
    }
    Ok(answer)
}
