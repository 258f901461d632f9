//! The SOP module's WeCom calls over the shared [`WeComClient`]: reminders and OAuth go
//! through the tenant's self-built app (its secret and agent id), mass-message and moments
//! tasks through the customer-contact secret.
use super::client::Call;
use super::WeComClient;
use chrono::{DateTime, Utc};
use scrm_core::sop::ports::{CreatedOnWeCom, SopWeCom};
use scrm_core::tenants::Tenant;
use scrm_core::wecom::api::{
    paths, AddMsgTemplateResult, AppMessage, CorpCredentials, GroupMsgSendResult, MomentPublish,
    MomentTask, MomentTaskResult, MsgTemplate, OAuthIdentity, WeComError,
};
use serde::{Deserialize, Deserializer, Serialize};

/// Pages read of a creation list (100 each) before giving up on a reconciliation.
const MAX_LIST_PAGES: usize = 20;

/// `get_groupmsg_list_v2` / `get_moment_list` request: a window of creation times.
#[derive(Clone, Copy, Serialize)]
struct CreatedListRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_type: Option<&'a str>,
    start_time: i64,
    end_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    creator: Option<&'a str>,
    /// 0: created by the corp (these tasks), not by members themselves.
    filter_type: u8,
    limit: u32,
    cursor: &'a str,
}

#[derive(Deserialize, Default)]
struct ListedText {
    #[serde(default)]
    content: String,
}

/// WeCom's documentation shows `create_time` as a string; accept a number too.
fn epoch<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

#[derive(Deserialize)]
struct ListedGroupMsg {
    msgid: String,
    #[serde(default)]
    creator: String,
    #[serde(deserialize_with = "epoch")]
    create_time: i64,
    #[serde(default)]
    text: Option<ListedText>,
}

#[derive(Deserialize)]
struct GroupMsgListPage {
    #[serde(default)]
    group_msg_list: Vec<ListedGroupMsg>,
    #[serde(default)]
    next_cursor: String,
}

#[derive(Deserialize)]
struct ListedMoment {
    moment_id: String,
    #[serde(default)]
    creator: String,
    #[serde(deserialize_with = "epoch")]
    create_time: i64,
    #[serde(default)]
    text: Option<ListedText>,
}

#[derive(Deserialize)]
struct MomentListPage {
    #[serde(default)]
    moment_list: Vec<ListedMoment>,
    #[serde(default)]
    next_cursor: String,
}

fn listed(id: String, creator: String, at: i64, text: Option<ListedText>) -> CreatedOnWeCom {
    CreatedOnWeCom {
        id,
        creator,
        created_at: DateTime::from_timestamp(at, 0).unwrap_or_default(),
        text: text.unwrap_or_default().content,
    }
}

/// The app credentials (reminders, OAuth).
pub(super) fn app_credentials(tenant: &Tenant) -> Result<CorpCredentials, WeComError> {
    let secret = tenant.app_secret.as_ref().ok_or_else(|| {
        WeComError::InvalidRequest("the tenant has no reminder app (app secret) configured".into())
    })?;
    Ok(
        CorpCredentials::new(tenant.id.as_str(), secret.expose(), tenant.app_agent_id)
            .with_rate_limits(&tenant.settings.wecom_rate_limits),
    )
}

/// The customer-contact credentials.
fn contact_credentials(tenant: &Tenant) -> CorpCredentials {
    CorpCredentials::new(tenant.id.as_str(), tenant.contact_secret.expose(), None)
        .with_rate_limits(&tenant.settings.wecom_rate_limits)
}

/// WeCom's "all recipients invalid" errcode, used when a single recipient was refused
/// although the call as a whole answered 0.
const RECIPIENT_REFUSED: i64 = 81013;

impl WeComClient {
    /// Every page of one of WeCom's "created by the corp" lists (group messages, moments)
    /// for a reconciliation: `split` takes a page apart into its items and the next cursor.
    async fn created_pages<P: serde::de::DeserializeOwned>(
        &self,
        tenant: &Tenant,
        path: &'static str,
        request: CreatedListRequest<'_>,
        split: impl Fn(P) -> (Vec<CreatedOnWeCom>, String),
    ) -> Result<Vec<CreatedOnWeCom>, WeComError> {
        let creds = contact_credentials(tenant);
        let mut cursor = String::new();
        let mut all = Vec::new();
        for _ in 0..MAX_LIST_PAGES {
            let body = CreatedListRequest {
                cursor: &cursor,
                ..request
            };
            let page: P = self.call(&creds, &Call::post(path, &body)?).await?;
            let (items, next_cursor) = split(page);
            all.extend(items);
            if next_cursor.is_empty() || next_cursor == cursor {
                return Ok(all);
            }
            cursor = next_cursor;
        }
        Err(WeComError::UnexpectedResponse {
            path,
            detail: "more pages than a reconciliation reads".into(),
        })
    }
}

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

    async fn group_messages_created(
        &self,
        tenant: &Tenant,
        chat_type: &str,
        creator: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CreatedOnWeCom>, WeComError> {
        let request = CreatedListRequest {
            chat_type: Some(chat_type),
            start_time: from.timestamp(),
            end_time: to.timestamp(),
            creator: Some(creator),
            filter_type: 0,
            limit: 100,
            cursor: "",
        };
        self.created_pages(
            tenant,
            paths::GET_GROUPMSG_LIST_V2,
            request,
            |page: GroupMsgListPage| {
                let items = page.group_msg_list.into_iter();
                let items = items.map(|m| listed(m.msgid, m.creator, m.create_time, m.text));
                (items.collect(), page.next_cursor)
            },
        )
        .await
    }

    async fn moments_created(
        &self,
        tenant: &Tenant,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CreatedOnWeCom>, WeComError> {
        let request = CreatedListRequest {
            chat_type: None,
            start_time: from.timestamp(),
            end_time: to.timestamp(),
            creator: None,
            filter_type: 0,
            limit: 100,
            cursor: "",
        };
        self.created_pages(
            tenant,
            paths::GET_MOMENT_LIST,
            request,
            |page: MomentListPage| {
                let items = page.moment_list.into_iter();
                let items = items.map(|m| listed(m.moment_id, m.creator, m.create_time, m.text));
                (items.collect(), page.next_cursor)
            },
        )
        .await
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
