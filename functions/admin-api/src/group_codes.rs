//! Admin routes of group codes (群活码): create with an `Idempotency-Key`, list, read,
//! edit, delete, and their daily joins. Rules in [`scrm_core::growth::group_code_admin`].
use crate::{Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::clock::Clock;
use scrm_core::growth::admin::GrowthError;
use scrm_core::growth::group_code_admin::{self, GroupCodeAdmin};
use scrm_core::growth::state::is_group_code_state;
use scrm_core::growth::{GroupCodeInput, GroupCodeStore};
use serde_json::json;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    const CODE: &str = "/v1/growth/group-codes/{state}";
    t.post("/v1/growth/group-codes", create)
        .get("/v1/growth/group-codes", list)
        .get(CODE, code)
        .put(CODE, edit)
        .delete(CODE, delete)
        .get("/v1/growth/group-codes/{state}/figures", figures)
}

fn state_param(head: &Head) -> Result<String, ApiError> {
    let raw = head.param(0);
    if is_group_code_state(raw) {
        Ok(raw.to_string())
    } else {
        Err(ApiError::not_found("no such group code"))
    }
}

fn admin(
    api: &crate::AdminApi,
) -> GroupCodeAdmin<
    '_,
    scrm_adapters::dynamo::DynamoGrowth,
    scrm_adapters::wecom::WeComClient,
    scrm_adapters::dynamo::DynamoDirectory,
    scrm_adapters::dynamo::DynamoTenants,
> {
    GroupCodeAdmin {
        store: &api.growth,
        wecom: &api.wecom,
        facts: &api.directory,
        tenants: &api.tenants,
    }
}

async fn create(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let idempotency_key = crate::required_idempotency_key(&head)?;
    let input: GroupCodeInput = json_body(&body, MAX_JSON_BODY)?;
    let (code, created) = admin(&api)
        .create(
            &key.tenant,
            idempotency_key.as_str(),
            input,
            api.clock.now(),
        )
        .await?;
    Ok(json(if created { 201 } else { 200 }, &code))
}

async fn list(State(api): Api, key: Key<Viewer>) -> Reply {
    let mut codes = api.growth.group_codes(&key.tenant).await?;
    codes.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    Ok(json(200, &json!({ "items": codes })))
}

async fn code(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let state = state_param(&head)?;
    let code = api
        .growth
        .group_code(&key.tenant, &state)
        .await?
        .ok_or(GrowthError::NoSuchCode)?;
    Ok(json(200, &code))
}

/// An edit: the whole code as it should be, and the version it starts from.
async fn edit(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let state = state_param(&head)?;
    let (version, input) = crate::versioned_body(&body)?;
    let code = admin(&api)
        .edit(&key.tenant, &state, version, input, api.clock.now())
        .await?;
    Ok(json(200, &code))
}

async fn delete(State(api): Api, key: Key<Operator>, head: Head) -> Reply {
    let state = state_param(&head)?;
    admin(&api).delete(&key.tenant, &state).await?;
    Ok(json(200, &json!({ "deleted": state })))
}

fn date_param(head: &Head, name: &str) -> Result<chrono::NaiveDate, ApiError> {
    let raw = head
        .query(name)
        .ok_or_else(|| ApiError::validation(format!("{name} is required (YYYY-MM-DD)")))?;
    chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
        .map_err(|_| ApiError::validation(format!("{name} must be YYYY-MM-DD")))
}

async fn figures(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let state = state_param(&head)?;
    let (from, to) = (date_param(&head, "from")?, date_param(&head, "to")?);
    let days = group_code_admin::figures(&api.growth, &key.tenant, &state, from, to).await?;
    let joined: i64 = days.iter().map(|d| d.joined).sum();
    Ok(json(
        200,
        &json!({ "state": state, "from": from, "to": to, "joined": joined, "days": days }),
    ))
}
