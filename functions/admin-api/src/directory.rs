//! Admin routes of the directory domain: customers with their follow relations, groups with
//! their members, a customer's groups, the corp tag mirror, received callbacks (unknown
//! events included), and the full re-sync (start one, read its progress).
//!
//! Every look-up is keyed by the principal's tenant: another tenant's ids find nothing.
use crate::{AdminApi, Matched, Route};
use lambda_http::{Body, Request, Response};
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoTags;
use scrm_adapters::http::{self, json_response, ApiError};
use scrm_core::contacts::receipts::ReceiptStore;
use scrm_core::contacts::resync::{JobStatus, ResyncJobs};
use scrm_core::contacts::source::contact_credentials;
use scrm_core::contacts::DirectoryRead;
use scrm_core::events::{DomainEvent, EventEnvelope, EventPublisher};
use scrm_core::tags::TagMirror;
use scrm_core::tenants::{Principal, Role, TenantLookup};
use serde::Deserialize;
use serde_json::json;

/// The routes of this module (kept in step with docs/openapi.yaml by a test).
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/v1/customers",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/customers/{external_userid}",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/customers/{external_userid}/groups",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/groups",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/groups/{chat_id}",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/tags",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/callbacks",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/directory/resync",
        role: Role::Viewer,
    },
    Route {
        method: "POST",
        path: "/v1/directory/resync",
        role: Role::Operator,
    },
    Route {
        method: "GET",
        path: "/v1/directory/resync/{job_id}",
        role: Role::Viewer,
    },
];

/// A page is at most this long.
const MAX_PAGE: i32 = 100;
/// Ids in paths and cursors: WeCom's ids are short; `#` separates key parts.
const MAX_ID_LEN: usize = 128;

fn valid_id(raw: &str, what: &str) -> Result<String, ApiError> {
    if raw.is_empty()
        || raw.len() > MAX_ID_LEN
        || raw.contains('#')
        || raw.chars().any(char::is_control)
    {
        return Err(ApiError::validation(format!(
            "{what} must be 1 to {MAX_ID_LEN} characters without `#`"
        )));
    }
    Ok(raw.to_string())
}

fn cursor(req: &Request) -> Result<Option<String>, ApiError> {
    http::query(req, "cursor")
        .map(|c| {
            if c.is_empty() || c.len() > 256 || c.chars().any(char::is_control) {
                Err(ApiError::validation("cursor is not one this API returned"))
            } else {
                Ok(c)
            }
        })
        .transpose()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartResync {
    /// Members whose customers to read in addition to those the directory knows.
    #[serde(default)]
    userids: Vec<String>,
}

/// Handles a matched route of this module.
pub async fn handle(
    api: &AdminApi,
    principal: &Principal,
    matched: &Matched,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let t = &principal.tenant;
    let dir = DynamoDirectory::new(api.db.clone());
    let param = |i: usize, what: &str| -> Result<String, ApiError> {
        valid_id(
            matched.params.get(i).map(String::as_str).unwrap_or(""),
            what,
        )
    };
    match (matched.route.method, matched.route.path) {
        ("GET", "/v1/customers") => {
            let limit = http::page_limit(req, 20, MAX_PAGE)? as usize;
            let after = cursor(req)?;
            let page = dir.customers(t, after.as_deref(), limit).await?;
            Ok(json_response(200, &page))
        }
        ("GET", "/v1/customers/{external_userid}") => {
            let id = param(0, "external_userid")?;
            match dir.customer(t, &id).await? {
                Some(view) => Ok(json_response(200, &view)),
                None => Err(ApiError::not_found(format!("no customer {id}"))),
            }
        }
        ("GET", "/v1/customers/{external_userid}/groups") => {
            let id = param(0, "external_userid")?;
            let groups = dir.member_groups(t, &id).await?;
            Ok(json_response(200, &json!({ "items": groups })))
        }
        ("GET", "/v1/groups") => {
            let limit = http::page_limit(req, 20, MAX_PAGE)? as usize;
            let after = cursor(req)?;
            let owner = http::query(req, "owner")
                .map(|o| valid_id(&o, "owner"))
                .transpose()?;
            let page = dir
                .groups(t, owner.as_deref(), after.as_deref(), limit)
                .await?;
            Ok(json_response(200, &page))
        }
        ("GET", "/v1/groups/{chat_id}") => {
            let id = param(0, "chat_id")?;
            match dir.group(t, &id).await? {
                Some(view) => Ok(json_response(200, &view)),
                None => Err(ApiError::not_found(format!("no group {id}"))),
            }
        }
        ("GET", "/v1/tags") => {
            let tags = DynamoTags::new(api.db.clone());
            let groups = tags.tag_groups(t).await?;
            let state = tags.mirror_state(t).await?;
            Ok(json_response(
                200,
                &json!({ "tag_groups": groups, "synced_at": state.synced_at, "stale": state.stale }),
            ))
        }
        ("GET", "/v1/callbacks") => {
            let limit = http::page_limit(req, 20, MAX_PAGE)? as usize;
            let unknown_only = match http::query(req, "unknown").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err(ApiError::validation("unknown must be true or false")),
            };
            let before = cursor(req)?;
            let page = dir
                .receipts(t, unknown_only, before.as_deref(), limit)
                .await?;
            Ok(json_response(200, &page))
        }
        ("GET", "/v1/directory/resync") => {
            let limit = http::page_limit(req, 20, MAX_PAGE)? as usize;
            let page = dir.jobs(t, limit).await?;
            Ok(json_response(200, &page))
        }
        ("GET", "/v1/directory/resync/{job_id}") => {
            let id = param(0, "job_id")?;
            match dir.job(t, &id).await? {
                Some(job) => Ok(json_response(200, &job)),
                None => Err(ApiError::not_found(format!("no re-sync job {id}"))),
            }
        }
        ("POST", "/v1/directory/resync") => start_resync(api, &dir, principal, req).await,
        _ => Err(ApiError::not_found("no such endpoint")),
    }
}

/// Starts a re-sync, or (if one is unfinished) asks it to continue: there is at most one
/// job at work per tenant, and posting again is how a stalled job is resumed.
async fn start_resync(
    api: &AdminApi,
    dir: &DynamoDirectory,
    principal: &Principal,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let t = &principal.tenant;
    let body: StartResync = if http::body_bytes(req).is_empty() {
        StartResync::default()
    } else {
        http::parse_json(req)?
    };
    if body.userids.len() > 10_000 {
        return Err(ApiError::validation("at most 10000 userids"));
    }
    let userids = body
        .userids
        .iter()
        .map(|u| valid_id(u, "userid"))
        .collect::<Result<Vec<_>, _>>()?;
    let tenant = api
        .tenants
        .tenant(t)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant not registered"))?;
    if contact_credentials(&tenant).is_none() {
        return Err(ApiError::conflict(
            "contact_secret_missing",
            "the tenant has no customer-contact secret; a re-sync cannot read WeCom",
        ));
    }
    let now = api.clock.now();
    let unfinished = dir
        .jobs(t, 5)
        .await?
        .items
        .into_iter()
        .find(|j| matches!(j.status, JobStatus::Pending | JobStatus::Running));
    let (job, started) = match unfinished {
        Some(job) => (job, false),
        None => {
            let job_id = ulid::Ulid::new().to_string();
            (dir.create_job(t, &job_id, &userids, now).await?, true)
        }
    };
    let event = EventEnvelope::new(
        format!("resync:{}:{}", job.job_id, job.invocations),
        t.as_str(),
        now,
        DomainEvent::ResyncRequested {
            job_id: job.job_id.clone(),
        },
    );
    if let Err(e) = api.publisher.publish(&[event]).await {
        tracing::error!(error = %e, job_id = %job.job_id, "could not request the re-sync");
        return Err(ApiError::unavailable());
    }
    tracing::info!(job_id = %job.job_id, started, "re-sync requested");
    Ok(json_response(
        202,
        &json!({ "job": job, "started": started }),
    ))
}
