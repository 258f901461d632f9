//! Handler of the `wecom-callback` function (function URL, `GET|POST /callback/{corp_id}`).
//!
//! - GET: WeCom's URL verification. The signature over the echostr is checked and the
//!   bare decrypted echostr is answered.
//! - POST: a callback. The body is bounded, the signature checked in constant time, the
//!   message decrypted, its receive id checked against the tenant's corp id and the event
//!   parsed. Anything wrong is a 4xx with a stable code and nothing is written.
//!
//! A valid callback then lands exactly once (see `scrm_core::contacts::receipts`): a durable
//! receipt keyed by the tenant and the event's content-derived dedupe key is written first;
//! the directory effects follow, then the domain events, each step recorded on the
//! receipt. A re-delivery of a finished callback does nothing; concurrent deliveries of one
//! callback give one effect; a delivery that died midway is completed by WeCom's next
//! re-delivery. Unknown events are stored with their XML and acknowledged.
//!
//! The answer is `success` (HTTP 200) as soon as the receipt is published; WeCom reads are
//! bounded so that the whole stays well inside WeCom's 5 seconds.
mod open;
mod parse;

pub use open::{Opened, RejectReason};
pub use parse::{change_of, parse_callback};

pub mod wire;

use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoTags;
use scrm_adapters::dynamo::StoreError;
use scrm_adapters::http::IntoResponse;
use scrm_adapters::http::{self, text_response, ApiError};
use scrm_core::clock::Clock;
use scrm_core::contacts::apply::{Applier, Produced};
use scrm_core::contacts::receipts::{Acquired, NewReceipt, ReceiptStatus, ReceiptStore};
use scrm_core::contacts::source::{contact_credentials, DirectorySource};
use scrm_core::events::{EventEnvelope, EventPublisher};
use scrm_core::tenants::{Tenant, TenantId, TenantLookup};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Timing and size limits of the callback endpoint.
#[derive(Debug, Clone, Copy)]
pub struct CallbackPolicy {
    /// The largest body accepted (WeCom's callbacks are well under 4 KiB).
    pub max_body: usize,
    /// How long a delivery owns a receipt before a re-delivery may take it over. Longer
    /// than one delivery's work, shorter than WeCom's re-delivery interval.
    pub lease: Duration,
    /// How long a concurrent duplicate waits for the owner before asking WeCom to retry.
    pub wait_for_peer: Duration,
    /// The longest one WeCom API read may take while handling a callback.
    pub fetch_budget: Duration,
}

impl Default for CallbackPolicy {
    fn default() -> Self {
        Self {
            max_body: 64 * 1024,
            lease: Duration::from_secs(10),
            wait_for_peer: Duration::from_millis(1500),
            fetch_budget: Duration::from_millis(1500),
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

async fn tenant_of<T: TenantLookup>(tenants: &T, corp: &str) -> Result<Tenant, ApiError> {
    let unknown = || {
        ApiError::new(
            404,
            "unknown_tenant",
            "no tenant is registered for this corp id",
        )
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
    let tenant = tenant_of(&h.tenants, corp).await?;
    if method == "GET" {
        let echo = open::verify_url(&tenant, req).map_err(RejectReason::into_api_error)?;
        tracing::info!("URL verified");
        return Ok(text_response(200, echo));
    }
    let opened = open::open_callback(&tenant, req).map_err(RejectReason::into_api_error)?;
    tracing::Span::current().record("dedupe_key", opened.dedupe_key.as_str());
    land(h, &tenant, &opened).await?;
    Ok(text_response(200, ACK))
}

/// Lands a verified callback exactly once (the receipt state machine).
async fn land<T, S, P>(
    h: &CallbackHandler<T, S, P>,
    tenant: &Tenant,
    cb: &Opened,
) -> Result<(), ApiError>
where
    T: TenantLookup,
    S: DirectorySource,
    P: EventPublisher,
{
    let t = &tenant.id;
    let receipt = NewReceipt {
        kind: cb.kind.clone(),
        unknown: cb.change.is_none(),
        xml: cb.xml.clone(),
        event_time: cb.event_time,
    };
    let lease_ms = h.policy.lease.as_millis() as i64;
    let acquired = h
        .dir
        .acquire(t, &cb.dedupe_key, &receipt, h.clock.now(), lease_ms)
        .await?;
    let (lease, status, recorded, resumed) = match acquired {
        Acquired::Done => {
            tracing::info!(kind = %cb.kind, "duplicate delivery; already done");
            return Ok(());
        }
        Acquired::Busy => return wait_for_peer(h, t, &cb.dedupe_key).await,
        Acquired::Owned {
            lease,
            status,
            events,
            resumed,
        } => (lease, status, events, resumed),
    };
    if resumed {
        tracing::warn!(
            status = status.as_str(),
            "taking over a delivery that did not finish"
        );
    }
    let outcome = async {
        let events = match (status, recorded) {
            (ReceiptStatus::Applied, Some(events)) => events,
            _ => {
                let events = effects(h, tenant, cb).await?;
                if !h
                    .dir
                    .mark_applied(t, &cb.dedupe_key, &lease, &events, h.clock.now())
                    .await?
                {
                    tracing::warn!("lease lost to a re-delivery, which finishes the callback");
                    return Ok(false);
                }
                events
            }
        };
        if let Err(e) = h.publisher.publish(&events).await {
            tracing::error!(error = %e, events = events.len(), "publishing domain events failed");
            return Err(Failure::Publish(e.to_string()));
        }
        h.dir
            .mark_published(t, &cb.dedupe_key, &lease, h.clock.now())
            .await?;
        tracing::info!(kind = %cb.kind, events = events.len(), unknown = cb.change.is_none(), "callback landed");
        Ok(true)
    }
    .await;
    match outcome {
        Ok(_) => Ok(()),
        Err(failure) => {
            // Let WeCom's next re-delivery take over at once.
            if let Err(e) = h
                .dir
                .release(t, &cb.dedupe_key, &lease, &failure.to_string())
                .await
            {
                tracing::warn!(error = %e, "could not release the receipt lease");
            }
            Err(failure.into())
        }
    }
}

/// Why landing a callback failed after its receipt was taken.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("directory: {0}")]
    Store(#[from] StoreError),
    #[error("publish: {0}")]
    Publish(String),
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Store(e) => e.into(),
            // WeCom re-delivers on a non-200 answer; the receipt says where to resume.
            Failure::Publish(_) => ApiError::unavailable(),
        }
    }
}

/// Applies the callback's change and returns the envelopes of its domain events.
async fn effects<T, S, P>(
    h: &CallbackHandler<T, S, P>,
    tenant: &Tenant,
    cb: &Opened,
) -> Result<Vec<EventEnvelope>, StoreError>
where
    T: TenantLookup,
    S: DirectorySource,
    P: EventPublisher,
{
    let Some(change) = &cb.change else {
        return Ok(Vec::new());
    };
    let applier = Applier {
        dir: &h.dir,
        tags: &h.tags,
        source: contact_credentials(tenant).map(|c| (&h.source, c)),
        fetch_budget: h.policy.fetch_budget,
        tenant: &tenant.id,
    };
    let produced: Vec<Produced> = applier.apply(change, cb.event_time).await?;
    let occurred_at =
        chrono::DateTime::from_timestamp(cb.event_time, 0).unwrap_or_else(|| h.clock.now());
    Ok(produced
        .into_iter()
        .map(|p| {
            EventEnvelope::new(
                p.event_id(&cb.dedupe_key),
                tenant.id.as_str(),
                occurred_at,
                p.event,
            )
        })
        .collect())
}

/// A concurrent duplicate: wait (bounded) for the delivery that owns the receipt; if it
/// has not finished, ask WeCom to deliver again later rather than acknowledge a callback
/// whose effects might still be lost.
async fn wait_for_peer<T, S, P>(
    h: &CallbackHandler<T, S, P>,
    t: &TenantId,
    dedupe_key: &str,
) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + h.policy.wait_for_peer;
    loop {
        if h.dir.receipt_status(t, dedupe_key).await? == Some(ReceiptStatus::Published) {
            tracing::info!("concurrent duplicate; the other delivery finished");
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::new(
                503,
                "callback_in_progress",
                "this callback is being processed by another delivery; retry later",
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
