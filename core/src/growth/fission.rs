//! Fission campaigns (任务宝 / 邀请有礼): an inviter shares a personal code, each customer who
//! comes in through it counts towards reward tiers (invite N → a reward), and a tier pays once
//! its invitees have stayed long enough to be real.
//!
//! The rules, decided here and nowhere else (pure; the store keeps what they need):
//! - An invitee counts **once ever per campaign**, for the first inviter whose code brought
//!   them, recognised by external_userid and by unionid alike (the same WeChat user under two
//!   ids, or coming in twice, is one invitee). An invitee whose count was revoked is still
//!   spent: leaving and coming back through another code counts nothing.
//! - Not for inviting themselves (the same external_userid or unionid as the inviter), not
//!   outside the campaign's `[starts_at, ends_at)`, and not beyond the inviter's cap (the cap
//!   counts invitees still counted: a revoked one frees its place).
//! - An invitee is **pending** for the campaign's hold (`hold_hours` after joining). Leaving
//!   within it (deleting the staff member, or leaving the group) **revokes** the count; once the
//!   hold has passed the invitee is **confirmed** and stays so whatever they do later.
//! - A tier is **paid** when the inviter's confirmed invitees reach it, exactly once per tier.
//!   A tier reached only with pending invitees is shown as reached but not paid; if a revocation
//!   takes it below the tier before payout, it is lost without anything to take back. Paid is
//!   final.
//! - Every step is applied once per event id: a redelivered event changes nothing.
//!
//! [`CampaignBook`] applies events to one campaign's state and says what to do (pay a tier,
//! tag an invitee); the store persists that state item by item with conditional writes.
use super::model::{valid_userid, Problem};
use crate::wecom::api::JOIN_WAY_CHATS;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A campaign's name, in characters.
pub const NAME_CHARS: usize = 64;
/// Reward tiers a campaign may have.
pub const MAX_TIERS: usize = 5;
/// The most invites a tier may ask for.
pub const MAX_TIER_INVITES: u32 = 10_000;
/// The most points one tier may pay.
pub const MAX_TIER_POINTS: i64 = 1_000_000;
/// The longest hold, in hours (30 days).
pub const MAX_HOLD_HOURS: u32 = 720;
/// The hold when the operator sets none: a day.
pub const DEFAULT_HOLD_HOURS: u32 = 24;
/// Tags a campaign sets on its invitees.
pub const MAX_TAGS: usize = 20;
/// The longest campaign, in days.
pub const MAX_DAYS: i64 = 366;
/// Staff members a personal code adds to.
pub const MAX_USERIDS: usize = 100;

fn problem(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
    }
}

/// What a tier pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TierReward {
    /// Points through the ledger (key `fission:{campaign}:{tier}`, once per inviter).
    Points {
        /// How many.
        points: i64,
    },
    /// A reward from the catalogue, redeemed for the inviter at no cost.
    Reward {
        /// The catalogue's reward id.
        reward_id: String,
    },
    /// A coupon code taken from a list the merchant uploaded.
    Coupon {
        /// The coupon list.
        list_id: String,
    },
}

impl TierReward {
    /// `points`, `reward` or `coupon`.
    pub fn kind(&self) -> &'static str {
        match self {
            TierReward::Points { .. } => "points",
            TierReward::Reward { .. } => "reward",
            TierReward::Coupon { .. } => "coupon",
        }
    }
}

/// One tier: invite this many, get this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Confirmed invitees needed.
    pub invites: u32,
    /// What reaching it pays.
    pub reward: TierReward,
}

/// What an operator sends to create or edit a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// A name for people.
    pub name: String,
    /// Invitees count from this instant...
    pub starts_at: DateTime<Utc>,
    /// ... until this one (excluded).
    pub ends_at: DateTime<Utc>,
    /// Strictly increasing in `invites`.
    pub tiers: Vec<Tier>,
    /// The most invitees counted for one inviter at a time; none: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_per_inviter: Option<u32>,
    /// Hours an invitee must stay before counting for good.
    #[serde(default = "default_hold")]
    pub hold_hours: u32,
    /// Corp tag ids set on each counted invitee (`mark_tag`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The staff members an inviter's personal code adds to (a multi-member 「联系我」);
    /// none for a group campaign.
    #[serde(default)]
    pub userids: Vec<String>,
    /// A group campaign: an inviter's personal code is a 「加入群聊」 code offering these
    /// groups (1-5), an invitee counts by joining one of them and is revoked by leaving it
    /// within the hold. None: a contact campaign through `userids`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chat_ids: Vec<String>,
    /// The poster each inviter shares.
    pub poster: PosterTemplate,
}

impl CampaignInput {
    /// Whether inviters' codes are 「加入群聊」 codes on `chat_ids`.
    pub fn through_groups(&self) -> bool {
        !self.chat_ids.is_empty()
    }
}

fn default_hold() -> u32 {
    DEFAULT_HOLD_HOURS
}

fn id_like(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_whitespace)
}

impl CampaignInput {
    /// Every problem; empty: acceptable.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > NAME_CHARS {
            out.push(problem("name", format!("1-{NAME_CHARS} characters")));
        }
        if self.ends_at <= self.starts_at {
            out.push(problem("ends_at", "after starts_at"));
        } else if self.ends_at - self.starts_at > Duration::days(MAX_DAYS) {
            out.push(problem(
                "ends_at",
                format!("at most {MAX_DAYS} days after starts_at"),
            ));
        }
        if self.tiers.is_empty() || self.tiers.len() > MAX_TIERS {
            out.push(problem("tiers", format!("1-{MAX_TIERS} tiers")));
        }
        let mut previous = 0u32;
        for (i, tier) in self.tiers.iter().enumerate() {
            let field = format!("tiers[{i}]");
            if tier.invites == 0 || tier.invites > MAX_TIER_INVITES {
                out.push(problem(
                    format!("{field}.invites"),
                    format!("1-{MAX_TIER_INVITES}"),
                ));
            } else if tier.invites <= previous {
                out.push(problem(
                    format!("{field}.invites"),
                    format!("more than the tier before ({previous}): tiers must increase"),
                ));
            }
            previous = previous.max(tier.invites);
            match &tier.reward {
                TierReward::Points { points } if !(1..=MAX_TIER_POINTS).contains(points) => {
                    out.push(problem(
                        format!("{field}.reward.points"),
                        format!("1-{MAX_TIER_POINTS}"),
                    ));
                }
                TierReward::Reward { reward_id: id } | TierReward::Coupon { list_id: id }
                    if !id_like(id) =>
                {
                    out.push(problem(format!("{field}.reward"), "an id"));
                }
                _ => {}
            }
        }
        if let (Some(cap), Some(last)) = (self.cap_per_inviter, self.tiers.last()) {
            if cap < last.invites {
                out.push(problem(
                    "cap_per_inviter",
                    format!(
                        "at least the last tier's {} invites, or no tier above it could be reached",
                        last.invites
                    ),
                ));
            }
        }
        if self.hold_hours > MAX_HOLD_HOURS {
            out.push(problem("hold_hours", format!("0-{MAX_HOLD_HOURS}")));
        }
        if self.tags.len() > MAX_TAGS {
            out.push(problem("tags", format!("at most {MAX_TAGS} tags")));
        }
        for (i, t) in self.tags.iter().enumerate() {
            if !id_like(t) {
                out.push(problem(format!("tags[{i}]"), "a corp tag id"));
            }
        }
        if distinct(&self.tags) < self.tags.len() {
            out.push(problem("tags", "no duplicates"));
        }
        if !self.chat_ids.is_empty() {
            if !self.userids.is_empty() {
                out.push(problem(
                    "userids",
                    "none in a group campaign (invitees join its groups, not staff members)",
                ));
            }
            if self.chat_ids.len() > JOIN_WAY_CHATS {
                out.push(problem(
                    "chat_ids",
                    format!("1-{JOIN_WAY_CHATS} groups (a 「加入群聊」 code offers at most {JOIN_WAY_CHATS})"),
                ));
            }
            for (i, c) in self.chat_ids.iter().enumerate() {
                if c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_graphic()) {
                    out.push(problem(
                        format!("chat_ids[{i}]"),
                        "a customer group's chat id",
                    ));
                }
            }
            if distinct(&self.chat_ids) < self.chat_ids.len() {
                out.push(problem("chat_ids", "no duplicates"));
            }
        } else if self.userids.is_empty() || self.userids.len() > MAX_USERIDS {
            out.push(problem(
                "userids",
                format!("1-{MAX_USERIDS} staff members (or chat_ids for a group campaign)"),
            ));
        }
        for (i, u) in self.userids.iter().enumerate() {
            if !valid_userid(u) {
                out.push(problem(format!("userids[{i}]"), "a member's userid"));
            }
        }
        if distinct(&self.userids) < self.userids.len() {
            out.push(problem("userids", "no duplicates"));
        }
        self.poster.problems(&mut out);
        out
    }
}

fn distinct(items: &[String]) -> usize {
    items.iter().collect::<BTreeSet<_>>().len()
}

/// Where the inviter's name goes (`y` is the text's baseline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSpot {
    /// Left edge.
    pub x: u32,
    /// Baseline.
    pub y: u32,
    /// Font size in pixels.
    pub size: u32,
    /// `#rrggbb`.
    pub color: String,
}

/// Where a square picture goes (its top-left corner and side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SquareSpot {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Side.
    pub size: u32,
}

/// The poster each inviter shares: a background with their name, avatar and personal QR
/// code at these positions on a `width` × `height` canvas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PosterTemplate {
    /// The background picture.
    pub background_url: String,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// The inviter's name.
    pub name: TextSpot,
    /// The inviter's avatar (drawn round).
    pub avatar: SquareSpot,
    /// The personal QR code.
    pub qr: SquareSpot,
}

impl PosterTemplate {
    fn problems(&self, out: &mut Vec<Problem>) {
        let url = &self.background_url;
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.len() > 1024
            || url.len() < 8
            || url.chars().any(char::is_whitespace)
        {
            out.push(problem("poster.background_url", "an http(s) URL"));
        }
        if !(300..=2000).contains(&self.width) {
            out.push(problem("poster.width", "300-2000"));
        }
        if !(300..=4000).contains(&self.height) {
            out.push(problem("poster.height", "300-4000"));
        }
        let n = &self.name;
        if !(12..=120).contains(&n.size) {
            out.push(problem("poster.name.size", "12-120"));
        }
        let hex = n.color.len() == 7
            && n.color.starts_with('#')
            && n.color[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !hex {
            out.push(problem("poster.name.color", "#rrggbb"));
        }
        if n.x >= self.width || n.y > self.height || n.y < n.size.min(self.height) {
            out.push(problem("poster.name", "inside the canvas"));
        }
        for (field, spot, sizes) in [
            ("poster.avatar", &self.avatar, 24..=600),
            ("poster.qr", &self.qr, 100..=1000),
        ] {
            if !sizes.contains(&spot.size) {
                out.push(problem(
                    format!("{field}.size"),
                    format!("{}-{}", sizes.start(), sizes.end()),
                ));
            }
            if spot.x + spot.size > self.width || spot.y + spot.size > self.height {
                out.push(problem(field, "inside the canvas"));
            }
        }
    }
}

/// The inviter's part of a poster.
#[derive(Debug, Clone, Copy)]
pub struct PosterFill<'a> {
    /// Their name (cut to 16 characters).
    pub name: &'a str,
    /// Their avatar's URL, when WeCom has one.
    pub avatar_url: Option<&'a str>,
    /// Their personal code's QR picture.
    pub qr_url: &'a str,
}

/// Characters of the inviter's name a poster shows.
pub const POSTER_NAME_CHARS: usize = 16;

/// The poster of one inviter, as SVG: pictures are referenced, not embedded, so a poster is
/// a few hundred bytes and renders in the customer's browser (which can save it as a picture).
pub fn render_poster(template: &PosterTemplate, fill: &PosterFill<'_>) -> String {
    use std::fmt::Write;
    let (w, h) = (template.width, template.height);
    let name: String = fill.name.chars().take(POSTER_NAME_CHARS).collect();
    let mut svg = String::with_capacity(1024);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><image href="{bg}" x="0" y="0" width="{w}" height="{h}" preserveAspectRatio="xMidYMid slice"/>"#,
        bg = xml_escape(&template.background_url),
    );
    let a = template.avatar;
    if let Some(url) = fill.avatar_url {
        let r = a.size / 2;
        let _ = write!(
            svg,
            r#"<clipPath id="av"><circle cx="{cx}" cy="{cy}" r="{r}"/></clipPath><image href="{url}" x="{x}" y="{y}" width="{s}" height="{s}" clip-path="url(#av)"/>"#,
            cx = a.x + r,
            cy = a.y + r,
            url = xml_escape(url),
            x = a.x,
            y = a.y,
            s = a.size,
        );
    }
    let n = &template.name;
    let _ = write!(
        svg,
        r#"<text x="{x}" y="{y}" font-size="{size}" fill="{color}" font-family="sans-serif">{name}</text>"#,
        x = n.x,
        y = n.y,
        size = n.size,
        color = xml_escape(&n.color),
        name = xml_escape(&name),
    );
    let q = template.qr;
    let _ = write!(
        svg,
        r##"<rect x="{x}" y="{y}" width="{s}" height="{s}" fill="#fff"/><image href="{url}" x="{x}" y="{y}" width="{s}" height="{s}"/></svg>"##,
        x = q.x,
        y = q.y,
        s = q.size,
        url = xml_escape(fill.qr_url),
    );
    svg
}

fn xml_escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) && !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Counting (between its start and end).
    Active,
    /// Ended early by an operator.
    Ended,
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// `fc` + 16 hex digits, from the create's idempotency key.
    pub id: String,
    /// What the operator configured.
    #[serde(flatten)]
    pub spec: CampaignInput,
    /// Active or ended.
    pub status: CampaignStatus,
    /// Moves with every change.
    pub version: i64,
    /// A hash of the create request (a retry with another body is refused).
    #[serde(default)]
    pub request_hash: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When its end was processed: every inviter's personal code deleted at WeCom and
    /// the end announced. Until then the campaign is in the ending index from its end on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
}

impl Campaign {
    /// When it ends (or ended): its `ends_at`, or when an operator ended it if earlier.
    pub fn ended_at(&self) -> DateTime<Utc> {
        self.rules().ends_at
    }

    /// The rules the book applies: an ended campaign counts nothing from its end on.
    pub fn rules(&self) -> CampaignRules {
        let mut rules = CampaignRules::from(&self.spec);
        if self.status == CampaignStatus::Ended {
            rules.ends_at = rules.ends_at.min(self.updated_at);
        }
        rules
    }
}

/// The prefix of a campaign's id.
pub const CAMPAIGN_PREFIX: &str = "fc";
/// The prefix of an inviter's personal code's `state`.
pub const INVITER_PREFIX: &str = "fi";

/// The id of the campaign created with `idempotency_key` in `tenant`.
pub fn campaign_id_for(tenant: &str, idempotency_key: &str) -> String {
    super::state::generate(
        CAMPAIGN_PREFIX,
        b"fission-campaign\0",
        tenant,
        idempotency_key,
    )
}

/// The `state` of `inviter`'s personal code in `campaign` (18 characters, within WeCom's
/// 30): derived, so that taking the code twice names the same one.
pub fn inviter_state_for(tenant: &str, campaign: &str, inviter: &str) -> String {
    super::state::generate(
        INVITER_PREFIX,
        b"fission-inviter\0",
        tenant,
        &format!("{campaign}\0{inviter}"),
    )
}

/// Whether `raw` is a campaign id (path parameters are checked before any read).
pub fn is_campaign_id(raw: &str) -> bool {
    super::state::is_generated(CAMPAIGN_PREFIX, raw)
}

/// Whether `raw` is an inviter's state.
pub fn is_inviter_state(raw: &str) -> bool {
    super::state::is_generated(INVITER_PREFIX, raw)
}

/// Whether a personal code is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviterCodeStatus {
    /// Recorded; WeCom's answer not yet (taking the code again finishes it).
    Creating,
    /// WeCom's code exists.
    Active,
}

/// An inviter: their personal code and their standing, one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inviter {
    /// The campaign.
    pub campaign: String,
    /// Their code's state (the item's id).
    pub state: String,
    /// The customer.
    pub external_userid: String,
    /// Their unionid, when known (a self-invite under another id is recognised by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// The code's status.
    pub code_status: InviterCodeStatus,
    /// WeCom's id of the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    /// The QR picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    /// Their standing.
    #[serde(flatten)]
    pub progress: InviterProgress,
    /// Confirmed enough for a tier not paid yet: in the owed index until paid (a payout
    /// interrupted after its confirmation is finished by the next run).
    #[serde(default)]
    pub owed: bool,
    /// Tiers earned whose reward is out of stock (a coupon list or a catalogue reward ran
    /// out): still owed, paid by the first run after a restock.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub waiting: BTreeSet<usize>,
    /// Moves with every change.
    pub version: i64,
    /// When the code was taken.
    pub created_at: DateTime<Utc>,
}

impl Inviter {
    /// As a [`Person`].
    pub fn person(&self) -> Person {
        Person {
            external_userid: self.external_userid.clone(),
            unionid: self.unionid.clone(),
        }
    }
}

/// An invitee's claim as stored (per invitee and campaign).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    /// The campaign.
    pub campaign: String,
    /// The inviter's code's state.
    pub inviter_state: String,
    /// The claim.
    #[serde(flatten)]
    pub claim: Claim,
    /// The event that made it (its redelivery finds it again).
    pub event_id: String,
    /// The group the invitee joined, in a group campaign: leaving it within the hold
    /// revokes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_chat: Option<String>,
}

/// Someone on either side of an invitation, as WeCom names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The external_userid.
    pub external_userid: String,
    /// The unionid, when WeCom gives one (a verified official account or mini program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

impl Person {
    fn is(&self, other: &Person) -> bool {
        self.external_userid == other.external_userid
            || matches!((&self.unionid, &other.unionid), (Some(a), Some(b)) if a == b)
    }
}

/// Where an invitee stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteeState {
    /// Counted, within the hold.
    Pending,
    /// Counted for good.
    Confirmed,
    /// Left within the hold: not counted, and never again in this campaign.
    Revoked,
}

/// An invitee's claim: who brought them, when, and where they stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The inviter's external_userid.
    pub inviter: String,
    /// The invitee.
    pub invitee: Person,
    /// When they came in.
    pub joined_at: DateTime<Utc>,
    /// Where they stand.
    pub state: InviteeState,
}

/// Why a join did not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotCounted {
    /// The inviter invited themselves.
    SelfInvite,
    /// This invitee (by external_userid or unionid) was counted in this campaign before.
    AlreadyCounted,
    /// Before the start or at or after the end.
    OutsideCampaign,
    /// The inviter's cap is full.
    OverCap,
}

/// One inviter's standing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviterProgress {
    /// Invitees within the hold.
    pub pending: u32,
    /// Invitees counted for good.
    pub confirmed: u32,
    /// Invitees revoked.
    pub revoked: u32,
    /// Tiers paid (indexes into the campaign's tiers).
    pub paid: BTreeSet<usize>,
}

impl InviterProgress {
    /// Invitees counting now (against the cap, and shown as progress).
    pub fn counted(&self) -> u32 {
        self.pending + self.confirmed
    }
}

/// What happened to a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignEvent {
    /// A customer came in through an inviter's code.
    Joined {
        /// The event's id (redelivery is a no-op).
        event_id: String,
        /// The inviter.
        inviter: Person,
        /// The customer who came in.
        invitee: Person,
        /// When.
        at: DateTime<Utc>,
    },
    /// A customer deleted the staff member or left the group.
    Left {
        /// The event's id.
        event_id: String,
        /// Who left (their external_userid).
        invitee: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Time passed: pending invitees whose hold ended by `now` are confirmed and tiers paid.
    Tick {
        /// The time of the tick.
        now: DateTime<Utc>,
    },
}

/// What the book asks the world to do or tells it, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignEffect {
    /// An invitee counts (pending) for an inviter: set the campaign's tags on them.
    Counted {
        /// The inviter.
        inviter: String,
        /// The invitee's external_userid.
        invitee: String,
    },
    /// A join that does not count, and why.
    Refused {
        /// The inviter.
        inviter: String,
        /// The invitee's external_userid.
        invitee: String,
        /// Why.
        reason: NotCounted,
    },
    /// A pending invitee left within the hold.
    Revoked {
        /// The inviter.
        inviter: String,
        /// The invitee's external_userid.
        invitee: String,
    },
    /// A pending invitee's hold passed.
    Confirmed {
        /// The inviter.
        inviter: String,
        /// The invitee's external_userid.
        invitee: String,
    },
    /// Pay a tier (once: the ledger key `fission:{campaign}:{tier}` makes a retry a no-op).
    PayTier {
        /// The inviter.
        inviter: String,
        /// The tier's index.
        tier: usize,
        /// What it pays.
        reward: TierReward,
    },
}

/// The rules of one campaign, as the book applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRules {
    /// From.
    pub starts_at: DateTime<Utc>,
    /// Until (excluded).
    pub ends_at: DateTime<Utc>,
    /// The tiers, increasing.
    pub tiers: Vec<Tier>,
    /// The cap on invitees counted at a time.
    pub cap_per_inviter: Option<u32>,
    /// The hold.
    pub hold: Duration,
}

impl From<&CampaignInput> for CampaignRules {
    fn from(input: &CampaignInput) -> Self {
        CampaignRules {
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            tiers: input.tiers.clone(),
            cap_per_inviter: input.cap_per_inviter,
            hold: Duration::hours(i64::from(input.hold_hours)),
        }
    }
}

impl CampaignRules {
    /// Whether a join at `at` is within the campaign.
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    /// The decision on a join, given whether the invitee was ever counted here and how many
    /// the inviter has counting now.
    pub fn judge_join(
        &self,
        inviter: &Person,
        invitee: &Person,
        at: DateTime<Utc>,
        claimed_before: bool,
        inviter_counted: u32,
    ) -> Result<(), NotCounted> {
        if inviter.is(invitee) {
            Err(NotCounted::SelfInvite)
        } else if claimed_before {
            Err(NotCounted::AlreadyCounted)
        } else if !self.open_at(at) {
            Err(NotCounted::OutsideCampaign)
        } else if self
            .cap_per_inviter
            .is_some_and(|cap| inviter_counted >= cap)
        {
            Err(NotCounted::OverCap)
        } else {
            Ok(())
        }
    }

    /// When a pending invitee who joined at `joined_at` is confirmed.
    pub fn confirms_at(&self, joined_at: DateTime<Utc>) -> DateTime<Utc> {
        joined_at + self.hold
    }

    /// Whether leaving at `left_at` revokes a pending invitee who joined at `joined_at`.
    /// (A leave from before the join is an earlier relation's, delivered late.)
    pub fn revokes(&self, joined_at: DateTime<Utc>, left_at: DateTime<Utc>) -> bool {
        joined_at <= left_at && left_at < self.confirms_at(joined_at)
    }

    /// The tiers `confirmed` invitees earn that are not paid yet, lowest first.
    pub fn payable(&self, confirmed: u32, paid: &BTreeSet<usize>) -> Vec<usize> {
        self.tiers
            .iter()
            .enumerate()
            .filter(|(i, t)| t.invites <= confirmed && !paid.contains(i))
            .map(|(i, _)| i)
            .collect()
    }

    /// The tiers that `confirmed` confirmed invitees reach exactly: the ones an inviter
    /// reaches on their `confirmed`-th confirmation (each tier once).
    pub fn reached_on(&self, confirmed: u32) -> Vec<usize> {
        self.tiers
            .iter()
            .enumerate()
            .filter(|(_, t)| t.invites == confirmed)
            .map(|(i, _)| i)
            .collect()
    }

    /// The tiers `counted` invitees reach (pending ones included): what the inviter's page
    /// shows as reached.
    pub fn reached(&self, counted: u32) -> usize {
        self.tiers.iter().filter(|t| t.invites <= counted).count()
    }
}

/// One campaign's state, applied event by event.
#[derive(Debug, Clone)]
pub struct CampaignBook {
    rules: CampaignRules,
    /// Claims by the invitee's external_userid.
    claims: BTreeMap<String, Claim>,
    /// The external_userid that claimed each unionid.
    unionids: HashMap<String, String>,
    inviters: BTreeMap<String, InviterProgress>,
    seen: HashSet<String>,
}

impl CampaignBook {
    /// A campaign with nothing applied yet.
    pub fn new(rules: CampaignRules) -> Self {
        CampaignBook {
            rules,
            claims: BTreeMap::new(),
            unionids: HashMap::new(),
            inviters: BTreeMap::new(),
            seen: HashSet::new(),
        }
    }

    /// The rules.
    pub fn rules(&self) -> &CampaignRules {
        &self.rules
    }

    /// Each inviter's standing.
    pub fn inviters(&self) -> &BTreeMap<String, InviterProgress> {
        &self.inviters
    }

    /// Each invitee's claim, by external_userid.
    pub fn claims(&self) -> &BTreeMap<String, Claim> {
        &self.claims
    }

    /// Whether `invitee` (by either id) was ever counted here.
    pub fn claimed(&self, invitee: &Person) -> bool {
        self.claims.contains_key(&invitee.external_userid)
            || invitee
                .unionid
                .as_ref()
                .is_some_and(|u| self.unionids.contains_key(u))
    }

    /// Applies one event; what to do about it, in order. A redelivered event does nothing.
    pub fn apply(&mut self, event: &CampaignEvent) -> Vec<CampaignEffect> {
        match event {
            CampaignEvent::Joined {
                event_id,
                inviter,
                invitee,
                at,
            } => {
                if !self.seen.insert(event_id.clone()) {
                    return Vec::new();
                }
                self.join(inviter, invitee, *at)
            }
            CampaignEvent::Left {
                event_id,
                invitee,
                at,
            } => {
                if !self.seen.insert(event_id.clone()) {
                    return Vec::new();
                }
                self.leave(invitee, *at)
            }
            // A tick carries no id: applying one twice finds nothing left to do.
            CampaignEvent::Tick { now } => self.tick(*now),
        }
    }

    fn join(
        &mut self,
        inviter: &Person,
        invitee: &Person,
        at: DateTime<Utc>,
    ) -> Vec<CampaignEffect> {
        let counted = self
            .inviters
            .get(&inviter.external_userid)
            .map_or(0, InviterProgress::counted);
        let verdict = self
            .rules
            .judge_join(inviter, invitee, at, self.claimed(invitee), counted);
        let (inviter_id, invitee_id) = (
            inviter.external_userid.clone(),
            invitee.external_userid.clone(),
        );
        if let Err(reason) = verdict {
            return vec![CampaignEffect::Refused {
                inviter: inviter_id,
                invitee: invitee_id,
                reason,
            }];
        }
        if let Some(u) = &invitee.unionid {
            self.unionids.insert(u.clone(), invitee_id.clone());
        }
        self.claims.insert(
            invitee_id.clone(),
            Claim {
                inviter: inviter_id.clone(),
                invitee: invitee.clone(),
                joined_at: at,
                state: InviteeState::Pending,
            },
        );
        self.inviters.entry(inviter_id.clone()).or_default().pending += 1;
        vec![CampaignEffect::Counted {
            inviter: inviter_id,
            invitee: invitee_id,
        }]
    }

    fn leave(&mut self, invitee: &str, at: DateTime<Utc>) -> Vec<CampaignEffect> {
        let Some(claim) = self.claims.get_mut(invitee) else {
            return Vec::new();
        };
        if claim.state != InviteeState::Pending || !self.rules.revokes(claim.joined_at, at) {
            return Vec::new();
        }
        claim.state = InviteeState::Revoked;
        let progress = self.inviters.entry(claim.inviter.clone()).or_default();
        progress.pending -= 1;
        progress.revoked += 1;
        vec![CampaignEffect::Revoked {
            inviter: claim.inviter.clone(),
            invitee: invitee.to_owned(),
        }]
    }

    fn tick(&mut self, now: DateTime<Utc>) -> Vec<CampaignEffect> {
        let mut effects = Vec::new();
        let mut touched = BTreeSet::new();
        for (id, claim) in self.claims.iter_mut() {
            if claim.state == InviteeState::Pending
                && self.rules.confirms_at(claim.joined_at) <= now
            {
                claim.state = InviteeState::Confirmed;
                let progress = self.inviters.entry(claim.inviter.clone()).or_default();
                progress.pending -= 1;
                progress.confirmed += 1;
                touched.insert(claim.inviter.clone());
                effects.push(CampaignEffect::Confirmed {
                    inviter: claim.inviter.clone(),
                    invitee: id.clone(),
                });
            }
        }
        for inviter in touched {
            let progress = self.inviters.entry(inviter.clone()).or_default();
            for tier in self.rules.payable(progress.confirmed, &progress.paid) {
                progress.paid.insert(tier);
                effects.push(CampaignEffect::PayTier {
                    inviter: inviter.clone(),
                    tier,
                    reward: self.rules.tiers[tier].reward.clone(),
                });
            }
        }
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(hours: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + Duration::hours(hours)
    }

    fn points(p: i64) -> TierReward {
        TierReward::Points { points: p }
    }

    fn input() -> CampaignInput {
        CampaignInput {
            name: "邀请有礼".into(),
            starts_at: t(0),
            ends_at: t(24 * 7),
            tiers: vec![
                Tier {
                    invites: 1,
                    reward: points(10),
                },
                Tier {
                    invites: 3,
                    reward: points(50),
                },
                Tier {
                    invites: 5,
                    reward: TierReward::Reward {
                        reward_id: "cup".into(),
                    },
                },
            ],
            cap_per_inviter: Some(8),
            hold_hours: 24,
            tags: vec!["tag-fission".into()],
            userids: vec!["amy".into(), "bob".into()],
            chat_ids: Vec::new(),
            poster: poster(),
        }
    }

    fn poster() -> PosterTemplate {
        PosterTemplate {
            background_url: "https://cdn.example.com/bg.png".into(),
            width: 750,
            height: 1334,
            name: TextSpot {
                x: 40,
                y: 120,
                size: 32,
                color: "#333333".into(),
            },
            avatar: SquareSpot {
                x: 40,
                y: 140,
                size: 96,
            },
            qr: SquareSpot {
                x: 475,
                y: 1059,
                size: 240,
            },
        }
    }

    fn person(ext: &str, unionid: Option<&str>) -> Person {
        Person {
            external_userid: ext.into(),
            unionid: unionid.map(Into::into),
        }
    }

    fn joined(id: &str, inviter: &str, invitee: Person, at: DateTime<Utc>) -> CampaignEvent {
        CampaignEvent::Joined {
            event_id: id.into(),
            inviter: person(inviter, None),
            invitee,
            at,
        }
    }

    #[test]
    fn a_valid_campaign_has_no_problems() {
        assert_eq!(input().problems(), vec![]);
    }

    #[test]
    fn tiers_must_increase_and_everything_is_bounded() {
        let mut c = input();
        c.tiers[1].invites = 1;
        c.tiers[2].reward = points(0);
        c.cap_per_inviter = Some(4);
        c.hold_hours = MAX_HOLD_HOURS + 1;
        c.ends_at = c.starts_at;
        c.name = " ".into();
        c.tags = vec!["a b".into()];
        let fields: Vec<String> = c.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "name",
                "ends_at",
                "tiers[1].invites",
                "tiers[2].reward.points",
                "cap_per_inviter",
                "hold_hours",
                "tags[0]"
            ]
        );
        let mut none = input();
        none.tiers.clear();
        assert_eq!(none.problems()[0].field, "tiers");
    }

    #[test]
    fn a_tier_pays_once_its_invitees_stayed_through_the_hold() {
        let mut book = CampaignBook::new(CampaignRules::from(&input()));
        let e = book.apply(&joined("e1", "alice", person("bob", None), t(1)));
        assert_eq!(
            e,
            vec![CampaignEffect::Counted {
                inviter: "alice".into(),
                invitee: "bob".into()
            }]
        );
        // Within the hold: nothing paid yet.
        assert!(book.apply(&CampaignEvent::Tick { now: t(24) }).is_empty());
        let e = book.apply(&CampaignEvent::Tick { now: t(25) });
        assert_eq!(
            e,
            vec![
                CampaignEffect::Confirmed {
                    inviter: "alice".into(),
                    invitee: "bob".into()
                },
                CampaignEffect::PayTier {
                    inviter: "alice".into(),
                    tier: 0,
                    reward: points(10)
                }
            ]
        );
        assert!(book.apply(&CampaignEvent::Tick { now: t(30) }).is_empty());
        // A late leave changes nothing: confirmed is final.
        assert!(book
            .apply(&CampaignEvent::Left {
                event_id: "l1".into(),
                invitee: "bob".into(),
                at: t(40)
            })
            .is_empty());
    }

    #[test]
    fn leaving_within_the_hold_revokes_and_the_invitee_is_spent() {
        let mut book = CampaignBook::new(CampaignRules::from(&input()));
        book.apply(&joined("e1", "alice", person("bob", Some("u-bob")), t(1)));
        let e = book.apply(&CampaignEvent::Left {
            event_id: "l1".into(),
            invitee: "bob".into(),
            at: t(2),
        });
        assert_eq!(
            e,
            vec![CampaignEffect::Revoked {
                inviter: "alice".into(),
                invitee: "bob".into()
            }]
        );
        // Back through another inviter's code, under another id but the same unionid.
        let e = book.apply(&joined("e2", "carol", person("bob-2", Some("u-bob")), t(3)));
        assert!(matches!(
            e[0],
            CampaignEffect::Refused {
                reason: NotCounted::AlreadyCounted,
                ..
            }
        ));
        assert!(book.apply(&CampaignEvent::Tick { now: t(100) }).is_empty());
    }

    #[test]
    fn self_invites_joins_outside_the_campaign_and_over_the_cap_do_not_count() {
        let mut c = input();
        c.cap_per_inviter = Some(5);
        let mut book = CampaignBook::new(CampaignRules::from(&c));
        let refused = |e: Vec<CampaignEffect>| match &e[..] {
            [CampaignEffect::Refused { reason, .. }] => Some(*reason),
            _ => None,
        };
        let me = CampaignEvent::Joined {
            event_id: "s".into(),
            inviter: person("alice", Some("u-a")),
            invitee: person("alice-other", Some("u-a")),
            at: t(1),
        };
        assert_eq!(refused(book.apply(&me)), Some(NotCounted::SelfInvite));
        assert_eq!(
            refused(book.apply(&joined("early", "alice", person("x", None), t(-1)))),
            Some(NotCounted::OutsideCampaign)
        );
        assert_eq!(
            refused(book.apply(&joined("late", "alice", person("y", None), t(24 * 7)))),
            Some(NotCounted::OutsideCampaign)
        );
        for i in 0..5 {
            book.apply(&joined(
                &format!("j{i}"),
                "alice",
                person(&format!("c{i}"), None),
                t(2),
            ));
        }
        assert_eq!(
            refused(book.apply(&joined("j5", "alice", person("c5", None), t(2)))),
            Some(NotCounted::OverCap)
        );
        // A revocation frees a place.
        book.apply(&CampaignEvent::Left {
            event_id: "l".into(),
            invitee: "c0".into(),
            at: t(3),
        });
        assert!(matches!(
            book.apply(&joined("j6", "alice", person("c5", None), t(4)))[0],
            CampaignEffect::Counted { .. }
        ));
    }

    #[test]
    fn poster_elements_must_lie_inside_the_canvas() {
        let mut c = input();
        c.poster.qr.x = 600;
        c.poster.name.color = "red".into();
        c.poster.background_url = "ftp://x/y.png".into();
        c.userids = vec!["amy".into(), "amy".into()];
        let fields: Vec<String> = c.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "userids",
                "poster.background_url",
                "poster.name.color",
                "poster.qr"
            ]
        );
    }

    #[test]
    fn a_poster_names_the_inviter_escaped_and_cut() {
        let svg = render_poster(
            &poster(),
            &PosterFill {
                name: "<script>&\"王小明\" 的超长超长超长超长超长名字",
                avatar_url: Some("https://wx.qlogo.cn/a?x=1&y=2"),
                qr_url: "https://wework.qpic.cn/qr/abc",
            },
        );
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<script>"));
        assert!(
            svg.contains("&lt;script&gt;&amp;&quot;王小明&quot;"),
            "{svg}"
        );
        assert!(svg.contains("https://wx.qlogo.cn/a?x=1&amp;y=2"));
        assert!(svg.contains(r#"x="475" y="1059" width="240" height="240""#));
        let shown = svg.split("font-family=\"sans-serif\">").nth(1).unwrap();
        let shown = shown.split("</text>").next().unwrap();
        assert_eq!(
            shown
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .chars()
                .count(),
            POSTER_NAME_CHARS
        );
        // Without an avatar, no clip path.
        let bare = render_poster(
            &poster(),
            &PosterFill {
                name: "A",
                avatar_url: None,
                qr_url: "https://q",
            },
        );
        assert!(!bare.contains("clipPath"));
    }

    #[test]
    fn each_tier_is_reached_on_exactly_one_confirmation() {
        let rules = CampaignRules::from(&input());
        let reached: Vec<Vec<usize>> = (0..=6).map(|n| rules.reached_on(n)).collect();
        assert_eq!(
            reached,
            [vec![], vec![0], vec![], vec![1], vec![], vec![2], vec![]]
        );
        assert_eq!(input().tiers[2].reward.kind(), "reward");
        assert_eq!(points(1).kind(), "points");
    }

    #[test]
    fn a_campaign_ends_at_its_end_or_when_ended_early() {
        let mut c = Campaign {
            id: "fc0123456789abcdef".into(),
            spec: input(),
            status: CampaignStatus::Active,
            version: 1,
            request_hash: String::new(),
            created_at: t(0),
            updated_at: t(0),
            closed_at: None,
        };
        assert_eq!(c.ended_at(), t(24 * 7));
        c.status = CampaignStatus::Ended;
        c.updated_at = t(5);
        assert_eq!(c.ended_at(), t(5));
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let c = campaign_id_for("ww1", "k");
        assert!(is_campaign_id(&c) && !is_inviter_state(&c));
        assert_eq!(c, campaign_id_for("ww1", "k"));
        let i = inviter_state_for("ww1", &c, "wmA");
        assert!(is_inviter_state(&i));
        assert_ne!(i, inviter_state_for("ww1", &c, "wmB"));
        assert!(i.len() <= 30);
    }

    // --- the property: random joins, leaves, duplicates and ticks pay exactly what was earned.

    #[derive(Debug, Clone)]
    enum Step {
        Join {
            inviter: usize,
            invitee: usize,
            hour: i64,
        },
        Leave {
            invitee: usize,
            hour: i64,
        },
        Tick {
            hour: i64,
        },
        Redeliver(usize),
    }

    const PEOPLE: usize = 12;

    /// Person i; people i and i+6 share a unionid when `i % 3 == 0` (one WeChat user, two ids).
    fn who(i: usize) -> Person {
        let unionid = i
            .is_multiple_of(3)
            .then(|| format!("u{}", i % (PEOPLE / 2)));
        person(&format!("p{i}"), unionid.as_deref())
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0..PEOPLE, 0..PEOPLE, -10i64..200).prop_map(|(inviter, invitee, hour)| Step::Join { inviter, invitee, hour }),
            2 => (0..PEOPLE, -10i64..220).prop_map(|(invitee, hour)| Step::Leave { invitee, hour }),
            1 => (0i64..260).prop_map(|hour| Step::Tick { hour }),
            1 => (0usize..64).prop_map(Step::Redeliver),
        ]
    }

    fn campaign() -> impl Strategy<Value = CampaignInput> {
        (
            prop::collection::btree_set(1u32..6, 1..=3),
            proptest::option::of(5u32..8),
            0u32..48,
        )
            .prop_map(|(invites, cap, hold)| CampaignInput {
                name: "c".into(),
                starts_at: t(0),
                ends_at: t(150),
                tiers: invites
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| Tier {
                        invites: n,
                        reward: points(10 * (i as i64 + 1)),
                    })
                    .collect(),
                cap_per_inviter: cap,
                hold_hours: hold,
                tags: vec![],
                userids: vec!["amy".into()],
                chat_ids: Vec::new(),
                poster: poster(),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn pays_exactly_the_tiers_earned(c in campaign(), steps in prop::collection::vec(step(), 0..80)) {
            prop_assert!(c.problems().is_empty());
            let rules = CampaignRules::from(&c);
            let mut book = CampaignBook::new(rules.clone());
            let mut delivered: Vec<CampaignEvent> = Vec::new();
            let mut paid: Vec<(String, usize)> = Vec::new();
            let mut points_paid: BTreeMap<String, i64> = BTreeMap::new();
            let mut last_tick = t(-100);
            for (n, s) in steps.iter().enumerate() {
                let event = match s {
                    Step::Join { inviter, invitee, hour } => CampaignEvent::Joined {
                        event_id: format!("j{n}"),
                        inviter: who(*inviter),
                        invitee: who(*invitee),
                        at: t(*hour),
                    },
                    Step::Leave { invitee, hour } => CampaignEvent::Left {
                        event_id: format!("l{n}"),
                        invitee: who(*invitee).external_userid,
                        at: t(*hour),
                    },
                    Step::Tick { hour } => {
                        // Time does not run backwards.
                        last_tick = last_tick.max(t(*hour));
                        CampaignEvent::Tick { now: last_tick }
                    }
                    Step::Redeliver(i) if !delivered.is_empty() => delivered[i % delivered.len()].clone(),
                    Step::Redeliver(_) => continue,
                };
                let is_redelivery = matches!(s, Step::Redeliver(_)) && !matches!(event, CampaignEvent::Tick { .. });
                let effects = book.apply(&event);
                if is_redelivery {
                    prop_assert!(effects.is_empty(), "a redelivered event did something: {effects:?}");
                }
                for e in effects {
                    if let CampaignEffect::PayTier { inviter, tier, reward } = e {
                        // Paid only when earned by confirmed invitees, once.
                        let progress = &book.inviters()[&inviter];
                        prop_assert!(rules.tiers[tier].invites <= progress.confirmed);
                        prop_assert!(!paid.contains(&(inviter.clone(), tier)), "tier {tier} paid twice to {inviter}");
                        paid.push((inviter.clone(), tier));
                        if let TierReward::Points { points } = reward {
                            *points_paid.entry(inviter).or_default() += points;
                        }
                    }
                }
                if !matches!(s, Step::Redeliver(_)) {
                    delivered.push(event);
                }
            }
            // Every hold over: what is confirmed is final, and each inviter is paid exactly the
            // tiers their confirmed invitees reach.
            book.apply(&CampaignEvent::Tick { now: last_tick.max(t(1000)) })
                .into_iter()
                .for_each(|e| if let CampaignEffect::PayTier { inviter, tier, reward } = e {
                    paid.push((inviter.clone(), tier));
                    if let TierReward::Points { points } = reward {
                        *points_paid.entry(inviter).or_default() += points;
                    }
                });

            // The oracle, from the claims alone: who counted for whom and who stayed.
            let mut confirmed: BTreeMap<String, u32> = BTreeMap::new();
            let mut seen_unionids = HashSet::new();
            for (ext, claim) in book.claims() {
                prop_assert_eq!(ext, &claim.invitee.external_userid);
                prop_assert!(claim.inviter != claim.invitee.external_userid, "counted for inviting themselves");
                prop_assert!(rules.open_at(claim.joined_at));
                if let Some(u) = &claim.invitee.unionid {
                    prop_assert!(seen_unionids.insert(u.clone()), "unionid {u} counted twice");
                }
                prop_assert!(claim.state != InviteeState::Pending, "still pending after every hold");
                if claim.state == InviteeState::Confirmed {
                    *confirmed.entry(claim.inviter.clone()).or_default() += 1;
                }
            }
            for (inviter, progress) in book.inviters() {
                let n = confirmed.get(inviter).copied().unwrap_or(0);
                prop_assert_eq!(progress.confirmed, n);
                if let Some(cap) = rules.cap_per_inviter {
                    prop_assert!(n <= cap);
                }
                let mut expected: Vec<usize> = (0..rules.tiers.len()).filter(|&i| rules.tiers[i].invites <= n).collect();
                let mut got: Vec<usize> = paid.iter().filter(|(who, _)| who == inviter).map(|(_, t)| *t).collect();
                got.sort_unstable();
                expected.sort_unstable();
                prop_assert_eq!(&got, &expected, "inviter {} with {} confirmed", inviter, n);
                let points: i64 = expected.iter().map(|&i| match rules.tiers[i].reward { TierReward::Points { points } => points, _ => 0 }).sum();
                prop_assert_eq!(points_paid.get(inviter).copied().unwrap_or(0), points);
            }
            // Nobody paid who has no standing.
            prop_assert!(paid.iter().all(|(who, _)| book.inviters().contains_key(who)));
        }
    }
}
