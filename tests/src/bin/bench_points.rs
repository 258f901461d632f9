//! Points benchmarks against DynamoDB Local, each beside a baseline measured in the same
//! run:
//! 1. awarding 10,000 customers through the bulk path (job created, run chunk by chunk as
//!    `points-jobs` does) vs 10,000 transactions of the same shape written directly;
//! 2. the expiry sweep of one day with 1,000 expiring lots among 1,000 live lots vs among
//!    100,000 live lots (seeded with `BatchWriteItem`; seeding time printed);
//! 3. a check-in's end-to-end latency through the `customer-api` handler (p50/p95, rules
//!    cached as deployed) beside one GetItem, and its write units and requests (metered as
//!    the peak simulator meters them) beside the figures before and the budget.
//!
//! Run: `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8555 cargo run --release -p scrm-tests --bin bench_points`
//! (`BENCH_POINTS_ONLY=check-in`: section 3 alone).
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, PutRequest, TransactWriteItem, Update, WriteRequest,
};
use chrono::{TimeZone, Utc};
use futures::StreamExt;
use scrm_adapters::dynamo::points::keys;
use scrm_adapters::dynamo::Db;
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoPoints;
use scrm_adapters::events::AnyPublisher;
use scrm_core::clock::{Clock, FixedClock};
use scrm_core::contacts::DirectoryWrite;
use scrm_core::contacts::MemberWrite;
use scrm_core::events::RecordingPublisher;
use scrm_core::points::bulk::{run_job, submit, BulkAnswer, BulkRequest, Stop};
use scrm_core::points::earn::check_in_customer;
use scrm_core::points::jobs::{fingerprint, JobItem, JobOp};
use scrm_core::points::ports::Account;
use scrm_core::points::ports::RulesStore;
use scrm_core::points::sweep::sweep_tenant;
use scrm_core::points::{CustomerId, Origin, PointsRules, When};
use scrm_core::tenants::{TenantId, TenantSettings};
use scrm_core::tokens::{self, Claims, TokenKind};
use scrm_tests::meter::Meter;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CUSTOMERS: usize = 10_000;
const EXPIRING: usize = 1_000;
const LIVE_LARGE: usize = 100_000;
const CHECK_INS: usize = 400;
const METERED_CHECK_INS: usize = 100;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn rate(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64()
}

/// Writes items with BatchWriteItem, `concurrency` calls in flight.
async fn batch_write(db: &Db, table: &str, items: Vec<HashMap<String, AttributeValue>>) {
    let chunks: Vec<Vec<HashMap<String, AttributeValue>>> =
        items.chunks(25).map(|c| c.to_vec()).collect();
    futures::stream::iter(chunks)
        .map(|chunk| async move {
            let mut pending: Vec<WriteRequest> = chunk
                .into_iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                        .build()
                })
                .collect();
            while !pending.is_empty() {
                let out = db
                    .client
                    .batch_write_item()
                    .request_items(table, pending.clone())
                    .send()
                    .await
                    .expect("batch write");
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(table))
                    .unwrap_or_default();
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let db = scrm_tests::db().await;
    let points = DynamoPoints::new(db.clone());
    let tz = TenantSettings::default().tz();
    println!(
        "points benchmarks against DynamoDB Local at {}",
        scrm_tests::endpoint()
    );
    println!();

    let table = db.tables.ledger.clone();
    // `BENCH_POINTS_ONLY=check-in`: section 3 alone (a minute instead of several).
    if std::env::var("BENCH_POINTS_ONLY").as_deref() != Ok("check-in") {
        // ---- 1. bulk award vs raw transactions ------------------------------------------
        let t = scrm_tests::tenant(&db).await;
        let tenant = t.id().clone();
        let dir = DynamoDirectory::new(db.clone());
        let ids: Vec<String> = (0..CUSTOMERS).map(|i| format!("wmBench{i:06}")).collect();
        let started = Instant::now();
        futures::stream::iter(ids.clone())
            .map(|id| {
                let (dir, tenant) = (&dir, &tenant);
                async move { dir.touch_customer(tenant, &id, false, 1).await.unwrap() }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        println!(
            "seeded {CUSTOMERS} directory customers in {:.1?}",
            started.elapsed()
        );

        let recorder = Arc::new(RecordingPublisher::new());
        let publisher = AnyPublisher::Recording(recorder.clone());
        let now = Utc::now();
        let items: Vec<JobItem> = ids
            .iter()
            .map(|c| JobItem {
                external_userid: c.clone(),
                points: 10,
                key: "bulk:bench".into(),
                line: None,
                reason: None,
                reject: None,
            })
            .collect();
        let started = Instant::now();
        let answer = submit(
            &points,
            &publisher,
            &tenant,
            BulkRequest {
                op: JobOp::Award,
                items,
                origin: Origin::new("bench", "bench", "system"),
                request_key: "bulk:bench".into(),
                fingerprint: fingerprint(&["bench"]),
                keys_forever: false,
            },
            When::new(now, tz),
        )
        .await
        .expect("submit");
        let BulkAnswer::Job { job } = answer else {
            panic!("a 10,000-customer award runs as a job")
        };
        let run = run_job(&points, &tenant, &job.job_id, tz, Utc::now, Stop::default())
            .await
            .expect("job");
        let bulk_took = started.elapsed();
        if let scrm_core::points::bulk::JobRun::Done(job) = &run {
            assert_eq!(job.progress.applied as usize, CUSTOMERS);
        }

        // Baseline: the same number of transactions of the same shape (idempotency record,
        // entry, balance, lot), written directly with the same concurrency.
        let raw_tenant = scrm_tests::new_tenant_id();

        let started = Instant::now();
        futures::stream::iter(0..CUSTOMERS)
            .map(|i| {
                let (db, table, raw_tenant) = (&db, &table, &raw_tenant);
                async move {
                    let pk = format!("{raw_tenant}#ACCT#wmRaw{i:06}");
                    let put = |sk: &str, extra: (&str, AttributeValue)| {
                        TransactWriteItem::builder()
                            .put(
                                Put::builder()
                                    .table_name(table)
                                    .item(scrm_adapters::dynamo::schema::PK, s(&pk))
                                    .item(scrm_adapters::dynamo::schema::SK, s(sk))
                                    .item(extra.0, extra.1)
                                    .condition_expression("attribute_not_exists(pk)")
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                    };
                    let update = |sk: &str, expr: &str| {
                        TransactWriteItem::builder()
                            .update(
                                Update::builder()
                                    .table_name(table)
                                    .key(scrm_adapters::dynamo::schema::PK, s(&pk))
                                    .key(scrm_adapters::dynamo::schema::SK, s(sk))
                                    .update_expression(expr)
                                    .expression_attribute_values(":a", n(10))
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                    };
                    db.client
                        .transact_write_items()
                        .transact_items(put("IDEM#raw", ("result", s("{}"))))
                        .transact_items(update("BAL", "SET balance = :a"))
                        .transact_items(put("TX#0000000001", ("amount", n(10))))
                        .transact_items(update("LOT#9999-12-31", "ADD remaining :a"))
                        .send()
                        .await
                        .expect("raw transaction");
                }
            })
            .buffer_unordered(scrm_core::points::jobs::CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let raw_took = started.elapsed();
        println!();
        println!("1. awarding {CUSTOMERS} customers");
        println!(
        "   bulk path (job, read + plan + conditional transaction each): {:>8.2?}  {:>7.0} awards/s",
        bulk_took,
        rate(CUSTOMERS, bulk_took)
    );
        println!(
        "   baseline: {CUSTOMERS} raw 4-action transactions, same concurrency: {:>8.2?}  {:>7.0} tx/s",
        raw_took,
        rate(CUSTOMERS, raw_took)
    );
        println!(
            "   bulk path at {:.0}% of the raw transaction rate",
            100.0 * raw_took.as_secs_f64() / bulk_took.as_secs_f64()
        );

        // ---- 2. the sweep: cost follows expiring lots, not table size --------------------
        let day = chrono::NaiveDate::from_ymd_opt(2030, 6, 1).unwrap();
        let day_s = day.format("%Y-%m-%d").to_string();
        let seed = |tenant: &TenantId, live: usize| {
            let mut items = Vec::with_capacity(EXPIRING * 2 + live);
            for i in 0..EXPIRING {
                let c = CustomerId::parse(&format!("wmExp{i:06}")).unwrap();
                let pk = keys::account_pk(tenant, &c);
                items.push(HashMap::from([
                    (scrm_adapters::dynamo::schema::PK.to_string(), s(&pk)),
                    (scrm_adapters::dynamo::schema::SK.to_string(), s(keys::BAL)),
                    ("balance".to_string(), n(5)),
                    ("version".to_string(), n(1)),
                    ("lot_debt".to_string(), n(0)),
                ]));
                items.push(HashMap::from([
                    (scrm_adapters::dynamo::schema::PK.to_string(), s(&pk)),
                    (
                        scrm_adapters::dynamo::schema::SK.to_string(),
                        s(keys::lot_sk(&day_s)),
                    ),
                    ("remaining".to_string(), n(5)),
                    ("expires_on".to_string(), s(&day_s)),
                    ("customer".to_string(), s(c.as_str())),
                    (
                        scrm_adapters::dynamo::schema::GSI1_PK.to_string(),
                        s(keys::expiry_index(tenant, &day_s, keys::shard(&c))),
                    ),
                    (
                        scrm_adapters::dynamo::schema::GSI1_SK.to_string(),
                        s(c.as_str()),
                    ),
                ]));
            }
            // Live lots expiring on later days, indexed like real ones.
            for i in 0..live.saturating_sub(EXPIRING) {
                let c = CustomerId::parse(&format!("wmLive{i:06}")).unwrap();
                let date = (day + chrono::Days::new(1 + (i % 365) as u64))
                    .format("%Y-%m-%d")
                    .to_string();
                items.push(HashMap::from([
                    (
                        scrm_adapters::dynamo::schema::PK.to_string(),
                        s(keys::account_pk(tenant, &c)),
                    ),
                    (
                        scrm_adapters::dynamo::schema::SK.to_string(),
                        s(keys::lot_sk(&date)),
                    ),
                    ("remaining".to_string(), n(5)),
                    ("expires_on".to_string(), s(&date)),
                    ("customer".to_string(), s(c.as_str())),
                    (
                        scrm_adapters::dynamo::schema::GSI1_PK.to_string(),
                        s(keys::expiry_index(tenant, &date, keys::shard(&c))),
                    ),
                    (
                        scrm_adapters::dynamo::schema::GSI1_SK.to_string(),
                        s(c.as_str()),
                    ),
                ]));
            }
            items
        };
        let mut sweeps = Vec::new();
        for live in [EXPIRING, LIVE_LARGE] {
            let t = scrm_tests::tenant(&db).await;
            let tenant = t.id().clone();
            let yesterday = day.pred_opt().unwrap();
            let rules = PointsRules {
                validity_days: Some(30),
                ..Default::default()
            };
            points
                .put_rules(&tenant, &rules, yesterday, Utc::now())
                .await
                .unwrap();
            let items = seed(&tenant, live);
            let count = items.len();
            let started = Instant::now();
            batch_write(&db, &table, items).await;
            let seeded = started.elapsed();
            let at = tz
                .with_ymd_and_hms(2030, 6, 1, 0, 30, 0)
                .unwrap()
                .with_timezone(&Utc);
            let started = Instant::now();
            let report = sweep_tenant(&points, &tenant, When::new(at, tz), None)
                .await
                .expect("sweep");
            let took = started.elapsed();
            assert_eq!(report.lots_expired as usize, EXPIRING);
            let started = Instant::now();
            let again = sweep_tenant(&points, &tenant, When::new(at, tz), None)
                .await
                .expect("sweep again");
            let rerun = started.elapsed();
            assert_eq!(again.lots_expired, 0);
            sweeps.push((live, count, seeded, took, rerun));
        }
        println!();
        println!("2. expiry sweep of one day ({EXPIRING} expiring lots)");
        for (live, count, seeded, took, rerun) in &sweeps {
            println!(
            "   among {live:>6} live lots: sweep {:>8.2?} ({:>5.0} lots/s); re-run of the day {:>7.2?}  [seeded {count} items with BatchWriteItem in {:.1?}, {:.0} items/s]",
            took,
            rate(EXPIRING, *took),
            rerun,
            seeded,
            rate(*count, *seeded)
        );
        }
        println!(
            "   ratio 100k/1k: {:.2}x (1.00x = independent of the table's size)",
            sweeps[1].3.as_secs_f64() / sweeps[0].3.as_secs_f64()
        );
    }
    // ---- 3. a check-in end to end ---------------------------------------------------
    let t = scrm_tests::tenant(&db).await;
    let tenant = t.id().clone();
    points
        .put_rules(
            &tenant,
            &serde_json::from_value(serde_json::json!({
                "check_in": {"enabled": true, "base_points": 10,
                    "streak_tiers": [{"days": 3, "bonus": 5}, {"days": 7, "bonus": 10}, {"days": 15, "bonus": 20}]},
                "validity_days": 365
            }))
            .unwrap(),
            chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::new(Utc::now()));
    // The router is built once, as a warm container has it.
    let api = customer_api_fn::router(Arc::new(customer_api_fn::CustomerApi {
        points: DynamoPoints::new(db.clone()).with_rules_cache(customer_api_fn::RULES_CACHED_FOR),
        forms: customer_api_fn::forms::Forms::unpublished(&db),
        fission: None,
        directory: DynamoDirectory::new(db.clone()),
        tenants: scrm_adapters::dynamo::DynamoTenants::new(db.clone()),
        clock: clock.clone(),
        signing_key: scrm_tests::signing_keys(),
        official: None,
    }));
    let mut latencies = Vec::with_capacity(CHECK_INS);
    for i in 0..CHECK_INS {
        let token = tokens::issue(
            &scrm_tests::signing_keys(),
            &Claims {
                tenant: tenant.to_string(),
                subject: format!("wmCheck{i:05}"),
                kind: TokenKind::Customer,
                expires_at: clock.now().timestamp() + 3600,
            },
        );
        let bearer = format!("Bearer {token}");
        let req = scrm_tests::request("POST", "/v1/check-in", &[("authorization", &bearer)], None);
        let started = Instant::now();
        let resp = api.respond(req).await;
        latencies.push(started.elapsed());
        assert_eq!(resp.status(), 200);
    }
    latencies.sort();
    // Baseline: one GetItem round trip.
    let mut gets = Vec::with_capacity(CHECK_INS);
    for _ in 0..CHECK_INS {
        let started = Instant::now();
        db.client
            .get_item()
            .table_name(&table)
            .key(
                scrm_adapters::dynamo::schema::PK,
                s(keys::points_pk(&tenant)),
            )
            .key(scrm_adapters::dynamo::schema::SK, s(keys::RULES))
            .send()
            .await
            .unwrap();
        gets.push(started.elapsed());
    }
    gets.sort();
    // Write units and requests of a check-in, metered as the peak simulator meters them:
    // customers in one group each (the group's day is written too).
    let meter = Meter::new(db.tables.clone());
    let metered = scrm_adapters::dynamo::Db::new(meter.client(&db.client), db.tables.clone());
    let metered_points =
        DynamoPoints::new(metered.clone()).with_rules_cache(customer_api_fn::RULES_CACHED_FOR);
    let metered_dir = DynamoDirectory::new(metered);
    let dir = DynamoDirectory::new(db.clone());
    let when = When::new(clock.now(), tz);
    let mut accounts = Vec::with_capacity(METERED_CHECK_INS);
    for i in 0..METERED_CHECK_INS {
        let (chat, ext) = (format!("wrMeter{:03}", i % 10), format!("wmMeter{i:05}"));
        dir.touch_group(&tenant, &chat, false, 1).await.unwrap();
        dir.member_joined(
            &tenant,
            &chat,
            &MemberWrite {
                member_id: ext.clone(),
                is_customer: true,
                join_time: Some(1),
                join_scene: Some(3),
                invitor: None,
                group_nickname: None,
                name: None,
                state: None,
            },
            2,
        )
        .await
        .unwrap();
        accounts.push(Account::new(
            tenant.clone(),
            CustomerId::parse(&ext).unwrap(),
        ));
    }
    meter.take();
    for account in &accounts {
        check_in_customer(&metered_points, &metered_dir, account, when)
            .await
            .unwrap();
    }
    let mut tally = meter.take();
    // Index entries the requests did not name are looked up (unmetered), as the peak
    // simulator and the budget test count them: an item without an index key has none.
    meter.resolve(&mut tally, &db.client).await.unwrap();
    let per = |v: f64| v / METERED_CHECK_INS as f64;

    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!();
    println!("3. check-in through the customer-api handler ({CHECK_INS} customers, sequential)");
    println!(
        "   p50 {:>7.2?}  p95 {:>7.2?}  (baseline: one GetItem p50 {:.2?}, p95 {:.2?})",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&gets, 0.50),
        percentile(&gets, 0.95)
    );
    println!(
        "   p50 {:.1}x one GetItem (before the rules cache and the parallel reads: 8.5x; target <= 3x)",
        ratio(percentile(&latencies, 0.50), percentile(&gets, 0.50))
    );
    println!(
        "   writes per check-in ({METERED_CHECK_INS} customers in one group each): {:.1} WCU (before: 23; target: 5), {:.2} write requests (before: 3.02)",
        per(tally.units),
        per(tally.requests as f64)
    );
}
