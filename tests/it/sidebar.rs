//! The customer sidebar of the staff pages (`staff-api`: `GET /v1/sidebar/customer/{id}`,
//! `GET /v1/sidebar/group/{id}`, `PUT /v1/sidebar/customer/{id}/tags`): profiles read from
//! what the directory, the tag mirror and the ledger hold, confined to the session's tenant;
//! tag edits through WeCom's `mark_tag` (the fake server) and then the directory's copy.
use customer_api_fn::CustomerApi;
use scrm_adapters::bootstrap::{wecom_config, WeComUse};
use scrm_adapters::dynamo::{
    Db, DynamoDirectory, DynamoPoints, DynamoSop, DynamoTags, DynamoTenants,
};
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::wecom::fake::{
    FakeCustomer, FakeFollow, FakeGroup, FakeMember, FakeStaff, FakeTagGroup, FakeWeCom,
};
use scrm_adapters::wecom::{DynamoTokenCache, WeComClient};
use scrm_core::clock::{Clock, SystemClock};
use scrm_core::contacts::{
    DirectoryRead, DirectoryWrite, FollowWrite, MemberWrite, RelationStatus,
};
use scrm_core::events::RecordingPublisher;
use scrm_core::tags::FollowTags;
use scrm_core::tokens::{self, Claims, TokenKind};
use scrm_core::wecom::api::{paths, CorpCredentials};
use scrm_tests::{request, response_json, signing_keys, TestTenant};
use serde_json::{json, Value};
use staff_api_fn::{SidebarStores, StaffApi};
use std::sync::Arc;

type Api = Arc<StaffApi<DynamoSop, WeComClient, DynamoTenants, DynamoDirectory>>;

const CUSTOMER: &str = "wmSide1";
const CHAT: &str = "wrSide1";

/// One tenant whose directory, tag mirror and ledger hold a customer followed by alice
/// (remark, tag "VIP") and a group they are in; bob is in the corp but follows nobody.
struct World {
    db: Db,
    t: TestTenant,
    fake: FakeWeCom,
    api: Api,
    wecom: WeComClient,
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
        fake.add_staff(corp, FakeStaff::active("bob", "Bob"));
        fake.add_tag_group(
            corp,
            FakeTagGroup::new(
                "etgValue",
                "客户价值",
                &[("etVip", "VIP"), ("etNew", "新客")],
            ),
        );
        let mut follow = FakeFollow::new("alice").with_tags(&["etVip"]);
        follow.remark = "老客户李".into();
        fake.add_customer(
            corp,
            FakeCustomer::new(CUSTOMER, "Lily").followed_by(follow),
        );
        let mut group = FakeGroup::new(CHAT, "会员一群", "alice");
        group.members.push(FakeMember::customer(CUSTOMER, "Lily"));
        fake.add_group(corp, group);
        let wecom = client(&db, &fake);
        let api = Arc::new(StaffApi {
            store: DynamoSop::new(db.clone()),
            wecom: wecom.clone(),
            tenants: DynamoTenants::new(db.clone()),
            directory: DynamoDirectory::new(db.clone()),
            refused_codes: Default::default(),
            clock: Arc::new(SystemClock),
            signing_key: signing_keys(),
            web_origins: Default::default(),
            sidebar: SidebarStores::new(db.clone()),
            links: std::sync::Arc::new(scrm_core::links::NoTracking),
            materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
        });
        let w = Self {
            db,
            t,
            fake,
            api,
            wecom,
        };
        w.mirror_wecom().await;
        w.earn_points().await;
        w
    }

    fn creds(&self) -> CorpCredentials {
        CorpCredentials::new(self.t.id().as_str(), "contact-secret", None)
    }

    /// The directory and the tag mirror as WeCom's callbacks and a re-sync leave them.
    async fn mirror_wecom(&self) {
        let (t, dir) = (self.t.id(), DynamoDirectory::new(self.db.clone()));
        let at = chrono::Utc::now().timestamp();
        scrm_core::tags::sync_all(
            &DynamoTags::new(self.db.clone()),
            &self.wecom,
            &self.creds(),
            t,
            at,
        )
        .await
        .expect("tag mirror");
        let detail = self
            .wecom
            .get_external_contact_all(&self.creds(), CUSTOMER)
            .await
            .expect("customer");
        dir.put_customer_detail(t, &detail.external_contact, at)
            .await
            .unwrap();
        for f in &detail.follow_user {
            let write = FollowWrite::from_follow_user(f, RelationStatus::Active);
            dir.put_follow(t, CUSTOMER, &f.userid, &write, at)
                .await
                .unwrap();
        }
        let chat = self
            .wecom
            .get_group_chat(&self.creds(), CHAT, true)
            .await
            .expect("group");
        dir.put_group_detail(t, &chat, Some(0), at).await.unwrap();
        let members: Vec<MemberWrite> =
            chat.member_list.iter().map(MemberWrite::from_api).collect();
        dir.put_members(t, CHAT, &members, at).await.unwrap();
    }

    /// 30 points awarded by an operator and one check-in (10) today.
    async fn earn_points(&self) {
        let admin = scrm_tests::admin_api(
            &self.db,
            AnyPublisher::Recording(Arc::new(RecordingPublisher::new())),
            self.fake.base_url(),
            Arc::new(SystemClock),
        );
        let bearer = self.t.bearer();
        let call = |method: &str, path: &str, body: Value| {
            let req = scrm_tests::json_request(method, path, &bearer, &body);
            let admin = admin.clone();
            async move { response_json(&admin_api_fn::handle(&admin, req).await.unwrap()) }
        };
        let rules = json!({"check_in": {"enabled": true, "base_points": 10}});
        let (status, body) = call("PUT", "/v1/points/rules", rules).await;
        assert_eq!(status, 200, "{body}");
        let award = json!({"operation": "award", "external_userids": [CUSTOMER], "points": 30, "idempotency_key": "sidebar-award"});
        let (status, body) = call("POST", "/v1/points/bulk", award).await;
        assert_eq!(status, 200, "{body}");
        let customer = Arc::new(CustomerApi {
            points: DynamoPoints::new(self.db.clone()),
            directory: DynamoDirectory::new(self.db.clone()),
            forms: customer_api_fn::forms::Forms::unpublished(&self.db),
            fission: None,
            tenants: DynamoTenants::new(scrm_tests::db_without_secret_keys().await),
            clock: Arc::new(SystemClock),
            signing_key: signing_keys(),
            official: None,
        });
        let token = tokens::issue(
            &signing_keys(),
            &Claims {
                tenant: self.t.id().to_string(),
                subject: CUSTOMER.into(),
                kind: TokenKind::Customer,
                expires_at: SystemClock.now().timestamp() + 3600,
            },
        );
        let req = scrm_tests::json_request(
            "POST",
            "/v1/check-in",
            &format!("Bearer {token}"),
            &json!({}),
        );
        let (status, body) = response_json(&customer_api_fn::handle(&customer, req).await.unwrap());
        assert_eq!(status, 200, "{body}");
    }

    /// A staff session of `userid` in this tenant (OAuth code exchange).
    async fn session(&self, userid: &str) -> String {
        session_in(&self.api, &self.fake, self.t.id().as_str(), userid).await
    }

    /// The stored tags of alice's relation with the customer.
    async fn stored_tags(&self) -> Vec<String> {
        DynamoDirectory::new(self.db.clone())
            .follow_tags(self.t.id(), CUSTOMER, "alice")
            .await
            .unwrap()
            .expect("relation")
            .tags
            .into_iter()
            .filter_map(|t| t.tag_id)
            .collect()
    }

    /// The tags the fake WeCom holds on alice's relation.
    fn wecom_tags(&self) -> Vec<String> {
        self.fake
            .customer(self.t.id().as_str(), CUSTOMER)
            .unwrap()
            .follows
            .iter()
            .find(|f| f.userid == "alice")
            .unwrap()
            .tag_ids
            .clone()
    }

    async fn put_tags(&self, session: &str, body: Value) -> (u16, Value) {
        let req = request(
            "PUT",
            &format!("/v1/sidebar/customer/{CUSTOMER}/tags"),
            &[
                ("authorization", &format!("Bearer {session}")),
                ("content-type", "application/json"),
            ],
            Some(serde_json::to_vec(&body).unwrap()),
        );
        call(&self.api, req).await
    }
}

fn client(db: &Db, fake: &FakeWeCom) -> WeComClient {
    let tokens = DynamoTokenCache::from_db(db).expect("sealing cache");
    WeComClient::new(
        wecom_config(fake.base_url(), WeComUse::PersonWaiting),
        Arc::new(tokens),
    )
    .expect("client")
}

async fn session_in(api: &Api, fake: &FakeWeCom, corp: &str, userid: &str) -> String {
    let code = format!("code-{}", ulid::Ulid::new());
    fake.add_oauth_code(corp, &code, userid);
    let body = json!({"corp_id": corp, "code": code});
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

async fn call(api: &Api, req: lambda_http::Request) -> (u16, Value) {
    response_json(&staff_api_fn::handle(api, req).await.expect("infallible"))
}

async fn get(api: &Api, path: &str, session: Option<&str>) -> (u16, Value) {
    let bearer = session.map(|s| format!("Bearer {s}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("authorization", b)])
        .unwrap_or_default();
    call(api, request("GET", path, &headers, None)).await
}

fn tag_ids(body: &Value) -> Vec<String> {
    body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_sidebar_shows_a_customer_as_the_product_knows_them() {
    let w = World::new().await;
    let alice = w.session("alice").await;
    let (status, body) = get(
        &w.api,
        &format!("/v1/sidebar/customer/{CUSTOMER}"),
        Some(&alice),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["external_userid"], CUSTOMER);
    assert_eq!(body["name"], "Lily");
    assert_eq!(body["remark"], "老客户李");
    assert_eq!(body["stage"], Value::Null);
    assert_eq!(body["follower"], true);
    assert_eq!(
        body["tags"],
        json!([{"tag_id": "etVip", "name": "VIP", "group_name": "客户价值"}])
    );
    assert_eq!(body["available_tags"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["points"],
        json!({"balance": 40, "current_streak": 1, "longest_streak": 1})
    );
    assert_eq!(
        body["groups"],
        json!([{"chat_id": CHAT, "name": "会员一群"}])
    );
    let timeline = body["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"points") && kinds.contains(&"joined") && kinds.contains(&"contact_added"),
        "{kinds:?}"
    );
    // As instants: RFC 3339 strings of different precisions do not sort as text.
    let ats: Vec<chrono::DateTime<chrono::Utc>> = timeline
        .iter()
        .map(|e| e["at"].as_str().unwrap().parse().unwrap())
        .collect();
    let mut newest_first = ats.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(ats, newest_first);
    let points: Vec<i64> = timeline
        .iter()
        .filter(|e| e["kind"] == "points")
        .map(|e| e["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(points.iter().sum::<i64>(), 40);

    // Someone who follows them not sees every follow user's tags, without a remark.
    let bob = w.session("bob").await;
    let (status, body) = get(
        &w.api,
        &format!("/v1/sidebar/customer/{CUSTOMER}"),
        Some(&bob),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["follower"], false);
    assert_eq!(body["remark"], Value::Null);
    assert_eq!(tag_ids(&body), ["etVip"]);
}

#[tokio::test]
async fn the_sidebar_shows_a_group_with_todays_check_ins() {
    let w = World::new().await;
    let alice = w.session("alice").await;
    let (status, body) = get(&w.api, &format!("/v1/sidebar/group/{CHAT}"), Some(&alice)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chat_id"], CHAT);
    assert_eq!(body["name"], "会员一群");
    assert_eq!(body["owner"], "alice");
    assert_eq!(body["members"], 2);
    assert_eq!(body["tags"], json!([]));
    assert_eq!(body["check_ins"]["checked_in"], 1);
    assert_eq!(body["check_ins"]["customers"], 1);
    assert_eq!(body["check_ins"]["rate"], 1.0);
    let joined: Vec<&str> = body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "joined")
        .map(|e| e["member_id"].as_str().unwrap())
        .collect();
    assert_eq!(joined.len(), 2, "{body}");
    assert!(joined.contains(&CUSTOMER));
}

#[tokio::test]
async fn only_a_session_of_the_tenant_sees_its_customers_and_groups() {
    let w = World::new().await;
    let paths = [
        format!("/v1/sidebar/customer/{CUSTOMER}"),
        format!("/v1/sidebar/group/{CHAT}"),
    ];
    for path in &paths {
        let (status, body) = get(&w.api, path, None).await;
        assert_eq!(status, 401, "{path} {body}");
        assert_eq!(body["error"]["code"], "unauthenticated");
        let (status, _) = get(&w.api, path, Some("not-a-session")).await;
        assert_eq!(status, 401, "{path}");
    }
    // Another tenant's member, with a valid session of their own tenant.
    let other = scrm_tests::tenant(&w.db).await;
    let corp = other.id().as_str();
    w.fake.add_app(corp, "contact-secret", None);
    w.fake.add_app(corp, "app-secret", Some(1000002));
    w.fake.add_staff(corp, FakeStaff::active("alice", "Alice"));
    let stranger = session_in(&w.api, &w.fake, corp, "alice").await;
    let (status, body) = get(&w.api, &paths[0], Some(&stranger)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("customer_not_found")),
        "{body}"
    );
    let (status, body) = get(&w.api, &paths[1], Some(&stranger)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("group_not_found")),
        "{body}"
    );
    let (status, body) = w.put_tags(&stranger, json!({"add": ["etNew"]})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("customer_not_found")),
        "{body}"
    );
    assert_eq!(w.fake.calls(paths::MARK_TAG), 0);
    // Ids the directory cannot hold are refused before any look-up.
    let alice = w.session("alice").await;
    let (status, _) = get(&w.api, "/v1/sidebar/customer/wm%23x", Some(&alice)).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_tag_edit_reaches_wecom_and_the_stored_copy_and_a_retry_changes_nothing_more() {
    let w = World::new().await;
    let alice = w.session("alice").await;
    let edit = json!({"add": ["etNew"], "remove": ["etVip"]});
    let (status, body) = w.put_tags(&alice, edit.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(tag_ids(&body), ["etNew"]);
    assert_eq!(body["tags"][0]["name"], "新客");
    assert_eq!(w.wecom_tags(), ["etNew"]);
    assert_eq!(w.stored_tags().await, ["etNew"]);
    let sent = w.fake.requests(paths::MARK_TAG);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["userid"], "alice");
    assert_eq!(sent[0]["external_userid"], CUSTOMER);
    assert_eq!(sent[0]["add_tag"], json!(["etNew"]));
    assert_eq!(sent[0]["remove_tag"], json!(["etVip"]));
    // The next read shows it.
    let (_, profile) = get(
        &w.api,
        &format!("/v1/sidebar/customer/{CUSTOMER}"),
        Some(&alice),
    )
    .await;
    assert_eq!(tag_ids(&profile), ["etNew"]);
    // A retry (the answer was lost) answers the same and changes nothing.
    let (status, again) = w.put_tags(&alice, edit).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, body);
    assert_eq!(w.wecom_tags(), ["etNew"]);
    assert_eq!(w.stored_tags().await, ["etNew"]);
}

#[tokio::test]
async fn bad_tag_edits_are_refused_and_change_nothing() {
    let w = World::new().await;
    let alice = w.session("alice").await;
    let cases = [
        (json!({}), "tags_empty"),
        (json!({"add": [], "remove": []}), "tags_empty"),
        (
            json!({"add": ["etNew"], "remove": ["etNew"]}),
            "tag_in_both_lists",
        ),
        (json!({"add": ["etNoSuch"]}), "unknown_tag"),
        (json!({"remove": ["etNoSuch"]}), "unknown_tag"),
        (json!({"add": [""]}), "validation_failed"),
        (json!({"add": "etNew"}), "validation_failed"),
        (
            json!({"add": ["etNew"], "colour": "red"}),
            "validation_failed",
        ),
        (
            json!({"add": (0..101).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            "too_many_tags",
        ),
    ];
    for (body, code) in cases {
        let (status, answer) = w.put_tags(&alice, body.clone()).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["error"]["code"], code, "{body} → {answer}");
    }
    let (status, answer) = w.put_tags(&alice, json!({"add": ["etNoSuch"]})).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["details"]["tag_ids"], json!(["etNoSuch"]));
    // Someone who does not follow the customer: WeCom would refuse them (84061).
    let bob = w.session("bob").await;
    let (status, answer) = w.put_tags(&bob, json!({"add": ["etNew"]})).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("not_follower")),
        "{answer}"
    );
    assert_eq!(w.fake.calls(paths::MARK_TAG), 0);
    assert_eq!(w.wecom_tags(), ["etVip"]);
    assert_eq!(w.stored_tags().await, ["etVip"]);
}

#[tokio::test]
async fn a_wecom_failure_is_a_5xx_and_leaves_the_stored_tags_alone() {
    let w = World::new().await;
    let alice = w.session("alice").await;
    let edit = json!({"add": ["etNew"]});
    // Busy beyond the client's retries: 503, retry later.
    w.fake.fail_next(paths::MARK_TAG, 10, -1);
    let (status, body) = w.put_tags(&alice, edit.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("wecom_unavailable")),
        "{body}"
    );
    assert_eq!(w.stored_tags().await, ["etVip"]);
    w.fake.clear_faults();
    // Refused for good (no permission): 502.
    w.fake.fail_next(paths::MARK_TAG, 1, 48002);
    let (status, body) = w.put_tags(&alice, edit.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("wecom_error")),
        "{body}"
    );
    assert_eq!(w.stored_tags().await, ["etVip"]);
    assert_eq!(w.wecom_tags(), ["etVip"]);
    // WeCom no longer counts alice as a follow user (the directory is behind): 403.
    w.fake.fail_next(paths::MARK_TAG, 1, 84061);
    let (status, body) = w.put_tags(&alice, edit.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("not_follower")),
        "{body}"
    );
    assert_eq!(w.stored_tags().await, ["etVip"]);
    // And then the edit goes through.
    let (status, body) = w.put_tags(&alice, edit).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(w.stored_tags().await, ["etVip", "etNew"]);
    // The directory's own read shows the relation with both tags.
    let view = DynamoDirectory::new(w.db.clone())
        .customer(w.t.id(), CUSTOMER)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.follow_users[0].tags.len(), 2);
}
