//! Typed customer-contact callback events (客户联系回调事件), parsed from the decrypted XML.
//!
//! WeCom's XML is loose in ways that break naive parsers: values come CDATA-wrapped or
//! plain (numbers too), new elements appear over time, and new `ChangeType` / `UpdateDetail`
//! values are added without notice. So parsing here:
//! - reads the direct children of `<xml>` as text, whether CDATA or plain, and ignores
//!   elements it does not know;
//! - keeps open sets open: unknown `UpdateDetail`, `TagType`, `Source`, `FailReason` values
//!   become an `Other(..)` variant, `JoinScene`/`QuitScene` stay integers, and an unknown
//!   `Event` or `ChangeType` becomes [`CallbackEvent::Unknown`] with the raw XML — never an
//!   error, so a new WeCom event cannot make the callback fail;
//! - requires only what identifies an event (the corp, the time, the staff member and the
//!   customer, the group, the tag); a missing descriptive field is `None`.
//!
//! Events carry no `MsgId` and `FromUserName` is always `sys`, so WeCom's own advice
//! (`FromUserName + CreateTime`) collides when several customers are added in one second.
//! [`CallbackEvent::dedupe_key`] hashes the event's content instead.
use super::crypto::{escape_text, push_cdata};
use super::flat_xml::FlatXml;
use sha2::{Digest, Sha256};

/// `Event` of customer events.
pub const EVENT_EXTERNAL_CONTACT: &str = "change_external_contact";
/// `Event` of customer-group events.
pub const EVENT_EXTERNAL_CHAT: &str = "change_external_chat";
/// `Event` of corp-tag events.
pub const EVENT_EXTERNAL_TAG: &str = "change_external_tag";

/// `JoinScene` values seen in `add_member` updates (an open set: the official sample uses 1).
pub mod join_scene {
    /// Invited by a member, directly or through an invite link.
    pub const BY_MEMBER: i64 = 0;
    /// Scanned the group's QR code.
    pub const BY_QR_CODE: i64 = 3;
}

/// `QuitScene` values seen in `del_member` updates (an open set).
pub mod quit_scene {
    /// The member left by themselves.
    pub const LEFT: i64 = 0;
    /// The owner or an admin removed the member.
    pub const REMOVED: i64 = 1;
}

/// Why a decrypted callback could not be read. Codes are stable (HTTP bodies, logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not well-formed XML.
    #[error("callback is not well-formed XML: {0}")]
    Malformed(String),
    /// Well-formed, but the root element is not `<xml>`.
    #[error("callback root element must be <xml>")]
    BadRoot,
    /// An element that identifies the event is missing or empty.
    #[error("callback element {0} is missing or empty")]
    MissingField(&'static str),
    /// An integer element holds something else.
    #[error("callback element {field} is not an integer: {value:?}")]
    BadNumber {
        /// The element.
        field: &'static str,
        /// Its text (cut to 40 characters).
        value: String,
    },
}

impl ParseError {
    /// A stable snake_case code for HTTP error bodies, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed_xml",
            Self::BadRoot => "bad_root",
            Self::MissingField(_) => "missing_field",
            Self::BadNumber { .. } => "bad_number",
        }
    }
}

/// Declares an open string enum: known values as variants, anything else kept verbatim.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// Reads WeCom's text (any value is accepted).
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_string()),
                }
            }

            /// The text WeCom uses for this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(other) => other,
                }
            }
        }
    };
}

open_enum! {
    /// `Source` of `del_external_contact`.
    DeleteSource {
        /// The customer was moved away from the member by an on-job transfer (在职继承).
        DeleteByTransfer => "DELETE_BY_TRANSFER",
    }
}

open_enum! {
    /// `FailReason` of `transfer_fail`.
    TransferFailReason {
        /// The customer refused the takeover.
        CustomerRefused => "customer_refused",
        /// The takeover member has reached the customer limit.
        CustomerLimitExceed => "customer_limit_exceed",
    }
}

open_enum! {
    /// `UpdateDetail` of a customer-group `update`.
    UpdateDetail {
        /// Members joined (成员入群).
        AddMember => "add_member",
        /// Members left (成员退群).
        DelMember => "del_member",
        /// The owner changed (群主变更).
        ChangeOwner => "change_owner",
        /// The name changed (群名变更).
        ChangeName => "change_name",
        /// The notice changed (群公告变更).
        ChangeNotice => "change_notice",
    }
}

open_enum! {
    /// `TagType` of a corp-tag event.
    TagType {
        /// A tag.
        Tag => "tag",
        /// A tag group.
        TagGroup => "tag_group",
    }
}

/// The header every self-built-app callback carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHeader {
    /// `ToUserName`: the corp id.
    pub to_user_name: String,
    /// `FromUserName`: `sys` for these events.
    pub from_user_name: String,
    /// `CreateTime`: Unix seconds. Not unique: several events share a second.
    pub create_time: i64,
    /// `MsgType`: `event`.
    pub msg_type: String,
}

impl EventHeader {
    /// The header WeCom puts on a system event for `corp_id` at `create_time`.
    pub fn system(corp_id: &str, create_time: i64) -> Self {
        Self {
            to_user_name: corp_id.to_string(),
            from_user_name: "sys".to_string(),
            create_time,
            msg_type: "event".to_string(),
        }
    }
}

/// `ChangeType` of `change_external_contact`, with the fields specific to each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactChange {
    /// `add_external_contact`: a member added a customer (or, per field reports, a
    /// free-verification add; treat both alike).
    Add {
        /// `State`: the 「联系我」 state or acquisition-link channel (≤30 chars).
        state: Option<String>,
        /// `WelcomeCode`: valid 20 seconds, single use; absent when a welcome is not allowed.
        welcome_code: Option<String>,
    },
    /// `add_half_external_contact`: the customer added a member with free verification; the
    /// member has not confirmed yet.
    AddHalf {
        /// `State`.
        state: Option<String>,
        /// `WelcomeCode`.
        welcome_code: Option<String>,
    },
    /// `edit_external_contact`: the member edited remark, description or corp tags.
    Edit {
        /// `State` (some payloads carry it).
        state: Option<String>,
    },
    /// `del_external_contact`: the **member** deleted the customer.
    Delete {
        /// `Source`: `DELETE_BY_TRANSFER` for an on-job transfer.
        source: Option<DeleteSource>,
    },
    /// `del_follow_user`: the **customer** deleted the member (the relation is one-way now).
    DeleteFollowUser,
    /// `transfer_fail`: a transferred customer could not be taken over.
    TransferFail {
        /// `FailReason`.
        fail_reason: Option<TransferFailReason>,
    },
}

impl ContactChange {
    /// The `ChangeType` text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Add { .. } => "add_external_contact",
            Self::AddHalf { .. } => "add_half_external_contact",
            Self::Edit { .. } => "edit_external_contact",
            Self::Delete { .. } => "del_external_contact",
            Self::DeleteFollowUser => "del_follow_user",
            Self::TransferFail { .. } => "transfer_fail",
        }
    }
}

/// The fields of a customer-group `update`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatUpdate {
    /// `UpdateDetail`: what changed.
    pub detail: UpdateDetail,
    /// `JoinScene` (add_member): see [`join_scene`]; an open integer.
    pub join_scene: Option<i64>,
    /// `QuitScene` (del_member): see [`quit_scene`]; an open integer.
    pub quit_scene: Option<i64>,
    /// `MemChangeCnt`: how many members changed.
    pub mem_change_cnt: Option<i64>,
    /// `MemChangeList/Item`: the changed members' userid or external_userid.
    pub mem_change_list: Vec<String>,
    /// `LastMemVer`: member-list version before the change.
    pub last_mem_ver: Option<String>,
    /// `CurMemVer`: member-list version after the change; compare with `groupchat/get`'s
    /// `member_version` to notice lost or reordered events.
    pub cur_mem_ver: Option<String>,
}

impl ChatUpdate {
    /// An update with only its detail set.
    pub fn new(detail: UpdateDetail) -> Self {
        Self {
            detail,
            join_scene: None,
            quit_scene: None,
            mem_change_cnt: None,
            mem_change_list: Vec::new(),
            last_mem_ver: None,
            cur_mem_ver: None,
        }
    }
}

/// `ChangeType` of `change_external_chat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatChange {
    /// `create`.
    Create,
    /// `update`.
    Update(ChatUpdate),
    /// `dismiss`.
    Dismiss,
}

impl ChatChange {
    /// The `ChangeType` text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update(_) => "update",
            Self::Dismiss => "dismiss",
        }
    }
}

/// `ChangeType` of `change_external_tag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagChange {
    /// `create`.
    Create,
    /// `update`.
    Update,
    /// `delete`.
    Delete,
    /// `shuffle`: tags of the group `Id` were reordered (empty `Id`: the groups were).
    Shuffle,
}

impl TagChange {
    /// The `ChangeType` text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Shuffle => "shuffle",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "delete" => Some(Self::Delete),
            "shuffle" => Some(Self::Shuffle),
            _ => None,
        }
    }
}

/// One decrypted customer-contact callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackEvent {
    /// `Event = change_external_contact`.
    ExternalContact {
        /// The header.
        header: EventHeader,
        /// `UserID`: the staff member.
        user_id: String,
        /// `ExternalUserID`: the customer.
        external_user_id: String,
        /// `ChangeType` and its fields.
        change: ContactChange,
    },
    /// `Event = change_external_chat`.
    ExternalChat {
        /// The header.
        header: EventHeader,
        /// `ChatId`: the customer group.
        chat_id: String,
        /// `ChangeType` and its fields.
        change: ChatChange,
    },
    /// `Event = change_external_tag`.
    ExternalTag {
        /// The header.
        header: EventHeader,
        /// `Id`: the tag or tag group (for `shuffle`, the group whose tags were reordered,
        /// or empty when the groups themselves were).
        id: String,
        /// `TagType`.
        tag_type: Option<TagType>,
        /// `StrategyId`: the rule group (规则组) of the tag, sent only to the 客户联系 app.
        strategy_id: Option<String>,
        /// `ChangeType`.
        change: TagChange,
    },
    /// Any other event or change type, kept whole so that it can be stored and replayed
    /// when support is added.
    Unknown {
        /// The header.
        header: EventHeader,
        /// `Event`, if any (plain messages have none).
        event: Option<String>,
        /// `ChangeType`, if any.
        change_type: Option<String>,
        /// The decrypted XML as received.
        raw: String,
    },
}

impl CallbackEvent {
    /// Parses decrypted callback XML. Unknown events are [`CallbackEvent::Unknown`], not
    /// errors; only unreadable XML or a known event missing an identifying element fails.
    pub fn parse(xml: &str) -> Result<Self, ParseError> {
        let fields = FlatXml::parse(xml)?;
        let header = EventHeader {
            to_user_name: fields.required("ToUserName")?.to_string(),
            from_user_name: fields.text("FromUserName").unwrap_or_default().to_string(),
            create_time: fields
                .int("CreateTime")?
                .ok_or(ParseError::MissingField("CreateTime"))?,
            msg_type: fields.text("MsgType").unwrap_or_default().to_string(),
        };
        let event = fields.non_empty("Event");
        let change_type = fields.non_empty("ChangeType");
        match (event, change_type) {
            (Some(EVENT_EXTERNAL_CONTACT), Some(ct)) => {
                if let Some((user_id, external_user_id, change)) = parse_contact(&fields, ct)? {
                    return Ok(Self::ExternalContact {
                        header,
                        user_id,
                        external_user_id,
                        change,
                    });
                }
            }
            (Some(EVENT_EXTERNAL_CHAT), Some(ct)) => {
                if let Some((chat_id, change)) = parse_chat(&fields, ct)? {
                    return Ok(Self::ExternalChat {
                        header,
                        chat_id,
                        change,
                    });
                }
            }
            (Some(EVENT_EXTERNAL_TAG), Some(ct)) => {
                if let Some(change) = TagChange::parse(ct) {
                    let id = match change {
                        TagChange::Shuffle => fields.text("Id").unwrap_or_default().to_string(),
                        _ => fields.required("Id")?.to_string(),
                    };
                    return Ok(Self::ExternalTag {
                        header,
                        id,
                        tag_type: fields.non_empty("TagType").map(TagType::parse),
                        strategy_id: fields.optional("StrategyId"),
                        change,
                    });
                }
            }
            _ => {}
        }
        Ok(Self::Unknown {
            header,
            event: event.map(str::to_string),
            change_type: change_type.map(str::to_string),
            raw: xml.to_string(),
        })
    }

    /// The header.
    pub fn header(&self) -> &EventHeader {
        match self {
            Self::ExternalContact { header, .. }
            | Self::ExternalChat { header, .. }
            | Self::ExternalTag { header, .. }
            | Self::Unknown { header, .. } => header,
        }
    }

    /// The `Event` text ("" when an unknown message has none).
    pub fn event_name(&self) -> &str {
        match self {
            Self::ExternalContact { .. } => EVENT_EXTERNAL_CONTACT,
            Self::ExternalChat { .. } => EVENT_EXTERNAL_CHAT,
            Self::ExternalTag { .. } => EVENT_EXTERNAL_TAG,
            Self::Unknown { event, .. } => event.as_deref().unwrap_or_default(),
        }
    }

    /// The `ChangeType` text ("" when an unknown message has none).
    pub fn change_type(&self) -> &str {
        match self {
            Self::ExternalContact { change, .. } => change.as_str(),
            Self::ExternalChat { change, .. } => change.as_str(),
            Self::ExternalTag { change, .. } => change.as_str(),
            Self::Unknown { change_type, .. } => change_type.as_deref().unwrap_or_default(),
        }
    }

    /// A key identifying this event across WeCom's re-deliveries: lowercase hex SHA-256.
    ///
    /// Why content and not `FromUserName + CreateTime` (WeCom's advice): these events have
    /// no `MsgId`, `FromUserName` is always `sys`, and several events share one second (two
    /// customers scanning the same code, a batch of members joining a group). The key hashes
    /// the corp, the second, the event and change type, and every field that tells one
    /// happening from another: staff member, customer, group, tag, update detail, scenes,
    /// changed members, member-list versions, state, source and failure reason. A re-delivery
    /// carries the same content and gets the same key; two different happenings differ in at
    /// least one of them. `WelcomeCode` is left out on purpose: it is a short-lived credential
    /// attached to the delivery, not part of what happened. Unknown events hash their whole
    /// XML, the safe choice when the fields that matter are not known.
    pub fn dedupe_key(&self) -> String {
        let mut key = KeyHasher::new();
        let header = self.header();
        key.put("ToUserName", &header.to_user_name);
        key.put("CreateTime", decimal(header.create_time, &mut [0; 20]));
        key.put("Event", self.event_name());
        key.put("ChangeType", self.change_type());
        match self {
            Self::ExternalContact {
                user_id,
                external_user_id,
                change,
                ..
            } => {
                key.put("UserID", user_id);
                key.put("ExternalUserID", external_user_id);
                match change {
                    ContactChange::Add { state, .. }
                    | ContactChange::AddHalf { state, .. }
                    | ContactChange::Edit { state } => key.opt("State", state.as_deref()),
                    ContactChange::Delete { source } => {
                        key.opt("Source", source.as_ref().map(DeleteSource::as_str))
                    }
                    ContactChange::DeleteFollowUser => {}
                    ContactChange::TransferFail { fail_reason } => key.opt(
                        "FailReason",
                        fail_reason.as_ref().map(TransferFailReason::as_str),
                    ),
                }
            }
            Self::ExternalChat {
                chat_id, change, ..
            } => {
                key.put("ChatId", chat_id);
                if let ChatChange::Update(u) = change {
                    key.put("UpdateDetail", u.detail.as_str());
                    let mut buf = [0; 20];
                    key.opt("JoinScene", u.join_scene.map(|v| decimal(v, &mut buf)));
                    let mut buf = [0; 20];
                    key.opt("QuitScene", u.quit_scene.map(|v| decimal(v, &mut buf)));
                    let mut buf = [0; 20];
                    key.opt(
                        "MemChangeCnt",
                        u.mem_change_cnt.map(|v| decimal(v, &mut buf)),
                    );
                    let count = i64::try_from(u.mem_change_list.len()).unwrap_or(i64::MAX);
                    key.put("MemChangeList", decimal(count, &mut [0; 20]));
                    for member in &u.mem_change_list {
                        key.put("Item", member);
                    }
                    key.opt("LastMemVer", u.last_mem_ver.as_deref());
                    key.opt("CurMemVer", u.cur_mem_ver.as_deref());
                }
            }
            Self::ExternalTag {
                id,
                tag_type,
                strategy_id,
                ..
            } => {
                key.put("Id", id);
                key.opt("TagType", tag_type.as_ref().map(TagType::as_str));
                key.opt("StrategyId", strategy_id.as_deref());
            }
            Self::Unknown { raw, .. } => key.put("raw", raw),
        }
        key.finish()
    }

    /// WeCom-shaped plaintext XML for this event, as WeCom would encrypt it: strings in
    /// CDATA, numbers plain, absent options omitted. [`CallbackEvent::Unknown`] gives back
    /// its raw XML. Used by the simulator, the tests and the benchmarks.
    pub fn to_xml(&self) -> String {
        if let Self::Unknown { raw, .. } = self {
            return raw.clone();
        }
        let header = self.header();
        let mut w = XmlWriter::new();
        w.cdata("ToUserName", &header.to_user_name);
        w.cdata("FromUserName", &header.from_user_name);
        w.plain("CreateTime", &header.create_time.to_string());
        w.cdata("MsgType", &header.msg_type);
        w.cdata("Event", self.event_name());
        match self {
            Self::ExternalContact {
                user_id,
                external_user_id,
                change,
                ..
            } => {
                w.cdata("ChangeType", change.as_str());
                w.cdata("UserID", user_id);
                w.cdata("ExternalUserID", external_user_id);
                match change {
                    ContactChange::Add {
                        state,
                        welcome_code,
                    }
                    | ContactChange::AddHalf {
                        state,
                        welcome_code,
                    } => {
                        w.opt_cdata("State", state.as_deref());
                        w.opt_cdata("WelcomeCode", welcome_code.as_deref());
                    }
                    ContactChange::Edit { state } => w.opt_cdata("State", state.as_deref()),
                    ContactChange::Delete { source } => {
                        w.opt_cdata("Source", source.as_ref().map(DeleteSource::as_str))
                    }
                    ContactChange::DeleteFollowUser => {}
                    ContactChange::TransferFail { fail_reason } => w.opt_cdata(
                        "FailReason",
                        fail_reason.as_ref().map(TransferFailReason::as_str),
                    ),
                }
            }
            Self::ExternalChat {
                chat_id, change, ..
            } => {
                w.cdata("ChatId", chat_id);
                w.cdata("ChangeType", change.as_str());
                if let ChatChange::Update(u) = change {
                    w.cdata("UpdateDetail", u.detail.as_str());
                    w.opt_plain("JoinScene", u.join_scene);
                    w.opt_plain("QuitScene", u.quit_scene);
                    w.opt_plain("MemChangeCnt", u.mem_change_cnt);
                    if !u.mem_change_list.is_empty() {
                        w.items("MemChangeList", &u.mem_change_list);
                    }
                    w.opt_cdata("LastMemVer", u.last_mem_ver.as_deref());
                    w.opt_cdata("CurMemVer", u.cur_mem_ver.as_deref());
                }
            }
            Self::ExternalTag {
                id,
                tag_type,
                strategy_id,
                change,
                ..
            } => {
                w.cdata("ChangeType", change.as_str());
                w.cdata("Id", id);
                w.opt_cdata("TagType", tag_type.as_ref().map(TagType::as_str));
                w.opt_cdata("StrategyId", strategy_id.as_deref());
            }
            Self::Unknown { .. } => {}
        }
        w.finish()
    }
}

fn parse_contact(
    fields: &FlatXml<'_>,
    change_type: &str,
) -> Result<Option<(String, String, ContactChange)>, ParseError> {
    let state = || fields.optional("State");
    let welcome_code = || fields.optional("WelcomeCode");
    let change = match change_type {
        "add_external_contact" => ContactChange::Add {
            state: state(),
            welcome_code: welcome_code(),
        },
        "add_half_external_contact" => ContactChange::AddHalf {
            state: state(),
            welcome_code: welcome_code(),
        },
        "edit_external_contact" => ContactChange::Edit { state: state() },
        "del_external_contact" => ContactChange::Delete {
            source: fields.non_empty("Source").map(DeleteSource::parse),
        },
        "del_follow_user" => ContactChange::DeleteFollowUser,
        "transfer_fail" => ContactChange::TransferFail {
            fail_reason: fields
                .non_empty("FailReason")
                .map(TransferFailReason::parse),
        },
        _ => return Ok(None),
    };
    Ok(Some((
        fields.required("UserID")?.to_string(),
        fields.required("ExternalUserID")?.to_string(),
        change,
    )))
}

fn parse_chat(
    fields: &FlatXml<'_>,
    change_type: &str,
) -> Result<Option<(String, ChatChange)>, ParseError> {
    let change = match change_type {
        "create" => ChatChange::Create,
        "dismiss" => ChatChange::Dismiss,
        "update" => ChatChange::Update(ChatUpdate {
            detail: UpdateDetail::parse(fields.required("UpdateDetail")?),
            join_scene: fields.int("JoinScene")?,
            quit_scene: fields.int("QuitScene")?,
            mem_change_cnt: fields.int("MemChangeCnt")?,
            mem_change_list: fields
                .items("MemChangeList")
                .iter()
                .filter(|m| !m.is_empty())
                .map(|m| m.to_string())
                .collect(),
            last_mem_ver: fields.optional("LastMemVer"),
            cur_mem_ver: fields.optional("CurMemVer"),
        }),
        _ => return Ok(None),
    };
    Ok(Some((fields.required("ChatId")?.to_string(), change)))
}

/// Length-prefixed, named fields into SHA-256, so that no two field lists hash alike.
struct KeyHasher(Sha256);

impl KeyHasher {
    fn new() -> Self {
        let mut sha = Sha256::new();
        sha.update(b"wecom-callback-dedupe/v1");
        Self(sha)
    }

    fn put(&mut self, name: &str, value: &str) {
        self.0.update((name.len() as u64).to_be_bytes());
        self.0.update(name.as_bytes());
        self.0.update((value.len() as u64).to_be_bytes());
        self.0.update(value.as_bytes());
    }

    fn opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.put(name, v);
        }
    }

    fn finish(self) -> String {
        lower_hex(&self.0.finalize())
    }
}

/// Lowercase hex of a digest (as `hex::encode`, without its per-character string building).
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    let mut digits = vec![0u8; bytes.len() * 2];
    // The buffer is exactly twice the input, which is all encode_to_slice asks.
    let _ = hex::encode_to_slice(bytes, &mut digits);
    String::from_utf8(digits).unwrap_or_default()
}

/// An integer's decimal text without allocating (what `to_string` gives), written digit by
/// digit: the formatting machinery cost about as much as hashing the field.
fn decimal(value: i64, buf: &mut [u8; 20]) -> &str {
    // 19 digits and a sign hold every i64; digits are written from the end.
    let mut at = buf.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

struct XmlWriter(String);

impl XmlWriter {
    fn new() -> Self {
        Self(String::from("<xml>"))
    }

    fn cdata(&mut self, name: &str, value: &str) {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
        push_cdata(&mut self.0, value);
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push_str(">\n");
    }

    fn opt_cdata(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.cdata(name, v);
        }
    }

    fn plain(&mut self, name: &str, value: &str) {
        self.0
            .push_str(&format!("<{name}>{}</{name}>\n", escape_text(value)));
    }

    fn opt_plain(&mut self, name: &str, value: Option<i64>) {
        if let Some(v) = value {
            self.plain(name, &v.to_string());
        }
    }

    fn items(&mut self, name: &str, items: &[String]) {
        self.0.push_str(&format!("<{name}>"));
        for item in items {
            self.0.push_str("<Item>");
            push_cdata(&mut self.0, item);
            self.0.push_str("</Item>");
        }
        self.0.push_str(&format!("</{name}>\n"));
    }

    fn finish(mut self) -> String {
        self.0.push_str("</xml>");
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OFFICIAL_ADD: &str = "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_contact]]></Event>\n\t<ChangeType><![CDATA[add_external_contact]]></ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>\n\t<State><![CDATA[teststate]]></State>\n\t<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>\n</xml>";

    const OFFICIAL_CHAT_ADD_MEMBER: &str = "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_chat]]></Event>\n\t<ChatId><![CDATA[CHAT_ID]]></ChatId>\n\t<ChangeType><![CDATA[update]]></ChangeType>\n\t<UpdateDetail><![CDATA[add_member]]></UpdateDetail>\n\t<JoinScene>1</JoinScene>\n\t<QuitScene>0</QuitScene>\n\t<MemChangeCnt>10</MemChangeCnt>\n\t<MemChangeList>\n\t\t<Item>Jack</Item>\n\t\t<Item>Rose</Item>\n\t</MemChangeList>\n\t<LastMemVer>9c3f97c2ada667dfb5f6d03308d963e1</LastMemVer>\n\t<CurMemVer>71217227bbd112ecfe3a49c482195cb4</CurMemVer>\n</xml>";

    fn contact_xml(change_type: &str, extra: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
             <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
             <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[{change_type}]]></ChangeType>\
             <UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmEXT]]></ExternalUserID>{extra}</xml>"
        )
    }

    fn parse(xml: &str) -> CallbackEvent {
        CallbackEvent::parse(xml).expect("parses")
    }

    #[test]
    fn official_add_external_contact() {
        let ev = parse(OFFICIAL_ADD);
        assert_eq!(
            ev,
            CallbackEvent::ExternalContact {
                header: EventHeader {
                    to_user_name: "toUser".into(),
                    from_user_name: "sys".into(),
                    create_time: 1403610513,
                    msg_type: "event".into(),
                },
                user_id: "zhangsan".into(),
                external_user_id: "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA".into(),
                change: ContactChange::Add {
                    state: Some("teststate".into()),
                    welcome_code: Some("WELCOMECODE".into()),
                },
            }
        );
        assert_eq!(ev.event_name(), "change_external_contact");
        assert_eq!(ev.change_type(), "add_external_contact");
    }

    #[test]
    fn official_chat_update_add_member() {
        let ev = parse(OFFICIAL_CHAT_ADD_MEMBER);
        let CallbackEvent::ExternalChat {
            header,
            chat_id,
            change: ChatChange::Update(u),
        } = ev
        else {
            panic!("not a chat update: {ev:?}");
        };
        assert_eq!(header.create_time, 1403610513);
        assert_eq!(chat_id, "CHAT_ID");
        assert_eq!(u.detail, UpdateDetail::AddMember);
        assert_eq!(u.join_scene, Some(1));
        assert_eq!(u.quit_scene, Some(0));
        assert_eq!(u.mem_change_cnt, Some(10));
        assert_eq!(
            u.mem_change_list,
            vec!["Jack".to_string(), "Rose".to_string()]
        );
        assert_eq!(
            u.last_mem_ver.as_deref(),
            Some("9c3f97c2ada667dfb5f6d03308d963e1")
        );
        assert_eq!(
            u.cur_mem_ver.as_deref(),
            Some("71217227bbd112ecfe3a49c482195cb4")
        );
    }

    #[test]
    fn plain_values_without_cdata() {
        let xml = "<xml><ToUserName>wwcorp</ToUserName><FromUserName>sys</FromUserName>\
                   <CreateTime>1700000000</CreateTime><MsgType>event</MsgType>\
                   <Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType>\
                   <UserID>zhangsan</UserID><ExternalUserID>wmg1VWEAAA0rH4CifU7k1nmRhaPXpEdg</ExternalUserID>\
                   <WelcomeCode>gaxUyJS4_BWO8yuWMGZm_38H-ZYGTTMuhOdOwvlJwwY</WelcomeCode></xml>";
        let cdata = "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
                   <CreateTime><![CDATA[1700000000]]></CreateTime><MsgType><![CDATA[event]]></MsgType>\
                   <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>\
                   <UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmg1VWEAAA0rH4CifU7k1nmRhaPXpEdg]]></ExternalUserID>\
                   <WelcomeCode><![CDATA[gaxUyJS4_BWO8yuWMGZm_38H-ZYGTTMuhOdOwvlJwwY]]></WelcomeCode></xml>";
        let a = parse(xml);
        let b = parse(cdata);
        assert_eq!(a, b);
        assert!(matches!(
            a,
            CallbackEvent::ExternalContact {
                change: ContactChange::Add {
                    state: None,
                    welcome_code: Some(_)
                },
                ..
            }
        ));
        assert_eq!(a.dedupe_key(), b.dedupe_key());
    }

    #[test]
    fn every_contact_change_type() {
        assert_eq!(
            parse(&contact_xml(
                "add_half_external_contact",
                "<State><![CDATA[ch1]]></State><WelcomeCode>W</WelcomeCode>"
            )),
            CallbackEvent::ExternalContact {
                header: EventHeader::system("wwcorp", 1700000000),
                user_id: "zhangsan".into(),
                external_user_id: "wmEXT".into(),
                change: ContactChange::AddHalf {
                    state: Some("ch1".into()),
                    welcome_code: Some("W".into())
                },
            }
        );
        let change = |xml: &str| match parse(xml) {
            CallbackEvent::ExternalContact { change, .. } => change,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            change(&contact_xml("edit_external_contact", "")),
            ContactChange::Edit { state: None }
        );
        assert_eq!(
            change(&contact_xml("edit_external_contact", "<State>s</State>")),
            ContactChange::Edit {
                state: Some("s".into())
            }
        );
        assert_eq!(
            change(&contact_xml("del_external_contact", "")),
            ContactChange::Delete { source: None }
        );
        assert_eq!(
            change(&contact_xml(
                "del_external_contact",
                "<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>"
            )),
            ContactChange::Delete {
                source: Some(DeleteSource::DeleteByTransfer)
            }
        );
        assert_eq!(
            change(&contact_xml(
                "del_external_contact",
                "<Source>SOMETHING_NEW</Source>"
            )),
            ContactChange::Delete {
                source: Some(DeleteSource::Other("SOMETHING_NEW".into()))
            }
        );
        assert_eq!(
            change(&contact_xml("del_follow_user", "")),
            ContactChange::DeleteFollowUser
        );
        assert_eq!(
            change(&contact_xml(
                "transfer_fail",
                "<FailReason><![CDATA[customer_refused]]></FailReason>"
            )),
            ContactChange::TransferFail {
                fail_reason: Some(TransferFailReason::CustomerRefused)
            }
        );
        assert_eq!(
            change(&contact_xml(
                "transfer_fail",
                "<FailReason>customer_limit_exceed</FailReason>"
            )),
            ContactChange::TransferFail {
                fail_reason: Some(TransferFailReason::CustomerLimitExceed)
            }
        );
    }

    #[test]
    fn missing_identifying_fields_fail() {
        let xml = contact_xml("add_external_contact", "")
            .replace("<UserID><![CDATA[zhangsan]]></UserID>", "");
        assert_eq!(
            CallbackEvent::parse(&xml),
            Err(ParseError::MissingField("UserID"))
        );
        let xml = contact_xml("add_external_contact", "").replace("wmEXT", "");
        assert_eq!(
            CallbackEvent::parse(&xml),
            Err(ParseError::MissingField("ExternalUserID"))
        );
        let xml =
            contact_xml("del_follow_user", "").replace("<CreateTime>1700000000</CreateTime>", "");
        assert_eq!(
            CallbackEvent::parse(&xml),
            Err(ParseError::MissingField("CreateTime"))
        );
        let xml = contact_xml("del_follow_user", "").replace("1700000000", "soon");
        let err = CallbackEvent::parse(&xml).expect_err("bad number");
        assert_eq!(err.code(), "bad_number");
        let xml = OFFICIAL_CHAT_ADD_MEMBER.replace("<ChatId><![CDATA[CHAT_ID]]></ChatId>", "");
        assert_eq!(
            CallbackEvent::parse(&xml),
            Err(ParseError::MissingField("ChatId"))
        );
        let xml = OFFICIAL_CHAT_ADD_MEMBER
            .replace("<JoinScene>1</JoinScene>", "<JoinScene>one</JoinScene>");
        assert!(matches!(
            CallbackEvent::parse(&xml),
            Err(ParseError::BadNumber {
                field: "JoinScene",
                ..
            })
        ));
    }

    fn chat_xml(change_type: &str, extra: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
             <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
             <Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrCHAT]]></ChatId>\
             <ChangeType><![CDATA[{change_type}]]></ChangeType>{extra}</xml>"
        )
    }

    #[test]
    fn every_chat_change_type() {
        let chat = |xml: &str| match parse(xml) {
            CallbackEvent::ExternalChat {
                chat_id, change, ..
            } => (chat_id, change),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            chat(&chat_xml("create", "")),
            ("wrCHAT".into(), ChatChange::Create)
        );
        assert_eq!(
            chat(&chat_xml("dismiss", "")),
            ("wrCHAT".into(), ChatChange::Dismiss)
        );
        let (_, del) = chat(&chat_xml(
            "update",
            "<UpdateDetail>del_member</UpdateDetail><QuitScene><![CDATA[1]]></QuitScene>\
             <MemChangeCnt><![CDATA[1]]></MemChangeCnt><MemChangeList><Item><![CDATA[wmA]]></Item></MemChangeList>\
             <LastMemVer><![CDATA[v1]]></LastMemVer><CurMemVer><![CDATA[v2]]></CurMemVer>",
        ));
        assert_eq!(
            del,
            ChatChange::Update(ChatUpdate {
                detail: UpdateDetail::DelMember,
                join_scene: None,
                quit_scene: Some(quit_scene::REMOVED),
                mem_change_cnt: Some(1),
                mem_change_list: vec!["wmA".into()],
                last_mem_ver: Some("v1".into()),
                cur_mem_ver: Some("v2".into()),
            })
        );
        for (detail, expected) in [
            ("change_owner", UpdateDetail::ChangeOwner),
            ("change_name", UpdateDetail::ChangeName),
            ("change_notice", UpdateDetail::ChangeNotice),
            ("change_avatar", UpdateDetail::Other("change_avatar".into())),
        ] {
            let (_, change) = chat(&chat_xml(
                "update",
                &format!("<UpdateDetail>{detail}</UpdateDetail>"),
            ));
            assert_eq!(change, ChatChange::Update(ChatUpdate::new(expected)));
        }
        // A change_name that still carries member fields (seen in an official sample).
        let (_, change) = chat(&chat_xml(
            "update",
            "<UpdateDetail><![CDATA[change_name]]></UpdateDetail><JoinScene>0</JoinScene><MemChangeCnt>2</MemChangeCnt>",
        ));
        let ChatChange::Update(u) = change else {
            panic!()
        };
        assert_eq!(u.detail, UpdateDetail::ChangeName);
        assert_eq!(u.join_scene, Some(join_scene::BY_MEMBER));
        assert_eq!(u.mem_change_cnt, Some(2));
        assert!(u.mem_change_list.is_empty());
    }

    fn tag_xml(change_type: &str, extra: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
             <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
             <Event><![CDATA[change_external_tag]]></Event><ChangeType><![CDATA[{change_type}]]></ChangeType>{extra}</xml>"
        )
    }

    #[test]
    fn every_tag_change_type() {
        for (ct, change) in [
            ("create", TagChange::Create),
            ("update", TagChange::Update),
            ("delete", TagChange::Delete),
        ] {
            let ev = parse(&tag_xml(
                ct,
                "<Id><![CDATA[etTAG]]></Id><TagType><![CDATA[tag]]></TagType><StrategyId>7</StrategyId>",
            ));
            assert_eq!(
                ev,
                CallbackEvent::ExternalTag {
                    header: EventHeader::system("wwcorp", 1700000000),
                    id: "etTAG".into(),
                    tag_type: Some(TagType::Tag),
                    strategy_id: Some("7".into()),
                    change,
                }
            );
            assert_eq!(
                CallbackEvent::parse(&tag_xml(ct, "<TagType>tag</TagType>")),
                Err(ParseError::MissingField("Id"))
            );
        }
        let ev = parse(&tag_xml(
            "update",
            "<Id>etGROUP</Id><TagType>tag_group</TagType>",
        ));
        assert!(matches!(
            ev,
            CallbackEvent::ExternalTag {
                tag_type: Some(TagType::TagGroup),
                strategy_id: None,
                ..
            }
        ));
        // Shuffle: Id may be empty (all groups reordered).
        let ev = parse(&tag_xml("shuffle", "<Id><![CDATA[]]></Id>"));
        assert!(
            matches!(&ev, CallbackEvent::ExternalTag { id, change: TagChange::Shuffle, .. } if id.is_empty())
        );
        let ev = parse(&tag_xml(
            "shuffle",
            "<Id>etGROUP</Id><StrategyId>3</StrategyId>",
        ));
        assert!(
            matches!(&ev, CallbackEvent::ExternalTag { id, strategy_id: Some(_), .. } if id == "etGROUP")
        );
    }

    #[test]
    fn unknown_events_and_change_types_are_kept_not_failed() {
        let xml = "<xml><ToUserName>wwcorp</ToUserName><FromUserName>sys</FromUserName>\
                   <CreateTime>1700000000</CreateTime><MsgType>event</MsgType>\
                   <Event>customer_acquisition</Event><ChangeType>balance_low</ChangeType><LinkId>x</LinkId></xml>";
        assert_eq!(
            parse(xml),
            CallbackEvent::Unknown {
                header: EventHeader::system("wwcorp", 1700000000),
                event: Some("customer_acquisition".into()),
                change_type: Some("balance_low".into()),
                raw: xml.into(),
            }
        );
        // Known event, unknown change type.
        let xml = contact_xml("customer_scope_change", "");
        let ev = parse(&xml);
        assert!(
            matches!(&ev, CallbackEvent::Unknown { change_type: Some(c), .. } if c == "customer_scope_change")
        );
        assert_eq!(ev.event_name(), EVENT_EXTERNAL_CONTACT);
        assert_eq!(ev.to_xml(), xml);
        // Unknown tag change type.
        assert!(matches!(
            parse(&tag_xml("merge", "<Id>x</Id>")),
            CallbackEvent::Unknown { .. }
        ));
        // A plain text message (no Event at all).
        let ev = parse("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>");
        assert!(
            matches!(&ev, CallbackEvent::Unknown { event: None, change_type: None, header, .. } if header.msg_type == "text")
        );
        assert_eq!(ev.event_name(), "");
    }

    #[test]
    fn unknown_elements_are_ignored() {
        let with_extra = OFFICIAL_ADD.replace(
            "<State>",
            "<NewField>1</NewField><Nested><Deep><Item>z</Item></Deep></Nested><!-- note --><State>",
        );
        assert_eq!(parse(&with_extra), parse(OFFICIAL_ADD));
    }

    #[test]
    fn garbage_is_a_typed_error() {
        for (xml, code) in [
            ("", "malformed_xml"),
            ("hello", "malformed_xml"),
            ("<xml><ToUserName>a</ToUserName>", "malformed_xml"),
            ("<xml><ToUserName>a</FromUserName></xml>", "malformed_xml"),
            ("<xml></xml><xml></xml>", "malformed_xml"),
            ("<xml><A>&bogus;</A></xml>", "malformed_xml"),
            ("<root><ToUserName>a</ToUserName></root>", "bad_root"),
            (
                "<xml><FromUserName>sys</FromUserName></xml>",
                "missing_field",
            ),
        ] {
            let err = CallbackEvent::parse(xml).expect_err(xml);
            assert_eq!(err.code(), code, "{xml}: {err}");
        }
    }

    #[test]
    fn escaped_text_is_unescaped() {
        let xml = contact_xml("add_external_contact", "<State>a&amp;b&lt;c</State>");
        let CallbackEvent::ExternalContact {
            change: ContactChange::Add { state, .. },
            ..
        } = parse(&xml)
        else {
            panic!()
        };
        assert_eq!(state.as_deref(), Some("a&b<c"));
    }

    #[test]
    fn decimal_is_to_string() {
        for v in [0, 7, -7, 10, 1_700_000_000, i64::MAX, i64::MIN, -1] {
            assert_eq!(decimal(v, &mut [0; 20]), v.to_string());
        }
    }

    #[test]
    fn dedupe_keys_tell_same_second_adds_apart_and_match_redeliveries() {
        let add = |ext: &str| CallbackEvent::ExternalContact {
            header: EventHeader::system("wwcorp", 1700000000),
            user_id: "zhangsan".into(),
            external_user_id: ext.into(),
            change: ContactChange::Add {
                state: Some("ch".into()),
                welcome_code: Some(format!("W-{ext}")),
            },
        };
        let a = add("wmA");
        let b = add("wmB");
        assert_ne!(a.dedupe_key(), b.dedupe_key());
        // A re-delivery (same XML, even formatted differently) has the same key.
        let redelivered = parse(&a.to_xml().replace('\n', "\n  "));
        assert_eq!(redelivered, a);
        assert_eq!(redelivered.dedupe_key(), a.dedupe_key());
        assert_eq!(a.dedupe_key().len(), 64);
        // Different corp, second, change type or member list: different keys.
        let mut other_corp = a.clone();
        if let CallbackEvent::ExternalContact { header, .. } = &mut other_corp {
            header.to_user_name = "wwother".into();
        }
        assert_ne!(other_corp.dedupe_key(), a.dedupe_key());
        let chat = |members: &[&str], ver: &str| CallbackEvent::ExternalChat {
            header: EventHeader::system("wwcorp", 1700000000),
            chat_id: "wrC".into(),
            change: ChatChange::Update(ChatUpdate {
                mem_change_list: members.iter().map(|m| m.to_string()).collect(),
                cur_mem_ver: Some(ver.into()),
                ..ChatUpdate::new(UpdateDetail::AddMember)
            }),
        };
        assert_ne!(
            chat(&["a", "b"], "v").dedupe_key(),
            chat(&["ab"], "v").dedupe_key()
        );
        assert_ne!(
            chat(&["a"], "v1").dedupe_key(),
            chat(&["a"], "v2").dedupe_key()
        );
        assert_eq!(
            chat(&["a"], "v1").dedupe_key(),
            chat(&["a"], "v1").dedupe_key()
        );
        // Unknown events hash their whole XML.
        let u1 = parse(&contact_xml("new_kind", "<X>1</X>"));
        let u2 = parse(&contact_xml("new_kind", "<X>2</X>"));
        assert_ne!(u1.dedupe_key(), u2.dedupe_key());
    }

    #[test]
    fn to_xml_matches_wecom_shape() {
        let ev = parse(OFFICIAL_ADD);
        let xml = ev.to_xml();
        assert!(
            xml.starts_with("<xml><ToUserName><![CDATA[toUser]]></ToUserName>\n"),
            "{xml}"
        );
        assert!(xml.contains("<CreateTime>1403610513</CreateTime>"), "{xml}");
        assert!(
            xml.contains("<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>"),
            "{xml}"
        );
        assert_eq!(parse(&xml), ev);
        let chat = parse(OFFICIAL_CHAT_ADD_MEMBER);
        let xml = chat.to_xml();
        assert!(xml.contains("<JoinScene>1</JoinScene>"), "{xml}");
        assert!(xml.contains("<MemChangeList><Item><![CDATA[Jack]]></Item><Item><![CDATA[Rose]]></Item></MemChangeList>"), "{xml}");
        assert_eq!(parse(&xml), chat);
        // CDATA terminators inside values survive.
        let tricky = CallbackEvent::ExternalContact {
            header: EventHeader::system("wwcorp", 1),
            user_id: "u]]>x".into(),
            external_user_id: "e".into(),
            change: ContactChange::Edit {
                state: Some("<s>&".into()),
            },
        };
        assert_eq!(parse(&tricky.to_xml()), tricky);
    }

    fn text() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_\\-]{1,24}|[\\p{Han}a-z<>&\\]]{1,12}"
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }

    fn any_event() -> impl Strategy<Value = CallbackEvent> {
        let header = (text(), 0i64..4_000_000_000)
            .prop_map(|(corp, t)| EventHeader::system(&corp, t))
            .boxed();
        let contact_change = prop_oneof![
            (opt_text(), opt_text()).prop_map(|(state, welcome_code)| ContactChange::Add {
                state,
                welcome_code
            }),
            (opt_text(), opt_text()).prop_map(|(state, welcome_code)| ContactChange::AddHalf {
                state,
                welcome_code
            }),
            opt_text().prop_map(|state| ContactChange::Edit { state }),
            opt_text().prop_map(|s| ContactChange::Delete {
                source: s.map(|s| DeleteSource::parse(&s))
            }),
            Just(ContactChange::DeleteFollowUser),
            opt_text().prop_map(|s| ContactChange::TransferFail {
                fail_reason: s.map(|s| TransferFailReason::parse(&s))
            }),
        ];
        let update = (
            text(),
            proptest::option::of(-5i64..10),
            proptest::option::of(0i64..3),
            proptest::option::of(0i64..500),
            proptest::collection::vec(text(), 0..5),
            opt_text(),
            opt_text(),
        )
            .prop_map(
                |(
                    d,
                    join_scene,
                    quit_scene,
                    mem_change_cnt,
                    mem_change_list,
                    last_mem_ver,
                    cur_mem_ver,
                )| {
                    ChatUpdate {
                        detail: UpdateDetail::parse(&d),
                        join_scene,
                        quit_scene,
                        mem_change_cnt,
                        mem_change_list,
                        last_mem_ver,
                        cur_mem_ver,
                    }
                },
            );
        let chat_change = prop_oneof![
            Just(ChatChange::Create),
            Just(ChatChange::Dismiss),
            update.prop_map(ChatChange::Update),
        ];
        let tag_change = prop_oneof![
            Just(TagChange::Create),
            Just(TagChange::Update),
            Just(TagChange::Delete),
        ];
        prop_oneof![
            (header.clone(), text(), text(), contact_change).prop_map(
                |(header, user_id, external_user_id, change)| {
                    CallbackEvent::ExternalContact {
                        header,
                        user_id,
                        external_user_id,
                        change,
                    }
                }
            ),
            (header.clone(), text(), chat_change).prop_map(|(header, chat_id, change)| {
                CallbackEvent::ExternalChat {
                    header,
                    chat_id,
                    change,
                }
            }),
            (header.clone(), text(), opt_text(), opt_text(), tag_change).prop_map(
                |(header, id, tt, strategy_id, change)| CallbackEvent::ExternalTag {
                    header,
                    id,
                    tag_type: tt.map(|t| TagType::parse(&t)),
                    strategy_id,
                    change,
                }
            ),
            (header, proptest::option::of(text()), opt_text(), opt_text()).prop_map(
                |(header, id, tt, strategy_id)| CallbackEvent::ExternalTag {
                    header,
                    id: id.unwrap_or_default(),
                    tag_type: tt.map(|t| TagType::parse(&t)),
                    strategy_id,
                    change: TagChange::Shuffle,
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn decimal_matches_to_string(v in any::<i64>()) {
            let mut buf = [0; 20];
            prop_assert_eq!(decimal(v, &mut buf), v.to_string());
        }

        #[test]
        fn to_xml_then_parse_round_trips(ev in any_event()) {
            let xml = ev.to_xml();
            let back = CallbackEvent::parse(&xml).expect("own XML parses");
            prop_assert_eq!(&back, &ev);
            prop_assert_eq!(back.dedupe_key(), ev.dedupe_key());
        }

        #[test]
        fn arbitrary_input_never_panics(input in "\\PC{0,300}") {
            let _ = CallbackEvent::parse(&input);
            let _ = FlatXml::parse(&format!("<xml>{input}</xml>"));
        }
    }
}
