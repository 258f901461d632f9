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
