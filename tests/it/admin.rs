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
