//! WeCom's receive limits for enterprise group messages (企业群发), known to the planner so
//! that a task that would exceed them fails up front with the rule that failed it, rather
//! than at WeCom (where it only shows up later as send status 3).
//!
//! - Per customer and per customer group, the tenant's [`GroupMessageQuota`]: by default as
//!   many per calendar month as the month has days; or N per month (the old rule was 4), 7
//!   per week (Monday to Sunday) or 1 per day.
//! - Per customer, at most one group message per staff member per day.
//!
//! Periods are calendar periods of the tenant's timezone, taken from the occurrence's
//! scheduled local date. A counter per (target, period) is reserved atomically with the
//! task's creation and released when a task fails before anything was sent.
use super::schedule::days_in_month;
use crate::tenants::GroupMessageQuota;
use chrono::{Datelike, NaiveDate};

/// One counter a task needs: which counter and how high it may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaSlot {
    /// The counter's partition key suffix (`G#{chat}` or `C#{ext}`).
    pub counter: String,
    /// The period sort key (`M2025-07`, `W2025-27`, `D2025-07-01`, `S#{staff}#D2025-07-01`).
    pub period: String,
    /// The largest count allowed.
    pub limit: u32,
    /// The failure if the counter is full.
    pub rule: QuotaRule,
}

/// Which rule a slot enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaRule {
    /// The tenant's receive quota, described (`per_month 4 in 2025-07`).
    Receive {
        /// "this group" / "this customer".
        what: &'static str,
        /// The rule, for people.
        rule: String,
    },
    /// One message per customer per staff member per day.
    StaffDaily {
        /// The local date.
        date: String,
    },
}

/// The period key and limit of the tenant's receive quota on local date `date`.
pub fn receive_period(quota: GroupMessageQuota, date: NaiveDate) -> (String, u32, String) {
    let month = format!("M{}", date.format("%Y-%m"));
    match quota {
        GroupMessageQuota::DaysInMonth => {
            let days = days_in_month(date.year(), date.month());
            (
                month,
                days,
                format!(
                    "{days} per month, as many as {} has days",
                    date.format("%Y-%m")
                ),
            )
        }
        GroupMessageQuota::PerMonth { limit } => (
            month,
            limit,
            format!("{limit} per calendar month, {}", date.format("%Y-%m")),
        ),
        GroupMessageQuota::PerWeek { limit } => {
            let week = date.iso_week();
            (
                format!("W{}-{:02}", week.year(), week.week()),
                limit,
                format!("{limit} per week, week {}-{:02}", week.year(), week.week()),
            )
        }
        GroupMessageQuota::PerDay { limit } => (
            format!("D{}", date.format("%Y-%m-%d")),
            limit,
            format!("{limit} per day, {}", date.format("%Y-%m-%d")),
        ),
    }
}

/// The slot of a customer group's receive quota.
pub fn group_slots(quota: GroupMessageQuota, chat_id: &str, date: NaiveDate) -> Vec<QuotaSlot> {
    let (period, limit, rule) = receive_period(quota, date);
    vec![QuotaSlot {
        counter: format!("G#{chat_id}"),
        period,
        limit,
        rule: QuotaRule::Receive {
            what: "this group",
            rule,
        },
    }]
}

/// The slots of a message to one customer from one staff member: the customer's receive
/// quota and the one-per-staff-per-day rule.
pub fn customer_slots(
    quota: GroupMessageQuota,
    external_userid: &str,
    staff: &str,
    date: NaiveDate,
) -> Vec<QuotaSlot> {
    let (period, limit, rule) = receive_period(quota, date);
    let day = date.format("%Y-%m-%d").to_string();
    vec![
        QuotaSlot {
            counter: format!("C#{external_userid}"),
            period,
            limit,
            rule: QuotaRule::Receive {
                what: "this customer",
                rule,
            },
        },
        QuotaSlot {
            counter: format!("C#{external_userid}"),
            period: format!("S#{staff}#D{day}"),
            limit: 1,
            rule: QuotaRule::StaffDaily { date: day },
        },
    ]
}

impl QuotaRule {
    /// The task failure this rule gives.
    pub fn failure(&self) -> super::task::Failure {
        match self {
            QuotaRule::Receive { what, rule } => super::task::Failure::quota_reached(what, rule),
            QuotaRule::StaffDaily { date } => super::task::Failure::staff_daily_limit(date),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_default_follows_the_length_of_the_month() {
        assert_eq!(
            receive_period(GroupMessageQuota::DaysInMonth, d("2025-02-10")).1,
            28
        );
        assert_eq!(
            receive_period(GroupMessageQuota::DaysInMonth, d("2024-02-10")).1,
            29
        );
        assert_eq!(
            receive_period(GroupMessageQuota::DaysInMonth, d("2025-07-31")),
            (
                "M2025-07".to_string(),
                31,
                "31 per month, as many as 2025-07 has days".to_string()
            )
        );
    }

    #[test]
    fn other_rules_use_their_own_periods() {
        let q = GroupMessageQuota::PerMonth { limit: 4 };
        assert_eq!(receive_period(q, d("2025-07-01")).0, "M2025-07");
        assert_eq!(receive_period(q, d("2025-07-01")).1, 4);
        // 2025-12-29 is in ISO week 2026-01.
        let w = GroupMessageQuota::PerWeek { limit: 7 };
        assert_eq!(receive_period(w, d("2025-12-29")).0, "W2026-01");
        assert_eq!(receive_period(w, d("2025-12-28")).0, "W2025-52");
        let day = GroupMessageQuota::PerDay { limit: 1 };
        assert_eq!(receive_period(day, d("2025-07-01")).0, "D2025-07-01");
    }

    #[test]
    fn customers_also_get_the_staff_daily_slot() {
        let slots = customer_slots(GroupMessageQuota::DaysInMonth, "wm1", "u1", d("2025-07-01"));
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[1].period, "S#u1#D2025-07-01");
        assert_eq!(slots[1].limit, 1);
        assert_eq!(slots[1].rule.failure().code, "staff_daily_limit");
        assert_eq!(slots[0].rule.failure().code, "quota_reached");
    }
}
