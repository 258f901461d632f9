//! The growth context's WeCom port: 「联系我」 codes, welcome messages, tags, remarks and a
//! member's name; 「加入群聊」 join ways for group codes.
use super::client::{Call, WeComClient};
use scrm_core::growth::{GrowthWeCom, JoinWayWeCom};
use scrm_core::wecom::api::{
    paths, ContactWay, ContactWayCreated, ContactWayInfo, CorpCredentials, CustomerRemark, JoinWay,
    JoinWayCreated, JoinWayInfo, MarkTag, WeComError, WelcomeMessage, LIST_CONTACT_WAY_PAGE,
};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Empty {}

#[derive(Serialize)]
struct ConfigId<'a> {
    config_id: &'a str,
}

#[derive(Deserialize)]
struct GetJoinWay {
    join_way: JoinWayInfo,
}

#[derive(Deserialize)]
struct GetContactWay {
    contact_way: ContactWayInfo,
}

#[derive(Serialize)]
struct ListContactWay<'a> {
    start_time: i64,
    end_time: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    cursor: &'a str,
    limit: u32,
}

#[derive(Deserialize)]
struct ListedWay {
    config_id: String,
}

#[derive(Deserialize)]
struct ContactWayList {
    #[serde(default)]
    contact_way: Vec<ListedWay>,
    #[serde(default)]
    next_cursor: String,
}

/// `list_contact_way` takes a range of at most 31 days.
const LIST_RANGE_SECS: i64 = 31 * 86_400;
/// Pages read at most while looking for one code (1000 codes a page).
const LIST_PAGES: usize = 20;

impl WeComClient {
    /// `POST externalcontact/add_contact_way`.
    pub async fn add_contact_way(
        &self,
        creds: &CorpCredentials,
        way: &ContactWay,
    ) -> Result<ContactWayCreated, WeComError> {
        way.validate()?;
        self.call(creds, &Call::post(paths::ADD_CONTACT_WAY, way)?)
            .await
    }

    /// `POST externalcontact/update_contact_way` (overwrites the code's settings).
    pub async fn update_contact_way(
        &self,
        creds: &CorpCredentials,
        way: &ContactWay,
    ) -> Result<(), WeComError> {
        way.validate()?;
        if way.config_id.is_none() {
            return Err(WeComError::InvalidRequest(
                "update_contact_way needs a config_id".into(),
            ));
        }
        let _: Empty = self
            .call(creds, &Call::post(paths::UPDATE_CONTACT_WAY, way)?)
            .await?;
        Ok(())
    }

    /// `POST externalcontact/del_contact_way`.
    pub async fn del_contact_way(
        &self,
        creds: &CorpCredentials,
        config_id: &str,
    ) -> Result<(), WeComError> {
        let _: Empty = self
            .call(
                creds,
                &Call::post(paths::DEL_CONTACT_WAY, &ConfigId { config_id })?,
            )
            .await?;
        Ok(())
    }

    /// `POST externalcontact/get_contact_way`.
    pub async fn get_contact_way(
        &self,
        creds: &CorpCredentials,
        config_id: &str,
    ) -> Result<ContactWayInfo, WeComError> {
        let r: GetContactWay = self
            .call(
                creds,
                &Call::post(paths::GET_CONTACT_WAY, &ConfigId { config_id })?,
            )
            .await?;
        Ok(r.contact_way)
    }

    /// `POST externalcontact/remark`.
    pub async fn remark_customer(
        &self,
        creds: &CorpCredentials,
        request: &CustomerRemark,
    ) -> Result<(), WeComError> {
        request.validate()?;
        let _: Empty = self
            .call(creds, &Call::post(paths::EXTERNAL_CONTACT_REMARK, request)?)
            .await?;
        Ok(())
    }

    /// The code with `state` among those created from `since` to `until` (epoch s, at
    /// most WeCom's 31 days): the codes listed, each read until one has the state.
    pub async fn find_contact_way(
        &self,
        creds: &CorpCredentials,
        state: &str,
        since: i64,
        until: i64,
    ) -> Result<Option<ContactWayInfo>, WeComError> {
        let end = until + 60;
        let mut cursor = String::new();
        let start = since.max(end - LIST_RANGE_SECS);
        for _ in 0..LIST_PAGES {
            let body = ListContactWay {
                start_time: start,
                end_time: end,
                cursor: &cursor,
                limit: LIST_CONTACT_WAY_PAGE,
            };
            let page: ContactWayList = self
                .call(creds, &Call::post(paths::LIST_CONTACT_WAY, &body)?)
                .await?;
            for listed in &page.contact_way {
                let info = self.get_contact_way(creds, &listed.config_id).await?;
                if info.state.as_deref() == Some(state) {
                    return Ok(Some(info));
                }
            }
            if page.next_cursor.is_empty() || page.next_cursor == cursor {
                return Ok(None);
            }
            cursor = page.next_cursor;
        }
        Ok(None)
    }
}

impl GrowthWeCom for WeComClient {
    async fn add_contact_way(
        &self,
        creds: &CorpCredentials,
        way: &ContactWay,
    ) -> Result<ContactWayCreated, WeComError> {
        WeComClient::add_contact_way(self, creds, way).await
    }

    async fn update_contact_way(
        &self,
        creds: &CorpCredentials,
        way: &ContactWay,
    ) -> Result<(), WeComError> {
        WeComClient::update_contact_way(self, creds, way).await
    }

    async fn del_contact_way(
        &self,
        creds: &CorpCredentials,
        config_id: &str,
    ) -> Result<(), WeComError> {
        WeComClient::del_contact_way(self, creds, config_id).await
    }

    async fn find_contact_way(
        &self,
        creds: &CorpCredentials,
        state: &str,
        since: i64,
        until: i64,
    ) -> Result<Option<ContactWayInfo>, WeComError> {
        WeComClient::find_contact_way(self, creds, state, since, until).await
    }

    async fn send_welcome(
        &self,
        creds: &CorpCredentials,
        message: &WelcomeMessage,
    ) -> Result<(), WeComError> {
        self.send_welcome_msg(creds, message).await
    }

    async fn mark_tag(&self, creds: &CorpCredentials, request: &MarkTag) -> Result<(), WeComError> {
        WeComClient::mark_tag(self, creds, request).await
    }

    async fn remark(
        &self,
        creds: &CorpCredentials,
        request: &CustomerRemark,
    ) -> Result<(), WeComError> {
        self.remark_customer(creds, request).await
    }

    async fn join_state(
        &self,
        creds: &CorpCredentials,
        chat_id: &str,
        member_id: &str,
    ) -> Result<Option<String>, WeComError> {
        Ok(self
            .get_group_chat(creds, chat_id, false)
            .await?
            .member_list
            .into_iter()
            .find(|m| m.userid == member_id)
            .and_then(|m| m.state)
            .filter(|s| !s.is_empty()))
    }

    async fn staff_name(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> Result<Option<String>, WeComError> {
        Ok(self.get_user(creds, userid).await?.name)
    }
}

impl JoinWayWeCom for WeComClient {
    async fn add_join_way(
        &self,
        creds: &CorpCredentials,
        way: &JoinWay,
    ) -> Result<String, WeComError> {
        way.validate()?;
        let created: JoinWayCreated = self
            .call(creds, &Call::post(paths::ADD_JOIN_WAY, way)?)
            .await?;
        Ok(created.config_id)
    }

    async fn get_join_way(
        &self,
        creds: &CorpCredentials,
        config_id: &str,
    ) -> Result<JoinWayInfo, WeComError> {
        let r: GetJoinWay = self
            .call(
                creds,
                &Call::post(paths::GET_JOIN_WAY, &ConfigId { config_id })?,
            )
            .await?;
        Ok(r.join_way)
    }

    async fn update_join_way(
        &self,
        creds: &CorpCredentials,
        way: &JoinWay,
    ) -> Result<(), WeComError> {
        way.validate()?;
        if way.config_id.is_none() {
            return Err(WeComError::InvalidRequest(
                "update_join_way needs a config_id".into(),
            ));
        }
        let _: Empty = self
            .call(creds, &Call::post(paths::UPDATE_JOIN_WAY, way)?)
            .await?;
        Ok(())
    }

    async fn del_join_way(
        &self,
        creds: &CorpCredentials,
        config_id: &str,
    ) -> Result<(), WeComError> {
        let _: Empty = self
            .call(
                creds,
                &Call::post(paths::DEL_JOIN_WAY, &ConfigId { config_id })?,
            )
            .await?;
        Ok(())
    }
}
