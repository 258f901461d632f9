//! WeCom's server API as pure protocol: request/response shapes, errcodes and their typed
//! errors, credentials. The HTTP client that follows the rules below is
//! `scrm_adapters::wecom::WeComClient`.
//!
//! How a call goes:
//! 0. The call waits its turn under the corp's [`WeComRateLimits`] for the API (the client's
//!    pacer), or is [`WeComError::RetryLater`] when the turn is past the caller's deadline.
//! 1. The app's token comes from the client's in-process layer, else the shared
//!    [`TokenCache`] (DynamoDB, one item per corp and secret), else `gettoken`, fetched by one
//!    container at a time under a short conditional lease while the others wait for it.
//! 2. The call is sent with `access_token` in the query string. WeCom answers HTTP 200 even
//!    on errors, so the client branches on `errcode`:
//!    - -1 (busy) and 45033 (concurrency) are retried with exponential backoff and jitter,
//!      bounded in attempts and in total time (`RetryPolicy`);
//!    - 45009/45011 (frequency) are [`WeComError::RetryLater`] at once, with WeCom's block
//!      as the suggested delay: WeCom blocks the API for the window, longer than any call
//!      waits, and did not act on the call;
//!    - 40014/42001 (and 40001 from a call other than `gettoken`) invalidate the token, which
//!      is refetched and the call retried once, never more;
//!    - 60020 is [`WeComError::UntrustedIp`]; other codes are [`WeComError::Api`].
//! 3. Batch APIs that succeed partly answer errcode 0 and list the failures; the typed
//!    results expose them (`fail_list`, `invalid_users`, `unlicensed_userids`).
//!
//! Secrets and tokens are never logged: logs carry the API path, errcode and attempt.
mod contact_way;
mod credentials;
mod error;
mod frequency;
mod join_way;
mod types;

pub use contact_way::*;
pub use credentials::{
    official_token_key, secret_fingerprint, CachedKind, CorpCredentials, TokenKey,
};
pub use error::*;
pub use frequency::*;
pub use join_way::*;
pub use types::*;

/// API paths relative to the base (`…/cgi-bin`). The fake server serves the same paths, and
/// tests use them to count calls.
pub mod paths {
    /// Access token.
    pub const GETTOKEN: &str = "gettoken";
    /// Members with customer contact enabled.
    pub const GET_FOLLOW_USER_LIST: &str = "externalcontact/get_follow_user_list";
    /// A member's customers.
    pub const EXTERNAL_CONTACT_LIST: &str = "externalcontact/list";
    /// A customer's detail.
    pub const EXTERNAL_CONTACT_GET: &str = "externalcontact/get";
    /// Customers of up to 100 members, paged.
    pub const BATCH_GET_BY_USER: &str = "externalcontact/batch/get_by_user";
    /// Customer groups, paged.
    pub const GROUPCHAT_LIST: &str = "externalcontact/groupchat/list";
    /// A customer group's detail.
    pub const GROUPCHAT_GET: &str = "externalcontact/groupchat/get";
    /// Corp tag library.
    pub const GET_CORP_TAG_LIST: &str = "externalcontact/get_corp_tag_list";
    /// Tag a customer.
    pub const MARK_TAG: &str = "externalcontact/mark_tag";
    /// Welcome message.
    pub const SEND_WELCOME_MSG: &str = "externalcontact/send_welcome_msg";
    /// App message to members.
    pub const MESSAGE_SEND: &str = "message/send";
    /// Create a mass-message task.
    pub const ADD_MSG_TEMPLATE: &str = "externalcontact/add_msg_template";
    /// Temporary media (three days): `POST media/upload?type=` multipart.
    pub const MEDIA_UPLOAD: &str = "media/upload";
    /// Permanent picture URLs for messages: `POST media/uploadimg` multipart.
    pub const MEDIA_UPLOADIMG: &str = "media/uploadimg";
    /// Moments and product attachments (three days): `POST media/upload_attachment` multipart.
    pub const MEDIA_UPLOAD_ATTACHMENT: &str = "media/upload_attachment";
    /// Members' statuses of a mass-message task.
    pub const GET_GROUPMSG_TASK: &str = "externalcontact/get_groupmsg_task";
    /// Deliveries of a mass-message task.
    pub const GET_GROUPMSG_SEND_RESULT: &str = "externalcontact/get_groupmsg_send_result";
    /// Mass-message tasks created in a time window (by creator).
    pub const GET_GROUPMSG_LIST_V2: &str = "externalcontact/get_groupmsg_list_v2";
    /// Moments posts created in a time window.
    pub const GET_MOMENT_LIST: &str = "externalcontact/get_moment_list";
    /// Create a Moments task.
    pub const ADD_MOMENT_TASK: &str = "externalcontact/add_moment_task";
    /// Result of a Moments task.
    pub const GET_MOMENT_TASK_RESULT: &str = "externalcontact/get_moment_task_result";
    /// Members' publication statuses of a Moments post.
    pub const GET_MOMENT_TASK: &str = "externalcontact/get_moment_task";
    /// OAuth code → member.
    pub const AUTH_GETUSERINFO: &str = "auth/getuserinfo";
    /// A member.
    pub const USER_GET: &str = "user/get";
    /// unionid + openid → external_userid.
    pub const UNIONID_TO_EXTERNAL_USERID: &str = "externalcontact/unionid_to_external_userid";
    /// The corp's jsapi ticket (`wx.config`).
    pub const GET_JSAPI_TICKET: &str = "get_jsapi_ticket";
    /// The app's jsapi ticket (`wx.agentConfig`, with `type=agent_config`).
    pub const TICKET_GET: &str = "ticket/get";
    /// Creates a 「联系我」 code.
    pub const ADD_CONTACT_WAY: &str = "externalcontact/add_contact_way";
    /// Overwrites a 「联系我」 code's settings.
    pub const UPDATE_CONTACT_WAY: &str = "externalcontact/update_contact_way";
    /// Deletes a 「联系我」 code.
    pub const DEL_CONTACT_WAY: &str = "externalcontact/del_contact_way";
    /// One 「联系我」 code.
    pub const GET_CONTACT_WAY: &str = "externalcontact/get_contact_way";
    /// The corp's 「联系我」 codes created within a time range (config ids only).
    pub const LIST_CONTACT_WAY: &str = "externalcontact/list_contact_way";
    /// Sets a member's remark on a customer.
    pub const EXTERNAL_CONTACT_REMARK: &str = "externalcontact/remark";
    /// Creates a 「加入群聊」 join way.
    pub const ADD_JOIN_WAY: &str = "externalcontact/groupchat/add_join_way";
    /// One join way (with its QR code).
    pub const GET_JOIN_WAY: &str = "externalcontact/groupchat/get_join_way";
    /// Overwrites a join way's settings.
    pub const UPDATE_JOIN_WAY: &str = "externalcontact/groupchat/update_join_way";
    /// Deletes a join way.
    pub const DEL_JOIN_WAY: &str = "externalcontact/groupchat/del_join_way";
}
