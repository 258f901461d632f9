//! 「加入群聊」 join ways (`groupchat/add_join_way`, `get_join_way`, `update_join_way`,
//! `del_join_way`) with WeCom's checks and errcodes: at most 5 groups the corp has (40050
//! for one it does not), a state of at most 30 characters, a room base name of at most 40
//! (40058), the remark cut to 30 characters; `add_join_way` answers the config id only and
//! `get_join_way` the QR code.
use super::contact_way::QR_PICTURE;
use super::handlers::{int_field, random_hex, str_field, str_list, Reply};
use super::model::State;
use serde::Serialize;
use serde_json::{json, Value};

/// A join way as the fake keeps it (and `get_join_way` answers it).
#[derive(Clone, Debug, Serialize)]
pub struct FakeJoinWay {
    /// WeCom's id.
    pub config_id: String,
    /// 1 mini-program, 2 QR.
    pub scene: i64,
    /// Remark (cut to 30 characters).
    pub remark: String,
    /// 1: new groups are created when the last is full.
    pub auto_create_room: i64,
    /// The created groups' name prefix.
    pub room_base_name: String,
    /// The first created group's number.
    pub room_base_id: i64,
    /// The groups offered.
    pub chat_id_list: Vec<String>,
    /// The state.
    pub state: String,
    /// The QR code's URL (scene 2).
    pub qr_code: String,
}

fn fail(code: i64, msg: &str) -> Reply {
    Err((code, msg.to_string()))
}

/// Serves one join way call.
pub(super) fn route(state: &mut State, path: &str, corp_id: &str, body: &Value) -> Reply {
    use scrm_core::wecom::api::paths;
    let id = str_field(body, "config_id").unwrap_or_default().to_string();
    match path {
        paths::ADD_JOIN_WAY => {
            let config_id = random_hex(16);
            let way = settings(state, corp_id, body, &config_id)?;
            state.corp(corp_id).join_ways.insert(config_id.clone(), way);
            Ok(json!({ "config_id": config_id }))
        }
        paths::UPDATE_JOIN_WAY => {
            let Some(qr_code) = state
                .corp(corp_id)
                .join_ways
                .get(&id)
                .map(|w| w.qr_code.clone())
            else {
                return fail(40058, "invalid config_id");
            };
            let mut way = settings(state, corp_id, body, &id)?;
            way.qr_code = qr_code;
            state.corp(corp_id).join_ways.insert(id, way);
            Ok(json!({}))
        }
        paths::GET_JOIN_WAY => match state.corp(corp_id).join_ways.get(&id) {
            Some(w) => Ok(json!({ "join_way": w })),
            None => fail(40058, "invalid config_id"),
        },
        _ => match state.corp(corp_id).join_ways.remove(&id) {
            Some(_) => Ok(json!({})),
            None => fail(40058, "invalid config_id"),
        },
    }
}

/// A join way from a create or update body, checked as WeCom does.
fn settings(
    state: &mut State,
    corp_id: &str,
    body: &Value,
    config_id: &str,
) -> Result<FakeJoinWay, (i64, String)> {
    let Some(scene @ (1 | 2)) = int_field(body, "scene") else {
        return Err((40058, "scene is required (1 or 2)".into()));
    };
    let chats = str_list(body, "chat_id_list");
    if chats.is_empty() || chats.len() > 5 {
        return Err((40058, "chat_id_list holds 1-5 groups".into()));
    }
    if let Some(bad) = chats
        .iter()
        .find(|c| !state.corp(corp_id).groups.contains_key(*c))
    {
        return Err((40050, format!("chatid not exist: {bad}")));
    }
    let way_state = body
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if way_state.chars().count() > 30 {
        return Err((40058, "state exceeds 30 characters".into()));
    }
    let room_base_name = body
        .get("room_base_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if room_base_name.chars().count() > 40 {
        return Err((40058, "room_base_name exceeds 40 characters".into()));
    }
    let qr_code = if scene != 2 {
        String::new()
    } else if state.public_base.is_empty() {
        format!("https://wework.qpic.cn/wwpic/fake/{config_id}/0")
    } else {
        // A picture a browser can show, served by the fake itself.
        format!(
            "{}{}",
            state.public_base,
            QR_PICTURE.replace("{config_id}", config_id)
        )
    };
    Ok(FakeJoinWay {
        config_id: config_id.to_string(),
        scene,
        remark: body
            .get("remark")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .chars()
            .take(30)
            .collect(),
        // WeCom's default is to create rooms.
        auto_create_room: int_field(body, "auto_create_room").unwrap_or(1),
        room_base_name: room_base_name.to_string(),
        room_base_id: int_field(body, "room_base_id").unwrap_or(1),
        chat_id_list: chats,
        state: way_state.to_string(),
        qr_code,
    })
}

/// WeCom's limit on a customer group's members.
pub const GROUP_MEMBER_LIMIT: usize = 200;

/// A group membership change the fake made, with the callback WeCom would send.
#[derive(Clone, Debug)]
pub struct FakeGroupChange {
    /// The group.
    pub chat_id: String,
    /// The customer.
    pub external_userid: String,
    /// When (server time, epoch s).
    pub at: i64,
    /// The callback's plaintext XML (`change_external_chat` / `update`).
    pub xml: String,
}

fn change_xml(
    corp_id: &str,
    at: i64,
    chat_id: &str,
    detail: &str,
    scene: (&str, i64),
    member: &str,
    versions: (&str, &str),
) -> String {
    let (scene_field, scene_value) = scene;
    let (last, cur) = versions;
    format!(
        "<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[{chat_id}]]></ChatId>\
         <ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[{detail}]]></UpdateDetail>\
         <{scene_field}>{scene_value}</{scene_field}><MemChangeCnt>1</MemChangeCnt>\
         <MemChangeList><Item><![CDATA[{member}]]></Item></MemChangeList>\
         <LastMemVer><![CDATA[{last}]]></LastMemVer><CurMemVer><![CDATA[{cur}]]></CurMemVer></xml>"
    )
}

/// A customer scans the join way with `state`: they join its first group that is not full
/// (by QR code, with the way's state, as `groupchat/get` then lists them), and the callback
/// WeCom would send is answered. `None` when no way has the state, or every group is full.
pub(super) fn scan(
    state: &mut State,
    corp_id: &str,
    way_state: &str,
    external_userid: &str,
    name: &str,
) -> Option<FakeGroupChange> {
    let at = state.now_secs();
    let seq = state.next_seq();
    let corp = state.corp(corp_id);
    let way = corp.join_ways.values().find(|w| w.state == way_state)?;
    let chat_id = way
        .chat_id_list
        .iter()
        .find(|c| {
            corp.groups
                .get(*c)
                .is_some_and(|g| g.members.len() < GROUP_MEMBER_LIMIT)
        })?
        .clone();
    let group = corp.groups.get_mut(&chat_id)?;
    group.members.retain(|m| m.userid != external_userid);
    let mut member = super::model::FakeMember::customer(external_userid, name);
    member.join_time = at;
    member.state = Some(way_state.to_string());
    group.members.push(member);
    let last = std::mem::replace(&mut group.member_version, format!("v{seq}"));
    let xml = change_xml(
        corp_id,
        at,
        &chat_id,
        "add_member",
        ("JoinScene", 3),
        external_userid,
        (&last, &group.member_version),
    );
    Some(FakeGroupChange {
        chat_id,
        external_userid: external_userid.to_string(),
        at,
        xml,
    })
}

/// The customer leaves the group by themselves; the callback WeCom would send is answered.
/// `None` when they are not in it.
pub(super) fn leave(
    state: &mut State,
    corp_id: &str,
    chat_id: &str,
    external_userid: &str,
) -> Option<FakeGroupChange> {
    let at = state.now_secs();
    let seq = state.next_seq();
    let group = state.corp(corp_id).groups.get_mut(chat_id)?;
    let before = group.members.len();
    group.members.retain(|m| m.userid != external_userid);
    if group.members.len() == before {
        return None;
    }
    let last = std::mem::replace(&mut group.member_version, format!("v{seq}"));
    let xml = change_xml(
        corp_id,
        at,
        chat_id,
        "del_member",
        ("QuitScene", 0),
        external_userid,
        (&last, &group.member_version),
    );
    Some(FakeGroupChange {
        chat_id: chat_id.to_string(),
        external_userid: external_userid.to_string(),
        at,
        xml,
    })
}
