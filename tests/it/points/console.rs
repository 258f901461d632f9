//! The console's data routes of points and groups: the dashboard's daily figures (counted
//! once however often a check-in or an event is retried), every member's account in one
//! sorted list and its CSV export, a group's page, and the rules preview.
use super::{shanghai, World};
use lambda_runtime::{Context, LambdaEvent};
use scrm_core::events::{DomainEvent, EventEnvelope};
use scrm_core::tenants::Role;
use scrm_tests::*;
use serde_json::{json, Value};

async fn deliver(w: &World, id: &str, event: DomainEvent) {
    let now = scrm_core::clock::Clock::now(&*w.clock);
    let env = EventEnvelope::new(id, w.tenant().as_str(), now, event);
    points_on_event_fn::handle(
        &w.points,
        &w.dir,
        &w.admin.tenants,
        w.clock.as_ref(),
        LambdaEvent::new(env.to_eventbridge_json(), Context::default()),
    )
    .await
    .expect("handled");
}

async fn check_in(w: &World, ext: &str) {
    let (status, body) = w.as_customer(ext, "POST", "/v1/check-in", None).await;
    assert_eq!(status, 200, "{body}");
}

async fn award(w: &World, ext: &str, points: i64, key: &str) {
    let (status, body) = w
        .admin_json(
            "POST",
            "/v1/points/bulk",
            &json!({"operation": "award", "external_userids": [ext], "points": points,
                "reason": "gift", "idempotency_key": key}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn column(body: &Value, list: &str, field: &str) -> Vec<Value> {
    body[list]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|r| r[field].clone())
        .collect()
}

#[tokio::test]
async fn the_dashboard_counts_each_day_once_however_often_it_is_retried() {
    let w = World::at(shanghai(2026, 3, 8, 9, 0)).await;
    w.set_rules(json!({"check_in": {"enabled": true, "base_points": 5}}))
        .await;
    w.join("wrDash", "wmD1").await;
    check_in(&w, "wmD1").await;
    check_in(&w, "wmD1").await; // a retry: answered, not counted again
    w.clock.set(shanghai(2026, 3, 9, 9, 0));
    check_in(&w, "wmD1").await;
    check_in(&w, "wmD2").await;
    w.clock.set(shanghai(2026, 3, 10, 9, 0));
    check_in(&w, "wmD2").await;
    let join = DomainEvent::MemberJoinedGroup {
        chat_id: "wrDash".into(),
        member_id: "wmD3".into(),
        is_customer: true,
        join_scene: Some(3),
        state: None,
    };
    deliver(&w, "cb:j:1", join.clone()).await;
    deliver(&w, "cb:j:1", join).await; // redelivered
    let added = |half| DomainEvent::ContactAdded {
        external_userid: "wmD3".into(),
        userid: "staff1".into(),
        state: None,
        half,
        welcome_code: None,
    };
    deliver(&w, "cb:a:1", added(false)).await;
    deliver(&w, "cb:a:1", added(false)).await;
    deliver(&w, "cb:a:2", added(true)).await; // a half add is no contact yet

    let (status, body) = w.admin_get("/v1/dashboard?days=3").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["date"], "2026-03-10");
    assert_eq!(body["timezone"], "Asia/Shanghai");
    assert_eq!(
        column(&body, "series", "date"),
        [
            json!("2026-03-08"),
            json!("2026-03-09"),
            json!("2026-03-10")
        ]
    );
    assert_eq!(
        column(&body, "series", "check_ins"),
        [json!(1), json!(2), json!(1)]
    );
    assert_eq!(
        column(&body, "series", "points_issued"),
        [json!(5), json!(10), json!(5)]
    );
    assert_eq!(body["today"]["members_joined"], 1);
    assert_eq!(body["today"]["contacts_added"], 1);
    assert_eq!(body["window"]["check_ins"], 4);
    assert_eq!(body["groups"], 1);
    assert_eq!(body["sop_truncated"], false);

    // The default window is 30 days; bounds are enforced.
    let (status, body) = w.admin_get("/v1/dashboard").await;
    assert_eq!(status, 200);
    assert_eq!(body["series"].as_array().map(Vec::len), Some(30));
    for bad in ["0", "91", "x", "-1"] {
        let (status, body) = w.admin_get(&format!("/v1/dashboard?days={bad}")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("validation_failed")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn accounts_are_listed_by_balance_and_last_check_in_across_pages() {
    let w = World::new().await;
    w.set_rules(json!({"check_in": {"enabled": true, "base_points": 5}}))
        .await;
    w.known(&["wmAccA", "wmAccB", "wmAccC", "wmAccD", "wmAccE"])
        .await;
    for (ext, points) in [
        ("wmAccA", 300),
        ("wmAccB", 100),
        ("wmAccC", 200),
        ("wmAccD", 50),
        ("wmAccE", 400),
    ] {
        award(&w, ext, points, &format!("gift-{ext}")).await;
    }
    check_in(&w, "wmAccB").await; // 105
    let (status, body) = w
        .admin_json(
            "POST",
            "/v1/points/bulk",
            &json!({"operation": "deduct", "external_userids": ["wmAccE"], "points": 30,
                "reason": "correction", "idempotency_key": "fix-e"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Balance, largest first, two per page: every page is in the global order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/points/accounts?limit=2&cursor={}", urlencode(c)),
            None => "/v1/points/accounts?limit=2".to_string(),
        };
        let (status, body) = w.admin_get(&path).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(column(&body, "items", "balance"));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [json!(370), json!(300), json!(200), json!(105), json!(50)]
    );
    let (_, body) = w
        .admin_get("/v1/points/accounts?sort=balance&order=asc&limit=3")
        .await;
    assert_eq!(
        column(&body, "items", "external_userid"),
        [json!("wmAccD"), json!("wmAccB"), json!("wmAccC")]
    );
    let b = &body["items"][1];
    assert_eq!(
        (
            &b["earned"],
            &b["spent"],
            &b["last_check_in"],
            &b["current_streak"]
        ),
        (&json!(105), &json!(0), &json!("2026-03-10"), &json!(1))
    );
    // Only accounts that checked in are in the check-in order.
    let (_, body) = w.admin_get("/v1/points/accounts?sort=last_check_in").await;
    assert_eq!(column(&body, "items", "external_userid"), [json!("wmAccB")]);
    // A search lists by id prefix; deductions are no spending.
    let (status, body) = w.admin_get("/v1/points/accounts?q=wmAccE").await;
    assert_eq!(status, 200, "{body}");
    let e = &body["items"][0];
    assert_eq!(
        (&e["balance"], &e["earned"], &e["spent"]),
        (&json!(370), &json!(400), &json!(0))
    );
    let (_, body) = w.admin_get("/v1/points/accounts?q=wmAcc&limit=10").await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(5));
    // The figures without a live index wait for a ranking (tests in `ranking.rs`); a
    // search takes no sort.
    for path in [
        "/v1/points/accounts?sort=earned",
        "/v1/points/accounts?sort=streak",
    ] {
        let (status, body) = w.admin_get(path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("ranking_not_ready")),
            "{path}: {body}"
        );
    }
    for (path, code) in [
        ("/v1/points/accounts?q=wm&sort=balance", "unsupported_sort"),
        ("/v1/points/accounts?sort=name", "validation_failed"),
        ("/v1/points/accounts?order=up", "validation_failed"),
        ("/v1/points/accounts?limit=0", "validation_failed"),
        ("/v1/points/accounts?cursor=nonsense", "validation_failed"),
    ] {
        let (status, body) = w.admin_get(path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{path}: {body}"
        );
    }

    // The export: the same rows as CSV.
    let resp = admin_api_fn::handle(
        &w.admin,
        get_request("/v1/points/accounts.csv", &w.t.bearer()),
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(!resp.headers().contains_key("x-next-cursor"));
    let text = String::from_utf8(resp.body().to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[0].starts_with("external_userid,name,balance,earned"));
    assert!(lines[1].starts_with("wmAccE,,370,400,0,0,"), "{text}");
}

fn urlencode(s: &str) -> String {
    s.replace('#', "%23")
}

#[tokio::test]
async fn a_group_page_shows_members_joins_and_the_check_in_rate_by_day() {
    let w = World::new().await;
    w.set_rules(json!({"check_in": {"enabled": true, "base_points": 1}}))
        .await;
    w.join("wrPage", "wmG1").await;
    w.join("wrPage", "wmG2").await;
    check_in(&w, "wmG1").await;
    deliver(
        &w,
        "cb:g:1",
        DomainEvent::MemberJoinedGroup {
            chat_id: "wrPage".into(),
            member_id: "wmG2".into(),
            is_customer: true,
            join_scene: Some(3),
            state: None,
        },
    )
    .await;
    let (status, body) = w.admin_get("/v1/groups/wrPage/stats?days=2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["customers_now"], 2);
    assert_eq!(body["members_now"], 2);
    let today = &body["days"][1];
    assert_eq!(today["date"], "2026-03-10");
    assert_eq!(
        (
            &today["checked_in"],
            &today["joined"],
            &today["check_in_rate"]
        ),
        (&json!(1), &json!(1), &json!(0.5))
    );
    assert_eq!(body["days"][0]["checked_in"], 0);
    let (status, _) = w.admin_get("/v1/groups/wrNobody/stats").await;
    assert_eq!(status, 404);
    let (status, _) = w.admin_get("/v1/groups/wrPage/stats?days=91").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_rules_preview_prices_a_scenario_item_by_item_without_writing() {
    let w = World::new().await;
    let viewer = key_with_role(&w.db, w.tenant(), Role::Viewer).await;
    let rules = json!({
        "newcomer": {"enabled": true, "points": 50, "on_contact_added": true},
        "check_in": {"enabled": true, "base_points": 2,
            "streak_tiers": [{"days": 3, "bonus": 10}], "streak_tier_mode": "once"},
        "profile": {"enabled": true, "points": 20, "fields": ["name"]},
        "validity_days": 30
    });
    let body = json!({"rules": rules, "scenario": {"check_in_days": 4, "start_date": "2026-03-01",
        "newcomer": true, "profile_complete": true}});
    let (status, out) = w
        .admin_call(json_request(
            "POST",
            "/v1/points/rules/preview",
            &format!("Bearer {}", viewer.reveal()),
            &body,
        ))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["check_in_total"], 2 * 4 + 10);
    assert_eq!(out["total"], 50 + 18 + 20);
    assert_eq!(out["items"][3]["streak_bonus"], 10);
    assert_eq!(out["items"][0]["expires_on"], "2026-03-31");
    // Nothing was saved.
    let (_, saved) = w.admin_get("/v1/points/rules").await;
    assert_eq!(saved["check_in"]["enabled"], false);
    // Invalid rules and scenarios are refused with the rules' own message.
    let bad = json!({"rules": {"check_in": {"enabled": true, "base_points": -1}}});
    let (status, out) = w.admin_json("POST", "/v1/points/rules/preview", &bad).await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (400, Some("validation_failed"))
    );
    for bad in [
        json!({"rules": {}, "scenario": {"check_in_days": 367}}),
        json!({"rules": {}, "scenario": {"unknown": true}}),
        json!({"scenario": {}}),
    ] {
        let (status, _) = w.admin_json("POST", "/v1/points/rules/preview", &bad).await;
        assert_eq!(status, 400, "{bad}");
    }
}
