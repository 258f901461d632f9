//! Materials: what a tenant's library holds, the limits of what may be uploaded (WeCom's,
//! so that a material accepted here is one WeCom accepts), and the WeCom media cache.
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A material's id: `m` and a lowercase ULID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MaterialId(String);

impl MaterialId {
    /// A fresh id.
    pub fn generate() -> Self {
        Self(format!("m{}", ulid::Ulid::new().to_string().to_lowercase()))
    }

    /// The id named by an idempotency key: a retried create names the same material.
    pub fn for_key(tenant: &str, key: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{tenant}\n{key}").as_bytes());
        Self(format!("m{}", &hex::encode(digest)[..26]))
    }

    /// Validates a presented id: 2–40 lowercase letters or digits starting with `m`.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.starts_with('m')
            && (2..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        ok.then(|| Self(raw.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MaterialId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MaterialId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).ok_or_else(|| serde::de::Error::custom("invalid material id"))
    }
}

/// What a material is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialKind {
    /// Text only.
    Text,
    /// A JPG or PNG image.
    Image,
    /// An MP4 video.
    Video,
    /// A document.
    File,
    /// A link card (title, description, optional cover image).
    Link,
    /// A mini-program card (its cover image is required).
    Miniprogram,
}

impl MaterialKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MaterialKind::Text => "text",
            MaterialKind::Image => "image",
            MaterialKind::Video => "video",
            MaterialKind::File => "file",
            MaterialKind::Link => "link",
            MaterialKind::Miniprogram => "miniprogram",
        }
    }

    /// Whether the material is an uploaded file (and nothing without it).
    pub fn needs_file(self) -> bool {
        matches!(
            self,
            MaterialKind::Image
                | MaterialKind::Video
                | MaterialKind::File
                | MaterialKind::Miniprogram
        )
    }

    /// Whether a file may come with it (a link's cover is optional).
    pub fn takes_file(self) -> bool {
        self.needs_file() || self == MaterialKind::Link
    }

    /// The content types and the largest size WeCom takes for this kind's file (a link's or
    /// a mini-program's file is its cover image).
    pub fn file_limits(self) -> Option<(&'static [&'static str], u64)> {
        match self {
            MaterialKind::Image | MaterialKind::Miniprogram => Some((IMAGE_TYPES, MAX_IMAGE_BYTES)),
            // A link's cover goes out as a permanent `picurl` (uploadimg: at most 2 MB).
            MaterialKind::Link => Some((IMAGE_TYPES, MAX_PIC_URL_BYTES)),
            MaterialKind::Video => Some((VIDEO_TYPES, MAX_VIDEO_BYTES)),
            MaterialKind::File => Some((FILE_TYPES, MAX_FILE_BYTES)),
            MaterialKind::Text => None,
        }
    }
}

/// Image types WeCom's media uploads take.
pub const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png"];
/// Video types WeCom's media uploads take.
pub const VIDEO_TYPES: &[&str] = &["video/mp4"];
/// Document types accepted as files.
pub const FILE_TYPES: &[&str] = &[
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/zip",
    "text/plain",
];
/// WeCom's temporary media: images up to 10 MB.
pub const MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;
/// WeCom's `media/uploadimg` (permanent picture URLs): up to 2 MB.
pub const MAX_PIC_URL_BYTES: u64 = 2 * 1024 * 1024;
/// WeCom's temporary media: videos up to 10 MB.
pub const MAX_VIDEO_BYTES: u64 = 10 * 1024 * 1024;
/// WeCom's temporary media: files up to 20 MB.
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
/// WeCom refuses media of 5 bytes or fewer.
pub const MIN_FILE_BYTES: u64 = 6;
/// Longest material title, in characters.
pub const MAX_TITLE_CHARS: usize = 64;
/// Longest text material, in bytes (a mass message's text).
pub const MAX_TEXT_BYTES: usize = 4000;
/// Most tags on a material.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 20;
/// Longest file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 128;

/// How long WeCom keeps a temporary media id (`media/upload`, `media/upload_attachment`).
pub fn media_lifetime() -> Duration {
    Duration::days(3)
}

/// A media id older than this is uploaded again before it is used. Not the full three
/// days: WeCom delivers a mass-message task when each staff member confirms it, hours after
/// it was created, so a media id handed to WeCom must still have most of a day to live.
pub fn refresh_after() -> Duration {
    Duration::days(2)
}

/// Whether a media id uploaded at `at` may still be handed to WeCom at `now`.
pub fn media_fresh(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= at && now - at < refresh_after()
}

/// Whether the material may be used yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialStatus {
    /// Its file is awaited (upload URL issued, not completed).
    Pending,
    /// Usable.
    Ready,
}

/// The object of an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// The object key in the bucket (`{tenant}/{material}`).
    pub key: String,
    /// The file's name (what WeCom shows for files).
    pub name: String,
    /// Its declared (and, once ready, verified) content type.
    pub content_type: String,
    /// Its declared (and, once ready, verified) size in bytes.
    pub size: u64,
}

/// How many plans, welcome messages and campaigns refer to a material.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// SOP plans.
    pub plans: i64,
    /// Welcome messages.
    pub welcomes: i64,
    /// Campaigns.
    pub campaigns: i64,
}

impl Usage {
    /// Whether anything refers to the material.
    pub fn any(&self) -> bool {
        self.plans > 0 || self.welcomes > 0 || self.campaigns > 0
    }
}

/// What refers to a material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageKind {
    /// An SOP plan.
    Plan,
    /// A welcome message.
    Welcome,
    /// A campaign.
    Campaign,
}

impl UsageKind {
    /// The key segment.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageKind::Plan => "plan",
            UsageKind::Welcome => "welcome",
            UsageKind::Campaign => "campaign",
        }
    }
}

/// A material of the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    /// Its id.
    pub material_id: MaterialId,
    /// What it is.
    pub kind: MaterialKind,
    /// Its name in the library; a link's and a mini-program's card title.
    pub title: String,
    /// Its folder, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether it may be used.
    pub status: MaterialStatus,
    /// A text material's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A link's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A link's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// A mini-program's appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// A mini-program's page path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// The uploaded file (image, video, file; a link's or mini-program's cover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<StoredFile>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// What refers to it (kept in its own item; filled in on reads).
    #[serde(default)]
    pub usage: Usage,
}

/// A folder of the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    /// Its id (`f` and a lowercase ULID).
    pub folder_id: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Longest folder name, in characters.
pub const MAX_FOLDER_NAME_CHARS: usize = 32;

/// Whether `raw` is a folder id.
pub fn is_folder_id(raw: &str) -> bool {
    raw.starts_with('f')
        && (2..=40).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// WeCom's copies of a material's file, as last uploaded. Kept beside the material (its
/// own item) so that a send refreshing it never races an edit of the material.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaCache {
    /// The permanent picture URL (`media/uploadimg`) of an image or a link's cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pic_url: Option<String>,
    /// The temporary media id (`media/upload`) for messages, and when it was uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<UploadedMedia>,
    /// The moments attachment id (`media/upload_attachment`), and when it was uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<UploadedMedia>,
}

/// A temporary media id and when WeCom issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedMedia {
    /// WeCom's media id.
    pub media_id: String,
    /// When it was uploaded (WeCom's `created_at`).
    pub created_at: DateTime<Utc>,
}

/// Which of a material's WeCom copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaSlot {
    /// The temporary media id for messages.
    Media,
    /// The moments attachment id.
    Attachment,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_media_id_is_refreshed_a_day_before_wecom_drops_it() {
        let at = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(media_fresh(at, at));
        assert!(media_fresh(at, at + Duration::hours(47)));
        assert!(!media_fresh(at, at + Duration::days(2)));
        assert!(!media_fresh(at, at + media_lifetime()));
        // A clock that went backwards does not trust a media id from the future.
        assert!(!media_fresh(at, at - Duration::minutes(1)));
    }

    #[test]
    fn ids_are_checked() {
        assert!(MaterialId::parse("m01abc").is_some());
        assert!(MaterialId::parse("p01abc").is_none());
        assert!(MaterialId::parse("mAB").is_none());
        let a = MaterialId::for_key("ww1", "k1");
        assert_eq!(a, MaterialId::for_key("ww1", "k1"));
        assert_ne!(a, MaterialId::for_key("ww2", "k1"));
        assert!(MaterialId::parse(a.as_str()).is_some());
    }
}
