//! Envelope encryption of secrets at rest (tenant secrets, cached WeCom access tokens).
//!
//! Each sealed value has its own data key: a fresh 256-bit key from the [`KeyService`]
//! (KMS `GenerateDataKey` deployed, a key-encryption key from the environment locally)
//! seals the value with AES-256-GCM, and the key service's wrapped copy of the data key is
//! stored beside the ciphertext. Opening needs the key service to unwrap the data key, so a
//! function that is given no key service (and, deployed, no `kms:Decrypt`) cannot read a
//! secret even though it can read the item.
//!
//! The [`SealContext`] (tenant and purpose) is bound to both layers: it is KMS's encryption
//! context and AES-GCM's associated data, so a sealed value copied onto another tenant's
//! item, or from a token item onto a profile, does not open.
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use futures::future::BoxFuture;
use rand::RngCore;
use std::fmt;

/// The bytes of a nonce (96 bits, AES-GCM's standard size).
const NONCE_LEN: usize = 12;

/// A 256-bit data key in the clear. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainKey([u8; 32]);

impl PlainKey {
    /// Wraps key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from a slice that must be 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SealError> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SealError::Corrupt("a data key must be 32 bytes".into()))?;
        Ok(Self(bytes))
    }

    /// A fresh random key.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key bytes, for the one cipher that uses them.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainKey(***)")
    }
}

/// A fresh data key: the clear key to seal with, and the key service's wrapped copy to
/// store beside the ciphertext.
#[derive(Debug, Clone)]
pub struct DataKey {
    /// The key in the clear; used once and dropped.
    pub plain: PlainKey,
    /// The key wrapped by the key service (KMS ciphertext blob).
    pub wrapped: Vec<u8>,
}

/// What a sealed value belongs to, bound into its encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealContext {
    /// The tenant (corp id).
    pub tenant: String,
    /// What the value is (`tenant-secrets`, `access-token`).
    pub purpose: &'static str,
}

impl SealContext {
    /// A tenant's secrets (profile item).
    pub fn tenant_secrets(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_string(),
            purpose: "tenant-secrets",
        }
    }

    /// A cached WeCom access token of a tenant.
    pub fn access_token(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_string(),
            purpose: "access-token",
        }
    }

    /// A cached credential of a tenant (access token, jsapi ticket) whose kind names the
    /// purpose (`TokenKey::seal_purpose`).
    pub fn cached(tenant: &str, purpose: &'static str) -> Self {
        Self {
            tenant: tenant.to_string(),
            purpose,
        }
    }

    /// A tenant's WeChat official-account secret.
    pub fn official_account(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_string(),
            purpose: "official-account-secret",
        }
    }

    /// The associated data AES-GCM authenticates.
    fn aad(&self) -> Vec<u8> {
        format!("scrm:{}:{}", self.purpose, self.tenant).into_bytes()
    }
}

/// Sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key service could not be reached or refused (permissions, throttling).
    #[error("key service: {0}")]
    KeyService(String),
    /// The sealed value or its wrapped key does not open: tampered, truncated, sealed for
    /// another tenant or purpose, or under another key.
    #[error("sealed value does not open: {0}")]
    Corrupt(String),
}

/// Generates and unwraps data keys: the crypto port. Implemented by KMS in AWS and by a
/// key-encryption key from the environment locally (`scrm_adapters::crypto`).
pub trait KeyService: Send + Sync + fmt::Debug {
    /// A fresh data key for `context` (KMS `GenerateDataKey`).
    fn generate_data_key<'a>(
        &'a self,
        context: &'a SealContext,
    ) -> BoxFuture<'a, Result<DataKey, SealError>>;

    /// The clear data key of a wrapped one sealed for `context` (KMS `Decrypt`).
    fn decrypt_data_key<'a>(
        &'a self,
        wrapped: &'a [u8],
        context: &'a SealContext,
    ) -> BoxFuture<'a, Result<PlainKey, SealError>>;
}

/// A sealed value as stored: the wrapped data key and `nonce ‖ ciphertext ‖ tag`.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The data key, wrapped by the key service.
    pub wrapped_key: Vec<u8>,
    /// The nonce followed by the AES-256-GCM ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.ciphertext.len())
    }
}

/// AES-256-GCM under `key` with a random nonce: `nonce ‖ ciphertext ‖ tag`.
pub fn encrypt(key: &PlainKey, context: &SealContext, plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.expose().into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let aad = context.aad();
    let payload = Payload {
        msg: plaintext,
        aad: &aad,
    };
    // Encryption only fails for inputs beyond AES-GCM's limit (64 GiB).
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), payload)
        .unwrap_or_else(|_| unreachable!("AES-GCM input far below its limit"));
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Opens what [`encrypt`] made with the same key and context.
pub fn decrypt(
    key: &PlainKey,
    context: &SealContext,
    ciphertext: &[u8],
) -> Result<Vec<u8>, SealError> {
    if ciphertext.len() < NONCE_LEN + 16 {
        return Err(SealError::Corrupt("too short".into()));
    }
    let (nonce, body) = ciphertext.split_at(NONCE_LEN);
    let aad = context.aad();
    Aes256Gcm::new(key.expose().into())
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: &aad,
            },
        )
        .map_err(|_| SealError::Corrupt("authentication failed".into()))
}

/// Seals `plaintext` under a fresh data key.
pub async fn seal(
    keys: &dyn KeyService,
    context: &SealContext,
    plaintext: &[u8],
) -> Result<Sealed, SealError> {
    let data_key = keys.generate_data_key(context).await?;
    Ok(Sealed {
        ciphertext: encrypt(&data_key.plain, context, plaintext),
        wrapped_key: data_key.wrapped,
    })
}

/// Opens a sealed value.
pub async fn open(
    keys: &dyn KeyService,
    context: &SealContext,
    sealed: &Sealed,
) -> Result<Vec<u8>, SealError> {
    let key = keys.decrypt_data_key(&sealed.wrapped_key, context).await?;
    decrypt(&key, context, &sealed.ciphertext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_under_its_key_and_context() {
        let key = PlainKey::random();
        let ctx = SealContext::tenant_secrets("ww0001");
        let sealed = encrypt(&key, &ctx, b"contact-SECRET");
        assert!(!sealed.windows(6).any(|w| w == b"SECRET"));
        assert_eq!(decrypt(&key, &ctx, &sealed).unwrap(), b"contact-SECRET");
        // Another tenant, another purpose, another key: refused.
        assert!(decrypt(&key, &SealContext::tenant_secrets("ww0002"), &sealed).is_err());
        assert!(decrypt(&key, &SealContext::access_token("ww0001"), &sealed).is_err());
        assert!(decrypt(&PlainKey::random(), &ctx, &sealed).is_err());
        // Any flipped byte: refused.
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 1;
            assert!(decrypt(&key, &ctx, &tampered).is_err(), "byte {i}");
        }
        assert!(decrypt(&key, &ctx, &sealed[..10]).is_err());
    }

    #[test]
    fn nonces_differ_between_seals() {
        let key = PlainKey::random();
        let ctx = SealContext::access_token("ww0001");
        assert_ne!(encrypt(&key, &ctx, b"t"), encrypt(&key, &ctx, b"t"));
    }

    #[test]
    fn keys_are_never_printed() {
        let key = PlainKey::new([7u8; 32]);
        let shown = format!(
            "{key:?} {:?}",
            DataKey {
                plain: key.clone(),
                wrapped: vec![1]
            }
        );
        assert!(!shown.contains('7'), "{shown}");
    }
}
