//! Smart forms end to end on DynamoDB Local and the fake WeCom server: an operator defines
//! and publishes a form through the admin API; a customer reads and submits it through the
//! customer API with their token; the published `FormSubmitted` goes through the
//! `growth-on-event` handler, which tags and remarks the customer on each of their
//! relations at WeCom; the profile fields the form fills are saved and the tenant's
//! profile points paid once. Retried submits change nothing, refused answers write
//! nothing, and the submissions export as CSV, paged over thousands of rows.
use crate::directory::{admin_call, world, World};
use customer_api_fn::forms::Forms;
use customer_api_fn::CustomerApi;
use growth_on_event_fn::{apply_form, GrowthOnEvent};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoGrowth, DynamoPoints, DynamoTenants};
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::wecom::fake::*;
use scrm_adapters::wecom::WeComClient;
use scrm_core::clock::Clock;
use scrm_core::contacts::{DirectoryWrite, FollowWrite, RelationStatus};
use scrm_core::events::{DomainEvent, EventEnvelope};
use scrm_core::forms::effects::FormEffects;
use scrm_core::forms::{FormStore, Submission};
use scrm_core::points::ports::HistoryRead;
use scrm_core::points::{Account, CustomerId};
use scrm_core::tenants::Role;
use scrm_core::tokens::{self, Claims, TokenKind};
use scrm_core::wecom::api::{paths, CorpCredentials};
use scrm_tests::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

const ALICE: &str = "wmalice";

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

fn customer_api(w: &World) -> Arc<CustomerApi> {
    Arc::new(CustomerApi {
        points: DynamoPoints::new(w.db.clone()),
        directory: DynamoDirectory::new(w.db.clone()),
        tenants: DynamoTenants::new(w.db.clone()),
        clock: w.clock.clone(),
        signing_key: signing_keys(),
        official: None,
        forms: Forms {
            store: DynamoGrowth::new(w.db.clone()),
            publisher: AnyPublisher::Recording(w.recorder.clone()),
        },
        fission: None,
    })
}

/// A tenant whose corp knows the form's tags, and Alice followed by two members, mirrored
/// into the directory as callbacks would leave it.
async fn corp_with_alice(w: &World) -> TestTenant {
    let t = crate::growth::corp(w).await;
    let corp = t.id().as_str();
    w.fake.add_tag_group(
        corp,
        FakeTagGroup::new(
            "etgrouppref",
            "偏好",
            &[
                ("ettea", "茶"),
                ("etcoffee", "咖啡"),
                ("etsh", "上海"),
                ("etbj", "北京"),
            ],
        ),
    );
    w.fake.add_customer(
        corp,
        FakeCustomer::new(ALICE, "Alice")
            .followed_by(FakeFollow::new("zhangsan"))
            .followed_by(FakeFollow::new("lisi")),
    );
    let dir = DynamoDirectory::new(w.db.clone());
    let creds = CorpCredentials::new(corp, "contact-secret", None);
    let detail = w
        .client
        .get_external_contact_all(&creds, ALICE)
        .await
        .expect("customer");
    let at = w.clock.now().timestamp();
    dir.put_customer_detail(t.id(), &detail.external_contact, at)
        .await
        .unwrap();
    for f in &detail.follow_user {
        let write = FollowWrite::from_follow_user(f, RelationStatus::Active);
        dir.put_follow(t.id(), ALICE, &f.userid, &write, at)
            .await
            .unwrap();
    }
    let (status, out) = admin_call(
        &crate::growth::admin(w),
        json_request(
            "PUT",
            "/v1/points/rules",
            &t.bearer(),
            &json!({ "profile": { "enabled": true, "points": 30, "fields": ["name", "mobile"] } }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    t
}

fn form_body() -> Value {
    json!({
        "title": "到店调查",
        "description": "填写即送积分",
        "fields": [
            { "id": "name", "label": "姓名", "kind": "short_text", "required": true, "profile_field": "name" },
            { "id": "phone", "label": "手机", "kind": "mobile", "required": true, "profile_field": "mobile" },
            { "id": "visits", "label": "到店次数", "kind": "number", "min": 0, "max": 100 },
            { "id": "like", "label": "偏好", "kind": "multiple_choice", "min": 1, "max": 2, "options": [
                { "value": "tea", "label": "茶", "tag_id": "ettea" },
                { "value": "coffee", "label": "咖啡", "tag_id": "etcoffee" }
            ]},
            { "id": "city", "label": "城市", "kind": "single_choice", "required": true, "options": [
                { "value": "sh", "label": "上海", "tag_id": "etsh" },
                { "value": "bj", "label": "北京", "tag_id": "etbj" }
            ]},
            { "id": "note", "label": "备注, \"说明\"", "kind": "long_text", "max_length": 200 }
        ],
        "remark_template": "{city}-{name}"
    })
}

async fn admin_req(w: &World, _t: &TestTenant, req: lambda_http::Request) -> (u16, Value) {
    admin_call(&crate::growth::admin(w), req).await
}

fn with_key(mut req: lambda_http::Request, key: &str) -> lambda_http::Request {
    req.headers_mut()
        .insert("idempotency-key", key.parse().expect("header"));
    req
}

fn token(t: &TestTenant, w: &World, ext: &str) -> String {
    format!(
        "Bearer {}",
        tokens::issue(
            &signing_keys(),
            &Claims {
                tenant: t.id().to_string(),
                subject: ext.to_string(),
                kind: TokenKind::Customer,
                expires_at: (w.clock.now() + chrono::Duration::hours(1)).timestamp(),
            },
        )
    )
}

async fn customer_call(api: &Arc<CustomerApi>, req: lambda_http::Request) -> (u16, Value) {
    let resp = customer_api_fn::handle(api, req).await.unwrap();
    response_json(&resp)
}

async fn submit(
    api: &Arc<CustomerApi>,
    bearer: &str,
    form_id: &str,
    key: Option<&str>,
    answers: Value,
) -> (u16, Value) {
    let req = json_request(
        "POST",
        &format!("/v1/forms/{form_id}/submissions"),
        bearer,
        &json!({ "answers": answers }),
    );
    let req = match key {
        Some(k) => with_key(req, k),
        None => req,
    };
    customer_call(api, req).await
}

async fn balance(w: &World, t: &TestTenant, ext: &str) -> (i64, i64) {
    let acct = Account::new(t.id().clone(), CustomerId::parse(ext).unwrap());
    let (bal, _, _) = DynamoPoints::new(w.db.clone())
        .summary(&acct)
        .await
        .unwrap();
    (bal.balance, bal.entries)
}

fn follow(w: &World, t: &TestTenant, userid: &str) -> FakeFollow {
    w.fake
        .customer(t.id().as_str(), ALICE)
        .unwrap()
        .follows
        .into_iter()
        .find(|f| f.userid == userid)
        .unwrap()
}

fn form_events(w: &World) -> Vec<EventEnvelope> {
    w.recorder
        .take()
        .into_iter()
        .filter(|e| matches!(e.event, DomainEvent::FormSubmitted { .. }))
        .collect()
}

async fn effects(w: &World, e: &EventEnvelope) -> FormEffects {
    apply_form(&consumer(w), e)
        .await
        .unwrap()
        .expect("a form event")
}

async fn create_published(w: &World, t: &TestTenant, key: &str, body: &Value) -> String {
    let (status, form) = admin_req(
        w,
        t,
        with_key(
            json_request("POST", "/v1/growth/forms", &t.bearer(), body),
            key,
        ),
    )
    .await;
    assert_eq!(status, 201, "{form}");
    let id = form["form_id"].as_str().unwrap().to_string();
    let (status, out) = admin_req(
        w,
        t,
        json_request(
            "POST",
            &format!("/v1/growth/forms/{id}/status"),
            &t.bearer(),
            &json!({ "version": 1, "status": "published" }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    id
}

#[tokio::test]
async fn a_submitted_form_tags_remarks_fills_the_profile_and_pays_once() {
    let w = world().await;
    let t = corp_with_alice(&w).await;
    let api = customer_api(&w);
    let alice = token(&t, &w, ALICE);

    // Created as a draft, idempotently; the same key with another body is refused.
    let create = |body: &Value| {
        with_key(
            json_request("POST", "/v1/growth/forms", &t.bearer(), body),
            "survey-1",
        )
    };
    let (status, form) = admin_req(&w, &t, create(&form_body())).await;
    assert_eq!(status, 201, "{form}");
    assert_eq!(form["status"], "draft");
    let id = form["form_id"].as_str().unwrap().to_string();
    let (status, again) = admin_req(&w, &t, create(&form_body())).await;
    assert_eq!((status, again["form_id"].clone()), (200, json!(id)));
    let mut other = form_body();
    other["title"] = json!("另一个");
    let (status, out) = admin_req(&w, &t, create(&other)).await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (409, json!("idempotency_key_reused"))
    );

    // A draft is nobody's business but the operators'.
    let path = format!("/v1/forms/{id}");
    let (status, _) = customer_call(&api, get_request(&path, &alice)).await;
    assert_eq!(status, 404);
    let (status, out) = submit(&api, &alice, &id, Some("s-0"), json!({})).await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (404, json!("not_found"))
    );

    let (status, out) = admin_req(
        &w,
        &t,
        json_request(
            "POST",
            &format!("/v1/growth/forms/{id}/status"),
            &t.bearer(),
            &json!({ "version": 1, "status": "published" }),
        ),
    )
    .await;
    assert_eq!(
        (status, out["status"].clone(), out["version"].clone()),
        (200, json!("published"), json!(2))
    );

    // The customer sees the fields, not the tags behind the options.
    let (status, seen) = customer_call(&api, get_request(&path, &alice)).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(
        seen["form"]["fields"][3]["options"][0],
        json!({ "value": "tea", "label": "茶" })
    );
    assert!(seen["form"].get("remark_template").is_none(), "{seen}");
    assert_eq!(seen["submission"], Value::Null);

    // Refused answers write nothing: no submission, no event, no profile, no points.
    let (status, out) = submit(&api, &alice, &id, None, json!({ "name": "王小明" })).await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (400, json!("idempotency_key_required"))
    );
    let (status, out) = submit(
        &api,
        &alice,
        &id,
        Some("s-bad"),
        json!({ "name": "王小明", "phone": "1234", "visits": 101, "like": ["tea", "milk"], "nope": 1 }),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (400, json!("invalid_answers")),
        "{out}"
    );
    let problems: Vec<(String, String)> = out["error"]["details"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap().into(),
                p["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("nope", "unknown_field"),
        ("phone", "not_a_mobile"),
        ("visits", "above_max"),
        ("like", "not_an_option"),
        ("city", "required"),
    ] {
        assert!(
            problems.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {problems:?}"
        );
    }
    assert!(form_events(&w).is_empty());
    assert_eq!(balance(&w, &t, ALICE).await, (0, 0));
    let (status, subs) = admin_req(
        &w,
        &t,
        get_request(&format!("/v1/growth/forms/{id}/submissions"), &t.bearer()),
    )
    .await;
    assert_eq!((status, subs["items"].clone()), (200, json!([])));
    let (_, listed) = admin_req(&w, &t, get_request("/v1/growth/forms", &t.bearer())).await;
    assert_eq!(listed["items"][0]["submissions"], 0);

    // A good submit: saved, the profile filled and its points paid, the event published.
    let answers = json!({
        "name": " 王小明 ", "phone": "13800138000", "visits": 3,
        "like": ["tea"], "city": "sh", "note": "周末, \"下午\"\n来"
    });
    let (status, out) = submit(&api, &alice, &id, Some("s-1"), answers.clone()).await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(out["replayed"], false);
    assert_eq!(out["submission"]["version"], 1);
    assert_eq!(out["submission"]["answers"]["name"], "王小明");
    assert_eq!(out["profile"]["complete"], true);
    assert_eq!(out["profile"]["profile"]["mobile"], "13800138000");
    assert_eq!(balance(&w, &t, ALICE).await, (30, 1));
    let events = form_events(&w);
    assert_eq!(events.len(), 1);

    // growth-on-event: both relations tagged and remarked at WeCom.
    let fx = effects(&w, &events[0]).await;
    assert_eq!(
        (fx.tagged, fx.remarked, fx.refused, fx.skipped),
        (2, 2, 0, None)
    );
    for member in ["zhangsan", "lisi"] {
        let f = follow(&w, &t, member);
        let mut tags = f.tag_ids.clone();
        tags.sort();
        assert_eq!(tags, ["etsh", "ettea"], "{member}");
        assert_eq!(f.remark, "上海-王小明", "{member}");
    }
    let marks = w.fake.calls(paths::MARK_TAG);

    // The retried submit (a lost answer) answers the first and changes nothing; the
    // redelivered event sets the same state again.
    let (status, out) = submit(&api, &alice, &id, Some("s-1"), answers.clone()).await;
    assert_eq!(
        (status, out["replayed"].clone()),
        (200, json!(true)),
        "{out}"
    );
    assert_eq!(out["submission"]["version"], 1);
    assert_eq!(balance(&w, &t, ALICE).await, (30, 1));
    let replayed = form_events(&w);
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].event_id, events[0].event_id);
    effects(&w, &replayed[0]).await;
    assert_eq!(w.fake.calls(paths::MARK_TAG), marks + 2);
    let mut tags = follow(&w, &t, "zhangsan").tag_ids;
    tags.sort();
    assert_eq!(tags, ["etsh", "ettea"]);
    // The same key with other answers is refused.
    let mut changed = answers.clone();
    changed["visits"] = json!(4);
    let (status, out) = submit(&api, &alice, &id, Some("s-1"), changed).await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (409, json!("idempotency_key_reused"))
    );

    // A later submit replaces the answers: the tags move, no points are paid twice, and
    // the first submit's event, redelivered late, is superseded.
    let (status, out) = submit(
        &api,
        &alice,
        &id,
        Some("s-2"),
        json!({ "name": "王小明", "phone": "13800138000", "like": ["coffee"], "city": "bj" }),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(out["submission"]["version"], 2);
    assert_eq!(balance(&w, &t, ALICE).await, (30, 1));
    let later = form_events(&w);
    assert_eq!(effects(&w, &events[0]).await.skipped, Some("superseded"));
    assert_eq!(effects(&w, &later[0]).await.tagged, 2);
    let f = follow(&w, &t, "lisi");
    let mut tags = f.tag_ids.clone();
    tags.sort();
    assert_eq!(tags, ["etbj", "etcoffee"]);
    assert_eq!(f.remark, "北京-王小明");

    // The operators' view: one submission (the latest), counted once, and its CSV.
    let (status, subs) = admin_req(
        &w,
        &t,
        get_request(&format!("/v1/growth/forms/{id}/submissions"), &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{subs}");
    assert_eq!(subs["items"].as_array().unwrap().len(), 1);
    assert_eq!(subs["items"][0]["version"], 2);
    let (_, listed) = admin_req(&w, &t, get_request("/v1/growth/forms", &t.bearer())).await;
    assert_eq!(listed["items"][0]["submissions"], 1);
    let viewer = key_with_role(&w.db, t.id(), Role::Viewer).await;
    let (status, out) = admin_req(
        &w,
        &t,
        get_request(
            &format!("/v1/growth/forms/{id}/submissions"),
            &format!("Bearer {}", viewer.reveal()),
        ),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (403, json!("forbidden"))
    );

    let (status, out) = submit(
        &api,
        &alice,
        &id,
        Some("s-3"),
        json!({ "name": "王小明", "phone": "13800138000", "like": ["tea"], "city": "sh", "note": "周末, \"下午\"\n来" }),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    let resp = crate_export(&w, &t, &id, "").await;
    assert_eq!(resp.0, 200);
    assert_eq!(
        resp.1.get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let csv = resp.2;
    assert!(csv.starts_with('\u{feff}'), "BOM first");
    assert!(!csv[3..].starts_with('\u{feff}'), "one BOM");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(
        lines[0],
        "external_userid,submitted_at,first_submitted_at,version,姓名,手机,到店次数,偏好,城市,\"备注, \"\"说明\"\"\""
    );
    assert!(
        lines[1].starts_with(&format!(
            "{ALICE},2026-03-02T09:30:00Z,2026-03-02T09:30:00Z,3,王小明,13800138000,,茶,上海,"
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with(",\"周末, \"\"下午\"\"\n来\""),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len(), 3, "header, one row, and the last CRLF");

    // Closed: no more answers; a form that was published is closed, not deleted.
    let (status, _) = admin_req(
        &w,
        &t,
        json_request(
            "POST",
            &format!("/v1/growth/forms/{id}/status"),
            &t.bearer(),
            &json!({ "version": 2, "status": "closed" }),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (status, out) = submit(&api, &alice, &id, Some("s-4"), json!({})).await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (409, json!("form_closed"))
    );
    let (status, out) = admin_req(
        &w,
        &t,
        request(
            "DELETE",
            &format!("/v1/growth/forms/{id}"),
            &[("authorization", &t.bearer())],
            None,
        ),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (409, json!("form_not_draft"))
    );
    let (status, draft) = admin_req(
        &w,
        &t,
        with_key(
            json_request("POST", "/v1/growth/forms", &t.bearer(), &form_body()),
            "survey-2",
        ),
    )
    .await;
    assert_eq!(status, 201);
    let draft_id = draft["form_id"].as_str().unwrap();
    let (status, _) = admin_req(
        &w,
        &t,
        request(
            "DELETE",
            &format!("/v1/growth/forms/{draft_id}"),
            &[("authorization", &t.bearer())],
            None,
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = admin_req(
        &w,
        &t,
        get_request(&format!("/v1/growth/forms/{draft_id}"), &t.bearer()),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_definitions_are_refused_with_every_problem() {
    let w = world().await;
    let t = crate::growth::corp(&w).await;
    let mut body = form_body();
    body["fields"][1]["id"] = json!("name");
    body["fields"][3]["options"] = json!([]);
    body["remark_template"] = json!("{missing}");
    let (status, out) = admin_req(
        &w,
        &t,
        with_key(
            json_request("POST", "/v1/growth/forms", &t.bearer(), &body),
            "bad-1",
        ),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (400, json!("validation_failed")),
        "{out}"
    );
    let fields: Vec<&str> = out["error"]["details"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "fields[1].id",
            "fields[3].min",
            "fields[3].options",
            "remark_template"
        ]
    );
    let mut body = form_body();
    body["unknown"] = json!(1);
    let (status, _) = admin_req(
        &w,
        &t,
        with_key(
            json_request("POST", "/v1/growth/forms", &t.bearer(), &body),
            "bad-2",
        ),
    )
    .await;
    assert_eq!(status, 400);
    let (_, listed) = admin_req(&w, &t, get_request("/v1/growth/forms", &t.bearer())).await;
    assert_eq!(listed["items"], json!([]));
}

async fn crate_export(
    w: &World,
    t: &TestTenant,
    id: &str,
    query: &str,
) -> (u16, lambda_http::http::HeaderMap, String) {
    let req = get_request(
        &format!("/v1/growth/forms/{id}/submissions/export{query}"),
        &t.bearer(),
    );
    let resp = admin_api_fn::handle(&crate::growth::admin(w), req)
        .await
        .unwrap();
    let body: &[u8] = resp.body().as_ref();
    (
        resp.status().as_u16(),
        resp.headers().clone(),
        String::from_utf8(body.to_vec()).expect("UTF-8"),
    )
}

/// Thousands of submissions export completely, newest first, over several files.
#[tokio::test]
async fn thousands_of_submissions_export_in_pages() {
    let w = world().await;
    let t = crate::growth::corp(&w).await;
    let id = create_published(&w, &t, "big-1", &form_body()).await;
    let store = DynamoGrowth::new(w.db.clone());
    const N: usize = 2100;
    let base = w.clock.now();
    let writes = (0..N).map(|i| {
        let store = store.clone();
        let id = id.clone();
        let t = t.id().clone();
        async move {
            let mut answers = BTreeMap::new();
            answers.insert(
                "name".to_string(),
                scrm_core::forms::AnswerValue::Text(format!("客户{i}")),
            );
            let at = base + chrono::Duration::seconds(i as i64);
            let sub = Submission {
                form_id: id,
                external_userid: format!("wm{i:05}"),
                answers,
                version: 1,
                idempotency_key: format!("k{i}"),
                fingerprint: String::new(),
                first_submitted_at: at,
                submitted_at: at,
            };
            assert!(store.put_submission(&t, &sub, None).await.unwrap());
        }
    });
    futures::stream::iter(writes)
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let (_, listed) = admin_req(&w, &t, get_request("/v1/growth/forms", &t.bearer())).await;
    assert_eq!(listed["items"][0]["submissions"], N);

    let mut seen = Vec::new();
    let mut query = "?limit=1000".to_string();
    let mut files = 0;
    loop {
        let (status, headers, csv) = crate_export(&w, &t, &id, &query).await;
        assert_eq!(status, 200);
        files += 1;
        let rows: Vec<&str> = csv
            .trim_start_matches('\u{feff}')
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty())
            .collect();
        assert!(rows.len() <= 1000);
        seen.extend(
            rows.iter()
                .map(|r| r.split(',').next().unwrap().to_string()),
        );
        match headers.get("x-next-cursor") {
            Some(c) => query = format!("?limit=1000&cursor={}", urlencode(c.to_str().unwrap())),
            None => break,
        }
    }
    assert_eq!(files, 3);
    assert_eq!(seen.len(), N);
    assert_eq!(seen[0], format!("wm{:05}", N - 1), "newest first");
    assert_eq!(seen[N - 1], "wm00000");
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), N);
    let (status, out) = admin_req(
        &w,
        &t,
        get_request(
            &format!("/v1/growth/forms/{id}/submissions?cursor=bogus"),
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (400, json!("validation_failed"))
    );
}

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

use futures::StreamExt;

/// Edits start from the version read; a form's life never returns to draft.
#[tokio::test]
async fn edits_and_status_changes_are_versioned() {
    let w = world().await;
    let t = crate::growth::corp(&w).await;
    let (status, form) = admin_req(
        &w,
        &t,
        with_key(
            json_request("POST", "/v1/growth/forms", &t.bearer(), &form_body()),
            "edit-1",
        ),
    )
    .await;
    assert_eq!(status, 201);
    let id = form["form_id"].as_str().unwrap().to_string();
    let path = format!("/v1/growth/forms/{id}");
    let mut edit = form_body();
    edit["title"] = json!("改过的标题");
    edit["version"] = json!(1);
    let (status, out) = admin_req(&w, &t, json_request("PUT", &path, &t.bearer(), &edit)).await;
    assert_eq!(
        (status, out["version"].clone(), out["title"].clone()),
        (200, json!(2), json!("改过的标题"))
    );
    // A second edit from the same version read: someone else's change is not overwritten.
    edit["title"] = json!("再改");
    let (status, out) = admin_req(&w, &t, json_request("PUT", &path, &t.bearer(), &edit)).await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (409, json!("version_conflict"))
    );
    let status_path = format!("{path}/status");
    let (status, out) = admin_req(
        &w,
        &t,
        json_request(
            "POST",
            &status_path,
            &t.bearer(),
            &json!({ "version": 2, "status": "draft" }),
        ),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (409, json!("bad_status_change"))
    );
    let (status, out) = admin_req(
        &w,
        &t,
        json_request(
            "POST",
            &status_path,
            &t.bearer(),
            &json!({ "version": 2, "status": "closed", "extra": 1 }),
        ),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (400, json!("validation_failed"))
    );
    let (_, read) = admin_req(&w, &t, get_request(&path, &t.bearer())).await;
    assert_eq!(
        (
            read["title"].clone(),
            read["status"].clone(),
            read["version"].clone()
        ),
        (json!("改过的标题"), json!("draft"), json!(2))
    );
}
