//! Tracked links' staff notifications: a text app message (`message/send`) from the
//! tenant's reminder app, as the SOP reminders are sent.
use super::sop::app_credentials;
use super::WeComClient;
use scrm_core::links::StaffMessenger;
use scrm_core::tenants::Tenant;
use scrm_core::wecom::api::{AppMessage, WeComError};

/// WeCom's "all recipients invalid" errcode, also used when the one recipient was refused
/// although the call answered 0.
const RECIPIENT_REFUSED: i64 = 81013;

impl StaffMessenger for WeComClient {
    async fn send_text(
        &self,
        tenant: &Tenant,
        userid: &str,
        content: &str,
    ) -> Result<(), WeComError> {
        let creds = app_credentials(tenant)?;
        let mut message = AppMessage::text(vec![userid.to_string()], content);
        // A message resent after its first attempt reached WeCom (a crash before the notes
        // were marked sent) is dropped by WeCom itself.
        message.enable_duplicate_check = true;
        message.duplicate_check_interval = Some(300);
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
}
