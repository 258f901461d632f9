//! Request and response shapes of the WeCom APIs the product uses, with WeCom's own field
//! names. Optional and defaulted fields follow what WeCom omits in practice; unknown fields
//! are ignored so that WeCom adding fields never breaks a call.
use super::error::WeComError;
use serde::{Deserialize, Deserializer, Serialize};

/// WeCom's size limits that the client checks before sending (see the reference §C).
pub mod limits {
    /// `batch/get_by_user`: members per call.
    pub const BATCH_USERIDS: usize = 100;
    /// `batch/get_by_user`: records per page.
    pub const BATCH_PAGE: u32 = 100;
    /// `groupchat/list`: owners per filter.
    pub const GROUPCHAT_OWNERS: usize = 100;
    /// `groupchat/list`: records per page (1..=1000, required).
    pub const GROUPCHAT_PAGE: u32 = 1000;
    /// `add_msg_template`: customers per task.
    pub const TEMPLATE_CUSTOMERS: usize = 10_000;
    /// `add_msg_template`: groups per task.
    pub const TEMPLATE_CHATS: usize = 2_000;
    /// Text of a mass or welcome message, in bytes.
    pub const TEMPLATE_TEXT_BYTES: usize = 4_000;
    /// Attachments of a mass, welcome or moments message.
    pub const ATTACHMENTS: usize = 9;
    /// Link description, in bytes.
    pub const LINK_DESC_BYTES: usize = 512;
    /// Mini-program title, in bytes.
    pub const MINIPROGRAM_TITLE_BYTES: usize = 64;
    /// `message/send`: members per message.
    pub const MESSAGE_USERS: usize = 1_000;
    /// `message/send` text content, in bytes (WeCom truncates beyond; the client refuses).
    pub const MESSAGE_TEXT_BYTES: usize = 2_048;
    /// `message/send` textcard title, in bytes.
    pub const TEXTCARD_TITLE_BYTES: usize = 128;
    /// `message/send` textcard description, in bytes.
    pub const TEXTCARD_DESC_BYTES: usize = 512;
    /// `message/send` textcard button text, in characters.
    pub const TEXTCARD_BTN_CHARS: usize = 4;
    /// `add_moment_task` text, in characters.
    pub const MOMENT_TEXT_CHARS: usize = 2_000;
    /// `add_moment_task` senders.
    pub const MOMENT_SENDERS: usize = 100_000;
    /// `get_groupmsg_task` / `get_groupmsg_send_result` records per page.
    pub const GROUPMSG_PAGE: u32 = 1_000;
    /// `get_moment_task` records per page.
    pub const MOMENT_TASK_PAGE: u32 = 1_000;
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

pub fn invalid(msg: impl Into<String>) -> WeComError {
    WeComError::InvalidRequest(msg.into())
}

// ----- customers -----------------------------------------------------------------------

/// A customer (外部联系人) as `externalcontact/get` and `batch/get_by_user` return it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalContact {
    /// The customer's id in this corp.
    pub external_userid: String,
    /// WeChat nickname, or the WeCom user's name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Avatar URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// 1 = WeChat user, 2 = WeCom user.
    #[serde(rename = "type", default)]
    pub contact_type: i64,
    /// 0 unknown, 1 male, 2 female.
    #[serde(default)]
    pub gender: i64,
    /// Only when the corp has bound a WeChat developer account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// WeCom users only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// WeCom users only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corp_name: Option<String>,
    /// WeCom users only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corp_full_name: Option<String>,
}

/// A tag on a follow relation, as `externalcontact/get` returns it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUserTag {
    /// Tag group name.
    #[serde(default)]
    pub group_name: String,
    /// Tag name.
    #[serde(default)]
    pub tag_name: String,
    /// Only for corp tags (type 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_id: Option<String>,
    /// 1 corp tag, 2 personal tag, 3 rule-group tag.
    #[serde(rename = "type", default)]
    pub tag_type: i64,
}

/// One member following a customer (`follow_user[]` of `externalcontact/get`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUser {
    /// The member.
    pub userid: String,
    /// The member's remark on the customer.
    #[serde(default)]
    pub remark: String,
    /// The member's description of the customer.
    #[serde(default)]
    pub description: String,
    /// When the member added the customer (epoch s).
    #[serde(default)]
    pub createtime: i64,
    /// Tags (corp, personal, rule-group).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<FollowUserTag>,
    /// Remarked company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark_corp_name: Option<String>,
    /// Remarked mobile numbers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub remark_mobiles: Vec<String>,
    /// Who added whom (the member, or the customer when they initiated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oper_userid: Option<String>,
    /// How the customer was added: an open enum (see [`add_way`]).
    #[serde(default)]
    pub add_way: i64,
    /// The `state` of the 「联系我」 code the customer came through (channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// `add_way` values: an open enum; values not listed here are "other".
pub mod add_way {
    /// Unknown source.
    pub const UNKNOWN: i64 = 0;
    /// Scanned a QR code (including 「联系我」 codes).
    pub const QR_CODE: i64 = 1;
    /// Phone number search.
    pub const PHONE_SEARCH: i64 = 2;
    /// Shared business card.
    pub const CARD_SHARE: i64 = 3;
    /// From a group chat.
    pub const GROUP_CHAT: i64 = 4;
    /// Admin assignment.
    pub const ADMIN_ASSIGNED: i64 = 202;
}

/// `externalcontact/get`: one page of a customer's detail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ExternalContactDetail {
    /// The customer.
    pub external_contact: ExternalContact,
    /// Members following the customer (this page).
    #[serde(default, deserialize_with = "null_as_default")]
    pub follow_user: Vec<FollowUser>,
    /// Set when there are more than 500 followers; empty when done.
    #[serde(default)]
    pub next_cursor: String,
}

/// One follow relation as `batch/get_by_user` returns it (tag ids only, no personal tags).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowInfo {
    /// The member.
    pub userid: String,
    /// The member's remark.
    #[serde(default)]
    pub remark: String,
    /// The member's description.
    #[serde(default)]
    pub description: String,
    /// When the member added the customer (epoch s).
    #[serde(default)]
    pub createtime: i64,
    /// Corp and rule-group tag ids.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag_id: Vec<String>,
    /// Remarked company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark_corp_name: Option<String>,
    /// Remarked mobile numbers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub remark_mobiles: Vec<String>,
    /// Who added whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oper_userid: Option<String>,
    /// How the customer was added (see [`add_way`]).
    #[serde(default)]
    pub add_way: i64,
    /// The channel `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// One record of `batch/get_by_user`: a customer and one member following them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct BatchContact {
    /// The customer.
    pub external_contact: ExternalContact,
    /// The follow relation with one of the requested members.
    pub follow_info: FollowInfo,
}

/// `batch/get_by_user` per-member failures, reported with errcode 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct BatchFailInfo {
    /// Members without a valid interconnection licence: their customers are missing from
    /// the page (not deleted).
    #[serde(default, deserialize_with = "null_as_default")]
    pub unlicensed_userid_list: Vec<String>,
}

/// One page of `batch/get_by_user`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct BatchGetByUserPage {
    /// The records of this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub external_contact_list: Vec<BatchContact>,
    /// Empty when done.
    #[serde(default)]
    pub next_cursor: String,
    /// Members whose customers could not be returned, although errcode was 0.
    #[serde(default, deserialize_with = "null_as_default")]
    pub fail_info: BatchFailInfo,
}

/// All pages of `batch/get_by_user` for some members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchGetByUserAll {
    /// Every record.
    pub contacts: Vec<BatchContact>,
    /// Members reported unlicensed on any page: their customers are missing, so a full
    /// re-sync must not treat those customers as gone.
    pub unlicensed_userids: Vec<String>,
}

#[derive(Serialize)]
pub struct BatchGetByUserRequest<'a> {
    pub userid_list: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    pub cursor: &'a str,
    pub limit: u32,
}

// ----- groups --------------------------------------------------------------------------

/// `groupchat/list` filter on the owner's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupStatusFilter {
    /// Every group (the default).
    #[default]
    All,
    /// Owner resigned, awaiting transfer (离职待继承).
    AwaitingTransfer,
    /// Transfer in progress (离职继承中).
    Transferring,
    /// Transfer done (离职继承完成).
    Transferred,
}

impl GroupStatusFilter {
    pub fn code(self) -> i64 {
        match self {
            GroupStatusFilter::All => 0,
            GroupStatusFilter::AwaitingTransfer => 1,
            GroupStatusFilter::Transferring => 2,
            GroupStatusFilter::Transferred => 3,
        }
    }
}

/// What `groupchat/list` should list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupChatFilter {
    /// Owner status.
    pub status: GroupStatusFilter,
    /// Only groups of these owners (≤100). Without it, a visible range of more than 1000
    /// members gets 81017.
    pub owners: Vec<String>,
    /// Records per page, 1..=1000.
    pub limit: u32,
}

impl GroupChatFilter {
    /// Every group, 1000 per page.
    pub fn all() -> Self {
        Self {
            limit: limits::GROUPCHAT_PAGE,
            ..Self::default()
        }
    }

    /// Groups of `owners`, 1000 per page.
    pub fn owned_by(owners: Vec<String>) -> Self {
        Self {
            owners,
            ..Self::all()
        }
    }

    pub fn validate(&self) -> Result<(), WeComError> {
        if !(1..=limits::GROUPCHAT_PAGE).contains(&self.limit) {
            return Err(invalid("groupchat/list limit must be 1..=1000"));
        }
        if self.owners.len() > limits::GROUPCHAT_OWNERS {
            return Err(invalid(
                "groupchat/list owner_filter takes at most 100 members",
            ));
        }
        Ok(())
    }
}

#[derive(Serialize)]
pub struct OwnerFilter<'a> {
    pub userid_list: &'a [String],
}

#[derive(Serialize)]
pub struct GroupChatListRequest<'a> {
    pub status_filter: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_filter: Option<OwnerFilter<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub cursor: &'a str,
    pub limit: u32,
}

impl<'a> GroupChatListRequest<'a> {
    pub fn new(filter: &'a GroupChatFilter, cursor: &'a str) -> Self {
        Self {
            status_filter: filter.status.code(),
            owner_filter: (!filter.owners.is_empty()).then_some(OwnerFilter {
                userid_list: &filter.owners,
            }),
            cursor,
            limit: filter.limit,
        }
    }
}

/// One group in `groupchat/list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChatSummary {
    /// The group.
    pub chat_id: String,
    /// 0 normal, 1 awaiting transfer, 2 transferring, 3 transferred.
    #[serde(default)]
    pub status: i64,
}

/// One page of `groupchat/list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct GroupChatListPage {
    /// Groups of this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub group_chat_list: Vec<GroupChatSummary>,
    /// Empty when done.
    #[serde(default)]
    pub next_cursor: String,
}

/// Who invited a member.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitor {
    /// The inviting member.
    #[serde(default)]
    pub userid: String,
}

/// A group member (`member_list[]` of `groupchat/get`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    /// A member's userid or a customer's external_userid.
    pub userid: String,
    /// 1 corp member, 2 external contact.
    #[serde(rename = "type", default)]
    pub member_type: i64,
    /// External WeChat users only, when bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Join time (epoch s).
    #[serde(default)]
    pub join_time: i64,
    /// 1 direct invite, 2 invite link, 3 QR code.
    #[serde(default)]
    pub join_scene: i64,
    /// Who invited them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitor: Option<Invitor>,
    /// Nickname in the group.
    #[serde(default)]
    pub group_nickname: String,
    /// Only with `need_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The 「加入群聊」 `state` they joined through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// A group admin.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupAdmin {
    /// The admin member.
    pub userid: String,
}

/// A customer group (`group_chat` of `groupchat/get`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChat {
    /// The group.
    pub chat_id: String,
    /// Group name.
    #[serde(default)]
    pub name: String,
    /// Owner member.
    #[serde(default)]
    pub owner: String,
    /// Creation time (epoch s).
    #[serde(default)]
    pub create_time: i64,
    /// Group notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Members.
    #[serde(default, deserialize_with = "null_as_default")]
    pub member_list: Vec<GroupMember>,
    /// Admins.
    #[serde(default, deserialize_with = "null_as_default")]
    pub admin_list: Vec<GroupAdmin>,
    /// Changes whenever membership changes: compare with the callback's `CurMemVer` to
    /// tell whether this answer already includes a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_version: Option<String>,
}

#[derive(Deserialize)]
pub struct GroupChatGetResponse {
    pub group_chat: GroupChat,
}

#[derive(Serialize)]
pub struct GroupChatGetRequest<'a> {
    pub chat_id: &'a str,
    pub need_name: u8,
}

// ----- corp tags -----------------------------------------------------------------------

/// A corp tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpTag {
    /// Tag id.
    pub id: String,
    /// Tag name.
    pub name: String,
    /// Creation time (epoch s).
    #[serde(default)]
    pub create_time: i64,
    /// Sort order: larger first.
    #[serde(default)]
    pub order: i64,
    /// Set when deleted.
    #[serde(default)]
    pub deleted: bool,
}

/// A corp tag group with its tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpTagGroup {
    /// Group id.
    pub group_id: String,
    /// Group name.
    pub group_name: String,
    /// Creation time (epoch s).
    #[serde(default)]
    pub create_time: i64,
    /// Sort order: larger first.
    #[serde(default)]
    pub order: i64,
    /// Set when deleted.
    #[serde(default)]
    pub deleted: bool,
    /// The group's tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag: Vec<CorpTag>,
}

#[derive(Serialize)]
pub struct CorpTagListRequest<'a> {
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub tag_id: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub group_id: &'a [String],
}

#[derive(Deserialize)]
pub struct CorpTagListResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag_group: Vec<CorpTagGroup>,
}

/// `mark_tag`: add and remove corp tags on one follow relation. WeCom sends no callback
/// for it, so the caller updates its own store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MarkTag {
    /// The member following the customer.
    pub userid: String,
    /// The customer (must be a customer of `userid`).
    pub external_userid: String,
    /// Tag ids to add.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_tag: Vec<String>,
    /// Tag ids to remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove_tag: Vec<String>,
}

impl MarkTag {
    pub fn validate(&self) -> Result<(), WeComError> {
        if self.add_tag.is_empty() && self.remove_tag.is_empty() {
            return Err(invalid("mark_tag needs add_tag or remove_tag"));
        }
        if self.userid.is_empty() || self.external_userid.is_empty() {
            return Err(invalid("mark_tag needs userid and external_userid"));
        }
        Ok(())
    }
}

// ----- message content -----------------------------------------------------------------

/// `{"content": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextContent {
    /// The text.
    pub content: String,
}

/// An image: an uploaded `media_id` or a `pic_url`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageAttachment {
    /// From the media upload API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// A public picture URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pic_url: Option<String>,
}

/// A link card.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAttachment {
    /// Title.
    pub title: String,
    /// Cover picture URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picurl: Option<String>,
    /// Description (≤512 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Target URL.
    pub url: String,
}

/// A mini-program card.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniprogramAttachment {
    /// Title (≤64 bytes).
    pub title: String,
    /// Cover media id.
    pub pic_media_id: String,
    /// The mini-program's appid.
    pub appid: String,
    /// Page path.
    pub page: String,
}

/// A video or file by media id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaAttachment {
    /// From the media upload API.
    pub media_id: String,
}

/// One attachment of a mass or welcome message: serialised as
/// `{"msgtype": "image", "image": {…}}` and so on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum Attachment {
    /// An image.
    Image {
        /// The image.
        image: ImageAttachment,
    },
    /// A link card.
    Link {
        /// The link.
        link: LinkAttachment,
    },
    /// A mini-program card.
    Miniprogram {
        /// The mini-program.
        miniprogram: MiniprogramAttachment,
    },
    /// A video.
    Video {
        /// The video.
        video: MediaAttachment,
    },
    /// A file.
    File {
        /// The file.
        file: MediaAttachment,
    },
}

pub fn validate_content(
    what: &str,
    text: Option<&str>,
    attachments: &[Attachment],
) -> Result<(), WeComError> {
    let text_len = text.map_or(0, str::len);
    if text_len == 0 && attachments.is_empty() {
        return Err(invalid(format!("{what} needs text or attachments")));
    }
    if text_len > limits::TEMPLATE_TEXT_BYTES {
        return Err(invalid(format!(
            "{what} text is {text_len} bytes; WeCom allows 4000"
        )));
    }
    if attachments.len() > limits::ATTACHMENTS {
        return Err(invalid(format!(
            "{what} has {} attachments; WeCom allows 9",
            attachments.len()
        )));
    }
    for a in attachments {
        match a {
            Attachment::Link { link } => {
                if link.desc.as_deref().map_or(0, str::len) > limits::LINK_DESC_BYTES {
                    return Err(invalid(format!("{what} link desc exceeds 512 bytes")));
                }
                if link.url.is_empty() || link.title.is_empty() {
                    return Err(invalid(format!("{what} link needs title and url")));
                }
            }
            Attachment::Miniprogram { miniprogram } => {
                if miniprogram.title.len() > limits::MINIPROGRAM_TITLE_BYTES {
                    return Err(invalid(format!(
                        "{what} mini-program title exceeds 64 bytes"
                    )));
                }
            }
            Attachment::Image { image } => {
                if image.media_id.is_none() && image.pic_url.is_none() {
                    return Err(invalid(format!("{what} image needs media_id or pic_url")));
                }
            }
            Attachment::Video { .. } | Attachment::File { .. } => {}
        }
    }
    Ok(())
}

/// `send_welcome_msg`: the welcome message for a customer who just added a member. The
/// `welcome_code` from the add event lives 20 s and works once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WelcomeMessage {
    /// From the `add_external_contact` event.
    pub welcome_code: String,
    /// Text (≤4000 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextContent>,
    /// Up to 9 attachments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl WelcomeMessage {
    pub fn validate(&self) -> Result<(), WeComError> {
        if self.welcome_code.is_empty() {
            return Err(invalid("send_welcome_msg needs a welcome_code"));
        }
        validate_content(
            "welcome message",
            self.text.as_ref().map(|t| t.content.as_str()),
            &self.attachments,
        )
    }
}

// ----- app messages to staff -----------------------------------------------------------

/// The body of an app message to staff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppMessageBody {
    /// Plain text (≤2048 bytes).
    Text {
        /// The text.
        content: String,
    },
    /// A card with a link (the task-center reminder).
    TextCard {
        /// Title (≤128 bytes).
        title: String,
        /// Description (≤512 bytes; a few HTML tags allowed).
        description: String,
        /// Where the card leads.
        url: String,
        /// Button text (≤4 characters; WeCom shows 详情 by default).
        btntxt: Option<String>,
    },
}

/// An app message (`message/send`) to members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppMessage {
    /// Member userids (≤1000).
    pub touser: Vec<String>,
    /// The content.
    pub body: AppMessageBody,
    /// Ask WeCom to drop a duplicate of this message sent within `duplicate_check_interval`.
    pub enable_duplicate_check: bool,
    /// Seconds (default 1800, ≤4 h).
    pub duplicate_check_interval: Option<u32>,
}

impl AppMessage {
    /// A text message to `touser`.
    pub fn text(touser: Vec<String>, content: impl Into<String>) -> Self {
        Self {
            touser,
            body: AppMessageBody::Text {
                content: content.into(),
            },
            enable_duplicate_check: false,
            duplicate_check_interval: None,
        }
    }

    /// A text card to `touser`.
    pub fn text_card(
        touser: Vec<String>,
        title: impl Into<String>,
        description: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        Self {
            touser,
            body: AppMessageBody::TextCard {
                title: title.into(),
                description: description.into(),
                url: url.into(),
                btntxt: None,
            },
            enable_duplicate_check: false,
            duplicate_check_interval: None,
        }
    }

    pub fn validate(&self) -> Result<(), WeComError> {
        if self.touser.is_empty() {
            return Err(invalid("message/send needs at least one member"));
        }
        if self.touser.len() > limits::MESSAGE_USERS {
            return Err(invalid("message/send takes at most 1000 members"));
        }
        if self.touser.iter().any(|u| u.is_empty() || u.contains('|')) {
            return Err(invalid(
                "message/send member ids must be non-empty and free of '|'",
            ));
        }
        match &self.body {
            AppMessageBody::Text { content } => {
                if content.is_empty() || content.len() > limits::MESSAGE_TEXT_BYTES {
                    return Err(invalid("message/send text must be 1..=2048 bytes"));
                }
            }
            AppMessageBody::TextCard {
                title,
                description,
                url,
                btntxt,
            } => {
                if title.is_empty() || title.len() > limits::TEXTCARD_TITLE_BYTES {
                    return Err(invalid("textcard title must be 1..=128 bytes"));
                }
                if description.is_empty() || description.len() > limits::TEXTCARD_DESC_BYTES {
                    return Err(invalid("textcard description must be 1..=512 bytes"));
                }
                if url.is_empty() {
                    return Err(invalid("textcard needs a url"));
                }
                if btntxt
                    .as_deref()
                    .is_some_and(|b| b.chars().count() > limits::TEXTCARD_BTN_CHARS)
                {
                    return Err(invalid("textcard btntxt is at most 4 characters"));
                }
            }
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct TextCardBody<'a> {
    title: &'a str,
    description: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    btntxt: Option<&'a str>,
}

#[derive(Serialize)]
pub struct MessageSendRequest<'a> {
    touser: String,
    msgtype: &'static str,
    agentid: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<TextContent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    textcard: Option<TextCardBody<'a>>,
    enable_duplicate_check: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_check_interval: Option<u32>,
}

impl<'a> MessageSendRequest<'a> {
    pub fn new(message: &'a AppMessage, agentid: i64) -> Self {
        let (msgtype, text, textcard) = match &message.body {
            AppMessageBody::Text { content } => (
                "text",
                Some(TextContent {
                    content: content.clone(),
                }),
                None,
            ),
            AppMessageBody::TextCard {
                title,
                description,
                url,
                btntxt,
            } => (
                "textcard",
                None,
                Some(TextCardBody {
                    title,
                    description,
                    url,
                    btntxt: btntxt.as_deref(),
                }),
            ),
        };
        Self {
            touser: message.touser.join("|"),
            msgtype,
            agentid,
            text,
            textcard,
            enable_duplicate_check: u8::from(message.enable_duplicate_check),
            duplicate_check_interval: message.duplicate_check_interval,
        }
    }
}

fn split_ids(raw: &str) -> Vec<String> {
    raw.split('|')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Deserialize)]
pub struct MessageSendResponse {
    #[serde(default)]
    invaliduser: String,
    #[serde(default)]
    invalidparty: String,
    #[serde(default)]
    invalidtag: String,
    #[serde(default)]
    unlicenseduser: String,
    #[serde(default)]
    msgid: String,
}

/// What `message/send` did. WeCom answers errcode 0 even when some recipients were
/// rejected; they are listed here and did not get the message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageSendResult {
    /// For `message/recall`.
    pub msgid: String,
    /// Members that do not exist, are outside the app's visible range, or have left.
    pub invalid_users: Vec<String>,
    /// Departments rejected.
    pub invalid_parties: Vec<String>,
    /// Tags rejected.
    pub invalid_tags: Vec<String>,
    /// Members without a licence.
    pub unlicensed_users: Vec<String>,
}

impl MessageSendResult {
    /// Whether every recipient got the message.
    pub fn all_delivered(&self) -> bool {
        self.invalid_users.is_empty()
            && self.invalid_parties.is_empty()
            && self.invalid_tags.is_empty()
            && self.unlicensed_users.is_empty()
    }
}

impl From<MessageSendResponse> for MessageSendResult {
    fn from(r: MessageSendResponse) -> Self {
        Self {
            msgid: r.msgid,
            invalid_users: split_ids(&r.invaliduser),
            invalid_parties: split_ids(&r.invalidparty),
            invalid_tags: split_ids(&r.invalidtag),
            unlicensed_users: split_ids(&r.unlicenseduser),
        }
    }
}

// ----- mass messages (企业群发) ----------------------------------------------------------

/// To customers one by one, or to customer groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatType {
    /// To customers (the default).
    #[default]
    Single,
    /// To customer groups.
    Group,
}

/// `add_msg_template`: creates a mass-message task that the member confirms in WeCom.
/// Nothing is sent until they do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MsgTemplate {
    /// Customers or groups.
    pub chat_type: ChatType,
    /// Customers (single only, ≤10,000). Empty with a `sender` means all their customers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_userid: Vec<String>,
    /// Groups (group only, ≤2,000). Empty means all the sender's groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chat_id_list: Vec<String>,
    /// The member who sends (required for groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Let the member change the selection.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_select: bool,
    /// Text (≤4000 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextContent>,
    /// Up to 9 attachments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl MsgTemplate {
    pub fn validate(&self) -> Result<(), WeComError> {
        match self.chat_type {
            ChatType::Single => {
                if !self.chat_id_list.is_empty() {
                    return Err(invalid("chat_id_list is for group messages only"));
                }
                if self.external_userid.is_empty() && self.sender.is_none() {
                    return Err(invalid(
                        "a single mass message needs external_userid or sender",
                    ));
                }
                if self.external_userid.len() > limits::TEMPLATE_CUSTOMERS {
                    return Err(invalid("a mass message reaches at most 10000 customers"));
                }
            }
            ChatType::Group => {
                if self.sender.as_deref().is_none_or(str::is_empty) {
                    return Err(invalid("a group mass message needs a sender"));
                }
                if !self.external_userid.is_empty() {
                    return Err(invalid("external_userid is for single messages only"));
                }
                if self.chat_id_list.len() > limits::TEMPLATE_CHATS {
                    return Err(invalid("a group mass message reaches at most 2000 groups"));
                }
            }
        }
        validate_content(
            "mass message",
            self.text.as_ref().map(|t| t.content.as_str()),
            &self.attachments,
        )
    }
}

/// What `add_msg_template` created.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AddMsgTemplateResult {
    /// The task, for `get_groupmsg_task` / `get_groupmsg_send_result`.
    #[serde(default)]
    pub msgid: String,
    /// Targets WeCom refused (not a customer of the sender, invalid id…), although errcode
    /// was 0. They will not receive the message.
    #[serde(default, deserialize_with = "null_as_default")]
    pub fail_list: Vec<String>,
}

#[derive(Serialize)]
pub struct GroupMsgTaskRequest<'a> {
    pub msgid: &'a str,
    pub limit: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub cursor: &'a str,
}

/// One member's part of a mass-message task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMsgTask {
    /// The member.
    pub userid: String,
    /// 0 not sent, 2 sent (one doc copy lists 1 confirmed): an open enum.
    #[serde(default)]
    pub status: i64,
    /// When they sent it (epoch s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_time: Option<i64>,
}

/// One page of `get_groupmsg_task`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct GroupMsgTaskPage {
    /// Members of this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub task_list: Vec<GroupMsgTask>,
    /// Empty when done.
    #[serde(default)]
    pub next_cursor: String,
}

#[derive(Serialize)]
pub struct GroupMsgSendResultRequest<'a> {
    pub msgid: &'a str,
    pub userid: &'a str,
    pub limit: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub cursor: &'a str,
}

/// Delivery status of a mass message to one customer or group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendStatus {
    /// 0: not sent yet.
    NotSent,
    /// 1: sent.
    Sent,
    /// 2: failed, the customer is no longer a friend.
    NotFriend,
    /// 3: failed, the customer or group already got its quota of mass messages.
    QuotaReached,
    /// Anything else WeCom may add.
    Other(i64),
}

impl SendStatus {
    /// From WeCom's code.
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => SendStatus::NotSent,
            1 => SendStatus::Sent,
            2 => SendStatus::NotFriend,
            3 => SendStatus::QuotaReached,
            other => SendStatus::Other(other),
        }
    }
}

/// One record of `get_groupmsg_send_result`. For group messages WeCom returns only the
/// groups already sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMsgSendResult {
    /// The customer (single messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_userid: Option<String>,
    /// The group (group messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// The sending member.
    #[serde(default)]
    pub userid: String,
    /// See [`SendStatus`].
    #[serde(default)]
    pub status: i64,
    /// Only when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_time: Option<i64>,
}

impl GroupMsgSendResult {
    /// The status as an enum.
    pub fn send_status(&self) -> SendStatus {
        SendStatus::from_code(self.status)
    }
}

/// One page of `get_groupmsg_send_result`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct GroupMsgSendResultPage {
    /// Records of this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub send_list: Vec<GroupMsgSendResult>,
    /// Empty when done.
    #[serde(default)]
    pub next_cursor: String,
}

// ----- moments -------------------------------------------------------------------------

/// One attachment of a Moments post: either up to 9 images, or one video, or one link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum MomentAttachment {
    /// An image (media id from `media/upload_attachment`).
    Image {
        /// The image.
        image: MediaAttachment,
    },
    /// A video (≤30 s, ≤10 MB).
    Video {
        /// The video.
        video: MediaAttachment,
    },
    /// A link with a cover image.
    Link {
        /// The link.
        link: MomentLink,
    },
}

/// A Moments link.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MomentLink {
    /// Title (≤64 bytes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Target URL.
    pub url: String,
    /// Cover image media id.
    pub media_id: String,
}

/// Members who must post.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MomentSenders {
    /// Member userids (≤100,000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_list: Vec<String>,
    /// Department ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub department_list: Vec<i64>,
}

/// Customers who may see the post, by corp tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MomentAudience {
    /// Corp tag ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag_list: Vec<String>,
}

/// Who posts and who sees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MomentVisibleRange {
    /// Members who post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_list: Option<MomentSenders>,
    /// Customers who see it (everyone if absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_contact_list: Option<MomentAudience>,
}

/// `add_moment_task`: a Moments post members are asked to publish.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MomentTask {
    /// Text (≤2000 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextContent>,
    /// Up to 9 images, or 1 video, or 1 link.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<MomentAttachment>,
    /// Who posts and who sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible_range: Option<MomentVisibleRange>,
}

impl MomentTask {
    pub fn validate(&self) -> Result<(), WeComError> {
        let text_chars = self.text.as_ref().map_or(0, |t| t.content.chars().count());
        if text_chars == 0 && self.attachments.is_empty() {
            return Err(invalid("a moments post needs text or attachments"));
        }
        if text_chars > limits::MOMENT_TEXT_CHARS {
            return Err(invalid("moments text is at most 2000 characters"));
        }
        let images = self
            .attachments
            .iter()
            .filter(|a| matches!(a, MomentAttachment::Image { .. }))
            .count();
        let others = self.attachments.len() - images;
        let ok = (others == 0 && images <= limits::ATTACHMENTS) || (images == 0 && others <= 1);
        if !ok {
            return Err(invalid(
                "moments attachments are up to 9 images, or 1 video, or 1 link (not mixed)",
            ));
        }
        if let Some(senders) = self
            .visible_range
            .as_ref()
            .and_then(|v| v.sender_list.as_ref())
        {
            if senders.user_list.len() > limits::MOMENT_SENDERS {
                return Err(invalid("moments sender list is at most 100000 members"));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
pub struct AddMomentTaskResponse {
    pub jobid: String,
}

/// Invalid senders of a Moments task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct InvalidSenders {
    /// Members.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_list: Vec<String>,
    /// Departments.
    #[serde(default, deserialize_with = "null_as_default")]
    pub department_list: Vec<i64>,
}

/// Invalid audience of a Moments task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct InvalidAudience {
    /// Tag ids.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag_list: Vec<String>,
}

/// The outcome of a finished Moments task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MomentTaskOutcome {
    /// 0 when the post was created.
    #[serde(default)]
    pub errcode: i64,
    /// WeCom's text.
    #[serde(default)]
    pub errmsg: String,
    /// The created post.
    #[serde(default)]
    pub moment_id: Option<String>,
    /// Senders WeCom rejected (partial success).
    #[serde(default)]
    pub invalid_sender_list: Option<InvalidSenders>,
    /// Audience tags WeCom rejected (partial success).
    #[serde(default)]
    pub invalid_external_contact_list: Option<InvalidAudience>,
}

/// `get_moment_task_result`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MomentTaskResult {
    /// 1 started, 2 in progress, 3 done.
    #[serde(default)]
    pub status: i64,
    /// `add_moment_task`.
    #[serde(rename = "type", default)]
    pub task_type: String,
    /// Present once done.
    #[serde(default)]
    pub result: Option<MomentTaskOutcome>,
}

impl MomentTaskResult {
    /// Whether WeCom finished the task (successfully or not: see `result`).
    pub fn is_done(&self) -> bool {
        self.status == 3
    }
}

#[derive(Serialize)]
pub struct MomentTaskRequest<'a> {
    pub moment_id: &'a str,
    pub limit: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub cursor: &'a str,
}

/// One member's part of a Moments post (`get_moment_task`): creating the task with
/// `add_moment_task` only asks members to publish; this says whether they did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MomentPublish {
    /// The member.
    pub userid: String,
    /// 0 not published, 1 published: an open enum (see [`MomentPublish::published`]).
    #[serde(default)]
    pub publish_status: i64,
}

impl MomentPublish {
    /// Whether the member published the post (status 1; anything else is "not yet").
    pub fn published(&self) -> bool {
        self.publish_status == 1
    }
}

/// One page of `get_moment_task`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MomentTaskPage {
    /// Members of this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub task_list: Vec<MomentPublish>,
    /// Empty when done.
    #[serde(default)]
    pub next_cursor: String,
}

// ----- identity ------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct FollowUserListResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub follow_user: Vec<String>,
}

#[derive(Deserialize)]
pub struct GetUserInfoResponse {
    #[serde(default, alias = "UserId")]
    pub userid: Option<String>,
    #[serde(default)]
    pub user_ticket: Option<String>,
    #[serde(default, alias = "OpenId")]
    pub openid: Option<String>,
    #[serde(default)]
    pub external_userid: Option<String>,
}

/// Who an OAuth code belongs to (`auth/getuserinfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OAuthIdentity {
    /// A member of the corp: staff login succeeds.
    Member {
        /// The member.
        userid: String,
        /// For `auth/getuserdetail` (scope `snsapi_privateinfo` only).
        user_ticket: Option<String>,
    },
    /// Not a member.
    NonMember {
        /// Unique per corp.
        openid: String,
        /// When the visitor is a customer of a member in the app's range.
        external_userid: Option<String>,
    },
}

/// A member as `user/get` returns it (new apps get few fields since 2022-06).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct User {
    /// The member.
    pub userid: String,
    /// Name (may be absent for newer apps).
    #[serde(default)]
    pub name: Option<String>,
    /// 1 active, 2 disabled, 4 not activated, 5 left the corp.
    #[serde(default)]
    pub status: i64,
}

/// Whether a member can still act (staff-login and task checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffStatus {
    /// Activated.
    Active,
    /// Disabled by an admin.
    Disabled,
    /// Invited, never activated.
    NotActivated,
    /// Left the corp (status 5, or WeCom no longer knows the userid: 60111).
    Left,
    /// A status WeCom may add.
    Other(i64),
}

impl StaffStatus {
    /// From `user/get`'s status.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => StaffStatus::Active,
            2 => StaffStatus::Disabled,
            4 => StaffStatus::NotActivated,
            5 => StaffStatus::Left,
            other => StaffStatus::Other(other),
        }
    }
}

#[derive(Serialize)]
pub struct UnionIdRequest<'a> {
    pub unionid: &'a str,
    pub openid: &'a str,
}

#[derive(Deserialize)]
pub struct UnionIdResponse {
    #[serde(default)]
    pub external_userid: Option<String>,
    #[serde(default)]
    pub pending_id: Option<String>,
}

/// What a WeChat user (unionid + openid of the corp's mini-program/official account) is to
/// this corp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnionIdLookup {
    /// A customer: their external_userid.
    Customer(String),
    /// Not a customer yet (or their follower is outside the app's range): a temporary id,
    /// valid 90 days, that later maps to the external_userid. Never usable as one.
    Pending(String),
    /// WeCom says they are not an external contact of the corp (84061).
    NotCustomer,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_serialise_with_msgtype_and_named_object() {
        let a = Attachment::Link {
            link: LinkAttachment {
                title: "t".into(),
                url: "https://x".into(),
                ..Default::default()
            },
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["msgtype"], "link");
        assert_eq!(v["link"]["url"], "https://x");
        assert!(v["link"].get("desc").is_none());
    }

    #[test]
    fn message_send_result_splits_pipe_lists() {
        let r: MessageSendResponse =
            serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","invaliduser":"a|b","msgid":"m1"}"#)
                .unwrap();
        let r = MessageSendResult::from(r);
        assert_eq!(r.invalid_users, vec!["a", "b"]);
        assert!(r.invalid_tags.is_empty());
        assert!(!r.all_delivered());
    }

    #[test]
    fn mass_message_limits_are_checked_before_sending() {
        let mut t = MsgTemplate {
            chat_type: ChatType::Group,
            chat_id_list: vec!["c".into()],
            text: Some(TextContent {
                content: "hi".into(),
            }),
            ..Default::default()
        };
        assert!(t.validate().is_err(), "group needs a sender");
        t.sender = Some("u".into());
        assert!(t.validate().is_ok());
        t.text = Some(TextContent {
            content: "x".repeat(4001),
        });
        assert!(t.validate().is_err());
        t.text = None;
        t.attachments = vec![
            Attachment::Image {
                image: ImageAttachment {
                    media_id: Some("m".into()),
                    pic_url: None
                }
            };
            10
        ];
        assert!(t.validate().is_err());
    }

    #[test]
    fn moments_refuse_mixed_attachments() {
        let image = MomentAttachment::Image {
            image: MediaAttachment {
                media_id: "m".into(),
            },
        };
        let video = MomentAttachment::Video {
            video: MediaAttachment {
                media_id: "v".into(),
            },
        };
        let mut task = MomentTask {
            attachments: vec![image.clone(), video],
            ..Default::default()
        };
        assert!(task.validate().is_err());
        task.attachments = vec![image; 9];
        assert!(task.validate().is_ok());
    }

    #[test]
    fn textcard_serialises_as_wecom_expects() {
        let m = AppMessage::text_card(vec!["a".into(), "b".into()], "T", "D", "https://u");
        let v = serde_json::to_value(MessageSendRequest::new(&m, 1000002)).unwrap();
        assert_eq!(v["touser"], "a|b");
        assert_eq!(v["msgtype"], "textcard");
        assert_eq!(v["agentid"], 1000002);
        assert_eq!(v["textcard"]["url"], "https://u");
        assert!(v.get("text").is_none());
    }
}
