//! Credentials and access tokens, and where tokens are cached.
//!
//! WeCom tokens are per secret (per app) and live 7200 s. A serverless fleet that refreshes
//! per container churns tokens and hits 45009, so tokens are shared through a
//! [`TokenCache`] (DynamoDB in production), with an in-process layer in the client in front
//! of it. Refreshes are coordinated with a short conditional lease so that one container
//! refreshes while the others wait for its token.
use crate::dynamo::item::{n, s, ItemExt};
use crate::dynamo::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::BoxFuture;
use scrm_core::wecom::api::{TokenKey, WeComError};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// A WeCom access token. Never printed: it grants API access to the corp.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the query string of a call.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

/// A token with the instant it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedToken {
    /// The token.
    pub token: AccessToken,
    /// When WeCom stops accepting it (epoch seconds).
    pub expires_at: i64,
}

/// Where access tokens are shared between containers.
///
/// Implementations must be cheap to call concurrently; the client adds its own in-process
/// layer in front, so `get` is called only when the in-process copy is missing or due for
/// refresh.
pub trait TokenCache: Send + Sync {
    /// The stored token for `key`, if any (possibly expired: the caller checks).
    fn get<'a>(
        &'a self,
        key: &'a TokenKey,
    ) -> BoxFuture<'a, Result<Option<CachedToken>, WeComError>>;

    /// Stores a freshly fetched token and releases any refresh lease. A token that expires
    /// earlier than the stored one does not replace it.
    fn put<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a CachedToken,
    ) -> BoxFuture<'a, Result<(), WeComError>>;

    /// Forgets `token` after WeCom rejected it, unless another token already replaced it
    /// (so a late invalidation never drops a fresher token).
    fn invalidate<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<(), WeComError>>;

    /// Claims the right to refresh `key` until `lease_until` (epoch s). Refused (`false`) when
    /// another holder's lease runs past `now`, or when a token valid until at least
    /// `fresh_until` is already stored (someone refreshed in the meantime).
    fn try_lease<'a>(
        &'a self,
        key: &'a TokenKey,
        now: i64,
        lease_until: i64,
        fresh_until: i64,
    ) -> BoxFuture<'a, Result<bool, WeComError>>;

    /// Gives up a lease taken with [`TokenCache::try_lease`] whose refresh failed, so that
    /// others need not wait for it to run out.
    fn release_lease<'a>(
        &'a self,
        key: &'a TokenKey,
        lease_until: i64,
    ) -> BoxFuture<'a, Result<(), WeComError>>;
}

#[derive(Default, Debug)]
struct MemoryEntry {
    token: Option<CachedToken>,
    lease_until: Option<i64>,
}

/// A process-local [`TokenCache`]: for tools and single-process runs where there is no
/// fleet to share tokens with, and for tests.
#[derive(Default, Debug)]
pub struct MemoryTokenCache {
    entries: Mutex<HashMap<TokenKey, MemoryEntry>>,
}

impl MemoryTokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<TokenKey, MemoryEntry>) -> R) -> R {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

impl TokenCache for MemoryTokenCache {
    fn get<'a>(
        &'a self,
        key: &'a TokenKey,
    ) -> BoxFuture<'a, Result<Option<CachedToken>, WeComError>> {
        let found = self.with(|m| m.get(key).and_then(|e| e.token.clone()));
        Box::pin(async move { Ok(found) })
    }

    fn put<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a CachedToken,
    ) -> BoxFuture<'a, Result<(), WeComError>> {
        self.with(|m| {
            let entry = m.entry(key.clone()).or_default();
            let newer = entry
                .token
                .as_ref()
                .is_none_or(|old| old.expires_at <= token.expires_at);
            if newer {
                entry.token = Some(token.clone());
            }
            entry.lease_until = None;
        });
        Box::pin(async { Ok(()) })
    }

    fn invalidate<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<(), WeComError>> {
        self.with(|m| {
            if let Some(entry) = m.get_mut(key) {
                if entry.token.as_ref().is_some_and(|t| &t.token == token) {
                    entry.token = None;
                }
            }
        });
        Box::pin(async { Ok(()) })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a TokenKey,
        now: i64,
        lease_until: i64,
        fresh_until: i64,
    ) -> BoxFuture<'a, Result<bool, WeComError>> {
        let won = self.with(|m| {
            let entry = m.entry(key.clone()).or_default();
            let leased = entry.lease_until.is_some_and(|l| l >= now);
            let fresh = entry
                .token
                .as_ref()
                .is_some_and(|t| t.expires_at >= fresh_until);
            if leased || fresh {
                false
            } else {
                entry.lease_until = Some(lease_until);
                true
            }
        });
        Box::pin(async move { Ok(won) })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a TokenKey,
        lease_until: i64,
    ) -> BoxFuture<'a, Result<(), WeComError>> {
        self.with(|m| {
            if let Some(entry) = m.get_mut(key) {
                if entry.lease_until == Some(lease_until) {
                    entry.lease_until = None;
                }
            }
        });
        Box::pin(async { Ok(()) })
    }
}

/// Attribute names of the token item in the tenants table.
const ATTR_TOKEN: &str = "token";
const ATTR_EXPIRES_AT: &str = "expires_at";
const ATTR_LEASE_UNTIL: &str = "lease_until";
const ATTR_TTL: &str = "ttl";
/// How long an item outlives its token or lease before DynamoDB's TTL may delete it.
const TTL_GRACE_SECS: i64 = 24 * 3600;

/// Tokens shared by every container through the tenants table: item `pk = {corp_id}`,
/// `sk = TOKEN#{secret fingerprint}` with `token`, `expires_at` (epoch s), `ttl`, and while a
/// refresh is in flight, `lease_until`.
#[derive(Clone, Debug)]
pub struct DynamoTokenCache {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoTokenCache {
    /// A cache in `tenants_table`.
    pub fn new(client: aws_sdk_dynamodb::Client, tenants_table: String) -> Self {
        Self {
            client,
            table: tenants_table,
        }
    }

    fn key_attrs(key: &TokenKey) -> [(&'static str, AttributeValue); 2] {
        [("pk", s(key.corp_id())), ("sk", s(key.sort_key()))]
    }
}

fn cache_error(err: StoreError) -> WeComError {
    WeComError::TokenCache(Box::new(err))
}

impl TokenCache for DynamoTokenCache {
    fn get<'a>(
        &'a self,
        key: &'a TokenKey,
    ) -> BoxFuture<'a, Result<Option<CachedToken>, WeComError>> {
        Box::pin(async move {
            let [pk, sk] = Self::key_attrs(key);
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(pk.0, pk.1)
                .key(sk.0, sk.1)
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| cache_error(crate::dynamo::from_sdk(e)))?;
            let Some(item) = out.item else {
                return Ok(None);
            };
            let Some(token) = item.s_opt(ATTR_TOKEN) else {
                return Ok(None);
            };
            let expires_at = item.n(ATTR_EXPIRES_AT).map_err(cache_error)?;
            Ok(Some(CachedToken {
                token: AccessToken::new(token),
                expires_at,
            }))
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a CachedToken,
    ) -> BoxFuture<'a, Result<(), WeComError>> {
        Box::pin(async move {
            let [pk, sk] = Self::key_attrs(key);
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(pk.0, pk.1)
                .item(sk.0, sk.1)
                .item(ATTR_TOKEN, s(token.token.expose()))
                .item(ATTR_EXPIRES_AT, n(token.expires_at))
                .item(ATTR_TTL, n(token.expires_at + TTL_GRACE_SECS))
                // Never replace a token that lives longer (a peer's later refresh).
                .condition_expression("attribute_not_exists(#exp) OR #exp <= :exp")
                .expression_attribute_names("#exp", ATTR_EXPIRES_AT)
                .expression_attribute_values(":exp", n(token.expires_at))
                .send()
                .await;
            match result.map_err(crate::dynamo::from_sdk) {
                Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
                Err(e) => Err(cache_error(e)),
            }
        })
    }

    fn invalidate<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<(), WeComError>> {
        Box::pin(async move {
            let [pk, sk] = Self::key_attrs(key);
            // Keep the item (and any lease on it); drop only the rejected token.
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(pk.0, pk.1)
                .key(sk.0, sk.1)
                .update_expression("REMOVE #tok, #exp")
                .condition_expression("#tok = :tok")
                .expression_attribute_names("#tok", ATTR_TOKEN)
                .expression_attribute_names("#exp", ATTR_EXPIRES_AT)
                .expression_attribute_values(":tok", s(token.expose()))
                .send()
                .await;
            match result.map_err(crate::dynamo::from_sdk) {
                Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
                Err(e) => Err(cache_error(e)),
            }
        })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a TokenKey,
        now: i64,
        lease_until: i64,
        fresh_until: i64,
    ) -> BoxFuture<'a, Result<bool, WeComError>> {
        Box::pin(async move {
            let [pk, sk] = Self::key_attrs(key);
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(pk.0, pk.1)
                .key(sk.0, sk.1)
                .update_expression("SET #lease = :until, #ttl = if_not_exists(#ttl, :ttl)")
                .condition_expression(
                    "(attribute_not_exists(#lease) OR #lease < :now) \
                     AND (attribute_not_exists(#exp) OR #exp < :fresh)",
                )
                .expression_attribute_names("#lease", ATTR_LEASE_UNTIL)
                .expression_attribute_names("#ttl", ATTR_TTL)
                .expression_attribute_names("#exp", ATTR_EXPIRES_AT)
                .expression_attribute_values(":until", n(lease_until))
                .expression_attribute_values(":ttl", n(lease_until + TTL_GRACE_SECS))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":fresh", n(fresh_until))
                .send()
                .await;
            match result.map_err(crate::dynamo::from_sdk) {
                Ok(_) => Ok(true),
                Err(StoreError::ConditionFailed) => Ok(false),
                Err(e) => Err(cache_error(e)),
            }
        })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a TokenKey,
        lease_until: i64,
    ) -> BoxFuture<'a, Result<(), WeComError>> {
        Box::pin(async move {
            let [pk, sk] = Self::key_attrs(key);
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(pk.0, pk.1)
                .key(sk.0, sk.1)
                .update_expression("REMOVE #lease")
                .condition_expression("#lease = :until")
                .expression_attribute_names("#lease", ATTR_LEASE_UNTIL)
                .expression_attribute_values(":until", n(lease_until))
                .send()
                .await;
            match result.map_err(crate::dynamo::from_sdk) {
                Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
                Err(e) => Err(cache_error(e)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scrm_core::wecom::api::CorpCredentials;

    #[test]
    fn token_key_uses_a_short_fingerprint_and_never_the_secret() {
        let creds = CorpCredentials::new("wwcorp", "s3cr3t", None);
        let key = creds.token_key();
        assert_eq!(key.corp_id(), "wwcorp");
        assert_eq!(key.fingerprint().len(), 16);
        assert!(key.sort_key().starts_with("TOKEN#"));
        assert!(!key.sort_key().contains("s3cr3t"));
        assert_ne!(
            key,
            CorpCredentials::new("wwcorp", "other", None).token_key()
        );
        let debug = format!("{creds:?} {:?}", AccessToken::new("tok"));
        assert!(!debug.contains("s3cr3t") && !debug.contains("tok\""));
    }

    #[tokio::test]
    async fn memory_cache_leases_once_and_keeps_fresher_tokens() {
        let cache = MemoryTokenCache::new();
        let key = CorpCredentials::new("wwcorp", "s", None).token_key();
        assert!(cache.try_lease(&key, 100, 110, 400).await.unwrap());
        assert!(!cache.try_lease(&key, 101, 111, 401).await.unwrap());
        let fresh = CachedToken {
            token: AccessToken::new("a"),
            expires_at: 7300,
        };
        cache.put(&key, &fresh).await.unwrap();
        // Lease released by put, but the stored token is fresh: no new lease.
        assert!(!cache.try_lease(&key, 102, 112, 402).await.unwrap());
        let older = CachedToken {
            token: AccessToken::new("b"),
            expires_at: 7000,
        };
        cache.put(&key, &older).await.unwrap();
        assert_eq!(cache.get(&key).await.unwrap(), Some(fresh.clone()));
        // A stale invalidation does nothing; the right one drops the token.
        cache
            .invalidate(&key, &AccessToken::new("b"))
            .await
            .unwrap();
        assert!(cache.get(&key).await.unwrap().is_some());
        cache
            .invalidate(&key, &AccessToken::new("a"))
            .await
            .unwrap();
        assert!(cache.get(&key).await.unwrap().is_none());
    }
}
