//! 「联系我」 codes (`add_contact_way`, `update_contact_way`, `del_contact_way`,
//! `get_contact_way`, `list_contact_way`) and a member's remark on a customer
//! (`externalcontact/remark`), with WeCom's errcodes for bad input; and what a test needs
//! to play a customer scanning a code: the add lands in the corp's data, a welcome code
//! (20 s, single use) is issued, and the callback's XML is handed back to be delivered.
use super::handlers::{int_field, random_hex, str_field, str_list, Reply};
use super::model::{FakeCustomer, FakeFollow, State};
use serde::Serialize;
use serde_json::{json, Value};

/// A code as the fake keeps it.
#[derive(Clone, Debug, Serialize)]
pub struct FakeContactWay {
    /// WeCom's id.
    pub config_id: String,
    /// 1 single, 2 multi.
    #[serde(rename = "type")]
    pub kind: i64,
    /// 1 mini-program, 2 QR.
    pub scene: i64,
    /// Remark.
    pub remark: String,
    /// Skip verification.
    pub skip_verify: bool,
    /// The state.
    pub state: String,
    /// The members.
    pub user: Vec<String>,
    /// The QR code's URL (scene 2).
    pub qr_code: String,
    /// Created (server time, epoch s).
    #[serde(skip)]
    pub created: i64,
    /// Customers added through it so far (the fake's rotation among its members).
    #[serde(skip)]
    pub adds: usize,
}

/// The route of a code's QR picture (`qr_code` of a scene-2 code when the fake listens).
pub(super) const QR_PICTURE: &str = "/_fake/qr/{config_id}";

/// A QR-code-like PNG for `config_id` (WeCom's QR pictures are PNG or JPEG, so that they can
/// be uploaded again with `media/uploadimg`): the three finder squares of a version-2 code
/// and modules derived from the id, so each code looks different on a page. Not scannable:
/// a customer's scan is played by `POST /_fake/scan` (see `inspect`).
pub(super) async fn qr_picture(
    axum::extract::Path(config_id): axum::extract::Path<String>,
) -> impl axum::response::IntoResponse {
    const N: usize = 25;
    const QUIET: usize = 2;
    const SCALE: usize = 6;
    let mut seed = config_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let finder = |r: usize, c: usize| -> Option<bool> {
        for (r0, c0) in [(0, 0), (0, N - 7), (N - 7, 0)] {
            if (r0..r0 + 7).contains(&r) && (c0..c0 + 7).contains(&c) {
                let (dr, dc) = (r - r0, c - c0);
                let ring = dr.min(dc).min(6 - dr).min(6 - dc);
                return Some(ring != 1);
            }
            if (r0.saturating_sub(1)..(r0 + 8).min(N)).contains(&r)
                && (c0.saturating_sub(1)..(c0 + 8).min(N)).contains(&c)
            {
                return Some(false);
            }
        }
        None
    };
    let side = N + 2 * QUIET;
    let mut dark = vec![false; side * side];
    for r in 0..N {
        for c in 0..N {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            dark[(r + QUIET) * side + c + QUIET] = finder(r, c).unwrap_or(seed & 1 == 1);
        }
    }
    let px = side * SCALE;
    let mut rows = Vec::with_capacity(px * (px + 1));
    for y in 0..px {
        rows.push(0u8); // filter: none
        for x in 0..px {
            let module = dark[(y / SCALE) * side + x / SCALE];
            rows.push(if module { 0 } else { 255 });
        }
    }
    (
        [(axum::http::header::CONTENT_TYPE, "image/png")],
        grey_png(px as u32, &rows),
    )
}

/// An 8-bit greyscale PNG of `rows` (each row a filter byte and its pixels), its image data
/// in stored (uncompressed) deflate blocks: enough for a fake's pictures.
fn grey_png(side: u32, rows: &[u8]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = rows.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in rows {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, no interlace
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn fail(code: i64, msg: &str) -> Reply {
    Err((code, msg.to_string()))
}

/// Serves one contact-way or remark call.
pub(super) fn route(state: &mut State, path: &str, corp_id: &str, body: &Value) -> Reply {
    use scrm_core::wecom::api::paths;
    match path {
        paths::ADD_CONTACT_WAY => add(state, corp_id, body),
        paths::UPDATE_CONTACT_WAY => update(state, corp_id, body),
        paths::DEL_CONTACT_WAY => {
            let id = str_field(body, "config_id").unwrap_or_default();
            match state.corp(corp_id).contact_ways.remove(id) {
                Some(_) => Ok(json!({})),
                None => fail(40058, "invalid config_id"),
            }
        }
        paths::GET_CONTACT_WAY => {
            let id = str_field(body, "config_id").unwrap_or_default();
            match state.corp(corp_id).contact_ways.get(id) {
                Some(w) => Ok(json!({ "contact_way": w })),
                None => fail(40058, "invalid config_id"),
            }
        }
        paths::LIST_CONTACT_WAY => list(state, corp_id, body),
        _ => remark(state, corp_id, body),
    }
}

/// The members' checks WeCom makes: known, active members; one for type 1; at most 100.
fn check_users(
    state: &mut State,
    corp_id: &str,
    kind: i64,
    users: &[String],
) -> Result<(), (i64, String)> {
    if users.is_empty() || users.len() > 100 || (kind == 1 && users.len() != 1) {
        return Err((40058, "invalid user list".into()));
    }
    let corp = state.corp(corp_id);
    if let Some(bad) = users.iter().find(|u| !corp.is_active(u)) {
        return Err((40003, format!("invalid userid {bad}")));
    }
    Ok(())
}

fn check_state(body: &Value) -> Result<String, (i64, String)> {
    let s = body
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if s.chars().count() > 30 {
        return Err((40058, "state exceeds 30 characters".into()));
    }
    Ok(s.to_string())
}

fn remark_of(body: &Value) -> Result<String, (i64, String)> {
    let r = body
        .get("remark")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if r.chars().count() > 30 {
        return Err((40058, "remark exceeds 30 characters".into()));
    }
    Ok(r.to_string())
}

fn add(state: &mut State, corp_id: &str, body: &Value) -> Reply {
    let (Some(kind @ (1 | 2)), Some(scene @ (1 | 2))) =
        (int_field(body, "type"), int_field(body, "scene"))
    else {
        return fail(40058, "type and scene are required (1 or 2)");
    };
    let users = str_list(body, "user");
    check_users(state, corp_id, kind, &users)?;
    let way_state = check_state(body)?;
    let remark = remark_of(body)?;
    let config_id = random_hex(16);
    let qr_code = if scene == 2 && !state.public_base.is_empty() {
        // A picture a browser can show, served by the fake itself.
        format!(
            "{}{}",
            state.public_base,
            QR_PICTURE.replace("{config_id}", &config_id)
        )
    } else if scene == 2 {
        format!("https://wework.qpic.cn/wwpic/fake/{config_id}/0")
    } else {
        String::new()
    };
    let created = state.now_secs();
    let way = FakeContactWay {
        config_id: config_id.clone(),
        kind,
        scene,
        remark,
        skip_verify: body
            .get("skip_verify")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        state: way_state,
        user: users,
        qr_code: qr_code.clone(),
        created,
        adds: 0,
    };
    state
        .corp(corp_id)
        .contact_ways
        .insert(config_id.clone(), way);
    Ok(if scene == 2 {
        json!({ "config_id": config_id, "qr_code": qr_code })
    } else {
        json!({ "config_id": config_id })
    })
}

fn update(state: &mut State, corp_id: &str, body: &Value) -> Reply {
    let id = str_field(body, "config_id").unwrap_or_default().to_string();
    let Some(kind) = state.corp(corp_id).contact_ways.get(&id).map(|w| w.kind) else {
        return fail(40058, "invalid config_id");
    };
    let users = str_list(body, "user");
    check_users(state, corp_id, kind, &users)?;
    let way_state = check_state(body)?;
    let remark = remark_of(body)?;
    let way = state
        .corp(corp_id)
        .contact_ways
        .get_mut(&id)
        .expect("checked above");
    way.user = users;
    way.state = way_state;
    way.remark = remark;
    if let Some(skip) = body.get("skip_verify").and_then(Value::as_bool) {
        way.skip_verify = skip;
    }
    Ok(json!({}))
}

fn list(state: &mut State, corp_id: &str, body: &Value) -> Reply {
    let now = state.now_secs();
    let start = int_field(body, "start_time").unwrap_or(now - 86_400);
    let end = int_field(body, "end_time").unwrap_or(now);
    if end < start || end - start > 31 * 86_400 {
        return fail(40058, "the range is at most 31 days");
    }
    let limit = int_field(body, "limit").unwrap_or(100).clamp(1, 1000) as usize;
    let offset: usize = str_field(body, "cursor")
        .and_then(|c| c.strip_prefix("CW"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut ways: Vec<&FakeContactWay> = state
        .corp(corp_id)
        .contact_ways
        .values()
        .filter(|w| w.created >= start && w.created <= end)
        .collect();
    ways.sort_by_key(|w| (w.created, w.config_id.clone()));
    let page: Vec<Value> = ways
        .iter()
        .skip(offset)
        .take(limit)
        .map(|w| json!({ "config_id": w.config_id }))
        .collect();
    let next = if offset + limit < ways.len() {
        format!("CW{}", offset + limit)
    } else {
        String::new()
    };
    Ok(json!({ "contact_way": page, "next_cursor": next }))
}

fn remark(state: &mut State, corp_id: &str, body: &Value) -> Reply {
    let (Some(userid), Some(external_userid)) = (
        str_field(body, "userid"),
        str_field(body, "external_userid"),
    ) else {
        return fail(40058, "userid and external_userid are required");
    };
    let remark = body
        .get("remark")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if remark.chars().count() > 20 {
        return fail(40058, "remark exceeds 20 characters");
    }
    let Some(customer) = state.corp(corp_id).customers.get_mut(external_userid) else {
        return fail(40096, "invalid external userid");
    };
    let Some(follow) = customer.follows.iter_mut().find(|f| f.userid == userid) else {
        return fail(84061, "not external contact");
    };
    follow.remark = remark.to_string();
    Ok(json!({}))
}

/// A customer's add through a code, as WeCom would call it back.
#[derive(Clone, Debug)]
pub struct FakeAdd {
    /// The member the code added the customer to.
    pub userid: String,
    /// The customer.
    pub external_userid: String,
    /// The code's state.
    pub state: String,
    /// The welcome code issued (20 s, single use).
    pub welcome_code: String,
    /// When (server time, epoch s).
    pub at: i64,
    /// The callback's plaintext XML (`change_external_contact` / `add_external_contact`).
    pub xml: String,
}

/// The customer scans the code with `state`: the fake picks the code's next member in
/// turn, records the follow, issues a welcome code and answers the callback to deliver.
pub(super) fn scan(
    state: &mut State,
    corp_id: &str,
    way_state: &str,
    external_userid: &str,
    name: &str,
) -> Option<FakeAdd> {
    let at = state.now_secs();
    let welcome_code = format!("wc{}", random_hex(12));
    let corp = state.corp(corp_id);
    let way = corp
        .contact_ways
        .values_mut()
        .find(|w| w.state == way_state)?;
    let userid = way.user.get(way.adds % way.user.len().max(1))?.clone();
    way.adds += 1;
    let customer = corp
        .customers
        .entry(external_userid.to_string())
        .or_insert_with(|| FakeCustomer::new(external_userid, name));
    customer.follows.retain(|f| f.userid != userid);
    let mut follow = FakeFollow::new(userid.clone()).with_state(way_state);
    follow.createtime = at;
    customer.follows.push(follow);
    corp.welcome_codes.insert(welcome_code.clone(), false);
    corp.welcome_issued.insert(welcome_code.clone(), at);
    let xml = format!(
        "<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>\
         <UserID><![CDATA[{userid}]]></UserID><ExternalUserID><![CDATA[{external_userid}]]></ExternalUserID>\
         <State><![CDATA[{way_state}]]></State><WelcomeCode><![CDATA[{welcome_code}]]></WelcomeCode></xml>"
    );
    Some(FakeAdd {
        userid,
        external_userid: external_userid.to_string(),
        state: way_state.to_string(),
        welcome_code,
        at,
        xml,
    })
}
