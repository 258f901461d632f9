//! The HTTP client the AWS SDK clients use in the functions: reqwest over rustls with *ring*.
//!
//! The SDK's own default client (`default-https-client`) brings rustls with aws-lc, a second
//! TLS stack and crypto library beside the one the WeCom client already uses, and most of a
//! deployed binary's size. Every outbound call of a function (DynamoDB, EventBridge, WeCom)
//! therefore goes through one TLS stack: reqwest on rustls with the *ring* provider, whose
//! roots come from the platform's certificate store. The SDK's retries, timeouts and request
//! signing are unchanged; this module only moves bytes.
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use std::collections::HashMap;
use std::sync::{Mutex, Once};
use std::time::Duration;

/// Installs *ring* as the process's rustls provider, once. Every reqwest client of the
/// adapters is built after this (reqwest is built without a provider of its own).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another provider already installed (a test binary linking both) is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client carrying the SDK's connect and read timeouts.
#[derive(Debug, Clone)]
struct ReqwestConnector {
    client: reqwest::Client,
}

fn connector_error(err: reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        ConnectorError::timeout(err.into())
    } else if err.is_connect() || err.is_request() || err.is_body() {
        ConnectorError::io(err.into())
    } else {
        ConnectorError::other(err.into(), None)
    }
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let request: http::Request<SdkBody> = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) = request.into_parts();
            // DynamoDB and EventBridge requests are small JSON documents, always in memory.
            let bytes = body.bytes().map(<[u8]>::to_vec).ok_or_else(|| {
                ConnectorError::other("a streaming request body is not supported".into(), None)
            })?;
            let request = reqwest::Request::try_from(http::Request::from_parts(parts, bytes))
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(connector_error)?;
            let mut out = http::Response::new(SdkBody::from(body));
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            HttpResponse::try_from(out).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// (connect timeout, read timeout): what a pooled client is built for.
type Timeouts = (Option<Duration>, Option<Duration>);

/// The SDK's HTTP client: one pooled reqwest client per distinct pair of timeouts the SDK
/// asks for (in practice one per container).
pub fn sdk_http_client() -> SharedHttpClient {
    install_crypto_provider();
    let cache: Mutex<HashMap<Timeouts, SharedHttpConnector>> = Mutex::new(HashMap::new());
    http_client_fn(move |settings: &HttpConnectorSettings, _components| {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(key)
            .or_insert_with(|| {
                let mut builder =
                    reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(60));
                if let Some(t) = key.0 {
                    builder = builder.connect_timeout(t);
                }
                if let Some(t) = key.1 {
                    builder = builder.read_timeout(t);
                }
                // Only an invalid TLS configuration fails here; the default cannot.
                let client = builder.build().unwrap_or_else(|_| reqwest::Client::new());
                SharedHttpConnector::new(ReqwestConnector { client })
            })
            .clone()
    })
}
