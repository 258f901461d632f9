//! Fission campaigns at work: an add through an inviter's personal code counts (or not) as
//! the rules in [`super::fission`] decide; a removal within the hold revokes; every minute
//! the holds that ended are confirmed and the tiers earned paid.
//!
//! Each step is one conditional transaction on the claim and the inviter's standing (the
//! inviter's version), so concurrent adds for one inviter are decided one after another
//! and a redelivered event finds its own claim. A payout pays through the ledger under the
//! key `once:fission:{campaign}:{tier}` first and records the tier paid after, so a crash in
//! between pays nothing twice (the key) and loses nothing (the inviter stays in the owed
//! index until recorded).
use super::fission::{
    is_inviter_state, Campaign, CampaignRules, Claim, ClaimRecord, InviteeState, Inviter,
    NotCounted, Person, TierReward,
};
use super::ports::{CustomerCards, DueClaim, FissionStore, GrowthWeCom, JoinWrite};
use crate::contacts::source::contact_credentials;
use crate::points::ledger::{apply, once_key, Operation, When};
use crate::points::ports::{Account, LedgerStore, RulesStore};
use crate::points::{CustomerId, EntryKind, Origin, Points};
use crate::ports::{MayRetry, StoreError};
use crate::tenants::{TenantId, TenantLookup};
use crate::wecom::api::{MarkTag, WeComError};
use chrono::{DateTime, Utc};

/// Shards of the due and owed indexes (all tenants).
pub const FISSION_SHARDS: u32 = 8;
/// Claims confirmed per shard and run at most.
pub const DUE_PER_RUN: usize = 200;
/// A hold is confirmed this long after it ends, so that a removal delivered a little late
/// still revokes.
pub const CONFIRM_GRACE: chrono::Duration = chrono::Duration::minutes(2);
/// Attempts of a step whose inviter moved meanwhile.
const ATTEMPTS: usize = 8;

/// Why a step failed (retryable ones are retried by the event's redelivery or the next run).
#[derive(Debug, thiserror::Error)]
pub enum FissionRunError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// WeCom failed (tags).
    #[error(transparent)]
    WeCom(#[from] WeComError),
    /// The ledger refused or failed a payout.
    #[error("payout failed: {0}")]
    Payout(String),
}

impl MayRetry for FissionRunError {
    fn is_retryable(&self) -> bool {
        match self {
            FissionRunError::Store(e) => e.is_retryable(),
            FissionRunError::WeCom(e) => e.is_retryable(),
            FissionRunError::Payout(_) => true,
        }
    }
}

/// What an add through a personal code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// Counted (pending) for the inviter; `replayed` for a redelivery.
    Counted {
        /// Whether an earlier delivery counted it.
        replayed: bool,
    },
    /// Not counted, and why.
    Refused(NotCounted),
}

/// The ports an add through a personal code uses.
pub struct JoinDeps<'a, S, W, C, T> {
    /// Campaigns, inviters, claims.
    pub store: &'a S,
    /// WeCom (tags).
    pub wecom: &'a W,
    /// The directory's cards (unionids).
    pub cards: &'a C,
    /// Tenants.
    pub tenants: &'a T,
}

/// The ports the minute's run uses.
pub struct FissionDeps<'a, S, W, C, L, T> {
    /// Campaigns, inviters, claims.
    pub store: &'a S,
    /// WeCom (tags).
    pub wecom: &'a W,
    /// The directory's cards (unionids).
    pub cards: &'a C,
    /// The ledger (payouts).
    pub ledger: &'a L,
    /// Tenants.
    pub tenants: &'a T,
}

/// An add (`ContactAdded`, a full add) through a code with `state`: counted for its inviter
/// when the state is an inviter's; `None` when it is not.
#[allow(clippy::too_many_arguments)]
pub async fn on_added<S, W, C, T>(
    d: &JoinDeps<'_, S, W, C, T>,
    t: &TenantId,
    event_id: &str,
    state: &str,
    invitee: &str,
    userid: &str,
    at: DateTime<Utc>,
) -> Result<Option<JoinOutcome>, FissionRunError>
where
    S: FissionStore,
    W: GrowthWeCom,
    C: CustomerCards,
    T: TenantLookup,
{
    if !is_inviter_state(state) {
        return Ok(None);
    }
    let Some(mut inviter) = d.store.inviter(t, state).await? else {
        return Ok(None);
    };
    let Some(campaign) = d.store.campaign(t, &inviter.campaign).await? else {
        return Ok(None);
    };
    let rules = campaign.rules();
    let card = d.cards.customer_card(t, invitee).await?.unwrap_or_default();
    let person = Person {
        external_userid: invitee.to_string(),
        unionid: card.unionid,
    };
    for _ in 0..ATTEMPTS {
        let before = d.store.claim(t, &campaign.id, invitee).await?;
        if let Some(c) = &before {
            if c.event_id == event_id {
                tag(d, t, &campaign, invitee, userid).await?;
                return Ok(Some(JoinOutcome::Counted { replayed: true }));
            }
        }
        let verdict = rules.judge_join(
            &inviter.person(),
            &person,
            at,
            before.is_some(),
            inviter.progress.counted(),
        );
        if let Err(reason) = verdict {
            d.store.record_refusal(t, &campaign.id, event_id).await?;
            return Ok(Some(JoinOutcome::Refused(reason)));
        }
        let claim = ClaimRecord {
            campaign: campaign.id.clone(),
            inviter_state: inviter.state.clone(),
            claim: Claim {
                inviter: inviter.external_userid.clone(),
                invitee: person.clone(),
                joined_at: at,
                state: InviteeState::Pending,
            },
            event_id: event_id.to_string(),
        };
        let version = inviter.version;
        let mut next = inviter.clone();
        next.progress.pending += 1;
        next.version = version + 1;
        let due = rules.confirms_at(at) + CONFIRM_GRACE;
        match d.store.record_join(t, &claim, &next, version, due).await? {
            JoinWrite::Written => {
                tracing::info!(campaign = %campaign.id, inviter = %inviter.state, "invitee counted");
                tag(d, t, &campaign, invitee, userid).await?;
                return Ok(Some(JoinOutcome::Counted { replayed: false }));
            }
            JoinWrite::Claimed(Some(c)) if c.event_id == event_id => {
                tag(d, t, &campaign, invitee, userid).await?;
                return Ok(Some(JoinOutcome::Counted { replayed: true }));
            }
            JoinWrite::Claimed(_) => {
                d.store.record_refusal(t, &campaign.id, event_id).await?;
                return Ok(Some(JoinOutcome::Refused(NotCounted::AlreadyCounted)));
            }
            JoinWrite::InviterMoved => {
                inviter = d
                    .store
                    .inviter(t, state)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt(format!("inviter {state} vanished")))?;
            }
        }
    }
    Err(StoreError::Retryable("the inviter kept changing".into()).into())
}

/// The campaign's tags on a counted invitee (idempotent at WeCom: a redelivery sets the
/// same again).
async fn tag<S, W, C, T>(
    d: &JoinDeps<'_, S, W, C, T>,
    t: &TenantId,
    campaign: &Campaign,
    invitee: &str,
    userid: &str,
) -> Result<(), FissionRunError>
where
    W: GrowthWeCom,
    T: TenantLookup,
{
    if campaign.spec.tags.is_empty() {
        return Ok(());
    }
    let Some(tenant) = d.tenants.tenant(t).await? else {
        return Ok(());
    };
    let Some(creds) = contact_credentials(&tenant) else {
        return Ok(());
    };
    let request = MarkTag {
        userid: userid.to_string(),
        external_userid: invitee.to_string(),
        add_tag: campaign.spec.tags.clone(),
        remove_tag: Vec::new(),
    };
    match d.wecom.mark_tag(&creds, &request).await {
        Ok(()) => Ok(()),
        // A refusal (a relation WeCom no longer has, a tag deleted since) does not undo the
        // count; a transient failure fails the event, whose redelivery tags again.
        Err(e) if !e.is_retryable() => {
            tracing::warn!(error = %e, "campaign tags not applied");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// A removal (`ContactRemoved`) of the relation made through `relation_state` at `at`:
/// revokes the invitee's pending claim in that code's campaign when within the hold. The
/// number of claims revoked (0 or 1).
pub async fn on_removed<S: FissionStore>(
    store: &S,
    t: &TenantId,
    relation_state: Option<&str>,
    invitee: &str,
    at: DateTime<Utc>,
) -> Result<u32, FissionRunError> {
    let Some(state) = relation_state.filter(|s| is_inviter_state(s)) else {
        return Ok(0);
    };
    let mut revoked = 0;
    for claim in store.claims_of(t, invitee).await? {
        if claim.inviter_state != state || claim.claim.state != InviteeState::Pending {
            continue;
        }
        let Some(campaign) = store.campaign(t, &claim.campaign).await? else {
            continue;
        };
        if !campaign.rules().revokes(claim.claim.joined_at, at) {
            continue;
        }
        if settle(store, t, &campaign.rules(), &claim, InviteeState::Revoked).await? {
            tracing::info!(campaign = %campaign.id, "invitee revoked within the hold");
            revoked += 1;
        }
    }
    Ok(revoked)
}

/// Moves a pending claim to `to` with its inviter's standing; false when it was not
/// pending any more (another delivery settled it).
async fn settle<S: FissionStore>(
    store: &S,
    t: &TenantId,
    rules: &CampaignRules,
    claim: &ClaimRecord,
    to: InviteeState,
) -> Result<bool, FissionRunError> {
    for _ in 0..ATTEMPTS {
        let current = store
            .claim(t, &claim.campaign, &claim.claim.invitee.external_userid)
            .await?;
        if current.map(|c| c.claim.state) != Some(InviteeState::Pending) {
            return Ok(false);
        }
        let Some(inviter) = store.inviter(t, &claim.inviter_state).await? else {
            return Ok(false);
        };
        let version = inviter.version;
        let mut next = inviter.clone();
        next.progress.pending = next.progress.pending.saturating_sub(1);
        match to {
            InviteeState::Revoked => next.progress.revoked += 1,
            InviteeState::Confirmed => next.progress.confirmed += 1,
            InviteeState::Pending => {}
        }
        next.owed = !rules
            .payable(next.progress.confirmed, &next.progress.paid)
            .is_empty();
        next.version = version + 1;
        if store.settle_claim(t, claim, to, &next, version).await? {
            return Ok(true);
        }
    }
    Err(StoreError::Retryable("the inviter kept changing".into()).into())
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Claims confirmed.
    pub confirmed: u32,
    /// Tiers paid.
    pub paid: u32,
    /// Steps that failed (left for the next run).
    pub failed: u32,
}

/// Every minute: claims whose hold ended are confirmed, and the inviters owed a tier paid;
/// of every tenant, or of `only` (an operator's run of one tenant).
pub async fn run_due<S, W, C, L, T>(
    d: &FissionDeps<'_, S, W, C, L, T>,
    now: DateTime<Utc>,
    only: Option<&TenantId>,
) -> Result<RunReport, FissionRunError>
where
    S: FissionStore,
    W: GrowthWeCom,
    C: CustomerCards,
    L: LedgerStore + RulesStore,
    T: TenantLookup,
{
    let mut report = RunReport::default();
    for shard in 0..FISSION_SHARDS {
        for due in d.store.due_claims(shard, now, DUE_PER_RUN).await? {
            if only.is_some_and(|t| *t != due.tenant) {
                continue;
            }
            match confirm(d.store, &due).await {
                Ok(true) => report.confirmed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, campaign = %due.campaign, "confirmation left for the next run");
                    report.failed += 1;
                }
            }
        }
    }
    for shard in 0..FISSION_SHARDS {
        for (t, state) in d.store.owed_inviters(shard, DUE_PER_RUN).await? {
            if only.is_some_and(|o| *o != t) {
                continue;
            }
            match pay_owed(d, &t, &state, now).await {
                Ok(n) => report.paid += n,
                Err(e) => {
                    tracing::warn!(error = %e, inviter = %state, "payout left for the next run");
                    report.failed += 1;
                }
            }
        }
    }
    Ok(report)
}

async fn confirm<S: FissionStore>(store: &S, due: &DueClaim) -> Result<bool, FissionRunError> {
    let Some(claim) = store
        .claim(&due.tenant, &due.campaign, &due.invitee)
        .await?
    else {
        return Ok(false);
    };
    let Some(campaign) = store.campaign(&due.tenant, &due.campaign).await? else {
        return Ok(false);
    };
    settle(
        store,
        &due.tenant,
        &campaign.rules(),
        &claim,
        InviteeState::Confirmed,
    )
    .await
}

/// Pays every tier the inviter earned and was not paid; the number paid now.
pub async fn pay_owed<S, W, C, L, T>(
    d: &FissionDeps<'_, S, W, C, L, T>,
    t: &TenantId,
    state: &str,
    now: DateTime<Utc>,
) -> Result<u32, FissionRunError>
where
    S: FissionStore,
    L: LedgerStore + RulesStore,
    T: TenantLookup,
{
    let mut paid = 0;
    for _ in 0..ATTEMPTS * 2 {
        let Some(inviter) = d.store.inviter(t, state).await? else {
            return Ok(paid);
        };
        let Some(campaign) = d.store.campaign(t, &inviter.campaign).await? else {
            return Ok(paid);
        };
        let rules = campaign.rules();
        let payable = rules.payable(inviter.progress.confirmed, &inviter.progress.paid);
        let Some(&tier) = payable.first() else {
            if inviter.owed {
                let mut next = inviter.clone();
                next.owed = false;
                next.version += 1;
                d.store.save_inviter(t, &next, inviter.version).await?;
            }
            return Ok(paid);
        };
        pay(d, t, &campaign, &inviter, tier, now).await?;
        let mut next = inviter.clone();
        next.progress.paid.insert(tier);
        next.owed = payable.len() > 1;
        next.version = inviter.version + 1;
        if d.store.record_paid(t, &next, inviter.version, tier).await? {
            tracing::info!(campaign = %campaign.id, inviter = %state, tier, "tier paid");
            paid += 1;
        }
    }
    Ok(paid)
}

async fn pay<S, W, C, L, T>(
    d: &FissionDeps<'_, S, W, C, L, T>,
    t: &TenantId,
    campaign: &Campaign,
    inviter: &Inviter,
    tier: usize,
    now: DateTime<Utc>,
) -> Result<(), FissionRunError>
where
    L: LedgerStore + RulesStore,
    T: TenantLookup,
{
    match &campaign.spec.tiers[tier].reward {
        TierReward::Points { points } => {
            let tz = match d.tenants.tenant(t).await? {
                Some(tenant) => tenant.settings.tz(),
                None => return Ok(()),
            };
            let customer = CustomerId::parse(&inviter.external_userid)
                .map_err(|e| FissionRunError::Payout(e.to_string()))?;
            let points =
                Points::new(*points).map_err(|e| FissionRunError::Payout(e.to_string()))?;
            let when = When::new(now, tz);
            let rules = d.ledger.rules(t).await?;
            let op = Operation::credit(
                once_key(&format!("fission:{}:{tier}", campaign.id)),
                EntryKind::Earn,
                points,
                rules.expiry_for(when.today()),
                Origin::new(
                    "fission",
                    format!("campaign:{}:tier:{tier}", campaign.id),
                    "system",
                ),
            )
            .once_per_customer();
            apply(d.ledger, &Account::new(t.clone(), customer), &op, when)
                .await
                .map_err(|e| FissionRunError::Payout(e.to_string()))?;
        }
        // A catalogue reward or a coupon is handed over by the operator: the tier recorded
        // paid is the record they work from (the campaign's figures count it).
        TierReward::Reward { .. } | TierReward::Coupon { .. } => {}
    }
    Ok(())
}
