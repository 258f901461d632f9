//! The admin API's authentication, tenant confinement and tenant routes, and the OpenAPI
//! file kept in step with the router.
use admin_api_fn::{handle, routes, AdminApi};
use scrm_adapters::dynamo::Db;
use scrm_adapters::events::AnyPublisher;
use scrm_core::clock::SystemClock;
use scrm_core::tenants::Role;
use scrm_tests::*;
use std::sync::Arc;

/// The admin API and the tables it works on.
struct Api {
    db: Db,
    api: Arc<AdminApi>,
}

async fn api() -> Api {
    let db = db().await;
    let api = admin_api(
        &db,
        AnyPublisher::Discard,
        "http://127.0.0.1:9/cgi-bin",
        Arc::new(SystemClock),
    );
    Api { db, api }
}

async fn call(api: &Api, req: lambda_http::Request) -> (u16, serde_json::Value) {
    let resp = handle(&api.api, req).await.unwrap();
    response_json(&resp)
}

#[tokio::test]
async fn requests_without_a_valid_key_are_rejected() {
    let api = api().await;
    let t = tenant(&api.db).await;
    let (status, body) = call(&api, request("GET", "/v1/tenant", &[], None)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let forged = format!("Bearer scrm_{}_{}", t.id(), "0".repeat(64));
    let (status, _) = call(&api, get_request("/v1/tenant", &forged)).await;
    assert_eq!(status, 401);
    let (status, body) = call(&api, get_request("/v1/tenant", &t.bearer())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["corp_id"], t.id().as_str());
}

#[tokio::test]
async fn the_tenant_view_never_contains_a_secret() {
    let api = api().await;
    let t = tenant(&api.db).await;
    let (_, body) = call(&api, get_request("/v1/tenant", &t.bearer())).await;
    let text = body.to_string();
    for secret in [TEST_TOKEN, TEST_AES_KEY, "contact-secret", "app-secret"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(body["callback_configured"], true);
}

#[tokio::test]
async fn a_key_only_reaches_its_own_tenant() {
    let api = api().await;
    let a = tenant(&api.db).await;
    let b = tenant(&api.db).await;
    // A's key with B's corp id spliced in is not a valid key for B.
    let secret = a.admin_key.rsplit_once('_').unwrap().1;
    let spliced = format!("Bearer scrm_{}_{}", b.id(), secret);
    let (status, _) = call(&api, get_request("/v1/tenant", &spliced)).await;
    assert_eq!(status, 401);
    let (_, body) = call(&api, get_request("/v1/whoami", &a.bearer())).await;
    assert_eq!(body["corp_id"], a.id().as_str());
}

#[tokio::test]
async fn roles_limit_what_a_key_can_do() {
    let api = api().await;
    let t = tenant(&api.db).await;
    let viewer = key_with_role(&api.db, t.id(), Role::Viewer).await;
    let bearer = format!("Bearer {}", viewer.reveal());
    let (status, _) = call(&api, get_request("/v1/tenant", &bearer)).await;
    assert_eq!(status, 200);
    let (status, body) = call(&api, get_request("/v1/keys", &bearer)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
}

#[tokio::test]
async fn keys_are_created_listed_and_revoked() {
    let api = api().await;
    let t = tenant(&api.db).await;
    let (status, body) = call(
        &api,
        json_request(
            "POST",
            "/v1/keys",
            &t.bearer(),
            &serde_json::json!({"name": "bi", "role": "viewer"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let key = body["key"].as_str().unwrap().to_string();
    let key_id = body["record"]["key_id"].as_str().unwrap().to_string();
    let (_, listed) = call(&api, get_request("/v1/keys", &t.bearer())).await;
    assert!(
        !listed.to_string().contains(&key),
        "a listing must not contain a key"
    );
    assert_eq!(listed["keys"].as_array().unwrap().len(), 2);
    let new_bearer = format!("Bearer {key}");
    assert_eq!(
        call(&api, get_request("/v1/whoami", &new_bearer)).await.0,
        200
    );
    let (status, _) = call(
        &api,
        lambda_http_delete(&format!("/v1/keys/{key_id}"), &t.bearer()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&api, get_request("/v1/whoami", &new_bearer)).await.0,
        401
    );
}

fn lambda_http_delete(path: &str, bearer: &str) -> lambda_http::Request {
    request("DELETE", path, &[("authorization", bearer)], None)
}

#[tokio::test]
async fn bad_settings_are_rejected_and_change_nothing() {
    let api = api().await;
    let t = tenant(&api.db).await;
    for (body, code) in [
        (
            serde_json::json!({"timezone": "Mars/Olympus"}),
            "validation_failed",
        ),
        (
            serde_json::json!({"group_message_quota": {"kind": "per_week", "limit": 9}}),
            "validation_failed",
        ),
    ] {
        let (status, resp) = call(
            &api,
            json_request("PUT", "/v1/tenant/settings", &t.bearer(), &body),
        )
        .await;
        assert_eq!(
            (status, resp["error"]["code"].as_str()),
            (400, Some(code)),
            "{resp}"
        );
    }
    let garbage = request(
        "PUT",
        "/v1/tenant/settings",
        &[("authorization", &t.bearer())],
        Some(b"{not json".to_vec()),
    );
    let (status, resp) = call(&api, garbage).await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (_, view) = call(&api, get_request("/v1/tenant", &t.bearer())).await;
    assert_eq!(view["settings"]["timezone"], "Asia/Shanghai");
    assert_eq!(
        view["settings"]["group_message_quota"]["kind"],
        "days_in_month"
    );

    let ok = serde_json::json!({"timezone": "Asia/Tokyo", "group_message_quota": {"kind": "per_month", "limit": 4}});
    let (status, _) = call(
        &api,
        json_request("PUT", "/v1/tenant/settings", &t.bearer(), &ok),
    )
    .await;
    assert_eq!(status, 200);
    let (_, view) = call(&api, get_request("/v1/tenant", &t.bearer())).await;
    assert_eq!(view["settings"]["timezone"], "Asia/Tokyo");
}

#[tokio::test]
async fn unknown_paths_and_methods_get_clear_errors() {
    let api = api().await;
    let t = tenant(&api.db).await;
    let (status, body) = call(&api, get_request("/v1/nothing-here", &t.bearer())).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = call(
        &api,
        request(
            "PATCH",
            "/v1/tenant",
            &[("authorization", &t.bearer())],
            None,
        ),
    )
    .await;
    assert_eq!(status, 405);
}

#[test]
fn the_openapi_file_documents_exactly_the_routes_of_the_router() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml"))
            .expect("docs/openapi.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("openapi.yaml parses");
    let paths = doc["paths"].as_mapping().expect("paths");
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in paths {
        for (method, _) in ops.as_mapping().expect("operations") {
            let m = method.as_str().unwrap().to_uppercase();
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) {
                documented.insert(format!("{m} {}", path.as_str().unwrap()));
            }
        }
    }
    let served: std::collections::BTreeSet<String> = routes()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from docs/openapi.yaml: {undocumented:?}"
    );
    assert!(phantom.is_empty(), "documented but not served: {phantom:?}");
}

#[tokio::test]
async fn keys_issued_before_scopes_keep_what_their_role_could_do() {
    use scrm_adapters::dynamo::item;
    use scrm_adapters::dynamo::schema::{PK, SK};
    use scrm_core::tenants::ApiKey;
    let api = api().await;
    let t = tenant(&api.db).await;
    // An operator key as it was stored before keys carried scopes: a role only.
    let old = ApiKey::generate(t.id());
    api.db
        .tenants()
        .put(item::item([
            (PK, item::s(t.id().as_str())),
            (SK, item::s(format!("APIKEY#{}", old.hash()))),
            ("key_id", item::s(&old.hash()[..12])),
            ("name", item::s("legacy")),
            ("role", item::s("operator")),
            ("created_at", item::s("2026-01-01T00:00:00+00:00")),
            (
                "revoked",
                aws_sdk_dynamodb::types::AttributeValue::Bool(false),
            ),
        ]))
        .await
        .unwrap();
    let bearer = format!("Bearer {}", old.reveal());
    let (status, who) = call(&api, get_request("/v1/whoami", &bearer)).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(
        who["scopes"],
        serde_json::json!(["read", "personal_data:read", "write", "sessions:issue"])
    );
    let (status, _) = call(&api, get_request("/v1/customers", &bearer)).await;
    assert_eq!(status, 200);
    let (status, body) = call(&api, get_request("/v1/keys", &bearer)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
}

#[tokio::test]
async fn viewers_see_personal_data_redacted() {
    use scrm_adapters::dynamo::{DynamoDirectory, DynamoPoints};
    use scrm_core::contacts::receipts::{NewReceipt, ReceiptStore};
    use scrm_core::points::ports::ProfileStore;
    use scrm_core::points::rules::CustomerProfile;
    use scrm_core::points::{Account, CustomerId};
    let api = api().await;
    let t = tenant(&api.db).await;
    let now = chrono::Utc::now();
    let account = Account::new(t.id().clone(), CustomerId::parse("wmPrivate").unwrap());
    DynamoPoints::new(api.db.clone())
        .put_profile(
            &account,
            &CustomerProfile {
                name: Some("王五".into()),
                mobile: Some("13800138000".into()),
                wechat_id: Some("wx_wangwu".into()),
                address: Some("上海市静安区南京西路1号".into()),
            },
            now,
        )
        .await
        .unwrap();
    let xml = "<xml><ExternalUserID>wmPrivate</ExternalUserID><Content>13800138000</Content></xml>";
    DynamoDirectory::new(api.db.clone())
        .acquire(
            t.id(),
            "private-1",
            &NewReceipt {
                kind: "change_external_contact/some_future_change".into(),
                unknown: true,
                xml: xml.into(),
                event_time: now.timestamp(),
                planned: None,
            },
            now,
            10_000,
        )
        .await
        .unwrap();
    let viewer = key_with_role(&api.db, t.id(), Role::Viewer).await;
    let viewer = format!("Bearer {}", viewer.reveal());

    let (status, seen) = call(&api, get_request("/v1/points/customers/wmPrivate", &viewer)).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["profile"]["mobile"], "138****8000");
    assert_eq!(seen["profile"]["address"], "[redacted]");
    assert_eq!(seen["profile"]["wechat_id"], "[redacted]");
    assert_eq!(seen["profile"]["name"], "王五");
    let (status, callbacks) = call(&api, get_request("/v1/callbacks", &viewer)).await;
    assert_eq!(status, 200, "{callbacks}");
    assert_eq!(callbacks["items"][0]["xml"], "[redacted]", "{callbacks}");
    assert!(!callbacks.to_string().contains("13800138000"));

    // A key that may read personal data sees it as stored.
    let (_, full) = call(
        &api,
        get_request("/v1/points/customers/wmPrivate", &t.bearer()),
    )
    .await;
    assert_eq!(full["profile"]["mobile"], "13800138000");
    assert_eq!(full["profile"]["address"], "上海市静安区南京西路1号");
    let (_, callbacks) = call(&api, get_request("/v1/callbacks", &t.bearer())).await;
    assert_eq!(callbacks["items"][0]["xml"], xml);
}
