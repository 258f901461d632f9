//! Tracked links' redirect latency against DynamoDB Local, beside a raw GetItem round trip
//! measured in the same run: a request handed to the `link-redirect` handler until its 302,
//! for anonymous clicks (one counter update), identified clicks (the update and the event's
//! publication at once), clicks on a code the container has not read yet (one GetItem
//! more), and clicks of a hot code `BENCH_CONCURRENCY` at once.
//!
//! Run: `scripts/bench.sh links` (`BENCH_N` clicks per row, default 500).
use chrono::Utc;
use futures::StreamExt;
use link_redirect_fn::{handle, CodeCache, LinkRedirect};
use scrm_adapters::dynamo::{Db, DynamoGrowth};
use scrm_core::clock::SystemClock;
use scrm_core::events::RecordingPublisher;
use scrm_core::links::admin::{create, mint, short_path};
use scrm_core::links::{LinkInput, LinkStore, SendContext};
use scrm_core::tokens::{issue, Claims, TokenKind};
use scrm_tests::{db, request, signing_keys, tenant, TestTenant};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Redirect = LinkRedirect<DynamoGrowth, Arc<RecordingPublisher>>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sorted(mut v: Vec<Duration>) -> Vec<f64> {
    let mut ms: Vec<f64> = v.drain(..).map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    ms
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn row(name: &str, ms: &[f64]) {
    println!(
        "  {name:<44} {:>8.2} {:>8.2} {:>8.2}",
        pct(ms, 50.0),
        pct(ms, 99.0),
        ms.last().copied().unwrap_or(0.0)
    );
}

async fn click(r: &Redirect, path: &str) -> Duration {
    let start = Instant::now();
    let resp = handle(r, request("GET", path, &[], None))
        .await
        .expect("infallible");
    let took = start.elapsed();
    assert_eq!(resp.status().as_u16(), 302, "{path}");
    took
}

fn redirector(db: &Db, recorder: Arc<RecordingPublisher>) -> Redirect {
    LinkRedirect {
        store: DynamoGrowth::new(db.clone()),
        publisher: recorder,
        signing_keys: Some(signing_keys()),
        clock: Arc::new(SystemClock),
        cache: CodeCache::default(),
        oauth: None,
    }
}

async fn get_item_baseline(db: &Db, t: &TestTenant, n: usize) -> Vec<Duration> {
    use aws_sdk_dynamodb::types::AttributeValue;
    use scrm_adapters::dynamo::schema::{PK, SK};
    let pk = format!("{}#BENCH#links", t.id());
    db.client
        .put_item()
        .table_name(&db.tables.tasks)
        .item(PK, AttributeValue::S(pk.clone()))
        .item(SK, AttributeValue::S("X".into()))
        .send()
        .await
        .expect("put");
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        db.client
            .get_item()
            .table_name(&db.tables.tasks)
            .key(PK, AttributeValue::S(pk.clone()))
            .key(SK, AttributeValue::S("X".into()))
            .send()
            .await
            .expect("get");
        out.push(start.elapsed());
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_usize("BENCH_N", 500);
    let concurrency = env_usize("BENCH_CONCURRENCY", 8).max(1);
    let db = db().await;
    let t = tenant(&db).await;
    let store = DynamoGrowth::new(db.clone());
    let input = LinkInput {
        url: "https://shop.example.com/sale".into(),
        title: Some("大促".into()),
    };
    let (link, _) = create(&store, t.id(), "bench-links", &input, "bench", Utc::now()).await?;
    let direct = mint(
        &store,
        t.id(),
        "Asia/Shanghai",
        &link,
        SendContext::direct(),
    )
    .await?;
    let staff = SendContext {
        staff: Some("zhangsan".into()),
        ..SendContext::direct()
    };
    let staffs = mint(&store, t.id(), "Asia/Shanghai", &link, staff).await?;
    // Codes never read by the container: one per cold click.
    let mut fresh = Vec::with_capacity(n);
    for i in 0..n {
        let ctx = SendContext {
            customer: Some(format!("wmBench{i}")),
            ..SendContext::direct()
        };
        fresh.push(short_path(
            &mint(&store, t.id(), "Asia/Shanghai", &link, ctx)
                .await?
                .code,
        ));
    }
    let token = issue(
        &signing_keys(),
        &Claims {
            tenant: t.id().as_str().to_string(),
            subject: "wmBenchCustomer".into(),
            kind: TokenKind::Customer,
            expires_at: Utc::now().timestamp() + 3600,
        },
    );
    let recorder = Arc::new(RecordingPublisher::new());
    let r = redirector(&db, recorder.clone());
    let anon_path = short_path(&direct.code);
    let ident_path = format!("{}?ct={token}", short_path(&staffs.code));
    // Warm: the connections open, both codes read once.
    click(&r, &anon_path).await;
    click(&r, &ident_path).await;

    let mut anon = Vec::with_capacity(n);
    for _ in 0..n {
        anon.push(click(&r, &anon_path).await);
    }
    let mut ident = Vec::with_capacity(n);
    for _ in 0..n {
        ident.push(click(&r, &ident_path).await);
    }
    let mut cold = Vec::with_capacity(n);
    for p in &fresh {
        cold.push(click(&r, p).await);
    }
    let hot: Vec<Duration> = futures::stream::iter((0..n).map(|_| click(&r, &anon_path)))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let get = sorted(get_item_baseline(&db, &t, n).await);

    // Every click counted: the warm-up's two, and the rows'.
    let today = Utc::now().with_timezone(&chrono_tz_shanghai()).date_naive();
    let days = store.click_days(t.id(), today, today).await?;
    let total: i64 = days.iter().map(|d| d.clicks).sum();
    assert_eq!(total as usize, 2 + 4 * n, "every click counted once");
    let published = recorder.take().len();

    println!("link redirect latency: a request handed to link-redirect's handler → its 302 (ms, lower is better)");
    println!();
    println!("                                                    p50      p99      max");
    row(&format!("anonymous, code cached ({n})"), &sorted(anon));
    row(
        &format!("identified (token), code cached ({n})"),
        &sorted(ident),
    );
    row(
        &format!("anonymous, code not read yet ({n})"),
        &sorted(cold),
    );
    row(
        &format!("one code, {concurrency} at once ({n})"),
        &sorted(hot),
    );
    row("baseline: raw GetItem round trip", &get);
    println!();
    println!(
        "verified: {total} clicks counted, {published} CustomerInteracted published (one per identified click)"
    );
    println!(
        "not measured here: EventBridge's PutEvents (production: the identified row's publication, \
         made beside the counter update, so the slower of the two), the function URL's own latency"
    );
    Ok(())
}

fn chrono_tz_shanghai() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("offset")
}
