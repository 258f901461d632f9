//! A WeCom call whose answer was lost (a timeout, or a run that stopped between WeCom's
//! answer and recording it) may have taken effect: before trying again, WeCom's own lists
//! are asked, and only what WeCom does not have is sent. Reminders are sent identically on
//! every attempt, so WeCom's duplicate check drops a resend.
use super::*;
use scrm_core::sop::{OutboxStore, SopWeCom};
use scrm_core::tenants::TenantLookup;
use scrm_core::wecom::api::{paths, ChatType, MsgTemplate, TextContent};

async fn wecom_call(w: &World, id: &str, occ: &str, kind: &str) -> Value {
    let (status, body) = w
        .admin(
            "GET",
            &format!("/v1/sop/plans/{id}/occurrences/{occ}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["wecom_calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} in {body}"))
}

fn with_wecom_tasks() -> TenantSettings {
    TenantSettings {
        create_wecom_group_messages: true,
        create_wecom_moment_tasks: true,
        ..TenantSettings::default()
    }
}

#[tokio::test]
async fn a_mass_message_that_timed_out_but_was_created_is_not_created_again() {
    let w = World::new(with_wecom_tasks(), "2026-04-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrRe1", "alice").await;
    let id = w.plan(daily_group_plan(&["alice"], "09:00")).await;
    // WeCom creates the task but answers after the client gave up.
    w.fake
        .set_delay_after_effect(paths::ADD_MSG_TEMPLATE, Duration::from_millis(1500));
    w.at("2026-04-01T01:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["retrying"], 1, "{report}");
    assert_eq!(w.fake.groupmsg_ids(w.corp()).len(), 1);
    w.fake.clear_faults();

    w.at("2026-04-01T01:01:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["reconciled"], 1, "{report}");
    assert_eq!(w.fake.calls(paths::ADD_MSG_TEMPLATE), 1, "not sent again");
    assert_eq!(w.fake.calls(paths::GET_GROUPMSG_LIST_V2), 1);
    let msgids = w.fake.groupmsg_ids(w.corp());
    assert_eq!(msgids.len(), 1);
    let call = wecom_call(&w, &id, "20260401T0100Z", "group_message").await;
    assert_eq!(call["state"], "sent", "{call}");
    assert_eq!(call["wecom_id"], msgids[0], "{call}");
    // Its results are synced as for any other task.
    w.fake
        .set_groupmsg_send_status(&msgids[0], "alice", "wrRe1", 1);
    w.at("2026-04-01T01:12:00Z");
    let synced = w.sync().await;
    assert_eq!(synced["done"], 1, "{synced}");
}

#[tokio::test]
async fn a_mass_message_sent_by_a_run_that_stopped_before_recording_it_is_not_sent_again() {
    let w = World::new(with_wecom_tasks(), "2026-04-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrRe2", "alice").await;
    let id = w.plan(daily_group_plan(&["alice"], "09:00")).await;
    // The first attempt is refused outright (nothing created): a retry is due at 09:01.
    w.fake.fail_next(paths::ADD_MSG_TEMPLATE, 1, 40058);
    w.at("2026-04-01T01:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["retrying"], 1, "{report}");
    // At 09:01 a run claims the retry, WeCom creates the task, and the run stops before
    // recording WeCom's answer.
    w.at("2026-04-01T01:01:00Z");
    let store = w.store();
    let plan = PlanId::parse(&id).unwrap();
    let occ = OccurrenceId::parse("20260401T0100Z").unwrap();
    let key = store
        .occurrence_outbox(w.t.id(), &plan, &occ)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind.name() == "group_message")
        .unwrap()
        .kind
        .key();
    let claimed = store
        .claim_outbox(w.t.id(), &plan, &occ, &key, w.clock.now())
        .await
        .unwrap();
    assert!(claimed.is_some());
    let tenant = DynamoTenants::new(w.db.clone())
        .tenant(w.t.id())
        .await
        .unwrap()
        .unwrap();
    let template = MsgTemplate {
        chat_type: ChatType::Group,
        external_userid: Vec::new(),
        chat_id_list: vec!["wrRe2".into()],
        sender: Some("alice".into()),
        allow_select: false,
        text: Some(TextContent {
            content: "早上好！今天的活动：".into(),
        }),
        attachments: Vec::new(),
    };
    SopWeCom::add_msg_template(&w.wecom, &tenant, &template)
        .await
        .expect("created");
    // The claim expires; the next run finds what WeCom has.
    w.at("2026-04-01T01:03:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["reconciled"], 1, "{report}");
    assert_eq!(w.fake.groupmsg_ids(w.corp()).len(), 1, "one mass message");
    let call = wecom_call(&w, &id, "20260401T0100Z", "group_message").await;
    assert_eq!(call["state"], "sent", "{call}");
}

#[tokio::test]
async fn a_mass_message_whose_timed_out_call_did_not_arrive_is_sent() {
    let w = World::new(with_wecom_tasks(), "2026-04-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrRe3", "alice").await;
    w.plan(daily_group_plan(&["alice"], "09:00")).await;
    // Timed out before WeCom acted on it.
    w.fake
        .set_delay(paths::ADD_MSG_TEMPLATE, Duration::from_millis(1500));
    w.at("2026-04-01T01:00:00Z");
    w.dispatch().await;
    assert_eq!(w.fake.groupmsg_ids(w.corp()).len(), 0);
    w.fake.clear_faults();
    w.at("2026-04-01T01:01:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["sent"], 1, "{report}");
    assert_eq!(w.fake.groupmsg_ids(w.corp()).len(), 1);
}

#[tokio::test]
async fn a_reminder_that_timed_out_but_arrived_is_not_delivered_twice() {
    let w = World::new(TenantSettings::default(), "2026-04-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrRe4", "alice").await;
    w.plan(daily_group_plan(&["alice"], "09:00")).await;
    w.fake
        .set_delay_after_effect(paths::MESSAGE_SEND, Duration::from_millis(1500));
    w.at("2026-04-01T01:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["retrying"], 1, "{report}");
    w.fake.clear_faults();
    w.at("2026-04-01T01:01:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["sent"], 1, "{report}");
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 2);
    let delivered = w.fake.delivered_app_messages(w.corp());
    assert_eq!(delivered.len(), 1, "WeCom dropped the identical resend");
    assert_eq!(delivered[0]["enable_duplicate_check"], 1);
}

#[tokio::test]
async fn a_moments_task_that_timed_out_but_was_created_is_not_created_again() {
    let w = World::new(with_wecom_tasks(), "2026-05-01T00:00:00Z").await;
    w.staff(&["alice"]);
    let id = w
        .plan(json!({
            "name": "周末朋友圈",
            "kind": "moments",
            "senders": ["alice"],
            "schedule": {"kind": "weekly", "weekdays": ["sat"], "time": "20:00"},
            "content": {"text": "周末上新"}
        }))
        .await;
    w.fake
        .set_delay_after_effect(paths::ADD_MOMENT_TASK, Duration::from_millis(1500));
    w.at("2026-05-02T12:00:00Z");
    w.dispatch().await;
    w.fake.clear_faults();
    w.at("2026-05-02T12:01:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["reconciled"], 1, "{report}");
    assert_eq!(w.fake.calls(paths::ADD_MOMENT_TASK), 1, "not created again");
    let moments = w.fake.moment_ids(w.corp());
    assert_eq!(moments.len(), 1);
    let call = wecom_call(&w, &id, "20260502T1200Z", "moment_task").await;
    assert_eq!(call["state"], "sent", "{call}");
    // Publications are read by the post found.
    assert!(w.fake.set_moment_publish_status(&moments[0], "alice", 1));
    w.at("2026-05-02T12:12:00Z");
    let synced = w.sync().await;
    assert_eq!(synced["done"], 1, "{synced}");
}
