//! Every minute, the codes whose rota may have changed by itself (a shift boundary, a capped
//! rota's midnight) are moved to the rota's choice of now, so that the first customer after
//! a boundary already reaches the new shift.
//!
//! Each active code records when its choice may next change ([`ChannelCode::rota_due`],
//! written with the code at create, edit, resume and whenever a choice is applied); the store
//! lists the codes of every tenant due up to now, so a run's cost follows the boundaries that
//! came, not the number of codes or tenants. Per due code: the code is read again (gone,
//! paused, or moved on by an edit or an add meanwhile: nothing to do), the choice of now is
//! computed as an add would (caps from today's figures), WeCom is called only when it differs
//! from the code's `on_duty`, and the code is saved with its next due time under a version
//! condition. Nothing leaves the index before its code was handled: a run that dies, or
//! WeCom asking to retry later, leaves the code due for the next minute, and doing it again
//! gives WeCom the same members (an update, not a create).
use super::admin::{choice_now, contact_way, rota_due, INVALID_PARAMETER};
use super::model::CodeStatus;
use super::ports::{GrowthStore, GrowthWeCom, RotaDue};
use crate::clock::Clock;
use crate::contacts::source::contact_credentials;
use crate::ports::StoreError;
use crate::sop::dispatch::Deadline;
use crate::tenants::{Tenant, TenantLookup};
use crate::wecom::api::{CorpCredentials, WeComError};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tracing::Instrument;

/// Most due codes read per run, evenly from the index's partitions (the rest are read by the
/// next minute's run).
pub const DUE_BATCH: usize = 4000;
/// Tenants worked at once (each tenant's codes one after the other, paced by the client).
const TENANTS_AT_ONCE: usize = 8;

/// What a run is asked: every tenant, or (operators, tests) one tenant's codes only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RotaInput {
    /// Only this tenant's codes (corp id).
    #[serde(default)]
    pub tenant: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RotaReport {
    /// Codes read from the due index (of the tenant asked for, if any).
    pub due: usize,
    /// Codes WeCom was given new members for.
    pub moved: usize,
    /// Codes whose choice had not changed: only their next due time was recorded.
    pub unchanged: usize,
    /// Entries with nothing to do: the code is gone, paused, or was moved on meanwhile.
    pub skipped: usize,
    /// Codes left due for the next run: WeCom busy or rate-limited, a timeout, the deadline.
    pub retry_later: usize,
    /// Codes taken out of the index without a move: WeCom no longer knows the code, or the
    /// tenant is gone or has no customer-contact secret.
    pub dropped: usize,
    /// Codes WeCom refused to move (a member it no longer knows...): left as they are until
    /// their next boundary, and logged.
    pub refused: usize,
    /// Codes whose store reads or writes failed (due again next run).
    pub failed: usize,
}

/// What became of one due code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    Moved,
    Unchanged,
    Skipped,
    RetryLater,
    Dropped,
    Refused,
}

impl RotaReport {
    fn count(&mut self, h: Result<Handled, StoreError>) {
        match h {
            Ok(Handled::Moved) => self.moved += 1,
            Ok(Handled::Unchanged) => self.unchanged += 1,
            Ok(Handled::Skipped) => self.skipped += 1,
            Ok(Handled::RetryLater) => self.retry_later += 1,
            Ok(Handled::Dropped) => self.dropped += 1,
            Ok(Handled::Refused) => self.refused += 1,
            Err(_) => self.failed += 1,
        }
    }

    fn add(&mut self, other: RotaReport) {
        self.due += other.due;
        self.moved += other.moved;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
        self.retry_later += other.retry_later;
        self.dropped += other.dropped;
        self.refused += other.refused;
        self.failed += other.failed;
    }
}

/// The minute's rota runner.
pub struct RotaRunner<S, W, T> {
    /// Codes, their due index, today's figures.
    pub store: S,
    /// WeCom (`update_contact_way`), paced per corp and API by the client.
    pub wecom: W,
    /// Tenants, with their customer-contact secrets.
    pub tenants: T,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl<S, W, T> RotaRunner<S, W, T>
where
    S: GrowthStore,
    W: GrowthWeCom,
    T: TenantLookup,
{
    /// Moves every due code to the rota's choice of now, stopping (between codes) once
    /// `deadline` has passed; the codes not reached stay due.
    pub async fn run(
        &self,
        input: &RotaInput,
        deadline: &dyn Deadline,
    ) -> Result<RotaReport, StoreError> {
        let now = self.clock.now();
        let mut by_tenant: BTreeMap<String, Vec<RotaDue>> = BTreeMap::new();
        for entry in self.store.rota_due(now, DUE_BATCH).await? {
            if input
                .tenant
                .as_deref()
                .is_none_or(|t| t == entry.tenant.as_str())
            {
                by_tenant
                    .entry(entry.tenant.to_string())
                    .or_default()
                    .push(entry);
            }
        }
        let mut report = RotaReport::default();
        let mut runs = futures::stream::iter(by_tenant.into_values().map(|entries| {
            let span = tracing::info_span!("rota_tenant", tenant = %entries[0].tenant);
            self.tenant_run(entries, now, deadline).instrument(span)
        }))
        .buffer_unordered(TENANTS_AT_ONCE);
        while let Some(r) = runs.next().await {
            report.add(r);
        }
        tracing::info!(?report, "rota run");
        Ok(report)
    }

    async fn tenant_run(
        &self,
        entries: Vec<RotaDue>,
        now: DateTime<Utc>,
        deadline: &dyn Deadline,
    ) -> RotaReport {
        let mut report = RotaReport {
            due: entries.len(),
            ..Default::default()
        };
        let tenant = match self.tenants.tenant(&entries[0].tenant).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "tenant unreadable; its codes stay due");
                report.failed = entries.len();
                return report;
            }
        };
        let creds = tenant.as_ref().and_then(contact_credentials);
        for entry in &entries {
            if deadline.passed() {
                report.retry_later += 1;
                continue;
            }
            let span = tracing::info_span!("rota_code", state = %entry.state);
            let handled = self
                .code_run(tenant.as_ref(), creds.as_ref(), entry, now)
                .instrument(span.clone())
                .await;
            if let Err(e) = &handled {
                span.in_scope(|| tracing::warn!(error = %e, "code not handled; due again"));
            }
            report.count(handled);
        }
        report
    }

    async fn code_run(
        &self,
        tenant: Option<&Tenant>,
        creds: Option<&CorpCredentials>,
        entry: &RotaDue,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let t = &entry.tenant;
        // Deleted: its index entry went with it (an eventually consistent read may still
        // list it).
        let Some(mut code) = self.store.code(t, &entry.state).await? else {
            return Ok(Handled::Skipped);
        };
        // Paused, or moved on by an edit, an add or an overlapping run since the listing.
        if code.status != CodeStatus::Active
            || code.config_id.is_none()
            || code.rota_due.is_none_or(|due| due > now)
        {
            return Ok(Handled::Skipped);
        }
        let version = code.version;
        let (Some(tenant), Some(creds)) = (tenant, creds) else {
            tracing::warn!(
                "tenant gone or without a customer-contact secret; code leaves the rota index"
            );
            code.rota_due = None;
            self.store.save_code(t, &code, version).await?;
            return Ok(Handled::Dropped);
        };
        let choice = choice_now(&self.store, t, &code, tenant, now).await?;
        if choice.members == code.on_duty {
            // The version stays: an edit read before this write still saves over it.
            code.rota_due = rota_due(&code, tenant, now);
            self.store.save_code(t, &code, version).await?;
            return Ok(Handled::Unchanged);
        }
        match self
            .wecom
            .update_contact_way(creds, &contact_way(&code, &choice.members))
            .await
        {
            Ok(()) => {
                tracing::info!(members = ?choice.members, duty = ?choice.duty, "rota applied to the code at its boundary");
                code.on_duty = choice.members;
                code.version = version + 1;
                code.updated_at = now;
                code.rota_due = rota_due(&code, tenant, now);
                // An edit or add in between wins: it applied its own choice to WeCom.
                self.store.save_code(t, &code, version).await?;
                Ok(Handled::Moved)
            }
            Err(e) if e.is_retryable() => {
                tracing::info!(error = %e, "WeCom asks to retry; the code stays due");
                Ok(Handled::RetryLater)
            }
            Err(WeComError::Api {
                errcode: INVALID_PARAMETER,
                ..
            }) => {
                tracing::warn!("WeCom no longer knows the code; it leaves the rota index");
                code.rota_due = None;
                self.store.save_code(t, &code, version).await?;
                Ok(Handled::Dropped)
            }
            Err(e) => {
                tracing::warn!(error = %e, "WeCom refused the rota's members; the code waits for its next boundary");
                // Trying every minute would repeat the refusal: the code keeps its members until its
                // next boundary.
                code.rota_due = rota_due(&code, tenant, now);
                self.store.save_code(t, &code, version).await?;
                Ok(Handled::Refused)
            }
        }
    }
}
