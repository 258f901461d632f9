//! Events that change what staff must do: owner transfers, dismissals and departures turn
//! pending tasks into failures with the right reason (releasing their quota); journeys
//! start on stage entry and switch branch when the customer replies.
use super::*;
use scrm_core::sop::TaskStatus;
use scrm_core::tenants::GroupMessageQuota;

#[tokio::test]
async fn owner_transfer_dismissal_and_departure_fail_pending_tasks_with_their_reason() {
    let w = World::new(TenantSettings::default(), "2026-07-01T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    for (chat, owner) in [
        ("wrEv1", "alice"),
        ("wrEv2", "alice"),
        ("wrEv3", "alice"),
        ("wrEv4", "bob"),
        ("wrEv5", "bob"),
    ] {
        w.group(chat, owner).await;
    }
    let id = w.plan(daily_group_plan(&["alice", "bob"], "09:00")).await;
    w.at("2026-07-01T01:00:00Z");
    w.dispatch().await;

    let out = w
        .on_event(
            "ev-owner-1",
            DomainEvent::GroupOwnerChanged {
                chat_id: "wrEv1".into(),
                previous_owner: Some("alice".into()),
                new_owner: Some("dave".into()),
            },
        )
        .await;
    assert_eq!(out["tasks_failed"], 1, "{out}");
    let out = w
        .on_event(
            "ev-dismiss-1",
            DomainEvent::GroupDismissed {
                chat_id: "wrEv2".into(),
            },
        )
        .await;
    assert_eq!(out["tasks_failed"], 1, "{out}");
    let out = w
        .on_event(
            "ev-left-1",
            DomainEvent::StaffDeparted {
                userid: "bob".into(),
            },
        )
        .await;
    assert_eq!(out["tasks_failed"], 2, "{out}");
    // Redelivered: nothing changes twice.
    let again = w
        .on_event(
            "ev-left-1",
            DomainEvent::StaffDeparted {
                userid: "bob".into(),
            },
        )
        .await;
    assert_eq!(again["tasks_failed"], 0, "{again}");

    let tasks = w.tasks(&id, "20260701T0100Z").await;
    let reason = |chat: &str| {
        let t = tasks
            .iter()
            .find(|t| t.target.chat_id() == Some(chat))
            .unwrap();
        (t.status, t.failure.as_ref().map(|f| f.code.clone()))
    };
    assert_eq!(
        reason("wrEv1"),
        (TaskStatus::Failed, Some("group_transferred".into()))
    );
    assert!(tasks
        .iter()
        .find(|t| t.target.chat_id() == Some("wrEv1"))
        .unwrap()
        .failure
        .as_ref()
        .unwrap()
        .message
        .contains("transferred to another owner (dave)"));
    assert_eq!(
        reason("wrEv2"),
        (TaskStatus::Failed, Some("group_dismissed".into()))
    );
    assert_eq!(reason("wrEv3"), (TaskStatus::Pending, None));
    assert_eq!(
        reason("wrEv4"),
        (TaskStatus::Failed, Some("staff_left".into()))
    );
    assert_eq!(
        reason("wrEv5"),
        (TaskStatus::Failed, Some("staff_left".into()))
    );
}

#[tokio::test]
async fn a_task_failed_before_sending_gives_its_quota_back() {
    let settings = TenantSettings {
        group_message_quota: GroupMessageQuota::PerMonth { limit: 1 },
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-08-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrRel1", "alice").await;
    let id = w
        .plan(json!({
            "name": "twice",
            "kind": "calendar",
            "targets": {"chat_ids": ["wrRel1"]},
            "items": [
                {"at": "2026-08-03T10:00", "content": {"text": "one"}},
                {"at": "2026-08-10T10:00", "content": {"text": "two"}}
            ]
        }))
        .await;
    w.at("2026-08-03T02:00:00Z");
    w.dispatch().await;
    // The owner changes: the first push never happens, so the month's one slot is free.
    w.on_event(
        "ev-owner-2",
        DomainEvent::GroupOwnerChanged {
            chat_id: "wrRel1".into(),
            previous_owner: Some("alice".into()),
            new_owner: Some("erin".into()),
        },
    )
    .await;
    w.at("2026-08-10T02:00:00Z");
    w.dispatch().await;
    let second = w.tasks(&id, "20260810T0200Z").await;
    assert_eq!(
        second[0].status,
        TaskStatus::Pending,
        "{:?}",
        second[0].failure
    );
}

#[tokio::test]
async fn journeys_start_on_stage_entry_and_switch_branch_when_the_customer_replies() {
    let w = World::new(TenantSettings::default(), "2026-09-01T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    w.follower("wmJ1", "bob", 1_700_000_500).await;
    w.follower("wmJ1", "alice", 1_700_000_000).await;
    let id = w
        .plan(json!({
            "name": "新客旅程",
            "kind": "journey",
            "stage": "new",
            "steps": [
                {"day": 0, "time": "07:00", "silent": {"text": "too early"}, "replied": {"text": "x"}},
                {"day": 0, "time": "10:00", "silent": {"text": "欢迎"}, "replied": {"text": "感谢回复"}},
                {"day": 2, "time": "20:00", "silent": {"text": "还在考虑吗"}, "replied": {"text": "下单立减"}}
            ]
        }))
        .await;
    // Entered at 08:00 Shanghai: the 07:00 step is already past and skipped.
    let entered = DomainEvent::StageEntered {
        external_userid: "wmJ1".into(),
        stage: "new".into(),
        previous_stage: None,
    };
    let out = w.on_event("ev-stage-j1", entered.clone()).await;
    assert_eq!(out["runs_started"], 1, "{out}");
    let again = w.on_event("ev-stage-j1", entered).await;
    assert_eq!(again["runs_started"], 0, "a redelivery starts nothing");

    w.at("2026-09-01T02:00:00Z");
    w.dispatch().await;
    let step1 = w.tasks(&id, "20260901T0200Z-s1").await;
    assert_eq!(step1.len(), 1);
    assert_eq!(step1[0].staff, "alice", "the earliest staff contact");
    assert_eq!(step1[0].branch.as_deref(), Some("silent"));

    // The customer replies to bob: later steps use the replied branch, from bob.
    w.on_event(
        "ev-reply-1",
        DomainEvent::CustomerReplied {
            external_userid: "wmJ1".into(),
            userid: Some("bob".into()),
        },
    )
    .await;
    w.at("2026-09-03T12:00:00Z");
    w.dispatch().await;
    let step2 = w.tasks(&id, "20260903T1200Z-s2").await;
    assert_eq!(step2.len(), 1);
    assert_eq!(step2[0].staff, "bob");
    assert_eq!(step2[0].branch.as_deref(), Some("replied"));
    // The task center shows the replied content to bob.
    let token = scrm_core::sop::reminder::staff_token(
        &scrm_tests::signing_keys(),
        w.t.id(),
        "bob",
        w.clock.now(),
    );
    let (status, body) = w
        .staff_call(request(
            "GET",
            "/v1/tasks",
            &[("authorization", &format!("Bearer {token}"))],
            None,
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tasks"][0]["content"]["text"], "下单立减");
    // The run is finished: nothing more is due.
    w.at("2026-09-30T12:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["occurrences"], 0, "{report}");
}

#[tokio::test]
async fn a_journey_message_wecom_reports_over_quota_fails_with_that_reason() {
    use scrm_adapters::wecom::fake::{FakeCustomer, FakeFollow};
    let settings = TenantSettings {
        create_wecom_group_messages: true,
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-09-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.follower("wmQ1", "alice", 1_700_000_000).await;
    w.fake.add_customer(
        w.corp(),
        FakeCustomer::new("wmQ1", "Q").followed_by(FakeFollow::new("alice")),
    );
    let id = w
        .plan(json!({
            "name": "j", "kind": "journey", "stage": "trial",
            "steps": [{"day": 0, "time": "10:00", "silent": {"text": "hi"}, "replied": {"text": "yo"}}]
        }))
        .await;
    w.on_event(
        "ev-stage-q1",
        DomainEvent::StageEntered {
            external_userid: "wmQ1".into(),
            stage: "trial".into(),
            previous_stage: None,
        },
    )
    .await;
    w.at("2026-09-01T02:00:00Z");
    w.dispatch().await;
    let templates = w
        .fake
        .requests(scrm_core::wecom::api::paths::ADD_MSG_TEMPLATE);
    assert_eq!(templates.len(), 1);
    assert_eq!(templates[0]["chat_type"], "single");
    assert_eq!(templates[0]["sender"], "alice");
    assert_eq!(templates[0]["external_userid"], json!(["wmQ1"]));
    assert_eq!(templates[0]["text"]["content"], "hi");
    for m in w.fake.groupmsg_ids(w.corp()) {
        assert!(w.fake.set_groupmsg_send_status(&m, "alice", "wmQ1", 3));
    }
    w.at("2026-09-01T02:10:00Z");
    let report = w.sync().await;
    assert_eq!(report["failed"], 1, "{report}");
    let task = &w.tasks(&id, "20260901T0200Z-s0").await[0];
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.failure.as_ref().unwrap().code, "wecom_quota_reached");
}
