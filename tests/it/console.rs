//! The web console's login, roles and sessions, through the admin API's handler and the fake
//! WeCom server's scan-login page: a member the admin gave a role scans, gets a session with
//! that role's scopes, and loses it on logout, on a role change or removal, and on leaving
//! the corp; visitors, members without a role and used or expired codes are refused; a key
//! session dies with its key.
use admin_api_fn::console::Console;
use admin_api_fn::{handle, AdminApi};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::wecom::fake::{FakeStaff, FakeWeCom};
use scrm_core::clock::{Clock, FixedClock};
use scrm_core::contacts::DirectoryWrite;
use scrm_core::tenants::Role;
use scrm_tests::*;
use serde_json::{json, Value};
use std::sync::Arc;

const AGENT_ID: i64 = 1000002;
const REDIRECT: &str = "https://console.example.com/login/callback";

struct World {
    db: scrm_adapters::dynamo::Db,
    fake: FakeWeCom,
    t: TestTenant,
    api: Arc<AdminApi>,
    clock: Arc<FixedClock>,
    http: reqwest::Client,
}

impl World {
    async fn new() -> Self {
        let db = db().await;
        let t = tenant(&db).await;
        let fake = FakeWeCom::start().await.expect("fake WeCom");
        let corp = t.id().as_str().to_string();
        fake.add_app(&corp, "contact-secret", None);
        fake.add_app(&corp, "app-secret", Some(AGENT_ID));
        for (userid, name) in [("zhangsan", "张三"), ("lisi", "李四"), ("zhaoliu", "赵六")] {
            fake.add_staff(&corp, FakeStaff::active(userid, name));
        }
        let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
        let mut api = admin_api(&db, AnyPublisher::Discard, fake.base_url(), clock.clone());
        Arc::get_mut(&mut api).expect("not shared yet").console =
            Console::new(&db, &fake.login_base());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            db,
            fake,
            t,
            api,
            clock,
            http,
        }
    }

    fn corp(&self) -> &str {
        self.t.id().as_str()
    }

    async fn call(&self, req: lambda_http::Request) -> (u16, Value) {
        let resp = handle(&self.api, req).await.unwrap();
        response_json(&resp)
    }

    async fn get(&self, path: &str, bearer: &str) -> (u16, Value) {
        self.call(get_request(path, bearer)).await
    }

    async fn send(&self, method: &str, path: &str, bearer: &str, body: Value) -> (u16, Value) {
        self.call(json_request(method, path, bearer, &body)).await
    }

    async fn set_role(&self, bearer: &str, userid: &str, role: &str) -> (u16, Value) {
        self.send(
            "PUT",
            &format!("/v1/console/members/{userid}"),
            bearer,
            json!({ "role": role }),
        )
        .await
    }

    /// The scan-login page of the tenant's app, as the console's login page links to it.
    async fn login_page(&self, corp: &str, agent: i64) -> (u16, String) {
        let (_, options) = self
            .get(&format!("/v1/console/login-options?corp_id={corp}"), "")
            .await;
        let sso = options["sso_url"].as_str().unwrap().to_string();
        let url = url::Url::parse_with_params(
            &sso,
            &[
                ("login_type", "CorpApp"),
                ("appid", corp),
                ("agentid", &agent.to_string()),
                ("redirect_uri", REDIRECT),
                ("state", "st-1"),
            ],
        )
        .unwrap();
        let resp = self.http.get(url).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Scans the page as `userid` (`None`: someone outside the corp) and follows WeCom's
    /// redirect back: the code it carries.
    async fn scan(&self, userid: Option<&str>) -> String {
        let (status, html) = self.login_page(self.corp(), AGENT_ID).await;
        assert_eq!(status, 200, "{html}");
        let marker = format!("data-userid=\"{}\"", userid.unwrap_or(""));
        let link = html
            .lines()
            .find(|l| l.contains(&marker))
            .unwrap_or_else(|| panic!("no button for {userid:?} in {html}"));
        let href = link
            .split("href=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .replace("&amp;", "&");
        let resp = self
            .http
            .get(format!("{}{href}", self.fake.login_base()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 302);
        let location = resp.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(REDIRECT), "{location}");
        let back = url::Url::parse(&location).unwrap();
        let param = |name: &str| {
            back.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        assert_eq!(param("state"), "st-1");
        param("code")
    }

    async fn login(&self, code: &str) -> (u16, Value) {
        self.call(request(
            "POST",
            "/v1/console/sessions/wecom",
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&json!({"corp_id": self.corp(), "code": code})).unwrap()),
        ))
        .await
    }

    /// Logs `userid` in through the page; their session's bearer header.
    async fn session_of(&self, userid: &str) -> String {
        let code = self.scan(Some(userid)).await;
        let (status, body) = self.login(&code).await;
        assert_eq!(status, 201, "{body}");
        format!("Bearer {}", body["token"].as_str().unwrap())
    }
}

fn code_of(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_member_scans_in_with_the_role_the_admin_gave_and_loses_it_on_change_and_logout() {
    let w = World::new().await;
    let admin_key = w.t.bearer();

    // The login page learns how to build WeCom's link; a corp that is no tenant looks like
    // one without WeCom login.
    let (status, options) = w
        .get(
            &format!("/v1/console/login-options?corp_id={}", w.corp()),
            "",
        )
        .await;
    assert_eq!(status, 200, "{options}");
    assert_eq!(options["wecom_login"], true);
    assert_eq!(options["agent_id"], AGENT_ID);
    assert_eq!(
        options["sso_url"],
        format!("{}/wwlogin/sso/login", w.fake.login_base())
    );
    assert_eq!(options["session_ttl_seconds"], 8 * 3600);
    let (status, unknown) = w
        .get("/v1/console/login-options?corp_id=wwnotatenant0001", "")
        .await;
    assert_eq!((status, &unknown["wecom_login"]), (200, &json!(false)));
    let (status, _) = w.get("/v1/console/login-options", "").await;
    assert_eq!(status, 400);

    // The first admin: the tenant's admin key maps zhangsan; lisi is a viewer.
    let (status, set) = w.set_role(&admin_key, "zhangsan", "admin").await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        (set["role"].as_str(), set["changed"].as_bool()),
        (Some("admin"), Some(true))
    );
    assert_eq!(set["name"], "张三", "WeCom tells the name");
    let zhangsan = w.session_of("zhangsan").await;
    let (status, set) = w.set_role(&zhangsan, "lisi", "viewer").await;
    assert_eq!(status, 200, "{set}");

    // lisi scans and gets a viewer's session.
    let code = w.scan(Some("lisi")).await;
    let (status, body) = w.login(&code).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["member"], json!({"userid": "lisi", "name": "李四"}));
    assert_eq!(body["role"], "viewer");
    assert_eq!(body["scopes"], json!(["read"]));
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("scs_"), "{token}");
    let lisi = format!("Bearer {token}");
    // The code worked once.
    let (status, again) = w.login(&code).await;
    assert_eq!((status, code_of(&again)), (401, "wecom_code_invalid"));

    let (status, me) = w.get("/v1/console/session", &lisi).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (
            me["kind"].as_str(),
            me["role"].as_str(),
            me["member"]["userid"].as_str()
        ),
        (Some("member"), Some("viewer"), Some("lisi"))
    );
    assert!(me["expires_at"].is_string());
    // A viewer reads, and is refused a write and the admin's pages.
    let (status, _) = w.get("/v1/tenant", &lisi).await;
    assert_eq!(status, 200);
    let (status, refused) = w
        .send(
            "PUT",
            "/v1/tenant/settings",
            &lisi,
            json!({"timezone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!((status, code_of(&refused)), (403, "forbidden"));
    let (status, _) = w.get("/v1/console/members", &lisi).await;
    assert_eq!(status, 403);

    // The admin's list shows everyone with a role, who set it (a member, in a session)
    // and the last login.
    let (status, list) = w.get("/v1/console/members", &zhangsan).await;
    assert_eq!(status, 200, "{list}");
    let lisi_row = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["userid"] == "lisi")
        .unwrap()
        .clone();
    assert_eq!(lisi_row["role"], "viewer");
    assert_eq!(lisi_row["granted_by"], "member:zhangsan");
    assert!(lisi_row["last_login_at"].is_string());
    let (_, found) = w.get("/v1/console/members?q=%E6%9D%8E", &zhangsan).await;
    assert_eq!(found["members"].as_array().unwrap().len(), 1, "{found}");
    let (_, first) = w.get("/v1/console/members?limit=1", &zhangsan).await;
    assert_eq!(first["members"][0]["userid"], "lisi");
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, next) = w
        .get(
            &format!("/v1/console/members?limit=1&cursor={cursor}"),
            &zhangsan,
        )
        .await;
    assert_eq!(next["members"][0]["userid"], "zhangsan");
    assert!(next["next_cursor"].is_null());

    // Setting the same role again changes nothing; another role ends lisi's session.
    let (status, same) = w.set_role(&zhangsan, "lisi", "viewer").await;
    assert_eq!((status, same["changed"].as_bool()), (200, Some(false)));
    let (status, _) = w.get("/v1/console/session", &lisi).await;
    assert_eq!(status, 200, "the same role again ends no session");
    let (status, changed) = w.set_role(&zhangsan, "lisi", "operator").await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["sessions_ended"], 1);
    let (status, ended) = w.get("/v1/tenant", &lisi).await;
    assert_eq!((status, code_of(&ended)), (401, "unauthenticated"));

    // As an operator now; logging out ends the session.
    let lisi = w.session_of("lisi").await;
    let (_, me) = w.get("/v1/console/session", &lisi).await;
    assert_eq!(me["role"], "operator");
    let (status, _) = w
        .send("DELETE", "/v1/console/session", &lisi, json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = w.get("/v1/console/session", &lisi).await;
    assert_eq!(status, 401);

    // Removing a member's access ends their sessions and their next login has no role.
    let lisi = w.session_of("lisi").await;
    let (status, removed) = w
        .send("DELETE", "/v1/console/members/lisi", &zhangsan, json!({}))
        .await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(
        (
            removed["changed"].as_bool(),
            removed["sessions_ended"].as_u64()
        ),
        (Some(true), Some(1))
    );
    let (status, _) = w.get("/v1/tenant", &lisi).await;
    assert_eq!(status, 401);
    let code = w.scan(Some("lisi")).await;
    let (status, body) = w.login(&code).await;
    assert_eq!((status, code_of(&body)), (403, "no_role"));
    let (status, again) = w
        .send("DELETE", "/v1/console/members/lisi", &zhangsan, json!({}))
        .await;
    assert_eq!((status, again["changed"].as_bool()), (200, Some(false)));

    // Sessions end after 8 hours, whatever happens.
    let (status, _) = w.get("/v1/console/session", &zhangsan).await;
    assert_eq!(status, 200);
    w.clock.advance(chrono::Duration::hours(8));
    let (status, body) = w.get("/v1/console/session", &zhangsan).await;
    assert_eq!((status, code_of(&body)), (401, "session_expired"));
}

#[tokio::test]
async fn visitors_members_without_a_role_departed_members_and_bad_codes_are_refused() {
    let w = World::new().await;
    let admin_key = w.t.bearer();
    for (userid, role) in [("zhangsan", "admin"), ("lisi", "operator")] {
        let (status, body) = w.set_role(&admin_key, userid, role).await;
        assert_eq!(status, 200, "{body}");
    }

    // Someone outside the corp, from the page and from a minted code.
    let code = w.scan(None).await;
    let (status, body) = w.login(&code).await;
    assert_eq!((status, code_of(&body)), (403, "not_a_member"), "{body}");
    w.fake
        .add_visitor_oauth_code(w.corp(), "visitor-code", "o-1", Some("wm-1"));
    let (status, body) = w.login("visitor-code").await;
    assert_eq!((status, code_of(&body)), (403, "not_a_member"));

    // A member without a role is told to ask the admin, and who is signed in.
    let code = w.scan(Some("zhaoliu")).await;
    let (status, body) = w.login(&code).await;
    assert_eq!((status, code_of(&body)), (403, "no_role"));
    assert!(body["error"]["message"].as_str().unwrap().contains("admin"));
    assert_eq!(
        body["error"]["details"],
        json!({"userid": "zhaoliu", "name": "赵六"})
    );

    // Bad, expired and foreign codes; a corp that is no tenant is a bad code too.
    for code in ["", "no-such-code", &"x".repeat(200), "a b"] {
        let (status, body) = w.login(code).await;
        assert_eq!(
            (status, code_of(&body)),
            (401, "wecom_code_invalid"),
            "{code}"
        );
    }
    w.fake.add_oauth_code(w.corp(), "old-code", "lisi");
    w.fake.expire_oauth_codes(w.corp());
    let (status, body) = w.login("old-code").await;
    assert_eq!((status, code_of(&body)), (401, "wecom_code_invalid"));
    let (status, body) = w
        .call(request(
            "POST",
            "/v1/console/sessions/wecom",
            &[("content-type", "application/json")],
            Some(br#"{"corp_id":"wwnotatenant0001","code":"abc"}"#.to_vec()),
        ))
        .await;
    assert_eq!((status, code_of(&body)), (401, "wecom_code_invalid"));

    // lisi leaves the corp: the live session stops working and the next login is refused.
    let lisi = w.session_of("lisi").await;
    let (status, _) = w.get("/v1/tenant", &lisi).await;
    assert_eq!(status, 200);
    let code = w.scan(Some("lisi")).await;
    assert!(DynamoDirectory::new(w.db.clone())
        .record_staff_departure(w.t.id(), "lisi", w.clock.now().timestamp())
        .await
        .unwrap());
    let (status, _) = w.get("/v1/tenant", &lisi).await;
    assert_eq!(status, 401);
    let (status, body) = w.login(&code).await;
    assert_eq!((status, code_of(&body)), (403, "member_departed"));
    let (status, body) = w.set_role(&admin_key, "lisi", "viewer").await;
    assert_eq!((status, code_of(&body)), (403, "member_departed"));

    // Roles only for members WeCom knows, and only the three console roles.
    let (status, body) = w.set_role(&admin_key, "nobody", "viewer").await;
    assert_eq!((status, code_of(&body)), (404, "member_not_found"));
    let (status, body) = w.set_role(&admin_key, "zhaoliu", "session_issuer").await;
    assert_eq!((status, code_of(&body)), (400, "validation_failed"));
    let (status, _) = w.set_role(&admin_key, "a%20b", "viewer").await;
    assert_eq!(status, 400);

    // The fake's page refuses an app that is not the corp's.
    let (status, page) = w.login_page(w.corp(), 42).await;
    assert_eq!(status, 400, "{page}");
    let (status, _) = w.login_page("wwnotacorp", AGENT_ID).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_key_session_carries_the_keys_scopes_and_dies_with_the_key() {
    let w = World::new().await;
    let key = key_with_role(&w.db, w.t.id(), Role::Operator).await;
    let key_bearer = format!("Bearer {}", key.reveal());
    let (status, body) = w
        .send("POST", "/v1/console/sessions/key", &key_bearer, json!({}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["role"], "operator");
    assert!(body["member"].is_null());
    let session = format!("Bearer {}", body["token"].as_str().unwrap());
    let (status, me) = w.get("/v1/console/session", &session).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["kind"].as_str(), me["key_id"].as_str()),
        (Some("key"), body["key_id"].as_str())
    );
    let (status, _) = w.get("/v1/customers", &session).await;
    assert_eq!(status, 200);
    let (status, _) = w.get("/v1/keys", &session).await;
    assert_eq!(status, 403, "an operator's key session is not an admin");
    // A session opens no other session, and a key is not a session.
    let (status, _) = w
        .send("POST", "/v1/console/sessions/key", &session, json!({}))
        .await;
    assert_eq!(status, 401);
    let (status, _) = w.get("/v1/console/session", &key_bearer).await;
    assert_eq!(status, 401);

    // The key is revoked: its session ends.
    let key_id = body["key_id"].as_str().unwrap();
    let (status, _) = w
        .send(
            "DELETE",
            &format!("/v1/keys/{key_id}"),
            &w.t.bearer(),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = w.get("/v1/customers", &session).await;
    assert_eq!((status, code_of(&body)), (401, "unauthenticated"));
    // A forged token of the same shape is no session.
    let forged = format!("Bearer scs_{}_{}", w.corp(), "0".repeat(64));
    let (status, _) = w.get("/v1/console/session", &forged).await;
    assert_eq!(status, 401);
}

/// Every string and binary value of the tenant's profile item, as text.
async fn raw_profile(w: &World) -> String {
    let item =
        w.db.tenants()
            .get_consistent(w.corp(), "PROFILE")
            .await
            .unwrap()
            .expect("profile item");
    item.values()
        .map(|v| match v {
            aws_sdk_dynamodb::types::AttributeValue::S(s) => s.clone(),
            aws_sdk_dynamodb::types::AttributeValue::B(b) => {
                String::from_utf8_lossy(b.as_ref()).into_owned()
            }
            _ => String::new(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn tenant_secrets_are_write_only_sealed_and_used_by_the_next_wecom_call() {
    const NEW_APP_SECRET: &str = "rotated-app-secret-0123456789";
    const NEW_TOKEN: &str = "NewCallbackToken7";
    const NEW_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    let w = World::new().await;
    let admin = w.t.bearer();
    let (status, body) = w.set_role(&admin, "zhangsan", "admin").await;
    assert_eq!(status, 200, "{body}");
    // A login with the registered app secret (its token is cached).
    w.session_of("zhangsan").await;

    let (status, before) = w.get("/v1/tenant/secrets", &admin).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(
        before,
        json!({"contact_secret": true, "app_secret": true, "agent_id": true,
               "callback_token": true, "encoding_aes_key": true, "updated_at": null})
    );

    // An app secret WeCom does not know: the next login asks WeCom with it, and fails.
    let (status, set) = w
        .send(
            "PUT",
            "/v1/tenant/secrets",
            &admin,
            json!({"app_secret": NEW_APP_SECRET, "callback_token": NEW_TOKEN,
                   "encoding_aes_key": NEW_AES_KEY}),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["app_secret"], true);
    let updated_at = set["updated_at"].as_str().expect("updated_at").to_string();
    for plain in [NEW_APP_SECRET, NEW_TOKEN, NEW_AES_KEY] {
        assert!(!set.to_string().contains(plain), "{plain} answered");
    }
    let raw = raw_profile(&w).await;
    for plain in [NEW_APP_SECRET, NEW_TOKEN, NEW_AES_KEY, "contact-secret"] {
        assert!(!raw.contains(plain), "{plain} readable in the profile item");
    }
    let stored = scrm_adapters::dynamo::DynamoTenants::new(w.db.clone());
    let tenant = scrm_core::tenants::TenantLookup::tenant(&stored, w.t.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tenant.app_secret.unwrap().expose(), NEW_APP_SECRET);
    assert_eq!(tenant.callback_token.expose(), NEW_TOKEN);
    assert_eq!(tenant.encoding_aes_key.expose(), NEW_AES_KEY);
    assert_eq!(tenant.contact_secret.expose(), "contact-secret", "kept");
    let code = w.scan(Some("zhangsan")).await;
    let (status, body) = w.login(&code).await;
    assert_ne!(status, 201, "the old secret's token was used: {body}");

    // Once WeCom knows the new secret, logins work again.
    w.fake.add_app(w.corp(), NEW_APP_SECRET, Some(AGENT_ID));
    w.session_of("zhangsan").await;

    // Bad input is refused whole: nothing changes.
    for bad in [
        json!({}),
        json!({"app_secret": null}),
        json!({"app_secret": ""}),
        json!({"app_secret": "has space"}),
        json!({"contact_secret": "x".repeat(129)}),
        json!({"agent_id": 0}),
        json!({"agent_id": 2_147_483_648_i64}),
        json!({"callback_token": "ab"}),
        json!({"callback_token": "not_alnum"}),
        json!({"encoding_aes_key": "short"}),
        json!({"encoding_aes_key": NEW_AES_KEY.replace('a', "-")}),
        json!({"app_secret": "fine-secret", "encoding_aes_key": "short"}),
        json!({"secret": "unknown-field"}),
    ] {
        let (status, body) = w
            .send("PUT", "/v1/tenant/secrets", &admin, bad.clone())
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (_, after) = w.get("/v1/tenant/secrets", &admin).await;
    assert_eq!(after["updated_at"], json!(updated_at));
    w.session_of("zhangsan").await;

    // Viewers see the status; only admins change secrets.
    for role in [Role::Viewer, Role::Operator] {
        let key = format!(
            "Bearer {}",
            key_with_role(&w.db, w.t.id(), role).await.reveal()
        );
        let (status, _) = w.get("/v1/tenant/secrets", &key).await;
        assert_eq!(status, 200, "{role:?} reads the status");
        let (status, body) = w
            .send(
                "PUT",
                "/v1/tenant/secrets",
                &key,
                json!({"app_secret": "other-secret"}),
            )
            .await;
        assert_eq!(status, 403, "{role:?}: {body}");
    }
    let (_, after) = w.get("/v1/tenant/secrets", &admin).await;
    assert_eq!(after["updated_at"], json!(updated_at));
}
