//! The channel codes' rota at its shift boundaries, end to end on DynamoDB Local and the
//! fake WeCom server: the minute's runner (`growth-rota`) moves a code to the next shift's
//! members when the boundary comes, with no add needed, once however often it runs; off
//! hours the whole rota takes the code; a busy WeCom leaves the code due for the next
//! minute; a deleted or paused code is not due, a resumed one at once; a code WeCom no
//! longer knows leaves the index.
use crate::directory::{admin_call, world, World};
use crate::growth::{admin, corp, create_request};
use chrono::{DateTime, TimeZone, Utc};
use growth_rota_fn::handle;
use lambda_runtime::{Context, LambdaEvent};
use scrm_adapters::dynamo::{DynamoGrowth, DynamoTenants};
use scrm_adapters::wecom::WeComClient;
use scrm_core::growth::rota_runner::{RotaInput, RotaReport, RotaRunner};
use scrm_core::sop::dispatch::NoDeadline;
use scrm_core::wecom::api::{paths, CorpCredentials};
use scrm_tests::*;
use serde_json::{json, Value};

type Runner = RotaRunner<DynamoGrowth, WeComClient, DynamoTenants>;

fn runner(w: &World) -> Runner {
    RotaRunner {
        store: DynamoGrowth::new(w.db.clone()),
        wecom: w.client.clone(),
        tenants: DynamoTenants::new(w.db.clone()),
        clock: w.clock.clone(),
    }
}

/// Shanghai's wall clock on Monday 2026-01-05 (UTC+8): a day no other test's codes are due
/// by, since the due index is shared by every tenant.
fn local(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, h, m, 0).unwrap() - chrono::Duration::hours(8)
}

/// Both the handler's clock and the fake WeCom's.
fn set_time(w: &World, at: DateTime<Utc>) {
    w.clock.set(at);
    w.fake.set_now(at.timestamp());
}

/// One tenant's run (the index holds every test's codes).
async fn run(w: &World, t: &TestTenant) -> RotaReport {
    let input = RotaInput {
        tenant: Some(t.id().to_string()),
    };
    runner(w).run(&input, &NoDeadline).await.expect("run")
}

fn two_shifts() -> Value {
    let all = [1, 2, 3, 4, 5, 6, 7];
    json!({
        "name": "前台",
        "kind": "multi",
        "rota": {
            "shifts": [
                { "userid": "zhangsan", "weekdays": all, "start": "09:00", "end": "12:00" },
                { "userid": "lisi", "weekdays": all, "start": "12:00", "end": "18:00" }
            ]
        }
    })
}

async fn create(w: &World, t: &TestTenant, key: &str) -> String {
    let (status, code) = admin_call(&admin(w), create_request(t, key, &two_shifts())).await;
    assert_eq!(status, 201, "{code}");
    code["state"].as_str().unwrap().to_string()
}

fn users(w: &World, t: &TestTenant, state: &str) -> Vec<String> {
    w.fake
        .contact_way_by_state(t.id().as_str(), state)
        .expect("WeCom has the code")
        .user
}

#[tokio::test]
async fn a_code_moves_to_the_next_shift_at_its_boundary_once() {
    let w = world().await;
    let t = corp(&w).await;
    set_time(&w, local(11, 59));
    let state = create(&w, &t, "rota-1").await;
    assert_eq!(users(&w, &t, &state), ["zhangsan"]);
    let updates = || w.fake.calls(paths::UPDATE_CONTACT_WAY);
    assert_eq!(updates(), 0);

    // 11:59: the boundary has not come; nothing is due, WeCom is not called.
    let r = run(&w, &t).await;
    assert_eq!(r, RotaReport::default());
    assert_eq!(users(&w, &t, &state), ["zhangsan"]);

    // 12:00: lisi's shift; no customer needed to move the code.
    set_time(&w, local(12, 0));
    let r = run(&w, &t).await;
    assert_eq!((r.due, r.moved), (1, 1), "{r:?}");
    assert_eq!(users(&w, &t, &state), ["lisi"]);
    assert_eq!(updates(), 1);
    // Run again (an overlapping or retried minute): the code moved on, WeCom is not called.
    let r = run(&w, &t).await;
    assert_eq!(r.moved, 0, "{r:?}");
    set_time(&w, local(12, 1));
    assert_eq!(run(&w, &t).await, RotaReport::default());
    assert_eq!(updates(), 1);
    let (status, body) = admin_call(
        &admin(&w),
        get_request(&format!("/v1/growth/channel-codes/{state}"), &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["on_duty"], json!(["lisi"]));

    // 18:00: off hours, no backup: the whole rota (WeCom needs someone).
    set_time(&w, local(18, 0));
    let r = run(&w, &t).await;
    assert_eq!((r.due, r.moved), (1, 1), "{r:?}");
    assert_eq!(users(&w, &t, &state), ["zhangsan", "lisi"]);
    assert_eq!(updates(), 2);
}

#[tokio::test]
async fn a_busy_wecom_leaves_the_code_due_and_a_deleted_code_is_not_due() {
    let w = world().await;
    let t = corp(&w).await;
    set_time(&w, local(11, 0));
    let state = create(&w, &t, "rota-busy").await;
    let gone = create(&w, &t, "rota-gone").await;
    let del = request(
        "DELETE",
        &format!("/v1/growth/channel-codes/{gone}"),
        &[("authorization", &t.bearer())],
        None,
    );
    assert_eq!(admin_call(&admin(&w), del).await.0, 200);
    let updates = || w.fake.calls(paths::UPDATE_CONTACT_WAY);

    // WeCom is busy at 12:00 (beyond the client's retries): the code stays due.
    set_time(&w, local(12, 0));
    w.fake.fail_next(paths::UPDATE_CONTACT_WAY, 2, -1);
    let r = run(&w, &t).await;
    assert_eq!((r.due, r.retry_later, r.moved), (1, 1, 0), "{r:?}");
    assert_eq!(users(&w, &t, &state), ["zhangsan"]);
    let before = updates();

    // The next minute moves it; the deleted code was never due, and WeCom was asked once.
    set_time(&w, local(12, 1));
    let r = run(&w, &t).await;
    assert_eq!((r.due, r.moved), (1, 1), "{r:?}");
    assert_eq!(users(&w, &t, &state), ["lisi"]);
    assert_eq!(updates(), before + 1);
}

#[tokio::test]
async fn the_handler_takes_the_schedulers_event() {
    let w = world().await;
    let t = corp(&w).await;
    set_time(&w, local(8, 0));
    let state = create(&w, &t, "rota-handler").await;
    // Off hours at creation: the whole rota; 09:00 is zhangsan's.
    assert_eq!(users(&w, &t, &state), ["zhangsan", "lisi"]);
    set_time(&w, local(9, 0));
    let event = LambdaEvent::new(json!({ "tenant": t.id().as_str() }), Context::default());
    let answer = handle(&runner(&w), event).await.expect("handled");
    assert_eq!(answer["moved"], 1, "{answer}");
    assert_eq!(users(&w, &t, &state), ["zhangsan"]);
}

#[tokio::test]
async fn a_paused_code_stays_put_until_resumed_and_a_code_wecom_lost_leaves_the_index() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    set_time(&w, local(11, 0));
    let paused = create(&w, &t, "rota-paused").await;
    let lost = create(&w, &t, "rota-lost").await;
    let post = |path: String| json_request("POST", &path, &t.bearer(), &json!({}));
    let (status, _) = admin_call(
        &admin(&w),
        post(format!("/v1/growth/channel-codes/{paused}/pause")),
    )
    .await;
    assert_eq!(status, 200);
    // WeCom loses the other code (deleted in WeCom's own admin, say).
    let config_id = w.fake.contact_way_by_state(c, &lost).unwrap().config_id;
    let creds = CorpCredentials::new(c, "contact-secret", None);
    w.client.del_contact_way(&creds, &config_id).await.unwrap();
    let updates = || w.fake.calls(paths::UPDATE_CONTACT_WAY);

    // 12:00: the paused code is not due (as on adds, a paused code is not rotated); the lost
    // one is tried once and leaves the index.
    set_time(&w, local(12, 0));
    let r = run(&w, &t).await;
    assert_eq!((r.due, r.dropped, r.moved), (1, 1, 0), "{r:?}");
    assert_eq!(updates(), 1);
    set_time(&w, local(18, 0));
    assert_eq!(run(&w, &t).await, RotaReport::default());
    assert_eq!(updates(), 1);

    // Resumed at 17:00 the next day: due at once, WeCom gets lisi.
    set_time(&w, local(17, 0) + chrono::Duration::days(1));
    let (status, _) = admin_call(
        &admin(&w),
        post(format!("/v1/growth/channel-codes/{paused}/resume")),
    )
    .await;
    assert_eq!(status, 200);
    let r = run(&w, &t).await;
    assert_eq!((r.due, r.moved), (1, 1), "{r:?}");
    assert_eq!(users(&w, &t, &paused), ["lisi"]);
    // Resumed again after a pause within the same shift: due, but nothing to change.
    for action in ["pause", "resume"] {
        let path = format!("/v1/growth/channel-codes/{paused}/{action}");
        assert_eq!(admin_call(&admin(&w), post(path)).await.0, 200);
    }
    let r = run(&w, &t).await;
    assert_eq!((r.due, r.unchanged, r.moved), (1, 1, 0), "{r:?}");
    assert_eq!(updates(), 2);
}
