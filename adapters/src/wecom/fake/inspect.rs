//! What the fake received, over HTTP, for tests that drive the local stack from outside its
//! process (browser tests): `GET /_fake/app-messages?corp_id=` answers the app messages the
//! corp's members received (`message/send` bodies as delivered, oldest first), e.g. a task
//! reminder whose link a test then opens; `GET /_fake/welcome-messages?corp_id=` the welcome
//! messages WeCom accepted (`send_welcome_msg` bodies, oldest first); `POST /_fake/scan`
//! plays a customer scanning a 「联系我」 code. Not part of WeCom's API.
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

/// The route of a customer's scan.
pub(super) const SCAN: &str = "/_fake/scan";

/// `POST /_fake/scan?corp_id=&state=&external_userid=&name=`: the customer scans the code
/// with `state` (the add lands in the corp's data and a welcome code is issued, as
/// [`super::FakeWeCom::scan_contact_way`] does). Answers the add's fields, from which the
/// test delivers the callback (`scrm simulate add-contact`); 404 when no code has `state`.
pub(super) async fn scan(
    AxumState(state): AxumState<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let name = q
        .get("name")
        .cloned()
        .unwrap_or_else(|| get("external_userid"));
    let add = super::contact_way::scan(
        &mut lock(&state),
        &get("corp_id"),
        &get("state"),
        &get("external_userid"),
        &name,
    );
    match add {
        Some(a) => Json(json!({
            "userid": a.userid,
            "external_userid": a.external_userid,
            "state": a.state,
            "welcome_code": a.welcome_code,
            "at": a.at,
        }))
        .into_response(),
        None => (
            axum::http::StatusCode::NOT_FOUND,
            Json(json!({ "error": "no contact way with that state" })),
        )
            .into_response(),
    }
}
