//! What a welcome refers to outside itself, checked and prepared when it is saved (admin
//! API), so that the 20 s path of an add only reads: the content center's materials exist
//! and are ready, and a channel code's group invite names a group code whose QR WeCom hosts
//! (its picture fetched and uploaded with `media/uploadimg` now, the permanent URL kept on
//! the code).
use super::admin::GrowthError;
use super::model::{problem, CodeInput, Welcome};
use super::ports::{GroupCodeStore, PictureSource};
use crate::content::admin::{record_references, reference_problems};
use crate::content::ports::MediaFile;
use crate::content::{MaterialStore, MediaUploader, UsageKind};
use crate::ports::StoreError;
use crate::tenants::{Tenant, TenantId};

/// The materials a welcome names that do not exist or are not ready, as problems of `field`.
pub async fn material_problems<M: MaterialStore>(
    materials: &M,
    t: &TenantId,
    welcome: Option<&Welcome>,
    field: &str,
) -> Result<(), GrowthError> {
    let Some(w) = welcome else { return Ok(()) };
    let problems = reference_problems(materials, t, field, &w.material_ids()).await?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(GrowthError::Invalid(problems))
    }
}

/// The welcome's materials recorded as used by `user` (a channel code's state, or
/// `default`): the content center's usage counts, and a material in use is not deleted.
pub async fn record_usage<M: MaterialStore>(
    materials: &M,
    t: &TenantId,
    user: &str,
    welcome: Option<&Welcome>,
) -> Result<(), StoreError> {
    let ids = welcome.map(Welcome::material_ids).unwrap_or_default();
    record_references(materials, t, UsageKind::Welcome, user, &ids).await
}

/// A channel code's group invite made sendable: the group code exists and has its QR, and
/// the QR's picture is uploaded to WeCom (`media/uploadimg`, a URL that never expires).
/// `None` without an invite. A group code or QR that cannot be had is a problem of the
/// input; WeCom failing the upload is [`GrowthError::Unavailable`] or `Refused`.
pub async fn invite_picture<G, P, U>(
    groups: &G,
    pictures: &P,
    uploader: &U,
    tenant: &Tenant,
    input: &CodeInput,
) -> Result<Option<String>, GrowthError>
where
    G: GroupCodeStore,
    P: PictureSource,
    U: MediaUploader,
{
    let Some(state) = input.group_invite.as_deref() else {
        return Ok(None);
    };
    let invalid = |m: &str| GrowthError::Invalid(vec![problem("group_invite", m)]);
    let code = groups
        .group_code(&tenant.id, state)
        .await?
        .ok_or_else(|| invalid("no such group code"))?;
    let qr = code
        .qr_code
        .ok_or_else(|| invalid("the group code has no QR yet: finish creating it first"))?;
    let picture = pictures
        .picture(&qr)
        .await
        .ok_or_else(|| invalid("the group code's QR picture could not be fetched"))?;
    let name = match picture.content_type.as_str() {
        "image/jpeg" => "group-invite.jpg",
        _ => "group-invite.png",
    };
    let url = uploader
        .upload_image(
            tenant,
            MediaFile {
                name,
                content_type: &picture.content_type,
                bytes: &picture.bytes,
            },
        )
        .await?;
    Ok(Some(url))
}
