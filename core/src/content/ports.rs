//! What the content center needs from the outside world: its store (the tasks table), the
//! object store of uploaded files (S3) and WeCom's media uploads.
pub use super::model::UploadedMedia;
use super::model::{Folder, Material, MaterialId, MediaCache, MediaSlot, Usage, UsageKind};
use crate::contacts::Page;
use crate::ports::StoreError;
use crate::tenants::{Tenant, TenantId};
use crate::wecom::api::WeComError;
use chrono::{DateTime, Utc};
use std::future::Future;

/// Materials, folders, the media cache and usage.
pub trait MaterialStore: Send + Sync {
    /// Creates a material: `false` if one with its id exists.
    fn create_material(
        &self,
        t: &TenantId,
        m: &Material,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces a material if it is still at `expected_version`: `false` otherwise.
    fn replace_material(
        &self,
        t: &TenantId,
        m: &Material,
        expected_version: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A material (with its usage), if it exists.
    fn material(
        &self,
        t: &TenantId,
        id: &MaterialId,
    ) -> impl Future<Output = Result<Option<Material>, StoreError>> + Send;
    /// A page of materials, newest first, of one folder if given (with their usage).
    fn materials(
        &self,
        t: &TenantId,
        folder_id: Option<&str>,
        tag: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Material>, StoreError>> + Send;
    /// Deletes a material, its media cache and usage counter, if it is at
    /// `expected_version`: `false` otherwise.
    fn delete_material(
        &self,
        t: &TenantId,
        id: &MaterialId,
        expected_version: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The media cache of a material (empty if nothing was uploaded yet).
    fn media_cache(
        &self,
        t: &TenantId,
        id: &MaterialId,
    ) -> impl Future<Output = Result<MediaCache, StoreError>> + Send;
    /// Records a permanent picture URL (idempotent: the first one stays).
    fn set_pic_url(
        &self,
        t: &TenantId,
        id: &MaterialId,
        pic_url: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a fresh media id in `slot` if the slot still holds the one uploaded at
    /// `replaced` (`None`: nothing yet): `false` when another sender stored one meanwhile.
    fn swap_media(
        &self,
        t: &TenantId,
        id: &MaterialId,
        slot: MediaSlot,
        fresh: &UploadedMedia,
        replaced: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Makes the materials `ids` the ones `(kind, user)` refers to: each newly referred one
    /// is counted once, each no longer referred one uncounted once.
    fn set_references(
        &self,
        t: &TenantId,
        kind: UsageKind,
        user: &str,
        ids: &[MaterialId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The usage of a material.
    fn usage(
        &self,
        t: &TenantId,
        id: &MaterialId,
    ) -> impl Future<Output = Result<Usage, StoreError>> + Send;

    /// Creates a folder: `false` if it exists.
    fn create_folder(
        &self,
        t: &TenantId,
        f: &Folder,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The folders, by name.
    fn folders(&self, t: &TenantId)
        -> impl Future<Output = Result<Vec<Folder>, StoreError>> + Send;
    /// Deletes a folder if no material is in it: `false` otherwise.
    fn delete_folder(
        &self,
        t: &TenantId,
        folder_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What the object store says of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    /// Its size in bytes.
    pub size: u64,
    /// Its content type.
    pub content_type: String,
}

/// Why the object store failed.
#[derive(Debug, thiserror::Error)]
#[error("object store: {0}")]
pub struct ObjectError(pub String);

/// The uploaded files (S3): browsers upload straight to it through a presigned URL.
pub trait ObjectStore: Send + Sync {
    /// A URL that accepts one `PUT` of exactly `size` bytes of `content_type` at `key`
    /// until `expires_in_secs` have passed.
    fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in_secs: u64,
    ) -> Result<String, ObjectError>;
    /// A URL that serves the object for `expires_in_secs` (previews in the console).
    fn presign_get(&self, key: &str, expires_in_secs: u64) -> Result<String, ObjectError>;
    /// The object's size and type, `None` if it is not there.
    fn head(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<ObjectHead>, ObjectError>> + Send;
    /// The object's bytes.
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, ObjectError>> + Send;
    /// Deletes the object (nothing if it is not there).
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), ObjectError>> + Send;
}

/// The media type of a temporary upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `image`.
    Image,
    /// `video`.
    Video,
    /// `file`.
    File,
}

impl MediaType {
    /// WeCom's `type` / `media_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Image => "image",
            MediaType::Video => "video",
            MediaType::File => "file",
        }
    }
}

/// A file handed to WeCom.
#[derive(Debug, Clone, Copy)]
pub struct MediaFile<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its content type.
    pub content_type: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// WeCom's media uploads, with the tenant's customer-contact credentials.
pub trait MediaUploader: Send + Sync {
    /// `media/uploadimg`: a permanent picture URL for messages.
    fn upload_image(
        &self,
        tenant: &Tenant,
        file: MediaFile<'_>,
    ) -> impl Future<Output = Result<String, WeComError>> + Send;
    /// `media/upload`: a temporary media id (three days).
    fn upload_media(
        &self,
        tenant: &Tenant,
        kind: MediaType,
        file: MediaFile<'_>,
    ) -> impl Future<Output = Result<UploadedMedia, WeComError>> + Send;
    /// `media/upload_attachment` (attachment type 1, moments): a temporary media id.
    fn upload_attachment(
        &self,
        tenant: &Tenant,
        kind: MediaType,
        file: MediaFile<'_>,
    ) -> impl Future<Output = Result<UploadedMedia, WeComError>> + Send;
}
