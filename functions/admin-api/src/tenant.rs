//! Admin routes of the tenant itself: its profile (never a secret), settings and API keys
//! (rules in [`scrm_core::tenants::admin`]).
use crate::{Admin, AnyKey, Api, Key, Table, Viewer};
use axum::extract::State;
use scrm_adapters::http::{json, Head, Json, Reply};
use scrm_core::clock::Clock;
use scrm_core::tenants::admin;
use scrm_core::tenants::{ApiKeyStore, Role, TenantSettings};
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
