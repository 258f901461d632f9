//! The uploaded files of the content center in S3 (core's [`ObjectStore`]): presigned
//! uploads straight from the browser, and `HEAD`, `GET`, `DELETE` of objects.
//!
//! Four requests of S3's REST API signed with SigV4 and sent through the functions' one
//! HTTP client (reqwest on rustls with *ring*), as KMS's are (`crypto.rs`): the SDK's S3
//! crate would add megabytes to the one deployed binary for these.
//!
//! `CONTENT_BUCKET` names the bucket; `AWS_ENDPOINT_URL_S3` overrides S3's regional
//! endpoint (the local S3 server, moto's, in tests and local runs), which is then
//! addressed path-style (`{endpoint}/{bucket}/{key}`); in AWS the bucket is a virtual host.
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use scrm_core::config::ConfigError;
use scrm_core::content::ports::{ObjectError, ObjectHead, ObjectStore};
use std::fmt;
use std::time::{Duration, SystemTime};

/// The environment variable naming the content center's bucket.
pub const BUCKET_ENV: &str = "CONTENT_BUCKET";
/// The environment variable overriding S3's endpoint (local runs).
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_S3";

/// The content center's bucket.
#[derive(Clone)]
pub struct S3Objects {
    http: reqwest::Client,
    /// `https://{bucket}.s3.{region}.amazonaws.com` or `{endpoint}/{bucket}`.
    base: String,
    region: String,
    credentials: SharedCredentialsProvider,
    /// Credentials read once for presigning, which cannot wait (Lambda's are fixed for the
    /// container's life; refreshed ones are read for every other request).
    static_credentials: Option<Credentials>,
}

impl fmt::Debug for S3Objects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Objects")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn object_error(e: impl fmt::Display) -> ObjectError {
    ObjectError(e.to_string())
}

/// Each path segment of a key, percent-encoded as S3 expects (the `/` kept).
fn encode_key(key: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(key, SET).to_string()
}

impl S3Objects {
    /// The bucket of `CONTENT_BUCKET` with the SDK configuration's region and credentials;
    /// `None` when no bucket is configured (functions that do not use files).
    pub fn from_env(sdk: &aws_types::sdk_config::SdkConfig) -> Result<Option<Self>, ConfigError> {
        let Some(bucket) = std::env::var(BUCKET_ENV).ok().filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let endpoint = std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.is_empty());
        Self::new(sdk, &bucket, endpoint.as_deref()).map(Some)
    }

    /// The bucket `bucket`, at `endpoint` (path-style) or S3's regional virtual host.
    pub fn new(
        sdk: &aws_types::sdk_config::SdkConfig,
        bucket: &str,
        endpoint: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| ConfigError("AWS_REGION is required for S3".into()))?;
        let credentials = sdk
            .credentials_provider()
            .ok_or_else(|| ConfigError("no AWS credentials for S3".into()))?;
        let base = match endpoint {
            Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
            None => {
                let suffix = if region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                format!("https://{bucket}.s3.{region}.{suffix}")
            }
        };
        crate::aws_http::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ConfigError(format!("S3 client: {e}")))?;
        Ok(Self {
            http,
            base,
            region,
            credentials,
            static_credentials: static_credentials_from_env(),
        })
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{}", self.base, encode_key(key))
    }

    fn settings(presign: Option<Duration>) -> SigningSettings {
        let mut s = SigningSettings::default();
        // S3 signs the path as sent, encoded once and not normalised.
        s.percent_encoding_mode = PercentEncodingMode::Single;
        s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        match presign {
            Some(expires) => {
                s.signature_location = SignatureLocation::QueryParams;
                s.expires_in = Some(expires);
            }
            None => s.payload_checksum_kind = PayloadChecksumKind::XAmzSha256,
        }
        s
    }

    /// Signs `method url` with `headers` (signed too); the request with the signature.
    fn signed(
        &self,
        identity: &Identity,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        presign: Option<Duration>,
    ) -> Result<http::Request<Vec<u8>>, ObjectError> {
        let params = v4::SigningParams::builder()
            .identity(identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(Self::settings(presign))
            .build()
            .map_err(object_error)?
            .into();
        let body = if presign.is_some() {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(&[])
        };
        let signable = SignableRequest::new(method, url, headers.iter().copied(), body)
            .map_err(object_error)?;
        let (instructions, _) = sign(signable, &params).map_err(object_error)?.into_parts();
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(Vec::new()).map_err(object_error)?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }

    fn presigned(
        &self,
        method: &str,
        key: &str,
        headers: &[(&str, &str)],
        expires_in_secs: u64,
    ) -> Result<String, ObjectError> {
        let creds = self
            .static_credentials
            .clone()
            .ok_or_else(|| ObjectError("no static credentials to presign with".into()))?;
        let identity: Identity = creds.into();
        let request = self.signed(
            &identity,
            method,
            &self.url(key),
            headers,
            Some(Duration::from_secs(expires_in_secs)),
        )?;
        Ok(request.uri().to_string())
    }

    /// Creates the bucket (local runs and tests; the template creates it in AWS). An
    /// existing bucket of ours is fine.
    pub async fn create_bucket(&self) -> Result<(), ObjectError> {
        let r = self.send_to("PUT", &self.base).await?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        if status.is_success() || text.contains("BucketAlreadyOwnedByYou") {
            Ok(())
        } else {
            Err(ObjectError(format!(
                "S3 create bucket answered {status}: {text}"
            )))
        }
    }

    async fn send(&self, method: &str, key: &str) -> Result<reqwest::Response, ObjectError> {
        self.send_to(method, &self.url(key)).await
    }

    async fn send_to(&self, method: &str, url: &str) -> Result<reqwest::Response, ObjectError> {
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| ObjectError(format!("credentials: {e}")))?;
        let identity: Identity = creds.into();
        let request = self.signed(&identity, method, url, &[], None)?;
        let request = reqwest::Request::try_from(request).map_err(object_error)?;
        self.http
            .execute(request)
            .await
            .map_err(|e| ObjectError(format!("S3 {method}: {e}")))
    }
}

/// Lambda's (and the tests') credentials from the environment, for presigning.
fn static_credentials_from_env() -> Option<Credentials> {
    let id = std::env::var("AWS_ACCESS_KEY_ID").ok()?;
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok()?;
    let token = std::env::var("AWS_SESSION_TOKEN")
        .ok()
        .filter(|v| !v.is_empty());
    Some(Credentials::new(id, secret, token, None, "environment"))
}

impl ObjectStore for S3Objects {
    fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in_secs: u64,
    ) -> Result<String, ObjectError> {
        let size = size.to_string();
        self.presigned(
            "PUT",
            key,
            &[("content-type", content_type), ("content-length", &size)],
            expires_in_secs,
        )
    }

    fn presign_get(&self, key: &str, expires_in_secs: u64) -> Result<String, ObjectError> {
        self.presigned("GET", key, &[], expires_in_secs)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, ObjectError> {
        let r = self.send("HEAD", key).await?;
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(ObjectError(format!("S3 HEAD answered {}", r.status())));
        }
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        Ok(Some(ObjectHead {
            size: header("content-length").parse().unwrap_or(0),
            content_type: header("content-type"),
        }))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectError> {
        let r = self.send("GET", key).await?;
        if !r.status().is_success() {
            return Err(ObjectError(format!("S3 GET answered {}", r.status())));
        }
        Ok(r.bytes().await.map_err(object_error)?.to_vec())
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        let r = self.send("DELETE", key).await?;
        if !r.status().is_success() && r.status() != reqwest::StatusCode::NOT_FOUND {
            return Err(ObjectError(format!("S3 DELETE answered {}", r.status())));
        }
        Ok(())
    }
}
