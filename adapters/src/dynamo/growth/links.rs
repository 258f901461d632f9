//! Tracked links in the tasks table, beside the other growth items (the layout is in
//! [`super::keys`] and docs/ARCHITECTURE.md, "Tracked links"):
//!
//! | Item | pk | sk | gsi1 (pk / sk) | gsi2 (pk / sk) |
//! |---|---|---|---|---|
//! | Link (`url`, `title`, `code_key`, …) | `{t}#TLINK#{link_id}` | `LINK` | | `{t}#TLINKS` / `{created:012}#{link_id}` |
//! | Code (`code` JSON: tenant, link, target, context) | `LCODE#{code}` | `CODE` | | |
//! | A code's local day (`clicks`, `identified`, `visitors`, `link`, `ctx`; TTL 400 days) | `{t}#LSTATS#{shard}` | `{date}#{code}` | | |
//! | A link's visitor of a local day (TTL 2 days) | `{t}#LVISIT#{link_id}#{date}#{visitor hash}` | `V` | | |
//! | A click noted for notification (TTL 2 days) | `{t}#LNOTE#{event id}` | `NOTE` | | |
//! | A staff member's notifications (`window_until`, `pending`) | `{t}#LNOTIFY#{staff}` | `STATE` | `LNOTIFYDUE#{shard}` / `{due:012}#{t}#{staff}` while clicks wait | |
//! | A click waiting to be told (`note` JSON) | `{t}#LNOTIFY#{staff}` | `N#{event id}` | | |
//!
//! A code is found by itself (the short URL names no tenant): its partition is the code's,
//! one item, read once per container and minute by the redirect.
use super::keys::STATS_SHARDS;
use super::DynamoGrowth;
use crate::dynamo::item::{json, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK, TTL};
use crate::dynamo::table::{PutOutcome, Query};
use crate::dynamo::update::{Cond, Update};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use scrm_core::links::ports::{Claim, ClickNote, MintOutcome, NotifyDue};
use scrm_core::links::{CodeDay, Link, LinkCode, LinkStore, SendContext, ShortCode, Visitor};
use scrm_core::ports::StoreError;
use scrm_core::tenants::TenantId;
use sha2::{Digest, Sha256};

/// A code's day lives about 400 days, as the channel codes' figures.
const STATS_TTL_SECS: i64 = 400 * 86_400;
/// A visitor's day marker outlives the local day it counts (any zone) with room.
const VISIT_TTL_SECS: i64 = 2 * 86_400;
/// A noted click's record outlives EventBridge's retries (24 hours) with room.
const NOTE_TTL_SECS: i64 = 2 * 86_400;
/// Partitions of the notifications' due index.
pub const NOTIFY_SHARDS: u32 = 16;

fn link_pk(t: &TenantId, link_id: &str) -> String {
    format!("{t}#TLINK#{link_id}")
}
const LINK_SK: &str = "LINK";
fn links_index(t: &TenantId) -> String {
    format!("{t}#TLINKS")
}
fn code_pk(code: &str) -> String {
    format!("LCODE#{code}")
}
const CODE_SK: &str = "CODE";
fn shard_of(text: &str, shards: u32) -> u32 {
    let d = Sha256::digest(text.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % shards
}
/// The partition of a code's days: by a hash of the code, so that a tenant's clicks spread
/// over 16 partitions and one code's day is one item.
fn stats_pk(t: &str, code: &str) -> String {
    format!("{t}#LSTATS#{:02}", shard_of(code, STATS_SHARDS))
}
/// A visitor's marker for a link and local day: a partition of its own (markers never
/// gather on one key).
fn visit_pk(t: &str, link_id: &str, date: NaiveDate, visitor: &Visitor) -> String {
    format!("{t}#LVISIT#{link_id}#{}#{}", date_key(date), visitor.key())
}
const VISIT_SK: &str = "V";
fn note_pk(t: &TenantId, event_id: &str) -> String {
    format!("{t}#LNOTE#{event_id}")
}
const NOTE_SK: &str = "NOTE";
fn notify_pk(t: &TenantId, staff: &str) -> String {
    format!("{t}#LNOTIFY#{staff}")
}
const STATE_SK: &str = "STATE";
fn pending_sk(event_id: &str) -> String {
    format!("N#{event_id}")
}
fn due_pk(t: &TenantId, staff: &str) -> String {
    format!(
        "LNOTIFYDUE#{:02}",
        shard_of(&format!("{t}#{staff}"), NOTIFY_SHARDS)
    )
}

fn now_secs() -> i64 {
    Utc::now().timestamp()
}

fn date_key(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn items<const N: usize>(pairs: [(&str, AttributeValue); N]) -> AttrMap {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn link_item(t: &TenantId, link: &Link) -> AttrMap {
    items([
        (PK, s(link_pk(t, &link.link_id))),
        (SK, s(LINK_SK)),
        (GSI2_PK, s(links_index(t))),
        (
            GSI2_SK,
            s(format!(
                "{:012}#{}",
                link.created_at.timestamp(),
                link.link_id
            )),
        ),
        ("link_id", s(&link.link_id)),
        ("url", s(&link.url)),
        ("title", s(&link.title)),
        ("created_at", s(link.created_at.to_rfc3339())),
        ("created_by", s(&link.created_by)),
        ("code_key", s(&link.code_key)),
        ("request_hash", s(&link.request_hash)),
    ])
}

fn link_of(item: &AttrMap) -> Result<Link, StoreError> {
    let created_at = DateTime::parse_from_rfc3339(item.s("created_at")?)
        .map_err(|e| StoreError::Corrupt(format!("link created_at: {e}")))?
        .with_timezone(&Utc);
    Ok(Link {
        link_id: item.s("link_id")?.to_string(),
        url: item.s("url")?.to_string(),
        title: item.s("title")?.to_string(),
        created_at,
        created_by: item.s("created_by")?.to_string(),
        code_key: item.s("code_key")?.to_string(),
        request_hash: item.s_opt("request_hash").unwrap_or_default().to_string(),
    })
}

impl LinkStore for DynamoGrowth {
    async fn create_link(&self, t: &TenantId, link: &Link) -> Result<Option<Link>, StoreError> {
        match self
            .table
            .put_or_get_old(link_item(t, link), &Cond::item_absent())
            .await?
        {
            PutOutcome::Written => Ok(None),
            PutOutcome::Blocked(Some(old)) => link_of(&old).map(Some),
            PutOutcome::Blocked(None) => self.link(t, &link.link_id).await,
        }
    }

    async fn link(&self, t: &TenantId, link_id: &str) -> Result<Option<Link>, StoreError> {
        self.table
            .get_consistent(link_pk(t, link_id), LINK_SK)
            .await?
            .as_ref()
            .map(link_of)
            .transpose()
    }

    async fn links(&self, t: &TenantId) -> Result<Vec<Link>, StoreError> {
        let found = self
            .table
            .query_all(Query::index(GSI2, links_index(t)).descending())
            .await?;
        found.iter().map(link_of).collect()
    }

    async fn put_code(&self, code: &LinkCode) -> Result<MintOutcome, StoreError> {
        let item = items([
            (PK, s(code_pk(code.code.as_str()))),
            (SK, s(CODE_SK)),
            ("code", json(code)),
        ]);
        let old = match self
            .table
            .put_or_get_old(item, &Cond::item_absent())
            .await?
        {
            PutOutcome::Written => return Ok(MintOutcome::Ready),
            PutOutcome::Blocked(Some(old)) => Some(old.json::<LinkCode>("code")?),
            PutOutcome::Blocked(None) => self.code(&code.code).await?,
        };
        // The same link and context minted again (a retried send): the stored code serves.
        Ok(match old {
            Some(old)
                if old.tenant == code.tenant
                    && old.link_id == code.link_id
                    && old.context == code.context =>
            {
                MintOutcome::Ready
            }
            _ => MintOutcome::Collision,
        })
    }

    async fn code(&self, code: &ShortCode) -> Result<Option<LinkCode>, StoreError> {
        // Eventually consistent: half the read's cost, and a code is read long after it was
        // minted (it has to be sent first).
        self.table
            .get(code_pk(code.as_str()), CODE_SK)
            .await?
            .map(|item| item.json("code"))
            .transpose()
    }

    async fn count_click(
        &self,
        code: &LinkCode,
        date: NaiveDate,
        identified: bool,
        visitor: &Visitor,
    ) -> Result<bool, StoreError> {
        // The marker first (conditional: a failed condition costs its write too), so the
        // day's counter takes the click and the new visitor in one update.
        let marker = items([
            (PK, s(visit_pk(&code.tenant, &code.link_id, date, visitor))),
            (SK, s(VISIT_SK)),
            (TTL, n(now_secs() + VISIT_TTL_SECS)),
        ]);
        let new_visitor = match self.table.put_new(marker).await {
            Ok(new) => new,
            Err(e) => {
                // The click still counts; the visitor does not (never twice).
                tracing::warn!(error = %e, "visitor marker not written");
                false
            }
        };
        let mut u = Update::new();
        u.add("clicks", 1)
            .set_if_not_exists("link", s(&code.link_id))
            .set_if_not_exists("ctx", json(&code.context))
            .set_if_not_exists(TTL, n(now_secs() + STATS_TTL_SECS));
        if identified {
            u.add("identified", 1);
        }
        if new_visitor {
            u.add("visitors", 1);
        }
        self.table
            .update(
                stats_pk(&code.tenant, code.code.as_str()),
                format!("{}#{}", date_key(date), code.code),
                &u,
            )
            .await?;
        Ok(new_visitor)
    }

    async fn click_days(
        &self,
        t: &TenantId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CodeDay>, StoreError> {
        let (lo, hi) = (date_key(from), format!("{}#~", date_key(to)));
        let queries = (0..STATS_SHARDS).map(|shard| {
            self.table.query_all(
                Query::partition(format!("{t}#LSTATS#{shard:02}"))
                    .sk_between(lo.clone(), hi.clone()),
            )
        });
        let mut out = Vec::new();
        for item in futures::future::try_join_all(queries)
            .await?
            .into_iter()
            .flatten()
        {
            let sk = item.s(SK)?;
            let (date, code) = sk
                .split_once('#')
                .ok_or_else(|| StoreError::Corrupt(format!("link day {sk}")))?;
            let context: SendContext = item.json("ctx").unwrap_or_default();
            out.push(CodeDay {
                date: date.to_string(),
                code: code.to_string(),
                link_id: item.s_opt("link").unwrap_or_default().to_string(),
                context,
                clicks: item.n_opt("clicks")?.unwrap_or(0),
                identified: item.n_opt("identified")?.unwrap_or(0),
                visitors: item.n_opt("visitors")?.unwrap_or(0),
            });
        }
        Ok(out)
    }

    async fn note_click(
        &self,
        t: &TenantId,
        staff: &str,
        note: &ClickNote,
    ) -> Result<bool, StoreError> {
        let expires = n(now_secs() + NOTE_TTL_SECS);
        let record = items([
            (PK, s(note_pk(t, &note.event_id))),
            (SK, s(NOTE_SK)),
            (TTL, expires.clone()),
        ]);
        let pending = items([
            (PK, s(notify_pk(t, staff))),
            (SK, s(pending_sk(&note.event_id))),
            ("note", json(note)),
            (TTL, expires),
        ]);
        let mut state = Update::new();
        state
            .add("pending", 1)
            .set_if_not_exists(GSI1_PK, s(due_pk(t, staff)))
            .set_if_not_exists(
                GSI1_SK,
                s(format!("{:012}#{t}#{staff}", note.at.timestamp().max(0))),
            );
        let actions = vec![
            self.table.tx_put(record, &Cond::item_absent())?,
            self.table.tx_put(pending, &Cond::new())?,
            self.table
                .tx_update(notify_pk(t, staff), STATE_SK, &state)?,
        ];
        self.count_once(actions).await
    }

    async fn claim_window(
        &self,
        t: &TenantId,
        staff: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let mut u = Update::new();
        u.set("window_until", n(until.timestamp_millis()));
        let w = u.name("window_until");
        u.value(":now", n(now.timestamp_millis()))
            .when(format!("attribute_not_exists({w}) OR {w} <= :now"));
        if !self.table.update(notify_pk(t, staff), STATE_SK, &u).await? {
            return Ok(Claim::Busy);
        }
        let found = self
            .table
            .query_all(
                Query::partition(notify_pk(t, staff))
                    .sk_begins_with("N#")
                    .consistent(),
            )
            .await?;
        let notes = found
            .iter()
            .map(|item| item.json::<ClickNote>("note"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Claim::Claimed(notes))
    }

    async fn notes_sent(
        &self,
        t: &TenantId,
        staff: &str,
        event_ids: &[String],
    ) -> Result<(), StoreError> {
        let pk = notify_pk(t, staff);
        for chunk in event_ids.chunks(8) {
            futures::future::try_join_all(
                chunk
                    .iter()
                    .map(|id| self.table.delete(pk.clone(), pending_sk(id))),
            )
            .await?;
        }
        let sent = i64::try_from(event_ids.len()).unwrap_or(i64::MAX);
        // Out of the flush's index only when nothing else waits: a click noted meanwhile
        // keeps the member due.
        let mut last = Update::new();
        last.add("pending", -sent).remove(GSI1_PK).remove(GSI1_SK);
        let p = last.name("pending");
        last.value(":sent", n(sent))
            .when(format!("attribute_not_exists({p}) OR {p} <= :sent"));
        if !self.table.update(pk.clone(), STATE_SK, &last).await? {
            let mut some = Update::new();
            some.add("pending", -sent);
            self.table.update(pk, STATE_SK, &some).await?;
        }
        Ok(())
    }

    async fn release_window(
        &self,
        t: &TenantId,
        staff: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.remove("window_until");
        let w = u.name("window_until");
        u.value(":ours", n(until.timestamp_millis()))
            .when(format!("{w} = :ours"));
        self.table.update(notify_pk(t, staff), STATE_SK, &u).await?;
        Ok(())
    }

    async fn notify_due(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<NotifyDue>, StoreError> {
        let last = format!("{:012}~", until.timestamp());
        let per_shard = limit.div_ceil(NOTIFY_SHARDS as usize).max(1);
        let queries = (0..NOTIFY_SHARDS).map(|shard| {
            self.table.query_up_to(
                Query::index(GSI1, format!("LNOTIFYDUE#{shard:02}"))
                    .sk_at_most(last.clone())
                    .projection(GSI1_SK),
                per_shard,
            )
        });
        let mut out = Vec::new();
        for item in futures::future::try_join_all(queries)
            .await?
            .into_iter()
            .flatten()
        {
            let sk = item.s(GSI1_SK)?;
            let mut parts = sk.splitn(3, '#');
            let (Some(_), Some(t), Some(staff)) = (parts.next(), parts.next(), parts.next()) else {
                tracing::warn!(sk, "unreadable notification due entry");
                continue;
            };
            match TenantId::parse(t) {
                Ok(tenant) => out.push(NotifyDue {
                    tenant,
                    staff: staff.to_string(),
                }),
                Err(_) => tracing::warn!(sk, "unreadable notification due entry"),
            }
        }
        Ok(out)
    }
}
