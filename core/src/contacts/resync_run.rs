//! One invocation's share of a re-sync job, as `ResyncRequested` (from the admin API or from
//! the previous run) asks for it: the tenant and its credentials are resolved, the job runs
//! for a bounded time ([`super::resync`]), checkpointing after every WeCom page, and when
//! work is left `ResyncRequested` is published again to continue where it stopped.
use super::ports::{DirectoryRead, DirectoryWrite};
use super::resync::{Resync, ResyncError, ResyncJob, ResyncJobs, RunBudget, RunOutcome};
use super::source::{contact_credentials, DirectorySource};
use crate::clock::Clock;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher, PublishError};
use crate::ports::{MayRetry, StoreError};
use crate::tags::TagMirror;
use crate::tenants::{TenantId, TenantLookup};
use std::time::{Duration, Instant};

/// How much one invocation does.
#[derive(Debug, Clone, Copy)]
pub struct ResyncSettings {
    /// Stop starting WeCom pages after this long (the function's timeout must leave room
    /// for the page in flight).
    pub run_for: Duration,
    /// Stop after this many pages (tests use it to interrupt a job).
    pub max_pages: Option<u32>,
    /// Groups per `groupchat/list` page.
    pub group_page_size: u32,
    /// Records per `batch/get_by_user` page.
    pub customer_page_size: u32,
}

impl Default for ResyncSettings {
    fn default() -> Self {
        Self {
            run_for: Duration::from_secs(600),
            max_pages: None,
            group_page_size: 100,
            customer_page_size: 100,
        }
    }
}

impl ResyncSettings {
    /// The lease a run takes on its job. It outlives the run by a margin, so that a crashed
    /// run's job is taken over soon after, never during, a live run.
    pub fn lease_ms(&self) -> i64 {
        (self.run_for + Duration::from_secs(60)).as_millis() as i64
    }

    /// The budget of a run starting now.
    pub fn budget(&self) -> RunBudget {
        RunBudget {
            deadline: Instant::now() + self.run_for,
            max_pages: self.max_pages,
            group_page_size: self.group_page_size,
            customer_page_size: self.customer_page_size,
        }
    }
}

/// Why an invocation failed, said so that Lambda knows whether retrying can help:
/// `Retryable` (WeCom or DynamoDB unavailable; the job resumes from its checkpoint) or
/// `Permanent` (malformed event, unknown tenant, bad credentials).
#[derive(Debug, thiserror::Error)]
pub enum ResyncRunError {
    /// A later attempt may succeed.
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help.
    #[error("{0}")]
    Permanent(String),
}

impl MayRetry for ResyncRunError {
    fn is_retryable(&self) -> bool {
        matches!(self, ResyncRunError::Retryable(_))
    }
}

impl From<StoreError> for ResyncRunError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(_) => ResyncRunError::Permanent(e.to_string()),
            other => ResyncRunError::Retryable(other.to_string()),
        }
    }
}

impl From<ResyncError> for ResyncRunError {
    fn from(e: ResyncError) -> Self {
        if e.is_retryable() {
            ResyncRunError::Retryable(e.to_string())
        } else {
            ResyncRunError::Permanent(e.to_string())
        }
    }
}

impl From<PublishError> for ResyncRunError {
    fn from(e: PublishError) -> Self {
        ResyncRunError::Retryable(e.to_string())
    }
}

/// How an invocation's run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ran {
    /// The job is finished.
    Done(ResyncJob),
    /// The budget ran out with work left; `ResyncRequested` was published to continue.
    Continued(ResyncJob),
    /// The job is finished already or held by another run: nothing to do.
    NotRunnable,
}

/// A requested run: the ports it needs, borrowed, and the invocation's budget.
pub struct RequestedResync<'a, T, D, M, S, P> {
    /// Tenants (for the customer-contact secret).
    pub tenants: &'a T,
    /// The directory and its jobs.
    pub dir: &'a D,
    /// The corp tag mirror.
    pub tags: &'a M,
    /// WeCom's API.
    pub source: &'a S,
    /// Where `ResyncRequested` goes to continue a job.
    pub publisher: &'a P,
    /// Time.
    pub clock: &'a dyn Clock,
    /// Budget per invocation.
    pub settings: ResyncSettings,
}

impl<T, D, M, S, P> RequestedResync<'_, T, D, M, S, P>
where
    T: TenantLookup,
    D: ResyncJobs + DirectoryWrite + DirectoryRead,
    M: TagMirror,
    S: DirectorySource,
    P: EventPublisher,
{
    /// Runs job `job_id` of tenant `tenant` (as the event names them) for one bounded run.
    pub async fn run(&self, tenant: &str, job_id: &str) -> Result<Ran, ResyncRunError> {
        let t = TenantId::parse(tenant)
            .map_err(|e| ResyncRunError::Permanent(format!("tenant `{tenant}`: {e}")))?;
        let tenant = self
            .tenants
            .tenant(&t)
            .await?
            .ok_or_else(|| ResyncRunError::Permanent(format!("unknown tenant {t}")))?;
        let creds = contact_credentials(&tenant)
            .ok_or_else(|| ResyncRunError::Permanent(ResyncError::NoCredentials.to_string()))?;
        let resync = Resync {
            dir: self.dir,
            tags: self.tags,
            source: self.source,
            creds: &creds,
            tenant: &t,
            events: self.publisher,
        };
        let budget = self.settings.budget();
        let now = self.clock.now();
        let outcome = match resync
            .run(job_id, now, self.settings.lease_ms(), budget)
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(error = %e, retryable = e.is_retryable(), "re-sync run failed");
                return Err(e.into());
            }
        };
        match outcome {
            RunOutcome::Done(job) => Ok(Ran::Done(job)),
            RunOutcome::Continue(job) => {
                let next = EventEnvelope::new(
                    format!("resync:{job_id}:{}", job.invocations),
                    t.as_str(),
                    now,
                    DomainEvent::ResyncRequested {
                        job_id: job_id.to_string(),
                    },
                );
                self.publisher.publish(&[next]).await?;
                Ok(Ran::Continued(job))
            }
            RunOutcome::NotRunnable => {
                tracing::info!("job finished or held by another run; nothing to do");
                Ok(Ran::NotRunnable)
            }
            RunOutcome::NotFound => Err(ResyncRunError::Permanent(format!("no job {job_id}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_outlives_the_run_by_a_minute() {
        let s = ResyncSettings {
            run_for: Duration::from_secs(30),
            ..ResyncSettings::default()
        };
        assert_eq!(s.lease_ms(), 90_000);
        assert_eq!(ResyncSettings::default().lease_ms(), 660_000);
    }

    #[test]
    fn only_a_corrupt_item_or_a_permanent_failure_is_not_retried() {
        assert!(ResyncRunError::from(StoreError::ConditionFailed).is_retryable());
        assert!(!ResyncRunError::from(StoreError::Corrupt("x".into())).is_retryable());
        assert!(!ResyncRunError::from(ResyncError::NoCredentials).is_retryable());
        let publish = PublishError::Partial {
            failed: 1,
            total: 1,
        };
        assert!(ResyncRunError::from(publish).is_retryable());
    }
}
