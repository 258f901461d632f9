//! The corp tag mirror (企业客户标签): tag groups and tags as WeCom holds them, kept current
//! from `change_external_tag` callbacks and `get_corp_tag_list`, so that a follow
//! relation's tag ids can be named and tag rules can refer to tags by name.
//!
//! Items live in the directory table under `{corp}#TAGS`: `GROUP#{group_id}` per tag group,
//! `TAG#{tag_id}` per tag, and `META` (when the mirror was last fully synced, and whether a
//! change could not be fetched and a re-sync is needed). Deleted tags are kept, flagged.
use crate::contacts::expr::Update;
use crate::contacts::source::DirectorySource;
use crate::store::ext::{n, s, AttrMap, ItemExt};
use crate::store::{Db, StoreError};
use crate::tenants::TenantId;
use crate::wecom::api::{CorpCredentials, CorpTagGroup, WeComError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::future::Future;

const GROUP: &str = "GROUP#";
const TAG: &str = "TAG#";
const META: &str = "META";

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

/// Reads and writes the tag mirror.
pub trait TagMirror: Send + Sync {
    /// Upserts tag groups and the tags they carry (others are left alone).
    fn put_tag_groups(
        &self,
        t: &TenantId,
        groups: &[CorpTagGroup],
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Flags a tag, or a group and all its tags, deleted.
    fn mark_deleted(
        &self,
        t: &TenantId,
        id: &str,
        kind: TagKind,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// After a full read: flags deleted everything not in `groups` (when `only_group` is
    /// given, only within that group), and records the sync.
    fn mark_absent_deleted(
        &self,
        t: &TenantId,
        groups: &[CorpTagGroup],
        only_group: Option<&str>,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Flags the mirror stale (a change could not be fetched).
    fn mark_stale(
        &self,
        t: &TenantId,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every group with its tags, deleted ones included, larger order first.
    fn tag_groups(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<Vec<CorpTagGroupView>, StoreError>> + Send;
    /// The mirror's state.
    fn mirror_state(
        &self,
        t: &TenantId,
    ) -> impl Future<Output = Result<TagMirrorState, StoreError>> + Send;
}

/// The DynamoDB adapter of the tag mirror (directory table).
#[derive(Debug, Clone)]
pub struct DynamoTags {
    db: Db,
}

impl DynamoTags {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn update(&self, pk: String, sk: String, u: Update) -> Result<(), StoreError> {
        self.db
            .client
            .update_item()
            .table_name(&self.db.tables.directory)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(u.expression())
            .set_expression_attribute_names(Some(u.names))
            .set_expression_attribute_values(Some(u.values))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    async fn items(&self, t: &TenantId) -> Result<Vec<AttrMap>, StoreError> {
        self.db
            .client
            .query()
            .table_name(&self.db.tables.directory)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(tags_pk(t)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|r| r.map_err(StoreError::from_sdk))
            .collect()
    }

    async fn set_deleted(&self, t: &TenantId, sk: String, at: i64) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("deleted", AttributeValue::Bool(true))
            .set("updated_at", n(at));
        self.update(tags_pk(t), sk, u).await
    }
}

impl TagMirror for DynamoTags {
    async fn put_tag_groups(
        &self,
        t: &TenantId,
        groups: &[CorpTagGroup],
        at: i64,
    ) -> Result<(), StoreError> {
        for g in groups {
            let mut u = Update::new();
            u.set("group_id", s(&g.group_id))
                .set("group_name", s(&g.group_name))
                .set("order", n(g.order))
                .set("create_time", n(g.create_time))
                .set("deleted", AttributeValue::Bool(g.deleted))
                .set("updated_at", n(at));
            self.update(tags_pk(t), format!("{GROUP}{}", g.group_id), u)
                .await?;
            for tag in &g.tag {
                let mut u = Update::new();
                u.set("group_id", s(&g.group_id))
                    .set("id", s(&tag.id))
                    .set("name", s(&tag.name))
                    .set("order", n(tag.order))
                    .set("create_time", n(tag.create_time))
                    .set("deleted", AttributeValue::Bool(tag.deleted || g.deleted))
                    .set("updated_at", n(at));
                self.update(tags_pk(t), format!("{TAG}{}", tag.id), u)
                    .await?;
            }
        }
        Ok(())
    }

    async fn mark_deleted(
        &self,
        t: &TenantId,
        id: &str,
        kind: TagKind,
        at: i64,
    ) -> Result<(), StoreError> {
        match kind {
            TagKind::Tag => self.set_deleted(t, format!("{TAG}{id}"), at).await,
            TagKind::Group => {
                self.set_deleted(t, format!("{GROUP}{id}"), at).await?;
                for item in self.items(t).await? {
                    if item.s_opt("sk").is_some_and(|sk| sk.starts_with(TAG))
                        && item.s_opt("group_id") == Some(id)
                    {
                        self.set_deleted(t, item.s("sk")?.to_string(), at).await?;
                    }
                }
                Ok(())
            }
        }
    }

    async fn mark_absent_deleted(
        &self,
        t: &TenantId,
        groups: &[CorpTagGroup],
        only_group: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut present: HashSet<String> = HashSet::new();
        for g in groups {
            present.insert(format!("{GROUP}{}", g.group_id));
            for tag in &g.tag {
                present.insert(format!("{TAG}{}", tag.id));
            }
        }
        for item in self.items(t).await? {
            let sk = item.s("sk")?;
            let in_scope = match only_group {
                Some(gid) => sk.starts_with(TAG) && item.s_opt("group_id") == Some(gid),
                None => sk.starts_with(TAG) || sk.starts_with(GROUP),
            };
            if in_scope && !present.contains(sk) && !item.bool_opt("deleted").unwrap_or(false) {
                self.set_deleted(t, sk.to_string(), at).await?;
            }
        }
        if only_group.is_none() {
            let mut u = Update::new();
            u.set("synced_at", n(at))
                .set("stale", AttributeValue::Bool(false));
            self.update(tags_pk(t), META.to_string(), u).await?;
        }
        Ok(())
    }

    async fn mark_stale(&self, t: &TenantId, at: i64) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("stale", AttributeValue::Bool(true))
            .set("stale_at", n(at));
        self.update(tags_pk(t), META.to_string(), u).await
    }

    async fn tag_groups(&self, t: &TenantId) -> Result<Vec<CorpTagGroupView>, StoreError> {
        let items = self.items(t).await?;
        let mut groups: HashMap<String, CorpTagGroupView> = HashMap::new();
        let mut tags: Vec<(String, CorpTagView)> = Vec::new();
        for item in &items {
            let sk = item.s("sk")?;
            if sk.starts_with(GROUP) {
                let view = CorpTagGroupView {
                    group_id: item.s("group_id")?.to_string(),
                    group_name: item.s("group_name")?.to_string(),
                    order: item.n_opt("order")?.unwrap_or(0),
                    create_time: item.n_opt("create_time")?.unwrap_or(0),
                    deleted: item.bool_opt("deleted").unwrap_or(false),
                    tags: Vec::new(),
                };
                groups.insert(view.group_id.clone(), view);
            } else if sk.starts_with(TAG) {
                tags.push((
                    item.s("group_id")?.to_string(),
                    CorpTagView {
                        id: item.s("id")?.to_string(),
                        name: item.s("name")?.to_string(),
                        order: item.n_opt("order")?.unwrap_or(0),
                        create_time: item.n_opt("create_time")?.unwrap_or(0),
                        deleted: item.bool_opt("deleted").unwrap_or(false),
                    },
                ));
            }
        }
        for (gid, tag) in tags {
            if let Some(g) = groups.get_mut(&gid) {
                g.tags.push(tag);
            }
        }
        let mut out: Vec<CorpTagGroupView> = groups.into_values().collect();
        for g in &mut out {
            g.tags
                .sort_by(|a, b| b.order.cmp(&a.order).then(a.id.cmp(&b.id)));
        }
        out.sort_by(|a, b| b.order.cmp(&a.order).then(a.group_id.cmp(&b.group_id)));
        Ok(out)
    }

    async fn mirror_state(&self, t: &TenantId) -> Result<TagMirrorState, StoreError> {
        let out = self
            .db
            .client
            .get_item()
            .table_name(&self.db.tables.directory)
            .key("pk", s(tags_pk(t)))
            .key("sk", s(META))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(match out.item {
            Some(item) => TagMirrorState {
                synced_at: item.n_opt("synced_at")?,
                stale: item.bool_opt("stale").unwrap_or(false),
            },
            None => TagMirrorState {
                synced_at: None,
                stale: false,
            },
        })
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
