//! WeCom callbacks through the real `wecom-callback` handler, against DynamoDB Local and the
//! fake WeCom server: URL verification, every event kind and its effect, exactly-once
//! landing (duplicates, concurrent deliveries, a delivery that died midway), rejections
//! that write nothing, unknown events, and WeCom's API failing during a callback.
use crate::directory::{admin_call, world, World};
use callback_sweep_fn::CallbackSweep;
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoTags;
use scrm_adapters::dynamo::DynamoTenants;
use scrm_adapters::wecom::fake::*;
use scrm_core::clock::Clock;
use scrm_core::contacts::callback::parse_callback;
use scrm_core::contacts::inbox::{Inbox, Swept};
use scrm_core::contacts::receipts::{NewReceipt, ReceiptStatus, ReceiptStore};
use scrm_core::contacts::DirectoryRead;
use scrm_core::events::{
    DomainEvent, EventEnvelope, EventPublisher, PublishError, RecordingPublisher, RemovedBy,
};
use scrm_core::ports::StoreError;
use scrm_core::tenants::TenantId;
use scrm_core::tenants::TenantLookup;
use scrm_core::wecom::api::paths;
use scrm_core::wecom::crypto::CallbackCrypto;
use scrm_tests::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wecom_callback_fn::{handle, CallbackHandler, CallbackPolicy};

type Handler<P> = CallbackHandler<DynamoTenants, scrm_adapters::wecom::WeComClient, P>;

fn policy() -> CallbackPolicy {
    CallbackPolicy {
        fetch_budget: Duration::from_millis(800),
        wait_for_peer: Duration::from_millis(1500),
        ..CallbackPolicy::default()
    }
}

fn handler_with<P: EventPublisher>(w: &World, publisher: P, policy: CallbackPolicy) -> Handler<P> {
    CallbackHandler {
        tenants: DynamoTenants::new(w.db.clone()),
        dir: DynamoDirectory::new(w.db.clone()),
        tags: DynamoTags::new(w.db.clone()),
        source: w.client.clone(),
        publisher,
        clock: w.clock.clone(),
        policy,
    }
}

fn handler(w: &World) -> Handler<Arc<RecordingPublisher>> {
    handler_with(w, w.recorder.clone(), policy())
}

fn crypto(corp: &TenantId) -> CallbackCrypto {
    CallbackCrypto::from_parts(TEST_TOKEN, TEST_AES_KEY, corp.as_str()).unwrap()
}

/// The epoch seconds callbacks are sent at (the world's clock).
fn now_secs(w: &World) -> i64 {
    w.clock.now().timestamp()
}

fn xml(create_time: i64, event: &str, change_type: &str, fields: &[(&str, &str)]) -> String {
    let mut x = format!(
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[{event}]]></Event><ChangeType><![CDATA[{change_type}]]></ChangeType>"
    );
    for (k, v) in fields {
        if k.starts_with('<') {
            x.push_str(v);
        } else {
            x.push_str(&format!("<{k}><![CDATA[{v}]]></{k}>"));
        }
    }
    x.push_str("</xml>");
    x
}

fn contact_xml(at: i64, change: &str, userid: &str, ext: &str, extra: &[(&str, &str)]) -> String {
    let mut fields = vec![("UserID", userid), ("ExternalUserID", ext)];
    fields.extend_from_slice(extra);
    xml(at, "change_external_contact", change, &fields)
}

fn member_list(ids: &[&str]) -> String {
    let items: String = ids
        .iter()
        .map(|i| format!("<Item><![CDATA[{i}]]></Item>"))
        .collect();
    format!("<MemChangeList>{items}</MemChangeList>")
}

/// The `timestamp` WeCom signs a callback with: the tests' fixed now.
fn sent_now() -> String {
    crate::directory::test_now().timestamp().to_string()
}

/// A signed, encrypted POST for a tenant, sent now.
fn post_request(corp: &TenantId, plaintext: &str) -> lambda_http::Request {
    post_request_at(corp, plaintext, &sent_now())
}

/// A signed, encrypted POST for a tenant whose signed `timestamp` is `timestamp`.
fn post_request_at(corp: &TenantId, plaintext: &str, timestamp: &str) -> lambda_http::Request {
    let msg = crypto(corp).encrypt_message(plaintext.as_bytes(), timestamp, "1372623149");
    request(
        "POST",
        &format!("/callback/{corp}?{}", msg.query()),
        &[("content-type", "text/xml")],
        Some(msg.callback_xml(Some("1000002")).into_bytes()),
    )
}

async fn send<P: EventPublisher>(h: &Handler<P>, req: lambda_http::Request) -> (u16, Value) {
    let resp = handle(h, req).await.unwrap();
    response_json(&resp)
}

async fn post<P: EventPublisher>(h: &Handler<P>, corp: &TenantId, plaintext: &str) -> (u16, Value) {
    send(h, post_request(corp, plaintext)).await
}

async fn post_ok<P: EventPublisher>(h: &Handler<P>, corp: &TenantId, plaintext: &str) {
    let (status, body) = post(h, corp, plaintext).await;
    assert_eq!((status, body.clone()), (200, json!("success")), "{body}");
}

/// A tenant whose WeCom corp (in the fake) knows `zhangsan`, `lisi`, a tag library, a
/// customer `wmalice` (followed by zhangsan) and a group `wrshop` owned by zhangsan.
async fn seeded(w: &World) -> TestTenant {
    let t = tenant(&w.db).await;
    let corp = t.id().as_str();
    w.fake.add_app(corp, "contact-secret", None);
    w.fake
        .add_staff(corp, FakeStaff::active("zhangsan", "张三"));
    w.fake.add_staff(corp, FakeStaff::active("lisi", "李四"));
    w.fake.add_tag_group(
        corp,
        FakeTagGroup::new(
            "etgroupvalue",
            "客户价值",
            &[("ettagcore", "核心"), ("ettaggeneral", "一般")],
        ),
    );
    let mut follow = FakeFollow::new("zhangsan")
        .with_tags(&["ettagcore"])
        .with_state("ch01");
    follow.remark = "Alice from the fair".into();
    follow.createtime = now_secs(w);
    w.fake.add_customer(
        corp,
        FakeCustomer::new("wmalice", "Alice").followed_by(follow),
    );
    let mut group = FakeGroup::new("wrshop", "会员群", "zhangsan")
        .with_member(FakeMember::customer("wmalice", "Alice"));
    group.member_version = "v-initial".into();
    w.fake.add_group(corp, group);
    t
}

fn events_of(w: &World) -> Vec<EventEnvelope> {
    w.recorder.take()
}

async fn receipts(w: &World, t: &TenantId) -> Vec<scrm_core::contacts::receipts::ReceiptView> {
    w.dir().receipts(t, false, None, 100).await.unwrap().items
}

// ----- URL verification -------------------------------------------------------------------

#[tokio::test]
async fn url_verification_answers_the_bare_echostr() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let h = handler(&w);
    let msg = crypto(t.id()).encrypt_message(b"1616140317555161061", "1409659589", "263014780");
    let resp = handle(
        &h,
        request(
            "GET",
            &format!("/callback/{}?{}", t.id(), msg.verify_query()),
            &[],
            None,
        ),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body().as_ref(), b"1616140317555161061");
    // Behind the local prefix too.
    let resp = handle(
        &h,
        request(
            "GET",
            &format!(
                "/lambda-url/wecom-callback/callback/{}?{}",
                t.id(),
                msg.verify_query()
            ),
            &[],
            None,
        ),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    // A tampered signature is refused.
    let bad = msg
        .verify_query()
        .replacen("msg_signature=", "msg_signature=0", 1);
    let (status, body) = send(
        &h,
        request("GET", &format!("/callback/{}?{bad}", t.id()), &[], None),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("bad_signature")),
        "{body}"
    );
    let (status, body) = send(
        &h,
        request(
            "GET",
            &format!("/callback/{}?{}", t.id(), msg.query()),
            &[],
            None,
        ),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("missing_parameter")),
        "{body}"
    );
}

// ----- every event kind ------------------------------------------------------------------

#[tokio::test]
async fn adding_a_contact_records_the_customer_with_details_from_wecom() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let at = now_secs(&w);
    let x = contact_xml(
        at,
        "add_external_contact",
        "zhangsan",
        "wmalice",
        &[("State", "ch01"), ("WelcomeCode", "WELCOME")],
    );
    post_ok(&h, t.id(), &x).await;

    let c = w.dir().customer(t.id(), "wmalice").await.unwrap().unwrap();
    assert_eq!(c.customer.name.as_deref(), Some("Alice"));
    assert!(!c.customer.needs_sync);
    let f = &c.follow_users[0];
    assert_eq!(
        (f.userid.as_str(), f.remark.as_deref(), f.state.as_deref()),
        ("zhangsan", Some("Alice from the fair"), Some("ch01"))
    );
    assert_eq!(f.tags[0].tag_name.as_deref(), Some("核心"));
    assert_eq!(f.status, scrm_core::contacts::RelationStatus::Active);

    let events = events_of(&w);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.tenant, t.id().as_str());
    assert_eq!(e.occurred_at.timestamp(), at);
    assert!(
        e.event_id.starts_with("cb:") && e.event_id.ends_with(":ContactAdded"),
        "{}",
        e.event_id
    );
    assert_eq!(
        e.event,
        DomainEvent::ContactAdded {
            external_userid: "wmalice".into(),
            userid: "zhangsan".into(),
            state: Some("ch01".into()),
            half: false,
            welcome_code: Some("WELCOME".into()),
        }
    );
    let r = receipts(&w, t.id()).await;
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].status, r[0].kind.as_str(), r[0].events),
        (
            ReceiptStatus::Published,
            "change_external_contact/add_external_contact",
            Some(1)
        )
    );
}

#[tokio::test]
async fn a_half_add_is_recorded_as_half() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    post_ok(
        &h,
        t.id(),
        &contact_xml(
            now_secs(&w),
            "add_half_external_contact",
            "zhangsan",
            "wmalice",
            &[("State", "ch01")],
        ),
    )
    .await;
    let c = w.dir().customer(t.id(), "wmalice").await.unwrap().unwrap();
    assert_eq!(
        c.follow_users[0].status,
        scrm_core::contacts::RelationStatus::Half
    );
    assert!(matches!(
        &events_of(&w)[0].event,
        DomainEvent::ContactAdded { half: true, .. }
    ));
}

#[tokio::test]
async fn editing_removing_and_failed_transfers_update_the_relation() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let at = now_secs(&w);
    post_ok(
        &h,
        t.id(),
        &contact_xml(at, "add_external_contact", "zhangsan", "wmalice", &[]),
    )
    .await;
    // The member edits the remark and tags in WeCom, then WeCom calls back.
    w.fake.update_customer(t.id().as_str(), "wmalice", |c| {
        c.follows[0].remark = "VIP Alice".into();
        c.follows[0].tag_ids = vec!["ettaggeneral".into()];
    });
    post_ok(
        &h,
        t.id(),
        &contact_xml(at + 1, "edit_external_contact", "zhangsan", "wmalice", &[]),
    )
    .await;
    let c = w.dir().customer(t.id(), "wmalice").await.unwrap().unwrap();
    assert_eq!(c.follow_users[0].remark.as_deref(), Some("VIP Alice"));
    assert_eq!(c.follow_users[0].tags[0].tag_name.as_deref(), Some("一般"));

    post_ok(
        &h,
        t.id(),
        &contact_xml(
            at + 2,
            "del_external_contact",
            "zhangsan",
            "wmalice",
            &[("Source", "DELETE_BY_TRANSFER")],
        ),
    )
    .await;
    post_ok(
        &h,
        t.id(),
        &contact_xml(at + 3, "del_follow_user", "lisi", "wmalice", &[]),
    )
    .await;
    post_ok(
        &h,
        t.id(),
        &contact_xml(
            at + 4,
            "transfer_fail",
            "lisi",
            "wmalice",
            &[("FailReason", "customer_refused")],
        ),
    )
    .await;
    let c = w.dir().customer(t.id(), "wmalice").await.unwrap().unwrap();
    let z = c
        .follow_users
        .iter()
        .find(|f| f.userid == "zhangsan")
        .unwrap();
    assert_eq!(z.status, scrm_core::contacts::RelationStatus::Removed);
    assert_eq!(
        (z.removed_by, z.removed_source.as_deref(), z.removed_at),
        (
            Some(RemovedBy::Member),
            Some("DELETE_BY_TRANSFER"),
            Some(at + 2)
        )
    );
    assert_eq!(
        z.remark.as_deref(),
        Some("VIP Alice"),
        "a removed relation keeps its history"
    );
    let l = c.follow_users.iter().find(|f| f.userid == "lisi").unwrap();
    assert_eq!(l.removed_by, Some(RemovedBy::Customer));
    let failure = c.customer.last_transfer_failure.unwrap();
    assert_eq!(
        (failure.userid.as_str(), failure.reason.as_str()),
        ("lisi", "customer_refused")
    );

    let kinds: Vec<DomainEvent> = events_of(&w).into_iter().map(|e| e.event).collect();
    assert_eq!(kinds.len(), 5);
    assert_eq!(
        kinds[1],
        DomainEvent::ContactEdited {
            external_userid: "wmalice".into(),
            userid: "zhangsan".into()
        }
    );
    assert_eq!(
        kinds[2],
        DomainEvent::ContactRemoved {
            external_userid: "wmalice".into(),
            userid: "zhangsan".into(),
            by: RemovedBy::Member,
            source: Some("DELETE_BY_TRANSFER".into())
        }
    );
    assert_eq!(
        kinds[3],
        DomainEvent::ContactRemoved {
            external_userid: "wmalice".into(),
            userid: "lisi".into(),
            by: RemovedBy::Customer,
            source: None
        }
    );
    assert_eq!(
        kinds[4],
        DomainEvent::ContactTransferFailed {
            external_userid: "wmalice".into(),
            userid: "lisi".into(),
            reason: "customer_refused".into()
        }
    );
}

#[tokio::test]
async fn an_older_callback_never_undoes_a_newer_one() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let at = now_secs(&w);
    // The removal (later) arrives before the add (earlier).
    post_ok(
        &h,
        t.id(),
        &contact_xml(at + 10, "del_follow_user", "zhangsan", "wmalice", &[]),
    )
    .await;
    post_ok(
        &h,
        t.id(),
        &contact_xml(at, "add_external_contact", "zhangsan", "wmalice", &[]),
    )
    .await;
    let c = w.dir().customer(t.id(), "wmalice").await.unwrap().unwrap();
    assert_eq!(
        c.follow_users[0].status,
        scrm_core::contacts::RelationStatus::Removed
    );
}

#[tokio::test]
async fn group_creation_membership_changes_and_dismissal() {
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id().as_str();
    let h = handler(&w);
    let at = now_secs(&w);
    let chat = |at: i64, change: &str, fields: &[(&str, &str)]| {
        let mut f = vec![("ChatId", "wrshop")];
        f.extend_from_slice(fields);
        xml(at, "change_external_chat", change, &f)
    };
    // Created with its owner and Alice.
    post_ok(&h, t.id(), &chat(at, "create", &[])).await;
    let g = w.dir().group(t.id(), "wrshop").await.unwrap().unwrap();
    assert_eq!(
        (
            g.group.owner.as_deref(),
            g.group.name.as_deref(),
            g.group.member_count
        ),
        (Some("zhangsan"), Some("会员群"), 2)
    );
    let events = events_of(&w);
    assert_eq!(
        events[0].event,
        DomainEvent::GroupCreated {
            chat_id: "wrshop".into()
        }
    );
    assert_eq!(events.len(), 3, "created + a join per initial member");

    // Bob and Carol join by QR code.
    w.fake.update_group(corp, "wrshop", |g| {
        g.members.push(FakeMember::customer("wmbob", "Bob"));
        g.members.push(FakeMember::customer("wmcarol", "Carol"));
    });
    let version = group_version(&w, corp).await;
    let list = member_list(&["wmbob", "wmcarol"]);
    post_ok(
        &h,
        t.id(),
        &chat(
            at + 1,
            "update",
            &[
                ("UpdateDetail", "add_member"),
                ("JoinScene", "3"),
                ("MemChangeCnt", "2"),
                ("<", &list),
                ("LastMemVer", "v-initial"),
                ("CurMemVer", &version),
            ],
        ),
    )
    .await;
    let g = w.dir().group(t.id(), "wrshop").await.unwrap().unwrap();
    assert_eq!(g.group.member_count, 4);
    assert_eq!(g.group.member_version.as_deref(), Some(version.as_str()));
    let bob = g.members.iter().find(|m| m.member_id == "wmbob").unwrap();
    assert!(bob.active && bob.is_customer);
    let joins: Vec<_> = events_of(&w)
        .into_iter()
        .map(|e| (e.event_id, e.event))
        .collect();
    assert_eq!(joins.len(), 2);
    assert!(
        joins[0].0.ends_with(":MemberJoinedGroup:wmbob"),
        "{}",
        joins[0].0
    );
    assert_eq!(
        joins[1].1,
        DomainEvent::MemberJoinedGroup {
            chat_id: "wrshop".into(),
            member_id: "wmcarol".into(),
            is_customer: true,
            join_scene: Some(3),
            state: None,
        }
    );

    // Carol is removed by the owner.
    w.fake.update_group(corp, "wrshop", |g| {
        g.members.retain(|m| m.userid != "wmcarol")
    });
    let version = group_version(&w, corp).await;
    let list = member_list(&["wmcarol"]);
    post_ok(
        &h,
        t.id(),
        &chat(
            at + 2,
            "update",
            &[
                ("UpdateDetail", "del_member"),
                ("QuitScene", "1"),
                ("MemChangeCnt", "1"),
                ("<", &list),
                ("CurMemVer", &version),
            ],
        ),
    )
    .await;
    let g = w.dir().group(t.id(), "wrshop").await.unwrap().unwrap();
    assert_eq!(g.group.member_count, 3);
    let carol = g.members.iter().find(|m| m.member_id == "wmcarol").unwrap();
    assert_eq!(
        (carol.active, carol.left_at, carol.quit_scene),
        (false, Some(at + 2), Some(1))
    );
    assert_eq!(
        events_of(&w)[0].event,
        DomainEvent::MemberLeftGroup {
            chat_id: "wrshop".into(),
            member_id: "wmcarol".into(),
            is_customer: true,
            quit_scene: Some(1)
        }
    );
    // Carol's groups show the past membership.
    let mine = w.dir().member_groups(t.id(), "wmcarol").await.unwrap();
    assert_eq!(
        (
            mine.len(),
            mine[0].membership.active,
            mine[0].group_name.as_deref()
        ),
        (1, false, Some("会员群"))
    );

    // Owner, name and notice change.
    w.fake.update_group(corp, "wrshop", |g| {
        g.owner = "lisi".into();
        g.name = "VIP 群".into();
        g.notice = Some("周五有活动".into());
    });
    let version = group_version(&w, corp).await;
    post_ok(
        &h,
        t.id(),
        &chat(
            at + 3,
            "update",
            &[("UpdateDetail", "change_owner"), ("CurMemVer", &version)],
        ),
    )
    .await;
    post_ok(
        &h,
        t.id(),
        &chat(
            at + 4,
            "update",
            &[("UpdateDetail", "change_name"), ("CurMemVer", &version)],
        ),
    )
    .await;
    post_ok(
        &h,
        t.id(),
        &chat(
            at + 5,
            "update",
            &[("UpdateDetail", "change_notice"), ("CurMemVer", &version)],
        ),
    )
    .await;
    let g = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (g.owner.as_deref(), g.name.as_deref(), g.notice.as_deref()),
        (Some("lisi"), Some("VIP 群"), Some("周五有活动"))
    );
    let events: Vec<DomainEvent> = events_of(&w).into_iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![
            DomainEvent::GroupOwnerChanged {
                chat_id: "wrshop".into(),
                previous_owner: Some("zhangsan".into()),
                new_owner: Some("lisi".into())
            },
            DomainEvent::GroupUpdated {
                chat_id: "wrshop".into(),
                detail: "change_name".into()
            },
            DomainEvent::GroupUpdated {
                chat_id: "wrshop".into(),
                detail: "change_notice".into()
            },
        ]
    );

    post_ok(&h, t.id(), &chat(at + 6, "dismiss", &[])).await;
    assert!(
        w.dir()
            .group_profile(t.id(), "wrshop")
            .await
            .unwrap()
            .unwrap()
            .dismissed
    );
    assert_eq!(
        events_of(&w)[0].event,
        DomainEvent::GroupDismissed {
            chat_id: "wrshop".into()
        }
    );
}

/// The group's member_version as WeCom reports it (the fake moves it on every change).
async fn group_version(w: &World, corp: &str) -> String {
    let creds = scrm_core::wecom::api::CorpCredentials::new(corp, "contact-secret", None);
    w.client
        .get_group_chat(&creds, "wrshop", false)
        .await
        .unwrap()
        .member_version
        .unwrap()
}

#[tokio::test]
async fn corp_tag_changes_keep_the_mirror() {
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id().as_str();
    let h = handler(&w);
    let at = now_secs(&w);
    let tag = |at: i64, change: &str, id: &str, kind: &str| {
        xml(
            at,
            "change_external_tag",
            change,
            &[("Id", id), ("TagType", kind)],
        )
    };
    post_ok(&h, t.id(), &tag(at, "create", "etgroupvalue", "tag_group")).await;
    w.fake.add_tag_group(
        corp,
        FakeTagGroup::new("etgroupnew", "新", &[("ettagnew", "新标签")]),
    );
    post_ok(&h, t.id(), &tag(at + 1, "create", "ettagnew", "tag")).await;
    post_ok(&h, t.id(), &tag(at + 2, "delete", "ettaggeneral", "tag")).await;
    post_ok(&h, t.id(), &tag(at + 3, "shuffle", "", "")).await;
    let mirror = scrm_core::tags::TagMirror::tag_groups(&DynamoTags::new(w.db.clone()), t.id())
        .await
        .unwrap();
    let names: Vec<(String, bool)> = mirror
        .iter()
        .flat_map(|g| g.tags.iter().map(|t| (t.name.clone(), t.deleted)))
        .collect();
    assert!(names.contains(&("核心".into(), false)), "{names:?}");
    assert!(names.contains(&("新标签".into(), false)), "{names:?}");
    // `ettaggeneral` is still listed by the fake, so the full re-read of the shuffle
    // brings it back: the mirror follows WeCom.
    assert!(names.contains(&("一般".into(), false)), "{names:?}");
    let events: Vec<DomainEvent> = events_of(&w).into_iter().map(|e| e.event).collect();
    assert_eq!(events.len(), 4);
    assert_eq!(
        events[2],
        DomainEvent::CorpTagChanged {
            id: "ettaggeneral".into(),
            tag_type: Some("tag".into()),
            change: "delete".into()
        }
    );
}

#[tokio::test]
async fn a_deleted_tag_is_flagged() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let at = now_secs(&w);
    post_ok(
        &h,
        t.id(),
        &xml(
            at,
            "change_external_tag",
            "create",
            &[("Id", "etgroupvalue"), ("TagType", "tag_group")],
        ),
    )
    .await;
    post_ok(
        &h,
        t.id(),
        &xml(
            at + 1,
            "change_external_tag",
            "delete",
            &[("Id", "ettagcore"), ("TagType", "tag")],
        ),
    )
    .await;
    let api = w.admin();
    let (_, tags) = admin_call(&api, get_request("/v1/tags", &t.bearer())).await;
    let core = tags["tag_groups"][0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "ettagcore")
        .unwrap()
        .clone();
    assert_eq!(core["deleted"], true, "{tags}");
}

// ----- exactly once ----------------------------------------------------------------------

#[tokio::test]
async fn a_duplicate_delivery_changes_nothing() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let x = contact_xml(
        now_secs(&w),
        "add_external_contact",
        "zhangsan",
        "wmalice",
        &[("State", "ch01")],
    );
    post_ok(&h, t.id(), &x).await;
    let first = events_of(&w);
    let before = crate::directory::dump(&w, t.id()).await;
    let calls = w.fake.calls(paths::EXTERNAL_CONTACT_GET);
    // WeCom delivers the same callback again (a new encryption, the same content).
    post_ok(&h, t.id(), &x).await;
    post_ok(&h, t.id(), &x).await;
    assert!(events_of(&w).is_empty(), "no event published twice");
    assert_eq!(crate::directory::dump(&w, t.id()).await, before);
    assert_eq!(
        w.fake.calls(paths::EXTERNAL_CONTACT_GET),
        calls,
        "WeCom not asked again"
    );
    let r = receipts(&w, t.id()).await;
    assert_eq!((r.len(), r[0].attempts), (1, 1));
    assert_eq!(first.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_one_callback_give_one_effect() {
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id().as_str();
    // Duplicates wait for the delivery that owns the receipt longer than its work takes,
    // so every one of them must see it finish.
    let h = handler_with(
        &w,
        w.recorder.clone(),
        CallbackPolicy {
            wait_for_peer: Duration::from_secs(8),
            ..policy()
        },
    );
    let at = now_secs(&w);
    post_ok(
        &h,
        t.id(),
        &xml(
            at,
            "change_external_chat",
            "create",
            &[("ChatId", "wrshop")],
        ),
    )
    .await;
    events_of(&w);
    w.fake.update_group(corp, "wrshop", |g| {
        g.members.push(FakeMember::customer("wmbob", "Bob"))
    });
    let version = group_version(&w, corp).await;
    let list = member_list(&["wmbob"]);
    let x = xml(
        at + 1,
        "change_external_chat",
        "update",
        &[
            ("ChatId", "wrshop"),
            ("UpdateDetail", "add_member"),
            ("JoinScene", "0"),
            ("MemChangeCnt", "1"),
            ("<", &list),
            ("CurMemVer", &version),
        ],
    );
    let deliveries: Vec<_> = (0..5)
        .map(|_| {
            let (h, corp, x) = (&h, t.id(), &x);
            async move { post(h, corp, x).await }
        })
        .collect();
    let answers = futures::future::join_all(deliveries).await;
    // Every delivery is acknowledged: one landed it, the others waited for it.
    assert!(
        answers
            .iter()
            .all(|(s, b)| (*s, b.clone()) == (200, json!("success"))),
        "{answers:?}"
    );
    let joined: Vec<_> = events_of(&w);
    assert_eq!(joined.len(), 1, "one MemberJoinedGroup: {joined:?}");
    assert_eq!(
        joined[0].event,
        DomainEvent::MemberJoinedGroup {
            chat_id: "wrshop".into(),
            member_id: "wmbob".into(),
            is_customer: true,
            join_scene: Some(0),
            state: None,
        }
    );
    let g = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.member_count, 3, "Bob counted once");
    let r = receipts(&w, t.id()).await;
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.status == ReceiptStatus::Published));
    assert!(
        r.iter().all(|r| r.attempts == 1),
        "exactly one delivery worked on each receipt: {r:?}"
    );
}

/// A publisher that fails until told otherwise (EventBridge down).
struct Flaky {
    fail: AtomicBool,
    inner: Arc<RecordingPublisher>,
}

impl EventPublisher for Flaky {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(PublishError::Partial {
                failed: events.len(),
                total: events.len(),
            });
        }
        self.inner.publish(events).await
    }
}

#[tokio::test]
async fn a_delivery_that_failed_to_publish_is_completed_by_the_next_one() {
    let w = world().await;
    let t = seeded(&w).await;
    let flaky = Arc::new(Flaky {
        fail: AtomicBool::new(true),
        inner: w.recorder.clone(),
    });
    let h = handler_with(&w, flaky.clone(), policy());
    let x = contact_xml(
        now_secs(&w),
        "add_external_contact",
        "zhangsan",
        "wmalice",
        &[],
    );
    let (status, body) = post(&h, t.id(), &x).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("unavailable"))
    );
    let r = receipts(&w, t.id()).await;
    assert_eq!(
        r[0].status,
        ReceiptStatus::Applied,
        "effects written, events recorded"
    );
    assert!(r[0].last_error.is_some());
    let calls = w.fake.calls(paths::EXTERNAL_CONTACT_GET);
    // WeCom re-delivers; the bus is back.
    flaky.fail.store(false, Ordering::SeqCst);
    post_ok(&h, t.id(), &x).await;
    let events = events_of(&w);
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0].event, DomainEvent::ContactAdded { .. }));
    assert_eq!(
        w.fake.calls(paths::EXTERNAL_CONTACT_GET),
        calls,
        "effects not redone"
    );
    let r = receipts(&w, t.id()).await;
    assert_eq!((r[0].status, r[0].attempts), (ReceiptStatus::Published, 2));
    post_ok(&h, t.id(), &x).await;
    assert!(events_of(&w).is_empty());
}

#[tokio::test]
async fn a_delivery_that_died_midway_is_completed_after_its_lease() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler_with(
        &w,
        w.recorder.clone(),
        CallbackPolicy {
            wait_for_peer: Duration::from_millis(100),
            ..policy()
        },
    );
    let x = contact_xml(
        now_secs(&w),
        "add_external_contact",
        "zhangsan",
        "wmalice",
        &[],
    );
    // A first delivery took the receipt and died before any effect.
    let opened = scrm_core::contacts::callback::parse_callback(x.clone()).unwrap();
    let receipt = NewReceipt {
        kind: opened.kind.clone(),
        unknown: false,
        xml: x.clone(),
        event_time: opened.event_time,
        planned: None,
    };
    w.dir()
        .acquire(t.id(), &opened.dedupe_key, &receipt, w.clock.now(), 10_000)
        .await
        .unwrap();
    // A re-delivery while its lease runs: WeCom is asked to retry.
    let (status, body) = post(&h, t.id(), &x).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("callback_in_progress"))
    );
    assert!(w.dir().customer(t.id(), "wmalice").await.unwrap().is_none());
    // After the lease, the next re-delivery takes over and finishes.
    w.clock.advance(chrono::Duration::seconds(11));
    post_ok(&h, t.id(), &x).await;
    assert!(w.dir().customer(t.id(), "wmalice").await.unwrap().is_some());
    assert_eq!(events_of(&w).len(), 1);
    let r = receipts(&w, t.id()).await;
    assert_eq!((r[0].status, r[0].attempts), (ReceiptStatus::Published, 2));
}

// ----- rejections ------------------------------------------------------------------------

#[tokio::test]
async fn bad_requests_are_rejected_and_write_nothing() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let corp = t.id();
    let x = contact_xml(
        now_secs(&w),
        "add_external_contact",
        "zhangsan",
        "wmalice",
        &[],
    );
    let good = crypto(corp).encrypt_message(x.as_bytes(), &sent_now(), "1372623149");
    let path = |q: &str| format!("/callback/{corp}?{q}");
    let body = good.callback_xml(None).into_bytes();

    // A wrong signature.
    let tampered = good.query().replacen("nonce=1", "nonce=2", 1);
    let wrong_corp = CallbackCrypto::from_parts(TEST_TOKEN, TEST_AES_KEY, "wwsomeoneelse01")
        .unwrap()
        .encrypt_message(x.as_bytes(), "1", "2");
    let other_key = CallbackCrypto::from_parts(
        TEST_TOKEN,
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        corp.as_str(),
    )
    .unwrap()
    .encrypt_message_with_prefix(x.as_bytes(), "1", "2", [7u8; 16]);
    let garbage_plain = crypto(corp).encrypt_message(b"this is not xml <<<", &sent_now(), "2");
    let cases: Vec<(lambda_http::Request, u16, &str)> = vec![
        (
            request("POST", &path(&tampered), &[], Some(body.clone())),
            401,
            "bad_signature",
        ),
        (
            request(
                "POST",
                &path(&wrong_corp.query()),
                &[],
                Some(wrong_corp.callback_xml(None).into_bytes()),
            ),
            403,
            "wrong_receive_id",
        ),
        (
            request(
                "POST",
                &path(&other_key.query()),
                &[],
                Some(other_key.callback_xml(None).into_bytes()),
            ),
            400,
            "bad_padding",
        ),
        (
            request(
                "POST",
                &path(&good.query()),
                &[],
                Some(b"<xml><nothing/>".to_vec()),
            ),
            400,
            "bad_envelope",
        ),
        (
            request(
                "POST",
                &path(&good.query()),
                &[],
                Some(b"\x00\x01garbage".to_vec()),
            ),
            400,
            "bad_envelope",
        ),
        (
            request(
                "POST",
                &path(&garbage_plain.query()),
                &[],
                Some(garbage_plain.callback_xml(None).into_bytes()),
            ),
            400,
            "bad_message",
        ),
        (
            request(
                "POST",
                &path(&good.query()),
                &[],
                Some(vec![b'x'; 70 * 1024]),
            ),
            413,
            "body_too_large",
        ),
        (
            request(
                "POST",
                &format!("/callback/{corp}"),
                &[],
                Some(body.clone()),
            ),
            400,
            "missing_parameter",
        ),
        (
            request(
                "POST",
                &format!("/callback/wwnosuchcorp00?{}", good.query()),
                &[],
                Some(body.clone()),
            ),
            401,
            "bad_signature",
        ),
    ];
    for (req, status, code) in cases {
        let (s, b) = send(&h, req).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{b}"
        );
    }
    // Nothing was written or published, and WeCom was never asked.
    assert!(receipts(&w, corp).await.is_empty());
    assert!(w.dir().customer(corp, "wmalice").await.unwrap().is_none());
    assert!(events_of(&w).is_empty());
    assert_eq!(w.fake.calls(paths::EXTERNAL_CONTACT_GET), 0);
    // The genuine request still works afterwards.
    let (s, _) = send(&h, request("POST", &path(&good.query()), &[], Some(body))).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn unknown_events_are_stored_and_acknowledged() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let at = now_secs(&w);
    let x1 = xml(
        at,
        "change_external_contact",
        "some_future_change",
        &[("UserID", "zhangsan")],
    );
    let x2 = format!("<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[customer_acquisition]]></Event><LinkId>cawcde</LinkId></xml>");
    post_ok(&h, t.id(), &x1).await;
    post_ok(&h, t.id(), &x2).await;
    post_ok(&h, t.id(), &x2).await;
    assert!(events_of(&w).is_empty());
    let (status, body) = admin_call(
        &w.admin(),
        get_request("/v1/callbacks?unknown=true", &t.bearer()),
    )
    .await;
    assert_eq!(status, 200);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    assert!(items
        .iter()
        .all(|i| i["unknown"] == true && i["status"] == "published"));
    assert!(items
        .iter()
        .any(|i| i["xml"].as_str().unwrap().contains("customer_acquisition")));
    // Known callbacks are listed too, newest first, with cursors.
    post_ok(
        &h,
        t.id(),
        &contact_xml(at, "add_external_contact", "zhangsan", "wmalice", &[]),
    )
    .await;
    let (_, all) = admin_call(
        &w.admin(),
        get_request("/v1/callbacks?limit=2", &t.bearer()),
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    let cursor = all["next_cursor"].as_str().unwrap();
    let (_, rest) = admin_call(
        &w.admin(),
        get_request(
            &format!("/v1/callbacks?limit=2&cursor={}", urlencode(cursor)),
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    assert!(rest["next_cursor"].is_null());
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn wecom_failing_during_a_callback_still_acks_and_records_the_facts() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let at = now_secs(&w);
    // WeCom answers "system busy" to every detail call, or too slowly.
    w.fake.fail_next(paths::EXTERNAL_CONTACT_GET, 10, -1);
    w.fake
        .set_delay(paths::GROUPCHAT_GET, Duration::from_secs(3));
    post_ok(
        &h,
        t.id(),
        &contact_xml(
            at,
            "add_external_contact",
            "zhangsan",
            "wmalice",
            &[("State", "ch09")],
        ),
    )
    .await;
    post_ok(
        &h,
        t.id(),
        &xml(
            at,
            "change_external_chat",
            "create",
            &[("ChatId", "wrshop")],
        ),
    )
    .await;
    // Answered although WeCom's reads failed: the bounded fetch fell back to what the
    // callback says (below). How fast is the benchmarks' business, not a test's.
    let c = w.dir().customer(t.id(), "wmalice").await.unwrap().unwrap();
    assert!(c.customer.needs_sync);
    assert_eq!(c.customer.name, None);
    let f = &c.follow_users[0];
    assert_eq!(
        (f.state.as_deref(), f.needs_sync, f.createtime),
        (Some("ch09"), true, Some(at))
    );
    let g = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap();
    assert!(g.needs_sync);
    let events: Vec<DomainEvent> = events_of(&w).into_iter().map(|e| e.event).collect();
    assert_eq!(events.len(), 2);
    // The re-sync fills in what WeCom could not say then.
    w.fake.clear_faults();
    let job = crate::directory::start_resync(&w, &t, json!({})).await;
    let r = w.resyncer(
        w.client.clone(),
        directory_resync_fn::ResyncSettings::default(),
    );
    w.clock.advance(chrono::Duration::minutes(1));
    crate::directory::drive_resync(&w, &r, t.id(), &job).await;
    let c = w.dir().customer(t.id(), "wmalice").await.unwrap().unwrap();
    assert!(!c.customer.needs_sync && !c.follow_users[0].needs_sync);
    assert_eq!(c.customer.name.as_deref(), Some("Alice"));
    assert!(
        !w.dir()
            .group_profile(t.id(), "wrshop")
            .await
            .unwrap()
            .unwrap()
            .needs_sync
    );
}

#[tokio::test]
async fn a_tenant_without_a_contact_secret_still_records_callbacks() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let store = DynamoTenants::new(w.db.clone());
    let mut bare = t.tenant.clone();
    bare.id = new_tenant_id();
    bare.contact_secret = scrm_core::config::Secret::new("");
    scrm_core::tenants::TenantWrite::create_tenant(&store, &bare)
        .await
        .unwrap();
    let h = handler(&w);
    post_ok(
        &h,
        &bare.id,
        &contact_xml(now_secs(&w), "add_external_contact", "zhangsan", "wmx", &[]),
    )
    .await;
    assert!(
        w.dir()
            .customer(&bare.id, "wmx")
            .await
            .unwrap()
            .unwrap()
            .customer
            .needs_sync
    );
    assert_eq!(events_of(&w).len(), 1);
}

#[tokio::test]
async fn a_corp_that_is_no_tenant_cannot_be_told_from_a_bad_signature() {
    use scrm_core::tenants::{TenantLookup, TenantWrite};
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let x = contact_xml(now_secs(&w), "add_external_contact", "zhangsan", "wmx", &[]);
    let msg = crypto(t.id()).encrypt_message(x.as_bytes(), "1409659813", "1372623149");
    let body = msg.callback_xml(None).into_bytes();
    let tampered = msg.query().replacen("nonce=1", "nonce=2", 1);
    let stranger = new_tenant_id();
    let answer = |corp: &str, query: &str, method: &str| {
        let body = (method == "POST").then(|| body.clone());
        request(method, &format!("/callback/{corp}?{query}"), &[], body)
    };
    // The same status and body for a tenant's bad signature, a corp that is no tenant and
    // a path segment that cannot be a corp, on POST and on GET.
    let tenant_bad = send(&h, answer(t.id().as_str(), &tampered, "POST")).await;
    assert_eq!(tenant_bad.0, 401, "{}", tenant_bad.1);
    for corp in [stranger.as_str(), "not-a-corp"] {
        assert_eq!(
            send(&h, answer(corp, &msg.query(), "POST")).await,
            tenant_bad
        );
    }
    let verify = crypto(t.id()).encrypt_message(b"echo", "1", "2");
    let get_query = verify
        .verify_query()
        .replacen("msg_signature=", "msg_signature=0", 1);
    let tenant_bad_get = send(&h, answer(t.id().as_str(), &get_query, "GET")).await;
    assert_eq!(tenant_bad_get, tenant_bad);
    assert_eq!(
        send(&h, answer(stranger.as_str(), &verify.verify_query(), "GET")).await,
        tenant_bad
    );
    // Parameters are checked before any look-up: the same 400 for any corp.
    let missing = send(&h, answer(stranger.as_str(), "nonce=1", "POST")).await;
    assert_eq!(
        missing,
        send(&h, answer(t.id().as_str(), "nonce=1", "POST")).await
    );
    assert_eq!(missing.0, 400);

    // A miss is remembered by the container, so a flood for one corp costs one read: a
    // corp registered meanwhile elsewhere is still unknown to this container (for a few
    // seconds), and known to a container that never missed it.
    let mut later = t.tenant.clone();
    later.id = new_tenant_id();
    assert!(h.tenants.tenant(&later.id).await.unwrap().is_none());
    assert!(DynamoTenants::new(w.db.clone())
        .create_tenant(&later)
        .await
        .unwrap());
    assert!(h.tenants.tenant(&later.id).await.unwrap().is_none());
    assert!(DynamoTenants::new(w.db.clone())
        .tenant(&later.id)
        .await
        .unwrap()
        .is_some());
    // Registering through the container itself forgets its miss at once.
    let mut own = t.tenant.clone();
    own.id = new_tenant_id();
    assert!(h.tenants.tenant(&own.id).await.unwrap().is_none());
    assert!(h.tenants.create_tenant(&own).await.unwrap());
    assert!(h.tenants.tenant(&own.id).await.unwrap().is_some());
}

// ----- crashes, takeovers and the sweep ----------------------------------------------------

/// A publisher that never returns: the delivery dies right after writing its effects,
/// before publishing (a crash: no release, the lease left to run out). `reached` is
/// notified when it gets there.
struct DiesBeforePublishing {
    reached: Arc<tokio::sync::Notify>,
}

impl EventPublisher for DiesBeforePublishing {
    async fn publish(&self, _: &[EventEnvelope]) -> Result<(), PublishError> {
        self.reached.notify_one();
        std::future::pending().await
    }
}

/// Delivers `x` once through the inbox and lets that delivery die after its effects, before
/// publishing: the directory holds the effects, nothing is published, and the receipt is
/// `received` (with its plan) under a lease nobody will release.
async fn die_after_effects(w: &World, t: &TestTenant, x: &str) {
    let dying = DiesBeforePublishing {
        reached: Arc::new(tokio::sync::Notify::new()),
    };
    let (dir, tags) = (w.dir(), DynamoTags::new(w.db.clone()));
    let inbox = Inbox {
        receipts: &dir,
        dir: &dir,
        tags: &tags,
        source: &w.client,
        publisher: &dying,
        clock: &*w.clock,
        settings: policy().inbox(),
    };
    let cb = parse_callback(x.to_string()).unwrap();
    tokio::select! {
        landed = inbox.land(&t.tenant, &cb) => panic!("the delivery was to die: {landed:?}"),
        _ = dying.reached.notified() => {}
    }
    assert!(
        events_of(w).is_empty(),
        "nothing published by the dead delivery"
    );
    let r = receipts(w, t.id()).await;
    let r = r.iter().find(|r| r.dedupe_key == cb.dedupe_key).unwrap();
    assert_eq!(r.status, ReceiptStatus::Received);
}

/// A group `wrshop` created in the directory (owner zhangsan, Alice), its events taken.
async fn created_shop(w: &World, t: &TestTenant, h: &Handler<Arc<RecordingPublisher>>) -> i64 {
    let at = now_secs(w);
    post_ok(
        h,
        t.id(),
        &xml(
            at,
            "change_external_chat",
            "create",
            &[("ChatId", "wrshop")],
        ),
    )
    .await;
    events_of(w);
    at
}

/// An `add_member` callback without MemChangeList (the members are found by comparing
/// WeCom's list with the directory), at WeCom's current member version.
async fn add_member_without_list(w: &World, corp: &str, at: i64) -> String {
    let version = group_version(w, corp).await;
    xml(
        at,
        "change_external_chat",
        "update",
        &[
            ("ChatId", "wrshop"),
            ("UpdateDetail", "add_member"),
            ("JoinScene", "3"),
            ("CurMemVer", &version),
        ],
    )
}

#[tokio::test]
async fn a_takeover_after_the_effects_publishes_what_the_first_attempt_decided() {
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id().as_str();
    let h = handler(&w);
    let at = created_shop(&w, &t, &h).await;
    // Bob joins (no MemChangeList): the first delivery writes the join, then dies.
    w.fake.update_group(corp, "wrshop", |g| {
        g.members.push(FakeMember::customer("wmbob", "Bob"))
    });
    let join = add_member_without_list(&w, corp, at + 1).await;
    die_after_effects(&w, &t, &join).await;
    let bob = w.dir().group(t.id(), "wrshop").await.unwrap().unwrap();
    assert!(bob
        .members
        .iter()
        .any(|m| m.member_id == "wmbob" && m.active));
    // The owner hands the group to lisi: the first delivery writes the new owner, dies.
    w.fake
        .update_group(corp, "wrshop", |g| g.owner = "lisi".into());
    let owner = xml(
        at + 2,
        "change_external_chat",
        "update",
        &[("ChatId", "wrshop"), ("UpdateDetail", "change_owner")],
    );
    die_after_effects(&w, &t, &owner).await;
    // After the leases, WeCom's re-deliveries take over: the events are the ones decided
    // before the effects, although the directory already holds them.
    w.clock.advance(chrono::Duration::seconds(11));
    post_ok(&h, t.id(), &join).await;
    post_ok(&h, t.id(), &owner).await;
    let events: Vec<DomainEvent> = events_of(&w).into_iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![
            DomainEvent::MemberJoinedGroup {
                chat_id: "wrshop".into(),
                member_id: "wmbob".into(),
                is_customer: true,
                join_scene: Some(3),
                state: None,
            },
            DomainEvent::GroupOwnerChanged {
                chat_id: "wrshop".into(),
                previous_owner: Some("zhangsan".into()),
                new_owner: Some("lisi".into()),
            },
        ]
    );
    let g = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (g.member_count, g.owner.as_deref()),
        (3, Some("lisi")),
        "Bob counted once"
    );
    let r = receipts(&w, t.id()).await;
    assert!(r
        .iter()
        .all(|r| r.status == ReceiptStatus::Published && r.attempts <= 2));
    // Re-delivered again: nothing more.
    post_ok(&h, t.id(), &join).await;
    assert!(events_of(&w).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn re_deliveries_racing_for_a_takeover_finish_it_once() {
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id().as_str();
    let h = handler(&w);
    let at = created_shop(&w, &t, &h).await;
    w.fake.update_group(corp, "wrshop", |g| {
        g.members.push(FakeMember::customer("wmbob", "Bob"));
        g.members.push(FakeMember::customer("wmcarol", "Carol"));
    });
    let join = add_member_without_list(&w, corp, at + 1).await;
    die_after_effects(&w, &t, &join).await;
    w.clock.advance(chrono::Duration::seconds(11));
    // Several re-deliveries at once find the lease expired: one takes the receipt over,
    // the others wait for it (longer than its work takes).
    let racing = handler_with(
        &w,
        w.recorder.clone(),
        CallbackPolicy {
            wait_for_peer: Duration::from_secs(8),
            ..policy()
        },
    );
    let deliveries: Vec<_> = (0..6)
        .map(|_| {
            let (h, corp, x) = (&racing, t.id(), &join);
            async move { post(h, corp, x).await }
        })
        .collect();
    let answers = futures::future::join_all(deliveries).await;
    assert!(
        answers
            .iter()
            .all(|(s, b)| (*s, b.clone()) == (200, json!("success"))),
        "{answers:?}"
    );
    let mut joined: Vec<(String, String)> = events_of(&w)
        .into_iter()
        .map(|e| match e.event {
            DomainEvent::MemberJoinedGroup { member_id, .. } => (member_id, e.event_id),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    joined.sort();
    assert_eq!(
        joined.iter().map(|j| j.0.as_str()).collect::<Vec<_>>(),
        ["wmbob", "wmcarol"],
        "each join published once"
    );
    let g = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.member_count, 4);
    let r = receipts(&w, t.id()).await;
    let r = r
        .iter()
        .find(|r| r.kind == "change_external_chat/update")
        .unwrap();
    assert_eq!(
        (r.status, r.attempts),
        (ReceiptStatus::Published, 2),
        "the dead delivery and exactly one takeover"
    );
}

/// Tenants: only the test's own (the tables are shared with the other tests).
struct OnlyTenant(scrm_core::tenants::Tenant);

impl TenantLookup for OnlyTenant {
    async fn tenant(
        &self,
        id: &TenantId,
    ) -> Result<Option<scrm_core::tenants::Tenant>, StoreError> {
        Ok((id == &self.0.id).then(|| self.0.clone()))
    }
    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        Ok(vec![self.0.id.clone()])
    }
}

#[tokio::test]
async fn a_receipt_left_unfinished_after_wecoms_last_retry_is_finished_by_the_sweep() {
    let w = world().await;
    let t = seeded(&w).await;
    let x = contact_xml(
        now_secs(&w),
        "add_external_contact",
        "zhangsan",
        "wmalice",
        &[("State", "ch01")],
    );
    // The delivery died after its effects, and WeCom gave up re-delivering.
    die_after_effects(&w, &t, &x).await;
    let sweep = CallbackSweep {
        tenants: OnlyTenant(t.tenant.clone()),
        dir: w.dir(),
        tags: DynamoTags::new(w.db.clone()),
        source: w.client.clone(),
        publisher: w.recorder.clone(),
        clock: w.clock.clone(),
        settings: policy().inbox(),
        batch: 10,
    };
    // While the lease runs, the sweep leaves the receipt alone.
    assert_eq!(sweep.run().await.unwrap(), Swept::default());
    assert_eq!(
        receipts(&w, t.id()).await[0].status,
        ReceiptStatus::Received
    );
    // Past the lease it finishes it: effects again (idempotent), the event, published.
    w.clock.advance(chrono::Duration::seconds(11));
    let swept = sweep.run().await.unwrap();
    assert_eq!(
        swept,
        Swept {
            finished: 1,
            ..Swept::default()
        }
    );
    let events = events_of(&w);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].event,
        DomainEvent::ContactAdded {
            external_userid: "wmalice".into(),
            userid: "zhangsan".into(),
            state: Some("ch01".into()),
            half: false,
            welcome_code: None,
        }
    );
    let r = receipts(&w, t.id()).await;
    assert_eq!((r[0].status, r[0].attempts), (ReceiptStatus::Published, 2));
    // A published receipt leaves the sweep's list; a late re-delivery does nothing.
    let h = handler(&w);
    post_ok(&h, t.id(), &x).await;
    assert!(events_of(&w).is_empty());
    assert_eq!(sweep.run().await.unwrap().finished, 0);
    assert!(events_of(&w).is_empty());
}

/// The sweep of one tenant (`OnlyTenant`), at most `batch` receipts a run.
fn sweep_of(
    w: &World,
    t: &TestTenant,
    batch: usize,
) -> CallbackSweep<OnlyTenant, scrm_adapters::wecom::WeComClient, Arc<RecordingPublisher>> {
    CallbackSweep {
        tenants: OnlyTenant(t.tenant.clone()),
        dir: w.dir(),
        tags: DynamoTags::new(w.db.clone()),
        source: w.client.clone(),
        publisher: w.recorder.clone(),
        clock: w.clock.clone(),
        settings: policy().inbox(),
        batch,
    }
}

#[tokio::test]
async fn the_sweep_walks_the_listing_and_finds_each_stuck_receipt_among_published_ones() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let sweep = sweep_of(&w, &t, 10);
    let at = now_secs(&w);
    for i in 0..5 {
        let add = contact_xml(at + i, "add_external_contact", "zhangsan", "wmalice", &[]);
        post_ok(&h, t.id(), &add).await;
    }
    events_of(&w);
    let stuck = contact_xml(at + 10, "add_external_contact", "lisi", "wmalice", &[]);
    die_after_effects(&w, &t, &stuck).await;
    w.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(sweep.run().await.unwrap().finished, 1);
    assert_eq!(events_of(&w).len(), 1);
    // Past the listing's settling time the walk's position moves on; a receipt stuck
    // later is found by a later run, and nothing is finished twice.
    w.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(sweep.run().await.unwrap(), Swept::default());
    let later = contact_xml(now_secs(&w), "del_external_contact", "lisi", "wmalice", &[]);
    die_after_effects(&w, &t, &later).await;
    assert_eq!(
        sweep.run().await.unwrap(),
        Swept::default(),
        "its lease runs"
    );
    w.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(sweep.run().await.unwrap().finished, 1);
    assert_eq!(events_of(&w).len(), 1);
    w.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(sweep.run().await.unwrap(), Swept::default());
    assert!(receipts(&w, t.id())
        .await
        .iter()
        .all(|r| r.status == ReceiptStatus::Published));
}

/// A receipt as written before receipts were kept small and listed in one place: the XML
/// and the plan as they came, the key as an attribute, in its pending listing shard.
#[tokio::test]
async fn a_receipt_written_by_the_earlier_layout_is_read_and_finished_by_the_sweep() {
    use scrm_adapters::dynamo::contacts::keys;
    use scrm_adapters::dynamo::item::{self, n, s};
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id().as_str();
    let at = now_secs(&w);
    let x = contact_xml(at, "add_external_contact", "zhangsan", "wmalice", &[]);
    let key = parse_callback(x.clone()).unwrap().dedupe_key;
    let event = DomainEvent::ContactAdded {
        external_userid: "wmalice".into(),
        userid: "zhangsan".into(),
        state: None,
        half: false,
        welcome_code: None,
    };
    let planned = vec![EventEnvelope::new(
        format!("cb:{key}:ContactAdded"),
        corp,
        chrono::DateTime::from_timestamp(at, 0).unwrap(),
        event.clone(),
    )];
    let received_at = (w.clock.now() - chrono::Duration::seconds(30))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    w.db.directory()
        .put(item::item([
            ("pk", s(keys::receipt_pk(t.id(), &key))),
            ("sk", s(keys::RECEIPT)),
            (
                "gsi3pk",
                s(keys::pending_callbacks_index(
                    t.id(),
                    keys::callback_shard(&key),
                )),
            ),
            ("gsi3sk", s(format!("{received_at}#{key}"))),
            ("dedupe_key", s(&key)),
            ("kind", s("change_external_contact/add_external_contact")),
            (
                "unknown",
                aws_sdk_dynamodb::types::AttributeValue::Bool(false),
            ),
            ("xml", s(&x)),
            ("event_time", n(at)),
            ("status", s("received")),
            ("received_at", s(&received_at)),
            ("attempts", n(1)),
            ("lease_owner", s("a-delivery-that-died")),
            ("lease_until", n(w.clock.now().timestamp_millis() - 1)),
            ("planned", item::json(&planned)),
        ]))
        .await
        .unwrap();
    let r = receipts(&w, t.id()).await;
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].dedupe_key.as_str(), r[0].xml.as_str(), r[0].status),
        (key.as_str(), x.as_str(), ReceiptStatus::Received)
    );
    // The sweep finds it in its pending shard and publishes the recorded plan.
    assert_eq!(sweep_of(&w, &t, 10).run().await.unwrap().finished, 1);
    let events = events_of(&w);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, planned[0].event_id);
    assert_eq!(events[0].event, event);
    let r = receipts(&w, t.id()).await;
    assert_eq!(
        (r[0].status, r[0].events),
        (ReceiptStatus::Published, Some(1))
    );
    // Published, it has left the pending shard: no sweep reads it again.
    let stored =
        w.db.directory()
            .get_consistent(keys::receipt_pk(t.id(), &key), keys::RECEIPT)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        stored.get("gsi3pk").and_then(|v| v.as_s().ok()),
        Some(&keys::callbacks_index(t.id(), keys::callback_shard(&key)))
    );
    assert_eq!(sweep_of(&w, &t, 10).run().await.unwrap(), Swept::default());
    let h = handler(&w);
    post_ok(&h, t.id(), &x).await;
    assert!(events_of(&w).is_empty(), "a late re-delivery does nothing");
}

// ----- keys, replays and one event per fact ------------------------------------------------

#[tokio::test]
async fn two_state_changes_within_one_second_both_land() {
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id().as_str();
    let h = handler(&w);
    let at = now_secs(&w);
    post_ok(
        &h,
        t.id(),
        &contact_xml(at, "add_external_contact", "zhangsan", "wmalice", &[]),
    )
    .await;
    // Two remark edits in the same second: WeCom's two callbacks are identical.
    let edit = contact_xml(at + 1, "edit_external_contact", "zhangsan", "wmalice", &[]);
    w.fake.update_customer(corp, "wmalice", |c| {
        c.follows[0].remark = "first edit".into()
    });
    post_ok(&h, t.id(), &edit).await;
    w.fake.update_customer(corp, "wmalice", |c| {
        c.follows[0].remark = "second edit".into()
    });
    post_ok(&h, t.id(), &edit).await;
    let c = w.dir().customer(t.id(), "wmalice").await.unwrap().unwrap();
    assert_eq!(
        c.follow_users[0].remark.as_deref(),
        Some("second edit"),
        "the second delivery read WeCom's state again"
    );
    // A group renamed twice within one second, likewise.
    post_ok(
        &h,
        t.id(),
        &xml(
            at,
            "change_external_chat",
            "create",
            &[("ChatId", "wrshop")],
        ),
    )
    .await;
    let rename = xml(
        at + 1,
        "change_external_chat",
        "update",
        &[("ChatId", "wrshop"), ("UpdateDetail", "change_name")],
    );
    w.fake
        .update_group(corp, "wrshop", |g| g.name = "first name".into());
    post_ok(&h, t.id(), &rename).await;
    w.fake
        .update_group(corp, "wrshop", |g| g.name = "second name".into());
    post_ok(&h, t.id(), &rename).await;
    let g = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.name.as_deref(), Some("second name"));
    // One receipt and one event per distinct message.
    let kinds: Vec<String> = events_of(&w)
        .into_iter()
        .map(|e| e.event.detail_type().to_string())
        .filter(|k| k == "ContactEdited" || k == "GroupUpdated")
        .collect();
    assert_eq!(kinds, ["ContactEdited", "GroupUpdated"]);
    // A message that differs in anything WeCom sent is another callback.
    let edit_other = contact_xml(
        at + 1,
        "edit_external_contact",
        "zhangsan",
        "wmalice",
        &[("State", "ch02")],
    );
    post_ok(&h, t.id(), &edit_other).await;
    assert_eq!(events_of(&w).len(), 1);
}

#[tokio::test]
async fn stale_or_future_timestamps_are_refused_and_write_nothing() {
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id();
    let h = handler_with(
        &w,
        w.recorder.clone(),
        CallbackPolicy {
            timestamp_window: Duration::from_secs(300),
            ..policy()
        },
    );
    let now = now_secs(&w);
    // A captured callback, replayed days later with its valid signature.
    let x = contact_xml(now, "add_external_contact", "zhangsan", "wmalice", &[]);
    let old = (now - 90 * 24 * 3600).to_string();
    for (timestamp, code) in [
        (old.as_str(), "stale_timestamp"),
        (&(now - 301).to_string(), "stale_timestamp"),
        (&(now + 301).to_string(), "stale_timestamp"),
        ("yesterday", "bad_timestamp"),
    ] {
        let (status, body) = send(&h, post_request_at(corp, &x, timestamp)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{timestamp}: {body}"
        );
    }
    assert!(receipts(&w, corp).await.is_empty());
    assert!(w.dir().customer(corp, "wmalice").await.unwrap().is_none());
    assert!(events_of(&w).is_empty());
    assert_eq!(w.fake.calls(paths::EXTERNAL_CONTACT_GET), 0);
    // Within the window (a late WeCom retry, a skewed clock) it lands.
    let (status, _) = send(&h, post_request_at(corp, &x, &(now - 299).to_string())).await;
    assert_eq!(status, 200);
    assert_eq!(events_of(&w).len(), 1);
}

#[tokio::test]
async fn a_leave_is_published_only_when_it_was_applied() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let at = created_shop(&w, &t, &h).await;
    let leave = |at: i64, who: &str| {
        let list = member_list(&[who]);
        xml(
            at,
            "change_external_chat",
            "update",
            &[
                ("ChatId", "wrshop"),
                ("UpdateDetail", "del_member"),
                ("QuitScene", "0"),
                ("MemChangeCnt", "1"),
                ("<", &list),
            ],
        )
    };
    // Someone who was never in the group: recorded, not published, not uncounted.
    post_ok(&h, t.id(), &leave(at + 1, "wmghost")).await;
    assert!(events_of(&w).is_empty());
    // Alice leaves: one event; a second leave of hers (another callback) publishes nothing.
    w.fake.update_group(t.id().as_str(), "wrshop", |g| {
        g.members.retain(|m| m.userid != "wmalice")
    });
    post_ok(&h, t.id(), &leave(at + 2, "wmalice")).await;
    let events: Vec<DomainEvent> = events_of(&w).into_iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![DomainEvent::MemberLeftGroup {
            chat_id: "wrshop".into(),
            member_id: "wmalice".into(),
            is_customer: true,
            quit_scene: Some(0),
        }]
    );
    post_ok(&h, t.id(), &leave(at + 3, "wmalice")).await;
    assert!(events_of(&w).is_empty());
    let g = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.member_count, 1, "only zhangsan left in the group");
}

#[tokio::test]
async fn a_member_listed_at_creation_and_again_in_add_member_is_one_event() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let at = now_secs(&w);
    post_ok(
        &h,
        t.id(),
        &xml(
            at,
            "change_external_chat",
            "create",
            &[("ChatId", "wrshop")],
        ),
    )
    .await;
    let joined: Vec<String> = events_of(&w)
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::MemberJoinedGroup { member_id, .. } => Some(member_id),
            _ => None,
        })
        .collect();
    assert_eq!(joined, ["zhangsan", "wmalice"]);
    // WeCom also reports Alice's join with an add_member: the directory has her already.
    let list = member_list(&["wmalice"]);
    post_ok(
        &h,
        t.id(),
        &xml(
            at + 1,
            "change_external_chat",
            "update",
            &[
                ("ChatId", "wrshop"),
                ("UpdateDetail", "add_member"),
                ("JoinScene", "3"),
                ("MemChangeCnt", "1"),
                ("<", &list),
            ],
        ),
    )
    .await;
    assert!(events_of(&w).is_empty(), "one fact, one event");
    let g = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.member_count, 2);
}

// ----- write budget, counters and coalesced reads ----------------------------------------

/// A handler whose directory writes are metered (`scrm_tests::meter`).
fn metered_handler(w: &World) -> (Handler<Arc<RecordingPublisher>>, scrm_tests::meter::Meter) {
    let meter = scrm_tests::meter::Meter::new(w.db.tables.clone());
    let metered = scrm_adapters::dynamo::Db::new(meter.client(&w.db.client), w.db.tables.clone());
    let h = CallbackHandler {
        tenants: DynamoTenants::new(w.db.clone()),
        dir: DynamoDirectory::new(metered.clone()),
        tags: DynamoTags::new(metered),
        source: w.client.clone(),
        publisher: w.recorder.clone(),
        clock: w.clock.clone(),
        policy: policy(),
    };
    (h, meter)
}

fn join_xml(at: i64, member: &str, version: &str) -> String {
    xml(
        at,
        "change_external_chat",
        "update",
        &[
            ("ChatId", "wrshop"),
            ("UpdateDetail", "add_member"),
            ("JoinScene", "3"),
            ("<", &member_list(&[member])),
            ("CurMemVer", version),
        ],
    )
}

#[tokio::test]
async fn a_duplicate_callback_writes_nothing_and_a_join_takes_three_writes() {
    let w = world().await;
    let t = seeded(&w).await;
    let (h, meter) = metered_handler(&w);
    let at = created_shop(&w, &t, &h).await;
    let add = contact_xml(at, "add_external_contact", "zhangsan", "wmalice", &[]);
    post_ok(&h, t.id(), &add).await;
    events_of(&w);
    meter.take();
    post_ok(&h, t.id(), &add).await;
    let dup = meter.take();
    assert_eq!(
        (dup.requests, dup.units),
        (0, 0.0),
        "a duplicate writes nothing"
    );
    assert!(events_of(&w).is_empty());
    // A member joining a group whose detail was just fetched: the receipt with its plan,
    // the membership (its count entry with it), the receipt published.
    let join = join_xml(at + 1, "wmbob", "v2");
    post_ok(&h, t.id(), &join).await;
    let new = meter.take();
    assert_eq!(new.requests, 3, "{new:?}");
    assert_eq!(events_of(&w).len(), 1);
    post_ok(&h, t.id(), &join).await;
    let dup = meter.take();
    assert_eq!((dup.requests, dup.units), (0, 0.0));
    assert!(events_of(&w).is_empty());
}

/// The write budget of a callback (issue 13), counted by the meter from what DynamoDB Local
/// reports (transactions from item sizes: 2 units per KB started, per item and index
/// entry): a new contact, a new member join into a group whose detail is fresh, and a
/// duplicate of each.
/// What the meter counted since it was last taken, its index partitions resolved.
async fn metered_writes(w: &World, meter: &scrm_tests::meter::Meter) -> scrm_tests::meter::Tally {
    let mut tally = meter.take();
    meter
        .resolve(&mut tally, &w.db.client)
        .await
        .expect("index keys read");
    tally
}

#[tokio::test]
async fn a_new_contact_and_a_new_join_stay_within_their_write_budget() {
    let w = world().await;
    let t = seeded(&w).await;
    let (h, meter) = metered_handler(&w);
    let at = created_shop(&w, &t, &h).await;
    meter.take();
    // A new contact: the receipt with its plan (1, its listing entry 1), the customer's
    // profile (1, its name and listing entries 2), the relation (1), the receipt published
    // (1). The staff member is known: read, not written.
    let add = contact_xml(at, "add_external_contact", "zhangsan", "wmalice", &[]);
    post_ok(&h, t.id(), &add).await;
    let contact = metered_writes(&w, &meter).await;
    eprintln!("new contact: {contact:?}");
    assert_eq!(events_of(&w).len(), 1);
    assert_eq!(
        (contact.requests, contact.units),
        (4, 7.0),
        "a new contact's writes: {contact:?}"
    );
    post_ok(&h, t.id(), &add).await;
    let dup = metered_writes(&w, &meter).await;
    assert_eq!(
        (dup.requests, dup.units),
        (0, 0.0),
        "a duplicate writes nothing"
    );
    assert!(events_of(&w).is_empty());
    // A new member join (issue 13: at most 6 units in 3 requests): the receipt with its
    // plan (1 + listing entry 1), the membership (1, its entry in the member's groups 1 and
    // in the group's count 1; no transaction, no counters item), the receipt published (1,
    // its listing entry unchanged).
    let join = join_xml(at + 1, "wmbob", "v2");
    post_ok(&h, t.id(), &join).await;
    let joined = metered_writes(&w, &meter).await;
    eprintln!("new join: {joined:?}");
    assert_eq!(events_of(&w).len(), 1);
    assert!(
        joined.requests <= 3 && joined.units <= 6.0,
        "a new join's writes over budget: {joined:?}"
    );
    assert_eq!(
        (joined.requests, joined.units),
        (3, 6.0),
        "a new join's writes: {joined:?}"
    );
    let count_entry = format!("{}#GMEMBERS#wrshop", t.id().as_str());
    assert!(
        joined
            .by_partition
            .iter()
            .any(|(p, u)| p.index.as_deref() == Some("gsi4") && p.key == count_entry && *u == 1.0),
        "the join is counted by its entry in the group's count: {joined:?}"
    );

    post_ok(&h, t.id(), &join).await;
    let dup = metered_writes(&w, &meter).await;
    assert_eq!(
        (dup.requests, dup.units),
        (0, 0.0),
        "a duplicate writes nothing"
    );
    assert!(events_of(&w).is_empty());
    // Every effect happened once.
    let group = w.dir().group(t.id(), "wrshop").await.unwrap().unwrap();
    assert!(group
        .members
        .iter()
        .any(|m| m.member_id == "wmbob" && m.active));
    let r = receipts(&w, t.id()).await;
    assert!(r.iter().all(|r| r.status == ReceiptStatus::Published));
    assert!(r.iter().any(|r| r.xml == join && r.events == Some(1)));
    assert!(r.iter().any(|r| r.xml == add && r.events == Some(1)));
}

#[tokio::test]
async fn concurrent_joins_to_one_group_keep_the_right_member_count() {
    let w = world().await;
    let t = seeded(&w).await;
    let h = handler(&w);
    let at = created_shop(&w, &t, &h).await;
    let before = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap()
        .member_count;
    let joiners: Vec<String> = (0..12).map(|i| format!("wmjoiner{i:02}")).collect();
    let sends = joiners.iter().enumerate().map(|(i, m)| {
        let x = join_xml(at + 1, m, &format!("v-{i}"));
        let h = &h;
        let corp = t.id();
        async move {
            // WeCom re-delivers what was not answered 200.
            for _ in 0..5 {
                if post(h, corp, &x).await.0 == 200 {
                    return;
                }
            }
            panic!("a join was never landed");
        }
    });
    futures::future::join_all(sends).await;
    let group = w.dir().group(t.id(), "wrshop").await.unwrap().unwrap();
    assert_eq!(group.group.member_count, before + 12);
    assert_eq!(
        group.members.iter().filter(|m| m.active).count() as i64,
        before + 12
    );
    let joined = events_of(&w)
        .into_iter()
        .filter(|e| matches!(e.event, DomainEvent::MemberJoinedGroup { .. }))
        .count();
    assert_eq!(joined, 12, "one event per join");
    // Delivered again, none counts twice.
    for m in &joiners {
        let i = joiners.iter().position(|j| j == m).unwrap();
        post_ok(&h, t.id(), &join_xml(at + 1, m, &format!("v-{i}"))).await;
    }
    let profile = w
        .dir()
        .group_profile(t.id(), "wrshop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile.member_count, before + 12);
}

#[tokio::test]
async fn joins_soon_after_a_fetch_do_not_fetch_the_group_again() {
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id().as_str();
    let h = handler(&w);
    let at = created_shop(&w, &t, &h).await;
    let fetched = w.fake.calls(paths::GROUPCHAT_GET);
    for i in 0..5 {
        let member = format!("wmburst{i}");
        w.fake.update_group(corp, "wrshop", |g| {
            g.members.push(FakeMember::customer(&member, "新人"))
        });
        post_ok(
            &h,
            t.id(),
            &join_xml(at + 1 + i, &member, &format!("v-b{i}")),
        )
        .await;
    }
    assert_eq!(
        w.fake.calls(paths::GROUPCHAT_GET),
        fetched,
        "a burst within the window fetches nothing"
    );
    let group = w.dir().group(t.id(), "wrshop").await.unwrap().unwrap();
    assert!(group
        .members
        .iter()
        .any(|m| m.member_id == "wmburst4" && m.active && m.is_customer));
    assert_eq!(group.group.member_version.as_deref(), Some("v-b4"));
    assert!(!group.group.needs_sync, "nothing was missed");
    // Past the window, the next join reads WeCom's detail again.
    let later = at + scrm_core::contacts::apply::DETAIL_FRESH_SECONDS + 10;
    w.fake.update_group(corp, "wrshop", |g| {
        g.members.push(FakeMember::customer("wmlate", "Late"))
    });
    let version = group_version(&w, corp).await;
    let fetched = w.fake.calls(paths::GROUPCHAT_GET);
    post_ok(&h, t.id(), &join_xml(later, "wmlate", &version)).await;
    assert_eq!(w.fake.calls(paths::GROUPCHAT_GET), fetched + 1);
}
