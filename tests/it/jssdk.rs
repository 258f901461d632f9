//! The staff pages' JS-SDK signatures (`GET /v1/jssdk/signature` on `staff-api`): both
//! signatures over the page URL cut before `#`, only for pages on the configured origins,
//! the tickets fetched once however many containers and requests ask at the same time,
//! cached sealed, and refreshed before they expire.
use scrm_adapters::bootstrap::{wecom_config, WeComUse};
use scrm_adapters::dynamo::{Db, DynamoDirectory, DynamoSop, DynamoTenants};
use scrm_adapters::wecom::fake::{FakeStaff, FakeWeCom};
use scrm_adapters::wecom::{AccessToken, CachedToken, DynamoTokenCache, TokenCache, WeComClient};
use scrm_core::clock::SystemClock;
use scrm_core::jssdk::{sign, JsApiTickets, Ticket, TicketKind, WebOrigins};
use scrm_core::wecom::api::{paths, CorpCredentials};
use scrm_tests::{request, response_json, signing_keys, TestTenant};
use serde_json::{json, Value};
use staff_api_fn::StaffApi;
use std::sync::Arc;

type Api = Arc<StaffApi<DynamoSop, WeComClient, DynamoTenants, DynamoDirectory>>;

const PAGE: &str = "https://h5.example.com/staff/index.html?from=reminder";

struct World {
    db: Db,
    t: TestTenant,
    fake: FakeWeCom,
}

impl World {
    async fn new() -> Self {
        let db = scrm_tests::db().await;
        let t = scrm_tests::tenant(&db).await;
        let fake = FakeWeCom::start().await.expect("fake WeCom");
        let corp = t.id().as_str();
        fake.add_app(corp, "contact-secret", None);
        fake.add_app(corp, "app-secret", Some(1000002));
        fake.add_staff(corp, FakeStaff::active("alice", "Alice"));
        Self { db, t, fake }
    }

    /// A container: its own client (in-process layer empty), sharing the tables.
    fn container(&self) -> Api {
        let tokens = DynamoTokenCache::from_db(&self.db).expect("sealing cache");
        let wecom = WeComClient::new(
            wecom_config(self.fake.base_url(), WeComUse::PersonWaiting),
            Arc::new(tokens),
        )
        .expect("client");
        Arc::new(StaffApi {
            store: DynamoSop::new(self.db.clone()),
            wecom,
            tenants: DynamoTenants::new(self.db.clone()),
            directory: DynamoDirectory::new(self.db.clone()),
            refused_codes: Default::default(),
            clock: Arc::new(SystemClock),
            signing_key: signing_keys(),
            web_origins: WebOrigins::parse("https://h5.example.com, http://127.0.0.1:5174"),
            sidebar: staff_api_fn::SidebarStores::new(self.db.clone()),
            links: std::sync::Arc::new(scrm_core::links::NoTracking),
            materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
        })
    }

    /// A staff session for alice (OAuth code exchange).
    async fn session(&self, api: &Api) -> String {
        let code = format!("code-{}", ulid::Ulid::new());
        self.fake
            .add_oauth_code(self.t.id().as_str(), &code, "alice");
        let body = json!({"corp_id": self.t.id().as_str(), "code": code});
        let req = request(
            "POST",
            "/v1/session",
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&body).unwrap()),
        );
        let (status, body) = call(api, req).await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_string()
    }
}

async fn call(api: &Api, req: lambda_http::Request) -> (u16, Value) {
    response_json(&staff_api_fn::handle(api, req).await.expect("infallible"))
}

fn sign_path(url: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    format!("/v1/jssdk/signature?url={encoded}")
}

async fn signature(api: &Api, session: &str, url: &str) -> (u16, Value) {
    call(
        api,
        request(
            "GET",
            &sign_path(url),
            &[("authorization", &format!("Bearer {session}"))],
            None,
        ),
    )
    .await
}

fn check(sig: &Value, ticket: &Ticket, url: &str) {
    let nonce = sig["nonce_str"].as_str().unwrap();
    let ts = sig["timestamp"].as_i64().unwrap();
    assert_eq!(nonce.len(), 16);
    assert_eq!(
        sig["signature"].as_str().unwrap(),
        sign(ticket, nonce, ts, url)
    );
}

#[tokio::test]
async fn a_staff_page_gets_both_signatures_over_its_url_without_the_fragment() {
    let w = World::new().await;
    let api = w.container();
    let session = w.session(&api).await;
    let (status, body) = signature(&api, &session, &format!("{PAGE}#/tasks/1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["corp_id"], w.t.id().as_str());
    assert_eq!(body["agent_id"], 1000002);
    let corp = api
        .wecom
        .ticket(&w.t.tenant, TicketKind::Corp)
        .await
        .unwrap();
    let agent = api
        .wecom
        .ticket(&w.t.tenant, TicketKind::Agent)
        .await
        .unwrap();
    assert_ne!(corp, agent);
    check(&body["config"], &corp, PAGE);
    check(&body["agent_config"], &agent, PAGE);
    // The agent ticket was asked for as WeCom wants it.
    assert_eq!(
        w.fake.requests(paths::TICKET_GET),
        vec![json!({"type": "agent_config"})]
    );
}

#[tokio::test]
async fn pages_elsewhere_and_callers_without_a_session_are_refused() {
    let w = World::new().await;
    let api = w.container();
    let session = w.session(&api).await;
    for url in [
        "https://evil.example.com/staff/",
        "https://h5.example.com.evil.com/",
        "http://h5.example.com/",
    ] {
        let (status, body) = signature(&api, &session, url).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("url_not_allowed")),
            "{url}"
        );
    }
    let (status, body) = signature(&api, &session, "/staff/").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation_failed")),
        "{body}"
    );
    let (status, body) = call(
        &api,
        request(
            "GET",
            "/v1/jssdk/signature",
            &[("authorization", &format!("Bearer {session}"))],
            None,
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = call(&api, request("GET", &sign_path(PAGE), &[], None)).await;
    assert_eq!(status, 401);
    // Nothing was fetched for refused requests.
    assert_eq!(w.fake.calls(paths::GET_JSAPI_TICKET), 0);
    assert_eq!(w.fake.calls(paths::TICKET_GET), 0);
}

#[tokio::test]
async fn twenty_concurrent_requests_on_four_containers_fetch_each_ticket_once() {
    let w = World::new().await;
    let containers: Vec<Api> = (0..4).map(|_| w.container()).collect();
    let session = w.session(&containers[0]).await;
    let requests = (0..20).map(|i| {
        let api = containers[i % 4].clone();
        let session = session.clone();
        async move { signature(&api, &session, PAGE).await }
    });
    let answers = futures::future::join_all(requests).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    assert_eq!(w.fake.calls(paths::GET_JSAPI_TICKET), 1);
    assert_eq!(w.fake.calls(paths::TICKET_GET), 1);
    // Every container signs with the same tickets.
    let corp = containers[3]
        .wecom
        .ticket(&w.t.tenant, TicketKind::Corp)
        .await
        .unwrap();
    for (_, body) in &answers {
        check(&body["config"], &corp, PAGE);
    }
}

#[tokio::test]
async fn tickets_are_cached_sealed_and_refreshed_before_they_expire() {
    let w = World::new().await;
    let api = w.container();
    let session = w.session(&api).await;
    let (status, _) = signature(&api, &session, PAGE).await;
    assert_eq!(status, 200);
    let corp = api
        .wecom
        .ticket(&w.t.tenant, TicketKind::Corp)
        .await
        .unwrap();

    // Sealed: the item never holds the ticket in the clear.
    let creds = CorpCredentials::new(w.t.id().as_str(), "app-secret", Some(1000002));
    let key = creds.ticket_key(TicketKind::Corp);
    let item =
        w.db.client
            .get_item()
            .table_name(&w.db.tables.tenants)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(key.corp_id().into()),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(key.sort_key()),
            )
            .send()
            .await
            .unwrap()
            .item
            .expect("cached ticket item");
    assert!(!format!("{item:?}").contains(corp.expose()));

    // The shared copy is about to expire (within the refresh margin): a new container
    // fetches a fresh one instead of signing with it.
    let cache = DynamoTokenCache::from_db(&w.db).unwrap();
    cache
        .invalidate(&key, &AccessToken::new(corp.expose()))
        .await
        .unwrap();
    let dying = CachedToken {
        token: AccessToken::new("dying-ticket"),
        expires_at: chrono::Utc::now().timestamp() + 60,
    };
    cache.put(&key, &dying).await.unwrap();
    let fresh = w.container();
    let (status, body) = signature(&fresh, &session, PAGE).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(w.fake.calls(paths::GET_JSAPI_TICKET), 2);
    assert_eq!(w.fake.calls(paths::TICKET_GET), 1);
    check(&body["config"], &corp, PAGE);
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_on_the_way_to_a_ticket() {
    let w = World::new().await;
    let api = w.container();
    let session = w.session(&api).await;
    w.fake.expire_all_tokens();
    let (status, body) = signature(&api, &session, PAGE).await;
    assert_eq!(status, 200, "{body}");
    // A WeCom failure is a clear 5xx, not a signature.
    // Another container finds no corp ticket in the shared cache and WeCom refuses a new one.
    let other = w.container();
    let cache = DynamoTokenCache::from_db(&w.db).unwrap();
    let creds = CorpCredentials::new(w.t.id().as_str(), "app-secret", Some(1000002));
    let key = creds.ticket_key(TicketKind::Corp);
    let cached = cache
        .get(&key)
        .await
        .unwrap()
        .expect("the signature cached the corp ticket");
    cache.invalidate(&key, &cached.token).await.unwrap();
    w.fake.fail_next(paths::GET_JSAPI_TICKET, 1, 60020);
    let (status, body) = signature(&other, &session, PAGE).await;
    assert!(status >= 500, "{status} {body}");
    assert!(body["error"]["code"]
        .as_str()
        .unwrap()
        .starts_with("wecom_"));
}

#[test]
fn the_staff_api_document_lists_exactly_the_served_routes() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/staff-api.yaml"
    ))
    .expect("docs/staff-api.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("parses");
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in ops.as_mapping().expect("operations") {
            let m = method.as_str().unwrap().to_uppercase();
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) {
                documented.insert(format!("{m} {}", path.as_str().unwrap()));
            }
        }
    }
    let served: std::collections::BTreeSet<String> = staff_api_fn::routes()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(documented, served);
}
