//! Pictures fetched from the web to be embedded in fission posters
//! ([`scrm_core::growth::ports::PictureSource`]): http(s) only, a short timeout, at most
//! [`MAX_PICTURE_BYTES`], and only what answers as a PNG, JPEG, GIF, WebP or SVG picture, so that
//! an operator's background URL cannot make the function read anything else into a poster.
use scrm_core::growth::ports::{Picture, PictureSource};
use std::time::Duration;

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

/// The web, through reqwest.
#[derive(Debug, Clone)]
pub struct HttpPictures {
    client: reqwest::Client,
}

impl HttpPictures {
    /// A client with the timeouts above (no redirects to other schemes: reqwest follows
    /// http(s) only).
    pub fn new() -> Self {
        crate::aws_http::install_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(PICTURE_TIMEOUT)
            .timeout(PICTURE_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self { client }
    }
}

impl Default for HttpPictures {
    fn default() -> Self {
        Self::new()
    }
}

impl PictureSource for HttpPictures {
    async fn picture(&self, url: &str) -> Option<Picture> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return None;
        }
        let mut resp = match self.client.get(url).send().await {
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
