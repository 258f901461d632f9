//! One plan that cannot be expanded does not stop its tenant: the other plans, the
//! journeys and the outbox retries go on, and the failure shows in the plan's figures
//! until the plan moves on again.
use super::*;
use aws_sdk_dynamodb::types::AttributeValue;
use scrm_adapters::dynamo::schema;
use scrm_adapters::dynamo::sop::keys;
use scrm_core::sop::GroupTagStore;

fn plan_on(name: &str, chat: &str) -> Value {
    json!({
        "name": name,
        "kind": "group",
        "targets": {"chat_ids": [chat]},
        "schedule": {"kind": "daily", "time": "09:00"},
        "content": {"text": format!("{name} 的内容")}
    })
}

#[tokio::test]
async fn a_plan_that_cannot_be_expanded_is_isolated_and_shown_in_its_figures() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    w.group("wrIsA", "alice").await;
    w.group("wrIsB", "bob").await;
    w.follower("wmIs1", "alice", 1_700_000_000).await;
    let broken = w
        .plan(json!({
            "name": "坏",
            "kind": "group",
            "targets": {"group_tags": ["broken"]},
            "schedule": {"kind": "daily", "time": "09:00"},
            "content": {"text": "坏 的内容"}
        }))
        .await;
    let healthy = w.plan(plan_on("好", "wrIsB")).await;
    w.plan(json!({
        "name": "旅程",
        "kind": "journey",
        "stage": "new",
        "steps": [{"day": 0, "time": "09:00", "silent": {"text": "welcome"}, "replied": {"text": "thanks"}}]
    }))
    .await;
    w.on_event(
        "ev-stage-is",
        DomainEvent::StageEntered {
            external_userid: "wmIs1".into(),
            stage: "new".into(),
            previous_stage: None,
        },
    )
    .await;
    // The broken plan's group tag is an unreadable item: its groups cannot be resolved.
    let pk = keys::group_tags_pk(w.t.id(), "wrIsA");
    let sk = keys::tag_sk("broken");
    w.db.tasks()
        .put(
            [
                (schema::PK.to_string(), AttributeValue::S(pk.clone())),
                (schema::SK.to_string(), AttributeValue::S(sk.clone())),
                (
                    schema::GSI2_PK.to_string(),
                    AttributeValue::S(keys::tagged_index(w.t.id(), "broken")),
                ),
                (
                    schema::GSI2_SK.to_string(),
                    AttributeValue::S("wrIsA".into()),
                ),
            ]
            .into_iter()
            .collect(),
        )
        .await
        .expect("put unreadable group tag");
    // One reminder fails once and is retried by the next run.
    w.fake
        .fail_next(scrm_core::wecom::api::paths::MESSAGE_SEND, 1, 48002);

    w.at("2026-03-02T01:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["plans_failed"], 1, "{report}");
    assert_eq!(
        report["tasks_created"], 2,
        "the other plan and the journey: {report}"
    );
    assert_eq!(report["retrying"], 1, "{report}");
    assert_eq!(w.tasks(&healthy, "20260302T0100Z").await.len(), 1);

    w.at("2026-03-02T01:01:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["plans_failed"], 1, "{report}");
    assert_eq!(report["sent"], 1, "the retry still went out: {report}");

    let (status, figures) = w
        .admin("GET", &format!("/v1/sop/plans/{broken}/figures"), None)
        .await;
    assert_eq!(status, 200, "{figures}");
    let failure = &figures["dispatch_failure"];
    assert_eq!(failure["failures"], 2, "{figures}");
    assert_eq!(failure["at"], "2026-03-02T01:01:00Z", "{figures}");
    assert!(
        !failure["message"].as_str().unwrap().is_empty(),
        "{figures}"
    );
    let (_, ok) = w
        .admin("GET", &format!("/v1/sop/plans/{healthy}/figures"), None)
        .await;
    assert!(ok["dispatch_failure"].is_null(), "{ok}");

    // Repaired: the plan fires and the failure clears.
    w.db.tasks().delete(pk, sk).await.expect("delete");
    w.store()
        .set_group_tags(w.t.id(), "wrIsA", &["broken".to_string()])
        .await
        .expect("tag");
    w.at("2026-03-02T01:02:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["plans_failed"], 0, "{report}");
    assert_eq!(report["tasks_created"], 1, "{report}");
    let (_, figures) = w
        .admin("GET", &format!("/v1/sop/plans/{broken}/figures"), None)
        .await;
    assert!(figures["dispatch_failure"].is_null(), "{figures}");
}
