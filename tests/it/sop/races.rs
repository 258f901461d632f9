//! Plan edits and concurrent dispatch runs: an edit never loses an occurrence that was due
//! and not yet dispatched, and several runs at once never exceed a receive quota nor send
//! anything twice.
use super::*;
use scrm_core::sop::TaskStatus;
use scrm_core::tenants::GroupMessageQuota;

#[tokio::test]
async fn an_edit_before_that_minutes_dispatch_keeps_the_due_occurrence() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrEd1", "alice").await;
    let id = w.plan(daily_group_plan(&["alice"], "09:00")).await;
    // 09:00:20, the 09:00 dispatch has not run yet: an edit of the text only.
    w.at("2026-03-02T01:00:20Z");
    let mut edit = daily_group_plan(&["alice"], "09:00");
    edit["content"]["text"] = json!("改过的内容");
    edit["version"] = json!(1);
    let (status, body) = w
        .admin("PUT", &format!("/v1/sop/plans/{id}"), Some(edit))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["next_due"], "2026-03-02T01:00:00Z", "{body}");
    w.at("2026-03-02T01:00:40Z");
    let report = w.dispatch().await;
    assert_eq!(report["occurrences"], 1, "{report}");
    assert_eq!(w.occurrence_ids(&id).await, ["20260302T0100Z"]);
    assert_eq!(w.tasks(&id, "20260302T0100Z").await.len(), 1);
    let (_, p) = w.admin("GET", &format!("/v1/sop/plans/{id}"), None).await;
    assert_eq!(p["next_due"], "2026-03-03T01:00:00Z", "{p}");
}

#[tokio::test]
async fn an_edit_during_a_backlog_keeps_the_occurrences_due() {
    let w = World::new(TenantSettings::default(), "2026-03-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrEd2", "alice").await;
    let id = w.plan(daily_group_plan(&["alice"], "09:00")).await;
    // Nothing ran for two days; the plan is edited before the catch-up.
    w.at("2026-03-03T02:00:00Z");
    let mut edit = daily_group_plan(&["alice"], "09:00");
    edit["content"]["text"] = json!("改过的内容");
    edit["version"] = json!(1);
    let (status, body) = w
        .admin("PUT", &format!("/v1/sop/plans/{id}"), Some(edit))
        .await;
    assert_eq!(status, 200, "{body}");
    w.dispatch().await;
    assert_eq!(
        w.occurrence_ids(&id).await,
        ["20260301T0100Z", "20260302T0100Z", "20260303T0100Z"]
    );
}

fn calendar(name: &str, chat: &str, ats: &[&str]) -> Value {
    let items: Vec<Value> = ats
        .iter()
        .map(|at| json!({"at": at, "content": {"text": format!("{name} {at}")}}))
        .collect();
    json!({"name": name, "kind": "calendar", "targets": {"chat_ids": [chat]}, "items": items})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_dispatch_runs_never_exceed_the_quota_and_count_exactly() {
    let settings = TenantSettings {
        group_message_quota: GroupMessageQuota::PerMonth { limit: 4 },
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-02-20T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrCq1", "alice").await;
    // Nine occurrences in March on one group, from three plans: four fit the quota.
    let plans = [
        w.plan(calendar(
            "a",
            "wrCq1",
            &["2026-03-02T10:00", "2026-03-03T10:00", "2026-03-04T10:00"],
        ))
        .await,
        w.plan(calendar(
            "b",
            "wrCq1",
            &["2026-03-02T11:00", "2026-03-03T11:00", "2026-03-04T11:00"],
        ))
        .await,
        w.plan(calendar(
            "c",
            "wrCq1",
            &["2026-03-02T12:00", "2026-03-03T12:00", "2026-03-04T12:00"],
        ))
        .await,
    ];
    w.at("2026-03-05T00:00:00Z");
    let d = w.dispatcher();
    let mut reports = futures::future::join_all((0..6).map(|_| run_dispatch(&d, w.corp()))).await;
    // A run that kept conflicting leaves its plan due; one more run finishes it. It runs
    // after the claims and the first backoff have passed, so that a reminder whose attempt a
    // loaded machine timed out is tried again too.
    w.at("2026-03-05T00:15:00Z");
    reports.push(w.dispatch().await);
    let sum = |field: &str| -> u64 { reports.iter().map(|r| r[field].as_u64().unwrap()).sum() };
    assert_eq!(sum("tasks_created"), 4, "{reports:?}");
    assert_eq!(sum("tasks_failed"), 5, "{reports:?}");
    assert_eq!(w.counter("G#wrCq1", "M2026-03").await, 4);
    let mut pending = 0;
    let mut failed = 0;
    for plan in &plans {
        for occ in w.occurrence_ids(plan).await {
            for t in w.tasks(plan, &occ).await {
                match t.status {
                    TaskStatus::Pending => pending += 1,
                    _ => {
                        assert_eq!(t.failure.unwrap().code, "quota_reached");
                        failed += 1;
                    }
                }
            }
        }
    }
    assert_eq!((pending, failed), (4, 5));
    // One reminder per occurrence that has a task to push (a resend of one that did arrive is
    // dropped by WeCom's duplicate check).
    assert_eq!(w.fake.delivered_app_messages(w.corp()).len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plan_edit_racing_dispatch_loses_no_occurrence_and_sends_once() {
    for round in 0..3 {
        let settings = TenantSettings {
            create_wecom_group_messages: true,
            ..TenantSettings::default()
        };
        let w = World::new(settings, "2026-03-02T00:00:00Z").await;
        w.staff(&["alice", "bob"]);
        for (chat, owner) in [("wrRc1", "alice"), ("wrRc2", "alice"), ("wrRc3", "bob")] {
            w.group(chat, owner).await;
        }
        let id = w.plan(daily_group_plan(&["alice", "bob"], "09:00")).await;
        w.at("2026-03-02T01:00:20Z");
        let mut edit = daily_group_plan(&["alice", "bob"], "09:30");
        edit["content"]["text"] = json!("改过的内容");
        edit["version"] = json!(1);
        let d = w.dispatcher();
        let path = format!("/v1/sop/plans/{id}");
        let (a, b, (status, body), c) = tokio::join!(
            run_dispatch(&d, w.corp()),
            run_dispatch(&d, w.corp()),
            w.admin("PUT", &path, Some(edit)),
            run_dispatch(&d, w.corp()),
        );
        assert_eq!(status, 200, "round {round}: {body}");
        // Whatever the interleaving, a later run finishes the occurrence (five minutes on,
        // before the edited time: past the claims and the first backoff, so that an attempt
        // a loaded machine timed out is tried again too).
        w.at("2026-03-02T01:05:20Z");
        let e = w.dispatch().await;
        let created: u64 = [&a, &b, &c, &e]
            .iter()
            .map(|r| r["tasks_created"].as_u64().unwrap())
            .sum();
        assert_eq!(created, 3, "round {round}: {a} {b} {c} {e}");
        assert_eq!(
            w.occurrence_ids(&id).await,
            ["20260302T0100Z"],
            "round {round}"
        );
        assert_eq!(w.tasks(&id, "20260302T0100Z").await.len(), 3);
        // One reminder and one mass-message task per owner, whatever ran twice.
        assert_eq!(
            w.fake.delivered_app_messages(w.corp()).len(),
            2,
            "round {round}"
        );
        assert_eq!(w.fake.groupmsg_ids(w.corp()).len(), 2, "round {round}");
        let (_, p) = w.admin("GET", &path, None).await;
        assert_eq!(p["next_due"], "2026-03-02T01:30:00Z", "round {round}: {p}");
    }
}
