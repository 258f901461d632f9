//! WeCom's media uploads (core's [`MediaUploader`]) with the customer-contact credentials,
//! the ones the mass-message and moments tasks that use the media are created with.
use super::client::Call;
use super::WeComClient;
use chrono::{DateTime, Utc};
use scrm_core::content::ports::{MediaFile, MediaType, MediaUploader, UploadedMedia};
use scrm_core::tenants::Tenant;
use scrm_core::wecom::api::{paths, CorpCredentials, WeComError};
use serde::{Deserialize, Deserializer};

/// WeCom answers `created_at` as a string of epoch seconds; accept a number too.
fn epoch<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

#[derive(Deserialize)]
struct Uploaded {
    media_id: String,
    #[serde(deserialize_with = "epoch")]
    created_at: i64,
}

#[derive(Deserialize)]
struct UploadedImage {
    url: String,
}

fn contact_credentials(tenant: &Tenant) -> CorpCredentials {
    CorpCredentials::new(tenant.id.as_str(), tenant.contact_secret.expose(), None)
        .with_rate_limits(&tenant.settings.wecom_rate_limits)
}

fn uploaded(u: Uploaded) -> UploadedMedia {
    UploadedMedia {
        media_id: u.media_id,
        created_at: DateTime::<Utc>::from_timestamp(u.created_at, 0).unwrap_or_default(),
    }
}

impl MediaUploader for WeComClient {
    async fn upload_image(
        &self,
        tenant: &Tenant,
        file: MediaFile<'_>,
    ) -> Result<String, WeComError> {
        let call = Call::multipart(
            paths::MEDIA_UPLOADIMG,
            Vec::new(),
            file.name,
            file.content_type,
            file.bytes,
        );
        let r: UploadedImage = self.call(&contact_credentials(tenant), &call).await?;
        Ok(r.url)
    }

    async fn upload_media(
        &self,
        tenant: &Tenant,
        kind: MediaType,
        file: MediaFile<'_>,
    ) -> Result<UploadedMedia, WeComError> {
        let call = Call::multipart(
            paths::MEDIA_UPLOAD,
            vec![("type", kind.as_str())],
            file.name,
            file.content_type,
            file.bytes,
        );
        let r: Uploaded = self.call(&contact_credentials(tenant), &call).await?;
        Ok(uploaded(r))
    }

    async fn upload_attachment(
        &self,
        tenant: &Tenant,
        kind: MediaType,
        file: MediaFile<'_>,
    ) -> Result<UploadedMedia, WeComError> {
        // attachment_type 1: moments (2 would be the product album).
        let call = Call::multipart(
            paths::MEDIA_UPLOAD_ATTACHMENT,
            vec![("media_type", kind.as_str()), ("attachment_type", "1")],
            file.name,
            file.content_type,
            file.bytes,
        );
        let r: Uploaded = self.call(&contact_credentials(tenant), &call).await?;
        Ok(uploaded(r))
    }
}
