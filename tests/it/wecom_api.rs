//! The WeCom API client against the fake WeCom server, with tokens shared through the
//! tenants table in DynamoDB Local.
use aws_sdk_dynamodb::types::AttributeValue;
use scrm_adapters::wecom::fake::*;
use scrm_adapters::wecom::*;
use scrm_core::wecom::api::*;
use std::sync::Arc;
use std::time::Duration;

/// A fake with one corp and its customer-contact secret and app, plus the credentials.
struct World {
    fake: FakeWeCom,
    corp: String,
    contact: CorpCredentials,
    app: CorpCredentials,
    db: scrm_adapters::dynamo::Db,
}

const AGENT_ID: i64 = 1_000_017;

async fn world() -> World {
    let db = scrm_tests::db().await;
    let fake = FakeWeCom::start().await.expect("start fake WeCom");
    let corp = scrm_tests::new_tenant_id().as_str().to_string();
    let contact_secret = format!("contact-{}", ulid::Ulid::new());
    let app_secret = format!("app-{}", ulid::Ulid::new());
    fake.add_app(&corp, &contact_secret, None);
    fake.add_app(&corp, &app_secret, Some(AGENT_ID));
    World {
        contact: CorpCredentials::new(&corp, &contact_secret, None),
        app: CorpCredentials::new(&corp, &app_secret, Some(AGENT_ID)),
        fake,
        corp,
        db,
    }
}

/// Fast retries so the tests stay quick; the shapes of the policies are unchanged.
fn fast_config(base_url: &str) -> WeComConfig {
    let mut config = WeComConfig::new(base_url);
    config.request_timeout = Duration::from_secs(3);
    config.retry = RetryPolicy {
        busy_retries: 3,
        rate_limit_attempts: 3,
        base_delay: Duration::from_millis(40),
        max_delay: Duration::from_millis(200),
        budget: Duration::from_secs(5),
    };
    config.token.poll_interval = Duration::from_millis(25);
    config
}

impl World {
    /// A client as a fresh container would have it: its own in-process layer, the shared
    /// DynamoDB cache.
    fn client(&self) -> WeComClient {
        self.client_with(fast_config(self.fake.base_url()))
    }

    fn client_with(&self, config: WeComConfig) -> WeComClient {
        let cache = DynamoTokenCache::from_db(&self.db).expect("the test handle seals tokens");
        WeComClient::new(config, Arc::new(cache)).expect("build client")
    }

    fn seed_groups(&self, n: usize, owner: &str) {
        self.fake
            .add_staff(&self.corp, FakeStaff::active(owner, owner));
        for i in 0..n {
            self.fake.add_group(
                &self.corp,
                FakeGroup::new(format!("wr{owner}{i:03}"), format!("群{i}"), owner),
            );
        }
    }
}

#[tokio::test]
async fn token_is_fetched_once_and_shared_across_clients_through_dynamodb() {
    let w = world().await;
    w.seed_groups(2, "zhangsan");

    let first = w.client();
    let groups = first
        .list_group_chats_all(&w.contact, &GroupChatFilter::all())
        .await
        .unwrap();
    assert_eq!(groups.len(), 2);

    // Another container: no in-process token, finds the one in DynamoDB.
    let second = w.client();
    second
        .get_corp_tag_list(&w.contact, &[], &[])
        .await
        .unwrap();
    second
        .get_corp_tag_list(&w.contact, &[], &[])
        .await
        .unwrap();
    assert_eq!(
        w.fake.calls(paths::GETTOKEN),
        1,
        "one gettoken for both clients"
    );
    assert_eq!(w.fake.calls(paths::GET_CORP_TAG_LIST), 2);

    // The item: pk = corp, sk = TOKEN#{first 16 hex of sha256(secret)}; no secret stored.
    let key = w.contact.token_key();
    assert_eq!(
        key.sort_key(),
        format!("TOKEN#{}", secret_fingerprint(w.contact.secret.expose()))
    );
    let item =
        w.db.client
            .get_item()
            .table_name(&w.db.tables.tenants)
            .key(
                scrm_adapters::dynamo::schema::PK,
                AttributeValue::S(w.corp.clone()),
            )
            .key(
                scrm_adapters::dynamo::schema::SK,
                AttributeValue::S(key.sort_key()),
            )
            .send()
            .await
            .unwrap()
            .item
            .expect("token item stored");
    // The token is sealed (tests/it/secrets.rs): ciphertext and wrapped key, no plain copy.
    assert!(!item["token_sealed"].as_b().unwrap().as_ref().is_empty());
    assert!(!item["token_key"].as_b().unwrap().as_ref().is_empty());
    assert!(!item.contains_key("token"));
    let expires_at: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now + 7100..=now + 7201).contains(&expires_at),
        "expires_at {expires_at}"
    );
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    assert!(ttl > expires_at);
    assert!(item.values().all(|v| v
        .as_s()
        .map_or(true, |s| !s.contains(w.contact.secret.expose()))));
}

#[tokio::test]
async fn cold_containers_racing_refresh_the_token_once() {
    let w = world().await;
    w.seed_groups(1, "lisi");
    let clients: Vec<WeComClient> = (0..6).map(|_| w.client()).collect();
    let filter = GroupChatFilter::all();
    let calls = clients
        .iter()
        .map(|c| c.list_group_chats(&w.contact, &filter, ""));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        w.fake.calls(paths::GETTOKEN),
        1,
        "the lease lets one container refresh"
    );
}

#[tokio::test]
async fn expired_token_is_refreshed_once_and_the_call_succeeds() {
    let w = world().await;
    w.seed_groups(1, "zhangsan");
    let a = w.client();
    let b = w.client();
    a.list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap();
    b.list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap();
    assert_eq!(w.fake.calls(paths::GETTOKEN), 1);

    w.fake.expire_all_tokens(); // 42001
    let page = a
        .list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap();
    assert_eq!(page.group_chat_list.len(), 1);
    assert_eq!(w.fake.calls(paths::GETTOKEN), 2);
    assert_eq!(
        w.fake.calls(paths::GROUPCHAT_LIST),
        4,
        "2 before, then rejected + retried"
    );

    // b still holds the old token: rejected once, then it picks a's new token from the
    // shared cache instead of fetching another.
    b.list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap();
    assert_eq!(w.fake.calls(paths::GETTOKEN), 2);

    w.fake.invalidate_all_tokens(); // 40014
    a.get_group_chat(&w.contact, "wrzhangsan000", false)
        .await
        .unwrap();
    assert_eq!(w.fake.calls(paths::GETTOKEN), 3);
    assert_eq!(w.fake.calls(paths::GROUPCHAT_GET), 2);
}

#[tokio::test]
async fn a_token_rejected_after_refresh_fails_without_looping() {
    let w = world().await;
    w.seed_groups(1, "zhangsan");
    let client = w.client();
    w.fake.fail_next(paths::GROUPCHAT_LIST, 10, 40014);
    let err = client
        .list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap_err();
    assert!(
        matches!(err, WeComError::TokenExpired { errcode: 40014 }),
        "{err:?}"
    );
    assert_eq!(
        w.fake.calls(paths::GROUPCHAT_LIST),
        2,
        "one retry, never more"
    );
    assert_eq!(w.fake.calls(paths::GETTOKEN), 2, "one refetch");
}

#[tokio::test]
async fn wrong_secret_or_corp_is_invalid_credential_and_not_retried() {
    let w = world().await;
    let client = w.client();
    let wrong = CorpCredentials::new(&w.corp, "not-the-secret", None);
    let err = client
        .list_group_chats(&wrong, &GroupChatFilter::all(), "")
        .await
        .unwrap_err();
    assert!(
        matches!(err, WeComError::InvalidCredential { errcode: 40001 }),
        "{err:?}"
    );
    assert_eq!(err.errcode(), Some(40001));
    assert!(!err.is_retryable());
    assert_eq!(w.fake.calls(paths::GETTOKEN), 1);
    assert_eq!(w.fake.calls(paths::GROUPCHAT_LIST), 0);

    // The failed refresh released its lease: a second attempt is not kept waiting.
    let err = client
        .list_group_chats(&wrong, &GroupChatFilter::all(), "")
        .await
        .unwrap_err();
    assert!(matches!(err, WeComError::InvalidCredential { .. }));
    // It asked WeCom again at once instead of waiting out a lease: a second gettoken.
    assert_eq!(w.fake.calls(paths::GETTOKEN), 2);

    let unknown_corp = CorpCredentials::new("wwnosuchcorp01", "x", None);
    let err = client
        .get_corp_tag_list(&unknown_corp, &[], &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, WeComError::InvalidCredential { errcode: 40013 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn system_busy_is_retried_with_backoff_then_succeeds() {
    let w = world().await;
    w.seed_groups(1, "zhangsan");
    let client = w.client();
    client.access_token(&w.contact).await.unwrap();

    w.fake.fail_next(paths::GROUPCHAT_LIST, 1, -1);
    let page = client
        .list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap();
    assert_eq!(page.group_chat_list.len(), 1);
    // Busy once, then answered: one retry (how long it waited is the benchmarks' concern).
    assert_eq!(w.fake.calls(paths::GROUPCHAT_LIST), 2);

    // Busy persisting: 1 call + 3 retries, then the errcode, marked retryable.
    w.fake.reset_counters();
    w.fake.fail_next(paths::GROUPCHAT_LIST, 10, -1);
    let err = client
        .list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap_err();
    assert!(
        matches!(err, WeComError::Api { errcode: -1, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(w.fake.calls(paths::GROUPCHAT_LIST), 4);
}

#[tokio::test]
async fn frequency_limit_is_retry_later_at_once_and_blocks_the_api_in_this_container() {
    let w = world().await;
    w.seed_groups(1, "zhangsan");
    let client = w.client();
    client.access_token(&w.contact).await.unwrap();

    w.fake.fail_next(paths::GROUPCHAT_LIST, 1, 45009);
    let err = client
        .list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap_err();
    // WeCom blocks a minute's limit for 60 s (the default rules' shortest window): that is
    // the suggested delay, and the call is not retried within its budget.
    assert!(
        matches!(err, WeComError::RetryLater { errcode: Some(45009), retry_after } if retry_after == Duration::from_secs(60)),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(w.fake.calls(paths::GROUPCHAT_LIST), 1);

    // The container remembers the block: the API is not called again until it ends...
    let again = client
        .list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap_err();
    assert_eq!(again.errcode(), Some(45009));
    assert!(again.retry_after().unwrap() <= Duration::from_secs(60));
    assert_eq!(w.fake.calls(paths::GROUPCHAT_LIST), 1, "not hammered");
    // ...and the corp's other APIs are not blocked.
    client
        .get_corp_tag_list(&w.contact, &[], &[])
        .await
        .unwrap();

    // A tenant whose rule has a shorter window is told to come back sooner.
    let limits = Arc::new(WeComRateLimits {
        per_api: vec![FrequencyRule::new(1_000, 10)],
        ..WeComRateLimits::default()
    });
    let creds = w.contact.clone().with_rate_limits(&limits);
    w.fake.fail_next(paths::GROUPCHAT_GET, 1, 45011);
    let err = client
        .get_group_chat(&creds, "wrzhangsan000", false)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(45011));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(10)));
}

#[tokio::test]
async fn concurrency_limit_is_retried_within_the_budget_then_retry_later() {
    let w = world().await;
    w.seed_groups(1, "zhangsan");
    let client = w.client();
    client.access_token(&w.contact).await.unwrap();

    // A limit that clears within the attempts succeeds.
    w.fake.fail_next(paths::GROUPCHAT_LIST, 1, 45033);
    client
        .list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap();
    assert_eq!(w.fake.calls(paths::GROUPCHAT_LIST), 2);

    // One that persists is retry-later after the bounded attempts.
    w.fake.reset_counters();
    w.fake.fail_next(paths::GROUPCHAT_LIST, 100, 45033);
    let err = client
        .list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WeComError::RetryLater {
                errcode: Some(45033),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(w.fake.calls(paths::GROUPCHAT_LIST), 3);

    // The time budget wins over the attempt count: no sleep starts that would end past it.
    let mut config = fast_config(w.fake.base_url());
    config.retry.base_delay = Duration::from_millis(800);
    config.retry.max_delay = Duration::from_secs(2);
    config.retry.budget = Duration::from_millis(300);
    let tight = w.client_with(config);
    tight.access_token(&w.contact).await.unwrap();
    w.fake.clear_faults();
    w.fake.reset_counters();
    w.fake.fail_next(paths::GROUPCHAT_LIST, 100, 45033);
    let err = tight
        .list_group_chats(&w.contact, &GroupChatFilter::all(), "")
        .await
        .unwrap_err();
    assert!(matches!(err, WeComError::RetryLater { .. }));
    // One call and no retry: the first backoff (≥ 400 ms) would end past the 300 ms budget.
    assert_eq!(w.fake.calls(paths::GROUPCHAT_LIST), 1);
}

/// A corp whose WeCom allows `calls` calls of `groupchat/get` in any `window_secs`, and
/// credentials whose tenant setting says so.
fn limited_to(w: &World, calls: u32, window_secs: u32) -> CorpCredentials {
    w.fake.set_frequency_limit(
        paths::GROUPCHAT_GET,
        calls as usize,
        Duration::from_secs(window_secs.into()),
    );
    let limits = Arc::new(WeComRateLimits {
        per_api: vec![FrequencyRule::new(calls, window_secs)],
        ..WeComRateLimits::default()
    });
    w.contact.clone().with_rate_limits(&limits)
}

#[tokio::test]
async fn pacing_keeps_a_burst_under_the_corp_s_frequency_limit() {
    let w = world().await;
    w.seed_groups(1, "zhangsan");
    let creds = limited_to(&w, 40, 2);
    let mut config = fast_config(w.fake.base_url());
    config.pacing.max_wait = Duration::from_secs(30);
    config.retry.budget = Duration::from_secs(30);
    let client = w.client_with(config);
    client.access_token(&creds).await.unwrap();
    // Connections opened first (on another API), so that the burst's timing is the pacer's.
    let warm = (0..40).map(|_| client.get_corp_tag_list(&w.contact, &[], &[]));
    futures::future::join_all(warm).await;

    // 80 calls at once, as a burst of member joins would make them.
    let burst = (0..80).map(|_| client.get_group_chat(&creds, "wrzhangsan000", false));
    let results = futures::future::join_all(burst).await;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    // WeCom's count: every call served, none over the limit in any 2 s.
    assert_eq!(w.fake.calls(paths::GROUPCHAT_GET), 80);
    assert_eq!(w.fake.frequency_limited(paths::GROUPCHAT_GET), 0);
    assert!(w.fake.peak_calls_per_window(paths::GROUPCHAT_GET) <= 40);
}

#[tokio::test]
async fn an_unpaced_burst_trips_the_limit_and_surfaces_as_retry_later() {
    let w = world().await;
    w.seed_groups(1, "zhangsan");
    limited_to(&w, 20, 60);
    let client = w.client();
    client.access_token(&w.contact).await.unwrap();

    // WeCom's default rules (10,000 a minute) let the whole burst go: the fake refuses
    // what is over its 20 a minute, and those calls are retry-later, never failures.
    let burst = (0..60).map(|_| client.get_group_chat(&w.contact, "wrzhangsan000", false));
    let results = futures::future::join_all(burst).await;
    let served = results.iter().filter(|r| r.is_ok()).count();
    let later = results
        .iter()
        .filter(|r| matches!(r, Err(WeComError::RetryLater { .. })))
        .count();
    assert_eq!(served, 20);
    assert_eq!(served + later, 60, "{results:?}");
    assert!(w.fake.frequency_limited(paths::GROUPCHAT_GET) >= 1);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| e.is_retryable() && e.retry_after().is_some()));
}

#[tokio::test]
async fn a_call_that_cannot_get_its_turn_before_the_deadline_is_retry_later_unsent() {
    let w = world().await;
    w.seed_groups(1, "zhangsan");
    // 2 a second: one at once, the next ≥ 1 s later, past the 300 ms the caller waits.
    let creds = limited_to(&w, 2, 1);
    let mut config = fast_config(w.fake.base_url());
    config.pacing.max_wait = Duration::from_millis(300);
    let client = w.client_with(config);
    client.access_token(&creds).await.unwrap();

    client
        .get_group_chat(&creds, "wrzhangsan000", false)
        .await
        .unwrap();
    let err = client
        .get_group_chat(&creds, "wrzhangsan000", false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, WeComError::RetryLater { errcode: None, retry_after } if retry_after > Duration::from_millis(300)),
        "{err:?}"
    );
    assert_eq!(
        w.fake.calls(paths::GROUPCHAT_GET),
        1,
        "the refused call was not sent"
    );
}

#[tokio::test]
async fn a_tenant_s_rate_limits_are_stored_with_its_settings_and_reach_its_credentials() {
    use scrm_adapters::dynamo::DynamoTenants;
    use scrm_core::tenants::{TenantLookup, TenantSettings};
    let db = scrm_tests::db().await;
    let limits = WeComRateLimits {
        per_api: vec![
            FrequencyRule::new(2_000, 60),
            FrequencyRule::new(30_000, 3_600),
        ],
        ..WeComRateLimits::default()
    };
    let settings = TenantSettings {
        wecom_rate_limits: Arc::new(limits.clone()),
        ..TenantSettings::default()
    };
    let t = scrm_tests::tenant_with(&db, settings).await;
    let stored = DynamoTenants::new(db.clone())
        .tenant(t.id())
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(*stored.settings.wecom_rate_limits, limits);
    let creds = scrm_core::contacts::source::contact_credentials(&stored).expect("contact secret");
    assert_eq!(*creds.rate_limits, limits);
}

#[tokio::test]
async fn untrusted_ip_is_reported_with_what_to_fix() {
    let w = world().await;
    let client = w.client();
    w.fake.fail_next(paths::GET_CORP_TAG_LIST, 1, 60020);
    let err = client
        .get_corp_tag_list(&w.contact, &[], &[])
        .await
        .unwrap_err();
    let WeComError::UntrustedIp { errmsg } = &err else {
        panic!("expected UntrustedIp, got {err:?}");
    };
    assert!(errmsg.contains("from ip"), "{errmsg}");
    assert_eq!(err.errcode(), Some(60020));
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("企业可信IP"));
    assert_eq!(w.fake.calls(paths::GET_CORP_TAG_LIST), 1, "not retried");
}

#[tokio::test]
async fn slow_answer_is_a_timeout() {
    let w = world().await;
    let mut config = fast_config(w.fake.base_url());
    config.request_timeout = Duration::from_millis(300);
    let client = w.client_with(config);
    client.access_token(&w.contact).await.unwrap();
    w.fake
        .set_delay(paths::GET_CORP_TAG_LIST, Duration::from_secs(3));
    let err = client
        .get_corp_tag_list(&w.contact, &[], &[])
        .await
        .unwrap_err();
    // The fake answers after 3 s; only the client's own 300 ms timeout yields `Timeout`.
    assert!(matches!(err, WeComError::Timeout), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn group_chats_are_paged_across_cursors() {
    let w = world().await;
    w.seed_groups(5, "zhangsan");
    w.seed_groups(2, "lisi");
    let client = w.client();

    let filter = GroupChatFilter {
        limit: 2,
        ..GroupChatFilter::all()
    };
    let all = client
        .list_group_chats_all(&w.contact, &filter)
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|g| g.chat_id.as_str()).collect();
    assert_eq!(ids.len(), 7);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "no duplicates across pages");
    assert_eq!(w.fake.calls(paths::GROUPCHAT_LIST), 4);
    let bodies = w.fake.requests(paths::GROUPCHAT_LIST);
    assert!(bodies[0].get("cursor").is_none());
    assert_eq!(bodies[0]["limit"], 2);
    assert!(bodies[1]["cursor"].as_str().is_some_and(|c| !c.is_empty()));

    let mine = client
        .list_group_chats_all(
            &w.contact,
            &GroupChatFilter {
                limit: 2,
                ..GroupChatFilter::owned_by(vec!["lisi".into()])
            },
        )
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(
        w.fake.requests(paths::GROUPCHAT_LIST).last().unwrap()["owner_filter"]["userid_list"],
        serde_json::json!(["lisi"])
    );

    let bad = client
        .list_group_chats(
            &w.contact,
            &GroupChatFilter {
                limit: 0,
                ..GroupChatFilter::all()
            },
            "",
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, WeComError::InvalidRequest(_)));
}

#[tokio::test]
async fn batch_get_by_user_pages_and_reports_unlicensed_members() {
    let w = world().await;
    w.fake
        .add_staff(&w.corp, FakeStaff::active("zhangsan", "张三"));
    w.fake.add_staff(&w.corp, FakeStaff::active("lisi", "李四"));
    let mut unlicensed = FakeStaff::active("wangwu", "王五");
    unlicensed.licensed = false;
    w.fake.add_staff(&w.corp, unlicensed);
    w.fake.add_tag_group(
        &w.corp,
        FakeTagGroup::new("etg1", "客户价值", &[("ettag1", "核心")]),
    );
    for i in 0..130 {
        let follower = if i < 90 { "zhangsan" } else { "lisi" };
        let follow = FakeFollow::new(follower)
            .with_tags(&["ettag1"])
            .with_state("ch01");
        w.fake.add_customer(
            &w.corp,
            FakeCustomer::new(format!("wm{i:04}"), format!("客户{i}")).followed_by(follow),
        );
    }
    w.fake.add_customer(
        &w.corp,
        FakeCustomer::new("wmwangwu", "老客").followed_by(FakeFollow::new("wangwu")),
    );
    let client = w.client();
    let users: Vec<String> = ["zhangsan", "lisi", "wangwu"].map(String::from).to_vec();

    // Page by page with a small limit.
    let mut cursor = String::new();
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let page = client
            .batch_get_by_user(&w.contact, &users, &cursor, 50)
            .await
            .unwrap();
        pages += 1;
        seen += page.external_contact_list.len();
        assert_eq!(page.fail_info.unlicensed_userid_list, vec!["wangwu"]);
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!((seen, pages), (130, 3));

    let all = client
        .batch_get_by_user_all(&w.contact, &users)
        .await
        .unwrap();
    assert_eq!(all.contacts.len(), 130);
    assert_eq!(all.unlicensed_userids, vec!["wangwu"]);
    let first = &all.contacts[0];
    assert_eq!(first.follow_info.tag_id, vec!["ettag1"]);
    assert_eq!(first.follow_info.state.as_deref(), Some("ch01"));
    assert_eq!(first.external_contact.contact_type, 1);
    assert_eq!(w.fake.calls(paths::BATCH_GET_BY_USER), 3 + 2);
    let last = w.fake.requests(paths::BATCH_GET_BY_USER).pop().unwrap();
    assert_eq!(last["userid_list"], serde_json::json!(users));
    assert_eq!(last["limit"], 100);

    let too_many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    assert!(matches!(
        client
            .batch_get_by_user(&w.contact, &too_many, "", 50)
            .await,
        Err(WeComError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn customer_detail_merges_follower_pages_with_tag_names() {
    let w = world().await;
    w.fake.set_follow_user_page_size(2);
    w.fake.add_tag_group(
        &w.corp,
        FakeTagGroup::new("etg1", "消费", &[("ethigh", "高价值")]),
    );
    let mut customer = FakeCustomer::new("wmmany", "多人跟进");
    for i in 0..5 {
        customer =
            customer.followed_by(FakeFollow::new(format!("staff{i}")).with_tags(&["ethigh"]));
    }
    w.fake.add_customer(&w.corp, customer);
    w.fake.add_staff(&w.corp, FakeStaff::active("staff0", "甲"));
    w.fake.add_staff(&w.corp, FakeStaff::active("nobody", "乙"));
    let client = w.client();

    let detail = client
        .get_external_contact_all(&w.contact, "wmmany")
        .await
        .unwrap();
    assert_eq!(detail.external_contact.name, "多人跟进");
    assert_eq!(detail.follow_user.len(), 5);
    assert_eq!(detail.follow_user[4].userid, "staff4");
    assert_eq!(detail.follow_user[0].tags[0].tag_name, "高价值");
    assert_eq!(
        detail.follow_user[0].tags[0].tag_id.as_deref(),
        Some("ethigh")
    );
    assert_eq!(w.fake.calls(paths::EXTERNAL_CONTACT_GET), 3);

    assert_eq!(
        client
            .list_external_contacts(&w.contact, "staff0")
            .await
            .unwrap(),
        vec!["wmmany"]
    );
    // 84061 for a member without customers is an empty list.
    assert!(client
        .list_external_contacts(&w.contact, "nobody")
        .await
        .unwrap()
        .is_empty());
    let err = client
        .get_external_contact(&w.contact, "wmnosuch", "")
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40096));
}

#[tokio::test]
async fn app_message_partial_failure_is_surfaced() {
    let w = world().await;
    w.fake
        .add_staff(&w.corp, FakeStaff::active("zhangsan", "张三"));
    w.fake
        .add_staff(&w.corp, FakeStaff::resigned("wangwu", "王五"));
    let client = w.client();
    let message = AppMessage::text_card(
        vec!["zhangsan".into(), "wangwu".into(), "ghost".into()],
        "今日待推送任务",
        "3 个群待推送",
        "https://example.com/tasks",
    );
    let result = client.send_app_message(&w.app, &message).await.unwrap();
    assert!(!result.all_delivered());
    assert_eq!(result.invalid_users, vec!["wangwu", "ghost"]);
    assert!(!result.msgid.is_empty());
    let body = &w.fake.requests(paths::MESSAGE_SEND)[0];
    assert_eq!(body["touser"], "zhangsan|wangwu|ghost");
    assert_eq!(body["agentid"], AGENT_ID);
    assert_eq!(body["msgtype"], "textcard");
    assert_eq!(body["textcard"]["url"], "https://example.com/tasks");

    // Everyone rejected: 81013.
    let err = client
        .send_app_message(&w.app, &AppMessage::text(vec!["ghost".into()], "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(81013));

    // No agent id: refused before anything is sent.
    let err = client
        .send_app_message(&w.contact, &AppMessage::text(vec!["zhangsan".into()], "hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, WeComError::InvalidRequest(_)));
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 2);
}

#[tokio::test]
async fn mass_messages_report_refused_targets_and_send_results() {
    let w = world().await;
    w.fake
        .add_staff(&w.corp, FakeStaff::active("zhangsan", "张三"));
    for id in ["wm1", "wm2"] {
        w.fake.add_customer(
            &w.corp,
            FakeCustomer::new(id, id).followed_by(FakeFollow::new("zhangsan")),
        );
    }
    w.fake
        .add_group(&w.corp, FakeGroup::new("wr1", "一群", "zhangsan"));
    w.fake
        .add_group(&w.corp, FakeGroup::new("wr2", "二群", "zhangsan"));
    let client = w.client();

    let single = MsgTemplate {
        chat_type: ChatType::Single,
        sender: Some("zhangsan".into()),
        external_userid: vec!["wm1".into(), "wm2".into(), "wmstranger".into()],
        text: Some(TextContent {
            content: "本周福利".into(),
        }),
        attachments: vec![Attachment::Link {
            link: LinkAttachment {
                title: "福利".into(),
                url: "https://example.com/w".into(),
                ..Default::default()
            },
        }],
        ..Default::default()
    };
    let created = client.add_msg_template(&w.contact, &single).await.unwrap();
    assert_eq!(created.fail_list, vec!["wmstranger"]);
    assert_eq!(w.fake.groupmsg_ids(&w.corp), vec![created.msgid.clone()]);
    let sent = &w.fake.requests(paths::ADD_MSG_TEMPLATE)[0];
    assert_eq!(sent["chat_type"], "single");
    assert_eq!(sent["attachments"][0]["msgtype"], "link");

    assert!(w
        .fake
        .set_groupmsg_send_status(&created.msgid, "zhangsan", "wm1", 1));
    assert!(w
        .fake
        .set_groupmsg_send_status(&created.msgid, "zhangsan", "wm2", 3));
    assert!(w
        .fake
        .set_groupmsg_task_status(&created.msgid, "zhangsan", 2));
    let results = client
        .get_groupmsg_send_result_all(&w.contact, &created.msgid, "zhangsan")
        .await
        .unwrap();
    let statuses: Vec<(Option<&str>, SendStatus)> = results
        .iter()
        .map(|r| (r.external_userid.as_deref(), r.send_status()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (Some("wm1"), SendStatus::Sent),
            (Some("wm2"), SendStatus::QuotaReached)
        ]
    );
    assert!(results[0].send_time.is_some());
    let tasks = client
        .get_groupmsg_task_all(&w.contact, &created.msgid)
        .await
        .unwrap();
    assert_eq!((tasks[0].userid.as_str(), tasks[0].status), ("zhangsan", 2));

    // 41063 right after creation is retryable and passed through.
    w.fake.fail_next(paths::GET_GROUPMSG_SEND_RESULT, 1, 41063);
    let err = client
        .get_groupmsg_send_result(&w.contact, &created.msgid, "zhangsan", "")
        .await
        .unwrap_err();
    assert!(err.is_retryable() && err.errcode() == Some(41063));

    // Groups: only groups already sent are listed.
    let group = MsgTemplate {
        chat_type: ChatType::Group,
        sender: Some("zhangsan".into()),
        chat_id_list: vec!["wr1".into(), "wr2".into()],
        text: Some(TextContent {
            content: "群发".into(),
        }),
        ..Default::default()
    };
    let created = client.add_msg_template(&w.contact, &group).await.unwrap();
    assert!(created.fail_list.is_empty());
    w.fake
        .set_groupmsg_send_status(&created.msgid, "zhangsan", "wr2", 1);
    let results = client
        .get_groupmsg_send_result_all(&w.contact, &created.msgid, "zhangsan")
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].chat_id.as_deref(), Some("wr2"));

    // Nobody reachable: 41048.
    let nobody = MsgTemplate {
        external_userid: vec!["wmstranger".into()],
        sender: Some("zhangsan".into()),
        text: Some(TextContent {
            content: "x".into(),
        }),
        ..Default::default()
    };
    let err = client
        .add_msg_template(&w.contact, &nobody)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(41048));
}

#[tokio::test]
async fn identity_lookups_for_staff_and_customer_login() {
    let w = world().await;
    w.fake
        .add_staff(&w.corp, FakeStaff::active("zhangsan", "张三"));
    w.fake
        .add_staff(&w.corp, FakeStaff::resigned("wangwu", "王五"));
    w.fake.add_oauth_code(&w.corp, "code-1", "zhangsan");
    w.fake.map_unionid(&w.corp, "union-1", "open-1", "wm1");
    w.fake
        .map_unionid_pending(&w.corp, "union-2", "open-2", "pending-2");
    let client = w.client();

    let who = client.get_oauth_identity(&w.app, "code-1").await.unwrap();
    assert_eq!(
        who,
        OAuthIdentity::Member {
            userid: "zhangsan".into(),
            user_ticket: None
        }
    );
    let reused = client
        .get_oauth_identity(&w.app, "code-1")
        .await
        .unwrap_err();
    assert_eq!(reused.errcode(), Some(40029), "codes are single-use");

    assert_eq!(
        client.staff_status(&w.app, "zhangsan").await.unwrap(),
        StaffStatus::Active
    );
    assert_eq!(
        client.staff_status(&w.app, "wangwu").await.unwrap(),
        StaffStatus::Left
    );
    assert_eq!(
        client
            .get_user(&w.app, "zhangsan")
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("张三")
    );

    let lookup = |u: &'static str, o: &'static str| {
        let client = client.clone();
        let creds = w.contact.clone();
        async move {
            client
                .unionid_to_external_userid(&creds, u, o)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        lookup("union-1", "open-1").await,
        UnionIdLookup::Customer("wm1".into())
    );
    assert_eq!(
        lookup("union-2", "open-2").await,
        UnionIdLookup::Pending("pending-2".into())
    );
    assert_eq!(
        lookup("union-3", "open-3").await,
        UnionIdLookup::NotCustomer
    );
    let body = &w.fake.requests(paths::UNIONID_TO_EXTERNAL_USERID)[0];
    assert_eq!(
        (body["unionid"].as_str(), body["openid"].as_str()),
        (Some("union-1"), Some("open-1"))
    );
}

#[tokio::test]
async fn tags_welcome_messages_groups_and_moments() {
    let w = world().await;
    w.fake
        .add_staff(&w.corp, FakeStaff::active("zhangsan", "张三"));
    w.fake.add_tag_group(
        &w.corp,
        FakeTagGroup::new(
            "etg1",
            "客户价值",
            &[("etcore", "核心"), ("etgeneral", "一般")],
        ),
    );
    w.fake.add_customer(
        &w.corp,
        FakeCustomer::new("wm1", "小明")
            .followed_by(FakeFollow::new("zhangsan").with_tags(&["etgeneral"])),
    );
    let mut group = FakeGroup::new("wr1", "会员群", "zhangsan")
        .with_member(FakeMember::customer("wm1", "小明"));
    group.notice = Some("群公告".into());
    w.fake.add_group(&w.corp, group);
    w.fake.add_welcome_code(&w.corp, "welcome-1");
    let client = w.client();

    let tags = client
        .get_corp_tag_list(&w.contact, &[], &[])
        .await
        .unwrap();
    assert_eq!(tags[0].group_name, "客户价值");
    assert_eq!(tags[0].tag.len(), 2);
    let only = client
        .get_corp_tag_list(&w.contact, &["etcore".into()], &[])
        .await
        .unwrap();
    assert_eq!(only[0].tag.len(), 1);

    let mark = MarkTag {
        userid: "zhangsan".into(),
        external_userid: "wm1".into(),
        add_tag: vec!["etcore".into()],
        remove_tag: vec!["etgeneral".into()],
    };
    client.mark_tag(&w.contact, &mark).await.unwrap();
    let tagged = w.fake.customer(&w.corp, "wm1").unwrap();
    assert_eq!(tagged.follows[0].tag_ids, vec!["etcore"]);
    let unknown_tag = MarkTag {
        add_tag: vec!["etnosuch".into()],
        remove_tag: vec![],
        ..mark
    };
    assert_eq!(
        client
            .mark_tag(&w.contact, &unknown_tag)
            .await
            .unwrap_err()
            .errcode(),
        Some(40068)
    );

    let chat = client
        .get_group_chat(&w.contact, "wr1", true)
        .await
        .unwrap();
    assert_eq!(chat.owner, "zhangsan");
    assert_eq!(chat.notice.as_deref(), Some("群公告"));
    assert_eq!(chat.member_list.len(), 2);
    assert_eq!(chat.member_list[1].member_type, 2);
    assert_eq!(chat.member_list[1].name.as_deref(), Some("小明"));
    let version = chat.member_version.clone();
    assert!(w.fake.update_group(&w.corp, "wr1", |g| {
        g.members.pop();
    }));
    let chat = client
        .get_group_chat(&w.contact, "wr1", false)
        .await
        .unwrap();
    assert_eq!(chat.member_list.len(), 1);
    assert_ne!(chat.member_version, version);
    assert!(chat.member_list[0].name.is_none());

    let welcome = WelcomeMessage {
        welcome_code: "welcome-1".into(),
        text: Some(TextContent {
            content: "欢迎".into(),
        }),
        attachments: vec![],
    };
    client.send_welcome_msg(&w.contact, &welcome).await.unwrap();
    let again = client
        .send_welcome_msg(&w.contact, &welcome)
        .await
        .unwrap_err();
    assert_eq!(again.errcode(), Some(41051));

    let task = MomentTask {
        text: Some(TextContent {
            content: "新品上市".into(),
        }),
        attachments: vec![],
        visible_range: Some(MomentVisibleRange {
            sender_list: Some(MomentSenders {
                user_list: vec!["zhangsan".into(), "ghost".into()],
                department_list: vec![],
            }),
            external_contact_list: None,
        }),
    };
    let jobid = client.add_moment_task(&w.contact, &task).await.unwrap();
    assert!(
        jobid.parse::<i64>().is_err(),
        "jobid is an opaque string: {jobid}"
    );
    let result = client
        .get_moment_task_result(&w.contact, &jobid)
        .await
        .unwrap();
    assert!(result.is_done());
    let outcome = result.result.unwrap();
    assert!(outcome.moment_id.is_some());
    assert_eq!(
        outcome.invalid_sender_list.unwrap().user_list,
        vec!["ghost"]
    );
    let query = &w.fake.requests(paths::GET_MOMENT_TASK_RESULT)[0];
    assert_eq!(query["jobid"], serde_json::json!(jobid));
    assert!(query.get("access_token").is_none());
}

#[tokio::test]
async fn demo_data_serves_the_local_stack() {
    let fake = FakeWeCom::start().await.unwrap();
    fake.seed_demo();
    let client = WeComClient::new(
        fast_config(fake.base_url()),
        Arc::new(MemoryTokenCache::new()),
    )
    .unwrap();
    let contact = CorpCredentials::new(DEMO_CORP_ID, DEMO_CONTACT_SECRET, None);
    let app = CorpCredentials::new(DEMO_CORP_ID, DEMO_APP_SECRET, Some(DEMO_AGENT_ID));
    let groups = client
        .list_group_chats_all(&contact, &GroupChatFilter::all())
        .await
        .unwrap();
    assert_eq!(groups.len(), 3);
    let tags = client.get_corp_tag_list(&contact, &[], &[]).await.unwrap();
    assert_eq!(tags.len(), 4, "the four tag families");
    let who = client
        .get_oauth_identity(&app, "demo-code-zhangsan")
        .await
        .unwrap();
    assert!(matches!(who, OAuthIdentity::Member { ref userid, .. } if userid == "zhangsan"));
    // Demo codes are reusable so the local stack can log in repeatedly.
    client
        .get_oauth_identity(&app, "demo-code-zhangsan")
        .await
        .unwrap();
    // Separate secrets, separate tokens.
    assert_eq!(fake.calls(paths::GETTOKEN), 2);
}

#[tokio::test]
async fn standalone_server_serves_the_demo_corp() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let server = tokio::spawn(serve(addr));
    let client = WeComClient::new(
        fast_config(&format!("http://{addr}/cgi-bin")),
        Arc::new(MemoryTokenCache::new()),
    )
    .unwrap();
    let contact = CorpCredentials::new(DEMO_CORP_ID, DEMO_CONTACT_SECRET, None);
    let groups = scrm_tests::poll_until(Duration::from_secs(5), "fake WeCom to listen", || {
        let client = client.clone();
        let contact = contact.clone();
        async move {
            client
                .list_group_chats_all(&contact, &GroupChatFilter::all())
                .await
                .ok()
        }
    })
    .await;
    assert_eq!(groups.len(), 3);
    server.abort();
}

#[tokio::test]
async fn follow_user_list_names_members_with_customer_contact_and_not_those_who_left() {
    let w = world().await;
    let client = w.client();
    for staff in [
        FakeStaff::active("zhangsan", "张三"),
        FakeStaff::active("lisi", "李四"),
        FakeStaff::resigned("wangwu", "王五"),
    ] {
        w.fake.add_staff(&w.corp, staff);
    }
    let listed = client.get_follow_user_list(&w.contact).await.unwrap();
    assert_eq!(listed, vec!["lisi".to_string(), "zhangsan".to_string()]);
    // A GET with the token in the query string, no other parameter.
    assert_eq!(
        w.fake.requests(paths::GET_FOLLOW_USER_LIST),
        vec![serde_json::json!({})]
    );

    // lisi leaves: the next call no longer lists him, and user/get calls him gone.
    assert!(w.fake.update_staff(&w.corp, "lisi", |s| {
        s.status = FakeStaffStatus::Resigned;
    }));
    let listed = client.get_follow_user_list(&w.contact).await.unwrap();
    assert_eq!(listed, vec!["zhangsan".to_string()]);
    assert_eq!(
        client.staff_status(&w.contact, "lisi").await.unwrap(),
        StaffStatus::Left
    );

    // The same retry conventions as every call: busy is retried, then it succeeds.
    w.fake.fail_next(paths::GET_FOLLOW_USER_LIST, 1, -1);
    let listed = client.get_follow_user_list(&w.contact).await.unwrap();
    assert_eq!(listed, vec!["zhangsan".to_string()]);
    // A non-retryable errcode comes back typed.
    w.fake.fail_next(paths::GET_FOLLOW_USER_LIST, 1, 48002);
    let err = client.get_follow_user_list(&w.contact).await.unwrap_err();
    assert_eq!(err.errcode(), Some(48002), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn moment_task_reports_each_sender_s_publication_across_pages() {
    let w = world().await;
    let client = w.client();
    let senders: Vec<String> = (0..5).map(|i| format!("staff{i}")).collect();
    for s in &senders {
        w.fake.add_staff(&w.corp, FakeStaff::active(s, s));
    }
    let task = MomentTask {
        text: Some(TextContent {
            content: "周末上新".into(),
        }),
        attachments: Vec::new(),
        visible_range: Some(MomentVisibleRange {
            sender_list: Some(MomentSenders {
                user_list: senders.clone(),
                department_list: Vec::new(),
            }),
            external_contact_list: None,
        }),
    };
    let jobid = client.add_moment_task(&w.contact, &task).await.unwrap();
    let result = client
        .get_moment_task_result(&w.contact, &jobid)
        .await
        .unwrap();
    let moment_id = result.result.unwrap().moment_id.unwrap();
    assert_eq!(w.fake.moment_ids(&w.corp), vec![moment_id.clone()]);

    // Nobody has published yet.
    let all = client
        .get_moment_task_all(&w.contact, &moment_id)
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|p| !p.published()));

    // Two publish; pages of 2 are followed to the end.
    assert!(w.fake.set_moment_publish_status(&moment_id, "staff1", 1));
    assert!(w.fake.set_moment_publish_status(&moment_id, "staff3", 1));
    assert!(!w.fake.set_moment_publish_status(&moment_id, "stranger", 1));
    let first = client
        .get_moment_task(&w.contact, &moment_id, "", 2)
        .await
        .unwrap();
    assert_eq!(first.task_list.len(), 2);
    assert!(!first.next_cursor.is_empty());
    let all = client
        .get_moment_task_all(&w.contact, &moment_id)
        .await
        .unwrap();
    let published: Vec<&str> = all
        .iter()
        .filter(|p| p.published())
        .map(|p| p.userid.as_str())
        .collect();
    assert_eq!(published, vec!["staff1", "staff3"]);
    let bodies = w.fake.requests(paths::GET_MOMENT_TASK);
    assert_eq!(bodies[0]["moment_id"], moment_id.as_str());
    assert_eq!(bodies[0]["limit"], 1000);

    // An unknown post is WeCom's errcode; an empty id is refused before sending.
    let err = client
        .get_moment_task(&w.contact, "nosuchmoment", "", 10)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40058));
    let calls = w.fake.calls(paths::GET_MOMENT_TASK);
    assert!(matches!(
        client.get_moment_task(&w.contact, "", "", 10).await,
        Err(WeComError::InvalidRequest(_))
    ));
    assert_eq!(w.fake.calls(paths::GET_MOMENT_TASK), calls);
}
