//! The admin API of points: rules, bulk operations (inline and as resumable jobs), group
//! awards, CSV imports, the rewards catalogue and the views.
use super::{shanghai, World};
use lambda_runtime::{Context, LambdaEvent};
use points_jobs_fn::Limits;
use scrm_core::clock::Clock;
use scrm_core::events::DomainEvent;
use scrm_core::points::ledger::{apply, Operation};
use scrm_core::points::{EntryKind, IdempotencyKey, Origin, Points};
use scrm_core::tenants::Role;
use scrm_tests::*;
use serde_json::{json, Value};

#[tokio::test]
async fn rules_are_read_validated_and_replaced_by_admins_only() {
    let w = World::new().await;
    let (status, rules) = w.admin_get("/v1/points/rules").await;
    assert_eq!(status, 200);
    assert_eq!(rules["check_in"]["enabled"], false);
    assert!(rules["validity_days"].is_null());
    let bad = json!({"check_in": {"enabled": true, "base_points": 5,
        "streak_tiers": [{"days": 7, "bonus": 1}, {"days": 3, "bonus": 1}]}});
    let (status, body) = w.admin_json("PUT", "/v1/points/rules", &bad).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation_failed"))
    );
    assert_eq!(
        body["error"]["details"]["field"],
        "check_in.streak_tiers[1].days"
    );
    let (status, _) = w
        .admin_json("PUT", "/v1/points/rules", &json!({"nonsense": 1}))
        .await;
    assert_eq!(status, 400);
    let operator = key_with_role(&w.db, w.tenant(), Role::Operator).await;
    let (status, _) = w
        .admin_call(json_request(
            "PUT",
            "/v1/points/rules",
            &format!("Bearer {}", operator.reveal()),
            &json!({"zero_on_leave": true}),
        ))
        .await;
    assert_eq!(status, 403);
    let (_, rules) = w.admin_get("/v1/points/rules").await;
    assert_eq!(rules["zero_on_leave"], false, "nothing changed");
    let good = json!({"zero_on_leave": true, "validity_days": 365,
        "profile": {"enabled": true, "points": 5, "fields": ["name", "address"]}});
    let (status, _) = w.admin_json("PUT", "/v1/points/rules", &good).await;
    assert_eq!(status, 200);
    let (_, rules) = w.admin_get("/v1/points/rules").await;
    assert_eq!(
        (
            rules["zero_on_leave"].as_bool(),
            rules["validity_days"].as_i64()
        ),
        (Some(true), Some(365))
    );
    assert_eq!(rules["profile"]["fields"], json!(["name", "address"]));
}

async fn bulk(w: &World, body: Value) -> (u16, Value) {
    w.admin_json("POST", "/v1/points/bulk", &body).await
}

#[tokio::test]
async fn bulk_award_deduct_and_clear_report_per_customer_and_replay() {
    let w = World::new().await;
    w.known(&["wmB1", "wmB2", "wmB3"]).await;
    let award = json!({"operation": "award", "external_userids": ["wmB1", "wmB2", "wmB3", "wmGhost", "wmB1"],
        "points": 100, "reason": "launch gift", "idempotency_key": "gift-1"});
    let (status, body) = bulk(&w, award.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "inline");
    assert_eq!(body["summary"]["applied"], 3);
    assert_eq!(body["summary"]["rejected"], 1);
    assert_eq!(body["duplicates_ignored"], 1);
    let ghost = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["external_userid"] == "wmGhost")
        .unwrap();
    assert_eq!(ghost["code"], "unknown_customer");
    // The same request again: the first answer, nothing paid twice.
    let (status, again) = bulk(&w, award).await;
    assert_eq!((status, again["replayed"].as_bool()), (200, Some(true)));
    assert_eq!(again["summary"], body["summary"]);
    // The same key for another request: refused.
    let (status, body) = bulk(&w, json!({"operation": "award", "external_userids": ["wmB1"], "points": 5, "idempotency_key": "gift-1"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    for c in ["wmB1", "wmB2", "wmB3"] {
        assert_eq!(w.invariants(c).await, 100);
    }
    let (_, ledger) = w.admin_get("/v1/points/customers/wmB1/ledger").await;
    let e = &ledger["entries"][0];
    assert_eq!(
        (e["reason"].as_str(), e["source"].as_str()),
        (Some("launch gift"), Some("admin-api:bulk"))
    );
    assert!(e["operator"].as_str().unwrap().starts_with("key:"));

    let (_, body) = bulk(&w, json!({"operation": "deduct", "external_userids": ["wmB1", "wmB2"], "points": 60, "idempotency_key": "d1"})).await;
    assert_eq!(body["summary"]["applied"], 2);
    let (_, body) = bulk(&w, json!({"operation": "deduct", "external_userids": ["wmB1", "wmB3"], "points": 60, "idempotency_key": "d2"})).await;
    let r = body["results"].as_array().unwrap();
    assert_eq!(
        (r[0]["code"].as_str(), r[1]["status"].as_str()),
        (Some("insufficient_points"), Some("applied"))
    );
    let (_, body) = bulk(&w, json!({"operation": "clear", "external_userids": ["wmB2", "wmB3"], "idempotency_key": "c1"})).await;
    assert_eq!(body["summary"]["points"], -80);
    assert_eq!(w.invariants("wmB1").await, 40);
    assert_eq!(w.invariants("wmB2").await, 0);
    assert_eq!(w.invariants("wmB3").await, 0);
}

#[tokio::test]
async fn bad_bulk_requests_are_refused_and_change_nothing() {
    let w = World::new().await;
    w.known(&["wmOk"]).await;
    for (body, code) in [
        (
            json!({"operation": "award", "external_userids": ["wmOk", "bad id!"], "points": 5, "idempotency_key": "x1"}),
            "validation_failed",
        ),
        (
            json!({"operation": "award", "external_userids": ["wmOk"], "points": 0, "idempotency_key": "x2"}),
            "validation_failed",
        ),
        (
            json!({"operation": "award", "external_userids": ["wmOk"], "points": 5}),
            "idempotency_key_required",
        ),
        (
            json!({"operation": "clear", "external_userids": ["wmOk"], "points": 5, "idempotency_key": "x3"}),
            "validation_failed",
        ),
        (
            json!({"operation": "award", "external_userids": [], "points": 5, "idempotency_key": "x4"}),
            "validation_failed",
        ),
        (
            json!({"operation": "import", "external_userids": ["wmOk"], "points": 5, "idempotency_key": "x5"}),
            "validation_failed",
        ),
        (
            json!({"operation": "steal", "external_userids": ["wmOk"], "points": 5, "idempotency_key": "x6"}),
            "validation_failed",
        ),
    ] {
        let (status, resp) = bulk(&w, body.clone()).await;
        assert_eq!(
            (status, resp["error"]["code"].as_str()),
            (400, Some(code)),
            "{body} → {resp}"
        );
    }
    assert_eq!(w.invariants("wmOk").await, 0);
}

async fn deliver_job(w: &World, env: &scrm_core::events::EventEnvelope, limits: Limits) -> Value {
    points_jobs_fn::handle(
        &w.points,
        &w.admin.tenants,
        &w.admin.publisher,
        w.clock.as_ref(),
        limits,
        LambdaEvent::new(env.to_eventbridge_json(), Context::default()),
    )
    .await
    .expect("job run")
}

#[tokio::test]
async fn a_large_award_runs_as_a_job_that_resumes_and_pays_once() {
    let w = World::new().await;
    let customers: Vec<String> = (0..1200).map(|i| format!("wmJob{i:04}")).collect();
    for chunk in customers.chunks(100) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        futures::future::join_all(refs.iter().map(|c| w.known(std::slice::from_ref(c)))).await;
    }
    let body = json!({"operation": "award", "external_userids": customers, "points": 7, "idempotency_key": "big-1"});
    let (status, resp) = bulk(&w, body.clone()).await;
    assert_eq!(status, 202, "{resp}");
    assert_eq!(resp["mode"], "job");
    let job_id = resp["job"]["job_id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            resp["job"]["total"].as_i64(),
            resp["job"]["chunks"].as_i64()
        ),
        (Some(1200), Some(3))
    );
    let events = w.recorder.take();
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0].event, DomainEvent::PointsJobCreated { job_id: j } if *j == job_id)
    );
    // The request retried: the same job, no second announcement.
    let (status, again) = bulk(&w, body).await;
    assert_eq!(
        (status, again["job"]["job_id"].as_str()),
        (202, Some(job_id.as_str()))
    );
    assert!(w.recorder.take().is_empty());

    // A run crashed after paying the first 50 of chunk 0, before saving progress.
    for c in &customers[..50] {
        let op = Operation::credit(
            IdempotencyKey::parse("bulk:big-1").unwrap(),
            EntryKind::Earn,
            Points::new(7).unwrap(),
            None,
            Origin::new("manual", "admin-api:bulk", "key:x"),
        );
        apply(&w.points, &w.acct(c), &op, w.when()).await.unwrap();
    }
    // Runs of one chunk each: each pauses and announces the job again.
    let mut env = events[0].clone();
    let mut runs = 0;
    loop {
        runs += 1;
        let out = deliver_job(
            &w,
            &env,
            Limits {
                max_chunks: Some(1),
                ..Limits::default()
            },
        )
        .await;
        let (_, view) = w.admin_get(&format!("/v1/points/jobs/{job_id}")).await;
        if out["status"] == "done" {
            assert_eq!(view["job"]["status"], "done");
            break;
        }
        assert_eq!(out["status"], "paused");
        assert_eq!(view["job"]["next_chunk"], runs);
        let next = w.recorder.take();
        assert_eq!(next.len(), 1, "a paused job announces itself again");
        env = next[0].clone();
        assert!(runs < 5);
    }
    assert_eq!(runs, 3);
    let (_, view) = w.admin_get(&format!("/v1/points/jobs/{job_id}")).await;
    let p = &view["job"]["progress"];
    assert_eq!(
        (
            p["applied"].as_i64(),
            p["already_applied"].as_i64(),
            p["rejected"].as_i64()
        ),
        (Some(1150), Some(50), Some(0))
    );
    // A redelivered event after the end changes nothing.
    let out = deliver_job(&w, &events[0], Limits::default()).await;
    assert_eq!(out["status"], "done");
    let (_, view2) = w.admin_get(&format!("/v1/points/jobs/{job_id}")).await;
    assert_eq!(view2["job"]["progress"], view["job"]["progress"]);
    let (_, chunk) = w
        .admin_get(&format!("/v1/points/jobs/{job_id}?chunk=0"))
        .await;
    let results = chunk["chunk"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    assert_eq!(results[0]["status"], "already_applied");
    assert_eq!(results[60]["status"], "applied");
    for c in customers.iter().step_by(97) {
        assert_eq!(w.invariants(c).await, 7);
    }
    let (_, jobs) = w.admin_get("/v1/points/jobs").await;
    assert_eq!(jobs["jobs"][0]["job_id"], job_id.as_str());
}

#[tokio::test]
async fn group_awards_pay_every_current_member_once() {
    let w = World::new().await;
    for (chat, ext) in [
        ("wrPaid", "wmG1"),
        ("wrPaid", "wmG2"),
        ("wrVip", "wmG2"),
        ("wrVip", "wmG3"),
    ] {
        w.join(chat, ext).await;
    }
    let body = json!({"chat_ids": ["wrPaid", "wrVip"], "points": 50, "reason": "members day", "idempotency_key": "md-1"});
    let (status, resp) = w.admin_json("POST", "/v1/points/group-awards", &body).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(
        (
            resp["customers"].as_i64(),
            resp["summary"]["applied"].as_i64()
        ),
        (Some(3), Some(3))
    );
    let (_, again) = w.admin_json("POST", "/v1/points/group-awards", &body).await;
    assert_eq!(again["replayed"], true);
    for c in ["wmG1", "wmG2", "wmG3"] {
        assert_eq!(w.invariants(c).await, 50);
    }
    let (status, resp) = w
        .admin_json(
            "POST",
            "/v1/points/group-awards",
            &json!({"chat_ids": ["wrNope"], "points": 5, "idempotency_key": "md-2"}),
        )
        .await;
    assert_eq!(
        (
            status,
            resp["error"]["details"]["unknown_chat_ids"][0].as_str()
        ),
        (404, Some("wrNope"))
    );
}

fn csv_request(w: &World, csv: &str) -> lambda_http::Request {
    request(
        "POST",
        "/v1/points/imports?reason=past%20orders",
        &[
            ("authorization", &w.t.bearer()),
            ("content-type", "text/csv"),
        ],
        Some(csv.as_bytes().to_vec()),
    )
}

#[tokio::test]
async fn a_csv_import_reports_every_row_and_never_applies_twice() {
    let w = World::new().await;
    w.known(&["wmI1", "wmI2"]).await;
    let csv = "external_userid,points,ref\n\
               wmI1,120,order-1\n\
               wmI2,80,order-2\n\
               wmNobody,10,order-3\n\
               wmI1,12x,order-4\n\
               wmI1,120,order-1\n\
               wmI2,5,\n";
    let (status, report) = w.admin_call(csv_request(&w, csv)).await;
    assert_eq!(status, 200, "{report}");
    let rows = report["results"].as_array().unwrap();
    let line = |n: i64| rows.iter().find(|r| r["line"] == n).unwrap();
    assert_eq!(line(2)["status"], "applied");
    assert_eq!(line(3)["status"], "applied");
    assert_eq!(line(4)["code"], "unknown_customer");
    assert_eq!(line(5)["code"], "bad_number");
    assert_eq!(line(6)["code"], "duplicate_row");
    assert_eq!(line(7)["status"], "applied");
    assert_eq!(report["summary"]["applied"], 3);
    assert_eq!(report["summary"]["rejected"], 3);
    assert_eq!(w.invariants("wmI1").await, 120);
    assert_eq!(w.invariants("wmI2").await, 85);
    let (_, ledger) = w.admin_get("/v1/points/customers/wmI1/ledger").await;
    assert_eq!(
        (
            ledger["entries"][0]["kind"].as_str(),
            ledger["entries"][0]["reason"].as_str()
        ),
        (Some("import"), Some("past orders"))
    );

    // The same file again: the first report, nothing applied.
    let (status, again) = w.admin_call(csv_request(&w, csv)).await;
    assert_eq!((status, again["replayed"].as_bool()), (200, Some(true)));
    // A later export repeating the rows plus a new one: only the new row applies.
    let later = format!("{csv}wmI2,1,order-9\n");
    let (_, report) = w.admin_call(csv_request(&w, &later)).await;
    assert_eq!(report["summary"]["applied"], 1);
    assert_eq!(report["summary"]["already_applied"], 3);
    assert_eq!(w.invariants("wmI1").await, 120);
    assert_eq!(w.invariants("wmI2").await, 86);
}

#[tokio::test]
async fn a_malformed_csv_is_refused_whole_and_changes_nothing() {
    let w = World::new().await;
    w.known(&["wmM1"]).await;
    for (csv, line) in [
        ("external_userid,points\nwmM1,10\nwmM1,20,extra\n", Some(3)),
        ("customer,amount\nwmM1,10\n", None),
        ("", None),
        ("external_userid,points\n", None),
    ] {
        let (status, body) = w.admin_call(csv_request(&w, csv)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("malformed_csv")),
            "{csv:?} {body}"
        );
        if let Some(l) = line {
            assert_eq!(body["error"]["details"]["line"], l);
        }
    }
    let (status, body) = w
        .admin_call(request(
            "POST",
            "/v1/points/imports",
            &[("authorization", &w.t.bearer())],
            Some(vec![0xff, 0xfe, 0x41]),
        ))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_csv"))
    );
    assert_eq!(w.invariants("wmM1").await, 0);
}

#[tokio::test]
async fn the_rewards_catalogue_is_managed_with_stock_deltas() {
    let w = World::new().await;
    let (status, body) = w
        .admin_json(
            "POST",
            "/v1/points/rewards",
            &json!({"name": "", "cost": 10, "stock": 1}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation_failed"))
    );
    let (status, r) = w
        .admin_call(keyed(
            &w,
            "POST",
            "/v1/points/rewards",
            Some("tote"),
            &json!({"name": "Tote bag", "cost": 500, "stock": 3, "description": "canvas"}),
        ))
        .await;
    assert_eq!(status, 201, "{r}");
    let id = r["reward_id"].as_str().unwrap();
    let (status, r) = w
        .admin_call(keyed(
            &w,
            "PATCH",
            &format!("/v1/points/rewards/{id}"),
            Some("tote-restock"),
            &json!({"add_stock": 7, "cost": 450}),
        ))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (r["stock"].as_i64(), r["cost"].as_i64()),
        (Some(10), Some(450))
    );
    let (status, body) = w
        .admin_call(keyed(
            &w,
            "PATCH",
            &format!("/v1/points/rewards/{id}"),
            Some("tote-take"),
            &json!({"add_stock": -11}),
        ))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("insufficient_stock"))
    );
    let (status, _) = w
        .admin_json(
            "PATCH",
            "/v1/points/rewards/NOPE",
            &json!({"active": false}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, list) = w.admin_get("/v1/points/rewards").await;
    assert_eq!(list["rewards"][0]["stock"], 10);
}

#[tokio::test]
async fn views_show_balances_group_days_quiet_groups_and_daily_flows() {
    let w = World::at(shanghai(2026, 3, 20, 9, 0)).await;
    w.set_rules(json!({"check_in": {"enabled": true, "base_points": 10}}))
        .await;
    for (chat, ext) in [
        ("wrBusy", "wmV1"),
        ("wrBusy", "wmV2"),
        ("wrQuiet", "wmV3"),
        ("wrQuiet", "wmV4"),
        ("wrQuiet", "wmV5"),
    ] {
        w.join(chat, ext).await;
    }
    w.as_customer("wmV1", "POST", "/v1/check-in", None).await;
    w.as_customer("wmV2", "POST", "/v1/check-in", None).await;
    w.as_customer("wmV3", "POST", "/v1/check-in", None).await;
    let rid = {
        let (_, r) = w
            .admin_call(keyed(
                &w,
                "POST",
                "/v1/points/rewards",
                Some("pen"),
                &json!({"name": "Pen", "cost": 4, "stock": 9}),
            ))
            .await;
        r["reward_id"].as_str().unwrap().to_string()
    };
    let bearer = format!("Bearer {}", w.token("wmV1"));
    w.customer_call(request(
        "POST",
        &format!("/v1/rewards/{rid}/redeem"),
        &[("authorization", &bearer), ("idempotency-key", "p1")],
        None,
    ))
    .await;

    let (status, c) = w.admin_get("/v1/points/customers/wmV1").await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (
            c["balance"].as_i64(),
            c["current_streak"].as_i64(),
            c["total_check_ins"].as_i64()
        ),
        (Some(6), Some(1), Some(1))
    );
    assert_eq!(c["last_check_in"], "2026-03-20");

    let (_, day) = w
        .admin_get("/v1/points/groups/wrBusy/days/2026-03-20")
        .await;
    let mut who: Vec<&str> = day["checked_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    who.sort();
    assert_eq!(who, vec!["wmV1", "wmV2"]);

    let (_, rates) = w
        .admin_get("/v1/points/check-in-rates?date=2026-03-20")
        .await;
    let groups = rates["groups"].as_array().unwrap();
    assert_eq!(groups[0]["chat_id"], "wrQuiet");
    assert_eq!(
        (
            groups[0]["customers"].as_i64(),
            groups[0]["checked_in"].as_i64()
        ),
        (Some(3), Some(1))
    );
    assert_eq!(groups[1]["chat_id"], "wrBusy");
    assert_eq!(groups[1]["rate"], 1.0);

    let (_, totals) = w.admin_get("/v1/points/days/2026-03-20").await;
    assert_eq!(
        (
            totals["issued"].as_i64(),
            totals["spent"].as_i64(),
            totals["expired"].as_i64()
        ),
        (Some(30), Some(4), Some(0))
    );
    assert_eq!(totals["by_kind"]["earn"]["entries"], 3);
    let (status, _) = w.admin_get("/v1/points/days/20260320").await;
    assert_eq!(status, 400);
    let (status, _) = w.admin_get("/v1/points/customers/bad%23id").await;
    assert_eq!(status, 400);
}

#[test]
fn the_customer_api_document_lists_exactly_the_served_routes() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/customer-api.yaml"
    ))
    .expect("docs/customer-api.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("parses");
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in ops.as_mapping().expect("operations") {
            let m = method.as_str().unwrap().to_uppercase();
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) {
                documented.insert(format!("{m} {}", path.as_str().unwrap()));
            }
        }
    }
    let served: std::collections::BTreeSet<String> = customer_api_fn::routes()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(documented, served);
}

fn keyed(
    w: &World,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &Value,
) -> lambda_http::Request {
    let bearer = w.t.bearer();
    let mut headers = vec![
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(k) = key {
        headers.push(("idempotency-key", k));
    }
    request(
        method,
        path,
        &headers,
        Some(serde_json::to_vec(body).unwrap()),
    )
}

#[tokio::test]
async fn reward_writes_take_an_idempotency_key_and_a_retry_changes_stock_once() {
    let w = World::new().await;
    let mug = json!({"name": "Mug", "cost": 100, "stock": 5});
    let (status, first) = w
        .admin_call(keyed(
            &w,
            "POST",
            "/v1/points/rewards",
            Some("new-mug"),
            &mug,
        ))
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = w
        .admin_call(keyed(
            &w,
            "POST",
            "/v1/points/rewards",
            Some("new-mug"),
            &mug,
        ))
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(
        again["reward_id"], first["reward_id"],
        "a retry creates nothing"
    );
    let (_, list) = w.admin_get("/v1/points/rewards").await;
    assert_eq!(list["rewards"].as_array().unwrap().len(), 1);
    let id = first["reward_id"].as_str().unwrap();
    let path = format!("/v1/points/rewards/{id}");
    let restock = json!({"add_stock": 3});
    for _ in 0..2 {
        let (status, r) = w
            .admin_call(keyed(&w, "PATCH", &path, Some("restock-1"), &restock))
            .await;
        assert_eq!((status, r["stock"].as_i64()), (200, Some(8)), "{r}");
    }
    let (_, list) = w.admin_get("/v1/points/rewards").await;
    assert_eq!(
        list["rewards"][0]["stock"], 8,
        "the retried restock counted once"
    );
    // The same key for another change, on either route: refused, nothing changed.
    for (method, path, body) in [
        ("PATCH", path.as_str(), json!({"add_stock": 4})),
        (
            "POST",
            "/v1/points/rewards",
            json!({"name": "Cup", "cost": 100, "stock": 5}),
        ),
        (
            "POST",
            "/v1/points/rewards",
            json!({"name": "Cup", "cost": 100, "stock": 5}),
        ),
    ] {
        let key = if method == "PATCH" {
            "restock-1"
        } else {
            "new-mug"
        };
        let (status, body) = w
            .admin_call(keyed(&w, method, path, Some(key), &body))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("idempotency_key_reused")),
            "{method} {path}"
        );
    }
    // A stock change or a creation without a key is refused.
    for (method, path, body) in [
        ("PATCH", path.as_str(), json!({"add_stock": 1})),
        (
            "POST",
            "/v1/points/rewards",
            json!({"name": "Cup", "cost": 100, "stock": 5}),
        ),
    ] {
        let (status, body) = w.admin_call(keyed(&w, method, path, None, &body)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("idempotency_key_required")),
            "{method} {path}"
        );
    }
    // Changes that set a value are idempotent by themselves: no key needed.
    let (status, r) = w
        .admin_call(keyed(&w, "PATCH", &path, None, &json!({"cost": 120})))
        .await;
    assert_eq!((status, r["stock"].as_i64()), (200, Some(8)), "{r}");
    let (_, list) = w.admin_get("/v1/points/rewards").await;
    assert_eq!(list["rewards"].as_array().unwrap().len(), 1);
}

async fn known_many(w: &World, prefix: &str, n: usize) -> Vec<String> {
    let customers: Vec<String> = (0..n).map(|i| format!("{prefix}{i:04}")).collect();
    for chunk in customers.chunks(100) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        futures::future::join_all(refs.iter().map(|c| w.known(std::slice::from_ref(c)))).await;
    }
    customers
}

async fn run_job_to_end(w: &World, job_id: &str) {
    let env = scrm_core::events::EventEnvelope::new(
        format!("points-job:{job_id}"),
        w.tenant().as_str(),
        w.clock.now(),
        DomainEvent::PointsJobCreated {
            job_id: job_id.to_string(),
        },
    );
    let out = deliver_job(w, &env, Limits::default()).await;
    assert_eq!(out["status"], "done", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bulk_key_reused_with_another_body_is_refused_on_every_path() {
    let w = World::new().await;
    let a = known_many(&w, "wmKa", 1001).await;
    let b = known_many(&w, "wmKb", 1001).await;
    let order = |ids: &[String], points: i64, key: &str| json!({"operation": "award", "external_userids": ids, "points": points, "idempotency_key": key});
    let (status, r1) = bulk(&w, order(&a, 7, "reused-1")).await;
    assert_eq!(status, 202, "{r1}");
    let job_id = r1["job"]["job_id"].as_str().unwrap().to_string();
    // The request record never written (a crash between the job and the record).
    w.db.client
        .delete_item()
        .table_name(&w.db.tables.ledger)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(
                scrm_adapters::dynamo::points::keys::request_pk(w.tenant(), "bulk:reused-1"),
            ),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("REQUEST".into()),
        )
        .send()
        .await
        .unwrap();
    let (status, r2) = bulk(&w, order(&b, 9, "reused-1")).await;
    assert_eq!(
        (status, r2["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused")),
        "{r2}"
    );
    // The first request retried finds its own job.
    let (status, again) = bulk(&w, order(&a, 7, "reused-1")).await;
    assert_eq!(
        (status, again["job"]["job_id"].as_str()),
        (202, Some(job_id.as_str()))
    );
    run_job_to_end(&w, &job_id).await;
    assert_eq!(w.invariants(&a[0]).await, 7);
    assert_eq!(w.invariants(&a[1000]).await, 7);
    assert_eq!(w.invariants(&b[0]).await, 0, "the second body never ran");
    assert_eq!(w.invariants(&b[1000]).await, 0);

    // Two different bodies under one key at once: one job, the other refused.
    let (x, y) = futures::join!(
        bulk(&w, order(&a, 3, "reused-2")),
        bulk(&w, order(&b, 5, "reused-2"))
    );
    let mut statuses = [x.0, y.0];
    statuses.sort();
    assert_eq!(statuses, [202, 409], "{} / {}", x.1, y.1);
    let (winner, points, job) = if x.0 == 202 {
        (&a, 3, &x.1)
    } else {
        (&b, 5, &y.1)
    };
    run_job_to_end(&w, job["job"]["job_id"].as_str().unwrap()).await;
    let before = if x.0 == 202 { 7 } else { 0 };
    for c in winner.iter().step_by(200) {
        assert_eq!(w.invariants(c).await, before + points, "{c}");
    }
    let loser = if x.0 == 202 { &b } else { &a };
    let loser_before = if x.0 == 202 { 0 } else { 7 };
    for c in loser.iter().step_by(200) {
        assert_eq!(w.invariants(c).await, loser_before, "{c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_runners_of_one_job_pay_each_customer_once() {
    use scrm_core::points::bulk::{run_job, JobRun, Stop};
    let w = World::new().await;
    let customers = known_many(&w, "wmRun", 1600).await;
    let (status, resp) = bulk(
        &w,
        json!({"operation": "award", "external_userids": customers, "points": 7, "idempotency_key": "runners"}),
    )
    .await;
    assert_eq!(status, 202, "{resp}");
    let job_id = resp["job"]["job_id"].as_str().unwrap().to_string();
    let tz = scrm_core::tenants::TenantSettings::default().tz();
    let now = w.clock.now();
    let runners: Vec<_> = (0..6)
        .map(|_| {
            let (points, tenant, job_id) = (w.points.clone(), w.tenant().clone(), job_id.clone());
            tokio::spawn(async move {
                run_job(&points, &tenant, &job_id, tz, || now, Stop::default()).await
            })
        })
        .collect();
    for r in futures::future::join_all(runners).await {
        match r.unwrap().unwrap() {
            JobRun::Done(job) => assert_eq!(job.next_chunk, job.chunks),
            other => panic!("{other:?}"),
        }
    }
    let (_, view) = w.admin_get(&format!("/v1/points/jobs/{job_id}")).await;
    let p = &view["job"]["progress"];
    assert_eq!(view["job"]["status"], "done");
    assert_eq!(p["total"], 1600, "each chunk counted once: {p}");
    assert_eq!(
        p["applied"].as_i64().unwrap() + p["already_applied"].as_i64().unwrap(),
        1600
    );
    use futures::StreamExt;
    let balances: Vec<i64> = futures::stream::iter(&customers)
        .map(|c| w.invariants(c))
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(balances.iter().all(|b| *b == 7), "each customer paid once");
}
