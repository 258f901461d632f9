//! The plans API: validation with clear errors and nothing stored, edits that apply to
//! future occurrences only, pause / resume / end, roles, listing, and group tags.
use super::*;
use scrm_core::tenants::Role;

async fn refused(w: &World, body: Value) -> (String, Value) {
    let (status, resp) = w.admin("POST", "/v1/sop/plans", Some(body)).await;
    assert_eq!(status, 400, "{resp}");
    assert_eq!(resp["error"]["code"], "validation_failed", "{resp}");
    (
        resp["error"]["message"].as_str().unwrap().to_string(),
        resp["error"]["details"].clone(),
    )
}

#[tokio::test]
async fn invalid_plans_are_refused_with_a_clear_error_and_nothing_is_stored() {
    let w = World::new(TenantSettings::default(), "2026-01-01T00:00:00Z").await;
    let (msg, _) = refused(
        &w,
        json!({"name": "x", "kind": "group", "targets": {"owners": ["a"]},
               "schedule": {"kind": "daily", "time": "25:00"}, "content": {"text": "hi"}}),
    )
    .await;
    assert!(msg.contains("invalid time `25:00`"), "{msg}");
    let (msg, details) = refused(
        &w,
        json!({"name": "x", "kind": "group", "targets": {},
               "schedule": {"kind": "daily", "time": "09:00"}, "content": {"text": "hi"}}),
    )
    .await;
    assert!(msg.contains("targets are empty"), "{msg}");
    assert_eq!(details["problems"][0]["field"], "targets");
    let ten: Vec<Value> = (0..10)
        .map(|i| json!({"kind": "image", "pic_url": format!("https://x/{i}.png")}))
        .collect();
    let (msg, _) = refused(
        &w,
        json!({"name": "x", "kind": "group", "targets": {"owners": ["a"]},
               "schedule": {"kind": "daily", "time": "09:00"},
               "content": {"text": "hi", "attachments": ten}}),
    )
    .await;
    assert!(msg.contains("10 attachments; at most 9"), "{msg}");
    let (msg, _) = refused(
        &w,
        json!({"name": "x", "kind": "moments", "senders": ["a"],
               "schedule": {"kind": "daily", "time": "09:00"},
               "content": {"text": "hi", "attachments": [{"kind": "file", "media_id": "f"}]}}),
    )
    .await;
    assert!(msg.contains("not files"), "{msg}");
    let (msg, _) = refused(
        &w,
        json!({"name": "x", "kind": "group", "targets": {"owners": ["a"]},
               "schedule": {"kind": "weekly", "weekdays": [], "time": "09:00"},
               "content": {"text": "hi"}}),
    )
    .await;
    assert!(msg.contains("at least one weekday"), "{msg}");
    let (status, body) = w.admin("GET", "/v1/sop/plans", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["plans"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn edits_apply_to_future_occurrences_only_and_pause_resume_end_work() {
    let w = World::new(TenantSettings::default(), "2026-02-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrAd1", "alice").await;
    let id = w.plan(daily_group_plan(&["alice"], "09:00")).await;
    w.at("2026-02-01T01:00:00Z");
    w.dispatch().await;

    // Edit the content (and the time) from version 1.
    let mut edit = daily_group_plan(&["alice"], "10:00");
    edit["content"]["text"] = json!("新内容");
    edit["version"] = json!(1);
    w.at("2026-02-01T05:00:00Z");
    let (status, body) = w
        .admin("PUT", &format!("/v1/sop/plans/{id}"), Some(edit.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    assert_eq!(body["next_due"], "2026-02-02T02:00:00Z");
    // A stale version is refused.
    let (status, body) = w
        .admin("PUT", &format!("/v1/sop/plans/{id}"), Some(edit.clone()))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("version_conflict"))
    );
    w.at("2026-02-02T02:00:00Z");
    w.dispatch().await;
    let (_, old) = w
        .admin(
            "GET",
            &format!("/v1/sop/plans/{id}/occurrences/20260201T0100Z"),
            None,
        )
        .await;
    let (_, new) = w
        .admin(
            "GET",
            &format!("/v1/sop/plans/{id}/occurrences/20260202T0200Z"),
            None,
        )
        .await;
    assert_eq!(old["occurrence"]["content"]["text"], "早上好！今天的活动：");
    assert_eq!(new["occurrence"]["content"]["text"], "新内容");
    assert_eq!(new["occurrence"]["plan_version"], 2);

    // Paused: nothing fires; resumed: the next occurrence after now, missed ones skipped.
    let (status, body) = w
        .admin("POST", &format!("/v1/sop/plans/{id}/pause"), None)
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("paused")));
    w.at("2026-02-04T02:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["occurrences"], 0, "{report}");
    let (_, body) = w
        .admin("POST", &format!("/v1/sop/plans/{id}/resume"), None)
        .await;
    assert_eq!(body["status"], "active");
    assert_eq!(body["next_due"], "2026-02-05T02:00:00Z");
    // Ended: never fires again, cannot be edited.
    let (_, body) = w
        .admin("POST", &format!("/v1/sop/plans/{id}/end"), None)
        .await;
    assert_eq!(body["status"], "ended");
    edit["version"] = body["version"].clone();
    let (status, body) = w
        .admin("PUT", &format!("/v1/sop/plans/{id}"), Some(edit))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("plan_ended"))
    );
    w.at("2026-02-05T02:00:00Z");
    assert_eq!(w.dispatch().await["occurrences"], 0);
    assert_eq!(w.occurrence_ids(&id).await.len(), 2);
}

#[tokio::test]
async fn viewers_read_operators_write_and_plans_are_listed_newest_first() {
    let w = World::new(TenantSettings::default(), "2026-02-01T00:00:00Z").await;
    let viewer = key_with_role(&w.db, w.t.id(), Role::Viewer).await;
    let api = admin_api(
        &w.db,
        AnyPublisher::Discard,
        w.fake.base_url(),
        w.clock.clone(),
    );
    let resp = admin_api_fn::handle(
        &api,
        json_request(
            "POST",
            "/v1/sop/plans",
            &format!("Bearer {}", viewer.reveal()),
            &daily_group_plan(&["a"], "09:00"),
        ),
    )
    .await
    .unwrap();
    assert_eq!(response_json(&resp).0, 403);
    let first = w.plan(daily_group_plan(&["a"], "09:00")).await;
    let second = w.plan(daily_group_plan(&["b"], "10:00")).await;
    let (_, body) = w.admin("GET", "/v1/sop/plans?limit=1", None).await;
    assert_eq!(body["plans"][0]["plan_id"], second.as_str());
    let cursor = body["next_cursor"].as_str().unwrap().to_string();
    let (_, body) = w
        .admin(
            "GET",
            &format!("/v1/sop/plans?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(body["plans"][0]["plan_id"], first.as_str());
    assert_eq!(body["plans"][0]["kind"], "group");
    let (status, _) = w.admin("GET", "/v1/sop/plans/pnothere", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn group_tags_select_groups_alone_or_with_owners() {
    let w = World::new(TenantSettings::default(), "2026-03-01T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    for (chat, owner) in [("wrTg1", "alice"), ("wrTg2", "alice"), ("wrTg3", "bob")] {
        w.group(chat, owner).await;
    }
    for chat in ["wrTg1", "wrTg3"] {
        let (status, body) = w
            .admin(
                "PUT",
                &format!("/v1/sop/group-tags/{chat}"),
                Some(json!({"tags": ["vip", "vip"]})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["tags"], json!(["vip"]));
    }
    let (_, body) = w.admin("GET", "/v1/sop/group-tags/wrTg1", None).await;
    assert_eq!(body["tags"], json!(["vip"]));
    let by_tag = w
        .plan(
            json!({"name": "vip", "kind": "group", "targets": {"group_tags": ["vip"]},
                     "schedule": {"kind": "daily", "time": "09:00"}, "content": {"text": "hi"}}),
        )
        .await;
    let tag_and_owner = w
        .plan(json!({"name": "vip alice", "kind": "group",
                     "targets": {"group_tags": ["vip"], "owners": ["alice"]},
                     "schedule": {"kind": "daily", "time": "09:00"}, "content": {"text": "hi"}}))
        .await;
    w.at("2026-03-01T01:00:00Z");
    w.dispatch().await;
    let chats = |tasks: Vec<scrm_core::sop::Task>| {
        let mut c: Vec<String> = tasks
            .iter()
            .map(|t| t.target.chat_id().unwrap().to_string())
            .collect();
        c.sort();
        c
    };
    assert_eq!(
        chats(w.tasks(&by_tag, "20260301T0100Z").await),
        ["wrTg1", "wrTg3"]
    );
    assert_eq!(
        chats(w.tasks(&tag_and_owner, "20260301T0100Z").await),
        ["wrTg1"]
    );
}
