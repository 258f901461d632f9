//! WeCom's media uploads, faked: `media/upload` (temporary media, `type` image, voice,
//! video or file), `media/uploadimg` (permanent picture URLs) and `media/upload_attachment`
//! (moments attachments), multipart with the file in the part `media`, with WeCom's size
//! and type limits and errcodes (40004 invalid media type, 40005 invalid file type, 40006
//! invalid file size). Temporary media ids expire three days after their upload by the
//! fake's clock ([`super::FakeWeCom::set_now`]), and the message APIs that take media ids
//! refuse an unknown or expired one with 40007, as WeCom does.
use super::model::State;
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{json, Value};
use std::collections::HashMap;

/// How long WeCom keeps temporary media.
pub(super) const MEDIA_SECS: i64 = 3 * 86_400;
/// WeCom's "invalid media_id".
pub(super) const INVALID_MEDIA_ID: i64 = 40007;

/// One uploaded medium.
#[derive(Debug, Clone)]
pub struct FakeMedia {
    /// The corp that uploaded it.
    pub corp_id: String,
    /// `image`, `voice`, `video` or `file`.
    pub kind: String,
    /// Whether it came from `media/upload_attachment` (moments) rather than `media/upload`.
    pub attachment: bool,
    /// When it was uploaded (the fake's clock, epoch s).
    pub created_at: i64,
    /// Its size in bytes.
    pub size: usize,
}

/// The paths served here (multipart bodies, not JSON).
pub(super) fn is_media_path(path: &str) -> bool {
    use scrm_core::wecom::api::paths;
    [
        paths::MEDIA_UPLOAD,
        paths::MEDIA_UPLOADIMG,
        paths::MEDIA_UPLOAD_ATTACHMENT,
    ]
    .contains(&path)
}

/// The file part of a multipart body: (file name, content type, bytes).
fn file_part(headers: &HeaderMap, body: &[u8]) -> Option<(String, String, Vec<u8>)> {
    let ct = headers.get("content-type")?.to_str().ok()?;
    let boundary = ct.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let mut at = find(body, d, 0)?;
    loop {
        let start = at + d.len();
        let next = find(body, d, start)?;
        let part = &body[start..next];
        let head_end = find(part, b"\r\n\r\n", 0)?;
        let head = String::from_utf8_lossy(&part[..head_end]).to_string();
        if head.contains("name=\"media\"") {
            let mut data = &part[head_end + 4..];
            if data.ends_with(b"\r\n") {
                data = &data[..data.len() - 2];
            }
            let filename = head
                .split("filename=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string();
            let content_type = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-type:")
                        .map(|v| v.trim().to_string())
                })
                .unwrap_or_default();
            return Some((filename, content_type, data.to_vec()));
        }
        at = next;
    }
}

/// WeCom's limits per media type: the largest size and the accepted file types.
fn limits(kind: &str) -> Option<(usize, &'static [&'static str])> {
    match kind {
        "image" => Some((10 * 1024 * 1024, &["image/jpeg", "image/png"])),
        "voice" => Some((2 * 1024 * 1024, &["audio/amr"])),
        "video" => Some((10 * 1024 * 1024, &["video/mp4"])),
        "file" => Some((20 * 1024 * 1024, &[])),
        _ => None,
    }
}

impl State {
    /// One upload: the answer's fields, or WeCom's errcode.
    pub(super) fn media_upload(
        &mut self,
        corp_id: &str,
        path: &str,
        query: &HashMap<String, String>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Value, (i64, String)> {
        use scrm_core::wecom::api::paths;
        let Some((_name, content_type, bytes)) = file_part(headers, body) else {
            return Err((44001, "empty media data".into()));
        };
        let kind = match path {
            p if p == paths::MEDIA_UPLOADIMG => "image",
            p if p == paths::MEDIA_UPLOAD_ATTACHMENT => {
                if query.get("attachment_type").map(String::as_str) != Some("1")
                    && query.get("attachment_type").map(String::as_str) != Some("2")
                {
                    return Err((40004, "invalid attachment_type".into()));
                }
                query.get("media_type").map(String::as_str).unwrap_or("")
            }
            _ => query.get("type").map(String::as_str).unwrap_or(""),
        };
        let Some((mut max, types)) = limits(kind) else {
            return Err((40004, "invalid media type".into()));
        };
        if path == paths::MEDIA_UPLOADIMG {
            max = 2 * 1024 * 1024;
        }
        if !types.is_empty() && !types.contains(&content_type.as_str()) {
            return Err((40005, "invalid file type".into()));
        }
        if bytes.len() <= 5 || bytes.len() > max {
            return Err((40006, "invalid file size".into()));
        }
        let seq = self.next_seq();
        let now = self.now_secs();
        if path == paths::MEDIA_UPLOADIMG {
            let base = self.public_base.clone();
            let ext = if content_type == "image/jpeg" {
                "jpg"
            } else {
                "png"
            };
            self.pictures
                .insert(seq, (content_type.clone(), bytes.to_vec()));
            return Ok(json!({ "url": format!("{base}/_fake/pic/{seq}.{ext}") }));
        }
        let media_id = format!("3{}_{seq}", super::handlers::random_hex(16));
        self.media.insert(
            media_id.clone(),
            FakeMedia {
                corp_id: corp_id.to_string(),
                kind: kind.to_string(),
                attachment: path == paths::MEDIA_UPLOAD_ATTACHMENT,
                created_at: now,
                size: bytes.len(),
            },
        );
        Ok(json!({ "type": kind, "media_id": media_id, "created_at": now.to_string() }))
    }

    /// Refuses (40007) a message whose attachments name a media id this corp never
    /// uploaded, of another kind, or older than three days. Moments take only
    /// `upload_attachment` ids; messages only `media/upload` ones.
    pub(super) fn check_media_ids(
        &self,
        corp_id: &str,
        body: &Value,
        moments: bool,
    ) -> Result<(), (i64, String)> {
        let now = self.now_secs();
        let Some(attachments) = body.get("attachments").and_then(Value::as_array) else {
            return Ok(());
        };
        for a in attachments {
            let msgtype = a.get("msgtype").and_then(Value::as_str).unwrap_or("");
            let inner = a.get(msgtype);
            let (field, kind) = match msgtype {
                "image" => ("media_id", "image"),
                "video" => ("media_id", "video"),
                "file" => ("media_id", "file"),
                "miniprogram" => ("pic_media_id", "image"),
                "link" if moments => ("media_id", "image"),
                _ => continue,
            };
            let Some(id) = inner.and_then(|i| i.get(field)).and_then(Value::as_str) else {
                continue;
            };
            let ok = self.media.get(id).is_some_and(|m| {
                m.corp_id == corp_id
                    && m.kind == kind
                    && m.attachment == moments
                    && now - m.created_at < MEDIA_SECS
            });
            if !ok {
                return Err((INVALID_MEDIA_ID, format!("invalid media_id {id}")));
            }
        }
        Ok(())
    }
}

/// The route of a picture uploaded with `media/uploadimg` (the `url` it answered).
pub(super) const PICTURE: &str = "/_fake/pic/{name}";

/// Serves an uploaded picture, as WeCom's CDN serves the permanent URLs (404 when unknown).
pub(super) async fn picture(
    axum::extract::State(state): axum::extract::State<super::Shared>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let seq = name.split('.').next().and_then(|s| s.parse::<u64>().ok());
    let found = seq.and_then(|seq| super::lock(&state).pictures.get(&seq).cloned());
    match found {
        Some((content_type, bytes)) => {
            ([(axum::http::header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}
