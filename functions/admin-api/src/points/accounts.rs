//! Every member's points account in one list (JSON pages and a CSV export), the ranking
//! snapshots that sort it by the figures without a live index, and the preview of what a
//! rules document would pay. Rules in [`scrm_core::points::accounts`],
//! [`scrm_core::points::ranking`] and [`scrm_core::points::preview`].
use crate::{Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::clock::Clock;
use scrm_core::points::accounts::{
    accounts_page, to_csv, AccountsPage, AccountsQuery, ListSort, SortOrder, MAX_PAGE,
};
use scrm_core::points::admin::when_for;
use scrm_core::points::ports::RankingStore;
use scrm_core::points::preview::{preview, Scenario};
use scrm_core::points::ranking::{ranking_status, request_ranking, RankingJob};
use scrm_core::points::PointsRules;
use serde::Deserialize;
use serde_json::json;

/// The most rows one CSV export answers; `X-Next-Cursor` continues after them.
pub const CSV_MAX_ROWS: usize = 5000;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    t.get("/v1/points/accounts", list)
        .get("/v1/points/accounts.csv", export)
        .post("/v1/points/accounts/rankings", request_rank)
        .get("/v1/points/accounts/rankings", rankings)
        .get("/v1/points/accounts/rankings/{job_id}", ranking_job)
        .post("/v1/points/rules/preview", rules_preview)
}

fn query(head: &Head, default_limit: usize) -> Result<AccountsQuery, ApiError> {
    let sort = head
        .query("sort")
        .map(|s| ListSort::parse(&s))
        .transpose()?;
    let order = head
        .query("order")
        .map(|o| SortOrder::parse(&o))
        .transpose()?
        .unwrap_or(SortOrder::Desc);
    let limit = match head.query("limit") {
        None => default_limit,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::validation(format!("limit must be from 1 to {MAX_PAGE}")))?,
    };
    Ok(AccountsQuery {
        sort,
        order,
        q: head.query("q"),
        name: head.query("name"),
        cursor: head.query("cursor"),
        limit,
    })
}

async fn page(
    api: &crate::AdminApi,
    key: &Key<Viewer>,
    q: &AccountsQuery,
) -> Result<AccountsPage, ApiError> {
    let now = api.clock.now();
    let when = when_for(&api.tenants, &key.tenant, now).await?;
    Ok(accounts_page(
        &api.points,
        &api.directory,
        &key.tenant,
        q,
        when.today(),
        now,
    )
    .await?)
}

/// Asks for a ranking of every account (`Idempotency-Key` required: a retry answers the
/// same job): 202 with the job, run by `points-jobs`.
async fn request_rank(State(api): Api, key: Key<Operator>, head: Head) -> Reply {
    let request_key = crate::required_idempotency_key(&head)?;
    let now = api.clock.now();
    let when = when_for(&api.tenants, &key.tenant, now).await?;
    let job = request_ranking(
        &api.points,
        &api.publisher,
        &key.tenant,
        request_key.as_str(),
        &key.operator(),
        now,
        when.today(),
    )
    .await?;
    Ok(json(202, &json!({ "job": job })))
}

/// The ranking served (if any) and the one being built (if any).
async fn rankings(State(api): Api, key: Key<Viewer>) -> Reply {
    let status = ranking_status(&api.points, &key.tenant, api.clock.now()).await?;
    Ok(json(200, &status))
}

/// A ranking job's progress.
async fn ranking_job(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let job_id = head.id(0, "job_id")?;
    let job = match RankingJob::is_ranking_id(job_id) {
        true => api.points.ranking_job(&key.tenant, job_id).await?,
        false => None,
    }
    .ok_or_else(|| ApiError::not_found("no such ranking job"))?;
    Ok(json(200, &json!({ "job": job })))
}

async fn list(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let q = query(&head, 50)?;
    Ok(json(200, &page(&api, &key, &q).await?))
}

/// The same list as CSV, up to [`CSV_MAX_ROWS`] rows read page by page; the header
/// `X-Next-Cursor` (absent at the end) continues the export.
async fn export(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let mut q = query(&head, MAX_PAGE)?;
    q.limit = MAX_PAGE;
    let mut body = String::new();
    let mut rows = 0;
    let next = loop {
        let p = page(&api, &key, &q).await?;
        body.push_str(&to_csv(&p.items, rows == 0));
        rows += p.items.len();
        match p.next_cursor {
            Some(c) if rows < CSV_MAX_ROWS => q.cursor = Some(c),
            other => break other,
        }
    };
    let mut res = (
        StatusCode::OK,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"points-accounts.csv\""),
            ),
        ],
        body,
    )
        .into_response();
    if let Some(c) = next.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().insert("x-next-cursor", c);
    }
    Ok(res)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewInput {
    /// The rules document (as `PUT /v1/points/rules` takes it).
    rules: PointsRules,
    /// The customer's story.
    #[serde(default)]
    scenario: Scenario,
}

async fn rules_preview(State(api): Api, key: Key<Viewer>, RawBody(body): RawBody) -> Reply {
    let input: PreviewInput = json_body(&body, MAX_JSON_BODY)?;
    input
        .rules
        .validate()
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let when = when_for(&api.tenants, &key.tenant, api.clock.now()).await?;
    let p = preview(&input.rules, &input.scenario, when.today())
        .map_err(|e| ApiError::validation(e.to_string()))?;
    Ok(json(200, &p))
}
