//! WeCom's web scan login for a self-built app, faked: the page at
//! `GET /wwlogin/sso/login?login_type=CorpApp&appid=CORPID&agentid=AGENTID&redirect_uri=…&state=…`
//! lists the corp's members as buttons ("以 张三 身份扫码确认 / Confirm as 张三") instead of
//! a QR code. Choosing one mints a single-use code living 5 minutes, mapped to that member,
//! and redirects (302) to `redirect_uri?code=…&state=…`, as WeCom does after a scan; the
//! code then goes through `auth/getuserinfo`. A last button scans as someone outside the
//! corp (`auth/getuserinfo` answers `{openid}`). Members who left the corp are offered apart:
//! WeCom still answers a code with their userid (a scan just before the departure, or one the
//! app's directory has not caught up with), so the app must refuse them itself. An unknown
//! corp or an agent id that is not the corp's app gets an error page, as on WeCom.
use super::model::{FakeStaff, FakeStaffStatus, OAuthCode};
use super::{lock, Shared};
use axum::extract::{Query, State as AxumState};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;

/// The scan-login page.
pub(super) const SSO_LOGIN: &str = "/wwlogin/sso/login";
/// Where the page's buttons go (the fake's stand-in for the scan and confirmation).
pub(super) const SSO_CONFIRM: &str = "/wwlogin/sso/confirm";

type Params = Query<HashMap<String, String>>;

/// What a login request names, checked.
struct LoginRequest {
    corp_id: String,
    agent_id: i64,
    redirect_uri: String,
    state: String,
}

/// The request, or what the error page says.
fn check(state: &Shared, q: &HashMap<String, String>) -> Result<LoginRequest, &'static str> {
    let param = |name: &str| q.get(name).map(String::as_str).unwrap_or("");
    if param("login_type") != "CorpApp" {
        return Err("login_type 必须是 CorpApp / login_type must be CorpApp");
    }
    let corp_id = param("appid").to_string();
    let agent_id = param("agentid").parse::<i64>().ok();
    let known = agent_id.is_some_and(|agent| {
        lock(state)
            .apps
            .iter()
            .any(|a| a.corp_id == corp_id && a.agent_id == Some(agent))
    });
    let Some(agent_id) = agent_id.filter(|_| known) else {
        return Err(
            "appid 或 agentid 错误：该企业没有这个应用 / Wrong appid or agentid: the corp has no such app",
        );
    };
    let redirect_uri = param("redirect_uri").to_string();
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return Err("redirect_uri 无效 / redirect_uri must be an http(s) URL");
    }
    Ok(LoginRequest {
        corp_id,
        agent_id,
        redirect_uri,
        state: param("state").to_string(),
    })
}

/// The page: one button per member who has not left the corp, one for a visitor, then one
/// per member who left.
pub(super) async fn page(AxumState(state): AxumState<Shared>, Query(q): Params) -> Response {
    let req = match check(&state, &q) {
        Ok(r) => r,
        Err(message) => return error_page(message),
    };
    let (departed, members) = {
        let mut s = lock(&state);
        let (left, staying): (Vec<&FakeStaff>, Vec<&FakeStaff>) = s
            .corp(&req.corp_id)
            .staff
            .values()
            .partition(|m| m.status == FakeStaffStatus::Resigned);
        let names = |list: Vec<&FakeStaff>| -> Vec<(String, String)> {
            list.into_iter()
                .map(|m| (m.userid.clone(), m.name.clone()))
                .collect()
        };
        (names(left), names(staying))
    };
    let base = format!(
        "{SSO_CONFIRM}?appid={}&agentid={}&redirect_uri={}&state={}",
        encode(&req.corp_id),
        req.agent_id,
        encode(&req.redirect_uri),
        encode(&req.state)
    );
    let button = |userid: &str, name: &str, class: &str| {
        format!(
            "<li><a class=\"{class}\" href=\"{}&amp;userid={}\" data-userid=\"{}\">以 {} 身份扫码确认 / Confirm as {} ({})</a></li>\n",
            escape(&base),
            escape(&encode(userid)),
            escape(userid),
            escape(name),
            escape(name),
            escape(userid),
        )
    };
    let mut items = String::new();
    for (userid, name) in &members {
        items.push_str(&button(userid, name, "confirm"));
    }
    items.push_str(&format!(
        "<li><a class=\"confirm visitor\" href=\"{}&amp;visitor=1\" data-userid=\"\">以非本企业成员身份扫码 / Scan as someone outside the corp</a></li>\n",
        escape(&base)
    ));
    let departed = if departed.is_empty() {
        String::new()
    } else {
        let items: String = departed
            .iter()
            .map(|(userid, name)| button(userid, name, "confirm departed"))
            .collect();
        format!(
            "<h2>已离职成员 / Members who left</h2>\n\
<p>企业微信仍会为他们的扫码返回 userid：应用须自行拒绝。 / WeCom still returns their userid: the app must refuse them.</p>\n\
<ul aria-label=\"已离职成员 / Members who left\">\n{items}</ul>\n"
        )
    };
    Html(format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>企业微信登录 / WeCom login</title>\n\
<style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1f2329}}\
ul{{list-style:none;padding:0}}li{{margin:.5rem 0}}\
a.confirm{{display:block;padding:.75rem 1rem;border-radius:6px;background:#0b6ee8;color:#fff;text-decoration:none}}\
a.visitor,a.departed{{background:#4e5969}}h2{{font-size:1rem;margin-top:1.5rem}}a.confirm:focus{{outline:3px solid #f5a623;outline-offset:2px}}</style>\n\
</head>\n<body>\n<main>\n<h1>企业微信扫码登录 / WeCom scan login</h1>\n\
<p>这是本地测试用的企业微信：请选择扫码确认的成员。 / This is the local fake WeCom: choose who scans and confirms.</p>\n\
<p>企业 / Corp: <code>{}</code> · 应用 / App: <code>{}</code></p>\n\
<ul aria-label=\"成员 / Members\">\n{items}</ul>\n{departed}</main>\n</body>\n</html>\n",
        escape(&req.corp_id),
        req.agent_id
    ))
    .into_response()
}

/// The member (or a visitor) confirmed: a fresh single-use code, and back to the app.
pub(super) async fn confirm(AxumState(state): AxumState<Shared>, Query(q): Params) -> Response {
    let mut params = q.clone();
    params.insert("login_type".into(), "CorpApp".into());
    let req = match check(&state, &params) {
        Ok(r) => r,
        Err(message) => return error_page(message),
    };
    let visitor = q.get("visitor").is_some_and(|v| v == "1");
    let userid = q.get("userid").cloned().unwrap_or_default();
    let code = {
        let mut s = lock(&state);
        let seq = s.next_seq();
        let code = format!("sso{seq}x{}", hex::encode(rand::random::<[u8; 8]>()));
        let corp = s.corp(&req.corp_id);
        let entry = if visitor {
            OAuthCode::visitor(&format!("o-visitor-{seq}"), None)
        } else {
            // A member who left is still answered with their userid (see the module's doc).
            match corp.staff.get(&userid) {
                Some(_) => OAuthCode::member(&userid),
                None => return error_page("该成员不存在 / No such member"),
            }
        };
        corp.oauth_codes.insert(code.clone(), entry);
        code
    };
    let sep = if req.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!(
        "{}{sep}code={}&state={}",
        req.redirect_uri,
        encode(&code),
        encode(&req.state)
    );
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\"><title>企业微信登录 / WeCom login</title></head>\n\
<body><main><h1>无法登录 / Cannot log in</h1><p role=\"alert\">{}</p></main></body>\n</html>\n",
            escape(message)
        )),
    )
        .into_response()
}

fn encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
