//! The task center: staff identified by their reminder's signed link or by WeCom OAuth see
//! only their own tasks, pending (待推送) and done (已推送), with the content to copy.
use super::*;
use scrm_core::sop::reminder::staff_token;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn staff_see_and_complete_only_their_own_tasks() {
    let w = World::new(TenantSettings::default(), "2026-11-01T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    for (chat, owner) in [("wrSt1", "alice"), ("wrSt2", "alice"), ("wrSt3", "bob")] {
        w.group(chat, owner).await;
    }
    w.plan(daily_group_plan(&["alice", "bob"], "09:00")).await;
    w.at("2026-11-01T01:00:00Z");
    w.dispatch().await;

    // The reminder's link works as it is.
    let reminder = w
        .fake
        .requests(scrm_core::wecom::api::paths::MESSAGE_SEND)
        .into_iter()
        .find(|r| r["touser"] == "alice")
        .unwrap();
    let url = reminder["textcard"]["url"].as_str().unwrap().to_string();
    let path = url.trim_start_matches("https://staff.example.com");
    let (status, body) = w.staff_call(request("GET", path, &[], None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userid"], "alice");
    let tasks = body["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t["status"] == "pending"));
    assert_eq!(tasks[0]["content"]["text"], "早上好！今天的活动：");
    assert_eq!(
        tasks[0]["content"]["attachments"][0]["url"],
        "https://shop.example.com/a"
    );

    let alice = staff_token(
        &Secret::new(TEST_SIGNING_KEY),
        w.t.id(),
        "alice",
        w.clock.now(),
    );
    let bob = staff_token(
        &Secret::new(TEST_SIGNING_KEY),
        w.t.id(),
        "bob",
        w.clock.now(),
    );
    let (_, bobs) = w
        .staff_call(request(
            "GET",
            "/v1/tasks",
            &[("authorization", &bearer(&bob))],
            None,
        ))
        .await;
    let bob_task = bobs["tasks"][0]["task_id"].as_str().unwrap().to_string();
    assert_eq!(bobs["tasks"].as_array().unwrap().len(), 1);

    // alice cannot see or complete bob's task.
    let (status, body) = w
        .staff_call(request(
            "GET",
            &format!("/v1/tasks/{bob_task}"),
            &[("authorization", &bearer(&alice))],
            None,
        ))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = w
        .staff_call(request(
            "POST",
            &format!("/v1/tasks/{bob_task}/done"),
            &[("authorization", &bearer(&alice))],
            None,
        ))
        .await;
    assert_eq!(status, 404);

    // alice marks one done: it moves from pending to done; twice is fine.
    let first = tasks[0]["task_id"].as_str().unwrap();
    for _ in 0..2 {
        let (status, body) = w
            .staff_call(request(
                "POST",
                &format!("/v1/tasks/{first}/done"),
                &[("authorization", &bearer(&alice))],
                None,
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["done_by"], "staff");
    }
    let (_, pending) = w
        .staff_call(request(
            "GET",
            "/v1/tasks?status=pending",
            &[("authorization", &bearer(&alice))],
            None,
        ))
        .await;
    let (_, done) = w
        .staff_call(request(
            "GET",
            "/v1/tasks?status=done",
            &[("authorization", &bearer(&alice))],
            None,
        ))
        .await;
    assert_eq!(pending["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(done["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(done["tasks"][0]["task_id"], first);
    // bob's task is untouched.
    let (_, bobs) = w
        .staff_call(request(
            "GET",
            "/v1/tasks",
            &[("authorization", &bearer(&bob))],
            None,
        ))
        .await;
    assert_eq!(bobs["tasks"][0]["status"], "pending");
}

#[tokio::test]
async fn staff_log_in_with_a_wecom_oauth_code_and_bad_credentials_are_refused() {
    let w = World::new(TenantSettings::default(), "2026-11-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrOa1", "alice").await;
    w.plan(daily_group_plan(&["alice"], "09:00")).await;
    w.at("2026-11-01T01:00:00Z");
    w.dispatch().await;
    w.fake.add_oauth_code(w.corp(), "code-alice", "alice");
    let path = format!("/v1/tasks?corp_id={}&code=code-alice", w.corp());
    let (status, body) = w.staff_call(request("GET", &path, &[], None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userid"], "alice");
    assert_eq!(body["tasks"].as_array().unwrap().len(), 1);
    let token = body["token"].as_str().unwrap().to_string();
    // The code works once; the token it gave keeps working.
    let (status, body) = w.staff_call(request("GET", &path, &[], None)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_code"))
    );
    let (status, _) = w
        .staff_call(request(
            "GET",
            "/v1/tasks",
            &[("authorization", &bearer(&token))],
            None,
        ))
        .await;
    assert_eq!(status, 200);
    // POST /v1/session does the same exchange.
    w.fake.add_oauth_code(w.corp(), "code-2", "alice");
    let (status, body) = w
        .staff_call(request(
            "POST",
            "/v1/session",
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&json!({"corp_id": w.corp(), "code": "code-2"})).unwrap()),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userid"], "alice");

    // No credentials, a forged token, an expired one.
    let (status, _) = w.staff_call(request("GET", "/v1/tasks", &[], None)).await;
    assert_eq!(status, 401);
    let (status, _) = w
        .staff_call(request(
            "GET",
            "/v1/tasks",
            &[("authorization", "Bearer abc.def")],
            None,
        ))
        .await;
    assert_eq!(status, 401);
    w.clock.advance(chrono::Duration::days(8));
    let (status, body) = w
        .staff_call(request(
            "GET",
            "/v1/tasks",
            &[("authorization", &bearer(&token))],
            None,
        ))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_expired"))
    );
    // A customer token is not a staff token.
    let customer = scrm_core::tokens::issue(
        &Secret::new(TEST_SIGNING_KEY),
        &scrm_core::tokens::Claims {
            tenant: w.corp().into(),
            subject: "alice".into(),
            kind: scrm_core::tokens::TokenKind::Customer,
            expires_at: w.clock.now().timestamp() + 3600,
        },
    );
    let (status, _) = w
        .staff_call(request(
            "GET",
            "/v1/tasks",
            &[("authorization", &bearer(&customer))],
            None,
        ))
        .await;
    assert_eq!(status, 401);
}
