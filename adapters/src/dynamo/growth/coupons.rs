//! Coupon code lists in the tasks table (`{t}` is the corp id):
//!
//! | Item | pk | sk | gsi2 (pk / sk) |
//! |---|---|---|---|
//! | List (`list` JSON) | `{t}#FCLIST#{list}` | `LIST` | `{t}#FCLISTS` / `{created}#{list}` |
//! | A code the list ever had (dedupe) | `{t}#FCREG#{list}#{shard:02}` | `{code}` | |
//! | A code not issued yet | `{t}#FCAVAIL#{list}#{shard:02}` | `{code}` | |
//! | A list's counts, 8 shards (`added`, `issued`) | `{t}#FCSTAT#{list}` | `{shard:02}` | |
//! | A code issued for a tier (`coupon` JSON) | `{t}#FCPN#{inviter state}` | `{tier:02}` | |
//!
//! Codes spread over 16 shards by a hash of the code, so an upload's writes and the
//! payouts' takes land on many partitions. An upload writes up to 49 codes per
//! transaction (the dedupe record `attribute_not_exists`, the unused code, one counts
//! shard); a code the list had already fails its condition and the rest is written again
//! without it. An issue deletes one unused code (`attribute_exists`: nobody took it
//! meanwhile), records it as the tier's (`attribute_not_exists`: once per campaign,
//! inviter and tier) and counts it, in one transaction.
use super::super::item::{json, n, s, AttrMap, ItemExt};
use super::super::schema::{GSI2, GSI2_PK, GSI2_SK, PK, SK};
use super::super::table::Query;
use super::super::update::{Cond, Update};
use super::DynamoGrowth;
use scrm_core::growth::fission_coupons::{CouponCounts, CouponIssue, CouponList, IssuedCoupon};
use scrm_core::growth::ports::CouponStore;
use scrm_core::ports::StoreError;
use scrm_core::tenants::TenantId;
use sha2::{Digest, Sha256};

/// Shards of a list's codes.
const CODE_SHARDS: u32 = 16;
/// Shards of a list's counts.
const COUNT_SHARDS: u32 = 8;
/// Codes per upload transaction (two items each, with one counts shard: 99 of 100).
const CODES_PER_TX: usize = 49;
/// Unused codes read per shard when issuing (the others are tried when one was taken).
const CANDIDATES: usize = 5;

fn shard_of(text: &str, shards: u32) -> u32 {
    let digest = Sha256::digest(text.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % shards
}

fn list_pk(t: &TenantId, id: &str) -> String {
    format!("{t}#FCLIST#{id}")
}
const LIST_SK: &str = "LIST";
fn lists_index(t: &TenantId) -> String {
    format!("{t}#FCLISTS")
}
fn reg_pk(t: &TenantId, list: &str, shard: u32) -> String {
    format!("{t}#FCREG#{list}#{shard:02}")
}
fn avail_pk(t: &TenantId, list: &str, shard: u32) -> String {
    format!("{t}#FCAVAIL#{list}#{shard:02}")
}
fn count_pk(t: &TenantId, list: &str) -> String {
    format!("{t}#FCSTAT#{list}")
}
fn coupon_pk(t: &TenantId, state: &str) -> String {
    format!("{t}#FCPN#{state}")
}
fn coupon_sk(tier: usize) -> String {
    format!("{tier:02}")
}

fn attrs<const N: usize>(pairs: [(&str, aws_sdk_dynamodb::types::AttributeValue); N]) -> AttrMap {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn reasons_of(e: &StoreError) -> Option<&[String]> {
    match e {
        StoreError::TransactionCanceled { reasons } => Some(reasons),
        _ => None,
    }
}

impl DynamoGrowth {
    fn count_add(
        &self,
        t: &TenantId,
        list: &str,
        shard_text: &str,
        attr: &str,
        by: i64,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let mut u = Update::new();
        u.add(attr, by);
        self.table.tx_update(
            count_pk(t, list),
            format!("{:02}", shard_of(shard_text, COUNT_SHARDS)),
            &u,
        )
    }

    async fn stored_coupon(
        &self,
        t: &TenantId,
        state: &str,
        tier: usize,
    ) -> Result<Option<IssuedCoupon>, StoreError> {
        self.table
            .get_consistent(coupon_pk(t, state), coupon_sk(tier))
            .await?
            .map(|item| item.json("coupon"))
            .transpose()
    }

    /// Writes one batch of codes; the codes written (the ones the list had are dropped).
    async fn add_batch(
        &self,
        t: &TenantId,
        list: &str,
        batch: &[String],
    ) -> Result<usize, StoreError> {
        let mut codes: Vec<&String> = batch.iter().collect();
        for _ in 0..(CODES_PER_TX + 5) {
            if codes.is_empty() {
                return Ok(0);
            }
            let mut actions = Vec::with_capacity(codes.len() * 2 + 1);
            for code in &codes {
                let shard = shard_of(code, CODE_SHARDS);
                actions.push(self.table.tx_put(
                    attrs([(PK, s(reg_pk(t, list, shard))), (SK, s(code.as_str()))]),
                    &Cond::item_absent(),
                )?);
                actions.push(self.table.tx_put(
                    attrs([(PK, s(avail_pk(t, list, shard))), (SK, s(code.as_str()))]),
                    &Cond::new(),
                )?);
            }
            actions.push(self.count_add(t, list, codes[0], "added", codes.len() as i64)?);
            match self.table.transact(actions).await {
                Ok(()) => return Ok(codes.len()),
                Err(e) => {
                    let Some(reasons) = reasons_of(&e) else {
                        return Err(e);
                    };
                    let known: Vec<usize> = reasons
                        .iter()
                        .enumerate()
                        .filter(|(i, r)| i % 2 == 0 && *r == "ConditionalCheckFailed")
                        .map(|(i, _)| i / 2)
                        .collect();
                    if known.is_empty() {
                        // A conflict with a concurrent upload: write the batch again.
                        continue;
                    }
                    codes = codes
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| !known.contains(i))
                        .map(|(_, c)| c)
                        .collect();
                }
            }
        }
        Err(StoreError::Retryable(
            "the coupon list kept changing".into(),
        ))
    }
}

impl CouponStore for DynamoGrowth {
    async fn create_coupon_list(
        &self,
        t: &TenantId,
        list: &CouponList,
    ) -> Result<Option<CouponList>, StoreError> {
        let item = attrs([
            (PK, s(list_pk(t, &list.id))),
            (SK, s(LIST_SK)),
            (GSI2_PK, s(lists_index(t))),
            (
                GSI2_SK,
                s(format!(
                    "{}#{}",
                    list.created_at.timestamp_millis(),
                    list.id
                )),
            ),
            ("list", json(list)),
        ]);
        if self.table.put_new(item).await? {
            return Ok(None);
        }
        self.coupon_list(t, &list.id).await
    }

    async fn coupon_list(&self, t: &TenantId, id: &str) -> Result<Option<CouponList>, StoreError> {
        self.table
            .get_consistent(list_pk(t, id), LIST_SK)
            .await?
            .map(|item| item.json("list"))
            .transpose()
    }

    async fn coupon_lists(&self, t: &TenantId) -> Result<Vec<CouponList>, StoreError> {
        self.table
            .query_all(Query::index(GSI2, lists_index(t)).descending())
            .await?
            .iter()
            .map(|item| item.json("list"))
            .collect()
    }

    async fn add_coupon_codes(
        &self,
        t: &TenantId,
        list: &str,
        codes: &[String],
    ) -> Result<usize, StoreError> {
        let mut added = 0;
        for batch in codes.chunks(CODES_PER_TX) {
            added += self.add_batch(t, list, batch).await?;
        }
        Ok(added)
    }

    async fn coupon_counts(&self, t: &TenantId, list: &str) -> Result<CouponCounts, StoreError> {
        let mut c = CouponCounts::default();
        for item in self
            .table
            .query_all(Query::partition(count_pk(t, list)).consistent())
            .await?
        {
            c.added += item.n_opt("added")?.unwrap_or_default();
            c.issued += item.n_opt("issued")?.unwrap_or_default();
        }
        Ok(c)
    }

    async fn issue_coupon(
        &self,
        t: &TenantId,
        want: &IssuedCoupon,
    ) -> Result<CouponIssue, StoreError> {
        let (state, tier, list) = (&want.inviter_state, want.tier, &want.list_id);
        if let Some(c) = self.stored_coupon(t, state, tier).await? {
            return Ok(CouponIssue::Already(c));
        }
        if self.coupon_counts(t, list).await?.stock() == 0 {
            return Ok(CouponIssue::OutOfStock);
        }
        let start = shard_of(&format!("{}#{state}#{tier}", want.campaign), CODE_SHARDS);
        for k in 0..CODE_SHARDS {
            let shard = (start + k) % CODE_SHARDS;
            let candidates = self
                .table
                .query_up_to(
                    Query::partition(avail_pk(t, list, shard)).consistent(),
                    CANDIDATES,
                )
                .await?;
            for item in candidates {
                let code = item.s(SK)?.to_string();
                let coupon = IssuedCoupon {
                    code: code.clone(),
                    ..want.clone()
                };
                let record = attrs([
                    (PK, s(coupon_pk(t, state))),
                    (SK, s(coupon_sk(tier))),
                    ("coupon", json(&coupon)),
                    ("list_id", s(list)),
                    ("tier", n(tier as i64)),
                ]);
                let actions = vec![
                    self.table.tx_put(record, &Cond::item_absent())?,
                    self.table.tx_delete_if(
                        avail_pk(t, list, shard),
                        &code,
                        &Cond::item_exists(),
                    )?,
                    self.count_add(t, list, state, "issued", 1)?,
                    self.fission_stats_add(t, &want.campaign, state, &[("coupons_issued", 1)])?,
                ];
                match self.table.transact(actions).await {
                    Ok(()) => return Ok(CouponIssue::Issued(coupon)),
                    Err(e) => match reasons_of(&e)
                        .map(|r| r.iter().position(|x| x == "ConditionalCheckFailed"))
                    {
                        // The tier has its code: a concurrent run issued it.
                        Some(Some(0)) => {
                            if let Some(c) = self.stored_coupon(t, state, tier).await? {
                                return Ok(CouponIssue::Already(c));
                            }
                        }
                        // Someone took this code meanwhile, or a conflict: the next one.
                        Some(_) => continue,
                        None => return Err(e),
                    },
                }
            }
        }
        Ok(CouponIssue::OutOfStock)
    }

    async fn inviter_coupons(
        &self,
        t: &TenantId,
        state: &str,
    ) -> Result<Vec<IssuedCoupon>, StoreError> {
        self.table
            .query_all(Query::partition(coupon_pk(t, state)))
            .await?
            .iter()
            .map(|item| item.json("coupon"))
            .collect()
    }
}
