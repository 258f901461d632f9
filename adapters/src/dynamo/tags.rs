//! The corp tag mirror (企业客户标签): tag groups and tags as WeCom holds them, kept current
//! from `change_external_tag` callbacks and `get_corp_tag_list`, so that a follow
//! relation's tag ids can be named and tag rules can refer to tags by name.
//!
//! Items live in the directory table under `{corp}#TAGS`: `GROUP#{group_id}` per tag group,
//! `TAG#{tag_id}` per tag, and `META` (when the mirror was last fully synced, and whether a
//! change could not be fetched and a re-sync is needed). Deleted tags are kept, flagged.
use crate::dynamo::item::{n, s, AttrMap, ItemExt};
use crate::dynamo::schema::SK;
use crate::dynamo::{Db, Query, StoreError, Table, Update};
use aws_sdk_dynamodb::types::AttributeValue;
use scrm_core::tags::*;
use scrm_core::tenants::TenantId;
use scrm_core::wecom::api::CorpTagGroup;
use std::collections::{HashMap, HashSet};

const GROUP: &str = "GROUP#";
const TAG: &str = "TAG#";
const META: &str = "META";

/// The DynamoDB adapter of the tag mirror (directory table).
#[derive(Debug, Clone)]
pub struct DynamoTags {
    table: Table,
}

impl DynamoTags {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self {
            table: db.directory(),
        }
    }

    async fn update(&self, pk: String, sk: String, u: Update) -> Result<(), StoreError> {
        self.table.update(pk, sk, &u).await?;
        Ok(())
    }

    async fn items(&self, t: &TenantId) -> Result<Vec<AttrMap>, StoreError> {
        self.table
            .query_all(Query::partition(tags_pk(t)).consistent())
            .await
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
                    if item.s_opt(SK).is_some_and(|sk| sk.starts_with(TAG))
                        && item.s_opt("group_id") == Some(id)
                    {
                        self.set_deleted(t, item.s(SK)?.to_string(), at).await?;
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
            let sk = item.s(SK)?;
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
            let sk = item.s(SK)?;
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
        let item = self.table.get_consistent(tags_pk(t), META).await?;
        Ok(match item {
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
