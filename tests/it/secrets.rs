//! Secrets at rest and token signing keys: tenant secrets and cached WeCom access tokens are
//! sealed in the tenants table (only a store with the key service opens them), profiles
//! written before sealing still read and are sealed by the migration, and customer tokens
//! carry a key id that verification follows through a rotation.
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use customer_api_fn::CustomerApi;
use scrm_adapters::dynamo::{item, AttrMap, DynamoDirectory, DynamoPoints, DynamoTenants};
use scrm_adapters::wecom::{AccessToken, CachedToken, DynamoTokenCache, TokenCache};
use scrm_core::clock::SystemClock;
use scrm_core::tenants::{Tenant, TenantLookup, TenantSettings, TenantWrite};
use scrm_core::tokens::{self, Claims, SigningKeys, TokenKind};
use scrm_core::wecom::api::CorpCredentials;
use scrm_tests::*;
use std::sync::Arc;

/// The plaintexts the test tenants are registered with (`scrm_tests::tenant_with`).
const PLAINTEXTS: [&str; 4] = [TEST_TOKEN, TEST_AES_KEY, "contact-secret", "app-secret"];

/// Every string and every binary value of an item, as bytes.
fn raw_values(item: &AttrMap) -> Vec<Vec<u8>> {
    item.values()
        .filter_map(|v| match v {
            AttributeValue::S(s) => Some(s.as_bytes().to_vec()),
            AttributeValue::B(b) => Some(b.as_ref().to_vec()),
            _ => None,
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn assert_not_in_item(item: &AttrMap, plaintexts: &[&str]) {
    for value in raw_values(item) {
        for plain in plaintexts {
            assert!(!contains(&value, plain), "`{plain}` readable in the item");
        }
    }
}

fn secrets_of(t: &Tenant) -> [String; 4] {
    [
        t.callback_token.expose().to_string(),
        t.encoding_aes_key.expose().to_string(),
        t.contact_secret.expose().to_string(),
        t.app_secret
            .as_ref()
            .map(|s| s.expose().to_string())
            .unwrap_or_default(),
    ]
}

#[tokio::test]
async fn tenant_secrets_are_not_readable_in_plain_from_the_raw_item() {
    let db = db().await;
    let t = tenant(&db).await;
    let raw = db
        .tenants()
        .get_consistent(t.id().as_str(), "PROFILE")
        .await
        .unwrap()
        .expect("profile item");
    assert_not_in_item(&raw, &PLAINTEXTS);
    for plain_attr in [
        "callback_token",
        "encoding_aes_key",
        "contact_secret",
        "app_secret",
    ] {
        assert!(!raw.contains_key(plain_attr), "{plain_attr} stored");
    }
    // The store with the key service opens them.
    let read = DynamoTenants::new(db.clone())
        .tenant(t.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secrets_of(&read), PLAINTEXTS.map(str::to_string));
}

#[tokio::test]
async fn a_store_without_the_key_service_cannot_obtain_or_write_secrets() {
    let db = db().await;
    let t = tenant(&db).await;
    // What customer-api and the points functions are built from: no key service.
    let without = db_without_secret_keys().await;
    let store = DynamoTenants::new(without.clone());
    let read = store.tenant(t.id()).await.unwrap().expect("profile");
    assert_eq!(read.settings, t.tenant.settings, "settings are readable");
    assert_eq!(
        secrets_of(&read),
        [""; 4].map(str::to_string),
        "secrets withheld"
    );
    assert!(format!("{read:?}").find("contact-secret").is_none());
    // Nor can it register a tenant (it could not seal its secrets) or hold access tokens.
    let mut other = t.tenant.clone();
    other.id = new_tenant_id();
    assert!(store.create_tenant(&other).await.is_err());
    assert!(without
        .tenants()
        .get(other.id.as_str(), "PROFILE")
        .await
        .unwrap()
        .is_none());
    assert!(DynamoTokenCache::from_db(&without).is_none());
    // A store whose key service holds another key cannot open them either.
    let stranger = without.with_secret_keys(Arc::new(scrm_adapters::crypto::LocalKeys::new(
        scrm_core::secrets::PlainKey::random(),
    )));
    assert!(DynamoTenants::new(stranger).tenant(t.id()).await.is_err());
}

#[tokio::test]
async fn plaintext_profiles_still_read_and_the_migration_seals_them() {
    let db = db().await;
    let id = new_tenant_id();
    // A profile as written before secrets were sealed.
    let legacy = item::item([
        ("pk", item::s(id.as_str())),
        ("sk", item::s("PROFILE")),
        ("name", item::s("Old Shop")),
        ("callback_token", item::s(TEST_TOKEN)),
        ("encoding_aes_key", item::s(TEST_AES_KEY)),
        ("contact_secret", item::s("contact-secret")),
        ("app_secret", item::s("app-secret")),
        ("app_agent_id", item::n(1000002)),
        ("settings", item::json(&TenantSettings::default())),
        ("created_at", item::s(Utc::now().to_rfc3339())),
    ]);
    db.tenants().put(legacy).await.unwrap();
    let read = DynamoTenants::new(db.clone())
        .tenant(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secrets_of(&read), PLAINTEXTS.map(str::to_string));
    // Without the key service even a plain profile's secrets are withheld.
    let without = DynamoTenants::new(db_without_secret_keys().await);
    let withheld = without.tenant(&id).await.unwrap().unwrap();
    assert_eq!(withheld.contact_secret.expose(), "");

    let sealed = DynamoTenants::new(db.clone())
        .seal_plaintext_secrets()
        .await
        .unwrap();
    assert!(sealed.contains(&id), "{sealed:?}");
    let raw = db
        .tenants()
        .get_consistent(id.as_str(), "PROFILE")
        .await
        .unwrap()
        .unwrap();
    assert_not_in_item(&raw, &PLAINTEXTS);
    let read = DynamoTenants::new(db.clone())
        .tenant(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secrets_of(&read), PLAINTEXTS.map(str::to_string));
    assert_eq!(
        (read.name.as_str(), read.app_agent_id),
        ("Old Shop", Some(1000002))
    );
    // Run again: nothing left to seal.
    let again = DynamoTenants::new(db.clone())
        .seal_plaintext_secrets()
        .await
        .unwrap();
    assert!(!again.contains(&id));
}

#[tokio::test]
async fn cached_access_tokens_are_sealed_and_plain_ones_are_not_used() {
    let db = db().await;
    let corp = new_tenant_id();
    let cache = DynamoTokenCache::from_db(&db).expect("key service");
    let key = CorpCredentials::new(corp.as_str(), "contact-secret", None).token_key();
    let token = CachedToken {
        token: AccessToken::new("ACCESS-TOKEN-PLAINTEXT"),
        expires_at: Utc::now().timestamp() + 7200,
    };
    cache.put(&key, &token).await.unwrap();
    let raw = db
        .tenants()
        .get_consistent(key.corp_id(), key.sort_key())
        .await
        .unwrap()
        .unwrap();
    assert_not_in_item(&raw, &["ACCESS-TOKEN-PLAINTEXT"]);
    assert_eq!(cache.get(&key).await.unwrap(), Some(token.clone()));
    // Invalidation names the token it saw: another token's leaves this one, its own drops it.
    cache
        .invalidate(&key, &AccessToken::new("SOMETHING-ELSE"))
        .await
        .unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), Some(token.clone()));
    cache.invalidate(&key, &token.token).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), None);

    // A plain token from before sealing is never used, and the next refresh replaces it
    // even though it claims to live longer.
    let plain = item::item([
        ("pk", item::s(key.corp_id())),
        ("sk", item::s(key.sort_key())),
        ("token", item::s("OLD-PLAIN-TOKEN")),
        ("expires_at", item::n(Utc::now().timestamp() + 9000)),
    ]);
    db.tenants().put(plain).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), None);
    let now = Utc::now().timestamp();
    assert!(cache
        .try_lease(&key, now, now + 10, now + 300)
        .await
        .unwrap());
    cache.put(&key, &token).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), Some(token));
    let raw = db
        .tenants()
        .get_consistent(key.corp_id(), key.sort_key())
        .await
        .unwrap()
        .unwrap();
    assert!(!raw.contains_key("token"));
}

fn customer_token(keys: &SigningKeys, tenant: &str) -> String {
    tokens::issue(
        keys,
        &Claims {
            tenant: tenant.to_string(),
            subject: "wmRotation".into(),
            kind: TokenKind::Customer,
            expires_at: Utc::now().timestamp() + 600,
        },
    )
}

async fn me_status(keys: SigningKeys, token: &str) -> (u16, serde_json::Value) {
    // Wired as customer-api's wire.rs wires its routes' tenants: no key service.
    let db = db_without_secret_keys().await;
    let api = Arc::new(CustomerApi {
        points: DynamoPoints::new(db.clone()),
        forms: customer_api_fn::forms::Forms::unpublished(&db),
        fission: None,
        directory: DynamoDirectory::new(db.clone()),
        tenants: DynamoTenants::new(db),
        clock: Arc::new(SystemClock),
        signing_key: keys,
        official: None,
    });
    let bearer = format!("Bearer {token}");
    let resp = customer_api_fn::handle(&api, get_request("/v1/me", &bearer))
        .await
        .unwrap();
    response_json(&resp)
}

#[tokio::test]
async fn customer_tokens_follow_the_signing_key_rotation() {
    let db = db().await;
    let t = tenant(&db).await;
    let keys = |spec: &str| SigningKeys::parse(spec).unwrap();
    let old = "old-signing-key-0123456789abcdef";
    let new = "new-signing-key-0123456789abcdef";
    let before = keys(&format!("k1={old}"));
    let during = keys(&format!("k2={new},k1={old}"));
    let after = keys(&format!("k2={new}"));
    let old_token = customer_token(&before, t.id().as_str());
    let new_token = customer_token(&during, t.id().as_str());

    // During the rotation both verify; afterwards only the new key's.
    for token in [&old_token, &new_token] {
        let (status, body) = me_status(during.clone(), token).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = me_status(after.clone(), &old_token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, _) = me_status(after.clone(), &new_token).await;
    assert_eq!(status, 200);

    // A key id nobody lists: refused, even with a signature made by a listed secret.
    let stranger = keys(&format!("k9={new}"));
    let (status, body) = me_status(after, &customer_token(&stranger, t.id().as_str())).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
}
