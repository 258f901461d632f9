//! The directory's administration (admin API): the ids look-ups accept, and requesting a
//! full re-sync (at most one job at work per tenant; asking again resumes a stalled one).
use super::resync::{JobStatus, ResyncJob, ResyncJobs};
use super::source::contact_credentials;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::tenants::admin::{registered, NotRegistered};
use crate::tenants::{TenantId, TenantLookup};
use chrono::{DateTime, Utc};

/// The longest id in a path, a query or a body: WeCom's ids are short; `#` separates key
/// parts.
pub const MAX_ID_LEN: usize = 128;
/// The most members one re-sync request names.
pub const MAX_RESYNC_USERIDS: usize = 10_000;

/// Why a directory administration request was refused.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryAdminError {
    /// An id that cannot be WeCom's.
    #[error("{0} must be 1 to {MAX_ID_LEN} characters without `#`")]
    InvalidId(&'static str),
    /// Too many members named.
    #[error("at most 10000 userids")]
    TooManyUserids,
    /// The tenant cannot read WeCom's contacts.
    #[error("the tenant has no customer-contact secret; a re-sync cannot read WeCom")]
    NoContactSecret,
    /// The re-sync could not be handed to its function: retry later.
    #[error("the re-sync could not be requested")]
    NotRequested,
    /// The tenant is not registered.
    #[error(transparent)]
    NotRegistered(#[from] NotRegistered),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DirectoryAdminError> for ApiError {
    fn from(e: DirectoryAdminError) -> Self {
        match e {
            DirectoryAdminError::InvalidId(_) | DirectoryAdminError::TooManyUserids => {
                ApiError::validation(e.to_string())
            }
            DirectoryAdminError::NoContactSecret => {
                ApiError::conflict("contact_secret_missing", e.to_string())
            }
            DirectoryAdminError::NotRequested => ApiError::unavailable(),
            DirectoryAdminError::NotRegistered(n) => n.into(),
            DirectoryAdminError::Store(s) => s.into(),
        }
    }
}

/// `raw` if it can be one of WeCom's ids (`what` names it in the error).
pub fn valid_id(raw: &str, what: &'static str) -> Result<String, DirectoryAdminError> {
    if raw.is_empty()
        || raw.chars().count() > MAX_ID_LEN
        || raw.contains('#')
        || raw.chars().any(char::is_control)
    {
        return Err(DirectoryAdminError::InvalidId(what));
    }
    Ok(raw.to_string())
}

/// A requested re-sync: the job at work, and whether this request started it.
#[derive(Debug, Clone)]
pub struct ResyncRequested {
    /// The job.
    pub job: ResyncJob,
    /// `false`: an unfinished job was asked to continue instead.
    pub started: bool,
}

/// Starts a re-sync reading `userids`' customers too, or (if one is unfinished) asks it to
/// continue: there is at most one job at work per tenant, and requesting again is how a
/// stalled job is resumed. The request reaches the re-sync function as a domain event.
pub async fn request_resync<J, L, P>(
    jobs: &J,
    tenants: &L,
    publisher: &P,
    t: &TenantId,
    userids: &[String],
    now: DateTime<Utc>,
) -> Result<ResyncRequested, DirectoryAdminError>
where
    J: ResyncJobs,
    L: TenantLookup,
    P: EventPublisher,
{
    if userids.len() > MAX_RESYNC_USERIDS {
        return Err(DirectoryAdminError::TooManyUserids);
    }
    let mut userids = userids
        .iter()
        .map(|u| valid_id(u, "userid"))
        .collect::<Result<Vec<_>, _>>()?;
    // A member named twice is read once: each requested userid costs the job WeCom calls.
    userids.sort_unstable();
    userids.dedup();
    let tenant = registered::<_, DirectoryAdminError>(tenants, t).await?;
    if contact_credentials(&tenant).is_none() {
        return Err(DirectoryAdminError::NoContactSecret);
    }
    let unfinished = jobs
        .jobs(t, 5)
        .await?
        .items
        .into_iter()
        .find(|j| matches!(j.status, JobStatus::Pending | JobStatus::Running));
    let (job, started) = match unfinished {
        Some(job) => (job, false),
        None => {
            let job_id = ulid::Ulid::new().to_string();
            (jobs.create_job(t, &job_id, &userids, now).await?, true)
        }
    };
    let event = EventEnvelope::new(
        format!("resync:{}:{}", job.job_id, job.invocations),
        t.as_str(),
        now,
        DomainEvent::ResyncRequested {
            job_id: job.job_id.clone(),
        },
    );
    if let Err(e) = publisher.publish(&[event]).await {
        tracing::error!(error = %e, job_id = %job.job_id, "could not request the re-sync");
        return Err(DirectoryAdminError::NotRequested);
    }
    tracing::info!(job_id = %job.job_id, started, "re-sync requested");
    Ok(ResyncRequested { job, started })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_printable_and_without_the_key_separator() {
        assert_eq!(valid_id("wm1", "x").unwrap(), "wm1");
        for bad in ["", "a#b", "a\nb", &"x".repeat(129)] {
            let err = valid_id(bad, "chat_id").unwrap_err();
            assert_eq!(
                err.to_string(),
                "chat_id must be 1 to 128 characters without `#`"
            );
        }
    }
}
