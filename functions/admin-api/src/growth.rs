//! Admin routes of acquisition: channel codes (create with an `Idempotency-Key`, list,
//! read, edit, pause, resume, delete), their daily figures, and the tenant's default
//! welcome. Rules in [`scrm_core::growth::admin`]. Group codes: [`crate::group_codes`].
use crate::AdminApi;
use crate::{Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::clock::Clock;
use scrm_core::growth::admin::{self, GrowthError};
use scrm_core::growth::state::is_code_state;
use scrm_core::growth::welcome_refs;
use scrm_core::growth::{CodeInput, GrowthStore, Welcome};
use scrm_core::tenants::admin::registered;
use serde::Deserialize;
use serde_json::json;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    const CODE: &str = "/v1/growth/channel-codes/{state}";
    let t = crate::group_codes::routes(t);
    let t = crate::fission::routes(t);
    t.post("/v1/growth/channel-codes", create)
        .get("/v1/growth/channel-codes", list)
        .get(CODE, code)
        .put(CODE, edit)
        .delete(CODE, delete)
        .post("/v1/growth/channel-codes/{state}/pause", pause)
        .post("/v1/growth/channel-codes/{state}/resume", resume)
        .get("/v1/growth/channel-codes/{state}/figures", figures)
        .get("/v1/growth/default-welcome", default_welcome)
        .put("/v1/growth/default-welcome", set_default_welcome)
}

fn state_param(head: &Head) -> Result<String, ApiError> {
    let raw = head.param(0);
    if is_code_state(raw) {
        Ok(raw.to_string())
    } else {
        Err(ApiError::not_found("no such channel code"))
    }
}

async fn create(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let idempotency_key = crate::required_idempotency_key(&head)?;
    let input: CodeInput = json_body(&body, MAX_JSON_BODY)?;
    let invite = references(&api, &key, &input, None).await?;
    let (code, created) = admin::create_code(
        &api.growth,
        &api.wecom,
        &api.tenants,
        &key.tenant,
        idempotency_key.as_str(),
        admin::CodeRequest {
            input,
            invite_pic_url: invite,
        },
        api.clock.now(),
    )
    .await?;
    welcome_refs::record_usage(
        &api.content.store,
        &key.tenant,
        &code.state,
        code.spec.welcome.as_ref(),
    )
    .await?;
    Ok(json(if created { 201 } else { 200 }, &code))
}

/// A code's welcome materials checked (they exist and are ready) and its group invite's
/// picture uploaded to WeCom (unless `kept`, the one uploaded for the same invite before),
/// before anything is written.
async fn references(
    api: &AdminApi,
    key: &Key<Operator>,
    input: &CodeInput,
    kept: Option<String>,
) -> Result<Option<String>, ApiError> {
    // Problems of the input itself first, so that a bad body is answered without reads.
    if let problems @ [_, ..] = input.problems().as_slice() {
        return Err(GrowthError::Invalid(problems.to_vec()).into());
    }
    welcome_refs::material_problems(
        &api.content.store,
        &key.tenant,
        input.welcome.as_ref(),
        "welcome.attachments",
    )
    .await?;
    if input.group_invite.is_none() {
        return Ok(None);
    }
    if kept.is_some() {
        return Ok(kept);
    }
    let tenant = registered::<_, GrowthError>(&api.tenants, &key.tenant).await?;
    Ok(welcome_refs::invite_picture(
        &api.growth,
        &api.content.pictures,
        &api.wecom,
        &tenant,
        input,
    )
    .await?)
}

async fn list(State(api): Api, key: Key<Viewer>) -> Reply {
    let mut codes = api.growth.codes(&key.tenant).await?;
    codes.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    Ok(json(200, &json!({ "items": codes })))
}

async fn code(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let state = state_param(&head)?;
    let code = api
        .growth
        .code(&key.tenant, &state)
        .await?
        .ok_or(GrowthError::NoSuchCode)?;
    Ok(json(200, &code))
}

/// An edit: the whole code as it should be, and the version it starts from.
async fn edit(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let state = state_param(&head)?;
    let (version, input): (i64, CodeInput) = crate::versioned_body(&body)?;
    // The same group invite keeps the picture already uploaded for it.
    let stored = api.growth.code(&key.tenant, &state).await?;
    let kept = stored
        .filter(|c| c.spec.group_invite.is_some() && c.spec.group_invite == input.group_invite)
        .and_then(|c| c.invite_pic_url);
    let invite = references(&api, &key, &input, kept).await?;
    let code = admin::edit_code(
        &api.growth,
        &api.wecom,
        &api.tenants,
        &key.tenant,
        &state,
        version,
        admin::CodeRequest {
            input,
            invite_pic_url: invite,
        },
        api.clock.now(),
    )
    .await?;
    welcome_refs::record_usage(
        &api.content.store,
        &key.tenant,
        &code.state,
        code.spec.welcome.as_ref(),
    )
    .await?;
    Ok(json(200, &code))
}

async fn set_paused(api: Api, key: Key<Operator>, head: Head, paused: bool) -> Reply {
    let state = state_param(&head)?;
    let State(api) = api;
    let code = admin::set_paused(&api.growth, &key.tenant, &state, paused, api.clock.now()).await?;
    Ok(json(200, &code))
}

async fn pause(api: Api, key: Key<Operator>, head: Head) -> Reply {
    set_paused(api, key, head, true).await
}

async fn resume(api: Api, key: Key<Operator>, head: Head) -> Reply {
    set_paused(api, key, head, false).await
}

async fn delete(State(api): Api, key: Key<Operator>, head: Head) -> Reply {
    let state = state_param(&head)?;
    let now = api.clock.now();
    admin::delete_code(
        &api.growth,
        &api.wecom,
        &api.tenants,
        &key.tenant,
        &state,
        now,
    )
    .await?;
    welcome_refs::record_usage(&api.content.store, &key.tenant, &state, None).await?;
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
    let days = admin::figures(&api.growth, &key.tenant, &state, from, to).await?;
    let total = |f: fn(&admin::DayFigures) -> i64| days.iter().map(f).sum::<i64>();
    Ok(json(
        200,
        &json!({
            "state": state,
            "from": from,
            "to": to,
            "added": total(|d| d.added),
            "removed": total(|d| d.removed),
            "net": total(|d| d.net),
            "days": days,
        }),
    ))
}

async fn default_welcome(State(api): Api, key: Key<Viewer>) -> Reply {
    let welcome = api.growth.default_welcome(&key.tenant).await?;
    Ok(json(200, &json!({ "welcome": welcome })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultWelcomeInput {
    welcome: Option<Welcome>,
}

async fn set_default_welcome(State(api): Api, key: Key<Operator>, RawBody(body): RawBody) -> Reply {
    let input: DefaultWelcomeInput = json_body(&body, MAX_JSON_BODY)?;
    if let Some(w) = &input.welcome {
        let mut problems = Vec::new();
        w.problems("welcome", &mut problems);
        if !problems.is_empty() {
            return Err(GrowthError::Invalid(problems).into());
        }
    }
    welcome_refs::material_problems(
        &api.content.store,
        &key.tenant,
        input.welcome.as_ref(),
        "welcome.attachments",
    )
    .await?;
    let welcome =
        admin::set_default_welcome(&api.growth, &api.tenants, &key.tenant, input.welcome).await?;
    welcome_refs::record_usage(&api.content.store, &key.tenant, "default", welcome.as_ref())
        .await?;
    Ok(json(200, &json!({ "welcome": welcome })))
}
