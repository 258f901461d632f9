//! The directory: full re-sync from WeCom's API (through the `directory-resync` handler,
//! against the fake WeCom server), resuming an interrupted job, and the admin look-ups
//! (through the `admin-api` handler), all on DynamoDB Local.
use admin_api_fn::AdminApi;
use chrono::{TimeZone, Utc};
use directory_resync_fn::{handle as resync_handle, ResyncSettings, Resyncer};
use lambda_runtime::{Context, LambdaEvent};
use scrm_adapters::dynamo::Db;
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoTags;
use scrm_adapters::dynamo::DynamoTenants;
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::wecom::fake::*;
use scrm_adapters::wecom::*;
use scrm_core::clock::FixedClock;
use scrm_core::config::Secret;
use scrm_core::contacts::source::DirectorySource;
use scrm_core::contacts::DirectoryRead;
use scrm_core::events::{DomainEvent, EventEnvelope, RecordingPublisher};
use scrm_core::tenants::{Role, TenantId};
use scrm_core::wecom::api::*;
use scrm_tests::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The fixed instant the directory tests run at.
pub(crate) fn test_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()
}

/// A fake WeCom server, a client with short timeouts and backoffs, a recorder of domain
/// events and a clock stopped at [`test_now`].
pub(crate) struct World {
    pub db: Db,
    pub fake: FakeWeCom,
    pub client: WeComClient,
    pub recorder: Arc<RecordingPublisher>,
    pub clock: Arc<FixedClock>,
}

pub(crate) async fn world() -> World {
    let db = db().await;
    let fake = FakeWeCom::start().await.expect("fake WeCom");
    let mut config = WeComConfig::new(fake.base_url());
    config.request_timeout = Duration::from_secs(2);
    config.retry = RetryPolicy {
        busy_retries: 1,
        rate_limit_attempts: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        budget: Duration::from_secs(3),
    };
    let client = WeComClient::new(config, Arc::new(MemoryTokenCache::new())).expect("client");
    World {
        db,
        fake,
        client,
        recorder: Arc::new(RecordingPublisher::new()),
        clock: Arc::new(FixedClock::new(test_now())),
    }
}

impl World {
    /// The admin API, publishing into the recorder.
    pub fn admin(&self) -> Arc<AdminApi> {
        admin_api(
            &self.db,
            AnyPublisher::Recording(self.recorder.clone()),
            self.fake.base_url(),
            self.clock.clone(),
        )
    }

    /// The re-sync function over any WeCom source.
    pub fn resyncer<S: DirectorySource>(
        &self,
        source: S,
        settings: ResyncSettings,
    ) -> Resyncer<DynamoTenants, S, Arc<RecordingPublisher>> {
        Resyncer {
            tenants: DynamoTenants::new(self.db.clone()),
            dir: DynamoDirectory::new(self.db.clone()),
            points: scrm_adapters::dynamo::DynamoPoints::new(self.db.clone()),
            tags: DynamoTags::new(self.db.clone()),
            source,
            publisher: self.recorder.clone(),
            clock: self.clock.clone(),
            settings,
        }
    }

    pub fn dir(&self) -> DynamoDirectory {
        DynamoDirectory::new(self.db.clone())
    }
}

pub(crate) async fn admin_call(api: &Arc<AdminApi>, req: lambda_http::Request) -> (u16, Value) {
    let resp = admin_api_fn::handle(api, req).await.unwrap();
    response_json(&resp)
}

/// Seeds the fake with a corp whose data does not depend on the corp id or the time, so
/// that two tenants seeded alike end with equal directories. `zhaoliu` has no licence, so
/// his customers come through the one-by-one phase.
pub(crate) fn seed_corp(fake: &FakeWeCom, corp: &TenantId) {
    let corp = corp.as_str();
    fake.add_app(corp, "contact-secret", None);
    let mut unlicensed = FakeStaff::active("zhaoliu", "赵六");
    unlicensed.licensed = false;
    for staff in [
        FakeStaff::active("zhangsan", "张三"),
        FakeStaff::active("lisi", "李四"),
        FakeStaff::active("wangwu", "王五"),
        unlicensed,
    ] {
        fake.add_staff(corp, staff);
    }
    let mut tags = FakeTagGroup::new(
        "etgroupvalue",
        "客户价值",
        &[("ettagcore", "核心"), ("ettaggeneral", "一般")],
    );
    let mut spend = FakeTagGroup::new("etgroupspend", "消费", &[("ettaghigh", "高价值")]);
    for g in [&mut tags, &mut spend] {
        g.create_time = 1_700_000_000;
        for t in &mut g.tags {
            t.create_time = 1_700_000_000;
        }
    }
    fake.add_tag_group(corp, tags);
    fake.add_tag_group(corp, spend);
    let staff = ["zhangsan", "lisi", "wangwu"];
    for i in 0..12 {
        let mut follow = FakeFollow::new(staff[i % 3]).with_tags(if i % 2 == 0 {
            &["ettagcore", "ettaghigh"]
        } else {
            &["ettaggeneral"]
        });
        follow.createtime = 1_700_000_000 + i as i64;
        follow.state = Some(format!("ch{}", i % 2));
        follow.remark = format!("remark {i}");
        let mut customer = FakeCustomer::new(format!("wmcust{i:03}"), format!("客户{i}"));
        customer.follows.push(follow);
        if i % 4 == 0 {
            let mut second = FakeFollow::new(staff[(i + 1) % 3]);
            second.createtime = 1_700_000_500;
            customer.follows.push(second);
        }
        fake.add_customer(corp, customer);
    }
    for i in 0..2 {
        let mut follow = FakeFollow::new("zhaoliu");
        follow.createtime = 1_700_001_000;
        fake.add_customer(
            corp,
            FakeCustomer::new(format!("wmsolo{i}"), format!("独立{i}")).followed_by(follow),
        );
    }
    for g in 0..5 {
        let owner = staff[g % 3];
        let mut group = FakeGroup::new(format!("wrgroup{g:02}"), format!("群{g}"), owner);
        group.create_time = 1_700_002_000;
        group.members[0].join_time = 1_700_002_000;
        for c in [g * 2, g * 2 + 1] {
            let mut m = FakeMember::customer(format!("wmcust{c:03}"), format!("客户{c}"));
            m.join_time = 1_700_003_000 + c as i64;
            group.members.push(m);
        }
        if g == 4 {
            let mut m = FakeMember::staff("zhaoliu");
            m.join_time = 1_700_002_100;
            group.members.push(m);
            group.status = 1;
        }
        fake.add_group(corp, group);
    }
}

pub(crate) fn resync_event(t: &TenantId, job_id: &str) -> LambdaEvent<Value> {
    let env = EventEnvelope::new(
        format!("resync:{job_id}:test"),
        t.as_str(),
        test_now(),
        DomainEvent::ResyncRequested {
            job_id: job_id.to_string(),
        },
    );
    LambdaEvent::new(env.to_eventbridge_json(), Context::default())
}

fn resync_requests(recorder: &RecordingPublisher) -> Vec<String> {
    recorder
        .take()
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::ResyncRequested { job_id } => Some(job_id),
            _ => None,
        })
        .collect()
}

/// Starts a re-sync through the admin API and returns its job id.
pub(crate) async fn start_resync(w: &World, t: &TestTenant, body: Value) -> String {
    let (status, resp) = admin_call(
        &w.admin(),
        json_request("POST", "/v1/directory/resync", &t.bearer(), &body),
    )
    .await;
    assert_eq!(status, 202, "{resp}");
    resp["job"]["job_id"].as_str().unwrap().to_string()
}

/// Delivers `ResyncRequested` to the function until the job is done (as EventBridge
/// would, following the events it publishes); returns the number of invocations.
pub(crate) async fn drive_resync<S: DirectorySource>(
    w: &World,
    r: &Resyncer<DynamoTenants, S, Arc<RecordingPublisher>>,
    t: &TenantId,
    job_id: &str,
) -> usize {
    let mut invocations = 0;
    let mut pending = vec![job_id.to_string()];
    pending.extend(resync_requests(&w.recorder));
    pending.dedup();
    while let Some(job) = pending.pop() {
        invocations += 1;
        assert!(invocations < 100, "re-sync does not finish");
        match resync_handle(r, resync_event(t, &job)).await {
            Ok(out) if out["outcome"] == "done" => return invocations,
            Ok(out) => {
                assert_eq!(out["outcome"], "continue", "{out}");
                let next = resync_requests(&w.recorder);
                assert_eq!(next, vec![job.clone()], "a continuing run asks to continue");
                pending.extend(next);
            }
            // A retryable failure: Lambda's retry delivers the same event again.
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        scrm_core::contacts::resync_run::ResyncRunError::Retryable(_)
                    ),
                    "{e}"
                );
                pending.push(job.clone());
            }
        }
    }
    panic!("re-sync stopped without finishing");
}

/// The whole directory of a tenant as JSON, for comparing two tenants.
pub(crate) async fn dump(w: &World, t: &TenantId) -> Value {
    let dir = w.dir();
    let mut customers = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = dir.customers(t, after.as_deref(), 5).await.unwrap();
        customers.extend(page.items);
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let mut groups = Vec::new();
    for g in dir.groups(t, None, None, 100).await.unwrap().items {
        groups.push(dir.group(t, &g.chat_id).await.unwrap().unwrap());
    }
    let tags = scrm_core::tags::TagMirror::tag_groups(&DynamoTags::new(w.db.clone()), t)
        .await
        .unwrap();
    json!({ "customers": customers, "groups": groups, "tags": tags })
}

#[tokio::test]
async fn a_resync_of_a_seeded_corp_fills_the_directory() {
    let w = world().await;
    let t = tenant(&w.db).await;
    seed_corp(&w.fake, t.id());
    let job_id = start_resync(&w, &t, json!({})).await;
    let r = w.resyncer(w.client.clone(), ResyncSettings::default());
    drive_resync(&w, &r, t.id(), &job_id).await;

    let api = w.admin();
    // Progress, as an operator sees it.
    let (status, job) = admin_call(
        &api,
        get_request(&format!("/v1/directory/resync/{job_id}"), &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["status"], "done");
    assert_eq!(job["progress"]["groups"], 5);
    assert_eq!(job["progress"]["tags"], 3);
    // 12 customers + 3 second followers + 2 of the unlicensed member.
    assert_eq!(job["progress"]["customers"], 17);
    assert_eq!(job["unlicensed"], json!(["zhaoliu"]));

    // A customer with both follow users, remarks, named tags and the channel.
    let (status, c) = admin_call(&api, get_request("/v1/customers/wmcust000", &t.bearer())).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["name"], "客户0");
    let follows = c["follow_users"].as_array().unwrap();
    assert_eq!(follows.len(), 2, "{c}");
    let z = follows.iter().find(|f| f["userid"] == "zhangsan").unwrap();
    assert_eq!(z["remark"], "remark 0");
    assert_eq!(z["state"], "ch0");
    assert_eq!(z["status"], "active");
    assert_eq!(z["createtime"], 1_700_000_000);
    let tag_names: Vec<&str> = z["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag_name"].as_str().unwrap())
        .collect();
    assert_eq!(tag_names, vec!["核心", "高价值"]);
    // The unlicensed member's customers came one by one.
    let (status, solo) = admin_call(&api, get_request("/v1/customers/wmsolo1", &t.bearer())).await;
    assert_eq!(status, 200, "{solo}");
    assert_eq!(solo["follow_users"][0]["userid"], "zhaoliu");

    // Groups with owner, name, member count; members with join time and scene.
    let (_, g) = admin_call(&api, get_request("/v1/groups/wrgroup04", &t.bearer())).await;
    assert_eq!(g["owner"], "lisi");
    assert_eq!(g["name"], "群4");
    assert_eq!(g["member_count"], 4);
    assert_eq!(g["status"], 1);
    let m = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member_id"] == "wmcust009")
        .unwrap()
        .clone();
    assert_eq!(
        (
            m["active"].clone(),
            m["is_customer"].clone(),
            m["join_time"].clone(),
            m["join_scene"].clone()
        ),
        (json!(true), json!(true), json!(1_700_003_009), json!(3))
    );
    // A customer's groups (the reverse index).
    let (_, groups) = admin_call(
        &api,
        get_request("/v1/customers/wmcust003/groups", &t.bearer()),
    )
    .await;
    let items = groups["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{groups}");
    assert_eq!(items[0]["chat_id"], "wrgroup01");
    assert_eq!(items[0]["group_name"], "群1");
    // Listing by owner.
    let (_, owned) = admin_call(&api, get_request("/v1/groups?owner=zhangsan", &t.bearer())).await;
    let ids: Vec<&str> = owned["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["chat_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["wrgroup00", "wrgroup03"]);
    // The tag mirror.
    let (_, tags) = admin_call(&api, get_request("/v1/tags", &t.bearer())).await;
    assert_eq!(tags["tag_groups"].as_array().unwrap().len(), 2, "{tags}");
    assert_eq!(tags["stale"], false);
}

#[tokio::test]
async fn a_resync_discovers_staff_nobody_has_seen_from_the_follow_user_list() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let corp = t.id().as_str();
    seed_corp(&w.fake, t.id());
    // GIVEN a member with customers but no group and no callback: only WeCom's list of
    // members with customer contact names her
    w.fake.add_staff(corp, FakeStaff::active("newbie", "新人"));
    for i in 0..3 {
        let mut follow = FakeFollow::new("newbie");
        follow.createtime = 1_700_009_000 + i;
        w.fake.add_customer(
            corp,
            FakeCustomer::new(format!("wmnew{i:03}"), format!("新客{i}")).followed_by(follow),
        );
    }
    // AND a member who already left, whom the directory never knew
    w.fake.add_staff(corp, FakeStaff::resigned("gone", "离职"));

    // WHEN the directory is re-synced
    let job_id = start_resync(&w, &t, json!({})).await;
    drive_resync(
        &w,
        &w.resyncer(w.client.clone(), ResyncSettings::default()),
        t.id(),
        &job_id,
    )
    .await;

    // THEN her customers are in the directory, followed by her
    let api = w.admin();
    for i in 0..3 {
        let (status, c) = admin_call(
            &api,
            get_request(&format!("/v1/customers/wmnew{i:03}"), &t.bearer()),
        )
        .await;
        assert_eq!(status, 200, "{c}");
        assert_eq!(c["follow_users"][0]["userid"], "newbie", "{c}");
        assert_eq!(c["follow_users"][0]["status"], "active", "{c}");
    }
    // AND the directory records every listed member active
    let dir = w.dir();
    let staff = dir.staff_members(t.id()).await.unwrap();
    let ids: Vec<&str> = staff.iter().map(|m| m.userid.as_str()).collect();
    assert_eq!(ids, vec!["lisi", "newbie", "wangwu", "zhangsan", "zhaoliu"]);
    assert!(staff
        .iter()
        .all(|m| m.status == Some(scrm_core::contacts::StaffState::Active)));
    assert!(dir.staff_member(t.id(), "gone").await.unwrap().is_none());
    let (_, job) = admin_call(
        &api,
        get_request(&format!("/v1/directory/resync/{job_id}"), &t.bearer()),
    )
    .await;
    assert_eq!(job["progress"]["staff"], 5, "{job}");
    assert_eq!(job["progress"]["departed"], 0, "{job}");
    assert_eq!(job["progress"]["customers"], 20, "{job}");
    assert_eq!(w.fake.calls(paths::GET_FOLLOW_USER_LIST), 1);
    // Listed members need no user/get; nobody left, so nothing was published.
    assert_eq!(w.fake.calls(paths::USER_GET), 0);
    assert!(w
        .recorder
        .take()
        .iter()
        .all(|e| !matches!(e.event, DomainEvent::StaffDeparted { .. })));
}

#[tokio::test]
async fn customer_listing_pages_through_every_customer_once() {
    let w = world().await;
    let t = tenant(&w.db).await;
    seed_corp(&w.fake, t.id());
    let job_id = start_resync(&w, &t, json!({})).await;
    drive_resync(
        &w,
        &w.resyncer(w.client.clone(), ResyncSettings::default()),
        t.id(),
        &job_id,
    )
    .await;
    let api = w.admin();
    let mut seen = Vec::new();
    let mut path = "/v1/customers?limit=4".to_string();
    loop {
        let (status, page) = admin_call(&api, get_request(&path, &t.bearer())).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 4);
        for c in items {
            assert!(!c["follow_users"].as_array().unwrap().is_empty(), "{c}");
            seen.push(c["external_userid"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/customers?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..12).map(|i| format!("wmcust{i:03}")).collect();
    expected.extend(["wmsolo0".to_string(), "wmsolo1".to_string()]);
    expected.sort();
    assert_eq!(seen, expected);
    // The listing is sharded by a hash of the id: the pages above merged several shards
    // into one id order, each page continuing exactly after the cursor.
    let shards: std::collections::BTreeSet<u32> = expected
        .iter()
        .map(|id| scrm_core::contacts::search::name_shard(id))
        .collect();
    assert!(shards.len() > 4, "{shards:?}");
    let (_, page) = admin_call(
        &api,
        get_request("/v1/customers?limit=3&cursor=wmcust004", &t.bearer()),
    )
    .await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["external_userid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["wmcust005", "wmcust006", "wmcust007"]);
    assert_eq!(page["next_cursor"], "wmcust007");
}

/// A WeCom source that fails the n-th `groupchat/get` once, with a retryable error, so a
/// run stops in the middle of a page.
struct FailOnce {
    inner: WeComClient,
    calls: AtomicUsize,
    fail_at: usize,
}

impl DirectorySource for FailOnce {
    async fn follow_users(&self, c: &CorpCredentials) -> Result<Vec<String>, WeComError> {
        self.inner.follow_users(c).await
    }
    async fn staff_status(&self, c: &CorpCredentials, u: &str) -> Result<StaffStatus, WeComError> {
        DirectorySource::staff_status(&self.inner, c, u).await
    }
    async fn customer_detail(
        &self,
        c: &CorpCredentials,
        id: &str,
    ) -> Result<ExternalContactDetail, WeComError> {
        self.inner.customer_detail(c, id).await
    }
    async fn group_detail(&self, c: &CorpCredentials, id: &str) -> Result<GroupChat, WeComError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(WeComError::Timeout);
        }
        self.inner.group_detail(c, id).await
    }
    async fn corp_tags(
        &self,
        c: &CorpCredentials,
        t: &[String],
        g: &[String],
    ) -> Result<Vec<CorpTagGroup>, WeComError> {
        self.inner.corp_tags(c, t, g).await
    }
    async fn group_page(
        &self,
        c: &CorpCredentials,
        owners: &[String],
        cursor: &str,
        limit: u32,
    ) -> Result<GroupChatListPage, WeComError> {
        self.inner.group_page(c, owners, cursor, limit).await
    }
    async fn customers_page(
        &self,
        c: &CorpCredentials,
        u: &[String],
        cursor: &str,
        limit: u32,
    ) -> Result<BatchGetByUserPage, WeComError> {
        self.inner.customers_page(c, u, cursor, limit).await
    }
    async fn member_customer_ids(
        &self,
        c: &CorpCredentials,
        u: &str,
    ) -> Result<Vec<String>, WeComError> {
        self.inner.member_customer_ids(c, u).await
    }
}

#[tokio::test]
async fn an_interrupted_resync_resumes_and_ends_like_an_uninterrupted_one() {
    let w = world().await;
    let small_pages = ResyncSettings {
        group_page_size: 2,
        customer_page_size: 3,
        ..ResyncSettings::default()
    };
    // GIVEN two tenants whose WeCom corps hold the same data
    let a = tenant(&w.db).await;
    let b = tenant(&w.db).await;
    seed_corp(&w.fake, a.id());
    seed_corp(&w.fake, b.id());

    // WHEN A is re-synced in one run
    let job_a = start_resync(&w, &a, json!({})).await;
    let runs_a = drive_resync(
        &w,
        &w.resyncer(w.client.clone(), small_pages),
        a.id(),
        &job_a,
    )
    .await;
    assert_eq!(runs_a, 1);

    // AND B is stopped after every 2 pages, and once in the middle of a group page
    let job_b = start_resync(&w, &b, json!({})).await;
    let flaky = FailOnce {
        inner: w.client.clone(),
        calls: AtomicUsize::new(0),
        fail_at: 4,
    };
    let stopping = ResyncSettings {
        max_pages: Some(2),
        ..small_pages
    };
    let runs_b = drive_resync(&w, &w.resyncer(flaky, stopping), b.id(), &job_b).await;
    assert!(runs_b > 4, "B ran {runs_b} times");

    // THEN both directories are the same, and complete
    let (da, db) = (dump(&w, a.id()).await, dump(&w, b.id()).await);
    assert_eq!(da["customers"].as_array().unwrap().len(), 14);
    assert_eq!(da["groups"].as_array().unwrap().len(), 5);
    assert_eq!(da, db);
    // AND each page was counted once
    let dir = w.dir();
    let ja = scrm_core::contacts::resync::ResyncJobs::job(&dir, a.id(), &job_a)
        .await
        .unwrap()
        .unwrap();
    let jb = scrm_core::contacts::resync::ResyncJobs::job(&dir, b.id(), &job_b)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ja.progress, jb.progress);
    assert!(jb.invocations > ja.invocations);
    assert!(jb.last_error.is_some(), "the failed run is recorded");
}

#[tokio::test]
async fn running_a_resync_again_changes_nothing() {
    let w = world().await;
    let t = tenant(&w.db).await;
    seed_corp(&w.fake, t.id());
    let r = w.resyncer(w.client.clone(), ResyncSettings::default());
    let first = start_resync(&w, &t, json!({})).await;
    drive_resync(&w, &r, t.id(), &first).await;
    let before = dump(&w, t.id()).await;
    let second = start_resync(&w, &t, json!({})).await;
    assert_ne!(first, second, "a finished job is not reused");
    w.clock.advance(chrono::Duration::hours(1));
    drive_resync(&w, &r, t.id(), &second).await;
    let mut after = dump(&w, t.id()).await;
    // Only the time of the last write moved.
    strip(&mut after, "updated_at");
    let mut before = before;
    strip(&mut before, "updated_at");
    assert_eq!(before, after);
    // A re-sync publishes no directory events (nothing is "added" twice).
    assert!(w
        .recorder
        .take()
        .iter()
        .all(|e| matches!(e.event, DomainEvent::ResyncRequested { .. })));
    // Delivering a finished job's event again does nothing.
    let out = resync_handle(&r, resync_event(t.id(), &second))
        .await
        .unwrap();
    assert_eq!(out["outcome"], "not_runnable");
}

/// A re-sync runner whose directory writes are metered (`scrm_tests::meter`).
fn metered_resyncer(
    w: &World,
) -> (
    Resyncer<DynamoTenants, WeComClient, Arc<RecordingPublisher>>,
    scrm_tests::meter::Meter,
) {
    let meter = scrm_tests::meter::Meter::new(w.db.tables.clone());
    let metered = Db::new(meter.client(&w.db.client), w.db.tables.clone());
    let r = Resyncer {
        dir: DynamoDirectory::new(metered),
        ..w.resyncer(w.client.clone(), ResyncSettings::default())
    };
    (r, meter)
}

/// Write units on the partitions of customers (`{corp}#CUST#…`) and groups
/// (`{corp}#GROUP#…`), base table and indexes alike, by partition.
fn directory_units(tally: &scrm_tests::meter::Tally, t: &TenantId) -> Vec<(String, f64)> {
    let customers = format!("{t}#CUST#");
    let groups = format!("{t}#GROUP#");
    let mut units: Vec<(String, f64)> = tally
        .by_partition
        .iter()
        .filter(|(p, u)| **u > 0.0 && (p.key.starts_with(&customers) || p.key.starts_with(&groups)))
        .map(|(p, u)| (p.key.clone(), *u))
        .collect();
    units.sort_by(|a, b| a.0.cmp(&b.0));
    units
}

#[tokio::test]
async fn a_second_resync_of_an_unchanged_directory_writes_no_customer_or_group_item() {
    let w = world().await;
    let t = tenant(&w.db).await;
    seed_corp(&w.fake, t.id());
    let (r, meter) = metered_resyncer(&w);
    let first = start_resync(&w, &t, json!({})).await;
    drive_resync(&w, &r, t.id(), &first).await;
    let filled = meter.take();
    assert!(!directory_units(&filled, t.id()).is_empty());
    let before = dump(&w, t.id()).await;

    w.clock.advance(chrono::Duration::hours(1));
    let second = start_resync(&w, &t, json!({})).await;
    drive_resync(&w, &r, t.id(), &second).await;
    let again = meter.take();
    assert_eq!(
        directory_units(&again, t.id()),
        Vec::<(String, f64)>::new(),
        "nothing unchanged is written"
    );
    assert!(again.read_requests > 0, "the stored records were compared");
    // Not even the time of the last write moved.
    assert_eq!(dump(&w, t.id()).await, before);
    use scrm_core::contacts::resync::{JobStatus, ResyncJobs};
    let job = w.dir().job(t.id(), &second).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Done);
    // 14 profiles and 17 relations, each read and left as it was.
    assert_eq!(job.progress.customers, 17);
    assert_eq!(job.progress.unchanged, 31);
}

/// The entries of a group's count (gsi4 `{corp}#GMEMBERS#{chat}`: one per active member).
async fn count_entries(w: &World, t: &TenantId, chat_id: &str) -> i32 {
    w.db.client
        .query()
        .table_name(&w.db.tables.directory)
        .index_name("gsi4")
        .key_condition_expression("gsi4pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("{t}#GMEMBERS#{chat_id}")),
        )
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap()
        .count
}

#[tokio::test]
async fn a_group_counted_before_the_count_index_is_counted_by_its_memberships_after_a_resync() {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    use scrm_core::clock::Clock;
    use scrm_core::contacts::DirectoryWrite;
    let w = world().await;
    let t = tenant(&w.db).await;
    seed_corp(&w.fake, t.id());
    let r = w.resyncer(w.client.clone(), ResyncSettings::default());
    let first = start_resync(&w, &t, json!({})).await;
    drive_resync(&w, &r, t.id(), &first).await;
    let dir = w.dir();
    assert_eq!(count_entries(&w, t.id(), "wrgroup04").await, 4);
    // As the directory held it before the count index: active memberships without their
    // entries, the counters item without the mark, its count the one last written.
    let pk = format!("{}#GROUP#wrgroup04", t.id());
    let items =
        w.db.client
            .query()
            .table_name(&w.db.tables.directory)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", Av::S(pk.clone()))
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default();
    for item in &items {
        let sk = item["sk"].as_s().unwrap().clone();
        let strip = if sk.starts_with("MEMBER#") {
            "REMOVE gsi4pk, gsi4sk"
        } else if sk == "COUNTS" {
            "REMOVE members_counted"
        } else {
            continue;
        };
        w.db.client
            .update_item()
            .table_name(&w.db.tables.directory)
            .key("pk", Av::S(pk.clone()))
            .key("sk", Av::S(sk))
            .update_expression(strip)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(count_entries(&w, t.id(), "wrgroup04").await, 0);
    // Until its re-sync the group shows the count WeCom's detail last gave.
    let g = dir
        .group_profile(t.id(), "wrgroup04")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.member_count, 4);
    // A member leaves meanwhile (WeCom's list and the directory alike).
    w.fake.update_group(t.id().as_str(), "wrgroup04", |g| {
        g.members.retain(|m| m.userid != "wmcust009")
    });
    let at = w.clock.now().timestamp();
    assert!(dir
        .member_left(t.id(), "wrgroup04", "wmcust009", true, Some(0), at)
        .await
        .unwrap());
    // The re-sync gives the active memberships their entries and marks the group counted.
    w.clock.advance(chrono::Duration::hours(1));
    let second = start_resync(&w, &t, json!({})).await;
    drive_resync(&w, &r, t.id(), &second).await;
    assert_eq!(count_entries(&w, t.id(), "wrgroup04").await, 3);
    let g = dir
        .group_profile(t.id(), "wrgroup04")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.member_count, 3);
    let (_, body) = admin_call(&w.admin(), get_request("/v1/groups/wrgroup04", &t.bearer())).await;
    assert_eq!(body["member_count"], 3, "{body}");
    // From then on a leave is counted by its membership alone.
    let later = w.clock.now().timestamp();
    let gone = dir
        .group(t.id(), "wrgroup04")
        .await
        .unwrap()
        .unwrap()
        .members
        .into_iter()
        .find(|m| m.active)
        .unwrap();
    assert!(dir
        .member_left(
            t.id(),
            "wrgroup04",
            &gone.member_id,
            gone.is_customer,
            None,
            later
        )
        .await
        .unwrap());
    assert_eq!(count_entries(&w, t.id(), "wrgroup04").await, 2);
    let g = dir
        .group_profile(t.id(), "wrgroup04")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.member_count, 2);
    let v = dir.group(t.id(), "wrgroup04").await.unwrap().unwrap();
    assert_eq!(v.group.member_count, 2);
}

#[tokio::test]
async fn a_resync_rewrites_exactly_the_customers_and_groups_that_changed() {
    let w = world().await;
    let t = tenant(&w.db).await;
    seed_corp(&w.fake, t.id());
    let (r, meter) = metered_resyncer(&w);
    let first = start_resync(&w, &t, json!({})).await;
    drive_resync(&w, &r, t.id(), &first).await;
    meter.take();
    let corp = t.id().as_str();
    assert!(w.fake.update_customer(corp, "wmcust003", |c| {
        c.name = "改名客户".to_string();
    }));
    assert!(w.fake.update_customer(corp, "wmcust007", |c| {
        c.follows[0].remark = "new remark".to_string();
    }));
    assert!(w.fake.update_customer(corp, "wmsolo1", |c| {
        c.name = "独立改名".to_string();
    }));
    assert!(w.fake.update_group(corp, "wrgroup02", |g| {
        g.name = "新群名".to_string();
    }));

    w.clock.advance(chrono::Duration::hours(1));
    let second = start_resync(&w, &t, json!({})).await;
    drive_resync(&w, &r, t.id(), &second).await;
    let tally = meter.take();
    let written: Vec<String> = directory_units(&tally, t.id())
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        written,
        [
            format!("{}#CUST#wmcust003", t.id()),
            format!("{}#CUST#wmcust007", t.id()),
            format!("{}#CUST#wmsolo1", t.id()),
            format!("{}#GROUP#wrgroup02", t.id()),
        ]
    );
    let dir = w.dir();
    let renamed = dir.customer(t.id(), "wmcust003").await.unwrap().unwrap();
    assert_eq!(renamed.customer.name.as_deref(), Some("改名客户"));
    let remarked = dir.customer(t.id(), "wmcust007").await.unwrap().unwrap();
    assert_eq!(
        remarked.follow_users[0].remark.as_deref(),
        Some("new remark")
    );
    let solo = dir.customer(t.id(), "wmsolo1").await.unwrap().unwrap();
    assert_eq!(solo.customer.name.as_deref(), Some("独立改名"));
    let group = dir
        .group_profile(t.id(), "wrgroup02")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group.name.as_deref(), Some("新群名"));
    // The rename moved the name index entry too.
    let (_, page) = admin_call(
        &w.admin(),
        get_request(
            &format!("/v1/customers?name={}", "%E6%94%B9%E5%90%8D"),
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(page["items"][0]["external_userid"], "wmcust003");
}

pub(crate) fn strip(v: &mut Value, key: &str) {
    match v {
        Value::Object(m) => {
            m.remove(key);
            for x in m.values_mut() {
                strip(x, key);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| strip(x, key)),
        _ => {}
    }
}

#[tokio::test]
async fn a_second_start_continues_the_unfinished_job() {
    let w = world().await;
    let t = tenant(&w.db).await;
    seed_corp(&w.fake, t.id());
    let first = start_resync(&w, &t, json!({})).await;
    let (status, resp) = admin_call(
        &w.admin(),
        json_request("POST", "/v1/directory/resync", &t.bearer(), &json!({})),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(resp["started"], false);
    assert_eq!(resp["job"]["job_id"], first.as_str());
}

#[tokio::test]
async fn look_ups_are_confined_to_the_key_s_tenant() {
    let w = world().await;
    let a = tenant(&w.db).await;
    let b = tenant(&w.db).await;
    seed_corp(&w.fake, a.id());
    let job = start_resync(&w, &a, json!({})).await;
    drive_resync(
        &w,
        &w.resyncer(w.client.clone(), ResyncSettings::default()),
        a.id(),
        &job,
    )
    .await;
    let api = w.admin();
    for path in [
        "/v1/customers/wmcust000".to_string(),
        "/v1/groups/wrgroup00".to_string(),
        format!("/v1/directory/resync/{job}"),
    ] {
        let (status, body) = admin_call(&api, get_request(&path, &b.bearer())).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
        let (status, _) = admin_call(&api, get_request(&path, &a.bearer())).await;
        assert_eq!(status, 200, "{path}");
    }
    for path in [
        "/v1/customers",
        "/v1/groups",
        "/v1/callbacks",
        "/v1/directory/resync",
    ] {
        let (status, body) = admin_call(&api, get_request(path, &b.bearer())).await;
        assert_eq!(status, 200);
        assert_eq!(body["items"], json!([]), "{path}: {body}");
    }
    let (_, groups) = admin_call(
        &api,
        get_request("/v1/customers/wmcust000/groups", &b.bearer()),
    )
    .await;
    assert_eq!(groups["items"], json!([]));
    let (_, tags) = admin_call(&api, get_request("/v1/tags", &b.bearer())).await;
    assert_eq!(tags["tag_groups"], json!([]));
}

#[tokio::test]
async fn roles_and_bad_input_on_directory_routes() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let api = w.admin();
    let viewer = key_with_role(&w.db, t.id(), Role::Viewer).await;
    let viewer = format!("Bearer {}", viewer.reveal());
    let (status, body) = admin_call(
        &api,
        json_request("POST", "/v1/directory/resync", &viewer, &json!({})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = admin_call(&api, get_request("/v1/customers", &viewer)).await;
    assert_eq!(status, 200);
    for path in [
        "/v1/customers?limit=0",
        "/v1/customers?limit=abc",
        "/v1/callbacks?unknown=maybe",
        "/v1/customers/a%23b",
    ] {
        let (status, body) = admin_call(&api, get_request(path, &t.bearer())).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("validation_failed")),
            "{path}: {body}"
        );
    }
    let (status, body) = admin_call(
        &api,
        json_request(
            "POST",
            "/v1/directory/resync",
            &t.bearer(),
            &json!({"userids": "zhangsan"}),
        ),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation_failed")),
        "{body}"
    );
    // Nothing was started.
    let (_, jobs) = admin_call(&api, get_request("/v1/directory/resync", &t.bearer())).await;
    assert_eq!(jobs["items"], json!([]));
    assert!(w.recorder.take().is_empty());
}

#[tokio::test]
async fn a_resync_needs_a_contact_secret() {
    let w = world().await;
    let t = tenant(&w.db).await;
    // A tenant registered without the customer-contact secret.
    let store = DynamoTenants::new(w.db.clone());
    let mut bare = t.tenant.clone();
    bare.id = new_tenant_id();
    bare.contact_secret = Secret::new("");
    scrm_core::tenants::TenantWrite::create_tenant(&store, &bare)
        .await
        .unwrap();
    let key = key_with_role(&w.db, &bare.id, Role::Admin).await;
    let (status, body) = admin_call(
        &w.admin(),
        json_request(
            "POST",
            "/v1/directory/resync",
            &format!("Bearer {}", key.reveal()),
            &json!({}),
        ),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("contact_secret_missing"))
    );
}

/// A WeCom userid as long as WeCom allows (64 bytes), numbered.
fn long_userid(i: usize) -> String {
    format!("{:0>64}", format!("m{i}"))
}

/// WeCom as the fake serves it, with `extra` more members listed with customer contact
/// (`get_follow_user_list`) that the fake's own corp does not hold.
struct ManyMembers {
    inner: WeComClient,
    extra: Vec<String>,
}

impl DirectorySource for ManyMembers {
    async fn follow_users(&self, c: &CorpCredentials) -> Result<Vec<String>, WeComError> {
        let mut all = self.inner.follow_users(c).await?;
        all.extend(self.extra.iter().cloned());
        Ok(all)
    }
    async fn staff_status(&self, c: &CorpCredentials, u: &str) -> Result<StaffStatus, WeComError> {
        DirectorySource::staff_status(&self.inner, c, u).await
    }
    async fn customer_detail(
        &self,
        c: &CorpCredentials,
        id: &str,
    ) -> Result<ExternalContactDetail, WeComError> {
        self.inner.customer_detail(c, id).await
    }
    async fn group_detail(&self, c: &CorpCredentials, id: &str) -> Result<GroupChat, WeComError> {
        self.inner.group_detail(c, id).await
    }
    async fn corp_tags(
        &self,
        c: &CorpCredentials,
        t: &[String],
        g: &[String],
    ) -> Result<Vec<CorpTagGroup>, WeComError> {
        self.inner.corp_tags(c, t, g).await
    }
    async fn group_page(
        &self,
        c: &CorpCredentials,
        owners: &[String],
        cursor: &str,
        limit: u32,
    ) -> Result<GroupChatListPage, WeComError> {
        self.inner.group_page(c, owners, cursor, limit).await
    }
    async fn customers_page(
        &self,
        c: &CorpCredentials,
        u: &[String],
        cursor: &str,
        limit: u32,
    ) -> Result<BatchGetByUserPage, WeComError> {
        self.inner.customers_page(c, u, cursor, limit).await
    }
    async fn member_customer_ids(
        &self,
        c: &CorpCredentials,
        u: &str,
    ) -> Result<Vec<String>, WeComError> {
        self.inner.member_customer_ids(c, u).await
    }
}

#[tokio::test]
async fn a_resync_of_a_corp_with_thousands_of_members_keeps_its_lists_out_of_one_item() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let corp = t.id().as_str();
    seed_corp(&w.fake, t.id());
    // GIVEN a corp whose members with customer contact, listed in one item, pass the
    // store's 400 KB item limit (7,000 userids of 64 bytes)
    const MEMBERS: usize = 7000;
    let source = ManyMembers {
        inner: w.client.clone(),
        extra: (0..MEMBERS).map(long_userid).collect(),
    };

    // WHEN the re-sync runs into its customers phase (tags, staff, then groups by batches of
    // 100 owners: one page each), which fixes the staff list
    let job_id = start_resync(&w, &t, json!({})).await;
    let owner_batches = (MEMBERS + 4).div_ceil(100) as u32;
    let settings = ResyncSettings {
        max_pages: Some(2 + owner_batches),
        group_page_size: 1000,
        ..ResyncSettings::default()
    };
    let out = resync_handle(&w.resyncer(source, settings), resync_event(t.id(), &job_id))
        .await
        .expect("the run checkpoints the staff list");
    assert_eq!(out["outcome"], "continue", "{out}");

    // THEN the job holds every member, in the customers phase
    let (status, job) = admin_call(
        &w.admin(),
        get_request(&format!("/v1/directory/resync/{job_id}"), &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let staff = job["staff"].as_array().unwrap();
    assert_eq!(staff.len(), MEMBERS + 4, "seeded staff plus the members");
    assert!(staff.iter().any(|u| u == &json!(long_userid(MEMBERS - 1))));
    assert_eq!(job["position"]["phase"], "customers", "{}", job["position"]);
    assert_eq!(job["position"]["index"], 0, "{}", job["position"]);
    assert_eq!(job["progress"]["staff"], (MEMBERS + 4) as i64);
    // AND the job's own item stays small
    let item =
        w.db.client
            .get_item()
            .table_name(&w.db.tables.directory)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("{corp}#RESYNC#{job_id}")),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("JOB".into()),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
    let size: usize = item
        .iter()
        .map(|(k, v)| k.len() + v.as_s().map(String::len).unwrap_or(8))
        .sum();
    assert!(size < 4096, "job item of {size} bytes");
}

#[tokio::test]
async fn a_resync_request_naming_thousands_of_members_is_accepted() {
    let w = world().await;
    let t = tenant(&w.db).await;
    seed_corp(&w.fake, t.id());
    // GIVEN a request naming 3,500 members with the longest ids accepted (128 bytes): more
    // than one item can hold
    let userids: Vec<String> = (0..3500).map(|i| format!("{:0>128}", i)).collect();
    // WHEN it is sent
    let job_id = start_resync(&w, &t, json!({ "userids": userids })).await;
    // THEN the job keeps every one of them
    let (status, job) = admin_call(
        &w.admin(),
        get_request(&format!("/v1/directory/resync/{job_id}"), &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["requested_userids"], json!(userids));
}

#[tokio::test]
async fn a_resync_of_a_corp_with_more_than_1000_staff_lists_groups_by_owner_batches() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let corp = t.id().as_str();
    seed_corp(&w.fake, t.id());
    // GIVEN a corp of more than 1,000 members, for which WeCom answers an unfiltered
    // `groupchat/list` with 81017
    const MEMBERS: usize = 1100;
    for i in 0..MEMBERS {
        w.fake.add_staff(
            corp,
            FakeStaff::active(format!("m{i:04}"), format!("员工{i}")),
        );
    }
    // AND groups owned by members who fall into different batches of 100 owners
    let owners = ["m0000", "m0150", "m0555", "m1099"];
    for (g, owner) in owners.iter().enumerate() {
        let mut group = FakeGroup::new(format!("wrbatch{g:02}"), format!("批{g}"), *owner);
        let mut m = FakeMember::customer(format!("wmcust{g:03}"), format!("客户{g}"));
        m.join_time = 1_700_004_000;
        group.members.push(m);
        fake_group_at(&mut group);
        w.fake.add_group(corp, group);
    }
    // AND a group still held by a member who left (awaiting 离职继承), whom the directory
    // knows from before
    w.fake
        .add_staff(corp, FakeStaff::resigned("leaver", "离职员工"));
    let mut left_behind = FakeGroup::new("wrleft00", "离职群", "leaver");
    left_behind.status = 1;
    fake_group_at(&mut left_behind);
    w.fake.add_group(corp, left_behind);
    scrm_core::contacts::DirectoryWrite::touch_staff(&w.dir(), t.id(), "leaver", 1_700_000_000)
        .await
        .unwrap();

    // WHEN the directory is re-synced through the real WeCom source, in runs of a few pages
    // of one group each, so that runs stop within an owner batch and between batches
    let job_id = start_resync(&w, &t, json!({})).await;
    let settings = ResyncSettings {
        max_pages: Some(5),
        group_page_size: 1,
        ..ResyncSettings::default()
    };
    let runs = drive_resync(&w, &w.resyncer(w.client.clone(), settings), t.id(), &job_id).await;
    assert!(runs > 3, "{runs} runs");

    // THEN every group is in the directory
    let mut listed: Vec<String> = w
        .dir()
        .groups(t.id(), None, None, 100)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|g| g.chat_id)
        .collect();
    listed.sort();
    let mut expected: Vec<String> = (0..5).map(|g| format!("wrgroup{g:02}")).collect();
    expected.extend((0..owners.len()).map(|g| format!("wrbatch{g:02}")));
    expected.push("wrleft00".into());
    expected.sort();
    assert_eq!(listed, expected);
    // AND WeCom was asked by owners, at most 100 at a time, never unfiltered
    let requests = w.fake.requests(paths::GROUPCHAT_LIST);
    assert!(requests.len() > MEMBERS / 100, "{}", requests.len());
    for body in &requests {
        let batch = body["owner_filter"]["userid_list"].as_array().unwrap();
        assert!((1..=100).contains(&batch.len()), "{body}");
    }
    let (status, job) = admin_call(
        &w.admin(),
        get_request(&format!("/v1/directory/resync/{job_id}"), &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["progress"]["groups"], expected.len() as i64, "{job}");
}

/// Stamps a seeded group's times.
fn fake_group_at(group: &mut FakeGroup) {
    group.create_time = 1_700_002_000;
    group.members[0].join_time = 1_700_002_000;
}
