//! Resolving a plan's targets against the directory: groups by explicit list, by owner and
//! by group tag; a journey customer's staff contact; which staff members left. The directory is read through the
//! contacts module's own read API ([`DirectoryRead`]); group tags are the SOP module's
//! (WeCom has none on customer groups).
use crate::dynamo::DynamoDirectory;
use crate::dynamo::StoreError;
use futures::StreamExt;
use scrm_core::contacts::{DirectoryRead, Group, RelationStatus, StaffMember};
use scrm_core::sop::ports::{GroupDirectory, GroupInfo};
use scrm_core::tenants::TenantId;
use std::collections::HashSet;

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
        // Name, owner and state only: no member count needed.
        Ok(self
            .group_profile_as_fetched(t, chat_id)
            .await?
            .map(|(g, _)| info(g)))
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
