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
        &w.admin.tenants,
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
    }
}

fn joined(chat: &str, member: &str, is_customer: bool) -> DomainEvent {
    DomainEvent::MemberJoinedGroup {
        chat_id: chat.into(),
        member_id: member.into(),
        is_customer,
        join_scene: Some(3),
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
        &w.admin.tenants,
        LambdaEvent::new(env.to_eventbridge_json(), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(r["ignored"], "unknown tenant");
    let bad = points_on_event_fn::handle(
        &w.points,
        &w.admin.tenants,
        LambdaEvent::new(json!({"detail": {"nonsense": true}}), Context::default()),
    )
    .await;
    assert!(matches!(
        bad,
        Err(scrm_core::points::error::EventFnError::NonRetryable(_))
    ));
}
