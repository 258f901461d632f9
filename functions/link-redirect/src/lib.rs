//! `link-redirect` (function URL, public, `GET /l/{code}`): a tracked link's short URL.
//! It finds the code (one read, kept per container for a minute: a code never changes),
//! counts the click for the code's send context (one write) and, when the visitor is a
//! known customer, publishes `CustomerInteracted` at the same time; then answers `302` to
//! the target. Counting or publishing failing never keeps the visitor from the target: it
//! is logged and the redirect goes out.
//!
//! The visitor is a customer when the URL carries a valid customer token (`?ct=`, as the
//! merchant's H5 pages append it) or the `scrm_ct` cookie, of the code's tenant; or when
//! the code was minted for one customer (a welcome message). Otherwise the click is
//! counted anonymously.
//!
//! An unknown or malformed code is a small 404 page (never a crash, nothing written).
//! Every answer is `Cache-Control: no-store` (each click must reach the function) and
//! `Referrer-Policy: no-referrer` (a token in the short URL must not reach the target).
pub mod wire;

use lambda_http::{Body, Request, Response};
use scrm_core::clock::Clock;
use scrm_core::events::EventPublisher;
use scrm_core::links::click::{identify, record};
use scrm_core::links::{LinkCode, LinkStore, ShortCode};
use scrm_core::official::verify_customer;
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

/// Everything the function needs, built once per container.
pub struct LinkRedirect<S, P> {
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

fn redirect(url: &str) -> Response<Body> {
    Response::builder()
        .status(302)
        .header("location", url)
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .body(Body::Empty)
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// The code a path names: `/l/{code}` (anything else: none).
pub fn code_of_path(path: &str) -> Option<ShortCode> {
    let rest = path.strip_prefix("/l/")?;
    ShortCode::parse(rest.trim_end_matches('/'))
}

/// The customer token the request carries, if any: the query parameter, else the cookie.
fn token_of(req: &Request) -> Option<String> {
    let from_query = req.uri().query().and_then(|q| {
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == TOKEN_PARAM).then(|| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    });
    from_query.or_else(|| {
        req.headers()
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|h| h.split(';'))
            .find_map(|c| {
                let (k, v) = c.trim().split_once('=')?;
                (k == TOKEN_COOKIE).then(|| v.to_string())
            })
    })
}

/// The function's handler.
pub async fn handle<S, P>(
    h: &LinkRedirect<S, P>,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible>
where
    S: LinkStore,
    P: EventPublisher,
{
    if !matches!(req.method().as_str(), "GET" | "HEAD") {
        return Ok(page(405, "Method not allowed", "GET only."));
    }
    let Some(code) = code_of_path(req.uri().path()) else {
        return Ok(not_found());
    };
    let span = tracing::info_span!("link_redirect", code = %code, tenant = tracing::field::Empty);
    Ok(follow(h, &req, code).instrument(span).await)
}

async fn follow<S, P>(h: &LinkRedirect<S, P>, req: &Request, code: ShortCode) -> Response<Body>
where
    S: LinkStore,
    P: EventPublisher,
{
    let found = match h.cache.get(code.as_str(), Instant::now()) {
        Some(found) => found,
        None => match h.store.code(&code).await {
            Ok(found) => {
                h.cache.put(code.as_str(), found.clone(), Instant::now());
                found
            }
            Err(e) => {
                tracing::error!(error = %e, "code lookup failed");
                return page(
                    503,
                    "请稍后再试 / Try again",
                    "暂时无法打开链接。Please try again.",
                );
            }
        },
    };
    let Some(link) = found else {
        return not_found();
    };
    tracing::Span::current().record("tenant", link.tenant.as_str());
    let now = h.clock.now();
    let verified = match (token_of(req), &h.signing_keys) {
        (Some(token), Some(keys)) => verify_customer(keys, token.trim(), now)
            .ok()
            .map(|c| (c.claims.tenant, c.claims.subject)),
        _ => None,
    };
    let customer = identify(
        &link,
        verified.as_ref().map(|(t, c)| (t.as_str(), c.as_str())),
    );
    let click_id = ulid::Ulid::new().to_string();
    let recorded = record(&h.store, &h.publisher, &link, customer, &click_id, now).await;
    if let Some(e) = &recorded.count_error {
        tracing::warn!(error = %e, "click not counted");
    }
    if let Some(e) = &recorded.publish_error {
        tracing::warn!(error = %e, "click event not published");
    }
    redirect(&link.url)
}
