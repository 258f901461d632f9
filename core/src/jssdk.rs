//! WeCom's JS-SDK signatures for the staff pages opened inside WeCom (`wx.config` and
//! `wx.agentConfig`, which `sendChatMessage` and the chat-toolbar APIs need).
//!
//! A page registers with a signature over its own URL made from a jsapi ticket: the corp's
//! ticket (`get_jsapi_ticket`) for `wx.config`, the app's ticket
//! (`ticket/get?type=agent_config`) for `wx.agentConfig`. Tickets live 7200 s and WeCom
//! limits how often they may be fetched (400 an hour per corp, 100 per app), so they are
//! cached per (corp, app), refreshed before expiry and fetched by one caller at a time (the
//! adapter's concern, behind [`JsApiTickets`]). Only pages on the origins the deployment
//! names are signed: a signature for any URL would let another site act as the app.
use crate::http::ApiError;
use crate::tenants::Tenant;
use crate::wecom::api::WeComError;
use rand::Rng;
use serde::Serialize;
use sha1::{Digest, Sha1};
use std::fmt;
use std::future::Future;

/// Which ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketKind {
    /// The corp's ticket, for `wx.config` (`get_jsapi_ticket`).
    Corp,
    /// The app's ticket, for `wx.agentConfig` (`ticket/get?type=agent_config`).
    Agent,
}

/// A jsapi ticket. Never printed: with it anyone can sign pages as the corp's app.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket(String);

impl Ticket {
    /// Wraps a ticket value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the signature.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticket(***)")
    }
}

/// Where tickets come from: WeCom, through a shared cache.
pub trait JsApiTickets: Send + Sync {
    /// A ticket of `kind` for the tenant's self-built app, valid for a while yet.
    fn ticket(
        &self,
        tenant: &Tenant,
        kind: TicketKind,
    ) -> impl Future<Output = Result<Ticket, WeComError>> + Send;
}

/// One signature, as `wx.config` / `wx.agentConfig` take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signature {
    /// Epoch seconds.
    pub timestamp: i64,
    /// A random string (16 letters and digits).
    pub nonce_str: String,
    /// `hex(sha1("jsapi_ticket=…&noncestr=…&timestamp=…&url=…"))`.
    pub signature: String,
}

/// WeCom's signature (doc 96909): the four fields in this order, not URL-encoded, the URL
/// cut before `#`, SHA-1 in lowercase hex.
pub fn sign(ticket: &Ticket, nonce_str: &str, timestamp: i64, url: &str) -> String {
    let url = url.split('#').next().unwrap_or(url);
    let plain = format!(
        "jsapi_ticket={}&noncestr={nonce_str}&timestamp={timestamp}&url={url}",
        ticket.expose()
    );
    hex::encode(Sha1::digest(plain.as_bytes()))
}

/// A fresh nonce: 16 letters and digits.
pub fn nonce() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A signature of `url` at `timestamp` with a fresh nonce.
pub fn signature(ticket: &Ticket, url: &str, timestamp: i64) -> Signature {
    let nonce_str = nonce();
    Signature {
        timestamp,
        signature: sign(ticket, &nonce_str, timestamp, url),
        nonce_str,
    }
}

/// The origins whose pages may be signed (`scheme://host[:port]`, lowercase, no trailing
/// slash), from a comma-separated list such as `PUBLIC_WEB_ORIGINS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebOrigins(Vec<String>);

impl WebOrigins {
    /// Parses `https://a.example,https://b.example:8443`; entries that are not an http(s)
    /// origin are dropped.
    pub fn parse(list: &str) -> Self {
        Self(
            list.split(',')
                .filter_map(|o| origin_of(o.trim().trim_end_matches('/')))
                .collect(),
        )
    }

    /// Whether no origin is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The page URL to sign: `url` cut before `#`, if it is an http(s) URL on one of the
    /// origins.
    pub fn page_url(&self, url: &str) -> Result<String, JsSdkError> {
        let page = url.split('#').next().unwrap_or(url);
        if page.len() > 2048 || page.chars().any(|c| c.is_control() || c == ' ') {
            return Err(JsSdkError::BadUrl);
        }
        let origin = origin_of(page).ok_or(JsSdkError::BadUrl)?;
        if !self.0.contains(&origin) {
            return Err(JsSdkError::ForeignOrigin);
        }
        Ok(page.to_string())
    }
}

/// `scheme://host[:port]` of an absolute http(s) URL, lowercase, the default port dropped.
fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
        return None;
    }
    let host = parsed.host_str()?.to_ascii_lowercase();
    Some(match parsed.port() {
        Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

/// Why no signature was made.
#[derive(Debug, thiserror::Error)]
pub enum JsSdkError {
    /// Not an absolute http(s) URL.
    #[error("url must be an absolute http(s) URL of a page")]
    BadUrl,
    /// A page on an origin that is not configured.
    #[error("url is not on a configured web origin")]
    ForeignOrigin,
    /// The tenant has no self-built app (agent id and secret).
    #[error("the tenant has no self-built app configured")]
    NoApp,
    /// WeCom failed or refused the ticket.
    #[error(transparent)]
    WeCom(#[from] WeComError),
}

impl From<JsSdkError> for ApiError {
    fn from(e: JsSdkError) -> Self {
        match e {
            JsSdkError::BadUrl => ApiError::validation(e.to_string()),
            JsSdkError::ForeignOrigin => ApiError::new(400, "url_not_allowed", e.to_string()),
            JsSdkError::NoApp => ApiError::new(409, "app_not_configured", e.to_string()),
            JsSdkError::WeCom(e) => {
                tracing::warn!(error = %e, errcode = ?e.errcode(), "jsapi ticket failed");
                if e.is_retryable() {
                    ApiError::new(503, "wecom_unavailable", "WeCom is busy; retry later")
                } else {
                    ApiError::new(502, "wecom_error", "WeCom refused the jsapi ticket")
                }
            }
        }
    }
}

/// What a staff page passes to `ww.register`: the corp, the app, and both signatures.
#[derive(Debug, Clone, Serialize)]
pub struct PageSignatures {
    /// The corp id.
    pub corp_id: String,
    /// The self-built app's agent id.
    pub agent_id: i64,
    /// For `wx.config` (the corp's ticket).
    pub config: Signature,
    /// For `wx.agentConfig` (the app's ticket).
    pub agent_config: Signature,
}

/// Both signatures of a page of `tenant`'s, at `now` (epoch seconds).
pub async fn page_signatures(
    tickets: &impl JsApiTickets,
    origins: &WebOrigins,
    tenant: &Tenant,
    url: &str,
    now: i64,
) -> Result<PageSignatures, JsSdkError> {
    let page = origins.page_url(url)?;
    let agent_id = match (tenant.app_agent_id, &tenant.app_secret) {
        (Some(agent), Some(_)) => agent,
        _ => return Err(JsSdkError::NoApp),
    };
    let (corp, agent) = futures::join!(
        tickets.ticket(tenant, TicketKind::Corp),
        tickets.ticket(tenant, TicketKind::Agent)
    );
    Ok(PageSignatures {
        corp_id: tenant.id.to_string(),
        agent_id,
        config: signature(&corp?, &page, now),
        agent_config: signature(&agent?, &page, now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_TICKET: &str =
        "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";

    #[test]
    fn signatures_match_the_documented_vectors() {
        let t = Ticket::new(DOC_TICKET);
        assert_eq!(
            sign(
                &t,
                "Wm3WZYTPz0wzccnW",
                1414587457,
                "http://mp.weixin.qq.com?params=value"
            ),
            "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
        );
        assert_eq!(
            sign(
                &t,
                "Wm3WZYTPz0wzccnW",
                1414587457,
                "http://mp.weixin.qq.com"
            ),
            "f4d90daf4b3bca3078ab155816175ba34c443a7b"
        );
    }

    #[test]
    fn the_fragment_is_not_signed() {
        let t = Ticket::new(DOC_TICKET);
        assert_eq!(
            sign(
                &t,
                "Wm3WZYTPz0wzccnW",
                1414587457,
                "http://mp.weixin.qq.com?params=value#/tasks/1"
            ),
            "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
        );
    }

    #[test]
    fn nonces_are_sixteen_alphanumerics_and_differ() {
        let a = nonce();
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, nonce());
    }

    #[test]
    fn only_pages_on_configured_origins_are_signed() {
        let o = WebOrigins::parse(" https://h5.example.com/ ,http://127.0.0.1:5174,ftp://x, ");
        assert_eq!(
            o.page_url("https://h5.example.com/staff/?a=1#/tasks")
                .unwrap(),
            "https://h5.example.com/staff/?a=1"
        );
        assert_eq!(
            o.page_url("HTTPS://H5.example.com:443/x").unwrap(),
            "HTTPS://H5.example.com:443/x"
        );
        assert!(o.page_url("http://127.0.0.1:5174/").is_ok());
        assert!(matches!(
            o.page_url("http://127.0.0.1:5175/"),
            Err(JsSdkError::ForeignOrigin)
        ));
        assert!(matches!(
            o.page_url("https://h5.example.com.evil.com/"),
            Err(JsSdkError::ForeignOrigin)
        ));
        assert!(matches!(
            o.page_url("https://evil.com/?https://h5.example.com"),
            Err(JsSdkError::ForeignOrigin)
        ));
        assert!(matches!(o.page_url("/relative"), Err(JsSdkError::BadUrl)));
        assert!(matches!(o.page_url("ftp://x/"), Err(JsSdkError::BadUrl)));
        assert!(WebOrigins::parse("").is_empty());
    }

    #[test]
    fn tickets_are_never_printed() {
        assert_eq!(format!("{:?}", Ticket::new("secret")), "Ticket(***)");
    }
}
