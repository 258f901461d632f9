//! What a plan pushes: text plus up to 9 attachments. Staff copy it from the task center;
//! where the tenant enables it, the same content becomes a WeCom mass-message or moments
//! task, so the limits checked here are WeCom's own (checked when the plan is saved, not
//! when WeCom refuses it at 9 a.m.).
use crate::links::{LinkTracker, SendContext, Target};
use crate::tenants::Tenant;
use crate::wecom::api::{
    Attachment as WeComAttachment, ImageAttachment, LinkAttachment, MediaAttachment,
    MiniprogramAttachment, MomentAttachment, MomentLink, TextContent,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// At most this many attachments (WeCom's limit for mass messages and moments).
pub const MAX_ATTACHMENTS: usize = 9;
/// Mass-message text limit, in bytes.
pub const MAX_TEXT_BYTES: usize = 4000;
/// Moments text limit, in characters.
pub const MAX_MOMENT_TEXT_CHARS: usize = 2000;
/// Longest media id (`media_id`, `pic_media_id`), in bytes: WeCom's are under 100.
pub const MAX_MEDIA_ID_BYTES: usize = 256;
/// Longest URL (`url`, `pic_url`, `picurl`), in bytes (WeCom's limit).
pub const MAX_URL_BYTES: usize = 2048;
/// Longest link title, in bytes (WeCom's limit).
pub const MAX_LINK_TITLE_BYTES: usize = 128;
/// Longest link description, in bytes (WeCom's limit).
pub const MAX_LINK_DESC_BYTES: usize = 512;
/// Longest mini-program title, in bytes (WeCom's limit).
pub const MAX_MINIPROGRAM_TITLE_BYTES: usize = 64;
/// Longest mini-program appid, in bytes.
pub const MAX_APPID_BYTES: usize = 64;
/// Longest mini-program page path, in bytes.
pub const MAX_PAGE_BYTES: usize = 1024;
/// Longest material id, in bytes.
pub const MAX_MATERIAL_ID_BYTES: usize = 40;

/// Every field of an attachment that has a length limit: (name, value, limit in bytes).
fn bounded_fields(a: &Attachment) -> Vec<(&'static str, &str, usize)> {
    match a {
        Attachment::Image { media_id, pic_url } => vec![
            (
                "media_id",
                media_id.as_deref().unwrap_or(""),
                MAX_MEDIA_ID_BYTES,
            ),
            ("pic_url", pic_url.as_deref().unwrap_or(""), MAX_URL_BYTES),
        ],
        Attachment::Link {
            title,
            url,
            desc,
            picurl,
            media_id,
            ..
        } => vec![
            ("title", title.as_str(), MAX_LINK_TITLE_BYTES),
            ("url", url.as_str(), MAX_URL_BYTES),
            ("desc", desc.as_deref().unwrap_or(""), MAX_LINK_DESC_BYTES),
            ("picurl", picurl.as_deref().unwrap_or(""), MAX_URL_BYTES),
            (
                "media_id",
                media_id.as_deref().unwrap_or(""),
                MAX_MEDIA_ID_BYTES,
            ),
        ],
        Attachment::Video { media_id } | Attachment::File { media_id } => {
            vec![("media_id", media_id.as_str(), MAX_MEDIA_ID_BYTES)]
        }
        Attachment::Miniprogram {
            title,
            appid,
            page,
            pic_media_id,
        } => vec![
            ("title", title.as_str(), MAX_MINIPROGRAM_TITLE_BYTES),
            ("appid", appid.as_str(), MAX_APPID_BYTES),
            ("page", page.as_str(), MAX_PAGE_BYTES),
            ("pic_media_id", pic_media_id.as_str(), MAX_MEDIA_ID_BYTES),
        ],
        Attachment::Material { material_id } => {
            vec![("material_id", material_id.as_str(), MAX_MATERIAL_ID_BYTES)]
        }
    }
}

/// One attachment, on the wire `{"kind": "image", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Attachment {
    /// An image: an uploaded `media_id` or a public `pic_url` (moments need a `media_id`).
    Image {
        /// From WeCom's media upload.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_id: Option<String>,
        /// A public picture URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pic_url: Option<String>,
    },
    /// A link card.
    Link {
        /// Title.
        title: String,
        /// Target URL.
        url: String,
        /// Description (mass messages).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        desc: Option<String>,
        /// Cover picture URL (mass messages).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        picurl: Option<String>,
        /// Cover image media id (moments need it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_id: Option<String>,
        /// Sent as a tracked short link of the plan, occurrence and sending member (clicks
        /// counted for them; the member told of a known customer's click).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        track: bool,
    },
    /// A video by media id.
    Video {
        /// From WeCom's media upload.
        media_id: String,
    },
    /// A mini-program card.
    Miniprogram {
        /// Title (≤64 bytes).
        title: String,
        /// The mini-program's appid.
        appid: String,
        /// Page path.
        page: String,
        /// Cover media id.
        pic_media_id: String,
    },
    /// A file by media id.
    File {
        /// From WeCom's media upload.
        media_id: String,
    },
    /// A material of the content center, made sendable when it is sent (its WeCom media
    /// uploaded, or uploaded again before WeCom's three days pass).
    Material {
        /// The material's id.
        material_id: String,
    },
}

impl Attachment {
    /// The wire name of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Attachment::Image { .. } => "image",
            Attachment::Link { .. } => "link",
            Attachment::Video { .. } => "video",
            Attachment::Miniprogram { .. } => "miniprogram",
            Attachment::File { .. } => "file",
            Attachment::Material { .. } => "material",
        }
    }
}

/// Text and attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Content {
    /// The text (may be empty when there are attachments).
    #[serde(default)]
    pub text: String,
    /// Up to 9 attachments.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// Where content goes, which decides what it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentUse {
    /// A message to groups or customers (mass message): image, link, video, mini-program,
    /// file.
    Message,
    /// A moments post: up to 9 images, or one link, or one video (image+text,
    /// image+text+link, text+video).
    Moments,
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

impl Content {
    /// The ids of the materials the content refers to, in order, each once.
    pub fn material_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for a in &self.attachments {
            if let Attachment::Material { material_id } = a {
                if !ids.contains(material_id) {
                    ids.push(material_id.clone());
                }
            }
        }
        ids
    }

    /// Problems as `(field, message)`, `field` prefixed by `at`.
    pub fn problems(&self, at: &str, usage: ContentUse) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |f: &str, m: String| out.push((format!("{at}{f}"), m));
        if self.text.trim().is_empty() && self.attachments.is_empty() {
            push("", "content needs text or at least one attachment".into());
        }
        if self.attachments.len() > MAX_ATTACHMENTS {
            push(
                ".attachments",
                format!(
                    "{} attachments; at most {MAX_ATTACHMENTS} are allowed",
                    self.attachments.len()
                ),
            );
        }
        match usage {
            ContentUse::Message => {
                if self.text.len() > MAX_TEXT_BYTES {
                    push(
                        ".text",
                        format!(
                            "text is {} bytes; at most {MAX_TEXT_BYTES} are allowed",
                            self.text.len()
                        ),
                    );
                }
            }
            ContentUse::Moments => {
                let chars = self.text.chars().count();
                if chars > MAX_MOMENT_TEXT_CHARS {
                    push(
                        ".text",
                        format!(
                            "moments text is {chars} characters; at most {MAX_MOMENT_TEXT_CHARS} are allowed"
                        ),
                    );
                }
            }
        }
        for (i, a) in self.attachments.iter().enumerate() {
            let f = format!(".attachments[{i}]");
            for (name, value, max) in bounded_fields(a) {
                if value.len() > max {
                    push(
                        &format!("{f}.{name}"),
                        format!("{name} is {} bytes; at most {max} are allowed", value.len()),
                    );
                }
            }
            match (a, usage) {
                (Attachment::Image { media_id, pic_url }, ContentUse::Message) => {
                    if blank(media_id) && blank(pic_url) {
                        push(&f, "an image needs media_id or pic_url".into());
                    }
                }
                (Attachment::Image { media_id, .. }, ContentUse::Moments) => {
                    if blank(media_id) {
                        push(&f, "a moments image needs a media_id".into());
                    }
                }
                (
                    Attachment::Link {
                        title,
                        url,
                        media_id,
                        ..
                    },
                    _,
                ) => {
                    if title.trim().is_empty() || url.trim().is_empty() {
                        push(&f, "a link needs a title and a url".into());
                    }
                    if !url.starts_with("http://") && !url.starts_with("https://") {
                        push(&f, "a link url must start with http:// or https://".into());
                    }
                    if usage == ContentUse::Moments && blank(media_id) {
                        push(&f, "a moments link needs a cover image media_id".into());
                    }
                }
                (Attachment::Video { media_id }, _) | (Attachment::File { media_id }, _) => {
                    if media_id.trim().is_empty() {
                        push(&f, format!("a {} needs a media_id", a.kind()));
                    }
                    if usage == ContentUse::Moments && matches!(a, Attachment::File { .. }) {
                        push(
                            &f,
                            "moments posts take images, a link or a video, not files".into(),
                        );
                    }
                }
                (Attachment::Material { material_id }, _) => {
                    if material_id.trim().is_empty() {
                        push(&f, "a material needs a material_id".into());
                    }
                }
                (
                    Attachment::Miniprogram {
                        title,
                        appid,
                        page,
                        pic_media_id,
                    },
                    usage,
                ) => {
                    if usage == ContentUse::Moments {
                        push(
                            &f,
                            "moments posts take images, a link or a video, not mini-programs"
                                .into(),
                        );
                    }
                    if [title, appid, page, pic_media_id]
                        .iter()
                        .any(|v| v.trim().is_empty())
                    {
                        push(
                            &f,
                            "a mini-program needs title, appid, page and pic_media_id".into(),
                        );
                    }
                }
            }
        }
        if usage == ContentUse::Moments {
            let images = self
                .attachments
                .iter()
                .filter(|a| matches!(a, Attachment::Image { .. }))
                .count();
            // A material's kind is checked when it is resolved, not here.
            let materials = self
                .attachments
                .iter()
                .filter(|a| matches!(a, Attachment::Material { .. }))
                .count();
            let others = self.attachments.len() - images - materials;
            if !(others == 0 || (images == 0 && others == 1)) {
                push(
                    ".attachments",
                    "a moments post takes up to 9 images, or one link, or one video, not a mix"
                        .into(),
                );
            }
        }
        out
    }

    /// The content with each link marked `track` replaced by its tracked short link in
    /// `context` (the same short link on every call in the same context, so a resend sends
    /// the very same message); a link that cannot be tracked goes as it is.
    pub async fn with_tracked_links(
        mut self,
        tracker: &dyn LinkTracker,
        tenant: &Tenant,
        context: &SendContext,
        now: DateTime<Utc>,
    ) -> Content {
        for a in &mut self.attachments {
            if let Attachment::Link {
                title,
                url,
                track: true,
                ..
            } = a
            {
                let target = Target { url, title };
                if let Some(short) = tracker.track(tenant, target, context.clone(), now).await {
                    *url = short;
                }
            }
        }
        self
    }

    /// The content as a WeCom mass message's text and attachments.
    pub fn to_wecom_message(&self) -> (Option<TextContent>, Vec<WeComAttachment>) {
        let text = (!self.text.trim().is_empty()).then(|| TextContent {
            content: self.text.clone(),
        });
        let attachments = self
            .attachments
            .iter()
            .filter_map(|a| match a.clone() {
                // Resolved before sending (`content::MaterialResolver`); never sent raw.
                Attachment::Material { .. } => None,
                Attachment::Image { media_id, pic_url } => Some(WeComAttachment::Image {
                    image: ImageAttachment { media_id, pic_url },
                }),
                Attachment::Link {
                    title,
                    url,
                    desc,
                    picurl,
                    ..
                } => Some(WeComAttachment::Link {
                    link: LinkAttachment {
                        title,
                        picurl,
                        desc,
                        url,
                    },
                }),
                Attachment::Video { media_id } => Some(WeComAttachment::Video {
                    video: MediaAttachment { media_id },
                }),
                Attachment::File { media_id } => Some(WeComAttachment::File {
                    file: MediaAttachment { media_id },
                }),
                Attachment::Miniprogram {
                    title,
                    appid,
                    page,
                    pic_media_id,
                } => Some(WeComAttachment::Miniprogram {
                    miniprogram: MiniprogramAttachment {
                        title,
                        pic_media_id,
                        appid,
                        page,
                    },
                }),
            })
            .collect();
        (text, attachments)
    }

    /// The content as a WeCom moments post's text and attachments (validated content only;
    /// kinds moments cannot carry are left out).
    pub fn to_wecom_moment(&self) -> (Option<TextContent>, Vec<MomentAttachment>) {
        let text = (!self.text.trim().is_empty()).then(|| TextContent {
            content: self.text.clone(),
        });
        let attachments = self
            .attachments
            .iter()
            .filter_map(|a| match a.clone() {
                Attachment::Image { media_id, .. } => Some(MomentAttachment::Image {
                    image: MediaAttachment {
                        media_id: media_id.unwrap_or_default(),
                    },
                }),
                Attachment::Link {
                    title,
                    url,
                    media_id,
                    ..
                } => Some(MomentAttachment::Link {
                    link: MomentLink {
                        title,
                        url,
                        media_id: media_id.unwrap_or_default(),
                    },
                }),
                Attachment::Video { media_id } => Some(MomentAttachment::Video {
                    video: MediaAttachment { media_id },
                }),
                Attachment::File { .. }
                | Attachment::Miniprogram { .. }
                | Attachment::Material { .. } => None,
            })
            .collect();
        (text, attachments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Attachment {
        Attachment::Image {
            media_id: Some("m".into()),
            pic_url: None,
        }
    }

    #[test]
    fn more_than_nine_attachments_are_refused() {
        let c = Content {
            text: "hi".into(),
            attachments: vec![image(); 10],
        };
        let p = c.problems("content", ContentUse::Message);
        assert!(p
            .iter()
            .any(|(f, m)| f == "content.attachments" && m.contains("at most 9")));
        let ok = Content {
            text: "hi".into(),
            attachments: vec![image(); 9],
        };
        assert!(ok.problems("content", ContentUse::Message).is_empty());
    }

    #[test]
    fn moments_take_images_or_one_link_or_one_video() {
        let video = Attachment::Video {
            media_id: "v".into(),
        };
        let mixed = Content {
            text: "x".into(),
            attachments: vec![image(), video.clone()],
        };
        assert!(!mixed.problems("c", ContentUse::Moments).is_empty());
        let text_video = Content {
            text: "x".into(),
            attachments: vec![video],
        };
        assert!(text_video.problems("c", ContentUse::Moments).is_empty());
        let file = Content {
            text: "x".into(),
            attachments: vec![Attachment::File {
                media_id: "f".into(),
            }],
        };
        assert!(file.problems("c", ContentUse::Moments)[0]
            .1
            .contains("not files"));
        assert!(file.problems("c", ContentUse::Message).is_empty());
        let url_image = Content {
            text: String::new(),
            attachments: vec![Attachment::Image {
                media_id: None,
                pic_url: Some("https://x/p.png".into()),
            }],
        };
        assert!(url_image.problems("c", ContentUse::Message).is_empty());
        assert!(!url_image.problems("c", ContentUse::Moments).is_empty());
    }

    #[test]
    fn empty_content_is_refused() {
        let p = Content::default().problems("content", ContentUse::Message);
        assert_eq!(p[0].0, "content");
    }
}
