//! The task center: staff identified by a session (from their reminder's link, exchanged
//! once, or from WeCom OAuth) see only their own tasks, pending (待推送) and done (已推送),
//! with the content to copy; departed staff are refused; unauthenticated requests are
//! cheap and say nothing about which corps are tenants.
use super::*;
use scrm_core::sop::reminder::{staff_link, staff_token, STAFF_LINK_TTL, STAFF_SESSION_TTL};
use scrm_core::sop::task_center::RefusedCodes;
use scrm_core::wecom::api::paths;

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

    // The reminder's link works as it is, once: it is exchanged for a session.
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
    let session = body["token"].as_str().unwrap().to_string();
    let (status, again) = w.staff_call(request("GET", path, &[], None)).await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (401, Some("link_used")),
        "{again}"
    );
    let (status, _) = w
        .staff_call(request(
            "GET",
            "/v1/tasks",
            &[("authorization", &bearer(&session))],
            None,
        ))
        .await;
    assert_eq!(status, 200);
    let tasks = body["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t["status"] == "pending"));
    assert_eq!(tasks[0]["content"]["text"], "早上好！今天的活动：");
    assert_eq!(
        tasks[0]["content"]["attachments"][0]["url"],
        "https://shop.example.com/a"
    );

    let alice = staff_token(
        &scrm_tests::signing_keys(),
        w.t.id(),
        "alice",
        w.clock.now(),
    );
    let bob = staff_token(&scrm_tests::signing_keys(), w.t.id(), "bob", w.clock.now());
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
    w.clock.advance(STAFF_SESSION_TTL);
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
        &scrm_tests::signing_keys(),
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

/// A task of alice's and a staff API whose refused-code memory lasts across calls.
async fn alice_with_a_task() -> (
    World,
    Arc<StaffApi<DynamoSop, WeComClient, DynamoTenants, DynamoDirectory>>,
) {
    let w = World::new(TenantSettings::default(), "2026-11-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrLk1", "alice").await;
    w.plan(daily_group_plan(&["alice"], "09:00")).await;
    w.at("2026-11-01T01:00:00Z");
    w.dispatch().await;
    let api = Arc::new(StaffApi {
        store: w.store(),
        wecom: w.wecom.clone(),
        tenants: DynamoTenants::new(w.db.clone()),
        directory: DynamoDirectory::new(w.db.clone()),
        refused_codes: RefusedCodes::default(),
        clock: w.clock.clone(),
        signing_key: signing_keys(),
        web_origins: Default::default(),
        sidebar: staff_api_fn::SidebarStores::new(w.db.clone()),
        links: std::sync::Arc::new(scrm_core::links::NoTracking),
        materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
    });
    (w, api)
}

async fn call(
    api: &Arc<StaffApi<DynamoSop, WeComClient, DynamoTenants, DynamoDirectory>>,
    req: lambda_http::Request,
) -> (u16, Value) {
    response_json(&staff_api_fn::handle(api, req).await.expect("infallible"))
}

fn session_request(body: Value) -> lambda_http::Request {
    request(
        "POST",
        "/v1/session",
        &[("content-type", "application/json")],
        Some(serde_json::to_vec(&body).unwrap()),
    )
}

#[tokio::test]
async fn a_reminder_link_lives_minutes_opens_no_task_by_itself_and_is_exchanged_once() {
    let (w, api) = alice_with_a_task().await;
    let key = signing_keys();
    let link = staff_link(&key, w.t.id(), "alice", w.clock.now());
    let (_, list) = call(
        &api,
        request(
            "GET",
            "/v1/tasks",
            &[(
                "authorization",
                &bearer(&staff_token(&key, w.t.id(), "alice", w.clock.now())),
            )],
            None,
        ),
    )
    .await;
    let task_id = list["tasks"][0]["task_id"].as_str().unwrap().to_string();

    // The link is not a session: it reads or completes no task by itself.
    for (method, path) in [
        ("GET", format!("/v1/tasks/{task_id}")),
        ("POST", format!("/v1/tasks/{task_id}/done")),
    ] {
        let (status, body) = call(
            &api,
            request(method, &path, &[("authorization", &bearer(&link))], None),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthenticated")),
            "{method} {path}: {body}"
        );
        let with_query = format!("{path}?token={link}");
        let (status, _) = call(&api, request(method, &with_query, &[], None)).await;
        assert_eq!(status, 401, "{method} {with_query}");
    }
    let (status, task) = call(
        &api,
        request("GET", &format!("/v1/tasks/{task_id}"), &[], None),
    )
    .await;
    assert_eq!(status, 401, "{task}");

    // Minutes later it is refused.
    let stale = staff_link(&key, w.t.id(), "alice", w.clock.now() - STAFF_LINK_TTL);
    let (status, body) = call(&api, session_request(json!({ "link": stale }))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_expired")),
        "{body}"
    );

    // Exchanged, it gives a session of an hour, which completes the task.
    let (status, body) = call(&api, session_request(json!({ "link": link }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userid"], "alice");
    let session = body["token"].as_str().unwrap().to_string();
    let (status, done) = call(
        &api,
        request(
            "POST",
            &format!("/v1/tasks/{task_id}/done"),
            &[("authorization", &bearer(&session))],
            None,
        ),
    )
    .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("done")),
        "{done}"
    );
    // A session is not accepted in the URL.
    let (status, _) = call(
        &api,
        request("GET", &format!("/v1/tasks?token={session}"), &[], None),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_concurrent_exchanges_of_one_link_exactly_one_wins() {
    let (w, api) = alice_with_a_task().await;
    let link = staff_link(&signing_keys(), w.t.id(), "alice", w.clock.now());
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..12 {
        let api = api.clone();
        let link = link.clone();
        attempts.spawn(async move {
            // Half through the session route, half by opening the task list.
            let req = if i % 2 == 0 {
                session_request(json!({ "link": link }))
            } else {
                request("GET", &format!("/v1/tasks?token={link}"), &[], None)
            };
            call(&api, req).await
        });
    }
    let mut won = 0;
    let mut used = 0;
    while let Some(answer) = attempts.join_next().await {
        let (status, body) = answer.unwrap();
        match (status, body["error"]["code"].as_str()) {
            (200, _) => {
                assert!(body["token"].is_string(), "{body}");
                won += 1;
            }
            (401, Some("link_used")) => used += 1,
            other => panic!("unexpected answer {other:?}: {body}"),
        }
    }
    assert_eq!((won, used), (1, 11));
}

#[tokio::test]
async fn a_departed_member_is_refused_with_a_session_a_link_or_a_code() {
    let (w, api) = alice_with_a_task().await;
    let key = signing_keys();
    let session = staff_token(&key, w.t.id(), "alice", w.clock.now());
    let link = staff_link(&key, w.t.id(), "alice", w.clock.now());
    let (status, list) = call(
        &api,
        request(
            "GET",
            "/v1/tasks",
            &[("authorization", &bearer(&session))],
            None,
        ),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let task_id = list["tasks"][0]["task_id"].as_str().unwrap().to_string();

    // The directory learns that alice left.
    let departed_at = w.clock.now().timestamp();
    assert!(DynamoDirectory::new(w.db.clone())
        .record_staff_departure(w.t.id(), "alice", departed_at)
        .await
        .unwrap());

    w.fake.add_oauth_code(w.corp(), "code-departed", "alice");
    let oauth = format!("/v1/tasks?corp_id={}&code=code-departed", w.corp());
    for req in [
        request(
            "GET",
            "/v1/tasks",
            &[("authorization", &bearer(&session))],
            None,
        ),
        request(
            "POST",
            &format!("/v1/tasks/{task_id}/done"),
            &[("authorization", &bearer(&session))],
            None,
        ),
        session_request(json!({ "link": link })),
        request("GET", &oauth, &[], None),
    ] {
        let (status, body) = call(&api, req).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("staff_departed")),
            "{body}"
        );
    }
    // The task was not completed.
    let done = w
        .store()
        .staff_tasks(
            w.t.id(),
            "alice",
            scrm_core::sop::TaskStatus::Done,
            None,
            10,
        )
        .await
        .unwrap();
    assert!(done.items.is_empty(), "{:?}", done.items);
}

#[tokio::test]
async fn unauthenticated_logins_are_uniform_bounded_and_do_not_reach_wecom_twice() {
    let (w, api) = alice_with_a_task().await;
    let refused = |(status, body): (u16, Value)| {
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("invalid_code")),
            "{body}"
        );
        body["error"].clone()
    };
    // A corp that is no tenant answers as a bad code of a tenant does, without WeCom.
    let unknown = refused(
        call(
            &api,
            session_request(json!({"corp_id": "wwnosuchcorp00", "code": "abc"})),
        )
        .await,
    );
    let bad_corp = refused(
        call(
            &api,
            request(
                "GET",
                "/v1/tasks?corp_id=not%23a%23corp&code=abc",
                &[],
                None,
            ),
        )
        .await,
    );
    // A code that cannot be WeCom's is refused before WeCom is asked.
    let long = "c".repeat(129);
    refused(
        call(
            &api,
            session_request(json!({"corp_id": w.corp(), "code": long})),
        )
        .await,
    );
    refused(
        call(
            &api,
            session_request(json!({"corp_id": w.corp(), "code": "two words"})),
        )
        .await,
    );
    assert_eq!(w.fake.calls(paths::AUTH_GETUSERINFO), 0);
    // A code WeCom refused is refused again without asking WeCom.
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(refused(
            call(
                &api,
                session_request(json!({"corp_id": w.corp(), "code": "forged-code"})),
            )
            .await,
        ));
    }
    assert_eq!(w.fake.calls(paths::AUTH_GETUSERINFO), 1);
    assert_eq!(unknown, answers[0]);
    assert_eq!(bad_corp, answers[0]);
    // A good code still works.
    w.fake.add_oauth_code(w.corp(), "code-ok", "alice");
    let (status, body) = call(
        &api,
        session_request(json!({"corp_id": w.corp(), "code": "code-ok"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn with_the_mobile_pages_a_reminder_opens_their_task_center_and_its_link_is_exchanged() {
    let (w, api) = alice_with_a_task().await;
    w.fake.reset_counters();
    w.at("2026-11-02T01:00:00Z");
    let dispatcher = Dispatcher {
        staff_pages_url: Some("https://h5.example.com/h5/".into()),
        materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
        links: std::sync::Arc::new(scrm_core::links::NoTracking),
        ..w.dispatcher()
    };
    run_dispatch(&dispatcher, w.corp()).await;
    let sent = w.fake.requests(paths::MESSAGE_SEND);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let url = sent[0]["textcard"]["url"].as_str().unwrap();
    let prefix = format!(
        "https://h5.example.com/h5/?corp_id={}&agent_id=1000002&token=",
        w.corp()
    );
    assert!(url.starts_with(&prefix), "{url}");
    // The pages exchange the link's token as the JSON link's was.
    let token = &url[prefix.len()..];
    let (status, body) = call(&api, session_request(json!({ "link": token }))).await;
    assert_eq!(
        (status, body["userid"].as_str()),
        (200, Some("alice")),
        "{body}"
    );
}

#[tokio::test]
async fn the_in_app_oauth_page_lets_the_signed_in_member_through_and_refuses_bad_requests() {
    let (w, api) = alice_with_a_task().await;
    w.fake.set_trusted_domains(w.corp(), &["h5.example.com"]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let open = |changes: &[(&str, &str)]| {
        let mut params = vec![
            ("appid", w.corp().to_string()),
            (
                "redirect_uri",
                format!("https://h5.example.com/h5/?corp_id={}", w.corp()),
            ),
            ("response_type", "code".into()),
            ("scope", "snsapi_base".into()),
            ("state", "s".into()),
            ("agentid", "1000002".into()),
        ];
        for (k, v) in changes {
            params.retain(|(name, _)| name != k);
            params.push((k, v.to_string()));
        }
        let url = url::Url::parse_with_params(&w.fake.oauth_authorize_url(), &params).unwrap();
        let http = http.clone();
        async move {
            let resp = http.get(url).send().await.unwrap();
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            (status, location, resp.text().await.unwrap())
        }
    };

    // Signed in as alice: straight back with a code and the state.
    let (status, location, _) = open(&[("userid", "alice")]).await;
    assert_eq!(status, 302);
    let back = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(back.host_str(), Some("h5.example.com"));
    let param = |name: &str| {
        back.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    assert_eq!(param("state"), "s");
    assert_eq!(param("corp_id"), w.corp());
    // The code is the member's, once, like a scan-login code.
    let session = json!({"corp_id": w.corp(), "code": param("code")});
    let (status, body) = call(&api, session_request(session.clone())).await;
    assert_eq!(
        (status, body["userid"].as_str()),
        (200, Some("alice")),
        "{body}"
    );
    let (status, _) = call(&api, session_request(session)).await;
    assert_eq!(status, 401);

    // Without a signed-in member the fake asks who it is.
    let (status, _, html) = open(&[]).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-userid=\"alice\""), "{html}");

    // WeCom's errors: no redirect, the errcode on its page.
    for (changes, errcode) in [
        (vec![("appid", "wwnotacorp000001")], 40013),
        (vec![("agentid", "999")], 40056),
        (
            vec![("redirect_uri", "https://evil.example.net/?corp_id=x")],
            50001,
        ),
        (vec![("scope", "snsapi_userinfo")], 40001),
        (vec![("response_type", "token")], 40001),
    ] {
        let mut changes = changes;
        changes.push(("userid", "alice"));
        let (status, location, html) = open(&changes).await;
        assert_eq!((status, location), (400, None), "{changes:?}");
        assert!(
            html.contains(&format!("data-errcode=\"{errcode}\"")),
            "{changes:?}: {html}"
        );
    }
}
