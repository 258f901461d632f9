//! Resolving a plan's targets against the directory: groups by explicit list, by owner and
//! by group tag; a journey customer's staff contact; which staff members left. The directory is read through the
//! contacts module's own read API ([`DirectoryRead`]); group tags are the SOP module's
//! (WeCom has none on customer groups).
use scrm_core::sop::plan::GroupTargets;
use scrm_core::sop::ports::{GroupDirectory, GroupInfo, GroupTagStore};
use crate::dynamo::DynamoDirectory;
use scrm_core::contacts::{DirectoryRead, Group, RelationStatus, StaffMember};
use crate::dynamo::StoreError;
use scrm_core::tenants::TenantId;
use futures::StreamExt;
use std::collections::{BTreeMap, HashSet};

/// Parallel directory reads per resolution.
const READ_CONCURRENCY: usize = 16;
/// Page size when listing an owner's groups.
const OWNER_PAGE: usize = 500;

fn info(g: Group) -> GroupInfo {
    GroupInfo {
        chat_id: g.chat_id,
        name: g.name,
        owner: g.owner,
        dismissed: g.dismissed,
    }
}

impl GroupDirectory for DynamoDirectory {
    async fn group_info(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> Result<Option<GroupInfo>, StoreError> {
        Ok(self.group_profile(t, chat_id).await?.map(info))
    }

    async fn owner_groups(&self, t: &TenantId, owner: &str) -> Result<Vec<GroupInfo>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .groups(t, Some(owner), after.as_deref(), OWNER_PAGE)
                .await?;
            out.extend(page.items.into_iter().map(info));
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => return Ok(out),
            }
        }
    }

    async fn customer_staff(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> Result<Vec<String>, StoreError> {
        let Some(view) = self.customer(t, external_userid).await? else {
            return Ok(Vec::new());
        };
        let mut follows: Vec<_> = view
            .follow_users
            .into_iter()
            .filter(|f| f.status == RelationStatus::Active)
            .collect();
        follows.sort_by_key(|f| (f.createtime.unwrap_or(i64::MAX), f.userid.clone()));
        Ok(follows.into_iter().map(|f| f.userid).collect())
    }

    async fn departed_staff(
        &self,
        t: &TenantId,
        userids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut wanted: Vec<String> = userids.iter().filter(|u| !u.is_empty()).cloned().collect();
        wanted.sort();
        wanted.dedup();
        let reads = wanted.into_iter().map(|u| {
            let dir = self.clone();
            let t = t.clone();
            async move { dir.staff_member(&t, &u).await }
        });
        let members: Vec<Result<Option<StaffMember>, StoreError>> = futures::stream::iter(reads)
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await;
        let mut out = HashSet::new();
        for m in members {
            if let Some(m) = m? {
                if m.departed() {
                    out.insert(m.userid);
                }
            }
        }
        Ok(out)
    }
}

/// The groups a plan's targets reach now: the explicit groups plus the groups matching the
/// owner and tag condition, without dismissed groups and groups whose owner is unknown,
/// ordered by chat id.
pub async fn resolve_groups<D: GroupDirectory, G: GroupTagStore>(
    dir: &D,
    tags: &G,
    t: &TenantId,
    targets: &GroupTargets,
) -> Result<Vec<GroupInfo>, StoreError> {
    let mut found: BTreeMap<String, GroupInfo> = BTreeMap::new();
    let mut wanted: Vec<String> = targets.chat_ids.clone();
    let tagged: Option<HashSet<String>> = if targets.group_tags.is_empty() {
        None
    } else {
        let mut set = HashSet::new();
        for tag in &targets.group_tags {
            set.extend(tags.tagged_groups(t, tag).await?);
        }
        Some(set)
    };
    if !targets.owners.is_empty() {
        for owner in &targets.owners {
            for g in dir.owner_groups(t, owner).await? {
                if tagged.as_ref().is_none_or(|set| set.contains(&g.chat_id)) {
                    found.insert(g.chat_id.clone(), g);
                }
            }
        }
    } else if let Some(set) = &tagged {
        wanted.extend(set.iter().cloned());
    }
    wanted.retain(|c| !found.contains_key(c));
    wanted.sort();
    wanted.dedup();
    let looked_up: Vec<Result<Option<GroupInfo>, StoreError>> =
        futures::stream::iter(wanted.iter().map(|c| dir.group_info(t, c)))
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await;
    for g in looked_up {
        if let Some(g) = g? {
            found.insert(g.chat_id.clone(), g);
        }
    }
    Ok(found
        .into_values()
        .filter(|g| !g.dismissed && g.owner.as_deref().is_some_and(|o| !o.is_empty()))
        .collect())
}
