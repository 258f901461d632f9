//! The customer-session port on WeCom: unionid + openid → external_userid.
use super::WeComClient;
use scrm_core::points::session::{UnionIdResolver, WeChatIdentity};
use scrm_core::tenants::Tenant;
use scrm_core::wecom::api::{CorpCredentials, UnionIdLookup, WeComError};

impl UnionIdResolver for WeComClient {
    async fn resolve(
        &self,
        tenant: &Tenant,
        who: &WeChatIdentity,
    ) -> Result<UnionIdLookup, WeComError> {
        let creds = CorpCredentials::new(tenant.id.as_str(), tenant.contact_secret.expose(), None)
            .with_rate_limits(&tenant.settings.wecom_rate_limits);
        self.unionid_to_external_userid(&creds, who.unionid(), who.openid())
            .await
    }
}
