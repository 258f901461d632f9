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

/// Where a reminder's link leads: the staff's task center.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskCenter<'a> {
    /// The mobile pages (`STAFF_PAGES_URL`), which exchange the link for a session and open
    /// the task center. They also get the corp and its app, so that a link that no longer
    /// works (expired, or used on another device) falls back to WeCom's in-app login.
    Pages {
        /// The pages' public URL.
        url: &'a str,
        /// The corp's self-built app (the one that sends the reminders).
        agent_id: Option<i64>,
    },
    /// The staff API's JSON task list (`PUBLIC_BASE_URL`), for deployments without the
    /// mobile pages.
    Api(&'a str),
}

impl TaskCenter<'_> {
    /// The link for `token` of tenant `t`.
    fn link(&self, t: &TenantId, token: &str) -> String {
        match self {
            TaskCenter::Pages { url, agent_id } => {
                let agent = agent_id
                    .map(|a| format!("&agent_id={a}"))
                    .unwrap_or_default();
                format!(
                    "{}/?corp_id={t}{agent}&token={token}",
                    url.trim_end_matches('/')
                )
            }
            TaskCenter::Api(base) => format!(
                "{}/v1/tasks?status=pending&token={token}",
                base.trim_end_matches('/')
            ),
        }
    }
}

/// The link of one reminder (an outbox entry), the same on every attempt: its id is
/// derived from the entry (`entry_key`: plan, occurrence, staff member) and it is issued
/// as of the entry's first attempt, so that a resend of a reminder that did arrive is the
/// identical message WeCom's duplicate check drops.
pub fn reminder_url(
    center: TaskCenter<'_>,
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
    center.link(t, &token)
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

    fn key() -> SigningKeys {
        SigningKeys::single("k1", crate::config::Secret::new("k".repeat(32))).unwrap()
    }

    #[test]
    fn a_reminder_links_to_the_mobile_pages_when_the_deployment_has_them() {
        let key = key();
        let t = TenantId::parse("ww0001").unwrap();
        let first = Utc::now();
        let pages = TaskCenter::Pages {
            url: "https://h5.example.com/h5/",
            agent_id: Some(1000002),
        };
        let url = reminder_url(pages, &key, &t, "zhangsan", "p1|o1|r", first);
        assert!(
            url.starts_with("https://h5.example.com/h5/?corp_id=ww0001&agent_id=1000002&token="),
            "{url}"
        );
        let token = url.split("token=").nth(1).unwrap();
        let link = tokens::verify_as(
            &key,
            token,
            TokenKind::StaffLink,
            first,
            |l: &LinkClaims| &l.claims,
        )
        .unwrap();
        assert_eq!(link.claims.subject, "zhangsan");
        // Without the pages: the staff API's JSON, with the very same token.
        let api = reminder_url(
            TaskCenter::Api("https://api.example.com/"),
            &key,
            &t,
            "zhangsan",
            "p1|o1|r",
            first,
        );
        assert_eq!(
            api,
            format!("https://api.example.com/v1/tasks?status=pending&token={token}")
        );
        // No app configured: no agent id, and still a link.
        let bare = TaskCenter::Pages {
            url: "https://h5.example.com",
            agent_id: None,
        };
        assert!(reminder_url(bare, &key, &t, "zhangsan", "p1|o1|r", first)
            .starts_with("https://h5.example.com/?corp_id=ww0001&token="));
    }

    #[test]
    fn a_reminder_link_is_the_same_on_every_attempt_and_differs_per_entry() {
        let key = key();
        let t = TenantId::parse("ww0001").unwrap();
        let first = Utc::now() - Duration::minutes(3);
        let pages = TaskCenter::Pages {
            url: "https://h5.example.com",
            agent_id: Some(7),
        };
        let a = reminder_url(pages, &key, &t, "zhangsan", "p1|o1|r", first);
        // Resent later (the first attempt's time is what counts): byte-identical.
        assert_eq!(
            a,
            reminder_url(pages, &key, &t, "zhangsan", "p1|o1|r", first)
        );
        assert_ne!(
            a,
            reminder_url(pages, &key, &t, "zhangsan", "p1|o2|r", first)
        );
    }
}
