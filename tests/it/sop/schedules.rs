//! Each schedule kind fires at the right instants across day, week, month and year
//! boundaries, through the admin API and the dispatcher.
use super::*;

/// Creates `plan` at `start`, then follows its `next_due` for `n` dispatches; the
/// occurrence ids it produced, oldest first.
async fn follow(w: &World, start: &str, plan: Value, n: usize) -> Vec<String> {
    w.at(start);
    let id = w.plan(plan).await;
    for _ in 0..n {
        let (_, p) = w.admin("GET", &format!("/v1/sop/plans/{id}"), None).await;
        let due = p["next_due"].as_str().expect("next_due").to_string();
        w.at(&due);
        let report = w.dispatch().await;
        assert_eq!(report["late_occurrences"], 0, "{report}");
        assert_eq!(report["tasks_created"], 1, "{report}");
    }
    // Ended, so that the next case (which moves the clock back) does not see it due.
    let (status, _) = w
        .admin("POST", &format!("/v1/sop/plans/{id}/end"), None)
        .await;
    assert_eq!(status, 200);
    w.occurrence_ids(&id).await
}

fn group_plan(chat: &str, schedule: Value) -> Value {
    json!({
        "name": "schedule",
        "kind": "group",
        "targets": {"chat_ids": [chat]},
        "schedule": schedule,
        "content": {"text": "hi"}
    })
}

#[tokio::test]
async fn each_schedule_kind_fires_across_day_week_month_and_year_boundaries() {
    let w = World::new(TenantSettings::default(), "2025-12-29T12:00:00Z").await;
    w.staff(&["owner1"]);
    w.group("wrSched1", "owner1").await;

    // Daily 09:00 Shanghai (01:00Z), across the end of the year.
    let daily = follow(
        &w,
        "2025-12-29T12:00:00Z",
        group_plan("wrSched1", json!({"kind": "daily", "time": "09:00"})),
        4,
    )
    .await;
    assert_eq!(
        daily,
        [
            "20251230T0100Z",
            "20251231T0100Z",
            "20260101T0100Z",
            "20260102T0100Z"
        ]
    );

    // Mondays and Fridays 15:00, across a week and the year.
    let weekly = follow(
        &w,
        "2025-12-25T12:00:00Z",
        group_plan(
            "wrSched1",
            json!({"kind": "weekly", "weekdays": ["mon", "fri"], "time": "15:00"}),
        ),
        4,
    )
    .await;
    assert_eq!(
        weekly,
        [
            "20251226T0700Z",
            "20251229T0700Z",
            "20260102T0700Z",
            "20260105T0700Z"
        ]
    );

    // The 31st at 18:00: months without one fire on their last day.
    let month_end = follow(
        &w,
        "2025-01-30T12:00:00Z",
        group_plan(
            "wrSched1",
            json!({"kind": "monthly", "days": [31], "time": "18:00"}),
        ),
        4,
    )
    .await;
    assert_eq!(
        month_end,
        [
            "20250131T1000Z",
            "20250228T1000Z",
            "20250331T1000Z",
            "20250430T1000Z"
        ]
    );

    // The 1st at 00:30 local, which is the previous UTC day, across the year.
    let first = follow(
        &w,
        "2025-11-15T00:00:00Z",
        group_plan(
            "wrSched1",
            json!({"kind": "monthly", "days": [1], "time": "00:30"}),
        ),
        3,
    )
    .await;
    assert_eq!(
        first,
        ["20251130T1630Z", "20251231T1630Z", "20260131T1630Z"]
    );
}

#[tokio::test]
async fn the_group_calendar_fires_each_dated_item_once_then_stops() {
    let w = World::new(TenantSettings::default(), "2025-12-20T00:00:00Z").await;
    w.staff(&["owner1"]);
    w.group("wrCal1", "owner1").await;
    let id = w
        .plan(json!({
            "name": "跨年日历",
            "kind": "calendar",
            "targets": {"chat_ids": ["wrCal1"]},
            "items": [
                {"at": "2026-01-01T00:00", "title": "元旦", "content": {"text": "新年快乐"}},
                {"at": "2025-12-31T23:59", "content": {"text": "倒计时"}}
            ]
        }))
        .await;
    w.at("2025-12-31T15:59:00Z");
    w.dispatch().await;
    w.at("2025-12-31T16:00:00Z");
    w.dispatch().await;
    w.dispatch().await;
    assert_eq!(
        w.occurrence_ids(&id).await,
        ["20251231T1559Z", "20251231T1600Z"]
    );
    let (_, p) = w.admin("GET", &format!("/v1/sop/plans/{id}"), None).await;
    assert!(p["next_due"].is_null(), "{p}");
    // Each occurrence carries its own item's content.
    let (_, occ) = w
        .admin(
            "GET",
            &format!("/v1/sop/plans/{id}/occurrences/20251231T1600Z"),
            None,
        )
        .await;
    assert_eq!(occ["occurrence"]["content"]["text"], "新年快乐");
    assert_eq!(occ["occurrence"]["title"], "元旦");
}

#[tokio::test]
async fn schedules_follow_the_tenants_timezone() {
    let settings = TenantSettings {
        timezone: "America/New_York".into(),
        ..TenantSettings::default()
    };
    // New York springs forward on 2026-03-08: 09:00 is 14:00Z before, 13:00Z after.
    let w = World::new(settings, "2026-03-06T00:00:00Z").await;
    w.staff(&["owner1"]);
    w.group("wrNy1", "owner1").await;
    let got = follow(
        &w,
        "2026-03-06T00:00:00Z",
        group_plan("wrNy1", json!({"kind": "daily", "time": "09:00"})),
        3,
    )
    .await;
    assert_eq!(got, ["20260306T1400Z", "20260307T1400Z", "20260308T1300Z"]);
}
