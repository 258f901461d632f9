//! What a tracked link is: the operator's target URL (a [`Link`], immutable once created),
//! and the short codes minted for it, one per send context ([`LinkCode`]), so that one target
//! sent by a plan, a welcome message or a staff member gets a code of its own and its clicks
//! are counted for that context.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Characters of a short code.
pub const CODE_LEN: usize = 10;
/// The longest target URL accepted (bytes). WeCom's link attachments and text messages carry
/// the short URL, never this one, but the redirect's `Location` header does.
pub const MAX_URL_LEN: usize = 2048;
/// The longest title (characters; WeCom's link attachment title is at most 64 bytes, the
/// notification lists titles).
pub const MAX_TITLE_CHARS: usize = 64;
/// The longest id of a plan, occurrence, staff member, channel or customer in a context.
pub const MAX_CONTEXT_ID_CHARS: usize = 128;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A link's short code: 10 base62 characters (about 59.5 bits), derived from the link's
/// secret and the send context, so it cannot be guessed from another code and the same
/// context always gets the same code (a retried send mints nothing new).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShortCode(String);

impl ShortCode {
    /// A code as it arrives in a URL: exactly [`CODE_LEN`] base62 characters, else `None`
    /// (answered as an unknown code without a read).
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == CODE_LEN && raw.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Self(raw.to_string()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code of `link` in `context`.
    pub fn derive(code_key: &str, link_id: &str, context: &SendContext) -> Self {
        let digest = Sha256::digest(format!("{code_key}\n{link_id}\n{}", context.key()));
        let mut n = u64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]));
        let mut out = [b'0'; CODE_LEN];
        // 62^10 < 2^64: the code is the hash's value modulo 62^10, written in full.
        for slot in out.iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        Self(String::from_utf8_lossy(&out).into_owned())
    }
}

impl std::fmt::Display for ShortCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A target URL: `http` or `https` with a host, at most [`MAX_URL_LEN`] bytes, no spaces or
/// control characters (it goes into a `Location` header as is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TargetUrl(String);

impl TargetUrl {
    /// Checks a URL; the problem otherwise.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("url is required".into());
        }
        if raw.len() > MAX_URL_LEN {
            return Err(format!("url is longer than {MAX_URL_LEN} bytes"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("url must not contain spaces or control characters".into());
        }
        let parsed = url::Url::parse(raw).map_err(|_| "url is not a valid URL".to_string())?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("url must be an http or https URL".into());
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err("url must name a host".into());
        }
        Ok(Self(raw.to_string()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a code's link was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Created in the console or the admin API and shared by hand.
    #[default]
    Direct,
    /// A welcome message (a channel code's or the default one).
    Welcome,
    /// An SOP plan's push.
    Plan,
    /// A campaign.
    Campaign,
}

impl Via {
    /// Its name in keys and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Direct => "direct",
            Via::Welcome => "welcome",
            Via::Plan => "plan",
            Via::Campaign => "campaign",
        }
    }
}

/// Where a link was sent: what its clicks are counted for. Each distinct context gets its
/// own code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendContext {
    /// How it was sent.
    #[serde(default)]
    pub via: Via,
    /// The SOP plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The plan's occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<String>,
    /// The staff member who sent it (notified of clicks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// The channel code (`state`) of a welcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The one customer it was sent to (a welcome message): its clicks are that customer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
}

impl SendContext {
    /// The context of a link shared by hand (no plan, no staff).
    pub fn direct() -> Self {
        Self::default()
    }

    /// The canonical text of the context the code is derived from.
    pub fn key(&self) -> String {
        let f = |o: &Option<String>| o.clone().unwrap_or_default();
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.via.as_str(),
            f(&self.plan),
            f(&self.occurrence),
            f(&self.staff),
            f(&self.channel),
            f(&self.customer)
        )
    }

    /// The problems of a context given from outside (ids too long or with `|`).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, value) in [
            ("plan", &self.plan),
            ("occurrence", &self.occurrence),
            ("staff", &self.staff),
            ("channel", &self.channel),
            ("customer", &self.customer),
        ] {
            if let Some(v) = value {
                if v.is_empty() || v.chars().count() > MAX_CONTEXT_ID_CHARS || v.contains('|') {
                    out.push(format!(
                        "{name} must be 1 to {MAX_CONTEXT_ID_CHARS} characters without '|'"
                    ));
                }
            }
        }
        out
    }
}

/// A tracked link: a target URL an operator created (immutable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// `lk` + 16 hex digits, stable per idempotency key.
    pub link_id: String,
    /// Where it leads.
    pub url: String,
    /// What it is called in lists and notifications.
    pub title: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it (`key:…`, `member:…`).
    pub created_by: String,
    /// The secret its codes are derived from (never answered).
    #[serde(skip)]
    pub code_key: String,
    /// The hash of the creating request (a retry with another body is refused).
    #[serde(skip)]
    pub request_hash: String,
}

/// A minted code: everything the redirect needs in one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCode {
    /// The code.
    pub code: ShortCode,
    /// The tenant.
    pub tenant: String,
    /// The link.
    pub link_id: String,
    /// The target.
    pub url: String,
    /// The link's title.
    pub title: String,
    /// Where it was sent.
    pub context: SendContext,
    /// The tenant's time zone when it was minted: the day a click is counted on.
    pub timezone: String,
}

impl LinkCode {
    /// The tenant's zone (Asia/Shanghai when unreadable).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

/// What an operator gives to create a link.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// The target.
    pub url: String,
    /// A title (default: the URL's host). Left out, not null: null is refused as the API says.
    #[serde(default, deserialize_with = "present_string")]
    pub title: Option<String>,
}

/// An optional string that, when given, is a string (a JSON null is refused, not read as absent).
fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

impl LinkInput {
    /// The problems of the input (empty: valid).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(p) = TargetUrl::parse(&self.url) {
            out.push(p);
        }
        if let Some(t) = &self.title {
            if t.trim().is_empty() || t.chars().count() > MAX_TITLE_CHARS {
                out.push(format!("title must be 1 to {MAX_TITLE_CHARS} characters"));
            }
            if t.chars().any(char::is_control) {
                out.push("title must not contain control characters".into());
            }
        }
        out
    }

    /// The title to keep: the given one, else the URL's host.
    pub fn title_or_host(&self) -> String {
        self.title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .or_else(|| {
                url::Url::parse(&self.url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
            })
            .unwrap_or_default()
    }
}

/// One code's clicks on one local day, with its context (the figures are added up from these).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CodeDay {
    /// The local day (`YYYY-MM-DD`).
    pub date: String,
    /// The code.
    pub code: String,
    /// Its link.
    pub link_id: String,
    /// Where it was sent.
    pub context: SendContext,
    /// Clicks.
    pub clicks: i64,
    /// Clicks of identified customers.
    pub identified: i64,
    /// Distinct visitors of the link that day whose first click of it that day was on this
    /// code (so a link's visitors of a day add up without counting anyone twice).
    pub visitors: i64,
}

/// Who clicked, for counting distinct visitors: the identified customer, else the anonymous
/// visitor id of the redirect's cookie. Only a hash of it is ever stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visitor {
    /// A customer (external_userid).
    Customer(String),
    /// A browser known only by its visitor cookie.
    Anonymous(String),
}

impl Visitor {
    /// The visitor as stored in a day's marker: 16 hex digits of SHA-256 of the kind and
    /// id (a customer and a cookie never meet; no raw id or cookie value in a key).
    pub fn key(&self) -> String {
        let raw = match self {
            Visitor::Customer(c) => format!("c\n{c}"),
            Visitor::Anonymous(a) => format!("a\n{a}"),
        };
        hex::encode(&Sha256::digest(raw.as_bytes())[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_keys_are_stable_hashes_that_keep_customers_and_cookies_apart() {
        let c = Visitor::Customer("wmA".into());
        assert_eq!(c.key(), Visitor::Customer("wmA".into()).key());
        assert_ne!(c.key(), Visitor::Anonymous("wmA".into()).key());
        assert_ne!(c.key(), Visitor::Customer("wmB".into()).key());
        assert_eq!(c.key().len(), 16);
        assert!(!c.key().contains("wmA"));
    }

    #[test]
    fn urls_are_http_or_https_with_a_host_and_bounded() {
        assert!(TargetUrl::parse("https://shop.example.com/a?b=1#c").is_ok());
        assert!(TargetUrl::parse("http://example.com").is_ok());
        for bad in [
            "",
            "javascript:alert(1)",
            "ftp://example.com/x",
            "https://",
            "https://exa mple.com",
            "https://example.com/\n",
            "//example.com",
            "data:text/html,hi",
        ] {
            assert!(TargetUrl::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(TargetUrl::parse(&long).is_err());
    }

    #[test]
    fn codes_are_stable_per_context_distinct_across_contexts_and_well_formed() {
        let ctx = SendContext {
            via: Via::Plan,
            plan: Some("p1".into()),
            staff: Some("zhangsan".into()),
            ..SendContext::default()
        };
        let a = ShortCode::derive("secret", "lk1", &ctx);
        assert_eq!(a, ShortCode::derive("secret", "lk1", &ctx));
        assert_eq!(ShortCode::parse(a.as_str()), Some(a.clone()));
        let other_staff = SendContext {
            staff: Some("lisi".into()),
            ..ctx.clone()
        };
        assert_ne!(a, ShortCode::derive("secret", "lk1", &other_staff));
        assert_ne!(a, ShortCode::derive("other", "lk1", &ctx));
        let codes: std::collections::HashSet<_> = (0..2000)
            .map(|i| {
                let c = SendContext {
                    customer: Some(format!("wm{i}")),
                    ..SendContext::default()
                };
                ShortCode::derive("k", "lk", &c)
            })
            .collect();
        assert_eq!(codes.len(), 2000);
        assert!(ShortCode::parse("short").is_none());
        assert!(ShortCode::parse("abc-efghij").is_none());
    }
}
