//! Group fission campaigns end to end through the callback function, on DynamoDB Local and
//! the fake WeCom server: an inviter's personal code is a 「加入群聊」 code on the
//! campaign's groups; customers scan it and join (the callback reads the group's detail
//! and the join names the code's state; a join moments later, whose callback reuses that
//! detail, has its state read by the consumer), a redelivery counts nothing more, a
//! self-invite is refused, leaving the group within the hold revokes and after it does
//! not, the minute's run pays exactly the tiers earned, once; bad groups are refused with
//! nothing written, and at the end the join ways are deleted at WeCom.
use crate::directory::{test_now, world, World};
use crate::fission::{
    balance, campaign_body, consumer, create, deps_parts, get, run_at, take_code,
};
use crate::growth::{corp, deliver_callback};
use crate::growth_group::group;
use growth_on_event_fn::{apply_group_fission, apply_join};
use scrm_core::events::{DomainEvent, EventEnvelope};
use scrm_core::growth::fission::NotCounted;
use scrm_core::growth::fission_run::{self, FissionDeps, JoinOutcome};
use scrm_core::sop::dispatch::NoDeadline;
use scrm_tests::*;
use serde_json::{json, Value};

fn group_campaign() -> Value {
    let mut body = campaign_body(json!([
        { "invites": 1, "reward": { "kind": "points", "points": 10 } },
        { "invites": 2, "reward": { "kind": "points", "points": 20 } },
        { "invites": 3, "reward": { "kind": "points", "points": 40 } }
    ]));
    let o = body.as_object_mut().unwrap();
    o.remove("userids");
    o.insert("chat_ids".into(), json!(["wrfa", "wrfb"]));
    body
}

/// The one event of `kind` a callback published.
fn only(events: Vec<EventEnvelope>, kind: &str) -> EventEnvelope {
    let mut of_kind: Vec<EventEnvelope> = events
        .into_iter()
        .filter(|e| e.event.detail_type() == kind)
        .collect();
    assert_eq!(of_kind.len(), 1, "{of_kind:?}");
    of_kind.remove(0)
}

/// A customer scans the inviter's code: the join lands through the callback function and
/// its event is delivered to the consumer (group codes, then group campaigns).
async fn scan(
    w: &World,
    t: &TestTenant,
    state: &str,
    who: &str,
) -> (
    EventEnvelope,
    scrm_core::growth::fission_event::GroupFission,
) {
    let change = w
        .fake
        .scan_join_way(t.id().as_str(), state, who, "客户")
        .expect("joined through the code");
    let event = only(
        deliver_callback(w, t, &change.xml).await,
        "MemberJoinedGroup",
    );
    apply_join(&consumer(w), &event).await.expect("group codes");
    let f = apply_group_fission(&consumer(w), &event)
        .await
        .expect("group campaigns");
    (event, f)
}

async fn leave(w: &World, t: &TestTenant, chat_id: &str, who: &str) -> u32 {
    let change = w
        .fake
        .leave_group(t.id().as_str(), chat_id, who)
        .expect("left");
    let event = only(deliver_callback(w, t, &change.xml).await, "MemberLeftGroup");
    apply_group_fission(&consumer(w), &event)
        .await
        .expect("group campaigns")
        .revoked
}

#[tokio::test]
async fn a_group_campaign_counts_joins_through_inviters_codes_and_pays_the_tiers_kept() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    group(&w, &t, "wrfa", 3).await;
    group(&w, &t, "wrfb", 3).await;

    // Bad groups: each a problem, nothing written.
    for (body, field) in [
        (
            {
                let mut b = group_campaign();
                b["chat_ids"] = json!(["wrfa", "wrnowhere"]);
                b
            },
            "chat_ids[1]",
        ),
        (
            {
                let mut b = group_campaign();
                b["userids"] = json!(["zhangsan"]);
                b
            },
            "userids",
        ),
        (
            {
                let mut b = group_campaign();
                b["chat_ids"] = json!(["wr1", "wr2", "wr3", "wr4", "wr5", "wr6"]);
                b
            },
            "chat_ids",
        ),
    ] {
        let (status, out) = create(&w, &t, "k-bad", &body).await;
        assert_eq!(
            (status, out["error"]["code"].as_str()),
            (400, Some("validation_failed")),
            "{out}"
        );
        let fields: Vec<&str> = out["error"]["details"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{field} in {out}");
    }
    let (_, listed) = get(&w, &t, "/v1/growth/fission-campaigns").await;
    assert_eq!(listed["items"], json!([]), "{listed}");

    let (status, campaign) = create(&w, &t, "k-group", &group_campaign()).await;
    assert_eq!(status, 201, "{campaign}");
    assert_eq!(campaign["chat_ids"], json!(["wrfa", "wrfb"]));
    let id = campaign["id"].as_str().unwrap().to_string();

    // The inviter's code is a join way on the campaign's groups, with their state.
    let code = take_code(&w, &t, &id, "wmInviter").await;
    assert!(!code.qr_code.is_empty());
    let way = w.fake.join_way_by_state(c, &code.state).expect("join way");
    assert_eq!(
        (way.scene, way.auto_create_room, way.chat_id_list.clone()),
        (2, 0, vec!["wrfa".to_string(), "wrfb".to_string()])
    );
    assert!(w.fake.contact_ways(c).is_empty());
    assert_eq!(take_code(&w, &t, &id, "wmInviter").await.state, code.state);
    assert_eq!(w.fake.join_ways(c).len(), 1);

    // The first join: the callback reads the detail, the event names the code.
    let (first, f) = scan(&w, &t, &code.state, "wmG1").await;
    assert!(matches!(
        &first.event,
        DomainEvent::MemberJoinedGroup { state: Some(s), chat_id, .. }
            if *s == code.state && chat_id == "wrfa"
    ));
    assert_eq!(
        (f.joined, f.state_fetched),
        (Some(JoinOutcome::Counted { replayed: false }), false)
    );
    // A join moments later: the callback reuses the detail, the consumer reads the state.
    let calls = w.fake.calls("externalcontact/groupchat/get");
    let (second, f) = scan(&w, &t, &code.state, "wmG2").await;
    assert!(matches!(
        &second.event,
        DomainEvent::MemberJoinedGroup { state: None, .. }
    ));
    assert_eq!(
        (f.joined, f.state_fetched),
        (Some(JoinOutcome::Counted { replayed: false }), true)
    );
    assert_eq!(w.fake.calls("externalcontact/groupchat/get"), calls + 1);
    // Redelivered: nothing more.
    let again = apply_group_fission(&consumer(&w), &first).await.unwrap();
    assert_eq!(again.joined, Some(JoinOutcome::Counted { replayed: true }));
    // The inviter through their own code: refused.
    let (_, f) = scan(&w, &t, &code.state, "wmInviter").await;
    assert_eq!(f.joined, Some(JoinOutcome::Refused(NotCounted::SelfInvite)));
    let (_, f) = scan(&w, &t, &code.state, "wmG3").await;
    assert_eq!(f.joined, Some(JoinOutcome::Counted { replayed: false }));

    // wmG2 leaves within the hold: revoked.
    assert_eq!(leave(&w, &t, "wrfa", "wmG2").await, 1);
    let (_, page) = get(&w, &t, &format!("/v1/growth/fission-campaigns/{id}")).await;
    assert_eq!(
        (
            page["figures"]["pending"].as_i64(),
            page["figures"]["revoked"].as_i64()
        ),
        (Some(2), Some(1)),
        "{page}"
    );

    // After the hold: two confirmed, tiers 1 and 2 paid once; tier 3 not reached.
    let after = test_now() + chrono::Duration::hours(25);
    let report = run_at(&w, &t, after).await;
    assert_eq!((report.confirmed, report.paid), (2, 2), "{report:?}");
    assert_eq!(balance(&w, &t, "wmInviter").await, 30);
    // Leaving after the hold changes nothing; a second run pays nothing.
    let change = w.fake.leave_group(c, "wrfa", "wmG1").expect("left");
    let event = only(
        deliver_callback(&w, &t, &change.xml).await,
        "MemberLeftGroup",
    );
    let event = EventEnvelope {
        occurred_at: after,
        ..event
    };
    assert_eq!(
        apply_group_fission(&consumer(&w), &event)
            .await
            .unwrap()
            .revoked,
        0
    );
    let report = run_at(&w, &t, after + chrono::Duration::minutes(1)).await;
    assert_eq!((report.confirmed, report.paid), (0, 0), "{report:?}");
    assert_eq!(balance(&w, &t, "wmInviter").await, 30);

    // The end: the join way is deleted at WeCom, the campaign closed.
    let (store, directory, ledger, tenants) = deps_parts(&w);
    let deps = FissionDeps {
        store: &store,
        wecom: &w.client,
        cards: &directory,
        ledger: &ledger,
        tenants: &tenants,
    };
    let end = test_now() + chrono::Duration::days(8);
    let report = fission_run::run_ends(&deps, end, Some(t.id()), &NoDeadline)
        .await
        .unwrap();
    assert_eq!(report.codes_removed, 1, "{report:?}");
    assert!(w.fake.join_ways(c).is_empty());
    // A join after the end (through a code kept elsewhere) has nothing to read: no call.
    let calls = w.fake.calls("externalcontact/groupchat/get");
    let late = EventEnvelope {
        event_id: "late-join".into(),
        occurred_at: end,
        ..second.clone()
    };
    let f = apply_group_fission(&consumer(&w), &late).await.unwrap();
    assert_eq!((f.joined, f.state_fetched), (None, false));
    assert_eq!(w.fake.calls("externalcontact/groupchat/get"), calls);
}
