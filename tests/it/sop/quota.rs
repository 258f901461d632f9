//! WeCom's receive limits, per tenant: the default (as many per month as the month has
//! days), a per-month limit of 4, and one message per customer per staff member per day.
//! A task over a limit fails up front with the rule.
use super::*;
use scrm_core::sop::TaskStatus;
use scrm_core::tenants::GroupMessageQuota;

fn calendar(chat: &str, ats: &[String]) -> Value {
    let items: Vec<Value> = ats
        .iter()
        .map(|at| json!({"at": at, "content": {"text": format!("item {at}")}}))
        .collect();
    json!({
        "name": "calendar",
        "kind": "calendar",
        "targets": {"chat_ids": [chat]},
        "items": items
    })
}

async fn statuses(w: &World, plan: &str) -> Vec<(String, TaskStatus, Option<String>)> {
    let mut out = Vec::new();
    for occ in w.occurrence_ids(plan).await {
        for t in w.tasks(plan, &occ).await {
            out.push((
                occ.clone(),
                t.status,
                t.failure.map(|f| format!("{}: {}", f.code, f.message)),
            ));
        }
    }
    out
}

#[tokio::test]
async fn the_default_quota_is_the_number_of_days_in_the_month() {
    let w = World::new(TenantSettings::default(), "2026-01-31T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrQd1", "alice").await;
    // 29 items in February 2026, which has 28 days.
    let mut ats: Vec<String> = (1..=28).map(|d| format!("2026-02-{d:02}T10:00")).collect();
    ats.push("2026-02-28T11:00".into());
    let id = w.plan(calendar("wrQd1", &ats)).await;
    w.at("2026-02-28T04:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["occurrences"], 29, "{report}");
    assert_eq!(report["tasks_created"], 28, "{report}");
    assert_eq!(report["tasks_failed"], 1, "{report}");
    let s = statuses(&w, &id).await;
    let failed: Vec<_> = s
        .iter()
        .filter(|(_, st, _)| *st == TaskStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].0, "20260228T0300Z",
        "the last one is over the limit"
    );
    let reason = failed[0].2.as_deref().unwrap();
    assert!(reason.starts_with("quota_reached"), "{reason}");
    assert!(reason.contains("28 per month"), "{reason}");
    assert_eq!(w.counter("G#wrQd1", "M2026-02").await, 28);
    // No reminder for the failed occurrence.
    assert_eq!(w.fake.calls(scrm_core::wecom::api::paths::MESSAGE_SEND), 28);
    let (_, f) = w
        .admin(
            "GET",
            &format!("/v1/sop/plans/{id}/figures?limit=100"),
            None,
        )
        .await;
    assert_eq!(f["figures"]["failed_by_reason"]["quota_reached"], 1, "{f}");
}

#[tokio::test]
async fn a_per_month_limit_of_4_fails_the_fifth_message_of_the_month() {
    let settings = TenantSettings {
        group_message_quota: GroupMessageQuota::PerMonth { limit: 4 },
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-02-20T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrQm1", "alice").await;
    w.group("wrQm2", "alice").await;
    let ats: Vec<String> = [
        "2026-03-02T10:00",
        "2026-03-09T10:00",
        "2026-03-16T10:00",
        "2026-03-23T10:00",
        "2026-03-30T10:00",
        "2026-04-01T10:00",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let id = w.plan(calendar("wrQm1", &ats)).await;
    // Another plan on another group is not affected by wrQm1's count.
    let other = w.plan(calendar("wrQm2", &ats[4..5])).await;
    for at in [
        "2026-03-02T02:00:00Z",
        "2026-03-09T02:00:00Z",
        "2026-03-16T02:00:00Z",
        "2026-03-23T02:00:00Z",
        "2026-03-30T02:00:00Z",
        "2026-04-01T02:00:00Z",
    ] {
        w.at(at);
        w.dispatch().await;
    }
    let s = statuses(&w, &id).await;
    let st: Vec<TaskStatus> = s.iter().map(|x| x.1).collect();
    assert_eq!(
        st,
        [
            TaskStatus::Pending,
            TaskStatus::Pending,
            TaskStatus::Pending,
            TaskStatus::Pending,
            TaskStatus::Failed,
            TaskStatus::Pending
        ]
    );
    let reason = s[4].2.as_deref().unwrap();
    assert!(reason.contains("4 per calendar month, 2026-03"), "{reason}");
    assert_eq!(statuses(&w, &other).await[0].1, TaskStatus::Pending);
    // The counters themselves: full for March, one used in April, the other group apart.
    assert_eq!(w.counter("G#wrQm1", "M2026-03").await, 4);
    assert_eq!(w.counter("G#wrQm1", "M2026-04").await, 1);
    assert_eq!(w.counter("G#wrQm2", "M2026-03").await, 1);
}

#[tokio::test]
async fn a_customer_gets_at_most_one_group_message_per_staff_member_per_day() {
    let w = World::new(TenantSettings::default(), "2026-06-01T00:00:00Z").await;
    w.staff(&["alice"]);
    w.follower("wmCust1", "alice", 1_700_000_000).await;
    let journey = |time: &str| {
        json!({
            "name": format!("journey {time}"),
            "kind": "journey",
            "stage": "new",
            "steps": [
                {"day": 0, "time": time, "silent": {"text": "welcome"}, "replied": {"text": "thanks"}}
            ]
        })
    };
    let first = w.plan(journey("10:00")).await;
    let second = w.plan(journey("11:00")).await;
    // Entered at 08:00 Shanghai.
    w.on_event(
        "ev-stage-1",
        DomainEvent::StageEntered {
            external_userid: "wmCust1".into(),
            stage: "new".into(),
            previous_stage: None,
        },
    )
    .await;
    w.at("2026-06-01T03:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["tasks_created"], 1, "{report}");
    assert_eq!(report["tasks_failed"], 1, "{report}");
    let mut both = statuses(&w, &first).await;
    both.extend(statuses(&w, &second).await);
    assert_eq!(both.len(), 2);
    let failed: Vec<_> = both.iter().filter(|x| x.1 == TaskStatus::Failed).collect();
    assert_eq!(failed.len(), 1, "{both:?}");
    assert!(
        failed[0]
            .2
            .as_deref()
            .unwrap()
            .starts_with("staff_daily_limit"),
        "{both:?}"
    );
    assert_eq!(w.counter("C#wmCust1", "S#alice#D2026-06-01").await, 1);
    assert_eq!(w.counter("C#wmCust1", "M2026-06").await, 1);
}
