//! SOP dispatch: one plan due on 2,000 groups (beside the same plan on 20 groups), and a
//! dispatch run with 100 due plans among 100 plans vs among 10,000 plans (the due index
//! makes the cost follow what is due, not how many plans exist). Everything goes through
//! the `sop-dispatch` handler against DynamoDB Local and the fake WeCom server.
//!
//! Run: `cargo run --release -p scrm-tests --bin bench_sop` with DynamoDB Local at
//! `AWS_ENDPOINT_URL_DYNAMODB`. Options (env): `BENCH_GROUPS` (default 2000),
//! `BENCH_PLANS` (default 10000), `BENCH_DUE` (default 100).
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use futures::StreamExt;
use scrm_adapters::dynamo::Db;
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoSop;
use scrm_adapters::dynamo::DynamoTenants;
use scrm_adapters::wecom::fake::{FakeStaff, FakeWeCom};
use scrm_adapters::wecom::MemoryTokenCache;
use scrm_adapters::wecom::WeComClient;
use scrm_adapters::wecom::WeComConfig;
use scrm_core::clock::FixedClock;
use scrm_core::contacts::DirectoryWrite;
use scrm_core::sop::dispatch::{DispatchInput, DispatchReport, Dispatcher};
use scrm_core::sop::plan::GroupTargets;
use scrm_core::sop::schedule::LocalTime;
use scrm_core::sop::{Content, Plan, PlanId, PlanSpec, PlanStatus, PlanStore, Schedule};
use scrm_core::tenants::TenantSettings;
use scrm_core::wecom::api::GroupChat;
use scrm_tests::{db, tenant_with, TestTenant};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const STAFF: usize = 20;

struct Setup {
    t: TestTenant,
    dispatcher: Dispatcher<DynamoSop, DynamoDirectory, WeComClient, DynamoTenants>,
}

async fn setup(db: &Db, fake: &FakeWeCom, at: DateTime<Utc>) -> Setup {
    let t = tenant_with(db, TenantSettings::default()).await;
    let corp = t.id().as_str();
    fake.add_app(corp, "contact-secret", None);
    fake.add_app(corp, "app-secret", Some(1000002));
    for i in 0..STAFF {
        fake.add_staff(corp, FakeStaff::active(format!("staff{i:02}"), "staff"));
    }
    let wecom = WeComClient::new(
        WeComConfig::new(fake.base_url()),
        Arc::new(MemoryTokenCache::new()),
    )
    .expect("client");
    let dispatcher = Dispatcher {
        store: DynamoSop::new(db.clone()),
        directory: DynamoDirectory::new(db.clone()),
        wecom,
        tenants: DynamoTenants::new(db.clone()),
        clock: Arc::new(FixedClock::new(at)),
        signing_key: scrm_tests::signing_keys(),
        public_base_url: "https://staff.example.com".into(),
        staff_pages_url: None,
        materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
        links: std::sync::Arc::new(scrm_core::links::NoTracking),
    };
    Setup { t, dispatcher }
}

async fn seed_groups(db: &Db, s: &Setup, n: usize) -> Vec<String> {
    let dir = DynamoDirectory::new(db.clone());
    let chats: Vec<String> = (0..n).map(|i| format!("wrbench{i:06}")).collect();
    futures::stream::iter(chats.iter().enumerate().map(|(i, chat)| {
        let dir = &dir;
        let t = s.t.id();
        async move {
            let g = GroupChat {
                chat_id: chat.clone(),
                name: format!("群 {i}"),
                owner: format!("staff{:02}", i % STAFF),
                ..Default::default()
            };
            dir.put_group_detail(t, &g, Some(0), 1)
                .await
                .expect("group");
        }
    }))
    .buffer_unordered(32)
    .collect::<Vec<_>>()
    .await;
    chats
}

fn plan(targets: GroupTargets, next_due: DateTime<Utc>, now: DateTime<Utc>) -> Plan {
    Plan {
        plan_id: PlanId::generate(),
        name: "bench".into(),
        spec: PlanSpec::Group {
            targets,
            schedule: Schedule::Daily {
                time: LocalTime::new(9, 0).expect("time"),
            },
            content: Content {
                text: "早上好".into(),
                attachments: Vec::new(),
            },
        },
        status: PlanStatus::Active,
        version: 1,
        next_due: Some(next_due),
        created_at: now,
        updated_at: now,
    }
}

async fn timed_run(s: &Setup) -> (Duration, DispatchReport) {
    let start = Instant::now();
    let report = s
        .dispatcher
        .run(&DispatchInput {
            tenant: Some(s.t.id().to_string()),
        })
        .await
        .expect("dispatch");
    (start.elapsed(), report)
}

/// One plan on `n` groups (owned by 20 staff), due now: one dispatch run.
async fn one_plan_on(db: &Db, fake: &FakeWeCom, n: usize) -> (Duration, DispatchReport) {
    let now: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().expect("instant");
    let s = setup(db, fake, now).await;
    seed_groups(db, &s, n).await;
    let owners = (0..STAFF).map(|i| format!("staff{i:02}")).collect();
    let p = plan(
        GroupTargets {
            owners,
            ..Default::default()
        },
        now,
        now,
    );
    s.dispatcher
        .store
        .create_plan(s.t.id(), &p)
        .await
        .expect("plan");
    timed_run(&s).await
}

/// `due` plans due now among `total` plans (the rest due tomorrow): one dispatch run.
async fn due_among(
    db: &Db,
    fake: &FakeWeCom,
    due: usize,
    total: usize,
) -> (Duration, Duration, DispatchReport) {
    let now: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().expect("instant");
    let s = setup(db, fake, now).await;
    let chats = seed_groups(db, &s, due).await;
    let store = &s.dispatcher.store;
    let t = s.t.id();
    let seeding = Instant::now();
    futures::stream::iter((0..total).map(|i| {
        let chats = &chats;
        async move {
            let (chat, at) = if i < due {
                (chats[i].clone(), now)
            } else {
                (chats[i % due].clone(), now + ChronoDuration::days(1))
            };
            let p = plan(
                GroupTargets {
                    chat_ids: vec![chat],
                    ..Default::default()
                },
                at,
                now,
            );
            store.create_plan(t, &p).await.expect("plan");
        }
    }))
    .buffer_unordered(64)
    .collect::<Vec<_>>()
    .await;
    let seeded = seeding.elapsed();
    let (took, report) = timed_run(&s).await;
    (took, seeded, report)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let groups = env_usize("BENCH_GROUPS", 2000);
    let plans = env_usize("BENCH_PLANS", 10_000);
    let due = env_usize("BENCH_DUE", 100);
    let db = db().await;
    let fake = FakeWeCom::start().await.expect("fake WeCom");

    println!("SOP dispatch benchmark (DynamoDB Local, fake WeCom; one dispatch run each)");
    let (base, base_report) = one_plan_on(&db, &fake, 20).await;
    let (big, big_report) = one_plan_on(&db, &fake, groups).await;
    println!(
        "  one plan due on {:>5} groups: {:>9.1} ms  ({} tasks, {} reminders, {:.2} ms/task)   [baseline]",
        20,
        ms(base),
        base_report.tasks_created,
        base_report.sent,
        ms(base) / base_report.tasks_created.max(1) as f64
    );
    println!(
        "  one plan due on {:>5} groups: {:>9.1} ms  ({} tasks, {} reminders, {:.2} ms/task)",
        groups,
        ms(big),
        big_report.tasks_created,
        big_report.sent,
        ms(big) / big_report.tasks_created.max(1) as f64
    );
    assert_eq!(big_report.tasks_created, groups);
    assert_eq!(big_report.sent, STAFF);

    let (small, _, small_report) = due_among(&db, &fake, due, due).await;
    let (large, seeded, large_report) = due_among(&db, &fake, due, plans).await;
    println!(
        "  {due} due plans among {:>6} plans: {:>9.1} ms  ({} occurrences, {} tasks)   [baseline]",
        due,
        ms(small),
        small_report.occurrences,
        small_report.tasks_created
    );
    println!(
        "  {due} due plans among {:>6} plans: {:>9.1} ms  ({} occurrences, {} tasks; seeding took {:.1} s)",
        plans,
        ms(large),
        large_report.occurrences,
        large_report.tasks_created,
        seeded.as_secs_f64()
    );
    println!(
        "  ratio ({plans} plans / {due} plans): {:.2}x for {:.0}x the plans",
        ms(large) / ms(small),
        plans as f64 / due as f64
    );
    assert_eq!(large_report.occurrences, due);
}
