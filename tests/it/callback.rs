//! WeCom callbacks through the real `wecom-callback` handler, against DynamoDB Local and the
//! fake WeCom server: URL verification, every event kind and its effect, exactly-once
//! landing (duplicates, concurrent deliveries, a delivery that died midway), rejections
//! that write nothing, unknown events, and WeCom's API failing during a callback.
use crate::directory::{admin_call, world, World};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoTags;
use scrm_adapters::dynamo::DynamoTenants;
use scrm_adapters::wecom::fake::*;
use scrm_core::clock::Clock;
use scrm_core::contacts::receipts::{NewReceipt, ReceiptStatus, ReceiptStore};
use scrm_core::contacts::DirectoryRead;
use scrm_core::events::{
    DomainEvent, EventEnvelope, EventPublisher, PublishError, RecordingPublisher, RemovedBy,
};
use scrm_core::tenants::TenantId;
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

/// A signed, encrypted POST for a tenant.
fn post_request(corp: &TenantId, plaintext: &str) -> lambda_http::Request {
    let msg = crypto(corp).encrypt_message(plaintext.as_bytes(), "1409659813", "1372623149");
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
            half: false
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
            join_scene: Some(3)
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

#[tokio::test]
async fn concurrent_deliveries_of_one_callback_give_one_effect() {
    let w = world().await;
    let t = seeded(&w).await;
    let corp = t.id().as_str();
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
    let (a, b, c, d, e) = tokio::join!(
        post(&h, t.id(), &x),
        post(&h, t.id(), &x),
        post(&h, t.id(), &x),
        post(&h, t.id(), &x),
        post(&h, t.id(), &x)
    );
    let statuses: Vec<u16> = [a, b, c, d, e].iter().map(|(s, _)| *s).collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    let joined: Vec<_> = events_of(&w);
    assert_eq!(joined.len(), 1, "one MemberJoinedGroup: {joined:?}");
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
    let good = crypto(corp).encrypt_message(x.as_bytes(), "1409659813", "1372623149");
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
    let garbage_plain = crypto(corp).encrypt_message(b"this is not xml <<<", "1", "2");
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
            404,
            "unknown_tenant",
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
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
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
