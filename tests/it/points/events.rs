//! `points-on-event`: newcomer points once per customer ever, zero-on-leave, joins and
//! leaves of each group's day, all idempotent on the event.
use super::{shanghai, World};
use lambda_runtime::{Context, LambdaEvent};
use scrm_core::events::{DomainEvent, EventEnvelope};
use serde_json::{json, Value};

async fn deliver(
    w: &World,
    id: &str,
    at: chrono::DateTime<chrono::Utc>,
    event: DomainEvent,
) -> Value {
    let env = EventEnvelope::new(id, w.tenant().as_str(), at, event);
    points_on_event_fn::handle(
        &w.points,
        &w.dir,
        &w.admin.tenants,
        w.clock.as_ref(),
        LambdaEvent::new(env.to_eventbridge_json(), Context::default()),
    )
    .await
    .expect("handled")
}

fn added(ext: &str, half: bool) -> DomainEvent {
    DomainEvent::ContactAdded {
        external_userid: ext.into(),
        userid: "staff1".into(),
        state: None,
        half,
        welcome_code: None,
    }
}

fn joined(chat: &str, member: &str, is_customer: bool) -> DomainEvent {
    DomainEvent::MemberJoinedGroup {
        chat_id: chat.into(),
        member_id: member.into(),
        is_customer,
        join_scene: Some(3),
        state: None,
    }
}

fn left(chat: &str, member: &str) -> DomainEvent {
    DomainEvent::MemberLeftGroup {
        chat_id: chat.into(),
        member_id: member.into(),
        is_customer: true,
        quit_scene: Some(0),
    }
}

#[tokio::test]
async fn newcomer_points_are_paid_once_per_customer_ever() {
    let w = World::new().await;
    w.set_rules(json!({"newcomer": {"enabled": true, "points": 88, "on_contact_added": true, "on_group_join": true}}))
        .await;
    let now = scrm_core::clock::Clock::now(&*w.clock);
    let first = deliver(&w, "cb:a:0", now, added("wmNew", false)).await;
    assert_eq!(first["points"]["applied"]["amount"], 88);
    // The same event redelivered, another staff member adding them, a group join: nothing more.
    let again = deliver(&w, "cb:a:0", now, added("wmNew", false)).await;
    assert_eq!(again["points"]["replayed"], true);
    deliver(&w, "cb:b:0", now, added("wmNew", false)).await;
    deliver(&w, "cb:c:0", now, joined("wrG1", "wmNew", true)).await;
    assert_eq!(w.invariants("wmNew").await, 88);
    let (_, entries) = w.admin_get("/v1/points/customers/wmNew/ledger").await;
    assert_eq!(entries["entries"][0]["reason"], "newcomer");
    assert_eq!(entries["entries"][0]["source"], "event:cb:a:0");
}

#[tokio::test]
async fn newcomer_points_follow_the_chosen_trigger_only() {
    let w = World::new().await;
    w.set_rules(json!({"newcomer": {"enabled": true, "points": 10, "on_contact_added": false, "on_group_join": true}}))
        .await;
    let now = scrm_core::clock::Clock::now(&*w.clock);
    let r = deliver(&w, "cb:1:0", now, added("wmTrig", false)).await;
    assert!(r["points"].is_null());
    assert_eq!(w.invariants("wmTrig").await, 0);
    // A staff member joining pays nothing; a half add pays nothing.
    deliver(&w, "cb:2:0", now, joined("wrG", "zhangsan", false)).await;
    assert_eq!(w.invariants("zhangsan").await, 0);
    let r = deliver(&w, "cb:3:0", now, joined("wrG", "wmTrig", true)).await;
    assert_eq!(r["points"]["applied"]["amount"], 10);
    assert_eq!(w.invariants("wmTrig").await, 10);

    let w2 = World::new().await;
    w2.set_rules(json!({"newcomer": {"enabled": true, "points": 10, "on_contact_added": true}}))
        .await;
    let r = deliver(&w2, "cb:4:0", now, added("wmHalf", true)).await;
    assert!(r["points"].is_null());
    assert_eq!(w2.invariants("wmHalf").await, 0);
}

#[tokio::test]
async fn leaving_a_group_zeroes_points_once_when_configured() {
    let w = World::new().await;
    w.set_rules(json!({"zero_on_leave": true, "newcomer": {"enabled": true, "points": 40, "on_group_join": true}}))
        .await;
    let now = scrm_core::clock::Clock::now(&*w.clock);
    deliver(&w, "cb:j:0", now, joined("wrZ", "wmLeave", true)).await;
    let r = deliver(&w, "cb:l:0", now, left("wrZ", "wmLeave")).await;
    assert_eq!(r["points"]["applied"]["kind"], "zero_on_leave");
    assert_eq!(r["points"]["applied"]["amount"], -40);
    let again = deliver(&w, "cb:l:0", now, left("wrZ", "wmLeave")).await;
    assert_eq!(again["points"]["replayed"], true);
    assert_eq!(w.invariants("wmLeave").await, 0);
    let (_, entries) = w.admin_get("/v1/points/customers/wmLeave/ledger").await;
    assert_eq!(entries["entries"][0]["reason"], "left_group");
    assert_eq!(entries["entries"][0]["details"]["chat_id"], "wrZ");

    // Off: leaving changes nothing.
    let w2 = World::new().await;
    w2.set_rules(json!({"newcomer": {"enabled": true, "points": 40, "on_group_join": true}}))
        .await;
    deliver(&w2, "cb:j:0", now, joined("wrZ", "wmStay", true)).await;
    let r = deliver(&w2, "cb:l:0", now, left("wrZ", "wmStay")).await;
    assert!(r["points"].is_null());
    assert_eq!(w2.invariants("wmStay").await, 40);
}

#[tokio::test]
async fn joins_and_leaves_are_recorded_on_the_groups_day_once() {
    let w = World::new().await;
    let morning = shanghai(2026, 3, 10, 9, 0);
    deliver(&w, "cb:x:0", morning, joined("wrDay", "wmA", true)).await;
    deliver(&w, "cb:x:0", morning, joined("wrDay", "wmA", true)).await;
    deliver(&w, "cb:y:0", morning, joined("wrDay", "lisi", false)).await;
    deliver(&w, "cb:z:0", morning, left("wrDay", "wmA")).await;
    // 00:30 Shanghai on the 11th is the 11th, though it is still the 10th in UTC.
    deliver(
        &w,
        "cb:w:0",
        shanghai(2026, 3, 11, 0, 30),
        joined("wrDay", "wmB", true),
    )
    .await;
    let (status, day) = w.admin_get("/v1/points/groups/wrDay/days/2026-03-10").await;
    assert_eq!(status, 200, "{day}");
    let mut joined: Vec<&str> = day["joined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    joined.sort();
    assert_eq!(joined, vec!["lisi", "wmA"]);
    assert_eq!(day["left"], json!(["wmA"]));
    let (_, next) = w.admin_get("/v1/points/groups/wrDay/days/2026-03-11").await;
    assert_eq!(next["joined"], json!(["wmB"]));
}

#[tokio::test]
async fn events_of_other_kinds_or_unknown_tenants_are_ignored() {
    let w = World::new().await;
    let now = scrm_core::clock::Clock::now(&*w.clock);
    let r = deliver(
        &w,
        "cb:g:0",
        now,
        DomainEvent::GroupCreated {
            chat_id: "wrX".into(),
        },
    )
    .await;
    assert_eq!(r["ignored"], "GroupCreated");
    let env = EventEnvelope::new("cb:u:0", "wwnosuchtenant1", now, added("wmX", false));
    let r = points_on_event_fn::handle(
        &w.points,
        &w.dir,
        &w.admin.tenants,
        w.clock.as_ref(),
        LambdaEvent::new(env.to_eventbridge_json(), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(r["ignored"], "unknown tenant");
    let bad = points_on_event_fn::handle(
        &w.points,
        &w.dir,
        &w.admin.tenants,
        w.clock.as_ref(),
        LambdaEvent::new(json!({"detail": {"nonsense": true}}), Context::default()),
    )
    .await;
    assert!(matches!(
        bad,
        Err(scrm_core::points::error::EventFnError::NonRetryable(_))
    ));
}

#[tokio::test]
async fn newcomer_points_paid_before_an_amount_change_are_already_paid() {
    let w = World::new().await;
    w.set_rules(json!({"newcomer": {"enabled": true, "points": 30, "on_contact_added": true, "on_group_join": true}}))
        .await;
    let now = scrm_core::clock::Clock::now(&*w.clock);
    let first = deliver(&w, "cb:amt:0", now, joined("wrAmt", "wmAmt", true)).await;
    assert_eq!(first["points"]["applied"]["amount"], 30);
    w.set_rules(json!({"newcomer": {"enabled": true, "points": 50, "on_contact_added": true, "on_group_join": true}}))
        .await;
    // A later add as a contact finds the rule already paid: no failure, nothing more paid.
    let later = deliver(&w, "cb:amt:1", now, added("wmAmt", false)).await;
    assert_eq!(
        (
            later["points"]["replayed"].as_bool(),
            later["points"]["applied"]["amount"].as_i64()
        ),
        (Some(true), Some(30))
    );
    assert_eq!(w.invariants("wmAmt").await, 30);
}

/// The directory's side of a leave (the callback inbox writes it before publishing).
async fn directory_left(w: &World, chat: &str, ext: &str) {
    use scrm_core::contacts::DirectoryWrite as _;
    w.dir
        .member_left(w.tenant(), chat, ext, true, Some(0), 3)
        .await
        .unwrap();
}

#[tokio::test]
async fn zero_on_leave_waits_until_the_customer_has_left_every_group() {
    let w = World::new().await;
    w.set_rules(json!({"zero_on_leave": true, "newcomer": {"enabled": true, "points": 40, "on_group_join": true}}))
        .await;
    let now = scrm_core::clock::Clock::now(&*w.clock);
    w.join("wrOne", "wmTwo").await;
    w.join("wrTwo", "wmTwo").await;
    deliver(&w, "cb:j1:0", now, joined("wrOne", "wmTwo", true)).await;
    deliver(&w, "cb:j2:0", now, joined("wrTwo", "wmTwo", true)).await;
    // Leaving one group while still in the other keeps the points.
    directory_left(&w, "wrOne", "wmTwo").await;
    let r = deliver(&w, "cb:l1:0", now, left("wrOne", "wmTwo")).await;
    assert!(r["points"].is_null(), "{r}");
    assert_eq!(w.invariants("wmTwo").await, 40);
    // Leaving the last group leaves the community: zeroed.
    directory_left(&w, "wrTwo", "wmTwo").await;
    let r = deliver(&w, "cb:l2:0", now, left("wrTwo", "wmTwo")).await;
    assert_eq!(r["points"]["applied"]["amount"], -40, "{r}");
    assert_eq!(w.invariants("wmTwo").await, 0);

    // The tenant may choose "any group": leaving one zeroes at once.
    let w = World::new().await;
    w.set_rules(
        json!({"zero_on_leave": true, "zero_on_leave_scope": "any_group",
        "newcomer": {"enabled": true, "points": 40, "on_group_join": true}}),
    )
    .await;
    w.join("wrOne", "wmAny").await;
    w.join("wrTwo", "wmAny").await;
    deliver(&w, "cb:j1:0", now, joined("wrOne", "wmAny", true)).await;
    directory_left(&w, "wrOne", "wmAny").await;
    let r = deliver(&w, "cb:l1:0", now, left("wrOne", "wmAny")).await;
    assert_eq!(r["points"]["applied"]["amount"], -40, "{r}");
    assert_eq!(w.invariants("wmAny").await, 0);
}

#[tokio::test]
async fn a_late_credit_whose_lot_has_already_expired_is_expired_at_once() {
    use scrm_core::points::sweep::sweep_tenant;
    // 00:30 on Apr 2: the sweep has already expired every lot ending on Apr 2.
    let w = World::at(shanghai(2026, 4, 2, 0, 30)).await;
    w.set_rules(json!({"validity_days": 1, "newcomer": {"enabled": true, "points": 10, "on_group_join": true}}))
        .await;
    let r = sweep_tenant(&w.points, w.tenant(), w.when(), None)
        .await
        .unwrap();
    assert!(r.finished);
    // A join at 23:50 on Apr 1 arrives now (late delivery, or replayed from the dead-letter
    // queue): its points were valid until the end of Apr 1.
    let late = shanghai(2026, 4, 1, 23, 50);
    let out = deliver(&w, "cb:late:0", late, joined("wrLate", "wmLate", true)).await;
    assert_eq!(out["points"]["applied"]["amount"], 10, "{out}");
    assert_eq!(w.invariants("wmLate").await, 0, "expired at once");
    let (_, ledger) = w.admin_get("/v1/points/customers/wmLate/ledger").await;
    let kinds: Vec<(&str, i64)> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["amount"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("expire", -10), ("earn", 10)]);
    // The redelivered event changes nothing; later sweeps find nothing.
    deliver(&w, "cb:late:0", late, joined("wrLate", "wmLate", true)).await;
    w.clock.set(shanghai(2026, 4, 3, 1, 0));
    let r = sweep_tenant(&w.points, w.tenant(), w.when(), None)
        .await
        .unwrap();
    assert_eq!(r.lots_expired, 0);
    assert_eq!(w.invariants("wmLate").await, 0);
    // A replay from days later with a longer validity expires the same way.
    let w = World::at(shanghai(2026, 4, 10, 12, 0)).await;
    w.set_rules(json!({"validity_days": 3, "newcomer": {"enabled": true, "points": 10, "on_contact_added": true}}))
        .await;
    deliver(
        &w,
        "cb:dlq:0",
        shanghai(2026, 4, 2, 9, 0),
        added("wmDlq", false),
    )
    .await;
    assert_eq!(w.invariants("wmDlq").await, 0);
}
