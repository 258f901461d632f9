//! Fission campaigns' store, in the tasks table (`{t}` is the corp id):
//!
//! | Item | pk | sk | gsi1 (pk / sk) | gsi2 (pk / sk) |
//! |---|---|---|---|---|
//! | Campaign (`campaign` JSON, `version`) | `{t}#FISSION#{id}` | `CAMPAIGN` | | `{t}#FISSIONS` / `{created}#{id}` |
//! | Inviter: code and standing (`inviter` JSON, `version`) | `{t}#FINV#{state}` | `INVITER` | `FOWED#{shard}` / `{t}#{state}` while owed a tier | `{t}#FBOARD#{id}#{board shard}` / `{confirmed:08}#{state}` once the code exists |
//! | Claim of an invitee in a campaign (`claim` JSON, `cstate`) | `{t}#FCLAIM#{invitee}` | `{id}` | `FDUE#{shard}` / `{due:012}#{t}#{id}#{invitee}` while pending | |
//! | Claim of a unionid in a campaign | `{t}#FUNION#{unionid}` | `{id}` | | |
//! | A refused add's record (TTL 90 days) | `{t}#FREF#{event id}` | `{id}` | | |
//! | A campaign's counts, 8 shards (`inviters`, `counted`, `pending`, `confirmed`, `revoked`, `refused`, `paid_{tier}`, `coupons_issued`, `waiting`, `codes_removed`) | `{t}#FSTATS#{id}` | `{shard:02}` | | |
//! | A personal code that may still exist at WeCom (written with the inviter, deleted once the code is) | `{t}#FLIVE#{id}#{shard}` | `{state}` | | |
//! | An event not published yet (`event` JSON) | `FOUT#{shard}` | `{t}#{event id}` | | |
//!
//! A campaign not closed yet is in gsi1 under `FEND#{shard}` / `{end:012}#{t}#{id}` (its
//! end: `ends_at`, or when an operator ended it). The due, owed and ending indexes and the
//! outbox are not under a tenant: the minute's run reads them across every tenant (8
//! queries each). A join writes the claim (and the unionid's), the inviter
//! and one counts shard in one transaction: about 10 write units (2 per item and index
//! entry started, each item under 1 KB).
use super::super::item::{json, n, s, AttrMap, ItemExt};
use super::super::schema::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK, TTL};
use super::super::table::{Query, Table};
use super::super::update::{Cond, Update};
use super::super::DynamoDirectory;
use super::DynamoGrowth;
use chrono::{DateTime, TimeZone, Utc};
use scrm_core::contacts::model::RelationStatus;
use scrm_core::contacts::DirectoryRead;
use scrm_core::events::EventEnvelope;
use scrm_core::growth::fission::{Campaign, ClaimRecord, InviteeState, Inviter};
use scrm_core::growth::fission_run::FISSION_SHARDS;
use scrm_core::growth::ports::{
    CustomerCard, CustomerCards, DueClaim, FissionFigures, FissionStore, JoinWrite,
};
use scrm_core::ports::StoreError;
use scrm_core::tenants::TenantId;
use sha2::{Digest, Sha256};

/// Shards of a campaign's counts.
const STATS_SHARDS: u32 = 8;
/// Shards of a campaign's leaderboard.
const BOARD_SHARDS: u32 = 4;
/// A refused add's record lives 90 days (redeliveries come within minutes).
const REFUSAL_TTL_SECS: i64 = 90 * 86_400;

fn shard_of(text: &str, shards: u32) -> u32 {
    let digest = Sha256::digest(text.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % shards
}

fn campaign_pk(t: &TenantId, id: &str) -> String {
    format!("{t}#FISSION#{id}")
}
const CAMPAIGN_SK: &str = "CAMPAIGN";
fn campaigns_index(t: &TenantId) -> String {
    format!("{t}#FISSIONS")
}
fn inviter_pk(t: &TenantId, state: &str) -> String {
    format!("{t}#FINV#{state}")
}
const INVITER_SK: &str = "INVITER";
fn board_pk(t: &TenantId, campaign: &str, shard: u32) -> String {
    format!("{t}#FBOARD#{campaign}#{shard}")
}
fn owed_pk(shard: u32) -> String {
    format!("FOWED#{shard}")
}
fn claim_pk(t: &TenantId, invitee: &str) -> String {
    format!("{t}#FCLAIM#{invitee}")
}
fn union_pk(t: &TenantId, unionid: &str) -> String {
    format!("{t}#FUNION#{unionid}")
}
fn due_pk(shard: u32) -> String {
    format!("FDUE#{shard}")
}
fn refusal_pk(t: &TenantId, event_id: &str) -> String {
    format!("{t}#FREF#{event_id}")
}
fn stats_pk(t: &TenantId, campaign: &str) -> String {
    format!("{t}#FSTATS#{campaign}")
}
fn stats_sk(shard: u32) -> String {
    format!("{shard:02}")
}
/// Shards of a campaign's live personal codes.
const LIVE_SHARDS: u32 = 4;
fn live_pk(t: &TenantId, campaign: &str, shard: u32) -> String {
    format!("{t}#FLIVE#{campaign}#{shard}")
}
fn end_pk(shard: u32) -> String {
    format!("FEND#{shard}")
}
fn outbox_pk(shard: u32) -> String {
    format!("FOUT#{shard}")
}

fn outbox_item(e: &EventEnvelope) -> AttrMap {
    attrs([
        (
            PK,
            s(outbox_pk(shard_of(
                &format!("{}#{}", e.tenant, e.event_id),
                FISSION_SHARDS,
            ))),
        ),
        (SK, s(format!("{}#{}", e.tenant, e.event_id))),
        ("event", json(e)),
    ])
}

fn attrs<const N: usize>(pairs: [(&str, aws_sdk_dynamodb::types::AttributeValue); N]) -> AttrMap {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn campaign_item(t: &TenantId, c: &Campaign) -> AttrMap {
    let mut item = attrs([
        (PK, s(campaign_pk(t, &c.id))),
        (SK, s(CAMPAIGN_SK)),
        (GSI2_PK, s(campaigns_index(t))),
        (
            GSI2_SK,
            s(format!("{}#{}", c.created_at.timestamp_millis(), c.id)),
        ),
        ("campaign", json(c)),
        ("version", n(c.version)),
    ]);
    if c.closed_at.is_none() {
        item.insert(
            GSI1_PK.into(),
            s(end_pk(shard_of(&format!("{t}#{}", c.id), FISSION_SHARDS))),
        );
        item.insert(
            GSI1_SK.into(),
            s(format!(
                "{:012}#{t}#{}",
                c.ended_at().timestamp().max(0),
                c.id
            )),
        );
    }
    item
}

fn inviter_item(t: &TenantId, i: &Inviter) -> AttrMap {
    let mut item = attrs([
        (PK, s(inviter_pk(t, &i.state))),
        (SK, s(INVITER_SK)),
        ("inviter", json(i)),
        ("version", n(i.version)),
    ]);
    if i.qr_code.is_some() {
        item.insert(
            GSI2_PK.into(),
            s(board_pk(t, &i.campaign, shard_of(&i.state, BOARD_SHARDS))),
        );
        item.insert(
            GSI2_SK.into(),
            s(format!("{:08}#{}", i.progress.confirmed, i.state)),
        );
    }
    if i.owed {
        item.insert(
            GSI1_PK.into(),
            s(owed_pk(shard_of(
                &format!("{t}#{}", i.state),
                FISSION_SHARDS,
            ))),
        );
        item.insert(GSI1_SK.into(), s(format!("{t}#{}", i.state)));
    }
    item
}

fn state_name(s: InviteeState) -> &'static str {
    match s {
        InviteeState::Pending => "pending",
        InviteeState::Confirmed => "confirmed",
        InviteeState::Revoked => "revoked",
    }
}

fn claim_item(t: &TenantId, c: &ClaimRecord, due: Option<DateTime<Utc>>) -> AttrMap {
    let invitee = &c.claim.invitee.external_userid;
    let mut item = attrs([
        (PK, s(claim_pk(t, invitee))),
        (SK, s(&c.campaign)),
        ("claim", json(c)),
        ("cstate", s(state_name(c.claim.state))),
    ]);
    if let Some(due) = due {
        item.insert(
            GSI1_PK.into(),
            s(due_pk(shard_of(&format!("{t}#{invitee}"), FISSION_SHARDS))),
        );
        item.insert(
            GSI1_SK.into(),
            s(format!(
                "{:012}#{t}#{}#{invitee}",
                due.timestamp(),
                c.campaign
            )),
        );
    }
    item
}

fn version_is(expected: i64) -> Cond {
    let mut cond = Cond::item_exists();
    let v = cond.name("version");
    cond.when(format!("{v} = :expected"))
        .value(":expected", n(expected));
    cond
}

fn counts(adds: &[(&str, i64)]) -> Update {
    let mut u = Update::new();
    for (attr, by) in adds {
        u.add(attr, *by);
    }
    u
}

fn first_failed(reasons: &[String]) -> Option<usize> {
    reasons.iter().position(|r| r == "ConditionalCheckFailed")
}

impl DynamoGrowth {
    fn fission_table(&self) -> &Table {
        &self.table
    }

    fn outbox_puts(
        &self,
        events: &[EventEnvelope],
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        events
            .iter()
            .map(|e| self.fission_table().tx_put(outbox_item(e), &Cond::new()))
            .collect()
    }

    async fn stats_add(
        &self,
        t: &TenantId,
        campaign: &str,
        shard_text: &str,
        adds: &[(&str, i64)],
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        self.fission_table().tx_update(
            stats_pk(t, campaign),
            stats_sk(shard_of(shard_text, STATS_SHARDS)),
            &counts(adds),
        )
    }
}

impl FissionStore for DynamoGrowth {
    async fn create_campaign(
        &self,
        t: &TenantId,
        c: &Campaign,
    ) -> Result<Option<Campaign>, StoreError> {
        if self.fission_table().put_new(campaign_item(t, c)).await? {
            return Ok(None);
        }
        self.campaign(t, &c.id).await
    }

    async fn campaign(&self, t: &TenantId, id: &str) -> Result<Option<Campaign>, StoreError> {
        self.fission_table()
            .get_consistent(campaign_pk(t, id), CAMPAIGN_SK)
            .await?
            .map(|item| item.json("campaign"))
            .transpose()
    }

    async fn campaigns(&self, t: &TenantId) -> Result<Vec<Campaign>, StoreError> {
        self.fission_table()
            .query_all(Query::index(GSI2, campaigns_index(t)).descending())
            .await?
            .iter()
            .map(|item| item.json("campaign"))
            .collect()
    }

    async fn save_campaign(
        &self,
        t: &TenantId,
        c: &Campaign,
        expected: i64,
    ) -> Result<bool, StoreError> {
        self.fission_table()
            .put_if(campaign_item(t, c), &version_is(expected))
            .await
    }

    async fn fission_figures(
        &self,
        t: &TenantId,
        campaign: &str,
        tiers: usize,
    ) -> Result<FissionFigures, StoreError> {
        let mut f = FissionFigures {
            tiers_paid: vec![0; tiers],
            ..Default::default()
        };
        for item in self
            .fission_table()
            .query_all(Query::partition(stats_pk(t, campaign)))
            .await?
        {
            let get = |name: &str| item.n_opt(name).map(Option::unwrap_or_default);
            f.inviters += get("inviters")?;
            f.counted += get("counted")?;
            f.pending += get("pending")?;
            f.confirmed += get("confirmed")?;
            f.revoked += get("revoked")?;
            f.refused += get("refused")?;
            f.coupons_issued += get("coupons_issued")?;
            f.waiting += get("waiting")?;
            f.codes_removed += get("codes_removed")?;
            for (i, paid) in f.tiers_paid.iter_mut().enumerate() {
                *paid += get(&format!("paid_{i}"))?;
            }
        }
        Ok(f)
    }

    async fn inviter(&self, t: &TenantId, state: &str) -> Result<Option<Inviter>, StoreError> {
        let Some(item) = self
            .fission_table()
            .get_consistent(inviter_pk(t, state), INVITER_SK)
            .await?
        else {
            return Ok(None);
        };
        let mut inviter: Inviter = item.json("inviter")?;
        inviter.version = item.n("version")?;
        Ok(Some(inviter))
    }

    async fn create_inviter(
        &self,
        t: &TenantId,
        inviter: &Inviter,
    ) -> Result<Option<Inviter>, StoreError> {
        let table = self.fission_table();
        let live = attrs([
            (
                PK,
                s(live_pk(
                    t,
                    &inviter.campaign,
                    shard_of(&inviter.state, LIVE_SHARDS),
                )),
            ),
            (SK, s(&inviter.state)),
        ]);
        let actions = vec![
            table.tx_put(inviter_item(t, inviter), &Cond::item_absent())?,
            self.stats_add(t, &inviter.campaign, &inviter.state, &[("inviters", 1)])
                .await?,
            table.tx_put(live, &Cond::new())?,
        ];
        match table.transact(actions).await {
            Ok(()) => Ok(None),
            Err(StoreError::TransactionCanceled { reasons })
                if first_failed(&reasons) == Some(0) =>
            {
                self.inviter(t, &inviter.state).await
            }
            Err(e) => Err(e),
        }
    }

    async fn save_inviter(
        &self,
        t: &TenantId,
        inviter: &Inviter,
        expected: i64,
    ) -> Result<bool, StoreError> {
        self.fission_table()
            .put_if(inviter_item(t, inviter), &version_is(expected))
            .await
    }

    async fn leaders(
        &self,
        t: &TenantId,
        campaign: &str,
        limit: usize,
    ) -> Result<Vec<Inviter>, StoreError> {
        let table = self.fission_table();
        let queries = (0..BOARD_SHARDS).map(|shard| {
            table.query_up_to(
                Query::index(GSI2, board_pk(t, campaign, shard)).descending(),
                limit,
            )
        });
        let mut all = Vec::new();
        for items in futures::future::try_join_all(queries).await? {
            for item in items {
                all.push(item.json::<Inviter>("inviter")?);
            }
        }
        all.sort_by(|a, b| {
            b.progress
                .confirmed
                .cmp(&a.progress.confirmed)
                .then(b.progress.pending.cmp(&a.progress.pending))
                .then(a.created_at.cmp(&b.created_at))
        });
        all.truncate(limit);
        Ok(all)
    }

    async fn claim(
        &self,
        t: &TenantId,
        campaign: &str,
        invitee: &str,
    ) -> Result<Option<ClaimRecord>, StoreError> {
        self.fission_table()
            .get_consistent(claim_pk(t, invitee), campaign)
            .await?
            .map(|item| item.json("claim"))
            .transpose()
    }

    async fn claims_of(&self, t: &TenantId, invitee: &str) -> Result<Vec<ClaimRecord>, StoreError> {
        self.fission_table()
            .query_all(Query::partition(claim_pk(t, invitee)).consistent())
            .await?
            .iter()
            .map(|item| item.json("claim"))
            .collect()
    }

    async fn record_join(
        &self,
        t: &TenantId,
        claim: &ClaimRecord,
        inviter: &Inviter,
        inviter_version: i64,
        due: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<JoinWrite, StoreError> {
        let table = self.fission_table();
        let invitee = &claim.claim.invitee;
        let mut actions =
            vec![table.tx_put(claim_item(t, claim, Some(due)), &Cond::item_absent())?];
        if let Some(u) = &invitee.unionid {
            let item = attrs([
                (PK, s(union_pk(t, u))),
                (SK, s(&claim.campaign)),
                ("invitee", s(&invitee.external_userid)),
            ]);
            actions.push(table.tx_put(item, &Cond::item_absent())?);
        }
        let inviter_at = actions.len();
        actions.push(table.tx_put(inviter_item(t, inviter), &version_is(inviter_version))?);
        actions.push(
            self.stats_add(
                t,
                &claim.campaign,
                &invitee.external_userid,
                &[("counted", 1), ("pending", 1)],
            )
            .await?,
        );
        actions.extend(self.outbox_puts(events)?);
        match table.transact(actions).await {
            Ok(()) => Ok(JoinWrite::Written),
            Err(StoreError::TransactionCanceled { reasons }) => match first_failed(&reasons) {
                Some(0) => Ok(JoinWrite::Claimed(
                    self.claim(t, &claim.campaign, &invitee.external_userid)
                        .await?,
                )),
                Some(i) if i == inviter_at => Ok(JoinWrite::InviterMoved),
                Some(_) => Ok(JoinWrite::Claimed(None)),
                None => Err(StoreError::TransactionCanceled { reasons }),
            },
            Err(e) => Err(e),
        }
    }

    async fn record_refusal(
        &self,
        t: &TenantId,
        campaign: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let table = self.fission_table();
        let record = attrs([
            (PK, s(refusal_pk(t, event_id))),
            (SK, s(campaign)),
            (TTL, n(Utc::now().timestamp() + REFUSAL_TTL_SECS)),
        ]);
        let actions = vec![
            table.tx_put(record, &Cond::item_absent())?,
            self.stats_add(t, campaign, event_id, &[("refused", 1)])
                .await?,
        ];
        match table.transact(actions).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled { reasons })
                if first_failed(&reasons) == Some(0) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn settle_claim(
        &self,
        t: &TenantId,
        claim: &ClaimRecord,
        state: InviteeState,
        inviter: &Inviter,
        inviter_version: i64,
        events: &[EventEnvelope],
    ) -> Result<bool, StoreError> {
        let table = self.fission_table();
        let mut settled = claim.clone();
        settled.claim.state = state;
        let mut pending = Cond::item_exists();
        let c = pending.name("cstate");
        pending
            .when(format!("{c} = :pending"))
            .value(":pending", s("pending"));
        let moved = match state {
            InviteeState::Confirmed => "confirmed",
            InviteeState::Revoked => "revoked",
            InviteeState::Pending => return Ok(false),
        };
        let mut actions = vec![
            table.tx_put(claim_item(t, &settled, None), &pending)?,
            table.tx_put(inviter_item(t, inviter), &version_is(inviter_version))?,
            self.stats_add(
                t,
                &claim.campaign,
                &claim.claim.invitee.external_userid,
                &[("pending", -1), (moved, 1)],
            )
            .await?,
        ];
        actions.extend(self.outbox_puts(events)?);
        match table.transact(actions).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled { reasons })
                if first_failed(&reasons).is_some() =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn record_paid(
        &self,
        t: &TenantId,
        inviter: &Inviter,
        expected: i64,
        tier: usize,
        waited: bool,
        events: &[EventEnvelope],
    ) -> Result<bool, StoreError> {
        let table = self.fission_table();
        let paid = format!("paid_{tier}");
        let mut adds = vec![(paid.as_str(), 1)];
        if waited {
            adds.push(("waiting", -1));
        }
        let mut actions = vec![
            table.tx_put(inviter_item(t, inviter), &version_is(expected))?,
            self.stats_add(t, &inviter.campaign, &inviter.state, &adds)
                .await?,
        ];
        actions.extend(self.outbox_puts(events)?);
        match table.transact(actions).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled { reasons })
                if first_failed(&reasons).is_some() =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn due_claims(
        &self,
        shard: u32,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueClaim>, StoreError> {
        // Every sort key of a due time up to `until` sorts below this one ('#' < '~').
        let last = format!("{:012}~", until.timestamp());
        let items = self
            .fission_table()
            .query_up_to(
                Query::index(GSI1, due_pk(shard))
                    .sk_at_most(last)
                    .projection(GSI1_SK),
                limit,
            )
            .await?;
        items
            .iter()
            .map(|item| {
                let sk = item.s(GSI1_SK)?;
                let corrupt = || StoreError::Corrupt(format!("fission due entry {sk}"));
                let mut parts = sk.splitn(4, '#');
                let (Some(due), Some(t), Some(campaign), Some(invitee)) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(corrupt());
                };
                Ok(DueClaim {
                    tenant: TenantId::parse(t).map_err(|_| corrupt())?,
                    campaign: campaign.to_string(),
                    invitee: invitee.to_string(),
                    due: due
                        .parse::<i64>()
                        .ok()
                        .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
                        .ok_or_else(corrupt)?,
                })
            })
            .collect()
    }

    async fn owed_inviters(
        &self,
        shard: u32,
        limit: usize,
    ) -> Result<Vec<(TenantId, String)>, StoreError> {
        let items = self
            .fission_table()
            .query_up_to(
                Query::index(GSI1, owed_pk(shard)).projection(GSI1_SK),
                limit,
            )
            .await?;
        items
            .iter()
            .map(|item| {
                let sk = item.s(GSI1_SK)?;
                let corrupt = || StoreError::Corrupt(format!("fission owed entry {sk}"));
                let (t, state) = sk.split_once('#').ok_or_else(corrupt)?;
                Ok((
                    TenantId::parse(t).map_err(|_| corrupt())?,
                    state.to_string(),
                ))
            })
            .collect()
    }

    async fn record_waiting(
        &self,
        t: &TenantId,
        inviter: &Inviter,
        expected: i64,
    ) -> Result<bool, StoreError> {
        let table = self.fission_table();
        let actions = vec![
            table.tx_put(inviter_item(t, inviter), &version_is(expected))?,
            self.stats_add(t, &inviter.campaign, &inviter.state, &[("waiting", 1)])
                .await?,
        ];
        match table.transact(actions).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled { reasons })
                if first_failed(&reasons).is_some() =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn ended_campaigns(
        &self,
        shard: u32,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(TenantId, String)>, StoreError> {
        let last = format!("{:012}~", until.timestamp().max(0));
        let items = self
            .fission_table()
            .query_up_to(
                Query::index(GSI1, end_pk(shard))
                    .sk_at_most(last)
                    .projection(GSI1_SK),
                limit,
            )
            .await?;
        items
            .iter()
            .map(|item| {
                let sk = item.s(GSI1_SK)?;
                let corrupt = || StoreError::Corrupt(format!("fission end entry {sk}"));
                let mut parts = sk.splitn(3, '#');
                let (Some(_), Some(t), Some(id)) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(corrupt());
                };
                Ok((TenantId::parse(t).map_err(|_| corrupt())?, id.to_string()))
            })
            .collect()
    }

    async fn live_codes(
        &self,
        t: &TenantId,
        campaign: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for shard in 0..LIVE_SHARDS {
            if out.len() >= limit {
                break;
            }
            let items = self
                .fission_table()
                .query_up_to(
                    Query::partition(live_pk(t, campaign, shard)).consistent(),
                    limit - out.len(),
                )
                .await?;
            for item in items {
                out.push(item.s(SK)?.to_string());
            }
        }
        Ok(out)
    }

    async fn code_removed(
        &self,
        t: &TenantId,
        campaign: &str,
        state: &str,
    ) -> Result<(), StoreError> {
        let table = self.fission_table();
        let actions = vec![
            table.tx_delete_if(
                live_pk(t, campaign, shard_of(state, LIVE_SHARDS)),
                state,
                &Cond::item_exists(),
            )?,
            self.stats_add(t, campaign, state, &[("codes_removed", 1)])
                .await?,
        ];
        match table.transact(actions).await {
            Ok(()) => Ok(()),
            Err(StoreError::TransactionCanceled { reasons })
                if first_failed(&reasons) == Some(0) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn save_campaign_with_events(
        &self,
        t: &TenantId,
        c: &Campaign,
        expected: i64,
        events: &[EventEnvelope],
    ) -> Result<bool, StoreError> {
        let table = self.fission_table();
        let mut actions = vec![table.tx_put(campaign_item(t, c), &version_is(expected))?];
        actions.extend(self.outbox_puts(events)?);
        match table.transact(actions).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled { reasons })
                if first_failed(&reasons) == Some(0) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn outbox(
        &self,
        shard: u32,
        only: Option<&TenantId>,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let mut q = Query::partition(outbox_pk(shard)).consistent();
        if let Some(t) = only {
            q = q.sk_begins_with(format!("{t}#"));
        }
        self.fission_table()
            .query_up_to(q, limit)
            .await?
            .iter()
            .map(|item| item.json("event"))
            .collect()
    }

    async fn outbox_published(
        &self,
        shard: u32,
        events: &[EventEnvelope],
    ) -> Result<(), StoreError> {
        for e in events {
            self.fission_table()
                .delete(outbox_pk(shard), format!("{}#{}", e.tenant, e.event_id))
                .await?;
        }
        Ok(())
    }
}

impl DynamoGrowth {
    pub(super) fn fission_stats_add(
        &self,
        t: &TenantId,
        campaign: &str,
        shard_text: &str,
        adds: &[(&str, i64)],
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        self.fission_table().tx_update(
            stats_pk(t, campaign),
            stats_sk(shard_of(shard_text, STATS_SHARDS)),
            &counts(adds),
        )
    }
}

impl CustomerCards for DynamoDirectory {
    async fn customer_card(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> Result<Option<CustomerCard>, StoreError> {
        Ok(DirectoryRead::customer(self, t, external_userid)
            .await?
            .map(|c| CustomerCard {
                follower: c
                    .follow_users
                    .iter()
                    .find(|f| f.status == RelationStatus::Active)
                    .map(|f| f.userid.clone()),
                name: c.customer.name,
                avatar: c.customer.avatar,
                unionid: c.customer.unionid,
            }))
    }
}
