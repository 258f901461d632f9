//! The reminder a staff member gets per occurrence: one textcard, however many groups,
//! linking to their own task list with a signed, expiring staff token.
use crate::config::Secret;
use crate::tenants::TenantId;
use crate::tokens::{self, Claims, TokenKind};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// How long the link in a reminder opens the task list.
pub const STAFF_LINK_TTL: Duration = Duration::days(7);

/// A signed staff token for `userid` of tenant `t`.
pub fn staff_token(key: &Secret, t: &TenantId, userid: &str, now: DateTime<Utc>) -> String {
    tokens::issue(
        key,
        &Claims {
            tenant: t.to_string(),
            subject: userid.to_string(),
            kind: TokenKind::Staff,
            expires_at: (now + STAFF_LINK_TTL).timestamp(),
        },
    )
}

/// The task-list link of a reminder: `{base}/v1/tasks?status=pending&token=…`.
pub fn task_list_url(
    base: &str,
    key: &Secret,
    t: &TenantId,
    userid: &str,
    now: DateTime<Utc>,
) -> String {
    format!(
        "{}/v1/tasks?status=pending&token={}",
        base.trim_end_matches('/'),
        staff_token(key, t, userid, now)
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
        let key = Secret::new("k".repeat(32));
        let t = TenantId::parse("ww0001").unwrap();
        let now = Utc::now();
        let url = task_list_url("https://x/", &key, &t, "zhangsan", now);
        let token = url.split("token=").nth(1).unwrap();
        let claims = tokens::verify(&key, token, TokenKind::Staff, now).unwrap();
        assert_eq!(claims.subject, "zhangsan");
        assert_eq!(claims.tenant, "ww0001");
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
