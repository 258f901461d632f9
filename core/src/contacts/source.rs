//! What the directory reads from WeCom's server API, as one narrow port: the callback
//! effects fetch a customer's or a group's detail, the re-sync pages through everything.
//! The WeCom client implements it (`scrm-adapters`); tests run it against the fake server.
use crate::wecom::api::{
    BatchGetByUserPage, CorpCredentials, CorpTagGroup, ExternalContactDetail, GroupChat,
    GroupChatListPage, StaffStatus, WeComError,
};
use std::future::Future;

/// WeCom's customer-contact read APIs.
pub trait DirectorySource: Send + Sync {
    /// `externalcontact/get_follow_user_list`: the members with customer contact (members
    /// who left are not listed).
    fn follow_users(
        &self,
        creds: &CorpCredentials,
    ) -> impl Future<Output = Result<Vec<String>, WeComError>> + Send;
    /// `user/get`: a member's status (an unknown userid is [`StaffStatus::Left`]).
    fn staff_status(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> impl Future<Output = Result<StaffStatus, WeComError>> + Send;
    /// `externalcontact/get`, every follower.
    fn customer_detail(
        &self,
        creds: &CorpCredentials,
        external_userid: &str,
    ) -> impl Future<Output = Result<ExternalContactDetail, WeComError>> + Send;
    /// `externalcontact/groupchat/get` (with member names).
    fn group_detail(
        &self,
        creds: &CorpCredentials,
        chat_id: &str,
    ) -> impl Future<Output = Result<GroupChat, WeComError>> + Send;
    /// `externalcontact/get_corp_tag_list` (everything when both filters are empty).
    fn corp_tags(
        &self,
        creds: &CorpCredentials,
        tag_ids: &[String],
        group_ids: &[String],
    ) -> impl Future<Output = Result<Vec<CorpTagGroup>, WeComError>> + Send;
    /// One page of `externalcontact/groupchat/list` (every group).
    fn group_page(
        &self,
        creds: &CorpCredentials,
        cursor: &str,
        limit: u32,
    ) -> impl Future<Output = Result<GroupChatListPage, WeComError>> + Send;
    /// One page of `externalcontact/batch/get_by_user` for up to 100 members.
    fn customers_page(
        &self,
        creds: &CorpCredentials,
        userids: &[String],
        cursor: &str,
        limit: u32,
    ) -> impl Future<Output = Result<BatchGetByUserPage, WeComError>> + Send;
    /// `externalcontact/list`: one member's customers.
    fn member_customer_ids(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> impl Future<Output = Result<Vec<String>, WeComError>> + Send;
}

/// The customer-contact credentials of a tenant, when it has a contact secret.
pub fn contact_credentials(tenant: &crate::tenants::Tenant) -> Option<CorpCredentials> {
    let secret = tenant.contact_secret.expose();
    (!secret.is_empty()).then(|| CorpCredentials::new(tenant.id.as_str(), secret, None))
}
