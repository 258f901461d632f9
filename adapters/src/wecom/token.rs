//! Credentials and access tokens, and where tokens are cached (also the jsapi tickets and
//! the official account's token, which live and are fetched the same way).
//!
//! WeCom tokens are per secret (per app) and live 7200 s. A serverless fleet that refreshes
//! per container churns tokens and hits 45009, so tokens are shared through a
//! [`TokenCache`] (DynamoDB in production), with an in-process layer in the client in front
//! of it. Refreshes are coordinated with a short conditional lease so that one container
//! refreshes while the others wait for its token.
//!
//! A cached token grants API access to the corp, so the shared copy is sealed like the
//! tenant's secrets (`scrm_core::secrets`): only a container with the key service can put
//! or read one.
use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{PK, SK};
use crate::dynamo::sealed::SealedAttrs;
use crate::dynamo::{Cond, Db, StoreError, Table, Update};
use futures::future::BoxFuture;
use scrm_core::secrets::{KeyService, SealContext};
use scrm_core::wecom::api::{TokenKey, WeComError};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

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
/// The plain token of items written before tokens were sealed: never read, dropped by the
/// next put or invalidation.
const ATTR_PLAIN_TOKEN: &str = "token";
/// The sealed token.
const TOKEN: SealedAttrs = SealedAttrs {
    ciphertext: "token_sealed",
    wrapped_key: "token_key",
};
/// A fingerprint of the token (16 hex digits of its SHA-256): what an invalidation compares,
/// since the sealed bytes differ at every seal.
const ATTR_TOKEN_FP: &str = "token_fp";
const ATTR_EXPIRES_AT: &str = "expires_at";
const ATTR_LEASE_UNTIL: &str = "lease_until";
const ATTR_TTL: &str = "ttl";
/// How long an item outlives its token or lease before DynamoDB's TTL may delete it.
const TTL_GRACE_SECS: i64 = 24 * 3600;

/// Tokens shared by every container through the tenants table: item `pk = {corp_id}`,
/// `sk = TOKEN#{secret fingerprint}` with the sealed token (`token_sealed`, `token_key`), its
/// fingerprint `token_fp`, `expires_at` (epoch s), `ttl`, and while a refresh is in flight,
/// `lease_until`.
#[derive(Clone, Debug)]
pub struct DynamoTokenCache {
    table: Table,
    keys: Arc<dyn KeyService>,
}

fn token_fingerprint(token: &AccessToken) -> String {
    hex::encode(&Sha256::digest(token.expose().as_bytes())[..8])
}

impl DynamoTokenCache {
    /// A cache in `tenants_table`, sealing tokens with `keys`.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        tenants_table: String,
        keys: Arc<dyn KeyService>,
    ) -> Self {
        Self {
            table: Table::new(client, tenants_table),
            keys,
        }
    }

    /// A cache in the handle's tenants table with the handle's key service; `None` if the
    /// handle has none (such a function may not hold access tokens).
    pub fn from_db(db: &Db) -> Option<Self> {
        let keys = db.secret_keys()?.clone();
        Some(Self::new(
            db.client.clone(),
            db.tables.tenants.clone(),
            keys,
        ))
    }

    /// Applies `u` to the token item: `Ok(false)` if its condition failed.
    async fn update(&self, key: &TokenKey, u: &Update) -> Result<bool, WeComError> {
        self.table
            .update(key.corp_id(), key.sort_key(), u)
            .await
            .map_err(cache_error)
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
            let item = self
                .table
                .get_consistent(key.corp_id(), key.sort_key())
                .await
                .map_err(cache_error)?;
            let Some(item) = item else {
                return Ok(None);
            };
            // An item with no sealed token (none yet, invalidated, or a plain one written
            // before sealing) holds nothing to use.
            let context = SealContext::cached(key.corp_id(), key.seal_purpose());
            let Some(token) = TOKEN
                .open_from(self.keys.as_ref(), &context, &item)
                .await
                .map_err(cache_error)?
            else {
                return Ok(None);
            };
            let token = String::from_utf8(token)
                .map_err(|_| cache_error(StoreError::Corrupt("token is not text".into())))?;
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
            let mut item: AttrMap = item::item([
                (PK, s(key.corp_id())),
                (SK, s(key.sort_key())),
                (ATTR_TOKEN_FP, s(token_fingerprint(&token.token))),
                (ATTR_EXPIRES_AT, n(token.expires_at)),
                (ATTR_TTL, n(token.expires_at + TTL_GRACE_SECS)),
            ]);
            let context = SealContext::cached(key.corp_id(), key.seal_purpose());
            TOKEN
                .seal_into(
                    self.keys.as_ref(),
                    &context,
                    token.token.expose().as_bytes(),
                    &mut item,
                )
                .await
                .map_err(cache_error)?;
            // Never replace a sealed token that lives longer (a peer's later refresh); a
            // plain one from before sealing is replaced whatever its expiry.
            let mut longer_lived = Cond::new();
            let exp = longer_lived.name(ATTR_EXPIRES_AT);
            let sealed = longer_lived.name(TOKEN.ciphertext);
            longer_lived
                .value(":exp", n(token.expires_at))
                .when(format!(
                "attribute_not_exists({exp}) OR {exp} <= :exp OR attribute_not_exists({sealed})"
            ));
            // A failed condition (a longer-lived token is stored) is fine.
            self.table
                .put_if(item, &longer_lived)
                .await
                .map(|_| ())
                .map_err(cache_error)
        })
    }

    fn invalidate<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<(), WeComError>> {
        Box::pin(async move {
            // Keep the item (and any lease on it); drop only the rejected token.
            let mut u = Update::new();
            u.remove(TOKEN.ciphertext)
                .remove(TOKEN.wrapped_key)
                .remove(ATTR_TOKEN_FP)
                .remove(ATTR_PLAIN_TOKEN)
                .remove(ATTR_EXPIRES_AT);
            let fp = u.name(ATTR_TOKEN_FP);
            u.value(":fp", s(token_fingerprint(token)))
                .when(format!("{fp} = :fp"));
            // A failed condition (another token is stored by now) is fine.
            self.update(key, &u).await.map(|_| ())
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
            let mut u = Update::new();
            u.set(ATTR_LEASE_UNTIL, n(lease_until))
                .set_if_not_exists(ATTR_TTL, n(lease_until + TTL_GRACE_SECS));
            let lease = u.name(ATTR_LEASE_UNTIL);
            let exp = u.name(ATTR_EXPIRES_AT);
            let sealed = u.name(TOKEN.ciphertext);
            // A plain token from before sealing is never read, so it counts as no token.
            u.value(":now", n(now))
                .value(":fresh", n(fresh_until))
                .when(format!(
                    "(attribute_not_exists({lease}) OR {lease} < :now) \
                     AND (attribute_not_exists({exp}) OR {exp} < :fresh \
                     OR attribute_not_exists({sealed}))"
                ));
            self.update(key, &u).await
        })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a TokenKey,
        lease_until: i64,
    ) -> BoxFuture<'a, Result<(), WeComError>> {
        Box::pin(async move {
            let mut u = Update::new();
            u.remove(ATTR_LEASE_UNTIL);
            let lease = u.name(ATTR_LEASE_UNTIL);
            u.value(":until", n(lease_until))
                .when(format!("{lease} = :until"));
            // A failed condition (the lease is no longer ours) is fine.
            self.update(key, &u).await.map(|_| ())
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
