//! Signed, expiring tokens bound to a tenant and a subject: how a customer's H5 page
//! proves who it is to the customer API, and how a staff member's reminder link opens
//! their own task list. HMAC-SHA256 over the claims; no server-side state.
//!
//! Format: `base64url(claims JSON) "." base64url(HMAC-SHA256(key, first part))`.
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
    /// A staff member (subject = WeCom userid).
    Staff,
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

fn sign(key: &Secret, payload: &str) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Issues a token for the claims.
pub fn issue(key: &Secret, claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let signature = URL_SAFE_NO_PAD.encode(sign(key, &payload));
    format!("{payload}.{signature}")
}

/// Verifies a token's signature, kind and expiry, returning its claims.
pub fn verify(
    key: &Secret,
    token: &str,
    kind: TokenKind,
    now: DateTime<Utc>,
) -> Result<Claims, TokenError> {
    let (payload, signature) = token.split_once('.').ok_or(TokenError::Invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Invalid)?;
    let mut mac = HmacSha256::new_from_slice(key.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(payload.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::Invalid)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Invalid)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Invalid)?;
    if claims.kind != kind {
        return Err(TokenError::WrongKind);
    }
    if claims.expires_at <= now.timestamp() {
        return Err(TokenError::Expired);
    }
    Ok(claims)
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

    #[test]
    fn a_token_verifies_until_it_expires() {
        let key = Secret::new("k".repeat(32));
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
        let key = Secret::new("k".repeat(32));
        let now = Utc::now();
        let t = issue(&key, &claims(TokenKind::Staff, now.timestamp() + 60));
        assert_eq!(
            verify(&key, &t, TokenKind::Customer, now),
            Err(TokenError::WrongKind)
        );
        let other = Secret::new("x".repeat(32));
        assert_eq!(
            verify(&other, &t, TokenKind::Staff, now),
            Err(TokenError::Invalid)
        );
    }

    proptest! {
        #[test]
        fn any_tampering_is_detected(pos in 0usize..200, byte in any::<u8>()) {
            let key = Secret::new("k".repeat(32));
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
