//! The WeCom API layer's one error type.
use std::error::Error as StdError;
use std::time::Duration;

/// Errcodes that mean "this access token is no longer good": invalidate, refetch, retry once.
/// 40001 only counts when it comes from a call other than `gettoken` (WxJava and wechatpy
/// treat it so); from `gettoken` it means the secret itself is wrong.
pub const TOKEN_ERRCODES: [i64; 3] = [40001, 40014, 42001];
/// Errcodes `gettoken` returns for a wrong corp id or secret.
pub const CREDENTIAL_ERRCODES: [i64; 2] = [40001, 40013];
/// Frequency and concurrency limits. 45011 is not in WeCom's documented list (it is the
/// Official Account code for "too frequent") but is treated the same if it ever appears.
/// WeCom did not act on a call it answered with one of these.
pub const RATE_LIMIT_ERRCODES: [i64; 3] = [FREQUENCY_ERRCODE, CONCURRENCY_ERRCODE, 45011];
/// "api freq out of limit": a frequency limit of the corp's API (or the IP) is exceeded, and
/// WeCom blocks the API until the window passes (60 s for a minute's limit, the hour for an
/// hour's).
pub const FREQUENCY_ERRCODE: i64 = 45009;
/// "api concurrent out of limit": too many calls of one API of the corp at once; it clears
/// as soon as calls in flight finish.
pub const CONCURRENCY_ERRCODE: i64 = 45033;
/// System busy: WeCom's own advice is to retry with backoff, at most three times.
pub const BUSY_ERRCODE: i64 = -1;
/// The caller's egress IP is not in the app's trusted IPs.
pub const UNTRUSTED_IP_ERRCODE: i64 = 60020;
/// A mass-message task is still being dispatched; asking again later succeeds.
pub const STILL_DISPATCHING_ERRCODE: i64 = 41063;

/// Why a call to WeCom's server API failed.
///
/// Branch on the variant (or on [`WeComError::errcode`]), never on `errmsg` text: WeCom
/// itself says errmsg is not stable.
#[derive(Debug, thiserror::Error)]
pub enum WeComError {
    /// WeCom answered with a non-zero errcode that has no more specific variant (for example
    /// 84061 "not an external contact", 40096 invalid external_userid, 41048 nobody to send to).
    /// `errmsg` is WeCom's text, for logs and operators.
    #[error("WeCom errcode {errcode}: {errmsg}")]
    Api {
        /// WeCom's errcode.
        errcode: i64,
        /// WeCom's errmsg (for humans; not for matching).
        errmsg: String,
    },
    /// 60020: WeCom refused the call because this server's egress IP is not in the app's
    /// 企业可信IP (trusted IPs). Nothing in the request is wrong; an administrator must add
    /// the functions' fixed egress IP (the NAT gateway's Elastic IP) to the app's trusted IPs
    /// in the WeCom admin console. It takes about a minute to apply. Retrying sooner fails.
    #[error(
        "WeCom refused this server's egress IP (60020): add the fixed egress IP (the NAT \
         gateway's Elastic IP) to the app's 企业可信IP in the WeCom admin console; WeCom said: {errmsg}"
    )]
    UntrustedIp {
        /// WeCom's errmsg, which names the refused IP.
        errmsg: String,
    },
    /// Retry later: WeCom answered a frequency or concurrency limit (45009, 45011, or 45033
    /// persisting through the bounded backoff), or the client's own pacing of the corp's
    /// calls to this API would have waited past the caller's deadline. The call did not take
    /// effect (WeCom acts on no call it refuses so), so trying it again after `retry_after`
    /// sends nothing twice. Never a permanent failure: reschedule, do not loop.
    #[error("WeCom calls of this API are over their frequency limit; retry in {retry_after:?}")]
    RetryLater {
        /// WeCom's errcode (45009, 45033, 45011); `None` when the client's pacing refused to
        /// wait and WeCom was not called.
        errcode: Option<i64>,
        /// When trying again should succeed: the rest of WeCom's block, or the wait for
        /// the pacing's next free slot.
        retry_after: Duration,
    },
    /// `gettoken` rejected the corp id or secret (40001 wrong secret, 40013 wrong corp id):
    /// a configuration problem (secret reset, app disabled, wrong tenant settings). Retrying
    /// cannot help, and repeated wrong secrets from one IP can get it blocked for an hour.
    #[error(
        "WeCom rejected the corp id or secret (errcode {errcode}); check the tenant's credentials"
    )]
    InvalidCredential {
        /// 40001 or 40013.
        errcode: i64,
    },
    /// WeCom still rejected the access token after it was refetched once (40014/42001/40001).
    /// The client never loops on refreshes; this usually means a secret mismatch between the
    /// token and the API (for example the app secret used for a customer-contact API).
    #[error("WeCom rejected a freshly fetched access token (errcode {errcode})")]
    TokenExpired {
        /// The errcode of the second rejection.
        errcode: i64,
    },
    /// No answer within the request timeout. The request may or may not have taken effect.
    #[error("WeCom did not answer in time")]
    Timeout,
    /// The request did not reach WeCom or the connection broke (the URL, which holds the
    /// token or secret, is stripped from the source).
    #[error("could not reach WeCom")]
    Transport(#[source] Box<dyn StdError + Send + Sync>),
    /// WeCom (or a proxy in front of it) answered with a non-success HTTP status.
    #[error("WeCom {path} answered HTTP {status}")]
    HttpStatus {
        /// The API path.
        path: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// WeCom answered errcode 0 with a body that does not have the documented shape.
    #[error("unexpected response body from WeCom {path}")]
    Decode {
        /// The API path.
        path: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// WeCom answered something that parses but breaks the protocol (for example a cursor
    /// that repeats, which would page forever).
    #[error("unexpected response from WeCom {path}: {detail}")]
    UnexpectedResponse {
        /// The API path.
        path: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The request breaks one of WeCom's documented limits (sizes, counts, required fields)
    /// and was not sent.
    #[error("invalid WeCom request: {0}")]
    InvalidRequest(String),
    /// The shared access-token cache failed in a way the client could not work around.
    #[error("access token cache failed")]
    TokenCache(#[source] Box<dyn StdError + Send + Sync>),
}

impl WeComError {
    /// Whether the same request may succeed if tried again later: system busy (-1), a
    /// mass-message task still dispatching (41063), rate limits, timeouts, transport
    /// failures, 5xx statuses and cache outages. Configuration problems (credentials,
    /// trusted IPs), bad requests and other WeCom errcodes are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            WeComError::Api { errcode, .. } => {
                *errcode == BUSY_ERRCODE || *errcode == STILL_DISPATCHING_ERRCODE
            }
            WeComError::RetryLater { .. }
            | WeComError::Timeout
            | WeComError::Transport(_)
            | WeComError::TokenCache(_) => true,
            WeComError::HttpStatus { status, .. } => *status >= 500,
            WeComError::UntrustedIp { .. }
            | WeComError::InvalidCredential { .. }
            | WeComError::TokenExpired { .. }
            | WeComError::Decode { .. }
            | WeComError::UnexpectedResponse { .. }
            | WeComError::InvalidRequest(_) => false,
        }
    }

    /// WeCom's errcode behind this error, when WeCom answered with one.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WeComError::Api { errcode, .. }
            | WeComError::InvalidCredential { errcode }
            | WeComError::TokenExpired { errcode } => Some(*errcode),
            WeComError::RetryLater { errcode, .. } => *errcode,
            WeComError::UntrustedIp { .. } => Some(UNTRUSTED_IP_ERRCODE),
            _ => None,
        }
    }

    /// How long to wait before trying again, when the error says so ([`WeComError::RetryLater`]).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            WeComError::RetryLater { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcode_and_retryability_follow_the_variant() {
        let busy = WeComError::Api {
            errcode: -1,
            errmsg: "system busy".into(),
        };
        assert!(busy.is_retryable());
        assert_eq!(busy.errcode(), Some(-1));

        let not_contact = WeComError::Api {
            errcode: 84061,
            errmsg: "not external contact".into(),
        };
        assert!(!not_contact.is_retryable());

        let ip = WeComError::UntrustedIp {
            errmsg: "from ip: 1.2.3.4".into(),
        };
        assert_eq!(ip.errcode(), Some(60020));
        assert!(!ip.is_retryable());
        assert!(ip.to_string().contains("企业可信IP"));

        let later = WeComError::RetryLater {
            errcode: Some(45009),
            retry_after: Duration::from_secs(60),
        };
        assert!(later.is_retryable());
        assert_eq!(later.errcode(), Some(45009));
        assert_eq!(later.retry_after(), Some(Duration::from_secs(60)));
        assert_eq!(WeComError::Timeout.retry_after(), None);
        assert!(!WeComError::InvalidCredential { errcode: 40001 }.is_retryable());
        assert!(WeComError::Timeout.is_retryable());
        assert_eq!(WeComError::Timeout.errcode(), None);
        assert!(WeComError::HttpStatus {
            path: "x",
            status: 502
        }
        .is_retryable());
        assert!(!WeComError::HttpStatus {
            path: "x",
            status: 404
        }
        .is_retryable());
    }
}
