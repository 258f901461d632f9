//! What the fake received, over HTTP, for tests that drive the local stack from outside its
//! process (browser tests): `GET /_fake/app-messages?corp_id=` answers the app messages the
//! corp's members received (`message/send` bodies as delivered, oldest first), e.g. a task
//! reminder whose link a test then opens; `GET /_fake/welcome-messages?corp_id=` the welcome
//! messages WeCom accepted (`send_welcome_msg` bodies, oldest first). Not part of WeCom's API.
use super::{lock, Shared};
use axum::extract::{Query, State as AxumState};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The route.
pub(super) const APP_MESSAGES: &str = "/_fake/app-messages";

pub(super) async fn app_messages(
    AxumState(state): AxumState<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let corp_id = q.get("corp_id").cloned().unwrap_or_default();
    let messages = lock(&state).corp(&corp_id).app_messages.clone();
    Json(json!({ "corp_id": corp_id, "messages": messages }))
}

/// The route of the welcome messages.
pub(super) const WELCOME_MESSAGES: &str = "/_fake/welcome-messages";

pub(super) async fn welcome_messages(
    AxumState(state): AxumState<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let corp_id = q.get("corp_id").cloned().unwrap_or_default();
    let messages = lock(&state).corp(&corp_id).welcomes.clone();
    Json(json!({ "corp_id": corp_id, "messages": messages }))
}
