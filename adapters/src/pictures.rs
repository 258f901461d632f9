//! Pictures fetched from the web to be embedded in fission posters and welcome messages
//! ([`scrm_core::growth::ports::PictureSource`]): http(s) only, a short timeout, at most
//! [`MAX_PICTURE_BYTES`], and only what answers as a PNG, JPEG, GIF, WebP or SVG picture, so that
//! an operator's background URL cannot make the function read anything else into a poster.
//! The URL is an operator's, fetched from inside the cloud: only public addresses are
//! reached (no loopback, private, link-local, such as the instance metadata service, or
//! otherwise reserved address, whether named in the URL, resolved from its host or reached by
//! a redirect), unless the deployment allows private hosts (a local stack, whose fake WeCom
//! server serves its QR codes on loopback).
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use scrm_core::growth::ports::{Picture, PictureSource};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The environment variable that lets a deployment fetch pictures from private addresses
/// (`true` in the local stack only).
pub const ALLOW_PRIVATE_ENV: &str = "PICTURES_ALLOW_PRIVATE_HOSTS";
/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

/// The largest picture embedded (a poster's background is the largest, typically 100-500 KB).
pub const MAX_PICTURE_BYTES: usize = 2 * 1024 * 1024;
/// How long one picture may take.
const PICTURE_TIMEOUT: Duration = Duration::from_secs(3);
// SVG too: a poster is shown as an image, where an embedded SVG runs no script.
const TYPES: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/svg+xml",
];

/// Whether `ip` is an address of the public internet (not loopback, private, link-local,
/// shared, documentation, multicast, unspecified or otherwise reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [first, second, ..] = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_documentation()
                || a.is_multicast()
                || first == 0
                || first >= 240
                // 100.64.0.0/10, carrier-grade NAT; 192.0.0.0/24, protocol assignments;
                // 198.18.0.0/15, benchmarking.
                || (first == 100 && (second & 0xc0) == 64)
                || (first == 192 && second == 0 && a.octets()[2] == 0)
                || (first == 198 && (second & 0xfe) == 18))
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && a.segments()[1] == 0x0db8) // documentation
        }
    }
}

/// Whether a URL's host may be fetched: a name (its addresses are checked when resolved) or
/// a public address.
fn host_allowed(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(_)) => true,
        Some(url::Host::Ipv4(a)) => is_public(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => is_public(IpAddr::V6(a)),
        None => false,
    }
}

/// The system resolver, keeping only public addresses (none: the name fails to resolve).
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The web, through reqwest.
#[derive(Debug, Clone)]
pub struct HttpPictures {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpPictures {
    /// Public addresses only, with the timeouts above (reqwest follows http(s) redirects
    /// only, and each is checked like the URL).
    pub fn new() -> Self {
        Self::build(false)
    }

    /// As the deployment says: private hosts too when [`ALLOW_PRIVATE_ENV`] is `true`.
    pub fn from_env() -> Self {
        Self::build(
            std::env::var(ALLOW_PRIVATE_ENV)
                .map(|v| v.eq_ignore_ascii_case("true"))
                .unwrap_or(false),
        )
    }

    /// Private hosts too (tests and the local stack, whose fake WeCom server is on
    /// loopback).
    pub fn allowing_private_hosts() -> Self {
        Self::build(true)
    }

    fn build(allow_private: bool) -> Self {
        crate::aws_http::install_crypto_provider();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if allow_private || host_allowed(attempt.url()) {
                attempt.follow()
            } else {
                attempt.error("a redirect to a private address")
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(PICTURE_TIMEOUT)
            .timeout(PICTURE_TIMEOUT)
            .redirect(redirects);
        if !allow_private {
            builder = builder.dns_resolver(PublicOnly);
        }
        Self {
            client: builder.build().unwrap_or_default(),
            allow_private,
        }
    }
}

impl Default for HttpPictures {
    fn default() -> Self {
        Self::new()
    }
}

impl PictureSource for HttpPictures {
    async fn picture(&self, url: &str) -> Option<Picture> {
        let parsed = reqwest::Url::parse(url).ok()?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return None;
        }
        if !self.allow_private && !host_allowed(&parsed) {
            tracing::warn!("poster picture not fetched: not a public address");
            return None;
        }
        let mut resp = match self.client.get(parsed).send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                tracing::warn!(status = %r.status(), "poster picture not fetched");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "poster picture not fetched");
                return None;
            }
        };
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })?;
        if !TYPES.contains(&content_type.as_str())
            || resp
                .content_length()
                .is_some_and(|n| n > MAX_PICTURE_BYTES as u64)
        {
            return None;
        }
        let mut bytes = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_PICTURE_BYTES {
                        return None;
                    }
                }
                Ok(None) => break,
                Err(_) => return None,
            }
        }
        Some(Picture {
            content_type,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_reached() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "203.119.1.1", "2400:3200::1", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_private_url_is_not_fetched_unless_allowed() {
        let pictures = HttpPictures::new();
        for url in [
            "http://127.0.0.1:9/p.png",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:9/p.png",
            "http://localhost:9/p.png",
            "file:///etc/passwd",
        ] {
            assert!(pictures.picture(url).await.is_none(), "{url}");
        }
        assert!(host_allowed(
            &reqwest::Url::parse("https://wework.qpic.cn/p.png").unwrap()
        ));
        assert!(!host_allowed(
            &reqwest::Url::parse("http://10.0.0.1/p.png").unwrap()
        ));
    }
}
