//! The directory's WeCom source: the client implements the `DirectorySource` port.
use super::WeComClient;
use scrm_core::contacts::source::DirectorySource;
use scrm_core::wecom::api::{
    BatchGetByUserPage, CorpCredentials, CorpTagGroup, ExternalContactDetail, GroupChat,
    GroupChatFilter, GroupChatListPage, StaffStatus, WeComError,
};

impl DirectorySource for WeComClient {
    async fn follow_users(&self, creds: &CorpCredentials) -> Result<Vec<String>, WeComError> {
        self.get_follow_user_list(creds).await
    }

    async fn staff_status(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> Result<StaffStatus, WeComError> {
        WeComClient::staff_status(self, creds, userid).await
    }

    async fn customer_detail(
        &self,
        creds: &CorpCredentials,
        external_userid: &str,
    ) -> Result<ExternalContactDetail, WeComError> {
        self.get_external_contact_all(creds, external_userid).await
    }

    async fn group_detail(
        &self,
        creds: &CorpCredentials,
        chat_id: &str,
    ) -> Result<GroupChat, WeComError> {
        self.get_group_chat(creds, chat_id, true).await
    }

    async fn corp_tags(
        &self,
        creds: &CorpCredentials,
        tag_ids: &[String],
        group_ids: &[String],
    ) -> Result<Vec<CorpTagGroup>, WeComError> {
        self.get_corp_tag_list(creds, tag_ids, group_ids).await
    }

    async fn group_page(
        &self,
        creds: &CorpCredentials,
        owners: &[String],
        cursor: &str,
        limit: u32,
    ) -> Result<GroupChatListPage, WeComError> {
        let filter = GroupChatFilter {
            limit,
            ..GroupChatFilter::owned_by(owners.to_vec())
        };
        self.list_group_chats(creds, &filter, cursor).await
    }

    async fn customers_page(
        &self,
        creds: &CorpCredentials,
        userids: &[String],
        cursor: &str,
        limit: u32,
    ) -> Result<BatchGetByUserPage, WeComError> {
        self.batch_get_by_user(creds, userids, cursor, limit).await
    }

    async fn member_customer_ids(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> Result<Vec<String>, WeComError> {
        self.list_external_contacts(creds, userid).await
    }
}
