//! What a check-in writes, counted by the write-units meter (`scrm_tests::meter`, the peak
//! simulator's): its units and requests stay within the budget, a same-day retry writes
//! nothing to the account, and check-ins sent at once pay once.
use super::{check_invariants, World};
use scrm_adapters::dynamo::points::keys;
use scrm_adapters::dynamo::{Db, DynamoDirectory, DynamoPoints};
use scrm_core::points::earn::check_in_customer;
use scrm_core::points::Outcome;
use scrm_tests::meter::Meter;
use serde_json::json;

/// Write units of a check-in of a customer in one group (the ledger's transaction, the
/// group's day, the dashboard's count), counted as DynamoDB charges them (2 per KB started
/// per item and index entry inside a transaction). It was 23 with the idempotency record
/// in the transaction.
const CHECK_IN_UNITS: f64 = 21.0;
/// Write requests of a check-in: the ledger's transaction, the count's transaction and
/// the group's day.
const CHECK_IN_REQUESTS: u64 = 3;

async fn check_in_rules(w: &World) {
    w.set_rules(json!({
        "check_in": {"enabled": true, "base_points": 10,
            "streak_tiers": [{"days": 3, "bonus": 5}, {"days": 7, "bonus": 10}]},
        "validity_days": 365
    }))
    .await;
}

#[tokio::test]
async fn a_check_in_writes_within_its_budget_and_a_retry_writes_nothing_to_the_account() {
    let w = World::new().await;
    check_in_rules(&w).await;
    w.join("wrBudget", "wmbudget").await;
    let meter = Meter::new(w.db.tables.clone());
    let metered = Db::new(meter.client(&w.db.client), w.db.tables.clone());
    let points = DynamoPoints::new(metered.clone());
    let directory = DynamoDirectory::new(metered);
    let account = w.acct("wmbudget");
    // A warm container: the day's marker of the account's day-index shard is written once
    // per process (by another customer's check-in on that shard), not once per check-in.
    let warm = (0..)
        .map(|i| w.acct(&format!("wmwarm{i}")))
        .find(|a| keys::shard(&a.customer) == keys::shard(&account.customer))
        .unwrap();
    check_in_customer(&points, &directory, &warm, w.when())
        .await
        .unwrap();
    meter.take();

    let first = check_in_customer(&points, &directory, &account, w.when())
        .await
        .unwrap();
    let mut tally = meter.take();
    meter.resolve(&mut tally, &w.db.client).await.unwrap();
    assert!(!first.replayed);
    assert_eq!(first.applied.amount, 10);
    eprintln!(
        "check-in: {} write units in {} write requests (budget {CHECK_IN_UNITS}, {CHECK_IN_REQUESTS})",
        tally.units, tally.requests
    );
    assert_eq!(tally.failed, 0);
    assert!(tally.units <= CHECK_IN_UNITS, "{} units", tally.units);
    assert!(
        tally.requests <= CHECK_IN_REQUESTS,
        "{} requests",
        tally.requests
    );

    // No idempotency record: the check-in state holds the day's answer.
    let pk = keys::account_pk(&account.tenant, &account.customer);
    let idem =
        w.db.client
            .get_item()
            .table_name(&w.db.tables.ledger)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()))
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(keys::idem_sk(&format!(
                    "checkin:{}",
                    w.when().today().format("%Y-%m-%d")
                ))),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap();
    assert!(
        idem.item.is_none(),
        "a check-in writes no idempotency record"
    );

    // A retry the same day answers the first result and writes nothing to the account.
    let again = check_in_customer(&points, &directory, &account, w.when())
        .await
        .unwrap();
    let mut retry = meter.take();
    meter.resolve(&mut retry, &w.db.client).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.applied, first.applied);
    assert_eq!(retry.units_on(&w.db.tables.ledger, None, &pk), 0.0);
    assert_eq!(check_invariants(&w.db, &account).await, 10);
}

#[tokio::test]
async fn check_ins_sent_at_once_pay_once_and_answer_alike() {
    let w = World::new().await;
    check_in_rules(&w).await;
    w.join("wrRace", "wmrace").await;
    let account = w.acct("wmrace");
    let results: Vec<Outcome> = futures::future::join_all(
        (0..8).map(|_| check_in_customer(&w.points, &w.dir, &account, w.when())),
    )
    .await
    .into_iter()
    .map(|r| r.unwrap())
    .collect();
    assert_eq!(results.iter().filter(|o| !o.replayed).count(), 1);
    assert!(results.iter().all(|o| o.applied == results[0].applied));
    assert_eq!(check_invariants(&w.db, &account).await, 10);
    // The next day pays again, with the streak counted on.
    w.clock.advance(chrono::Duration::days(1));
    let next = check_in_customer(&w.points, &w.dir, &account, w.when())
        .await
        .unwrap();
    assert!(!next.replayed);
    assert_eq!(check_invariants(&w.db, &account).await, 20);
}

#[tokio::test]
async fn a_check_in_recorded_with_an_idempotency_record_still_replays() {
    // A check-in written before the check-in state stored its answer: the state has the
    // day but no answer, and the day's answer is in the idempotency record.
    let w = World::new().await;
    check_in_rules(&w).await;
    let account = w.acct("wmold");
    let first = check_in_customer(&w.points, &w.dir, &account, w.when())
        .await
        .unwrap();
    let pk = keys::account_pk(&account.tenant, &account.customer);
    let key = format!("checkin:{}", w.when().today().format("%Y-%m-%d"));
    let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_string());
    w.db.client
        .update_item()
        .table_name(&w.db.tables.ledger)
        .key("pk", s(&pk))
        .key("sk", s(keys::CHECKIN))
        .update_expression("REMOVE #r")
        .expression_attribute_names("#r", "result")
        .send()
        .await
        .unwrap();
    let fingerprint = scrm_core::points::ledger::Operation {
        key: scrm_core::points::ledger::check_in_key(w.when().today()),
        key_forever: false,
        once: false,
        origin: scrm_core::points::Origin::new("check_in", "customer-api", "customer"),
        kind: scrm_core::points::ledger::OpKind::CheckIn {
            rule: Default::default(),
            expires_on: None,
        },
        details: serde_json::Value::Null,
    }
    .fingerprint();
    w.db.client
        .put_item()
        .table_name(&w.db.tables.ledger)
        .item("pk", s(&pk))
        .item("sk", s(&keys::idem_sk(&key)))
        .item("fingerprint", s(&fingerprint))
        .item("result", s(&serde_json::to_string(&first.applied).unwrap()))
        .send()
        .await
        .unwrap();
    let again = check_in_customer(&w.points, &w.dir, &account, w.when())
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.applied, first.applied);
    assert_eq!(check_invariants(&w.db, &account).await, 10);
}
