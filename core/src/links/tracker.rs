//! Minting tracked short links where features send links (welcome messages, SOP pushes):
//! object safe, so that a sender holds one (`Arc<dyn LinkTracker>`) without another type
//! parameter, and a deployment without the redirect function sends links as they are.
use super::admin::{track_url, Target};
use super::model::SendContext;
use super::ports::LinkStore;
use crate::tenants::Tenant;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

/// Makes a link sent in a context a tracked short link.
pub trait LinkTracker: Send + Sync {
    /// The short URL of `target` sent in `context`; none when it cannot be tracked (no
    /// redirect configured, not an http(s) URL, the store failing): the caller then sends
    /// the URL as it is, since a link that is sent untracked is better than no link.
    fn track<'a>(
        &'a self,
        tenant: &'a Tenant,
        target: Target<'a>,
        context: SendContext,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Option<String>>;
}

/// Where no redirect is deployed: links go as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTracking;

impl LinkTracker for NoTracking {
    fn track<'a>(
        &'a self,
        _tenant: &'a Tenant,
        _target: Target<'a>,
        _context: SendContext,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, Option<String>> {
        Box::pin(async { None })
    }
}

/// Short links under the redirect function's public base (`LINKS_BASE_URL`), minted in the
/// store. The same URL in the same context always gives the same short link, so a resend
/// of a message sends the very same text.
pub struct StoreTracker<S> {
    /// Links and codes.
    pub store: S,
    /// The redirect function's public base.
    pub base: String,
}

impl<S: LinkStore> LinkTracker for StoreTracker<S> {
    fn track<'a>(
        &'a self,
        tenant: &'a Tenant,
        target: Target<'a>,
        context: SendContext,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let tz = &tenant.settings.timezone;
            match track_url(
                &self.store,
                &tenant.id,
                tz,
                &self.base,
                target,
                context,
                now,
            )
            .await
            {
                Ok(short) => Some(short),
                Err(e) => {
                    tracing::warn!(error = %e, "link sent untracked");
                    None
                }
            }
        })
    }
}
