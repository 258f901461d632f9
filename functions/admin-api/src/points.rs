//! Admin routes of the points domain: earning rules; award, deduct and clear for many
//! customers, awards to every member of chosen groups, CSV imports (small ones inline,
//! large ones as resumable jobs); the rewards catalogue; and the views (a customer's
//! balance, streaks and ledger; a group's day; groups by check-in rate; a day's flows);
//! and customer sessions for the merchant's H5 pages ([`sessions`]).
pub mod sessions;

use crate::{AdminApi, Matched, Route};
use futures::StreamExt;
use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoPoints;
use scrm_adapters::dynamo::StoreError;
use scrm_adapters::http::{self, json_response, ApiError};
use scrm_core::points::bulk::{submit, BulkAnswer, BulkRequest};
use scrm_core::points::import::{self, MalformedCsv};
use scrm_core::points::jobs::{fingerprint, JobItem, JobOp};
use scrm_core::points::ports::{
    ActivityStore, HistoryRead, JobStore, Memberships, ProfileStore, RewardStore, RulesStore,
};
use scrm_core::points::rewards::{NewReward, RewardPatch};
use scrm_core::points::views::{rank_by_low_rate, rate, GroupRate};
use scrm_core::points::{Account, CustomerId, IdempotencyKey, Origin, Points, PointsRules, When};
use scrm_core::tenants::{Principal, Role, TenantId, TenantLookup};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeSet, HashSet};

/// The routes of this module (kept in step with docs/openapi.yaml by a test).
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/v1/points/rules",
        role: Role::Viewer,
    },
    Route {
        method: "PUT",
        path: "/v1/points/rules",
        role: Role::Admin,
    },
    Route {
        method: "POST",
        path: "/v1/points/bulk",
        role: Role::Operator,
    },
    Route {
        method: "POST",
        path: "/v1/points/group-awards",
        role: Role::Operator,
    },
    Route {
        method: "POST",
        path: "/v1/points/imports",
        role: Role::Operator,
    },
    Route {
        method: "GET",
        path: "/v1/points/jobs",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/points/jobs/{job_id}",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/points/rewards",
        role: Role::Viewer,
    },
    Route {
        method: "POST",
        path: "/v1/points/rewards",
        role: Role::Operator,
    },
    Route {
        method: "PATCH",
        path: "/v1/points/rewards/{reward_id}",
        role: Role::Operator,
    },
    Route {
        method: "GET",
        path: "/v1/points/rewards/{reward_id}/redemptions",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/points/customers/{external_userid}",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/points/customers/{external_userid}/ledger",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/points/groups/{chat_id}/days/{date}",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/points/check-in-rates",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/points/days/{date}",
        role: Role::Viewer,
    },
    Route {
        method: "POST",
        path: sessions::PATH,
        role: Role::Operator,
    },
];

/// The largest bulk body (a function URL carries up to 6 MB).
const MAX_BULK_BODY: usize = 5 * 1024 * 1024;
/// The most customers one bulk request names.
const MAX_BULK_CUSTOMERS: usize = 100_000;
/// The most groups one group award names.
const MAX_GROUPS: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    operation: JobOp,
    external_userids: Vec<String>,
    #[serde(default)]
    points: Option<i64>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupAwardBody {
    chat_ids: Vec<String>,
    points: i64,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

fn parse_large_json<T: serde::de::DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = http::body_bytes(req);
    if bytes.len() > MAX_BULK_BODY {
        return Err(ApiError::too_large(MAX_BULK_BODY));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_json",
            "a JSON body is required",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            "invalid_json"
        } else {
            "validation_failed"
        };
        ApiError::bad_request(code, format!("invalid request body: {e}"))
    })
}

/// The request's idempotency key: the `Idempotency-Key` header or the body's field.
fn idempotency_key(req: &Request, body: Option<&str>) -> Result<IdempotencyKey, ApiError> {
    let raw = http::header(req, "idempotency-key")
        .or(body)
        .ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key_required",
                "an Idempotency-Key header (or idempotency_key field) is required",
            )
        })?;
    IdempotencyKey::parse(raw).map_err(|e| ApiError::validation(e.to_string()))
}

fn reason(raw: Option<String>, default: &str) -> Result<String, ApiError> {
    match raw.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()) {
        None => Ok(default.to_string()),
        Some(r) if r.chars().count() <= 200 => Ok(r),
        Some(_) => Err(ApiError::validation("reason: at most 200 characters")),
    }
}

fn parse_date(raw: &str) -> Result<chrono::NaiveDate, ApiError> {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::validation("date must be YYYY-MM-DD"))
}

fn customer_id(raw: &str) -> Result<CustomerId, ApiError> {
    CustomerId::parse(raw).map_err(|e| ApiError::validation(e.to_string()))
}

async fn when_for(api: &AdminApi, tenant: &TenantId) -> Result<When, ApiError> {
    let t = api
        .tenants
        .tenant(tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant not registered"))?;
    Ok(When::new(api.clock.now(), t.settings.tz()))
}

fn bulk_response(answer: BulkAnswer, extra: serde_json::Value) -> Response<Body> {
    let status = match &answer {
        BulkAnswer::Inline { .. } => 200,
        BulkAnswer::Job { .. } => 202,
    };
    let mut body = serde_json::to_value(&answer).unwrap_or_default();
    if let (Some(obj), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    json_response(status, &body)
}

/// Handles a matched route of this module.
pub async fn handle(
    api: &AdminApi,
    principal: &Principal,
    matched: &Matched,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    if matched.route.path == sessions::PATH {
        return sessions::handle(api, principal, matched, req).await;
    }
    let tenant = &principal.tenant;
    let points = DynamoPoints::new(api.db.clone());
    let directory = DynamoDirectory::new(api.db.clone());
    let operator = format!("key:{}", principal.key_id);
    match (matched.route.method, matched.route.path) {
        ("GET", "/v1/points/rules") => Ok(json_response(200, &points.rules(tenant).await?)),
        ("PUT", "/v1/points/rules") => {
            let rules: PointsRules = http::parse_json(req)?;
            rules.validate().map_err(|e| {
                ApiError::validation(e.to_string())
                    .with_details(json!({ "field": e.field, "problem": e.problem }))
            })?;
            let when = when_for(api, tenant).await?;
            let yesterday = when.today().pred_opt().unwrap_or(when.today());
            points
                .put_rules(tenant, &rules, yesterday, when.now)
                .await?;
            tracing::info!(%operator, "points rules replaced");
            Ok(json_response(200, &rules))
        }
        ("POST", "/v1/points/bulk") => bulk(api, &points, &directory, tenant, &operator, req).await,
        ("POST", "/v1/points/group-awards") => {
            group_award(api, &points, &directory, tenant, &operator, req).await
        }
        ("POST", "/v1/points/imports") => {
            import_csv(api, &points, &directory, tenant, &operator, req).await
        }
        ("GET", "/v1/points/jobs") => {
            let limit = http::page_limit(req, 20, 100)?;
            let jobs = points.jobs(tenant, None, limit).await?;
            Ok(json_response(200, &json!({ "jobs": jobs })))
        }
        ("GET", "/v1/points/jobs/{job_id}") => {
            let job_id = &matched.params[0];
            let job = points
                .job(tenant, job_id)
                .await?
                .ok_or_else(|| ApiError::not_found("no such job"))?;
            let mut body = json!({ "job": job });
            if let Some(raw) = http::query(req, "chunk") {
                let n = raw
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n < job.chunks)
                    .ok_or_else(|| ApiError::validation("chunk out of range"))?;
                let (_, results) = points.chunk(tenant, job_id, n).await?;
                body["chunk"] = json!({ "n": n, "results": results });
            }
            Ok(json_response(200, &body))
        }
        ("GET", "/v1/points/rewards") => Ok(json_response(
            200,
            &json!({ "rewards": points.rewards(tenant).await? }),
        )),
        ("POST", "/v1/points/rewards") => {
            let new: NewReward = http::parse_json(req)?;
            new.validate().map_err(ApiError::validation)?;
            let id = ulid::Ulid::new().to_string();
            let reward = points
                .create_reward(tenant, &new, &id, api.clock.now())
                .await?;
            tracing::info!(reward_id = %id, %operator, "reward created");
            Ok(json_response(201, &reward))
        }
        ("PATCH", "/v1/points/rewards/{reward_id}") => {
            let patch: RewardPatch = http::parse_json(req)?;
            patch.validate().map_err(ApiError::validation)?;
            match points
                .update_reward(tenant, &matched.params[0], &patch, api.clock.now())
                .await
            {
                Ok(Some(r)) => Ok(json_response(200, &r)),
                Ok(None) => Err(ApiError::not_found("no such reward")),
                Err(StoreError::ConditionFailed) => Err(ApiError::conflict(
                    "insufficient_stock",
                    "cannot remove more stock than is left",
                )),
                Err(e) => Err(e.into()),
            }
        }
        ("GET", "/v1/points/rewards/{reward_id}/redemptions") => {
            let limit = http::page_limit(req, 50, 500)?;
            let id = &matched.params[0];
            if points.reward(tenant, id).await?.is_none() {
                return Err(ApiError::not_found("no such reward"));
            }
            let list = points.redemptions(tenant, id, limit).await?;
            Ok(json_response(200, &json!({ "redemptions": list })))
        }
        ("GET", "/v1/points/customers/{external_userid}") => {
            let account = Account::new(tenant.clone(), customer_id(&matched.params[0])?);
            let when = when_for(api, tenant).await?;
            let (bal, check_in, lots) = points.summary(&account).await?;
            let profile = points.profile(&account).await?;
            let check_in = check_in.unwrap_or_default();
            Ok(json_response(
                200,
                &json!({
                    "external_userid": account.customer,
                    "balance": bal.balance,
                    "entries": bal.entries,
                    "current_streak": check_in.current_streak(when.today()),
                    "longest_streak": check_in.longest,
                    "total_check_ins": check_in.total,
                    "last_check_in": check_in.last_date,
                    "period_check_ins": { "period": check_in.period, "count": check_in.period_count },
                    "lots": lots.iter().map(|l| json!({"expires_on": l.expiry_date(), "points": l.remaining})).collect::<Vec<_>>(),
                    "profile": profile,
                }),
            ))
        }
        ("GET", "/v1/points/customers/{external_userid}/ledger") => {
            let account = Account::new(tenant.clone(), customer_id(&matched.params[0])?);
            let limit = http::page_limit(req, 50, 200)?;
            let before = match http::query(req, "cursor") {
                Some(c) => Some(
                    c.parse::<i64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| ApiError::validation("cursor is not valid"))?,
                ),
                None => None,
            };
            let entries = points.entries(&account, before, limit).await?;
            let next = (entries.len() == limit as usize)
                .then(|| entries.last().map(|e| e.seq))
                .flatten()
                .filter(|seq| *seq > 1)
                .map(|seq| seq.to_string());
            Ok(json_response(
                200,
                &json!({ "entries": entries, "next_cursor": next }),
            ))
        }
        ("GET", "/v1/points/groups/{chat_id}/days/{date}") => {
            let date = parse_date(&matched.params[1])?;
            let day = points
                .group_day(
                    tenant,
                    &matched.params[0],
                    &date.format("%Y-%m-%d").to_string(),
                )
                .await?;
            Ok(json_response(200, &day))
        }
        ("GET", "/v1/points/check-in-rates") => {
            let when = when_for(api, tenant).await?;
            let date = match http::query(req, "date") {
                Some(d) => parse_date(&d)?,
                None => when.today(),
            };
            let limit = http::page_limit(req, 20, 500)?;
            let date = date.format("%Y-%m-%d").to_string();
            let groups = directory.groups(tenant).await?;
            let rates: Vec<Result<GroupRate, StoreError>> = futures::stream::iter(groups)
                .map(|(chat_id, name)| {
                    group_rate(&points, &directory, tenant, chat_id, name, &date)
                })
                .buffer_unordered(8)
                .collect()
                .await;
            let rates = rates.into_iter().collect::<Result<Vec<_>, _>>()?;
            let total = rates.len();
            Ok(json_response(
                200,
                &json!({ "date": date, "groups": rank_by_low_rate(rates, limit as usize), "groups_total": total }),
            ))
        }
        ("GET", "/v1/points/days/{date}") => {
            let when = when_for(api, tenant).await?;
            let date = parse_date(&matched.params[0])?;
            // A day is closed (its totals cached) once late events can no longer land
            // on it: two days after.
            let closed = when
                .today()
                .checked_sub_days(chrono::Days::new(2))
                .map(|d| date <= d)
                .unwrap_or(false);
            let totals = points
                .day_totals(tenant, &date.format("%Y-%m-%d").to_string(), closed)
                .await?;
            Ok(json_response(200, &totals))
        }
        _ => Err(ApiError::not_found("no such endpoint")),
    }
}

async fn group_rate(
    points: &DynamoPoints,
    directory: &DynamoDirectory,
    tenant: &TenantId,
    chat_id: String,
    name: Option<String>,
    date: &str,
) -> Result<GroupRate, StoreError> {
    let members: HashSet<String> = directory
        .group_customers(tenant, &chat_id)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.to_string())
        .collect();
    let day = points.group_day(tenant, &chat_id, date).await?;
    let checked = day
        .checked_in
        .iter()
        .filter(|c| members.contains(*c))
        .count() as i64;
    let customers = members.len() as i64;
    Ok(GroupRate {
        chat_id,
        name,
        customers,
        checked_in: checked,
        rate: rate(checked, customers),
    })
}

async fn bulk(
    api: &AdminApi,
    points: &DynamoPoints,
    directory: &DynamoDirectory,
    tenant: &TenantId,
    operator: &str,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let body: BulkBody = parse_large_json(req)?;
    let key = idempotency_key(req, body.idempotency_key.as_deref())?;
    let op = body.operation;
    if op == JobOp::Import {
        return Err(ApiError::validation(
            "operation must be award, deduct or clear (imports go to /v1/points/imports)",
        ));
    }
    let amount = match (op, body.points) {
        (JobOp::Clear, None) => 0,
        (JobOp::Clear, Some(_)) => {
            return Err(ApiError::validation("points must not be given for clear"))
        }
        (_, Some(p)) => Points::new(p)
            .map_err(|e| ApiError::validation(e.to_string()))?
            .get(),
        (_, None) => return Err(ApiError::validation("points is required")),
    };
    if body.external_userids.is_empty() || body.external_userids.len() > MAX_BULK_CUSTOMERS {
        return Err(ApiError::validation(format!(
            "external_userids: 1 to {MAX_BULK_CUSTOMERS} customers"
        )));
    }
    let mut seen = HashSet::new();
    let mut customers = Vec::new();
    let mut invalid = Vec::new();
    for raw in &body.external_userids {
        match CustomerId::parse(raw) {
            Ok(c) => {
                if seen.insert(c.clone()) {
                    customers.push(c);
                }
            }
            Err(_) => invalid.push(raw.clone()),
        }
    }
    if !invalid.is_empty() {
        invalid.truncate(20);
        return Err(
            ApiError::validation("some external_userids are not valid ids")
                .with_details(json!({ "invalid": invalid })),
        );
    }
    let reason = reason(body.reason, "manual")?;
    // Awards go to known customers only (a typo must not create an account).
    let known = if op == JobOp::Award {
        Some(directory.known_customers(tenant, &customers).await?)
    } else {
        None
    };
    let item_key = format!("bulk:{}", key.as_str());
    let items: Vec<JobItem> = customers
        .iter()
        .map(|c| JobItem {
            external_userid: c.to_string(),
            points: amount,
            key: item_key.clone(),
            line: None,
            reason: None,
            reject: match &known {
                Some(k) if !k.contains(c) => Some("unknown_customer".into()),
                _ => None,
            },
        })
        .collect();
    let sorted: BTreeSet<&str> = customers.iter().map(CustomerId::as_str).collect();
    let ids = sorted.into_iter().collect::<Vec<_>>().join(",");
    let fp = fingerprint(&[op.as_str(), &amount.to_string(), &reason, &ids]);
    let when = when_for(api, tenant).await?;
    let duplicates = body.external_userids.len() - customers.len();
    let answer = submit(
        points,
        &api.publisher,
        tenant,
        BulkRequest {
            op,
            items,
            origin: Origin::new(reason, "admin-api:bulk", operator),
            request_key: item_key,
            fingerprint: fp,
            keys_forever: false,
        },
        when,
    )
    .await?;
    tracing::info!(
        operation = op.as_str(),
        customers = customers.len(),
        "bulk points request"
    );
    Ok(bulk_response(
        answer,
        json!({ "duplicates_ignored": duplicates }),
    ))
}

async fn group_award(
    api: &AdminApi,
    points: &DynamoPoints,
    directory: &DynamoDirectory,
    tenant: &TenantId,
    operator: &str,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let body: GroupAwardBody = http::parse_json(req)?;
    let key = idempotency_key(req, body.idempotency_key.as_deref())?;
    let amount = Points::new(body.points).map_err(|e| ApiError::validation(e.to_string()))?;
    let chats: BTreeSet<String> = body.chat_ids.iter().map(|c| c.trim().to_string()).collect();
    if chats.is_empty()
        || chats.len() > MAX_GROUPS
        || chats.iter().any(|c| c.is_empty() || c.len() > 128)
    {
        return Err(ApiError::validation(format!(
            "chat_ids: 1 to {MAX_GROUPS} group ids"
        )));
    }
    let reason = reason(body.reason, "group award")?;
    let mut members = BTreeSet::new();
    let mut unknown = Vec::new();
    for chat in &chats {
        match directory.group_customers(tenant, chat).await? {
            Some(list) => members.extend(list),
            None => unknown.push(chat.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::not_found("unknown group(s)")
            .with_details(json!({ "unknown_chat_ids": unknown })));
    }
    let item_key = format!("group:{}", key.as_str());
    let items: Vec<JobItem> = members
        .iter()
        .map(|c| JobItem {
            external_userid: c.to_string(),
            points: amount.get(),
            key: item_key.clone(),
            line: None,
            reason: None,
            reject: None,
        })
        .collect();
    let chat_list = chats.iter().cloned().collect::<Vec<_>>().join(",");
    let fp = fingerprint(&[
        "group-award",
        &amount.get().to_string(),
        &reason,
        &chat_list,
    ]);
    let when = when_for(api, tenant).await?;
    let count = items.len();
    let answer = submit(
        points,
        &api.publisher,
        tenant,
        BulkRequest {
            op: JobOp::Award,
            items,
            origin: Origin::new(reason, "admin-api:group-award", operator),
            request_key: item_key,
            fingerprint: fp,
            keys_forever: false,
        },
        when,
    )
    .await?;
    tracing::info!(groups = chats.len(), customers = count, "group award");
    Ok(bulk_response(
        answer,
        json!({ "groups": chats, "customers": count }),
    ))
}

async fn import_csv(
    api: &AdminApi,
    points: &DynamoPoints,
    directory: &DynamoDirectory,
    tenant: &TenantId,
    operator: &str,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let parsed = import::parse(http::body_bytes(req)).map_err(|e| {
        let details = match &e {
            MalformedCsv::Broken { line, .. } => json!({ "line": line }),
            _ => serde_json::Value::Null,
        };
        let err = if e == MalformedCsv::TooLarge {
            ApiError::too_large(import::MAX_FILE_BYTES)
        } else {
            ApiError::bad_request("malformed_csv", e.to_string())
        };
        if details.is_null() {
            err
        } else {
            err.with_details(details)
        }
    })?;
    let reason = reason(http::query(req, "reason"), "import")?;
    let candidates: Vec<CustomerId> = parsed
        .rows
        .iter()
        .filter(|r| r.problem.is_none())
        .filter_map(|r| r.customer())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let known = directory.known_customers(tenant, &candidates).await?;
    let items: Vec<JobItem> = parsed
        .rows
        .iter()
        .map(|r| {
            let reject = match (r.problem, r.customer()) {
                (Some(p), _) => Some(p.code().to_string()),
                (None, Some(c)) if !known.contains(&c) => Some("unknown_customer".into()),
                _ => None,
            };
            JobItem {
                external_userid: r.external_userid.clone(),
                points: r.points.map(Points::get).unwrap_or(0),
                key: r.key.clone(),
                line: Some(r.line),
                reason: r.reason.clone(),
                reject,
            }
        })
        .collect();
    let when = when_for(api, tenant).await?;
    let answer = submit(
        points,
        &api.publisher,
        tenant,
        BulkRequest {
            op: JobOp::Import,
            items,
            origin: Origin::new(
                reason.clone(),
                format!("import:{}", &parsed.sha256[..16]),
                operator,
            ),
            request_key: format!("import:{}", parsed.sha256),
            fingerprint: fingerprint(&[&parsed.sha256]),
            keys_forever: true,
        },
        when,
    )
    .await?;
    tracing::info!(rows = parsed.rows.len(), file = %&parsed.sha256[..16], "points import");
    Ok(bulk_response(
        answer,
        json!({ "file_sha256": parsed.sha256, "rows": parsed.rows.len() }),
    ))
}
