//! The content center: materials uploaded to the local S3 server through presigned URLs,
//! checked against WeCom's limits; a recurring SOP plan that refers to an image and a video
//! sends media WeCom accepts on day 1, day 4 and day 10 (the fake WeCom refuses media ids
//! older than three days with 40007), re-uploading the video before it expires but not on
//! every send; usage counts keep a material in use from being deleted.
use crate::sop::{run_dispatch, utc, World};
use scrm_adapters::dynamo::DynamoContent;
use scrm_core::content::MediaResolver;
use scrm_core::sop::dispatch::Dispatcher;
use scrm_core::tenants::TenantSettings;
use scrm_core::wecom::api::paths;
use scrm_tests::*;
use serde_json::{json, Value};
use std::sync::Arc;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The start of an MP4 (`ftyp` box) and some bytes: WeCom's fake checks the declared type
/// and the size.
fn mp4() -> Vec<u8> {
    let mut v = vec![
        0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm',
    ];
    v.resize(4096, 7);
    v
}

/// An admin API call with an optional Idempotency-Key.
async fn call(
    w: &World,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let api = admin_api(
        &w.db,
        scrm_adapters::events::AnyPublisher::Discard,
        w.fake.base_url(),
        w.clock.clone(),
    );
    let bearer = w.t.bearer();
    let mut req = match body {
        Some(b) => json_request(method, path, &bearer, &b),
        None => request(method, path, &[("authorization", &bearer)], None),
    };
    if let Some(k) = key {
        req.headers_mut()
            .insert("idempotency-key", k.parse().expect("header"));
    }
    response_json(&admin_api_fn::handle(&api, req).await.expect("infallible"))
}

/// Creates a file material, uploads `bytes` through its presigned URL and completes it;
/// its id.
async fn upload(
    w: &World,
    key: &str,
    kind: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> String {
    let (status, created) = call(
        w,
        "POST",
        "/v1/content/materials",
        Some(key),
        Some(json!({
            "kind": kind,
            "title": name,
            "tags": ["上新"],
            "file": {"name": name, "content_type": content_type, "size": bytes.len()}
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "pending");
    let id = created["material_id"].as_str().expect("id").to_string();
    let url = created["upload"]["url"].as_str().expect("upload url");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let put = reqwest::Client::new()
        .put(url)
        .header("content-type", content_type)
        .body(bytes.to_vec())
        .send()
        .await
        .expect("PUT to the local S3 server");
    assert!(put.status().is_success(), "{}", put.status());
    let (status, done) = call(
        w,
        "POST",
        &format!("/v1/content/materials/{id}/complete"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "ready");
    id
}

fn dispatcher(
    w: &World,
) -> Dispatcher<
    scrm_adapters::dynamo::DynamoSop,
    scrm_adapters::dynamo::DynamoDirectory,
    scrm_adapters::wecom::WeComClient,
    scrm_adapters::dynamo::DynamoTenants,
> {
    Dispatcher {
        materials: Arc::new(MediaResolver {
            store: DynamoContent::new(w.db.clone()),
            objects: content_objects().expect("local S3"),
            uploader: w.wecom.clone(),
        }),
        ..w.dispatcher()
    }
}

fn group_messages() -> TenantSettings {
    TenantSettings {
        create_wecom_group_messages: true,
        ..TenantSettings::default()
    }
}

#[tokio::test]
async fn a_daily_plan_sends_unexpired_media_on_day_1_4_and_10_without_uploading_every_day() {
    ensure_content_bucket().await;
    let w = World::new(group_messages(), "2026-02-28T12:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrCnt01", "alice").await;
    let image = upload(&w, "img-1", "image", "poster.png", "image/png", PNG).await;
    let video = upload(&w, "vid-1", "video", "intro.mp4", "video/mp4", &mp4()).await;
    let plan = w
        .plan(json!({
            "name": "每日上新",
            "kind": "group",
            "targets": {"owners": ["alice"]},
            "schedule": {"kind": "daily", "time": "09:00"},
            "content": {"text": "今日上新", "attachments": [
                {"kind": "material", "material_id": image},
                {"kind": "material", "material_id": video}
            ]}
        }))
        .await;
    // Both materials count the plan as a user.
    let (_, got) = call(
        &w,
        "GET",
        &format!("/v1/content/materials/{video}"),
        None,
        None,
    )
    .await;
    assert_eq!(got["usage"]["plans"], 1, "{got}");

    let d = dispatcher(&w);
    let mut video_ids: Vec<(u32, String)> = Vec::new();
    for day in 1..=10u32 {
        // 09:00 in Shanghai.
        w.at(&format!("2026-03-{day:02}T01:00:00Z"));
        let report = run_dispatch(&d, w.corp()).await;
        assert_eq!(
            report["sent"], 2,
            "day {day}: reminder and mass message: {report}"
        );
        assert_eq!(report["retrying"], 0, "day {day}: {report}");
        let sent = w.fake.requests(paths::ADD_MSG_TEMPLATE);
        assert_eq!(sent.len(), day as usize, "one mass message a day");
        let today = sent.last().expect("today's");
        let attachments = today["attachments"].as_array().expect("attachments");
        assert_eq!(attachments.len(), 2, "{today}");
        assert_eq!(attachments[0]["msgtype"], "image");
        // The image goes by its permanent picture URL.
        assert!(attachments[0]["image"]["pic_url"]
            .as_str()
            .is_some_and(|u| u.contains("/_fake/pic/")));
        assert_eq!(attachments[1]["msgtype"], "video");
        let media_id = attachments[1]["video"]["media_id"]
            .as_str()
            .expect("video id");
        // WeCom accepted it (no 40007), so it was younger than three days at WeCom's clock.
        let media = w.fake.media(media_id).expect("uploaded to WeCom");
        let now = utc(&format!("2026-03-{day:02}T01:00:00Z")).timestamp();
        assert!(now - media.created_at < 3 * 86_400, "day {day}");
        assert_eq!(media.kind, "video");
        video_ids.push((day, media_id.to_string()));
    }
    // Valid media on day 1, day 4 and day 10, each a different upload (day 1's had expired
    // by day 4 and day 4's by day 10).
    let on = |d: u32| video_ids.iter().find(|(x, _)| *x == d).unwrap().1.clone();
    assert_ne!(on(1), on(4));
    assert_ne!(on(4), on(10));
    // Re-uploaded before its three days, not on every send: days 1, 3, 5, 7, 9.
    assert_eq!(w.fake.calls(paths::MEDIA_UPLOAD), 5);
    assert_eq!(on(1), on(2));
    // The permanent picture URL was uploaded once.
    assert_eq!(w.fake.calls(paths::MEDIA_UPLOADIMG), 1);

    // What would have happened without the refresh: WeCom refuses day 1's id on day 4.
    w.at("2026-03-05T01:00:00Z");
    let stale = scrm_core::wecom::api::MsgTemplate {
        chat_type: scrm_core::wecom::api::ChatType::Group,
        external_userid: vec![],
        chat_id_list: vec!["wrCnt01".into()],
        sender: Some("alice".into()),
        allow_select: false,
        text: None,
        attachments: vec![scrm_core::wecom::api::Attachment::Video {
            video: scrm_core::wecom::api::MediaAttachment { media_id: on(1) },
        }],
    };
    use scrm_core::sop::SopWeCom;
    let refused = SopWeCom::add_msg_template(&w.wecom, &w.t.tenant, &stale).await;
    assert_eq!(refused.err().and_then(|e| e.errcode()), Some(40007));
    let _ = plan;
}

#[tokio::test]
async fn uploads_of_the_wrong_type_or_size_are_refused_and_nothing_is_written() {
    ensure_content_bucket().await;
    let w = World::new(TenantSettings::default(), "2026-03-01T00:00:00Z").await;
    let cases = [
        (
            "gif",
            json!({"kind": "image", "title": "a", "file": {"name": "a.gif", "content_type": "image/gif", "size": 100}}),
            "file.content_type",
        ),
        (
            "big",
            json!({"kind": "video", "title": "v", "file": {"name": "v.mp4", "content_type": "video/mp4", "size": 10 * 1024 * 1024 + 1}}),
            "file.size",
        ),
        ("nofile", json!({"kind": "file", "title": "f"}), "file"),
        (
            "pdfasimage",
            json!({"kind": "image", "title": "p", "file": {"name": "p.pdf", "content_type": "application/pdf", "size": 100}}),
            "file.content_type",
        ),
    ];
    for (key, body, field) in cases {
        let (status, answer) =
            call(&w, "POST", "/v1/content/materials", Some(key), Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "validation_failed", "{answer}");
        let problems = answer["error"]["details"]["problems"]
            .as_array()
            .expect("problems");
        assert!(problems.iter().any(|p| p["field"] == field), "{answer}");
    }
    // A create without an Idempotency-Key is refused too.
    let (status, _) = call(
        &w,
        "POST",
        "/v1/content/materials",
        None,
        Some(json!({"kind": "text", "title": "t", "text": "hi"})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, list) = call(&w, "GET", "/v1/content/materials", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"], json!([]), "nothing written");

    // A file that is not the one declared: refused at completion, deleted, still pending.
    let (status, created) = call(
        &w,
        "POST",
        "/v1/content/materials",
        Some("short"),
        Some(json!({"kind": "image", "title": "s", "file": {"name": "s.png", "content_type": "image/png", "size": 500}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["material_id"].as_str().unwrap().to_string();
    let (status, early) = call(
        &w,
        "POST",
        &format!("/v1/content/materials/{id}/complete"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, early["error"]["code"].clone()),
        (409, json!("upload_missing"))
    );
    let put = reqwest::Client::new()
        .put(created["upload"]["url"].as_str().unwrap())
        .header("content-type", "image/png")
        .body(PNG.to_vec())
        .send()
        .await
        .expect("PUT");
    assert!(put.status().is_success());
    let (status, refused) = call(
        &w,
        "POST",
        &format!("/v1/content/materials/{id}/complete"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (400, json!("upload_mismatch")),
        "{refused}"
    );
    let (_, still) = call(
        &w,
        "GET",
        &format!("/v1/content/materials/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(still["status"], "pending");
    let objects = content_objects().unwrap();
    use scrm_core::content::ObjectStore;
    assert!(
        objects
            .head(&format!("{}/{id}", w.corp()))
            .await
            .unwrap()
            .is_none(),
        "deleted"
    );

    // A retried create answers the same material; the same key for another one is 409.
    let (s1, a) = call(
        &w,
        "POST",
        "/v1/content/materials",
        Some("txt"),
        Some(json!({"kind": "text", "title": "t", "text": "hi"})),
    )
    .await;
    let (s2, b) = call(
        &w,
        "POST",
        "/v1/content/materials",
        Some("txt"),
        Some(json!({"kind": "text", "title": "t", "text": "hi"})),
    )
    .await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(a["material_id"], b["material_id"]);
    let (s3, c) = call(
        &w,
        "POST",
        "/v1/content/materials",
        Some("txt"),
        Some(json!({"kind": "text", "title": "other", "text": "hi"})),
    )
    .await;
    assert_eq!(
        (s3, c["error"]["code"].clone()),
        (409, json!("idempotency_key_reused"))
    );
}

#[tokio::test]
async fn plans_refer_only_to_ready_materials_and_keep_them_from_deletion() {
    ensure_content_bucket().await;
    let w = World::new(TenantSettings::default(), "2026-03-01T00:00:00Z").await;
    w.staff(&["alice"]);
    let plan_body = |material: &str| {
        json!({
            "name": "素材计划",
            "kind": "group",
            "targets": {"owners": ["alice"]},
            "schedule": {"kind": "daily", "time": "09:00"},
            "content": {"text": "hi", "attachments": [{"kind": "material", "material_id": material}]}
        })
    };
    // An unknown material: 400, and no plan written.
    let (status, answer) = w
        .admin("POST", "/v1/sop/plans", Some(plan_body("m0000unknown")))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no material m0000unknown"),
        "{answer}"
    );
    let (_, plans) = w.admin("GET", "/v1/sop/plans", None).await;
    assert_eq!(plans["plans"], json!([]));
    // A pending one (file never uploaded) is refused too.
    let (_, pending) = call(&w, "POST", "/v1/content/materials", Some("p"), Some(json!({"kind": "video", "title": "v", "file": {"name": "v.mp4", "content_type": "video/mp4", "size": 100}}))).await;
    let pending = pending["material_id"].as_str().unwrap().to_string();
    let (status, _) = w
        .admin("POST", "/v1/sop/plans", Some(plan_body(&pending)))
        .await;
    assert_eq!(status, 400);

    // A text material in use cannot be deleted until the plan stops referring to it.
    let (_, text) = call(
        &w,
        "POST",
        "/v1/content/materials",
        Some("t"),
        Some(json!({"kind": "text", "title": "欢迎", "text": "欢迎光临"})),
    )
    .await;
    let text = text["material_id"].as_str().unwrap().to_string();
    let plan = w.plan(plan_body(&text)).await;
    let (status, in_use) = call(
        &w,
        "DELETE",
        &format!("/v1/content/materials/{text}"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, in_use["error"]["code"].clone()),
        (409, json!("material_in_use")),
        "{in_use}"
    );
    let (_, stored) = w.admin("GET", &format!("/v1/sop/plans/{plan}"), None).await;
    let mut edit = plan_body("unused");
    edit["content"] = json!({"text": "hi", "attachments": []});
    edit["version"] = stored["version"].clone();
    let (status, body) = w
        .admin("PUT", &format!("/v1/sop/plans/{plan}"), Some(edit))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, m) = call(
        &w,
        "GET",
        &format!("/v1/content/materials/{text}"),
        None,
        None,
    )
    .await;
    assert_eq!(m["usage"]["plans"], 0, "{m}");
    let (status, _) = call(
        &w,
        "DELETE",
        &format!("/v1/content/materials/{text}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &w,
        "GET",
        &format!("/v1/content/materials/{text}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn folders_and_tags_filter_the_library() {
    ensure_content_bucket().await;
    let w = World::new(TenantSettings::default(), "2026-03-01T00:00:00Z").await;
    let (status, folder) = call(
        &w,
        "POST",
        "/v1/content/folders",
        Some("f1"),
        Some(json!({"name": "活动"})),
    )
    .await;
    assert_eq!(status, 201, "{folder}");
    let folder_id = folder["folder_id"].as_str().unwrap().to_string();
    let (status, again) = call(
        &w,
        "POST",
        "/v1/content/folders",
        Some("f1"),
        Some(json!({"name": "活动"})),
    )
    .await;
    assert_eq!(
        (status, again["folder_id"].clone()),
        (200, json!(folder_id))
    );
    for (key, title, folder, tags) in [
        ("a", "A", Some(folder_id.as_str()), vec!["促销"]),
        ("b", "B", None, vec!["促销"]),
        ("c", "C", Some(folder_id.as_str()), vec![]),
    ] {
        let mut body = json!({"kind": "link", "title": title, "url": "https://shop.example.com/", "tags": tags});
        if let Some(f) = folder {
            body["folder_id"] = json!(f);
        }
        let (status, m) = call(&w, "POST", "/v1/content/materials", Some(key), Some(body)).await;
        assert_eq!(status, 201, "{m}");
    }
    let titles = |v: &Value| {
        let mut t: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["title"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t
    };
    let (_, in_folder) = call(
        &w,
        "GET",
        &format!("/v1/content/materials?folder_id={folder_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(titles(&in_folder), ["A", "C"]);
    let (_, tagged) = call(
        &w,
        "GET",
        "/v1/content/materials?tag=%E4%BF%83%E9%94%80",
        None,
        None,
    )
    .await;
    assert_eq!(titles(&tagged), ["A", "B"]);
    // A folder with materials is not deleted; an unknown folder on a material is 404.
    let (status, _) = call(
        &w,
        "DELETE",
        &format!("/v1/content/folders/{folder_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = call(
        &w,
        "POST",
        "/v1/content/materials",
        Some("d"),
        Some(json!({"kind": "text", "title": "t", "text": "x", "folder_id": "f0000nosuch"})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_tracked_link_in_a_plan_is_the_occurrences_short_link_and_a_resend_the_same() {
    use scrm_adapters::dynamo::DynamoGrowth;
    use scrm_core::links::{LinkTracker, SendContext, StoreTracker, Target, Via};
    const BASE: &str = "https://l.example.test";
    let w = World::new(group_messages(), "2026-02-28T12:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrTrk01", "alice").await;
    let target = "https://shop.example.com/spring?utm=sop";
    let plan = w
        .plan(json!({
            "name": "春季上新",
            "kind": "group",
            "targets": {"owners": ["alice"]},
            "schedule": {"kind": "daily", "time": "09:00"},
            "content": {"text": "春季上新", "attachments": [
                {"kind": "link", "title": "春季新品", "url": target, "track": true},
                {"kind": "link", "title": "门店地址", "url": "https://shop.example.com/map"}
            ]}
        }))
        .await;
    let tracker = Arc::new(StoreTracker {
        store: DynamoGrowth::new(w.db.clone()),
        base: BASE.into(),
    });
    let d = Dispatcher {
        links: tracker.clone(),
        ..w.dispatcher()
    };
    let mut urls = Vec::new();
    for day in 1..=2u32 {
        w.at(&format!("2026-03-{day:02}T01:00:00Z"));
        let report = run_dispatch(&d, w.corp()).await;
        assert_eq!(report["sent"], 2, "day {day}: {report}");
        let sent = w.fake.requests(paths::ADD_MSG_TEMPLATE);
        let today = sent.last().expect("today's");
        let links = today["attachments"].as_array().expect("attachments");
        let tracked = links[0]["link"]["url"].as_str().expect("url").to_string();
        assert!(tracked.starts_with(&format!("{BASE}/l/")), "{tracked}");
        // A link not marked goes as it is.
        assert_eq!(links[1]["link"]["url"], "https://shop.example.com/map");
        urls.push(tracked);
    }
    // Each occurrence has its own code (its clicks are that day's push)...
    assert_ne!(urls[0], urls[1]);
    // ...and minting again in the same context (a resend) gives the very same link.
    let day2 = "20260302T0100Z".to_string();
    assert!(w.occurrence_ids(&plan).await.contains(&day2));
    let again = tracker
        .track(
            &w.t.tenant,
            Target {
                url: target,
                title: "春季新品",
            },
            SendContext {
                via: Via::Plan,
                plan: Some(plan.to_string()),
                occurrence: Some(day2),
                staff: Some("alice".into()),
                ..SendContext::default()
            },
            scrm_core::clock::Clock::now(w.clock.as_ref()),
        )
        .await;
    assert_eq!(again.as_deref(), Some(urls[1].as_str()));
    // The task center gives alice the same short link to copy and send by hand.
    let session = scrm_core::sop::reminder::staff_token(
        &signing_keys(),
        w.t.id(),
        "alice",
        scrm_core::clock::Clock::now(w.clock.as_ref()),
    );
    let (status, tasks) = w
        .staff_call_with(
            request(
                "GET",
                "/v1/tasks?status=pending",
                &[("authorization", &format!("Bearer {session}"))],
                None,
            ),
            tracker.clone(),
        )
        .await;
    assert_eq!(status, 200, "{tasks}");
    let today = tasks["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["occurrence_id"] == "20260302T0100Z")
        .expect("day 2's task");
    let copied = &today["content"]["attachments"];
    assert_eq!(copied[0]["url"], urls[1].as_str(), "{today}");
    assert_eq!(copied[1]["url"], "https://shop.example.com/map");
    // The link is the tenant's, listed with its codes' plan.
    let (status, links) = call(&w, "GET", "/v1/links", None, None).await;
    assert_eq!(status, 200, "{links}");
    let items = links["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{links}");
    assert_eq!(items[0]["url"], target);
}

#[tokio::test]
async fn the_task_center_shows_a_plans_materials_as_the_dispatcher_sends_them() {
    ensure_content_bucket().await;
    let w = World::new(TenantSettings::default(), "2026-02-28T12:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrMat01", "alice").await;
    let image = upload(&w, "tc-img", "image", "poster.png", "image/png", PNG).await;
    let video = upload(&w, "tc-vid", "video", "intro.mp4", "video/mp4", &mp4()).await;
    let made = |key: &'static str, body: Value| {
        let w = &w;
        async move {
            let (status, m) = call(w, "POST", "/v1/content/materials", Some(key), Some(body)).await;
            assert_eq!(status, 201, "{m}");
            m["material_id"].as_str().expect("id").to_string()
        }
    };
    let text = made(
        "tc-text",
        json!({"kind": "text", "title": "话术", "text": "回复 1 领取优惠券"}),
    )
    .await;
    let link = made(
        "tc-link",
        json!({"kind": "link", "title": "春季新品", "url": "https://shop.example.com/spring", "desc": "全场 8 折"}),
    )
    .await;
    w.plan(json!({
        "name": "素材任务",
        "kind": "group",
        "targets": {"owners": ["alice"]},
        "schedule": {"kind": "daily", "time": "09:00"},
        "content": {"text": "今日上新", "attachments": [
            {"kind": "material", "material_id": text},
            {"kind": "material", "material_id": image},
            {"kind": "material", "material_id": link},
            {"kind": "material", "material_id": video}
        ]}
    }))
    .await;
    w.at("2026-03-01T01:00:00Z");
    run_dispatch(&w.dispatcher(), w.corp()).await;

    let session = scrm_core::sop::reminder::staff_token(
        &signing_keys(),
        w.t.id(),
        "alice",
        scrm_core::clock::Clock::now(w.clock.as_ref()),
    );
    let list = || {
        request(
            "GET",
            "/v1/tasks?status=pending",
            &[("authorization", &format!("Bearer {session}"))],
            None,
        )
    };
    let resolver = Arc::new(MediaResolver {
        store: DynamoContent::new(w.db.clone()),
        objects: content_objects().expect("local S3"),
        uploader: w.wecom.clone(),
    });
    let (status, tasks) = w
        .staff_call_using(list(), Arc::new(scrm_core::links::NoTracking), resolver)
        .await;
    assert_eq!(status, 200, "{tasks}");
    let content = &tasks["tasks"][0]["content"];
    // The text material's text joins the text; the others become what WeCom is sent.
    assert_eq!(content["text"], "今日上新\n回复 1 领取优惠券", "{content}");
    let a = content["attachments"].as_array().expect("attachments");
    assert_eq!(a.len(), 3, "{content}");
    assert_eq!(a[0]["kind"], "image");
    assert!(
        a[0]["pic_url"]
            .as_str()
            .is_some_and(|u| u.contains("/_fake/pic/")),
        "{content}"
    );
    assert_eq!(
        a[1],
        json!({"kind": "link", "title": "春季新品", "url": "https://shop.example.com/spring", "desc": "全场 8 折"})
    );
    assert_eq!(a[2]["kind"], "video");
    assert!(
        a[2]["media_id"].as_str().is_some_and(|m| !m.is_empty()),
        "{content}"
    );

    // Where materials cannot be resolved, each stays a material by id and the rest shows.
    let (status, tasks) = w.staff_call(list()).await;
    assert_eq!(status, 200, "{tasks}");
    let content = &tasks["tasks"][0]["content"];
    assert_eq!(content["text"], "今日上新");
    assert_eq!(
        content["attachments"][0],
        json!({"kind": "material", "material_id": text})
    );
    assert_eq!(content["attachments"].as_array().map(Vec::len), Some(4));
}
