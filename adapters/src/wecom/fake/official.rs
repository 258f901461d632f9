//! A WeChat official account (公众号), faked under `/mp` on the same server, so that its
//! `cgi-bin/...` never meets WeCom's: `WECHAT_API_BASE` names `http://127.0.0.1:PORT/mp`.
//!
//! - `GET /mp/connect/oauth2/authorize?appid=&redirect_uri=&response_type=code&scope=&state=`:
//!   the consent page, one link per WeChat user (`data-openid`), which mints a single-use code
//!   (5 minutes) and redirects (302) to `redirect_uri?code=…&state=…`.
//! - `GET /mp/sns/oauth2/access_token?appid=&secret=&code=&grant_type=authorization_code` →
//!   `{access_token, expires_in, refresh_token, openid, scope, unionid}` (unionid only for
//!   `snsapi_userinfo` and users who have one, as on WeChat); 40029 for an unknown or expired code, 40163 for a used one, 40013
//!   for an unknown app id, 40125 for a wrong secret.
//! - `GET /mp/sns/userinfo?access_token=&openid=` → the profile (`snsapi_userinfo` grants
//!   only).
//! - `GET /mp/cgi-bin/token?grant_type=client_credential&appid=&secret=` → the account's
//!   token (7200 s; 40013 / 40001 on a wrong app id / secret).
//! - `GET /mp/cgi-bin/user/info?access_token=&openid=` → `{subscribe: 1|0, openid, …}`
//!   (with the unionid for followers);
//!   40001 / 42001 on a bad or expired token.
//!
//! Calls are counted under `mp/<path>` (e.g. `calls("mp/cgi-bin/user/info")`).
use super::model::{State, UnionMapping, UnionTarget};
use super::{lock, FakeWeCom, Shared};
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The demo corp's official account.
pub const DEMO_OFFICIAL_APP_ID: &str = "wxdemoofficial0001";
/// Its AppSecret.
pub const DEMO_OFFICIAL_SECRET: &str = "demoofficialsecret00000000000001";

/// A WeChat user of the fake.
#[derive(Debug, Clone)]
pub struct FakeWeChatUser {
    /// openid under the account.
    pub openid: String,
    /// unionid (the account bound to an Open Platform account), if any.
    pub unionid: Option<String>,
    /// Display name.
    pub nickname: String,
    /// Whether they follow the account.
    pub subscribed: bool,
}

#[derive(Debug, Clone)]
struct Code {
    openid: String,
    app_id: String,
    scope: String,
    used: bool,
    expires_at: Instant,
}

#[derive(Debug, Clone)]
struct Token {
    app_id: String,
    /// A user's token (sns) names the user; the account's token none.
    openid: Option<String>,
    scope: String,
    expires_at: Instant,
}

/// The official-account side of the fake's state.
#[derive(Debug, Default)]
pub(super) struct MpState {
    /// app id → secret.
    accounts: HashMap<String, String>,
    /// app id → its users by openid.
    users: HashMap<String, Vec<FakeWeChatUser>>,
    codes: HashMap<String, Code>,
    tokens: HashMap<String, Token>,
}

const TOKEN_TTL: Duration = Duration::from_secs(7200);
const CODE_TTL: Duration = Duration::from_secs(300);

/// Seeds the demo official account: two WeChat users who are customers of the demo corp
/// (小明 follows the account, 小红 does not) and one who is no customer.
pub(super) fn seed_demo(s: &mut State) {
    s.mp.accounts
        .insert(DEMO_OFFICIAL_APP_ID.into(), DEMO_OFFICIAL_SECRET.into());
    let users = vec![
        user("openid-wmdemo001", Some("unionid-wmdemo001"), "小明", true),
        user("openid-wmdemo002", Some("unionid-wmdemo002"), "小红", false),
        user(
            "openid-stranger01",
            Some("unionid-stranger01"),
            "路人",
            true,
        ),
    ];
    s.mp.users.insert(DEMO_OFFICIAL_APP_ID.into(), users);
    s.corp(super::DEMO_CORP_ID).unionids.insert(
        "unionid-wmdemo002".into(),
        UnionMapping {
            openid: "openid-wmdemo002".into(),
            target: UnionTarget::Customer("wmdemo002".into()),
        },
    );
}

fn user(openid: &str, unionid: Option<&str>, nickname: &str, subscribed: bool) -> FakeWeChatUser {
    FakeWeChatUser {
        openid: openid.into(),
        unionid: unionid.map(str::to_string),
        nickname: nickname.into(),
        subscribed,
    }
}

impl FakeWeCom {
    /// The official-account API base (`http://127.0.0.1:PORT/mp`): what `WECHAT_API_BASE`
    /// names.
    pub fn wechat_api_base(&self) -> String {
        format!("http://{}/mp", self.addr())
    }

    /// The official account's authorize page (what `WECHAT_OAUTH_BASE` names).
    pub fn wechat_oauth_base(&self) -> String {
        format!("http://{}/mp/connect/oauth2/authorize", self.addr())
    }

    /// Registers an official account.
    pub fn add_official_account(&self, app_id: &str, secret: &str) {
        self.with(|s| {
            s.mp.accounts.insert(app_id.into(), secret.into());
        });
    }

    /// Adds or replaces a WeChat user of an account.
    pub fn add_wechat_user(&self, app_id: &str, user: FakeWeChatUser) {
        self.with(|s| {
            let users = s.mp.users.entry(app_id.into()).or_default();
            users.retain(|u| u.openid != user.openid);
            users.push(user);
        });
    }

    /// Follows or unfollows the account; `false` if the user is unknown.
    pub fn set_subscribed(&self, app_id: &str, openid: &str, subscribed: bool) -> bool {
        self.with(|s| {
            s.mp.users
                .get_mut(app_id)
                .and_then(|us| us.iter_mut().find(|u| u.openid == openid))
                .map(|u| u.subscribed = subscribed)
                .is_some()
        })
    }

    /// A single-use code for `openid` with `scope`, as the consent page mints.
    pub fn add_wechat_code(&self, app_id: &str, code: &str, openid: &str, scope: &str) {
        self.with(|s| {
            s.mp.codes.insert(
                code.into(),
                Code {
                    openid: openid.into(),
                    app_id: app_id.into(),
                    scope: scope.into(),
                    used: false,
                    expires_at: Instant::now() + CODE_TTL,
                },
            );
        });
    }

    /// Every official-account token answers 42001 (expired) from now on.
    pub fn expire_wechat_tokens(&self) {
        self.with(|s| {
            let past = Instant::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or_else(Instant::now);
            for t in s.mp.tokens.values_mut() {
                t.expires_at = past;
            }
        });
    }
}

type Reply = Result<Value, (i64, &'static str)>;

/// Everything under `/mp`.
pub(super) async fn dispatch(
    AxumState(state): AxumState<Shared>,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match path.as_str() {
        "connect/oauth2/authorize" => return page(&state, &q),
        "connect/oauth2/confirm" => return confirm(&state, &q),
        _ => {}
    }
    let mut s = lock(&state);
    *s.calls.entry(format!("mp/{path}")).or_default() += 1;
    let fault = s
        .faults
        .get_mut(&format!("mp/{path}"))
        .and_then(|q| q.pop_front());
    let result = match (fault, path.as_str()) {
        (Some(code), _) => Err((code, "injected")),
        (None, "sns/oauth2/access_token") => oauth_access_token(&mut s.mp, &q),
        (None, "sns/userinfo") => userinfo(&s.mp, &q),
        (None, "cgi-bin/token") => account_token(&mut s.mp, &q),
        (None, "cgi-bin/user/info") => user_info(&s.mp, &q),
        _ => return (StatusCode::NOT_FOUND, "no such API").into_response(),
    };
    match result {
        Ok(v) => Json(v).into_response(),
        Err((errcode, errmsg)) => {
            Json(json!({"errcode": errcode, "errmsg": errmsg})).into_response()
        }
    }
}

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> &'a str {
    q.get(name).map(String::as_str).unwrap_or("")
}

fn new_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

fn check_app(
    mp: &MpState,
    q: &HashMap<String, String>,
    wrong_secret: i64,
) -> Result<String, (i64, &'static str)> {
    let app_id = param(q, "appid");
    match mp.accounts.get(app_id) {
        None => Err((40013, "invalid appid")),
        Some(secret) if secret != param(q, "secret") => Err((wrong_secret, "invalid appsecret")),
        Some(_) => Ok(app_id.to_string()),
    }
}

fn oauth_access_token(mp: &mut MpState, q: &HashMap<String, String>) -> Reply {
    let app_id = check_app(mp, q, 40125)?;
    if param(q, "grant_type") != "authorization_code" {
        return Err((40002, "invalid grant_type"));
    }
    let code = param(q, "code");
    let entry = match mp.codes.get_mut(code) {
        Some(c) if c.app_id == app_id && c.expires_at > Instant::now() => c,
        _ => return Err((40029, "invalid code")),
    };
    if entry.used {
        return Err((40163, "code been used"));
    }
    entry.used = true;
    let (openid, scope) = (entry.openid.clone(), entry.scope.clone());
    // As on WeChat, the unionid comes with the code only for `snsapi_userinfo`.
    let unionid = mp
        .users
        .get(&app_id)
        .and_then(|us| us.iter().find(|u| u.openid == openid))
        .and_then(|u| u.unionid.clone())
        .filter(|_| scope == "snsapi_userinfo");
    let token = new_token();
    mp.tokens.insert(
        token.clone(),
        Token {
            app_id,
            openid: Some(openid.clone()),
            scope: scope.clone(),
            expires_at: Instant::now() + TOKEN_TTL,
        },
    );
    let mut body = json!({
        "access_token": token, "expires_in": TOKEN_TTL.as_secs(), "refresh_token": new_token(),
        "openid": openid, "scope": scope,
    });
    if let Some(u) = unionid {
        body["unionid"] = json!(u);
    }
    Ok(body)
}

fn token_of<'a>(
    mp: &'a MpState,
    q: &HashMap<String, String>,
) -> Result<&'a Token, (i64, &'static str)> {
    match mp.tokens.get(param(q, "access_token")) {
        None => Err((
            40001,
            "invalid credential, access_token is invalid or not latest",
        )),
        Some(t) if t.expires_at <= Instant::now() => Err((42001, "access_token expired")),
        Some(t) => Ok(t),
    }
}

fn find_user<'a>(mp: &'a MpState, app_id: &str, openid: &str) -> Option<&'a FakeWeChatUser> {
    mp.users.get(app_id)?.iter().find(|u| u.openid == openid)
}

fn userinfo(mp: &MpState, q: &HashMap<String, String>) -> Reply {
    let token = token_of(mp, q)?;
    let openid = param(q, "openid");
    if token.openid.as_deref() != Some(openid) || token.scope != "snsapi_userinfo" {
        return Err((48001, "api unauthorized"));
    }
    let user = find_user(mp, &token.app_id, openid).ok_or((40003, "invalid openid"))?;
    let mut body = json!({
        "openid": user.openid, "nickname": user.nickname, "sex": 0, "province": "",
        "city": "", "country": "", "headimgurl": "", "privilege": [],
    });
    if let Some(u) = &user.unionid {
        body["unionid"] = json!(u);
    }
    Ok(body)
}

fn account_token(mp: &mut MpState, q: &HashMap<String, String>) -> Reply {
    if param(q, "grant_type") != "client_credential" {
        return Err((40002, "invalid grant_type"));
    }
    let app_id = check_app(mp, q, 40001)?;
    let token = new_token();
    mp.tokens.insert(
        token.clone(),
        Token {
            app_id,
            openid: None,
            scope: String::new(),
            expires_at: Instant::now() + TOKEN_TTL,
        },
    );
    Ok(json!({"access_token": token, "expires_in": TOKEN_TTL.as_secs()}))
}

fn user_info(mp: &MpState, q: &HashMap<String, String>) -> Reply {
    let token = token_of(mp, q)?;
    if token.openid.is_some() {
        return Err((
            40001,
            "invalid credential, access_token is invalid or not latest",
        ));
    }
    let openid = param(q, "openid");
    match find_user(mp, &token.app_id, openid) {
        Some(u) if u.subscribed => Ok(json!({
            "subscribe": 1, "openid": u.openid, "language": "zh_CN",
            "subscribe_time": 1_700_000_000, "unionid": u.unionid, "remark": "",
            "groupid": 0, "tagid_list": [], "subscribe_scene": "ADD_SCENE_QR_CODE",
        })),
        Some(u) => Ok(json!({"subscribe": 0, "openid": u.openid})),
        None => Err((40003, "invalid openid")),
    }
}

/// The consent page: one link per WeChat user of the account.
fn page(state: &Shared, q: &HashMap<String, String>) -> Response {
    let app_id = param(q, "appid");
    let redirect_uri = param(q, "redirect_uri");
    let scope = param(q, "scope");
    let users = {
        let s = lock(state);
        if !s.mp.accounts.contains_key(app_id) {
            return error_page("appid 错误 / Unknown appid");
        }
        s.mp.users.get(app_id).cloned().unwrap_or_default()
    };
    if param(q, "response_type") != "code" {
        return error_page("response_type 必须是 code / response_type must be code");
    }
    if !matches!(scope, "snsapi_base" | "snsapi_userinfo") {
        return error_page("scope 参数错误 / scope must be snsapi_base or snsapi_userinfo");
    }
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return error_page("redirect_uri 参数错误 / redirect_uri must be an http(s) URL");
    }
    let base = format!(
        "/mp/connect/oauth2/confirm?appid={}&redirect_uri={}&scope={}&state={}",
        encode(app_id),
        encode(redirect_uri),
        encode(scope),
        encode(param(q, "state"))
    );
    let mut items = String::new();
    for u in &users {
        items.push_str(&format!(
            "<li><a class=\"confirm\" href=\"{}&amp;openid={}\" data-openid=\"{}\">以 {} 身份授权 / Continue as {}{}</a></li>\n",
            escape(&base),
            escape(&encode(&u.openid)),
            escape(&u.openid),
            escape(&u.nickname),
            escape(&u.nickname),
            if u.subscribed { "（已关注 / following）" } else { "" },
        ));
    }
    let what = if scope == "snsapi_userinfo" {
        "获取你的昵称、头像 / read your nickname and avatar"
    } else {
        "获取你的身份 / know who you are"
    };
    Html(format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>微信授权 / WeChat authorization</title>\n\
<style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1f2329}}\
ul{{list-style:none;padding:0}}li{{margin:.5rem 0}}\
a.confirm{{display:block;padding:.75rem 1rem;border-radius:6px;background:#07c160;color:#fff;text-decoration:none}}\
a.confirm:focus{{outline:3px solid #f5a623;outline-offset:2px}}</style>\n\
</head>\n<body>\n<main>\n<h1>微信网页授权 / WeChat authorization</h1>\n\
<p>这是本地测试用的公众号：请选择授权的微信用户。 / This is the local fake official account: choose the WeChat user.</p>\n\
<p>公众号 / Account: <code>{}</code> · 申请 / Asks to: {}</p>\n\
<ul aria-label=\"微信用户 / WeChat users\">\n{items}</ul>\n</main>\n</body>\n</html>\n",
        escape(app_id),
        what
    ))
    .into_response()
}

/// The user consented: a single-use code, and back to the page.
fn confirm(state: &Shared, q: &HashMap<String, String>) -> Response {
    let app_id = param(q, "appid");
    let openid = param(q, "openid");
    let redirect_uri = param(q, "redirect_uri");
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return error_page("redirect_uri 参数错误 / redirect_uri must be an http(s) URL");
    }
    let code = {
        let mut s = lock(state);
        if find_user(&s.mp, app_id, openid).is_none() {
            return error_page("没有这个微信用户 / No such WeChat user");
        }
        let seq = s.next_seq();
        let code = format!("mp{seq}x{}", hex::encode(rand::random::<[u8; 8]>()));
        s.mp.codes.insert(
            code.clone(),
            Code {
                openid: openid.into(),
                app_id: app_id.into(),
                scope: param(q, "scope").into(),
                used: false,
                expires_at: Instant::now() + CODE_TTL,
            },
        );
        code
    };
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!(
        "{redirect_uri}{sep}code={}&state={}",
        encode(&code),
        encode(param(q, "state"))
    );
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\"><title>微信授权 / WeChat authorization</title></head>\n\
<body><main><h1>无法授权 / Cannot authorize</h1><p role=\"alert\">{}</p></main></body>\n</html>\n",
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
