//! The customer pages' built-in login through the tenant's WeChat official account
//! (`customer-api`: `/v1/oauth/official/...`), the account's configuration in the admin API
//! (secret write-only, sealed), and follows verified with the account's `cgi-bin/user/info`.
//! WeChat is the fake server's official account under `/mp`.
use crate::points::World;
use customer_api_fn::official::OfficialLogin;
use customer_api_fn::CustomerApi;
use scrm_adapters::bootstrap::{wecom_config, WeComUse};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoPoints, DynamoTenants};
use scrm_adapters::wecom::fake::FakeWeChatUser;
use scrm_adapters::wecom::{DynamoTokenCache, WeChatClient, WeComClient};
use scrm_core::clock::Clock;
use scrm_core::tokens::{self, Claims, TokenKind};
use scrm_tests::{db_without_secret_keys, request, response_json};
use serde_json::{json, Value};
use std::sync::Arc;

const APP: &str = "wxa1b2c3d4e5f6a7b8";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

struct Oa {
    w: World,
    api: Arc<CustomerApi>,
}

fn user(openid: &str, unionid: Option<&str>, subscribed: bool) -> FakeWeChatUser {
    FakeWeChatUser {
        openid: openid.into(),
        unionid: unionid.map(str::to_string),
        nickname: openid.into(),
        subscribed,
    }
}

impl Oa {
    /// A tenant whose official account is configured through the admin API, its WeChat
    /// users (a follower, a non-follower, someone who is no customer, a pending one), and
    /// the customer API wired as deployed.
    async fn new() -> Self {
        let w = World::new().await;
        let corp = w.tenant().as_str().to_string();
        w.fake.add_official_account(APP, SECRET);
        w.fake
            .add_wechat_user(APP, user("o-fan", Some("u-fan"), true));
        w.fake
            .add_wechat_user(APP, user("o-shy", Some("u-shy"), false));
        w.fake
            .add_wechat_user(APP, user("o-nobody", Some("u-nobody"), true));
        w.fake
            .add_wechat_user(APP, user("o-new", Some("u-new"), true));
        w.fake.map_unionid(&corp, "u-fan", "o-fan", "wmFan");
        w.fake.map_unionid(&corp, "u-shy", "o-shy", "wmShy");
        w.fake
            .map_unionid_pending(&corp, "u-new", "o-new", "wmPendingNew");
        let (status, body) = w
            .admin_json(
                "PUT",
                "/v1/tenant/official-account",
                &json!({"app_id": APP, "secret": SECRET}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let api = Self::customer_api(&w).await;
        Self { w, api }
    }

    async fn customer_api(w: &World) -> Arc<CustomerApi> {
        let db = w.db.clone();
        let client = |base: &str| {
            WeComClient::new(
                wecom_config(base, WeComUse::PersonWaiting),
                Arc::new(DynamoTokenCache::from_db(&db).unwrap()),
            )
            .unwrap()
        };
        let wechat = WeChatClient::new(
            wecom_config(&w.fake.wechat_api_base(), WeComUse::PersonWaiting),
            Arc::new(DynamoTokenCache::from_db(&db).unwrap()),
        )
        .unwrap();
        let plain = db_without_secret_keys().await;
        Arc::new(CustomerApi {
            points: DynamoPoints::new(plain.clone()),
            forms: customer_api_fn::forms::Forms::unpublished(&plain),
            fission: None,
            directory: DynamoDirectory::new(plain.clone()),
            tenants: DynamoTenants::new(plain),
            clock: w.clock.clone(),
            signing_key: scrm_tests::signing_keys(),
            official: Some(Arc::new(OfficialLogin {
                accounts: DynamoTenants::new(db.clone()).official_accounts(),
                wechat,
                wecom: client(w.fake.base_url()),
                tenants: DynamoTenants::new(db.clone()),
                authorize_url: w.fake.wechat_oauth_base(),
            })),
        })
    }

    fn corp(&self) -> &str {
        self.w.tenant().as_str()
    }

    async fn call(&self, req: lambda_http::Request) -> (u16, Value) {
        response_json(&customer_api_fn::handle(&self.api, req).await.unwrap())
    }

    async fn login(&self, code: &str, scope: Option<&str>) -> (u16, Value) {
        let mut body = json!({"corp_id": self.corp(), "code": code});
        if let Some(scope) = scope {
            body["scope"] = json!(scope);
        }
        self.call(request(
            "POST",
            "/v1/oauth/official/session",
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&body).unwrap()),
        ))
        .await
    }

    /// A code the fake's consent page mints for `openid`.
    fn code(&self, openid: &str, scope: &str) -> String {
        let code = format!("c{}", ulid::Ulid::new());
        self.w.fake.add_wechat_code(APP, &code, openid, scope);
        code
    }

    async fn token_of(&self, openid: &str, scope: &str) -> String {
        let (status, body) = self.login(&self.code(openid, scope), Some(scope)).await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    async fn follow(&self, token: &str, channel: &str) -> (u16, Value) {
        self.call(request(
            "POST",
            "/v1/me/follows",
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "application/json"),
            ],
            Some(serde_json::to_vec(&json!({"channel": channel})).unwrap()),
        ))
        .await
    }
}

fn code_of(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test]
async fn the_login_page_learns_whether_and_where_to_send_the_browser() {
    let oa = Oa::new().await;
    let path = format!("/v1/oauth/official/options?corp_id={}", oa.corp());
    let (status, body) = oa.call(request("GET", &path, &[], None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["configured"], true);
    assert_eq!(body["app_id"], APP);
    assert_eq!(body["authorize_url"], oa.w.fake.wechat_oauth_base());
    assert!(!body.to_string().contains(SECRET));
    let (_, body) = oa
        .call(request(
            "GET",
            "/v1/oauth/official/options?corp_id=wwnotatenant0001",
            &[],
            None,
        ))
        .await;
    assert_eq!(body["configured"], false);
    assert!(body.get("app_id").is_none());
    for bad in [
        "/v1/oauth/official/options",
        "/v1/oauth/official/options?corp_id=a%23b",
    ] {
        let (status, body) = oa.call(request("GET", bad, &[], None)).await;
        assert_eq!(
            (status, code_of(&body)),
            (400, Some("validation_failed")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_customer_logs_in_through_the_consent_page_and_a_code_works_once() {
    let oa = Oa::new().await;
    // The fake's consent page lists the WeChat users and redirects with a fresh code.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(oa.w.fake.wechat_oauth_base())
        .query(&[
            ("appid", APP),
            ("redirect_uri", "https://h5.example.com/c/?x=1"),
            ("response_type", "code"),
            ("scope", "snsapi_userinfo"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-openid=\"o-fan\""), "{page}");
    let href = page
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("openid=o-fan"))
        .unwrap()
        .replace("&amp;", "&");
    let confirm = http
        .get(format!("http://{}{href}", oa.w.fake.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status().as_u16(), 302);
    let location = confirm.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("https://h5.example.com/c/?x=1&code="),
        "{location}"
    );
    assert!(location.ends_with("&state=s1"));
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();

    let (status, body) = oa.login(&code, Some("snsapi_userinfo")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["external_userid"], "wmFan");
    assert!(body["expires_at"].as_i64().unwrap() > 0);
    // The token works on the customer API.
    let token = body["token"].as_str().unwrap();
    let (status, me) = oa
        .call(request(
            "GET",
            "/v1/me",
            &[("authorization", &format!("Bearer {token}"))],
            None,
        ))
        .await;
    assert_eq!(
        (status, me["external_userid"].as_str()),
        (200, Some("wmFan"))
    );

    // Single use: WeChat answers 40163, and the page is told so.
    let (status, body) = oa.login(&code, Some("snsapi_userinfo")).await;
    assert_eq!((status, code_of(&body)), (401, Some("code_used")), "{body}");
    let (status, body) = oa.login("never-issued-code", None).await;
    assert_eq!(
        (status, code_of(&body)),
        (401, Some("invalid_code")),
        "{body}"
    );
    // An implausible code is refused without asking WeChat.
    let before = oa.w.fake.calls("mp/sns/oauth2/access_token");
    let (status, body) = oa.login("not a code", None).await;
    assert_eq!(
        (status, code_of(&body)),
        (401, Some("invalid_code")),
        "{body}"
    );
    assert_eq!(oa.w.fake.calls("mp/sns/oauth2/access_token"), before);
}

#[tokio::test]
async fn a_silent_login_maps_followers_and_asks_others_for_consent() {
    let oa = Oa::new().await;
    // A follower: the unionid comes from the follower record.
    let (status, body) = oa.login(&oa.code("o-fan", "snsapi_base"), None).await;
    assert_eq!(
        (status, body["external_userid"].as_str()),
        (201, Some("wmFan")),
        "{body}"
    );
    // Not a follower: no unionid without consent; with it, the login works.
    let (status, body) = oa.login(&oa.code("o-shy", "snsapi_base"), None).await;
    assert_eq!(
        (status, code_of(&body)),
        (409, Some("unionid_unavailable")),
        "{body}"
    );
    let (status, body) = oa
        .login(
            &oa.code("o-shy", "snsapi_userinfo"),
            Some("snsapi_userinfo"),
        )
        .await;
    assert_eq!(
        (status, body["external_userid"].as_str()),
        (201, Some("wmShy")),
        "{body}"
    );
    // WeChat users who are no customer (yet) get the admin API's answer.
    let (status, body) = oa.login(&oa.code("o-nobody", "snsapi_base"), None).await;
    assert_eq!(
        (status, code_of(&body)),
        (404, Some("not_a_customer")),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["pending"], false);
    let (status, body) = oa.login(&oa.code("o-new", "snsapi_base"), None).await;
    assert_eq!(
        (status, code_of(&body)),
        (404, Some("not_a_customer")),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["pending"], true);
}

#[tokio::test]
async fn an_official_account_follow_is_checked_with_wechat() {
    let oa = Oa::new().await;
    oa.w.set_rules(json!({
        "follow_official_account": {"enabled": true, "points": 20},
        "follow_video_channel": {"enabled": true, "points": 15}
    }))
    .await;
    let shy = oa.token_of("o-shy", "snsapi_userinfo").await;
    let (status, body) = oa.follow(&shy, "official_account").await;
    assert_eq!(
        (status, code_of(&body)),
        (409, Some("not_following")),
        "{body}"
    );
    assert_eq!(oa.w.invariants("wmShy").await, 0);
    // Other channels are still taken on the customer's word.
    let (status, body) = oa.follow(&shy, "video_channel").await;
    assert_eq!((status, body["amount"].as_i64()), (200, Some(15)), "{body}");
    // Once they follow, the reward is paid, once.
    assert!(oa.w.fake.set_subscribed(APP, "o-shy", true));
    let (status, body) = oa.follow(&shy, "official_account").await;
    assert_eq!((status, body["amount"].as_i64()), (200, Some(20)), "{body}");
    let (_, body) = oa.follow(&shy, "official_account").await;
    assert_eq!(body["replayed"], true);

    // A token from the merchant backend carries no openid: the follow cannot be checked.
    let merchant = tokens::issue(
        &scrm_tests::signing_keys(),
        &Claims {
            tenant: oa.corp().to_string(),
            subject: "wmFan".into(),
            kind: TokenKind::Customer,
            expires_at: oa.w.clock.now().timestamp() + 600,
        },
    );
    let (status, body) = oa.follow(&merchant, "official_account").await;
    assert_eq!(
        (status, code_of(&body)),
        (409, Some("official_login_required")),
        "{body}"
    );

    // The account's token is fetched once, and refetched once when WeChat expires it.
    assert_eq!(oa.w.fake.calls("mp/cgi-bin/token"), 1);
    oa.w.fake.expire_wechat_tokens();
    let fan = oa.token_of("o-fan", "snsapi_userinfo").await;
    let (status, body) = oa.follow(&fan, "official_account").await;
    assert_eq!((status, body["amount"].as_i64()), (200, Some(20)), "{body}");
    assert_eq!(oa.w.fake.calls("mp/cgi-bin/token"), 2);
}

#[tokio::test]
async fn the_account_secret_is_write_only_and_sealed() {
    let oa = Oa::new().await;
    let (status, body) =
        oa.w.admin_json("GET", "/v1/tenant/official-account", &Value::Null)
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["configured"].as_bool(), body["app_id"].as_str()),
        (Some(true), Some(APP))
    );
    assert!(!body.to_string().contains(SECRET));
    let raw =
        oa.w.db
            .client
            .get_item()
            .table_name(&oa.w.db.tables.tenants)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(oa.corp().into()),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("OFFICIAL_ACCOUNT".into()),
            )
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
    assert!(!format!("{raw:?}").contains(SECRET));

    for bad in [
        json!({"app_id": "wx123", "secret": SECRET}),
        json!({"app_id": APP, "secret": "short"}),
        json!({"app_id": APP}),
        json!({"app_id": APP, "secret": SECRET, "extra": 1}),
    ] {
        let (status, body) =
            oa.w.admin_json("PUT", "/v1/tenant/official-account", &bad)
                .await;
        assert_eq!(status, 400, "{bad} {body}");
    }

    // Removed: the page is told, and follows are taken on the word again.
    let (status, _) =
        oa.w.admin_json("DELETE", "/v1/tenant/official-account", &Value::Null)
            .await;
    assert_eq!(status, 200);
    let path = format!("/v1/oauth/official/options?corp_id={}", oa.corp());
    let (_, body) = oa.call(request("GET", &path, &[], None)).await;
    assert_eq!(body["configured"], false);
    let (status, body) = oa.login(&oa.code("o-fan", "snsapi_base"), None).await;
    assert_eq!(
        (status, code_of(&body)),
        (404, Some("not_configured")),
        "{body}"
    );
}
