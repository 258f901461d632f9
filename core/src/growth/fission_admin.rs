//! Fission campaigns through the APIs: operators create, read, end them and read the
//! leaderboard (admin API); an inviter takes their personal code, reads their progress and
//! their poster (customer API).
use super::fission::{
    campaign_id_for, inviter_state_for, render_poster, Campaign, CampaignInput, CampaignStatus,
    Inviter, InviterCodeStatus, InviterProgress, PosterFill, Tier, TierReward,
};
use super::model::Problem;
use super::ports::{
    CouponStore, CustomerCards, FissionFigures, FissionStore, GroupCodeStore, GroupFacts,
    GrowthWeCom, JoinWayWeCom, PictureSource,
};
use super::state::request_hash;
use crate::contacts::source::contact_credentials;
use crate::http::ApiError;
use crate::points::ports::RewardStore;
use crate::ports::StoreError;
use crate::tenants::admin::{registered, NotRegistered};
use crate::tenants::{Tenant, TenantId, TenantLookup};
use crate::wecom::api::{
    ContactWay, JoinWay, WeComError, CONTACT_WAY_REMARK_CHARS, JOIN_WAY_REMARK_CHARS,
};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Inviters a leaderboard shows at most.
pub const MAX_LEADERS: usize = 100;
/// Inviters the customer's page shows.
pub const PAGE_LEADERS: usize = 10;
/// How far before an inviter's record WeCom's codes are searched for theirs (clock skew).
const FIND_SLACK_SECS: i64 = 300;

/// Why a fission request was refused.
#[derive(Debug, thiserror::Error)]
pub enum FissionError {
    /// The input is not acceptable: every problem, per field.
    #[error("invalid campaign: {}", Problem::summary(.0))]
    Invalid(Vec<Problem>),
    /// No such campaign in this tenant.
    #[error("no such campaign")]
    NoSuchCampaign,
    /// No such coupon list in this tenant.
    #[error("no such coupon list")]
    NoSuchList,
    /// A tier names a catalogue reward this tenant does not have: every such tier.
    #[error("a tier names a reward the catalogue does not have")]
    UnknownReward(Vec<Problem>),
    /// A coupon tier names a list this tenant does not have: every such tier.
    #[error("a tier names a coupon list that does not exist")]
    UnknownCouponList(Vec<Problem>),
    /// The campaign's version is not the one the edit was made from.
    #[error("the campaign changed since it was read (version {current})")]
    VersionMismatch {
        /// The version now.
        current: i64,
    },
    /// The idempotency key was used for another request body.
    #[error("this Idempotency-Key was used for another request")]
    KeyReused,
    /// The campaign has not started: no code yet.
    #[error("the campaign has not started yet")]
    NotStarted,
    /// The campaign has ended: no new codes.
    #[error("the campaign has ended")]
    Ended,
    /// The poster needs the inviter's code: take it first.
    #[error("take your code first")]
    CodeRequired,
    /// The tenant has no customer-contact secret: WeCom cannot be asked.
    #[error("the tenant has no customer-contact secret configured")]
    NoContactSecret,
    /// WeCom refused to create the code.
    #[error("WeCom refused it: {0}")]
    Refused(WeComError),
    /// WeCom could not be reached or was busy: the request may be retried.
    #[error("WeCom is unavailable: {0}")]
    Unavailable(WeComError),
    /// The tenant is not registered.
    #[error(transparent)]
    NotRegistered(#[from] NotRegistered),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WeComError> for FissionError {
    fn from(e: WeComError) -> Self {
        if e.is_retryable() {
            FissionError::Unavailable(e)
        } else {
            FissionError::Refused(e)
        }
    }
}

impl From<FissionError> for ApiError {
    fn from(e: FissionError) -> Self {
        match e {
            FissionError::Invalid(ref problems) => {
                let details = serde_json::json!({ "problems": problems });
                ApiError::validation(e.to_string()).with_details(details)
            }
            FissionError::NoSuchCampaign | FissionError::NoSuchList => {
                ApiError::not_found(e.to_string())
            }
            FissionError::UnknownReward(ref problems) => {
                ApiError::new(400, "unknown_reward", e.to_string())
                    .with_details(serde_json::json!({ "problems": problems }))
            }
            FissionError::UnknownCouponList(ref problems) => {
                ApiError::new(400, "unknown_coupon_list", e.to_string())
                    .with_details(serde_json::json!({ "problems": problems }))
            }
            FissionError::VersionMismatch { current } => {
                ApiError::conflict("version_mismatch", e.to_string())
                    .with_details(serde_json::json!({ "current_version": current }))
            }
            FissionError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
            FissionError::NotStarted => ApiError::conflict("campaign_not_started", e.to_string()),
            FissionError::Ended => ApiError::conflict("campaign_ended", e.to_string()),
            FissionError::CodeRequired => ApiError::conflict("code_required", e.to_string()),
            FissionError::NoContactSecret => ApiError::conflict("no_contact_secret", e.to_string()),
            FissionError::Refused(_) => {
                tracing::warn!(error = %e, "WeCom refused a personal code");
                ApiError::new(502, "wecom_refused", e.to_string())
            }
            FissionError::Unavailable(_) => {
                tracing::warn!(error = %e, "WeCom unavailable");
                ApiError::new(503, "wecom_unavailable", e.to_string())
            }
            FissionError::NotRegistered(n) => n.into(),
            FissionError::Store(s) => s.into(),
        }
    }
}

/// A campaign with its figures, as the admin API answers it.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    /// The campaign.
    #[serde(flatten)]
    pub campaign: Campaign,
    /// Its counts.
    pub figures: FissionFigures,
}

async fn view<S: FissionStore>(
    store: &S,
    t: &TenantId,
    campaign: Campaign,
) -> Result<CampaignView, StoreError> {
    let figures = store
        .fission_figures(t, &campaign.id, campaign.spec.tiers.len())
        .await?;
    Ok(CampaignView { campaign, figures })
}

async fn existing<S: FissionStore>(
    store: &S,
    t: &TenantId,
    id: &str,
) -> Result<Campaign, FissionError> {
    store
        .campaign(t, id)
        .await?
        .ok_or(FissionError::NoSuchCampaign)
}

/// A group campaign's groups must be customer groups the directory knows (not dismissed):
/// a problem per other one.
async fn unknown_groups<F: GroupFacts>(
    groups: &F,
    t: &TenantId,
    input: &CampaignInput,
) -> Result<Vec<Problem>, StoreError> {
    if input.chat_ids.is_empty() {
        return Ok(Vec::new());
    }
    let known = groups.group_sizes(t, &input.chat_ids, &[]).await?;
    Ok(input
        .chat_ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !known.contains_key(*id))
        .map(|(i, id)| Problem {
            field: format!("chat_ids[{i}]"),
            message: format!("no customer group {id} in the directory"),
        })
        .collect())
}

/// Creates a campaign, idempotently on `idempotency_key`. `(campaign, true)` when this call
/// created it.
#[allow(clippy::too_many_arguments)]
pub async fn create_campaign<S, R, F, L>(
    store: &S,
    rewards: &R,
    groups: &F,
    tenants: &L,
    t: &TenantId,
    idempotency_key: &str,
    input: CampaignInput,
    now: DateTime<Utc>,
) -> Result<(CampaignView, bool), FissionError>
where
    S: FissionStore + CouponStore + GroupCodeStore,
    R: RewardStore,
    F: GroupFacts,
    L: TenantLookup,
{
    let mut problems = input.problems();
    if problems.is_empty() {
        problems = unknown_groups(groups, t, &input).await?;
    }
    if !problems.is_empty() {
        return Err(FissionError::Invalid(problems));
    }
    registered::<_, FissionError>(tenants, t).await?;
    check_references(store, rewards, t, &input).await?;
    let hash = request_hash(&serde_json::to_string(&input).unwrap_or_default());
    let id = campaign_id_for(t.as_str(), idempotency_key);
    // The groups' pool entries first: an entry whose campaign does not offer the group
    // (none created, or another body under the key) is ignored, a missing one would let a
    // burst's joins go unread.
    store.index_pool(t, &id, &input.chat_ids).await?;
    let fresh = Campaign {
        id,
        spec: input,
        status: CampaignStatus::Active,
        version: 1,
        request_hash: hash.clone(),
        created_at: now,
        updated_at: now,
        closed_at: None,
    };
    match store.create_campaign(t, &fresh).await? {
        None => Ok((view(store, t, fresh).await?, true)),
        Some(stored) if stored.request_hash != hash => Err(FissionError::KeyReused),
        Some(stored) => Ok((view(store, t, stored).await?, false)),
    }
}

/// The tenant's campaigns with their figures, newest first.
pub async fn campaigns<S: FissionStore>(
    store: &S,
    t: &TenantId,
) -> Result<Vec<CampaignView>, FissionError> {
    let mut out = Vec::new();
    for c in store.campaigns(t).await? {
        out.push(view(store, t, c).await?);
    }
    Ok(out)
}

/// One campaign with its figures.
pub async fn campaign<S: FissionStore>(
    store: &S,
    t: &TenantId,
    id: &str,
) -> Result<CampaignView, FissionError> {
    let c = existing(store, t, id).await?;
    Ok(view(store, t, c).await?)
}

/// Every tier's catalogue reward and coupon list must exist in the tenant: a tier naming
/// one that does not is refused before anything is written (`unknown_reward` first, then
/// `unknown_coupon_list`, each with every such tier).
async fn check_references<S: CouponStore, R: RewardStore>(
    store: &S,
    rewards: &R,
    t: &TenantId,
    input: &CampaignInput,
) -> Result<(), FissionError> {
    let mut unknown_rewards = Vec::new();
    let mut unknown_lists = Vec::new();
    for (i, tier) in input.tiers.iter().enumerate() {
        match &tier.reward {
            TierReward::Points { .. } => {}
            TierReward::Reward { reward_id } => {
                if rewards.reward(t, reward_id).await?.is_none() {
                    unknown_rewards.push(Problem {
                        field: format!("tiers[{i}].reward.reward_id"),
                        message: format!("no reward {reward_id} in the catalogue"),
                    });
                }
            }
            TierReward::Coupon { list_id } => {
                if store.coupon_list(t, list_id).await?.is_none() {
                    unknown_lists.push(Problem {
                        field: format!("tiers[{i}].reward.list_id"),
                        message: format!("no coupon list {list_id}"),
                    });
                }
            }
        }
    }
    if !unknown_rewards.is_empty() {
        unknown_rewards.append(&mut unknown_lists);
        return Err(FissionError::UnknownReward(unknown_rewards));
    }
    if !unknown_lists.is_empty() {
        return Err(FissionError::UnknownCouponList(unknown_lists));
    }
    Ok(())
}

/// The ids of `a` not in `b`.
fn without(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

/// Fields a campaign may still change once it has started.
pub const EDITABLE_AFTER_START: [&str; 3] = ["name", "ends_at", "cap_per_inviter"];

/// What an edit of a started campaign may not change: a problem per such field.
fn frozen_changes(before: &CampaignInput, after: &CampaignInput) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut frozen = |field: &str, same: bool| {
        if !same {
            out.push(Problem {
                field: field.into(),
                message: format!(
                    "cannot change once the campaign has started (only {} can)",
                    EDITABLE_AFTER_START.join(", ")
                ),
            });
        }
    };
    frozen("starts_at", before.starts_at == after.starts_at);
    frozen("tiers", before.tiers == after.tiers);
    frozen("hold_hours", before.hold_hours == after.hold_hours);
    frozen("tags", before.tags == after.tags);
    frozen("userids", before.userids == after.userids);
    frozen("chat_ids", before.chat_ids == after.chat_ids);
    frozen("poster", before.poster == after.poster);
    out
}

/// Edits a campaign made from `version`: anything before its start; once started only
/// its name, end and cap (a later end must still be ahead). Not an ended one.
#[allow(clippy::too_many_arguments)]
pub async fn edit_campaign<
    S: FissionStore + CouponStore + GroupCodeStore,
    R: RewardStore,
    F: GroupFacts,
>(
    store: &S,
    rewards: &R,
    groups: &F,
    t: &TenantId,
    id: &str,
    version: i64,
    input: CampaignInput,
    now: DateTime<Utc>,
) -> Result<CampaignView, FissionError> {
    let mut problems = input.problems();
    let mut c = existing(store, t, id).await?;
    if c.status == CampaignStatus::Ended || c.closed_at.is_some() || now >= c.ended_at() {
        return Err(FissionError::Ended);
    }
    if now >= c.spec.starts_at {
        problems.extend(frozen_changes(&c.spec, &input));
        if input.ends_at <= now {
            problems.push(Problem {
                field: "ends_at".into(),
                message: "after now (end it instead)".into(),
            });
        }
    }
    if problems.is_empty() && input.chat_ids != c.spec.chat_ids {
        problems = unknown_groups(groups, t, &input).await?;
    }
    if !problems.is_empty() {
        return Err(FissionError::Invalid(problems));
    }
    if input.tiers != c.spec.tiers {
        check_references(store, rewards, t, &input).await?;
    }
    if c.version != version {
        return Err(FissionError::VersionMismatch { current: c.version });
    }
    let added: Vec<String> = without(&input.chat_ids, &c.spec.chat_ids);
    let gone: Vec<String> = without(&c.spec.chat_ids, &input.chat_ids);
    store.index_pool(t, id, &added).await?;
    c.spec = input;
    c.version = version + 1;
    c.updated_at = now;
    if !store.save_campaign(t, &c, version).await? {
        let current = existing(store, t, id).await?.version;
        return Err(FissionError::VersionMismatch { current });
    }
    store.unindex_pool(t, id, &gone).await?;
    Ok(view(store, t, c).await?)
}

/// Ends a campaign now: joins from now on do not count; counted invitees finish their hold.
pub async fn end_campaign<S: FissionStore>(
    store: &S,
    t: &TenantId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<CampaignView, FissionError> {
    for _ in 0..3 {
        let mut c = existing(store, t, id).await?;
        if c.status == CampaignStatus::Ended {
            return Ok(view(store, t, c).await?);
        }
        let version = c.version;
        c.status = CampaignStatus::Ended;
        c.version = version + 1;
        c.updated_at = now;
        if store.save_campaign(t, &c, version).await? {
            return Ok(view(store, t, c).await?);
        }
    }
    Err(StoreError::Retryable("the campaign kept changing".into()).into())
}

/// One inviter on a leaderboard.
#[derive(Debug, Clone, Serialize)]
pub struct Leader {
    /// The customer.
    pub external_userid: String,
    /// Their name in the directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Confirmed invitees.
    pub confirmed: u32,
    /// Invitees within the hold.
    pub pending: u32,
}

/// The campaign's inviters with the most confirmed invitees.
pub async fn leaderboard<S: FissionStore, C: CustomerCards>(
    store: &S,
    cards: &C,
    t: &TenantId,
    id: &str,
    limit: usize,
) -> Result<Vec<Leader>, FissionError> {
    existing(store, t, id).await?;
    let leaders = store.leaders(t, id, limit.clamp(1, MAX_LEADERS)).await?;
    let mut out = Vec::with_capacity(leaders.len());
    for l in leaders {
        let name = cards
            .customer_card(t, &l.external_userid)
            .await?
            .and_then(|c| c.name);
        out.push(Leader {
            external_userid: l.external_userid,
            name,
            confirmed: l.progress.confirmed,
            pending: l.progress.pending,
        });
    }
    Ok(out)
}

/// Where a campaign stands for a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageStatus {
    /// Before its start.
    Upcoming,
    /// Counting.
    Active,
    /// Past its end, or ended early.
    Ended,
}

fn page_status(c: &Campaign, now: DateTime<Utc>) -> PageStatus {
    let rules = c.rules();
    if now < rules.starts_at {
        PageStatus::Upcoming
    } else if now >= rules.ends_at {
        PageStatus::Ended
    } else {
        PageStatus::Active
    }
}

/// An inviter's code as the customer sees it.
#[derive(Debug, Clone, Serialize)]
pub struct FissionCode {
    /// The code's state.
    pub state: String,
    /// The QR picture.
    pub qr_code: String,
}

/// The inviter's own standing.
#[derive(Debug, Clone, Serialize)]
pub struct MyProgress {
    /// Within the hold.
    pub pending: u32,
    /// For good.
    pub confirmed: u32,
    /// Revoked.
    pub revoked: u32,
    /// Tiers reached, pending invitees included.
    pub reached: usize,
    /// Tiers paid.
    pub paid: Vec<usize>,
    /// Tiers earned whose reward is out of stock for now (paid after a restock).
    pub waiting: Vec<usize>,
    /// The coupon codes issued to them, by tier.
    pub coupons: Vec<MyCoupon>,
    /// Their code, once taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<FissionCode>,
}

/// A coupon code issued to the inviter.
#[derive(Debug, Clone, Serialize)]
pub struct MyCoupon {
    /// The tier that paid it.
    pub tier: usize,
    /// The code.
    pub code: String,
    /// When.
    pub issued_at: DateTime<Utc>,
}

/// One line of the customer's leaderboard: names masked.
#[derive(Debug, Clone, Serialize)]
pub struct PageLeader {
    /// The first character of the name and `*`.
    pub name: String,
    /// Confirmed invitees.
    pub confirmed: u32,
    /// Whether it is the caller.
    pub me: bool,
}

/// The campaign as an inviter sees it.
#[derive(Debug, Clone, Serialize)]
pub struct FissionPage {
    /// The campaign.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where it stands.
    pub status: PageStatus,
    /// From.
    pub starts_at: DateTime<Utc>,
    /// Until.
    pub ends_at: DateTime<Utc>,
    /// The hold.
    pub hold_hours: u32,
    /// How invitees come in through a code: `contact` (they add a staff member) or `group`
    /// (they join one of the campaign's groups).
    pub joins: &'static str,
    /// The tiers.
    pub tiers: Vec<Tier>,
    /// The caller's standing.
    pub me: MyProgress,
    /// The top inviters.
    pub leaderboard: Vec<PageLeader>,
}

/// A name shown to other customers: its first character and a star.
pub fn masked(name: Option<&str>) -> String {
    match name.and_then(|n| n.trim().chars().next()) {
        Some(c) => format!("{c}*"),
        None => "*".into(),
    }
}

fn code_of(inviter: &Inviter) -> Option<FissionCode> {
    match (&inviter.code_status, &inviter.qr_code) {
        (InviterCodeStatus::Active, Some(qr)) => Some(FissionCode {
            state: inviter.state.clone(),
            qr_code: qr.clone(),
        }),
        _ => None,
    }
}

/// The campaign page of `me`.
pub async fn page<S: FissionStore + CouponStore, C: CustomerCards>(
    store: &S,
    cards: &C,
    t: &TenantId,
    id: &str,
    me: &str,
    now: DateTime<Utc>,
) -> Result<FissionPage, FissionError> {
    let c = existing(store, t, id).await?;
    let state = inviter_state_for(t.as_str(), id, me);
    let (mine, leaders, coupons) = futures::try_join!(
        store.inviter(t, &state),
        store.leaders(t, id, PAGE_LEADERS),
        store.inviter_coupons(t, &state)
    )?;
    let progress = mine
        .as_ref()
        .map(|i| i.progress.clone())
        .unwrap_or_default();
    let mut leaderboard = Vec::with_capacity(leaders.len());
    for l in leaders.into_iter().filter(|l| l.progress.confirmed > 0) {
        let card = cards.customer_card(t, &l.external_userid).await?;
        leaderboard.push(PageLeader {
            name: masked(card.as_ref().and_then(|c| c.name.as_deref())),
            confirmed: l.progress.confirmed,
            me: l.external_userid == me,
        });
    }
    let rules = c.rules();
    Ok(FissionPage {
        id: c.id.clone(),
        name: c.spec.name.clone(),
        status: page_status(&c, now),
        starts_at: c.spec.starts_at,
        ends_at: rules.ends_at,
        hold_hours: c.spec.hold_hours,
        joins: if c.spec.through_groups() {
            "group"
        } else {
            "contact"
        },
        me: MyProgress {
            pending: progress.pending,
            confirmed: progress.confirmed,
            revoked: progress.revoked,
            reached: rules.reached(progress.counted()),
            paid: progress.paid.iter().copied().collect(),
            waiting: mine
                .as_ref()
                .map(|i| i.waiting.iter().copied().collect())
                .unwrap_or_default(),
            coupons: coupons
                .into_iter()
                .map(|c| MyCoupon {
                    tier: c.tier,
                    code: c.code,
                    issued_at: c.issued_at,
                })
                .collect(),
            code: mine.as_ref().and_then(code_of),
        },
        tiers: c.spec.tiers,
        leaderboard,
    })
}

/// Takes `me`'s personal code: recorded (`creating`) before WeCom is asked, so a retry after
/// a lost answer finds WeCom's code by its state instead of making a second one.
#[allow(clippy::too_many_arguments)]
pub async fn take_code<S, W, C, L>(
    store: &S,
    wecom: &W,
    cards: &C,
    tenants: &L,
    t: &TenantId,
    id: &str,
    me: &str,
    now: DateTime<Utc>,
) -> Result<FissionCode, FissionError>
where
    S: FissionStore,
    W: GrowthWeCom + JoinWayWeCom,
    C: CustomerCards,
    L: TenantLookup,
{
    let c = existing(store, t, id).await?;
    let state = inviter_state_for(t.as_str(), id, me);
    if let Some(code) = store.inviter(t, &state).await?.as_ref().and_then(code_of) {
        return Ok(code);
    }
    match page_status(&c, now) {
        PageStatus::Upcoming => return Err(FissionError::NotStarted),
        PageStatus::Ended => return Err(FissionError::Ended),
        PageStatus::Active => {}
    }
    let tenant: Tenant = registered::<_, FissionError>(tenants, t).await?;
    let creds = contact_credentials(&tenant).ok_or(FissionError::NoContactSecret)?;
    let card = cards.customer_card(t, me).await?.unwrap_or_default();
    let fresh = Inviter {
        campaign: id.to_string(),
        state: state.clone(),
        external_userid: me.to_string(),
        unionid: card.unionid,
        code_status: InviterCodeStatus::Creating,
        config_id: None,
        qr_code: None,
        progress: InviterProgress::default(),
        owed: false,
        waiting: Default::default(),
        version: 1,
        created_at: now,
    };
    let remark: String = c
        .spec
        .name
        .trim()
        .chars()
        .take(CONTACT_WAY_REMARK_CHARS.min(JOIN_WAY_REMARK_CHARS))
        .collect();
    let (mut inviter, found) = match store.create_inviter(t, &fresh).await? {
        None => (fresh, None),
        Some(stored) => {
            if let Some(code) = code_of(&stored) {
                return Ok(code);
            }
            // WeCom lists contact ways (a create whose answer was lost is found by its
            // state) but not join ways: a group code is made again, and the orphan, shown
            // nowhere, brings nobody in.
            let found = if c.spec.through_groups() {
                None
            } else {
                let since = stored.created_at.timestamp() - FIND_SLACK_SECS;
                wecom
                    .find_contact_way(&creds, &state, since, now.timestamp())
                    .await?
            };
            (stored, found)
        }
    };
    let (config_id, qr_code) = match found {
        Some(info) => (info.config_id, info.qr_code),
        None if c.spec.through_groups() => {
            let way = JoinWay {
                config_id: None,
                scene: 2,
                remark: Some(remark),
                // The campaign's groups only: a group WeCom made by itself would be one
                // the campaign does not know.
                auto_create_room: 0,
                room_base_name: None,
                room_base_id: None,
                chat_id_list: c.spec.chat_ids.clone(),
                state: state.clone(),
            };
            let config_id = wecom.add_join_way(&creds, &way).await?;
            let info = wecom.get_join_way(&creds, &config_id).await?;
            (config_id, info.qr_code.filter(|q| !q.is_empty()))
        }
        None => {
            let way = ContactWay {
                config_id: None,
                kind: Some(if c.spec.userids.len() > 1 { 2 } else { 1 }),
                scene: Some(2),
                remark: Some(remark),
                skip_verify: true,
                state: state.clone(),
                user: c.spec.userids.clone(),
            };
            let created = wecom.add_contact_way(&creds, &way).await?;
            (created.config_id, created.qr_code)
        }
    };
    loop {
        let version = inviter.version;
        inviter.code_status = InviterCodeStatus::Active;
        inviter.config_id = Some(config_id.clone());
        inviter.qr_code = qr_code.clone();
        inviter.version = version + 1;
        if store.save_inviter(t, &inviter, version).await? {
            break;
        }
        // Another request activated it, or a join moved the standing meanwhile.
        inviter = store
            .inviter(t, &state)
            .await?
            .ok_or(FissionError::NoSuchCampaign)?;
        if let Some(code) = code_of(&inviter) {
            return Ok(code);
        }
    }
    code_of(&inviter).ok_or_else(|| {
        FissionError::Unavailable(WeComError::UnexpectedResponse {
            path: "externalcontact/add_contact_way",
            detail: "no qr_code in the answer".into(),
        })
    })
}

/// A picture as a `data:` URL, or the URL itself when it could not be fetched.
async fn embedded<P: PictureSource>(pictures: &P, url: &str) -> String {
    use base64::Engine as _;
    match pictures.picture(url).await {
        Some(p) => format!(
            "data:{};base64,{}",
            p.content_type,
            base64::engine::general_purpose::STANDARD.encode(&p.bytes)
        ),
        None => url.to_string(),
    }
}

/// `me`'s poster (SVG), its pictures (background, avatar, QR code) embedded so that it
/// shows as an image and can be saved as one.
pub async fn poster<S: FissionStore, C: CustomerCards, P: PictureSource>(
    store: &S,
    cards: &C,
    pictures: &P,
    t: &TenantId,
    id: &str,
    me: &str,
) -> Result<String, FissionError> {
    let c = existing(store, t, id).await?;
    let state = inviter_state_for(t.as_str(), id, me);
    let inviter = store.inviter(t, &state).await?;
    let code = inviter
        .as_ref()
        .and_then(code_of)
        .ok_or(FissionError::CodeRequired)?;
    let card = cards.customer_card(t, me).await?.unwrap_or_default();
    let avatar = async {
        match card.avatar.as_deref() {
            Some(url) => Some(embedded(pictures, url).await),
            None => None,
        }
    };
    let (background, avatar, qr) = futures::join!(
        embedded(pictures, &c.spec.poster.background_url),
        avatar,
        embedded(pictures, &code.qr_code)
    );
    let mut template = c.spec.poster.clone();
    template.background_url = background;
    Ok(render_poster(
        &template,
        &PosterFill {
            name: card.name.as_deref().unwrap_or(""),
            avatar_url: avatar.as_deref(),
            qr_url: &qr,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::{frozen_changes, masked};
    use crate::growth::fission::CampaignInput;

    fn input() -> CampaignInput {
        serde_json::from_value(serde_json::json!({
            "name": "邀请有礼",
            "starts_at": "2026-12-01T00:00:00Z",
            "ends_at": "2026-12-08T00:00:00Z",
            "tiers": [{ "invites": 1, "reward": { "kind": "points", "points": 10 } }],
            "userids": ["amy"],
            "poster": {
                "background_url": "https://cdn.example.com/bg.png",
                "width": 750, "height": 1334,
                "name": { "x": 40, "y": 120, "size": 32, "color": "#333333" },
                "avatar": { "x": 40, "y": 140, "size": 96 },
                "qr": { "x": 475, "y": 1059, "size": 240 }
            }
        }))
        .unwrap()
    }

    #[test]
    fn after_the_start_only_the_name_end_and_cap_may_change() {
        let before = input();
        let mut after = input();
        after.name = "新名字".into();
        after.ends_at += chrono::Duration::days(1);
        after.cap_per_inviter = Some(50);
        assert!(frozen_changes(&before, &after).is_empty());
        after.hold_hours = 1;
        after.tiers[0].invites = 2;
        let fields: Vec<_> = frozen_changes(&before, &after)
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["tiers", "hold_hours"]);
    }

    #[test]
    fn names_are_masked_after_their_first_character() {
        assert_eq!(masked(Some("王小明")), "王*");
        assert_eq!(masked(Some("  ")), "*");
        assert_eq!(masked(None), "*");
    }
}
