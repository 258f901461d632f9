//! Fission campaigns end to end on DynamoDB Local and the fake WeCom server: a campaign
//! created through the admin API (idempotent; bad tiers refused with nothing written), an
//! inviter's personal code taken (a 「联系我」 code at WeCom), adds through it delivered to
//! the `growth-on-event` consumer (counted once, redeliveries and duplicates counting
//! nothing, self-invites refused), a removal within the hold revoking, and the minute's run
//! confirming holds and paying exactly the tiers earned through the ledger, once. Then the
//! same rules through the store on random sequences, against the pure book. Coupon tiers
//! paying one code of an uploaded list once (concurrent runs included, an empty list
//! waiting for a restock), catalogue reward tiers taking stock once, the personal codes
//! deleted at WeCom at the end (a cut-off run resumed), and the events published.
use crate::directory::{admin_call, test_now, world, World};
use crate::growth::{admin, corp};
use growth_on_event_fn::{apply, GrowthOnEvent};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoGrowth, DynamoPoints, DynamoTenants};
use scrm_adapters::wecom::fake::{FakeCustomer, FakeFollow};
use scrm_adapters::wecom::WeComClient;
use scrm_core::events::{DomainEvent, EventEnvelope};
use scrm_core::growth::fission::{CampaignBook, CampaignEffect, CampaignEvent, NotCounted, Person};
use scrm_core::growth::fission_admin;
use scrm_core::growth::fission_run::{self, FissionDeps, JoinOutcome, CONFIRM_GRACE};
use scrm_core::growth::on_event::GrowthOutcome;
use scrm_core::growth::ports::FissionStore;
use scrm_core::points::ports::{Account, HistoryRead};
use scrm_core::points::CustomerId;
use scrm_tests::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(crate) type Consumer = GrowthOnEvent<DynamoGrowth, WeComClient, DynamoDirectory, DynamoTenants>;

pub(crate) fn consumer(w: &World) -> Consumer {
    GrowthOnEvent {
        store: DynamoGrowth::new(w.db.clone()),
        wecom: w.client.clone(),
        facts: DynamoDirectory::new(w.db.clone()),
        tenants: DynamoTenants::new(w.db.clone()),
        clock: w.clock.clone(),
        materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
        links: std::sync::Arc::new(scrm_core::links::tracker::NoTracking),
    }
}

pub(crate) fn campaign_body(tiers: Value) -> Value {
    json!({
        "name": "邀请有礼",
        "starts_at": (test_now() - chrono::Duration::hours(1)).to_rfc3339(),
        "ends_at": (test_now() + chrono::Duration::days(7)).to_rfc3339(),
        "tiers": tiers,
        "cap_per_inviter": 10,
        "hold_hours": 24,
        "tags": ["ettagvip"],
        "userids": ["zhangsan", "lisi"],
        "poster": {
            "background_url": "https://cdn.example.com/bg.png",
            "width": 750, "height": 1334,
            "name": { "x": 40, "y": 120, "size": 32, "color": "#333333" },
            "avatar": { "x": 40, "y": 140, "size": 96 },
            "qr": { "x": 475, "y": 1059, "size": 240 }
        }
    })
}

/// Two points tiers and a catalogue reward with no stock (earned, it waits for a restock).
async fn three_tiers(w: &World, t: &TestTenant) -> Value {
    let (status, r) = post_keyed(
        w,
        t,
        "/v1/points/rewards",
        "cup",
        &json!({ "name": "Cup", "cost": 100, "stock": 0 }),
    )
    .await;
    assert!(status == 201 || status == 200, "{r}");
    json!([
        { "invites": 1, "reward": { "kind": "points", "points": 10 } },
        { "invites": 2, "reward": { "kind": "points", "points": 20 } },
        { "invites": 3, "reward": { "kind": "reward", "reward_id": r["reward_id"] } }
    ])
}

pub(crate) async fn create(w: &World, t: &TestTenant, key: &str, body: &Value) -> (u16, Value) {
    let mut req = json_request("POST", "/v1/growth/fission-campaigns", &t.bearer(), body);
    req.headers_mut()
        .insert("idempotency-key", key.parse().expect("header"));
    admin_call(&admin(w), req).await
}

pub(crate) async fn get(w: &World, t: &TestTenant, path: &str) -> (u16, Value) {
    admin_call(
        &admin(w),
        json_request("GET", path, &t.bearer(), &Value::Null),
    )
    .await
}

fn added(t: &TestTenant, id: &str, ext: &str, state: &str) -> EventEnvelope {
    EventEnvelope {
        event_id: id.into(),
        tenant: t.id().to_string(),
        occurred_at: test_now(),
        event: DomainEvent::ContactAdded {
            external_userid: ext.into(),
            userid: "zhangsan".into(),
            state: Some(state.into()),
            half: false,
            welcome_code: None,
        },
    }
}

async fn join(w: &World, e: &EventEnvelope) -> Option<JoinOutcome> {
    match apply(&consumer(w), e).await.expect("handled") {
        GrowthOutcome::Handled(h) => h.fission,
        other => panic!("not handled: {other:?}"),
    }
}

pub(crate) async fn balance(w: &World, t: &TestTenant, ext: &str) -> i64 {
    let acct = Account::new(t.id().clone(), CustomerId::parse(ext).unwrap());
    let (bal, _, _) = DynamoPoints::new(w.db.clone())
        .summary(&acct)
        .await
        .unwrap();
    bal.balance
}

pub(crate) async fn run_at(
    w: &World,
    t: &TestTenant,
    now: chrono::DateTime<chrono::Utc>,
) -> fission_run::RunReport {
    let (store, directory, ledger, tenants) = (
        DynamoGrowth::new(w.db.clone()),
        DynamoDirectory::new(w.db.clone()),
        DynamoPoints::new(w.db.clone()),
        DynamoTenants::new(w.db.clone()),
    );
    let deps = FissionDeps {
        store: &store,
        wecom: &w.client,
        cards: &directory,
        ledger: &ledger,
        tenants: &tenants,
    };
    fission_run::run_due(&deps, now, Some(t.id()))
        .await
        .expect("run")
}

pub(crate) async fn take_code(
    w: &World,
    t: &TestTenant,
    id: &str,
    me: &str,
) -> fission_admin::FissionCode {
    fission_admin::take_code(
        &DynamoGrowth::new(w.db.clone()),
        &w.client,
        &DynamoDirectory::new(w.db.clone()),
        &DynamoTenants::new(w.db.clone()),
        t.id(),
        id,
        me,
        test_now(),
    )
    .await
    .expect("code taken")
}

#[tokio::test]
async fn a_campaign_pays_exactly_the_tiers_its_confirmed_invitees_earn_once() {
    let w = world().await;
    let t = corp(&w).await;

    // Bad input: tiers that do not increase, refused with every problem, nothing written.
    let bad = json!([
        { "invites": 2, "reward": { "kind": "points", "points": 10 } },
        { "invites": 2, "reward": { "kind": "points", "points": 20 } }
    ]);
    let (status, body) = create(&w, &t, "k-bad", &campaign_body(bad)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(
        body["error"]["details"]["problems"][0]["field"], "tiers[1].invites",
        "{body}"
    );
    // A coupon tier without a list, a catalogue reward or coupon list the tenant does not
    // have: each refused with its stable code and the tier named, nothing written.
    let no_list = json!([{ "invites": 1, "reward": { "kind": "coupon" } }]);
    let (status, body) = create(&w, &t, "k-no-list", &campaign_body(no_list)).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("validation_failed")),
        "{body}"
    );
    let unknown = json!([
        { "invites": 1, "reward": { "kind": "coupon", "list_id": "cl0000000000000000" } },
        { "invites": 2, "reward": { "kind": "reward", "reward_id": "01NOSUCHREWARD" } }
    ]);
    let (status, body) = create(&w, &t, "k-unknown", &campaign_body(unknown)).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("unknown_reward")),
        "{body}"
    );
    let fields: Vec<&str> = body["error"]["details"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["tiers[1].reward.reward_id", "tiers[0].reward.list_id"]
    );
    let unknown_list =
        json!([{ "invites": 1, "reward": { "kind": "coupon", "list_id": "cl0000000000000000" } }]);
    let (status, body) = create(&w, &t, "k-unknown-list", &campaign_body(unknown_list)).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("unknown_coupon_list")),
        "{body}"
    );
    assert_eq!(
        body["error"]["details"]["problems"][0]["field"],
        "tiers[0].reward.list_id"
    );
    let (_, list) = get(&w, &t, "/v1/growth/fission-campaigns").await;
    assert_eq!(list["items"], json!([]));

    // Created once; a retry answers the same campaign; another body under the key: 409.
    let (status, c) = create(&w, &t, "k-1", &campaign_body(three_tiers(&w, &t).await)).await;
    assert_eq!(status, 201, "{c}");
    let (status, again) = create(&w, &t, "k-1", &campaign_body(three_tiers(&w, &t).await)).await;
    assert_eq!((status, &again["id"]), (200, &c["id"]));
    let mut other = campaign_body(three_tiers(&w, &t).await);
    other["name"] = json!("另一个");
    assert_eq!(create(&w, &t, "k-1", &other).await.0, 409);
    let id = c["id"].as_str().unwrap().to_string();

    // The inviter's personal code: a multi-member 「联系我」 code; taking it again answers it.
    let code = take_code(&w, &t, &id, "wmInviter").await;
    assert!(code.qr_code.starts_with("http"), "{}", code.qr_code);
    assert_eq!(take_code(&w, &t, &id, "wmInviter").await.state, code.state);
    let way = w
        .fake
        .contact_ways(t.id().as_str())
        .into_iter()
        .find(|c| c.state == code.state)
        .expect("the code at WeCom");
    assert_eq!(way.user, ["zhangsan", "lisi"]);

    for (ext, name) in [
        ("wmAlice", "Alice"),
        ("wmBob", "Bob"),
        ("wmCarol", "Carol"),
        ("wmDave", "Dave"),
        ("wmInviter", "Ivy"),
    ] {
        w.fake.add_customer(
            t.id().as_str(),
            FakeCustomer::new(ext, name).followed_by(FakeFollow::new("zhangsan")),
        );
    }

    // Adds through it: two invitees count, a redelivery and a second add of one of them
    // count nothing, the inviter adding through their own code is refused.
    let s = code.state.as_str();
    assert_eq!(
        join(&w, &added(&t, "e1", "wmAlice", s)).await,
        Some(JoinOutcome::Counted { replayed: false })
    );
    assert_eq!(
        join(&w, &added(&t, "e1", "wmAlice", s)).await,
        Some(JoinOutcome::Counted { replayed: true })
    );
    assert_eq!(
        join(&w, &added(&t, "e2", "wmAlice", s)).await,
        Some(JoinOutcome::Refused(NotCounted::AlreadyCounted))
    );
    assert_eq!(
        join(&w, &added(&t, "e3", "wmBob", s)).await,
        Some(JoinOutcome::Counted { replayed: false })
    );
    assert_eq!(
        join(&w, &added(&t, "e4", "wmCarol", s)).await,
        Some(JoinOutcome::Counted { replayed: false })
    );
    assert_eq!(
        join(&w, &added(&t, "e5", "wmInviter", s)).await,
        Some(JoinOutcome::Refused(NotCounted::SelfInvite))
    );
    // The campaign's tags went on the counted invitees' relations.
    for ext in ["wmAlice", "wmBob"] {
        let c = w.fake.customer(t.id().as_str(), ext).expect("in the fake");
        assert!(
            c.follows
                .iter()
                .any(|f| f.tag_ids.iter().any(|t| t == "ettagvip")),
            "{ext} tagged"
        );
    }

    // Carol deletes the member an hour later: within the hold, revoked (once).
    let store = DynamoGrowth::new(w.db.clone());
    let left_at = test_now() + chrono::Duration::hours(1);
    assert_eq!(
        fission_run::on_removed(&store, t.id(), Some(s), "wmCarol", left_at)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        fission_run::on_removed(&store, t.id(), Some(s), "wmCarol", left_at)
            .await
            .unwrap(),
        0
    );

    // Within the hold nothing is paid; after it, two confirmed: tiers 1 and 2 (30 points),
    // not tier 3; a second run pays nothing more.
    // (The run is confined to the test's tenant: the due index holds every tenant's claims.)
    let report = run_at(&w, &t, test_now() + chrono::Duration::hours(23)).await;
    assert_eq!(report.failed, 0);
    assert_eq!(balance(&w, &t, "wmInviter").await, 0);
    let figures = |c: Value| c["figures"].clone();
    let path = format!("/v1/growth/fission-campaigns/{id}");
    assert_eq!(figures(get(&w, &t, &path).await.1)["confirmed"], 0);
    let after = test_now() + chrono::Duration::hours(24) + CONFIRM_GRACE;
    let report = run_at(&w, &t, after).await;
    assert_eq!(report.failed, 0);
    assert_eq!(balance(&w, &t, "wmInviter").await, 30);
    run_at(&w, &t, after + chrono::Duration::minutes(1)).await;
    assert_eq!(balance(&w, &t, "wmInviter").await, 30);

    // A late removal of a confirmed invitee changes nothing.
    assert_eq!(
        fission_run::on_removed(&store, t.id(), Some(s), "wmBob", after)
            .await
            .unwrap(),
        0
    );

    // The figures and the leaderboard.
    let (status, c) = get(&w, &t, &format!("/v1/growth/fission-campaigns/{id}")).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        c["figures"],
        json!({ "inviters": 1, "counted": 3, "pending": 0, "confirmed": 2, "revoked": 1,
                "refused": 2, "tiers_paid": [1, 1, 0], "coupons_issued": 0, "waiting": 0,
                "codes_removed": 0 })
    );
    let (_, board) = get(
        &w,
        &t,
        &format!("/v1/growth/fission-campaigns/{id}/leaderboard?limit=5"),
    )
    .await;
    assert_eq!(board["items"][0]["external_userid"], "wmInviter");
    assert_eq!(board["items"][0]["confirmed"], 2);
    assert_eq!(
        get(
            &w,
            &t,
            &format!("/v1/growth/fission-campaigns/{id}/leaderboard?limit=0")
        )
        .await
        .0,
        400
    );
    assert_eq!(
        get(&w, &t, "/v1/growth/fission-campaigns/fc0000000000000000")
            .await
            .0,
        404
    );

    // The inviter's page and poster.
    let page = fission_admin::page(
        &store,
        &DynamoDirectory::new(w.db.clone()),
        t.id(),
        &id,
        "wmInviter",
        after,
    )
    .await
    .unwrap();
    assert_eq!(
        (page.me.confirmed, page.me.revoked, page.me.reached),
        (2, 1, 2)
    );
    assert_eq!(page.me.paid, [0, 1]);
    let svg = fission_admin::poster(
        &store,
        &DynamoDirectory::new(w.db.clone()),
        &scrm_adapters::pictures::HttpPictures::allowing_private_hosts(),
        t.id(),
        &id,
        "wmInviter",
    )
    .await
    .unwrap();
    // The QR picture (the fake serves it) is embedded; the background, which cannot be
    // fetched here, stays a reference.
    assert!(svg.contains(r#"href="data:image/"#), "{svg}");
    assert!(!svg.contains(&code.qr_code), "{svg}");
    assert!(svg.contains("https://cdn.example.com/bg.png"), "{svg}");

    // Ended: no new codes, and an add after the end counts nothing.
    let (status, ended) = admin_call(
        &admin(&w),
        json_request(
            "POST",
            &format!("/v1/growth/fission-campaigns/{id}/end"),
            &t.bearer(),
            &Value::Null,
        ),
    )
    .await;
    assert_eq!((status, &ended["status"]), (200, &json!("ended")));
    let mut late = added(&t, "e9", "wmDave", s);
    late.occurred_at = test_now() + chrono::Duration::hours(30);
    assert_eq!(
        join(&w, &late).await,
        Some(JoinOutcome::Refused(NotCounted::OutsideCampaign))
    );
}

/// The store's answer to random joins, leaves, redeliveries and runs is the pure book's
/// (three sequences, each on its own tenant).
#[tokio::test]
async fn random_sequences_through_the_store_pay_what_the_book_pays() {
    for seed in [
        0x2026_1201_9e37_79b9_u64,
        0x51ed_270b_2703_6e2d,
        0x0bad_cafe_f00d_1234,
    ] {
        sequence_against_the_book(seed).await;
    }
}

async fn sequence_against_the_book(seed: u64) {
    let w = world().await;
    let t = corp(&w).await;
    let (status, c) = create(&w, &t, "k-prop", &campaign_body(three_tiers(&w, &t).await)).await;
    assert_eq!(status, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let store = DynamoGrowth::new(w.db.clone());
    let campaign = store.campaign(t.id(), &id).await.unwrap().unwrap();
    let mut book = CampaignBook::new(campaign.rules());
    let inviters = ["wmI0", "wmI1", "wmI2"];
    let mut states = BTreeMap::new();
    for i in inviters {
        states.insert(i, take_code(&w, &t, &id, i).await.state);
    }
    let mut rng = Xorshift(seed);
    let mut delivered: Vec<EventEnvelope> = Vec::new();
    let mut expected_paid: BTreeMap<String, i64> = BTreeMap::new();
    let mut clock = test_now();
    for n in 0..60 {
        let roll = rng.below(10);
        if roll < 5 {
            let inviter = inviters[rng.below(inviters.len() as u64) as usize];
            let invitee = format!("wmC{}", rng.below(8));
            let mut e = added(&t, &format!("j{n}"), &invitee, &states[inviter]);
            e.occurred_at = clock;
            join(&w, &e).await;
            book.apply(&CampaignEvent::Joined {
                event_id: e.event_id.clone(),
                inviter: Person {
                    external_userid: inviter.into(),
                    unionid: None,
                },
                invitee: Person {
                    external_userid: invitee,
                    unionid: None,
                },
                at: clock,
            });
            delivered.push(e);
        } else if roll < 7 {
            let invitee = format!("wmC{}", rng.below(8));
            // A removal names the relation's code: the claim's inviter's.
            let claim = store.claim(t.id(), &id, &invitee).await.unwrap();
            if let Some(claim) = claim {
                fission_run::on_removed(
                    &store,
                    t.id(),
                    Some(&claim.inviter_state),
                    &invitee,
                    clock,
                )
                .await
                .unwrap();
                book.apply(&CampaignEvent::Left {
                    event_id: format!("l{n}"),
                    invitee,
                    at: clock,
                });
            }
        } else if roll < 8 && !delivered.is_empty() {
            let e = delivered[rng.below(delivered.len() as u64) as usize].clone();
            join(&w, &e).await;
        } else {
            clock += chrono::Duration::hours(1 + rng.below(19) as i64);
            // The store confirms a grace after the hold; the book at the hold's end.
            run_at(&w, &t, clock).await;
            let effects = book.apply(&CampaignEvent::Tick {
                now: clock - CONFIRM_GRACE,
            });
            tally(effects, &mut expected_paid);
        }
    }
    clock += chrono::Duration::days(3);
    run_at(&w, &t, clock).await;
    let effects = book.apply(&CampaignEvent::Tick {
        now: clock - CONFIRM_GRACE,
    });
    tally(effects, &mut expected_paid);
    for i in inviters {
        let stored = store.inviter(t.id(), &states[i]).await.unwrap().unwrap();
        let pure = book.inviters().get(i).cloned().unwrap_or_default();
        // The third tier's catalogue reward has no stock: earned, it waits for a restock.
        let mut progress = stored.progress.clone();
        progress.paid.extend(stored.waiting.iter().copied());
        assert!(stored.waiting.iter().all(|&tier| tier == 2), "inviter {i}");
        assert_eq!(progress, pure, "inviter {i}");
        assert_eq!(
            balance(&w, &t, i).await,
            expected_paid.get(i).copied().unwrap_or(0),
            "inviter {i}'s points"
        );
    }
}

/// A small deterministic generator: the sequence is the same on every run.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Adds the points of the tiers the book pays to `paid`.
fn tally(effects: Vec<CampaignEffect>, paid: &mut BTreeMap<String, i64>) {
    for e in effects {
        if let CampaignEffect::PayTier {
            inviter,
            reward: scrm_core::growth::fission::TierReward::Points { points },
            ..
        } = e
        {
            *paid.entry(inviter).or_default() += points;
        }
    }
}

// --- coupons, catalogue rewards, the end, events ---------------------------------------

async fn post_keyed(
    w: &World,
    t: &TestTenant,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    let mut req = json_request("POST", path, &t.bearer(), body);
    req.headers_mut()
        .insert("idempotency-key", key.parse().expect("header"));
    admin_call(&admin(w), req).await
}

pub(crate) fn deps_parts(
    w: &World,
) -> (DynamoGrowth, DynamoDirectory, DynamoPoints, DynamoTenants) {
    (
        DynamoGrowth::new(w.db.clone()),
        DynamoDirectory::new(w.db.clone()),
        DynamoPoints::new(w.db.clone()),
        DynamoTenants::new(w.db.clone()),
    )
}

/// A campaign with `tiers`, no hold (an invitee is confirmed at the first run after the
/// grace), and its id.
async fn quick_campaign(w: &World, t: &TestTenant, key: &str, tiers: Value) -> String {
    let mut body = campaign_body(tiers);
    body["hold_hours"] = json!(0);
    let (status, c) = create(w, t, key, &body).await;
    assert_eq!(status, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

/// `inviter` takes their code and `invitees` come in through it; the inviter's state.
async fn invite(w: &World, t: &TestTenant, id: &str, inviter: &str, invitees: &[&str]) -> String {
    let state = take_code(w, t, id, inviter).await.state;
    for ext in invitees {
        w.fake.add_customer(
            t.id().as_str(),
            FakeCustomer::new(*ext, *ext).followed_by(FakeFollow::new("zhangsan")),
        );
        let e = added(t, &format!("add-{id}-{ext}"), ext, &state);
        assert_eq!(
            join(w, &e).await,
            Some(JoinOutcome::Counted { replayed: false })
        );
    }
    state
}

fn after_hold() -> chrono::DateTime<chrono::Utc> {
    test_now() + CONFIRM_GRACE + chrono::Duration::minutes(1)
}

async fn published(w: &World, t: &TestTenant) -> Vec<EventEnvelope> {
    let store = DynamoGrowth::new(w.db.clone());
    fission_run::publish_outbox(&store, &*w.recorder, Some(t.id()))
        .await
        .expect("published");
    w.recorder
        .take()
        .into_iter()
        .filter(|e| e.tenant == t.id().as_str())
        .collect()
}

async fn my_page(w: &World, t: &TestTenant, id: &str, me: &str) -> fission_admin::FissionPage {
    fission_admin::page(
        &DynamoGrowth::new(w.db.clone()),
        &DynamoDirectory::new(w.db.clone()),
        t.id(),
        id,
        me,
        after_hold(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_coupon_tier_issues_one_code_once_even_under_concurrent_runs() {
    let w = world().await;
    let t = corp(&w).await;

    // A bad code: refused with its index, nothing written.
    let (status, body) = post_keyed(
        &w,
        &t,
        "/v1/growth/coupon-lists",
        "l-bad",
        &json!({ "name": "满100减10", "codes": ["OK-1", "has space"] }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["details"]["problems"][0]["field"], "codes[1]");
    // Wrong types (codes neither an array of strings nor text, a body that is not JSON),
    // too many codes for one request, a body over the limit: each a 4xx with its code.
    for (body, code) in [
        (
            json!({ "name": "满100减10", "codes": 42 }),
            "validation_failed",
        ),
        (
            json!({ "name": "满100减10", "codes": [1, 2] }),
            "validation_failed",
        ),
        (
            json!({ "name": "满100减10", "codes": (0..=10_000).map(|i| format!("C{i}")).collect::<Vec<_>>() }),
            "validation_failed",
        ),
    ] {
        let (status, out) = post_keyed(&w, &t, "/v1/growth/coupon-lists", "l-bad", &body).await;
        assert_eq!(
            (status, &out["error"]["code"]),
            (400, &json!(code)),
            "{out}"
        );
    }
    let csv_body = scrm_tests::request(
        "POST",
        "/v1/growth/coupon-lists",
        &[
            ("authorization", &t.bearer()),
            ("content-type", "text/csv"),
            ("idempotency-key", "l-bad"),
        ],
        Some(b"C-1\nC-2".to_vec()),
    );
    let (status, out) = admin_call(&admin(&w), csv_body).await;
    assert_eq!(
        (status, &out["error"]["code"]),
        (400, &json!("invalid_json")),
        "{out}"
    );
    let huge = json!({ "name": "满100减10", "codes": "C".repeat(1024 * 1024) });
    let (status, out) = post_keyed(&w, &t, "/v1/growth/coupon-lists", "l-bad", &huge).await;
    assert_eq!(
        (status, &out["error"]["code"]),
        (413, &json!("body_too_large")),
        "{out}"
    );
    assert_eq!(
        get(&w, &t, "/v1/growth/coupon-lists").await.1["items"],
        json!([])
    );

    // Created from CSV text with a repeat; a retry under the key adds nothing twice.
    let csv = json!({ "name": "满100减10", "codes": "C-1\nC-2,C-1\r\n" });
    let (status, l) = post_keyed(&w, &t, "/v1/growth/coupon-lists", "l-1", &csv).await;
    assert_eq!(status, 201, "{l}");
    assert_eq!(
        (l["added"].as_u64(), l["duplicates"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(l["list"]["stock"], 2);
    let (status, again) = post_keyed(&w, &t, "/v1/growth/coupon-lists", "l-1", &csv).await;
    assert_eq!(
        (status, &again["added"], &again["list"]["stock"]),
        (200, &json!(0), &json!(2))
    );
    let list_id = l["list"]["id"].as_str().unwrap().to_string();
    let codes_path = format!("/v1/growth/coupon-lists/{list_id}/codes");
    let (status, more) = post_keyed(
        &w,
        &t,
        &codes_path,
        "c-1",
        &json!({ "codes": ["C-2", "C-3"] }),
    )
    .await;
    assert_eq!(status, 200, "{more}");
    assert_eq!(
        (&more["added"], &more["duplicates"], &more["list"]["stock"]),
        (&json!(1), &json!(1), &json!(3))
    );
    assert_eq!(
        get(&w, &t, "/v1/growth/coupon-lists/cl0000000000000000")
            .await
            .0,
        404
    );

    let id = quick_campaign(
        &w,
        &t,
        "k-coupon",
        json!([{ "invites": 1, "reward": { "kind": "coupon", "list_id": list_id } }]),
    )
    .await;
    let state = invite(&w, &t, &id, "wmInviter", &["wmAlice"]).await;

    // Three runs at once: one code issued, once.
    let (a, b, c) = tokio::join!(
        run_at(&w, &t, after_hold()),
        run_at(&w, &t, after_hold()),
        run_at(&w, &t, after_hold())
    );
    assert_eq!(a.failed + b.failed + c.failed, 0);
    assert_eq!(a.paid + b.paid + c.paid, 1, "{a:?} {b:?} {c:?}");
    assert_eq!(run_at(&w, &t, after_hold()).await.paid, 0);
    let store = DynamoGrowth::new(w.db.clone());
    use scrm_core::growth::ports::CouponStore;
    let issued = store.inviter_coupons(t.id(), &state).await.unwrap();
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert!(["C-1", "C-2", "C-3"].contains(&issued[0].code.as_str()));
    let (_, l) = get(&w, &t, &format!("/v1/growth/coupon-lists/{list_id}")).await;
    assert_eq!((&l["issued"], &l["stock"]), (&json!(1), &json!(2)), "{l}");
    let (_, c) = get(&w, &t, &format!("/v1/growth/fission-campaigns/{id}")).await;
    assert_eq!(c["figures"]["coupons_issued"], 1, "{c}");
    assert_eq!(c["figures"]["tiers_paid"], json!([1]));

    // The inviter sees their code.
    let page = my_page(&w, &t, &id, "wmInviter").await;
    assert_eq!(page.me.paid, [0]);
    assert_eq!(page.me.coupons.len(), 1);
    assert_eq!(page.me.coupons[0].code, issued[0].code);

    // Every step's event, once each.
    let events = published(&w, &t).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.detail_type()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "FissionInviteeCounted")
            .count(),
        1,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"FissionTierReached"), "{kinds:?}");
    let paid: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            DomainEvent::FissionRewardPaid {
                kind,
                list_id: l,
                tier,
                ..
            } => Some((kind.clone(), l.clone(), *tier)),
            _ => None,
        })
        .collect();
    assert_eq!(paid, [("coupon".to_string(), Some(list_id.clone()), 0)]);
    assert!(published(&w, &t).await.is_empty(), "published twice");
}

#[tokio::test]
async fn an_empty_list_leaves_the_tier_waiting_until_codes_are_added() {
    let w = world().await;
    let t = corp(&w).await;
    let (status, l) = post_keyed(
        &w,
        &t,
        "/v1/growth/coupon-lists",
        "l-empty",
        &json!({ "name": "新人券" }),
    )
    .await;
    assert_eq!((status, &l["list"]["stock"]), (201, &json!(0)), "{l}");
    let list_id = l["list"]["id"].as_str().unwrap().to_string();
    let id = quick_campaign(
        &w,
        &t,
        "k-empty",
        json!([
            { "invites": 1, "reward": { "kind": "coupon", "list_id": list_id } },
            { "invites": 2, "reward": { "kind": "points", "points": 20 } }
        ]),
    )
    .await;
    invite(&w, &t, &id, "wmInviter", &["wmAlice", "wmBob"]).await;

    // Out of stock: the coupon tier waits (visibly), the points tier after it is paid.
    let r = run_at(&w, &t, after_hold()).await;
    assert_eq!((r.paid, r.waiting, r.failed), (1, 1, 0), "{r:?}");
    assert_eq!(balance(&w, &t, "wmInviter").await, 20);
    let r = run_at(&w, &t, after_hold()).await;
    assert_eq!((r.paid, r.waiting), (0, 1));
    let page = my_page(&w, &t, &id, "wmInviter").await;
    assert_eq!(
        (page.me.paid.clone(), page.me.waiting.clone()),
        (vec![1], vec![0])
    );
    let path = format!("/v1/growth/fission-campaigns/{id}");
    assert_eq!(get(&w, &t, &path).await.1["figures"]["waiting"], 1);

    // Codes come: the next run pays the tier.
    let codes_path = format!("/v1/growth/coupon-lists/{list_id}/codes");
    let (status, _) = post_keyed(&w, &t, &codes_path, "c-1", &json!({ "codes": "N-1\nN-2" })).await;
    assert_eq!(status, 200);
    let r = run_at(&w, &t, after_hold()).await;
    assert_eq!((r.paid, r.waiting), (1, 0));
    let page = my_page(&w, &t, &id, "wmInviter").await;
    assert_eq!(
        (page.me.paid.clone(), page.me.waiting.clone()),
        (vec![0, 1], vec![])
    );
    assert_eq!(page.me.coupons.len(), 1);
    let figures = get(&w, &t, &path).await.1["figures"].clone();
    assert_eq!(
        (&figures["waiting"], &figures["coupons_issued"]),
        (&json!(0), &json!(1))
    );
    let (_, l) = get(&w, &t, &format!("/v1/growth/coupon-lists/{list_id}")).await;
    assert_eq!(l["stock"], 1);
}

#[tokio::test]
async fn a_catalogue_reward_tier_takes_stock_once_and_waits_when_sold_out() {
    let w = world().await;
    let t = corp(&w).await;
    let (status, r) = post_keyed(
        &w,
        &t,
        "/v1/points/rewards",
        "mug",
        &json!({ "name": "Mug", "cost": 100, "stock": 1 }),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let reward_id = r["reward_id"].as_str().unwrap().to_string();
    let id = quick_campaign(
        &w,
        &t,
        "k-reward",
        json!([{ "invites": 1, "reward": { "kind": "reward", "reward_id": reward_id } }]),
    )
    .await;
    invite(&w, &t, &id, "wmI1", &["wmA1"]).await;
    invite(&w, &t, &id, "wmI2", &["wmA2"]).await;

    // One unit: one inviter granted, the other waits.
    let r = run_at(&w, &t, after_hold()).await;
    assert_eq!((r.paid, r.waiting, r.failed), (1, 1, 0), "{r:?}");
    let reward_path = format!("/v1/points/rewards/{reward_id}");
    assert_eq!(catalogue_reward(&w, &t, &reward_id).await["stock"], 0);
    assert_eq!(run_at(&w, &t, after_hold()).await.paid, 0);

    // Restocked: the waiting one is granted; nobody's points moved.
    let mut req = json_request(
        "PATCH",
        &reward_path,
        &t.bearer(),
        &json!({ "add_stock": 2 }),
    );
    req.headers_mut()
        .insert("idempotency-key", "restock".parse().unwrap());
    assert_eq!(admin_call(&admin(&w), req).await.0, 200);
    let r = run_at(&w, &t, after_hold()).await;
    assert_eq!((r.paid, r.waiting), (1, 0));
    assert_eq!(run_at(&w, &t, after_hold()).await.paid, 0);
    let reward = catalogue_reward(&w, &t, &reward_id).await;
    assert_eq!(
        (&reward["stock"], &reward["redeemed"]),
        (&json!(1), &json!(2)),
        "{reward}"
    );
    let (_, redemptions) = get(&w, &t, &format!("{reward_path}/redemptions")).await;
    let items = redemptions["redemptions"].as_array().expect("redemptions");
    assert_eq!(items.len(), 2, "{redemptions}");
    assert!(items.iter().all(|r| r["cost"] == 0));
    for i in ["wmI1", "wmI2"] {
        assert_eq!(balance(&w, &t, i).await, 0);
        assert_eq!(my_page(&w, &t, &id, i).await.me.paid, [0]);
    }
}

async fn catalogue_reward(w: &World, t: &TestTenant, id: &str) -> Value {
    let (_, all) = get(w, t, "/v1/points/rewards").await;
    all["rewards"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["reward_id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("reward {id} in {all}"))
}

/// Passes after `n` looks.
struct Countdown(std::sync::atomic::AtomicUsize);

impl scrm_core::sop::dispatch::Deadline for Countdown {
    fn passed(&self) -> bool {
        self.0
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_err()
    }
}

async fn run_ends_at<D: scrm_core::sop::dispatch::Deadline>(
    w: &World,
    t: &TestTenant,
    now: chrono::DateTime<chrono::Utc>,
    deadline: &D,
) -> fission_run::EndReport {
    let (store, directory, ledger, tenants) = deps_parts(w);
    let deps = FissionDeps {
        store: &store,
        wecom: &w.client,
        cards: &directory,
        ledger: &ledger,
        tenants: &tenants,
    };
    fission_run::run_ends(&deps, now, Some(t.id()), deadline)
        .await
        .expect("end run")
}

#[tokio::test]
async fn personal_codes_are_deleted_at_the_end_and_a_cut_off_run_resumes() {
    let w = world().await;
    let t = corp(&w).await;
    let mut body = campaign_body(three_tiers(&w, &t).await);
    body["hold_hours"] = json!(2);
    let (status, c) = create(&w, &t, "k-end", &body).await;
    assert_eq!(status, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let s0 = invite(&w, &t, &id, "wmI0", &["wmC0"]).await;
    let mut states = vec![s0.clone()];
    for i in ["wmI1", "wmI2"] {
        states.push(take_code(&w, &t, &id, i).await.state);
    }
    // wmC0 leaves within the hold: revoked.
    let store = DynamoGrowth::new(w.db.clone());
    assert_eq!(
        fission_run::on_removed(
            &store,
            t.id(),
            Some(&s0),
            "wmC0",
            test_now() + chrono::Duration::minutes(5)
        )
        .await
        .unwrap(),
        1
    );
    let at_wecom = |w: &World| {
        w.fake
            .contact_ways(t.id().as_str())
            .into_iter()
            .filter(|c| states.contains(&c.state))
            .count()
    };
    assert_eq!(at_wecom(&w), 3);
    // One code was deleted at WeCom by hand already: WeCom's "no such code" counts as done.
    let gone = store.inviter(t.id(), &states[2]).await.unwrap().unwrap();
    let creds = scrm_core::contacts::source::contact_credentials(
        &scrm_core::tenants::TenantLookup::tenant(&DynamoTenants::new(w.db.clone()), t.id())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    w.client
        .del_contact_way(&creds, gone.config_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(at_wecom(&w), 2);

    // Before the end nothing is deleted.
    let r = run_ends_at(&w, &t, test_now(), &scrm_core::sop::dispatch::NoDeadline).await;
    assert_eq!(r, fission_run::EndReport::default());

    // Ended early by an operator.
    let (status, _) = admin_call(
        &admin(&w),
        json_request(
            "POST",
            &format!("/v1/growth/fission-campaigns/{id}/end"),
            &t.bearer(),
            &Value::Null,
        ),
    )
    .await;
    assert_eq!(status, 200);
    let later = test_now() + chrono::Duration::minutes(10);

    // A run cut off after one code (the deadline passes at the second).
    let r = run_ends_at(&w, &t, later, &Countdown(2.into())).await;
    assert_eq!((r.codes_removed, r.closed, r.left), (1, 0, 1), "{r:?}");
    assert_eq!(store.live_codes(t.id(), &id, 10).await.unwrap().len(), 2);

    // The next run resumes with the rest and closes the campaign, once.
    let r = run_ends_at(&w, &t, later, &scrm_core::sop::dispatch::NoDeadline).await;
    assert_eq!((r.codes_removed, r.closed, r.left), (2, 1, 0), "{r:?}");
    assert_eq!(at_wecom(&w), 0);
    let r = run_ends_at(&w, &t, later, &scrm_core::sop::dispatch::NoDeadline).await;
    assert_eq!(r, fission_run::EndReport::default());
    let (_, c) = get(&w, &t, &format!("/v1/growth/fission-campaigns/{id}")).await;
    assert_eq!(c["figures"]["codes_removed"], 3, "{c}");
    assert!(c["closed_at"].is_string(), "{c}");

    let events = published(&w, &t).await;
    let ended: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            DomainEvent::FissionCampaignEnded {
                campaign_id,
                codes_removed,
                ..
            } => Some((campaign_id.clone(), *codes_removed)),
            _ => None,
        })
        .collect();
    assert_eq!(ended, [(id.clone(), 3)]);
    assert!(
        events.iter().any(|e| matches!(
            &e.event,
            DomainEvent::FissionInviteeRevoked { invitee, .. } if invitee == "wmC0"
        )),
        "{events:?}"
    );
}

async fn put(w: &World, t: &TestTenant, path: &str, body: &Value) -> (u16, Value) {
    admin_call(&admin(w), json_request("PUT", path, &t.bearer(), body)).await
}

#[tokio::test]
async fn a_campaign_is_edited_freely_before_its_start_and_only_in_part_after() {
    let w = world().await;
    let t = corp(&w).await;
    let mut body = campaign_body(three_tiers(&w, &t).await);
    body["starts_at"] = json!((test_now() + chrono::Duration::days(1)).to_rfc3339());
    let (status, c) = create(&w, &t, "k-edit", &body).await;
    assert_eq!(status, 201, "{c}");
    let path = format!("/v1/growth/fission-campaigns/{}", c["id"].as_str().unwrap());

    // Before the start: anything, from the current version.
    let mut edit = body.clone();
    edit["version"] = json!(1);
    edit["hold_hours"] = json!(48);
    edit["tiers"][2]["invites"] = json!(5);
    let (status, edited) = put(&w, &t, &path, &edit).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (&edited["version"], &edited["hold_hours"]),
        (&json!(2), &json!(48))
    );
    // A stale version: 409, nothing changed.
    edit["name"] = json!("另一个");
    let (status, stale) = put(&w, &t, &path, &edit).await;
    assert_eq!(
        (status, &stale["error"]["code"]),
        (409, &json!("version_mismatch")),
        "{stale}"
    );
    // Tiers that do not rise: 400.
    edit["version"] = json!(2);
    edit["tiers"][1]["invites"] = json!(1);
    let (status, bad) = put(&w, &t, &path, &edit).await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(
        bad["error"]["details"]["problems"][0]["field"],
        "tiers[1].invites"
    );
    // A tier naming a reward the catalogue does not have: 400 `unknown_reward`.
    edit["tiers"][1]["invites"] = json!(2);
    edit["tiers"][2]["reward"]["reward_id"] = json!("01NOSUCHREWARD");
    let (status, bad) = put(&w, &t, &path, &edit).await;
    assert_eq!(
        (status, &bad["error"]["code"]),
        (400, &json!("unknown_reward")),
        "{bad}"
    );
    let stored = get(&w, &t, &path).await.1;
    assert_eq!(
        (&stored["name"], &stored["version"]),
        (&json!("邀请有礼"), &json!(2))
    );

    // Started: the name, the end and the cap only.
    let (_, started) = create(
        &w,
        &t,
        "k-started",
        &campaign_body(three_tiers(&w, &t).await),
    )
    .await;
    let path = format!(
        "/v1/growth/fission-campaigns/{}",
        started["id"].as_str().unwrap()
    );
    let mut edit = campaign_body(three_tiers(&w, &t).await);
    edit["version"] = json!(1);
    edit["name"] = json!("加推一周");
    edit["cap_per_inviter"] = json!(20);
    edit["ends_at"] = json!((test_now() + chrono::Duration::days(14)).to_rfc3339());
    let (status, edited) = put(&w, &t, &path, &edit).await;
    assert_eq!(
        (status, &edited["name"]),
        (200, &json!("加推一周")),
        "{edited}"
    );
    edit["version"] = json!(2);
    edit["hold_hours"] = json!(1);
    let (status, bad) = put(&w, &t, &path, &edit).await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(
        bad["error"]["details"]["problems"][0]["field"],
        "hold_hours"
    );
}
