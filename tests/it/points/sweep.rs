//! The expiry sweep: lots past validity leave as entries, oldest first, after the tenant's
//! midnight; a re-run changes nothing; a sweep stopped halfway resumes.
use super::{shanghai, World};
use lambda_runtime::{Context, LambdaEvent};
use scrm_core::clock::Clock;
use scrm_core::points::ledger::{apply, expire_lot, Operation};
use scrm_core::points::ports::SweepStore;
use scrm_core::points::sweep::sweep_tenant;
use scrm_core::points::{EntryKind, IdempotencyKey, Origin, Points};
use serde_json::json;
use std::time::Instant;

async fn award(w: &World, ext: &str, key: &str, points: i64) {
    w.known(&[ext]).await;
    let (status, body) = w
        .admin_json(
            "POST",
            "/v1/points/bulk",
            &json!({"operation": "award", "external_userids": [ext], "points": points, "idempotency_key": key}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["summary"]["applied"], 1, "{body}");
}

async fn sweep_all(w: &World) -> serde_json::Value {
    points_expiry_sweep_fn::handle(
        &w.points,
        &w.admin.tenants,
        w.clock.as_ref(),
        LambdaEvent::new(json!({"scheduled_time": w.clock.now()}), Context::default()),
    )
    .await
    .expect("sweep")
}

#[tokio::test]
async fn points_expire_oldest_first_after_the_tenants_midnight_and_once() {
    let w = World::at(shanghai(2026, 3, 10, 12, 0)).await;
    w.set_rules(json!({"validity_days": 2})).await;
    award(&w, "wmExp", "a1", 30).await; // expires 2026-03-12
    w.clock.set(shanghai(2026, 3, 11, 12, 0));
    award(&w, "wmExp", "a2", 20).await; // expires 2026-03-13
                                        // Spending takes the oldest lot first: 30 → 20 left in the Mar 12 lot.
    let spend = Operation::debit(
        IdempotencyKey::parse("s1").unwrap(),
        EntryKind::Deduct,
        Points::new(10).unwrap(),
        Origin::new("test", "test", "system"),
    );
    apply(&w.points, &w.acct("wmExp"), &spend, w.when())
        .await
        .unwrap();

    // 23:59 on the 11th: nothing is due yet.
    w.clock.set(shanghai(2026, 3, 11, 23, 59));
    let r = sweep_tenant(&w.points, w.tenant(), w.when(), None)
        .await
        .unwrap();
    assert_eq!((r.lots_expired, r.points_expired), (0, 0));
    assert_eq!(w.invariants("wmExp").await, 40);

    // 00:05 on the 12th in Shanghai (still the 11th in UTC): the Mar 12 lot expires.
    w.clock.set(shanghai(2026, 3, 12, 0, 5));
    let out = sweep_all(&w).await;
    let mine = out["swept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tenant"] == w.tenant().as_str())
        .cloned()
        .expect("this tenant swept");
    assert_eq!(mine["days"], json!(["2026-03-12"]));
    assert_eq!(
        (
            mine["lots_expired"].as_i64(),
            mine["points_expired"].as_i64()
        ),
        (Some(1), Some(20))
    );
    assert_eq!(w.invariants("wmExp").await, 20);
    let (_, ledger) = w.admin_get("/v1/points/customers/wmExp/ledger").await;
    let newest = &ledger["entries"][0];
    assert_eq!(
        (newest["kind"].as_str(), newest["amount"].as_i64()),
        (Some("expire"), Some(-20))
    );
    assert_eq!(newest["reason"], "expired");
    assert_eq!(newest["lots"][0]["expires_on"], "2026-03-12");

    // Re-running the day reads nothing and changes nothing.
    w.clock.set(shanghai(2026, 3, 12, 5, 0));
    let r = sweep_tenant(&w.points, w.tenant(), w.when(), None)
        .await
        .unwrap();
    assert!(r.days.is_empty() && r.finished);
    assert_eq!(w.invariants("wmExp").await, 20);
    let (_, totals) = w.admin_get("/v1/points/days/2026-03-12").await;
    assert_eq!(totals["expired"], 20);

    // Two days later the rest goes too, one entry per lot.
    w.clock.set(shanghai(2026, 3, 14, 1, 0));
    let r = sweep_tenant(&w.points, w.tenant(), w.when(), None)
        .await
        .unwrap();
    assert_eq!(r.days, vec!["2026-03-13", "2026-03-14"]);
    assert_eq!(r.points_expired, 20);
    assert_eq!(w.invariants("wmExp").await, 0);
}

#[tokio::test]
async fn a_sweep_stopped_halfway_resumes_without_expiring_twice() {
    let w = World::at(shanghai(2026, 4, 1, 12, 0)).await;
    w.set_rules(json!({"validity_days": 1})).await;
    let customers: Vec<String> = (0..40).map(|i| format!("wmHalf{i:02}")).collect();
    for (i, c) in customers.iter().enumerate() {
        award(&w, c, &format!("h{i}"), 5).await;
    }
    w.clock.set(shanghai(2026, 4, 2, 0, 30));
    // A run that hit its deadline at once stops without moving the cursor past a day it
    // has not finished.
    let r = sweep_tenant(&w.points, w.tenant(), w.when(), Some(Instant::now()))
        .await
        .unwrap();
    assert!(!r.finished);
    let cursor = w.points.sweep_cursor(w.tenant()).await.unwrap().unwrap();
    assert_eq!(cursor.done_through, "2026-03-31");
    // A run that crashed after expiring half the lots, before recording its shards.
    for c in &customers[..20] {
        expire_lot(&w.points, &w.acct(c), "2026-04-02", w.when())
            .await
            .unwrap();
    }
    // The next run resumes: it expires only what is left.
    let r = sweep_tenant(&w.points, w.tenant(), w.when(), None)
        .await
        .unwrap();
    assert!(r.finished);
    assert_eq!((r.lots_expired, r.points_expired), (20, 100));
    for c in &customers {
        assert_eq!(w.invariants(c).await, 0);
    }
    let cursor = w.points.sweep_cursor(w.tenant()).await.unwrap().unwrap();
    assert_eq!(
        (cursor.done_through.as_str(), cursor.in_progress),
        ("2026-04-02", None)
    );
}

#[tokio::test]
async fn points_without_a_validity_never_expire() {
    let w = World::at(shanghai(2026, 4, 1, 12, 0)).await;
    award(&w, "wmKeep", "k", 9).await;
    w.clock.set(shanghai(2027, 4, 1, 12, 0));
    let r = sweep_tenant(&w.points, w.tenant(), w.when(), None)
        .await
        .unwrap();
    assert!(r.finished && r.days.is_empty());
    assert!(w.points.sweep_cursor(w.tenant()).await.unwrap().is_none());
    assert_eq!(w.invariants("wmKeep").await, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sweeps_of_the_same_day_expire_each_lot_once() {
    use futures::StreamExt;
    let w = World::at(shanghai(2026, 5, 1, 12, 0)).await;
    w.set_rules(json!({"validity_days": 1})).await;
    let customers: Vec<String> = (0..48).map(|i| format!("wmRace{i:02}")).collect();
    futures::stream::iter(customers.iter().enumerate())
        .for_each_concurrent(8, |(i, c)| {
            let w = &w;
            async move { award(w, c, &format!("r{i}"), 5 + i as i64).await }
        })
        .await;
    w.clock.set(shanghai(2026, 5, 2, 0, 30));
    let when = w.when();
    let sweeps: Vec<_> = (0..6)
        .map(|_| {
            let (points, tenant) = (w.points.clone(), w.tenant().clone());
            tokio::spawn(async move { sweep_tenant(&points, &tenant, when, None).await })
        })
        .collect();
    let mut lots = 0;
    let mut points = 0;
    for r in futures::future::join_all(sweeps).await {
        let report = r.unwrap().unwrap();
        assert!(report.finished);
        lots += report.lots_expired;
        points += report.points_expired;
    }
    let expected: i64 = (0..48).map(|i| 5 + i as i64).sum();
    assert_eq!((lots, points), (48, expected), "each lot expired once");
    for c in &customers {
        assert_eq!(w.invariants(c).await, 0);
        let (_, ledger) = w
            .admin_get(&format!("/v1/points/customers/{c}/ledger"))
            .await;
        let expiries = ledger["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "expire")
            .count();
        assert_eq!(expiries, 1, "{c}");
    }
    let cursor = w.points.sweep_cursor(w.tenant()).await.unwrap().unwrap();
    assert_eq!(
        (cursor.done_through.as_str(), cursor.in_progress),
        ("2026-05-02", None),
        "the cursor never moves back"
    );
}
