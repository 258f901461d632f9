//! The customer API: tokens (sessions are minted by the admin API, see `sessions`), CORS,
//! check-ins (streaks, missed days, the tenant's midnight), profile completion, follows,
//! balance and history, rewards and redemption.
use super::{shanghai, World};
use scrm_core::clock::Clock;
use scrm_core::config::Secret;
use scrm_core::tokens::{self, Claims, TokenKind};
use scrm_tests::*;
use serde_json::{json, Value};

fn check_in_rules() -> Value {
    json!({
        "check_in": {
            "enabled": true,
            "base_points": 10,
            "streak_tiers": [{"days": 3, "bonus": 5}, {"days": 7, "bonus": 20}, {"days": 15, "bonus": 50}],
            "cumulative_tiers": [{"days": 4, "bonus": 7}, {"days": 10, "bonus": 15}, {"days": 20, "bonus": 40}],
            "cumulative_period": "month"
        }
    })
}

#[tokio::test]
async fn only_a_valid_customer_token_of_this_tenant_is_accepted() {
    let w = World::new().await;
    let now = w.clock.now();
    let issue = |kind, tenant: &str, expires_at: i64| {
        tokens::issue(
            &scrm_tests::signing_keys(),
            &Claims {
                tenant: tenant.into(),
                subject: "wmTok".into(),
                kind,
                expires_at,
            },
        )
    };
    let cases = [
        None,
        Some("garbage".to_string()),
        Some(issue(
            TokenKind::Customer,
            w.tenant().as_str(),
            now.timestamp() - 1,
        )),
        Some(issue(
            TokenKind::Staff,
            w.tenant().as_str(),
            now.timestamp() + 60,
        )),
        Some(issue(
            TokenKind::Customer,
            "wwunknowntenant",
            now.timestamp() + 60,
        )),
        Some(tokens::issue(
            // The same key id with another secret.
            &scrm_core::tokens::SigningKeys::single("test", Secret::new("another-key-0123456789"))
                .unwrap(),
            &Claims {
                tenant: w.tenant().to_string(),
                subject: "wmTok".into(),
                kind: TokenKind::Customer,
                expires_at: now.timestamp() + 60,
            },
        )),
    ];
    for token in cases {
        let headers: Vec<(&str, String)> = token
            .iter()
            .map(|t| ("authorization", format!("Bearer {t}")))
            .collect();
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = w
            .customer_call(request("POST", "/v1/check-in", &headers, None))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthenticated")),
            "{token:?}"
        );
    }
    assert_eq!(w.invariants("wmTok").await, 0);
}

#[tokio::test]
async fn check_ins_pay_streak_tiers_and_a_missed_day_breaks_the_streak() {
    let w = World::at(shanghai(2026, 3, 1, 9, 0)).await;
    w.set_rules(check_in_rules()).await;
    let mut paid = Vec::new();
    // Mar 1, 2, 3 (streak 3 → +5), Mar 4 (4th check-in this month → +7), miss Mar 5,
    // Mar 6 restarts at 1.
    for day in [1, 2, 3, 4, 6] {
        w.clock.set(shanghai(2026, 3, day, 9, 0));
        let (status, body) = w
            .as_customer("wmStreak", "POST", "/v1/check-in", None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["replayed"], false);
        paid.push(body["amount"].as_i64().unwrap());
        if day == 4 {
            let (_, me) = w.as_customer("wmStreak", "GET", "/v1/me", None).await;
            assert_eq!(me["current_streak"], 4);
        }
    }
    assert_eq!(paid, vec![10, 10, 15, 17, 10]);
    let (_, me) = w.as_customer("wmStreak", "GET", "/v1/me", None).await;
    assert_eq!(me["current_streak"], 1);
    assert_eq!(me["longest_streak"], 4);
    assert_eq!(me["total_check_ins"], 5);
    assert_eq!(me["checked_in_today"], true);
    // A day later without checking in, the streak still shows; two days later it is broken.
    w.clock.set(shanghai(2026, 3, 8, 9, 0));
    let (_, me) = w.as_customer("wmStreak", "GET", "/v1/me", None).await;
    assert_eq!(me["current_streak"], 0);
    assert_eq!(w.invariants("wmStreak").await, 62);
}

#[tokio::test]
async fn the_day_turns_at_midnight_in_the_tenants_timezone_not_utc() {
    let w = World::at(shanghai(2026, 3, 10, 23, 59)).await;
    w.set_rules(check_in_rules()).await;
    let (_, first) = w.as_customer("wmTz", "POST", "/v1/check-in", None).await;
    assert_eq!(first["details"]["date"], "2026-03-10");
    // 00:01 Shanghai is a new day (16:01 UTC the day before) and continues the streak.
    w.clock.set(shanghai(2026, 3, 11, 0, 1));
    let (_, second) = w.as_customer("wmTz", "POST", "/v1/check-in", None).await;
    assert_eq!(second["replayed"], false);
    assert_eq!(second["details"]["date"], "2026-03-11");
    assert_eq!(second["details"]["state"]["streak"], 2);
    // UTC midnight (08:00 Shanghai) is not a boundary: still Mar 11, so this replays.
    w.clock.set(shanghai(2026, 3, 11, 8, 30));
    let (_, third) = w.as_customer("wmTz", "POST", "/v1/check-in", None).await;
    assert_eq!(third["replayed"], true);
    assert_eq!(third["seq"], second["seq"]);
    assert_eq!(w.invariants("wmTz").await, 20);
}

#[tokio::test]
async fn one_check_in_per_day_whatever_is_retried_even_at_once() {
    let w = World::new().await;
    w.set_rules(check_in_rules()).await;
    let results = futures::future::join_all(
        (0..8).map(|_| w.as_customer("wmOnce", "POST", "/v1/check-in", None)),
    )
    .await;
    assert!(results.iter().all(|(s, _)| *s == 200));
    assert_eq!(
        results
            .iter()
            .filter(|(_, b)| b["replayed"] == false)
            .count(),
        1
    );
    assert_eq!(w.invariants("wmOnce").await, 10);
}

#[tokio::test]
async fn check_in_is_refused_when_the_rule_is_off() {
    let w = World::new().await;
    let (status, body) = w.as_customer("wmOff", "POST", "/v1/check-in", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("rule_disabled"))
    );
    assert_eq!(w.invariants("wmOff").await, 0);
}

#[tokio::test]
async fn profile_completion_pays_once_when_every_chosen_field_is_filled() {
    let w = World::new().await;
    w.set_rules(json!({"profile": {"enabled": true, "points": 30, "fields": ["name", "mobile"]}}))
        .await;
    let (status, body) = w
        .as_customer(
            "wmProf",
            "PUT",
            "/v1/me/profile",
            Some(&json!({"name": "韩梅梅"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["complete"].as_bool(), body["reward"].is_null()),
        (Some(false), true)
    );
    let (status, body) = w
        .as_customer(
            "wmProf",
            "PUT",
            "/v1/me/profile",
            Some(&json!({"mobile": "12"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation_failed"))
    );
    let (_, body) = w
        .as_customer(
            "wmProf",
            "PUT",
            "/v1/me/profile",
            Some(&json!({"mobile": "13800138000"})),
        )
        .await;
    assert_eq!(body["complete"], true);
    assert_eq!(body["reward"]["amount"], 30);
    assert_eq!(body["reward"]["replayed"], false);
    assert_eq!(body["profile"]["name"], "韩梅梅");
    // Editing again never pays again.
    let (_, body) = w
        .as_customer(
            "wmProf",
            "PUT",
            "/v1/me/profile",
            Some(&json!({"address": "上海市"})),
        )
        .await;
    assert_eq!(body["reward"]["replayed"], true);
    assert_eq!(w.invariants("wmProf").await, 30);
}

#[tokio::test]
async fn following_pays_once_per_channel() {
    let w = World::new().await;
    w.set_rules(json!({
        "follow_official_account": {"enabled": true, "points": 20},
        "follow_video_channel": {"enabled": true, "points": 15}
    }))
    .await;
    let follow = |ch: &str| json!({"channel": ch});
    let (s1, a) = w
        .as_customer(
            "wmFol",
            "POST",
            "/v1/me/follows",
            Some(&follow("official_account")),
        )
        .await;
    let (_, b) = w
        .as_customer(
            "wmFol",
            "POST",
            "/v1/me/follows",
            Some(&follow("official_account")),
        )
        .await;
    let (_, c) = w
        .as_customer(
            "wmFol",
            "POST",
            "/v1/me/follows",
            Some(&follow("video_channel")),
        )
        .await;
    assert_eq!(s1, 200, "{a}");
    assert_eq!(
        (a["amount"].as_i64(), a["replayed"].as_bool()),
        (Some(20), Some(false))
    );
    assert_eq!(b["replayed"], true);
    assert_eq!(c["amount"], 15);
    let (status, body) = w
        .as_customer("wmFol", "POST", "/v1/me/follows", Some(&follow("tiktok")))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation_failed"))
    );
    assert_eq!(w.invariants("wmFol").await, 35);
}

#[tokio::test]
async fn history_is_paged_newest_first() {
    let w = World::at(shanghai(2026, 3, 1, 9, 0)).await;
    w.set_rules(check_in_rules()).await;
    for day in 1..=5 {
        w.clock.set(shanghai(2026, 3, day, 9, 0));
        w.as_customer("wmHist", "POST", "/v1/check-in", None).await;
    }
    let (_, page1) = w
        .as_customer("wmHist", "GET", "/v1/me/ledger?limit=2", None)
        .await;
    let seqs = |p: &Value| -> Vec<i64> {
        p["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(seqs(&page1), vec![5, 4]);
    assert_eq!(page1["entries"][0]["kind"], "earn");
    assert_eq!(page1["entries"][0]["reason"], "check_in");
    assert!(page1["entries"][0]["operator"]
        .as_str()
        .unwrap()
        .starts_with("customer:"));
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = w
        .as_customer(
            "wmHist",
            "GET",
            &format!("/v1/me/ledger?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(seqs(&page2), vec![3, 2]);
    let (_, page3) = w
        .as_customer(
            "wmHist",
            "GET",
            &format!(
                "/v1/me/ledger?limit=2&cursor={}",
                page2["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(seqs(&page3), vec![1]);
    assert!(page3["next_cursor"].is_null());
    let (status, _) = w
        .as_customer("wmHist", "GET", "/v1/me/ledger?cursor=x", None)
        .await;
    assert_eq!(status, 400);
}

async fn reward(w: &World, cost: i64, stock: i64) -> String {
    let bearer = w.t.bearer();
    let key = format!("mug-{}", ulid::Ulid::new());
    let (status, body) = w
        .admin_call(request(
            "POST",
            "/v1/points/rewards",
            &[("authorization", &bearer), ("idempotency-key", &key)],
            Some(
                serde_json::to_vec(&json!({"name": "Mug", "cost": cost, "stock": stock})).unwrap(),
            ),
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    body["reward_id"].as_str().unwrap().to_string()
}

async fn award(w: &World, customers: &[&str], points: i64) {
    w.known(customers).await;
    let (status, body) = w
        .admin_json(
            "POST",
            "/v1/points/bulk",
            &json!({"operation": "award", "external_userids": customers, "points": points,
                    "idempotency_key": format!("seed-{}", ulid::Ulid::new())}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn redeem_req(w: &World, ext: &str, reward: &str, key: Option<&str>) -> lambda_http::Request {
    let bearer = format!("Bearer {}", w.token(ext));
    let mut headers = vec![("authorization", bearer.as_str())];
    if let Some(k) = key {
        headers.push(("idempotency-key", k));
    }
    request(
        "POST",
        &format!("/v1/rewards/{reward}/redeem"),
        &headers,
        None,
    )
}

#[tokio::test]
async fn a_redemption_spends_points_and_stock_once_per_key() {
    let w = World::new().await;
    let id = reward(&w, 100, 5).await;
    award(&w, &["wmRed"], 250).await;
    let (_, list) = w.as_customer("wmRed", "GET", "/v1/rewards", None).await;
    assert_eq!(list["rewards"][0]["reward_id"], id.as_str());
    assert_eq!(list["rewards"][0]["in_stock"], true);
    assert_eq!(list["rewards"][0]["stock"], 5);

    let (status, body) = w.customer_call(redeem_req(&w, "wmRed", &id, None)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("idempotency_key_required"))
    );
    let (status, first) = w
        .customer_call(redeem_req(&w, "wmRed", &id, Some("r-1")))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (first["amount"].as_i64(), first["kind"].as_str()),
        (Some(-100), Some("spend"))
    );
    let (_, retry) = w
        .customer_call(redeem_req(&w, "wmRed", &id, Some("r-1")))
        .await;
    assert_eq!(retry["replayed"], true);
    assert_eq!(retry["seq"], first["seq"]);
    let (_, second) = w
        .customer_call(redeem_req(&w, "wmRed", &id, Some("r-2")))
        .await;
    assert_eq!(second["balance"], 50);
    let (status, body) = w
        .customer_call(redeem_req(&w, "wmRed", &id, Some("r-3")))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("insufficient_points"))
    );
    assert_eq!(body["error"]["details"]["available"], 50);
    let (_, r) = w.admin_get("/v1/points/rewards").await;
    assert_eq!(
        (
            r["rewards"][0]["stock"].as_i64(),
            r["rewards"][0]["redeemed"].as_i64()
        ),
        (Some(3), Some(2))
    );
    // The mall shows the same count the catalogue keeps.
    let (_, list) = w.as_customer("wmRed", "GET", "/v1/rewards", None).await;
    assert_eq!(
        (
            list["rewards"][0]["stock"].as_i64(),
            list["rewards"][0]["in_stock"].as_bool()
        ),
        (Some(3), Some(true))
    );
    let (_, reds) = w
        .admin_get(&format!("/v1/points/rewards/{id}/redemptions"))
        .await;
    assert_eq!(reds["redemptions"].as_array().unwrap().len(), 2);
    assert_eq!(reds["redemptions"][0]["external_userid"], "wmRed");
    assert_eq!(w.invariants("wmRed").await, 50);

    let (status, body) = w
        .customer_call(redeem_req(&w, "wmRed", "nope", Some("r-4")))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = w
        .admin_json(
            "PATCH",
            &format!("/v1/points/rewards/{id}"),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = w
        .customer_call(redeem_req(&w, "wmRed", &id, Some("r-5")))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("reward_inactive"))
    );
    // A retry of a redemption made before the withdrawal still answers its result.
    let (status, again) = w
        .customer_call(redeem_req(&w, "wmRed", &id, Some("r-1")))
        .await;
    assert_eq!((status, again["replayed"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn a_hundred_concurrent_redemptions_of_ten_in_stock_sell_exactly_ten() {
    let w = World::new().await;
    let id = reward(&w, 10, 10).await;
    let customers: Vec<String> = (0..100).map(|i| format!("wmRush{i:03}")).collect();
    let refs: Vec<&str> = customers.iter().map(String::as_str).collect();
    award(&w, &refs, 10).await;
    let results = futures::future::join_all(
        customers
            .iter()
            .map(|c| w.customer_call(redeem_req(&w, c, &id, Some("rush")))),
    )
    .await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let sold_out = results
        .iter()
        .filter(|(s, b)| *s == 409 && b["error"]["code"] == "out_of_stock")
        .count();
    assert_eq!(
        (ok, sold_out),
        (10, 90),
        "{:?}",
        results.iter().find(|(s, _)| *s != 200 && *s != 409)
    );
    let (_, r) = w.admin_get("/v1/points/rewards").await;
    assert_eq!(
        (
            r["rewards"][0]["stock"].as_i64(),
            r["rewards"][0]["redeemed"].as_i64()
        ),
        (Some(0), Some(10))
    );
    let mut total = 0;
    for c in &customers {
        total += w.invariants(c).await;
    }
    assert_eq!(total, 900);
    let (_, reds) = w
        .admin_get(&format!("/v1/points/rewards/{id}/redemptions?limit=100"))
        .await;
    assert_eq!(reds["redemptions"].as_array().unwrap().len(), 10);
    let (_, list) = w.as_customer("wmRush000", "GET", "/v1/rewards", None).await;
    assert_eq!(
        (
            list["rewards"][0]["stock"].as_i64(),
            list["rewards"][0]["in_stock"].as_bool()
        ),
        (Some(0), Some(false))
    );
}

#[tokio::test]
async fn the_customer_api_answers_cors_preflights_without_a_token() {
    let w = super::World::new().await;
    let preflight = request(
        "OPTIONS",
        "/v1/rewards/r1/redeem",
        &[
            ("origin", "https://h5.shop.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization, content-type, idempotency-key",
            ),
        ],
        None,
    );
    let resp = customer_api_fn::handle(&w.customer, preflight)
        .await
        .unwrap();
    let header = |resp: &lambda_http::Response<lambda_http::Body>, name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        header(&resp, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let methods = header(&resp, "access-control-allow-methods").unwrap();
    assert!(
        methods.contains("POST") && methods.contains("PUT"),
        "{methods}"
    );
    let headers = header(&resp, "access-control-allow-headers").unwrap();
    for h in ["authorization", "content-type", "idempotency-key"] {
        assert!(headers.contains(h), "{headers}");
    }
    // Unknown paths stay unknown.
    let resp = customer_api_fn::handle(&w.customer, request("OPTIONS", "/v1/nope", &[], None))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    // Actual answers carry the origin header too, errors included, so the page can read them.
    let resp = customer_api_fn::handle(&w.customer, request("GET", "/v1/me", &[], None))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(
        header(&resp, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let bearer = format!("Bearer {}", w.token("wmCors"));
    let resp = customer_api_fn::handle(
        &w.customer,
        request("GET", "/v1/me", &[("authorization", &bearer)], None),
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        header(&resp, "access-control-allow-origin").as_deref(),
        Some("*")
    );
}

#[tokio::test]
async fn a_once_rule_already_paid_stays_paid_after_the_tenant_changes_its_amount() {
    let w = World::new().await;
    let rules = |profile: i64, follow: i64| {
        json!({
            "profile": {"enabled": true, "points": profile, "fields": ["name"]},
            "follow_official_account": {"enabled": true, "points": follow}
        })
    };
    w.set_rules(rules(30, 20)).await;
    let name = json!({"name": "李雷"});
    let (_, saved) = w
        .as_customer("wmOnceAmt", "PUT", "/v1/me/profile", Some(&name))
        .await;
    assert_eq!(saved["reward"]["amount"], 30, "{saved}");
    let follow = json!({"channel": "official_account"});
    let (_, followed) = w
        .as_customer("wmOnceAmt", "POST", "/v1/me/follows", Some(&follow))
        .await;
    assert_eq!(followed["amount"], 20, "{followed}");
    // The tenant raises both amounts: what was paid stays paid, nothing is refused.
    w.set_rules(rules(50, 40)).await;
    let (status, saved) = w
        .as_customer(
            "wmOnceAmt",
            "PUT",
            "/v1/me/profile",
            Some(&json!({"address": "上海市"})),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        (
            saved["reward"]["replayed"].as_bool(),
            saved["reward"]["amount"].as_i64()
        ),
        (Some(true), Some(30))
    );
    assert_eq!(saved["profile"]["address"], "上海市");
    let (status, followed) = w
        .as_customer("wmOnceAmt", "POST", "/v1/me/follows", Some(&follow))
        .await;
    assert_eq!(status, 200, "{followed}");
    assert_eq!(
        (followed["replayed"].as_bool(), followed["amount"].as_i64()),
        (Some(true), Some(20))
    );
    assert_eq!(w.invariants("wmOnceAmt").await, 50);
}

async fn check_in_days(w: &World, ext: &str, days: std::ops::RangeInclusive<u32>) -> Vec<i64> {
    let mut paid = Vec::new();
    for day in days {
        w.clock.set(shanghai(2026, 3, day, 9, 0));
        let (status, body) = w.as_customer(ext, "POST", "/v1/check-in", None).await;
        assert_eq!(status, 200, "{body}");
        paid.push(body["amount"].as_i64().unwrap());
    }
    paid
}

#[tokio::test]
async fn streak_tiers_repeat_as_a_cycle_after_the_longest_tier_unless_set_once() {
    let tiers =
        json!([{"days": 3, "bonus": 5}, {"days": 7, "bonus": 20}, {"days": 15, "bonus": 50}]);
    let w = World::at(shanghai(2026, 3, 1, 9, 0)).await;
    w.set_rules(json!({"check_in": {"enabled": true, "base_points": 10, "streak_tiers": tiers}}))
        .await;
    let paid = check_in_days(&w, "wmCycle", 1..=22).await;
    // Days 3, 7 and 15 of the streak pay their tiers; day 16 starts the next cycle, so
    // days 18 and 22 (its 3rd and 7th) pay the 3- and 7-day tiers again.
    let bonus_days: Vec<(usize, i64)> = paid
        .iter()
        .enumerate()
        .filter(|(_, p)| **p > 10)
        .map(|(i, p)| (i + 1, *p))
        .collect();
    assert_eq!(
        bonus_days,
        vec![(3, 15), (7, 30), (15, 60), (18, 15), (22, 30)]
    );
    assert_eq!(w.invariants("wmCycle").await, paid.iter().sum::<i64>());

    // Tiers paid once per streak: after day 15 only the base.
    let w = World::at(shanghai(2026, 3, 1, 9, 0)).await;
    w.set_rules(
        json!({"check_in": {"enabled": true, "base_points": 10, "streak_tiers": tiers,
        "streak_tier_mode": "once"}}),
    )
    .await;
    let paid = check_in_days(&w, "wmOnceTier", 1..=18).await;
    assert_eq!((paid[14], paid[17]), (60, 10));
}

#[tokio::test]
async fn the_check_in_page_reads_the_streak_the_next_tiers_and_the_months_days() {
    let w = World::at(shanghai(2026, 3, 1, 9, 0)).await;
    w.set_rules(check_in_rules()).await;
    // Before any check-in: three days to the 3-day tier, four check-ins to the 4th.
    let (status, page) = w.as_customer("wmPage", "GET", "/v1/check-in", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (
            page["today"].as_str(),
            page["month"].as_str(),
            page["checked_in_today"].as_bool()
        ),
        (Some("2026-03-01"), Some("2026-03"), Some(false))
    );
    assert_eq!(
        page["next_streak_tier"],
        json!({"days": 3, "bonus": 5, "remaining": 3})
    );
    assert_eq!(
        page["next_cumulative_tier"],
        json!({"days": 4, "bonus": 7, "remaining": 4})
    );
    assert_eq!(page["days"], json!([]));

    // Mar 1, 2, 3 and 4, a missed 5th, then the 6th; Feb's days belong to another month.
    check_in_days(&w, "wmPage", 1..=4).await;
    w.clock.set(shanghai(2026, 3, 6, 9, 0));
    w.as_customer("wmPage", "POST", "/v1/check-in", None).await;
    let (_, page) = w.as_customer("wmPage", "GET", "/v1/check-in", None).await;
    assert_eq!(
        page["days"],
        json!([
            "2026-03-01",
            "2026-03-02",
            "2026-03-03",
            "2026-03-04",
            "2026-03-06"
        ])
    );
    assert_eq!(
        (
            page["current_streak"].as_i64(),
            page["checked_in_today"].as_bool()
        ),
        (Some(1), Some(true))
    );
    assert_eq!(page["next_streak_tier"]["remaining"], 2);
    assert_eq!(
        page["next_cumulative_tier"],
        json!({"days": 10, "bonus": 15, "remaining": 5})
    );
    assert_eq!(page["period_check_ins"], 5);
    assert_eq!(page["balance"], w.invariants("wmPage").await);

    // Another month: its own days, none from March.
    let (status, feb) = w
        .as_customer("wmPage", "GET", "/v1/check-in?month=2026-02", None)
        .await;
    assert_eq!((status, feb["month"].as_str()), (200, Some("2026-02")));
    assert_eq!(feb["days"], json!([]));
    for bad in ["2026-13", "2026-3", "march"] {
        let (status, body) = w
            .as_customer("wmPage", "GET", &format!("/v1/check-in?month={bad}"), None)
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("validation_failed")),
            "{bad}"
        );
    }
}
