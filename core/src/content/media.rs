//! From a material to what WeCom accepts at an instant.
//!
//! Images in messages go by their permanent picture URL (`media/uploadimg`, uploaded once;
//! images over its 2 MB go by media id). Everything else WeCom takes by temporary media id
//! (videos, files, a mini-program's cover, every moments attachment), which WeCom drops
//! three days after the upload: the id is kept with its upload time and uploaded again
//! once older than [`refresh_after`](super::model::refresh_after) (two days), at the first send that needs it, so a
//! recurring plan never hands WeCom an expired id and does not upload on every send.
//! Two senders refreshing at once both upload, and a conditional write keeps one.
use super::model::{
    media_fresh, Material, MaterialId, MaterialKind, MaterialStatus, MediaSlot, UploadedMedia,
    MAX_PIC_URL_BYTES,
};
use super::ports::{MaterialStore, MediaFile, MediaType, MediaUploader, ObjectStore};
use crate::ports::StoreError;
use crate::sop::content::{Attachment, Content, ContentUse};
use crate::tenants::Tenant;
use crate::wecom::api::WeComError;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

/// Why a material could not be made sendable.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The material does not exist (deleted after the plan was saved).
    #[error("material {0} does not exist")]
    NoSuchMaterial(String),
    /// The material's file was never uploaded.
    #[error("material {0} is not ready (its file was not uploaded)")]
    NotReady(String),
    /// The material cannot go where it is used (a file in moments).
    #[error("material {0} cannot be sent as {1}")]
    WrongUse(String, &'static str),
    /// No material library is wired here.
    #[error("materials cannot be resolved here")]
    Unavailable,
    /// WeCom refused or failed an upload.
    #[error("WeCom upload: {0}")]
    WeCom(#[from] WeComError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The object store failed.
    #[error(transparent)]
    Object(#[from] super::ports::ObjectError),
}

impl ResolveError {
    /// As a WeCom call's failure, for the outbox: a WeCom frequency limit stays one (the
    /// entry waits for the window), anything else is a failed attempt that took no effect
    /// at WeCom (retried with backoff, never reconciled as in doubt).
    pub fn into_wecom(self) -> WeComError {
        match self {
            ResolveError::WeCom(e @ WeComError::RetryLater { .. }) => e,
            other => WeComError::InvalidRequest(format!("content: {other}")),
        }
    }
}

/// Turns a content's material attachments into attachments WeCom accepts (object safe, so
/// that the dispatcher holds one without another type parameter).
pub trait MaterialResolver: Send + Sync {
    /// `content` with each material attachment replaced by its sendable form at `now`
    /// (a text material's text joins the content's text).
    fn resolve<'a>(
        &'a self,
        tenant: &'a Tenant,
        content: &'a Content,
        usage: ContentUse,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Content, ResolveError>>;
}

/// For places without a library: content without materials passes, with one fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMaterials;

impl MaterialResolver for NoMaterials {
    fn resolve<'a>(
        &'a self,
        _tenant: &'a Tenant,
        content: &'a Content,
        _usage: ContentUse,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Content, ResolveError>> {
        Box::pin(async move {
            if content.material_ids().is_empty() {
                Ok(content.clone())
            } else {
                Err(ResolveError::Unavailable)
            }
        })
    }
}

/// The resolver over the store, the object store and WeCom.
pub struct MediaResolver<M, O, U> {
    /// Materials and their media cache.
    pub store: M,
    /// The uploaded files.
    pub objects: O,
    /// WeCom's uploads.
    pub uploader: U,
}

impl<M, O, U> MaterialResolver for MediaResolver<M, O, U>
where
    M: MaterialStore,
    O: ObjectStore,
    U: MediaUploader,
{
    fn resolve<'a>(
        &'a self,
        tenant: &'a Tenant,
        content: &'a Content,
        usage: ContentUse,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Content, ResolveError>> {
        Box::pin(async move {
            let mut text = content.text.clone();
            let mut attachments = Vec::with_capacity(content.attachments.len());
            for a in &content.attachments {
                let Attachment::Material { material_id } = a else {
                    attachments.push(a.clone());
                    continue;
                };
                let id = MaterialId::parse(material_id)
                    .ok_or_else(|| ResolveError::NoSuchMaterial(material_id.clone()))?;
                let m = self
                    .store
                    .material(&tenant.id, &id)
                    .await?
                    .ok_or_else(|| ResolveError::NoSuchMaterial(material_id.clone()))?;
                if m.status != MaterialStatus::Ready {
                    return Err(ResolveError::NotReady(material_id.clone()));
                }
                match self.sendable(tenant, &m, usage, now).await? {
                    Some(a) => attachments.push(a),
                    None => {
                        let extra = m.text.clone().unwrap_or_default();
                        if text.trim().is_empty() {
                            text = extra;
                        } else if !extra.trim().is_empty() {
                            text = format!("{text}\n{extra}");
                        }
                    }
                }
            }
            Ok(Content { text, attachments })
        })
    }
}

impl<M, O, U> MediaResolver<M, O, U>
where
    M: MaterialStore,
    O: ObjectStore,
    U: MediaUploader,
{
    /// The material as an attachment for `usage` at `now`; `None` for a text material.
    pub async fn sendable(
        &self,
        tenant: &Tenant,
        m: &Material,
        usage: ContentUse,
        now: DateTime<Utc>,
    ) -> Result<Option<Attachment>, ResolveError> {
        let id = m.material_id.as_str().to_string();
        let moments = usage == ContentUse::Moments;
        let a = match m.kind {
            MaterialKind::Text => return Ok(None),
            MaterialKind::Image if moments => Attachment::Image {
                media_id: Some(self.media_id(tenant, m, MediaSlot::Attachment, now).await?),
                pic_url: None,
            },
            MaterialKind::Image => {
                let size = m.file.as_ref().map_or(0, |f| f.size);
                if size <= MAX_PIC_URL_BYTES {
                    Attachment::Image {
                        media_id: None,
                        pic_url: Some(self.pic_url(tenant, m).await?),
                    }
                } else {
                    Attachment::Image {
                        media_id: Some(self.media_id(tenant, m, MediaSlot::Media, now).await?),
                        pic_url: None,
                    }
                }
            }
            MaterialKind::Video => Attachment::Video {
                media_id: self
                    .media_id(
                        tenant,
                        m,
                        if moments {
                            MediaSlot::Attachment
                        } else {
                            MediaSlot::Media
                        },
                        now,
                    )
                    .await?,
            },
            MaterialKind::File if moments => return Err(ResolveError::WrongUse(id, "moments")),
            MaterialKind::File => Attachment::File {
                media_id: self.media_id(tenant, m, MediaSlot::Media, now).await?,
            },
            MaterialKind::Miniprogram if moments => {
                return Err(ResolveError::WrongUse(id, "moments"))
            }
            MaterialKind::Miniprogram => Attachment::Miniprogram {
                title: m.title.clone(),
                appid: m.appid.clone().unwrap_or_default(),
                page: m.page.clone().unwrap_or_default(),
                pic_media_id: self.media_id(tenant, m, MediaSlot::Media, now).await?,
            },
            MaterialKind::Link => {
                let (picurl, media_id) = match (&m.file, moments) {
                    (None, _) => (None, None),
                    (Some(_), false) => (Some(self.pic_url(tenant, m).await?), None),
                    (Some(_), true) => (
                        None,
                        Some(self.media_id(tenant, m, MediaSlot::Attachment, now).await?),
                    ),
                };
                if moments && media_id.is_none() {
                    return Err(ResolveError::WrongUse(id, "a moments link without a cover"));
                }
                Attachment::Link {
                    title: m.title.clone(),
                    url: m.url.clone().unwrap_or_default(),
                    desc: m.desc.clone(),
                    picurl,
                    media_id,
                    track: false,
                }
            }
        };
        Ok(Some(a))
    }

    async fn file_bytes(&self, m: &Material) -> Result<Vec<u8>, ResolveError> {
        let file = m
            .file
            .as_ref()
            .ok_or_else(|| ResolveError::NotReady(m.material_id.to_string()))?;
        Ok(self.objects.get(&file.key).await?)
    }

    /// The permanent picture URL, uploaded on first use.
    async fn pic_url(&self, tenant: &Tenant, m: &Material) -> Result<String, ResolveError> {
        let cache = self.store.media_cache(&tenant.id, &m.material_id).await?;
        if let Some(url) = cache.pic_url {
            return Ok(url);
        }
        let bytes = self.file_bytes(m).await?;
        let file = m.file.as_ref().expect("file_bytes checked the file");
        let url = self
            .uploader
            .upload_image(
                tenant,
                MediaFile {
                    name: &file.name,
                    content_type: &file.content_type,
                    bytes: &bytes,
                },
            )
            .await?;
        self.store
            .set_pic_url(&tenant.id, &m.material_id, &url)
            .await?;
        Ok(url)
    }

    /// A media id of `slot` that WeCom still has at `now` for long enough: the cached one
    /// while fresh, else a new upload (kept unless another sender stored one meanwhile).
    async fn media_id(
        &self,
        tenant: &Tenant,
        m: &Material,
        slot: MediaSlot,
        now: DateTime<Utc>,
    ) -> Result<String, ResolveError> {
        let cache = self.store.media_cache(&tenant.id, &m.material_id).await?;
        let current = match slot {
            MediaSlot::Media => cache.media,
            MediaSlot::Attachment => cache.attachment,
        };
        if let Some(c) = &current {
            if media_fresh(c.created_at, now) {
                return Ok(c.media_id.clone());
            }
        }
        let bytes = self.file_bytes(m).await?;
        let file = m.file.as_ref().expect("file_bytes checked the file");
        let kind = match m.kind {
            MaterialKind::Video => MediaType::Video,
            MaterialKind::File => MediaType::File,
            _ => MediaType::Image,
        };
        let f = MediaFile {
            name: &file.name,
            content_type: &file.content_type,
            bytes: &bytes,
        };
        let fresh: UploadedMedia = match slot {
            MediaSlot::Media => self.uploader.upload_media(tenant, kind, f).await?,
            MediaSlot::Attachment => self.uploader.upload_attachment(tenant, kind, f).await?,
        };
        tracing::info!(material = %m.material_id, slot = ?slot, stale = ?current.as_ref().map(|c| c.created_at), "media uploaded to WeCom");
        let stored = self
            .store
            .swap_media(
                &tenant.id,
                &m.material_id,
                slot,
                &fresh,
                current.map(|c| c.created_at),
            )
            .await?;
        if !stored {
            // Another sender refreshed it first; both ids are valid, its one is kept.
            tracing::info!(material = %m.material_id, "a concurrent sender stored its upload");
        }
        Ok(fresh.media_id)
    }
}
