//! What the growth context needs from the outside world: its own store (codes, the default
//! welcome, the record of each add, the per-code daily figures), WeCom (contact ways,
//! welcome messages, tags, remarks, members' names) and a few facts the directory holds.
use super::group_code::GroupCode;
use super::model::{ChannelCode, Welcome};
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
    /// dismissed (the others are absent).
    fn group_sizes(
        &self,
        t: &TenantId,
        chat_ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, i64>, StoreError>> + Send;
}
