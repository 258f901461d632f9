//! From an HTTP request to a verified, decrypted, parsed callback, with the crypto and event
//! parsing of `scrm_core::wecom` (the same code `scrm wecom decrypt` runs) and
//! `scrm_core::contacts::callback`. Every way a request can be wrong maps to one
//! [`RejectReason`] with a stable code.
use lambda_http::{Request, RequestExt};
use scrm_adapters::http::{self, ApiError};
use scrm_core::config::Secret;
use scrm_core::contacts::callback::{parse_callback, Callback};
use scrm_core::tenants::Tenant;
use scrm_core::wecom::crypto::{CallbackCrypto, CryptoError};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

/// Why a request is not a valid callback for this tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// `msg_signature`, `timestamp`, `nonce` (or `echostr` on GET) missing.
    MissingParameter(&'static str),
    /// Signature, ciphertext, receive id or envelope wrong (the crypto's own codes).
    Crypto(CryptoError),
    /// The decrypted message is not a parseable callback.
    BadMessage(String),
    /// `timestamp` is not epoch seconds.
    BadTimestamp,
    /// A validly signed callback whose `timestamp` is further from now than the window: a
    /// replay of a captured request (WeCom's own re-deliveries come within minutes).
    StaleTimestamp {
        /// How far from now the timestamp is, in seconds (negative: in the future).
        age_secs: i64,
        /// The accepted distance.
        window_secs: u64,
    },
    /// The tenant's stored Token or EncodingAESKey is unusable (a configuration problem on
    /// this side, not the caller's).
    Misconfigured(CryptoError),
}

impl RejectReason {
    /// The HTTP error: a 4xx with a stable code (a 5xx only when the tenant's own
    /// configuration is broken).
    pub fn into_api_error(self) -> ApiError {
        match self {
            RejectReason::MissingParameter(name) => ApiError::bad_request(
                "missing_parameter",
                format!("query parameter `{name}` is required"),
            ),
            RejectReason::Crypto(e) => {
                let status = match e {
                    CryptoError::BadSignature => 401,
                    CryptoError::WrongReceiveId => 403,
                    CryptoError::BodyTooLarge => 413,
                    _ => 400,
                };
                ApiError::new(status, e.code(), e.to_string())
            }
            RejectReason::BadTimestamp => ApiError::bad_request(
                "bad_timestamp",
                "query parameter `timestamp` must be epoch seconds",
            ),
            RejectReason::StaleTimestamp {
                age_secs,
                window_secs,
            } => ApiError::bad_request(
                "stale_timestamp",
                format!(
                    "timestamp is {age_secs} s from now; callbacks are accepted within {window_secs} s"
                ),
            ),
            RejectReason::BadMessage(why) => ApiError::bad_request(
                "bad_message",
                format!("decrypted message is not a WeCom callback: {why}"),
            ),
            RejectReason::Misconfigured(e) => {
                tracing::error!(code = e.code(), "tenant callback secrets are unusable");
                ApiError::new(
                    500,
                    "callback_misconfigured",
                    "this tenant's callback Token or EncodingAESKey is invalid; fix the tenant",
                )
            }
        }
    }
}

fn param<'r>(req: &'r Request, name: &'static str) -> Result<&'r str, RejectReason> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
        .ok_or(RejectReason::MissingParameter(name))
}

/// The query parameters every request needs (`echostr` too for a URL verification),
/// checked before the tenant is looked up.
pub fn required_params(req: &Request, verification: bool) -> Result<(), RejectReason> {
    param(req, "msg_signature")?;
    param(req, "timestamp")?;
    param(req, "nonce")?;
    if verification {
        param(req, "echostr")?;
    }
    Ok(())
}

/// A tenant's callback crypto and the secrets it was derived from.
struct Derived {
    token: Secret,
    encoding_aes_key: Secret,
    crypto: Arc<CallbackCrypto>,
}

/// How many tenants' crypto a container keeps (one entry is a few hundred bytes).
const DERIVED_CACHE: usize = 1024;

/// The container's derived crypto, by corp id.
static DERIVED: LazyLock<Mutex<HashMap<String, Derived>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The tenant's callback crypto, derived once per container: validating the Token, decoding
/// the EncodingAESKey and expanding the AES key schedule cost about as much as all the
/// other in-process work of a callback. Derived again when the tenant's secrets change.
fn crypto_of(tenant: &Tenant) -> Result<Arc<CallbackCrypto>, RejectReason> {
    let corp = tenant.id.as_str();
    let mut cache = DERIVED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(d) = cache.get(corp) {
        if d.token == tenant.callback_token && d.encoding_aes_key == tenant.encoding_aes_key {
            return Ok(d.crypto.clone());
        }
    }
    let crypto = Arc::new(
        CallbackCrypto::from_parts(
            tenant.callback_token.expose(),
            tenant.encoding_aes_key.expose(),
            corp,
        )
        .map_err(RejectReason::Misconfigured)?,
    );
    if cache.len() >= DERIVED_CACHE {
        cache.clear();
    }
    cache.insert(
        corp.to_string(),
        Derived {
            token: tenant.callback_token.clone(),
            encoding_aes_key: tenant.encoding_aes_key.clone(),
            crypto: crypto.clone(),
        },
    );
    Ok(crypto)
}

/// GET URL verification: the bare decrypted echostr.
pub fn verify_url(tenant: &Tenant, req: &Request) -> Result<String, RejectReason> {
    let signature = param(req, "msg_signature")?;
    let timestamp = param(req, "timestamp")?;
    let nonce = param(req, "nonce")?;
    let echostr = param(req, "echostr")?;
    crypto_of(tenant)?
        .verify_url(signature, timestamp, nonce, echostr)
        .map_err(RejectReason::Crypto)
}

/// POST: verify, decrypt, check the receiver, check the (signed) timestamp is within
/// `window` of `now` (epoch seconds), parse.
pub fn open_callback(
    tenant: &Tenant,
    req: &Request,
    now: i64,
    window: Duration,
) -> Result<Callback, RejectReason> {
    let signature = param(req, "msg_signature")?;
    let timestamp = param(req, "timestamp")?;
    let nonce = param(req, "nonce")?;
    let xml = crypto_of(tenant)?
        .decrypt_message(signature, timestamp, nonce, http::body_bytes(req))
        .map_err(RejectReason::Crypto)?;
    // The timestamp is covered by the signature, so only its sender could have chosen it;
    // an old one is a recorded request played again. Receipts (the dedupe window) expire
    // after 30 days, so without this a replay after that would be applied again.
    let sent_at: i64 = timestamp.parse().map_err(|_| RejectReason::BadTimestamp)?;
    let age_secs = now.saturating_sub(sent_at);
    if age_secs.unsigned_abs() > window.as_secs() {
        return Err(RejectReason::StaleTimestamp {
            age_secs,
            window_secs: window.as_secs(),
        });
    }
    // An unknown event parses (stored and acknowledged); only unreadable XML, or a known
    // event missing an identifying element, is rejected.
    parse_callback(xml).map_err(|e| RejectReason::BadMessage(format!("{} ({})", e, e.code())))
}
