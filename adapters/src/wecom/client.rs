//! The HTTP core of the client: one reqwest client, the errcode envelope, the pacing of each
//! corp's calls, bounded retries with backoff, and token acquisition with single-flight
//! refreshes.
use super::pacer::{Pacer, PacingPolicy};
use super::token::{AccessToken, CachedToken, TokenCache};
use futures::future::BoxFuture;
use rand::Rng;
use reqwest::Method;
use scrm_core::wecom::api::paths;
use scrm_core::wecom::api::{CorpCredentials, TokenKey, WeComRateLimits};
use scrm_core::wecom::api::{
    WeComError, BUSY_ERRCODE, CONCURRENCY_ERRCODE, CREDENTIAL_ERRCODES, RATE_LIMIT_ERRCODES,
    TOKEN_ERRCODES, UNTRUSTED_IP_ERRCODE,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// WeCom's production API base.
pub const DEFAULT_API_BASE: &str = "https://qyapi.weixin.qq.com/cgi-bin";

/// How hard the client retries WeCom's transient errcodes within one call.
///
/// Every call has a total `budget`: no backoff sleep is started that would end past it, so
/// a Lambda invocation stays inside its own timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after errcode -1 (system busy). WeCom advises at most 3.
    pub busy_retries: u32,
    /// Total attempts while the concurrency limit (45033) persists, after which the call is
    /// [`WeComError::RetryLater`]. A frequency limit (45009, 45011) is never retried within
    /// a call: WeCom blocks the API for its window, longer than any call's budget.
    pub rate_limit_attempts: u32,
    /// The first backoff delay; doubled on every retry (equal jitter: half fixed, half random).
    pub base_delay: Duration,
    /// The largest single backoff delay.
    pub max_delay: Duration,
    /// The most time one call (all attempts, sleeps and a token refresh) may take.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            busy_retries: 3,
            rate_limit_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(4),
            budget: Duration::from_secs(12),
        }
    }
}

/// When tokens are refreshed and how containers coordinate the refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Refresh this long before WeCom's expiry, so no call goes out with a dying token.
    pub refresh_before: Duration,
    /// How long a container holds the refresh lease (it is released when the token lands).
    pub lease: Duration,
    /// How long a container that lost the lease waits for the winner's token before
    /// fetching one itself.
    pub wait_for_peer: Duration,
    /// How often the waiting container reads the shared cache.
    pub poll_interval: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            refresh_before: Duration::from_secs(300),
            lease: Duration::from_secs(10),
            wait_for_peer: Duration::from_secs(3),
            poll_interval: Duration::from_millis(150),
        }
    }
}

/// The client's settings. Build with [`WeComConfig::from_env`] or [`WeComConfig::new`]
/// and adjust fields as needed (tests shorten delays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeComConfig {
    /// API base, without the trailing slash (`…/cgi-bin`).
    pub base_url: String,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one HTTP request (one attempt).
    pub request_timeout: Duration,
    /// Retries of transient errcodes.
    pub retry: RetryPolicy,
    /// Token refresh and coordination.
    pub token: TokenPolicy,
    /// The pacing of each corp's calls of each API.
    pub pacing: PacingPolicy,
}

impl WeComConfig {
    /// Defaults against `base_url` (WeCom's production base or the fake server).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(8),
            retry: RetryPolicy::default(),
            token: TokenPolicy::default(),
            pacing: PacingPolicy::default(),
        }
    }

    /// Defaults, with the base from `WECOM_API_BASE` (WeCom's production base if unset)
    /// and the pacing's share from `WECOM_PACING_CONTAINERS`.
    pub fn from_env() -> Self {
        let mut config = Self::new(
            std::env::var("WECOM_API_BASE").unwrap_or_else(|_| DEFAULT_API_BASE.to_string()),
        );
        config.pacing = PacingPolicy::from_env();
        config
    }
}

struct Inner {
    http: reqwest::Client,
    config: WeComConfig,
    cache: Arc<dyn TokenCache>,
    /// The in-process layer: a warm container does not read the shared cache per call.
    local: Mutex<HashMap<TokenKey, CachedToken>>,
    /// One refresh at a time per key inside this process.
    gates: Mutex<HashMap<TokenKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Each corp's calls of each API, paced below the corp's limits.
    pacer: Pacer,
}

/// WeCom's server API client. Cheap to clone; build it once per container.
#[derive(Clone)]
pub struct WeComClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WeComClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeComClient")
            .field("base_url", &self.inner.config.base_url)
            .finish_non_exhaustive()
    }
}

/// The envelope every WeCom response carries.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: i64,
}

/// Fetches a fresh credential from its issuer within a deadline.
pub(crate) type Fetch<'a> =
    dyn Fn(Instant) -> BoxFuture<'a, Result<CachedToken, WeComError>> + Send + Sync + 'a;

/// Shortest remaining life for which a token a peer is about to replace is still used.
const MIN_USABLE_SECS: i64 = 30;

pub(crate) fn now_epoch() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The backoff before retry number `retry` (1-based): exponential, capped, equal jitter.
fn backoff_delay(policy: &RetryPolicy, retry: u32) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
    let capped = exp.min(policy.max_delay);
    let half = capped / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    let jitter = Duration::from_millis(rand::rng().random_range(0..=jitter_ms));
    half + jitter
}

/// One HTTP request, described once and sent as often as retries need.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) query: Vec<(&'static str, &'a str)>,
    pub(crate) body: Option<Vec<u8>>,
    /// The body's content type when it is not JSON (a multipart media upload).
    pub(crate) content_type: Option<String>,
}

impl<'a> Call<'a> {
    pub(crate) fn get(path: &'static str, query: Vec<(&'static str, &'a str)>) -> Self {
        Self {
            method: Method::GET,
            path,
            query,
            body: None,
            content_type: None,
        }
    }

    pub(crate) fn post<B: Serialize>(path: &'static str, body: &B) -> Result<Self, WeComError> {
        let body = serde_json::to_vec(body).map_err(|e| {
            WeComError::InvalidRequest(format!("{path}: body not serialisable: {e}"))
        })?;
        Ok(Self {
            method: Method::POST,
            path,
            query: Vec::new(),
            body: Some(body),
            content_type: None,
        })
    }

    /// A `multipart/form-data` POST of one file in the part `media` (WeCom's media uploads).
    pub(crate) fn multipart(
        path: &'static str,
        query: Vec<(&'static str, &'a str)>,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Self {
        let boundary = format!("scrm{}", ulid::Ulid::new());
        // The file name goes in a quoted header parameter: quotes and line breaks are
        // replaced so that it cannot end the header.
        let safe: String = name
            .chars()
            .map(|c| {
                if matches!(c, '"' | '\r' | '\n' | '\\') {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let mut body = Vec::with_capacity(bytes.len() + 256);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"{safe}\"; filelength={}\r\nContent-Type: {content_type}\r\n\r\n",
                bytes.len()
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Self {
            method: Method::POST,
            path,
            query,
            body: Some(body),
            content_type: Some(format!("multipart/form-data; boundary={boundary}")),
        }
    }
}

impl WeComClient {
    /// A client with `config`, sharing tokens through `cache`
    /// ([`super::DynamoTokenCache`] in functions, [`super::MemoryTokenCache`] in tools).
    pub fn new(config: WeComConfig, cache: Arc<dyn TokenCache>) -> Result<Self, WeComError> {
        crate::aws_http::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(from_reqwest)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                pacer: Pacer::new(config.pacing.clone()),
                config,
                cache,
                local: Mutex::new(HashMap::new()),
                gates: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The client's settings.
    pub fn config(&self) -> &WeComConfig {
        &self.inner.config
    }

    /// Sends a call with the app's token, paced under the corp's frequency limits: transient
    /// errcodes are retried with backoff, and a rejected token is invalidated, refetched and
    /// the call retried once (never more).
    pub(crate) async fn call<R: DeserializeOwned>(
        &self,
        creds: &CorpCredentials,
        call: &Call<'_>,
    ) -> Result<R, WeComError> {
        let deadline = Instant::now() + self.inner.config.retry.budget;
        let mut refreshed = false;
        loop {
            let token = self.token_before(creds, deadline).await?;
            match self
                .send_with_backoff(call, Some(&token), Some(creds), deadline)
                .await
            {
                Ok(bytes) => return decode(call.path, &bytes),
                Err(WeComError::Api { errcode, .. }) if TOKEN_ERRCODES.contains(&errcode) => {
                    if refreshed {
                        tracing::error!(
                            path = call.path,
                            errcode,
                            "token rejected again after refresh"
                        );
                        return Err(WeComError::TokenExpired { errcode });
                    }
                    tracing::warn!(path = call.path, errcode, "token rejected; refreshing once");
                    self.invalidate_token(creds, &token).await;
                    refreshed = true;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends one call, each attempt paced under `pace`'s limits (the corp's calls; `None`:
    /// calls that are not a corp's, such as `gettoken`), retrying -1 and 45033 with backoff
    /// within `deadline`. Returns the body of an errcode-0 answer; every other errcode is
    /// mapped to its variant here, once ([`failure`]).
    async fn send_with_backoff(
        &self,
        call: &Call<'_>,
        token: Option<&AccessToken>,
        pace: Option<&CorpCredentials>,
        deadline: Instant,
    ) -> Result<Vec<u8>, WeComError> {
        let policy = &self.inner.config.retry;
        let mut busy_retries = 0u32;
        let mut rate_limited = 0u32;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if let Some(creds) = pace {
                self.inner.pacer.acquire(creds, call.path, deadline).await?;
            }
            let (envelope, bytes) = self.send_once(call, token).await?;
            let errcode = envelope.errcode;
            if errcode == 0 {
                return Ok(bytes);
            }
            let retry = if errcode == BUSY_ERRCODE && busy_retries < policy.busy_retries {
                busy_retries += 1;
                Some(busy_retries)
            } else if errcode == CONCURRENCY_ERRCODE {
                rate_limited += 1;
                (rate_limited < policy.rate_limit_attempts).then_some(rate_limited)
            } else {
                None
            };
            if let Some(retry) = retry {
                let delay = backoff_delay(policy, retry);
                if Instant::now() + delay < deadline {
                    tracing::warn!(
                        path = call.path,
                        errcode,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "WeCom transient error; backing off"
                    );
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            tracing::warn!(path = call.path, errcode, attempt, "WeCom call failed");
            let err = failure(call.path, envelope, pace, policy);
            if let (Some(creds), Some(block)) = (pace, blocks_for(&err)) {
                self.inner.pacer.block(creds, call.path, block);
            }
            return Err(err);
        }
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        token: Option<&AccessToken>,
    ) -> Result<(Envelope, Vec<u8>), WeComError> {
        let url = format!("{}/{}", self.inner.config.base_url, call.path);
        let mut request = self.inner.http.request(call.method.clone(), url);
        if let Some(token) = token {
            request = request.query(&[("access_token", token.expose())]);
        }
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            let content_type = call.content_type.as_deref().unwrap_or("application/json");
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.clone());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let err = from_reqwest(e);
                tracing::warn!(path = call.path, error = ?err, "WeCom request failed");
                return Err(err);
            }
        };
        let status = response.status();
        if !status.is_success() {
            return Err(WeComError::HttpStatus {
                path: call.path,
                status: status.as_u16(),
            });
        }
        let bytes = response.bytes().await.map_err(from_reqwest)?.to_vec();
        let envelope: Envelope =
            serde_json::from_slice(&bytes).map_err(|source| WeComError::Decode {
                path: call.path,
                source,
            })?;
        Ok((envelope, bytes))
    }

    /// A valid access token for `creds`: from the in-process layer, else the shared cache,
    /// else fetched (by one container at a time, under a lease).
    pub async fn access_token(&self, creds: &CorpCredentials) -> Result<AccessToken, WeComError> {
        let deadline = Instant::now() + self.inner.config.retry.budget;
        self.token_before(creds, deadline).await
    }

    /// [`WeComClient::access_token`] within a call's `deadline`.
    async fn token_before(
        &self,
        creds: &CorpCredentials,
        deadline: Instant,
    ) -> Result<AccessToken, WeComError> {
        let fetch = |deadline| -> BoxFuture<'_, Result<CachedToken, WeComError>> {
            Box::pin(self.fetch_token(creds, deadline))
        };
        self.cached_before(&creds.token_key(), deadline, &fetch)
            .await
    }

    /// A credential cached under `key` (an access token, a jsapi ticket, an official
    /// account's token): from the in-process layer, else the shared cache, else fetched
    /// with `fetch` by one caller at a time (one per process through a gate, one per fleet
    /// through the shared cache's lease), refreshed [`TokenPolicy::refresh_before`] its
    /// expiry.
    pub(crate) async fn cached_before(
        &self,
        key: &TokenKey,
        deadline: Instant,
        fetch: &Fetch<'_>,
    ) -> Result<AccessToken, WeComError> {
        if let Some(token) = self.local_fresh(key) {
            return Ok(token);
        }
        let gate = self.gate(key);
        let _guard = gate.lock().await;
        if let Some(token) = self.local_fresh(key) {
            return Ok(token);
        }
        let cached = self.shared_token(key, deadline, fetch).await?;
        let token = cached.token.clone();
        self.with_local(|m| m.insert(key.clone(), cached));
        Ok(token)
    }

    /// The call budget's deadline from now.
    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.inner.config.retry.budget
    }

    /// Sends one call without an access token (WeChat's token and OAuth calls carry their
    /// own credentials in the query), with the usual retries of transient errcodes.
    pub(crate) async fn call_without_token<R: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<R, WeComError> {
        let bytes = self.send_with_backoff(call, None, None, deadline).await?;
        decode(call.path, &bytes)
    }

    /// Sends a call with `token` (a credential fetched through [`Self::cached_before`]).
    pub(crate) async fn call_with_token<R: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        token: &AccessToken,
        deadline: Instant,
    ) -> Result<R, WeComError> {
        let bytes = self
            .send_with_backoff(call, Some(token), None, deadline)
            .await?;
        decode(call.path, &bytes)
    }

    /// Forgets a credential the server rejected, here and in the shared cache.
    ///
    /// Under the key's gate, the shared copy first: a concurrent caller in this process
    /// could otherwise read the rejected credential back from the shared cache into the
    /// in-process layer between the two removals, and the refetch that follows would reuse it.
    pub(crate) async fn invalidate_cached(&self, key: &TokenKey, token: &AccessToken) {
        let gate = self.gate(key);
        let _guard = gate.lock().await;
        if let Err(e) = self.inner.cache.invalidate(key, token).await {
            tracing::warn!(corp_id = key.corp_id(), error = %e, "could not invalidate shared credential");
        }
        self.with_local(|m| {
            if m.get(key).is_some_and(|c| &c.token == token) {
                m.remove(key);
            }
        });
    }

    /// Forgets a token WeCom rejected, here and in the shared cache.
    async fn invalidate_token(&self, creds: &CorpCredentials, token: &AccessToken) {
        self.invalidate_cached(&creds.token_key(), token).await;
    }

    fn refresh_margin(&self) -> i64 {
        i64::try_from(self.inner.config.token.refresh_before.as_secs()).unwrap_or(i64::MAX)
    }

    fn local_fresh(&self, key: &TokenKey) -> Option<AccessToken> {
        let margin = self.refresh_margin();
        let now = now_epoch();
        self.with_local(|m| {
            m.get(key)
                .filter(|c| c.expires_at.saturating_sub(margin) > now)
                .map(|c| c.token.clone())
        })
    }

    fn with_local<R>(&self, f: impl FnOnce(&mut HashMap<TokenKey, CachedToken>) -> R) -> R {
        let mut guard = self.inner.local.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    fn gate(&self, key: &TokenKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.inner.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates.entry(key.clone()).or_default().clone()
    }

    /// The shared-cache part of token acquisition.
    async fn shared_token(
        &self,
        key: &TokenKey,
        deadline: Instant,
        fetch: &Fetch<'_>,
    ) -> Result<CachedToken, WeComError> {
        let cache = &self.inner.cache;
        let policy = &self.inner.config.token;
        let margin = self.refresh_margin();
        let now = now_epoch();
        let current = match cache.get(key).await {
            Ok(current) => current,
            Err(e) => {
                // A cache outage must not stop WeCom calls; fetch directly.
                tracing::warn!(corp_id = key.corp_id(), error = %e, "token cache unreadable; fetching directly");
                return fetch(deadline).await;
            }
        };
        if let Some(c) = current
            .as_ref()
            .filter(|c| c.expires_at.saturating_sub(margin) > now)
        {
            return Ok(c.clone());
        }
        let lease_secs = i64::try_from(policy.lease.as_secs()).unwrap_or(60).max(1);
        let lease_until = now + lease_secs;
        match cache.try_lease(key, now, lease_until, now + margin).await {
            Ok(true) => {
                let fetched = match fetch(deadline).await {
                    Ok(t) => t,
                    Err(e) => {
                        if let Err(release) = cache.release_lease(key, lease_until).await {
                            tracing::warn!(corp_id = key.corp_id(), error = %release, "could not release token lease");
                        }
                        return Err(e);
                    }
                };
                if let Err(e) = cache.put(key, &fetched).await {
                    tracing::warn!(corp_id = key.corp_id(), error = %e, "could not store token");
                }
                return Ok(fetched);
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(corp_id = key.corp_id(), error = %e, "token lease failed; fetching directly");
                let fetched = fetch(deadline).await?;
                let _ = cache.put(key, &fetched).await;
                return Ok(fetched);
            }
        }
        // A peer is refreshing. The current token, if it still has some life, is good enough.
        if let Some(c) = current.filter(|c| c.expires_at > now + MIN_USABLE_SECS) {
            return Ok(c);
        }
        let wait_until = (Instant::now() + policy.wait_for_peer).min(deadline);
        loop {
            tokio::time::sleep(policy.poll_interval).await;
            if let Ok(Some(c)) = cache.get(key).await {
                if c.expires_at > now_epoch() + MIN_USABLE_SECS {
                    return Ok(c);
                }
            }
            if Instant::now() >= wait_until {
                break;
            }
        }
        tracing::warn!(
            corp_id = key.corp_id(),
            "peer token refresh did not land in time; fetching directly"
        );
        let fetched = fetch(deadline).await?;
        if let Err(e) = cache.put(key, &fetched).await {
            tracing::warn!(corp_id = key.corp_id(), error = %e, "could not store token");
        }
        Ok(fetched)
    }

    /// `GET gettoken`. A wrong corp id or secret is [`WeComError::InvalidCredential`],
    /// returned at once (never retried: repeated wrong secrets can get the IP blocked).
    async fn fetch_token(
        &self,
        creds: &CorpCredentials,
        deadline: Instant,
    ) -> Result<CachedToken, WeComError> {
        let call = Call::get(
            paths::GETTOKEN,
            vec![
                ("corpid", creds.corp_id.as_str()),
                ("corpsecret", creds.secret.expose()),
            ],
        );
        let bytes = match self.send_with_backoff(&call, None, None, deadline).await {
            Ok(bytes) => bytes,
            Err(WeComError::Api { errcode, .. }) if CREDENTIAL_ERRCODES.contains(&errcode) => {
                tracing::error!(corp_id = %creds.corp_id, errcode, "gettoken rejected the credentials");
                return Err(WeComError::InvalidCredential { errcode });
            }
            Err(e) => return Err(e),
        };
        let parsed: TokenResponse = decode(paths::GETTOKEN, &bytes)?;
        if parsed.access_token.is_empty() || parsed.expires_in <= 0 {
            return Err(WeComError::UnexpectedResponse {
                path: paths::GETTOKEN,
                detail: "empty token or non-positive expires_in".into(),
            });
        }
        tracing::info!(corp_id = %creds.corp_id, expires_in = parsed.expires_in, "fetched access token");
        Ok(CachedToken {
            token: AccessToken::new(parsed.access_token),
            expires_at: now_epoch() + parsed.expires_in,
        })
    }
}

/// The one mapping of a WeCom errcode (non-zero, after the retries it allows) to its error.
///
/// A frequency limit (45009, 45011) or a persisting concurrency limit (45033) is
/// [`WeComError::RetryLater`]: WeCom did not act on the call, so it may be sent again. The
/// suggested delay is WeCom's block for a frequency limit (the shortest window of the
/// corp's rules for the API: 60 s today), the largest backoff for concurrency.
fn failure(
    path: &'static str,
    envelope: Envelope,
    pace: Option<&CorpCredentials>,
    policy: &RetryPolicy,
) -> WeComError {
    let errcode = envelope.errcode;
    if errcode == CONCURRENCY_ERRCODE {
        WeComError::RetryLater {
            errcode: Some(errcode),
            retry_after: policy.max_delay.max(Duration::from_secs(1)),
        }
    } else if RATE_LIMIT_ERRCODES.contains(&errcode) {
        let limits = pace.map_or_else(WeComRateLimits::shared_default, |c| {
            Arc::clone(&c.rate_limits)
        });
        WeComError::RetryLater {
            errcode: Some(errcode),
            retry_after: limits.block_for(path),
        }
    } else if errcode == UNTRUSTED_IP_ERRCODE {
        WeComError::UntrustedIp {
            errmsg: envelope.errmsg,
        }
    } else {
        WeComError::Api {
            errcode,
            errmsg: envelope.errmsg,
        }
    }
}

/// How long WeCom blocks the API after this error (a frequency limit's window).
fn blocks_for(err: &WeComError) -> Option<Duration> {
    match err {
        WeComError::RetryLater {
            errcode: Some(code),
            retry_after,
        } if *code != CONCURRENCY_ERRCODE => Some(*retry_after),
        _ => None,
    }
}

/// Maps a reqwest failure, dropping the URL (it carries the access token or the secret).
pub(crate) fn from_reqwest(err: reqwest::Error) -> WeComError {
    if err.is_timeout() {
        WeComError::Timeout
    } else {
        WeComError::Transport(Box::new(err.without_url()))
    }
}

fn decode<R: DeserializeOwned>(path: &'static str, bytes: &[u8]) -> Result<R, WeComError> {
    serde_json::from_slice(bytes).map_err(|source| WeComError::Decode { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let d1 = backoff_delay(&policy, 1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d2 = backoff_delay(&policy, 2);
            assert!(d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200));
            let d5 = backoff_delay(&policy, 5);
            assert!(d5 >= Duration::from_millis(175) && d5 <= Duration::from_millis(350));
        }
    }

    #[test]
    fn config_trims_the_trailing_slash() {
        assert_eq!(
            WeComConfig::new("http://127.0.0.1:1/cgi-bin/").base_url,
            "http://127.0.0.1:1/cgi-bin"
        );
    }
}
