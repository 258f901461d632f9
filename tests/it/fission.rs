//! Fission campaigns end to end on DynamoDB Local and the fake WeCom server: a campaign
//! created through the admin API (idempotent; bad tiers refused with nothing written), an
//! inviter's personal code taken (a 「联系我」 code at WeCom), adds through it delivered to
//! the `growth-on-event` consumer (counted once, redeliveries and duplicates counting
//! nothing, self-invites refused), a removal within the hold revoking, and the minute's run
//! confirming holds and paying exactly the tiers earned through the ledger, once. Then the
//! same rules through the store on random sequences, against the pure book.
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

type Consumer = GrowthOnEvent<DynamoGrowth, WeComClient, DynamoDirectory, DynamoTenants>;

fn consumer(w: &World) -> Consumer {
    GrowthOnEvent {
        store: DynamoGrowth::new(w.db.clone()),
        wecom: w.client.clone(),
        facts: DynamoDirectory::new(w.db.clone()),
        tenants: DynamoTenants::new(w.db.clone()),
        clock: w.clock.clone(),
    }
}

fn campaign_body(tiers: Value) -> Value {
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

fn three_tiers() -> Value {
    json!([
        { "invites": 1, "reward": { "kind": "points", "points": 10 } },
        { "invites": 2, "reward": { "kind": "points", "points": 20 } },
        { "invites": 3, "reward": { "kind": "reward", "reward_id": "cup" } }
    ])
}

async fn create(w: &World, t: &TestTenant, key: &str, body: &Value) -> (u16, Value) {
    let mut req = json_request("POST", "/v1/growth/fission-campaigns", &t.bearer(), body);
    req.headers_mut()
        .insert("idempotency-key", key.parse().expect("header"));
    admin_call(&admin(w), req).await
}

async fn get(w: &World, t: &TestTenant, path: &str) -> (u16, Value) {
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

async fn balance(w: &World, t: &TestTenant, ext: &str) -> i64 {
    let acct = Account::new(t.id().clone(), CustomerId::parse(ext).unwrap());
    let (bal, _, _) = DynamoPoints::new(w.db.clone())
        .summary(&acct)
        .await
        .unwrap();
    bal.balance
}

async fn run_at(
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

async fn take_code(w: &World, t: &TestTenant, id: &str, me: &str) -> fission_admin::FissionCode {
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
    let (_, list) = get(&w, &t, "/v1/growth/fission-campaigns").await;
    assert_eq!(list["items"], json!([]));

    // Created once; a retry answers the same campaign; another body under the key: 409.
    let (status, c) = create(&w, &t, "k-1", &campaign_body(three_tiers())).await;
    assert_eq!(status, 201, "{c}");
    let (status, again) = create(&w, &t, "k-1", &campaign_body(three_tiers())).await;
    assert_eq!((status, &again["id"]), (200, &c["id"]));
    let mut other = campaign_body(three_tiers());
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
                "refused": 2, "tiers_paid": [1, 1, 0] })
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
        &scrm_adapters::pictures::HttpPictures::new(),
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
    let (status, c) = create(&w, &t, "k-prop", &campaign_body(three_tiers())).await;
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
        assert_eq!(stored.progress, pure, "inviter {i}");
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
