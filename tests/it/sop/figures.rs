//! Every execution figure, per occurrence and per plan, after staff marked some tasks
//! done, WeCom reported one sent, and events failed others.
use super::*;

#[tokio::test]
async fn every_execution_figure_per_occurrence_and_per_plan() {
    let settings = TenantSettings {
        create_wecom_group_messages: true,
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-10-01T00:00:00Z").await;
    w.staff(&["alice", "bob", "carol", "dave"]);
    for (chat, owner) in [
        ("wrF1", "alice"),
        ("wrF2", "alice"),
        ("wrF3", "bob"),
        ("wrF4", "bob"),
        ("wrF5", "carol"),
        ("wrF6", "dave"),
    ] {
        w.group(chat, owner).await;
    }
    let id = w
        .plan(daily_group_plan(
            &["alice", "bob", "carol", "dave"],
            "09:00",
        ))
        .await;
    w.at("2026-10-01T01:00:00Z");
    w.dispatch().await;
    let occ = "20261001T0100Z";
    let tasks = w.tasks(&id, occ).await;
    let task_id = |chat: &str| {
        tasks
            .iter()
            .find(|t| t.target.chat_id() == Some(chat))
            .unwrap()
            .task_id
            .clone()
    };
    let token = |u: &str| {
        scrm_core::sop::reminder::staff_token(
            &scrm_tests::signing_keys(),
            w.t.id(),
            u,
            w.clock.now(),
        )
    };
    // alice marks both her tasks done; bob marks one; WeCom reports carol's as sent;
    // dave leaves the company.
    for (u, chat) in [("alice", "wrF1"), ("alice", "wrF2"), ("bob", "wrF3")] {
        let (status, body) = w
            .staff_call(request(
                "POST",
                &format!("/v1/tasks/{}/done", task_id(chat)),
                &[("authorization", &format!("Bearer {}", token(u)))],
                None,
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "done");
    }
    for m in w.fake.groupmsg_ids(w.corp()) {
        w.fake.set_groupmsg_send_status(&m, "carol", "wrF5", 1);
    }
    w.at("2026-10-01T01:10:00Z");
    w.sync().await;
    w.on_event(
        "ev-dave-left",
        DomainEvent::StaffDeparted {
            userid: "dave".into(),
        },
    )
    .await;

    let (status, body) = w
        .admin(
            "GET",
            &format!("/v1/sop/plans/{id}/occurrences/{occ}/figures"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let f = &body["figures"];
    assert_eq!(f["owners_not_executed"], 1, "bob: {f}");
    assert_eq!(f["owners_executed"], 2, "alice, carol: {f}");
    assert_eq!(f["failed_tasks"], 1, "{f}");
    assert_eq!(f["failed_by_reason"]["staff_left"], 1);
    assert_eq!(f["groups_not_sent"], 1, "wrF4: {f}");
    assert_eq!(f["groups_sent"], 4, "{f}");
    assert_eq!(f["groups_failed"], 1, "{f}");
    let owners = f["per_owner"].as_array().unwrap();
    let bob = owners.iter().find(|o| o["userid"] == "bob").unwrap();
    assert_eq!(
        (bob["pending"].as_u64(), bob["done"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(bob["executed"], false);
    let groups = f["per_group"].as_array().unwrap();
    assert_eq!(groups.len(), 6);
    let f6 = groups.iter().find(|g| g["chat_id"] == "wrF6").unwrap();
    assert_eq!(f6["failure"], "staff_left");
    assert_eq!(f6["name"], "群wrF6");

    // The next day nobody does anything: the plan's figures add both occurrences up.
    w.at("2026-10-02T01:00:00Z");
    w.dispatch().await;
    let (status, body) = w
        .admin("GET", &format!("/v1/sop/plans/{id}/figures"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let f = &body["figures"];
    assert_eq!(body["occurrences"].as_array().unwrap().len(), 2);
    assert_eq!(f["groups_sent"], 4, "{f}");
    assert_eq!(f["groups_not_sent"], 1 + 6, "{f}");
    assert_eq!(f["groups_failed"], 1, "{f}");
    assert_eq!(
        f["owners_not_executed"], 4,
        "everyone has a pending task: {f}"
    );
    assert_eq!(f["owners_executed"], 0, "{f}");
    let per_group = f["per_group"].as_array().unwrap();
    let f1 = per_group.iter().find(|g| g["chat_id"] == "wrF1").unwrap();
    assert_eq!(
        (f1["sent"].as_u64(), f1["pending"].as_u64()),
        (Some(1), Some(1))
    );
}
