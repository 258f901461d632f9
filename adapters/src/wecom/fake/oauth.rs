//! WeCom's in-app OAuth for the staff pages, faked:
//! `GET /connect/oauth2/authorize?appid=CORPID&redirect_uri=…&response_type=code&scope=snsapi_base&state=…&agentid=AGENTID`
//! (`open.weixin.qq.com` on WeCom; `#wechat_redirect` stays in the browser).
//!
//! Inside WeCom's browser the member is already signed in, so WeCom redirects (302) at once
//! to `redirect_uri?code=…&state=…` with a single-use code living 5 minutes, which
//! `auth/getuserinfo` maps to the member. The fake has no signed-in member: the request
//! names one with `userid=` (what WeCom's browser knows), or, without it, a page lists the
//! corp's members as links that add it, as the scan-login page does (see `login`).
//!
//! As on WeCom, an unknown corp (40013), an agent id that is not the corp's app (40056),
//! another `response_type` or `scope`, or a `redirect_uri` outside the corp's trusted
//! domains (50001) get WeCom's error page with the errcode, and no code.
use super::model::{FakeStaffStatus, OAuthCode};
use super::{lock, Shared};
use axum::extract::{Query, State as AxumState};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;

/// The authorize page.
pub(super) const AUTHORIZE: &str = "/connect/oauth2/authorize";

type Params = Query<HashMap<String, String>>;

/// What an authorize request names, checked.
struct AuthorizeRequest {
    corp_id: String,
    redirect_uri: String,
    state: String,
}

/// The request, or WeCom's errcode and what its error page says.
fn check(state: &Shared, q: &HashMap<String, String>) -> Result<AuthorizeRequest, (i64, String)> {
    let param = |name: &str| q.get(name).map(String::as_str).unwrap_or("");
    let corp_id = param("appid");
    let s = lock(state);
    if !s.apps.iter().any(|a| a.corp_id == corp_id) {
        return Err((40013, "invalid corpid: appid 不是已知的企业 ID".into()));
    }
    let agent = param("agentid");
    if !agent.is_empty() {
        let known = agent.parse::<i64>().ok().is_some_and(|agent| {
            s.apps
                .iter()
                .any(|a| a.corp_id == corp_id && a.agent_id == Some(agent))
        });
        if !known {
            return Err((40056, "invalid agentid: 该企业没有这个应用".into()));
        }
    }
    if param("response_type") != "code" {
        return Err((
            40001,
            "response_type 必须是 code / response_type must be code".into(),
        ));
    }
    if !matches!(param("scope"), "snsapi_base" | "snsapi_privateinfo") {
        return Err((
            40001,
            "scope 必须是 snsapi_base 或 snsapi_privateinfo / scope must be snsapi_base or snsapi_privateinfo".into(),
        ));
    }
    let redirect_uri = param("redirect_uri");
    let host = url::Url::parse(redirect_uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .and_then(|u| u.host_str().map(str::to_string));
    let Some(host) = host else {
        return Err((
            40001,
            "redirect_uri 无效 / redirect_uri must be an http(s) URL".into(),
        ));
    };
    let trusted = &s
        .corps
        .get(corp_id)
        .map(|c| c.trusted_domains.clone())
        .unwrap_or_default();
    if !trusted.is_empty() && !trusted.contains(&host) {
        return Err((
            50001,
            format!("redirect_uri 需使用应用可信域名（{host} 不是）/ redirect_uri is not on the app's trusted domains ({host})"),
        ));
    }
    Ok(AuthorizeRequest {
        corp_id: corp_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        state: param("state").to_string(),
    })
}

/// The redirect with a fresh code for `userid` (signed in to WeCom), or the member picker.
pub(super) async fn authorize(AxumState(state): AxumState<Shared>, Query(q): Params) -> Response {
    let req = match check(&state, &q) {
        Ok(r) => r,
        Err((errcode, message)) => return error_page(errcode, &message),
    };
    match q.get("userid").filter(|u| !u.is_empty()) {
        Some(userid) => redirect(&state, &req, userid),
        None => picker(&state, &req, &q),
    }
}

fn redirect(state: &Shared, req: &AuthorizeRequest, userid: &str) -> Response {
    let code = {
        let mut s = lock(state);
        let seq = s.next_seq();
        let code = format!("oa{seq}x{}", hex::encode(rand::random::<[u8; 8]>()));
        let corp = s.corp(&req.corp_id);
        match corp.staff.get(userid) {
            Some(m) if m.status != FakeStaffStatus::Resigned => {}
            _ => return error_page(60111, "userid not found: 该成员不存在"),
        }
        corp.oauth_codes
            .insert(code.clone(), OAuthCode::member(userid));
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

/// Who is signed in to WeCom on this phone: one link per member who has not left.
fn picker(state: &Shared, req: &AuthorizeRequest, q: &HashMap<String, String>) -> Response {
    let members: Vec<(String, String)> = {
        let mut s = lock(state);
        s.corp(&req.corp_id)
            .staff
            .values()
            .filter(|m| m.status != FakeStaffStatus::Resigned)
            .map(|m| (m.userid.clone(), m.name.clone()))
            .collect()
    };
    let mut query: Vec<(&String, &String)> = q.iter().filter(|(k, _)| *k != "userid").collect();
    query.sort();
    let base = format!(
        "{AUTHORIZE}?{}",
        query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    );
    let mut items = String::new();
    for (userid, name) in &members {
        items.push_str(&format!(
            "<li><a class=\"member\" href=\"{}&amp;userid={}\" data-userid=\"{}\">以 {} 身份打开 / Open as {} ({})</a></li>\n",
            escape(&base),
            escape(&encode(userid)),
            escape(userid),
            escape(name),
            escape(name),
            escape(userid),
        ));
    }
    Html(format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>企业微信授权 / WeCom authorization</title>\n\
<style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1f2329}}\
ul{{list-style:none;padding:0}}li{{margin:.5rem 0}}\
a.member{{display:block;padding:.75rem 1rem;border-radius:6px;background:#0b6ee8;color:#fff;text-decoration:none}}\
a.member:focus{{outline:3px solid #f5a623;outline-offset:2px}}</style>\n\
</head>\n<body>\n<main>\n<h1>企业微信授权 / WeCom authorization</h1>\n\
<p>这是本地测试用的企业微信：在企业微信中打开时，登录的成员会直接授权。请选择登录企业微信的成员。 / \
This is the local fake WeCom: inside WeCom the signed-in member is let through at once. Choose who is signed in.</p>\n\
<p>企业 / Corp: <code>{}</code></p>\n\
<ul aria-label=\"成员 / Members\">\n{items}</ul>\n</main>\n</body>\n</html>\n",
        escape(&req.corp_id),
    ))
    .into_response()
}

fn error_page(errcode: i64, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\"><title>企业微信授权 / WeCom authorization</title></head>\n\
<body><main><h1>无法授权 / Cannot authorize</h1><p role=\"alert\">errcode: <code data-errcode=\"{errcode}\">{errcode}</code> {}</p></main></body>\n</html>\n",
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
