//! The content center's store in the tasks table.
//!
//! | Item | pk | sk | gsi1 (pk / sk) | gsi2 (pk / sk) |
//! |---|---|---|---|---|
//! | Material (`material` JSON, `version`) | `{t}#MAT#{id}` | `MAT` | `{t}#MFOLDER#{folder or -}` / `{created:012}#{id}` | `{t}#MATS` / `{created:012}#{id}` |
//! | Its WeCom media cache (`pic_url`, `media_id`+`media_at`, `att_id`+`att_at`) | `{t}#MAT#{id}` | `MEDIA` | | |
//! | Its usage counters (`plans`, `welcomes`, `campaigns`) | `{t}#MAT#{id}` | `USAGE` | | |
//! | One user of it (counted once) | `{t}#MAT#{id}` | `USE#{kind}#{user}` | | |
//! | What one user refers to (`ids`) | `{t}#MREFS#{kind}#{user}` | `REFS` | | |
//! | Folder (`name`, `created_at`) | `{t}#MFOLDERS` | `{folder}` | | |
use super::item::{json, n, s, AttrMap, ItemExt};
use super::schema::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK};
use super::table::{key, Query, Table};
use super::update::{Cond, Update};
use super::Db;
use chrono::{DateTime, TimeZone, Utc};
use scrm_core::contacts::Page;
use scrm_core::content::model::Folder;
use scrm_core::content::{
    Material, MaterialId, MaterialStore, MediaCache, MediaSlot, UploadedMedia, Usage, UsageKind,
};
use scrm_core::ports::StoreError;
use scrm_core::tenants::TenantId;
use std::collections::HashMap;

const MAT: &str = "MAT";
const MEDIA: &str = "MEDIA";
const USAGE: &str = "USAGE";
const REFS: &str = "REFS";

fn material_pk(t: &TenantId, id: &MaterialId) -> String {
    format!("{}#MAT#{}", t.as_str(), id.as_str())
}
fn folder_index(t: &TenantId, folder: Option<&str>) -> String {
    format!("{}#MFOLDER#{}", t.as_str(), folder.unwrap_or("-"))
}
fn all_index(t: &TenantId) -> String {
    format!("{}#MATS", t.as_str())
}
fn folders_pk(t: &TenantId) -> String {
    format!("{}#MFOLDERS", t.as_str())
}
fn refs_pk(t: &TenantId, kind: UsageKind, user: &str) -> String {
    format!("{}#MREFS#{}#{user}", t.as_str(), kind.as_str())
}
fn use_sk(kind: UsageKind, user: &str) -> String {
    format!("USE#{}#{user}", kind.as_str())
}
fn index_sk(m: &Material) -> String {
    format!(
        "{:012}#{}",
        m.created_at.timestamp(),
        m.material_id.as_str()
    )
}
fn counter_attr(kind: UsageKind) -> &'static str {
    match kind {
        UsageKind::Plan => "plans",
        UsageKind::Welcome => "welcomes",
        UsageKind::Campaign => "campaigns",
    }
}

fn epoch(at: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(at, 0).single().unwrap_or_default()
}

/// The content center's store.
#[derive(Debug, Clone)]
pub struct DynamoContent {
    table: Table,
}

impl DynamoContent {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self { table: db.tasks() }
    }
}

fn material_item(t: &TenantId, m: &Material) -> AttrMap {
    let mut stored = m.clone();
    stored.usage = Usage::default();
    [
        (PK, s(material_pk(t, &m.material_id))),
        (SK, s(MAT)),
        (GSI1_PK, s(folder_index(t, m.folder_id.as_deref()))),
        (GSI1_SK, s(index_sk(m))),
        (GSI2_PK, s(all_index(t))),
        (GSI2_SK, s(index_sk(m))),
        ("material", json(&stored)),
        ("version", n(m.version)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn usage_from(item: Option<&AttrMap>) -> Result<Usage, StoreError> {
    let Some(i) = item else {
        return Ok(Usage::default());
    };
    Ok(Usage {
        plans: i.n_opt("plans")?.unwrap_or(0),
        welcomes: i.n_opt("welcomes")?.unwrap_or(0),
        campaigns: i.n_opt("campaigns")?.unwrap_or(0),
    })
}

fn media_from(item: &AttrMap) -> Result<MediaCache, StoreError> {
    let slot = |id: &str, at: &str| -> Result<Option<UploadedMedia>, StoreError> {
        Ok(match (item.s_opt(id), item.n_opt(at)?) {
            (Some(m), Some(a)) => Some(UploadedMedia {
                media_id: m.to_string(),
                created_at: epoch(a),
            }),
            _ => None,
        })
    };
    Ok(MediaCache {
        pic_url: item.s_opt("pic_url").map(str::to_string),
        media: slot("media_id", "media_at")?,
        attachment: slot("att_id", "att_at")?,
    })
}

impl DynamoContent {
    /// The material, media and usage items of one material (one consistent query).
    async fn parts(
        &self,
        t: &TenantId,
        id: &MaterialId,
    ) -> Result<HashMap<String, AttrMap>, StoreError> {
        let q = Query::partition(material_pk(t, id))
            .sk_between(MAT, USAGE)
            .consistent();
        let items = self.table.query_all(q).await?;
        let mut out = HashMap::new();
        for i in items {
            out.insert(i.s(SK)?.to_string(), i);
        }
        Ok(out)
    }

    /// Counts (`by` 1) or uncounts (`by` -1) one user of a material, once: the user's item
    /// and the counter in one transaction, conditional on the item's absence (presence).
    async fn count_user(
        &self,
        t: &TenantId,
        id: &MaterialId,
        kind: UsageKind,
        user: &str,
        by: i64,
    ) -> Result<(), StoreError> {
        let pk = material_pk(t, id);
        let mut u = Update::new();
        u.add(counter_attr(kind), by);
        let record = if by > 0 {
            self.table.tx_put(
                [
                    (PK.to_string(), s(&pk)),
                    (SK.to_string(), s(use_sk(kind, user))),
                ]
                .into_iter()
                .collect(),
                &Cond::item_absent(),
            )?
        } else {
            self.table
                .tx_delete_if(&pk, use_sk(kind, user), &Cond::item_exists())?
        };
        let counter = self.table.tx_update(&pk, USAGE, &u)?;
        match self.table.transact(vec![record, counter]).await {
            Ok(()) => Ok(()),
            Err(StoreError::TransactionCanceled { reasons })
                if reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

impl MaterialStore for DynamoContent {
    async fn create_material(&self, t: &TenantId, m: &Material) -> Result<bool, StoreError> {
        self.table.put_new(material_item(t, m)).await
    }

    async fn replace_material(
        &self,
        t: &TenantId,
        m: &Material,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        let mut c = Cond::new();
        let v = c.name("version");
        c.when(format!("{v} = :expected"))
            .value(":expected", n(expected_version));
        self.table.put_if(material_item(t, m), &c).await
    }

    async fn material(
        &self,
        t: &TenantId,
        id: &MaterialId,
    ) -> Result<Option<Material>, StoreError> {
        let parts = self.parts(t, id).await?;
        let Some(item) = parts.get(MAT) else {
            return Ok(None);
        };
        let mut m: Material = item.json("material")?;
        m.usage = usage_from(parts.get(USAGE))?;
        Ok(Some(m))
    }

    async fn materials(
        &self,
        t: &TenantId,
        folder_id: Option<&str>,
        tag: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Material>, StoreError> {
        let mut q = match folder_id {
            Some(f) => Query::index(GSI1, folder_index(t, Some(f))),
            None => Query::index(GSI2, all_index(t)),
        }
        .descending();
        if let Some(c) = cursor {
            q = q.sk_before(c);
        }
        // A tag is matched on the page read (a page may come back short; its cursor goes on).
        let items = self
            .table
            .query_up_to(q.page_size((limit + 1).min(1000)), limit + 1)
            .await?;
        let mut materials = Vec::new();
        let mut last = None;
        let more = items.len() > limit;
        for i in items.iter().take(limit) {
            let m: Material = i.json("material")?;
            // The cursor follows every item read, matched or not: a page with no match still
            // moves on instead of ending the list.
            last = Some(index_sk(&m));
            if tag.is_some_and(|tag| !m.tags.iter().any(|x| x == tag)) {
                continue;
            }
            materials.push(m);
        }
        let keys = materials
            .iter()
            .map(|m| key(material_pk(t, &m.material_id), USAGE))
            .collect::<Vec<_>>();
        let usage: HashMap<String, AttrMap> = if keys.is_empty() {
            HashMap::new()
        } else {
            self.table
                .batch_get(keys, None)
                .await?
                .into_iter()
                .filter_map(|i| i.s(PK).ok().map(str::to_string).map(|pk| (pk, i)))
                .collect()
        };
        for m in &mut materials {
            m.usage = usage_from(usage.get(&material_pk(t, &m.material_id)))?;
        }
        Ok(Page {
            items: materials,
            next_cursor: if more { last } else { None },
        })
    }

    async fn delete_material(
        &self,
        t: &TenantId,
        id: &MaterialId,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        let pk = material_pk(t, id);
        let mut c = Cond::new();
        let v = c.name("version");
        c.when(format!("{v} = :expected"))
            .value(":expected", n(expected_version));
        let actions = vec![
            self.table.tx_delete_if(&pk, MAT, &c)?,
            self.table.tx_delete(&pk, MEDIA)?,
            self.table.tx_delete(&pk, USAGE)?,
        ];
        match self.table.transact(actions).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled { reasons })
                if reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn media_cache(&self, t: &TenantId, id: &MaterialId) -> Result<MediaCache, StoreError> {
        match self.table.get_consistent(material_pk(t, id), MEDIA).await? {
            Some(i) => media_from(&i),
            None => Ok(MediaCache::default()),
        }
    }

    async fn set_pic_url(
        &self,
        t: &TenantId,
        id: &MaterialId,
        pic_url: &str,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set_if_not_exists("pic_url", s(pic_url));
        self.table.update(material_pk(t, id), MEDIA, &u).await?;
        Ok(())
    }

    async fn swap_media(
        &self,
        t: &TenantId,
        id: &MaterialId,
        slot: MediaSlot,
        fresh: &UploadedMedia,
        replaced: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let (id_attr, at_attr) = match slot {
            MediaSlot::Media => ("media_id", "media_at"),
            MediaSlot::Attachment => ("att_id", "att_at"),
        };
        let mut u = Update::new();
        u.set(id_attr, s(&fresh.media_id))
            .set(at_attr, n(fresh.created_at.timestamp()));
        let at = u.name(at_attr);
        match replaced {
            None => u.when(format!("attribute_not_exists({at})")),
            Some(r) => u
                .when(format!("{at} = :replaced"))
                .value(":replaced", n(r.timestamp())),
        };
        self.table.update(material_pk(t, id), MEDIA, &u).await
    }

    async fn set_references(
        &self,
        t: &TenantId,
        kind: UsageKind,
        user: &str,
        ids: &[MaterialId],
    ) -> Result<(), StoreError> {
        let pk = refs_pk(t, kind, user);
        let before: Vec<String> = self
            .table
            .get_consistent(&pk, REFS)
            .await?
            .map(|i| i.strings("ids"))
            .unwrap_or_default();
        let now: Vec<&str> = ids.iter().map(MaterialId::as_str).collect();
        for id in ids {
            if !before.iter().any(|b| b == id.as_str()) {
                self.count_user(t, id, kind, user, 1).await?;
            }
        }
        for b in &before {
            if !now.contains(&b.as_str()) {
                if let Some(id) = MaterialId::parse(b) {
                    self.count_user(t, &id, kind, user, -1).await?;
                }
            }
        }
        // Written last: a run cut short before it is repeated whole, and each count above
        // happens once whatever is repeated.
        if ids.is_empty() {
            self.table.delete(&pk, REFS).await
        } else {
            let list =
                aws_sdk_dynamodb::types::AttributeValue::L(now.iter().map(|i| s(*i)).collect());
            self.table
                .put(
                    [
                        (PK.to_string(), s(&pk)),
                        (SK.to_string(), s(REFS)),
                        ("ids".to_string(), list),
                    ]
                    .into_iter()
                    .collect(),
                )
                .await
        }
    }

    async fn usage(&self, t: &TenantId, id: &MaterialId) -> Result<Usage, StoreError> {
        usage_from(
            self.table
                .get_consistent(material_pk(t, id), USAGE)
                .await?
                .as_ref(),
        )
    }

    async fn create_folder(&self, t: &TenantId, f: &Folder) -> Result<bool, StoreError> {
        self.table
            .put_new(
                [
                    (PK, s(folders_pk(t))),
                    (SK, s(&f.folder_id)),
                    ("name", s(&f.name)),
                    ("created_at", n(f.created_at.timestamp())),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            )
            .await
    }

    async fn folders(&self, t: &TenantId) -> Result<Vec<Folder>, StoreError> {
        let items = self
            .table
            .query_all(Query::partition(folders_pk(t)).consistent())
            .await?;
        let mut out = items
            .iter()
            .map(|i| {
                Ok(Folder {
                    folder_id: i.s(SK)?.to_string(),
                    name: i.s("name")?.to_string(),
                    created_at: epoch(i.n("created_at")?),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn delete_folder(&self, t: &TenantId, folder_id: &str) -> Result<bool, StoreError> {
        let any = self
            .table
            .query_up_to(
                Query::index(GSI1, folder_index(t, Some(folder_id))).page_size(1),
                1,
            )
            .await?;
        if !any.is_empty() {
            return Ok(false);
        }
        self.table.delete(folders_pk(t), folder_id).await?;
        Ok(true)
    }
}
