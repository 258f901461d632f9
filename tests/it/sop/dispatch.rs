//! Dispatch creates every task exactly once however it is re-fired, overlapped or
//! retried; catches up an outage; reminds each staff member once per occurrence; retries
//! WeCom failures with backoff and gives up with the errcode.
use super::*;
use scrm_core::wecom::api::paths;

async fn thirty_groups(w: &World) {
    w.staff(&["alice", "bob", "carol"]);
    for i in 0..30 {
        let owner = ["alice", "bob", "carol"][i % 3];
        w.group(&format!("wrOv{i:02}"), owner).await;
    }
}

#[tokio::test]
async fn refired_and_overlapping_runs_create_and_send_nothing_twice() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    thirty_groups(&w).await;
    let id = w
        .plan(daily_group_plan(&["alice", "bob", "carol"], "08:30"))
        .await;
    w.at("2026-03-02T00:30:00Z");
    let d = w.dispatcher();
    let (a, b, c, e) = tokio::join!(
        run_dispatch(&d, w.corp()),
        run_dispatch(&d, w.corp()),
        run_dispatch(&d, w.corp()),
        run_dispatch(&d, w.corp()),
    );
    let created: u64 = [&a, &b, &c, &e]
        .iter()
        .map(|r| r["tasks_created"].as_u64().unwrap())
        .sum();
    assert_eq!(
        created, 30,
        "each of the 30 tasks created by exactly one run"
    );
    // Re-fired in the same minute and the next: nothing new.
    let again = w.dispatch().await;
    assert_eq!(again["tasks_created"], 0, "{again}");
    w.at("2026-03-02T00:31:00Z");
    let later = w.dispatch().await;
    assert_eq!(later["tasks_created"], 0, "{later}");
    assert_eq!(later["occurrences"], 0, "{later}");

    let tasks = w.tasks(&id, "20260302T0030Z").await;
    assert_eq!(tasks.len(), 30);
    let mut chats: Vec<_> = tasks
        .iter()
        .map(|t| t.target.chat_id().unwrap().to_string())
        .collect();
    chats.dedup();
    assert_eq!(chats.len(), 30);
    // One reminder per owner, not per group, and not per run.
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 3);
    let mut to: Vec<String> = w
        .fake
        .requests(paths::MESSAGE_SEND)
        .iter()
        .map(|r| {
            assert_eq!(r["msgtype"], "textcard");
            let url = r["textcard"]["url"].as_str().unwrap();
            assert!(
                url.starts_with("https://staff.example.com/v1/tasks?"),
                "{url}"
            );
            assert!(r["textcard"]["description"]
                .as_str()
                .unwrap()
                .contains("10 个待推送任务"));
            r["touser"].as_str().unwrap().to_string()
        })
        .collect();
    to.sort();
    assert_eq!(to, ["alice", "bob", "carol"]);
    // The group quota was reserved once per group, not once per run.
    for i in 0..30 {
        assert_eq!(w.counter(&format!("G#wrOv{i:02}"), "M2026-03").await, 1);
    }
    let (_, figures) = w
        .admin(
            "GET",
            &format!("/v1/sop/plans/{id}/occurrences/20260302T0030Z/figures"),
            None,
        )
        .await;
    assert_eq!(figures["figures"]["groups_not_sent"], 30);
    assert_eq!(figures["figures"]["owners_not_executed"], 3);
}

#[tokio::test]
async fn an_outage_is_caught_up_and_marked_late() {
    let w = World::new(TenantSettings::default(), "2026-03-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrOut1", "alice").await;
    let id = w.plan(daily_group_plan(&["alice"], "09:00")).await;
    // Nothing ran for three days; it is now 10:00 on the 4th.
    w.at("2026-03-04T02:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["occurrences"], 4, "{report}");
    assert_eq!(report["late_occurrences"], 4, "{report}");
    assert_eq!(report["tasks_created"], 4, "{report}");
    assert_eq!(
        w.occurrence_ids(&id).await,
        [
            "20260301T0100Z",
            "20260302T0100Z",
            "20260303T0100Z",
            "20260304T0100Z"
        ]
    );
    let (_, occs) = w
        .admin("GET", &format!("/v1/sop/plans/{id}/occurrences"), None)
        .await;
    assert!(occs["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["late"] == true));
    assert!(w.tasks(&id, "20260302T0100Z").await[0].late);
    let reminders = w.fake.requests(paths::MESSAGE_SEND);
    assert_eq!(reminders.len(), 4);
    assert!(reminders[0]["textcard"]["description"]
        .as_str()
        .unwrap()
        .contains("补发"));
    let (_, p) = w.admin("GET", &format!("/v1/sop/plans/{id}"), None).await;
    assert_eq!(p["next_due"], "2026-03-05T01:00:00Z");
    // On time the next day: not late.
    w.at("2026-03-05T01:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["late_occurrences"], 0, "{report}");
}

async fn reminder_state(w: &World, id: &str, occ: &str) -> Value {
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
        .find(|c| c["kind"] == "reminder")
        .cloned()
        .expect("a reminder")
}

#[tokio::test]
async fn rejected_reminders_are_retried_with_backoff_then_failed_with_the_errcode() {
    let w = World::new(TenantSettings::default(), "2026-04-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrRt1", "alice").await;
    let id = w.plan(daily_group_plan(&["alice"], "09:00")).await;
    w.fake.fail_next(paths::MESSAGE_SEND, 10, 48002);
    w.at("2026-04-01T01:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["retrying"], 1, "{report}");
    let r = reminder_state(&w, &id, "20260401T0100Z").await;
    assert_eq!(r["state"], "pending", "{r}");
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["last_errcode"], 48002);
    assert_eq!(r["next_attempt_at"], "2026-04-01T01:01:00Z");
    // Before the backoff has passed, nothing is retried.
    w.at("2026-04-01T01:00:30Z");
    w.dispatch().await;
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 1);
    // Retries at +1, +2, +4, +8 minutes; the fifth attempt gives up.
    let mut at = utc("2026-04-01T01:00:00Z");
    for (attempt, wait) in [(2, 1), (3, 2), (4, 4), (5, 8)] {
        at += chrono::Duration::minutes(wait);
        w.clock.set(at);
        w.dispatch().await;
        assert_eq!(w.fake.calls(paths::MESSAGE_SEND), attempt);
    }
    let r = reminder_state(&w, &id, "20260401T0100Z").await;
    assert_eq!(r["state"], "failed", "{r}");
    assert_eq!(r["attempts"], 5);
    assert_eq!(r["last_errcode"], 48002);
    w.clock.set(at + chrono::Duration::hours(2));
    w.dispatch().await;
    assert_eq!(
        w.fake.calls(paths::MESSAGE_SEND),
        5,
        "no attempt after giving up"
    );
}

#[tokio::test]
async fn a_reminder_that_timed_out_is_sent_on_a_later_run() {
    let w = World::new(TenantSettings::default(), "2026-04-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrTo1", "alice").await;
    let id = w.plan(daily_group_plan(&["alice"], "09:00")).await;
    w.fake
        .set_delay(paths::MESSAGE_SEND, Duration::from_millis(1500));
    w.at("2026-04-01T01:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["retrying"], 1, "{report}");
    let r = reminder_state(&w, &id, "20260401T0100Z").await;
    assert_eq!(r["state"], "pending");
    assert!(r["last_errcode"].is_null(), "{r}");
    assert!(
        r["last_error"].as_str().unwrap().contains("did not answer"),
        "{r}"
    );
    w.fake.clear_faults();
    w.at("2026-04-01T01:01:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["sent"], 1, "{report}");
    let r = reminder_state(&w, &id, "20260401T0100Z").await;
    assert_eq!(r["state"], "sent", "{r}");
    assert_eq!(r["attempts"], 2);
}

#[tokio::test]
async fn wecom_group_messages_are_created_per_owner_and_synced_back() {
    let settings = TenantSettings {
        create_wecom_group_messages: true,
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-05-01T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    for (chat, owner) in [("wrGm1", "alice"), ("wrGm2", "alice"), ("wrGm3", "bob")] {
        w.group(chat, owner).await;
    }
    let id = w.plan(daily_group_plan(&["alice", "bob"], "09:00")).await;
    w.at("2026-05-01T01:00:00Z");
    w.dispatch().await;
    let templates = w.fake.requests(paths::ADD_MSG_TEMPLATE);
    assert_eq!(templates.len(), 2, "one per owner, not per group");
    let alice = templates.iter().find(|t| t["sender"] == "alice").unwrap();
    assert_eq!(alice["chat_type"], "group");
    assert_eq!(alice["chat_id_list"], json!(["wrGm1", "wrGm2"]));
    assert_eq!(alice["text"]["content"], "早上好！今天的活动：");
    assert_eq!(alice["attachments"][0]["msgtype"], "link");
    // WeCom says: alice sent to wrGm1; wrGm2 hit the quota; bob has not sent yet.
    let msgids = w.fake.groupmsg_ids(w.corp());
    for m in &msgids {
        w.fake.set_groupmsg_send_status(m, "alice", "wrGm1", 1);
        w.fake.set_groupmsg_send_status(m, "alice", "wrGm2", 3);
    }
    w.at("2026-05-01T01:11:00Z");
    let report = w.sync().await;
    assert_eq!(report["done"], 1, "{report}");
    let tasks = w.tasks(&id, "20260501T0100Z").await;
    let by_chat = |c: &str| {
        tasks
            .iter()
            .find(|t| t.target.chat_id() == Some(c))
            .unwrap()
    };
    assert_eq!(by_chat("wrGm1").status, scrm_core::sop::TaskStatus::Done);
    assert_eq!(
        by_chat("wrGm1").done_by,
        Some(scrm_core::sop::DoneBy::Wecom)
    );
    // The fake lists only sent records for group messages; a quota failure is reported by
    // WeCom only for customers, so wrGm2 stays pending here.
    assert_eq!(by_chat("wrGm3").status, scrm_core::sop::TaskStatus::Pending);
    // Synced again later: nothing changes twice.
    w.at("2026-05-01T01:22:00Z");
    let again = w.sync().await;
    assert_eq!(again["done"], 0, "{again}");
}

#[tokio::test]
async fn moments_plans_remind_each_sender_and_create_the_wecom_moments_task() {
    let settings = TenantSettings {
        create_wecom_moment_tasks: true,
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-05-01T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    let id = w
        .plan(json!({
            "name": "周末朋友圈",
            "kind": "moments",
            "senders": ["alice", "bob"],
            "audience_tags": ["etVip"],
            "schedule": {"kind": "weekly", "weekdays": ["sat"], "time": "20:00"},
            "content": {"text": "周末上新", "attachments": [{"kind": "image", "media_id": "m1"}]}
        }))
        .await;
    // WeCom refuses media ids it never issued (40007): m1 is a moments attachment uploaded now.
    w.fake.add_media(w.corp(), "m1", "image", true);
    w.at("2026-05-02T12:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["tasks_created"], 2, "{report}");
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 2);
    let tasks = w.fake.requests(paths::ADD_MOMENT_TASK);
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0]["visible_range"]["sender_list"]["user_list"],
        json!(["alice", "bob"])
    );
    assert_eq!(
        tasks[0]["visible_range"]["external_contact_list"]["tag_list"],
        json!(["etVip"])
    );
    assert_eq!(tasks[0]["attachments"][0]["msgtype"], "image");
    // WeCom finished creating the post, but nobody has published it: nothing is done.
    w.at("2026-05-02T12:10:00Z");
    let report = w.sync().await;
    assert_eq!(report["done"], 0, "{report}");
    let status_of = |tasks: &[scrm_core::sop::Task], staff: &str| {
        tasks.iter().find(|t| t.staff == staff).unwrap().status
    };
    let pending = w.tasks(&id, "20260502T1200Z").await;
    assert!(pending
        .iter()
        .all(|t| t.status == scrm_core::sop::TaskStatus::Pending));
    // alice publishes: only her task is done, by WeCom.
    let moment = w.fake.moment_ids(w.corp()).pop().unwrap();
    assert!(w.fake.set_moment_publish_status(&moment, "alice", 1));
    w.at("2026-05-02T12:20:00Z");
    let report = w.sync().await;
    assert_eq!(report["done"], 1, "{report}");
    let tasks = w.tasks(&id, "20260502T1200Z").await;
    assert_eq!(status_of(&tasks, "alice"), scrm_core::sop::TaskStatus::Done);
    assert_eq!(
        tasks.iter().find(|t| t.staff == "alice").unwrap().done_by,
        Some(scrm_core::sop::DoneBy::Wecom)
    );
    assert_eq!(
        status_of(&tasks, "bob"),
        scrm_core::sop::TaskStatus::Pending
    );
    // bob publishes later: done; the entry is settled and not read again.
    assert!(w.fake.set_moment_publish_status(&moment, "bob", 1));
    w.at("2026-05-02T12:30:00Z");
    let report = w.sync().await;
    assert_eq!(report["done"], 1, "{report}");
    let calls = w.fake.calls(paths::GET_MOMENT_TASK);
    w.at("2026-05-02T12:40:00Z");
    let report = w.sync().await;
    assert_eq!(report["entries"], 0, "{report}");
    assert_eq!(w.fake.calls(paths::GET_MOMENT_TASK), calls);
    // The jobid was read until the post existed, then only the post's statuses.
    assert_eq!(w.fake.calls(paths::GET_MOMENT_TASK_RESULT), 1);
}
