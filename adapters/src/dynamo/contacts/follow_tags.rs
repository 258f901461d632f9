//! A follow relation's tags, edited after WeCom's `mark_tag` (the tag port
//! [`FollowTags`]): the stored JSON text of the tags is the concurrency token, so an edit
//! replaces exactly the tags it read.
use super::{keys, DynamoDirectory, CONTENT_HASH};
use crate::dynamo::item::{self, n, s, ItemExt};
use crate::dynamo::update::item_exists;
use crate::dynamo::{StoreError, Update};
use scrm_core::contacts::RelationTag;
use scrm_core::tags::{FollowTags, StoredFollowTags};
use scrm_core::tenants::TenantId;

impl FollowTags for DynamoDirectory {
    async fn follow_tags(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
    ) -> Result<Option<StoredFollowTags>, StoreError> {
        let Some(relation) = self
            .get(
                keys::customer_pk(t, external_userid),
                &keys::follow_sk(userid),
            )
            .await?
        else {
            return Ok(None);
        };
        let raw = relation.s_opt("tags").map(str::to_string);
        let tags = match raw {
            Some(_) => relation.json("tags")?,
            None => Vec::new(),
        };
        Ok(Some(StoredFollowTags { tags, raw }))
    }

    async fn replace_follow_tags(
        &self,
        t: &TenantId,
        external_userid: &str,
        userid: &str,
        read: &StoredFollowTags,
        tags: &[RelationTag],
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        // The relation no longer holds what WeCom's detail said: the next re-sync writes it.
        u.set("tags", item::json(&tags))
            .set("updated_at", n(at))
            .remove(CONTENT_HASH);
        let attr = u.name("tags");
        let unchanged = match &read.raw {
            Some(raw) => {
                u.value(":read_tags", s(raw));
                format!("{attr} = :read_tags")
            }
            None => format!("attribute_not_exists({attr})"),
        };
        // Only an existing relation: an edit never creates one.
        u.when(format!("{} AND {unchanged}", item_exists()));
        self.update(
            keys::customer_pk(t, external_userid),
            keys::follow_sk(userid),
            &u,
        )
        .await
    }
}
