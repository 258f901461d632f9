//! The integration-test harness: DynamoDB Local (started by `scripts/test.sh`, endpoint in
//! `AWS_ENDPOINT_URL_DYNAMODB`), the tables created from the one schema, isolated tenants,
//! HTTP request builders for the function-URL handlers, and polling with a deadline.
//!
//! Tests share the tables and isolate themselves by tenant: every key starts with the
//! tenant, so a fresh random corp id per test is a fresh, empty world.
use admin_api_fn::AdminApi;
use aws_sdk_dynamodb::config::{Credentials, Region};
use chrono::Utc;
use lambda_http::{Body, Request, RequestExt};
use scrm_adapters::bootstrap::{wecom_config, WeComUse};
use scrm_adapters::crypto::LocalKeys;
use scrm_adapters::dynamo::{schema, Db};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoPoints, DynamoSop, DynamoTags, DynamoTenants};
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::wecom::{DynamoTokenCache, WeComClient};
use scrm_core::clock::Clock;
use scrm_core::config::{Secret, TableNames};
use scrm_core::secrets::KeyService;
use scrm_core::tenants::ports::issue_key;
use scrm_core::tenants::{ApiKey, Role, Tenant, TenantId, TenantSettings, TenantWrite};
use scrm_core::tokens::SigningKeys;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod meter;

/// The table prefix the tests use.
pub const TABLE_PREFIX: &str = "it";

/// An EncodingAESKey that is valid (43 characters) and whose last character carries
/// non-zero trailing bits, like real keys (WeCom's official test key).
pub const TEST_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// The callback token used by test tenants.
pub const TEST_TOKEN: &str = "QDG6eK";
/// The signing key the tests configure.
pub const TEST_SIGNING_KEY: &str = "test-signing-key-0123456789abcdef";
/// The key-encryption key that seals tenant secrets and cached tokens in tests (what
/// `SECRETS_LOCAL_KEY` holds in local runs; KMS deployed).
pub const TEST_SECRETS_KEY: &str =
    "6b1c2f0e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807f6e5d4c3b2a19080";

/// The token signing keys the tests configure: [`TEST_SIGNING_KEY`] under the id `test`.
pub fn signing_keys() -> SigningKeys {
    SigningKeys::single("test", Secret::new(TEST_SIGNING_KEY)).expect("valid test signing key")
}

/// The key service of the tests (a local key-encryption key, as in local runs).
pub fn secret_keys() -> Arc<dyn KeyService> {
    Arc::new(LocalKeys::from_hex(TEST_SECRETS_KEY).expect("valid test secrets key"))
}

static TABLES: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// The DynamoDB Local endpoint; a clear failure if the test command did not start it.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with scripts/test.sh, \
             which starts DynamoDB Local"
        )
    })
}

/// An SDK configuration pointing at DynamoDB Local with test credentials. Built per test:
/// an SDK client must not outlive the Tokio runtime of the test that built it.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint())
        .load()
        .await
}

/// A store handle on the test tables, creating them on first use, with the tests' key
/// service (the adapters built from it read and write secrets, as in the functions that call
/// WeCom; [`db_without_secret_keys`] is the handle of the others).
///
/// Built the way the deployed functions build theirs (`scrm_adapters::bootstrap`: the SDK
/// configuration from the environment `scripts/test.sh` exports, and the SDK's HTTP client on
/// reqwest with *ring*), so that every integration test goes through that client.
pub async fn db() -> Db {
    db_without_secret_keys()
        .await
        .with_secret_keys(secret_keys())
}

/// [`db`] without a key service: what the functions that may not read secrets
/// (`customer-api`, the points functions) are built from.
pub async fn db_without_secret_keys() -> Db {
    let sdk = scrm_adapters::bootstrap::aws_sdk_config()
        .expect("AWS_REGION and test credentials are exported by scripts/test.sh");
    let db = Db::new(
        scrm_adapters::bootstrap::dynamodb_client(&sdk),
        TableNames::with_prefix(TABLE_PREFIX),
    );
    TABLES
        .get_or_init(|| async {
            schema::create_tables(&db.client, &db.tables)
                .await
                .expect("create test tables in DynamoDB Local");
            // The tests' clocks stand months before the wall clock, so every expiry they
            // write (receipts 30 days on, idempotency records 90, ...) is already past, and
            // DynamoDB Local's TTL deleter removes such items at any moment, in the middle of
            // a test. No test relies on TTL deletion: it is turned off on the test tables.
            for def in schema::ALL {
                let name = def.name_in(&db.tables);
                let ttl = db
                    .client
                    .describe_time_to_live()
                    .table_name(name)
                    .send()
                    .await
                    .expect("describe TTL of a test table");
                let status = ttl
                    .time_to_live_description()
                    .and_then(|d| d.time_to_live_status());
                if status != Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled) {
                    continue; // another test process turned it off already
                }
                db.client
                    .update_time_to_live()
                    .table_name(name)
                    .time_to_live_specification(
                        aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                            .attribute_name(schema::TTL)
                            .enabled(false)
                            .build()
                            .expect("TTL specification"),
                    )
                    .send()
                    .await
                    .expect("turn TTL off on the test tables");
            }
        })
        .await;
    db
}

/// A fresh corp id nobody else uses.
pub fn new_tenant_id() -> TenantId {
    let raw = format!("wwt{}", ulid::Ulid::new().to_string().to_lowercase());
    TenantId::parse(&raw).expect("generated corp id is valid")
}

/// A registered test tenant and an admin key for it.
pub struct TestTenant {
    /// The tenant as stored.
    pub tenant: Tenant,
    /// An admin API key (full text).
    pub admin_key: String,
}

impl TestTenant {
    /// The corp id.
    pub fn id(&self) -> &TenantId {
        &self.tenant.id
    }
    /// The `Authorization` header value of the admin key.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.admin_key)
    }
}

/// Registers a fresh tenant with the test callback secrets and default settings.
pub async fn tenant(db: &Db) -> TestTenant {
    tenant_with(db, TenantSettings::default()).await
}

/// Registers a fresh tenant with the given settings.
pub async fn tenant_with(db: &Db, settings: TenantSettings) -> TestTenant {
    let store = DynamoTenants::new(db.clone());
    let tenant = Tenant {
        id: new_tenant_id(),
        name: "Test Shop".into(),
        callback_token: Secret::new(TEST_TOKEN),
        encoding_aes_key: Secret::new(TEST_AES_KEY),
        contact_secret: Secret::new("contact-secret"),
        app_agent_id: Some(1000002),
        app_secret: Some(Secret::new("app-secret")),
        settings,
        created_at: Utc::now(),
    };
    assert!(store.create_tenant(&tenant).await.expect("create tenant"));
    let (key, _) = issue_key(&store, &tenant.id, "tests", Role::Admin, Utc::now())
        .await
        .expect("issue admin key");
    TestTenant {
        tenant,
        admin_key: key.reveal().to_string(),
    }
}

/// Issues another key of a given role for a tenant.
pub async fn key_with_role(db: &Db, tenant: &TenantId, role: Role) -> ApiKey {
    let store = DynamoTenants::new(db.clone());
    issue_key(&store, tenant, "tests", role, Utc::now())
        .await
        .expect("issue key")
        .0
}

/// The admin API over the test tables, wired as `admin-api`'s `wire` does: its WeCom
/// client (at `wecom_api_base`) shares tokens through the tenants table.
pub fn admin_api(
    db: &Db,
    publisher: AnyPublisher,
    wecom_api_base: &str,
    clock: Arc<dyn Clock>,
) -> Arc<AdminApi> {
    let tokens = DynamoTokenCache::from_db(db).expect("the test handle seals tokens");
    let wecom = WeComClient::new(
        wecom_config(wecom_api_base, WeComUse::PersonWaiting),
        Arc::new(tokens),
    )
    .expect("WeCom client");
    Arc::new(AdminApi {
        tenants: DynamoTenants::new(db.clone()),
        directory: DynamoDirectory::new(db.clone()),
        tags: DynamoTags::new(db.clone()),
        points: DynamoPoints::new(db.clone()),
        sop: DynamoSop::new(db.clone()),
        growth: scrm_adapters::dynamo::DynamoGrowth::new(db.clone()),
        publisher,
        wecom,
        clock,
        signing_key: signing_keys(),
        console: admin_api_fn::console::Console::new(db, "https://login.work.weixin.qq.com"),
        content: admin_api_fn::content::ContentCenter::new(db, content_objects()),
    })
}

/// The bucket the content center's tests share (tenants' files are under their own
/// prefix), on the local S3 server scripts/test.sh starts (moto's, `AWS_ENDPOINT_URL_S3`);
/// `None` without it. Create it with [`ensure_content_bucket`] before uploading.
pub fn content_objects() -> Option<scrm_adapters::s3::S3Objects> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .ok()
        .filter(|v| !v.is_empty())?;
    let sdk = scrm_adapters::bootstrap::aws_sdk_config().ok()?;
    scrm_adapters::s3::S3Objects::new(&sdk, CONTENT_TEST_BUCKET, Some(&endpoint)).ok()
}

/// The content center's test bucket.
pub const CONTENT_TEST_BUCKET: &str = "scrm-test-content";

/// Creates the test bucket on the local S3 server (once per process; an existing bucket is
/// fine).
pub async fn ensure_content_bucket() {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let objects = content_objects()
            .expect("AWS_ENDPOINT_URL_S3 (the local S3 server) is exported by scripts/test.sh");
        objects
            .create_bucket()
            .await
            .expect("create the test bucket");
    })
    .await;
}

/// Builds a function-URL style request for a handler.
pub fn request(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Request {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://fn.lambda-url.local{path_and_query}"));
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let body = match body {
        Some(b) => Body::Binary(b),
        None => Body::Empty,
    };
    let req: Request = builder.body(body).expect("valid test request");
    let _ = path;
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            params
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
    }
    req.with_query_string_parameters(params)
}

/// A JSON request with an `Authorization` header.
pub fn json_request(method: &str, path: &str, bearer: &str, body: &serde_json::Value) -> Request {
    request(
        method,
        path,
        &[
            ("authorization", bearer),
            ("content-type", "application/json"),
        ],
        Some(serde_json::to_vec(body).expect("json")),
    )
}

/// A body-less request with an `Authorization` header.
pub fn get_request(path: &str, bearer: &str) -> Request {
    request("GET", path, &[("authorization", bearer)], None)
}

/// Status and JSON body of a handler's response.
pub fn response_json(resp: &lambda_http::Response<Body>) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let bytes: &[u8] = resp.body().as_ref();
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
        })
    };
    (status, json)
}

/// Polls `check` until it yields `Some`, failing the test after `deadline`. Used instead of
/// fixed waits wherever something becomes true asynchronously.
pub async fn poll_until<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    // The pace of the checks; the deadline alone decides when to give up.
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > deadline {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
    }
}
