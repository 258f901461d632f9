//! What the admin views show: a day's totals, a group's day, groups ranked by check-in
//! rate. Computed from the ledger's day index and the group-day activity records.
use super::model::EntryKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Count and points of one kind of entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KindTotal {
    /// Entries.
    pub entries: i64,
    /// Points (absolute).
    pub points: i64,
}

/// A tenant-local day's points flows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DayTotals {
    /// The day.
    pub date: String,
    /// Points issued: earned and imported.
    pub issued: i64,
    /// Points spent on rewards.
    pub spent: i64,
    /// Points expired.
    pub expired: i64,
    /// Points removed by operators or by leaving a group (deduct, clear, zero on leave).
    pub removed: i64,
    /// Per kind.
    pub by_kind: BTreeMap<EntryKind, KindTotal>,
}

impl DayTotals {
    /// Adds one entry.
    pub fn add(&mut self, kind: EntryKind, amount: i64) {
        let points = amount.abs();
        let t = self.by_kind.entry(kind).or_default();
        t.entries += 1;
        t.points += points;
        match kind {
            EntryKind::Earn | EntryKind::Import => self.issued += points,
            EntryKind::Spend => self.spent += points,
            EntryKind::Expire => self.expired += points,
            EntryKind::Deduct | EntryKind::Clear | EntryKind::ZeroOnLeave => self.removed += points,
        }
    }
}

/// One group's day: who checked in, who joined, who left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GroupDay {
    /// The group.
    pub chat_id: String,
    /// The day.
    pub date: String,
    /// Customers who checked in while members.
    pub checked_in: Vec<String>,
    /// Members who joined.
    pub joined: Vec<String>,
    /// Members who left.
    pub left: Vec<String>,
}

/// A group's check-in rate on a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRate {
    /// The group.
    pub chat_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Customers in it now.
    pub customers: i64,
    /// Of them, those who checked in on the day.
    pub checked_in: i64,
    /// `checked_in / customers` (0 for an empty group).
    pub rate: f64,
}

/// Ranks groups lowest check-in rate first (then most customers first: the biggest quiet
/// groups are the ones to nudge), keeping `limit`.
pub fn rank_by_low_rate(mut rates: Vec<GroupRate>, limit: usize) -> Vec<GroupRate> {
    rates.sort_by(|a, b| {
        a.rate
            .partial_cmp(&b.rate)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.customers.cmp(&a.customers))
            .then(a.chat_id.cmp(&b.chat_id))
    });
    rates.truncate(limit);
    rates
}

/// A rate from counts.
pub fn rate(checked_in: i64, customers: i64) -> f64 {
    if customers <= 0 {
        0.0
    } else {
        checked_in as f64 / customers as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_split_flows_by_kind() {
        let mut t = DayTotals::default();
        t.add(EntryKind::Earn, 10);
        t.add(EntryKind::Import, 5);
        t.add(EntryKind::Spend, -7);
        t.add(EntryKind::Expire, -3);
        t.add(EntryKind::ZeroOnLeave, -2);
        assert_eq!((t.issued, t.spent, t.expired, t.removed), (15, 7, 3, 2));
        assert_eq!(t.by_kind[&EntryKind::Earn].entries, 1);
    }

    #[test]
    fn quiet_groups_come_first() {
        let g = |id: &str, c, n| GroupRate {
            chat_id: id.into(),
            name: None,
            customers: n,
            checked_in: c,
            rate: rate(c, n),
        };
        let ranked = rank_by_low_rate(vec![g("a", 5, 10), g("b", 1, 10), g("c", 0, 0)], 2);
        assert_eq!(ranked[0].chat_id, "c");
        assert_eq!(ranked[1].chat_id, "b");
    }
}
