//! Handler of the `wecom-callback` function (function URL, `GET|POST /callback/{corp_id}`).
//!
//! - GET: WeCom's URL verification. The signature over the echostr is checked and the
//!   bare decrypted echostr is answered.
//! - POST: a callback. The body is bounded, the signature checked in constant time, the
//!   message decrypted, its receive id checked against the tenant's corp id and the event
//!   parsed. Anything wrong is a 4xx with a stable code and nothing is written.
//!
//! A callback whose signed `timestamp` is further from now than the policy's window (a
//! replay of a captured request) is refused the same way (400 `stale_timestamp`).
//!
//! A valid callback then lands exactly once through the inbox
//! (`scrm_core::contacts::inbox`): receipt, directory effects, domain events, with a lease
//! so that duplicates, concurrent deliveries and a delivery that died midway give one
//! effect. Unknown events are stored with their XML and acknowledged.
//!
//! The answer is `success` (HTTP 200) as soon as the receipt is published; WeCom reads are
//! bounded so that the whole stays well inside WeCom's 5 seconds.
mod open;

/// The in-process part of a POST (no I/O once the tenant is known): the benchmarks time it.
pub use open::open_callback;
pub use open::RejectReason;

pub mod wire;

use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoTags;
use scrm_adapters::http::IntoResponse;
use scrm_adapters::http::{self, text_response, ApiError};
use scrm_core::clock::Clock;
use scrm_core::contacts::inbox::{Inbox, InboxError, InboxSettings};
use scrm_core::contacts::source::DirectorySource;
use scrm_core::events::EventPublisher;
use scrm_core::tenants::{Tenant, TenantId, TenantLookup};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Timing and size limits of the callback endpoint.
#[derive(Debug, Clone, Copy)]
pub struct CallbackPolicy {
    /// The largest body accepted (WeCom's callbacks are well under 4 KiB).
    pub max_body: usize,
    /// How long a delivery owns a receipt before a re-delivery (or the sweep) may take it
    /// over: at least the function's timeout (10 s), so a takeover never runs beside a
    /// live attempt (see [`InboxSettings::lease`] for how this meets WeCom's 5 s retries).
    pub lease: Duration,
    /// How long a concurrent duplicate waits for the owner before asking WeCom to retry.
    pub wait_for_peer: Duration,
    /// The longest one WeCom API read may take while handling a callback.
    pub fetch_budget: Duration,
    /// How far a callback's signed `timestamp` may be from now (either way) to be
    /// accepted: WeCom's re-deliveries and clock skew fit in it, a replay of a captured
    /// request does not. `CALLBACK_TIMESTAMP_WINDOW_SECONDS`, default 900.
    pub timestamp_window: Duration,
}

/// The default [`CallbackPolicy::timestamp_window`].
pub const DEFAULT_TIMESTAMP_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The widest [`CallbackPolicy::timestamp_window`] accepted: below the receipts' 30-day
/// lifetime (the dedupe window), with room to spare.
pub const MAX_TIMESTAMP_WINDOW: Duration = Duration::from_secs(24 * 3600);

impl Default for CallbackPolicy {
    fn default() -> Self {
        let inbox = InboxSettings::default();
        Self {
            max_body: 64 * 1024,
            lease: inbox.lease,
            wait_for_peer: inbox.wait_for_peer,
            fetch_budget: inbox.fetch_budget,
            timestamp_window: DEFAULT_TIMESTAMP_WINDOW,
        }
    }
}

impl CallbackPolicy {
    /// The inbox's part of the policy.
    pub fn inbox(&self) -> InboxSettings {
        InboxSettings {
            lease: self.lease,
            wait_for_peer: self.wait_for_peer,
            fetch_budget: self.fetch_budget,
        }
    }
}

/// Everything the function needs, built once per container.
pub struct CallbackHandler<T, S, P> {
    /// Tenants: callback token and key (cached in the container), contact secret.
    pub tenants: T,
    /// The directory and the receipts.
    pub dir: DynamoDirectory,
    /// The corp tag mirror.
    pub tags: DynamoTags,
    /// WeCom's API, for details the callback lacks (short timeouts).
    pub source: S,
    /// Domain events.
    pub publisher: P,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Limits.
    pub policy: CallbackPolicy,
}

/// The acknowledgement WeCom expects.
pub const ACK: &str = "success";

/// The function's handler.
pub async fn handle<T, S, P>(
    h: &CallbackHandler<T, S, P>,
    req: Request,
) -> Result<Response<Body>, std::convert::Infallible>
where
    T: TenantLookup,
    S: DirectorySource,
    P: EventPublisher,
{
    let request_id = http::request_id(&req);
    let corp = corp_from_path(&req).unwrap_or_default();
    let span = tracing::info_span!("callback", request_id = %request_id, tenant = %corp, dedupe_key = tracing::field::Empty);
    let result = route(h, &corp, &req).instrument(span.clone()).await;
    let response = match result {
        Ok(resp) => resp,
        Err(err) => {
            let _enter = span.enter();
            if err.status >= 500 {
                tracing::error!(status = err.status, code = err.code, "callback failed");
            } else {
                tracing::info!(status = err.status, code = err.code, "callback rejected");
            }
            err.into_response()
        }
    };
    Ok(response)
}

/// The corp id: the path segment after `callback` (the function URL may sit behind a
/// prefix such as `/lambda-url/wecom-callback` locally).
fn corp_from_path(req: &Request) -> Option<String> {
    let segments = http::segments(req);
    let at = segments.iter().rposition(|s| s == "callback")?;
    segments.get(at + 1).cloned()
}

/// The tenant of the path's corp. A corp that is not a tenant is refused exactly as a bad
/// signature is (401 `bad_signature`), so which corps are tenants cannot be probed; the
/// tenants adapter remembers misses for a while, so a flood of them costs few reads.
async fn tenant_of<T: TenantLookup>(tenants: &T, corp: &str) -> Result<Tenant, ApiError> {
    let unknown = || {
        RejectReason::Crypto(scrm_core::wecom::crypto::CryptoError::BadSignature).into_api_error()
    };
    let id = TenantId::parse(corp).map_err(|_| unknown())?;
    tenants.tenant(&id).await?.ok_or_else(unknown)
}

async fn route<T, S, P>(
    h: &CallbackHandler<T, S, P>,
    corp: &str,
    req: &Request,
) -> Result<Response<Body>, ApiError>
where
    T: TenantLookup,
    S: DirectorySource,
    P: EventPublisher,
{
    let method = req.method().as_str();
    if method != "GET" && method != "POST" {
        return Err(ApiError::method_not_allowed());
    }
    if corp_from_path(req).is_none() {
        return Err(ApiError::not_found("use /callback/{corp_id}"));
    }
    // The body limit is checked before anything is looked up or decrypted.
    if method == "POST" && http::body_bytes(req).len() > h.policy.max_body {
        return Err(ApiError::too_large(h.policy.max_body));
    }
    // What can be checked without the tenant is checked before it is looked up.
    open::required_params(req, method == "GET").map_err(RejectReason::into_api_error)?;
    let tenant = tenant_of(&h.tenants, corp).await?;
    if method == "GET" {
        let echo = open::verify_url(&tenant, req).map_err(RejectReason::into_api_error)?;
        tracing::info!("URL verified");
        return Ok(text_response(200, echo));
    }
    let callback = open::open_callback(
        &tenant,
        req,
        h.clock.now().timestamp(),
        h.policy.timestamp_window,
    )
    .map_err(RejectReason::into_api_error)?;
    tracing::Span::current().record("dedupe_key", callback.dedupe_key.as_str());
    let inbox = Inbox {
        receipts: &h.dir,
        dir: &h.dir,
        tags: &h.tags,
        source: &h.source,
        publisher: &h.publisher,
        clock: &*h.clock,
        settings: h.policy.inbox(),
    };
    // Every way a callback lands (first delivery, duplicate, a peer finishing it) is
    // acknowledged the same.
    inbox.land(&tenant, &callback).await.map_err(inbox_error)?;
    Ok(text_response(200, ACK))
}

/// The answer to a callback that could not land now. Every one is a 5xx, so that WeCom
/// re-delivers; the receipt says where to resume.
fn inbox_error(e: InboxError) -> ApiError {
    match e {
        InboxError::Store(e) => e.into(),
        InboxError::Publish(_) => ApiError::unavailable(),
        InboxError::InProgress => ApiError::new(
            503,
            "callback_in_progress",
            "this callback is being processed by another delivery; retry later",
        ),
    }
}
