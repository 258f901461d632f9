//! Customer sessions: the signed customer token a merchant's H5 page uses with the
//! customer API, and who may obtain one.
//!
//! A token is only ever minted on a server's word. The browser cannot be trusted to say
//! who it is: a `unionid`/`openid` pair is an identifier, not a credential, and anyone who
//! learns a customer's pair could otherwise impersonate them and spend their points. So the
//! merchant's H5 backend — which holds the official account's AppSecret and performs WeChat's
//! OAuth `code` → `unionid`/`openid` exchange itself — asks for the token with a tenant API
//! key (admin API, `POST /v1/customer-sessions`). The WeChat identity is then mapped to the
//! corp's customer through WeCom (`externalcontact/unionid_to_external_userid`), or an
//! operator names a customer the directory knows (in-app links). The tenant is always the
//! API key's tenant, never a value from the request.
use super::model::CustomerId;
use super::ports::Memberships;
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::tenants::{Tenant, TenantId};
use crate::tokens::SigningKeys;
use crate::tokens::{self, Claims, TokenKind};
use crate::wecom::api::{UnionIdLookup, WeComError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;
use std::future::Future;

/// How long a customer token is valid: long enough for a visit to the H5 page, short
/// enough that a leaked token is soon worthless (there is no revocation list).
pub const CUSTOMER_TOKEN_TTL: chrono::Duration = chrono::Duration::hours(2);

/// A WeChat user as the merchant's backend learnt it from WeChat OAuth on the official
/// account (or mini-program): `unionid` and `openid` of the same account. Validated at the
/// boundary: 1 to 128 printable ASCII characters each.
#[derive(Clone, PartialEq, Eq)]
pub struct WeChatIdentity {
    unionid: String,
    openid: String,
}

/// A `unionid`/`openid` that cannot be WeChat's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unionid and openid are required: 1 to 128 printable ASCII characters each")]
pub struct InvalidIdentity;

impl WeChatIdentity {
    /// Validates both identifiers.
    pub fn parse(unionid: &str, openid: &str) -> Result<Self, InvalidIdentity> {
        let ok = |v: &str| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic());
        if ok(unionid) && ok(openid) {
            Ok(Self {
                unionid: unionid.to_string(),
                openid: openid.to_string(),
            })
        } else {
            Err(InvalidIdentity)
        }
    }

    /// The unionid.
    pub fn unionid(&self) -> &str {
        &self.unionid
    }

    /// The openid.
    pub fn openid(&self) -> &str {
        &self.openid
    }
}

impl fmt::Debug for WeChatIdentity {
    // Personal identifiers stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeChatIdentity(..)")
    }
}

/// A minted customer session: what the H5 page needs to call the customer API.
#[derive(Clone, Serialize)]
pub struct CustomerSession {
    /// The bearer token.
    pub token: String,
    /// When it stops working, epoch seconds.
    pub expires_at: i64,
    /// The customer it names.
    pub external_userid: CustomerId,
}

impl fmt::Debug for CustomerSession {
    // The token is a credential: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerSession")
            .field("expires_at", &self.expires_at)
            .field("external_userid", &self.external_userid)
            .finish_non_exhaustive()
    }
}

/// Signs a customer token for `customer` of `tenant`, valid [`CUSTOMER_TOKEN_TTL`].
pub fn mint(
    key: &SigningKeys,
    tenant: &TenantId,
    customer: &CustomerId,
    now: DateTime<Utc>,
) -> CustomerSession {
    let expires_at = (now + CUSTOMER_TOKEN_TTL).timestamp();
    let token = tokens::issue(
        key,
        &Claims {
            tenant: tenant.to_string(),
            subject: customer.to_string(),
            kind: TokenKind::Customer,
            expires_at,
        },
    );
    CustomerSession {
        token,
        expires_at,
        external_userid: customer.clone(),
    }
}

/// Why no session was minted.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// WeCom does not know this WeChat user as a customer of the corp. `pending`: WeCom
    /// knows them only by a temporary id (not a customer yet, or their staff member is
    /// outside the app's visible range).
    #[error("not a customer of this corp")]
    NotACustomer {
        /// Whether WeCom answered a pending id.
        pending: bool,
    },
    /// The named external_userid is not a customer the directory knows.
    #[error("unknown customer")]
    UnknownCustomer,
    /// WeCom answered an id that cannot be an external_userid.
    #[error("WeCom answered an unexpected external_userid")]
    UnexpectedId,
    /// WeCom failed or refused the look-up.
    #[error(transparent)]
    WeCom(#[from] WeComError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            // 404 rather than 403: on the admin API 403 means the key's role is too low.
            SessionError::NotACustomer { pending } => ApiError::new(
                404,
                "not_a_customer",
                "this WeChat user is not a customer of the corp: they must add a staff member on WeCom first",
            )
            .with_details(serde_json::json!({ "pending": pending })),
            SessionError::UnknownCustomer => {
                ApiError::new(404, "unknown_customer", "no such customer in the directory")
            }
            SessionError::UnexpectedId => {
                tracing::warn!("WeCom answered an external_userid that is not valid");
                ApiError::new(502, "wecom_error", "WeCom answered an unexpected id")
            }
            SessionError::WeCom(e) => {
                tracing::warn!(error = %e, errcode = ?e.errcode(), "WeCom look-up failed");
                if e.is_retryable() {
                    ApiError::new(503, "wecom_unavailable", "WeCom is busy; retry later")
                } else {
                    ApiError::new(502, "wecom_error", "WeCom refused the look-up")
                }
            }
            SessionError::Store(s) => s.into(),
        }
    }
}

/// Maps a WeChat user to the corp's customer: WeCom's `unionid_to_external_userid`.
pub trait UnionIdResolver: Send + Sync {
    /// The customer (or pending id, or none) behind `who` for `tenant`.
    fn resolve(
        &self,
        tenant: &Tenant,
        who: &WeChatIdentity,
    ) -> impl Future<Output = Result<UnionIdLookup, WeComError>> + Send;
}

/// A session for the WeChat user `who` (identity vouched for by the caller's server), if
/// WeCom says they are a customer of `tenant`.
pub async fn for_wechat_user(
    resolver: &impl UnionIdResolver,
    key: &SigningKeys,
    tenant: &Tenant,
    who: &WeChatIdentity,
    now: DateTime<Utc>,
) -> Result<CustomerSession, SessionError> {
    let customer = match resolver.resolve(tenant, who).await? {
        UnionIdLookup::Customer(id) => {
            CustomerId::parse(&id).map_err(|_| SessionError::UnexpectedId)?
        }
        UnionIdLookup::Pending(_) => return Err(SessionError::NotACustomer { pending: true }),
        UnionIdLookup::NotCustomer => return Err(SessionError::NotACustomer { pending: false }),
    };
    Ok(mint(key, &tenant.id, &customer, now))
}

/// A session for a customer an operator names, if the directory knows them (a typo must
/// not open an empty account).
pub async fn for_known_customer(
    directory: &impl Memberships,
    key: &SigningKeys,
    tenant: &TenantId,
    customer: &CustomerId,
    now: DateTime<Utc>,
) -> Result<CustomerSession, SessionError> {
    let known = directory
        .known_customers(tenant, std::slice::from_ref(customer))
        .await?;
    if !known.contains(customer) {
        return Err(SessionError::UnknownCustomer);
    }
    Ok(mint(key, tenant, customer, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_validated_at_the_boundary() {
        assert!(WeChatIdentity::parse("o6_bmasdasdsad6_2sgVt7hMZOPfL", "oX1").is_ok());
        assert_eq!(WeChatIdentity::parse("", "o"), Err(InvalidIdentity));
        assert_eq!(WeChatIdentity::parse("u", ""), Err(InvalidIdentity));
        assert_eq!(WeChatIdentity::parse("u u", "o"), Err(InvalidIdentity));
        assert_eq!(
            WeChatIdentity::parse(&"u".repeat(129), "o"),
            Err(InvalidIdentity)
        );
        assert_eq!(
            format!("{:?}", WeChatIdentity::parse("secret-union", "o").unwrap()),
            "WeChatIdentity(..)"
        );
    }

    #[test]
    fn a_minted_token_names_the_tenant_and_customer_and_expires() {
        let key =
            SigningKeys::single("k1", crate::config::Secret::new("k-0123456789abcdef")).unwrap();
        let now = Utc::now();
        let tenant = TenantId::parse("wwabc123").unwrap();
        let customer = CustomerId::parse("wmCust").unwrap();
        let s = mint(&key, &tenant, &customer, now);
        assert_eq!(s.expires_at, (now + CUSTOMER_TOKEN_TTL).timestamp());
        let claims = tokens::verify(&key, &s.token, TokenKind::Customer, now).unwrap();
        assert_eq!(
            (claims.tenant.as_str(), claims.subject.as_str()),
            ("wwabc123", "wmCust")
        );
        assert!(tokens::verify(
            &key,
            &s.token,
            TokenKind::Customer,
            now + CUSTOMER_TOKEN_TTL
        )
        .is_err());
        assert!(!format!("{s:?}").contains(&s.token));
    }
}
