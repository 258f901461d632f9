//! A dispatch run that stopped after creating an occurrence's tasks (a timeout, an
//! overlapping run) is re-run: tasks already failed or done are not pushed again, a task
//! stays with the staff member it was created for, and quota is given back only for what
//! was certainly not sent.
use super::*;
use scrm_core::sop::{DoneBy, TaskKey, TaskStatus};
use scrm_core::tenants::GroupMessageQuota;
use scrm_core::wecom::api::paths;

fn group_plan(name: &str, chats: &[&str], time: &str) -> Value {
    json!({
        "name": name,
        "kind": "group",
        "targets": {"chat_ids": chats},
        "schedule": {"kind": "daily", "time": time},
        "content": {"text": format!("{name} 的内容")}
    })
}

fn key_of(task: &Task) -> TaskKey {
    TaskKey::parse(&task.task_id).expect("task id")
}

#[tokio::test]
async fn a_rerun_pushes_only_the_tasks_still_pending_and_keeps_the_quota() {
    let settings = TenantSettings {
        group_message_quota: GroupMessageQuota::PerDay { limit: 1 },
        create_wecom_group_messages: true,
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-03-01T23:00:00Z").await;
    w.staff(&["alice"]);
    for chat in ["wrRrA", "wrRrB", "wrRrC"] {
        w.group(chat, "alice").await;
    }
    // 08:00 uses wrRrC's one message of the day.
    w.plan(group_plan("早", &["wrRrC"], "08:00")).await;
    w.at("2026-03-02T00:00:00Z");
    w.dispatch().await;
    let id = w
        .plan(group_plan("晚", &["wrRrA", "wrRrB", "wrRrC"], "09:00"))
        .await;
    w.at("2026-03-02T01:00:00Z");
    let first = w.dispatch().await;
    assert_eq!(first["tasks_created"], 2, "{first}");
    assert_eq!(first["tasks_failed"], 1, "{first}");
    // alice pushed wrRrA herself; then the run is found to have stopped after its tasks.
    let tasks = w.tasks(&id, "20260302T0100Z").await;
    let a = tasks
        .iter()
        .find(|t| t.target.chat_id() == Some("wrRrA"))
        .unwrap();
    assert!(w
        .store()
        .complete_task(w.t.id(), &key_of(a), DoneBy::Staff, w.clock.now())
        .await
        .unwrap());
    w.interrupt_after_tasks(&id, "20260302T0100Z").await;

    w.at("2026-03-02T01:01:00Z");
    let again = w.dispatch().await;
    assert_eq!(again["tasks_created"], 0, "{again}");
    assert_eq!(again["tasks_existing"], 3, "{again}");
    // Only wrRrB is still to push: not the done wrRrA, not the quota-failed wrRrC.
    let templates = w.fake.requests(paths::ADD_MSG_TEMPLATE);
    assert_eq!(templates.len(), 1, "{templates:?}");
    assert_eq!(templates[0]["chat_id_list"], json!(["wrRrB"]));
    let reminders = w.fake.requests(paths::MESSAGE_SEND);
    assert_eq!(reminders.len(), 1);
    let description = reminders[0]["textcard"]["description"].as_str().unwrap();
    assert!(description.contains("1 个待推送任务"), "{description}");
    // Each group's one message of the day, counted once.
    for chat in ["wrRrA", "wrRrB", "wrRrC"] {
        assert_eq!(
            w.counter(&format!("G#{chat}"), "D2026-03-02").await,
            1,
            "{chat}"
        );
    }
    let statuses: Vec<TaskStatus> = w
        .tasks(&id, "20260302T0100Z")
        .await
        .iter()
        .map(|t| t.status)
        .collect();
    assert_eq!(statuses.len(), 3);
}

#[tokio::test]
async fn after_an_owner_transfer_a_rerun_creates_no_second_task() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    w.group("wrTr1", "alice").await;
    let id = w.plan(group_plan("转让", &["wrTr1"], "09:00")).await;
    w.at("2026-03-02T01:00:00Z");
    let first = w.dispatch().await;
    assert_eq!(first["tasks_created"], 1, "{first}");
    // The group goes to bob; alice's task fails.
    let g = GroupChat {
        chat_id: "wrTr1".into(),
        name: "群wrTr1".into(),
        owner: "bob".into(),
        ..Default::default()
    };
    DynamoDirectory::new(w.db.clone())
        .put_group_detail(w.t.id(), &g, Some(0), 2)
        .await
        .expect("transfer");
    w.on_event(
        "ev-transfer-1",
        DomainEvent::GroupOwnerChanged {
            chat_id: "wrTr1".into(),
            previous_owner: Some("alice".into()),
            new_owner: Some("bob".into()),
        },
    )
    .await;
    w.interrupt_after_tasks(&id, "20260302T0100Z").await;

    w.at("2026-03-02T01:01:00Z");
    let again = w.dispatch().await;
    assert_eq!(again["tasks_created"], 0, "{again}");
    let tasks = w.tasks(&id, "20260302T0100Z").await;
    assert_eq!(
        tasks.len(),
        1,
        "one task per target and occurrence: {tasks:?}"
    );
    assert_eq!(tasks[0].staff, "alice");
    assert_eq!(tasks[0].status, TaskStatus::Failed);
    assert_eq!(
        w.fake.calls(paths::MESSAGE_SEND),
        0,
        "nobody is reminded again"
    );
    // The counter holds the one task's reservation, not a second one for bob.
    assert!(w.counter("G#wrTr1", "M2026-03").await <= 1);
}

async fn transferred_after_dispatch(wecom_tasks: bool) -> (World, String) {
    let settings = TenantSettings {
        create_wecom_group_messages: wecom_tasks,
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-03-02T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    w.group("wrQr1", "alice").await;
    let id = w.plan(group_plan("配额", &["wrQr1"], "09:00")).await;
    w.at("2026-03-02T01:00:00Z");
    w.dispatch().await;
    assert_eq!(w.counter("G#wrQr1", "M2026-03").await, 1);
    w.on_event(
        "ev-transfer-q",
        DomainEvent::GroupOwnerChanged {
            chat_id: "wrQr1".into(),
            previous_owner: Some("alice".into()),
            new_owner: Some("bob".into()),
        },
    )
    .await;
    let tasks = w.tasks(&id, "20260302T0100Z").await;
    assert_eq!(tasks[0].status, TaskStatus::Failed);
    assert_eq!(tasks[0].failure.as_ref().unwrap().code, "group_transferred");
    (w, id)
}

#[tokio::test]
async fn quota_is_kept_when_the_wecom_mass_message_may_have_been_sent() {
    // WeCom accepted alice's mass-message task: she may have confirmed it before the
    // transfer, so the group's receive counter stays used.
    let (w, _) = transferred_after_dispatch(true).await;
    assert_eq!(w.fake.calls(paths::ADD_MSG_TEMPLATE), 1);
    assert_eq!(w.counter("G#wrQr1", "M2026-03").await, 1);
}

#[tokio::test]
async fn quota_is_given_back_when_nothing_was_sent() {
    // Only a reminder went out: no mass message exists, the counter is released.
    let (w, _) = transferred_after_dispatch(false).await;
    assert_eq!(w.fake.calls(paths::ADD_MSG_TEMPLATE), 0);
    assert_eq!(w.counter("G#wrQr1", "M2026-03").await, 0);
}
