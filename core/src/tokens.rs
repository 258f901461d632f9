//! Signed, expiring tokens bound to a tenant and a subject: how a customer's H5 page
//! proves who it is to the customer API, and how a staff member's reminder link opens
//! their own task list. HMAC-SHA256 over the claims; no server-side state.
//!
//! Format: `kid "." base64url(claims JSON) "." base64url(HMAC-SHA256(key, kid "." claims))`.
//! The key id names the [`SigningKeys`] entry that signed it, so keys can be rotated: the
//! first key signs, every listed key verifies, and a token whose key is no longer listed
//! (or never was) is refused.
use crate::config::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Who a token is for. Part of the signed claims, so a staff link cannot be replayed as a
/// customer token or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A customer (subject = external_userid).
    Customer,
    /// A staff member's session (subject = WeCom userid).
    Staff,
    /// A staff member's reminder link (subject = WeCom userid): only exchanged, once, for
    /// a staff session.
    StaffLink,
    /// A tracked link's visitor identified through the official account (subject = the
    /// external_userid, empty when the WeChat user is no customer): the redirect's cookie,
    /// never a customer token.
    LinkVisitor,
}

/// What a token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The tenant (corp id).
    pub tenant: String,
    /// The customer's external_userid or the staff member's userid.
    pub subject: String,
    /// Customer or staff.
    pub kind: TokenKind,
    /// Expiry, epoch seconds.
    pub expires_at: i64,
}

/// Why a token was refused. Deliberately coarse towards callers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not shaped like a token, or its signature does not match.
    #[error("invalid token")]
    Invalid,
    /// Valid but expired.
    #[error("token expired")]
    Expired,
    /// Valid but for the other kind of user.
    #[error("token is not for this kind of user")]
    WrongKind,
}

type HmacSha256 = Hmac<Sha256>;

/// The key id a bare `TOKEN_SIGNING_KEYS` value (one secret, no `kid=`) is known by.
pub const DEFAULT_KEY_ID: &str = "k0";
/// The shortest signing secret accepted.
pub const MIN_SECRET_LEN: usize = 16;

/// One signing key and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SigningKey {
    id: String,
    secret: Secret,
}

/// The token signing keys: the first signs, all verify. During a rotation the new key is
/// listed first and the previous one after it, until every token the previous key signed
/// has expired; then it is removed. Never printed (the secrets are [`Secret`]s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeys {
    keys: Vec<SigningKey>,
}

/// A signing key list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningKeysError {
    /// Nothing listed.
    #[error("no signing key listed")]
    Empty,
    /// A key id is not 1 to 32 letters, digits, `-` or `_`, or is listed twice.
    #[error("signing key id `{0}` is invalid or listed twice (1-32 letters, digits, - or _)")]
    BadId(String),
    /// A secret is shorter than [`MIN_SECRET_LEN`].
    #[error("signing key `{0}` is shorter than 16 characters")]
    TooShort(String),
}

impl SigningKeys {
    /// One key (tests, tools).
    pub fn single(id: &str, secret: Secret) -> Result<Self, SigningKeysError> {
        Self::from_pairs([(id.to_string(), secret)])
    }

    /// Parses `kid=secret,kid=secret` (the first signs). A bare secret without `=` (the
    /// format before key ids) is the one key [`DEFAULT_KEY_ID`].
    pub fn parse(spec: &str) -> Result<Self, SigningKeysError> {
        let spec = spec.trim();
        if !spec.is_empty() && !spec.contains('=') {
            return Self::single(DEFAULT_KEY_ID, Secret::new(spec));
        }
        Self::from_pairs(
            spec.split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(|entry| {
                    let (id, secret) = entry.split_once('=').unwrap_or((entry, ""));
                    (id.trim().to_string(), Secret::new(secret.trim()))
                }),
        )
    }

    fn from_pairs(
        pairs: impl IntoIterator<Item = (String, Secret)>,
    ) -> Result<Self, SigningKeysError> {
        let mut keys: Vec<SigningKey> = Vec::new();
        for (id, secret) in pairs {
            let id_ok = (1..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !id_ok || keys.iter().any(|k| k.id == id) {
                return Err(SigningKeysError::BadId(id));
            }
            if secret.expose().len() < MIN_SECRET_LEN {
                return Err(SigningKeysError::TooShort(id));
            }
            keys.push(SigningKey { id, secret });
        }
        if keys.is_empty() {
            return Err(SigningKeysError::Empty);
        }
        Ok(Self { keys })
    }

    /// Reads `TOKEN_SIGNING_KEYS`. Only the functions that sign or verify tokens read it
    /// (and are given it).
    pub fn from_env() -> Result<Self, crate::config::ConfigError> {
        let spec = std::env::var("TOKEN_SIGNING_KEYS")
            .map_err(|_| crate::config::ConfigError("TOKEN_SIGNING_KEYS must be set".into()))?;
        Self::parse(&spec)
            .map_err(|e| crate::config::ConfigError(format!("TOKEN_SIGNING_KEYS: {e}")))
    }

    /// The id of the key that signs new tokens.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    fn current(&self) -> &SigningKey {
        &self.keys[0]
    }

    fn find(&self, id: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

fn mac(key: &SigningKey, signed_part: &str) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key.secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(signed_part.as_bytes());
    mac
}

/// Issues a token for the claims (a [`Claims`], or a claims type that flattens one in),
/// signed with the current key and carrying its id.
pub fn issue<T: Serialize>(keys: &SigningKeys, claims: &T) -> String {
    let key = keys.current();
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let signed_part = format!("{}.{}", key.id, URL_SAFE_NO_PAD.encode(json));
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &signed_part).finalize().into_bytes());
    format!("{signed_part}.{signature}")
}

/// A short tag of `data` (32 hex digits of its HMAC with the current key), for values a
/// third party carries that may hold only letters and digits (WeChat's OAuth `state`, at
/// most 128 bytes). Distinct from every token's signature (the signed text differs).
pub fn tag(keys: &SigningKeys, data: &str) -> String {
    tag_with(keys.current(), data)
}

fn tag_with(key: &SigningKey, data: &str) -> String {
    let full = mac(key, &format!("tag\n{data}")).finalize().into_bytes();
    hex::encode(&full[..16])
}

/// Whether `tag` is [`tag`] of `data` under any listed key.
pub fn tag_matches(keys: &SigningKeys, data: &str, tag: &str) -> bool {
    keys.keys.iter().any(|k| {
        let want = tag_with(k, data);
        // Constant time: compare every byte.
        want.len() == tag.len()
            && want
                .bytes()
                .zip(tag.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

/// Verifies a token's key id, signature, kind and expiry, returning its claims. A token
/// signed by a key that is not listed (any more) is [`TokenError::Invalid`].
pub fn verify(
    keys: &SigningKeys,
    token: &str,
    kind: TokenKind,
    now: DateTime<Utc>,
) -> Result<Claims, TokenError> {
    verify_as(keys, token, kind, now, |claims: &Claims| claims)
}

/// [`verify`] for a claims type `T` that carries a [`Claims`] (`claims_of` finds it).
pub fn verify_as<T: serde::de::DeserializeOwned>(
    keys: &SigningKeys,
    token: &str,
    kind: TokenKind,
    now: DateTime<Utc>,
    claims_of: impl Fn(&T) -> &Claims,
) -> Result<T, TokenError> {
    let (signed_part, signature) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
    let (kid, payload) = signed_part.split_once('.').ok_or(TokenError::Invalid)?;
    let key = keys.find(kid).ok_or(TokenError::Invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Invalid)?;
    // Constant-time comparison.
    mac(key, signed_part)
        .verify_slice(&signature)
        .map_err(|_| TokenError::Invalid)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Invalid)?;
    let token: T = serde_json::from_slice(&json).map_err(|_| TokenError::Invalid)?;
    let claims = claims_of(&token);
    if claims.kind != kind {
        return Err(TokenError::WrongKind);
    }
    if claims.expires_at <= now.timestamp() {
        return Err(TokenError::Expired);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claims(kind: TokenKind, expires_at: i64) -> Claims {
        Claims {
            tenant: "ww0001".into(),
            subject: "wmCustomer1".into(),
            kind,
            expires_at,
        }
    }

    fn keys(spec: &str) -> SigningKeys {
        SigningKeys::parse(spec).unwrap()
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let key = keys(&format!("k1={}", "k".repeat(32)));
        let now = Utc::now();
        let t = issue(&key, &claims(TokenKind::Customer, now.timestamp() + 60));
        assert_eq!(
            verify(&key, &t, TokenKind::Customer, now).unwrap().subject,
            "wmCustomer1"
        );
        let later = now + chrono::Duration::seconds(61);
        assert_eq!(
            verify(&key, &t, TokenKind::Customer, later),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn kinds_and_keys_are_not_interchangeable() {
        let key = keys(&format!("k1={}", "k".repeat(32)));
        let now = Utc::now();
        let t = issue(&key, &claims(TokenKind::Staff, now.timestamp() + 60));
        assert_eq!(
            verify(&key, &t, TokenKind::Customer, now),
            Err(TokenError::WrongKind)
        );
        // Same key id, other secret.
        let other = keys(&format!("k1={}", "x".repeat(32)));
        assert_eq!(
            verify(&other, &t, TokenKind::Staff, now),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn old_key_tokens_verify_while_it_is_listed_and_fail_once_removed() {
        let (old, new) = ("o".repeat(32), "n".repeat(32));
        let now = Utc::now();
        let before = keys(&format!("2025={old}"));
        let during = keys(&format!("2026={new},2025={old}"));
        let after = keys(&format!("2026={new}"));
        let old_token = issue(&before, &claims(TokenKind::Customer, now.timestamp() + 60));
        assert!(old_token.starts_with("2025."));
        // During the rotation: new tokens carry the new id, old tokens still verify.
        let new_token = issue(&during, &claims(TokenKind::Customer, now.timestamp() + 60));
        assert!(new_token.starts_with("2026."));
        for t in [&old_token, &new_token] {
            assert!(verify(&during, t, TokenKind::Customer, now).is_ok());
        }
        // The old key removed: its tokens are refused, the new ones still verify.
        assert_eq!(
            verify(&after, &old_token, TokenKind::Customer, now),
            Err(TokenError::Invalid)
        );
        assert!(verify(&after, &new_token, TokenKind::Customer, now).is_ok());
    }

    #[test]
    fn unknown_or_missing_key_ids_are_refused() {
        let now = Utc::now();
        let k = keys(&format!("k1={}", "k".repeat(32)));
        let t = issue(&k, &claims(TokenKind::Customer, now.timestamp() + 60));
        let (_, rest) = t.split_once('.').unwrap();
        // Another id in front of a valid signature, or no id at all (the old format).
        for forged in [format!("k2.{rest}"), rest.to_string(), format!(".{rest}")] {
            assert_eq!(
                verify(&k, &forged, TokenKind::Customer, now),
                Err(TokenError::Invalid),
                "{forged}"
            );
        }
    }

    #[test]
    fn key_lists_are_validated_and_never_printed() {
        let secret = "s".repeat(20);
        assert_eq!(keys(&secret).current_id(), DEFAULT_KEY_ID);
        assert_eq!(keys(&format!("a={secret}, b={secret}x")).current_id(), "a");
        assert_eq!(SigningKeys::parse(""), Err(SigningKeysError::Empty));
        assert!(matches!(
            SigningKeys::parse(&format!("a={secret},a={secret}")),
            Err(SigningKeysError::BadId(_))
        ));
        assert!(matches!(
            SigningKeys::parse(&format!("a.b={secret}")),
            Err(SigningKeysError::BadId(_))
        ));
        assert!(matches!(
            SigningKeys::parse("a=short"),
            Err(SigningKeysError::TooShort(_))
        ));
        let shown = format!("{:?}", keys(&format!("a={secret}")));
        assert!(!shown.contains(&secret), "{shown}");
    }

    proptest! {
        #[test]
        fn any_tampering_is_detected(pos in 0usize..200, byte in any::<u8>()) {
            let key = keys(&format!("k1={}", "k".repeat(32)));
            let now = Utc::now();
            let t = issue(&key, &claims(TokenKind::Customer, now.timestamp() + 60));
            let mut bytes = t.clone().into_bytes();
            let i = pos % bytes.len();
            prop_assume!(bytes[i] != byte);
            bytes[i] = byte;
            let tampered = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert!(verify(&key, &tampered, TokenKind::Customer, now).is_err());
        }
    }
}
