//! The tag mirror's port: what the callback effects and the re-sync need from the store of
//! the corp tag library (the DynamoDB adapter is `scrm_adapters::dynamo::DynamoTags`).
use super::*;
use crate::ports::StoreError;
use crate::tenants::TenantId;
use std::future::Future;

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

/// A follow relation's tags as stored, with the stored form they were read in: a write
/// replaces them only if they are still what was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFollowTags {
    /// The tags.
    pub tags: Vec<crate::contacts::RelationTag>,
    /// The store's own form of them as read (its concurrency token; `None`: no tags
    /// stored yet).
    pub raw: Option<String>,
}

/// The directory's copy of a follow relation's tags, edited after WeCom's `mark_tag`
/// (which sends no callback, so the directory would not learn of it otherwise).
pub trait FollowTags: Send + Sync {
    /// The tags of `userid`'s relation with the customer; `None` if there is no relation.
    fn follow_tags(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
    ) -> impl Future<Output = Result<Option<StoredFollowTags>, StoreError>> + Send;
    /// Replaces the relation's tags with `tags` if they are still `read`; `Ok(false)` if
    /// they changed meanwhile (read again and re-apply).
    fn replace_follow_tags(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
        read: &StoredFollowTags,
        tags: &[crate::contacts::RelationTag],
        at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// WeCom's `externalcontact/mark_tag`.
pub trait TagMarking: Send + Sync {
    /// Adds and removes corp tags on one follow relation (WeCom sends no callback).
    fn mark_tag(
        &self,
        creds: &crate::wecom::api::CorpCredentials,
        request: &crate::wecom::api::MarkTag,
    ) -> impl Future<Output = Result<(), crate::wecom::api::WeComError>> + Send;
}
