//! The tag edits' WeCom port: the client implements `TagMarking` with `mark_tag`.
use super::WeComClient;
use scrm_core::tags::TagMarking;
use scrm_core::wecom::api::{CorpCredentials, MarkTag, WeComError};

impl TagMarking for WeComClient {
    async fn mark_tag(&self, creds: &CorpCredentials, request: &MarkTag) -> Result<(), WeComError> {
        WeComClient::mark_tag(self, creds, request).await
    }
}
