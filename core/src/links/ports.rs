//! What tracked links need from the outside world: their store (links, codes, the daily
//! click counters, the staff members' pending click notifications) and a way to message a
//! staff member in WeCom.
use super::model::{CodeDay, Link, LinkCode, ShortCode, Visitor};
use crate::official::OfficialError;
use crate::ports::StoreError;
use crate::tenants::{Tenant, TenantId};
use crate::wecom::api::WeComError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// What putting a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MintOutcome {
    /// Written now, or found as it would have been written (a retried mint).
    Ready,
    /// Another link or context holds the code (a hash collision: about one in 2^30 codes
    /// minted); nothing was written.
    Collision,
}

/// One click waiting to be told to the staff member who sent the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClickNote {
    /// The click's event (the note is written once per event).
    pub event_id: String,
    /// When the customer clicked.
    pub at: DateTime<Utc>,
    /// The customer.
    pub customer: String,
    /// The customer's name, when the directory knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// The link's title.
    pub title: String,
}

/// A staff member whose pending notes may be sent now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyDue {
    /// The tenant.
    pub tenant: TenantId,
    /// The staff member.
    pub staff: String,
}

/// The outcome of claiming a staff member's notification window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Claimed until the given instant: these notes are to be sent now.
    Claimed(Vec<ClickNote>),
    /// A message went out within the window; the notes wait for its end.
    Busy,
}

/// The links' store.
pub trait LinkStore: Send + Sync {
    /// Records a new link (`attribute_not_exists`); the stored link when one with its id
    /// exists already.
    fn create_link(
        &self,
        t: &TenantId,
        link: &Link,
    ) -> impl Future<Output = Result<Option<Link>, StoreError>> + Send;
    /// A link by id.
    fn link(
        &self,
        t: &TenantId,
        link_id: &str,
    ) -> impl Future<Output = Result<Option<Link>, StoreError>> + Send;
    /// Every link of the tenant, newest first.
    fn links(&self, t: &TenantId) -> impl Future<Output = Result<Vec<Link>, StoreError>> + Send;
    /// Puts a code unless another link or context holds it.
    fn put_code(
        &self,
        code: &LinkCode,
    ) -> impl Future<Output = Result<MintOutcome, StoreError>> + Send;
    /// A code (any tenant's: the short URL names no tenant).
    fn code(
        &self,
        code: &ShortCode,
    ) -> impl Future<Output = Result<Option<LinkCode>, StoreError>> + Send;
    /// Counts one click of `code` on the local day `date` by `visitor`: a conditional put
    /// of the link's day marker for the visitor (kept two days), then one update of the
    /// code's day adding the click, and the visitor when the marker is new (two writes, each
    /// under 1 KB). `Ok(true)`: the visitor's first click of the link that day.
    fn count_click(
        &self,
        code: &LinkCode,
        date: NaiveDate,
        identified: bool,
        visitor: &Visitor,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Every code's clicks per local day, `from` to `to` inclusive.
    fn click_days(
        &self,
        t: &TenantId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<CodeDay>, StoreError>> + Send;
    /// Adds a click to the staff member's pending notes once per event: `Ok(false)` when
    /// the event was noted before (a redelivery). The member becomes due for the flush.
    fn note_click(
        &self,
        t: &TenantId,
        staff: &str,
        note: &ClickNote,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Claims the member's notification window (`now` to `until`) when no message went out
    /// within the last one, answering the pending notes to send.
    fn claim_window(
        &self,
        t: &TenantId,
        staff: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// The notes were sent: forgets them, and takes the member out of the flush's index
    /// when none are left.
    fn notes_sent(
        &self,
        t: &TenantId,
        staff: &str,
        event_ids: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Gives the window back (the message could not be sent): the next click or flush
    /// tries again.
    fn release_window(
        &self,
        t: &TenantId,
        staff: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Staff members of every tenant with notes pending since `until` or before, at most
    /// about `limit`.
    fn notify_due(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<NotifyDue>, StoreError>> + Send;
}

/// Messages a staff member through the tenant's app (`message/send`).
pub trait StaffMessenger: Send + Sync {
    /// Sends `content` (text) to `userid`.
    fn send_text(
        &self,
        tenant: &Tenant,
        userid: &str,
        content: &str,
    ) -> impl Future<Output = Result<(), WeComError>> + Send;
}

/// What the official account's OAuth said of a tracked link's visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthVisitor {
    /// The tenant's customer (external_userid).
    Customer(String),
    /// A WeChat user WeCom does not know as a customer (or whose unionid WeChat keeps back).
    NotACustomer,
}

/// Identifying a tracked link's visitor through the tenant's official account.
pub trait LinkOAuth: Send + Sync {
    /// The official account's app id to send `tenant`'s unidentified visitors through, when
    /// the tenant has one configured and has not turned link identification off.
    fn app_id(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<String>, OfficialError>> + Send;
    /// Who the `snsapi_base` code WeChat gave belongs to.
    fn visitor(
        &self,
        tenant: &TenantId,
        code: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<OAuthVisitor, OfficialError>> + Send;
}
