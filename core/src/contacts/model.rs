//! The directory's values: customers with their follow relations, groups with their
//! memberships, and known staff members. These are what the admin API shows and what the
//! callback effects and the re-sync write; WeCom's wire shapes stay in [`crate::wecom`].
use crate::events::RemovedBy;
use serde::{Deserialize, Serialize};

/// A customer (外部联系人) as the directory knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The customer's id in this corp.
    pub external_userid: String,
    /// WeChat nickname or WeCom name, once fetched from WeCom.
    pub name: Option<String>,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// 1 WeChat user, 2 WeCom user.
    pub contact_type: Option<i64>,
    /// 0 unknown, 1 male, 2 female.
    pub gender: Option<i64>,
    /// WeChat unionid, when the corp has bound a developer account.
    pub unionid: Option<String>,
    /// Company (WeCom users only).
    pub corp_name: Option<String>,
    /// Position (WeCom users only).
    pub position: Option<String>,
    /// Whether WeCom's detail could not be fetched when the last change arrived: a re-sync
    /// fills it in.
    pub needs_sync: bool,
    /// The last transfer that failed for this customer (`transfer_fail`).
    pub last_transfer_failure: Option<TransferFailure>,
    /// Epoch seconds of the newest change applied.
    pub updated_at: i64,
}

/// A failed customer transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferFailure {
    /// The member who was to take the customer over.
    pub userid: String,
    /// `customer_refused` or `customer_limit_exceed`.
    pub reason: String,
    /// When (epoch seconds).
    pub at: i64,
}

/// A tag on a follow relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationTag {
    /// Corp tag id (corp and rule-group tags only).
    pub tag_id: Option<String>,
    /// Tag group name, when known.
    pub group_name: Option<String>,
    /// Tag name, when known.
    pub tag_name: Option<String>,
    /// 1 corp tag, 2 personal tag, 3 rule-group tag.
    pub tag_type: i64,
}

/// The state of a follow relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationStatus {
    /// The member and the customer are contacts.
    Active,
    /// The customer added a member who has "no verification" on; not yet confirmed.
    Half,
    /// One of them removed the other.
    Removed,
}

impl RelationStatus {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RelationStatus::Active => "active",
            RelationStatus::Half => "half",
            RelationStatus::Removed => "removed",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(RelationStatus::Active),
            "half" => Some(RelationStatus::Half),
            "removed" => Some(RelationStatus::Removed),
            _ => None,
        }
    }
}

/// One staff member following a customer (WeCom's follow_user), kept after removal with
/// who removed whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowRelation {
    /// The customer.
    pub external_userid: String,
    /// The staff member.
    pub userid: String,
    /// Active, half-added or removed.
    pub status: RelationStatus,
    /// The member's remark on the customer.
    pub remark: Option<String>,
    /// The member's description of the customer.
    pub description: Option<String>,
    /// Tags on this relation.
    pub tags: Vec<RelationTag>,
    /// WeCom's add_way (an open enum; see `wecom::api::add_way`).
    pub add_way: Option<i64>,
    /// The add channel: the `state` of the Contact Me code.
    pub state: Option<String>,
    /// When the member added the customer (epoch seconds).
    pub createtime: Option<i64>,
    /// Who initiated the add.
    pub oper_userid: Option<String>,
    /// Who removed whom, once removed.
    pub removed_by: Option<RemovedBy>,
    /// `DELETE_BY_TRANSFER` when removed by an on-job transfer.
    pub removed_source: Option<String>,
    /// When it was removed (epoch seconds).
    pub removed_at: Option<i64>,
    /// Whether WeCom's detail (remark, tags) could not be fetched at the last change.
    pub needs_sync: bool,
    /// Epoch seconds of the newest change applied.
    pub updated_at: i64,
}

/// A customer with every follow relation (active and removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerView {
    /// The customer.
    #[serde(flatten)]
    pub customer: Customer,
    /// Their follow relations.
    pub follow_users: Vec<FollowRelation>,
}

/// A customer group (客户群).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The group.
    pub chat_id: String,
    /// Group name, once known.
    pub name: Option<String>,
    /// Owner member, once known.
    pub owner: Option<String>,
    /// Group notice.
    pub notice: Option<String>,
    /// Creation time (epoch seconds).
    pub create_time: Option<i64>,
    /// Current members (staff and customers).
    pub member_count: i64,
    /// WeCom's owner-transfer status: 0 normal, 1 awaiting transfer, 2 transferring,
    /// 3 transferred.
    pub status: i64,
    /// Whether the group was dismissed.
    pub dismissed: bool,
    /// WeCom's member-list version after the newest membership change applied.
    pub member_version: Option<String>,
    /// Whether WeCom's detail could not be fetched at the last change.
    pub needs_sync: bool,
    /// Epoch seconds of the newest change applied.
    pub updated_at: i64,
}

/// Someone's membership of a group, kept after they leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The group.
    pub chat_id: String,
    /// A customer's external_userid or a staff member's userid.
    pub member_id: String,
    /// Whether the member is a customer (WeCom member type 2).
    pub is_customer: bool,
    /// Whether they are in the group now.
    pub active: bool,
    /// When they joined (epoch seconds).
    pub join_time: Option<i64>,
    /// WeCom's join scene: an open integer (callback: 0 invited, 3 QR code; API: 1 direct
    /// invite, 2 link, 3 QR code).
    pub join_scene: Option<i64>,
    /// Who invited them.
    pub invitor: Option<String>,
    /// Nickname in the group.
    pub group_nickname: Option<String>,
    /// Name, when WeCom gave it.
    pub name: Option<String>,
    /// The 「加入群聊」 state they joined through.
    pub state: Option<String>,
    /// When they left (epoch seconds).
    pub left_at: Option<i64>,
    /// WeCom's quit scene: 0 left, 1 removed by owner or admin.
    pub quit_scene: Option<i64>,
    /// Epoch seconds of the newest change applied.
    pub updated_at: i64,
}

/// A group with its memberships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    /// The group.
    #[serde(flatten)]
    pub group: Group,
    /// Members, current and past.
    pub members: Vec<Membership>,
}

/// A customer's membership of a group, with the group's name and state (a customer's
/// groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberGroup {
    /// The membership.
    #[serde(flatten)]
    pub membership: Membership,
    /// The group's name, when known.
    pub group_name: Option<String>,
    /// Whether the group was dismissed.
    pub group_dismissed: bool,
}

/// A staff member's status as the directory last recorded it (from WeCom's
/// `get_follow_user_list` and `user/get`, during a re-sync). SOP dispatch reads it so that
/// no task is assigned to someone who left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffState {
    /// Active (listed by `get_follow_user_list`, or `user/get` status 1).
    Active,
    /// Disabled by an admin (`user/get` status 2).
    Disabled,
    /// Invited, never activated (`user/get` status 4).
    NotActivated,
    /// Left the corp (`user/get` status 5, or WeCom no longer knows the userid).
    Departed,
    /// A status WeCom may add.
    Other,
}

impl StaffState {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            StaffState::Active => "active",
            StaffState::Disabled => "disabled",
            StaffState::NotActivated => "not_activated",
            StaffState::Departed => "departed",
            StaffState::Other => "other",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "active" => StaffState::Active,
            "disabled" => StaffState::Disabled,
            "not_activated" => StaffState::NotActivated,
            "departed" => StaffState::Departed,
            "other" => StaffState::Other,
            _ => return None,
        })
    }
}

/// A staff member the directory knows (seen as a follow user, a group owner or member, or
/// listed by WeCom as having customer contact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    /// The member's userid.
    pub userid: String,
    /// The last recorded status; `None` until a re-sync has checked it.
    pub status: Option<StaffState>,
    /// Epoch seconds of the check that recorded `status`.
    pub status_at: Option<i64>,
    /// When the directory recorded the departure (epoch seconds): part of the
    /// `StaffDeparted` event id, so a retried publication carries the same id.
    pub departed_at: Option<i64>,
    /// Whether `StaffDeparted` was published for this departure.
    pub departure_published: bool,
    /// When the directory first saw the member (epoch seconds).
    pub first_seen_at: Option<i64>,
}

impl StaffMember {
    /// Whether the member left the corp.
    pub fn departed(&self) -> bool {
        self.status == Some(StaffState::Departed)
    }
}

/// A page of a listing with the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
