//! What console login asks WeCom: who a scan-login code belongs to, and a member's name.
use super::sop::app_credentials;
use super::WeComClient;
use scrm_core::tenants::console::ConsoleWeCom;
use scrm_core::tenants::Tenant;
use scrm_core::wecom::api::{OAuthIdentity, User, WeComError};

/// WeCom's "no such member".
const NO_SUCH_MEMBER: i64 = 60111;

impl ConsoleWeCom for WeComClient {
    async fn login_identity(
        &self,
        tenant: &Tenant,
        code: &str,
    ) -> Result<OAuthIdentity, WeComError> {
        self.get_oauth_identity(&app_credentials(tenant)?, code)
            .await
    }

    async fn member(&self, tenant: &Tenant, userid: &str) -> Result<Option<User>, WeComError> {
        match self.get_user(&app_credentials(tenant)?, userid).await {
            Ok(user) => Ok(Some(user)),
            Err(WeComError::Api {
                errcode: NO_SUCH_MEMBER,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
