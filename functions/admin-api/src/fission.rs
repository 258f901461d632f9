//! Admin routes of fission campaigns (任务宝 / 邀请有礼): create with an `Idempotency-Key`,
//! list and read with their figures, edit, end early, and the leaderboard; and the coupon
//! code lists coupon tiers pay from (create with codes, add codes, stock). Rules in
//! [`scrm_core::growth::fission_admin`] and [`scrm_core::growth::fission_coupons`].
use crate::{Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::clock::Clock;
use scrm_core::growth::fission::{is_campaign_id, CampaignInput};
use scrm_core::growth::fission_admin::{self, FissionError, MAX_LEADERS};
use scrm_core::growth::fission_coupons::{self, is_list_id, AddCodesInput, CouponListInput};
use serde_json::json;

/// Leaders answered when the request names no `limit`.
const DEFAULT_LEADERS: usize = 20;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    t.post("/v1/growth/fission-campaigns", create)
        .get("/v1/growth/fission-campaigns", list)
        .get("/v1/growth/fission-campaigns/{campaign_id}", campaign)
        .put("/v1/growth/fission-campaigns/{campaign_id}", edit)
        .post("/v1/growth/fission-campaigns/{campaign_id}/end", end)
        .get(
            "/v1/growth/fission-campaigns/{campaign_id}/leaderboard",
            leaderboard,
        )
        .post("/v1/growth/coupon-lists", create_list)
        .get("/v1/growth/coupon-lists", coupon_lists)
        .get("/v1/growth/coupon-lists/{list_id}", coupon_list)
        .post("/v1/growth/coupon-lists/{list_id}/codes", add_codes)
}

fn list_param(head: &Head) -> Result<String, ApiError> {
    let raw = head.param(0);
    if is_list_id(raw) {
        Ok(raw.to_string())
    } else {
        Err(FissionError::NoSuchList.into())
    }
}

async fn create_list(
    State(api): Api,
    key: Key<Operator>,
    head: Head,
    RawBody(body): RawBody,
) -> Reply {
    let idempotency_key = crate::required_idempotency_key(&head)?;
    let input: CouponListInput = json_body(&body, MAX_JSON_BODY)?;
    let (out, created) = fission_coupons::create_list(
        &api.growth,
        &api.tenants,
        &key.tenant,
        idempotency_key.as_str(),
        input,
        api.clock.now(),
    )
    .await?;
    Ok(json(if created { 201 } else { 200 }, &out))
}

async fn coupon_lists(State(api): Api, key: Key<Viewer>) -> Reply {
    let items = fission_coupons::lists(&api.growth, &key.tenant).await?;
    Ok(json(200, &json!({ "items": items })))
}

async fn coupon_list(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = list_param(&head)?;
    Ok(json(
        200,
        &fission_coupons::list(&api.growth, &key.tenant, &id).await?,
    ))
}

async fn add_codes(
    State(api): Api,
    key: Key<Operator>,
    head: Head,
    RawBody(body): RawBody,
) -> Reply {
    let id = list_param(&head)?;
    let input: AddCodesInput = json_body(&body, MAX_JSON_BODY)?;
    let out = fission_coupons::add_codes(&api.growth, &key.tenant, &id, input).await?;
    Ok(json(200, &out))
}

fn id_param(head: &Head) -> Result<String, ApiError> {
    let raw = head.param(0);
    if is_campaign_id(raw) {
        Ok(raw.to_string())
    } else {
        Err(FissionError::NoSuchCampaign.into())
    }
}

async fn create(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let idempotency_key = crate::required_idempotency_key(&head)?;
    let input: CampaignInput = json_body(&body, MAX_JSON_BODY)?;
    let (campaign, created) = fission_admin::create_campaign(
        &api.growth,
        &api.points,
        &api.directory,
        &api.tenants,
        &key.tenant,
        idempotency_key.as_str(),
        input,
        api.clock.now(),
    )
    .await?;
    Ok(json(if created { 201 } else { 200 }, &campaign))
}

async fn list(State(api): Api, key: Key<Viewer>) -> Reply {
    let items = fission_admin::campaigns(&api.growth, &key.tenant).await?;
    Ok(json(200, &json!({ "items": items })))
}

async fn campaign(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = id_param(&head)?;
    Ok(json(
        200,
        &fission_admin::campaign(&api.growth, &key.tenant, &id).await?,
    ))
}

async fn edit(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let id = id_param(&head)?;
    let mut value: serde_json::Value = json_body(&body, MAX_JSON_BODY)?;
    let version = value
        .as_object_mut()
        .and_then(|o| o.remove("version"))
        .and_then(|v| v.as_i64())
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            ApiError::validation("version: the campaign's version the edit was made from")
        })?;
    let input: CampaignInput = serde_json::from_value(value)
        .map_err(|e| ApiError::validation(format!("invalid campaign: {e}")))?;
    let c = fission_admin::edit_campaign(
        &api.growth,
        &api.points,
        &api.directory,
        &key.tenant,
        &id,
        version,
        input,
        api.clock.now(),
    )
    .await?;
    Ok(json(200, &c))
}

async fn end(State(api): Api, key: Key<Operator>, head: Head) -> Reply {
    let id = id_param(&head)?;
    let c = fission_admin::end_campaign(&api.growth, &key.tenant, &id, api.clock.now()).await?;
    Ok(json(200, &c))
}

async fn leaderboard(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = id_param(&head)?;
    let limit = match head.query("limit") {
        None => DEFAULT_LEADERS,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LEADERS).contains(n))
            .ok_or_else(|| ApiError::validation(format!("limit must be 1-{MAX_LEADERS}")))?,
    };
    let items =
        fission_admin::leaderboard(&api.growth, &api.directory, &key.tenant, &id, limit).await?;
    Ok(json(200, &json!({ "items": items })))
}
