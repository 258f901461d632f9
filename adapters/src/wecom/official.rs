//! A WeChat official account's API (`WECHAT_API_BASE`, default `https://api.weixin.qq.com`):
//! web OAuth (`sns/oauth2/access_token`, `sns/userinfo`) and followers' status
//! (`cgi-bin/user/info`) with the account's own token (`cgi-bin/token`), cached like WeCom's
//! (sealed in the tenants table under the tenant, refreshed before expiry, one fetch at a
//! time). WeChat answers with the same errcode envelope as WeCom, so the same HTTP core
//! serves it.
use super::client::{now_epoch, Call};
use super::token::{CachedToken, TokenCache};
use super::{AccessToken, WeComClient, WeComConfig};
use futures::future::BoxFuture;
use scrm_core::official::{paths, Follower, OAuthGrant, OfficialAccount, WeChatOfficial};
use scrm_core::tenants::TenantId;
use scrm_core::wecom::api::{official_token_key, WeComError};
use serde::Deserialize;
use std::sync::Arc;

/// WeChat's official-account API. Cheap to clone; build it once per container.
#[derive(Clone, Debug)]
pub struct WeChatClient {
    http: WeComClient,
}

impl WeChatClient {
    /// A client of the API at `config.base_url` (no trailing slash, e.g.
    /// `https://api.weixin.qq.com`), sharing the account tokens through `cache`.
    pub fn new(config: WeComConfig, cache: Arc<dyn TokenCache>) -> Result<Self, WeComError> {
        Ok(Self {
            http: WeComClient::new(config, cache)?,
        })
    }
}

#[derive(Deserialize)]
struct GrantResponse {
    access_token: String,
    openid: String,
    #[serde(default)]
    unionid: Option<String>,
}

#[derive(Deserialize)]
struct UserInfoResponse {
    #[serde(default)]
    unionid: Option<String>,
}

#[derive(Deserialize)]
struct AccountToken {
    access_token: String,
    expires_in: i64,
}

#[derive(Deserialize)]
struct FollowerResponse {
    subscribe: i64,
    #[serde(default)]
    unionid: Option<String>,
}

/// Errcodes of a rejected account token: refetched once.
const TOKEN_REJECTED: [i64; 3] = [40001, 40014, 42001];

impl WeChatClient {
    async fn fetch_account_token(
        &self,
        account: &OfficialAccount,
        deadline: tokio::time::Instant,
    ) -> Result<CachedToken, WeComError> {
        let call = Call::get(
            paths::TOKEN,
            vec![
                ("grant_type", "client_credential"),
                ("appid", account.app_id.as_str()),
                ("secret", account.secret.expose()),
            ],
        );
        let parsed: AccountToken = self.http.call_without_token(&call, deadline).await?;
        if parsed.access_token.is_empty() || parsed.expires_in <= 0 {
            return Err(WeComError::UnexpectedResponse {
                path: paths::TOKEN,
                detail: "empty token or non-positive expires_in".into(),
            });
        }
        tracing::info!(app_id = %account.app_id, "fetched official account token");
        Ok(CachedToken {
            token: AccessToken::new(parsed.access_token),
            expires_at: now_epoch() + parsed.expires_in,
        })
    }
}

impl WeChatOfficial for WeChatClient {
    async fn exchange_code(
        &self,
        account: &OfficialAccount,
        code: &str,
    ) -> Result<OAuthGrant, WeComError> {
        let call = Call::get(
            paths::OAUTH_ACCESS_TOKEN,
            vec![
                ("appid", account.app_id.as_str()),
                ("secret", account.secret.expose()),
                ("code", code),
                ("grant_type", "authorization_code"),
            ],
        );
        let parsed: GrantResponse = self
            .http
            .call_without_token(&call, self.http.deadline())
            .await?;
        Ok(OAuthGrant {
            openid: parsed.openid,
            unionid: parsed.unionid.filter(|u| !u.is_empty()),
            access_token: scrm_core::config::Secret::new(parsed.access_token),
        })
    }

    async fn user_unionid(&self, grant: &OAuthGrant) -> Result<Option<String>, WeComError> {
        let call = Call::get(
            paths::USERINFO,
            vec![
                ("access_token", grant.access_token.expose()),
                ("openid", grant.openid.as_str()),
                ("lang", "zh_CN"),
            ],
        );
        let parsed: UserInfoResponse = self
            .http
            .call_without_token(&call, self.http.deadline())
            .await?;
        Ok(parsed.unionid.filter(|u| !u.is_empty()))
    }

    async fn follower(
        &self,
        tenant: &TenantId,
        account: &OfficialAccount,
        openid: &str,
    ) -> Result<Follower, WeComError> {
        let key = official_token_key(tenant.as_str(), &account.app_id, account.secret.expose());
        let deadline = self.http.deadline();
        let fetch = |deadline| -> BoxFuture<'_, Result<CachedToken, WeComError>> {
            Box::pin(self.fetch_account_token(account, deadline))
        };
        let call = Call::get(
            paths::USER_INFO,
            vec![("openid", openid), ("lang", "zh_CN")],
        );
        let mut refreshed = false;
        loop {
            let token = self.http.cached_before(&key, deadline, &fetch).await?;
            match self
                .http
                .call_with_token::<FollowerResponse>(&call, &token, deadline)
                .await
            {
                Ok(f) => {
                    let subscribed = f.subscribe == 1;
                    return Ok(Follower {
                        subscribed,
                        unionid: f.unionid.filter(|u| subscribed && !u.is_empty()),
                    });
                }
                Err(WeComError::Api { errcode, .. })
                    if TOKEN_REJECTED.contains(&errcode) && !refreshed =>
                {
                    tracing::warn!(errcode, "official account token rejected; refreshing once");
                    self.http.invalidate_cached(&key, &token).await;
                    refreshed = true;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
