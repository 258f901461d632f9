//! The peak simulator: the largest tenant's 09:00 (1M customers, 10k groups, 200 staff),
//! scaled down, through the real code paths against DynamoDB Local and the fake WeCom
//! server, with the write units of every request counted per partition (base table and
//! index partitions; `scrm_tests::meter`). Scenarios, in order:
//!
//! 1. a full directory re-sync into an empty directory, then again with nothing changed
//!    (`directory-resync` handler, started through `admin-api`; nominal 1M customers in an
//!    hour);
//! 2. check-ins through the `customer-api` handler, each customer in one group (nominal
//!    100k in 10 minutes);
//! 3. a member-join campaign: one `add_member` callback per joiner through the
//!    `wecom-callback` handler, its domain events delivered to the consumers the routing
//!    table names (`points-on-event`, `sop-on-event`) as the local publisher does; newcomer
//!    points pay on the first join (nominal 50k joins at 300/s, into 100 groups);
//! 4. one SOP plan on every group, dispatched (`sop-dispatch`'s dispatcher; nominal 10k
//!    groups within the minute);
//! 5. the expiry sweep of the day the check-ins' and newcomers' lots expire (nominal: the
//!    day's lots in 10 minutes).
//!
//! Scale: every population (customers, groups, staff, check-ins, joins) is the nominal one
//! divided by `PEAK_SCALE` (default 100). Extrapolation to the nominal rate: a partition
//! whose key carries a simulated customer, group or staff id takes the same load per
//! entity at any scale, so its peak is its units over the nominal window; every other
//! partition (the tenant's, a day's, a shard's, a plan occurrence's) takes the load of all
//! operations, so its peak is its units per operation times the nominal rate.
//!
//! Prints, per scenario, write units and write requests per operation (for the member-join
//! campaign also the callback handler's own, metered apart from its events' consumers), and
//! the hottest partition of each table and index against DynamoDB's 1,000 WCU/s per partition (over
//! 30% marked), then the month's write cost for three merchant sizes, and the cost model:
//! write and read units, function invocations and GB-seconds a month per merchant size
//! (invocations counted as the simulator calls the handlers, each timed; reads from the
//! read units DynamoDB Local reports), beside an always-on server.
//!
//! Run: `scripts/bench.sh peak` (about 5 minutes on 2 cores). Options (env):
//! `PEAK_SCALE` (default 100), `PEAK_CONCURRENCY` (requests in flight, default 8).
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures::StreamExt;
use lambda_runtime::{Context, LambdaEvent};
use scrm_adapters::dynamo::schema;
use scrm_adapters::dynamo::{
    Db, DynamoDirectory, DynamoPoints, DynamoSop, DynamoTags, DynamoTenants,
};
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::wecom::fake::{
    FakeCustomer, FakeFollow, FakeGroup, FakeMember, FakeStaff, FakeWeCom,
};
use scrm_adapters::wecom::{MemoryTokenCache, WeComClient, WeComConfig};
use scrm_core::clock::{Clock, FixedClock};
use scrm_core::events::{routing, DomainEvent, EventEnvelope, RecordingPublisher};
use scrm_core::points::ports::RulesStore;
use scrm_core::points::sweep::sweep_tenant;
use scrm_core::points::{PointsRules, When};
use scrm_core::sop::dispatch::{DispatchInput, Dispatcher};
use scrm_core::sop::on_event::OnEvent;
use scrm_core::sop::plan::GroupTargets;
use scrm_core::sop::schedule::LocalTime;
use scrm_core::sop::{Content, Plan, PlanId, PlanSpec, PlanStatus, PlanStore, Schedule};
use scrm_core::tenants::{TenantId, TenantSettings};
use scrm_core::tokens::{self, Claims, TokenKind};
use scrm_core::wecom::api::CorpCredentials;
use scrm_core::wecom::crypto::CallbackCrypto;
use scrm_tests::meter::{Meter, Tally};
use scrm_tests::{TEST_AES_KEY, TEST_TOKEN};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// DynamoDB's write limit per partition (base table or index), units per second.
const PARTITION_LIMIT: f64 = 1000.0;
/// The share of [`PARTITION_LIMIT`] above which a partition is marked hot.
const HOT_SHARE: f64 = 0.30;
/// On-demand write price, US$ per million write units.
const PRICE_PER_MILLION_WRITES: f64 = 1.25;
/// On-demand read price, US$ per million read units (the same price list as the writes').
const PRICE_PER_MILLION_READS: f64 = 0.25;
/// Lambda's price per million requests and per GB-second (x86_64).
const PRICE_PER_MILLION_INVOCATIONS: f64 = 0.20;
const PRICE_PER_GB_SECOND: f64 = 0.000_016_666_7;
/// Every function's memory (`infra/template.yaml`, Globals), GB.
const FUNCTION_MEMORY_GB: f64 = 0.25;
/// An always-on 4-core / 16 GB server (an m6i.xlarge-class instance on demand, US$0.192 an
/// hour), what the open-source alternatives run on, before their database and cache.
const SERVER_A_MONTH: f64 = 0.192 * 730.0;

/// The largest tenant.
const CUSTOMERS: f64 = 1_000_000.0;
const GROUPS: f64 = 10_000.0;
const STAFF: f64 = 200.0;
/// The peak's operations and windows.
const CHECK_INS: f64 = 100_000.0;
const CHECK_IN_WINDOW_S: f64 = 600.0;
const JOINS: f64 = 50_000.0;
const JOIN_BURST_PER_S: f64 = 300.0;
const CAMPAIGN_GROUPS: f64 = 100.0;
const SOP_WINDOW_S: f64 = 60.0;
const SWEEP_WINDOW_S: f64 = 600.0;
const RESYNC_WINDOW_S: f64 = 3600.0;
/// Days points stay valid in the simulated tenant's rules.
const VALIDITY_DAYS: u32 = 30;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One scenario's counts.
struct Scenario {
    name: &'static str,
    /// Operations simulated.
    ops: usize,
    /// Operations at the nominal scale.
    nominal_ops: f64,
    /// Nominal operations per second at the peak.
    nominal_rate: f64,
    tally: Tally,
    /// The callback handler's own writes (its events' consumers excluded), when the
    /// scenario drives callbacks: issue 13's budget is per callback.
    own: Option<Tally>,
    took: Duration,
    /// Function invocations the scenario made (handler calls), and their summed time.
    invocations: usize,
    busy: Duration,
}

/// The simulated tenant's world: the metered and the un-metered store handles, the fake
/// WeCom server and the ids of the simulated entities.
struct World {
    db: Db,
    raw: Db,
    meter: Meter,
    /// The callback handler's store handle and its own meter, apart from the consumers'.
    callback_db: Db,
    callback_meter: Meter,
    fake: FakeWeCom,
    tenant: TenantId,
    bearer: String,
    clock: Arc<FixedClock>,
    recorder: Arc<RecordingPublisher>,
    customers: Vec<String>,
    groups: Vec<String>,
    staff: Vec<String>,
    joiners: Vec<String>,
    scale: f64,
    concurrency: usize,
    /// Handler calls of the running phase and their summed time in microseconds.
    invocations: AtomicUsize,
    busy_us: AtomicU64,
}

impl World {
    fn wecom(&self) -> WeComClient {
        WeComClient::new(
            WeComConfig::new(self.fake.base_url()),
            Arc::new(MemoryTokenCache::new()),
        )
        .expect("WeCom client")
    }

    fn points(&self) -> DynamoPoints {
        DynamoPoints::new(self.db.clone())
    }

    fn dir(&self) -> DynamoDirectory {
        DynamoDirectory::new(self.db.clone())
    }

    fn tenants(&self) -> DynamoTenants {
        DynamoTenants::new(self.db.clone())
    }

    /// Starts counting a phase (whatever was counted before is dropped: set-up).
    fn start(&self) -> Instant {
        self.meter.take();
        self.callback_meter.take();
        self.invocations.store(0, Ordering::Relaxed);
        self.busy_us.store(0, Ordering::Relaxed);
        Instant::now()
    }

    /// One function invocation: counted and timed.
    async fn invoke<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let out = call.await;
        self.invocations.fetch_add(1, Ordering::Relaxed);
        self.busy_us
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        out
    }

    /// Ends a phase: its tally with the index partitions resolved.
    async fn finish(
        &self,
        name: &'static str,
        started: Instant,
        ops: usize,
        nominal_ops: f64,
        nominal_rate: f64,
    ) -> Scenario {
        let took = started.elapsed();
        let mut tally = self.meter.take();
        self.meter
            .resolve(&mut tally, &self.raw.client)
            .await
            .expect("index keys read");
        eprintln!(
            "  {name}: {ops} operations in {:.1?}, {} write requests, {:.0} write units",
            took, tally.requests, tally.units
        );
        Scenario {
            name,
            ops,
            nominal_ops,
            nominal_rate,
            tally,
            own: None,
            took,
            invocations: self.invocations.load(Ordering::Relaxed),
            busy: Duration::from_micros(self.busy_us.load(Ordering::Relaxed)),
        }
    }

    /// Delivers published domain events to the functions the routing table names (the
    /// re-sync's own continuation aside, which the re-sync phase drives).
    async fn deliver(&self, events: Vec<EventEnvelope>) {
        let points = self.points();
        let dir = self.dir();
        let tenants = self.tenants();
        let on_event = OnEvent {
            store: DynamoSop::new(self.db.clone()),
            tenants: self.tenants(),
            clock: self.clock.clone(),
        };
        for event in events {
            for target in routing::targets(event.detail_type()) {
                let invocation = LambdaEvent::new(event.to_eventbridge_json(), Context::default());
                match *target {
                    "points-on-event" => {
                        self.invoke(points_on_event_fn::handle(
                            &points,
                            &dir,
                            &tenants,
                            &*self.clock,
                            invocation,
                        ))
                        .await
                        .expect("points-on-event");
                    }
                    "sop-on-event" => {
                        self.invoke(sop_on_event_fn::handle(&on_event, invocation))
                            .await
                            .expect("sop-on-event");
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The instant of the simulated 09:00 (tenant-local, Asia/Shanghai by default).
fn nine_am<Tz: TimeZone>(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_hms_opt(9, 0, 0).expect("time"))
        .single()
        .expect("unambiguous")
        .with_timezone(&Utc)
}

async fn setup(scale: f64, concurrency: usize) -> World {
    let raw = scrm_tests::db().await;
    let meter = Meter::new(raw.tables.clone());
    let db = Db::new(meter.client(&raw.client), raw.tables.clone())
        .with_secret_keys(scrm_tests::secret_keys());
    let callback_meter = Meter::new(raw.tables.clone());
    let callback_db = Db::new(callback_meter.client(&raw.client), raw.tables.clone())
        .with_secret_keys(scrm_tests::secret_keys());
    let t = scrm_tests::tenant(&raw).await;
    let tenant = t.id().clone();
    let tz = t.tenant.settings.tz();
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
    let clock = Arc::new(FixedClock::new(nine_am(tz, day)));

    let n = |nominal: f64| ((nominal / scale).round() as usize).max(1);
    let staff: Vec<String> = (0..n(STAFF)).map(|i| format!("staff{i:03}")).collect();
    let customers: Vec<String> = (0..n(CUSTOMERS)).map(|i| format!("wmpeak{i:07}")).collect();
    let groups: Vec<String> = (0..n(GROUPS)).map(|i| format!("wrpeak{i:05}")).collect();
    let joiners: Vec<String> = (0..n(JOINS)).map(|i| format!("wmjoin{i:06}")).collect();

    let fake = FakeWeCom::start().await.expect("fake WeCom");
    let corp = tenant.as_str();
    fake.add_app(corp, "contact-secret", None);
    fake.add_app(corp, "app-secret", Some(1000002));
    for s in &staff {
        fake.add_staff(corp, FakeStaff::active(s.clone(), s.clone()));
    }
    for (i, c) in customers.iter().enumerate() {
        let mut follow = FakeFollow::new(staff[i % staff.len()].clone());
        follow.createtime = clock.now().timestamp() - 86_400;
        fake.add_customer(
            corp,
            FakeCustomer::new(c.clone(), format!("客户{i}")).followed_by(follow),
        );
    }
    // The customers who check in are members of one group each.
    let checking_in = n(CHECK_INS);
    let mut fake_groups: Vec<FakeGroup> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut group =
                FakeGroup::new(g.clone(), format!("群{i}"), staff[i % staff.len()].clone());
            group.create_time = clock.now().timestamp() - 86_400;
            group
        })
        .collect();
    for (i, c) in customers.iter().take(checking_in).enumerate() {
        let at = i % fake_groups.len();
        fake_groups[at]
            .members
            .push(FakeMember::customer(c.clone(), format!("客户{i}")));
    }
    for g in fake_groups {
        fake.add_group(corp, g);
    }

    // Rules: check-in with streak tiers, newcomer points on the first group join, points
    // valid 30 days (so the day's lots expire on one later day).
    let rules: PointsRules = serde_json::from_value(serde_json::json!({
        "newcomer": {"enabled": true, "points": 10, "on_contact_added": false, "on_group_join": true},
        "check_in": {"enabled": true, "base_points": 10,
            "streak_tiers": [{"days": 3, "bonus": 5}, {"days": 7, "bonus": 10}]},
        "validity_days": VALIDITY_DAYS
    }))
    .expect("rules");
    DynamoPoints::new(raw.clone())
        .put_rules(&tenant, &rules, day.pred_opt().expect("day"), clock.now())
        .await
        .expect("rules stored");

    World {
        db,
        raw,
        meter,
        callback_db,
        callback_meter,
        fake,
        tenant,
        bearer: t.bearer(),
        clock,
        recorder: Arc::new(RecordingPublisher::new()),
        customers,
        groups,
        staff,
        joiners,
        scale,
        concurrency,
        invocations: AtomicUsize::new(0),
        busy_us: AtomicU64::new(0),
    }
}

/// A full re-sync job, started through the admin API and run by the function's handler
/// until done (as EventBridge delivers its continuations).
async fn resync(w: &World, name: &'static str) -> Scenario {
    let started = w.start();
    let admin = scrm_tests::admin_api(
        &w.db,
        AnyPublisher::Recording(w.recorder.clone()),
        w.fake.base_url(),
        w.clock.clone(),
    );
    let resp = w
        .invoke(admin_api_fn::handle(
            &admin,
            scrm_tests::json_request(
                "POST",
                "/v1/directory/resync",
                &w.bearer,
                &serde_json::json!({}),
            ),
        ))
        .await
        .expect("admin-api");
    let (status, body) = scrm_tests::response_json(&resp);
    assert_eq!(status, 202, "{body}");
    let job_id = body["job"]["job_id"].as_str().expect("job id").to_string();
    let resyncer = directory_resync_fn::Resyncer {
        tenants: w.tenants(),
        dir: w.dir(),
        points: w.points(),
        tags: DynamoTags::new(w.db.clone()),
        source: w.wecom(),
        publisher: w.recorder.clone(),
        clock: w.clock.clone(),
        settings: directory_resync_fn::ResyncSettings::default(),
    };
    for invocation in 1.. {
        assert!(invocation < 1000, "re-sync does not finish");
        let event = EventEnvelope::new(
            format!("resync:{job_id}:{invocation}"),
            w.tenant.as_str(),
            w.clock.now(),
            DomainEvent::ResyncRequested {
                job_id: job_id.clone(),
            },
        );
        let out = w
            .invoke(directory_resync_fn::handle(
                &resyncer,
                LambdaEvent::new(event.to_eventbridge_json(), Context::default()),
            ))
            .await
            .expect("re-sync run");
        let others: Vec<EventEnvelope> = w
            .recorder
            .take()
            .into_iter()
            .filter(|e| !matches!(e.event, DomainEvent::ResyncRequested { .. }))
            .collect();
        w.deliver(others).await;
        if out["outcome"] == "done" {
            break;
        }
        assert_eq!(out["outcome"], "continue", "{out}");
    }
    w.finish(
        name,
        started,
        w.customers.len(),
        CUSTOMERS,
        CUSTOMERS / RESYNC_WINDOW_S,
    )
    .await
}

/// Check-ins through the customer API, `concurrency` in flight.
async fn check_ins(w: &World) -> Scenario {
    let count = ((CHECK_INS / w.scale).round() as usize).max(1);
    let api = customer_api_fn::router(Arc::new(customer_api_fn::CustomerApi {
        points: w.points(),
        forms: customer_api_fn::forms::Forms::unpublished(&w.db),
        fission: None,
        directory: w.dir(),
        tenants: w.tenants(),
        clock: w.clock.clone(),
        signing_key: scrm_tests::signing_keys(),
        official: None,
    }));
    let started = w.start();
    futures::stream::iter(w.customers.iter().take(count))
        .map(|customer| {
            let api = &api;
            async move {
                let token = tokens::issue(
                    &scrm_tests::signing_keys(),
                    &Claims {
                        tenant: w.tenant.to_string(),
                        subject: customer.clone(),
                        kind: TokenKind::Customer,
                        expires_at: w.clock.now().timestamp() + 3600,
                    },
                );
                let bearer = format!("Bearer {token}");
                let req = scrm_tests::request(
                    "POST",
                    "/v1/check-in",
                    &[("authorization", &bearer)],
                    None,
                );
                let resp = w.invoke(api.respond(req)).await;
                assert_eq!(resp.status(), 200, "check-in of {customer}");
            }
        })
        .buffer_unordered(w.concurrency)
        .collect::<Vec<_>>()
        .await;
    w.finish(
        "check-ins",
        started,
        count,
        CHECK_INS,
        CHECK_INS / CHECK_IN_WINDOW_S,
    )
    .await
}

/// The member-join campaign: each joiner's `add_member` callback through the callback
/// handler (retried as WeCom retries an answer other than 200), then its events delivered.
async fn joins(w: &World) -> Scenario {
    let corp = w.tenant.as_str();
    let crypto = CallbackCrypto::from_parts(TEST_TOKEN, TEST_AES_KEY, corp).expect("crypto");
    let wecom = w.wecom();
    // The handler's writes are metered apart from its consumers' (merged into the
    // scenario's tally at the end).
    let handler = wecom_callback_fn::CallbackHandler {
        tenants: DynamoTenants::new(w.callback_db.clone()),
        dir: DynamoDirectory::new(w.callback_db.clone()),
        tags: DynamoTags::new(w.callback_db.clone()),
        source: w.wecom(),
        publisher: w.recorder.clone(),
        clock: w.clock.clone(),
        policy: wecom_callback_fn::CallbackPolicy::default(),
    };
    let campaign_groups = ((CAMPAIGN_GROUPS / w.scale).round() as usize).clamp(1, w.groups.len());
    let creds = CorpCredentials::new(corp, "contact-secret", None);
    let retries = AtomicUsize::new(0);
    let started = w.start();
    futures::stream::iter(w.joiners.iter().enumerate())
        .map(|(i, joiner)| {
            let (handler, crypto, wecom, creds, retries) =
                (&handler, &crypto, &wecom, &creds, &retries);
            let chat = &w.groups[i % campaign_groups];
            async move {
                // WeCom's side: the member is in, the group's member version moves on.
                w.fake.update_group(corp, chat, |g| {
                    g.members
                        .push(FakeMember::customer(joiner.clone(), format!("新人{i}")))
                });
                let version = wecom
                    .get_group_chat(creds, chat, false)
                    .await
                    .expect("group read")
                    .member_version
                    .unwrap_or_default();
                let at = w.clock.now().timestamp();
                let xml = format!(
                    "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
                     <CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
                     <Event><![CDATA[change_external_chat]]></Event><ChangeType><![CDATA[update]]></ChangeType>\
                     <ChatId><![CDATA[{chat}]]></ChatId><UpdateDetail><![CDATA[add_member]]></UpdateDetail>\
                     <JoinScene>3</JoinScene><QuitScene>0</QuitScene><MemChangeCnt>1</MemChangeCnt>\
                     <MemChangeList><Item><![CDATA[{joiner}]]></Item></MemChangeList>\
                     <CurMemVer><![CDATA[{version}]]></CurMemVer></xml>"
                );
                let m = crypto.encrypt_message(xml.as_bytes(), &at.to_string(), &format!("{}", 1_000_000 + i));
                for attempt in 0.. {
                    let req = scrm_tests::request(
                        "POST",
                        &format!("/callback/{corp}?{}", m.query()),
                        &[("content-type", "text/xml")],
                        Some(m.callback_xml(Some("1000002")).into_bytes()),
                    );
                    let resp = w
                        .invoke(wecom_callback_fn::handle(handler, req))
                        .await
                        .expect("infallible");
                    if resp.status() == 200 {
                        break;
                    }
                    assert!(attempt < 5, "callback refused: {:?}", resp.body());
                    retries.fetch_add(1, Ordering::Relaxed);
                }
                w.deliver(w.recorder.take()).await;
            }
        })
        // At the nominal rate a group takes about 3 joins a second, rarely two at once:
        // no more joins in flight than there are campaign groups.
        .buffer_unordered(w.concurrency.min(campaign_groups))
        .collect::<Vec<_>>()
        .await;
    let retried = retries.load(Ordering::Relaxed);
    if retried > 0 {
        eprintln!("  ({retried} callbacks answered other than 200 and were delivered again)");
    }
    let mut own = w.callback_meter.take();
    w.callback_meter
        .resolve(&mut own, &w.raw.client)
        .await
        .expect("index keys read");
    let mut scenario = w
        .finish(
            "member-join campaign",
            started,
            w.joiners.len(),
            JOINS,
            JOIN_BURST_PER_S,
        )
        .await;
    eprintln!(
        "    of which the callback handler's own: {} write requests, {:.0} write units",
        own.requests, own.units
    );
    scenario.tally.merge(own.clone());
    scenario.own = Some(own);
    scenario
}

/// One daily plan on every group (owners: all staff), due at 09:00: one dispatch run.
async fn sop(w: &World) -> Scenario {
    let now = w.clock.now();
    let plan = Plan {
        plan_id: PlanId::generate(),
        name: "早安".into(),
        spec: PlanSpec::Group {
            targets: GroupTargets {
                owners: w.staff.clone(),
                ..Default::default()
            },
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
        next_due: Some(now),
        created_at: now,
        updated_at: now,
    };
    DynamoSop::new(w.raw.clone())
        .create_plan(&w.tenant, &plan)
        .await
        .expect("plan");
    let dispatcher = Dispatcher {
        store: DynamoSop::new(w.db.clone()),
        directory: w.dir(),
        wecom: w.wecom(),
        tenants: w.tenants(),
        clock: w.clock.clone(),
        signing_key: scrm_tests::signing_keys(),
        public_base_url: "https://staff.example.com".into(),
        staff_pages_url: None,
        materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
        links: std::sync::Arc::new(scrm_core::links::NoTracking),
    };
    let started = w.start();
    // In a deployment: the scheduler's invocation, then the workers'; counted as one.
    let report = w
        .invoke(dispatcher.run(&DispatchInput {
            tenant: Some(w.tenant.to_string()),
        }))
        .await
        .expect("dispatch");
    assert_eq!(report.tasks_created, w.groups.len(), "a task per group");
    w.finish(
        "SOP plan on every group",
        started,
        report.tasks_created,
        GROUPS,
        GROUPS / SOP_WINDOW_S,
    )
    .await
}

/// The sweep of the day the peak's lots expire.
async fn sweep(w: &World) -> Scenario {
    let tz = TenantSettings::default().tz();
    let at = w.clock.now() + chrono::Duration::days(i64::from(VALIDITY_DAYS) + 1);
    let local = at.with_timezone(&tz).date_naive();
    let at = tz
        .from_local_datetime(&local.and_hms_opt(0, 30, 0).expect("time"))
        .single()
        .expect("unambiguous")
        .with_timezone(&Utc);
    let started = w.start();
    let report = w
        .invoke(sweep_tenant(
            &w.points(),
            &w.tenant,
            When::new(at, tz),
            None,
        ))
        .await
        .expect("sweep");
    let lots = report.lots_expired as usize;
    assert!(lots > 0, "the peak's lots expire");
    let nominal = lots as f64 * w.scale;
    w.finish(
        "expiry sweep of the day",
        started,
        lots,
        nominal,
        nominal / SWEEP_WINDOW_S,
    )
    .await
}

/// A partition's key as printed: the tenant and the simulated entities' ids replaced by
/// what they stand for; whether its load is one entity's (does not grow with the scale).
fn shape(w: &World, entities: &BTreeMap<&str, &'static str>, key: &str) -> (String, bool) {
    let mut per_entity = false;
    let mut out = String::new();
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String, per_entity: &mut bool| {
        if token.is_empty() {
            return;
        }
        if token == w.tenant.as_str() {
            out.push_str("{corp}");
        } else if let Some(kind) = entities.get(token.as_str()) {
            *per_entity = true;
            out.push_str(kind);
        } else if (26..=27).contains(&token.len())
            && token.chars().all(|c| c.is_ascii_alphanumeric())
        {
            // A generated id (a ULID, or one with a one-letter prefix: plans, jobs).
            out.push_str("{id}");
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in key.chars() {
        if matches!(c, '#' | ':' | '|' | '/') {
            flush(&mut token, &mut out, &mut per_entity);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out, &mut per_entity);
    (out, per_entity)
}

/// A hottest partition of one table or index in one scenario.
struct Hot {
    table: String,
    partition: String,
    per_entity: bool,
    peak: f64,
}

fn table_label(w: &World, table: &str, index: Option<&str>) -> String {
    let suffix = schema::ALL
        .iter()
        .find(|d| d.name_in(&w.db.tables) == table)
        .map(|d| d.suffix)
        .unwrap_or(table);
    match index {
        Some(i) => format!("{suffix} / {i}"),
        None => suffix.to_string(),
    }
}

fn hottest(w: &World, s: &Scenario) -> Vec<Hot> {
    let mut entities: BTreeMap<&str, &'static str> = BTreeMap::new();
    for c in w.customers.iter().chain(w.joiners.iter()) {
        entities.insert(c, "{customer}");
    }
    for g in &w.groups {
        entities.insert(g, "{chat}");
    }
    for st in &w.staff {
        entities.insert(st, "{staff}");
    }
    // Per operation at the nominal rate; an entity's partitions over the nominal window.
    let per_op = s.nominal_rate / s.ops.max(1) as f64;
    let window_share = s.ops as f64 / s.nominal_ops;
    let mut best: BTreeMap<String, Hot> = BTreeMap::new();
    for (p, units) in &s.tally.by_partition {
        let (partition, per_entity) = shape(w, &entities, &p.key);
        let peak = units * per_op * if per_entity { window_share } else { 1.0 };
        let table = table_label(w, &p.table, p.index.as_deref());
        let slot = best.entry(table.clone()).or_insert(Hot {
            table,
            partition: String::new(),
            per_entity,
            peak: -1.0,
        });
        if peak > slot.peak {
            slot.partition = partition;
            slot.per_entity = per_entity;
            slot.peak = peak;
        }
    }
    let mut rows: Vec<Hot> = best.into_values().collect();
    rows.sort_by(|a, b| b.peak.total_cmp(&a.peak));
    rows
}

fn units_per_op(s: &Scenario) -> f64 {
    s.tally.units / s.ops.max(1) as f64
}

fn print_report(w: &World, scenarios: &[Scenario], took: Duration) {
    let scale = w.scale;
    println!();
    println!(
        "### Write load at the largest tenant's peak (scale 1/{scale:.0}; simulated in {:.0} s)",
        took.as_secs_f64()
    );
    println!();
    println!("| Scenario | Simulated → nominal ops | Nominal rate (ops/s) | WCU / op | Write requests / op | Hottest partition (table / index) | Peak WCU/s | Of 1,000 |");
    println!("|---|---:|---:|---:|---:|---|---:|---:|");
    for s in scenarios {
        let hot = hottest(w, s);
        let top = hot.first();
        println!(
            "| {} | {} → {:.0} | {:.0} | {:.1} | {:.2} | {} | {:.0} | {:.0}%{} |",
            s.name,
            s.ops,
            s.nominal_ops,
            s.nominal_rate,
            units_per_op(s),
            s.tally.requests as f64 / s.ops.max(1) as f64,
            top.map(|h| format!("`{}` ({})", h.partition, h.table))
                .unwrap_or_default(),
            top.map(|h| h.peak).unwrap_or(0.0),
            top.map(|h| 100.0 * h.peak / PARTITION_LIMIT).unwrap_or(0.0),
            if top.is_some_and(|h| h.peak > HOT_SHARE * PARTITION_LIMIT) {
                " **hot**"
            } else {
                ""
            }
        );
    }
    for s in scenarios {
        if let Some(own) = &s.own {
            let ops = s.ops.max(1) as f64;
            println!();
            println!(
                "{}: the callback's own writes (the `wecom-callback` handler) {:.1} WCU and {:.2} write requests per operation; its events' consumers {:.1} WCU and {:.2} write requests.",
                s.name,
                own.units / ops,
                own.requests as f64 / ops,
                (s.tally.units - own.units) / ops,
                (s.tally.requests - own.requests) as f64 / ops,
            );
        }
    }
    println!();
    println!("Hottest partition of each table and index written, per scenario (peak at the nominal rate; **hot**: above 30% of 1,000 WCU/s):");
    println!();
    println!("| Scenario | Table / index | Hottest partition | Load of | Peak WCU/s | Of 1,000 |");
    println!("|---|---|---|---|---:|---:|");
    for s in scenarios {
        for h in hottest(w, s) {
            if h.peak < 1.0 {
                continue;
            }
            println!(
                "| {} | {} | `{}` | {} | {:.0} | {:.0}%{} |",
                s.name,
                h.table,
                h.partition,
                if h.per_entity {
                    "one entity"
                } else {
                    "the tenant"
                },
                h.peak,
                100.0 * h.peak / PARTITION_LIMIT,
                if h.peak > HOT_SHARE * PARTITION_LIMIT {
                    " **hot**"
                } else {
                    ""
                }
            );
        }
    }

    // The month's writes per merchant size, from the units per operation.
    let per = |name: &str| {
        scenarios
            .iter()
            .find(|s| s.name == name)
            .map(units_per_op)
            .unwrap_or(0.0)
    };
    let (check_in, join, sop, lot, resync_again) = (
        per("check-ins"),
        per("member-join campaign"),
        per("SOP plan on every group"),
        per("expiry sweep of the day"),
        per("re-sync, nothing changed"),
    );
    println!();
    println!("Write cost a month at US$1.25 per million write units (30% of customers check in daily and their lots expire; 2 member-join callbacks per customer; one daily SOP plan on every group; one re-sync a week):");
    println!();
    println!("| Merchant | Check-ins | Callbacks | SOP | Expiry | Re-sync | Total |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (groups, customers) in [
        (100.0, 10_000.0),
        (1_000.0, 100_000.0),
        (10_000.0, 1_000_000.0),
    ] {
        let cost = |units: f64| units * PRICE_PER_MILLION_WRITES / 1e6;
        let parts = [
            cost(0.3 * customers * 30.0 * check_in),
            cost(2.0 * customers * join),
            cost(groups * 30.0 * sop),
            cost(0.3 * customers * 30.0 * lot),
            cost(4.0 * customers * resync_again),
        ];
        let total: f64 = parts.iter().sum();
        println!(
            "| {} groups / {} customers | ${:.2} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | ${:.2} |",
            thousands(groups),
            thousands(customers),
            parts[0],
            parts[1],
            parts[2],
            parts[3],
            parts[4],
            total
        );
    }
    print_cost_model(scenarios);
    println!();
    let failed: u64 = scenarios.iter().map(|s| s.tally.failed).sum();
    println!(
        "({} failed conditional writes counted at their items' sizes; scenario times: {})",
        failed,
        scenarios
            .iter()
            .map(|s| format!("{} {:.1} s", s.name, s.took.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The month's operations of a merchant, by the scenario whose counts price them: 30% of
/// customers check in daily and their lots expire; 2 member-join callbacks per customer;
/// one daily SOP plan on every group; one re-sync a week.
fn monthly_ops(groups: f64, customers: f64) -> [(&'static str, f64); 5] {
    [
        ("check-ins", 0.3 * customers * 30.0),
        ("member-join campaign", 2.0 * customers),
        ("SOP plan on every group", groups * 30.0),
        ("expiry sweep of the day", 0.3 * customers * 30.0),
        ("re-sync, nothing changed", 4.0 * customers),
    ]
}

/// Write and read units, invocations and GB-seconds a month per merchant size, priced, beside
/// an always-on server.
fn print_cost_model(scenarios: &[Scenario]) {
    println!();
    println!("Cost model a month (units and invocations per operation as simulated; GB-seconds from the handlers' measured time at {:.0} MB, an upper bound: DynamoDB Local on the build machine answers slower than DynamoDB; prices: US${PRICE_PER_MILLION_WRITES} per million write units, US${PRICE_PER_MILLION_READS} per million read units, US${PRICE_PER_MILLION_INVOCATIONS} per million invocations, US${PRICE_PER_GB_SECOND} per GB-second):", FUNCTION_MEMORY_GB * 1024.0);
    println!();
    println!("| Merchant | Write units | Read units | Invocations | GB-seconds | DynamoDB | Lambda | Total | 4-core / 16 GB server |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (groups, customers) in [
        (100.0, 10_000.0),
        (1_000.0, 100_000.0),
        (10_000.0, 1_000_000.0),
    ] {
        let (mut writes, mut reads, mut invocations, mut gb_s) = (0.0, 0.0, 0.0, 0.0);
        for (name, ops) in monthly_ops(groups, customers) {
            let Some(s) = scenarios.iter().find(|s| s.name == name) else {
                continue;
            };
            let per_op = |v: f64| v / s.ops.max(1) as f64;
            writes += ops * per_op(s.tally.units);
            reads += ops * per_op(s.tally.read_units);
            invocations += ops * per_op(s.invocations as f64);
            gb_s += ops * per_op(s.busy.as_secs_f64()) * FUNCTION_MEMORY_GB;
        }
        let dynamo =
            writes * PRICE_PER_MILLION_WRITES / 1e6 + reads * PRICE_PER_MILLION_READS / 1e6;
        let lambda = invocations * PRICE_PER_MILLION_INVOCATIONS / 1e6 + gb_s * PRICE_PER_GB_SECOND;
        println!(
            "| {} groups / {} customers | {} | {} | {} | {} | ${:.2} | ${:.2} | ${:.2} | ${:.2} |",
            thousands(groups),
            thousands(customers),
            thousands(writes),
            thousands(reads),
            thousands(invocations),
            thousands(gb_s),
            dynamo,
            lambda,
            dynamo + lambda,
            SERVER_A_MONTH
        );
    }
    println!();
    println!(
        "Per operation: {}",
        scenarios
            .iter()
            .map(|s| format!(
                "{} {:.2} read units, {:.2} invocations, {:.1} ms a handler call",
                s.name,
                s.tally.read_units / s.ops.max(1) as f64,
                s.invocations as f64 / s.ops.max(1) as f64,
                1000.0 * s.busy.as_secs_f64() / s.invocations.max(1) as f64
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
}

fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let scale = env_usize("PEAK_SCALE", 100).max(1) as f64;
    let concurrency = env_usize("PEAK_CONCURRENCY", 8).max(1);
    let started = Instant::now();
    eprintln!(
        "peak simulator against DynamoDB Local at {} (scale 1/{scale:.0})",
        scrm_tests::endpoint()
    );
    let w = setup(scale, concurrency).await;
    eprintln!(
        "  world: {} customers, {} groups, {} staff in the fake WeCom corp",
        w.customers.len(),
        w.groups.len(),
        w.staff.len()
    );
    let mut scenarios = Vec::new();
    scenarios.push(resync(&w, "re-sync, empty directory").await);
    scenarios.push(resync(&w, "re-sync, nothing changed").await);
    scenarios.push(check_ins(&w).await);
    scenarios.push(joins(&w).await);
    scenarios.push(sop(&w).await);
    scenarios.push(sweep(&w).await);
    print_report(&w, &scenarios, started.elapsed());
}
