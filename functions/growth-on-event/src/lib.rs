//! The `growth-on-event` function: on `ContactAdded`, the welcome message of the code's
//! channel (or the tenant's default) sent within WeCom's 20 s window, the code's tags and
//! remark, the add counted, the rota applied; on `ContactRemoved`, the deletion counted;
//! on `MemberJoinedGroup`, a customer's join counted for the group codes offering the group
//! and their groups rotated, and for the inviter whose group campaign code it came through;
//! on `MemberLeftGroup`, a group campaign's count revoked within the hold; on `FormSubmitted`, a smart form's tags and remark put on the
//! customer. The rules are the use cases [`scrm_core::growth::on_event`],
//! [`scrm_core::growth::group_code_event`], [`scrm_core::growth::fission_event`] and [`scrm_core::forms::effects`]; this crate
//! parses EventBridge's delivery, calls them and maps their error for Lambda.
pub mod wire;

use lambda_runtime::LambdaEvent;
use scrm_adapters::lambda::FnError;
use scrm_core::clock::Clock;
use scrm_core::contacts::DirectoryRead;
use scrm_core::content::MaterialResolver;
use scrm_core::events::{DomainEvent, EventEnvelope};
use scrm_core::forms::effects::{on_form_submitted, FormEffects};
use scrm_core::forms::FormStore;
use scrm_core::growth::fission_event::{on_group_event, GroupFission};
use scrm_core::growth::fission_run::JoinDeps;
use scrm_core::growth::group_code_event::{on_member_joined, GroupCodeDeps, JoinOutcome};
use scrm_core::growth::on_event::{on_event, GrowthDeps, GrowthEventError, GrowthOutcome};
use scrm_core::growth::ports::{CustomerCards, FissionStore};
use scrm_core::growth::{
    ContactFacts, GroupCodeStore, GroupFacts, GrowthStore, GrowthWeCom, JoinWayWeCom,
};
use scrm_core::links::tracker::LinkTracker;
use scrm_core::tenants::TenantLookup;
use serde_json::{json, Value};
use std::sync::Arc;
use tracing::Instrument;

/// What the handler is built from.
pub struct GrowthOnEvent<S, W, F, T> {
    /// Codes, records, figures.
    pub store: S,
    /// WeCom.
    pub wecom: W,
    /// The directory's facts.
    pub facts: F,
    /// Tenants (with their contact secrets).
    pub tenants: T,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The content center's materials made sendable.
    pub materials: Arc<dyn MaterialResolver>,
    /// A welcome's tracked links minted.
    pub links: Arc<dyn LinkTracker>,
}

/// The Lambda handler (EventBridge delivers `{"detail-type", "detail", ...}`).
pub async fn handle<S, W, F, T>(
    h: &GrowthOnEvent<S, W, F, T>,
    event: LambdaEvent<Value>,
) -> Result<Value, FnError>
where
    S: GrowthStore + GroupCodeStore + FormStore + FissionStore,
    W: GrowthWeCom + JoinWayWeCom,
    F: ContactFacts + GroupFacts + DirectoryRead + CustomerCards,
    T: TenantLookup,
{
    let envelope = EventEnvelope::from_eventbridge_json(&event.payload)
        .map_err(|e| GrowthEventError::Malformed(e.to_string()))?;
    let span = tracing::info_span!(
        "growth_on_event",
        request_id = %event.context.request_id,
        tenant = %envelope.tenant,
        event_id = %envelope.event_id,
        detail_type = envelope.detail_type()
    );
    if let DomainEvent::FormSubmitted { .. } = envelope.event {
        let effects = apply_form(h, &envelope)
            .instrument(span.clone())
            .await?
            .unwrap_or_default();
        let result = json!({
            "event_id": envelope.event_id,
            "tagged": effects.tagged,
            "remarked": effects.remarked,
            "refused": effects.refused,
            "skipped": effects.skipped,
        });
        span.in_scope(|| tracing::info!(result = %result, "event handled"));
        return Ok(result);
    }
    if let DomainEvent::MemberJoinedGroup { .. } = envelope.event {
        let outcome = apply_join(h, &envelope).instrument(span.clone()).await?;
        let handled = !matches!(outcome, JoinOutcome::Ignored(_));
        let mut result = match outcome {
            JoinOutcome::Ignored(GrowthOutcome::NotGrowth(detail_type)) => {
                json!({ "ignored": detail_type })
            }
            JoinOutcome::Ignored(_) => json!({ "ignored": "unknown tenant" }),
            JoinOutcome::Handled(j) => json!({
                "event_id": envelope.event_id,
                "counted": j.counted,
                "rotated": j.rotated,
            }),
        };
        if handled {
            let f = apply_group_fission(h, &envelope)
                .instrument(span.clone())
                .await?;
            result["fission"] = json!(f.joined.map(|j| format!("{j:?}")));
            result["state_fetched"] = json!(f.state_fetched);
        }
        span.in_scope(|| tracing::info!(result = %result, "event handled"));
        return Ok(result);
    }
    if let DomainEvent::MemberLeftGroup { .. } = envelope.event {
        let f = apply_group_fission(h, &envelope)
            .instrument(span.clone())
            .await?;
        let result = json!({ "event_id": envelope.event_id, "revoked": f.revoked });
        span.in_scope(|| tracing::info!(result = %result, "event handled"));
        return Ok(result);
    }
    let outcome = apply(h, &envelope).instrument(span.clone()).await?;
    let result = match outcome {
        GrowthOutcome::UnknownTenant => json!({ "ignored": "unknown tenant" }),
        GrowthOutcome::NotGrowth(detail_type) => json!({ "ignored": detail_type }),
        GrowthOutcome::Handled(h) => json!({
            "event_id": envelope.event_id,
            "welcome": h.welcome,
            "counted": h.counted,
            "on_duty": h.on_duty,
            "fission": h.fission.map(|f| format!("{f:?}")),
        }),
    };
    span.in_scope(|| tracing::info!(result = %result, "event handled"));
    Ok(result)
}

/// Applies one event (tests call it directly).
pub async fn apply<S, W, F, T>(
    h: &GrowthOnEvent<S, W, F, T>,
    envelope: &EventEnvelope,
) -> Result<GrowthOutcome, GrowthEventError>
where
    S: GrowthStore + FissionStore,
    W: GrowthWeCom,
    F: ContactFacts + CustomerCards,
    T: TenantLookup,
{
    let deps = GrowthDeps {
        materials: h.materials.as_ref(),
        links: h.links.as_ref(),
        store: &h.store,
        wecom: &h.wecom,
        facts: &h.facts,
        tenants: &h.tenants,
        clock: h.clock.as_ref(),
    };
    on_event(&deps, envelope).await
}

/// Applies one `MemberJoinedGroup` to the group codes (tests call it directly).
pub async fn apply_join<S, W, F, T>(
    h: &GrowthOnEvent<S, W, F, T>,
    envelope: &EventEnvelope,
) -> Result<JoinOutcome, GrowthEventError>
where
    S: GroupCodeStore,
    W: JoinWayWeCom,
    F: GroupFacts,
    T: TenantLookup,
{
    let deps = GroupCodeDeps {
        store: &h.store,
        wecom: &h.wecom,
        facts: &h.facts,
        tenants: &h.tenants,
        clock: h.clock.as_ref(),
    };
    on_member_joined(&deps, envelope).await
}

/// Applies one `MemberJoinedGroup` or `MemberLeftGroup` to group fission campaigns (tests
/// call it directly).
pub async fn apply_group_fission<S, W, F, T>(
    h: &GrowthOnEvent<S, W, F, T>,
    envelope: &EventEnvelope,
) -> Result<GroupFission, GrowthEventError>
where
    S: FissionStore + GroupCodeStore,
    W: GrowthWeCom,
    F: CustomerCards,
    T: TenantLookup,
{
    let deps = JoinDeps {
        store: &h.store,
        wecom: &h.wecom,
        cards: &h.facts,
        tenants: &h.tenants,
    };
    on_group_event(&deps, envelope).await
}

/// Applies one `FormSubmitted` (tests call it directly); `None` for other events.
pub async fn apply_form<S, W, F, T>(
    h: &GrowthOnEvent<S, W, F, T>,
    envelope: &EventEnvelope,
) -> Result<Option<FormEffects>, GrowthEventError>
where
    S: FormStore,
    W: GrowthWeCom,
    F: DirectoryRead,
    T: TenantLookup,
{
    on_form_submitted(&h.store, &h.wecom, &h.facts, &h.tenants, envelope).await
}
