//! The endpoints: WeCom's JSON shapes and errcodes, built from the seeded state. Bodies are
//! written with `json!` and WeCom's literal field names, independently of the client's
//! types, so that a misnamed field on either side fails the tests.
use super::model::*;
use rand::Rng;
use scrm_core::wecom::api::paths;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// An errcode and its message, or the fields of a successful answer.
pub(super) type Reply = Result<Value, (i64, String)>;

/// A welcome code's life, in seconds.
pub(super) const WELCOME_CODE_SECS: i64 = 20;

/// WeCom's token lifetime.
pub(super) const TOKEN_TTL: Duration = Duration::from_secs(7200);

fn fail(code: i64, msg: &str) -> Reply {
    Err((code, msg.to_string()))
}

/// An errmsg shaped like WeCom's (`…, hint: […], from ip: …, more info at …`).
pub(super) fn errmsg(code: i64, msg: &str, seq: u64) -> String {
    format!(
        "{msg}, hint: [{seq:010}_fake], from ip: 127.0.0.1, more info at \
         https://open.work.weixin.qq.com/devtool/query?e={code}"
    )
}

/// The errmsg for an injected fault.
pub(super) fn fault_message(code: i64) -> &'static str {
    match code {
        -1 => "system busy",
        45009 => "api freq out of limit",
        45033 => "api concurrent out of limit",
        60020 => "not allow to access from your ip",
        40014 => "invalid access_token",
        42001 => "access_token expired",
        41063 => "msg is sending, please try later",
        _ => "injected error",
    }
}

/// Which method each path takes; `None` for paths the fake does not serve.
pub(super) fn method_of(path: &str) -> Option<&'static str> {
    Some(match path {
        paths::GETTOKEN
        | paths::GET_FOLLOW_USER_LIST
        | paths::EXTERNAL_CONTACT_LIST
        | paths::EXTERNAL_CONTACT_GET
        | paths::GET_MOMENT_TASK_RESULT
        | paths::AUTH_GETUSERINFO
        | paths::GET_JSAPI_TICKET
        | paths::TICKET_GET
        | paths::USER_GET => "GET",
        paths::BATCH_GET_BY_USER
        | paths::GROUPCHAT_LIST
        | paths::GROUPCHAT_GET
        | paths::GET_CORP_TAG_LIST
        | paths::MARK_TAG
        | paths::SEND_WELCOME_MSG
        | paths::ADD_CONTACT_WAY
        | paths::UPDATE_CONTACT_WAY
        | paths::DEL_CONTACT_WAY
        | paths::GET_CONTACT_WAY
        | paths::LIST_CONTACT_WAY
        | paths::EXTERNAL_CONTACT_REMARK
        | paths::ADD_JOIN_WAY
        | paths::GET_JOIN_WAY
        | paths::UPDATE_JOIN_WAY
        | paths::DEL_JOIN_WAY
        | paths::MESSAGE_SEND
        | paths::ADD_MSG_TEMPLATE
        | paths::GET_GROUPMSG_TASK
        | paths::GET_GROUPMSG_SEND_RESULT
        | paths::GET_GROUPMSG_LIST_V2
        | paths::GET_MOMENT_LIST
        | paths::ADD_MOMENT_TASK
        | paths::GET_MOMENT_TASK
        | paths::UNIONID_TO_EXTERNAL_USERID => "POST",
        _ => return None,
    })
}

pub(super) fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

pub(super) fn str_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(super) fn str_list(body: &Value, name: &str) -> Vec<String> {
    body.get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn int_field(body: &Value, name: &str) -> Option<i64> {
    match body.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Cursors are opaque to clients; the fake encodes an offset.
fn parse_cursor(raw: Option<&str>) -> Result<usize, (i64, String)> {
    match raw {
        None | Some("") => Ok(0),
        Some(c) => c
            .strip_prefix("CUR")
            .and_then(|n| n.parse().ok())
            .ok_or((40058, "invalid cursor".to_string())),
    }
}

fn page<T: Clone>(items: &[T], offset: usize, limit: usize) -> (Vec<T>, String) {
    let end = offset.saturating_add(limit).min(items.len());
    let slice = items
        .get(offset..end)
        .map(<[T]>::to_vec)
        .unwrap_or_default();
    let next = if end < items.len() {
        format!("CUR{end}")
    } else {
        String::new()
    };
    (slice, next)
}

/// WeCom's app messages a member may receive from one app within [`APP_MESSAGE_WINDOW_SECS`].
const APP_MESSAGES_PER_MEMBER: usize = 30;
/// The window of [`APP_MESSAGES_PER_MEMBER`].
const APP_MESSAGE_WINDOW_SECS: i64 = 60;

impl State {
    /// `gettoken`: same token while it is valid, a new one after expiry or invalidation.
    pub(super) fn gettoken(&mut self, query: &HashMap<String, String>) -> Reply {
        let Some(corp_id) = query.get("corpid").filter(|c| !c.is_empty()) else {
            return fail(41002, "corpid missing");
        };
        let Some(secret) = query.get("corpsecret").filter(|s| !s.is_empty()) else {
            return fail(41004, "corpsecret missing");
        };
        if !self.apps.iter().any(|a| &a.corp_id == corp_id) {
            return fail(40013, "invalid corpid");
        }
        let Some(app) = self
            .apps
            .iter()
            .find(|a| &a.corp_id == corp_id && &a.secret == secret)
            .cloned()
        else {
            return fail(40001, "invalid credential");
        };
        let now = Instant::now();
        if let Some((token, issued)) = self
            .tokens
            .iter()
            .find(|(_, t)| t.corp_id == app.corp_id && t.secret == app.secret && t.expires_at > now)
        {
            let remaining = issued.expires_at.saturating_duration_since(now).as_secs();
            return Ok(json!({"access_token": token, "expires_in": remaining}));
        }
        let token = format!("{}{}", random_hex(24), self.next_seq());
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                corp_id: app.corp_id,
                secret: app.secret,
                agent_id: app.agent_id,
                expires_at: now + TOKEN_TTL,
            },
        );
        Ok(json!({"access_token": token, "expires_in": TOKEN_TTL.as_secs()}))
    }

    /// Checks `access_token` the way WeCom does: 41001 missing, 40014 unknown, 42001 expired.
    pub(super) fn authenticate(
        &self,
        query: &HashMap<String, String>,
    ) -> Result<IssuedToken, (i64, String)> {
        let Some(token) = query.get("access_token").filter(|t| !t.is_empty()) else {
            return Err((41001, "access_token missing".into()));
        };
        let Some(issued) = self.tokens.get(token) else {
            return Err((40014, "invalid access_token".into()));
        };
        if issued.expires_at <= Instant::now() {
            return Err((42001, "access_token expired".into()));
        }
        Ok(issued.clone())
    }

    /// Routes an authenticated call.
    pub(super) fn route(
        &mut self,
        path: &str,
        token: &IssuedToken,
        query: &HashMap<String, String>,
        body: &Value,
    ) -> Reply {
        let corp_id = token.corp_id.clone();
        match path {
            paths::GET_FOLLOW_USER_LIST => self.get_follow_user_list(&corp_id),
            paths::EXTERNAL_CONTACT_LIST => self.external_contact_list(&corp_id, query),
            paths::EXTERNAL_CONTACT_GET => self.external_contact_get(&corp_id, query),
            paths::BATCH_GET_BY_USER => self.batch_get_by_user(&corp_id, body),
            paths::GROUPCHAT_LIST => self.groupchat_list(&corp_id, body),
            paths::GROUPCHAT_GET => self.groupchat_get(&corp_id, body),
            paths::GET_CORP_TAG_LIST => self.get_corp_tag_list(&corp_id, body),
            paths::MARK_TAG => self.mark_tag(&corp_id, body),
            paths::SEND_WELCOME_MSG => self.send_welcome_msg(&corp_id, body),
            paths::ADD_CONTACT_WAY
            | paths::UPDATE_CONTACT_WAY
            | paths::DEL_CONTACT_WAY
            | paths::GET_CONTACT_WAY
            | paths::LIST_CONTACT_WAY
            | paths::EXTERNAL_CONTACT_REMARK => {
                super::contact_way::route(self, path, &corp_id, body)
            }
            paths::ADD_JOIN_WAY
            | paths::GET_JOIN_WAY
            | paths::UPDATE_JOIN_WAY
            | paths::DEL_JOIN_WAY => super::join_way::route(self, path, &corp_id, body),
            paths::MESSAGE_SEND => self.message_send(&corp_id, token.agent_id, body),
            paths::ADD_MSG_TEMPLATE => self.add_msg_template(&corp_id, body),
            paths::GET_GROUPMSG_TASK => self.get_groupmsg_task(&corp_id, body),
            paths::GET_GROUPMSG_SEND_RESULT => self.get_groupmsg_send_result(&corp_id, body),
            paths::GET_GROUPMSG_LIST_V2 => self.get_groupmsg_list_v2(&corp_id, body),
            paths::GET_MOMENT_LIST => self.get_moment_list(&corp_id, body),
            paths::ADD_MOMENT_TASK => self.add_moment_task(&corp_id, body),
            paths::GET_MOMENT_TASK_RESULT => self.get_moment_task_result(&corp_id, query),
            paths::GET_MOMENT_TASK => self.get_moment_task(&corp_id, body),
            paths::AUTH_GETUSERINFO => self.auth_getuserinfo(&corp_id, query),
            paths::USER_GET => self.user_get(&corp_id, query),
            paths::GET_JSAPI_TICKET | paths::TICKET_GET => super::jsapi::ticket(path, token, query),
            paths::UNIONID_TO_EXTERNAL_USERID => self.unionid_to_external_userid(&corp_id, body),
            _ => fail(40058, "unknown api"),
        }
    }

    /// Every member except those who left (the fake treats every member as having customer
    /// contact enabled), ordered by userid.
    fn get_follow_user_list(&mut self, corp_id: &str) -> Reply {
        let corp = self.corp(corp_id);
        let ids: Vec<&String> = corp
            .staff
            .values()
            .filter(|s| s.status != FakeStaffStatus::Resigned)
            .map(|s| &s.userid)
            .collect();
        Ok(json!({"follow_user": ids}))
    }

    fn external_contact_list(&mut self, corp_id: &str, query: &HashMap<String, String>) -> Reply {
        let Some(userid) = query.get("userid").filter(|u| !u.is_empty()) else {
            return fail(40058, "userid missing");
        };
        let corp = self.corp(corp_id);
        if !corp.staff.contains_key(userid) {
            return fail(60111, "userid not found");
        }
        let ids: Vec<&String> = corp
            .customers
            .values()
            .filter(|c| c.follow(userid).is_some())
            .map(|c| &c.external_userid)
            .collect();
        if ids.is_empty() {
            return fail(84061, "not external contact");
        }
        Ok(json!({"external_userid": ids}))
    }

    fn contact_json(customer: &FakeCustomer) -> Value {
        let mut contact = json!({
            "external_userid": customer.external_userid,
            "name": customer.name,
            "avatar": format!("https://wework.qpic.cn/fake/{}/0", customer.external_userid),
            "type": customer.contact_type,
            "gender": customer.gender,
        });
        if let Some(unionid) = &customer.unionid {
            contact["unionid"] = json!(unionid);
        }
        contact
    }

    fn follow_common(follow: &FakeFollow) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("userid".into(), json!(follow.userid));
        m.insert("remark".into(), json!(follow.remark));
        m.insert("description".into(), json!(follow.description));
        m.insert("createtime".into(), json!(follow.createtime));
        m.insert("remark_corp_name".into(), json!(""));
        m.insert("remark_mobiles".into(), json!([]));
        m.insert("add_way".into(), json!(follow.add_way));
        if let Some(oper) = &follow.oper_userid {
            m.insert("oper_userid".into(), json!(oper));
        }
        if let Some(state) = &follow.state {
            m.insert("state".into(), json!(state));
        }
        m
    }

    fn external_contact_get(&mut self, corp_id: &str, query: &HashMap<String, String>) -> Reply {
        let page_size = self.follow_page_size.max(1);
        let offset = parse_cursor(query.get("cursor").map(String::as_str))?;
        let corp = self.corp(corp_id);
        let Some(customer) = query
            .get("external_userid")
            .and_then(|id| corp.customers.get(id))
        else {
            return fail(40096, "invalid external userid");
        };
        let follows: Vec<Value> = customer
            .follows
            .iter()
            .map(|f| {
                let mut m = Self::follow_common(f);
                let tags: Vec<Value> = f
                    .tag_ids
                    .iter()
                    .filter_map(|id| corp.tag(id))
                    .map(|(g, t)| {
                        json!({"group_name": g.group_name, "tag_name": t.name, "tag_id": t.id, "type": 1})
                    })
                    .collect();
                m.insert("tags".into(), json!(tags));
                Value::Object(m)
            })
            .collect();
        let (follow_user, next_cursor) = page(&follows, offset, page_size);
        Ok(json!({
            "external_contact": Self::contact_json(customer),
            "follow_user": follow_user,
            "next_cursor": next_cursor,
        }))
    }

    fn batch_get_by_user(&mut self, corp_id: &str, body: &Value) -> Reply {
        let userids = str_list(body, "userid_list");
        if userids.is_empty() || userids.len() > 100 {
            return fail(40058, "userid_list must hold 1 to 100 userids");
        }
        let limit = int_field(body, "limit").unwrap_or(50).clamp(1, 100) as usize;
        let offset = parse_cursor(str_field(body, "cursor"))?;
        let corp = self.corp(corp_id);
        let unlicensed: Vec<&String> = userids
            .iter()
            .filter(|u| corp.staff.get(*u).is_some_and(|s| !s.licensed))
            .collect();
        if unlicensed.len() == userids.len() {
            return fail(701008, "all userids have no interconnection license");
        }
        let mut records = Vec::new();
        for userid in userids.iter().filter(|u| !unlicensed.contains(u)) {
            for customer in corp.customers.values() {
                if let Some(follow) = customer.follow(userid) {
                    let mut info = Self::follow_common(follow);
                    info.insert("tag_id".into(), json!(follow.tag_ids));
                    records.push(json!({
                        "external_contact": Self::contact_json(customer),
                        "follow_info": Value::Object(info),
                    }));
                }
            }
        }
        let (list, next_cursor) = page(&records, offset, limit);
        let mut reply = json!({"external_contact_list": list, "next_cursor": next_cursor});
        if !unlicensed.is_empty() {
            reply["fail_info"] = json!({"unlicensed_userid_list": unlicensed});
        }
        Ok(reply)
    }

    fn groupchat_list(&mut self, corp_id: &str, body: &Value) -> Reply {
        let Some(limit) = int_field(body, "limit").filter(|l| (1..=1000).contains(l)) else {
            return fail(40058, "limit must be 1 to 1000");
        };
        let owners = body
            .get("owner_filter")
            .map(|f| str_list(f, "userid_list"))
            .unwrap_or_default();
        if owners.len() > 100 {
            return fail(40058, "owner_filter.userid_list exceeds 100");
        }
        let status = int_field(body, "status_filter").unwrap_or(0);
        let offset = parse_cursor(str_field(body, "cursor"))?;
        let corp = self.corp(corp_id);
        if owners.is_empty() && corp.staff.len() > 1000 {
            return fail(81017, "too many members in range, use owner_filter");
        }
        let groups: Vec<Value> = corp
            .groups
            .values()
            .filter(|g| owners.is_empty() || owners.contains(&g.owner))
            .filter(|g| status == 0 || g.status == status)
            .map(|g| json!({"chat_id": g.chat_id, "status": g.status}))
            .collect();
        let (list, next_cursor) = page(&groups, offset, limit as usize);
        Ok(json!({"group_chat_list": list, "next_cursor": next_cursor}))
    }

    fn groupchat_get(&mut self, corp_id: &str, body: &Value) -> Reply {
        let need_name = int_field(body, "need_name") == Some(1);
        let corp = self.corp(corp_id);
        let Some(group) = str_field(body, "chat_id").and_then(|id| corp.groups.get(id)) else {
            return fail(40050, "chatid not exist");
        };
        let members: Vec<Value> = group
            .members
            .iter()
            .map(|m| {
                let mut v = json!({
                    "userid": m.userid,
                    "type": m.member_type,
                    "join_time": m.join_time,
                    "join_scene": m.join_scene,
                    "group_nickname": m.group_nickname,
                });
                if let Some(invitor) = &m.invitor {
                    v["invitor"] = json!({"userid": invitor});
                }
                if need_name {
                    v["name"] = json!(m.name);
                }
                if let Some(state) = &m.state {
                    v["state"] = json!(state);
                }
                v
            })
            .collect();
        let admins: Vec<Value> = group.admins.iter().map(|a| json!({"userid": a})).collect();
        let mut chat = json!({
            "chat_id": group.chat_id,
            "name": group.name,
            "owner": group.owner,
            "create_time": group.create_time,
            "member_list": members,
            "admin_list": admins,
            "member_version": group.member_version,
        });
        if let Some(notice) = &group.notice {
            chat["notice"] = json!(notice);
        }
        Ok(json!({"group_chat": chat}))
    }

    fn get_corp_tag_list(&mut self, corp_id: &str, body: &Value) -> Reply {
        let tag_ids = str_list(body, "tag_id");
        let group_ids = str_list(body, "group_id");
        let corp = self.corp(corp_id);
        let groups: Vec<Value> = corp
            .tag_groups
            .iter()
            .filter(|g| group_ids.is_empty() || group_ids.contains(&g.group_id))
            .filter_map(|g| {
                let tags: Vec<Value> = g
                    .tags
                    .iter()
                    .filter(|t| !group_ids.is_empty() || tag_ids.is_empty() || tag_ids.contains(&t.id))
                    .map(|t| json!({"id": t.id, "name": t.name, "create_time": t.create_time, "order": t.order}))
                    .collect();
                (!tags.is_empty()).then(|| {
                    json!({
                        "group_id": g.group_id,
                        "group_name": g.group_name,
                        "create_time": g.create_time,
                        "order": g.order,
                        "tag": tags,
                    })
                })
            })
            .collect();
        Ok(json!({"tag_group": groups}))
    }

    fn mark_tag(&mut self, corp_id: &str, body: &Value) -> Reply {
        let add = str_list(body, "add_tag");
        let remove = str_list(body, "remove_tag");
        if add.is_empty() && remove.is_empty() {
            return fail(40058, "add_tag and remove_tag are both empty");
        }
        let (Some(userid), Some(external_userid)) = (
            str_field(body, "userid"),
            str_field(body, "external_userid"),
        ) else {
            return fail(40058, "userid and external_userid are required");
        };
        let corp = self.corp(corp_id);
        if let Some(bad) = add.iter().chain(&remove).find(|t| !corp.tag_exists(t)) {
            return Err((40068, format!("invalid tagid {bad}")));
        }
        let Some(customer) = corp.customers.get_mut(external_userid) else {
            return fail(40096, "invalid external userid");
        };
        let Some(follow) = customer.follows.iter_mut().find(|f| f.userid == userid) else {
            return fail(84061, "not external contact");
        };
        follow.tag_ids.retain(|t| !remove.contains(t));
        for tag in add {
            if !follow.tag_ids.contains(&tag) {
                follow.tag_ids.push(tag);
            }
        }
        Ok(json!({}))
    }

    fn send_welcome_msg(&mut self, corp_id: &str, body: &Value) -> Reply {
        self.check_media_ids(corp_id, body, false)?;
        let Some(code) = str_field(body, "welcome_code") else {
            return fail(40058, "welcome_code missing");
        };
        let has_text = body
            .get("text")
            .and_then(|t| t.get("content"))
            .and_then(Value::as_str)
            .is_some_and(|c| !c.is_empty());
        let has_attachments = body
            .get("attachments")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if !has_text && !has_attachments {
            return fail(40058, "text and attachments are both empty");
        }
        let now = self.now_secs();
        let corp = self.corp(corp_id);
        let expired = corp
            .welcome_issued
            .get(code)
            .is_some_and(|issued| now - issued > WELCOME_CODE_SECS);
        match corp.welcome_codes.get_mut(code) {
            None => fail(41050, "welcome_code expired or invalid"),
            Some(_) if expired => fail(41050, "welcome_code expired"),
            Some(used) if *used => fail(41051, "welcome_code already used"),
            Some(used) => {
                *used = true;
                corp.welcomes.push(body.clone());
                Ok(json!({}))
            }
        }
    }

    fn message_send(&mut self, corp_id: &str, token_agent: Option<i64>, body: &Value) -> Reply {
        let Some(agentid) = int_field(body, "agentid") else {
            return fail(40056, "invalid agentid");
        };
        if token_agent.is_some_and(|a| a != agentid) {
            return fail(40056, "invalid agentid");
        }
        let msgtype = str_field(body, "msgtype").unwrap_or_default();
        if !["text", "textcard", "markdown", "news", "template_card"].contains(&msgtype) {
            return fail(40008, "invalid message type");
        }
        if body.get(msgtype).is_none() {
            return fail(40058, "message body missing");
        }
        let touser = str_field(body, "touser").unwrap_or_default().to_string();
        let seq = self.next_seq();
        let corp = self.corp(corp_id);
        let requested: Vec<String> = if touser == "@all" {
            corp.staff.keys().cloned().collect()
        } else {
            touser
                .split('|')
                .filter(|u| !u.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut invalid = Vec::new();
        let mut unlicensed = Vec::new();
        let mut delivered = 0;
        for u in &requested {
            match corp.staff.get(u) {
                Some(s) if s.status == FakeStaffStatus::Active && s.licensed => delivered += 1,
                Some(s) if s.status == FakeStaffStatus::Active => unlicensed.push(u.clone()),
                _ => invalid.push(u.clone()),
            }
        }
        if delivered == 0 {
            return fail(81013, "user & party & tag all invalid");
        }
        // enable_duplicate_check: the same message to the same recipients from the same app
        // within the interval (default 1800 s, at most 4 hours) is accepted but not delivered.
        let now = self.now_secs();
        let corp = self.corp(corp_id);
        let fingerprint = json!([agentid, touser, msgtype, body.get(msgtype)]).to_string();
        let interval = int_field(body, "duplicate_check_interval")
            .unwrap_or(1800)
            .clamp(0, 4 * 3600);
        let duplicate = int_field(body, "enable_duplicate_check") == Some(1)
            && corp
                .app_message_seen
                .get(&fingerprint)
                .is_some_and(|at| now - at < interval);
        if !duplicate {
            // WeCom's limit of 30 messages a minute per app and member (doc 90454): beyond
            // it the message is accepted (errcode 0) and silently not delivered to them.
            let mut reached = 0;
            for u in requested
                .iter()
                .filter(|u| !invalid.contains(u) && !unlicensed.contains(u))
            {
                let times = corp
                    .app_message_times
                    .entry(format!("{agentid}|{u}"))
                    .or_default();
                times.retain(|at| now - at < APP_MESSAGE_WINDOW_SECS);
                if times.len() >= APP_MESSAGES_PER_MEMBER {
                    corp.app_messages_dropped.push(u.clone());
                } else {
                    times.push(now);
                    reached += 1;
                }
            }
            corp.app_message_seen.insert(fingerprint, now);
            if reached > 0 {
                corp.app_messages.push(body.clone());
            }
        }
        let mut reply = json!({"msgid": format!("appmsg{seq}")});
        if !invalid.is_empty() {
            reply["invaliduser"] = json!(invalid.join("|"));
        }
        if !unlicensed.is_empty() {
            reply["unlicenseduser"] = json!(unlicensed.join("|"));
        }
        Ok(reply)
    }

    fn add_msg_template(&mut self, corp_id: &str, body: &Value) -> Reply {
        self.check_media_ids(corp_id, body, false)?;
        let chat_type = str_field(body, "chat_type").unwrap_or("single").to_string();
        if chat_type != "single" && chat_type != "group" {
            return fail(40058, "invalid chat_type");
        }
        let sender = str_field(body, "sender").map(str::to_string);
        let external = str_list(body, "external_userid");
        let chats = str_list(body, "chat_id_list");
        let text_len = body
            .get("text")
            .and_then(|t| t.get("content"))
            .and_then(Value::as_str)
            .map_or(0, str::len);
        let attachments = body
            .get("attachments")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if text_len == 0 && attachments == 0 {
            return fail(40058, "text and attachments are both empty");
        }
        if text_len > 4000 || external.len() > 10_000 || chats.len() > 2_000 {
            return fail(40058, "field exceeds its limit");
        }
        if attachments > 9 {
            return fail(41064, "too many attachments");
        }
        if chat_type == "group" && sender.is_none() {
            return fail(40058, "sender is required for group messages");
        }
        let seq = self.next_seq();
        let now = self.now_secs();
        let corp = self.corp(corp_id);
        if let Some(s) = &sender {
            if !corp.is_active(s) {
                return fail(40003, "invalid userid");
            }
        }
        let mut fail_list = Vec::new();
        let mut results = Vec::new();
        if chat_type == "single" {
            let targets: Vec<String> = if external.is_empty() {
                let s = sender.clone().unwrap_or_default();
                corp.customers
                    .values()
                    .filter(|c| c.follow(&s).is_some())
                    .map(|c| c.external_userid.clone())
                    .collect()
            } else {
                external
            };
            for target in targets {
                let follower = corp.customers.get(&target).and_then(|c| match &sender {
                    Some(s) => c.follow(s).map(|f| f.userid.clone()),
                    None => c
                        .follows
                        .iter()
                        .find(|f| corp.is_active(&f.userid))
                        .map(|f| f.userid.clone()),
                });
                match follower {
                    Some(userid) => results.push(SendRecord {
                        userid,
                        target,
                        status: 0,
                        send_time: None,
                    }),
                    None => fail_list.push(target),
                }
            }
        } else {
            let s = sender.clone().unwrap_or_default();
            let targets: Vec<String> = if chats.is_empty() {
                corp.groups
                    .values()
                    .filter(|g| g.owner == s)
                    .map(|g| g.chat_id.clone())
                    .collect()
            } else {
                chats
            };
            for target in targets {
                if corp.groups.get(&target).is_some_and(|g| g.owner == s) {
                    results.push(SendRecord {
                        userid: s.clone(),
                        target,
                        status: 0,
                        send_time: None,
                    });
                } else {
                    fail_list.push(target);
                }
            }
        }
        if results.is_empty() {
            return fail(41048, "no customer can be sent to");
        }
        let msgid = format!("msg{}{seq}", random_hex(6));
        let senders = results
            .iter()
            .map(|r| (r.userid.clone(), (0, None)))
            .collect();
        corp.msg_tasks.insert(
            msgid.clone(),
            MsgTask {
                created: seq,
                create_time: now,
                creator: sender.clone().unwrap_or_default(),
                text: body
                    .get("text")
                    .and_then(|t| t.get("content"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                chat_type,
                senders,
                results,
            },
        );
        Ok(json!({"fail_list": fail_list, "msgid": msgid}))
    }

    fn get_groupmsg_task(&mut self, corp_id: &str, body: &Value) -> Reply {
        let limit = int_field(body, "limit").unwrap_or(500).clamp(1, 1000) as usize;
        let offset = parse_cursor(str_field(body, "cursor"))?;
        let corp = self.corp(corp_id);
        let Some(task) = str_field(body, "msgid").and_then(|m| corp.msg_tasks.get(m)) else {
            return fail(40058, "invalid msgid");
        };
        let list: Vec<Value> = task
            .senders
            .iter()
            .map(|(userid, (status, send_time))| {
                let mut v = json!({"userid": userid, "status": status});
                if let Some(t) = send_time {
                    v["send_time"] = json!(t);
                }
                v
            })
            .collect();
        let (task_list, next_cursor) = page(&list, offset, limit);
        Ok(json!({"task_list": task_list, "next_cursor": next_cursor}))
    }

    fn get_groupmsg_send_result(&mut self, corp_id: &str, body: &Value) -> Reply {
        let limit = int_field(body, "limit").unwrap_or(500).clamp(1, 1000) as usize;
        let offset = parse_cursor(str_field(body, "cursor"))?;
        let Some(userid) = str_field(body, "userid").map(str::to_string) else {
            return fail(40058, "userid missing");
        };
        let corp = self.corp(corp_id);
        let Some(task) = str_field(body, "msgid").and_then(|m| corp.msg_tasks.get(m)) else {
            return fail(40058, "invalid msgid");
        };
        let group = task.chat_type == "group";
        let key = if group { "chat_id" } else { "external_userid" };
        let list: Vec<Value> = task
            .results
            .iter()
            .filter(|r| r.userid == userid)
            // WeCom lists only the groups already sent for group messages.
            .filter(|r| !group || r.status == 1)
            .map(|r| {
                let mut v = json!({key: r.target, "userid": r.userid, "status": r.status});
                if let Some(t) = r.send_time {
                    v["send_time"] = json!(t);
                }
                v
            })
            .collect();
        let (send_list, next_cursor) = page(&list, offset, limit);
        Ok(json!({"send_list": send_list, "next_cursor": next_cursor}))
    }

    /// `start_time`/`end_time` of a list request: both required, at most a month apart.
    fn time_window(body: &Value) -> Result<(i64, i64), (i64, String)> {
        let (Some(start), Some(end)) = (int_field(body, "start_time"), int_field(body, "end_time"))
        else {
            return Err((40058, "start_time and end_time are required".into()));
        };
        if end < start || end - start > 31 * 86_400 {
            return Err((40058, "the time range is longer than one month".into()));
        }
        Ok((start, end))
    }

    fn get_groupmsg_list_v2(&mut self, corp_id: &str, body: &Value) -> Reply {
        let Some(chat_type) = str_field(body, "chat_type").map(str::to_string) else {
            return fail(40058, "chat_type is required");
        };
        let (start, end) = Self::time_window(body)?;
        let creator = str_field(body, "creator").map(str::to_string);
        // 0 corp-created, 1 personal, 2 both (the default); every task here is corp-created.
        let filter_type = int_field(body, "filter_type").unwrap_or(2);
        let limit = int_field(body, "limit").unwrap_or(50).clamp(1, 100) as usize;
        let offset = parse_cursor(str_field(body, "cursor"))?;
        let corp = self.corp(corp_id);
        let mut tasks: Vec<(&String, &MsgTask)> = corp
            .msg_tasks
            .iter()
            .filter(|(_, t)| t.chat_type == chat_type)
            .filter(|(_, t)| (start..=end).contains(&t.create_time))
            .filter(|(_, t)| creator.as_ref().is_none_or(|c| *c == t.creator))
            .filter(|_| filter_type != 1)
            .collect();
        tasks.sort_by_key(|(_, t)| t.created);
        let list: Vec<Value> = tasks
            .iter()
            .map(|(msgid, t)| {
                json!({
                    "msgid": msgid,
                    "creator": t.creator,
                    "create_time": t.create_time.to_string(),
                    "create_type": 0,
                    "text": {"content": t.text},
                    "attachments": [],
                })
            })
            .collect();
        let (group_msg_list, next_cursor) = page(&list, offset, limit);
        Ok(json!({"group_msg_list": group_msg_list, "next_cursor": next_cursor}))
    }

    fn get_moment_list(&mut self, corp_id: &str, body: &Value) -> Reply {
        let (start, end) = Self::time_window(body)?;
        let filter_type = int_field(body, "filter_type").unwrap_or(2);
        let limit = int_field(body, "limit").unwrap_or(100).clamp(1, 100) as usize;
        let offset = parse_cursor(str_field(body, "cursor"))?;
        let corp = self.corp(corp_id);
        let mut moments: Vec<(&String, &FakeMoment)> = corp
            .moments
            .iter()
            .filter(|(_, m)| (start..=end).contains(&m.create_time))
            .filter(|_| filter_type != 1)
            .collect();
        moments.sort_by_key(|(_, m)| m.created);
        let list: Vec<Value> = moments
            .iter()
            .map(|(moment_id, m)| {
                json!({
                    "moment_id": moment_id,
                    "creator": "",
                    "create_time": m.create_time.to_string(),
                    "create_type": 0,
                    "visible_type": 1,
                    "text": {"content": m.text},
                })
            })
            .collect();
        let (moment_list, next_cursor) = page(&list, offset, limit);
        Ok(json!({"moment_list": moment_list, "next_cursor": next_cursor}))
    }

    fn add_moment_task(&mut self, corp_id: &str, body: &Value) -> Reply {
        self.check_media_ids(corp_id, body, true)?;
        let attachments = body
            .get("attachments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let text = body
            .get("text")
            .and_then(|t| t.get("content"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if text.is_empty() && attachments.is_empty() {
            return fail(40058, "text and attachments are both empty");
        }
        let kinds: Vec<&str> = attachments
            .iter()
            .filter_map(|a| a.get("msgtype").and_then(Value::as_str))
            .collect();
        let images = kinds.iter().filter(|k| **k == "image").count();
        let others = kinds.len() - images;
        if kinds.len() != attachments.len()
            || !((others == 0 && images <= 9) || (images == 0 && others <= 1))
        {
            return fail(40058, "invalid attachments msgtype");
        }
        let senders = body
            .get("visible_range")
            .and_then(|v| v.get("sender_list"))
            .map(|s| str_list(s, "user_list"))
            .unwrap_or_default();
        let seq = self.next_seq();
        let now = self.now_secs();
        let text = text.to_string();
        let corp = self.corp(corp_id);
        let invalid: Vec<&String> = senders.iter().filter(|s| !corp.is_active(s)).collect();
        let jobid = format!("job{}{seq}", random_hex(8));
        let moment_id = format!("moment{seq}");
        // Without a sender list every active member is asked to publish.
        let publishers: BTreeMap<String, i64> = if senders.is_empty() {
            corp.staff
                .values()
                .filter(|s| s.status == FakeStaffStatus::Active)
                .map(|s| (s.userid.clone(), 0))
                .collect()
        } else {
            senders
                .iter()
                .filter(|s| corp.is_active(s))
                .map(|s| (s.clone(), 0))
                .collect()
        };
        corp.moments.insert(
            moment_id.clone(),
            FakeMoment {
                created: seq,
                create_time: now,
                text,
                publish: publishers,
            },
        );
        let outcome = json!({
            "errcode": 0,
            "errmsg": "ok",
            "moment_id": moment_id,
            "invalid_sender_list": {"user_list": invalid, "department_list": []},
            "invalid_external_contact_list": {"tag_list": []},
        });
        corp.moment_jobs.insert(jobid.clone(), outcome);
        Ok(json!({"jobid": jobid}))
    }

    fn get_moment_task_result(&mut self, corp_id: &str, query: &HashMap<String, String>) -> Reply {
        let corp = self.corp(corp_id);
        let Some(outcome) = query.get("jobid").and_then(|j| corp.moment_jobs.get(j)) else {
            return fail(40058, "invalid jobid");
        };
        Ok(json!({"status": 3, "type": "add_moment_task", "result": outcome}))
    }

    fn get_moment_task(&mut self, corp_id: &str, body: &Value) -> Reply {
        let limit = int_field(body, "limit").unwrap_or(500).clamp(1, 1000) as usize;
        let offset = parse_cursor(str_field(body, "cursor"))?;
        let corp = self.corp(corp_id);
        let Some(moment) = str_field(body, "moment_id").and_then(|m| corp.moments.get(m)) else {
            return fail(40058, "invalid moment_id");
        };
        let list: Vec<Value> = moment
            .publish
            .iter()
            .map(|(userid, status)| json!({"userid": userid, "publish_status": status}))
            .collect();
        let (task_list, next_cursor) = page(&list, offset, limit);
        Ok(json!({"task_list": task_list, "next_cursor": next_cursor}))
    }

    fn auth_getuserinfo(&mut self, corp_id: &str, query: &HashMap<String, String>) -> Reply {
        let Some(code) = query.get("code").filter(|c| !c.is_empty()).cloned() else {
            return fail(41008, "missing code");
        };
        let corp = self.corp(corp_id);
        let Some(entry) = corp.oauth_codes.get(&code).cloned() else {
            return fail(40029, "invalid code");
        };
        // Single-use and 5 minutes, like WeCom's: a used or expired code is 40029.
        if !entry.reusable {
            corp.oauth_codes.remove(&code);
        }
        if entry.expires_at.is_some_and(|at| at <= Instant::now()) {
            return fail(40029, "invalid code");
        }
        match entry.visitor {
            Some((openid, external_userid)) => {
                let mut who = json!({"openid": openid});
                if let Some(id) = external_userid {
                    who["external_userid"] = json!(id);
                }
                Ok(who)
            }
            None => Ok(json!({"userid": entry.userid})),
        }
    }

    fn user_get(&mut self, corp_id: &str, query: &HashMap<String, String>) -> Reply {
        let corp = self.corp(corp_id);
        let staff = query
            .get("userid")
            .and_then(|u| corp.staff.get(u))
            .filter(|s| s.status != FakeStaffStatus::Resigned);
        let Some(staff) = staff else {
            return fail(60111, "userid not found");
        };
        Ok(json!({
            "userid": staff.userid,
            "name": staff.name,
            "department": [1],
            "status": staff.status_code(),
        }))
    }

    fn unionid_to_external_userid(&mut self, corp_id: &str, body: &Value) -> Reply {
        let (Some(unionid), Some(openid)) = (str_field(body, "unionid"), str_field(body, "openid"))
        else {
            return fail(40058, "unionid and openid are required");
        };
        let corp = self.corp(corp_id);
        match corp.unionids.get(unionid) {
            Some(m) if m.openid == openid => match &m.target {
                UnionTarget::Customer(id) => Ok(json!({"external_userid": id})),
                UnionTarget::Pending(id) => Ok(json!({"pending_id": id})),
            },
            Some(_) => fail(40003, "invalid openid"),
            None => fail(84061, "not external contact"),
        }
    }
}
