//! What the fake server knows: the seedable directory of one corp, and the server's own
//! bookkeeping (apps, tokens, faults, counters).
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// A member's status as the fake reports it through `user/get` and uses for sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeStaffStatus {
    /// Activated (user/get status 1).
    Active,
    /// Disabled by an admin (status 2).
    Disabled,
    /// Never activated (status 4).
    NotActivated,
    /// Left the corp: `user/get` answers 60111, messages to them are rejected.
    Resigned,
}

/// A member (员工).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeStaff {
    /// The member's userid.
    pub userid: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: FakeStaffStatus,
    /// Whether the member holds an interconnection licence (unlicensed members show up in
    /// `batch/get_by_user`'s `fail_info` and `message/send`'s `unlicenseduser`).
    pub licensed: bool,
}

impl FakeStaff {
    /// An active, licensed member.
    pub fn active(userid: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            userid: userid.into(),
            name: name.into(),
            status: FakeStaffStatus::Active,
            licensed: true,
        }
    }

    /// A member who left the corp.
    pub fn resigned(userid: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            status: FakeStaffStatus::Resigned,
            ..Self::active(userid, name)
        }
    }

    pub(super) fn status_code(&self) -> i64 {
        match self.status {
            FakeStaffStatus::Active => 1,
            FakeStaffStatus::Disabled => 2,
            FakeStaffStatus::NotActivated => 4,
            FakeStaffStatus::Resigned => 5,
        }
    }
}

/// One member following a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeFollow {
    /// The member.
    pub userid: String,
    /// Remark.
    pub remark: String,
    /// Description.
    pub description: String,
    /// When added (epoch s).
    pub createtime: i64,
    /// Corp tag ids on this relation.
    pub tag_ids: Vec<String>,
    /// Channel `state`.
    pub state: Option<String>,
    /// How the customer was added.
    pub add_way: i64,
    /// Who initiated the add.
    pub oper_userid: Option<String>,
}

impl FakeFollow {
    /// A follow by `userid`, added now by QR code.
    pub fn new(userid: impl Into<String>) -> Self {
        let userid = userid.into();
        Self {
            oper_userid: Some(userid.clone()),
            userid,
            remark: String::new(),
            description: String::new(),
            createtime: chrono::Utc::now().timestamp(),
            tag_ids: Vec::new(),
            state: None,
            add_way: 1,
        }
    }

    /// With these corp tags.
    pub fn with_tags(mut self, tag_ids: &[&str]) -> Self {
        self.tag_ids = tag_ids.iter().map(|t| t.to_string()).collect();
        self
    }

    /// Came through the channel code with this `state`.
    pub fn with_state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }
}

/// A customer (外部联系人).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeCustomer {
    /// The customer's id.
    pub external_userid: String,
    /// Name.
    pub name: String,
    /// 1 WeChat user, 2 WeCom user.
    pub contact_type: i64,
    /// 0 unknown, 1 male, 2 female.
    pub gender: i64,
    /// WeChat unionid, when bound.
    pub unionid: Option<String>,
    /// Members following them.
    pub follows: Vec<FakeFollow>,
}

impl FakeCustomer {
    /// A WeChat customer nobody follows yet.
    pub fn new(external_userid: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            external_userid: external_userid.into(),
            name: name.into(),
            contact_type: 1,
            gender: 0,
            unionid: None,
            follows: Vec::new(),
        }
    }

    /// Adds a follower.
    pub fn followed_by(mut self, follow: FakeFollow) -> Self {
        self.follows.push(follow);
        self
    }

    pub(super) fn follow(&self, userid: &str) -> Option<&FakeFollow> {
        self.follows.iter().find(|f| f.userid == userid)
    }
}

/// A member of a customer group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeMember {
    /// userid (member) or external_userid (customer).
    pub userid: String,
    /// 1 member, 2 external.
    pub member_type: i64,
    /// Join time (epoch s).
    pub join_time: i64,
    /// 1 direct invite, 2 link, 3 QR.
    pub join_scene: i64,
    /// Who invited them.
    pub invitor: Option<String>,
    /// Nickname in the group.
    pub group_nickname: String,
    /// Name (returned with need_name).
    pub name: String,
    /// The 「加入群聊」 state.
    pub state: Option<String>,
}

impl FakeMember {
    /// A corp member, joined now by direct invite.
    pub fn staff(userid: impl Into<String>) -> Self {
        let userid = userid.into();
        Self {
            name: userid.clone(),
            userid,
            member_type: 1,
            join_time: chrono::Utc::now().timestamp(),
            join_scene: 1,
            invitor: None,
            group_nickname: String::new(),
            state: None,
        }
    }

    /// A customer, joined now by QR code.
    pub fn customer(external_userid: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            userid: external_userid.into(),
            member_type: 2,
            join_time: chrono::Utc::now().timestamp(),
            join_scene: 3,
            invitor: None,
            group_nickname: String::new(),
            name: name.into(),
            state: None,
        }
    }
}

/// A customer group (客户群).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeGroup {
    /// The group.
    pub chat_id: String,
    /// Name.
    pub name: String,
    /// Owner member.
    pub owner: String,
    /// Notice.
    pub notice: Option<String>,
    /// Creation time (epoch s).
    pub create_time: i64,
    /// 0 normal, 1 awaiting transfer, 2 transferring, 3 transferred.
    pub status: i64,
    /// Members (the owner included).
    pub members: Vec<FakeMember>,
    /// Admin userids.
    pub admins: Vec<String>,
    /// Changes whenever membership changes.
    pub member_version: String,
}

impl FakeGroup {
    /// A group with its owner as the only member.
    pub fn new(
        chat_id: impl Into<String>,
        name: impl Into<String>,
        owner: impl Into<String>,
    ) -> Self {
        let owner = owner.into();
        Self {
            chat_id: chat_id.into(),
            name: name.into(),
            members: vec![FakeMember::staff(owner.clone())],
            owner,
            notice: None,
            create_time: chrono::Utc::now().timestamp(),
            status: 0,
            admins: Vec::new(),
            member_version: "1".into(),
        }
    }

    /// Adds a member.
    pub fn with_member(mut self, member: FakeMember) -> Self {
        self.members.push(member);
        self
    }
}

/// A corp tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeTag {
    /// Tag id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Order (larger first).
    pub order: i64,
    /// Creation time (epoch s).
    pub create_time: i64,
}

/// A corp tag group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeTagGroup {
    /// Group id.
    pub group_id: String,
    /// Name.
    pub group_name: String,
    /// Order (larger first).
    pub order: i64,
    /// Creation time (epoch s).
    pub create_time: i64,
    /// Tags.
    pub tags: Vec<FakeTag>,
}

impl FakeTagGroup {
    /// A group with tags given as `(id, name)`.
    pub fn new(
        group_id: impl Into<String>,
        group_name: impl Into<String>,
        tags: &[(&str, &str)],
    ) -> Self {
        let now = chrono::Utc::now().timestamp();
        Self {
            group_id: group_id.into(),
            group_name: group_name.into(),
            order: 0,
            create_time: now,
            tags: tags
                .iter()
                .map(|(id, name)| FakeTag {
                    id: id.to_string(),
                    name: name.to_string(),
                    order: 0,
                    create_time: now,
                })
                .collect(),
        }
    }
}

/// A mass-message task created through `add_msg_template`.
#[derive(Clone, Debug)]
pub(super) struct MsgTask {
    /// Server sequence number at creation (orders tasks).
    pub created: u64,
    /// Creation time (epoch s), the sender and the text, as `get_groupmsg_list_v2` lists them.
    pub create_time: i64,
    pub creator: String,
    pub text: String,
    pub chat_type: String,
    /// Per sender: (status 0 not sent / 2 sent, send_time).
    pub senders: BTreeMap<String, (i64, Option<i64>)>,
    pub results: Vec<SendRecord>,
}

#[derive(Clone, Debug)]
pub(super) struct SendRecord {
    pub userid: String,
    /// external_userid or chat_id.
    pub target: String,
    pub status: i64,
    pub send_time: Option<i64>,
}

#[derive(Clone, Debug)]
pub(super) enum UnionTarget {
    Customer(String),
    Pending(String),
}

#[derive(Clone, Debug)]
pub(super) struct UnionMapping {
    pub openid: String,
    pub target: UnionTarget,
}

#[derive(Clone, Debug)]
pub(super) struct OAuthCode {
    /// The member; empty for someone outside the corp (`visitor`).
    pub userid: String,
    /// Someone outside the corp: openid and, for a customer, external_userid.
    pub visitor: Option<(String, Option<String>)>,
    pub reusable: bool,
    /// Codes live 5 minutes (the demo's reusable codes do not expire).
    pub expires_at: Option<Instant>,
}

impl OAuthCode {
    /// WeCom's codes live 5 minutes.
    pub const TTL: Duration = Duration::from_secs(300);

    /// A single-use code of a member, living [`Self::TTL`].
    pub fn member(userid: &str) -> Self {
        Self {
            userid: userid.into(),
            visitor: None,
            reusable: false,
            expires_at: Some(Instant::now() + Self::TTL),
        }
    }

    /// A reusable code of a member that never expires (the demo's).
    pub fn reusable(userid: &str) -> Self {
        Self {
            reusable: true,
            expires_at: None,
            ..Self::member(userid)
        }
    }

    /// A single-use code of someone outside the corp.
    pub fn visitor(openid: &str, external_userid: Option<&str>) -> Self {
        Self {
            userid: String::new(),
            visitor: Some((openid.into(), external_userid.map(str::to_string))),
            ..Self::member("")
        }
    }
}

/// A Moments post created through `add_moment_task`: each sender's publication status
/// (0 not published, 1 published), as `get_moment_task` reports it.
#[derive(Clone, Debug)]
pub(super) struct FakeMoment {
    /// Server sequence number at creation (orders posts).
    pub created: u64,
    /// Creation time (epoch s) and text, as `get_moment_list` lists them.
    pub create_time: i64,
    pub text: String,
    pub publish: BTreeMap<String, i64>,
}

/// One corp's data.
#[derive(Default, Debug)]
pub(super) struct CorpData {
    pub staff: BTreeMap<String, FakeStaff>,
    pub customers: BTreeMap<String, FakeCustomer>,
    pub groups: BTreeMap<String, FakeGroup>,
    pub tag_groups: Vec<FakeTagGroup>,
    /// welcome_code → used.
    pub welcome_codes: HashMap<String, bool>,
    /// welcome_code → when it was issued (server time, epoch s): it expires 20 s later.
    /// Codes added without a time (the demo's) never expire.
    pub welcome_issued: HashMap<String, i64>,
    /// Welcome messages accepted (`send_welcome_msg` bodies, oldest first).
    pub welcomes: Vec<Value>,
    /// 「联系我」 codes by config_id.
    pub contact_ways: BTreeMap<String, super::contact_way::FakeContactWay>,
    /// 「加入群聊」 join ways by config_id.
    pub join_ways: BTreeMap<String, super::join_way::FakeJoinWay>,
    pub oauth_codes: HashMap<String, OAuthCode>,
    pub unionids: HashMap<String, UnionMapping>,
    pub msg_tasks: BTreeMap<String, MsgTask>,
    pub moment_jobs: HashMap<String, Value>,
    /// moment_id → the post's senders.
    pub moments: BTreeMap<String, FakeMoment>,
    /// App messages delivered to members (`message/send`), duplicates dropped.
    pub app_messages: Vec<Value>,
    /// `enable_duplicate_check`: message fingerprint → when it was last delivered (epoch s).
    pub app_message_seen: HashMap<String, i64>,
    /// WeCom's 30 app messages a minute per app and member: `{agentid}|{userid}` → when
    /// each message of the last minute reached them (epoch s).
    pub app_message_times: HashMap<String, Vec<i64>>,
    /// Recipients whose message the per-member limit dropped (WeCom answers 0 and drops
    /// them silently), one entry per dropped delivery.
    pub app_messages_dropped: Vec<String>,
    /// Hosts the in-app OAuth redirects to (the app's trusted domains); empty: any.
    pub trusted_domains: BTreeSet<String>,
}

impl CorpData {
    pub fn tag_exists(&self, id: &str) -> bool {
        self.tag_groups
            .iter()
            .any(|g| g.tags.iter().any(|t| t.id == id))
    }

    pub fn tag(&self, id: &str) -> Option<(&FakeTagGroup, &FakeTag)> {
        self.tag_groups
            .iter()
            .find_map(|g| g.tags.iter().find(|t| t.id == id).map(|t| (g, t)))
    }

    pub fn is_active(&self, userid: &str) -> bool {
        self.staff
            .get(userid)
            .is_some_and(|s| s.status == FakeStaffStatus::Active)
    }
}

/// An app whose secret `gettoken` accepts.
#[derive(Clone, Debug)]
pub(super) struct App {
    pub corp_id: String,
    pub secret: String,
    pub agent_id: Option<i64>,
}

#[derive(Clone, Debug)]
pub(super) struct IssuedToken {
    pub corp_id: String,
    pub secret: String,
    pub agent_id: Option<i64>,
    pub expires_at: Instant,
}

/// The whole server state behind one mutex (never held across an await).
#[derive(Debug)]
pub(super) struct State {
    pub apps: Vec<App>,
    pub tokens: HashMap<String, IssuedToken>,
    pub corps: BTreeMap<String, CorpData>,
    pub faults: HashMap<String, VecDeque<i64>>,
    pub delays: HashMap<String, Duration>,
    pub delay_all: Option<Duration>,
    /// Calls that take effect, then wait this long before answering (a client timing out
    /// sees no answer although the call took effect).
    pub delays_after: HashMap<String, Duration>,
    /// The server's clock (epoch s) when a test fixes it; the system clock otherwise.
    pub now_override: Option<i64>,
    pub calls: HashMap<String, usize>,
    pub requests: HashMap<String, Vec<Value>>,
    pub seq: u64,
    pub follow_page_size: usize,
    /// The WeChat official account served under `/mp`.
    pub mp: super::official::MpState,
    /// Per-API frequency limits a test set (none by default).
    pub limits: super::limits::FrequencyLimits,
    /// Where the fake is served (`http://127.0.0.1:PORT`), for the URLs it hands out that
    /// a browser opens (QR codes' pictures); empty until it listens.
    pub public_base: String,
    /// Uploaded temporary media by id (see `media`).
    pub media: HashMap<String, super::media::FakeMedia>,
    /// Pictures uploaded with `media/uploadimg`, by sequence: (content type, bytes), served
    /// at the URL the upload answered.
    pub pictures: HashMap<u64, (String, Vec<u8>)>,
}

impl State {
    pub fn new() -> Self {
        Self {
            apps: Vec::new(),
            tokens: HashMap::new(),
            corps: BTreeMap::new(),
            faults: HashMap::new(),
            delays: HashMap::new(),
            delay_all: None,
            delays_after: HashMap::new(),
            now_override: None,
            calls: HashMap::new(),
            requests: HashMap::new(),
            seq: 0,
            follow_page_size: 500,
            mp: Default::default(),
            limits: Default::default(),
            public_base: String::new(),
            media: HashMap::new(),
            pictures: HashMap::new(),
        }
    }

    /// The server's time (epoch s).
    pub fn now_secs(&self) -> i64 {
        self.now_override.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        })
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn corp(&mut self, corp_id: &str) -> &mut CorpData {
        self.corps.entry(corp_id.to_string()).or_default()
    }
}
