//! The corp tag mirror (企业客户标签): tag groups and tags as WeCom holds them, kept current
//! from `change_external_tag` callbacks and `get_corp_tag_list`, so that a follow
//! relation's tag ids can be named and tag rules can refer to tags by name.
//!
//! Items live in the directory table under `{corp}#TAGS`: `GROUP#{group_id}` per tag group,
//! `TAG#{tag_id}` per tag, and `META` (when the mirror was last fully synced, and whether a
//! change could not be fetched and a re-sync is needed). Deleted tags are kept, flagged.
//!
//! [`edit`]: a staff member adds and removes corp tags on a customer (the customer sidebar),
//! through WeCom's `mark_tag` and then the directory's copy of the follow relation.
pub mod edit;
pub mod ports;

pub use ports::{FollowTags, StoredFollowTags, TagMarking, TagMirror};

use crate::contacts::source::DirectorySource;
use crate::ports::StoreError;
use crate::tenants::TenantId;
use crate::wecom::api::{CorpCredentials, CorpTagGroup, WeComError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;

/// The partition of a tenant's tag mirror.
pub fn tags_pk(t: &TenantId) -> String {
    format!("{t}#TAGS")
}

/// A corp tag as mirrored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpTagView {
    /// Tag id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Sort order (larger first).
    pub order: i64,
    /// Creation time (epoch seconds).
    pub create_time: i64,
    /// Whether WeCom deleted it.
    pub deleted: bool,
}

/// A corp tag group with its tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpTagGroupView {
    /// Group id.
    pub group_id: String,
    /// Name.
    pub group_name: String,
    /// Sort order (larger first).
    pub order: i64,
    /// Creation time (epoch seconds).
    pub create_time: i64,
    /// Whether WeCom deleted it.
    pub deleted: bool,
    /// Its tags, larger order first.
    pub tags: Vec<CorpTagView>,
}

/// The mirror's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagMirrorState {
    /// When the whole library was last read from WeCom (epoch seconds).
    pub synced_at: Option<i64>,
    /// Whether a change could not be fetched: a re-sync will read the library again.
    pub stale: bool,
}

/// What a tag or tag group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// A tag.
    Tag,
    /// A tag group.
    Group,
}

impl TagKind {
    /// WeCom's `TagType` (`tag`, `tag_group`); anything else is a tag.
    pub fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("tag_group") => TagKind::Group,
            _ => TagKind::Tag,
        }
    }
}

/// Tag id → (group name, tag name), for naming the tag ids `batch/get_by_user` returns.
pub fn tag_names(groups: &[CorpTagGroupView]) -> HashMap<String, (String, String)> {
    groups
        .iter()
        .flat_map(|g| {
            g.tags
                .iter()
                .map(move |t| (t.id.clone(), (g.group_name.clone(), t.name.clone())))
        })
        .collect()
}

/// A `change_external_tag` change, as the callback tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    /// `create`, `update`, `delete` or `shuffle` (others are refetched like `update`).
    pub change: String,
    /// Tag or group id (empty on a shuffle of every group).
    pub id: String,
    /// Tag or group.
    pub kind: TagKind,
}

/// How applying a tag change went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagApplied {
    /// The mirror holds the change.
    Applied,
    /// WeCom could not be asked; the mirror is flagged stale for the next re-sync.
    Stale,
}

/// Reads the whole tag library from WeCom into the mirror (re-sync, shuffle of all groups).
pub async fn sync_all<M: TagMirror, S: DirectorySource>(
    mirror: &M,
    source: &S,
    creds: &CorpCredentials,
    t: &TenantId,
    at: i64,
) -> Result<usize, SyncError> {
    let groups = source.corp_tags(creds, &[], &[]).await?;
    mirror.put_tag_groups(t, &groups, at).await?;
    mirror.mark_absent_deleted(t, &groups, None, at).await?;
    Ok(groups.iter().map(|g| g.tag.len()).sum())
}

/// A tag sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// WeCom failed.
    #[error(transparent)]
    WeCom(#[from] WeComError),
    /// The mirror could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies a `change_external_tag` callback: deletions directly, everything else by reading
/// the changed tag or group from WeCom (the callback carries only the id). `fetch` bounds
/// the WeCom read; when WeCom is unavailable the mirror is flagged stale and the callback
/// still succeeds.
pub async fn apply_change<M, F, Fut>(
    mirror: &M,
    t: &TenantId,
    change: &TagChange,
    at: i64,
    fetch: F,
) -> Result<TagApplied, StoreError>
where
    M: TagMirror,
    F: FnOnce(Vec<String>, Vec<String>) -> Fut,
    Fut: Future<Output = Option<Vec<CorpTagGroup>>>,
{
    if change.change == "delete" {
        mirror.mark_deleted(t, &change.id, change.kind, at).await?;
        return Ok(TagApplied::Applied);
    }
    let (tag_ids, group_ids) = match (change.kind, change.id.is_empty()) {
        (_, true) => (Vec::new(), Vec::new()),
        (TagKind::Tag, false) if change.change != "shuffle" => {
            (vec![change.id.clone()], Vec::new())
        }
        // A shuffle names the group whose tags were reordered.
        _ => (Vec::new(), vec![change.id.clone()]),
    };
    let whole = tag_ids.is_empty() && group_ids.is_empty();
    let only_group = group_ids.first().cloned();
    match fetch(tag_ids, group_ids).await {
        Some(groups) => {
            mirror.put_tag_groups(t, &groups, at).await?;
            if whole {
                mirror.mark_absent_deleted(t, &groups, None, at).await?;
            } else if let Some(gid) = only_group.filter(|_| !groups.is_empty()) {
                mirror
                    .mark_absent_deleted(t, &groups, Some(&gid), at)
                    .await?;
            }
            Ok(TagApplied::Applied)
        }
        None => {
            mirror.mark_stale(t, at).await?;
            Ok(TagApplied::Stale)
        }
    }
}
