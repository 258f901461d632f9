//! Customer sessions: minted only by the admin API for a tenant key with the scope
//! `sessions:issue` (a session-issuer key, which can do nothing else, or an operator or
//! admin key) from a WeChat identity mapped through WeCom (fake server), or for a known
//! external_userid by an admin key only; never by an unauthenticated request, never by a
//! viewer, never across tenants.
use super::World;
use scrm_core::clock::Clock;
use scrm_core::points::session::CUSTOMER_TOKEN_TTL;
use scrm_core::tenants::Role;
use scrm_core::tokens::{self, TokenKind};
use scrm_tests::*;
use serde_json::{json, Value};

const SESSIONS: &str = "/v1/customer-sessions";
const UNIONID_PATH: &str = "externalcontact/unionid_to_external_userid";

/// An operator key of the world's tenant, as an `Authorization` value.
async fn operator(w: &World) -> String {
    let key = key_with_role(&w.db, w.tenant(), Role::Operator).await;
    format!("Bearer {}", key.reveal())
}

async fn mint(w: &World, bearer: &str, body: &Value) -> (u16, Value) {
    w.admin_call(json_request("POST", SESSIONS, bearer, body))
        .await
}

async fn me(w: &World, token: &str) -> (u16, Value) {
    w.customer_call(request(
        "GET",
        "/v1/me",
        &[("authorization", &format!("Bearer {token}"))],
        None,
    ))
    .await
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test]
async fn an_operator_key_gets_a_token_for_a_wechat_user_who_is_a_customer() {
    let w = World::new().await;
    let corp = w.tenant().as_str();
    w.fake.map_unionid(corp, "union-1", "openid-1", "wmCust1");
    w.fake
        .map_unionid_pending(corp, "union-2", "openid-2", "pending-2");
    let op = operator(&w).await;

    let resp = admin_api_fn::handle(
        &w.admin,
        json_request(
            "POST",
            SESSIONS,
            &op,
            &json!({"unionid": "union-1", "openid": "openid-1"}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let (status, body) = response_json(&resp);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["external_userid"], "wmCust1");
    assert_eq!(
        body["expires_at"].as_i64(),
        Some((w.clock.now() + CUSTOMER_TOKEN_TTL).timestamp())
    );
    let token = body["token"].as_str().unwrap().to_string();
    let claims = tokens::verify(
        &scrm_tests::signing_keys(),
        &token,
        TokenKind::Customer,
        w.clock.now(),
    )
    .unwrap();
    assert_eq!(
        (claims.tenant.as_str(), claims.subject.as_str()),
        (corp, "wmCust1")
    );
    // WeCom was asked with the pair the server vouched for.
    assert_eq!(
        w.fake.requests(UNIONID_PATH).last().cloned(),
        Some(json!({"unionid": "union-1", "openid": "openid-1"}))
    );
    // The token works on the customer API.
    let (status, body) = me(&w, &token).await;
    assert_eq!(
        (
            status,
            body["external_userid"].as_str(),
            body["balance"].as_i64()
        ),
        (200, Some("wmCust1"), Some(0)),
        "{body}"
    );

    // Known to WeCom only by a pending id, or not at all: no token, a clear code.
    let (status, body) = mint(
        &w,
        &op,
        &json!({"unionid": "union-2", "openid": "openid-2"}),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (404, Some("not_a_customer")),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["pending"], true);
    assert!(body.get("token").is_none());
    let (status, body) = mint(
        &w,
        &op,
        &json!({"unionid": "union-9", "openid": "openid-9"}),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (404, Some("not_a_customer")),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["pending"], false);

    // WeCom busy beyond the short interactive retries: 503, no token; then it recovers.
    w.fake.fail_next(UNIONID_PATH, 10, -1);
    let (status, body) = mint(
        &w,
        &op,
        &json!({"unionid": "union-1", "openid": "openid-1"}),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (503, Some("wecom_unavailable")),
        "{body}"
    );
    assert!(body.get("token").is_none());
    w.fake.clear_faults();
    let (status, _) = mint(
        &w,
        &op,
        &json!({"unionid": "union-1", "openid": "openid-1"}),
    )
    .await;
    assert_eq!(status, 201);

    // Malformed requests: 400 and WeCom is not called.
    w.fake.reset_counters();
    for bad in [
        json!({"unionid": "", "openid": "openid-1"}),
        json!({"unionid": "union-1"}),
        json!({}),
        json!({"unionid": "union-1", "openid": "openid-1", "external_userid": "wmCust1"}),
        // The tenant is the key's: a request cannot name another corp.
        json!({"unionid": "union-1", "openid": "openid-1", "corp_id": "wwother"}),
        json!({"external_userid": "bad id#"}),
    ] {
        let (status, body) = mint(&w, &op, &bad).await;
        assert_eq!(
            (status, code(&body)),
            (400, Some("validation_failed")),
            "{bad}: {body}"
        );
    }
    assert_eq!(w.fake.calls(UNIONID_PATH), 0);
}

#[tokio::test]
async fn only_an_admin_key_can_issue_a_token_for_a_customer_the_directory_knows() {
    let w = World::new().await;
    w.known(&["wmKnown"]).await;
    // Naming a customer is impersonating them: operators and session issuers cannot.
    let op = operator(&w).await;
    let issuer = key_with_role(&w.db, w.tenant(), Role::SessionIssuer).await;
    for bearer in [op, format!("Bearer {}", issuer.reveal())] {
        let (status, body) = mint(&w, &bearer, &json!({"external_userid": "wmKnown"})).await;
        assert_eq!((status, code(&body)), (403, Some("forbidden")), "{body}");
        assert!(body.get("token").is_none());
    }
    let op = w.t.bearer();
    let (status, body) = mint(&w, &op, &json!({"external_userid": "wmKnown"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["external_userid"], "wmKnown");
    let (status, me_body) = me(&w, body["token"].as_str().unwrap()).await;
    assert_eq!(
        (status, me_body["external_userid"].as_str()),
        (200, Some("wmKnown"))
    );
    // A typo does not open an account.
    let (status, body) = mint(&w, &op, &json!({"external_userid": "wmNobody"})).await;
    assert_eq!(
        (status, code(&body)),
        (404, Some("unknown_customer")),
        "{body}"
    );
    // No WeCom call is needed on this path.
    assert_eq!(w.fake.calls(UNIONID_PATH), 0);
}

#[tokio::test]
async fn no_unauthenticated_request_and_no_viewer_key_obtains_a_customer_token() {
    let w = World::new().await;
    let corp = w.tenant().as_str();
    w.fake.map_unionid(corp, "union-1", "openid-1", "wmCust1");
    w.known(&["wmCust1"]).await;
    let wechat = json!({"unionid": "union-1", "openid": "openid-1"});

    // The customer API has no exchange any more, whatever is sent to it.
    let (status, body) = w
        .customer_call(request(
            "POST",
            "/v1/session",
            &[("content-type", "application/json")],
            Some(
                serde_json::to_vec(
                    &json!({"corp_id": corp, "unionid": "union-1", "openid": "openid-1"}),
                )
                .unwrap(),
            ),
        ))
        .await;
    assert_eq!((status, code(&body)), (404, Some("not_found")), "{body}");
    // Every customer route refuses a request without a token, but for the official-account
    // login, which is how a page obtains one (tests/it/official_account.rs covers it).
    for route in customer_api_fn::routes() {
        let (method, path) = (route.method, route.path);
        if path.starts_with("/v1/oauth/official/") {
            continue;
        }
        let path = path.replace("{reward_id}", "r1");
        let (status, body) = w
            .customer_call(json_request(method, &path, "", &wechat))
            .await;
        assert_eq!(
            (status, code(&body)),
            (401, Some("unauthenticated")),
            "{method} {path}"
        );
    }

    // The admin route wants a key: none, garbage, or a customer token are refused.
    let customer_token = w.token("wmCust1");
    for bearer in [
        String::new(),
        "Bearer garbage".to_string(),
        format!("Bearer {customer_token}"),
    ] {
        let (status, body) = mint(&w, &bearer, &wechat).await;
        assert_eq!(
            (status, code(&body)),
            (401, Some("unauthenticated")),
            "{bearer}: {body}"
        );
        assert!(body.get("token").is_none());
    }

    // A viewer key may read but not mint.
    let viewer = key_with_role(&w.db, w.tenant(), Role::Viewer).await;
    let viewer = format!("Bearer {}", viewer.reveal());
    for body in [wechat.clone(), json!({"external_userid": "wmCust1"})] {
        let (status, answer) = mint(&w, &viewer, &body).await;
        assert_eq!(
            (status, code(&answer)),
            (403, Some("forbidden")),
            "{answer}"
        );
        assert!(answer.get("token").is_none());
    }
    // None of these reached WeCom.
    assert_eq!(w.fake.calls(UNIONID_PATH), 0);
}

#[tokio::test]
async fn a_token_minted_for_tenant_a_does_not_work_for_tenant_b() {
    let w = World::new().await;
    let a = w.tenant().clone();
    let b = tenant(&w.db).await;
    w.fake.add_app(b.id().as_str(), "contact-secret", None);
    // The same external_userid in both corps (as if), with different balances.
    w.fake
        .map_unionid(a.as_str(), "union-a", "openid-a", "wmShared");
    w.fake
        .map_unionid(b.id().as_str(), "union-b", "openid-b", "wmShared");
    w.fake
        .map_unionid(b.id().as_str(), "union-only-b", "openid-only-b", "wmOnlyB");
    for (bearer, tenant_id, points) in [(w.t.bearer(), &a, 50), (b.bearer(), b.id(), 7)] {
        known_in(&w, tenant_id, &["wmShared"]).await;
        let (status, body) = w
            .admin_call(json_request(
                "POST",
                "/v1/points/bulk",
                &bearer,
                &json!({"operation": "award", "external_userids": ["wmShared"],
                        "points": points, "idempotency_key": "seed"}),
            ))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    known_in(&w, b.id(), &["wmOnlyB"]).await;

    let op_a = operator(&w).await;
    let (status, body) = mint(
        &w,
        &op_a,
        &json!({"unionid": "union-a", "openid": "openid-a"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token_a = body["token"].as_str().unwrap().to_string();
    // A's token opens A's account only.
    let (status, body) = me(&w, &token_a).await;
    assert_eq!(
        (status, body["balance"].as_i64()),
        (200, Some(50)),
        "{body}"
    );
    let key_b = key_with_role(&w.db, b.id(), Role::Operator).await;
    let (status, body) = mint(
        &w,
        &format!("Bearer {}", key_b.reveal()),
        &json!({"unionid": "union-b", "openid": "openid-b"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token_b = body["token"].as_str().unwrap().to_string();
    let (status, body) = me(&w, &token_b).await;
    assert_eq!((status, body["balance"].as_i64()), (200, Some(7)), "{body}");

    // A's signature does not cover B's claims (same customer id, same expiry).
    let (_, signature_a) = token_a.rsplit_once('.').unwrap();
    let (payload_b, _) = token_b.rsplit_once('.').unwrap();
    let (status, body) = me(&w, &format!("{payload_b}.{signature_a}")).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("unauthenticated")),
        "{body}"
    );

    // A's key cannot reach B's customers, by WeChat identity or by id: WeCom is asked
    // with A's credentials and the directory read is A's.
    let (status, body) = mint(
        &w,
        &op_a,
        &json!({"unionid": "union-only-b", "openid": "openid-only-b"}),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (404, Some("not_a_customer")),
        "{body}"
    );
    let (status, body) = mint(&w, &w.t.bearer(), &json!({"external_userid": "wmOnlyB"})).await;
    assert_eq!(
        (status, code(&body)),
        (404, Some("unknown_customer")),
        "{body}"
    );
}

#[tokio::test]
async fn a_session_issuer_key_mints_sessions_for_wechat_users_and_can_do_nothing_else() {
    let w = World::new().await;
    let corp = w.tenant().as_str();
    w.fake.map_unionid(corp, "union-9", "openid-9", "wmCust9");
    w.known(&["wmCust9"]).await;
    // An admin creates the key through the admin API.
    let (status, created) = w
        .admin_call(json_request(
            "POST",
            "/v1/keys",
            &w.t.bearer(),
            &json!({"name": "h5 backend", "role": "session_issuer"}),
        ))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["record"]["scopes"], json!(["sessions:issue"]));
    let issuer = format!("Bearer {}", created["key"].as_str().unwrap());
    let (status, who) = w.admin_call(get_request("/v1/whoami", &issuer)).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(
        (who["role"].as_str(), &who["scopes"]),
        (Some("session_issuer"), &json!(["sessions:issue"]))
    );

    let (status, body) = mint(
        &w,
        &issuer,
        &json!({"unionid": "union-9", "openid": "openid-9"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["external_userid"], "wmCust9");

    // Nothing else: no award, no mass message, no look-up, no key, no named customer.
    let refused = [
        json_request(
            "POST",
            "/v1/points/bulk",
            &issuer,
            &json!({"operation": "award", "external_userids": ["wmCust9"],
                    "points": 1000, "idempotency_key": "steal"}),
        ),
        json_request(
            "POST",
            "/v1/sop/plans",
            &issuer,
            &json!({"name": "spam", "kind": "group", "targets": {"owners": ["a"]},
                    "schedule": {"kind": "daily", "time": "09:00"},
                    "content": {"text": "buy"}}),
        ),
        get_request("/v1/customers", &issuer),
        get_request("/v1/points/customers/wmCust9", &issuer),
        get_request("/v1/tenant", &issuer),
        json_request(
            "POST",
            "/v1/keys",
            &issuer,
            &json!({"name": "more", "role": "admin"}),
        ),
        json_request(
            "POST",
            SESSIONS,
            &issuer,
            &json!({"external_userid": "wmCust9"}),
        ),
    ];
    for req in refused {
        let path = req.uri().path().to_string();
        let (status, body) = w.admin_call(req).await;
        assert_eq!(
            (status, code(&body)),
            (403, Some("forbidden")),
            "{path}: {body}"
        );
    }
    // Nothing was awarded.
    let (_, customer) = w
        .admin_call(get_request("/v1/points/customers/wmCust9", &w.t.bearer()))
        .await;
    assert_eq!(customer["balance"], 0, "{customer}");
}

/// Makes customers known in any tenant's directory (the world's helper is for its own).
async fn known_in(w: &World, tenant: &scrm_core::tenants::TenantId, ids: &[&str]) {
    use scrm_core::contacts::DirectoryWrite;
    for id in ids {
        w.dir.touch_customer(tenant, id, false, 1).await.unwrap();
    }
}
