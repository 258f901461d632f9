//! Inputs the store cannot hold are refused at the edge with a 4xx, or kept out of single
//! items: ids in paths, CSV import rows with long invalid values, SOP attachment fields.
//! (The re-sync's lists: `directory`.)
use crate::points::World as PointsWorld;
use crate::sop::World as SopWorld;
use scrm_core::tenants::TenantSettings;
use scrm_tests::*;
use serde_json::{json, Value};

/// Ids a path may carry but the store cannot hold, or that name another key.
fn bad_ids() -> Vec<String> {
    vec!["a%23b".to_string(), "x".repeat(2100), "%09tab".to_string()]
}

fn assert_validation(status: u16, body: &Value, what: &str) {
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation_failed")),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn ids_in_paths_the_store_cannot_hold_are_refused_with_400() {
    let w = PointsWorld::new().await;
    for id in bad_ids() {
        for (method, path, body) in [
            ("GET", format!("/v1/points/jobs/{id}"), None),
            (
                "PATCH",
                format!("/v1/points/rewards/{id}"),
                Some(json!({"add_stock": 1})),
            ),
            ("GET", format!("/v1/points/rewards/{id}/redemptions"), None),
            (
                "GET",
                format!("/v1/points/groups/{id}/days/2026-03-10"),
                None,
            ),
            ("GET", format!("/v1/directory/resync/{id}"), None),
            ("GET", format!("/v1/groups/{id}"), None),
            ("DELETE", format!("/v1/keys/{id}"), None),
        ] {
            let (status, resp) = match body {
                Some(b) => w.admin_json(method, &path, &b).await,
                None => {
                    w.admin_call(request(
                        method,
                        &path,
                        &[("authorization", &w.t.bearer())],
                        None,
                    ))
                    .await
                }
            };
            assert_validation(
                status,
                &resp,
                &format!("{method} {}", &path[..path.len().min(60)]),
            );
        }
        let bearer = format!("Bearer {}", w.token("wmPath"));
        let (status, resp) = w
            .customer_call(request(
                "POST",
                &format!("/v1/rewards/{id}/redeem"),
                &[("authorization", &bearer), ("idempotency-key", "k-1")],
                None,
            ))
            .await;
        assert_validation(status, &resp, "redeem");
    }
}

fn csv_request(w: &PointsWorld, csv: &str) -> lambda_http::Request {
    request(
        "POST",
        "/v1/points/imports",
        &[
            ("authorization", &w.t.bearer()),
            ("content-type", "text/csv"),
        ],
        Some(csv.as_bytes().to_vec()),
    )
}

#[tokio::test]
async fn a_csv_import_with_long_invalid_values_rejects_those_rows_and_applies_the_rest() {
    let w = PointsWorld::new().await;
    w.known(&["wmLong1"]).await;
    // GIVEN a file whose rejected rows hold values longer than one stored item
    let long_id = "客".repeat(150_000);
    let long_ref = "r".repeat(450_000);
    let csv = format!(
        "external_userid,points,ref\nwmLong1,10,o-1\n{long_id},5,o-2\nwmLong1,5,{long_ref}\n"
    );
    // WHEN it is imported
    let (status, report) = w.admin_call(csv_request(&w, &csv)).await;
    // THEN the good row applies and the others are rejected, repeated short
    assert_eq!(status, 200, "{report}");
    let rows = report["results"].as_array().unwrap();
    let line = |n: i64| rows.iter().find(|r| r["line"] == n).unwrap();
    assert_eq!(line(2)["status"], "applied");
    assert_eq!(line(3)["code"], "invalid_customer");
    assert!(line(3)["external_userid"].as_str().unwrap().len() <= 131);
    assert_eq!(line(4)["code"], "bad_ref");
    assert_eq!(w.invariants("wmLong1").await, 10);
    // AND sending it again replays the stored report
    let (status, again) = w.admin_call(csv_request(&w, &csv)).await;
    assert_eq!((status, again["replayed"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn a_large_csv_import_with_long_reasons_becomes_a_job_of_storable_chunks() {
    let w = PointsWorld::new().await;
    // GIVEN 1,200 rows (a job) whose reasons are as long as kept (200 four-byte characters)
    let reason = "😀".repeat(200);
    let mut csv = String::from("external_userid,points,ref,reason\n");
    for i in 0..1200 {
        csv.push_str(&format!(
            "{:0>128},5,order-{i},{reason}\n",
            format!("wmChunk{i}")
        ));
    }
    // WHEN it is imported
    let (status, body) = w.admin_call(csv_request(&w, &csv)).await;
    // THEN a job is accepted, its chunks stored
    assert_eq!(status, 202, "{body}");
    let job_id = body["job"]["job_id"].as_str().expect("a job").to_string();
    let (status, job) = w.admin_get(&format!("/v1/points/jobs/{job_id}")).await;
    assert_eq!(status, 200, "{job}");
    assert!(job["job"]["chunks"].as_u64().unwrap() >= 3, "{job}");
}

#[tokio::test]
async fn sop_attachment_fields_longer_than_wecom_allows_are_refused() {
    let w = SopWorld::new(TenantSettings::default(), "2026-01-01T00:00:00Z").await;
    let long_url = format!("https://shop.example.com/{}", "a".repeat(450_000));
    for attachment in [
        json!({"kind": "link", "title": "活动", "url": long_url}),
        json!({"kind": "image", "media_id": "m".repeat(300)}),
        json!({"kind": "file", "media_id": "m".repeat(450_000)}),
        json!({"kind": "link", "title": "t".repeat(129), "url": "https://x.example.com"}),
    ] {
        let plan = json!({
            "name": "x", "kind": "group", "targets": {"owners": ["a"]},
            "schedule": {"kind": "daily", "time": "09:00"},
            "content": {"text": "hi", "attachments": [attachment]}
        });
        let (status, body) = w.admin("POST", "/v1/sop/plans", Some(plan)).await;
        assert_validation(status, &body, "plan");
        assert!(
            body["error"]["details"]["problems"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with("content.attachments[0]."),
            "{body}"
        );
    }
    // AND a calendar plan whose items together pass what one plan may hold
    let items: Vec<Value> = (0..100)
        .map(|i| {
            json!({"at": format!("2026-06-01T{:02}:{:02}", i / 60, i % 60),
                   "content": {"text": "字".repeat(1300)}})
        })
        .collect();
    let plan = json!({"name": "big", "kind": "calendar", "targets": {"owners": ["a"]},
                      "items": items});
    let (status, body) = w.admin("POST", "/v1/sop/plans", Some(plan)).await;
    assert_validation(status, &body, "calendar");
    let (_, plans) = w.admin("GET", "/v1/sop/plans", None).await;
    assert_eq!(plans["plans"], json!([]), "nothing was stored");
}
