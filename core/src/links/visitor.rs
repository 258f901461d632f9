//! Who clicked a tracked link: the customer a token or an earlier official-account OAuth
//! named, else the browser's anonymous visitor id (a cookie the redirect sets), so that
//! distinct visitors can be counted besides clicks.
//!
//! Inside WeChat, a visitor nobody identified yet is first sent through the tenant's official
//! account's silent OAuth (`snsapi_base`) when the tenant has one and has not turned it off
//! ([`crate::tenants::TenantSettings::link_visitor_oauth`]): WeChat comes back to
//! `/l/{code}/oauth?code=…&state=…`, the code is exchanged as the customer pages' login does
//! ([`crate::official::login`]), and a signed cookie remembers the outcome for the tenant.
//! Whatever fails there, the visitor still reaches the target, counted anonymously.
use super::ports::{LinkOAuth, OAuthVisitor};
use crate::official::{self, OfficialAccounts, OfficialError, Scope, WeChatOfficial};
use crate::points::session::{SessionError, UnionIdResolver};
use crate::tenants::{TenantId, TenantLookup};
use crate::tokens::{self, Claims, SigningKeys, TokenKind};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The anonymous visitor cookie (random, one year, on the short-link host).
pub const VISITOR_COOKIE: &str = "scrm_vid";
/// How long the visitor cookie lives (seconds): a year.
pub const VISITOR_COOKIE_SECS: i64 = 365 * 86_400;
/// The identity cookie's name, before the tenant's corp id (the short-link host is every
/// tenant's, and a customer id is a tenant's).
pub const IDENTITY_COOKIE_PREFIX: &str = "scrm_lv_";
/// How long an OAuth's customer is remembered (seconds): 30 days.
pub const IDENTIFIED_SECS: i64 = 30 * 86_400;
/// How long a WeChat user who is no customer (or refused) is not asked again: a day, so a
/// new customer is recognised the next day.
pub const NOT_A_CUSTOMER_SECS: i64 = 86_400;
/// How long an OAuth `state` is accepted (seconds); WeChat's codes live 5 minutes.
pub const STATE_SECS: i64 = 600;
/// The OAuth callback's path under a code: `/l/{code}/oauth`.
pub const CALLBACK_SUFFIX: &str = "/oauth";

/// A fresh anonymous visitor id: 32 hex digits (128 random bits).
pub fn new_visitor_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Whether a cookie's value can be a visitor id the redirect set.
pub fn plausible_visitor_id(raw: &str) -> bool {
    raw.len() == 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Whether the browser is WeChat's (and not WeCom's, whose user agent also says
/// `MicroMessenger` but cannot log in to an official account).
pub fn in_wechat(user_agent: &str) -> bool {
    user_agent.contains("MicroMessenger") && !user_agent.contains("wxwork")
}

/// The tenant's identity cookie name.
pub fn identity_cookie(tenant: &str) -> String {
    format!("{IDENTITY_COOKIE_PREFIX}{tenant}")
}

/// What an earlier OAuth said, from the identity cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// The tenant's customer.
    Customer(String),
    /// Asked already: no customer (or refused); not asked again until the cookie ends.
    NotACustomer,
}

/// The identity cookie's value and lifetime (seconds) for an OAuth's outcome.
pub fn identity_value(
    keys: &SigningKeys,
    tenant: &str,
    known: &Known,
    now: DateTime<Utc>,
) -> (String, i64) {
    let (subject, secs) = match known {
        Known::Customer(c) => (c.clone(), IDENTIFIED_SECS),
        Known::NotACustomer => (String::new(), NOT_A_CUSTOMER_SECS),
    };
    let claims = Claims {
        tenant: tenant.to_string(),
        subject,
        kind: TokenKind::LinkVisitor,
        expires_at: now.timestamp() + secs,
    };
    (tokens::issue(keys, &claims), secs)
}

/// The identity cookie's outcome, if it is valid for `tenant`.
pub fn known_of(
    keys: &SigningKeys,
    tenant: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Option<Known> {
    let claims = tokens::verify(keys, value, TokenKind::LinkVisitor, now).ok()?;
    if claims.tenant != tenant {
        return None;
    }
    Some(if claims.subject.is_empty() {
        Known::NotACustomer
    } else {
        Known::Customer(claims.subject)
    })
}

fn state_data(tenant: &str, code: &str, visitor_id: &str, expires_at: i64) -> String {
    let v = hex::encode(&Sha256::digest(visitor_id.as_bytes())[..8]);
    format!("link_state\n{tenant}\n{code}\n{v}\n{expires_at}")
}

/// The OAuth `state` of a click of `code` by the browser `visitor_id`: the expiry (epoch
/// seconds) and a tag over the tenant, code, visitor and expiry; letters and digits only,
/// 42 characters (WeChat allows `[a-zA-Z0-9]`, at most 128 bytes).
pub fn state_for(
    keys: &SigningKeys,
    tenant: &str,
    code: &str,
    visitor_id: &str,
    now: DateTime<Utc>,
) -> String {
    let expires_at = now.timestamp() + STATE_SECS;
    let tag = tokens::tag(keys, &state_data(tenant, code, visitor_id, expires_at));
    format!("{expires_at:010}{tag}")
}

/// Whether `state` came from [`state_for`] for this tenant, code and browser, and is not
/// expired.
pub fn state_ok(
    keys: &SigningKeys,
    tenant: &str,
    code: &str,
    visitor_id: &str,
    state: &str,
    now: DateTime<Utc>,
) -> bool {
    if state.len() != 42 || !state.is_ascii() {
        return false;
    }
    let (exp, tag) = state.split_at(10);
    let Ok(expires_at) = exp.parse::<i64>() else {
        return false;
    };
    expires_at > now.timestamp()
        && expires_at <= now.timestamp() + STATE_SECS
        && tokens::tag_matches(keys, &state_data(tenant, code, visitor_id, expires_at), tag)
}

/// WeChat's authorize URL for a silent login of `app_id` coming back to `redirect_uri`.
pub fn authorize_url(base: &str, app_id: &str, redirect_uri: &str, state: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "{base}?appid={}&redirect_uri={}&response_type=code&scope=snsapi_base&state={}#wechat_redirect",
        enc(app_id),
        enc(redirect_uri),
        enc(state)
    )
}

/// [`LinkOAuth`] through the tenant's official account, reusing the customer pages' login
/// ([`official::login`]): the tenants (settings, and secrets for WeCom), the accounts,
/// WeChat and WeCom's unionid mapping.
pub struct OfficialLinkOAuth<A, W, R, T> {
    /// The tenants' official accounts (secrets opened).
    pub accounts: A,
    /// WeChat's official-account API.
    pub wechat: W,
    /// WeCom's unionid mapping.
    pub resolver: R,
    /// The tenants (settings; secrets for WeCom).
    pub tenants: T,
    /// Signs the customer token the login mints (unused here beyond the login itself).
    pub keys: SigningKeys,
}

impl<A, W, R, T> LinkOAuth for OfficialLinkOAuth<A, W, R, T>
where
    A: OfficialAccounts,
    W: WeChatOfficial,
    R: UnionIdResolver,
    T: TenantLookup,
{
    async fn app_id(&self, tenant: &TenantId) -> Result<Option<String>, OfficialError> {
        let on = self
            .tenants
            .tenant(tenant)
            .await?
            .is_some_and(|t| t.settings.link_visitor_oauth);
        if !on {
            return Ok(None);
        }
        Ok(self
            .accounts
            .official_account(tenant)
            .await?
            .map(|a| a.app_id))
    }

    async fn visitor(
        &self,
        tenant: &TenantId,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<OAuthVisitor, OfficialError> {
        let t = self
            .tenants
            .tenant(tenant)
            .await?
            .ok_or(OfficialError::NotConfigured)?;
        let login = official::login(
            &self.accounts,
            &self.wechat,
            &self.resolver,
            &self.keys,
            &t,
            code,
            Scope::SnsapiBase,
            now,
        )
        .await;
        match login {
            Ok(session) => Ok(OAuthVisitor::Customer(session.external_userid.to_string())),
            // A silent login learns the unionid only for the account's followers; WeCom
            // maps WeChat users by it.
            Err(OfficialError::NoUnionId)
            | Err(OfficialError::Session(SessionError::NotACustomer { .. })) => {
                Ok(OAuthVisitor::NotACustomer)
            }
            Err(e) => Err(e),
        }
    }
}

/// No official-account OAuth (every unidentified visitor stays anonymous).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOAuth;

impl LinkOAuth for NoOAuth {
    async fn app_id(&self, _: &TenantId) -> Result<Option<String>, OfficialError> {
        Ok(None)
    }

    async fn visitor(
        &self,
        _: &TenantId,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<OAuthVisitor, OfficialError> {
        Err(OfficialError::NotConfigured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn keys() -> SigningKeys {
        SigningKeys::single("k1", Secret::new("k-0123456789abcdef")).unwrap()
    }

    #[test]
    fn states_are_short_alphanumeric_and_bound_to_tenant_code_browser_and_time() {
        let (k, now) = (keys(), Utc::now());
        let s = state_for(&k, "ww01", "Abc123defG", "v1", now);
        assert!(
            s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{s}"
        );
        assert!(state_ok(&k, "ww01", "Abc123defG", "v1", &s, now));
        assert!(!state_ok(&k, "ww02", "Abc123defG", "v1", &s, now));
        assert!(!state_ok(&k, "ww01", "Abc123defH", "v1", &s, now));
        assert!(!state_ok(&k, "ww01", "Abc123defG", "v2", &s, now));
        let later = now + chrono::Duration::seconds(STATE_SECS + 1);
        assert!(!state_ok(&k, "ww01", "Abc123defG", "v1", &s, later));
        let mut forged = s.clone();
        forged.replace_range(41.., if s.ends_with('0') { "1" } else { "0" });
        assert!(!state_ok(&k, "ww01", "Abc123defG", "v1", &forged, now));
        let other = SigningKeys::single("k2", Secret::new("another-0123456789")).unwrap();
        assert!(!state_ok(&other, "ww01", "Abc123defG", "v1", &s, now));
    }

    #[test]
    fn identity_cookies_are_per_tenant_and_never_customer_tokens() {
        let (k, now) = (keys(), Utc::now());
        let (v, secs) = identity_value(&k, "ww01", &Known::Customer("wmA".into()), now);
        assert_eq!(secs, IDENTIFIED_SECS);
        assert_eq!(
            known_of(&k, "ww01", &v, now),
            Some(Known::Customer("wmA".into()))
        );
        assert_eq!(known_of(&k, "ww02", &v, now), None);
        assert!(crate::official::verify_customer(&k, &v, now).is_err());
        let (none, secs) = identity_value(&k, "ww01", &Known::NotACustomer, now);
        assert_eq!(secs, NOT_A_CUSTOMER_SECS);
        assert_eq!(known_of(&k, "ww01", &none, now), Some(Known::NotACustomer));
        let later = now + chrono::Duration::seconds(NOT_A_CUSTOMER_SECS + 1);
        assert_eq!(known_of(&k, "ww01", &none, later), None);
    }

    #[test]
    fn only_wechat_gets_oauth_and_visitor_ids_are_checked() {
        assert!(in_wechat(
            "Mozilla/5.0 (iPhone) MicroMessenger/8.0.49 NetType/WIFI"
        ));
        assert!(!in_wechat("Mozilla/5.0 MicroMessenger/7.0 wxwork/4.1"));
        assert!(!in_wechat("Mozilla/5.0 Chrome/120"));
        assert!(plausible_visitor_id(&new_visitor_id()));
        assert!(!plausible_visitor_id("not-a-visitor"));
        let url = authorize_url(
            "https://open.weixin.qq.com/connect/oauth2/authorize",
            "wx0123",
            "https://l.example.com/l/Abc123defG/oauth",
            "123",
        );
        assert!(url.contains("redirect_uri=https%3A%2F%2Fl.example.com%2Fl%2FAbc123defG%2Foauth"));
        assert!(url.ends_with("&scope=snsapi_base&state=123#wechat_redirect"));
    }
}
