//! Tracked links, end to end on DynamoDB Local and the fake WeCom server: a link created
//! through the admin API (idempotent), a staff member's own code minted, clicks through the
//! `link-redirect` handler (302 to the target, counted per link, staff and day), an
//! identified click publishing `CustomerInteracted`, the `link-notify` consumer telling the
//! staff member once per window (clicks coalesced, a redelivery sending nothing, the flush
//! sending what waited, WeCom's 30-a-minute limit never reached), and bad input.
use crate::directory::{admin_call, test_now, world, World};
use crate::growth::admin;
use link_notify_fn::{apply, run_flush, LinkNotify};
use link_redirect_fn::{handle as redirect, CodeCache, LinkRedirect};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoGrowth, DynamoTenants};
use scrm_adapters::wecom::fake::FakeStaff;
use scrm_adapters::wecom::WeComClient;
use scrm_core::events::{DomainEvent, EventEnvelope, RecordingPublisher};
use scrm_core::links::notify::{NotifyOutcome, Sent};
use scrm_core::tokens::{issue, Claims, TokenKind};
use scrm_tests::*;
use serde_json::{json, Value};
use std::sync::Arc;

type Redirect = LinkRedirect<DynamoGrowth, Arc<RecordingPublisher>>;
type Notify = LinkNotify<DynamoGrowth, WeComClient, DynamoDirectory, DynamoTenants>;

fn redirector(w: &World) -> Redirect {
    LinkRedirect {
        store: DynamoGrowth::new(w.db.clone()),
        publisher: w.recorder.clone(),
        signing_keys: Some(signing_keys()),
        clock: w.clock.clone(),
        cache: CodeCache::default(),
    }
}

fn notifier(w: &World) -> Notify {
    LinkNotify {
        store: DynamoGrowth::new(w.db.clone()),
        messenger: w.client.clone(),
        facts: DynamoDirectory::new(w.db.clone()),
        tenants: DynamoTenants::new(w.db.clone()),
        clock: w.clock.clone(),
    }
}

async fn setup(w: &World) -> TestTenant {
    let t = tenant(&w.db).await;
    let corp = t.id().as_str();
    w.fake.set_now(test_now().timestamp());
    w.fake.add_app(corp, "app-secret", Some(1000002));
    w.fake
        .add_staff(corp, FakeStaff::active("zhangsan", "张三"));
    t
}

fn create(t: &TestTenant, key: Option<&str>, body: &Value) -> lambda_http::Request {
    let mut req = json_request("POST", "/v1/links", &t.bearer(), body);
    if let Some(key) = key {
        req.headers_mut()
            .insert("idempotency-key", key.parse().expect("header"));
    }
    req
}

fn customer_token(t: &TestTenant, customer: &str) -> String {
    issue(
        &signing_keys(),
        &Claims {
            tenant: t.id().as_str().to_string(),
            subject: customer.to_string(),
            kind: TokenKind::Customer,
            expires_at: test_now().timestamp() + 3600,
        },
    )
}

/// Follows a short path through the redirect: status and `Location`.
async fn click(r: &Redirect, path: &str) -> (u16, Option<String>) {
    let resp = redirect(r, request("GET", path, &[], None)).await.unwrap();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (resp.status().as_u16(), location)
}

fn clicks_of(recorder: &RecordingPublisher) -> Vec<EventEnvelope> {
    recorder
        .take()
        .into_iter()
        .filter(|e| matches!(e.event, DomainEvent::CustomerInteracted { .. }))
        .collect()
}

#[tokio::test]
async fn a_link_redirects_counts_per_link_and_staff_and_tells_the_sender_once_a_window() {
    let w = world().await;
    let t = setup(&w).await;
    let corp = t.id().as_str().to_string();
    let api = admin(&w);
    let target = "https://shop.example.com/sale?utm=scrm";

    // Created once; a retry answers the same link and short path.
    let body = json!({ "url": target, "title": "双十二大促" });
    let (status, link) = admin_call(&api, create(&t, Some("link-1"), &body)).await;
    assert_eq!(status, 201, "{link}");
    let path = link["path"].as_str().unwrap().to_string();
    assert!(path.starts_with("/l/") && path.len() == 13, "{path}");
    let (status, again) = admin_call(&api, create(&t, Some("link-1"), &body)).await;
    assert_eq!((status, &again["path"]), (200, &link["path"]), "{again}");
    let other = json!({ "url": "https://shop.example.com/other" });
    let (status, refused) = admin_call(&api, create(&t, Some("link-1"), &other)).await;
    assert_eq!(status, 409, "{refused}");

    // zhangsan's own code of the link: another code, its clicks his.
    let link_id = link["link_id"].as_str().unwrap();
    let (status, mine) = admin_call(
        &api,
        json_request(
            "POST",
            &format!("/v1/links/{link_id}/codes"),
            &t.bearer(),
            &json!({ "staff": "zhangsan" }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{mine}");
    let staff_path = mine["path"].as_str().unwrap().to_string();
    assert_ne!(staff_path, path);

    // An anonymous click: counted, no event. An identified one: counted and published.
    let r = redirector(&w);
    assert_eq!(click(&r, &path).await, (302, Some(target.to_string())));
    assert!(clicks_of(&w.recorder).is_empty());
    let token = customer_token(&t, "wmCustomerA");
    assert_eq!(
        click(&r, &format!("{staff_path}?ct={token}")).await,
        (302, Some(target.to_string()))
    );
    let events = clicks_of(&w.recorder);
    assert_eq!(events.len(), 1, "{events:?}");
    let DomainEvent::CustomerInteracted {
        external_userid,
        userid,
        link: Some(clicked),
        ..
    } = &events[0].event
    else {
        panic!("{events:?}")
    };
    assert_eq!(external_userid, "wmCustomerA");
    assert_eq!(userid.as_deref(), Some("zhangsan"));
    assert_eq!(clicked.link_id, link_id);
    // Another tenant's token identifies nobody here.
    let stranger = setup(&w).await;
    let foreign = customer_token(&stranger, "wmCustomerA");
    assert_eq!(click(&r, &format!("{path}?ct={foreign}")).await.0, 302);
    assert!(clicks_of(&w.recorder).is_empty());

    // Counted per link, per staff member and day.
    let (status, figures) = admin_call(
        &api,
        get_request(
            "/v1/links/figures?from=2026-03-02&to=2026-03-02",
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{figures}");
    assert_eq!(
        figures["total"],
        json!({ "clicks": 3, "identified": 1 }),
        "{figures}"
    );
    assert_eq!(figures["by_link"][0]["key"], link_id);
    assert_eq!(
        figures["by_staff"],
        json!([{ "key": "zhangsan", "clicks": 1, "identified": 1 }])
    );
    assert_eq!(figures["by_day"][0]["clicks"], 3);
    let (status, list) = admin_call(
        &api,
        get_request("/v1/links?from=2026-03-01&to=2026-03-02", &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["clicks"], 3, "{list}");

    // The sender is told at once; the redelivered event sends nothing twice.
    let n = notifier(&w);
    let first = apply(&n, &events[0]).await.unwrap();
    assert_eq!(first, NotifyOutcome::Noted(Sent::Message(1)));
    assert_eq!(
        apply(&n, &events[0]).await.unwrap(),
        NotifyOutcome::Duplicate
    );
    let messages = w.fake.delivered_app_messages(&corp);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["touser"], "zhangsan");
    assert!(messages[0]["text"]["content"]
        .as_str()
        .unwrap()
        .contains("双十二大促"));

    // Forty more clicks within the minute wait for the window, however often flushed.
    for i in 0..40 {
        let token = customer_token(&t, &format!("wmBurst{i}"));
        assert_eq!(click(&r, &format!("{staff_path}?ct={token}")).await.0, 302);
    }
    let burst = clicks_of(&w.recorder);
    assert_eq!(burst.len(), 40);
    for e in &burst {
        assert_eq!(
            apply(&n, e).await.unwrap(),
            NotifyOutcome::Noted(Sent::Waiting)
        );
    }
    assert_eq!(run_flush(&n).await.unwrap().messages, 0);
    assert_eq!(w.fake.delivered_app_messages(&corp).len(), 1);

    // The window over, one message lists them all; nothing is left to flush after it.
    w.clock.advance(chrono::Duration::seconds(61));
    let report = run_flush(&n).await.unwrap();
    assert_eq!((report.messages, report.clicks), (1, 40), "{report:?}");
    let messages = w.fake.delivered_app_messages(&corp);
    assert_eq!(messages.len(), 2);
    assert!(messages[1]["text"]["content"]
        .as_str()
        .unwrap()
        .contains("40 次"));
    w.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(run_flush(&n).await.unwrap().messages, 0);
    for e in &burst {
        assert_eq!(apply(&n, e).await.unwrap(), NotifyOutcome::Duplicate);
    }
    assert_eq!(w.fake.delivered_app_messages(&corp).len(), 2);
    assert!(w.fake.dropped_app_messages(&corp).is_empty());
}

#[tokio::test]
async fn bad_links_and_unknown_codes_are_refused_without_writing() {
    let w = world().await;
    let t = setup(&w).await;
    let api = admin(&w);
    let long = format!("https://example.com/{}", "a".repeat(2100));
    for (body, key) in [
        (json!({ "url": "javascript:alert(1)" }), Some("k1")),
        (json!({ "url": "ftp://example.com/file" }), Some("k2")),
        (json!({ "url": long }), Some("k3")),
        (
            json!({ "url": "https://example.com", "title": "" }),
            Some("k4"),
        ),
        (
            json!({ "url": "https://example.com", "extra": 1 }),
            Some("k5"),
        ),
        (json!({ "url": "https://example.com" }), None),
    ] {
        let (status, answer) = admin_call(&api, create(&t, key, &body)).await;
        assert_eq!(status, 400, "{body} {answer}");
        assert!(answer["error"]["code"].is_string(), "{answer}");
    }
    let (status, list) = admin_call(&api, get_request("/v1/links", &t.bearer())).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"], json!([]));
    let (status, _) = admin_call(
        &api,
        get_request(
            "/v1/links/figures?from=2026-03-02&to=2026-01-01",
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = admin_call(
        &api,
        json_request(
            "POST",
            "/v1/links/lk0000000000000000/codes",
            &t.bearer(),
            &json!({ "staff": "zhangsan" }),
        ),
    )
    .await;
    assert_eq!(status, 404);

    let r = redirector(&w);
    for path in [
        "/l/AAAAAAAAAA",
        "/l/short",
        "/l/../../etc",
        "/",
        "/l/AAAAAAAAAA/extra",
    ] {
        let resp = redirect(&r, request("GET", path, &[], None)).await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
        assert!(resp.headers().get("location").is_none());
    }
    let resp = redirect(&r, request("POST", "/l/AAAAAAAAAA", &[], None))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert!(w.recorder.take().is_empty());
}
