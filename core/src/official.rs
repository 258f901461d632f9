//! A tenant's WeChat official account (公众号): built-in login for the customer pages and
//! verified follows.
//!
//! With the account configured (app id, and its secret sealed like the tenant's other
//! secrets), a customer page goes through the account's web OAuth (`snsapi_base`, or
//! `snsapi_userinfo` when the profile is needed) and hands the code to the customer API,
//! which exchanges it itself (`sns/oauth2/access_token`): the code is WeChat's word, so the
//! identity it yields needs no merchant backend to vouch for it. The unionid and openid are
//! then mapped to the corp's customer as on the merchant-backend path
//! (`points::session::for_wechat_user`), and the customer token carries the openid, so that
//! a "follow" reward is checked with the account's `cgi-bin/user/info` (`subscribe`) instead
//! of taken on the customer's word.
use crate::config::Secret;
use crate::http::ApiError;
use crate::points::session::{
    self, CustomerSession, SessionError, UnionIdResolver, WeChatIdentity,
};
use crate::ports::StoreError;
use crate::tenants::{Tenant, TenantId};
use crate::tokens::{self, Claims, SigningKeys, TokenError, TokenKind};
use crate::wecom::api::WeComError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;

/// WeChat's web OAuth authorize page (the default of `WECHAT_OAUTH_BASE`).
pub const DEFAULT_OAUTH_BASE: &str = "https://open.weixin.qq.com/connect/oauth2/authorize";
/// WeChat's API host (the default of `WECHAT_API_BASE`).
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";

/// WeChat's errcode for a code that is not valid (unknown, expired, another app's).
pub const INVALID_CODE: i64 = 40029;
/// WeChat's errcode for a code already used.
pub const CODE_USED: i64 = 40163;
/// WeChat's errcodes for a wrong app id or secret.
pub const BAD_APP_CREDENTIALS: [i64; 3] = [40013, 40125, 40001];

/// WeChat's paths, relative to the API base.
pub mod paths {
    /// The account's access token (`grant_type=client_credential`).
    pub const TOKEN: &str = "cgi-bin/token";
    /// A follower's subscription status.
    pub const USER_INFO: &str = "cgi-bin/user/info";
    /// OAuth code → openid (+ unionid) and a user access token.
    pub const OAUTH_ACCESS_TOKEN: &str = "sns/oauth2/access_token";
    /// The user's profile with a user access token (`snsapi_userinfo`).
    pub const USERINFO: &str = "sns/userinfo";
}

/// A tenant's official account. The secret is never printed nor answered.
#[derive(Clone)]
pub struct OfficialAccount {
    /// The account's app id (`wx` and 16 letters or digits).
    pub app_id: String,
    /// The account's AppSecret.
    pub secret: Secret,
}

impl fmt::Debug for OfficialAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfficialAccount")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// An app id or secret that cannot be WeChat's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAccount {
    /// The app id.
    #[error("app_id must be \"wx\" followed by 16 letters or digits")]
    AppId,
    /// The secret.
    #[error("secret must be 16 to 64 letters or digits")]
    Secret,
}

impl OfficialAccount {
    /// Validates both.
    pub fn parse(app_id: &str, secret: &str) -> Result<Self, InvalidAccount> {
        let app_ok = app_id.len() == 18
            && app_id.starts_with("wx")
            && app_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !app_ok {
            return Err(InvalidAccount::AppId);
        }
        if !(16..=64).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(InvalidAccount::Secret);
        }
        Ok(Self {
            app_id: app_id.to_string(),
            secret: Secret::new(secret),
        })
    }
}

/// Where a tenant's official account is kept (the secret sealed).
pub trait OfficialAccounts: Send + Sync {
    /// The account of `tenant`, with its secret (only for a store that may open secrets).
    fn official_account(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<OfficialAccount>, StoreError>> + Send;

    /// Configures (or replaces) the account of `tenant`.
    fn put_official_account(
        &self,
        tenant: &TenantId,
        account: &OfficialAccount,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the account of `tenant` (`false` if there was none).
    fn remove_official_account(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What WeChat said a code belongs to.
#[derive(Clone)]
pub struct OAuthGrant {
    /// The user's openid under the account.
    pub openid: String,
    /// The user's unionid (given when the account is bound to an Open Platform account).
    pub unionid: Option<String>,
    /// The user access token (for `sns/userinfo`). Never printed.
    pub access_token: Secret,
}

impl fmt::Debug for OAuthGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OAuthGrant(..)")
    }
}

/// WeChat's official-account API.
pub trait WeChatOfficial: Send + Sync {
    /// `sns/oauth2/access_token`: the code's user. Errcodes come back as
    /// [`WeComError::Api`] (same envelope).
    fn exchange_code(
        &self,
        account: &OfficialAccount,
        code: &str,
    ) -> impl Future<Output = Result<OAuthGrant, WeComError>> + Send;

    /// `sns/userinfo`: the unionid of a user who granted `snsapi_userinfo`, if WeChat gives
    /// one.
    fn user_unionid(
        &self,
        grant: &OAuthGrant,
    ) -> impl Future<Output = Result<Option<String>, WeComError>> + Send;

    /// `cgi-bin/user/info`: whether `openid` follows the account (`subscribe` 1), and their
    /// unionid if they do, with the account's access token (cached, sealed, per tenant).
    fn follower(
        &self,
        tenant: &TenantId,
        account: &OfficialAccount,
        openid: &str,
    ) -> impl Future<Output = Result<Follower, WeComError>> + Send;
}

/// A WeChat user as the account's `cgi-bin/user/info` knows them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Follower {
    /// `subscribe` is 1.
    pub subscribed: bool,
    /// Given for followers of an account bound to an Open Platform account.
    pub unionid: Option<String>,
}

/// The OAuth scope a page asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Silent: openid (and unionid when bound).
    #[default]
    SnsapiBase,
    /// With the profile page's consent.
    SnsapiUserinfo,
}

/// What the login page needs to send the browser to WeChat.
#[derive(Debug, Clone, Serialize)]
pub struct LoginOptions {
    /// Whether the tenant configured an official account.
    pub configured: bool,
    /// The account's app id (`appid` of the authorize URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The authorize page, to which the page adds `?appid=&redirect_uri=&response_type=code&scope=&state=#wechat_redirect`.
    pub authorize_url: String,
    /// The scopes the page may ask for.
    pub scopes: [&'static str; 2],
}

/// The options of `tenant` (`None`: no such tenant, answered as not configured).
pub async fn login_options(
    accounts: &impl OfficialAccounts,
    tenant: Option<&TenantId>,
    authorize_url: &str,
) -> Result<LoginOptions, StoreError> {
    let account = match tenant {
        Some(t) => accounts.official_account(t).await?,
        None => None,
    };
    Ok(LoginOptions {
        configured: account.is_some(),
        app_id: account.map(|a| a.app_id),
        authorize_url: authorize_url.to_string(),
        scopes: ["snsapi_base", "snsapi_userinfo"],
    })
}

/// A customer token's claims: the customer, and the openid under the tenant's official
/// account when the token came from its login (absent from tokens a merchant backend
/// obtained).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerClaims {
    /// Tenant, external_userid, kind [`TokenKind::Customer`], expiry.
    #[serde(flatten)]
    pub claims: Claims,
    /// The openid WeChat gave for the login's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
}

/// Verifies a customer token (either path).
pub fn verify_customer(
    keys: &SigningKeys,
    token: &str,
    now: DateTime<Utc>,
) -> Result<CustomerClaims, TokenError> {
    tokens::verify_as(
        keys,
        token,
        TokenKind::Customer,
        now,
        |c: &CustomerClaims| &c.claims,
    )
}

/// Why an official-account login or check failed.
#[derive(Debug, thiserror::Error)]
pub enum OfficialError {
    /// The tenant has no official account (or is no tenant).
    #[error("no official account is configured for this corp")]
    NotConfigured,
    /// A code that cannot be WeChat's, or one WeChat says is not valid (40029).
    #[error("the code is not valid")]
    InvalidCode,
    /// A code already exchanged (40163).
    #[error("the code was already used")]
    CodeUsed,
    /// WeChat gave no unionid, and WeCom maps WeChat users by unionid: a silent
    /// (`snsapi_base`) login of someone who does not follow the account (the page asks again
    /// with `snsapi_userinfo`), or an account not bound to an Open Platform account.
    #[error("WeChat gave no unionid: log in again with scope snsapi_userinfo")]
    NoUnionId,
    /// The follow cannot be checked: the token did not come from the official account's
    /// login.
    #[error("log in through the official account first")]
    OpenIdUnknown,
    /// The customer does not follow the account.
    #[error("the customer does not follow the official account")]
    NotFollowing,
    /// WeChat refused the configured app id or secret.
    #[error("WeChat refused the official account's app id or secret")]
    BadCredentials,
    /// The mapping to a customer failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// WeChat failed.
    #[error(transparent)]
    WeChat(WeComError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WeComError> for OfficialError {
    fn from(e: WeComError) -> Self {
        match e.errcode() {
            Some(INVALID_CODE) => OfficialError::InvalidCode,
            Some(CODE_USED) => OfficialError::CodeUsed,
            Some(c) if BAD_APP_CREDENTIALS.contains(&c) => OfficialError::BadCredentials,
            _ => OfficialError::WeChat(e),
        }
    }
}

impl From<OfficialError> for ApiError {
    fn from(e: OfficialError) -> Self {
        let message = e.to_string();
        match e {
            OfficialError::NotConfigured => ApiError::new(404, "not_configured", message),
            OfficialError::InvalidCode => ApiError::new(401, "invalid_code", message),
            OfficialError::CodeUsed => ApiError::new(401, "code_used", message),
            OfficialError::NoUnionId => ApiError::new(409, "unionid_unavailable", message),
            OfficialError::OpenIdUnknown => ApiError::new(409, "official_login_required", message),
            OfficialError::NotFollowing => ApiError::new(409, "not_following", message),
            OfficialError::BadCredentials => {
                tracing::error!("WeChat refused the official account's credentials");
                ApiError::new(502, "official_account_misconfigured", message)
            }
            OfficialError::Session(s) => s.into(),
            OfficialError::WeChat(w) => {
                tracing::warn!(error = %w, errcode = ?w.errcode(), "WeChat call failed");
                if w.is_retryable() {
                    ApiError::new(503, "wechat_unavailable", "WeChat is busy; retry later")
                } else {
                    ApiError::new(502, "wechat_error", "WeChat refused the request")
                }
            }
            OfficialError::Store(s) => s.into(),
        }
    }
}

/// Whether `code` can be a WeChat OAuth code (checked before calling WeChat): 1 to 128
/// letters, digits, `-` or `_`.
pub fn plausible_code(code: &str) -> bool {
    (1..=128).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Exchanges the code of the tenant's official-account login and mints the customer token
/// (carrying the openid) if WeCom says the WeChat user is a customer of the corp.
#[allow(clippy::too_many_arguments)] // each port and input is distinct; a struct would only rename them
pub async fn login(
    accounts: &impl OfficialAccounts,
    wechat: &impl WeChatOfficial,
    resolver: &impl UnionIdResolver,
    keys: &SigningKeys,
    tenant: &Tenant,
    code: &str,
    scope: Scope,
    now: DateTime<Utc>,
) -> Result<CustomerSession, OfficialError> {
    if !plausible_code(code) {
        return Err(OfficialError::InvalidCode);
    }
    let account = accounts
        .official_account(&tenant.id)
        .await?
        .ok_or(OfficialError::NotConfigured)?;
    let grant = wechat.exchange_code(&account, code).await?;
    // WeChat gives the unionid with the code only for `snsapi_userinfo`; a silent login
    // learns it from the follower's record, which has it for followers.
    let unionid = match (&grant.unionid, scope) {
        (Some(u), _) => Some(u.clone()),
        (None, Scope::SnsapiUserinfo) => wechat.user_unionid(&grant).await?,
        (None, Scope::SnsapiBase) => {
            wechat
                .follower(&tenant.id, &account, &grant.openid)
                .await?
                .unionid
        }
    };
    let unionid = unionid.ok_or(OfficialError::NoUnionId)?;
    let who = WeChatIdentity::parse(&unionid, &grant.openid)
        .map_err(|_| OfficialError::WeChat(unexpected("an identifier WeChat gave is not valid")))?;
    let minted = session::for_wechat_user(resolver, keys, tenant, &who, now).await?;
    // Re-sign with the openid: the same customer, tenant and expiry.
    let token = tokens::issue(
        keys,
        &CustomerClaims {
            claims: Claims {
                tenant: tenant.id.to_string(),
                subject: minted.external_userid.to_string(),
                kind: TokenKind::Customer,
                expires_at: minted.expires_at,
            },
            openid: Some(grant.openid),
        },
    );
    Ok(CustomerSession { token, ..minted })
}

fn unexpected(detail: &str) -> WeComError {
    WeComError::UnexpectedResponse {
        path: paths::OAUTH_ACCESS_TOKEN,
        detail: detail.to_string(),
    }
}

/// With the tenant's official account configured, checks that the caller follows it
/// (their openid from the token); without one, the customer's word is taken as before.
pub async fn check_follow(
    accounts: &impl OfficialAccounts,
    wechat: &impl WeChatOfficial,
    tenant: &TenantId,
    openid: Option<&str>,
) -> Result<(), OfficialError> {
    let Some(account) = accounts.official_account(tenant).await? else {
        return Ok(());
    };
    let openid = openid.ok_or(OfficialError::OpenIdUnknown)?;
    if wechat.follower(tenant, &account, openid).await?.subscribed {
        Ok(())
    } else {
        Err(OfficialError::NotFollowing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_validated_and_the_secret_never_printed() {
        let a = OfficialAccount::parse("wxd0e1f2a3b4c5d6e7", "0123456789abcdef0123456789abcdef")
            .unwrap();
        assert!(!format!("{a:?}").contains("0123456789abcdef"));
        let err = |a: &str, s: &str| OfficialAccount::parse(a, s).err();
        assert_eq!(
            err("wx123", "0123456789abcdef"),
            Some(InvalidAccount::AppId)
        );
        assert_eq!(
            err("ab0123456789abcdef", "0123456789abcdef"),
            Some(InvalidAccount::AppId)
        );
        assert_eq!(
            err("wxd0e1f2a3b4c5d6e7", "short"),
            Some(InvalidAccount::Secret)
        );
        assert_eq!(
            err("wxd0e1f2a3b4c5d6e7", "0123456789abcdef 0123"),
            Some(InvalidAccount::Secret)
        );
    }

    #[test]
    fn codes_are_checked_before_wechat_is_called() {
        assert!(plausible_code("061Xa1Ga1abcDEF-_"));
        assert!(!plausible_code(""));
        assert!(!plausible_code("a b"));
        assert!(!plausible_code(&"a".repeat(129)));
    }

    #[test]
    fn wechat_errcodes_map_to_stable_codes() {
        let api = |errcode| WeComError::Api {
            errcode,
            errmsg: String::new(),
        };
        let code = |e: OfficialError| ApiError::from(e).code;
        assert_eq!(code(api(40029).into()), "invalid_code");
        assert_eq!(code(api(40163).into()), "code_used");
        assert_eq!(code(api(40013).into()), "official_account_misconfigured");
        assert_eq!(code(OfficialError::NotFollowing), "not_following");
    }

    #[test]
    fn customer_tokens_carry_the_openid_and_old_tokens_still_verify() {
        let keys = SigningKeys::single("k1", Secret::new("k-0123456789abcdef")).unwrap();
        let now = Utc::now();
        let claims = Claims {
            tenant: "wwabc".into(),
            subject: "wmC".into(),
            kind: TokenKind::Customer,
            expires_at: now.timestamp() + 60,
        };
        let with = tokens::issue(
            &keys,
            &CustomerClaims {
                claims: claims.clone(),
                openid: Some("oA".into()),
            },
        );
        assert_eq!(
            verify_customer(&keys, &with, now)
                .unwrap()
                .openid
                .as_deref(),
            Some("oA")
        );
        let plain = tokens::issue(&keys, &claims);
        let v = verify_customer(&keys, &plain, now).unwrap();
        assert_eq!((v.openid, v.claims), (None, claims));
        // The plain verifier still takes a token with the openid.
        assert!(tokens::verify(&keys, &with, TokenKind::Customer, now).is_ok());
    }
}
