//! Admin routes of the tenant itself: its profile (never a secret), settings and API keys
//! (rules in [`scrm_core::tenants::admin`]).
use crate::{Admin, AnyKey, Api, Key, Table, Viewer};
use axum::extract::State;
use scrm_adapters::http::{json, ApiError, Head, Json, Reply};
use scrm_core::clock::Clock;
use scrm_core::official::{OfficialAccount, OfficialAccounts};
use scrm_core::tenants::admin;
use scrm_core::tenants::{ApiKeyStore, Role, SecretsChange, TenantSettings};
use serde::Deserialize;
use serde_json::json;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    t.get("/v1/whoami", whoami)
        .get("/v1/tenant", profile)
        .put("/v1/tenant/settings", settings)
        .get("/v1/keys", keys)
        .post("/v1/keys", new_key)
        .delete("/v1/keys/{key_id}", revoke_key)
        .get(OFFICIAL_ACCOUNT, official_account)
        .put(OFFICIAL_ACCOUNT, set_official_account)
        .delete(OFFICIAL_ACCOUNT, remove_official_account)
        .get(SECRETS, secrets)
        .put(SECRETS, set_secrets)
}

/// The tenant's WeCom secrets: write-only (sealed), only whether each is set is shown.
const SECRETS: &str = "/v1/tenant/secrets";

/// A secrets change: each field given replaces the stored value; `null` is refused (a
/// secret is replaced, never cleared).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsBody {
    #[serde(default, deserialize_with = "present")]
    contact_secret: Option<String>,
    #[serde(default, deserialize_with = "present")]
    app_secret: Option<String>,
    #[serde(default, deserialize_with = "present")]
    agent_id: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    callback_token: Option<String>,
    #[serde(default, deserialize_with = "present")]
    encoding_aes_key: Option<String>,
}

/// A field that, when present, must hold a value (not `null`).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

async fn secrets(State(api): Api, key: Key<Viewer>) -> Reply {
    Ok(json(
        200,
        &admin::secrets_status(&api.tenants, &key.tenant).await?,
    ))
}

async fn set_secrets(State(api): Api, key: Key<Admin>, Json(body): Json<SecretsBody>) -> Reply {
    let change = SecretsChange::parse(
        body.contact_secret,
        body.app_secret,
        body.agent_id,
        body.callback_token,
        body.encoding_aes_key,
    )
    .map_err(|e| ApiError::validation(e.to_string()))?;
    let now = api.clock.now();
    let status = admin::change_secrets(&api.tenants, &key.tenant, &change, now).await?;
    Ok(json(200, &status))
}

/// The tenant's WeChat official account (the customer pages' built-in login): the app id
/// is shown, the secret is write-only (sealed like the tenant's other secrets).
const OFFICIAL_ACCOUNT: &str = "/v1/tenant/official-account";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfficialAccountBody {
    app_id: String,
    secret: String,
}

async fn official_account(State(api): Api, key: Key<Viewer>) -> Reply {
    let found = api
        .tenants
        .official_accounts()
        .official_account(&key.tenant)
        .await?;
    Ok(json(
        200,
        &json!({ "configured": found.is_some(), "app_id": found.map(|a| a.app_id) }),
    ))
}

async fn set_official_account(
    State(api): Api,
    key: Key<Admin>,
    Json(body): Json<OfficialAccountBody>,
) -> Reply {
    let account = OfficialAccount::parse(&body.app_id, &body.secret)
        .map_err(|e| ApiError::validation(e.to_string()))?;
    api.tenants
        .official_accounts()
        .put_official_account(&key.tenant, &account)
        .await?;
    Ok(json(
        200,
        &json!({ "configured": true, "app_id": account.app_id }),
    ))
}

async fn remove_official_account(State(api): Api, key: Key<Admin>) -> Reply {
    api.tenants
        .official_accounts()
        .remove_official_account(&key.tenant)
        .await?;
    Ok(json(200, &json!({ "configured": false, "app_id": null })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    role: Role,
}

async fn whoami(key: Key<AnyKey>) -> Reply {
    Ok(json(
        200,
        &json!({
            "corp_id": key.tenant.as_str(),
            "role": key.role.as_str(),
            "scopes": key.scopes,
            "key_id": key.key_id,
        }),
    ))
}

async fn profile(State(api): Api, key: Key<Viewer>) -> Reply {
    Ok(json(200, &admin::profile(&api.tenants, &key.tenant).await?))
}

async fn settings(State(api): Api, key: Key<Admin>, Json(s): Json<TenantSettings>) -> Reply {
    admin::change_settings(&api.tenants, &key.tenant, &s).await?;
    Ok(json(200, &s))
}

async fn keys(State(api): Api, key: Key<Admin>) -> Reply {
    let keys = api.tenants.list_keys(&key.tenant).await?;
    Ok(json(200, &json!({ "keys": keys })))
}

async fn new_key(State(api): Api, key: Key<Admin>, Json(new): Json<NewKey>) -> Reply {
    let now = api.clock.now();
    let (secret, record) =
        admin::new_key(&api.tenants, &key.tenant, &new.name, new.role, now).await?;
    Ok(json(
        201,
        &json!({ "key": secret.reveal(), "record": record }),
    ))
}

async fn revoke_key(State(api): Api, key: Key<Admin>, head: Head) -> Reply {
    let key_id = head.id(0, "key_id")?;
    admin::revoke_key(&api.tenants, &key.tenant, key_id).await?;
    Ok(json(200, &json!({ "revoked": key_id })))
}
