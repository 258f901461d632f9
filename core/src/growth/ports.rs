//! What the growth context needs from the outside world: its own store (codes, the default
//! welcome, the record of each add, the per-code daily figures), WeCom (contact ways,
//! welcome messages, tags, remarks, members' names) and a few facts the directory holds.
use super::fission::{Campaign, ClaimRecord, InviteeState, Inviter};
use super::fission_coupons::{CouponCounts, CouponIssue, CouponList, IssuedCoupon};
use super::group_code::GroupCode;
use super::model::{ChannelCode, Welcome};
use crate::events::EventEnvelope;
use crate::ports::StoreError;
use crate::tenants::TenantId;
use crate::wecom::api::{
    ContactWay, ContactWayCreated, ContactWayInfo, CorpCredentials, CustomerRemark, JoinWay,
    JoinWayInfo, MarkTag, WeComError, WelcomeMessage,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;

/// What became of an add's welcome message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WelcomeOutcome {
    /// WeCom accepted it.
    Sent,
    /// 41050: the code had expired (past 20 s) or was not valid.
    Expired,
    /// 41051: the code was used already (another app, an earlier attempt, or the two had
    /// chatted).
    Used,
    /// WeCom kept failing until the 20 s window closed, or refused it otherwise.
    Failed,
    /// Nothing to send: the code is paused, or there is no welcome configured.
    NotConfigured,
}

/// What the store holds about one add (keyed by its domain event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddRecord {
    /// The welcome's outcome, once recorded.
    pub welcome: Option<WelcomeOutcome>,
    /// WeCom's errcode when it refused.
    pub errcode: Option<i64>,
    /// Whether the add or removal was counted in the figures (the last step).
    pub counted: bool,
}

/// What a figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// A customer added a member through the code.
    Added,
    /// A relation made through the code ended (either side deleted).
    Removed,
}

/// One member's figures of one code and local day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberDay {
    /// The local day.
    pub date: String,
    /// The member.
    pub userid: String,
    /// Adds.
    pub added: i64,
    /// Deletions (by either side).
    pub removed: i64,
}

/// A code in the rota's due index: its choice may have changed since `due`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotaDue {
    /// The code's tenant.
    pub tenant: TenantId,
    /// The code.
    pub state: String,
    /// When it became due.
    pub due: DateTime<Utc>,
}

/// The growth context's store.
pub trait GrowthStore: Send + Sync {
    /// Records a new code (`attribute_not_exists`); the stored code when one with its state
    /// exists already.
    fn create_code(
        &self,
        t: &TenantId,
        code: &ChannelCode,
    ) -> impl Future<Output = Result<Option<ChannelCode>, StoreError>> + Send;
    /// A code by state.
    fn code(
        &self,
        t: &TenantId,
        state: &str,
    ) -> impl Future<Output = Result<Option<ChannelCode>, StoreError>> + Send;
    /// Every code of the tenant, newest state order.
    fn codes(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<Vec<ChannelCode>, StoreError>> + Send;
    /// Replaces a code if it is still at `version` (the stored code's version becomes
    /// `code.version`): `Ok(false)` when it moved.
    fn save_code(
        &self,
        t: &TenantId,
        code: &ChannelCode,
        version: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The codes of every tenant whose [`ChannelCode::rota_due`] is at or before `until`,
    /// oldest first, at most about `limit` (eventually consistent: the code itself is read again
    /// before anything is done with it).
    fn rota_due(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RotaDue>, StoreError>> + Send;
    /// Deletes a code.
    fn delete_code(
        &self,
        t: &TenantId,
        state: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The tenant's default welcome (adds with no channel or an unknown one).
    fn default_welcome(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<Option<Welcome>, StoreError>> + Send;
    /// Sets (or with `None` removes) the default welcome.
    fn set_default_welcome(
        &self,
        t: &TenantId,
        welcome: Option<&Welcome>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The record of the add (or removal) `event_id`.
    fn add_record(
        &self,
        t: &TenantId,
        event_id: &str,
    ) -> impl Future<Output = Result<Option<AddRecord>, StoreError>> + Send;
    /// Records the welcome's outcome once (a later record of the same event is ignored).
    fn record_welcome(
        &self,
        t: &TenantId,
        event_id: &str,
        state: Option<&str>,
        outcome: WelcomeOutcome,
        errcode: Option<i64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Counts the movement of `event_id` once into the code's figures of `date` for
    /// `userid`; `Ok(false)` when it was counted already.
    fn count_once(
        &self,
        t: &TenantId,
        event_id: &str,
        state: &str,
        date: NaiveDate,
        userid: &str,
        movement: Movement,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Each member's adds through the code on `date`.
    fn adds_of(
        &self,
        t: &TenantId,
        state: &str,
        date: NaiveDate,
        userids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, u32>, StoreError>> + Send;
    /// The code's figures per day and member, `from` to `to` inclusive.
    fn figures(
        &self,
        t: &TenantId,
        state: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<MemberDay>, StoreError>> + Send;
}

/// WeCom's APIs the growth context calls.
pub trait GrowthWeCom: Send + Sync {
    /// `add_contact_way`.
    fn add_contact_way(
        &self,
        creds: &CorpCredentials,
        way: &ContactWay,
    ) -> impl Future<Output = Result<ContactWayCreated, WeComError>> + Send;
    /// `update_contact_way`.
    fn update_contact_way(
        &self,
        creds: &CorpCredentials,
        way: &ContactWay,
    ) -> impl Future<Output = Result<(), WeComError>> + Send;
    /// `del_contact_way`.
    fn del_contact_way(
        &self,
        creds: &CorpCredentials,
        config_id: &str,
    ) -> impl Future<Output = Result<(), WeComError>> + Send;
    /// The code WeCom holds with `state` among those created from `since` to `until`
    /// (epoch s): `list_contact_way` then `get_contact_way`, for a create whose answer was
    /// lost.
    fn find_contact_way(
        &self,
        creds: &CorpCredentials,
        state: &str,
        since: i64,
        until: i64,
    ) -> impl Future<Output = Result<Option<ContactWayInfo>, WeComError>> + Send;
    /// `send_welcome_msg`.
    fn send_welcome(
        &self,
        creds: &CorpCredentials,
        message: &WelcomeMessage,
    ) -> impl Future<Output = Result<(), WeComError>> + Send;
    /// `mark_tag`.
    fn mark_tag(
        &self,
        creds: &CorpCredentials,
        request: &MarkTag,
    ) -> impl Future<Output = Result<(), WeComError>> + Send;
    /// `externalcontact/remark`.
    fn remark(
        &self,
        creds: &CorpCredentials,
        request: &CustomerRemark,
    ) -> impl Future<Output = Result<(), WeComError>> + Send;
    /// The 「加入群聊」 `state` `member_id` joined `chat_id` through (`groupchat/get`'s
    /// `member_list[].state`); none when WeCom lists none (or no such member).
    fn join_state(
        &self,
        creds: &CorpCredentials,
        chat_id: &str,
        member_id: &str,
    ) -> impl Future<Output = Result<Option<String>, WeComError>> + Send;
    /// A member's name (`user/get`), `None` when WeCom does not say.
    fn staff_name(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> impl Future<Output = Result<Option<String>, WeComError>> + Send;
}

/// What the directory knows (it is written before the event is published).
pub trait ContactFacts: Send + Sync {
    /// The customer's name.
    fn customer_name(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// The channel (`state`) the relation of `userid` with the customer was made through.
    fn relation_state(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// One group's QR joins through a code on one local day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupDay {
    /// The local day.
    pub date: String,
    /// The group.
    pub chat_id: String,
    /// Joins by QR code.
    pub joined: i64,
}

/// The group codes' store.
pub trait GroupCodeStore: Send + Sync {
    /// Records a new group code (`attribute_not_exists`); the stored code when one with
    /// its state exists already.
    fn create_group_code(
        &self,
        t: &TenantId,
        code: &GroupCode,
    ) -> impl Future<Output = Result<Option<GroupCode>, StoreError>> + Send;
    /// A group code by state.
    fn group_code(
        &self,
        t: &TenantId,
        state: &str,
    ) -> impl Future<Output = Result<Option<GroupCode>, StoreError>> + Send;
    /// Every group code of the tenant.
    fn group_codes(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<Vec<GroupCode>, StoreError>> + Send;
    /// Replaces a group code if it is still at `version`: `Ok(false)` when it moved.
    fn save_group_code(
        &self,
        t: &TenantId,
        code: &GroupCode,
        version: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Deletes a group code.
    fn delete_group_code(
        &self,
        t: &TenantId,
        state: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Notes that the code `state` has the groups `chat_ids` in its pool (idempotent).
    fn index_pool(
        &self,
        t: &TenantId,
        state: &str,
        chat_ids: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Forgets that the code `state` has the groups `chat_ids` in its pool.
    fn unindex_pool(
        &self,
        t: &TenantId,
        state: &str,
        chat_ids: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The codes noted with `chat_id` in their pool (a code's own pool is the truth: an
    /// entry may outlive a change by a moment).
    fn codes_of_chat(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Counts the join `event_id` once into the code's figures of `date` for `chat_id`;
    /// `Ok(false)` when it was counted already.
    fn count_join_once(
        &self,
        t: &TenantId,
        event_id: &str,
        state: &str,
        date: NaiveDate,
        chat_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The code's joins per day and group, `from` to `to` inclusive.
    fn group_figures(
        &self,
        t: &TenantId,
        state: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<GroupDay>, StoreError>> + Send;
}

/// WeCom's join way APIs.
pub trait JoinWayWeCom: Send + Sync {
    /// `groupchat/add_join_way`: the new config id.
    fn add_join_way(
        &self,
        creds: &CorpCredentials,
        way: &JoinWay,
    ) -> impl Future<Output = Result<String, WeComError>> + Send;
    /// `groupchat/get_join_way`.
    fn get_join_way(
        &self,
        creds: &CorpCredentials,
        config_id: &str,
    ) -> impl Future<Output = Result<JoinWayInfo, WeComError>> + Send;
    /// `groupchat/update_join_way` (overwrites).
    fn update_join_way(
        &self,
        creds: &CorpCredentials,
        way: &JoinWay,
    ) -> impl Future<Output = Result<(), WeComError>> + Send;
    /// `groupchat/del_join_way`.
    fn del_join_way(
        &self,
        creds: &CorpCredentials,
        config_id: &str,
    ) -> impl Future<Output = Result<(), WeComError>> + Send;
}

/// What the directory knows of groups.
pub trait GroupFacts: Send + Sync {
    /// The member count of each of `chat_ids` the directory knows and that is not
    /// dismissed (the others are absent): as WeCom's detail last gave it (one batch read),
    /// except for the groups in `exact`, counted now from their active memberships (one
    /// count each), which is what the groups receiving joins need.
    fn group_sizes(
        &self,
        t: &TenantId,
        chat_ids: &[String],
        exact: &[String],
    ) -> impl Future<Output = Result<HashMap<String, i64>, StoreError>> + Send;
}

/// Who a customer is, as the directory knows them (a fission poster and a self-invite
/// check need it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerCard {
    /// Their name.
    pub name: Option<String>,
    /// Their avatar's URL.
    pub avatar: Option<String>,
    /// Their unionid.
    pub unionid: Option<String>,
    /// A staff member they are a contact of (an active relation), when any: a campaign's
    /// tags on an invitee who came in through a group go through that relation.
    pub follower: Option<String>,
}

/// The directory's card of a customer.
pub trait CustomerCards: Send + Sync {
    /// The customer's card; none for a customer the directory does not know.
    fn customer_card(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> impl Future<Output = Result<Option<CustomerCard>, StoreError>> + Send;
}

/// A campaign's counts, summed over its shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FissionFigures {
    /// Customers who took a personal code.
    pub inviters: i64,
    /// Invitees counted (pending, confirmed and revoked).
    pub counted: i64,
    /// Within the hold.
    pub pending: i64,
    /// For good.
    pub confirmed: i64,
    /// Left within the hold.
    pub revoked: i64,
    /// Adds through a personal code that did not count.
    pub refused: i64,
    /// Inviters paid, per tier.
    pub tiers_paid: Vec<i64>,
    /// Coupon codes issued to its inviters.
    pub coupons_issued: i64,
    /// Tiers earned but waiting for stock (a coupon list or a catalogue reward ran out).
    pub waiting: i64,
    /// Inviters' personal codes deleted at WeCom since the campaign ended.
    pub codes_removed: i64,
}

/// What a join's write found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinWrite {
    /// The claim and the inviter's count were written together.
    Written,
    /// The invitee (by external_userid or unionid) was claimed before: that claim, when it
    /// is readable by external_userid.
    Claimed(Option<ClaimRecord>),
    /// The inviter's item moved since it was read: read and decide again.
    InviterMoved,
}

/// A claim whose hold ends: `{due}` in the due index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueClaim {
    /// The tenant.
    pub tenant: TenantId,
    /// The campaign.
    pub campaign: String,
    /// The invitee.
    pub invitee: String,
    /// When the hold ends.
    pub due: DateTime<Utc>,
}

/// The fission campaigns' store: campaigns, inviters (code and standing, one item each),
/// claims (one per invitee and campaign, and one per unionid), sharded figures.
pub trait FissionStore: Send + Sync {
    /// Records a new campaign (`attribute_not_exists`); the stored one when its id exists.
    fn create_campaign(
        &self,
        t: &TenantId,
        c: &Campaign,
    ) -> impl Future<Output = Result<Option<Campaign>, StoreError>> + Send;
    /// A campaign.
    fn campaign(
        &self,
        t: &TenantId,
        id: &str,
    ) -> impl Future<Output = Result<Option<Campaign>, StoreError>> + Send;
    /// The tenant's campaigns, newest first.
    fn campaigns(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<Vec<Campaign>, StoreError>> + Send;
    /// Replaces a campaign if its version is still `expected`; false when it moved.
    fn save_campaign(
        &self,
        t: &TenantId,
        c: &Campaign,
        expected: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A campaign's figures (`tiers` tiers).
    fn fission_figures(
        &self,
        t: &TenantId,
        campaign: &str,
        tiers: usize,
    ) -> impl Future<Output = Result<FissionFigures, StoreError>> + Send;
    /// An inviter by their code's state.
    fn inviter(
        &self,
        t: &TenantId,
        state: &str,
    ) -> impl Future<Output = Result<Option<Inviter>, StoreError>> + Send;
    /// Records a new inviter (`attribute_not_exists`, counted among the campaign's
    /// inviters); the stored one when it exists.
    fn create_inviter(
        &self,
        t: &TenantId,
        inviter: &Inviter,
    ) -> impl Future<Output = Result<Option<Inviter>, StoreError>> + Send;
    /// Replaces an inviter if their version is still `expected`; false when it moved.
    fn save_inviter(
        &self,
        t: &TenantId,
        inviter: &Inviter,
        expected: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The campaign's inviters with the most confirmed invitees, most first.
    fn leaders(
        &self,
        t: &TenantId,
        campaign: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Inviter>, StoreError>> + Send;
    /// The invitee's claim in a campaign, by external_userid.
    fn claim(
        &self,
        t: &TenantId,
        campaign: &str,
        invitee: &str,
    ) -> impl Future<Output = Result<Option<ClaimRecord>, StoreError>> + Send;
    /// Every claim of an invitee (the campaigns they were counted in).
    fn claims_of(
        &self,
        t: &TenantId,
        invitee: &str,
    ) -> impl Future<Output = Result<Vec<ClaimRecord>, StoreError>> + Send;
    /// In one transaction: the claim (and its unionid's) if neither exists, the inviter's
    /// new standing if their version is still `inviter_version`, the campaign's counts,
    /// and the claim into the due index at the end of its hold.
    fn record_join(
        &self,
        t: &TenantId,
        claim: &ClaimRecord,
        inviter: &Inviter,
        inviter_version: i64,
        due: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<JoinWrite, StoreError>> + Send;
    /// Counts a join that did not count, once per event.
    fn record_refusal(
        &self,
        t: &TenantId,
        campaign: &str,
        event_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// In one transaction: the claim moved from pending to `state` (out of the due index),
    /// the inviter's new standing if their version is still `inviter_version`, the counts,
    /// and `events` into the outbox. False when the claim was not pending any more or the
    /// inviter moved.
    fn settle_claim(
        &self,
        t: &TenantId,
        claim: &ClaimRecord,
        state: InviteeState,
        inviter: &Inviter,
        inviter_version: i64,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The inviter with a tier recorded paid, if their version is still `expected`, the
    /// tier counted in the figures (and out of the waiting count when it `waited`), and
    /// `events` into the outbox, in one transaction; false when the inviter moved.
    fn record_paid(
        &self,
        t: &TenantId,
        inviter: &Inviter,
        expected: i64,
        tier: usize,
        waited: bool,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The inviter with a tier marked waiting for stock, if their version is still
    /// `expected`, counted among the campaign's waiting tiers; false when they moved.
    fn record_waiting(
        &self,
        t: &TenantId,
        inviter: &Inviter,
        expected: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Campaigns whose end (by time or by an operator) came by `until` and whose personal
    /// codes are not all deleted yet, of one shard (all tenants).
    fn ended_campaigns(
        &self,
        shard: u32,
        until: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(TenantId, String)>, StoreError>> + Send;
    /// States of the campaign's inviters whose personal code may still exist at WeCom
    /// (recorded with the inviter, removed once deleted): the end's progress.
    fn live_codes(
        &self,
        t: &TenantId,
        campaign: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// The inviter's personal code recorded deleted (counted once in the figures).
    fn code_removed(
        &self,
        t: &TenantId,
        campaign: &str,
        state: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces a campaign if its version is still `expected`, with `events` into the
    /// outbox, in one transaction; false when it moved.
    fn save_campaign_with_events(
        &self,
        t: &TenantId,
        c: &Campaign,
        expected: i64,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Events written with the changes that caused them and not published yet, of one
    /// shard (all tenants, or `only`'s), at most `limit`.
    fn outbox(
        &self,
        shard: u32,
        only: Option<&TenantId>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<EventEnvelope>, StoreError>> + Send;
    /// Events published: out of the outbox.
    fn outbox_published(
        &self,
        shard: u32,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Claims whose hold ended by `until`, of one due-index shard (all tenants), oldest
    /// first.
    fn due_claims(
        &self,
        shard: u32,
        until: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DueClaim>, StoreError>> + Send;
    /// Inviters owed a tier (confirmed enough, not paid yet), of one shard (all tenants).
    fn owed_inviters(
        &self,
        shard: u32,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(TenantId, String)>, StoreError>> + Send;
}

/// Coupon code lists (fission tiers of kind `coupon` pay from them).
pub trait CouponStore: Send + Sync {
    /// Records a new list (`attribute_not_exists`); the stored one when its id exists.
    fn create_coupon_list(
        &self,
        t: &TenantId,
        list: &CouponList,
    ) -> impl Future<Output = Result<Option<CouponList>, StoreError>> + Send;
    /// A list.
    fn coupon_list(
        &self,
        t: &TenantId,
        id: &str,
    ) -> impl Future<Output = Result<Option<CouponList>, StoreError>> + Send;
    /// The tenant's lists, newest first.
    fn coupon_lists(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<Vec<CouponList>, StoreError>> + Send;
    /// Adds distinct codes, each only if the list never had it (conditional writes); how
    /// many were added.
    fn add_coupon_codes(
        &self,
        t: &TenantId,
        list: &str,
        codes: &[String],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// A list's counts (strongly consistent).
    fn coupon_counts(
        &self,
        t: &TenantId,
        list: &str,
    ) -> impl Future<Output = Result<CouponCounts, StoreError>> + Send;
    /// Issues one unused code of `coupon.list_id` for `coupon`'s campaign, inviter and
    /// tier (its `code` ignored), once: in one transaction the code leaves the unused set
    /// and is recorded as the tier's, conditional on both; a tier with a code answers it.
    fn issue_coupon(
        &self,
        t: &TenantId,
        coupon: &IssuedCoupon,
    ) -> impl Future<Output = Result<CouponIssue, StoreError>> + Send;
    /// The codes issued to an inviter (by their code's state), by tier.
    fn inviter_coupons(
        &self,
        t: &TenantId,
        state: &str,
    ) -> impl Future<Output = Result<Vec<IssuedCoupon>, StoreError>> + Send;
}

/// A picture fetched to be embedded (a poster shown as an image cannot load pictures by
/// URL: browsers never fetch what an SVG in an `<img>` or on a canvas references).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// `image/png`, `image/jpeg`, `image/gif`, `image/webp` or `image/svg+xml`.
    pub content_type: String,
    /// The picture.
    pub bytes: Vec<u8>,
}

/// Where pictures come from (the web, for posters).
pub trait PictureSource: Send + Sync {
    /// The picture at `url`; none when it cannot be had (not a picture, too large, not
    /// answered in time): the poster then references the URL.
    fn picture(&self, url: &str) -> impl Future<Output = Option<Picture>> + Send;
}
