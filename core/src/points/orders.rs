//! Orders that change many balances at once (admin API): award, deduct or clear for many
//! customers, an award to every member of chosen groups, and CSV imports. Each becomes a
//! bulk request ([`super::bulk`]): small ones run inline, large ones as resumable jobs, and
//! a retried order answers what the first one did.
use super::admin::{reason, when_for, PointsAdminError};
use super::bulk::{submit, BulkAnswer, BulkRequest};
use super::import;
use super::jobs::{fingerprint, JobItem, JobOp};
use super::model::{CustomerId, IdempotencyKey, Origin, Points};
use super::ports::{JobStore, LedgerStore, Memberships, RulesStore};
use crate::events::EventPublisher;
use crate::tenants::{TenantId, TenantLookup};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashSet};

/// The most customers one bulk order names.
pub const MAX_BULK_CUSTOMERS: usize = 100_000;
/// The most groups one group award names.
pub const MAX_GROUPS: usize = 500;

/// Award, deduct or clear for many customers.
#[derive(Debug, Clone)]
pub struct BulkOrder {
    /// Award, deduct or clear.
    pub operation: JobOp,
    /// The customers, as given (duplicates are ignored).
    pub external_userids: Vec<String>,
    /// Points per customer (none for clear).
    pub points: Option<i64>,
    /// Why.
    pub reason: Option<String>,
    /// The order's idempotency key.
    pub key: IdempotencyKey,
}

/// An award to every current member of some groups.
#[derive(Debug, Clone)]
pub struct GroupAward {
    /// The groups.
    pub chat_ids: Vec<String>,
    /// Points per customer.
    pub points: i64,
    /// Why.
    pub reason: Option<String>,
    /// The order's idempotency key.
    pub key: IdempotencyKey,
}

/// What became of an order, and what the order was.
#[derive(Debug, Clone)]
pub struct Ordered<T> {
    /// Inline results or the job.
    pub answer: BulkAnswer,
    /// What the order amounted to (duplicates ignored, groups, file).
    pub about: T,
}

/// The groups and customers a group award reached.
#[derive(Debug, Clone)]
pub struct Reached {
    /// The groups, sorted.
    pub groups: Vec<String>,
    /// Their customers, once each.
    pub customers: usize,
}

/// The file an import read.
#[derive(Debug, Clone)]
pub struct ImportedFile {
    /// SHA-256 of the file (hex).
    pub file_sha256: String,
    /// Its data rows.
    pub rows: usize,
}

/// The ports orders use: the ledger, the directory, tenants and the event bus.
pub struct Orders<'a, S, M, L, P> {
    /// The ledger.
    pub points: &'a S,
    /// Who the customers and groups are.
    pub directory: &'a M,
    /// Tenants (timezone).
    pub tenants: &'a L,
    /// Domain events (jobs).
    pub publisher: &'a P,
}

impl<S, M, L, P> Orders<'_, S, M, L, P>
where
    S: LedgerStore + JobStore + RulesStore,
    M: Memberships,
    L: TenantLookup,
    P: EventPublisher,
{
    /// Runs a bulk order; `about`: how many duplicate ids were ignored.
    pub async fn bulk(
        &self,
        tenant: &TenantId,
        operator: &str,
        order: BulkOrder,
        now: DateTime<Utc>,
    ) -> Result<Ordered<usize>, PointsAdminError> {
        let invalid = |m: &str| PointsAdminError::Invalid(m.to_string());
        let op = order.operation;
        if op == JobOp::Import {
            return Err(invalid(
                "operation must be award, deduct or clear (imports go to /v1/points/imports)",
            ));
        }
        let amount = match (op, order.points) {
            (JobOp::Clear, None) => 0,
            (JobOp::Clear, Some(_)) => return Err(invalid("points must not be given for clear")),
            (_, Some(p)) => Points::new(p)
                .map_err(|e| PointsAdminError::Invalid(e.to_string()))?
                .get(),
            (_, None) => return Err(invalid("points is required")),
        };
        let given = order.external_userids.len();
        if given == 0 || given > MAX_BULK_CUSTOMERS {
            return Err(PointsAdminError::Invalid(format!(
                "external_userids: 1 to {MAX_BULK_CUSTOMERS} customers"
            )));
        }
        let mut seen = HashSet::new();
        let mut customers = Vec::new();
        let mut bad = Vec::new();
        for raw in &order.external_userids {
            match CustomerId::parse(raw) {
                Ok(c) => {
                    if seen.insert(c.clone()) {
                        customers.push(c);
                    }
                }
                Err(_) => bad.push(raw.clone()),
            }
        }
        if !bad.is_empty() {
            return Err(PointsAdminError::InvalidIds(bad));
        }
        let reason = reason(order.reason, "manual")?;
        // Awards go to known customers only (a typo must not create an account).
        let known = if op == JobOp::Award {
            Some(self.directory.known_customers(tenant, &customers).await?)
        } else {
            None
        };
        let item_key = format!("bulk:{}", order.key.as_str());
        let items: Vec<JobItem> = customers
            .iter()
            .map(|c| JobItem {
                external_userid: c.to_string(),
                points: amount,
                key: item_key.clone(),
                line: None,
                reason: None,
                reject: match &known {
                    Some(k) if !k.contains(c) => Some("unknown_customer".into()),
                    _ => None,
                },
            })
            .collect();
        let sorted: BTreeSet<&str> = customers.iter().map(CustomerId::as_str).collect();
        let ids = sorted.into_iter().collect::<Vec<_>>().join(",");
        let fp = fingerprint(&[op.as_str(), &amount.to_string(), &reason, &ids]);
        let when = when_for(self.tenants, tenant, now).await?;
        let request = BulkRequest {
            op,
            items,
            origin: Origin::new(reason, "admin-api:bulk", operator),
            request_key: item_key,
            fingerprint: fp,
            keys_forever: false,
        };
        let answer = submit(self.points, self.publisher, tenant, request, when).await?;
        tracing::info!(
            operation = op.as_str(),
            customers = customers.len(),
            "bulk points request"
        );
        Ok(Ordered {
            answer,
            about: given - customers.len(),
        })
    }

    /// Awards `points` to every current member of the groups (each customer once).
    pub async fn group_award(
        &self,
        tenant: &TenantId,
        operator: &str,
        order: GroupAward,
        now: DateTime<Utc>,
    ) -> Result<Ordered<Reached>, PointsAdminError> {
        let amount =
            Points::new(order.points).map_err(|e| PointsAdminError::Invalid(e.to_string()))?;
        let chats: BTreeSet<String> = order
            .chat_ids
            .iter()
            .map(|c| c.trim().to_string())
            .collect();
        if chats.is_empty()
            || chats.len() > MAX_GROUPS
            || chats
                .iter()
                .any(|c| c.is_empty() || c.chars().count() > 128)
        {
            return Err(PointsAdminError::Invalid(format!(
                "chat_ids: 1 to {MAX_GROUPS} group ids"
            )));
        }
        let reason = reason(order.reason, "group award")?;
        let mut members = BTreeSet::new();
        let mut unknown = Vec::new();
        for chat in &chats {
            match self.directory.group_customers(tenant, chat).await? {
                Some(list) => members.extend(list),
                None => unknown.push(chat.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(PointsAdminError::UnknownGroups(unknown));
        }
        let item_key = format!("group:{}", order.key.as_str());
        let items: Vec<JobItem> = members
            .iter()
            .map(|c| JobItem {
                external_userid: c.to_string(),
                points: amount.get(),
                key: item_key.clone(),
                line: None,
                reason: None,
                reject: None,
            })
            .collect();
        let chat_list = chats.iter().cloned().collect::<Vec<_>>().join(",");
        let fp = fingerprint(&[
            "group-award",
            &amount.get().to_string(),
            &reason,
            &chat_list,
        ]);
        let when = when_for(self.tenants, tenant, now).await?;
        let count = items.len();
        let request = BulkRequest {
            op: JobOp::Award,
            items,
            origin: Origin::new(reason, "admin-api:group-award", operator),
            request_key: item_key,
            fingerprint: fp,
            keys_forever: false,
        };
        let answer = submit(self.points, self.publisher, tenant, request, when).await?;
        tracing::info!(groups = chats.len(), customers = count, "group award");
        Ok(Ordered {
            answer,
            about: Reached {
                groups: chats.into_iter().collect(),
                customers: count,
            },
        })
    }

    /// Imports a CSV file (see [`import`]): its rows' keys are kept forever, so the same
    /// file applies once whenever it is sent again.
    pub async fn import(
        &self,
        tenant: &TenantId,
        operator: &str,
        file: &[u8],
        reason_given: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Ordered<ImportedFile>, PointsAdminError> {
        let parsed = import::parse(file)?;
        let reason = reason(reason_given, "import")?;
        let candidates: Vec<CustomerId> = parsed
            .rows
            .iter()
            .filter(|r| r.problem.is_none())
            .filter_map(|r| r.customer())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let known = self.directory.known_customers(tenant, &candidates).await?;
        let items: Vec<JobItem> = parsed
            .rows
            .iter()
            .map(|r| {
                let reject = match (r.problem, r.customer()) {
                    (Some(p), _) => Some(p.code().to_string()),
                    (None, Some(c)) if !known.contains(&c) => Some("unknown_customer".into()),
                    _ => None,
                };
                JobItem {
                    external_userid: r.external_userid.clone(),
                    points: r.points.map(Points::get).unwrap_or(0),
                    key: r.key.clone(),
                    line: Some(r.line),
                    reason: r.reason.clone(),
                    reject,
                }
            })
            .collect();
        let when = when_for(self.tenants, tenant, now).await?;
        let request = BulkRequest {
            op: JobOp::Import,
            items,
            origin: Origin::new(reason, format!("import:{}", &parsed.sha256[..16]), operator),
            request_key: format!("import:{}", parsed.sha256),
            fingerprint: fingerprint(&[&parsed.sha256]),
            keys_forever: true,
        };
        let answer = submit(self.points, self.publisher, tenant, request, when).await?;
        tracing::info!(rows = parsed.rows.len(), file = %&parsed.sha256[..16], "points import");
        Ok(Ordered {
            answer,
            about: ImportedFile {
                rows: parsed.rows.len(),
                file_sha256: parsed.sha256,
            },
        })
    }
}
