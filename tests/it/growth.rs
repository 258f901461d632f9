//! Channel codes and welcome messages, end to end on DynamoDB Local and the fake WeCom
//! server: codes created through the admin API (idempotent, reconciled after a lost
//! answer), a customer scanning one (the fake's add callback delivered through the
//! `wecom-callback` handler), the `growth-on-event` consumer of the published event (one
//! welcome, tags and remark, figures, the rota), re-deliveries, expired and used welcome
//! codes, paused codes, the tenant's default welcome, and bad input that writes nothing.
use crate::directory::{admin_call, test_now, world, World};
use growth_on_event_fn::{apply, GrowthOnEvent};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoGrowth, DynamoTags, DynamoTenants};
use scrm_adapters::wecom::fake::*;
use scrm_adapters::wecom::WeComClient;
use scrm_core::events::{DomainEvent, EventEnvelope, RemovedBy};
use scrm_core::growth::on_event::{GrowthOutcome, Handled};
use scrm_core::growth::WelcomeOutcome;
use scrm_core::wecom::api::paths;
use scrm_core::wecom::crypto::CallbackCrypto;
use scrm_tests::*;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use wecom_callback_fn::{CallbackHandler, CallbackPolicy};

type Consumer = GrowthOnEvent<DynamoGrowth, WeComClient, DynamoDirectory, DynamoTenants>;

fn consumer(w: &World) -> Consumer {
    GrowthOnEvent {
        store: DynamoGrowth::new(w.db.clone()),
        wecom: w.client.clone(),
        facts: DynamoDirectory::new(w.db.clone()),
        tenants: DynamoTenants::new(w.db.clone()),
        clock: w.clock.clone(),
        materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
        links: std::sync::Arc::new(scrm_core::links::tracker::NoTracking),
    }
}

/// A tenant whose corp (in the fake, its clock at the tests' now) knows three members and
/// a VIP tag.
pub(crate) async fn corp(w: &World) -> TestTenant {
    let t = tenant(&w.db).await;
    let corp = t.id().as_str();
    w.fake.set_now(test_now().timestamp());
    w.fake.add_app(corp, "contact-secret", None);
    w.fake
        .add_staff(corp, FakeStaff::active("zhangsan", "张三"));
    w.fake.add_staff(corp, FakeStaff::active("lisi", "李四"));
    w.fake.add_staff(corp, FakeStaff::active("wangwu", "王五"));
    w.fake.add_tag_group(
        corp,
        FakeTagGroup::new("etgroupsrc", "来源", &[("ettagvip", "会员码")]),
    );
    t
}

fn code_body(cap: u32) -> Value {
    json!({
        "name": "门店海报",
        "kind": "multi",
        "rota": {
            "shifts": [
                { "userid": "zhangsan", "weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00" },
                { "userid": "lisi", "weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00" }
            ],
            "daily_cap": cap,
            "backup": ["wangwu"]
        },
        "welcome": {
            "text": "{customer_name}您好，我是{staff_name}。签到领积分：{points_link}",
            "attachments": [
                { "type": "link", "title": "会员中心", "url": "https://shop.example.com/member" },
                { "type": "image", "pic_url": "https://shop.example.com/poster.png" }
            ],
            "points_page_url": "https://shop.example.com/h5/"
        },
        "tags": ["ettagvip"],
        "remark_template": "海报-{customer_name}"
    })
}

/// The admin API with the world's WeCom client (short timeouts).
pub(crate) fn admin(w: &World) -> Arc<admin_api_fn::AdminApi> {
    Arc::new(admin_api_fn::AdminApi {
        tenants: DynamoTenants::new(w.db.clone()),
        directory: DynamoDirectory::new(w.db.clone()),
        tags: DynamoTags::new(w.db.clone()),
        points: scrm_adapters::dynamo::DynamoPoints::new(w.db.clone()),
        sop: scrm_adapters::dynamo::DynamoSop::new(w.db.clone()),
        growth: DynamoGrowth::new(w.db.clone()),
        publisher: scrm_adapters::events::AnyPublisher::Recording(w.recorder.clone()),
        wecom: w.client.clone(),
        clock: w.clock.clone(),
        signing_key: signing_keys(),
        console: admin_api_fn::console::Console::new(&w.db, "https://login.work.weixin.qq.com"),
        content: admin_api_fn::content::ContentCenter::new(&w.db, content_objects()),
    })
}

pub(crate) fn create_request(t: &TestTenant, key: &str, body: &Value) -> lambda_http::Request {
    let mut req = json_request("POST", "/v1/growth/channel-codes", &t.bearer(), body);
    req.headers_mut()
        .insert("idempotency-key", key.parse().expect("header"));
    req
}

async fn create_code(w: &World, t: &TestTenant, key: &str, cap: u32) -> Value {
    let (status, code) = admin_call(&admin(w), create_request(t, key, &code_body(cap))).await;
    assert_eq!(status, 201, "{code}");
    code
}

fn callback_handler(
    w: &World,
) -> CallbackHandler<DynamoTenants, WeComClient, Arc<scrm_core::events::RecordingPublisher>> {
    CallbackHandler {
        tenants: DynamoTenants::new(w.db.clone()),
        dir: DynamoDirectory::new(w.db.clone()),
        tags: DynamoTags::new(w.db.clone()),
        source: w.client.clone(),
        publisher: w.recorder.clone(),
        clock: w.clock.clone(),
        policy: CallbackPolicy {
            fetch_budget: Duration::from_millis(800),
            ..CallbackPolicy::default()
        },
    }
}

/// Delivers a callback WeCom would send (signed, encrypted) and answers the events it
/// published.
pub(crate) async fn deliver_callback(w: &World, t: &TestTenant, xml: &str) -> Vec<EventEnvelope> {
    let crypto = CallbackCrypto::from_parts(TEST_TOKEN, TEST_AES_KEY, t.id().as_str()).unwrap();
    let msg = crypto.encrypt_message(
        xml.as_bytes(),
        &test_now().timestamp().to_string(),
        "1372623149",
    );
    let req = request(
        "POST",
        &format!("/callback/{}?{}", t.id(), msg.query()),
        &[("content-type", "text/xml")],
        Some(msg.callback_xml(Some("1000002")).into_bytes()),
    );
    let resp = wecom_callback_fn::handle(&callback_handler(w), req)
        .await
        .unwrap();
    let (status, body) = response_json(&resp);
    assert_eq!((status, body.clone()), (200, json!("success")), "{body}");
    w.recorder.take()
}

fn added(
    t: &TestTenant,
    id: &str,
    ext: &str,
    userid: &str,
    state: Option<&str>,
    code: &str,
) -> EventEnvelope {
    EventEnvelope {
        event_id: id.into(),
        tenant: t.id().to_string(),
        occurred_at: test_now(),
        event: DomainEvent::ContactAdded {
            external_userid: ext.into(),
            userid: userid.into(),
            state: state.map(str::to_string),
            half: false,
            welcome_code: Some(code.into()),
        },
    }
}

fn handled(outcome: GrowthOutcome) -> Handled {
    match outcome {
        GrowthOutcome::Handled(h) => h,
        other => panic!("not handled: {other:?}"),
    }
}

async fn figures(w: &World, t: &TestTenant, state: &str) -> Value {
    let (status, body) = admin_call(
        &admin(w),
        get_request(
            &format!("/v1/growth/channel-codes/{state}/figures?from=2026-03-01&to=2026-03-02"),
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_scan_is_welcomed_once_tagged_remarked_counted_and_moves_the_rota() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let code = create_code(&w, &t, "poster-1", 1).await;
    let state = code["state"].as_str().unwrap().to_string();
    assert_eq!(code["status"], "active");
    let way = w
        .fake
        .contact_way_by_state(c, &state)
        .expect("WeCom has the code");
    assert_eq!((way.kind, way.scene), (2, 2));
    assert_eq!(way.user, ["zhangsan", "lisi"]);
    assert_eq!(code["config_id"], way.config_id.as_str());
    assert_eq!(code["qr_code"], way.qr_code.as_str());

    // The customer scans; WeCom's callback lands and publishes the add with its code.
    let scan = w
        .fake
        .scan_contact_way(c, &state, "wmalice", "Alice")
        .expect("scanned");
    assert_eq!(scan.userid, "zhangsan");
    let events = deliver_callback(&w, &t, &scan.xml).await;
    assert_eq!(events.len(), 1);
    assert!(matches!(
        &events[0].event,
        DomainEvent::ContactAdded { welcome_code: Some(wc), state: Some(s), .. }
            if *wc == scan.welcome_code && *s == state
    ));

    let h = handled(apply(&consumer(&w), &events[0]).await.unwrap());
    assert_eq!(h.welcome, Some(WelcomeOutcome::Sent));
    assert!(h.counted);
    // zhangsan reached the cap of 1: WeCom now adds to lisi alone.
    assert_eq!(h.on_duty, Some(vec!["lisi".to_string()]));
    assert_eq!(
        w.fake.contact_way_by_state(c, &state).unwrap().user,
        ["lisi"]
    );

    let sent = w.fake.welcome_messages(c);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["welcome_code"], scan.welcome_code.as_str());
    assert_eq!(
        sent[0]["text"]["content"],
        format!("Alice您好，我是张三。签到领积分：https://shop.example.com/h5/?corp_id={c}")
    );
    assert_eq!(sent[0]["attachments"][0]["msgtype"], "link");
    assert_eq!(
        sent[0]["attachments"][1]["image"]["pic_url"],
        "https://shop.example.com/poster.png"
    );
    let follow = w
        .fake
        .customer(c, "wmalice")
        .unwrap()
        .follows
        .into_iter()
        .find(|f| f.userid == "zhangsan")
        .unwrap();
    assert_eq!(follow.tag_ids, ["ettagvip"]);
    assert_eq!(follow.remark, "海报-Alice");

    // WeCom re-delivers the callback, EventBridge the event: nothing is sent or counted twice.
    let again = deliver_callback(&w, &t, &scan.xml).await;
    assert!(again.is_empty(), "{again:?}");
    let h = handled(apply(&consumer(&w), &events[0]).await.unwrap());
    assert_eq!(h, Handled::default());
    assert_eq!(w.fake.welcome_messages(c).len(), 1);
    assert_eq!(w.fake.calls(paths::SEND_WELCOME_MSG), 1);

    let f = figures(&w, &t, &state).await;
    assert_eq!(
        (f["added"].clone(), f["removed"].clone(), f["net"].clone()),
        (json!(1), json!(0), json!(1))
    );
    assert_eq!(
        f["days"][1]["members"],
        json!([{ "userid": "zhangsan", "added": 1, "removed": 0, "net": 1 }])
    );

    // The customer deletes zhangsan: the relation's channel is the code's; counted once.
    let removed = EventEnvelope {
        event_id: "cb:del:1".into(),
        tenant: t.id().to_string(),
        occurred_at: test_now(),
        event: DomainEvent::ContactRemoved {
            external_userid: "wmalice".into(),
            userid: "zhangsan".into(),
            by: RemovedBy::Customer,
            source: None,
        },
    };
    assert!(handled(apply(&consumer(&w), &removed).await.unwrap()).counted);
    assert!(!handled(apply(&consumer(&w), &removed).await.unwrap()).counted);
    let f = figures(&w, &t, &state).await;
    assert_eq!(
        (f["added"].clone(), f["removed"].clone(), f["net"].clone()),
        (json!(1), json!(1), json!(0))
    );

    // Once lisi is capped too, the backup member takes over.
    let scan = w.fake.scan_contact_way(c, &state, "wmbob", "Bob").unwrap();
    assert_eq!(scan.userid, "lisi");
    let events = deliver_callback(&w, &t, &scan.xml).await;
    let h = handled(apply(&consumer(&w), &events[0]).await.unwrap());
    assert_eq!(h.on_duty, Some(vec!["wangwu".to_string()]));
    assert_eq!(
        w.fake.contact_way_by_state(c, &state).unwrap().user,
        ["wangwu"]
    );
}

/// The funnel's first steps in one go, each through its real handler: a customer adds
/// through a code → the callback lands and publishes the add → the welcome goes out with
/// their name and points link, the code's tag and remark are applied, newcomer points are
/// paid (points-on-event) and the add is counted; then WeCom re-delivers the callback and
/// EventBridge the event, and nothing changes.
#[tokio::test]
async fn an_add_through_a_code_is_welcomed_tagged_paid_and_counted_once() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let api = admin(&w);
    let (status, out) = admin_call(
        &api,
        json_request(
            "PUT",
            "/v1/points/rules",
            &t.bearer(),
            &json!({ "newcomer": { "enabled": true, "points": 88, "on_contact_added": true } }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let code = create_code(&w, &t, "funnel-1", 10).await;
    let state = code["state"].as_str().unwrap().to_string();

    let points = scrm_adapters::dynamo::DynamoPoints::new(w.db.clone());
    let dir = DynamoDirectory::new(w.db.clone());
    let tenants = DynamoTenants::new(w.db.clone());
    let pay = |env: EventEnvelope| {
        let (points, dir, tenants, clock) = (&points, &dir, &tenants, w.clock.clone());
        async move {
            points_on_event_fn::handle(
                points,
                dir,
                tenants,
                clock.as_ref(),
                lambda_runtime::LambdaEvent::new(
                    env.to_eventbridge_json(),
                    lambda_runtime::Context::default(),
                ),
            )
            .await
            .expect("points-on-event")
        }
    };

    let scan = w
        .fake
        .scan_contact_way(c, &state, "wmcarol", "Carol")
        .expect("scanned");
    let events = deliver_callback(&w, &t, &scan.xml).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let h = handled(apply(&consumer(&w), &events[0]).await.unwrap());
    assert_eq!(h.welcome, Some(WelcomeOutcome::Sent));
    assert!(h.counted);
    let paid = pay(events[0].clone()).await;
    assert_eq!(paid["points"]["applied"]["amount"], 88, "{paid}");

    let sent = w.fake.welcome_messages(c);
    assert_eq!(sent.len(), 1);
    let text = sent[0]["text"]["content"].as_str().unwrap();
    assert!(text.starts_with("Carol您好"), "{text}");
    assert!(
        text.contains(&format!("https://shop.example.com/h5/?corp_id={c}")),
        "{text}"
    );
    let follow = w
        .fake
        .customer(c, "wmcarol")
        .unwrap()
        .follows
        .into_iter()
        .find(|f| f.userid == scan.userid)
        .unwrap();
    assert_eq!(
        (follow.tag_ids, follow.remark),
        (vec!["ettagvip".to_string()], "海报-Carol".to_string())
    );

    // Re-delivered: the callback publishes nothing new; the event, handled again, sends,
    // pays and counts nothing.
    assert!(deliver_callback(&w, &t, &scan.xml).await.is_empty());
    assert_eq!(
        handled(apply(&consumer(&w), &events[0]).await.unwrap()),
        Handled::default()
    );
    let again = pay(events[0].clone()).await;
    assert_eq!(again["points"]["replayed"], true, "{again}");
    assert_eq!(w.fake.calls(paths::SEND_WELCOME_MSG), 1);
    let (_, ledger) = admin_call(
        &api,
        get_request("/v1/points/customers/wmcarol/ledger", &t.bearer()),
    )
    .await;
    assert_eq!(
        ledger["entries"].as_array().map(Vec::len),
        Some(1),
        "{ledger}"
    );
    assert_eq!(ledger["entries"][0]["amount"], 88);
    let f = figures(&w, &t, &state).await;
    assert_eq!((f["added"].clone(), f["net"].clone()), (json!(1), json!(1)));
}

#[tokio::test]
async fn creates_are_idempotent_and_a_lost_answer_is_reconciled_by_state() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let api = admin(&w);
    let first = create_code(&w, &t, "k-1", 5).await;
    // The same request again: the same code, nothing new at WeCom.
    let (status, again) = admin_call(&api, create_request(&t, "k-1", &code_body(5))).await;
    assert_eq!((status, &again["state"]), (200, &first["state"]));
    // The same key with another body is refused.
    let (status, body) = admin_call(&api, create_request(&t, "k-1", &code_body(6))).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("idempotency_key_reused"))
    );
    assert_eq!(w.fake.contact_ways(c).len(), 1);

    // WeCom creates the code but its answer never arrives (the client times out).
    w.fake
        .set_delay_after_effect(paths::ADD_CONTACT_WAY, Duration::from_secs(3));
    let (status, body) = admin_call(&api, create_request(&t, "k-2", &code_body(5))).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (503, json!("wecom_unavailable")),
        "{body}"
    );
    assert_eq!(w.fake.contact_ways(c).len(), 2);
    w.fake.clear_faults();
    // The retry finds it by its state instead of creating a second one.
    let (status, code) = admin_call(&api, create_request(&t, "k-2", &code_body(5))).await;
    assert_eq!(status, 201, "{code}");
    let way = w
        .fake
        .contact_way_by_state(c, code["state"].as_str().unwrap())
        .unwrap();
    assert_eq!(code["config_id"], way.config_id.as_str());
    assert_eq!(w.fake.contact_ways(c).len(), 2);
    assert_eq!(w.fake.calls(paths::ADD_CONTACT_WAY), 2);

    // Edit, pause, resume, delete.
    let state = code["state"].as_str().unwrap();
    let mut edit = code_body(5);
    edit["version"] = code["version"].clone();
    edit["rota"]["shifts"] =
        json!([{ "userid": "wangwu", "weekdays": [1], "start": "00:00", "end": "24:00" }]);
    let (status, edited) = admin_call(
        &api,
        json_request(
            "PUT",
            &format!("/v1/growth/channel-codes/{state}"),
            &t.bearer(),
            &edit,
        ),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    // 2026-03-02 is a Monday: wangwu is on duty.
    assert_eq!(
        w.fake.contact_way_by_state(c, state).unwrap().user,
        ["wangwu"]
    );
    let (status, stale) = admin_call(
        &api,
        json_request(
            "PUT",
            &format!("/v1/growth/channel-codes/{state}"),
            &t.bearer(),
            &edit,
        ),
    )
    .await;
    assert_eq!(
        (status, stale["error"]["code"].clone()),
        (409, json!("version_conflict"))
    );
    let post = |path: String| json_request("POST", &path, &t.bearer(), &json!({}));
    let (status, paused) = admin_call(
        &api,
        post(format!("/v1/growth/channel-codes/{state}/pause")),
    )
    .await;
    assert_eq!((status, paused["status"].clone()), (200, json!("paused")));
    let (status, resumed) = admin_call(
        &api,
        post(format!("/v1/growth/channel-codes/{state}/resume")),
    )
    .await;
    assert_eq!((status, resumed["status"].clone()), (200, json!("active")));
    let del = || {
        request(
            "DELETE",
            &format!("/v1/growth/channel-codes/{state}"),
            &[("authorization", &t.bearer())],
            None,
        )
    };
    assert_eq!(admin_call(&api, del()).await.0, 200);
    assert!(w.fake.contact_way_by_state(c, state).is_none());
    assert_eq!(admin_call(&api, del()).await.0, 404);
    let (status, list) =
        admin_call(&api, get_request("/v1/growth/channel-codes", &t.bearer())).await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 1));
}

#[tokio::test]
async fn expired_and_used_welcome_codes_are_recorded_not_retried() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let api = admin(&w);
    let (status, _) = admin_call(
        &api,
        json_request(
            "PUT",
            "/v1/growth/default-welcome",
            &t.bearer(),
            &json!({ "welcome": { "text": "欢迎！我是{staff_name}" } }),
        ),
    )
    .await;
    assert_eq!(status, 200);

    // No channel: the tenant's default welcome.
    w.fake.issue_welcome_code(c, "WC-1");
    let h = handled(
        apply(&consumer(&w), &added(&t, "e1", "wm1", "lisi", None, "WC-1"))
            .await
            .unwrap(),
    );
    assert_eq!(h.welcome, Some(WelcomeOutcome::Sent));
    assert_eq!(
        w.fake.welcome_messages(c)[0]["text"]["content"],
        "欢迎！我是李四"
    );

    // The same code again (another app used it, or an earlier attempt did): 41051.
    let h = handled(
        apply(
            &consumer(&w),
            &added(&t, "e2", "wm1", "lisi", Some("unknown"), "WC-1"),
        )
        .await
        .unwrap(),
    );
    assert_eq!(h.welcome, Some(WelcomeOutcome::Used));

    // Past its 20 s at WeCom: 41050, recorded, one call only.
    w.fake.issue_welcome_code(c, "WC-2");
    w.fake.set_now(test_now().timestamp() + 21);
    w.fake.reset_counters();
    let h = handled(
        apply(&consumer(&w), &added(&t, "e3", "wm2", "lisi", None, "WC-2"))
            .await
            .unwrap(),
    );
    assert_eq!(h.welcome, Some(WelcomeOutcome::Expired));
    assert_eq!(w.fake.calls(paths::SEND_WELCOME_MSG), 1);
    // Its re-delivery sends nothing.
    let h = handled(
        apply(&consumer(&w), &added(&t, "e3", "wm2", "lisi", None, "WC-2"))
            .await
            .unwrap(),
    );
    assert_eq!(h.welcome, None);
    assert_eq!(w.fake.calls(paths::SEND_WELCOME_MSG), 1);

    // An event delivered after the window (a retried delivery): not even tried.
    w.fake.set_now(test_now().timestamp());
    w.fake.issue_welcome_code(c, "WC-3");
    let mut late = added(&t, "e4", "wm3", "lisi", None, "WC-3");
    late.occurred_at = test_now() - chrono::Duration::seconds(19);
    let h = handled(apply(&consumer(&w), &late).await.unwrap());
    assert_eq!(h.welcome, Some(WelcomeOutcome::Expired));
    assert_eq!(w.fake.calls(paths::SEND_WELCOME_MSG), 1);

    // WeCom busy: retried within the window, sent once.
    w.fake.fail_next(paths::SEND_WELCOME_MSG, 2, -1);
    let h = handled(
        apply(&consumer(&w), &added(&t, "e5", "wm3", "lisi", None, "WC-3"))
            .await
            .unwrap(),
    );
    assert_eq!(h.welcome, Some(WelcomeOutcome::Sent));
    assert_eq!(w.fake.welcome_messages(c).len(), 2);
}

#[tokio::test]
async fn a_paused_code_sends_and_applies_nothing_but_counts() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let code = create_code(&w, &t, "paused", 10).await;
    let state = code["state"].as_str().unwrap().to_string();
    let (status, _) = admin_call(
        &admin(&w),
        json_request(
            "POST",
            &format!("/v1/growth/channel-codes/{state}/pause"),
            &t.bearer(),
            &json!({}),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let scan = w.fake.scan_contact_way(c, &state, "wmcat", "Cat").unwrap();
    let events = deliver_callback(&w, &t, &scan.xml).await;
    let h = handled(apply(&consumer(&w), &events[0]).await.unwrap());
    assert_eq!(h.welcome, Some(WelcomeOutcome::NotConfigured));
    assert!(h.counted);
    assert!(w.fake.welcome_messages(c).is_empty());
    assert_eq!(w.fake.calls(paths::MARK_TAG), 0);
    assert_eq!(w.fake.calls(paths::EXTERNAL_CONTACT_REMARK), 0);
    assert_eq!(figures(&w, &t, &state).await["added"], 1);
}

#[tokio::test]
async fn bad_codes_and_welcomes_are_refused_and_write_nothing() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let api = admin(&w);
    let refused = |body: Value, key: &'static str| {
        let api = api.clone();
        let req = create_request(&t, key, &body);
        async move { admin_call(&api, req).await }
    };
    let mut nobody = code_body(1);
    nobody["rota"]["shifts"] = json!([]);
    let mut long = code_body(1);
    long["welcome"]["text"] = json!("字".repeat(1400));
    let mut ten = code_body(1);
    ten["welcome"]["attachments"] = json!(vec![
        json!({ "type": "image", "pic_url": "https://x.example/p.png" });
        10
    ]);
    let mut hours = code_body(1);
    hours["rota"]["shifts"][0]["end"] = json!("08:00");
    hours["rota"]["shifts"][0]["start"] = json!("09:00");
    let mut extra = code_body(1);
    extra["state"] = json!("my-own-state-that-is-far-too-long-for-wecom");
    for (body, key) in [
        (nobody, "a"),
        (long, "b"),
        (ten, "c"),
        (hours, "d"),
        (extra, "e"),
    ] {
        let (status, out) = refused(body, key).await;
        assert_eq!(
            (status, out["error"]["code"].clone()),
            (400, json!("validation_failed")),
            "{out}"
        );
    }
    let (status, out) = admin_call(
        &api,
        json_request(
            "POST",
            "/v1/growth/channel-codes",
            &t.bearer(),
            &code_body(1),
        ),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (400, json!("idempotency_key_required"))
    );
    // A member WeCom does not know: WeCom refuses, nothing is kept, the key is free again.
    let mut stranger = code_body(1);
    stranger["rota"]["shifts"][0]["userid"] = json!("nobody");
    let (status, out) = refused(stranger, "f").await;
    assert_eq!(
        (status, out["error"]["details"]["errcode"].clone()),
        (400, json!(40003)),
        "{out}"
    );
    assert!(w.fake.contact_ways(c).is_empty());
    let (_, list) = admin_call(&api, get_request("/v1/growth/channel-codes", &t.bearer())).await;
    assert_eq!(list["items"], json!([]));
    // An edit carrying a field no code has is refused too, and changes nothing.
    let made = create_code(&w, &t, "g", 1).await;
    let state = made["state"].as_str().unwrap().to_string();
    let mut edit = code_body(1);
    edit["version"] = made["version"].clone();
    edit["name"] = json!("改名");
    edit["colour"] = json!("red");
    let (status, out) = admin_call(
        &api,
        json_request(
            "PUT",
            &format!("/v1/growth/channel-codes/{state}"),
            &t.bearer(),
            &edit,
        ),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (400, json!("validation_failed")),
        "{out}"
    );
    let (_, now) = admin_call(
        &api,
        get_request(&format!("/v1/growth/channel-codes/{state}"), &t.bearer()),
    )
    .await;
    assert_eq!(
        (now["name"].clone(), now["version"].clone()),
        (made["name"].clone(), made["version"].clone())
    );
    // A default welcome over WeCom's limits.
    let (status, _) = admin_call(
        &api,
        json_request(
            "PUT",
            "/v1/growth/default-welcome",
            &t.bearer(),
            &json!({ "welcome": { "text": "{nickname}" } }),
        ),
    )
    .await;
    assert_eq!(status, 400);
    let (_, dw) = admin_call(&api, get_request("/v1/growth/default-welcome", &t.bearer())).await;
    assert_eq!(dw["welcome"], Value::Null);
    // A viewer reads but cannot write.
    let viewer = key_with_role(&w.db, t.id(), scrm_core::tenants::Role::Viewer).await;
    let bearer = format!("Bearer {}", viewer.reveal());
    let (status, _) = admin_call(&api, get_request("/v1/growth/channel-codes", &bearer)).await;
    assert_eq!(status, 200);
    let mut req = json_request("POST", "/v1/growth/channel-codes", &bearer, &code_body(1));
    req.headers_mut()
        .insert("idempotency-key", "v".parse().unwrap());
    assert_eq!(admin_call(&api, req).await.0, 403);
}

/// The write budget of an add through a code (issue 13), counted by the meter: the
/// welcome's outcome (one small update), the figures with the add's record (one
/// transaction of two small items: 4 units), and nothing more unless the rota's choice
/// changes (the code item and its listing entry). A re-delivery writes nothing.
#[tokio::test]
async fn an_add_takes_two_writes_and_a_redelivery_none() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let code = create_code(&w, &t, "metered", 100).await;
    let state = code["state"].as_str().unwrap().to_string();
    let meter = scrm_tests::meter::Meter::new(w.db.tables.clone());
    let metered = scrm_adapters::dynamo::Db::new(meter.client(&w.db.client), w.db.tables.clone());
    let consumer = GrowthOnEvent {
        store: DynamoGrowth::new(metered),
        ..consumer(&w)
    };
    let scan = w.fake.scan_contact_way(c, &state, "wmdan", "Dan").unwrap();
    let events = deliver_callback(&w, &t, &scan.xml).await;
    meter.take();
    let h = handled(apply(&consumer, &events[0]).await.unwrap());
    assert_eq!(
        (h.welcome, h.counted, h.on_duty),
        (Some(WelcomeOutcome::Sent), true, None)
    );
    let mut add = meter.take();
    meter.resolve(&mut add, &w.db.client).await.unwrap();
    assert_eq!((add.requests, add.failed), (2, 0), "{add:?}");
    assert!(add.units <= 5.0, "{add:?}");
    assert!(
        add.by_partition.values().all(|u| *u <= 4.0),
        "no partition takes more than the figures' transaction: {add:?}"
    );
    apply(&consumer, &events[0]).await.unwrap();
    let again = meter.take();
    assert_eq!((again.requests, again.units), (0, 0.0), "{again:?}");
}

/// An image material: created, its file put through the presigned URL, completed.
async fn image_material(w: &World, t: &TestTenant) -> String {
    // A 1×1 PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
        0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let body = json!({
        "kind": "image",
        "title": "新人海报",
        "file": {"name": "poster.png", "content_type": "image/png", "size": PNG.len()}
    });
    let mut req = json_request("POST", "/v1/content/materials", &t.bearer(), &body);
    req.headers_mut()
        .insert("idempotency-key", "poster-image".parse().expect("header"));
    let (status, created) = admin_call(&admin(w), req).await;
    assert_eq!(status, 201, "{created}");
    let id = created["material_id"].as_str().expect("id").to_string();
    let put = reqwest::Client::new()
        .put(created["upload"]["url"].as_str().expect("upload url"))
        .header("content-type", "image/png")
        .body(PNG.to_vec())
        .send()
        .await
        .expect("PUT to the local S3 server");
    assert!(put.status().is_success(), "{}", put.status());
    let path = format!("/v1/content/materials/{id}/complete");
    let (status, done) = admin_call(
        &admin(w),
        json_request("POST", &path, &t.bearer(), &json!({})),
    )
    .await;
    assert_eq!(
        (status, done["status"].clone()),
        (200, json!("ready")),
        "{done}"
    );
    id
}

/// A welcome referring to the content center: an image material (sent by its permanent
/// picture URL), a text material (its text joins the welcome's), a link marked `track`
/// (sent as the code's short link for that customer) and a group code's invitation (its QR
/// uploaded to WeCom once, when the code is saved).
#[tokio::test]
async fn a_welcome_sends_its_materials_a_tracked_link_and_the_group_invite() {
    use scrm_core::content::MediaResolver;
    use scrm_core::links::StoreTracker;
    const LINKS: &str = "https://l.example.test";
    ensure_content_bucket().await;
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let image = image_material(&w, &t).await;
    let mut req = json_request(
        "POST",
        "/v1/content/materials",
        &t.bearer(),
        &json!({"kind": "text", "title": "会员日", "text": "每周三会员日，积分双倍。"}),
    );
    req.headers_mut()
        .insert("idempotency-key", "member-day".parse().expect("header"));
    let (status, text) = admin_call(&admin(&w), req).await;
    assert_eq!(
        (status, text["status"].clone()),
        (201, json!("ready")),
        "{text}"
    );
    let text_id = text["material_id"].as_str().unwrap().to_string();

    crate::growth_group::group(&w, &t, "wrinvite1", 10).await;
    let (status, group_code) = admin_call(&admin(&w), {
        let body = json!({ "name": "新人福利群", "chat_ids": ["wrinvite1"] });
        let mut req = json_request("POST", "/v1/growth/group-codes", &t.bearer(), &body);
        req.headers_mut()
            .insert("idempotency-key", "invite-group".parse().expect("header"));
        req
    })
    .await;
    assert_eq!(status, 201, "{group_code}");
    let invite = group_code["state"].as_str().unwrap().to_string();

    let mut body = code_body(10);
    body["welcome"]["attachments"] = json!([
        { "type": "material", "material_id": image },
        { "type": "link", "title": "会员中心", "url": "https://shop.example.com/member", "track": true },
        { "type": "material", "material_id": text_id }
    ]);
    body["group_invite"] = json!(invite);
    let (status, code) = admin_call(&admin(&w), create_request(&t, "rich-welcome", &body)).await;
    assert_eq!(status, 201, "{code}");
    let state = code["state"].as_str().unwrap().to_string();
    let invite_pic = code["invite_pic_url"]
        .as_str()
        .expect("invite picture")
        .to_string();
    assert!(invite_pic.contains("/_fake/pic/"), "{invite_pic}");
    assert_eq!(w.fake.calls(paths::MEDIA_UPLOADIMG), 1);
    // Both materials count the code as a user.
    let (_, got) = admin_call(
        &admin(&w),
        get_request(&format!("/v1/content/materials/{image}"), &t.bearer()),
    )
    .await;
    assert_eq!(got["usage"]["welcomes"], 1, "{got}");

    let consumer = Consumer {
        materials: Arc::new(MediaResolver {
            store: scrm_adapters::dynamo::DynamoContent::new(w.db.clone()),
            objects: content_objects().expect("local S3"),
            uploader: w.client.clone(),
        }),
        links: Arc::new(StoreTracker {
            store: DynamoGrowth::new(w.db.clone()),
            base: LINKS.into(),
        }),
        ..consumer(&w)
    };
    let scan = w
        .fake
        .scan_contact_way(c, &state, "wmrich", "Rich")
        .unwrap();
    let events = deliver_callback(&w, &t, &scan.xml).await;
    let h = handled(apply(&consumer, &events[0]).await.unwrap());
    assert_eq!(h.welcome, Some(WelcomeOutcome::Sent));

    let sent = w.fake.welcome_messages(c);
    assert_eq!(sent.len(), 1);
    let text = sent[0]["text"]["content"].as_str().unwrap();
    assert!(text.starts_with("Rich您好"), "{text}");
    assert!(text.ends_with("每周三会员日，积分双倍。"), "{text}");
    let attachments = sent[0]["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 3, "{attachments:?}");
    // The image material by its permanent URL (uploaded once, now: two uploads in all).
    assert_eq!(attachments[0]["msgtype"], "image");
    let pic = attachments[0]["image"]["pic_url"].as_str().unwrap();
    assert!(pic.contains("/_fake/pic/"), "{pic}");
    assert_ne!(pic, invite_pic);
    // The tracked link: the code's short link for this customer.
    assert_eq!(attachments[1]["msgtype"], "link");
    let short = attachments[1]["link"]["url"].as_str().unwrap();
    assert!(short.starts_with(&format!("{LINKS}/l/")), "{short}");
    // The group invitation last.
    assert_eq!(attachments[2]["image"]["pic_url"], invite_pic.as_str());

    // The link is listed with its welcome context.
    let (status, links) = admin_call(&admin(&w), get_request("/v1/links", &t.bearer())).await;
    assert_eq!(status, 200, "{links}");
    assert_eq!(links["items"][0]["url"], "https://shop.example.com/member");

    // A redelivery sends nothing again.
    let h = handled(apply(&consumer, &events[0]).await.unwrap());
    assert_eq!(h, Handled::default());
    assert_eq!(w.fake.calls(paths::SEND_WELCOME_MSG), 1);
}
