//! A customer's fission campaign pages: the campaign with their progress, taking their
//! personal code, and their poster. Rules in [`scrm_core::growth::fission_admin`].
use crate::{Api, Caller};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use scrm_adapters::dynamo::{DynamoGrowth, DynamoTenants};
use scrm_adapters::http::{json, ApiError, Head, Reply};
use scrm_adapters::pictures::HttpPictures;
use scrm_adapters::wecom::WeComClient;
use scrm_core::clock::Clock;
use scrm_core::growth::fission::is_campaign_id;
use scrm_core::growth::fission_admin::{self, FissionError};

/// What the fission routes use beyond the customer API's own ports.
pub struct Fission {
    /// Campaigns and inviters (the tasks table).
    pub store: DynamoGrowth,
    /// WeCom: a personal code is a 「联系我」 code.
    pub wecom: WeComClient,
    /// Tenants with their customer-contact secrets.
    pub tenants: DynamoTenants,
    /// The poster's pictures, fetched to be embedded.
    pub pictures: HttpPictures,
}

fn id_param(head: &Head) -> Result<String, ApiError> {
    let raw = head.param(0);
    if is_campaign_id(raw) {
        Ok(raw.to_string())
    } else {
        Err(FissionError::NoSuchCampaign.into())
    }
}

fn wired(api: &crate::CustomerApi) -> Result<&Fission, ApiError> {
    api.fission
        .as_deref()
        .ok_or_else(|| ApiError::new(503, "fission_unavailable", "fission is not configured"))
}

pub(crate) async fn page(State(api): Api, c: Caller, head: Head) -> Reply {
    let id = id_param(&head)?;
    let f = wired(&api)?;
    let out = fission_admin::page(
        &f.store,
        &api.directory,
        &c.account.tenant,
        &id,
        c.account.customer.as_str(),
        api.clock.now(),
    )
    .await?;
    Ok(json(200, &out))
}

pub(crate) async fn code(State(api): Api, c: Caller, head: Head) -> Reply {
    let id = id_param(&head)?;
    let f = wired(&api)?;
    let out = fission_admin::take_code(
        &f.store,
        &f.wecom,
        &api.directory,
        &f.tenants,
        &c.account.tenant,
        &id,
        c.account.customer.as_str(),
        api.clock.now(),
    )
    .await?;
    Ok(json(200, &out))
}

pub(crate) async fn poster(State(api): Api, c: Caller, head: Head) -> Reply {
    let id = id_param(&head)?;
    let f = wired(&api)?;
    let svg = fission_admin::poster(
        &f.store,
        &api.directory,
        &f.pictures,
        &c.account.tenant,
        &id,
        c.account.customer.as_str(),
    )
    .await?;
    let mut resp = (StatusCode::OK, svg).into_response();
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(resp)
}
