//! A plan's targets resolved against the directory: the explicit groups plus the groups
//! matching the owner and tag condition (through the [`GroupDirectory`] and
//! [`GroupTagStore`] ports).
use super::plan::GroupTargets;
use super::ports::{GroupDirectory, GroupInfo, GroupTagStore};
use crate::ports::StoreError;
use crate::tenants::TenantId;
use futures::StreamExt;
use std::collections::{BTreeMap, HashSet};

/// Parallel directory reads per resolution.
const READ_CONCURRENCY: usize = 16;

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
