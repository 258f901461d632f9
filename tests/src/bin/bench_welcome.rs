//! Welcome-message latency: a customer adds a member through a channel code, WeCom's
//! `add_external_contact` callback reaches `wecom-callback`, and `growth-on-event` sends the
//! welcome with the callback's WelcomeCode, which WeCom accepts for 20 s and once. Each add
//! is timed from the moment the signed callback request is handed to the handler until
//! `send_welcome_msg` has been answered by the fake WeCom server (and until the consumer
//! has finished the add: tags, remark, figures, rota), against DynamoDB Local:
//! sequentially, with several adds in flight, and through freshly built handlers and
//! consumers (a cold container's first invocation, without the runtime's own init). Beside
//! it, a raw DynamoDB GetItem round trip measured in the same run, so that the figures can
//! be compared across machines. EventBridge's delivery between the two functions is not
//! part of this run: the published event is handed straight to the consumer.
//!
//! Run: `scripts/bench.sh welcome` (or `cargo run --release -p scrm-tests --bin
//! bench_welcome` with DynamoDB Local at `AWS_ENDPOINT_URL_DYNAMODB`). Options (env):
//! `BENCH_N` (adds in each warm run, default 300), `BENCH_CONCURRENCY` (adds in flight,
//! default 8), `BENCH_COLD_N` (cold adds, default 100).
use futures::StreamExt;
use growth_on_event_fn::{apply, GrowthOnEvent};
use scrm_adapters::bootstrap::{wecom_config, WeComUse};
use scrm_adapters::dynamo::{Db, DynamoDirectory, DynamoGrowth, DynamoTags, DynamoTenants};
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::wecom::fake::{FakeStaff, FakeTagGroup, FakeWeCom};
use scrm_adapters::wecom::{DynamoTokenCache, WeComClient};
use scrm_core::clock::SystemClock;
use scrm_core::events::{DomainEvent, EventEnvelope, RecordingPublisher};
use scrm_core::growth::on_event::{GrowthOutcome, WELCOME_WINDOW};
use scrm_core::growth::{GrowthWeCom, WelcomeOutcome};
use scrm_core::wecom::api::{
    paths, ContactWay, ContactWayCreated, ContactWayInfo, CorpCredentials, CustomerRemark, MarkTag,
    WeComError, WelcomeMessage,
};
use scrm_core::wecom::crypto::CallbackCrypto;
use scrm_tests::{db, request, response_json, tenant, TestTenant, TEST_AES_KEY, TEST_TOKEN};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wecom_callback_fn::{CallbackHandler, CallbackPolicy};

/// The aim for the whole path, well inside WeCom's window.
const AIM: Duration = Duration::from_millis(1000);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The WeCom client with the moment each welcome was accepted, keyed by its welcome code:
/// the consumer goes on after the welcome (tags, remark, figures), so its return is later
/// than the welcome itself.
struct Timed {
    inner: WeComClient,
    sent: Arc<Mutex<HashMap<String, Instant>>>,
}

impl GrowthWeCom for Timed {
    async fn add_contact_way(
        &self,
        creds: &CorpCredentials,
        way: &ContactWay,
    ) -> Result<ContactWayCreated, WeComError> {
        self.inner.add_contact_way(creds, way).await
    }
    async fn update_contact_way(
        &self,
        creds: &CorpCredentials,
        way: &ContactWay,
    ) -> Result<(), WeComError> {
        self.inner.update_contact_way(creds, way).await
    }
    async fn del_contact_way(
        &self,
        creds: &CorpCredentials,
        config_id: &str,
    ) -> Result<(), WeComError> {
        self.inner.del_contact_way(creds, config_id).await
    }
    async fn find_contact_way(
        &self,
        creds: &CorpCredentials,
        state: &str,
        since: i64,
        until: i64,
    ) -> Result<Option<ContactWayInfo>, WeComError> {
        self.inner
            .find_contact_way(creds, state, since, until)
            .await
    }
    async fn send_welcome(
        &self,
        creds: &CorpCredentials,
        message: &WelcomeMessage,
    ) -> Result<(), WeComError> {
        let answer = self.inner.send_welcome(creds, message).await;
        if answer.is_ok() {
            self.sent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(message.welcome_code.clone(), Instant::now());
        }
        answer
    }
    async fn mark_tag(&self, creds: &CorpCredentials, request: &MarkTag) -> Result<(), WeComError> {
        self.inner.mark_tag(creds, request).await
    }
    async fn remark(
        &self,
        creds: &CorpCredentials,
        request: &CustomerRemark,
    ) -> Result<(), WeComError> {
        self.inner.remark(creds, request).await
    }
    async fn staff_name(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> Result<Option<String>, WeComError> {
        self.inner.staff_name(creds, userid).await
    }
    async fn join_state(
        &self,
        creds: &CorpCredentials,
        chat_id: &str,
        member_id: &str,
    ) -> Result<Option<String>, WeComError> {
        self.inner.join_state(creds, chat_id, member_id).await
    }
}

type Handler = CallbackHandler<DynamoTenants, WeComClient, Arc<RecordingPublisher>>;
type Consumer = GrowthOnEvent<DynamoGrowth, Timed, DynamoDirectory, DynamoTenants>;

/// What the two functions are built from, as their `wire` builds it: a store handle with
/// the key service, tenants without a cached entry, WeCom clients with no token of their
/// own (they read the one shared through the tenants table).
struct Functions {
    handler: Handler,
    consumer: Consumer,
}

fn build(
    callback_db: Db,
    consumer_db: Db,
    base_url: &str,
    publisher: Arc<RecordingPublisher>,
    sent: Arc<Mutex<HashMap<String, Instant>>>,
) -> Functions {
    let policy = CallbackPolicy::default();
    let client = |db: &Db, usage| {
        WeComClient::new(
            wecom_config(base_url, usage),
            Arc::new(DynamoTokenCache::from_db(db).expect("the handle seals tokens")),
        )
        .expect("WeCom client")
    };
    let handler = CallbackHandler {
        tenants: DynamoTenants::new(callback_db.clone()),
        dir: DynamoDirectory::new(callback_db.clone()),
        tags: DynamoTags::new(callback_db.clone()),
        source: client(
            &callback_db,
            WeComUse::WhileCallbackWaits {
                budget: policy.fetch_budget,
            },
        ),
        publisher,
        clock: Arc::new(SystemClock),
        policy,
    };
    let consumer = GrowthOnEvent {
        store: DynamoGrowth::new(consumer_db.clone()),
        wecom: Timed {
            inner: client(&consumer_db, WeComUse::PersonWaiting),
            sent,
        },
        facts: DynamoDirectory::new(consumer_db.clone()),
        tenants: DynamoTenants::new(consumer_db),
        clock: Arc::new(SystemClock),
        materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
        links: std::sync::Arc::new(scrm_core::links::tracker::NoTracking),
    };
    Functions { handler, consumer }
}

/// The world of the run: one tenant whose corp the fake knows, one channel code, and the
/// events the handler publishes sorted by customer (adds in flight share the recorder).
struct Bench {
    fake: FakeWeCom,
    t: TestTenant,
    state: String,
    crypto: CallbackCrypto,
    recorder: Arc<RecordingPublisher>,
    mailbox: Mutex<HashMap<String, EventEnvelope>>,
    sent: Arc<Mutex<HashMap<String, Instant>>>,
    customers: AtomicUsize,
}

/// One add, timed from the handler's call.
struct Add {
    /// Until WeCom answered `send_welcome_msg`.
    welcome: Duration,
    /// Until the consumer returned.
    done: Duration,
}

impl Bench {
    /// The customer scans the code and WeCom signs its callback: done before the clock
    /// starts, as it happens at WeCom.
    fn scan(&self) -> (String, String, lambda_http::Request) {
        let i = self.customers.fetch_add(1, Ordering::Relaxed);
        let ext = format!("wmbench{i:08}");
        let c = self.t.id().as_str();
        let add = self
            .fake
            .scan_contact_way(c, &self.state, &ext, &format!("客户{i}"))
            .expect("the fake has the code");
        let msg = self.crypto.encrypt_message(
            add.xml.as_bytes(),
            &chrono::Utc::now().timestamp().to_string(),
            &format!("{}", 1_000_000 + i),
        );
        let req = request(
            "POST",
            &format!("/callback/{}?{}", self.t.id(), msg.query()),
            &[("content-type", "text/xml")],
            Some(msg.callback_xml(Some("1000002")).into_bytes()),
        );
        (ext, add.welcome_code, req)
    }

    /// The add the handler published for `ext`, wherever the recorder's events went.
    fn published(&self, ext: &str) -> EventEnvelope {
        let mut mailbox = self.mailbox.lock().unwrap_or_else(|p| p.into_inner());
        for e in self.recorder.take() {
            if let DomainEvent::ContactAdded {
                external_userid, ..
            } = &e.event
            {
                mailbox.insert(external_userid.clone(), e);
            }
        }
        mailbox
            .remove(ext)
            .unwrap_or_else(|| panic!("no ContactAdded published for {ext}"))
    }

    /// One add through `f`: the callback handled, its event applied by the consumer.
    async fn add(&self, f: &Functions) -> Add {
        let (ext, welcome_code, req) = self.scan();
        let start = Instant::now();
        let resp = wecom_callback_fn::handle(&f.handler, req)
            .await
            .expect("infallible");
        let (status, body) = response_json(&resp);
        assert_eq!((status, &body), (200, &json!("success")), "{body}");
        let event = self.published(&ext);
        let outcome = apply(&f.consumer, &event).await.expect("applied");
        let done = start.elapsed();
        match outcome {
            GrowthOutcome::Handled(h) => assert_eq!(h.welcome, Some(WelcomeOutcome::Sent)),
            other => panic!("not handled: {other:?}"),
        }
        let sent_at = self
            .sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&welcome_code)
            .expect("the welcome's answer was timed");
        Add {
            welcome: sent_at - start,
            done,
        }
    }
}

/// Nearest-rank percentile of sorted durations, in ms.
fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

fn sorted(mut v: Vec<Duration>) -> Vec<Duration> {
    v.sort();
    v
}

fn row(label: &str, adds: &[Add]) {
    let welcome = sorted(adds.iter().map(|a| a.welcome).collect());
    let done = sorted(adds.iter().map(|a| a.done).collect());
    println!(
        "  {label:<36} {:>8.1} {:>8.1} {:>8.1}   {:>7.1} / {:.1}",
        pct(&welcome, 50.0),
        pct(&welcome, 99.0),
        welcome.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        pct(&done, 50.0),
        pct(&done, 99.0),
    );
}

/// A tenant whose corp the fake knows (three members, a tag), and an active channel code
/// created through the admin API: every member on shift all week, a cap no run reaches,
/// a welcome naming the customer and the member, a tag and a remark.
async fn setup(db: &Db, fake: &FakeWeCom) -> (TestTenant, String) {
    let t = tenant(db).await;
    let c = t.id().as_str();
    fake.add_app(c, "contact-secret", None);
    for (userid, name) in [("zhangsan", "张三"), ("lisi", "李四"), ("wangwu", "王五")] {
        fake.add_staff(c, FakeStaff::active(userid, name));
    }
    fake.add_tag_group(
        c,
        FakeTagGroup::new("etgroupsrc", "来源", &[("ettagvip", "会员码")]),
    );
    let shift = |userid: &str| json!({ "userid": userid, "weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00" });
    let body = json!({
        "name": "门店海报",
        "kind": "multi",
        "rota": {
            "shifts": [shift("zhangsan"), shift("lisi"), shift("wangwu")],
            "daily_cap": 100_000,
            "backup": []
        },
        "welcome": {
            "text": "{customer_name}您好，我是{staff_name}。签到领积分：{points_link}",
            "attachments": [
                { "type": "link", "title": "会员中心", "url": "https://shop.example.com/member" }
            ],
            "points_page_url": "https://shop.example.com/h5/"
        },
        "tags": ["ettagvip"],
        "remark_template": "海报-{customer_name}"
    });
    let api = scrm_tests::admin_api(
        db,
        AnyPublisher::Recording(Arc::new(RecordingPublisher::new())),
        fake.base_url(),
        Arc::new(SystemClock),
    );
    let mut req = scrm_tests::json_request("POST", "/v1/growth/channel-codes", &t.bearer(), &body);
    req.headers_mut()
        .insert("idempotency-key", "bench-welcome".parse().expect("header"));
    let resp = admin_api_fn::handle(&api, req).await.expect("infallible");
    let (status, code) = response_json(&resp);
    assert_eq!(status, 201, "{code}");
    let state = code["state"].as_str().expect("state").to_string();
    (t, state)
}

/// One raw GetItem round trip on the tables the adds use, `n` times in a row.
async fn get_item_baseline(db: &Db, t: &TestTenant, n: usize) -> Vec<Duration> {
    use aws_sdk_dynamodb::types::AttributeValue;
    use scrm_adapters::dynamo::schema::{PK, SK};
    let pk = format!("{}#BENCH#welcome", t.id());
    db.client
        .put_item()
        .table_name(&db.tables.directory)
        .item(PK, AttributeValue::S(pk.clone()))
        .item(SK, AttributeValue::S("X".into()))
        .item("v", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("put");
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let got = db
            .client
            .get_item()
            .table_name(&db.tables.directory)
            .key(PK, AttributeValue::S(pk.clone()))
            .key(SK, AttributeValue::S("X".into()))
            .send()
            .await
            .expect("get");
        out.push(start.elapsed());
        assert!(got.item.is_some());
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_usize("BENCH_N", 300);
    let concurrency = env_usize("BENCH_CONCURRENCY", 8).max(1);
    let cold_n = env_usize("BENCH_COLD_N", 100);
    let db = db().await;
    let fake = FakeWeCom::start().await?;
    let (t, state) = setup(&db, &fake).await;
    let crypto = CallbackCrypto::from_parts(TEST_TOKEN, TEST_AES_KEY, t.id().as_str())?;
    let bench = Bench {
        fake,
        t,
        state,
        crypto,
        recorder: Arc::new(RecordingPublisher::new()),
        mailbox: Mutex::new(HashMap::new()),
        sent: Arc::new(Mutex::new(HashMap::new())),
        customers: AtomicUsize::new(0),
    };
    let base_url = bench.fake.base_url().to_string();
    let warm = build(
        db.clone(),
        db.clone(),
        &base_url,
        bench.recorder.clone(),
        bench.sent.clone(),
    );
    // One add first: the corp's access token fetched and shared, the tenant cached, the
    // connections open; a warm container has all of these.
    bench.add(&warm).await;

    let mut seq = Vec::with_capacity(n);
    for _ in 0..n {
        seq.push(bench.add(&warm).await);
    }
    let conc: Vec<Add> = futures::stream::iter((0..n).map(|_| bench.add(&warm)))
        .buffer_unordered(concurrency)
        .collect()
        .await;

    let mut cold = Vec::with_capacity(cold_n);
    let mut builds = Vec::with_capacity(cold_n);
    for _ in 0..cold_n {
        let start = Instant::now();
        let fresh = build(
            scrm_tests::db().await,
            scrm_tests::db().await,
            &base_url,
            bench.recorder.clone(),
            bench.sent.clone(),
        );
        builds.push(start.elapsed());
        cold.push(bench.add(&fresh).await);
    }
    let builds = sorted(builds);

    let get = sorted(get_item_baseline(&db, &bench.t, n.max(100)).await);

    // Every add's welcome reached WeCom, once.
    let adds = 1 + 2 * n + cold_n;
    let c = bench.t.id().as_str();
    let welcomes = bench.fake.welcome_messages(c);
    let codes: HashSet<&str> = welcomes
        .iter()
        .filter_map(|w| w["welcome_code"].as_str())
        .collect();
    assert_eq!(welcomes.len(), adds, "one welcome per add");
    assert_eq!(codes.len(), adds, "no welcome sent twice");
    assert_eq!(bench.fake.calls(paths::SEND_WELCOME_MSG), adds);

    println!(
        "welcome latency: the signed add_external_contact callback handed to wecom-callback's \
         handler → send_welcome_msg answered by growth-on-event's WeCom client (ms, lower is better)"
    );
    println!(
        "WeCom's limit: {} ms (the WelcomeCode's life); aim: {} ms",
        WELCOME_WINDOW.as_millis(),
        AIM.as_millis()
    );
    println!();
    println!(
        "                                             p50      p99      max   consumer done p50 / p99"
    );
    row(&format!("warm, sequential ({n} adds)"), &seq);
    row(&format!("warm, {concurrency} in flight ({n} adds)"), &conc);
    row(&format!("cold: fresh handler + consumer ({cold_n})"), &cold);
    println!(
        "    (building the two: p50 {:.1} ms, p99 {:.1} ms, not counted: a cold container does it in its init)",
        pct(&builds, 50.0),
        pct(&builds, 99.0)
    );
    let g50 = pct(&get, 50.0);
    println!(
        "  baseline: raw GetItem round trip     {:>8.2} {:>8.2}            (a warm welcome costs {:.0} GetItems at p50)",
        g50,
        pct(&get, 99.0),
        pct(&sorted(seq.iter().map(|a| a.welcome).collect()), 50.0) / g50.max(1e-9)
    );
    println!();
    println!(
        "not measured here: EventBridge's delivery from wecom-callback to growth-on-event \
         (production adds it between the two; typically well under a second), the Lambda \
         runtime's own cold init, and KMS (a cold container opens the tenant's secrets and the \
         shared token with it; locally a key in memory)"
    );
    println!(
        "verified: {adds} adds, {} welcomes at the fake WeCom, one per add, none sent twice",
        welcomes.len()
    );
    Ok(())
}
