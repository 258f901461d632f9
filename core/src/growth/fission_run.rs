//! Fission campaigns at work: an add through an inviter's personal code counts (or not) as
//! the rules in [`super::fission`] decide; a removal within the hold revokes; every minute
//! the holds that ended are confirmed and the tiers earned paid.
//!
//! Each step is one conditional transaction on the claim and the inviter's standing (the
//! inviter's version), so concurrent adds for one inviter are decided one after another
//! and a redelivered event finds its own claim. A payout pays through the ledger under the
//! key `once:fission:{campaign}:{tier}` first and records the tier paid after, so a crash in
//! between pays nothing twice (the key) and loses nothing (the inviter stays in the owed
//! index until recorded). A coupon tier takes one unused code of its list in a transaction
//! conditional on the tier having none (`{campaign, inviter, tier}`), a catalogue reward
//! tier one unit of the reward's stock under the grant key `fission:{campaign}:{state}:{tier}`:
//! a re-run or a concurrent run finds the first one's and takes nothing more. A tier whose
//! list or reward is out of stock is marked waiting and stays owed: the first run after a
//! restock pays it.
//!
//! At a campaign's end (its `ends_at`, or an operator's end) the run deletes the inviters'
//! personal codes at WeCom, each recorded deleted as it goes (a run cut off resumes with
//! the ones left; WeCom's "no such code" counts as deleted), then closes the campaign.
//!
//! Every step writes its domain event into the outbox in the transaction that makes the
//! step; the run publishes the outbox (at least once, deterministic event ids).
use super::fission::{
    is_inviter_state, Campaign, CampaignRules, Claim, ClaimRecord, InviteeState, Inviter,
    NotCounted, Person, TierReward,
};
use super::fission_coupons::{CouponIssue, IssuedCoupon};
use super::ports::{
    CouponStore, CustomerCards, DueClaim, FissionStore, GroupCodeStore, GrowthWeCom, JoinWayWeCom,
    JoinWrite,
};
use crate::contacts::source::contact_credentials;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::points::ledger::{apply, once_key, Operation, When};
use crate::points::ports::{Account, LedgerStore, RewardStore, RulesStore};
use crate::points::rewards::{grant, GrantWrite};
use crate::points::{CustomerId, EntryKind, Origin, Points};
use crate::ports::{MayRetry, StoreError};
use crate::sop::dispatch::Deadline;
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
/// Campaigns ended per shard and run at most.
pub const ENDED_PER_RUN: usize = 20;
/// Personal codes read per page while deleting them.
const CODES_PAGE: usize = 50;
/// Outbox events published per shard and run at most.
pub const OUTBOX_PER_RUN: usize = 200;
/// How far before an inviter's record WeCom's codes are searched for theirs (clock skew).
const FIND_SLACK_SECS: i64 = 300;

fn envelope(t: &TenantId, id: String, at: DateTime<Utc>, event: DomainEvent) -> EventEnvelope {
    EventEnvelope::new(id, t.as_str(), at, event)
}

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

/// How an invitee came in through an inviter's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival<'a> {
    /// They added the staff member `userid` (a contact campaign's 「联系我」 code).
    Contact {
        /// The staff member.
        userid: &'a str,
    },
    /// They joined the group `chat_id` (a group campaign's 「加入群聊」 code).
    Group {
        /// The group.
        chat_id: &'a str,
    },
}

/// An add (`ContactAdded`, a full add) through a code with `state`: counted for its inviter
/// when the state is an inviter's in a contact campaign; `None` when it is not.
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
    on_arrival(
        d,
        t,
        event_id,
        state,
        invitee,
        Arrival::Contact { userid },
        at,
    )
    .await
}

/// A customer's join (`MemberJoinedGroup`) of `chat_id` through a 「加入群聊」 code with
/// `state`: counted for its inviter when the state is an inviter's in a group campaign
/// offering that group; `None` when it is not.
#[allow(clippy::too_many_arguments)]
pub async fn on_joined_group<S, W, C, T>(
    d: &JoinDeps<'_, S, W, C, T>,
    t: &TenantId,
    event_id: &str,
    state: &str,
    invitee: &str,
    chat_id: &str,
    at: DateTime<Utc>,
) -> Result<Option<JoinOutcome>, FissionRunError>
where
    S: FissionStore,
    W: GrowthWeCom,
    C: CustomerCards,
    T: TenantLookup,
{
    on_arrival(
        d,
        t,
        event_id,
        state,
        invitee,
        Arrival::Group { chat_id },
        at,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn on_arrival<S, W, C, T>(
    d: &JoinDeps<'_, S, W, C, T>,
    t: &TenantId,
    event_id: &str,
    state: &str,
    invitee: &str,
    arrival: Arrival<'_>,
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
    let joined_chat = match arrival {
        Arrival::Contact { .. } if campaign.spec.through_groups() => return Ok(None),
        Arrival::Contact { .. } => None,
        Arrival::Group { chat_id } if campaign.spec.chat_ids.iter().any(|c| c == chat_id) => {
            Some(chat_id.to_string())
        }
        Arrival::Group { .. } => return Ok(None),
    };
    let rules = campaign.rules();
    let card = d.cards.customer_card(t, invitee).await?.unwrap_or_default();
    // The campaign's tags go through the relation the add made, or, for a group join,
    // any relation the invitee has with a staff member (none: no tags).
    let tagger = match arrival {
        Arrival::Contact { userid } => Some(userid.to_string()),
        Arrival::Group { .. } => card.follower.clone(),
    };
    let userid = tagger.as_deref();
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
            joined_chat: joined_chat.clone(),
        };
        let version = inviter.version;
        let mut next = inviter.clone();
        next.progress.pending += 1;
        next.version = version + 1;
        let due = rules.confirms_at(at) + CONFIRM_GRACE;
        let counted = envelope(
            t,
            format!("fission:{}:{invitee}:counted", campaign.id),
            at,
            DomainEvent::FissionInviteeCounted {
                campaign_id: campaign.id.clone(),
                inviter: inviter.external_userid.clone(),
                invitee: invitee.to_string(),
            },
        );
        match d
            .store
            .record_join(t, &claim, &next, version, due, &[counted])
            .await?
        {
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
    userid: Option<&str>,
) -> Result<(), FissionRunError>
where
    W: GrowthWeCom,
    T: TenantLookup,
{
    let Some(userid) = userid.filter(|_| !campaign.spec.tags.is_empty()) else {
        return Ok(());
    };
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
    revoke_within_hold(store, t, invitee, at, |claim| {
        claim.inviter_state == state && claim.joined_chat.is_none()
    })
    .await
}

/// A customer's leaving (`MemberLeftGroup`) of `chat_id` at `at`: revokes their pending
/// claims of group campaigns they joined that group through, when within the hold. The
/// number of claims revoked.
pub async fn on_left_group<S: FissionStore>(
    store: &S,
    t: &TenantId,
    chat_id: &str,
    invitee: &str,
    at: DateTime<Utc>,
) -> Result<u32, FissionRunError> {
    revoke_within_hold(store, t, invitee, at, |claim| {
        claim.joined_chat.as_deref() == Some(chat_id)
    })
    .await
}

/// Revokes the invitee's pending claims that `matches` says the departure undoes, each
/// only within its campaign's hold.
async fn revoke_within_hold<S: FissionStore>(
    store: &S,
    t: &TenantId,
    invitee: &str,
    at: DateTime<Utc>,
    matches: impl Fn(&ClaimRecord) -> bool,
) -> Result<u32, FissionRunError> {
    let mut revoked = 0;
    for claim in store.claims_of(t, invitee).await? {
        if !matches(&claim) || claim.claim.state != InviteeState::Pending {
            continue;
        }
        let Some(campaign) = store.campaign(t, &claim.campaign).await? else {
            continue;
        };
        if !campaign.rules().revokes(claim.claim.joined_at, at) {
            continue;
        }
        if settle(
            store,
            t,
            &campaign.rules(),
            &claim,
            InviteeState::Revoked,
            at,
        )
        .await?
        {
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
    at: DateTime<Utc>,
) -> Result<bool, FissionRunError> {
    let invitee = &claim.claim.invitee.external_userid;
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
        let mut events = Vec::new();
        match to {
            InviteeState::Revoked => events.push(envelope(
                t,
                format!("fission:{}:{invitee}:revoked", claim.campaign),
                at,
                DomainEvent::FissionInviteeRevoked {
                    campaign_id: claim.campaign.clone(),
                    inviter: inviter.external_userid.clone(),
                    invitee: invitee.clone(),
                },
            )),
            InviteeState::Confirmed => {
                for tier in rules.reached_on(next.progress.confirmed) {
                    events.push(envelope(
                        t,
                        format!(
                            "fission:{}:{}:{tier}:reached",
                            claim.campaign, inviter.state
                        ),
                        at,
                        DomainEvent::FissionTierReached {
                            campaign_id: claim.campaign.clone(),
                            inviter: inviter.external_userid.clone(),
                            tier,
                        },
                    ));
                }
            }
            InviteeState::Pending => {}
        }
        if store
            .settle_claim(t, claim, to, &next, version, &events)
            .await?
        {
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
    /// Tiers earned but out of stock (left owed for a restock).
    pub waiting: u32,
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
    S: FissionStore + CouponStore,
    W: GrowthWeCom,
    C: CustomerCards,
    L: LedgerStore + RulesStore + RewardStore,
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
                Ok((n, waiting)) => {
                    report.paid += n;
                    report.waiting += waiting;
                }
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
        due.due.max(claim.claim.joined_at),
    )
    .await
}

/// What paying a tier did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Paid {
    /// Paid (now or by an earlier attempt).
    Done,
    /// Out of stock: nothing paid, the tier stays owed.
    OutOfStock,
}

/// Pays every tier the inviter earned and was not paid: the numbers paid now and left
/// waiting for stock.
pub async fn pay_owed<S, W, C, L, T>(
    d: &FissionDeps<'_, S, W, C, L, T>,
    t: &TenantId,
    state: &str,
    now: DateTime<Utc>,
) -> Result<(u32, u32), FissionRunError>
where
    S: FissionStore + CouponStore,
    L: LedgerStore + RulesStore + RewardStore,
    T: TenantLookup,
{
    let mut paid = 0;
    // Tiers found out of stock in this call: not tried again until the next run.
    let mut skipped = std::collections::BTreeSet::new();
    for _ in 0..ATTEMPTS * 2 {
        let Some(inviter) = d.store.inviter(t, state).await? else {
            break;
        };
        let Some(campaign) = d.store.campaign(t, &inviter.campaign).await? else {
            break;
        };
        let rules = campaign.rules();
        let payable = rules.payable(inviter.progress.confirmed, &inviter.progress.paid);
        let Some(&tier) = payable.iter().find(|i| !skipped.contains(*i)) else {
            if inviter.owed && payable.is_empty() {
                let mut next = inviter.clone();
                next.owed = false;
                next.version += 1;
                d.store.save_inviter(t, &next, inviter.version).await?;
            }
            break;
        };
        match pay(d, t, &campaign, &inviter, tier, now).await? {
            Paid::OutOfStock => {
                skipped.insert(tier);
                if !inviter.waiting.contains(&tier) {
                    let mut next = inviter.clone();
                    next.waiting.insert(tier);
                    next.owed = true;
                    next.version = inviter.version + 1;
                    if d.store.record_waiting(t, &next, inviter.version).await? {
                        tracing::info!(campaign = %campaign.id, inviter = %state, tier, "tier waiting for stock");
                    } else {
                        skipped.remove(&tier);
                    }
                }
            }
            Paid::Done => {
                let reward = &campaign.spec.tiers[tier].reward;
                let mut next = inviter.clone();
                next.progress.paid.insert(tier);
                let waited = next.waiting.remove(&tier);
                next.owed = payable.len() > 1;
                next.version = inviter.version + 1;
                let event = envelope(
                    t,
                    format!("fission:{}:{state}:{tier}:paid", campaign.id),
                    now,
                    DomainEvent::FissionRewardPaid {
                        campaign_id: campaign.id.clone(),
                        inviter: inviter.external_userid.clone(),
                        tier,
                        kind: reward.kind().to_string(),
                        points: match reward {
                            TierReward::Points { points } => Some(*points),
                            _ => None,
                        },
                        reward_id: match reward {
                            TierReward::Reward { reward_id } => Some(reward_id.clone()),
                            _ => None,
                        },
                        list_id: match reward {
                            TierReward::Coupon { list_id } => Some(list_id.clone()),
                            _ => None,
                        },
                    },
                );
                if d.store
                    .record_paid(t, &next, inviter.version, tier, waited, &[event])
                    .await?
                {
                    tracing::info!(campaign = %campaign.id, inviter = %state, tier, kind = reward.kind(), "tier paid");
                    paid += 1;
                }
            }
        }
    }
    Ok((paid, skipped.len() as u32))
}

async fn pay<S, W, C, L, T>(
    d: &FissionDeps<'_, S, W, C, L, T>,
    t: &TenantId,
    campaign: &Campaign,
    inviter: &Inviter,
    tier: usize,
    now: DateTime<Utc>,
) -> Result<Paid, FissionRunError>
where
    S: CouponStore,
    L: LedgerStore + RulesStore + RewardStore,
    T: TenantLookup,
{
    match &campaign.spec.tiers[tier].reward {
        TierReward::Points { points } => {
            let tz = match d.tenants.tenant(t).await? {
                Some(tenant) => tenant.settings.tz(),
                None => return Ok(Paid::Done),
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
            Ok(Paid::Done)
        }
        TierReward::Reward { reward_id } => {
            let key = format!("fission:{}:{}:{tier}", campaign.id, inviter.state);
            match grant(d.ledger, t, reward_id, &inviter.external_userid, &key, now).await? {
                GrantWrite::Granted(_) | GrantWrite::Already(_) => Ok(Paid::Done),
                GrantWrite::OutOfStock | GrantWrite::NoSuchReward => Ok(Paid::OutOfStock),
            }
        }
        TierReward::Coupon { list_id } => {
            let want = IssuedCoupon {
                campaign: campaign.id.clone(),
                inviter_state: inviter.state.clone(),
                external_userid: inviter.external_userid.clone(),
                tier,
                list_id: list_id.clone(),
                code: String::new(),
                issued_at: now,
            };
            match d.store.issue_coupon(t, &want).await? {
                CouponIssue::Issued(_) | CouponIssue::Already(_) => Ok(Paid::Done),
                CouponIssue::OutOfStock => Ok(Paid::OutOfStock),
            }
        }
    }
}

/// What one end run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndReport {
    /// Personal codes deleted at WeCom (or found gone).
    pub codes_removed: u32,
    /// Campaigns closed (every code deleted, the end announced).
    pub closed: u32,
    /// Campaigns left for the next run (a failure or the deadline).
    pub left: u32,
}

/// Whether WeCom's refusal of a delete means the code is gone already (40xxx: an id it
/// does not know).
fn already_gone(e: &WeComError) -> bool {
    matches!(e, WeComError::Api { errcode, .. } if (40_000..41_000).contains(errcode))
}

/// Every minute: the campaigns whose end came have their inviters' personal codes deleted
/// at WeCom, then are closed with a `FissionCampaignEnded` event; of every tenant, or of
/// `only`. Stops starting deletions once `deadline` passed (the rest is left for the next
/// run, which resumes with the codes not recorded deleted).
pub async fn run_ends<S, W, C, L, T, D>(
    d: &FissionDeps<'_, S, W, C, L, T>,
    now: DateTime<Utc>,
    only: Option<&TenantId>,
    deadline: &D,
) -> Result<EndReport, FissionRunError>
where
    S: FissionStore + GroupCodeStore,
    W: GrowthWeCom + JoinWayWeCom,
    T: TenantLookup,
    D: Deadline,
{
    let mut report = EndReport::default();
    for shard in 0..FISSION_SHARDS {
        for (t, id) in d.store.ended_campaigns(shard, now, ENDED_PER_RUN).await? {
            if only.is_some_and(|o| *o != t) {
                continue;
            }
            if deadline.passed() {
                report.left += 1;
                continue;
            }
            match close(d, &t, &id, now, deadline, &mut report).await {
                Ok(true) => report.closed += 1,
                Ok(false) => report.left += 1,
                Err(e) => {
                    tracing::warn!(error = %e, campaign = %id, "campaign end left for the next run");
                    report.left += 1;
                }
            }
        }
    }
    Ok(report)
}

async fn close<S, W, C, L, T, D>(
    d: &FissionDeps<'_, S, W, C, L, T>,
    t: &TenantId,
    id: &str,
    now: DateTime<Utc>,
    deadline: &D,
    report: &mut EndReport,
) -> Result<bool, FissionRunError>
where
    S: FissionStore + GroupCodeStore,
    W: GrowthWeCom + JoinWayWeCom,
    T: TenantLookup,
    D: Deadline,
{
    let Some(campaign) = d.store.campaign(t, id).await? else {
        return Ok(false);
    };
    if campaign.closed_at.is_some() || campaign.ended_at() > now {
        return Ok(false);
    }
    let creds = d
        .tenants
        .tenant(t)
        .await?
        .as_ref()
        .and_then(contact_credentials);
    loop {
        let states = d.store.live_codes(t, id, CODES_PAGE).await?;
        if states.is_empty() {
            break;
        }
        let Some(creds) = &creds else {
            tracing::warn!(campaign = %id, "no customer-contact secret: personal codes left at WeCom");
            for state in &states {
                d.store.code_removed(t, id, state).await?;
            }
            continue;
        };
        for state in states {
            if deadline.passed() {
                return Ok(false);
            }
            let through_groups = campaign.spec.through_groups();
            let config_id = match d.store.inviter(t, &state).await? {
                None => None,
                Some(i) => match i.config_id {
                    Some(c) => Some(c),
                    // A join way whose answer was lost cannot be found (WeCom lists none):
                    // the orphan's QR code was never shown.
                    None if through_groups => None,
                    // Taken but WeCom's answer never recorded: find it by its state.
                    None => d
                        .wecom
                        .find_contact_way(
                            creds,
                            &state,
                            i.created_at.timestamp() - FIND_SLACK_SECS,
                            now.timestamp(),
                        )
                        .await?
                        .map(|w| w.config_id),
                },
            };
            if let Some(config_id) = config_id {
                let deleted = if through_groups {
                    d.wecom.del_join_way(creds, &config_id).await
                } else {
                    d.wecom.del_contact_way(creds, &config_id).await
                };
                match deleted {
                    Ok(()) => {}
                    Err(e) if already_gone(&e) => {
                        tracing::info!(state = %state, "WeCom no longer knows the code");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            d.store.code_removed(t, id, &state).await?;
            report.codes_removed += 1;
        }
    }
    // The groups' pool entries go with the codes: no join there needs reading any more.
    d.store.unindex_pool(t, id, &campaign.spec.chat_ids).await?;
    let figures = d
        .store
        .fission_figures(t, id, campaign.spec.tiers.len())
        .await?;
    for _ in 0..ATTEMPTS {
        let Some(mut c) = d.store.campaign(t, id).await? else {
            return Ok(false);
        };
        if c.closed_at.is_some() {
            return Ok(false);
        }
        let version = c.version;
        let ended_at = c.ended_at();
        c.closed_at = Some(now);
        c.version = version + 1;
        let event = envelope(
            t,
            format!("fission:{id}:ended"),
            ended_at,
            DomainEvent::FissionCampaignEnded {
                campaign_id: id.to_string(),
                ended_at,
                codes_removed: u32::try_from(figures.codes_removed).unwrap_or(u32::MAX),
            },
        );
        if d.store
            .save_campaign_with_events(t, &c, version, &[event])
            .await?
        {
            tracing::info!(campaign = %id, codes = figures.codes_removed, "campaign closed");
            return Ok(true);
        }
    }
    Err(StoreError::Retryable("the campaign kept changing".into()).into())
}

/// Publishes the events the steps wrote into the outbox, then takes them out (a failure
/// between the two publishes them again: consumers dedupe on the event id). How many were
/// published. Of every tenant, or of `only`.
pub async fn publish_outbox<S: FissionStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    only: Option<&TenantId>,
) -> Result<u32, FissionRunError> {
    let mut published = 0;
    for shard in 0..FISSION_SHARDS {
        let events = store.outbox(shard, only, OUTBOX_PER_RUN).await?;
        if events.is_empty() {
            continue;
        }
        for chunk in events.chunks(10) {
            publisher
                .publish(chunk)
                .await
                .map_err(|e| StoreError::Retryable(format!("publishing failed: {e}").into()))?;
            store.outbox_published(shard, chunk).await?;
            published += chunk.len() as u32;
        }
    }
    Ok(published)
}
