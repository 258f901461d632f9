//! The reminder a staff member gets per occurrence: one textcard, however many groups,
//! linking to their own task list with a signed staff link. A link lives minutes and is
//! exchanged once for a staff session (`staff-api`), so one copied from a chat or a log is
//! soon worthless and cannot be used alongside its owner.
use crate::tenants::TenantId;
use crate::tokens::SigningKeys;
use crate::tokens::{self, Claims, TokenKind};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// How long the link in a reminder can be exchanged for a session. Later, the task center
/// is opened from WeCom (OAuth).
pub const STAFF_LINK_TTL: Duration = Duration::minutes(30);

/// How long a staff session (from a link or a WeCom OAuth code) lasts.
pub const STAFF_SESSION_TTL: Duration = Duration::hours(1);

/// A signed staff session token for `userid` of tenant `t`, valid [`STAFF_SESSION_TTL`].
pub fn staff_token(key: &SigningKeys, t: &TenantId, userid: &str, now: DateTime<Utc>) -> String {
    tokens::issue(
        key,
        &Claims {
            tenant: t.to_string(),
            subject: userid.to_string(),
            kind: TokenKind::Staff,
            expires_at: (now + STAFF_SESSION_TTL).timestamp(),
        },
    )
}

/// What a reminder link asserts: a staff member, and the link's own id, which its one
/// exchange records so that a second exchange is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// Tenant, userid, kind [`TokenKind::StaffLink`], expiry.
    #[serde(flatten)]
    pub claims: Claims,
    /// A random id (32 hex digits).
    pub link_id: String,
}

/// A signed reminder link token for `userid` of tenant `t`, valid [`STAFF_LINK_TTL`].
pub fn staff_link(key: &SigningKeys, t: &TenantId, userid: &str, now: DateTime<Utc>) -> String {
    let mut id = [0u8; 16];
    rand::rng().fill_bytes(&mut id);
    tokens::issue(
        key,
        &LinkClaims {
            claims: Claims {
                tenant: t.to_string(),
                subject: userid.to_string(),
                kind: TokenKind::StaffLink,
                expires_at: (now + STAFF_LINK_TTL).timestamp(),
            },
            link_id: hex::encode(id),
        },
    )
}

/// The task-list link of a reminder: `{base}/v1/tasks?status=pending&token=…`.
pub fn task_list_url(
    base: &str,
    key: &SigningKeys,
    t: &TenantId,
    userid: &str,
    now: DateTime<Utc>,
) -> String {
    format!(
        "{}/v1/tasks?status=pending&token={}",
        base.trim_end_matches('/'),
        staff_link(key, t, userid, now)
    )
}

/// The link of one reminder (an outbox entry), the same on every attempt: its id is
/// derived from the entry (`entry_key`: plan, occurrence, staff member) and it is issued
/// as of the entry's first attempt, so that a resend of a reminder that did arrive is the
/// identical message WeCom's duplicate check drops.
pub fn reminder_url(
    base: &str,
    key: &SigningKeys,
    t: &TenantId,
    userid: &str,
    entry_key: &str,
    first_attempt_at: DateTime<Utc>,
) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{t}|{entry_key}").as_bytes());
    let token = tokens::issue(
        key,
        &LinkClaims {
            claims: Claims {
                tenant: t.to_string(),
                subject: userid.to_string(),
                kind: TokenKind::StaffLink,
                expires_at: (first_attempt_at + STAFF_LINK_TTL).timestamp(),
            },
            link_id: hex::encode(&digest[..16]),
        },
    );
    format!(
        "{}/v1/tasks?status=pending&token={token}",
        base.trim_end_matches('/')
    )
}

/// Title and description of a reminder (within WeCom's 128 / 512 byte limits).
pub fn reminder_text(
    plan_name: &str,
    scheduled_at: DateTime<Utc>,
    tz: Tz,
    tasks: usize,
    late: bool,
) -> (String, String) {
    let title = "SOP 待推送任务".to_string();
    let when = scheduled_at.with_timezone(&tz).format("%m-%d %H:%M");
    let name: String = plan_name.chars().take(60).collect();
    let late = if late { "（补发）" } else { "" };
    let description =
        format!("「{name}」{when}{late}：你有 {tasks} 个待推送任务，点击查看并一键复制内容。");
    (title, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_carries_a_staff_token_for_the_member() {
        let key = SigningKeys::single("k1", crate::config::Secret::new("k".repeat(32))).unwrap();
        let t = TenantId::parse("ww0001").unwrap();
        let now = Utc::now();
        let url = task_list_url("https://x/", &key, &t, "zhangsan", now);
        let token = url.split("token=").nth(1).unwrap();
        let link = tokens::verify_as(&key, token, TokenKind::StaffLink, now, |l: &LinkClaims| {
            &l.claims
        })
        .unwrap();
        assert_eq!(link.claims.subject, "zhangsan");
        assert_eq!(link.claims.tenant, "ww0001");
        assert_eq!(link.link_id.len(), 32);
        // A link is not a session, and it lives minutes.
        assert_eq!(
            tokens::verify(&key, token, TokenKind::Staff, now),
            Err(tokens::TokenError::WrongKind)
        );
        assert!(tokens::verify(&key, token, TokenKind::StaffLink, now + STAFF_LINK_TTL).is_err());
        assert!(url.starts_with("https://x/v1/tasks?"));
    }

    #[test]
    fn the_text_fits_wecom_limits() {
        let (title, desc) = reminder_text(
            &"长".repeat(100),
            Utc::now(),
            chrono_tz::Asia::Shanghai,
            2000,
            true,
        );
        assert!(title.len() <= 128);
        assert!(desc.len() <= 512, "{}", desc.len());
        assert!(desc.contains("2000"));
    }
}
