//! Group codes (群活码), end to end on DynamoDB Local and the fake WeCom server: created
//! through the admin API (idempotent on the key), a join way offering the first groups of
//! the pool below `full_at`, rotated by the `growth-on-event` consumer as customers' joins
//! fill groups (the directory counts them first, as the callback does), QR joins counted
//! once per event, edits, deletes, and bad input that writes nothing.
use crate::directory::{admin_call, test_now, world, World};
use crate::growth::{admin, corp};
use growth_on_event_fn::{apply_join, GrowthOnEvent};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoGrowth, DynamoTenants};
use scrm_adapters::wecom::fake::*;
use scrm_adapters::wecom::WeComClient;
use scrm_core::contacts::{DirectoryWrite, MemberWrite};
use scrm_core::events::{DomainEvent, EventEnvelope};
use scrm_core::growth::group_code_event::{JoinHandled, JoinOutcome};
use scrm_core::growth::GroupCodeStore;
use scrm_core::wecom::api::{paths, GroupChat, GroupMember};
use scrm_tests::*;
use serde_json::{json, Value};

type Consumer = GrowthOnEvent<DynamoGrowth, WeComClient, DynamoDirectory, DynamoTenants>;

fn consumer(w: &World) -> Consumer {
    GrowthOnEvent {
        store: DynamoGrowth::new(w.db.clone()),
        wecom: w.client.clone(),
        facts: DynamoDirectory::new(w.db.clone()),
        tenants: DynamoTenants::new(w.db.clone()),
        clock: w.clock.clone(),
        materials: std::sync::Arc::new(scrm_core::content::NoMaterials),
        links: std::sync::Arc::new(scrm_core::links::tracker::NoTracking),
    }
}

/// Epoch seconds of the directory's writes: each later than the last.
const SEEDED_AT: i64 = 1_772_400_000;

/// A group with `members` members (the owner and customers), in the fake corp and in
/// the directory (its detail and its memberships, counted).
pub(crate) async fn group(w: &World, t: &TestTenant, chat_id: &str, members: usize) {
    let corp = t.id().as_str();
    let mut fake = FakeGroup::new(chat_id, format!("福利群 {chat_id}"), "zhangsan");
    let mut list = vec![GroupMember {
        userid: "zhangsan".into(),
        member_type: 1,
        ..GroupMember::default()
    }];
    for i in 1..members {
        let id = format!("wm{chat_id}{i:03}");
        fake = fake.with_member(FakeMember::customer(&id, "客户"));
        list.push(GroupMember {
            userid: id,
            member_type: 2,
            join_scene: 3,
            ..GroupMember::default()
        });
    }
    w.fake.add_group(corp, fake);
    let chat = GroupChat {
        chat_id: chat_id.into(),
        name: format!("福利群 {chat_id}"),
        owner: "zhangsan".into(),
        member_list: list,
        ..GroupChat::default()
    };
    assert!(w
        .dir()
        .put_group_detail(t.id(), &chat, Some(0), SEEDED_AT)
        .await
        .unwrap());
    // As a group's creation or a re-sync leaves it: every member held, so joins are
    // counted by their memberships.
    let members: Vec<MemberWrite> = chat.member_list.iter().map(MemberWrite::from_api).collect();
    w.dir()
        .put_members(t.id(), chat_id, &members, SEEDED_AT)
        .await
        .unwrap();
    w.dir().mark_members_counted(t.id(), chat_id).await.unwrap();
}

/// A customer joins `chat_id` by QR code (scene 3) or invitation (0): the directory
/// counts them, as the callback does before it publishes, and the event is answered.
async fn join(
    w: &World,
    t: &TestTenant,
    event_id: &str,
    chat_id: &str,
    customer: &str,
    scene: i64,
) -> EventEnvelope {
    let member = MemberWrite {
        member_id: customer.into(),
        is_customer: true,
        join_time: Some(SEEDED_AT + 10),
        join_scene: Some(scene),
        invitor: None,
        group_nickname: None,
        name: None,
        state: None,
    };
    w.dir()
        .member_joined(t.id(), chat_id, &member, SEEDED_AT + 10)
        .await
        .unwrap();
    EventEnvelope {
        event_id: event_id.into(),
        tenant: t.id().to_string(),
        occurred_at: test_now(),
        event: DomainEvent::MemberJoinedGroup {
            chat_id: chat_id.into(),
            member_id: customer.into(),
            is_customer: true,
            join_scene: Some(scene),
            state: None,
        },
    }
}

async fn deliver(w: &World, env: &EventEnvelope) -> JoinHandled {
    match apply_join(&consumer(w), env).await.unwrap() {
        JoinOutcome::Handled(h) => h,
        other => panic!("not handled: {other:?}"),
    }
}

fn create_request(bearer: &str, key: &str, body: &Value) -> lambda_http::Request {
    let mut req = json_request("POST", "/v1/growth/group-codes", bearer, body);
    req.headers_mut()
        .insert("idempotency-key", key.parse().expect("header"));
    req
}

async fn create(w: &World, t: &TestTenant, key: &str, body: Value) -> Value {
    let (status, code) = admin_call(&admin(w), create_request(&t.bearer(), key, &body)).await;
    assert_eq!(status, 201, "{code}");
    assert_eq!(code["status"], "active", "{code}");
    code
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

async fn stored(w: &World, t: &TestTenant, state: &str) -> Value {
    let (status, code) = admin_call(
        &admin(w),
        get_request(&format!("/v1/growth/group-codes/{state}"), &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{code}");
    code
}

#[tokio::test]
async fn a_create_offers_the_first_five_groups_once_per_key() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let pool: Vec<String> = (1..=7).map(|i| format!("wrpool{i}")).collect();
    for chat in &pool {
        group(&w, &t, chat, 10).await;
    }
    let body = json!({ "name": "会员福利群活码", "chat_ids": pool });
    let code = create(&w, &t, "group-1", body.clone()).await;
    let state = code["state"].as_str().unwrap().to_string();
    assert!(state.starts_with("gc") && state.len() == 18, "{state}");
    assert_eq!(strings(&code["current"]), pool[..5]);
    assert_eq!(
        (code["full_at"].clone(), code["all_full"].clone()),
        (json!(195), json!(false))
    );
    let way = w.fake.join_way_by_state(c, &state).expect("the join way");
    assert_eq!(way.chat_id_list, pool[..5]);
    assert_eq!((way.scene, way.auto_create_room), (2, 0));
    assert_eq!(code["qr_code"], json!(way.qr_code));
    assert_eq!(code["config_id"], json!(way.config_id));
    // The same key again: the same code, nothing created twice.
    let (status, again) =
        admin_call(&admin(&w), create_request(&t.bearer(), "group-1", &body)).await;
    assert_eq!((status, again["state"].clone()), (200, json!(state)));
    assert_eq!(w.fake.calls(paths::ADD_JOIN_WAY), 1);
    assert_eq!(w.fake.join_ways(c).len(), 1);
    let other = json!({ "name": "另一个", "chat_ids": pool });
    let (status, reused) =
        admin_call(&admin(&w), create_request(&t.bearer(), "group-1", &other)).await;
    assert_eq!(
        (status, reused["error"]["code"].clone()),
        (409, json!("idempotency_key_reused"))
    );
    let (status, list) = admin_call(
        &admin(&w),
        get_request("/v1/growth/group-codes", &t.bearer()),
    )
    .await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 1));

    // An edit from the current version: a shorter pool, overwritten at WeCom.
    let edit = |version: &Value| {
        json_request(
            "PUT",
            &format!("/v1/growth/group-codes/{state}"),
            &t.bearer(),
            &json!({ "version": version, "name": "会员福利群活码", "chat_ids": [pool[6], pool[5]], "full_at": 150 }),
        )
    };
    let (status, edited) = admin_call(&admin(&w), edit(&code["version"])).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        strings(&edited["current"]),
        [pool[6].clone(), pool[5].clone()]
    );
    let way = w.fake.join_way_by_state(c, &state).unwrap();
    assert_eq!(way.chat_id_list, [pool[6].clone(), pool[5].clone()]);
    let (status, stale) = admin_call(&admin(&w), edit(&code["version"])).await;
    assert_eq!(
        (status, stale["error"]["code"].clone()),
        (409, json!("version_conflict"))
    );
    // A group out of the pool is no longer an entry to the code.
    let growth = DynamoGrowth::new(w.db.clone());
    assert!(growth
        .codes_of_chat(t.id(), &pool[0])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        growth.codes_of_chat(t.id(), &pool[6]).await.unwrap(),
        [state]
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_every_problem_and_writes_nothing() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    group(&w, &t, "wrknown", 3).await;
    let many: Vec<String> = (0..101).map(|i| format!("wrmany{i}")).collect();
    let cases = [
        (json!({ "name": "x", "chat_ids": [] }), "chat_ids"),
        (json!({ "name": "x", "chat_ids": many }), "chat_ids"),
        (
            json!({ "name": "x", "chat_ids": ["wrknown", "wrknown"] }),
            "chat_ids[1]",
        ),
        (
            json!({ "name": "x", "chat_ids": ["wrknown", "wrnobody"] }),
            "chat_ids[1]",
        ),
        (
            json!({ "name": "x", "chat_ids": ["wrknown"], "full_at": 0 }),
            "full_at",
        ),
        (
            json!({ "name": "x", "chat_ids": ["wrknown"], "full_at": 201 }),
            "full_at",
        ),
        (
            json!({ "name": "x", "chat_ids": ["wrknown"], "auto_create_room": true }),
            "room_base_name",
        ),
        (
            json!({ "name": "x", "chat_ids": ["wrknown"], "auto_create_room": true, "room_base_name": "群".repeat(41) }),
            "room_base_name",
        ),
    ];
    for (i, (body, field)) in cases.iter().enumerate() {
        let (status, err) = admin_call(
            &admin(&w),
            create_request(&t.bearer(), &format!("bad-{i}"), body),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (400, json!("validation_failed")),
            "{body}: {err}"
        );
        let fields: Vec<&str> = err["error"]["details"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(field), "{body}: {err}");
    }
    let (status, unknown) = admin_call(
        &admin(&w),
        create_request(
            &t.bearer(),
            "x",
            &json!({ "name": "x", "chat_ids": ["wrknown"], "state": "mine" }),
        ),
    )
    .await;
    assert_eq!(status, 400, "{unknown}");
    let (_, list) = admin_call(
        &admin(&w),
        get_request("/v1/growth/group-codes", &t.bearer()),
    )
    .await;
    assert_eq!(list["items"], json!([]));
    assert_eq!(w.fake.calls(paths::ADD_JOIN_WAY), 0);
    assert!(w.fake.join_ways(c).is_empty());
    let growth = DynamoGrowth::new(w.db.clone());
    assert!(growth
        .codes_of_chat(t.id(), "wrknown")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_group_reaching_full_at_leaves_the_code_once() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    let pool: Vec<String> = (1..=6).map(|i| format!("wrfill{i}")).collect();
    for chat in &pool[..5] {
        group(&w, &t, chat, 2).await;
    }
    group(&w, &t, &pool[5], 1).await;
    let code = create(
        &w,
        &t,
        "fill",
        json!({ "name": "满群轮换", "chat_ids": pool, "full_at": 3 }),
    )
    .await;
    let state = code["state"].as_str().unwrap().to_string();
    assert_eq!(strings(&code["current"]), pool[..5]);
    // A join into a group that stays below full_at changes nothing at WeCom.
    let into_second = join(&w, &t, "ev-a", &pool[5], "wmoutsider", 3).await;
    let h = deliver(&w, &into_second).await;
    assert!(
        h.rotated.is_empty() && h.counted.is_empty(),
        "not offered now: {h:?}"
    );
    // The first group's third member: full, the sixth group comes in.
    let env = join(&w, &t, "ev-b", &pool[0], "wmthird", 3).await;
    let h = deliver(&w, &env).await;
    assert_eq!(
        (h.counted.clone(), h.rotated.clone()),
        (vec![state.clone()], vec![state.clone()])
    );
    let code = stored(&w, &t, &state).await;
    assert_eq!(strings(&code["current"]), pool[1..6]);
    assert_eq!(code["all_full"], false);
    assert_eq!(code["version"], 3, "created (2), rotated (3)");
    assert_eq!(
        w.fake.join_way_by_state(c, &state).unwrap().chat_id_list,
        pool[1..6]
    );
    assert_eq!(w.fake.calls(paths::UPDATE_JOIN_WAY), 1);
    // Delivered again: nothing counted or sent twice.
    let again = deliver(&w, &env).await;
    assert_eq!(again, JoinHandled::default());
    assert_eq!(w.fake.calls(paths::UPDATE_JOIN_WAY), 1);
}

#[tokio::test]
async fn a_full_pool_keeps_its_last_groups_or_the_last_for_auto_created_rooms() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    for chat in ["wrlast1", "wrlast2"] {
        group(&w, &t, chat, 1).await;
    }
    group(&w, &t, "wrlast3", 2).await;
    let plain = create(
        &w,
        &t,
        "plain",
        json!({ "name": "不建群", "chat_ids": ["wrlast1", "wrlast2", "wrlast3"], "full_at": 2 }),
    )
    .await;
    let auto = create(
        &w,
        &t,
        "auto",
        json!({ "name": "自动建群", "chat_ids": ["wrlast1", "wrlast3"], "full_at": 2,
                "auto_create_room": true, "room_base_name": "福利群", "room_base_id": 10 }),
    )
    .await;
    assert_eq!(strings(&plain["current"]), ["wrlast1", "wrlast2"]);
    assert_eq!(strings(&auto["current"]), ["wrlast1"]);
    let auto_way = w
        .fake
        .join_way_by_state(c, auto["state"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        (
            auto_way.auto_create_room,
            auto_way.room_base_name.as_str(),
            auto_way.room_base_id
        ),
        (1, "福利群", 10)
    );
    deliver(&w, &join(&w, &t, "ev-1", "wrlast1", "wmc1", 3).await).await;
    let h = deliver(&w, &join(&w, &t, "ev-2", "wrlast2", "wmc2", 3).await).await;
    assert_eq!(h.rotated.len(), 1, "{h:?}");
    let plain = stored(&w, &t, plain["state"].as_str().unwrap()).await;
    assert_eq!(
        strings(&plain["current"]),
        ["wrlast1", "wrlast2", "wrlast3"]
    );
    assert_eq!(plain["all_full"], true);
    let auto = stored(&w, &t, auto["state"].as_str().unwrap()).await;
    assert_eq!(strings(&auto["current"]), ["wrlast3"]);
    assert_eq!(auto["all_full"], true);
    let auto_way = w
        .fake
        .join_way_by_state(c, auto["state"].as_str().unwrap())
        .unwrap();
    assert_eq!(auto_way.chat_id_list, ["wrlast3"]);
    assert_eq!(
        auto_way.auto_create_room, 1,
        "the update sends every setting"
    );
}

#[tokio::test]
async fn qr_joins_are_counted_once_for_each_code_offering_the_group() {
    let w = world().await;
    let t = corp(&w).await;
    group(&w, &t, "wrcount1", 5).await;
    group(&w, &t, "wrcount2", 5).await;
    let a = create(
        &w,
        &t,
        "count-a",
        json!({ "name": "A", "chat_ids": ["wrcount1", "wrcount2"] }),
    )
    .await;
    let b = create(
        &w,
        &t,
        "count-b",
        json!({ "name": "B", "chat_ids": ["wrcount1"] }),
    )
    .await;
    let (a, b) = (a["state"].as_str().unwrap(), b["state"].as_str().unwrap());
    let qr = join(&w, &t, "ev-qr", "wrcount1", "wmqr", 3).await;
    let mut counted = deliver(&w, &qr).await.counted;
    counted.sort();
    let mut both = vec![a.to_string(), b.to_string()];
    both.sort();
    assert_eq!(counted, both);
    assert!(
        deliver(&w, &qr).await.counted.is_empty(),
        "a re-delivery counts nothing"
    );
    let invited = join(&w, &t, "ev-inv", "wrcount1", "wminvited", 0).await;
    assert!(
        deliver(&w, &invited).await.counted.is_empty(),
        "an invitation is no QR join"
    );
    deliver(&w, &join(&w, &t, "ev-qr2", "wrcount2", "wmqr2", 3).await).await;
    let (status, figures) = admin_call(
        &admin(&w),
        get_request(
            &format!("/v1/growth/group-codes/{a}/figures?from=2026-03-01&to=2026-03-02"),
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{figures}");
    assert_eq!(figures["joined"], 2);
    assert_eq!(
        figures["days"][0],
        json!({ "date": "2026-03-01", "joined": 0, "groups": [] })
    );
    assert_eq!(
        figures["days"][1],
        json!({ "date": "2026-03-02", "joined": 2, "groups": [
            { "chat_id": "wrcount1", "joined": 1 }, { "chat_id": "wrcount2", "joined": 1 }
        ] })
    );
    let (status, _) = admin_call(
        &admin(&w),
        get_request(
            &format!("/v1/growth/group-codes/{a}/figures?from=2026-01-01&to=2026-04-30"),
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(status, 400, "more than 92 days");
}

#[tokio::test]
async fn a_delete_removes_the_join_way_and_viewers_cannot_write() {
    let w = world().await;
    let t = corp(&w).await;
    let c = t.id().as_str();
    group(&w, &t, "wrdel", 3).await;
    let code = create(
        &w,
        &t,
        "del",
        json!({ "name": "删除", "chat_ids": ["wrdel"] }),
    )
    .await;
    let state = code["state"].as_str().unwrap().to_string();
    let viewer = key_with_role(&w.db, t.id(), scrm_core::tenants::Role::Viewer).await;
    let viewer = format!("Bearer {}", viewer.reveal());
    let api = admin(&w);
    let path = format!("/v1/growth/group-codes/{state}");
    assert_eq!(admin_call(&api, get_request(&path, &viewer)).await.0, 200);
    let body = json!({ "name": "v", "chat_ids": ["wrdel"] });
    assert_eq!(
        admin_call(&api, create_request(&viewer, "v", &body))
            .await
            .0,
        403
    );
    let put = json_request(
        "PUT",
        &path,
        &viewer,
        &json!({ "version": 2, "name": "v", "chat_ids": ["wrdel"] }),
    );
    assert_eq!(admin_call(&api, put).await.0, 403);
    let del = |bearer: &str| request("DELETE", &path, &[("authorization", bearer)], None);
    assert_eq!(admin_call(&api, del(&viewer)).await.0, 403);
    assert!(w.fake.join_way_by_state(c, &state).is_some());

    assert_eq!(admin_call(&api, del(&t.bearer())).await.0, 200);
    assert_eq!(w.fake.calls(paths::DEL_JOIN_WAY), 1);
    assert!(w.fake.join_ways(c).is_empty());
    assert_eq!(admin_call(&api, del(&t.bearer())).await.0, 404);
    let growth = DynamoGrowth::new(w.db.clone());
    assert!(growth
        .codes_of_chat(t.id(), "wrdel")
        .await
        .unwrap()
        .is_empty());

    // A join way WeCom no longer knows (40058) counts as gone.
    let code = create(
        &w,
        &t,
        "del-2",
        json!({ "name": "删除 2", "chat_ids": ["wrdel"] }),
    )
    .await;
    w.fake.fail_next(paths::DEL_JOIN_WAY, 1, 40058);
    let path = format!("/v1/growth/group-codes/{}", code["state"].as_str().unwrap());
    let req = request("DELETE", &path, &[("authorization", &t.bearer())], None);
    assert_eq!(admin_call(&api, req).await.0, 200);
    assert_eq!(
        admin_call(&api, get_request(&path, &t.bearer())).await.0,
        404
    );
}
