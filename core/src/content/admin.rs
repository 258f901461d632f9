//! The library's admin use cases: create a material (a file kind gets a presigned upload
//! URL and stays `pending` until its upload is verified), complete an upload, edit, delete
//! (refused while anything refers to it), folders, and the checks and usage counts of the
//! plans that refer to materials.
use super::model::{
    is_folder_id, Folder, Material, MaterialId, MaterialKind, MaterialStatus, StoredFile,
    UsageKind, MAX_FILE_NAME_CHARS, MAX_FOLDER_NAME_CHARS, MAX_TAGS, MAX_TAG_CHARS, MAX_TEXT_BYTES,
    MAX_TITLE_CHARS, MIN_FILE_BYTES,
};
use super::ports::{MaterialStore, ObjectError, ObjectStore};
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::sop::content::{
    MAX_APPID_BYTES, MAX_LINK_DESC_BYTES, MAX_MINIPROGRAM_TITLE_BYTES, MAX_PAGE_BYTES,
    MAX_URL_BYTES,
};
use crate::sop::Problem;
use crate::tenants::TenantId;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long a presigned upload URL is valid.
pub const UPLOAD_URL_SECS: u64 = 15 * 60;
/// How long a preview URL is valid.
pub const PREVIEW_URL_SECS: u64 = 10 * 60;

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The input breaks a rule.
    #[error("invalid material: {}", Problem::summary(.0))]
    Invalid(Vec<Problem>),
    /// No such material.
    #[error("no such material")]
    NoSuchMaterial,
    /// No such folder.
    #[error("no such folder")]
    NoSuchFolder,
    /// The idempotency key was used for another material.
    #[error("this Idempotency-Key was used for another material")]
    KeyReused,
    /// The edit starts from an older version.
    #[error("the material changed meanwhile: reload it and try again")]
    StaleVersion,
    /// Plans, welcome messages or campaigns refer to the material.
    #[error("the material is in use ({plans} plans, {welcomes} welcome messages, {campaigns} campaigns)")]
    InUse {
        /// Plans.
        plans: i64,
        /// Welcome messages.
        welcomes: i64,
        /// Campaigns.
        campaigns: i64,
    },
    /// The folder still holds materials.
    #[error("the folder is not empty")]
    FolderNotEmpty,
    /// The material has no upload to await.
    #[error("the material has no pending upload")]
    NotPending,
    /// Complete was called before the file arrived.
    #[error("the file was not uploaded yet")]
    UploadMissing,
    /// The uploaded object is not what was declared (it was deleted).
    #[error("the uploaded file is not the one declared: {0}")]
    UploadMismatch(String),
    /// The object store failed.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ContentError> for ApiError {
    fn from(e: ContentError) -> Self {
        match e {
            ContentError::Invalid(ref problems) => {
                let details = serde_json::json!({ "problems": problems });
                ApiError::validation(e.to_string()).with_details(details)
            }
            ContentError::NoSuchMaterial | ContentError::NoSuchFolder => {
                ApiError::not_found(e.to_string())
            }
            ContentError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
            ContentError::StaleVersion => ApiError::conflict("version_conflict", e.to_string()),
            ContentError::InUse {
                plans,
                welcomes,
                campaigns,
            } => ApiError::conflict("material_in_use", e.to_string()).with_details(
                serde_json::json!({"plans": plans, "welcomes": welcomes, "campaigns": campaigns}),
            ),
            ContentError::FolderNotEmpty => ApiError::conflict("folder_not_empty", e.to_string()),
            ContentError::NotPending => ApiError::conflict("not_pending", e.to_string()),
            ContentError::UploadMissing => ApiError::conflict("upload_missing", e.to_string()),
            ContentError::UploadMismatch(_) => {
                ApiError::bad_request("upload_mismatch", e.to_string())
            }
            ContentError::Object(ref o) => {
                tracing::error!(error = %o, "object store failed");
                ApiError::unavailable()
            }
            ContentError::Store(s) => s.into(),
        }
    }
}

/// The file a material will be uploaded with, as the browser declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileInput {
    /// The file's name.
    pub name: String,
    /// Its content type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A new material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialInput {
    /// What it is.
    pub kind: MaterialKind,
    /// Its name; a link's and mini-program's card title.
    pub title: String,
    /// Its folder.
    #[serde(default)]
    pub folder_id: Option<String>,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A text material's text.
    #[serde(default)]
    pub text: Option<String>,
    /// A link's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// A link's description.
    #[serde(default)]
    pub desc: Option<String>,
    /// A mini-program's appid.
    #[serde(default)]
    pub appid: Option<String>,
    /// A mini-program's page.
    #[serde(default)]
    pub page: Option<String>,
    /// The file to upload (image, video, file; a mini-program's cover, a link's optional
    /// cover).
    #[serde(default)]
    pub file: Option<FileInput>,
}

/// An edit: everything but the kind and the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialEdit {
    /// Its name.
    pub title: String,
    /// Its folder.
    #[serde(default)]
    pub folder_id: Option<String>,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A text material's text.
    #[serde(default)]
    pub text: Option<String>,
    /// A link's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// A link's description.
    #[serde(default)]
    pub desc: Option<String>,
    /// A mini-program's appid.
    #[serde(default)]
    pub appid: Option<String>,
    /// A mini-program's page.
    #[serde(default)]
    pub page: Option<String>,
}

/// Where and how the browser uploads the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadTicket {
    /// The presigned URL.
    pub url: String,
    /// Always `PUT`.
    pub method: &'static str,
    /// The headers the upload must carry (signed): `content-type`.
    pub headers: serde_json::Value,
    /// Until when the URL is valid.
    pub expires_at: DateTime<Utc>,
}

/// A material, with its upload ticket while pending and a preview URL once ready.
#[derive(Debug, Clone, Serialize)]
pub struct MaterialView {
    /// The material.
    #[serde(flatten)]
    pub material: Material,
    /// Present while the file is awaited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadTicket>,
    /// A short-lived URL of the file, once uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<String>,
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// The problems of a material's fields (shared by create and edit).
#[allow(clippy::too_many_arguments)]
fn field_problems(
    kind: MaterialKind,
    title: &str,
    folder_id: &Option<String>,
    tags: &[String],
    text: &Option<String>,
    url: &Option<String>,
    desc: &Option<String>,
    appid: &Option<String>,
    page: &Option<String>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |f: &str, m: String| {
        out.push(Problem {
            field: f.into(),
            message: m,
        })
    };
    let title_chars = title.chars().count();
    if title.trim().is_empty() || title_chars > MAX_TITLE_CHARS {
        push("title", format!("1-{MAX_TITLE_CHARS} characters"));
    }
    if let Some(f) = folder_id {
        if !is_folder_id(f) {
            push("folder_id", "not a folder id".into());
        }
    }
    if tags.len() > MAX_TAGS {
        push("tags", format!("at most {MAX_TAGS} tags"));
    }
    for (i, t) in tags.iter().enumerate() {
        let n = t.chars().count();
        if t.trim().is_empty() || n > MAX_TAG_CHARS {
            push(
                &format!("tags[{i}]"),
                format!("1-{MAX_TAG_CHARS} characters"),
            );
        }
    }
    let only =
        |name: &str, v: &Option<String>, allowed: bool, push: &mut dyn FnMut(&str, String)| {
            if !allowed && v.is_some() {
                push(name, format!("a {} material has no {name}", kind.as_str()));
            }
        };
    only("text", text, kind == MaterialKind::Text, &mut push);
    only("url", url, kind == MaterialKind::Link, &mut push);
    only("desc", desc, kind == MaterialKind::Link, &mut push);
    only("appid", appid, kind == MaterialKind::Miniprogram, &mut push);
    only("page", page, kind == MaterialKind::Miniprogram, &mut push);
    match kind {
        MaterialKind::Text => {
            let len = text.as_deref().map_or(0, str::len);
            if blank(text) || len > MAX_TEXT_BYTES {
                push("text", format!("1-{MAX_TEXT_BYTES} bytes"));
            }
        }
        MaterialKind::Link => {
            let u = url.as_deref().unwrap_or("");
            if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() > MAX_URL_BYTES {
                push(
                    "url",
                    format!("an http(s) URL of at most {MAX_URL_BYTES} bytes"),
                );
            }
            if title.len() > crate::sop::content::MAX_LINK_TITLE_BYTES {
                push("title", "a link title is at most 128 bytes".into());
            }
            if desc.as_deref().map_or(0, str::len) > MAX_LINK_DESC_BYTES {
                push("desc", format!("at most {MAX_LINK_DESC_BYTES} bytes"));
            }
        }
        MaterialKind::Miniprogram => {
            if title.len() > MAX_MINIPROGRAM_TITLE_BYTES {
                push(
                    "title",
                    format!("a mini-program title is at most {MAX_MINIPROGRAM_TITLE_BYTES} bytes"),
                );
            }
            let a = appid.as_deref().unwrap_or("");
            if a.trim().is_empty() || a.len() > MAX_APPID_BYTES {
                push("appid", format!("1-{MAX_APPID_BYTES} bytes"));
            }
            let p = page.as_deref().unwrap_or("");
            if p.trim().is_empty() || p.len() > MAX_PAGE_BYTES {
                push("page", format!("1-{MAX_PAGE_BYTES} bytes"));
            }
        }
        _ => {}
    }
    out
}

/// The problems of a new material, its declared file checked against WeCom's limits for
/// its kind (type and size).
pub fn input_problems(input: &MaterialInput) -> Vec<Problem> {
    let mut out = field_problems(
        input.kind,
        &input.title,
        &input.folder_id,
        &input.tags,
        &input.text,
        &input.url,
        &input.desc,
        &input.appid,
        &input.page,
    );
    let mut push = |f: &str, m: String| {
        out.push(Problem {
            field: f.into(),
            message: m,
        })
    };
    match (&input.file, input.kind.file_limits()) {
        (None, _) if input.kind.needs_file() => push(
            "file",
            format!("a {} material needs a file", input.kind.as_str()),
        ),
        (Some(_), None) => push("file", "a text material has no file".into()),
        (Some(f), Some((types, max))) => {
            let n = f.name.chars().count();
            if f.name.trim().is_empty() || n > MAX_FILE_NAME_CHARS || f.name.contains(['/', '\\']) {
                push(
                    "file.name",
                    format!("1-{MAX_FILE_NAME_CHARS} characters without slashes"),
                );
            }
            if !types.contains(&f.content_type.as_str()) {
                push(
                    "file.content_type",
                    format!(
                        "a {} material takes {}",
                        input.kind.as_str(),
                        types.join(", ")
                    ),
                );
            }
            if f.size < MIN_FILE_BYTES || f.size > max {
                push(
                    "file.size",
                    format!(
                        "a {} material's file is {MIN_FILE_BYTES}-{max} bytes",
                        input.kind.as_str()
                    ),
                );
            }
        }
        (None, _) => {}
    }
    out
}

fn object_key(t: &TenantId, id: &MaterialId) -> String {
    format!("{}/{}", t.as_str(), id.as_str())
}

fn ticket<O: ObjectStore>(
    objects: &O,
    file: &StoredFile,
    now: DateTime<Utc>,
) -> Result<UploadTicket, ContentError> {
    let url = objects.presign_put(&file.key, &file.content_type, file.size, UPLOAD_URL_SECS)?;
    Ok(UploadTicket {
        url,
        method: "PUT",
        headers: serde_json::json!({ "content-type": file.content_type }),
        expires_at: now + Duration::seconds(UPLOAD_URL_SECS as i64),
    })
}

/// A material as answered: its upload ticket while pending, its preview once ready.
pub fn view<O: ObjectStore>(
    objects: &O,
    m: Material,
    now: DateTime<Utc>,
) -> Result<MaterialView, ContentError> {
    let (upload, preview_url) = match (&m.file, m.status) {
        (Some(f), MaterialStatus::Pending) => (Some(ticket(objects, f, now)?), None),
        (Some(f), MaterialStatus::Ready) => {
            (None, Some(objects.presign_get(&f.key, PREVIEW_URL_SECS)?))
        }
        (None, _) => (None, None),
    };
    Ok(MaterialView {
        material: m,
        upload,
        preview_url,
    })
}

async fn check_folder<M: MaterialStore>(
    store: &M,
    t: &TenantId,
    folder_id: &Option<String>,
) -> Result<(), ContentError> {
    if let Some(f) = folder_id {
        if !store.folders(t).await?.iter().any(|x| &x.folder_id == f) {
            return Err(ContentError::NoSuchFolder);
        }
    }
    Ok(())
}

/// Creates a material under an idempotency key (a retry answers the same material, with a
/// fresh upload URL while pending); `true` when created now.
pub async fn create<M: MaterialStore, O: ObjectStore>(
    store: &M,
    objects: &O,
    t: &TenantId,
    idempotency_key: &str,
    input: MaterialInput,
    now: DateTime<Utc>,
) -> Result<(MaterialView, bool), ContentError> {
    let problems = input_problems(&input);
    if !problems.is_empty() {
        return Err(ContentError::Invalid(problems));
    }
    check_folder(store, t, &input.folder_id).await?;
    let id = MaterialId::for_key(t.as_str(), idempotency_key);
    let file = input.file.as_ref().map(|f| StoredFile {
        key: object_key(t, &id),
        name: f.name.clone(),
        content_type: f.content_type.clone(),
        size: f.size,
    });
    let m = Material {
        material_id: id.clone(),
        kind: input.kind,
        title: input.title.trim().to_string(),
        folder_id: input.folder_id.clone(),
        tags: input.tags.iter().map(|t| t.trim().to_string()).collect(),
        status: if file.is_some() {
            MaterialStatus::Pending
        } else {
            MaterialStatus::Ready
        },
        text: input.text.clone(),
        url: input.url.clone(),
        desc: input.desc.clone(),
        appid: input.appid.clone(),
        page: input.page.clone(),
        file,
        created_at: now,
        updated_at: now,
        version: 1,
        usage: Default::default(),
    };
    if store.create_material(t, &m).await? {
        return Ok((view(objects, m, now)?, true));
    }
    let existing = store
        .material(t, &id)
        .await?
        .ok_or(ContentError::NoSuchMaterial)?;
    let same = existing.kind == m.kind
        && existing.title == m.title
        && existing
            .file
            .as_ref()
            .map(|f| (&f.name, &f.content_type, f.size))
            == m.file.as_ref().map(|f| (&f.name, &f.content_type, f.size));
    if !same {
        return Err(ContentError::KeyReused);
    }
    Ok((view(objects, existing, now)?, false))
}

/// A material, or 404.
pub async fn get<M: MaterialStore>(
    store: &M,
    t: &TenantId,
    id: &MaterialId,
) -> Result<Material, ContentError> {
    store
        .material(t, id)
        .await?
        .ok_or(ContentError::NoSuchMaterial)
}

/// Verifies a pending material's upload (the object is there, of the declared size and
/// type) and makes it ready; a ready one is answered as it is. An object that is not the
/// declared one is deleted and the material stays pending.
pub async fn complete<M: MaterialStore, O: ObjectStore>(
    store: &M,
    objects: &O,
    t: &TenantId,
    id: &MaterialId,
    now: DateTime<Utc>,
) -> Result<Material, ContentError> {
    let m = get(store, t, id).await?;
    if m.status == MaterialStatus::Ready {
        return Ok(m);
    }
    let file = m.file.clone().ok_or(ContentError::NotPending)?;
    let head = objects
        .head(&file.key)
        .await?
        .ok_or(ContentError::UploadMissing)?;
    let declared_type = file.content_type.to_ascii_lowercase();
    let got_type = head
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if head.size != file.size || got_type != declared_type {
        objects.delete(&file.key).await?;
        return Err(ContentError::UploadMismatch(format!(
            "declared {} bytes of {}, received {} bytes of {}",
            file.size, file.content_type, head.size, head.content_type
        )));
    }
    let ready = Material {
        status: MaterialStatus::Ready,
        updated_at: now,
        version: m.version + 1,
        ..m.clone()
    };
    if !store.replace_material(t, &ready, m.version).await? {
        return Err(ContentError::StaleVersion);
    }
    Ok(ready)
}

/// Edits a material from `version`.
pub async fn edit<M: MaterialStore>(
    store: &M,
    t: &TenantId,
    id: &MaterialId,
    version: i64,
    e: MaterialEdit,
    now: DateTime<Utc>,
) -> Result<Material, ContentError> {
    let m = get(store, t, id).await?;
    let problems = field_problems(
        m.kind,
        &e.title,
        &e.folder_id,
        &e.tags,
        &e.text,
        &e.url,
        &e.desc,
        &e.appid,
        &e.page,
    );
    if !problems.is_empty() {
        return Err(ContentError::Invalid(problems));
    }
    if m.version != version {
        return Err(ContentError::StaleVersion);
    }
    check_folder(store, t, &e.folder_id).await?;
    let edited = Material {
        title: e.title.trim().to_string(),
        folder_id: e.folder_id,
        tags: e.tags.iter().map(|t| t.trim().to_string()).collect(),
        text: e.text,
        url: e.url,
        desc: e.desc,
        appid: e.appid,
        page: e.page,
        updated_at: now,
        version: m.version + 1,
        ..m.clone()
    };
    if !store.replace_material(t, &edited, version).await? {
        return Err(ContentError::StaleVersion);
    }
    Ok(edited)
}

/// Deletes a material nothing refers to, and its file.
pub async fn delete<M: MaterialStore, O: ObjectStore>(
    store: &M,
    objects: &O,
    t: &TenantId,
    id: &MaterialId,
) -> Result<(), ContentError> {
    let m = get(store, t, id).await?;
    if m.usage.any() {
        return Err(ContentError::InUse {
            plans: m.usage.plans,
            welcomes: m.usage.welcomes,
            campaigns: m.usage.campaigns,
        });
    }
    if !store.delete_material(t, id, m.version).await? {
        return Err(ContentError::StaleVersion);
    }
    if let Some(f) = &m.file {
        // The material is gone: a file left behind costs storage, nothing else.
        if let Err(e) = objects.delete(&f.key).await {
            tracing::warn!(material = %id, error = %e, "file of a deleted material left in the bucket");
        }
    }
    Ok(())
}

/// Creates a folder under an idempotency key (a retry answers the same folder); `true`
/// when created now.
pub async fn create_folder<M: MaterialStore>(
    store: &M,
    t: &TenantId,
    idempotency_key: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(Folder, bool), ContentError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_FOLDER_NAME_CHARS {
        return Err(ContentError::Invalid(vec![Problem {
            field: "name".into(),
            message: format!("1-{MAX_FOLDER_NAME_CHARS} characters"),
        }]));
    }
    // The material id's derivation, with another prefix: the same key names the same folder.
    let derived = MaterialId::for_key(t.as_str(), &format!("folder\n{idempotency_key}"));
    let f = Folder {
        folder_id: format!("f{}", &derived.as_str()[1..]),
        name: n.to_string(),
        created_at: now,
    };
    if store.create_folder(t, &f).await? {
        return Ok((f, true));
    }
    let existing = store
        .folders(t)
        .await?
        .into_iter()
        .find(|x| x.folder_id == f.folder_id)
        .ok_or(ContentError::NoSuchFolder)?;
    if existing.name != f.name {
        return Err(ContentError::KeyReused);
    }
    Ok((existing, false))
}

/// Deletes an empty folder.
pub async fn delete_folder<M: MaterialStore>(
    store: &M,
    t: &TenantId,
    folder_id: &str,
) -> Result<(), ContentError> {
    if !store
        .folders(t)
        .await?
        .iter()
        .any(|f| f.folder_id == folder_id)
    {
        return Err(ContentError::NoSuchFolder);
    }
    if !store.delete_folder(t, folder_id).await? {
        return Err(ContentError::FolderNotEmpty);
    }
    Ok(())
}

/// Checks that every material id names a ready material of the tenant: problems at
/// `field` otherwise (an unknown material in a plan is refused when the plan is saved).
pub async fn reference_problems<M: MaterialStore>(
    store: &M,
    t: &TenantId,
    field: &str,
    ids: &[String],
) -> Result<Vec<Problem>, StoreError> {
    let mut out = Vec::new();
    for raw in ids {
        let found = match MaterialId::parse(raw) {
            Some(id) => store.material(t, &id).await?,
            None => None,
        };
        let message = match found {
            None => format!("no material {raw}"),
            Some(m) if m.status != MaterialStatus::Ready => {
                format!("material {raw} is not ready (its file was not uploaded)")
            }
            Some(_) => continue,
        };
        out.push(Problem {
            field: field.into(),
            message,
        });
    }
    Ok(out)
}

/// Records which materials `(kind, user)` refers to now (after it was saved).
pub async fn record_references<M: MaterialStore>(
    store: &M,
    t: &TenantId,
    kind: UsageKind,
    user: &str,
    ids: &[String],
) -> Result<(), StoreError> {
    let ids: Vec<MaterialId> = ids.iter().filter_map(|r| MaterialId::parse(r)).collect();
    store.set_references(t, kind, user, &ids).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: MaterialKind, ct: &str, size: u64) -> MaterialInput {
        MaterialInput {
            kind,
            title: "x".into(),
            folder_id: None,
            tags: vec![],
            text: None,
            url: None,
            desc: None,
            appid: None,
            page: None,
            file: Some(FileInput {
                name: "a.bin".into(),
                content_type: ct.into(),
                size,
            }),
        }
    }

    #[test]
    fn uploads_are_checked_against_wecoms_limits() {
        assert!(input_problems(&input(MaterialKind::Image, "image/png", 1000)).is_empty());
        let p = input_problems(&input(MaterialKind::Image, "image/gif", 1000));
        assert_eq!(p[0].field, "file.content_type");
        let p = input_problems(&input(
            MaterialKind::Video,
            "video/mp4",
            10 * 1024 * 1024 + 1,
        ));
        assert_eq!(p[0].field, "file.size");
        assert!(input_problems(&input(
            MaterialKind::File,
            "application/pdf",
            20 * 1024 * 1024
        ))
        .is_empty());
        let p = input_problems(&input(MaterialKind::Video, "image/png", 3));
        assert_eq!(p.len(), 2);
    }
}
