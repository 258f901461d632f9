//! Admin routes of the directory domain: customers with their follow relations, groups with
//! their members, a customer's groups, the corp tag mirror, received callbacks (unknown
//! events included), and the full re-sync (request one, read its progress; rules in
//! [`scrm_core::contacts::admin`]).
//!
//! Every look-up is keyed by the key's tenant: another tenant's ids find nothing.
use crate::{Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_core::clock::Clock;
use scrm_core::contacts::admin::{request_resync, valid_id};
use scrm_core::contacts::receipts::ReceiptStore;
use scrm_core::contacts::resync::ResyncJobs;
use scrm_core::contacts::search::{
    customer_by_id, customers_by_name, search_text, NameSearch, MAX_NAME_CURSOR_LEN,
};
use scrm_core::contacts::DirectoryRead;
use scrm_core::tags::TagMirror;
use scrm_core::tenants::redact;
use serde::Deserialize;
use serde_json::json;

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    t.get("/v1/customers", customers)
        .get("/v1/customers/{external_userid}", customer)
        .get("/v1/customers/{external_userid}/groups", customer_groups)
        .get("/v1/groups", groups)
        .get("/v1/groups/{chat_id}", group)
        .get("/v1/tags", tags)
        .get("/v1/callbacks", callbacks)
        .get("/v1/directory/resync", resync_jobs)
        .post("/v1/directory/resync", start_resync)
        .get("/v1/directory/resync/{job_id}", resync_job)
}

/// A page is at most this long.
const MAX_PAGE: i32 = 100;

/// The longest cursor of the id-ordered listings (a name search's is longer:
/// [`MAX_NAME_CURSOR_LEN`]).
const MAX_CURSOR_LEN: usize = 256;

fn cursor(head: &Head, max_len: usize) -> Result<Option<String>, ApiError> {
    head.query("cursor")
        .map(|c| {
            if c.is_empty() || c.chars().count() > max_len || c.chars().any(char::is_control) {
                Err(ApiError::validation("cursor is not one this API returned"))
            } else {
                Ok(c)
            }
        })
        .transpose()
}

fn page_size(head: &Head) -> Result<usize, ApiError> {
    Ok(head.page_limit(20, MAX_PAGE)? as usize)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartResync {
    /// Members whose customers to read in addition to those the directory knows.
    #[serde(default)]
    userids: Vec<String>,
}

/// The tenant's customers: by exact `external_userid`, by `name` prefix (in name order,
/// from the sharded name index), or all in id order.
async fn customers(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let limit = page_size(&head)?;
    let after = cursor(&head, MAX_NAME_CURSOR_LEN)?;
    let name = head.query("name");
    if let Some(id) = head.query("external_userid") {
        let id = valid_id(&id, "external_userid")?;
        let prefix = name.map(|n| search_text(&n, "name")).transpose()?;
        let page = customer_by_id(&api.directory, &key.tenant, &id, prefix.as_deref()).await?;
        return Ok(json(200, &page));
    }
    let page = match name {
        Some(name) => {
            let search = NameSearch::parse(&name, after.as_deref())?;
            customers_by_name(&api.directory, &key.tenant, &search, limit).await?
        }
        None => {
            api.directory
                .customers(&key.tenant, after.as_deref(), limit)
                .await?
        }
    };
    Ok(json(200, &page))
}

async fn customer(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = valid_id(head.param(0), "external_userid")?;
    match api.directory.customer(&key.tenant, &id).await? {
        Some(view) => Ok(json(200, &view)),
        None => Err(ApiError::not_found(format!("no customer {id}")).into()),
    }
}

async fn customer_groups(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = valid_id(head.param(0), "external_userid")?;
    let groups = api.directory.member_groups(&key.tenant, &id).await?;
    Ok(json(200, &json!({ "items": groups })))
}

async fn groups(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let limit = page_size(&head)?;
    let after = cursor(&head, MAX_NAME_CURSOR_LEN)?;
    let owner = head
        .query("owner")
        .map(|o| valid_id(&o, "owner"))
        .transpose()?;
    let page = match head.query("name") {
        Some(name) => {
            let text = search_text(&name, "name")?;
            api.directory
                .groups_named(
                    &key.tenant,
                    owner.as_deref(),
                    &text,
                    after.as_deref(),
                    limit,
                )
                .await?
        }
        None => {
            api.directory
                .groups(&key.tenant, owner.as_deref(), after.as_deref(), limit)
                .await?
        }
    };
    Ok(json(200, &page))
}

async fn group(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = valid_id(head.param(0), "chat_id")?;
    match api.directory.group(&key.tenant, &id).await? {
        Some(view) => Ok(json(200, &view)),
        None => Err(ApiError::not_found(format!("no group {id}")).into()),
    }
}

async fn tags(State(api): Api, key: Key<Viewer>) -> Reply {
    let groups = api.tags.tag_groups(&key.tenant).await?;
    let state = api.tags.mirror_state(&key.tenant).await?;
    Ok(json(
        200,
        &json!({ "tag_groups": groups, "synced_at": state.synced_at, "stale": state.stale }),
    ))
}

async fn callbacks(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let limit = page_size(&head)?;
    let unknown_only = match head.query("unknown").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::validation("unknown must be true or false").into()),
    };
    let before = cursor(&head, MAX_CURSOR_LEN)?;
    let mut page = api
        .directory
        .receipts(&key.tenant, unknown_only, before.as_deref(), limit)
        .await?;
    // The decrypted XML names customers and what they said: personal data.
    if !redact::sees_personal_data(&key) {
        for receipt in &mut page.items {
            receipt.xml = redact::REDACTED.to_string();
        }
    }
    Ok(json(200, &page))
}

async fn resync_jobs(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let limit = page_size(&head)?;
    Ok(json(200, &api.directory.jobs(&key.tenant, limit).await?))
}

async fn resync_job(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = valid_id(head.param(0), "job_id")?;
    match api.directory.job(&key.tenant, &id).await? {
        Some(job) => Ok(json(200, &job)),
        None => Err(ApiError::not_found(format!("no re-sync job {id}")).into()),
    }
}

/// Starts a re-sync, or asks the unfinished one to continue (an empty body is fine).
async fn start_resync(State(api): Api, key: Key<Operator>, RawBody(body): RawBody) -> Reply {
    let body: StartResync = if body.is_empty() {
        StartResync::default()
    } else {
        json_body(&body, MAX_JSON_BODY)?
    };
    let requested = request_resync(
        &api.directory,
        &api.tenants,
        &api.publisher,
        &key.tenant,
        &body.userids,
        api.clock.now(),
    )
    .await?;
    Ok(json(
        202,
        &json!({ "job": requested.job, "started": requested.started }),
    ))
}
