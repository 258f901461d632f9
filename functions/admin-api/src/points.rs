//! Admin routes of the points domain: earning rules, the rewards catalogue, jobs, and the
//! views (a customer's balance, streaks and ledger; a group's day; groups by check-in rate;
//! a day's flows); bulk orders in [`orders`] and customer sessions for the merchant's H5
//! pages in [`sessions`]. The rules are [`scrm_core::points::admin`]'s.
pub mod accounts;
pub mod orders;
pub mod sessions;

use crate::{Admin, Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use scrm_adapters::http::{json, ApiError, Head, Json, Reply};
use scrm_core::clock::Clock;
use scrm_core::points::admin::{self, when_for};
use scrm_core::points::ports::RulesStore;
use scrm_core::points::ports::{ActivityStore, HistoryRead, JobStore, ProfileStore, RewardStore};
use scrm_core::points::rewards::{NewReward, RewardPatch};
use scrm_core::points::{Account, CustomerId, IdempotencyKey, PointsRules};
use scrm_core::tenants::redact;
use serde_json::json;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    let t = t
        .get("/v1/points/rules", rules)
        .put("/v1/points/rules", replace_rules);
    let t = orders::routes(t)
        .get("/v1/points/jobs", jobs)
        .get("/v1/points/jobs/{job_id}", job)
        .get("/v1/points/rewards", rewards)
        .post("/v1/points/rewards", create_reward)
        .patch("/v1/points/rewards/{reward_id}", update_reward)
        .get("/v1/points/rewards/{reward_id}/redemptions", redemptions)
        .get("/v1/points/customers/{external_userid}", customer)
        .get("/v1/points/customers/{external_userid}/ledger", ledger)
        .get("/v1/points/groups/{chat_id}/days/{date}", group_day)
        .get("/v1/points/check-in-rates", check_in_rates)
        .get("/v1/points/days/{date}", day);
    let t = accounts::routes(t);
    sessions::routes(t)
}

fn parse_date(raw: &str) -> Result<chrono::NaiveDate, ApiError> {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::validation("date must be YYYY-MM-DD"))
}

fn customer_id(raw: &str) -> Result<CustomerId, ApiError> {
    CustomerId::parse(raw).map_err(|e| ApiError::validation(e.to_string()))
}

async fn rules(State(api): Api, key: Key<Viewer>) -> Reply {
    Ok(json(200, &api.points.rules(&key.tenant).await?))
}

async fn replace_rules(State(api): Api, key: Key<Admin>, Json(r): Json<PointsRules>) -> Reply {
    let (tenant, operator, now) = (&key.tenant, key.operator(), api.clock.now());
    admin::replace_rules(&api.points, &api.tenants, tenant, &r, &operator, now).await?;
    Ok(json(200, &r))
}

async fn jobs(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let limit = head.page_limit(20, 100)?;
    let jobs = api.points.jobs(&key.tenant, None, limit).await?;
    Ok(json(200, &json!({ "jobs": jobs })))
}

async fn job(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let job_id = head.id(0, "job_id")?;
    let job = api
        .points
        .job(&key.tenant, job_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such job"))?;
    let mut body = json!({ "job": job });
    if let Some(raw) = head.query("chunk") {
        let n = raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n < job.chunks)
            .ok_or_else(|| ApiError::validation("chunk out of range"))?;
        let (_, results) = api.points.chunk(&job, n).await?;
        body["chunk"] = json!({ "n": n, "results": results });
    }
    Ok(json(200, &body))
}

async fn rewards(State(api): Api, key: Key<Viewer>) -> Reply {
    let rewards = api.points.rewards(&key.tenant).await?;
    Ok(json(200, &json!({ "rewards": rewards })))
}

/// The `Idempotency-Key` header, when given (it must then be a valid key).
fn idempotency_key(head: &Head) -> Result<Option<IdempotencyKey>, ApiError> {
    head.header("idempotency-key")
        .map(|raw| IdempotencyKey::parse(raw).map_err(|e| ApiError::validation(e.to_string())))
        .transpose()
}

async fn create_reward(
    State(api): Api,
    key: Key<Operator>,
    head: Head,
    Json(new): Json<NewReward>,
) -> Reply {
    let (operator, now) = (key.operator(), api.clock.now());
    let write_key = idempotency_key(&head)?;
    let reward =
        admin::create_reward(&api.points, &key.tenant, &new, write_key, &operator, now).await?;
    Ok(json(201, &reward))
}

async fn update_reward(
    State(api): Api,
    key: Key<Operator>,
    head: Head,
    Json(patch): Json<RewardPatch>,
) -> Reply {
    let now = api.clock.now();
    let reward = admin::update_reward(
        &api.points,
        &key.tenant,
        head.id(0, "reward_id")?,
        &patch,
        idempotency_key(&head)?,
        now,
    )
    .await?;
    Ok(json(200, &reward))
}

async fn redemptions(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let limit = head.page_limit(50, 500)?;
    let list =
        admin::redemptions(&api.points, &key.tenant, head.id(0, "reward_id")?, limit).await?;
    Ok(json(200, &json!({ "redemptions": list })))
}

async fn customer(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let account = Account::new(key.tenant.clone(), customer_id(head.param(0))?);
    let when = when_for(&api.tenants, &key.tenant, api.clock.now()).await?;
    let (bal, check_in, lots) = api.points.summary(&account).await?;
    // Personal data is for keys that may read it (`personal_data:read`).
    let profile = redact::profile_for(&key, api.points.profile(&account).await?);
    let check_in = check_in.unwrap_or_default();
    Ok(json(
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

async fn ledger(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let account = Account::new(key.tenant.clone(), customer_id(head.param(0))?);
    let limit = head.page_limit(50, 200)?;
    let before = match head.query("cursor") {
        Some(c) => Some(
            c.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::validation("cursor is not valid"))?,
        ),
        None => None,
    };
    let entries = api.points.entries(&account, before, limit).await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten()
        .filter(|seq| *seq > 1)
        .map(|seq| seq.to_string());
    Ok(json(
        200,
        &json!({ "entries": entries, "next_cursor": next }),
    ))
}

async fn group_day(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let date = parse_date(head.param(1))?.format("%Y-%m-%d").to_string();
    let day = api
        .points
        .group_day(&key.tenant, head.id(0, "chat_id")?, &date)
        .await?;
    Ok(json(200, &day))
}

async fn check_in_rates(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let when = when_for(&api.tenants, &key.tenant, api.clock.now()).await?;
    let date = match head.query("date") {
        Some(d) => parse_date(&d)?,
        None => when.today(),
    };
    let limit = head.page_limit(20, 500)?;
    let date = date.format("%Y-%m-%d").to_string();
    let (groups, total) = admin::check_in_rates(
        &api.points,
        &api.directory,
        &key.tenant,
        &date,
        limit as usize,
    )
    .await?;
    Ok(json(
        200,
        &json!({ "date": date, "groups": groups, "groups_total": total }),
    ))
}

async fn day(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let when = when_for(&api.tenants, &key.tenant, api.clock.now()).await?;
    let date = parse_date(head.param(0))?;
    let closed = admin::day_closed(when.today(), date);
    let totals = api
        .points
        .day_totals(&key.tenant, &date.format("%Y-%m-%d").to_string(), closed)
        .await?;
    Ok(json(200, &totals))
}
