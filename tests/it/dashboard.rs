//! The dashboard's customers: gained and lost per day, counted from WeCom's contact
//! callbacks (through the real `wecom-callback` and `points-on-event` handlers) once per
//! callback however often WeCom or EventBridge delivers it again, and the number of
//! customers, set to what the directory holds when a full re-sync ends. Also the window's
//! points flows, read only on the days that had entries.
use crate::directory::{admin_call, drive_resync, seed_corp, start_resync, world, World};
use directory_resync_fn::ResyncSettings;
use lambda_runtime::{Context, LambdaEvent};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoPoints, DynamoTags, DynamoTenants};
use scrm_core::clock::Clock;
use scrm_core::events::{EventEnvelope, RecordingPublisher};
use scrm_core::tenants::TenantId;
use scrm_core::wecom::crypto::CallbackCrypto;
use scrm_tests::*;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use wecom_callback_fn::{handle, CallbackHandler, CallbackPolicy};

type Handler =
    CallbackHandler<DynamoTenants, scrm_adapters::wecom::WeComClient, Arc<RecordingPublisher>>;

fn handler(w: &World) -> Handler {
    CallbackHandler {
        tenants: DynamoTenants::new(w.db.clone()),
        dir: DynamoDirectory::new(w.db.clone()),
        tags: DynamoTags::new(w.db.clone()),
        source: w.client.clone(),
        publisher: w.recorder.clone(),
        clock: w.clock.clone(),
        policy: CallbackPolicy {
            fetch_budget: Duration::from_millis(800),
            wait_for_peer: Duration::from_millis(1500),
            ..CallbackPolicy::default()
        },
    }
}

/// A contact callback (`change_external_contact`), signed and encrypted for the tenant.
fn contact_callback(
    corp: &TenantId,
    at: i64,
    change: &str,
    userid: &str,
    ext: &str,
) -> lambda_http::Request {
    let xml = format!(
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[{change}]]></ChangeType>\
         <UserID><![CDATA[{userid}]]></UserID><ExternalUserID><![CDATA[{ext}]]></ExternalUserID></xml>"
    );
    let crypto = CallbackCrypto::from_parts(TEST_TOKEN, TEST_AES_KEY, corp.as_str()).unwrap();
    let msg = crypto.encrypt_message(
        xml.as_bytes(),
        &crate::directory::test_now().timestamp().to_string(),
        "1372623149",
    );
    request(
        "POST",
        &format!("/callback/{corp}?{}", msg.query()),
        &[("content-type", "text/xml")],
        Some(msg.callback_xml(Some("1000002")).into_bytes()),
    )
}

/// Sends a callback (twice: WeCom re-delivers) and delivers the events it published to
/// `points-on-event` (twice: EventBridge is at least once).
async fn callback(w: &World, corp: &TenantId, at: i64, change: &str, userid: &str, ext: &str) {
    let h = handler(w);
    for _ in 0..2 {
        let resp = handle(&h, contact_callback(corp, at, change, userid, ext))
            .await
            .unwrap();
        let (status, body) = response_json(&resp);
        assert_eq!((status, body.clone()), (200, json!("success")), "{body}");
    }
    let events: Vec<EventEnvelope> = w.recorder.take();
    assert!(!events.is_empty(), "{change} published its event");
    let points = DynamoPoints::new(w.db.clone());
    let dir = DynamoDirectory::new(w.db.clone());
    let tenants = DynamoTenants::new(w.db.clone());
    for env in events.iter().chain(events.iter()) {
        points_on_event_fn::handle(
            &points,
            &dir,
            &tenants,
            w.clock.as_ref(),
            LambdaEvent::new(env.to_eventbridge_json(), Context::default()),
        )
        .await
        .expect("handled");
    }
}

async fn dashboard(w: &World, t: &TestTenant) -> Value {
    let (status, body) =
        admin_call(&w.admin(), get_request("/v1/dashboard?days=2", &t.bearer())).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn customers_gained_and_lost_count_once_per_callback_and_a_resync_sets_the_number() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let corp = t.id();
    seed_corp(&w.fake, corp);
    let at = w.clock.now().timestamp();

    // A new customer: gained once, however often the callback and its event arrive.
    callback(
        &w,
        corp,
        at,
        "add_external_contact",
        "zhangsan",
        "wmnewcust",
    )
    .await;
    let body = dashboard(&w, &t).await;
    assert_eq!(
        (
            body["today"]["contacts_added"].as_i64(),
            body["today"]["customers_added"].as_i64(),
            body["customers"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{body}"
    );
    // A second member adds them: a contact more, not a customer more.
    callback(
        &w,
        corp,
        at + 1,
        "add_external_contact",
        "lisi",
        "wmnewcust",
    )
    .await;
    // The customer removes one member: still a customer of the tenant.
    callback(&w, corp, at + 2, "del_follow_user", "lisi", "wmnewcust").await;
    let body = dashboard(&w, &t).await;
    assert_eq!(
        (
            body["today"]["contacts_added"].as_i64(),
            body["today"]["customers_added"].as_i64(),
            body["today"]["customers_lost"].as_i64(),
            body["customers"].as_i64()
        ),
        (Some(2), Some(1), Some(0), Some(1)),
        "{body}"
    );
    // The last member deletes them: lost, once.
    callback(
        &w,
        corp,
        at + 3,
        "del_external_contact",
        "zhangsan",
        "wmnewcust",
    )
    .await;
    let body = dashboard(&w, &t).await;
    assert_eq!(
        (
            body["today"]["customers_lost"].as_i64(),
            body["window"]["customers_added"].as_i64(),
            body["window"]["customers_lost"].as_i64(),
            body["customers"].as_i64()
        ),
        (Some(1), Some(1), Some(1), Some(0)),
        "{body}"
    );
    assert_eq!(body["series"][0]["customers_added"], 0, "{body}");

    // The re-sync reads WeCom's 14 customers (12 licensed members' and 2 of a member
    // without a licence), none of which reached a callback: the number is set to them.
    let job = start_resync(&w, &t, json!({})).await;
    let r = w.resyncer(w.client.clone(), ResyncSettings::default());
    drive_resync(&w, &r, corp, &job).await;
    let body = dashboard(&w, &t).await;
    assert_eq!(body["customers"], 14, "{body}");
    // Days are not rewritten: what the re-sync found was not gained on a day.
    assert_eq!(body["window"]["customers_added"], 1, "{body}");
    // A second re-sync finds the same number.
    let job = start_resync(&w, &t, json!({})).await;
    drive_resync(&w, &r, corp, &job).await;
    assert_eq!(dashboard(&w, &t).await["customers"], 14);
}
