//! Admin routes of tracked links (链接追踪): create a link with an `Idempotency-Key` (its
//! direct short URL answered), list the links with their clicks, mint a staff member's own
//! short URL of a link, and the click figures per link, plan, staff member and day. Rules
//! in [`scrm_core::links::admin`]; the redirect itself is the `link-redirect` function.
//!
//! Short URLs are `{LINKS_BASE_URL}/l/{code}` (the redirect function's public URL; read per
//! request, so a missing setting only leaves `short_url` null, the `path` is always given).
use crate::{Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use chrono::NaiveDate;
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::clock::Clock;
use scrm_core::links::admin::{self, is_link_id, short_path, short_url, Figures};
use scrm_core::links::{Link, LinkError, LinkInput, LinkStore, SendContext, ShortCode};
use scrm_core::tenants::{Tenant, TenantId, TenantLookup};
use serde::Deserialize;
use serde_json::{json, Value};

/// The days the list and figures cover when no range is given (today included).
pub const DEFAULT_DAYS: i64 = 30;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    t.post("/v1/links", create)
        .get("/v1/links", list)
        .get("/v1/links/figures", figures)
        .post("/v1/links/{link_id}/codes", mint)
}

fn base() -> Option<String> {
    std::env::var("LINKS_BASE_URL")
        .ok()
        .filter(|b| !b.trim().is_empty())
}

fn code_json(code: &ShortCode) -> Value {
    json!({
        "code": code,
        "path": short_path(code),
        "short_url": base().map(|b| short_url(&b, code)),
    })
}

fn link_json(link: &Link) -> Value {
    let direct = ShortCode::derive(&link.code_key, &link.link_id, &SendContext::direct());
    let mut v = serde_json::to_value(link).unwrap_or_default();
    if let (Value::Object(m), Value::Object(c)) = (&mut v, code_json(&direct)) {
        m.extend(c);
    }
    v
}

async fn tenant(api: &crate::AdminApi, t: &TenantId) -> Result<Tenant, ApiError> {
    api.tenants
        .tenant(t)
        .await?
        .ok_or_else(|| ApiError::not_found("no such tenant"))
}

async fn create(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let idempotency_key = crate::required_idempotency_key(&head)?;
    let input: LinkInput = json_body(&body, MAX_JSON_BODY)?;
    let tenant = tenant(&api, &key.tenant).await?;
    let (link, created) = admin::create(
        &api.growth,
        &key.tenant,
        idempotency_key.as_str(),
        &input,
        &key.operator(),
        api.clock.now(),
    )
    .await?;
    // The direct code (shared by hand): minted with the link, again on a replay (the same
    // put), so that a create whose answer was lost still leaves a working short URL.
    admin::mint(
        &api.growth,
        &key.tenant,
        &tenant.settings.timezone,
        &link,
        SendContext::direct(),
    )
    .await?;
    Ok(json(if created { 201 } else { 200 }, &link_json(&link)))
}

fn day(head: &Head, name: &str) -> Result<Option<NaiveDate>, ApiError> {
    head.query(name)
        .map(|raw| {
            NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
                .map_err(|_| ApiError::validation(format!("{name} must be a date (YYYY-MM-DD)")))
        })
        .transpose()
}

/// The range asked for, or the last [`DEFAULT_DAYS`] days in the tenant's zone.
async fn range(
    api: &crate::AdminApi,
    t: &TenantId,
    head: &Head,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let (from, to) = (day(head, "from")?, day(head, "to")?);
    let to = match to {
        Some(to) => to,
        None => {
            let tz = tenant(api, t).await?.settings.tz();
            api.clock.now().with_timezone(&tz).date_naive()
        }
    };
    let from = from.unwrap_or(to - chrono::Duration::days(DEFAULT_DAYS - 1));
    admin::check_range(from, to)?;
    Ok((from, to))
}

async fn list(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let (from, to) = range(&api, &key.tenant, &head).await?;
    let (links, figures) = tokio::join!(
        api.growth.links(&key.tenant),
        admin::figures(&api.growth, &key.tenant, from, to, None),
    );
    let (links, figures): (Vec<Link>, Figures) = (links?, figures?);
    let items: Vec<Value> = links
        .iter()
        .map(|l| {
            let mut v = link_json(l);
            let counts = figures
                .by_link
                .iter()
                .find(|r| r.key == l.link_id)
                .map(|r| r.counts)
                .unwrap_or_default();
            v["clicks"] = json!(counts.clicks);
            v["identified"] = json!(counts.identified);
            v["visitors"] = json!(counts.visitors);
            v
        })
        .collect();
    Ok(json(
        200,
        &json!({ "from": figures.from, "to": figures.to, "items": items }),
    ))
}

async fn figures(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let (from, to) = range(&api, &key.tenant, &head).await?;
    let link_id = head.query("link_id");
    if let Some(id) = &link_id {
        if !is_link_id(id) {
            return Err(ApiError::validation("link_id is not a link id").into());
        }
    }
    let figures = admin::figures(&api.growth, &key.tenant, from, to, link_id.as_deref()).await?;
    Ok(json(200, &figures))
}

/// A staff member's own short URL of a link: the clicks on it count for them, and they are
/// told of identified customers' clicks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    staff: String,
}

async fn mint(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let link_id = head.param(0);
    if !is_link_id(link_id) {
        return Err(ApiError::not_found("no such link").into());
    }
    let request: MintRequest = json_body(&body, MAX_JSON_BODY)?;
    let link = api
        .growth
        .link(&key.tenant, link_id)
        .await?
        .ok_or(LinkError::NoSuchLink)?;
    let tenant = tenant(&api, &key.tenant).await?;
    let context = SendContext {
        staff: Some(request.staff),
        ..SendContext::direct()
    };
    let code = admin::mint(
        &api.growth,
        &key.tenant,
        &tenant.settings.timezone,
        &link,
        context.clone(),
    )
    .await?;
    let mut v = code_json(&code.code);
    v["link_id"] = json!(link.link_id);
    v["staff"] = json!(context.staff);
    Ok(json(200, &v))
}
