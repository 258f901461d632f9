//! The accounts list sorted by the figures without a live index (earned, spent, expired,
//! streak), served from a ranking snapshot built by a resumable job in `points-jobs`.
use super::{shanghai, World};
use lambda_runtime::{Context, LambdaEvent};
use points_jobs_fn::Limits;
use scrm_core::events::EventEnvelope;
use scrm_core::points::ports::RankingStore;
use scrm_core::points::ranking::{RankFigure, RankingJob};
use scrm_tests::*;
use serde_json::{json, Value};
use std::collections::HashSet;

const CUSTOMERS: usize = 40;

fn ext(i: usize) -> String {
    format!("wmRank{i:02}")
}

/// Accounts spread over the shards: earned `(i % 7) * 10 + 5` plus the check-ins' 5 each;
/// streaks on the second day: 2 (`i % 3 == 0`), 1 (`i % 3 == 1`), none otherwise.
async fn accounts(w: &World) {
    w.set_rules(json!({"check_in": {"enabled": true, "base_points": 5}}))
        .await;
    let all: Vec<String> = (0..CUSTOMERS).map(ext).collect();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    w.known(&refs).await;
    for k in 0..7 {
        let group: Vec<&String> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 7 == k)
            .map(|(_, e)| e)
            .collect();
        let (status, body) = w
            .admin_json(
                "POST",
                "/v1/points/bulk",
                &json!({"operation": "award", "external_userids": group,
                    "points": k * 10 + 5, "reason": "gift", "idempotency_key": format!("rank-gift-{k}")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for (day, residues) in [(9, &[0][..]), (10, &[0, 1][..])] {
        w.clock.set(shanghai(2026, 3, day, 9, 0));
        for i in (0..CUSTOMERS).filter(|i| residues.contains(&(i % 3))) {
            let (status, body) = w.as_customer(&ext(i), "POST", "/v1/check-in", None).await;
            assert_eq!(status, 200, "{body}");
        }
    }
}

async fn ask(w: &World, key: Option<&str>) -> (u16, Value) {
    let bearer = w.t.bearer();
    let mut headers = vec![("authorization", bearer.as_str())];
    if let Some(k) = key {
        headers.push(("idempotency-key", k));
    }
    w.admin_call(request(
        "POST",
        "/v1/points/accounts/rankings",
        &headers,
        None,
    ))
    .await
}

async fn deliver(w: &World, env: &EventEnvelope, max_shards: Option<u32>) -> Value {
    points_jobs_fn::handle(
        &w.points,
        &w.admin.tenants,
        &w.admin.publisher,
        w.clock.as_ref(),
        Limits {
            max_shards,
            ..Limits::default()
        },
        LambdaEvent::new(env.to_eventbridge_json(), Context::default()),
    )
    .await
    .expect("ranking run")
}

/// Every page of `sort` in `order`, `limit` rows at a time: the rows and the `ranked_at`s.
async fn pages(w: &World, sort: &str, order: &str, limit: usize) -> (Vec<Value>, HashSet<String>) {
    let (mut rows, mut ranked_at) = (Vec::new(), HashSet::new());
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/points/accounts?sort={sort}&order={order}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!(
                "&cursor={}",
                url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
            ));
        }
        let (status, body) = w.admin_get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        rows.extend(body["items"].as_array().unwrap().iter().cloned());
        ranked_at.insert(body["ranked_at"].as_str().unwrap().to_string());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    (rows, ranked_at)
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["external_userid"].as_str().unwrap().to_string())
        .collect()
}

/// The order of `rows` by `(field, id)`, ascending.
fn expected(rows: &[Value], field: &str) -> Vec<String> {
    let mut keyed: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r[field].as_i64().unwrap(),
                r["external_userid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Runs the announced job to the end, `max_shards` per invocation, redelivering each
/// announcement; answers the number of invocations.
async fn run_to_end(w: &World, first: EventEnvelope, max_shards: Option<u32>) -> usize {
    let mut env = first;
    for runs in 1..=40 {
        let out = deliver(w, &env, max_shards).await;
        if out["status"] == "done" {
            return runs;
        }
        assert_eq!(out["status"], "paused", "{out}");
        let next = w.recorder.take();
        assert_eq!(next.len(), 1, "a paused ranking announces itself again");
        env = next[0].clone();
    }
    panic!("the ranking did not finish");
}

#[tokio::test]
async fn a_ranking_sorts_every_account_by_each_figure_and_resumes_to_the_same_result() {
    let w = World::at(shanghai(2026, 3, 9, 9, 0)).await;
    accounts(&w).await;
    let _ = w.recorder.take();

    // No ranking yet: a stable conflict, and nothing being built.
    for sort in ["earned", "spent", "expired", "streak"] {
        let (status, body) = w
            .admin_get(&format!("/v1/points/accounts?sort={sort}"))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("ranking_not_ready")),
            "{body}"
        );
    }
    let (status, body) = w.admin_get("/v1/points/accounts/rankings").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["ranked"], &body["building"]),
        (&Value::Null, &Value::Null)
    );
    let (status, body) = ask(&w, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("idempotency_key_required"))
    );
    assert!(w.recorder.take().is_empty());

    // Asked for (a retry answers the same job, announced once), then run one shard per
    // invocation, each announcement delivered twice (a redelivery resumes, counts nothing
    // twice).
    let (status, body) = ask(&w, Some("rank-1")).await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["job"]["job_id"].as_str().unwrap().to_string();
    assert_eq!(body["job"]["status"], "pending");
    let (status, again) = ask(&w, Some("rank-1")).await;
    assert_eq!((status, &again["job"]["job_id"]), (202, &json!(job_id)));
    let first = w.recorder.take();
    assert_eq!(first.len(), 1, "announced once");
    let out = deliver(&w, &first[0], Some(3)).await;
    assert_eq!(
        (&out["status"], &out["shards_done"]),
        (&json!("paused"), &json!(3))
    );
    let again = w.recorder.take();
    let out = deliver(&w, &first[0], Some(2)).await; // the first announcement, redelivered
    assert_eq!(out["shards_done"], 5);
    let _ = w.recorder.take();
    let (_, status_body) = w.admin_get("/v1/points/accounts/rankings").await;
    assert_eq!(status_body["building"]["job_id"], json!(job_id));
    assert_eq!(status_body["building"]["shards_done"], 5);
    assert_eq!(status_body["ranked"], Value::Null);
    let (_, progress) = w
        .admin_get(&format!("/v1/points/accounts/rankings/{job_id}"))
        .await;
    assert_eq!(
        (&progress["job"]["status"], &progress["job"]["shards"]),
        (&json!("running"), &json!(16))
    );
    assert!(progress["job"]["accounts_read"].as_u64().unwrap() <= CUSTOMERS as u64);
    // Not served before it is complete.
    let (status, _) = w.admin_get("/v1/points/accounts?sort=earned").await;
    assert_eq!(status, 409);

    // An attempt that stopped halfway through a shard leaves chunks nobody reads.
    let job: RankingJob = w
        .points
        .ranking_job(w.tenant(), &job_id)
        .await
        .unwrap()
        .unwrap();
    let junk = vec![(
        "000000000000999#wmJunk".to_string(),
        "999 wmJunk\n".to_string(),
    )];
    w.points
        .put_ranking_chunks(&job, "crashed", RankFigure::Earned, job.shards_done, &junk)
        .await
        .unwrap();
    let runs = run_to_end(&w, again[0].clone(), Some(4)).await;
    assert_eq!(runs, 3, "shards 5..16, four per invocation");
    let (_, done) = w
        .admin_get(&format!("/v1/points/accounts/rankings/{job_id}"))
        .await;
    assert_eq!(
        (
            &done["job"]["status"],
            &done["job"]["accounts_read"],
            &done["job"]["total_estimate"]
        ),
        (&json!("done"), &json!(CUSTOMERS), &json!(CUSTOMERS))
    );
    let (_, status_body) = w.admin_get("/v1/points/accounts/rankings").await;
    assert_eq!(status_body["ranked"]["job_id"], json!(job_id));
    assert_eq!(status_body["building"], Value::Null);

    // Each figure, paged both ways: every account once, in the exact order of (value,
    // customer), the figures live, the ranking's time on every page.
    for (sort, field) in [
        ("earned", "earned"),
        ("spent", "spent"),
        ("expired", "expired"),
        ("streak", "current_streak"),
    ] {
        let (asc, at) = pages(&w, sort, "asc", 7).await;
        assert_eq!(at.len(), 1);
        assert_eq!(asc.len(), CUSTOMERS, "{sort}");
        assert_eq!(ids(&asc), expected(&asc, field), "{sort} ascending");
        let (desc, _) = pages(&w, sort, "desc", 6).await;
        let mut reversed = ids(&desc);
        reversed.reverse();
        assert_eq!(reversed, ids(&asc), "{sort} descending is the reverse");
    }
    let (streaks, _) = pages(&w, "streak", "desc", 200).await;
    assert_eq!(streaks[0]["current_streak"], 2);
    assert!(!ids(&streaks).contains(&"wmJunk".to_string()));
    // Ties (nobody spent) are in customer order.
    let (spent, _) = pages(&w, "spent", "asc", 200).await;
    assert_eq!(ids(&spent), (0..CUSTOMERS).map(ext).collect::<Vec<_>>());

    // A ranking run again in one go, later (another key), gives the same order and is
    // served instead.
    w.clock.set(shanghai(2026, 3, 10, 9, 30));
    let (_, body) = ask(&w, Some("rank-2")).await;
    let second = w.recorder.take();
    assert_eq!(run_to_end(&w, second[0].clone(), None).await, 1);
    let (earned_again, at) = pages(&w, "earned", "desc", 200).await;
    let (earned_first, _) = pages(&w, "earned", "desc", 9).await;
    assert_eq!(ids(&earned_again), ids(&earned_first));
    assert_eq!(at.len(), 1);
    let (_, status_body) = w.admin_get("/v1/points/accounts/rankings").await;
    assert_eq!(status_body["ranked"]["job_id"], body["job"]["job_id"]);

    // The order is the ranking's; the figures are live.
    let top = ids(&earned_again)[0].clone();
    let last = ids(&earned_again)[CUSTOMERS - 1].clone();
    let (status, body) = w
        .admin_json(
            "POST",
            "/v1/points/bulk",
            &json!({"operation": "award", "external_userids": [last], "points": 1000,
                "reason": "gift", "idempotency_key": "rank-late"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = w
        .admin_get("/v1/points/accounts?sort=earned&order=desc&limit=1")
        .await;
    assert_eq!(ids(body["items"].as_array().unwrap()), [top]);
    let (_, body) = w
        .admin_get("/v1/points/accounts?sort=earned&order=asc&limit=1")
        .await;
    assert_eq!(body["items"][0]["external_userid"], json!(last));
    assert!(body["items"][0]["earned"].as_i64().unwrap() > 1000);

    // A bad cursor is refused and changes nothing.
    let (_, before) = w.admin_get("/v1/points/accounts/rankings").await;
    for cursor in ["nonsense", "2026-03-10%23wmRank01", "12%23wmRank01"] {
        let (status, body) = w
            .admin_get(&format!("/v1/points/accounts?sort=streak&cursor={cursor}"))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("validation_failed")),
            "{body}"
        );
    }
    let (_, after) = w.admin_get("/v1/points/accounts/rankings").await;
    assert_eq!(before, after);
    // A search still takes no sort; an unknown job is not found.
    let (status, body) = w.admin_get("/v1/points/accounts?q=wm&sort=earned").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unsupported_sort"))
    );
    let (status, _) = w.admin_get("/v1/points/accounts/rankings/pj0000").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_ranking_is_served_for_a_week() {
    let w = World::at(shanghai(2026, 3, 9, 9, 0)).await;
    w.known(&["wmWeek1"]).await;
    let (status, body) = ask(&w, Some("week")).await;
    assert_eq!(status, 202, "{body}");
    let first = w.recorder.take();
    run_to_end(&w, first[0].clone(), None).await;
    let (status, body) = w.admin_get("/v1/points/accounts?sort=earned").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"], json!([]));
    assert!(body["ranked_at"].is_string());
    w.clock.set(shanghai(2026, 3, 16, 9, 1));
    let (status, body) = w.admin_get("/v1/points/accounts?sort=earned").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("ranking_not_ready")),
        "{body}"
    );
}
