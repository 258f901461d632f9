//! The console's overview routes: the dashboard (today and the last days, per
//! tenant-local day) and a group's page (members now, joins, leaves and check-in rate by
//! day). What is read is [`scrm_core::dashboard`]'s: per-day records and counters, never
//! a count of customers.
use crate::{Api, Key, Table, Viewer};
use axum::extract::State;
use scrm_adapters::http::{json, ApiError, Head, Reply};
use scrm_core::clock::Clock;
use scrm_core::contacts::admin::valid_id;
use scrm_core::contacts::DirectoryRead;
use scrm_core::dashboard::{self, GroupStats, MAX_DAYS};
use scrm_core::points::admin::when_for;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    t.get("/v1/dashboard", overview)
        .get("/v1/groups/{chat_id}/stats", group_stats)
}

/// `days`: 1 to [`MAX_DAYS`], default 30.
fn days(head: &Head) -> Result<u32, ApiError> {
    match head.query("days") {
        None => Ok(30),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| ApiError::validation(format!("days must be from 1 to {MAX_DAYS}"))),
    }
}

async fn overview(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let days = days(&head)?;
    let when = when_for(&api.tenants, &key.tenant, api.clock.now()).await?;
    let board = dashboard::dashboard(
        &api.points,
        &api.directory,
        &api.sop,
        &key.tenant,
        when.today(),
        days,
        when.tz,
    )
    .await?;
    Ok(json(200, &board))
}

async fn group_stats(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let chat_id = valid_id(head.param(0), "chat_id")?;
    let days = days(&head)?;
    let when = when_for(&api.tenants, &key.tenant, api.clock.now()).await?;
    let Some(view) = api.directory.group(&key.tenant, &chat_id).await? else {
        return Err(ApiError::not_found(format!("no group {chat_id}")).into());
    };
    let customers_now = view
        .members
        .iter()
        .filter(|m| m.active && m.is_customer)
        .count() as i64;
    let dates = dashboard::window(when.today(), days).unwrap_or_default();
    let days =
        dashboard::group_days(&api.points, &key.tenant, &chat_id, &dates, customers_now).await?;
    Ok(json(
        200,
        &GroupStats {
            chat_id: chat_id.clone(),
            name: view.group.name.clone(),
            members_now: view.group.member_count,
            customers_now,
            days,
        },
    ))
}
