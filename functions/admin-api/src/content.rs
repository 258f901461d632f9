//! Admin routes of the content center (内容中心): materials (create with an
//! `Idempotency-Key`, a presigned upload URL for files and its completion, list by folder
//! and tag, read, edit, delete) and folders. Rules in [`scrm_core::content::admin`].
use crate::{Api, Key, Operator, Table, Viewer};
use axum::extract::State;
use scrm_adapters::dynamo::{Db, DynamoContent};
use scrm_adapters::http::{json, json_body, ApiError, Head, RawBody, Reply, MAX_JSON_BODY};
use scrm_adapters::s3::S3Objects;
use scrm_core::clock::Clock;
use scrm_core::content::admin::{self, ContentError, MaterialEdit, MaterialInput};
use scrm_core::content::model::is_folder_id;
use scrm_core::content::{MaterialId, MaterialStatus, MaterialStore};
use serde::Deserialize;
use serde_json::json;

/// The content center's store and bucket.
#[derive(Debug, Clone)]
pub struct ContentCenter {
    /// Materials, folders, usage (tasks table).
    pub store: DynamoContent,
    /// The bucket of uploaded files; `None` where none is configured (file materials are
    /// then refused with 503).
    pub objects: Option<S3Objects>,
    /// Pictures fetched from the web (a group code's QR, uploaded to WeCom for a welcome).
    pub pictures: scrm_adapters::pictures::HttpPictures,
}

impl ContentCenter {
    /// Over `db`, with `objects` as the bucket.
    pub fn new(db: &Db, objects: Option<S3Objects>) -> Self {
        Self {
            store: DynamoContent::new(db.clone()),
            objects,
            pictures: scrm_adapters::pictures::HttpPictures::from_env(),
        }
    }

    fn objects(&self) -> Result<&S3Objects, ApiError> {
        self.objects.as_ref().ok_or_else(|| {
            ApiError::new(
                503,
                "storage_unconfigured",
                "no bucket is configured for uploaded files (CONTENT_BUCKET)",
            )
        })
    }
}

/// Adds the routes of this module.
pub fn routes(t: Table) -> Table {
    const MATERIAL: &str = "/v1/content/materials/{material_id}";
    t.post("/v1/content/materials", create)
        .get("/v1/content/materials", list)
        .get(MATERIAL, material)
        .put(MATERIAL, edit)
        .delete(MATERIAL, delete)
        .post("/v1/content/materials/{material_id}/upload-url", upload_url)
        .post("/v1/content/materials/{material_id}/complete", complete)
        .get("/v1/content/folders", folders)
        .post("/v1/content/folders", create_folder)
        .delete("/v1/content/folders/{folder_id}", delete_folder)
}

fn material_id(head: &Head) -> Result<MaterialId, ApiError> {
    MaterialId::parse(head.param(0)).ok_or_else(|| ApiError::not_found("no such material"))
}

async fn create(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let idempotency_key = crate::required_idempotency_key(&head)?;
    let input: MaterialInput = json_body(&body, MAX_JSON_BODY)?;
    let c = &api.content;
    let (view, created) = admin::create(
        &c.store,
        c.objects()?,
        &key.tenant,
        idempotency_key.as_str(),
        input,
        api.clock.now(),
    )
    .await?;
    Ok(json(if created { 201 } else { 200 }, &view))
}

async fn list(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let limit = usize::try_from(head.page_limit(50, 100)?).unwrap_or(50);
    let folder = head.query("folder_id");
    if folder.as_deref().is_some_and(|f| !is_folder_id(f)) {
        return Err(ApiError::validation("folder_id is not a folder id").into());
    }
    let tag = head.query("tag");
    if tag
        .as_deref()
        .is_some_and(|t| t.is_empty() || t.chars().count() > 20)
    {
        return Err(ApiError::validation("tag is 1-20 characters").into());
    }
    let cursor = head.query("cursor");
    if cursor.as_deref().is_some_and(|c| {
        c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#')
    }) {
        return Err(ApiError::validation("invalid cursor").into());
    }
    let c = &api.content;
    let page = c
        .store
        .materials(
            &key.tenant,
            folder.as_deref(),
            tag.as_deref(),
            limit,
            cursor.as_deref(),
        )
        .await?;
    let now = api.clock.now();
    let items = match &c.objects {
        Some(o) => page
            .items
            .into_iter()
            .map(|m| admin::view(o, m, now))
            .collect::<Result<Vec<_>, ContentError>>()?
            .into_iter()
            .map(|v| serde_json::to_value(v).unwrap_or_default())
            .collect::<Vec<_>>(),
        None => page
            .items
            .into_iter()
            .map(|m| serde_json::to_value(m).unwrap_or_default())
            .collect(),
    };
    Ok(json(
        200,
        &json!({ "items": items, "next_cursor": page.next_cursor }),
    ))
}

async fn material(State(api): Api, key: Key<Viewer>, head: Head) -> Reply {
    let id = material_id(&head)?;
    let c = &api.content;
    let m = admin::get(&c.store, &key.tenant, &id).await?;
    match &c.objects {
        Some(o) => Ok(json(200, &admin::view(o, m, api.clock.now())?)),
        None => Ok(json(200, &m)),
    }
}

async fn edit(State(api): Api, key: Key<Operator>, head: Head, RawBody(body): RawBody) -> Reply {
    let id = material_id(&head)?;
    let (version, input): (i64, MaterialEdit) = crate::versioned_body(&body)?;
    let m = admin::edit(
        &api.content.store,
        &key.tenant,
        &id,
        version,
        input,
        api.clock.now(),
    )
    .await?;
    Ok(json(200, &m))
}

async fn delete(State(api): Api, key: Key<Operator>, head: Head) -> Reply {
    let id = material_id(&head)?;
    let c = &api.content;
    admin::delete(&c.store, c.objects()?, &key.tenant, &id).await?;
    Ok(json(200, &json!({ "deleted": id })))
}

async fn upload_url(State(api): Api, key: Key<Operator>, head: Head) -> Reply {
    let id = material_id(&head)?;
    let c = &api.content;
    let m = admin::get(&c.store, &key.tenant, &id).await?;
    if m.status != MaterialStatus::Pending {
        return Err(ContentError::NotPending.into());
    }
    Ok(json(200, &admin::view(c.objects()?, m, api.clock.now())?))
}

async fn complete(State(api): Api, key: Key<Operator>, head: Head) -> Reply {
    let id = material_id(&head)?;
    let c = &api.content;
    let objects = c.objects()?;
    let now = api.clock.now();
    let m = admin::complete(&c.store, objects, &key.tenant, &id, now).await?;
    Ok(json(200, &admin::view(objects, m, now)?))
}

async fn folders(State(api): Api, key: Key<Viewer>) -> Reply {
    let folders = api.content.store.folders(&key.tenant).await?;
    Ok(json(200, &json!({ "items": folders })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderInput {
    name: String,
}

async fn create_folder(
    State(api): Api,
    key: Key<Operator>,
    head: Head,
    RawBody(body): RawBody,
) -> Reply {
    let idempotency_key = crate::required_idempotency_key(&head)?;
    let input: FolderInput = json_body(&body, MAX_JSON_BODY)?;
    let (folder, created) = admin::create_folder(
        &api.content.store,
        &key.tenant,
        idempotency_key.as_str(),
        &input.name,
        api.clock.now(),
    )
    .await?;
    Ok(json(if created { 201 } else { 200 }, &folder))
}

async fn delete_folder(State(api): Api, key: Key<Operator>, head: Head) -> Reply {
    let folder_id = head.param(0);
    if !is_folder_id(folder_id) {
        return Err(ApiError::not_found("no such folder").into());
    }
    admin::delete_folder(&api.content.store, &key.tenant, folder_id).await?;
    Ok(json(200, &json!({ "deleted": folder_id })))
}

/// Refuses a plan whose contents name materials that do not exist or are not ready
/// (400 with the problems), before it is saved.
pub(crate) async fn check_plan_materials(
    api: &crate::AdminApi,
    t: &scrm_core::tenants::TenantId,
    ids: &[String],
) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let problems =
        admin::reference_problems(&api.content.store, t, "content.attachments", ids).await?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ContentError::Invalid(problems).into())
    }
}
