//! `link-redirect` (function URL, public, `GET /l/{code}`): a tracked link's short URL.
//! It finds the code (one read, kept per container for a minute: a code never changes),
//! counts the click and its visitor for the code's send context (two small writes) and,
//! when the visitor is a known customer, publishes `CustomerInteracted` at the same time;
//! then answers `302` to the target. Counting or publishing failing never keeps the visitor
//! from the target: it is logged and the redirect goes out.
//!
//! The visitor is a customer when the URL carries a valid customer token (`?ct=`, as the
//! merchant's H5 pages append it) or the `scrm_ct` cookie, of the code's tenant; or when
//! the code was minted for one customer (a welcome message); or when an earlier
//! official-account OAuth named them (the tenant's signed `scrm_lv_{corp}` cookie).
//! Otherwise, inside WeChat, with the tenant's official account configured and
//! `link_visitor_oauth` on, the visitor is first sent through the account's silent OAuth
//! (`snsapi_base`), which comes back to `/l/{code}/oauth` (see
//! [`scrm_core::links::visitor`]); any failure there still redirects to the target, counted
//! anonymously. Every browser gets a random visitor id (`scrm_vid`, HttpOnly, Secure,
//! SameSite=Lax, a year) so distinct visitors are counted when nobody is identified.
//!
//! An unknown or malformed code is a small 404 page (never a crash, nothing written).
//! Every answer is `Cache-Control: no-store` (each click must reach the function) and
//! `Referrer-Policy: no-referrer` (a token in the short URL must not reach the target).
pub mod wire;

use lambda_http::{Body, Request, Response};
use scrm_core::clock::Clock;
use scrm_core::events::EventPublisher;
use scrm_core::links::admin::short_path;
use scrm_core::links::click::{identify, record, visitor_of};
use scrm_core::links::visitor::{
    authorize_url, identity_cookie, identity_value, in_wechat, known_of, new_visitor_id,
    plausible_visitor_id, state_for, state_ok, Known, NoOAuth, CALLBACK_SUFFIX, VISITOR_COOKIE,
    VISITOR_COOKIE_SECS,
};
use scrm_core::links::{LinkCode, LinkOAuth, LinkStore, OAuthVisitor, ShortCode};
use scrm_core::official::{plausible_code, verify_customer};
use scrm_core::tenants::TenantId;
use scrm_core::tokens::SigningKeys;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// How long a container keeps a code it read (codes are immutable).
pub const CODE_CACHED_FOR: Duration = Duration::from_secs(60);
/// How long it remembers a code that does not exist (a mistyped URL clicked again).
pub const MISS_CACHED_FOR: Duration = Duration::from_secs(10);
/// Codes kept per container at most (the cache starts again beyond).
pub const CACHE_ENTRIES: usize = 10_000;
/// The query parameter a customer token may come in.
pub const TOKEN_PARAM: &str = "ct";
/// The cookie a customer token may come in.
pub const TOKEN_COOKIE: &str = "scrm_ct";

/// Codes read by this container.
#[derive(Debug, Default)]
pub struct CodeCache {
    entries: Mutex<HashMap<String, (Instant, Option<LinkCode>)>>,
}

impl CodeCache {
    fn get(&self, code: &str, now: Instant) -> Option<Option<LinkCode>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, found) = entries.get(code)?;
        let ttl = if found.is_some() {
            CODE_CACHED_FOR
        } else {
            MISS_CACHED_FOR
        };
        (now.duration_since(*at) < ttl).then(|| found.clone())
    }

    fn put(&self, code: &str, found: Option<LinkCode>, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(code.to_string(), (now, found));
    }
}

/// Whether each tenant sends unidentified WeChat visitors through its official account
/// (its app id), kept per container for a minute (a failed look-up for 10 s).
#[derive(Debug, Default)]
pub struct AppCache {
    entries: Mutex<HashMap<String, CachedApp>>,
}

/// A tenant's official-account app id (none: OAuth off), as read at `.0` and kept for `.1`.
type CachedApp = (Instant, Duration, Option<String>);

impl AppCache {
    fn get(&self, tenant: &str, now: Instant) -> Option<Option<String>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, ttl, app) = entries.get(tenant)?;
        (now.duration_since(*at) < *ttl).then(|| app.clone())
    }

    fn put(&self, tenant: &str, app: Option<String>, ttl: Duration, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(tenant.to_string(), (now, ttl, app));
    }
}

/// The official-account OAuth of unidentified visitors inside WeChat.
pub struct OAuthSetup<O> {
    /// The tenants' accounts, WeChat and WeCom's unionid mapping.
    pub oauth: O,
    /// WeChat's authorize page (`WECHAT_OAUTH_BASE`).
    pub authorize_url: String,
    /// The function's public base (`LINKS_BASE_URL`), which WeChat comes back to; when
    /// unset, the request's own host (`https`).
    pub public_base: Option<String>,
    /// Which tenants use it.
    pub apps: AppCache,
}

/// Everything the function needs, built once per container.
pub struct LinkRedirect<S, P, O = NoOAuth> {
    /// Codes and click counters.
    pub store: S,
    /// Domain events.
    pub publisher: P,
    /// The keys customer tokens are verified with (none: every visitor is anonymous).
    pub signing_keys: Option<SigningKeys>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Codes already read.
    pub cache: CodeCache,
    /// The official-account OAuth (none: never attempted). Needs the signing keys.
    pub oauth: Option<OAuthSetup<O>>,
}

fn page(status: u16, title: &str, text: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title></head><body style=\"font-family:sans-serif;text-align:center;\
         padding:3em 1em;color:#333\"><h1 style=\"font-size:1.3em\">{title}</h1><p>{text}</p>\
         </body></html>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .body(Body::Text(html))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

fn not_found() -> Response<Body> {
    page(
        404,
        "链接不存在 / Link not found",
        "这个链接不存在或已失效。This link does not exist.",
    )
}

fn redirect(url: &str, cookies: &[String]) -> Response<Body> {
    let mut b = Response::builder()
        .status(302)
        .header("location", url)
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer");
    for c in cookies {
        b = b.header("set-cookie", c.as_str());
    }
    b.body(Body::Empty)
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// A first-party cookie of the short-link host: HttpOnly, Secure, SameSite=Lax.
fn set_cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; Secure; SameSite=Lax")
}

/// What a path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/l/{code}`: a click.
    Click(ShortCode),
    /// `/l/{code}/oauth`: WeChat coming back from the official account's OAuth.
    OAuthCallback(ShortCode),
}

/// What a path names (anything else: none).
pub fn route_of_path(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/l/")?.trim_end_matches('/');
    match rest.strip_suffix(CALLBACK_SUFFIX) {
        Some(code) => ShortCode::parse(code).map(Route::OAuthCallback),
        None => ShortCode::parse(rest).map(Route::Click),
    }
}

/// The code a path names: `/l/{code}` (anything else: none).
pub fn code_of_path(path: &str) -> Option<ShortCode> {
    match route_of_path(path)? {
        Route::Click(code) => Some(code),
        Route::OAuthCallback(_) => None,
    }
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

/// The customer token the request carries, if any: the query parameter, else the cookie.
fn token_of(req: &Request) -> Option<String> {
    query_param(req, TOKEN_PARAM).or_else(|| cookie(req, TOKEN_COOKIE))
}

/// The function's handler.
pub async fn handle<S, P, O>(
    h: &LinkRedirect<S, P, O>,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible>
where
    S: LinkStore,
    P: EventPublisher,
    O: LinkOAuth,
{
    if !matches!(req.method().as_str(), "GET" | "HEAD") {
        return Ok(page(405, "Method not allowed", "GET only."));
    }
    let Some(route) = route_of_path(req.uri().path()) else {
        return Ok(not_found());
    };
    let code = match &route {
        Route::Click(c) | Route::OAuthCallback(c) => c.clone(),
    };
    let span = tracing::info_span!("link_redirect", code = %code, tenant = tracing::field::Empty);
    Ok(
        follow(h, &req, code, matches!(route, Route::OAuthCallback(_)))
            .instrument(span)
            .await,
    )
}

async fn code_item<S, P, O>(
    h: &LinkRedirect<S, P, O>,
    code: &ShortCode,
) -> Result<Option<LinkCode>, Response<Body>>
where
    S: LinkStore,
{
    if let Some(found) = h.cache.get(code.as_str(), Instant::now()) {
        return Ok(found);
    }
    match h.store.code(code).await {
        Ok(found) => {
            h.cache.put(code.as_str(), found.clone(), Instant::now());
            Ok(found)
        }
        Err(e) => {
            tracing::error!(error = %e, "code lookup failed");
            Err(page(
                503,
                "请稍后再试 / Try again",
                "暂时无法打开链接。Please try again.",
            ))
        }
    }
}

/// The tenant's official account app id, when its unidentified WeChat visitors go through
/// it (cached per container).
async fn oauth_app<O: LinkOAuth>(setup: &OAuthSetup<O>, tenant: &str) -> Option<String> {
    if let Some(app) = setup.apps.get(tenant, Instant::now()) {
        return app;
    }
    let id = TenantId::parse(tenant).ok()?;
    let (app, ttl) = match setup.oauth.app_id(&id).await {
        Ok(app) => (app, CODE_CACHED_FOR),
        Err(e) => {
            tracing::warn!(error = %e, "official account look-up failed");
            (None, MISS_CACHED_FOR)
        }
    };
    setup.apps.put(tenant, app.clone(), ttl, Instant::now());
    app
}

/// Where WeChat comes back to: the public base, else the request's host.
fn callback_url<O>(setup: &OAuthSetup<O>, req: &Request, code: &ShortCode) -> Option<String> {
    let base = match &setup.public_base {
        Some(b) => b.trim_end_matches('/').to_string(),
        None => {
            let host = req.headers().get("host")?.to_str().ok()?;
            let proto = req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("https");
            format!("{proto}://{host}")
        }
    };
    Some(format!("{base}{}{CALLBACK_SUFFIX}", short_path(code)))
}

/// What WeChat's answer says of the visitor (none: nothing to remember, counted
/// anonymously): a bad or expired state, an implausible code or WeChat failing are logged.
async fn oauth_outcome<O: LinkOAuth>(
    oauth: &O,
    keys: &SigningKeys,
    req: &Request,
    link: &LinkCode,
    visitor_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Known> {
    let state = query_param(req, "state").unwrap_or_default();
    if !state_ok(
        keys,
        &link.tenant,
        link.code.as_str(),
        visitor_id,
        &state,
        now,
    ) {
        tracing::warn!("official-account OAuth came back with a bad state");
        return None;
    }
    // WeChat comes back without a code when the user refuses.
    let Some(code) = query_param(req, "code").filter(|c| !c.is_empty()) else {
        return Some(Known::NotACustomer);
    };
    if !plausible_code(&code) {
        tracing::warn!("official-account OAuth came back with an implausible code");
        return None;
    }
    let tenant = TenantId::parse(&link.tenant).ok()?;
    match oauth.visitor(&tenant, &code, now).await {
        Ok(OAuthVisitor::Customer(c)) => Some(Known::Customer(c)),
        Ok(OAuthVisitor::NotACustomer) => Some(Known::NotACustomer),
        Err(e) => {
            tracing::warn!(error = %e, "official-account OAuth failed");
            None
        }
    }
}

async fn follow<S, P, O>(
    h: &LinkRedirect<S, P, O>,
    req: &Request,
    code: ShortCode,
    callback: bool,
) -> Response<Body>
where
    S: LinkStore,
    P: EventPublisher,
    O: LinkOAuth,
{
    let link = match code_item(h, &code).await {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(resp) => return resp,
    };
    tracing::Span::current().record("tenant", link.tenant.as_str());
    let now = h.clock.now();
    let mut cookies = Vec::new();
    let visitor_id = match cookie(req, VISITOR_COOKIE).filter(|v| plausible_visitor_id(v)) {
        Some(v) => v,
        None => {
            let v = new_visitor_id();
            cookies.push(set_cookie(VISITOR_COOKIE, &v, VISITOR_COOKIE_SECS));
            v
        }
    };
    let verified = match (token_of(req), &h.signing_keys) {
        (Some(token), Some(keys)) => verify_customer(keys, token.trim(), now)
            .ok()
            .map(|c| (c.claims.tenant, c.claims.subject)),
        _ => None,
    };
    let mut customer = identify(
        &link,
        verified.as_ref().map(|(t, c)| (t.as_str(), c.as_str())),
    );
    if let (None, Some(keys)) = (&customer, &h.signing_keys) {
        let id_cookie = identity_cookie(&link.tenant);
        let known = match (callback, &h.oauth) {
            (true, Some(setup)) => {
                let known = oauth_outcome(&setup.oauth, keys, req, &link, &visitor_id, now).await;
                if let Some(k) = &known {
                    let (value, secs) = identity_value(keys, &link.tenant, k, now);
                    cookies.push(set_cookie(&id_cookie, &value, secs));
                }
                known
            }
            _ => cookie(req, &id_cookie).and_then(|v| known_of(keys, &link.tenant, &v, now)),
        };
        match known {
            Some(Known::Customer(c)) => customer = Some(c),
            Some(Known::NotACustomer) => {}
            None if !callback => {
                if let Some(to) = oauth_redirect(h, keys, req, &link, &visitor_id, now).await {
                    return redirect(&to, &cookies);
                }
            }
            None => {}
        }
    }
    let visitor = visitor_of(customer.as_deref(), &visitor_id);
    let click_id = ulid::Ulid::new().to_string();
    let recorded = record(
        &h.store,
        &h.publisher,
        &link,
        customer,
        &visitor,
        &click_id,
        now,
    )
    .await;
    if let Some(e) = &recorded.count_error {
        tracing::warn!(error = %e, "click not counted");
    }
    if let Some(e) = &recorded.publish_error {
        tracing::warn!(error = %e, "click event not published");
    }
    redirect(&link.url, &cookies)
}

/// WeChat's authorize URL for this click, when the visitor is to go through the tenant's
/// official account first: a GET inside WeChat, OAuth set up, the tenant using it.
async fn oauth_redirect<S, P, O: LinkOAuth>(
    h: &LinkRedirect<S, P, O>,
    keys: &SigningKeys,
    req: &Request,
    link: &LinkCode,
    visitor_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let setup = h.oauth.as_ref()?;
    let ua = req.headers().get("user-agent")?.to_str().ok()?;
    if req.method().as_str() != "GET" || !in_wechat(ua) {
        return None;
    }
    let app = oauth_app(setup, &link.tenant).await?;
    let back = callback_url(setup, req, &link.code)?;
    let state = state_for(keys, &link.tenant, link.code.as_str(), visitor_id, now);
    Some(authorize_url(&setup.authorize_url, &app, &back, &state))
}
