//! Smart forms in the tasks table (`{t}` the corp id, `{form}` the form id, `{ext}` the
//! customer):
//!
//! | Item | pk | sk | gsi2 (pk / sk) |
//! |---|---|---|---|
//! | Form (`form` JSON, `version`, `status`) | `{t}#FORM#{form}` | `FORM` | `{t}#FORMS` / `{form}` |
//! | A customer's submission (`submission` JSON, `version`) | `{t}#FSUB#{form}` | `{ext}` | `{t}#FSUBS#{form}` / `{submitted ms:013}#{ext}` |
//! | Submissions counter, 8 shards (`submissions`) | `{t}#FCOUNT#{form}#{shard}` | `COUNT` | |
//!
//! A form's submissions are one partition per form (not per tenant); the counter is
//! spread over 8 partitions by a hash of the customer, so a popular form's first submits
//! do not all write one item. The newest-first list is the submission's own index entry,
//! which moves when a later submit replaces it.
use super::super::item::{json, n, s, AttrMap, ItemExt};
use super::super::schema::{GSI2, GSI2_PK, GSI2_SK, PK, SK};
use super::super::table::{key, PutOutcome, Query};
use super::super::update::{Cond, Update};

use super::DynamoGrowth;
use scrm_core::forms::ports::is_cursor;
use scrm_core::forms::{Form, FormStore, Submission, SubmissionPage};
use scrm_core::ports::StoreError;
use scrm_core::tenants::TenantId;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Partitions of a form's submissions counter.
pub const COUNT_SHARDS: u32 = 8;

fn form_pk(t: &TenantId, form: &str) -> String {
    format!("{t}#FORM#{form}")
}
const FORM_SK: &str = "FORM";
fn forms_index(t: &TenantId) -> String {
    format!("{t}#FORMS")
}
fn sub_pk(t: &TenantId, form: &str) -> String {
    format!("{t}#FSUB#{form}")
}
fn subs_index(t: &TenantId, form: &str) -> String {
    format!("{t}#FSUBS#{form}")
}
fn subs_sort(sub: &Submission) -> String {
    format!(
        "{:013}#{}",
        sub.submitted_at.timestamp_millis().max(0),
        sub.external_userid
    )
}
fn count_pk(t: &TenantId, form: &str, shard: u32) -> String {
    format!("{t}#FCOUNT#{form}#{shard}")
}
const COUNT_SK: &str = "COUNT";
fn count_shard(ext: &str) -> u32 {
    let d = Sha256::digest(ext.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % COUNT_SHARDS
}

fn form_item(t: &TenantId, f: &Form) -> AttrMap {
    let status = serde_json::to_value(f.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    [
        (PK, s(form_pk(t, &f.form_id))),
        (SK, s(FORM_SK)),
        (GSI2_PK, s(forms_index(t))),
        (GSI2_SK, s(&f.form_id)),
        ("form", json(f)),
        ("version", n(f.version)),
        ("status", s(status)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn form_of(item: &AttrMap) -> Result<Form, StoreError> {
    item.json("form")
}

fn sub_item(t: &TenantId, sub: &Submission) -> AttrMap {
    [
        (PK, s(sub_pk(t, &sub.form_id))),
        (SK, s(&sub.external_userid)),
        (GSI2_PK, s(subs_index(t, &sub.form_id))),
        (GSI2_SK, s(subs_sort(sub))),
        ("submission", json(sub)),
        ("version", n(sub.version)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn sub_of(item: &AttrMap) -> Result<Submission, StoreError> {
    item.json("submission")
}

/// A cursor is the last submission's index sort key (`{ms:013}#{ext}`); anything else is
/// refused before it reaches DynamoDB.
fn cursor_key(t: &TenantId, form: &str, cursor: &str) -> Result<AttrMap, StoreError> {
    // The admin API checks cursors first (`is_cursor`); one that got here is a bug.
    let (_, ext) = cursor
        .split_once('#')
        .filter(|_| is_cursor(cursor))
        .ok_or_else(|| StoreError::Corrupt(format!("submissions cursor {cursor}")))?;
    let mut k = key(sub_pk(t, form), ext);
    k.insert(GSI2_PK.into(), s(subs_index(t, form)));
    k.insert(GSI2_SK.into(), s(cursor));
    Ok(k)
}

impl FormStore for DynamoGrowth {
    async fn create_form(&self, t: &TenantId, form: &Form) -> Result<Option<Form>, StoreError> {
        match self
            .table
            .put_or_get_old(form_item(t, form), &Cond::item_absent())
            .await?
        {
            PutOutcome::Written => Ok(None),
            PutOutcome::Blocked(Some(old)) => form_of(&old).map(Some),
            PutOutcome::Blocked(None) => self.form(t, &form.form_id).await,
        }
    }

    async fn form(&self, t: &TenantId, form_id: &str) -> Result<Option<Form>, StoreError> {
        self.table
            .get_consistent(form_pk(t, form_id), FORM_SK)
            .await?
            .as_ref()
            .map(form_of)
            .transpose()
    }

    async fn forms(&self, t: &TenantId) -> Result<Vec<Form>, StoreError> {
        let items = self
            .table
            .query_all(Query::index(GSI2, forms_index(t)))
            .await?;
        items.iter().map(form_of).collect()
    }

    async fn save_form(&self, t: &TenantId, form: &Form, version: i64) -> Result<bool, StoreError> {
        let mut cond = Cond::item_exists();
        let v = cond.name("version");
        cond.when(format!("{v} = :expected"))
            .value(":expected", n(version));
        self.table.put_if(form_item(t, form), &cond).await
    }

    async fn delete_form(
        &self,
        t: &TenantId,
        form_id: &str,
        version: i64,
    ) -> Result<bool, StoreError> {
        let mut cond = Cond::item_exists();
        let v = cond.name("version");
        let st = cond.name("status");
        cond.when(format!("{v} = :expected AND {st} = :draft"))
            .value(":expected", n(version))
            .value(":draft", s("draft"));
        self.table
            .delete_if(form_pk(t, form_id), FORM_SK, &cond)
            .await
    }

    async fn submission(
        &self,
        t: &TenantId,
        form_id: &str,
        external_userid: &str,
    ) -> Result<Option<Submission>, StoreError> {
        self.table
            .get_consistent(sub_pk(t, form_id), external_userid)
            .await?
            .as_ref()
            .map(sub_of)
            .transpose()
    }

    async fn put_submission(
        &self,
        t: &TenantId,
        sub: &Submission,
        previous: Option<i64>,
    ) -> Result<bool, StoreError> {
        match previous {
            Some(version) => {
                let mut cond = Cond::item_exists();
                let v = cond.name("version");
                cond.when(format!("{v} = :expected"))
                    .value(":expected", n(version));
                self.table.put_if(sub_item(t, sub), &cond).await
            }
            None => {
                // The first submit and its count, together: a retry or a racing submit
                // finds the item and counts nothing.
                let mut counter = Update::new();
                counter.add("submissions", 1);
                let actions = vec![
                    self.table.tx_put(sub_item(t, sub), &Cond::item_absent())?,
                    self.table.tx_update(
                        count_pk(t, &sub.form_id, count_shard(&sub.external_userid)),
                        COUNT_SK,
                        &counter,
                    )?,
                ];
                match self.table.transact(actions).await {
                    Ok(()) => Ok(true),
                    Err(StoreError::TransactionCanceled { reasons })
                        if reasons.first().map(String::as_str)
                            == Some("ConditionalCheckFailed") =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    async fn submissions(
        &self,
        t: &TenantId,
        form_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<SubmissionPage, StoreError> {
        let start = cursor.map(|c| cursor_key(t, form_id, c)).transpose()?;
        let q = Query::index(GSI2, subs_index(t, form_id))
            .descending()
            .page_size(limit)
            .start_after(start);
        let page = self.table.query_page(&q).await?;
        let items = page
            .items
            .iter()
            .map(sub_of)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match &page.last_key {
            Some(k) if items.len() == limit => k.s_opt(GSI2_SK).map(str::to_string),
            _ => None,
        };
        Ok(SubmissionPage { items, next_cursor })
    }

    async fn submission_counts(
        &self,
        t: &TenantId,
        form_ids: &[String],
    ) -> Result<HashMap<String, i64>, StoreError> {
        let keys = form_ids
            .iter()
            .flat_map(|f| (0..COUNT_SHARDS).map(move |shard| key(count_pk(t, f, shard), COUNT_SK)))
            .collect::<Vec<_>>();
        let mut out = HashMap::new();
        if keys.is_empty() {
            return Ok(out);
        }
        let prefix = format!("{t}#FCOUNT#");
        for item in self.table.batch_get(keys, None).await? {
            let pk = item.s(PK)?;
            let form = pk
                .strip_prefix(&prefix)
                .and_then(|rest| rest.rsplit_once('#'))
                .map(|(form, _)| form.to_string())
                .ok_or_else(|| StoreError::Corrupt(format!("counter {pk}")))?;
            *out.entry(form).or_insert(0) += item.n_opt("submissions")?.unwrap_or(0);
        }
        Ok(out)
    }
}
