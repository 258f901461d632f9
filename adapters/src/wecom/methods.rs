//! One method per WeCom API, plus helpers that follow cursors to the end.
use super::client::{Call, WeComClient};
use scrm_core::wecom::api::paths;
use scrm_core::wecom::api::CorpCredentials;
use scrm_core::wecom::api::WeComError;
use scrm_core::wecom::api::*;
use serde::Deserialize;

/// Follows a cursor safely: stops on an empty cursor, and fails instead of looping if
/// WeCom hands back the same cursor or an absurd number of pages.
struct Pager {
    path: &'static str,
    cursor: String,
    pages: u32,
}

/// More pages than any corp can have (1000 groups per page → 10 M groups).
const MAX_PAGES: u32 = 10_000;

impl Pager {
    fn new(path: &'static str) -> Self {
        Self {
            path,
            cursor: String::new(),
            pages: 0,
        }
    }

    /// Records the page's `next_cursor`; `Ok(false)` when done.
    fn advance(&mut self, next_cursor: String) -> Result<bool, WeComError> {
        if next_cursor.is_empty() {
            return Ok(false);
        }
        self.pages += 1;
        if next_cursor == self.cursor || self.pages >= MAX_PAGES {
            return Err(WeComError::UnexpectedResponse {
                path: self.path,
                detail: "cursor does not advance".into(),
            });
        }
        self.cursor = next_cursor;
        Ok(true)
    }
}

#[derive(Deserialize)]
struct ExternalUserIdList {
    #[serde(default)]
    external_userid: Vec<String>,
}

#[derive(Deserialize)]
struct Empty {}

impl WeComClient {
    /// `GET externalcontact/list`: the external_userids of one member's customers (no paging).
    /// WeCom answers 84061 for a member without customers; that is an empty list here.
    pub async fn list_external_contacts(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> Result<Vec<String>, WeComError> {
        let call = Call::get(paths::EXTERNAL_CONTACT_LIST, vec![("userid", userid)]);
        match self.call::<ExternalUserIdList>(creds, &call).await {
            Ok(r) => Ok(r.external_userid),
            Err(WeComError::Api { errcode: 84061, .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// `GET externalcontact/get_follow_user_list`: the members with customer contact
    /// enabled (within the app's visible range). Members who left the corp are not
    /// listed. No paging.
    pub async fn get_follow_user_list(
        &self,
        creds: &CorpCredentials,
    ) -> Result<Vec<String>, WeComError> {
        let call = Call::get(paths::GET_FOLLOW_USER_LIST, Vec::new());
        let r: FollowUserListResponse = self.call(creds, &call).await?;
        Ok(r.follow_user)
    }

    /// `GET externalcontact/get`: one page of a customer's detail (`cursor` = the previous
    /// page's `next_cursor`, empty for the first).
    pub async fn get_external_contact(
        &self,
        creds: &CorpCredentials,
        external_userid: &str,
        cursor: &str,
    ) -> Result<ExternalContactDetail, WeComError> {
        let mut query = vec![("external_userid", external_userid)];
        if !cursor.is_empty() {
            query.push(("cursor", cursor));
        }
        self.call(creds, &Call::get(paths::EXTERNAL_CONTACT_GET, query))
            .await
    }

    /// A customer's detail with every follower (pages of 500 followers merged).
    pub async fn get_external_contact_all(
        &self,
        creds: &CorpCredentials,
        external_userid: &str,
    ) -> Result<ExternalContactDetail, WeComError> {
        let mut pager = Pager::new(paths::EXTERNAL_CONTACT_GET);
        let mut detail = self
            .get_external_contact(creds, external_userid, "")
            .await?;
        let mut next = std::mem::take(&mut detail.next_cursor);
        while pager.advance(next)? {
            let page = self
                .get_external_contact(creds, external_userid, &pager.cursor)
                .await?;
            detail.follow_user.extend(page.follow_user);
            next = page.next_cursor;
        }
        Ok(detail)
    }

    /// `POST externalcontact/batch/get_by_user`: one page of the customers of up to 100
    /// members (`limit` ≤100). Unlicensed members are in `fail_info` with errcode 0.
    pub async fn batch_get_by_user(
        &self,
        creds: &CorpCredentials,
        userids: &[String],
        cursor: &str,
        limit: u32,
    ) -> Result<BatchGetByUserPage, WeComError> {
        if userids.is_empty() || userids.len() > limits::BATCH_USERIDS {
            return Err(WeComError::InvalidRequest(
                "batch/get_by_user takes 1..=100 members".into(),
            ));
        }
        let body = BatchGetByUserRequest {
            userid_list: userids,
            cursor,
            limit: limit.clamp(1, limits::BATCH_PAGE),
        };
        self.call(creds, &Call::post(paths::BATCH_GET_BY_USER, &body)?)
            .await
    }

    /// Every page of `batch/get_by_user` for up to 100 members.
    pub async fn batch_get_by_user_all(
        &self,
        creds: &CorpCredentials,
        userids: &[String],
    ) -> Result<BatchGetByUserAll, WeComError> {
        let mut pager = Pager::new(paths::BATCH_GET_BY_USER);
        let mut all = BatchGetByUserAll::default();
        loop {
            let page = self
                .batch_get_by_user(creds, userids, &pager.cursor, limits::BATCH_PAGE)
                .await?;
            all.contacts.extend(page.external_contact_list);
            for u in page.fail_info.unlicensed_userid_list {
                if !all.unlicensed_userids.contains(&u) {
                    all.unlicensed_userids.push(u);
                }
            }
            if !pager.advance(page.next_cursor)? {
                return Ok(all);
            }
        }
    }

    /// `POST externalcontact/groupchat/list`: one page of groups.
    pub async fn list_group_chats(
        &self,
        creds: &CorpCredentials,
        filter: &GroupChatFilter,
        cursor: &str,
    ) -> Result<GroupChatListPage, WeComError> {
        filter.validate()?;
        let body = GroupChatListRequest::new(filter, cursor);
        self.call(creds, &Call::post(paths::GROUPCHAT_LIST, &body)?)
            .await
    }

    /// Every group matching `filter`.
    pub async fn list_group_chats_all(
        &self,
        creds: &CorpCredentials,
        filter: &GroupChatFilter,
    ) -> Result<Vec<GroupChatSummary>, WeComError> {
        let mut pager = Pager::new(paths::GROUPCHAT_LIST);
        let mut all = Vec::new();
        loop {
            let page = self.list_group_chats(creds, filter, &pager.cursor).await?;
            all.extend(page.group_chat_list);
            if !pager.advance(page.next_cursor)? {
                return Ok(all);
            }
        }
    }

    /// `POST externalcontact/groupchat/get`: a group with its members (`need_name` adds
    /// member names).
    pub async fn get_group_chat(
        &self,
        creds: &CorpCredentials,
        chat_id: &str,
        need_name: bool,
    ) -> Result<GroupChat, WeComError> {
        let body = GroupChatGetRequest {
            chat_id,
            need_name: u8::from(need_name),
        };
        let r: GroupChatGetResponse = self
            .call(creds, &Call::post(paths::GROUPCHAT_GET, &body)?)
            .await?;
        Ok(r.group_chat)
    }

    /// `POST externalcontact/get_corp_tag_list`: tag groups with their tags; everything when
    /// both filters are empty (`group_ids` wins when both are given).
    pub async fn get_corp_tag_list(
        &self,
        creds: &CorpCredentials,
        tag_ids: &[String],
        group_ids: &[String],
    ) -> Result<Vec<CorpTagGroup>, WeComError> {
        let body = CorpTagListRequest {
            tag_id: tag_ids,
            group_id: group_ids,
        };
        let r: CorpTagListResponse = self
            .call(creds, &Call::post(paths::GET_CORP_TAG_LIST, &body)?)
            .await?;
        Ok(r.tag_group)
    }

    /// `POST externalcontact/mark_tag`. Produces no callback: update the store yourself.
    pub async fn mark_tag(
        &self,
        creds: &CorpCredentials,
        request: &MarkTag,
    ) -> Result<(), WeComError> {
        request.validate()?;
        let _: Empty = self
            .call(creds, &Call::post(paths::MARK_TAG, request)?)
            .await?;
        Ok(())
    }

    /// `POST externalcontact/send_welcome_msg`. 41050 (code expired) and 41051 (already
    /// used, or the two already chatted) come back as [`WeComError::Api`].
    pub async fn send_welcome_msg(
        &self,
        creds: &CorpCredentials,
        message: &WelcomeMessage,
    ) -> Result<(), WeComError> {
        message.validate()?;
        let _: Empty = self
            .call(creds, &Call::post(paths::SEND_WELCOME_MSG, message)?)
            .await?;
        Ok(())
    }

    /// `POST message/send` from the app in `creds` (its `agent_id` is required). Rejected
    /// recipients come back in the result with errcode 0; if all are rejected WeCom answers
    /// 81013 ([`WeComError::Api`]).
    pub async fn send_app_message(
        &self,
        creds: &CorpCredentials,
        message: &AppMessage,
    ) -> Result<MessageSendResult, WeComError> {
        message.validate()?;
        let agent_id = creds.agent_id.ok_or_else(|| {
            WeComError::InvalidRequest("message/send needs the app's agent id".into())
        })?;
        let body = MessageSendRequest::new(message, agent_id);
        let r: MessageSendResponse = self
            .call(creds, &Call::post(paths::MESSAGE_SEND, &body)?)
            .await?;
        let result = MessageSendResult::from(r);
        if !result.all_delivered() {
            tracing::warn!(
                path = paths::MESSAGE_SEND,
                invalid_users = result.invalid_users.len(),
                unlicensed_users = result.unlicensed_users.len(),
                "app message partly rejected"
            );
        }
        Ok(result)
    }

    /// `POST externalcontact/add_msg_template`: creates the task; members confirm it in
    /// WeCom. Refused targets are in `fail_list` with errcode 0; 41048 means nobody at all.
    pub async fn add_msg_template(
        &self,
        creds: &CorpCredentials,
        template: &MsgTemplate,
    ) -> Result<AddMsgTemplateResult, WeComError> {
        template.validate()?;
        let result: AddMsgTemplateResult = self
            .call(creds, &Call::post(paths::ADD_MSG_TEMPLATE, template)?)
            .await?;
        if !result.fail_list.is_empty() {
            tracing::warn!(
                path = paths::ADD_MSG_TEMPLATE,
                failed = result.fail_list.len(),
                "mass message refused some targets"
            );
        }
        Ok(result)
    }

    /// `POST externalcontact/get_groupmsg_task`: one page of the members' statuses.
    pub async fn get_groupmsg_task(
        &self,
        creds: &CorpCredentials,
        msgid: &str,
        cursor: &str,
    ) -> Result<GroupMsgTaskPage, WeComError> {
        let body = GroupMsgTaskRequest {
            msgid,
            limit: limits::GROUPMSG_PAGE,
            cursor,
        };
        self.call(creds, &Call::post(paths::GET_GROUPMSG_TASK, &body)?)
            .await
    }

    /// Every member's status of a mass-message task.
    pub async fn get_groupmsg_task_all(
        &self,
        creds: &CorpCredentials,
        msgid: &str,
    ) -> Result<Vec<GroupMsgTask>, WeComError> {
        let mut pager = Pager::new(paths::GET_GROUPMSG_TASK);
        let mut all = Vec::new();
        loop {
            let page = self.get_groupmsg_task(creds, msgid, &pager.cursor).await?;
            all.extend(page.task_list);
            if !pager.advance(page.next_cursor)? {
                return Ok(all);
            }
        }
    }

    /// `POST externalcontact/get_groupmsg_send_result`: one page of one member's deliveries.
    /// 41063 (still dispatching; retryable) right after creating the task is normal.
    pub async fn get_groupmsg_send_result(
        &self,
        creds: &CorpCredentials,
        msgid: &str,
        userid: &str,
        cursor: &str,
    ) -> Result<GroupMsgSendResultPage, WeComError> {
        let body = GroupMsgSendResultRequest {
            msgid,
            userid,
            limit: limits::GROUPMSG_PAGE,
            cursor,
        };
        self.call(creds, &Call::post(paths::GET_GROUPMSG_SEND_RESULT, &body)?)
            .await
    }

    /// Every delivery record of one member for a mass-message task.
    pub async fn get_groupmsg_send_result_all(
        &self,
        creds: &CorpCredentials,
        msgid: &str,
        userid: &str,
    ) -> Result<Vec<GroupMsgSendResult>, WeComError> {
        let mut pager = Pager::new(paths::GET_GROUPMSG_SEND_RESULT);
        let mut all = Vec::new();
        loop {
            let page = self
                .get_groupmsg_send_result(creds, msgid, userid, &pager.cursor)
                .await?;
            all.extend(page.send_list);
            if !pager.advance(page.next_cursor)? {
                return Ok(all);
            }
        }
    }

    /// `POST externalcontact/add_moment_task`: returns the `jobid` (a string, valid 24 h).
    /// WeCom allows about 10 creations a minute per corp.
    pub async fn add_moment_task(
        &self,
        creds: &CorpCredentials,
        task: &MomentTask,
    ) -> Result<String, WeComError> {
        task.validate()?;
        let r: AddMomentTaskResponse = self
            .call(creds, &Call::post(paths::ADD_MOMENT_TASK, task)?)
            .await?;
        if r.jobid.is_empty() {
            return Err(WeComError::UnexpectedResponse {
                path: paths::ADD_MOMENT_TASK,
                detail: "empty jobid".into(),
            });
        }
        Ok(r.jobid)
    }

    /// `GET externalcontact/get_moment_task_result?jobid=…`.
    pub async fn get_moment_task_result(
        &self,
        creds: &CorpCredentials,
        jobid: &str,
    ) -> Result<MomentTaskResult, WeComError> {
        let call = Call::get(paths::GET_MOMENT_TASK_RESULT, vec![("jobid", jobid)]);
        self.call(creds, &call).await
    }

    /// `POST externalcontact/get_moment_task`: one page of the members' publication
    /// statuses of a post (`moment_id` from [`MomentTaskOutcome`]; `limit` ≤1000).
    pub async fn get_moment_task(
        &self,
        creds: &CorpCredentials,
        moment_id: &str,
        cursor: &str,
        limit: u32,
    ) -> Result<MomentTaskPage, WeComError> {
        if moment_id.is_empty() {
            return Err(WeComError::InvalidRequest(
                "get_moment_task needs a moment_id".into(),
            ));
        }
        let body = MomentTaskRequest {
            moment_id,
            limit: limit.clamp(1, limits::MOMENT_TASK_PAGE),
            cursor,
        };
        self.call(creds, &Call::post(paths::GET_MOMENT_TASK, &body)?)
            .await
    }

    /// Every member's publication status of a Moments post.
    pub async fn get_moment_task_all(
        &self,
        creds: &CorpCredentials,
        moment_id: &str,
    ) -> Result<Vec<MomentPublish>, WeComError> {
        let mut pager = Pager::new(paths::GET_MOMENT_TASK);
        let mut all = Vec::new();
        loop {
            let page = self
                .get_moment_task(creds, moment_id, &pager.cursor, limits::MOMENT_TASK_PAGE)
                .await?;
            all.extend(page.task_list);
            if !pager.advance(page.next_cursor)? {
                return Ok(all);
            }
        }
    }

    /// `GET auth/getuserinfo?code=…`: who a web OAuth code belongs to (staff login). Codes
    /// are single-use and short-lived; an invalid one is errcode 40029.
    pub async fn get_oauth_identity(
        &self,
        creds: &CorpCredentials,
        code: &str,
    ) -> Result<OAuthIdentity, WeComError> {
        let call = Call::get(paths::AUTH_GETUSERINFO, vec![("code", code)]);
        let r: GetUserInfoResponse = self.call(creds, &call).await?;
        match (r.userid.filter(|u| !u.is_empty()), r.openid) {
            (Some(userid), _) => Ok(OAuthIdentity::Member {
                userid,
                user_ticket: r.user_ticket,
            }),
            (None, Some(openid)) => Ok(OAuthIdentity::NonMember {
                openid,
                external_userid: r.external_userid,
            }),
            (None, None) => Err(WeComError::UnexpectedResponse {
                path: paths::AUTH_GETUSERINFO,
                detail: "neither userid nor openid".into(),
            }),
        }
    }

    /// `GET user/get?userid=…`.
    pub async fn get_user(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> Result<User, WeComError> {
        let call = Call::get(paths::USER_GET, vec![("userid", userid)]);
        self.call(creds, &call).await
    }

    /// A member's status, with "WeCom no longer knows this userid" (60111) as
    /// [`StaffStatus::Left`] rather than an error.
    pub async fn staff_status(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> Result<StaffStatus, WeComError> {
        match self.get_user(creds, userid).await {
            Ok(user) => Ok(StaffStatus::from_code(user.status)),
            Err(WeComError::Api { errcode: 60111, .. }) => Ok(StaffStatus::Left),
            Err(e) => Err(e),
        }
    }

    /// `POST externalcontact/unionid_to_external_userid` with `unionid` and `openid` (both
    /// from the same mini-program or official account of the corp's subject): H5 customer
    /// login. This is the self-built-app path; the `idconvert/…` variant with
    /// `subject_type` is for provider-subject (third-party) apps. Strictly one user at a
    /// time: WeCom forbids bulk conversion. 84061 (not a customer) is
    /// [`UnionIdLookup::NotCustomer`].
    pub async fn unionid_to_external_userid(
        &self,
        creds: &CorpCredentials,
        unionid: &str,
        openid: &str,
    ) -> Result<UnionIdLookup, WeComError> {
        if unionid.is_empty() || openid.is_empty() {
            return Err(WeComError::InvalidRequest(
                "unionid_to_external_userid needs unionid and openid".into(),
            ));
        }
        let body = UnionIdRequest { unionid, openid };
        let call = Call::post(paths::UNIONID_TO_EXTERNAL_USERID, &body)?;
        match self.call::<UnionIdResponse>(creds, &call).await {
            Ok(UnionIdResponse {
                external_userid: Some(id),
                ..
            }) if !id.is_empty() => Ok(UnionIdLookup::Customer(id)),
            Ok(UnionIdResponse {
                pending_id: Some(id),
                ..
            }) if !id.is_empty() => Ok(UnionIdLookup::Pending(id)),
            Ok(_) | Err(WeComError::Api { errcode: 84061, .. }) => Ok(UnionIdLookup::NotCustomer),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_stops_on_empty_and_refuses_a_repeated_cursor() {
        let mut p = Pager::new("x");
        assert!(p.advance("a".into()).unwrap());
        assert_eq!(p.cursor, "a");
        assert!(p.advance("b".into()).unwrap());
        assert!(p.advance("b".into()).is_err());
        let mut done = Pager::new("x");
        assert!(!done.advance(String::new()).unwrap());
    }
}
