//! The content center (内容中心): each tenant's library of materials (text, image, video,
//! file, link, mini-program card) in folders and with tags, which SOP plans refer to
//! instead of raw WeCom media ids.
//!
//! - [`model`]: materials, their kinds and per-kind upload limits (WeCom's), and the WeCom
//!   media cache of each material (pure).
//! - [`media`]: the rule that turns a material into something WeCom accepts at an instant:
//!   the permanent `pic_url` of an image, or a `media_id` re-uploaded before its three days
//!   pass.
//! - [`admin`]: the admin use cases (create, upload and complete, list, edit, delete,
//!   folders, usage).
//! - [`ports`]: the store, the object store (S3) and WeCom's media uploads.
pub mod admin;
pub mod media;
pub mod model;
pub mod ports;

pub use media::{MaterialResolver, MediaResolver, NoMaterials, ResolveError};
pub use model::{
    Folder, Material, MaterialId, MaterialKind, MaterialStatus, MediaCache, MediaSlot, StoredFile,
    Usage, UsageKind,
};
pub use ports::{MaterialStore, MediaUploader, ObjectStore, UploadedMedia};
