//! The SOP module's WeCom calls over the shared [`WeComClient`]: reminders and OAuth go
//! through the tenant's self-built app (its secret and agent id), mass-message and moments
//! tasks through the customer-contact secret.
use super::WeComClient;
use scrm_core::sop::ports::SopWeCom;
use scrm_core::tenants::Tenant;
use scrm_core::wecom::api::{
    AddMsgTemplateResult, AppMessage, CorpCredentials, GroupMsgSendResult, MomentPublish,
    MomentTask, MomentTaskResult, MsgTemplate, OAuthIdentity, WeComError,
};

/// The app credentials (reminders, OAuth).
fn app_credentials(tenant: &Tenant) -> Result<CorpCredentials, WeComError> {
    let secret = tenant.app_secret.as_ref().ok_or_else(|| {
        WeComError::InvalidRequest("the tenant has no reminder app (app secret) configured".into())
    })?;
    Ok(CorpCredentials::new(
        tenant.id.as_str(),
        secret.expose(),
        tenant.app_agent_id,
    ))
}

/// The customer-contact credentials.
fn contact_credentials(tenant: &Tenant) -> CorpCredentials {
    CorpCredentials::new(tenant.id.as_str(), tenant.contact_secret.expose(), None)
}

/// WeCom's "all recipients invalid" errcode, used when a single recipient was refused
/// although the call as a whole answered 0.
const RECIPIENT_REFUSED: i64 = 81013;

impl SopWeCom for WeComClient {
    async fn send_reminder(
        &self,
        tenant: &Tenant,
        userid: &str,
        title: &str,
        description: &str,
        url: &str,
    ) -> Result<(), WeComError> {
        let creds = app_credentials(tenant)?;
        let mut message = AppMessage::text_card(vec![userid.to_string()], title, description, url);
        // A retried reminder whose first attempt did reach WeCom is dropped by WeCom itself.
        message.enable_duplicate_check = true;
        message.duplicate_check_interval = Some(1800);
        let result = self.send_app_message(&creds, &message).await?;
        if result.invalid_users.iter().any(|u| u == userid)
            || result.unlicensed_users.iter().any(|u| u == userid)
        {
            return Err(WeComError::Api {
                errcode: RECIPIENT_REFUSED,
                errmsg: "recipient refused (invalid or unlicensed)".into(),
            });
        }
        Ok(())
    }

    async fn add_msg_template(
        &self,
        tenant: &Tenant,
        template: &MsgTemplate,
    ) -> Result<AddMsgTemplateResult, WeComError> {
        WeComClient::add_msg_template(self, &contact_credentials(tenant), template).await
    }

    async fn add_moment_task(
        &self,
        tenant: &Tenant,
        task: &MomentTask,
    ) -> Result<String, WeComError> {
        WeComClient::add_moment_task(self, &contact_credentials(tenant), task).await
    }

    async fn group_message_results(
        &self,
        tenant: &Tenant,
        msgid: &str,
        userid: &str,
    ) -> Result<Vec<GroupMsgSendResult>, WeComError> {
        self.get_groupmsg_send_result_all(&contact_credentials(tenant), msgid, userid)
            .await
    }

    async fn moment_task_result(
        &self,
        tenant: &Tenant,
        jobid: &str,
    ) -> Result<MomentTaskResult, WeComError> {
        self.get_moment_task_result(&contact_credentials(tenant), jobid)
            .await
    }

    async fn moment_publications(
        &self,
        tenant: &Tenant,
        moment_id: &str,
    ) -> Result<Vec<MomentPublish>, WeComError> {
        self.get_moment_task_all(&contact_credentials(tenant), moment_id)
            .await
    }

    async fn oauth_identity(
        &self,
        tenant: &Tenant,
        code: &str,
    ) -> Result<OAuthIdentity, WeComError> {
        self.get_oauth_identity(&app_credentials(tenant)?, code)
            .await
    }
}
