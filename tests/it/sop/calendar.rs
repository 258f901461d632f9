//! The console's SOP views: the next occurrences of a schedule in the tenant's timezone,
//! and the calendar of a date range (dispatched occurrences with their tasks, and those
//! still ahead expanded from the plans' schedules).
use super::*;

fn explicit_plan(chats: &[&str], time: &str) -> Value {
    json!({
        "name": "签到提醒",
        "kind": "group",
        "targets": {"chat_ids": chats},
        "schedule": {"kind": "daily", "time": time},
        "content": {"text": "今天签到了吗？"}
    })
}

#[tokio::test]
async fn a_schedule_preview_lists_the_next_local_times() {
    // Sunday 2026-03-01 12:00 in Shanghai.
    let w = World::new(TenantSettings::default(), "2026-03-01T04:00:00Z").await;
    let (status, body) = w
        .admin(
            "POST",
            "/v1/sop/schedule-preview",
            Some(
                json!({"schedule": {"kind": "monthly", "days": [31], "time": "20:00"}, "count": 3}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["timezone"], "Asia/Shanghai");
    let local: Vec<&str> = body["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["local"].as_str().unwrap())
        .collect();
    // The 31st falls on the last day of shorter months.
    assert_eq!(
        local,
        ["2026-03-31T20:00", "2026-04-30T20:00", "2026-05-31T20:00"]
    );
    assert_eq!(body["occurrences"][0]["at"], "2026-03-31T12:00:00Z");
    for bad in [
        json!({"schedule": {"kind": "weekly", "weekdays": [], "time": "09:00"}}),
        json!({"schedule": {"kind": "daily", "time": "25:00"}}),
        json!({"schedule": {"kind": "daily", "time": "09:00"}, "count": 0}),
        json!({"schedule": {"kind": "daily", "time": "09:00"}, "count": 51}),
        json!({"schedule": {"kind": "daily", "time": "09:00"}, "extra": 1}),
    ] {
        let (status, body) = w
            .admin("POST", "/v1/sop/schedule-preview", Some(bad.clone()))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("validation_failed")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_calendar_shows_dispatched_occurrences_and_those_ahead() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    w.staff(&["alice"]);
    w.group("wrCal1", "alice").await;
    w.group("wrCal2", "alice").await;
    let id = w.plan(explicit_plan(&["wrCal1", "wrCal2"], "09:00")).await;
    let paused = w.plan(explicit_plan(&["wrCal1"], "10:00")).await;
    let (status, _) = w
        .admin("POST", &format!("/v1/sop/plans/{paused}/pause"), None)
        .await;
    assert_eq!(status, 200);
    w.at("2026-03-02T01:00:00Z");
    w.dispatch().await;
    assert_eq!(w.tasks(&id, "20260302T0100Z").await.len(), 2);

    let (status, body) = w
        .admin(
            "GET",
            "/v1/sop/calendar?from=2026-03-01&to=2026-03-07",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 6, "Mar 2 dispatched, Mar 3-7 ahead: {body}");
    let first = &entries[0];
    assert_eq!(
        (&first["date"], &first["status"], &first["target_count"]),
        (&json!("2026-03-02"), &json!("dispatched"), &json!(2))
    );
    assert_eq!(first["tasks"]["pending"], 2);
    assert_eq!(first["at"]["local"], "2026-03-02T09:00");
    let ahead = &entries[1];
    assert_eq!(
        (&ahead["date"], &ahead["status"], &ahead["target_count"]),
        (&json!("2026-03-03"), &json!("scheduled"), &json!(2))
    );
    assert_eq!(ahead["occurrence_id"], "20260303T0100Z");
    assert!(
        entries.iter().all(|e| e["plan_id"] == json!(id)),
        "paused plans fire nothing"
    );
    assert_eq!(body["truncated"], false);

    for bad in [
        "/v1/sop/calendar?from=2026-03-01&to=2026-04-12",
        "/v1/sop/calendar?from=2026-03-07&to=2026-03-01",
        "/v1/sop/calendar?from=2026-03-01",
        "/v1/sop/calendar?from=March&to=2026-03-07",
    ] {
        let (status, body) = w.admin("GET", bad, None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("validation_failed")),
            "{bad}"
        );
    }
}
