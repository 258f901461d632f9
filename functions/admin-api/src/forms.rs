//! Admin routes of smart forms (智能表单): create with an `Idempotency-Key`, list (with
//! each form's number of submissions), read, edit, publish/close, delete a draft; a form's
//! submissions, newest first, and their CSV export. Rules in [`scrm_core::forms::admin`].
//! Submissions hold what customers typed (mobiles, addresses): reading them needs the
//! scope `personal_data:read` besides `read`.
use crate::{Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::clock::Clock;
use scrm_core::forms::admin::{self, csv_header, csv_line};
use scrm_core::forms::ports::is_cursor;
use scrm_core::forms::{FormInput, FormStatus, FormStore};
use scrm_core::tenants::Scope;
use serde::Deserialize;
use serde_json::json;

/// Rows of one export response at most (and by default; `limit` asks for fewer): the
/// function URL's 6 MB answer holds this many rows of a 30-field form comfortably; more
/// are fetched with the `x-next-cursor` header.
pub const EXPORT_ROWS: usize = 5000;
/// Submissions a page of the export reads at once.
const EXPORT_PAGE: usize = 500;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    const FORM: &str = "/v1/growth/forms/{form_id}";
    t.post("/v1/growth/forms", create)
        .get("/v1/growth/forms", list)
        .get(FORM, form)
        .put(FORM, edit)
        .delete(FORM, delete)
        .post("/v1/growth/forms/{form_id}/status", status)
        .get("/v1/growth/forms/{form_id}/submissions", submissions)
        .get("/v1/growth/forms/{form_id}/submissions/export", export)
}

async fn create(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let idempotency_key = crate::required_idempotency_key(&head)?;
    let input: FormInput = json_body(&body, MAX_JSON_BODY)?;
    let (form, created) = admin::create(
        &api.growth,
        &key.tenant,
        idempotency_key.as_str(),
        input,
        api.clock.now(),
    )
    .await?;
    Ok(json(if created { 201 } else { 200 }, &form))
}

async fn list(State(api): Api, key: Key<Viewer>) -> Reply {
    let mut forms = api.growth.forms(&key.tenant).await?;
    forms.sort_by_key(|f| std::cmp::Reverse(f.created_at));
    let ids: Vec<String> = forms.iter().map(|f| f.form_id.clone()).collect();
    let counts = api.growth.submission_counts(&key.tenant, &ids).await?;
    let items: Vec<_> = forms
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or_default();
            v["submissions"] = json!(counts.get(&f.form_id).copied().unwrap_or(0));
            v
        })
        .collect();
    Ok(json(200, &json!({ "items": items })))
}

async fn form(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let f = admin::form(&api.growth, &key.tenant, head.param(0)).await?;
    let counts = api
        .growth
        .submission_counts(&key.tenant, std::slice::from_ref(&f.form_id))
        .await?;
    let mut v = serde_json::to_value(&f).unwrap_or_default();
    v["submissions"] = json!(counts.get(&f.form_id).copied().unwrap_or(0));
    Ok(json(200, &v))
}

/// An edit: the whole definition as it should be, and the version it starts from.
async fn edit(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let (version, input) = crate::versioned_body::<FormInput>(&body)?;
    let f = admin::edit(
        &api.growth,
        &key.tenant,
        head.param(0),
        version,
        input,
        api.clock.now(),
    )
    .await?;
    Ok(json(200, &f))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    version: i64,
    status: FormStatus,
}

async fn status(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let change: StatusChange = json_body(&body, MAX_JSON_BODY)?;
    let f = admin::set_status(
        &api.growth,
        &key.tenant,
        head.param(0),
        change.version,
        change.status,
        api.clock.now(),
    )
    .await?;
    Ok(json(200, &f))
}

async fn delete(State(api): Api, key: Key<Operator>, head: Head) -> Reply {
    let id = head.param(0).to_string();
    admin::delete(&api.growth, &key.tenant, &id).await?;
    Ok(json(200, &json!({ "deleted": id })))
}

fn cursor(head: &Head) -> Result<Option<String>, ApiError> {
    match head.query("cursor") {
        Some(c) if is_cursor(&c) => Ok(Some(c)),
        Some(_) => Err(ApiError::validation("cursor is not valid")),
        None => Ok(None),
    }
}

async fn submissions(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    key.principal.require(Scope::PersonalData)?;
    let limit = head.page_limit(20, 100)?;
    let after = cursor(&head)?;
    let f = admin::form(&api.growth, &key.tenant, head.param(0)).await?;
    let page = api
        .growth
        .submissions(&key.tenant, &f.form_id, after.as_deref(), limit as usize)
        .await?;
    Ok(json(
        200,
        &json!({ "items": page.items, "next_cursor": page.next_cursor }),
    ))
}

/// The submissions as CSV (UTF-8 with a BOM, CRLF rows, newest first): up to `limit`
/// rows ([`EXPORT_ROWS`] at most); when more are left, `x-next-cursor` says where the next
/// file starts.
async fn export(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    key.principal.require(Scope::PersonalData)?;
    let max_rows = head.page_limit(EXPORT_ROWS as i32, EXPORT_ROWS as i32)? as usize;
    let mut after = cursor(&head)?;
    let f = admin::form(&api.growth, &key.tenant, head.param(0)).await?;
    // lambda_http decodes a text body with encoding_rs, which takes a leading BOM for the
    // encoding's mark and drops it: this first one goes there, the header's reaches Excel.
    let mut body = String::from(admin::BOM);
    body.push_str(&csv_header(&f));
    let mut rows = 0;
    let next = loop {
        let want = EXPORT_PAGE.min(max_rows - rows);
        let page = api
            .growth
            .submissions(&key.tenant, &f.form_id, after.as_deref(), want)
            .await?;
        rows += page.items.len();
        for s in &page.items {
            body.push_str(&csv_line(&f, s));
        }
        match page.next_cursor {
            Some(c) if rows >= max_rows => break Some(c),
            Some(c) => after = Some(c),
            None => break None,
        }
    };
    let disposition = format!("attachment; filename=\"form-{}.csv\"", f.form_id);
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    if let Some(c) = next.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert("x-next-cursor", c);
    }
    Ok(resp)
}
