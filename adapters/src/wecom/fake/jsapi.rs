//! WeCom's jsapi tickets, faked: `get_jsapi_ticket` (the corp's, for `wx.config`) and
//! `ticket/get?type=agent_config` (the app's, for `wx.agentConfig`, only with the token of
//! an app that has an agent id). Tickets live 7200 s; the token is checked first, as on
//! every call (40014 / 42001 on a bad one), and calls are counted like the others, so a
//! test can show how often tickets were fetched.
use super::handlers::Reply;
use super::model::IssuedToken;
use scrm_core::wecom::api::paths;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// How long a ticket lives (s), as on WeCom.
pub(super) const TICKET_TTL_SECS: i64 = 7200;

/// The ticket of an app: the same app (corp and secret) always gets the same ticket.
fn ticket_of(token: &IssuedToken, kind: &str) -> String {
    let digest = Sha256::digest(format!("{kind}:{}:{}", token.corp_id, token.secret).as_bytes());
    format!("fake-{kind}-ticket-{}", hex::encode(&digest[..12]))
}

/// Answers `get_jsapi_ticket` or `ticket/get` for an authenticated call.
pub(super) fn ticket(path: &str, token: &IssuedToken, query: &HashMap<String, String>) -> Reply {
    let kind = if path == paths::GET_JSAPI_TICKET {
        "corp"
    } else {
        if query.get("type").map(String::as_str) != Some("agent_config") {
            return Err((40058, "type must be agent_config".into()));
        }
        if token.agent_id.is_none() {
            return Err((48002, "api forbidden: not an app's token".into()));
        }
        "agent"
    };
    Ok(json!({"ticket": ticket_of(token, kind), "expires_in": TICKET_TTL_SECS}))
}
