//! Daily figures the dashboard charts that no other record holds per tenant and day:
//! check-ins, members joining and leaving groups, contacts added, customers gained and
//! lost; and the number of customers now. (Points flows come from the ledger's day index,
//! see [`super::views::DayTotals`].)
//!
//! Each figure is a counter on one of [`STATS_SHARDS`] items per tenant-local day, so that
//! no single item takes every write of a busy tenant; a read sums the shards. A change is
//! counted under a key naming it (the check-in's customer and day, the event's id): the
//! store counts a key once, so a redelivered event or a retried check-in never counts
//! twice (see [`ActivityStore::count_once`](super::ports::ActivityStore::count_once)).
//!
//! The number of customers is a counter too, on [`STATS_SHARDS`] items that are not per
//! day: a customer gained adds one and a customer lost removes one, in the same
//! transaction as the day's figure (so once per event as well). A full directory re-sync
//! counts the customers it leaves in the directory and corrects the counter by the
//! difference (see [`crate::dashboard::recount_customers`]): changes that reached no event
//! consumer (a relation added and removed before its events were handled, customers only
//! the re-sync found) drift the counter until the next re-sync.
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Counter items per tenant-local day.
pub const STATS_SHARDS: u32 = 8;

/// A figure counted per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// Customers who checked in (one per customer and day).
    CheckIns,
    /// Members (customers and staff) who joined one of the tenant's groups.
    MembersJoined,
    /// Members who left one of the tenant's groups.
    MembersLeft,
    /// Contacts added (a staff member and a customer becoming contacts; half adds excluded).
    ContactsAdded,
    /// Customers gained: a contact added when it was the customer's only active relation
    /// with the tenant's staff.
    CustomersAdded,
    /// Customers lost: a contact removed that left the customer with no active relation.
    CustomersLost,
}

impl Figure {
    /// Every figure.
    pub const ALL: [Figure; 6] = [
        Figure::CheckIns,
        Figure::MembersJoined,
        Figure::MembersLeft,
        Figure::ContactsAdded,
        Figure::CustomersAdded,
        Figure::CustomersLost,
    ];

    /// The counter's attribute name.
    pub fn attr(&self) -> &'static str {
        match self {
            Figure::CheckIns => "check_ins",
            Figure::MembersJoined => "members_joined",
            Figure::MembersLeft => "members_left",
            Figure::ContactsAdded => "contacts_added",
            Figure::CustomersAdded => "customers_added",
            Figure::CustomersLost => "customers_lost",
        }
    }
}

/// A tenant-local day's counted figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct DayFigures {
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// Customers who checked in.
    pub check_ins: i64,
    /// Members who joined groups.
    pub members_joined: i64,
    /// Members who left groups.
    pub members_left: i64,
    /// Contacts added.
    pub contacts_added: i64,
    /// Customers gained.
    pub customers_added: i64,
    /// Customers lost.
    pub customers_lost: i64,
}

impl DayFigures {
    /// Adds `n` to `figure` (a shard's count).
    pub fn add(&mut self, figure: Figure, n: i64) {
        match figure {
            Figure::CheckIns => self.check_ins += n,
            Figure::MembersJoined => self.members_joined += n,
            Figure::MembersLeft => self.members_left += n,
            Figure::ContactsAdded => self.contacts_added += n,
            Figure::CustomersAdded => self.customers_added += n,
            Figure::CustomersLost => self.customers_lost += n,
        }
    }
}

/// The shard a change is counted on: from its key, so changes spread evenly and a retry
/// lands on the same shard.
pub fn shard_of(once_key: &str) -> u32 {
    let d = Sha256::digest(once_key.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % STATS_SHARDS
}

/// The key a customer's check-in on `date` is counted under.
pub fn check_in_key(customer: &str, date: &str) -> String {
    format!("checkin:{date}:{customer}")
}

/// The key a membership change is counted under (an event may list several members).
pub fn membership_key(event_id: &str, chat_id: &str, member_id: &str, joined: bool) -> String {
    let what = if joined { "join" } else { "leave" };
    format!("{what}:{event_id}:{chat_id}:{member_id}")
}

/// The key a contact add is counted under.
pub fn contact_added_key(event_id: &str) -> String {
    format!("contact:{event_id}")
}

/// The key a customer gained is counted under.
pub fn customer_added_key(event_id: &str) -> String {
    format!("customer-added:{event_id}")
}

/// The key a customer lost is counted under.
pub fn customer_lost_key(event_id: &str) -> String {
    format!("customer-lost:{event_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_in_range() {
        let k = check_in_key("wm1", "2026-03-02");
        assert_eq!(shard_of(&k), shard_of(&k));
        let used: std::collections::HashSet<u32> = (0..200)
            .map(|i| shard_of(&check_in_key(&format!("wm{i}"), "2026-03-02")))
            .collect();
        assert!(used.iter().all(|s| *s < STATS_SHARDS));
        assert_eq!(
            used.len() as u32,
            STATS_SHARDS,
            "200 keys reach every shard"
        );
    }

    #[test]
    fn shard_counts_sum_per_figure() {
        let mut d = DayFigures::default();
        d.add(Figure::CheckIns, 2);
        d.add(Figure::CheckIns, 3);
        d.add(Figure::MembersLeft, 1);
        assert_eq!((d.check_ins, d.members_left, d.members_joined), (5, 1, 0));
        assert_ne!(
            membership_key("e1", "c", "m", true),
            membership_key("e1", "c", "m", false)
        );
    }
}
