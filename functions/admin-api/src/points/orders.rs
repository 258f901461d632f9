//! `POST /v1/points/bulk`, `/v1/points/group-awards` and `/v1/points/imports`: orders that
//! change many balances at once (rules in [`scrm_core::points::orders`]). Each names an
//! idempotency key (the `Idempotency-Key` header or the body's field; imports are keyed by
//! the file itself); small orders answer their results (200), large ones their job (202).
use crate::{AdminApi, Api, Key, Operator, Table};
use axum::extract::State;
use scrm_adapters::dynamo::{DynamoDirectory, DynamoPoints, DynamoTenants};
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::clock::Clock;
use scrm_core::points::bulk::BulkAnswer;
use scrm_core::points::jobs::JobOp;
use scrm_core::points::orders::{BulkOrder, GroupAward, Orders};
use scrm_core::points::IdempotencyKey;
use serde::Deserialize;
use serde_json::json;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    t.post("/v1/points/bulk", bulk)
        .post("/v1/points/group-awards", group_award)
        .post("/v1/points/imports", import)
}

/// The largest bulk body (a function URL carries up to 6 MB).
const MAX_BULK_BODY: usize = 5 * 1024 * 1024;

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

/// The order's idempotency key: the `Idempotency-Key` header or the body's field. A
/// malformed field is refused even when the header names the key.
fn idempotency_key(head: &Head, body: Option<&str>) -> Result<IdempotencyKey, ApiError> {
    let parse =
        |raw: &str| IdempotencyKey::parse(raw).map_err(|e| ApiError::validation(e.to_string()));
    let from_body = body.map(parse).transpose()?;
    match head.header("idempotency-key") {
        Some(raw) => parse(raw),
        None => from_body.ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key_required",
                "an Idempotency-Key header (or idempotency_key field) is required",
            )
        }),
    }
}

/// 200 with the results of an order run inline, 202 with its job; `extra` describes the
/// order.
fn answer(answer: BulkAnswer, extra: serde_json::Value) -> axum::response::Response {
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
    json(status, &body)
}

fn orders(
    api: &AdminApi,
) -> Orders<'_, DynamoPoints, DynamoDirectory, DynamoTenants, AnyPublisher> {
    Orders {
        points: &api.points,
        directory: &api.directory,
        tenants: &api.tenants,
        publisher: &api.publisher,
    }
}

async fn bulk(State(api): Api, key: Key<Operator>, head: Head, RawBody(b): RawBody) -> Reply {
    let body: BulkBody = json_body(&b, MAX_BULK_BODY)?;
    let order = BulkOrder {
        key: idempotency_key(&head, body.idempotency_key.as_deref())?,
        operation: body.operation,
        external_userids: body.external_userids,
        points: body.points,
        reason: body.reason,
    };
    let done = orders(&api)
        .bulk(&key.tenant, &key.operator(), order, api.clock.now())
        .await?;
    Ok(answer(
        done.answer,
        json!({ "duplicates_ignored": done.about }),
    ))
}

async fn group_award(
    State(api): Api,
    key: Key<Operator>,
    head: Head,
    RawBody(b): RawBody,
) -> Reply {
    let body: GroupAwardBody = json_body(&b, MAX_JSON_BODY)?;
    let order = GroupAward {
        key: idempotency_key(&head, body.idempotency_key.as_deref())?,
        chat_ids: body.chat_ids,
        points: body.points,
        reason: body.reason,
    };
    let done = orders(&api)
        .group_award(&key.tenant, &key.operator(), order, api.clock.now())
        .await?;
    Ok(answer(
        done.answer,
        json!({ "groups": done.about.groups, "customers": done.about.customers }),
    ))
}

async fn import(State(api): Api, key: Key<Operator>, head: Head, RawBody(file): RawBody) -> Reply {
    let done = orders(&api)
        .import(
            &key.tenant,
            &key.operator(),
            &file,
            head.query("reason"),
            api.clock.now(),
        )
        .await?;
    Ok(answer(
        done.answer,
        json!({ "file_sha256": done.about.file_sha256, "rows": done.about.rows }),
    ))
}
