//! Searching the directory through the `admin-api` handler on DynamoDB Local: customers by
//! name prefix over the sharded name index (case and width folded, Chinese as it is, pages
//! merged over every shard with a cursor, confined to the tenant, a rename found under the
//! new name only), by exact id, groups by a part of their name, the points accounts list by
//! name, and malformed searches and cursors refused.
use crate::directory::{admin_call, world};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_core::contacts::search::{name_shard, normalize_name, NAME_SHARDS};
use scrm_core::contacts::DirectoryWrite;
use scrm_core::tenants::TenantId;
use scrm_core::wecom::api::{ExternalContact, GroupChat};
use scrm_tests::*;
use serde_json::Value;
use std::collections::HashSet;

async fn put_customer(dir: &DynamoDirectory, t: &TenantId, id: &str, name: &str, at: i64) {
    let contact = ExternalContact {
        external_userid: id.to_string(),
        name: name.to_string(),
        contact_type: 1,
        ..ExternalContact::default()
    };
    assert!(dir.put_customer_detail(t, &contact, at).await.unwrap());
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["external_userid"].as_str().unwrap().to_string())
        .collect()
}

fn encode(q: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    encoded.replace('+', "%20")
}

/// Every page of `path` (which has a query already), following `next_cursor`.
async fn all_pages(
    api: &std::sync::Arc<admin_api_fn::AdminApi>,
    bearer: &str,
    path: &str,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut next = path.to_string();
    loop {
        let (status, page) = admin_call(api, get_request(&next, bearer)).await;
        assert_eq!(status, 200, "{next}: {page}");
        pages.push(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => next = format!("{path}&cursor={c}"),
            None => return pages,
        }
        assert!(pages.len() < 50, "the cursor does not advance");
    }
}

#[tokio::test]
async fn customers_are_found_by_name_prefix_over_every_shard_in_name_order() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let other = tenant(&w.db).await;
    let dir = w.dir();
    // 30 "Zhang …" customers, half written in full-width letters, spread over the shards.
    let mut expected = Vec::new();
    for i in 0..30 {
        let id = format!("wmzh{i:03}");
        let name = if i % 2 == 0 {
            format!("Zhang {i:02}")
        } else {
            format!("Ｚｈａｎｇ　{i:02}")
        };
        put_customer(&dir, t.id(), &id, &name, 100).await;
        expected.push((normalize_name(&name), id));
    }
    let shards: HashSet<u32> = expected.iter().map(|(_, id)| name_shard(id)).collect();
    assert!(shards.len() > NAME_SHARDS as usize / 2, "{shards:?}");
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    for (id, name) in [
        ("wmzs1", "张三"),
        ("wmzs2", "张三丰"),
        ("wmls1", "李四"),
        ("wmzz1", "Zz Top"),
    ] {
        put_customer(&dir, t.id(), id, name, 100).await;
    }
    // Another tenant's namesake is never found.
    put_customer(&dir, other.id(), "wmzhother", "Zhang 99", 100).await;
    let api = w.admin();
    let bearer = t.bearer();

    for query in ["zhang", "ZHANG", "ｚｈａｎｇ", "Zhang "] {
        let path = format!("/v1/customers?limit=7&name={}", encode(query));
        let pages = all_pages(&api, &bearer, &path).await;
        assert_eq!(pages.len(), 5, "{query}: {pages:?}");
        assert!(pages.iter().all(|p| p.len() <= 7));
        let seen: Vec<String> = pages.concat();
        assert_eq!(seen, expected, "{query}");
    }
    let (status, page) = admin_call(
        &api,
        get_request(&format!("/v1/customers?name={}", encode("张三")), &bearer),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), ["wmzs1", "wmzs2"]);
    assert_eq!(page["items"][0]["name"], "张三");
    assert!(page["next_cursor"].is_null());
    let (_, page) = admin_call(
        &api,
        get_request(&format!("/v1/customers?name={}", encode("王")), &bearer),
    )
    .await;
    assert_eq!(ids(&page), Vec::<String>::new());

    // Exact id: this tenant's only; with a name, only if the name matches too.
    let (status, page) = admin_call(
        &api,
        get_request("/v1/customers?external_userid=wmls1", &bearer),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), ["wmls1"]);
    let (_, page) = admin_call(
        &api,
        get_request("/v1/customers?external_userid=wmzhother", &bearer),
    )
    .await;
    assert_eq!(ids(&page), Vec::<String>::new());
    let (_, page) = admin_call(
        &api,
        get_request("/v1/customers?external_userid=wmls1&name=zhang", &bearer),
    )
    .await;
    assert_eq!(ids(&page), Vec::<String>::new());

    // The other tenant finds its own only.
    let (_, page) = admin_call(
        &api,
        get_request("/v1/customers?name=zhang", &other.bearer()),
    )
    .await;
    assert_eq!(ids(&page), ["wmzhother"]);
}

#[tokio::test]
async fn a_renamed_customer_is_found_under_the_new_name_only() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let dir = w.dir();
    put_customer(&dir, t.id(), "wmren1", "Old Name", 100).await;
    put_customer(&dir, t.id(), "wmren1", "Brand New", 200).await;
    // An older write (a late re-delivery) changes nothing, the index included.
    let contact = ExternalContact {
        external_userid: "wmren1".into(),
        name: "Old Name".into(),
        ..ExternalContact::default()
    };
    assert!(!dir
        .put_customer_detail(t.id(), &contact, 150)
        .await
        .unwrap());
    let api = w.admin();
    let (_, page) = admin_call(&api, get_request("/v1/customers?name=old", &t.bearer())).await;
    assert_eq!(ids(&page), Vec::<String>::new());
    let (_, page) = admin_call(&api, get_request("/v1/customers?name=brand", &t.bearer())).await;
    assert_eq!(ids(&page), ["wmren1"]);
    assert_eq!(page["items"][0]["name"], "Brand New");
}

#[tokio::test]
async fn malformed_searches_and_cursors_are_refused() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let dir = w.dir();
    for i in 0..3 {
        put_customer(&dir, t.id(), &format!("wmbad{i}"), &format!("Bee {i}"), 100).await;
    }
    let api = w.admin();
    let (status, page) = admin_call(
        &api,
        get_request("/v1/customers?name=bee&limit=1", &t.bearer()),
    )
    .await;
    assert_eq!(status, 200);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let long = "x".repeat(65);
    for path in [
        "/v1/customers?name=bee&cursor=not-one-of-ours".to_string(),
        "/v1/customers?name=bee&cursor=%21%21".to_string(),
        // A cursor of another search.
        format!("/v1/customers?name=zz&cursor={cursor}"),
        format!("/v1/customers?name={long}"),
        "/v1/customers?name=%20%20".to_string(),
        "/v1/customers?external_userid=a%23b".to_string(),
        "/v1/groups?name=%20".to_string(),
        "/v1/points/accounts?name=bee&cursor=nope".to_string(),
        "/v1/points/accounts?name=bee&q=wm".to_string(),
    ] {
        let (status, body) = admin_call(&api, get_request(&path, &t.bearer())).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed", "{path}");
    }
    let (status, body) = admin_call(
        &api,
        get_request("/v1/points/accounts?name=bee&sort=balance", &t.bearer()),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "unsupported_sort");
    // The right cursor goes on.
    let (status, page) = admin_call(
        &api,
        get_request(
            &format!("/v1/customers?name=bee&limit=1&cursor={cursor}"),
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), ["wmbad1"]);
}

#[tokio::test]
async fn the_accounts_list_is_searched_by_name_with_the_same_index() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let dir = w.dir();
    for i in 0..5 {
        put_customer(
            &dir,
            t.id(),
            &format!("wmacc{i}"),
            &format!("Acct {i}"),
            100,
        )
        .await;
    }
    put_customer(&dir, t.id(), "wmnot", "Other", 100).await;
    let api = w.admin();
    let pages = all_pages(&api, &t.bearer(), "/v1/points/accounts?name=ACCT&limit=2").await;
    assert_eq!(
        pages.concat(),
        ["wmacc0", "wmacc1", "wmacc2", "wmacc3", "wmacc4"]
    );
    let (_, page) = admin_call(
        &api,
        get_request("/v1/points/accounts?name=acct%203", &t.bearer()),
    )
    .await;
    assert_eq!(page["items"][0]["name"], "Acct 3");
    assert_eq!(page["items"][0]["balance"], 0);
}

#[tokio::test]
async fn groups_are_found_by_a_part_of_their_name() {
    let w = world().await;
    let t = tenant(&w.db).await;
    let dir = w.dir();
    for (i, name) in ["会员福利群", "VIP 福利", "新品体验", "Ｖｉｐ Club"]
        .iter()
        .enumerate()
    {
        let chat = GroupChat {
            chat_id: format!("wrsearch{i}"),
            name: name.to_string(),
            owner: "zhangsan".into(),
            ..GroupChat::default()
        };
        assert!(dir
            .put_group_detail(t.id(), &chat, None, 100)
            .await
            .unwrap());
    }
    let api = w.admin();
    let (status, page) = admin_call(
        &api,
        get_request(&format!("/v1/groups?name={}", encode("福利")), &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let chats = |p: &Value| -> Vec<String> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["chat_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(chats(&page), ["wrsearch0", "wrsearch1"]);
    let (_, first) = admin_call(
        &api,
        get_request("/v1/groups?name=vip&limit=1", &t.bearer()),
    )
    .await;
    assert_eq!(chats(&first), ["wrsearch1"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = admin_call(
        &api,
        get_request(
            &format!("/v1/groups?name=vip&limit=1&cursor={cursor}"),
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(chats(&second), ["wrsearch3"]);
    assert!(second["next_cursor"].is_null());
    let (_, owned) = admin_call(
        &api,
        get_request("/v1/groups?name=vip&owner=lisi", &t.bearer()),
    )
    .await;
    assert_eq!(chats(&owned), Vec::<String>::new());
}

#[tokio::test]
async fn the_backfill_moves_customers_of_the_old_layout_to_the_listing_and_name_indexes_and_resumes(
) {
    use scrm_adapters::dynamo::item::s;
    use scrm_adapters::dynamo::schema::{
        GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, GSI3_PK, GSI3_SK, GSI4_PK, GSI4_SK,
    };
    use scrm_adapters::dynamo::Update;
    let w = world().await;
    let t = tenant(&w.db).await;
    let dir = w.dir();
    for i in 0..5 {
        put_customer(
            &dir,
            t.id(),
            &format!("wmold{i}"),
            &format!("Old Timer {i}"),
            100,
        )
        .await;
    }
    // As the old layout wrote them: profiles and relations in gsi1 `{corp}#CUSTOMERS`
    // (relations also in gsi2), no listing or name keys.
    for i in 0..5 {
        let ext = format!("wmold{i}");
        let mut u = Update::new();
        u.remove(GSI3_PK)
            .remove(GSI3_SK)
            .remove(GSI4_PK)
            .remove(GSI4_SK)
            .set(GSI1_PK, s(format!("{}#CUSTOMERS", t.id())))
            .set(GSI1_SK, s(&ext));
        w.db.directory()
            .update(format!("{}#CUST#{ext}", t.id()), "PROFILE".to_string(), &u)
            .await
            .unwrap();
        let mut u = Update::new();
        u.set(GSI1_PK, s(format!("{}#CUSTOMERS", t.id())))
            .set(GSI1_SK, s(format!("{ext}#zhangsan")))
            .set(GSI2_PK, s(format!("{}#STAFF#zhangsan", t.id())))
            .set(GSI2_SK, s(&ext))
            .set("external_userid", s(&ext))
            .set("userid", s("zhangsan"))
            .set(
                "status",
                s(scrm_core::contacts::RelationStatus::Active.as_str()),
            );
        w.db.directory()
            .update(
                format!("{}#CUST#{ext}", t.id()),
                "FOLLOW#zhangsan".to_string(),
                &u,
            )
            .await
            .unwrap();
    }
    let api = w.admin();
    let (_, page) = admin_call(&api, get_request("/v1/customers?name=old", &t.bearer())).await;
    assert_eq!(ids(&page), Vec::<String>::new());
    let (_, page) = admin_call(&api, get_request("/v1/customers", &t.bearer())).await;
    assert_eq!(ids(&page), Vec::<String>::new());

    // Two at a time, resuming after the last one done, as `scrm directory
    // backfill-customers`.
    let mut after: Option<String> = None;
    let mut written = 0;
    let mut runs = 0;
    loop {
        let (done, finished) = dir
            .backfill_customer_index(t.id(), after.as_deref(), 2)
            .await
            .unwrap();
        written += done.written;
        after = done.last.or(after);
        runs += 1;
        if finished {
            break;
        }
    }
    assert_eq!(written, 5);
    assert_eq!(runs, 3);
    let all = ["wmold0", "wmold1", "wmold2", "wmold3", "wmold4"];
    let pages = all_pages(&api, &t.bearer(), "/v1/customers?name=old%20timer&limit=2").await;
    assert_eq!(pages.concat(), all);
    let pages = all_pages(&api, &t.bearer(), "/v1/customers?limit=2").await;
    assert_eq!(pages.concat(), all);
    // Nothing is left in the old listing or in gsi2.
    for i in 0..5 {
        for sk in ["PROFILE", "FOLLOW#zhangsan"] {
            let item =
                w.db.directory()
                    .get_consistent(format!("{}#CUST#wmold{i}", t.id()), sk)
                    .await
                    .unwrap()
                    .unwrap();
            for attr in [GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK] {
                assert!(!item.contains_key(attr), "{sk} keeps {attr}");
            }
        }
    }
    // Run again: nothing is left to move, nothing is read or written.
    let (done, finished) = dir
        .backfill_customer_index(t.id(), None, 100)
        .await
        .unwrap();
    assert!(finished);
    assert_eq!((done.read, done.written), (0, 0));
}
