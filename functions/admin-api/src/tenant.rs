//! Admin routes of the tenant itself: its profile (never a secret), settings and API keys.
use crate::{AdminApi, Matched, Route};
use lambda_http::{Body, Request, Response};
use scrm_adapters::http::{self, json_response, ApiError};
use scrm_core::tenants::ports::issue_key;
use scrm_core::tenants::{
    ApiKeyStore, GroupMessageQuota, Principal, Role, TenantLookup, TenantSettings, TenantView,
    TenantWrite,
};
use serde::Deserialize;

/// The routes of this module (kept in step with docs/openapi.yaml by a test).
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/v1/whoami",
        role: Role::Viewer,
    },
    Route {
        method: "GET",
        path: "/v1/tenant",
        role: Role::Viewer,
    },
    Route {
        method: "PUT",
        path: "/v1/tenant/settings",
        role: Role::Admin,
    },
    Route {
        method: "GET",
        path: "/v1/keys",
        role: Role::Admin,
    },
    Route {
        method: "POST",
        path: "/v1/keys",
        role: Role::Admin,
    },
    Route {
        method: "DELETE",
        path: "/v1/keys/{key_id}",
        role: Role::Admin,
    },
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    role: Role,
}

fn validate_settings(s: &TenantSettings) -> Result<(), ApiError> {
    if s.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(ApiError::validation(format!(
            "unknown timezone `{}` (use an IANA name such as Asia/Shanghai)",
            s.timezone
        )));
    }
    let limit_ok = match s.group_message_quota {
        GroupMessageQuota::DaysInMonth => true,
        GroupMessageQuota::PerMonth { limit } => (1..=31).contains(&limit),
        GroupMessageQuota::PerWeek { limit } => (1..=7).contains(&limit),
        GroupMessageQuota::PerDay { limit } => limit == 1,
    };
    if !limit_ok {
        return Err(ApiError::validation(
            "group_message_quota limit out of range (per_month 1-31, per_week 1-7, per_day 1)",
        ));
    }
    Ok(())
}

/// Handles a matched route of this module.
pub async fn handle(
    api: &AdminApi,
    principal: &Principal,
    matched: &Matched,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let tenant = &principal.tenant;
    match (matched.route.method, matched.route.path) {
        ("GET", "/v1/whoami") => Ok(json_response(
            200,
            &serde_json::json!({
                "corp_id": tenant.as_str(),
                "role": principal.role.as_str(),
                "key_id": principal.key_id,
            }),
        )),
        ("GET", "/v1/tenant") => {
            let t = api
                .tenants
                .tenant(tenant)
                .await?
                .ok_or_else(|| ApiError::not_found("tenant not registered"))?;
            Ok(json_response(200, &TenantView::from(&t)))
        }
        ("PUT", "/v1/tenant/settings") => {
            let settings: TenantSettings = http::parse_json(req)?;
            validate_settings(&settings)?;
            api.tenants.update_settings(tenant, &settings).await?;
            Ok(json_response(200, &settings))
        }
        ("GET", "/v1/keys") => {
            let keys = api.tenants.list_keys(tenant).await?;
            Ok(json_response(200, &serde_json::json!({ "keys": keys })))
        }
        ("POST", "/v1/keys") => {
            let new: NewKey = http::parse_json(req)?;
            let name = new.name.trim();
            if name.is_empty() || name.len() > 100 {
                return Err(ApiError::validation("name must be 1 to 100 characters"));
            }
            let (key, record) =
                issue_key(&api.tenants, tenant, name, new.role, api.clock.now()).await?;
            tracing::info!(key_id = %record.key_id, role = record.role.as_str(), "api key issued");
            Ok(json_response(
                201,
                &serde_json::json!({ "key": key.reveal(), "record": record }),
            ))
        }
        ("DELETE", "/v1/keys/{key_id}") => {
            let key_id = &matched.params[0];
            if !api.tenants.revoke_key(tenant, key_id).await? {
                return Err(ApiError::not_found("no such key"));
            }
            tracing::info!(%key_id, "api key revoked");
            Ok(json_response(
                200,
                &serde_json::json!({ "revoked": key_id }),
            ))
        }
        _ => Err(ApiError::not_found("no such endpoint")),
    }
}
