//! The jsapi tickets of the JS-SDK signatures, through the same shared cache as tokens: per
//! (corp, app) and kind, sealed, refreshed before expiry, fetched by one caller at a time
//! under the cache's lease (WeCom allows 400 fetches an hour per corp and 100 per app).
use super::client::Call;
use super::token::CachedToken;
use super::WeComClient;
use futures::future::BoxFuture;
use scrm_core::jssdk::{JsApiTickets, Ticket, TicketKind};
use scrm_core::tenants::Tenant;
use scrm_core::wecom::api::{paths, CorpCredentials, WeComError};
use serde::Deserialize;

#[derive(Deserialize)]
struct TicketResponse {
    ticket: String,
    expires_in: i64,
}

impl WeComClient {
    async fn fetch_ticket(
        &self,
        creds: &CorpCredentials,
        kind: TicketKind,
    ) -> Result<CachedToken, WeComError> {
        let (path, call) = match kind {
            TicketKind::Corp => (
                paths::GET_JSAPI_TICKET,
                Call::get(paths::GET_JSAPI_TICKET, vec![]),
            ),
            TicketKind::Agent => (
                paths::TICKET_GET,
                Call::get(paths::TICKET_GET, vec![("type", "agent_config")]),
            ),
        };
        let parsed: TicketResponse = self.call(creds, &call).await?;
        if parsed.ticket.is_empty() || parsed.expires_in <= 0 {
            return Err(WeComError::UnexpectedResponse {
                path,
                detail: "empty ticket or non-positive expires_in".into(),
            });
        }
        tracing::info!(corp_id = %creds.corp_id, ?kind, expires_in = parsed.expires_in, "fetched jsapi ticket");
        Ok(CachedToken {
            token: super::AccessToken::new(parsed.ticket),
            expires_at: super::client::now_epoch() + parsed.expires_in,
        })
    }
}

impl JsApiTickets for WeComClient {
    async fn ticket(&self, tenant: &Tenant, kind: TicketKind) -> Result<Ticket, WeComError> {
        let (Some(agent_id), Some(secret)) = (tenant.app_agent_id, &tenant.app_secret) else {
            return Err(WeComError::InvalidRequest(
                "the tenant has no self-built app".into(),
            ));
        };
        let creds = CorpCredentials::new(tenant.id.as_str(), secret.expose(), Some(agent_id));
        let fetch = |_deadline| -> BoxFuture<'_, Result<CachedToken, WeComError>> {
            Box::pin(self.fetch_ticket(&creds, kind))
        };
        let ticket = self
            .cached_before(&creds.ticket_key(kind), self.deadline(), &fetch)
            .await?;
        Ok(Ticket::new(ticket.expose()))
    }
}
