//! The implementations of core's crypto port ([`KeyService`]): KMS in AWS, a key-encryption
//! key from the environment in local runs and tests.
//!
//! Which one a container gets is decided by its environment: `SECRETS_KMS_KEY_ID` (the
//! template sets it for the functions that may read secrets) or `SECRETS_LOCAL_KEY` (64 hex
//! digits; `scripts/dev.sh` and the tests). A function that is given neither has no key
//! service, and so no way to open a secret.
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use futures::future::BoxFuture;
use scrm_core::config::ConfigError;
use scrm_core::secrets::{self, DataKey, KeyService, PlainKey, SealContext, SealError};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The environment variable naming the KMS key (id, ARN or alias) of tenant secrets.
pub const KMS_KEY_ENV: &str = "SECRETS_KMS_KEY_ID";
/// The environment variable holding the local key-encryption key (64 hex digits).
pub const LOCAL_KEY_ENV: &str = "SECRETS_LOCAL_KEY";

/// How many unwrapped data keys a container keeps: every tenant read and token read would
/// otherwise call KMS `Decrypt`.
const UNWRAPPED_CACHE: usize = 512;

/// Data keys from AWS KMS. The tenant and the purpose are KMS's encryption context, so the
/// key policy and CloudTrail see which tenant's secret is opened.
///
/// Two calls of KMS's JSON API (`GenerateDataKey`, `Decrypt`), signed with SigV4 and sent
/// through the functions' one HTTP client (reqwest on rustls with *ring*): the SDK's KMS crate
/// would add about half a MiB to a deployed binary for these two calls.
pub struct KmsKeys {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    credentials: SharedCredentialsProvider,
    key_id: String,
    unwrapped: Mutex<HashMap<Vec<u8>, PlainKey>>,
}

impl fmt::Debug for KmsKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsKeys")
            .field("endpoint", &self.endpoint)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// KMS's regional endpoint (`AWS_ENDPOINT_URL_KMS` overrides it).
fn kms_endpoint(region: &str) -> String {
    if let Some(url) = std::env::var("AWS_ENDPOINT_URL_KMS")
        .ok()
        .filter(|v| !v.is_empty())
    {
        return url.trim_end_matches('/').to_string();
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://kms.{region}.{suffix}")
}

/// The fields of KMS's answers this adapter reads (base64 blobs).
#[derive(Deserialize)]
struct KmsAnswer {
    #[serde(rename = "CiphertextBlob")]
    ciphertext_blob: Option<String>,
    #[serde(rename = "Plaintext")]
    plaintext: Option<String>,
}

/// KMS's error answer.
#[derive(Deserialize)]
struct KmsFault {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(alias = "Message", default)]
    message: String,
}

fn key_service_error(what: impl fmt::Display) -> SealError {
    SealError::KeyService(what.to_string())
}

fn blob(b64: Option<String>, field: &str) -> Result<Vec<u8>, SealError> {
    let b64 = b64.ok_or_else(|| key_service_error(format!("KMS answered without {field}")))?;
    BASE64
        .decode(b64)
        .map_err(|_| key_service_error(format!("KMS answered a {field} that is not base64")))
}

impl KmsKeys {
    /// Uses `key_id` in the SDK configuration's region with its credentials.
    pub fn new(
        sdk: &aws_types::sdk_config::SdkConfig,
        key_id: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| ConfigError("AWS_REGION must be set".into()))?;
        let credentials = sdk
            .credentials_provider()
            .ok_or_else(|| ConfigError("no AWS credentials for KMS".into()))?;
        crate::aws_http::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ConfigError(format!("KMS client: {e}")))?;
        Ok(Self {
            http,
            endpoint: kms_endpoint(&region),
            region,
            credentials,
            key_id: key_id.into(),
            unwrapped: Mutex::new(HashMap::new()),
        })
    }

    /// The same client against another endpoint (tests; a VPC endpoint's DNS name).
    pub fn at(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint.trim_end_matches('/').to_string();
        self
    }

    fn remembered(&self, wrapped: &[u8]) -> Option<PlainKey> {
        let cache = self.unwrapped.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(wrapped).cloned()
    }

    fn remember(&self, wrapped: &[u8], key: &PlainKey) {
        let mut cache = self.unwrapped.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= UNWRAPPED_CACHE {
            cache.clear();
        }
        cache.insert(wrapped.to_vec(), key.clone());
    }

    /// One signed call of KMS's JSON API (`TrentService.{operation}`).
    async fn call(&self, operation: &str, body: serde_json::Value) -> Result<KmsAnswer, SealError> {
        let body = serde_json::to_vec(&body).map_err(key_service_error)?;
        let target = format!("TrentService.{operation}");
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| key_service_error(format!("credentials: {e}")))?;
        let identity: Identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("kms")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(key_service_error)?
            .into();
        let url = format!("{}/", self.endpoint);
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(key_service_error)?;
        let (instructions, _) = sign(signable, &params)
            .map_err(key_service_error)?
            .into_parts();
        let mut request = http::Request::post(&url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut request = request.body(body).map_err(key_service_error)?;
        instructions.apply_to_request_http1x(&mut request);
        let request = reqwest::Request::try_from(request).map_err(key_service_error)?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| key_service_error(format!("KMS {operation}: {e}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| key_service_error(format!("KMS {operation}: {e}")))?;
        if !status.is_success() {
            // KMS's error answers name the error and say why; they never echo key material.
            let fault: KmsFault = serde_json::from_slice(&bytes).unwrap_or(KmsFault {
                kind: String::new(),
                message: String::new(),
            });
            return Err(key_service_error(format!(
                "KMS {operation}: {status} {} {}",
                fault.kind, fault.message
            )));
        }
        serde_json::from_slice(&bytes)
            .map_err(|_| key_service_error(format!("KMS {operation}: unreadable answer")))
    }
}

fn encryption_context(context: &SealContext) -> serde_json::Value {
    json!({ "tenant": context.tenant, "purpose": context.purpose })
}

impl KeyService for KmsKeys {
    fn generate_data_key<'a>(
        &'a self,
        context: &'a SealContext,
    ) -> BoxFuture<'a, Result<DataKey, SealError>> {
        Box::pin(async move {
            let answer = self
                .call(
                    "GenerateDataKey",
                    json!({
                        "KeyId": self.key_id,
                        "KeySpec": "AES_256",
                        "EncryptionContext": encryption_context(context),
                    }),
                )
                .await?;
            let plain = PlainKey::from_slice(&blob(answer.plaintext, "Plaintext")?)?;
            let wrapped = blob(answer.ciphertext_blob, "CiphertextBlob")?;
            self.remember(&wrapped, &plain);
            Ok(DataKey { plain, wrapped })
        })
    }

    fn decrypt_data_key<'a>(
        &'a self,
        wrapped: &'a [u8],
        context: &'a SealContext,
    ) -> BoxFuture<'a, Result<PlainKey, SealError>> {
        Box::pin(async move {
            // The cache is keyed by the wrapped key alone; a hit used under another context
            // still fails, because the sealed value's associated data carries its context.
            if let Some(key) = self.remembered(wrapped) {
                return Ok(key);
            }
            let answer = self
                .call(
                    "Decrypt",
                    json!({
                        "KeyId": self.key_id,
                        "CiphertextBlob": BASE64.encode(wrapped),
                        "EncryptionContext": encryption_context(context),
                    }),
                )
                .await?;
            let plain = PlainKey::from_slice(&blob(answer.plaintext, "Plaintext")?)?;
            self.remember(wrapped, &plain);
            Ok(plain)
        })
    }
}

/// Data keys wrapped by a key-encryption key held in memory (from `SECRETS_LOCAL_KEY`):
/// local runs and tests, where there is no KMS. The same envelope as KMS's, so the stores
/// cannot tell them apart.
#[derive(Clone)]
pub struct LocalKeys {
    kek: PlainKey,
}

impl fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKeys(***)")
    }
}

impl LocalKeys {
    /// Uses `kek` as the key-encryption key.
    pub fn new(kek: PlainKey) -> Self {
        Self { kek }
    }

    /// Parses a key-encryption key of 64 hex digits.
    pub fn from_hex(hex_key: &str) -> Result<Self, ConfigError> {
        let bytes = hex::decode(hex_key.trim())
            .map_err(|_| ConfigError(format!("{LOCAL_KEY_ENV} must be 64 hex digits")))?;
        let kek = PlainKey::from_slice(&bytes)
            .map_err(|_| ConfigError(format!("{LOCAL_KEY_ENV} must be 64 hex digits")))?;
        Ok(Self::new(kek))
    }
}

impl KeyService for LocalKeys {
    fn generate_data_key<'a>(
        &'a self,
        context: &'a SealContext,
    ) -> BoxFuture<'a, Result<DataKey, SealError>> {
        let plain = PlainKey::random();
        let wrapped = secrets::encrypt(&self.kek, context, plain.expose());
        Box::pin(async move { Ok(DataKey { plain, wrapped }) })
    }

    fn decrypt_data_key<'a>(
        &'a self,
        wrapped: &'a [u8],
        context: &'a SealContext,
    ) -> BoxFuture<'a, Result<PlainKey, SealError>> {
        let plain = secrets::decrypt(&self.kek, context, wrapped)
            .and_then(|bytes| PlainKey::from_slice(&bytes));
        Box::pin(async move { plain })
    }
}

/// The key service the environment configures, if any: KMS (`SECRETS_KMS_KEY_ID`) or the
/// local key (`SECRETS_LOCAL_KEY`). `None` when neither is set.
pub fn key_service_from_env(
    sdk: &aws_types::sdk_config::SdkConfig,
) -> Result<Option<Arc<dyn KeyService>>, ConfigError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(key_id) = var(KMS_KEY_ENV) {
        return Ok(Some(Arc::new(KmsKeys::new(sdk, key_id)?)));
    }
    if let Some(hex_key) = var(LOCAL_KEY_ENV) {
        return Ok(Some(Arc::new(LocalKeys::from_hex(&hex_key)?)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_keys_seal_and_open_only_in_their_context() {
        let keys = LocalKeys::new(PlainKey::random());
        let ctx = SealContext::tenant_secrets("ww0001");
        let sealed = secrets::seal(&keys, &ctx, b"contact-secret").await.unwrap();
        assert_eq!(
            secrets::open(&keys, &ctx, &sealed).await.unwrap(),
            b"contact-secret"
        );
        let other = SealContext::tenant_secrets("ww0002");
        assert!(secrets::open(&keys, &other, &sealed).await.is_err());
        let stranger = LocalKeys::new(PlainKey::random());
        assert!(secrets::open(&stranger, &ctx, &sealed).await.is_err());
        assert!(!format!("{keys:?}").contains(|c: char| c.is_ascii_digit()));
    }

    /// A loopback HTTP server answering one request with `status` and `body`; its thread
    /// hands back the request it received (lower-cased head, then the body).
    fn one_request_server(status: u16, body: String) -> (String, std::thread::JoinHandle<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("one request");
            let mut received = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body_start, body_len) = loop {
                let n = stream.read(&mut chunk).expect("read");
                received.extend_from_slice(&chunk[..n]);
                if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse::<usize>().expect("length"));
                    break (head, end + 4, end + 4 + len);
                }
            };
            while received.len() < body_len {
                let n = stream.read(&mut chunk).expect("read body");
                received.extend_from_slice(&chunk[..n]);
            }
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).expect("answer");
            let sent_body = String::from_utf8_lossy(&received[body_start..body_len]);
            format!("{head}\n\n{sent_body}")
        });
        (url, handle)
    }

    fn kms_at(url: &str) -> KmsKeys {
        let sdk = aws_types::sdk_config::SdkConfig::builder()
            .region(aws_types::region::Region::new("ap-southeast-1"))
            .credentials_provider(SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "t"),
            ))
            .build();
        KmsKeys::new(&sdk, "arn:aws:kms:ap-southeast-1:1:key/k")
            .unwrap()
            .at(url)
    }

    #[tokio::test]
    async fn kms_calls_are_signed_json_calls_bound_to_the_context() {
        let ctx = SealContext::tenant_secrets("ww0001");
        let answer = json!({
            "CiphertextBlob": BASE64.encode(b"wrapped-by-kms"),
            "Plaintext": BASE64.encode([7u8; 32]),
            "KeyId": "arn:aws:kms:ap-southeast-1:1:key/k",
        });
        let (url, server) = one_request_server(200, answer.to_string());
        let key = kms_at(&url).generate_data_key(&ctx).await.unwrap();
        assert_eq!(
            (key.plain.expose(), key.wrapped.as_slice()),
            (&[7u8; 32], &b"wrapped-by-kms"[..])
        );
        let request = server.join().unwrap();
        assert!(request.starts_with("post / http/1.1"), "{request}");
        assert!(
            request.contains("x-amz-target: trentservice.generatedatakey"),
            "{request}"
        );
        assert!(
            request.contains("content-type: application/x-amz-json-1.1"),
            "{request}"
        );
        assert!(
            request.contains("authorization: aws4-hmac-sha256 credential=akidtest/")
                && request.contains("/ap-southeast-1/kms/aws4_request"),
            "{request}"
        );
        let body = request.split("\n\n").nth(1).unwrap();
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["KeySpec"], "AES_256");
        assert_eq!(
            body["EncryptionContext"],
            json!({"tenant": "ww0001", "purpose": "tenant-secrets"})
        );

        // Decrypt sends the wrapped key and the same context.
        let answer = json!({ "Plaintext": BASE64.encode([9u8; 32]) });
        let (url, server) = one_request_server(200, answer.to_string());
        let plain = kms_at(&url)
            .decrypt_data_key(b"other-wrapped", &ctx)
            .await
            .unwrap();
        assert_eq!(plain.expose(), &[9u8; 32]);
        let request = server.join().unwrap();
        assert!(
            request.contains("x-amz-target: trentservice.decrypt"),
            "{request}"
        );
        let body: serde_json::Value =
            serde_json::from_str(request.split("\n\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["CiphertextBlob"], BASE64.encode(b"other-wrapped"));
        assert_eq!(body["EncryptionContext"]["tenant"], "ww0001");

        // A refusal is a key-service error naming KMS's reason.
        let fault = json!({"__type": "AccessDeniedException", "message": "not allowed"});
        let (url, _server) = one_request_server(400, fault.to_string());
        let err = kms_at(&url).decrypt_data_key(b"w", &ctx).await.unwrap_err();
        assert!(
            matches!(&err, SealError::KeyService(m) if m.contains("AccessDenied")),
            "{err}"
        );
    }

    #[test]
    fn kms_endpoints_follow_the_partition() {
        assert_eq!(
            kms_endpoint("ap-southeast-1"),
            "https://kms.ap-southeast-1.amazonaws.com"
        );
        assert_eq!(
            kms_endpoint("cn-north-1"),
            "https://kms.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn a_local_key_must_be_64_hex_digits() {
        assert!(LocalKeys::from_hex(&"ab".repeat(32)).is_ok());
        assert!(LocalKeys::from_hex("abcd").is_err());
        assert!(LocalKeys::from_hex(&"zz".repeat(32)).is_err());
    }
}
