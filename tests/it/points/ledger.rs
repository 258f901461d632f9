//! The ledger's invariants under random sequences of operations (including retries of the
//! same key and concurrent operations), plus concurrency and transaction-size examples.
use super::{check_invariants, shanghai, World};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use scrm_adapters::dynamo::Db;
use scrm_adapters::dynamo::DynamoPoints;
use scrm_core::points::ledger::{apply, check_in_key, OpKind, Operation};
use scrm_core::points::plan::MAX_LOT_UPDATES;
use scrm_core::points::ports::{Account, RulesStore};
use scrm_core::points::rules::{CheckInRule, Tier};
use scrm_core::points::sweep::sweep_tenant;
use scrm_core::points::{
    CustomerId, EntryKind, IdempotencyKey, Origin, Outcome, Points, PointsError, PointsRules, When,
};
use scrm_core::tenants::TenantSettings;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Op {
    Earn {
        amount: i64,
        key: u8,
        days: u64,
    },
    Spend {
        amount: i64,
        key: u8,
    },
    Deduct {
        amount: i64,
        key: u8,
    },
    Clear {
        key: u8,
    },
    /// The day's check-in (credits with a streak, once a day, no idempotency record).
    CheckIn,
    /// Moves time on and runs the tenant's expiry sweep.
    Advance {
        days: i64,
    },
    /// Runs ops at the same time.
    Concurrent(Vec<Op>),
}

fn leaf() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1i64..300, 0u8..8, 1u64..4).prop_map(|(amount, key, days)| Op::Earn { amount, key, days }),
        2 => (1i64..300, 0u8..8).prop_map(|(amount, key)| Op::Spend { amount, key }),
        1 => (1i64..300, 0u8..8).prop_map(|(amount, key)| Op::Deduct { amount, key }),
        1 => (0u8..8).prop_map(|key| Op::Clear { key }),
        2 => Just(Op::CheckIn),
        1 => (0i64..3).prop_map(|days| Op::Advance { days }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => leaf(),
        1 => proptest::collection::vec(leaf(), 2..5).prop_map(Op::Concurrent),
    ]
}

fn operation(op: &Op, today: chrono::NaiveDate) -> Option<Operation> {
    let origin = || Origin::new("test", "proptest", "system");
    // Keys are shared across kinds on purpose: a key reused for another request must be
    // refused, a key repeated with the same request must replay.
    let key = |k: &u8| IdempotencyKey::parse(&format!("k{k}")).unwrap();
    Some(match op {
        Op::Earn {
            amount,
            key: k,
            days,
        } => Operation::credit(
            key(k),
            EntryKind::Earn,
            Points::new(*amount).unwrap(),
            Some(today + chrono::Days::new(*days)),
            origin(),
        ),
        Op::Spend { amount, key: k } => Operation::debit(
            key(k),
            EntryKind::Spend,
            Points::new(*amount).unwrap(),
            origin(),
        ),
        Op::Deduct { amount, key: k } => Operation::debit(
            key(k),
            EntryKind::Deduct,
            Points::new(*amount).unwrap(),
            origin(),
        ),
        Op::Clear { key: k } => Operation::clear(key(k), EntryKind::Clear, origin()),
        Op::CheckIn => Operation {
            key: check_in_key(today),
            key_forever: false,
            once: false,
            origin: origin(),
            kind: OpKind::CheckIn {
                rule: CheckInRule {
                    enabled: true,
                    base_points: 10,
                    streak_tiers: vec![Tier { days: 2, bonus: 5 }],
                    ..Default::default()
                },
                expires_on: Some(today + chrono::Days::new(2)),
            },
            details: serde_json::Value::Null,
        },
        _ => return None,
    })
}

type Seen = HashMap<String, (String, Outcome)>;

fn check_outcome(
    seen: &mut Seen,
    op: &Operation,
    result: Result<Outcome, PointsError>,
) -> Result<(), TestCaseError> {
    let key = op.key.as_str().to_string();
    match result {
        Ok(out) => {
            prop_assert!(out.applied.balance >= 0);
            match seen.get(&key) {
                Some((fp, first)) => {
                    // A key applied before: same request → the first answer, replayed.
                    prop_assert_eq!(fp, &op.fingerprint());
                    prop_assert!(out.replayed, "a repeated key must replay");
                    prop_assert_eq!(&out.applied, &first.applied);
                }
                None => {
                    seen.insert(key, (op.fingerprint(), out));
                }
            }
        }
        Err(PointsError::KeyReused) => {
            let first = seen.get(&key);
            prop_assert!(
                first.map(|(fp, _)| fp != &op.fingerprint()).unwrap_or(true),
                "KeyReused only for a different request"
            );
        }
        Err(PointsError::Insufficient { .. }) => {
            prop_assert!(
                !seen.contains_key(&key),
                "an applied key must replay, not fail"
            );
        }
        Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e}"))),
    }
    Ok(())
}

async fn run_sequence(db: &Db, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let store = DynamoPoints::new(db.clone());
    let t = scrm_tests::tenant(db).await;
    let tz = TenantSettings::default().tz();
    let mut now: DateTime<Utc> = shanghai(2026, 5, 1, 9, 0);
    let rules = PointsRules {
        validity_days: Some(3),
        ..Default::default()
    };
    let yesterday = When::new(now, tz).today().pred_opt().unwrap();
    store
        .put_rules(t.id(), &rules, yesterday, now)
        .await
        .unwrap();
    let account = Account::new(t.id().clone(), CustomerId::parse("wmprop").unwrap());
    let mut seen: Seen = HashMap::new();
    for op in ops {
        let when = When::new(now, tz);
        match &op {
            Op::Advance { days } => {
                now += chrono::Duration::days(*days) + chrono::Duration::hours(5);
                let when = When::new(now, tz);
                sweep_tenant(&store, t.id(), when, None)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                // After a sweep nothing past its validity is left.
                let (state, _) = scrm_core::points::ports::LedgerStore::load(
                    &store,
                    &account,
                    scrm_core::points::ports::Load {
                        lots: true,
                        check_in: false,
                    },
                )
                .await
                .unwrap();
                prop_assert!(state.lots.iter().all(|l| !l.is_expired_on(when.today())));
            }
            Op::Concurrent(ops) => {
                let ops: Vec<Operation> = ops
                    .iter()
                    .filter_map(|o| operation(o, when.today()))
                    .collect();
                let results =
                    futures::future::join_all(ops.iter().map(|o| apply(&store, &account, o, when)))
                        .await;
                // Concurrent requests race for their keys: the first to commit wins.
                // Check replays against winners in commit order (by entry seq).
                let mut pairs: Vec<(&Operation, Result<Outcome, PointsError>)> =
                    ops.iter().zip(results).collect();
                pairs.sort_by_key(|(_, r)| match r {
                    Ok(o) if !o.replayed => (0, o.applied.seq.unwrap_or(0)),
                    Ok(_) => (1, 0),
                    Err(_) => (2, 0),
                });
                for (o, r) in pairs {
                    if let Err(PointsError::Insufficient { .. }) = &r {
                        // Order-dependent: only check it did not hide an applied key.
                        if seen.contains_key(o.key.as_str()) {
                            let again = apply(&store, &account, o, when).await;
                            let hidden = matches!(again, Err(PointsError::Insufficient { .. }));
                            prop_assert!(!hidden, "an applied key must not fail");
                        }
                        continue;
                    }
                    check_outcome(&mut seen, o, r)?;
                }
            }
            leaf => {
                let o = operation(leaf, when.today()).unwrap();
                let r = apply(&store, &account, &o, when).await;
                check_outcome(&mut seen, &o, r)?;
                // Retry it at once: a retried request answers exactly the same.
                if let Some((fp, first)) = seen.get(o.key.as_str()) {
                    if *fp == o.fingerprint() {
                        let again = apply(&store, &account, &o, when).await.unwrap();
                        prop_assert!(again.replayed);
                        prop_assert_eq!(&again.applied, &first.applied);
                    }
                }
            }
        }
        check_invariants(db, &account).await;
    }
    Ok(())
}

#[test]
fn random_sequences_keep_balance_entries_and_lots_equal() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(scrm_tests::db());
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 4..22), |ops| {
        rt.block_on(run_sequence(&db, ops))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn earn(key: &str, amount: i64, expires: Option<chrono::NaiveDate>) -> Operation {
    Operation::credit(
        IdempotencyKey::parse(key).unwrap(),
        EntryKind::Earn,
        Points::new(amount).unwrap(),
        expires,
        Origin::new("test", "test", "system"),
    )
}

#[tokio::test]
async fn the_same_request_sent_ten_times_at_once_pays_once() {
    let w = World::new().await;
    let a = w.acct("wmdup");
    let op = earn("once-only", 50, None);
    let results =
        futures::future::join_all((0..10).map(|_| apply(&w.points, &a, &op, w.when()))).await;
    let applied: Vec<Outcome> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(applied.iter().filter(|o| !o.replayed).count(), 1);
    assert!(applied.iter().all(|o| o.applied == applied[0].applied));
    assert_eq!(w.invariants("wmdup").await, 50);
}

#[tokio::test]
async fn concurrent_spends_never_overdraw() {
    let w = World::new().await;
    let a = w.acct("wmrace");
    apply(&w.points, &a, &earn("seed", 100, None), w.when())
        .await
        .unwrap();
    let spends: Vec<Operation> = (0..20)
        .map(|i| {
            Operation::debit(
                IdempotencyKey::parse(&format!("spend-{i}")).unwrap(),
                EntryKind::Spend,
                Points::new(10).unwrap(),
                Origin::new("test", "test", "system"),
            )
        })
        .collect();
    let results =
        futures::future::join_all(spends.iter().map(|o| apply(&w.points, &a, o, w.when()))).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let insufficient = results
        .iter()
        .filter(|r| matches!(r, Err(PointsError::Insufficient { .. })))
        .count();
    assert_eq!((ok, insufficient), (10, 10));
    assert_eq!(w.invariants("wmrace").await, 0);
}

#[tokio::test]
async fn a_reused_key_with_another_request_is_refused_and_changes_nothing() {
    let w = World::new().await;
    let a = w.acct("wmreuse");
    apply(&w.points, &a, &earn("k1", 10, None), w.when())
        .await
        .unwrap();
    let err = apply(&w.points, &a, &earn("k1", 11, None), w.when())
        .await
        .unwrap_err();
    assert!(matches!(err, PointsError::KeyReused));
    assert_eq!(w.invariants("wmreuse").await, 10);
}

#[tokio::test]
async fn a_spend_over_more_lots_than_a_transaction_holds_is_settled_in_full() {
    let w = World::new().await;
    let a = w.acct("wmlots");
    let today = w.when().today();
    let lots = MAX_LOT_UPDATES + 30;
    // One lot per expiry date: 120 lots of 1 point (a few writers at once on the account).
    futures::stream::iter(0..lots)
        .map(|i| {
            let op = earn(
                &format!("lot-{i}"),
                1,
                Some(today + chrono::Days::new(i as u64 + 1)),
            );
            let (points, a, when) = (&w.points, &a, w.when());
            async move { apply(points, a, &op, when).await.unwrap() }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(w.invariants("wmlots").await, lots as i64);
    let spend = Operation::debit(
        IdempotencyKey::parse("big-spend").unwrap(),
        EntryKind::Spend,
        Points::new(110).unwrap(),
        Origin::new("test", "test", "system"),
    );
    let out = apply(&w.points, &a, &spend, w.when()).await.unwrap();
    assert_eq!(out.applied.balance, 10);
    // One entry for the whole spend; the lots are all consumed oldest first.
    assert_eq!(w.invariants("wmlots").await, 10);
    let (state, _) = scrm_core::points::ports::LedgerStore::load(
        &w.points,
        &a,
        scrm_core::points::ports::Load {
            lots: true,
            check_in: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(state.lots.len(), 10);
    assert_eq!(
        state.lots[0].expiry_date(),
        Some(today + chrono::Days::new(111))
    );
    // And the retry still answers the first result.
    let again = apply(&w.points, &a, &spend, w.when()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.applied, out.applied);
}
