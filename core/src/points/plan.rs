//! Pure planning of ledger writes: from an account's state and an operation, the exact
//! change to make (entry, balance, lots taken oldest first). No I/O: the adapter turns a
//! plan into one conditional transaction, and a plan made from a stale state fails its
//! conditions and is made again.
//!
//! Two limits shape the plans:
//! - a transaction holds at most 100 actions, so a debit updates at most
//!   [`MAX_LOT_UPDATES`] lots; what it still owes the older lots is recorded on the balance
//!   as `lot_debt` and settled right after by lot-only transactions ([`plan_settle`]);
//! - lots are keyed by expiry date, one per account and date, so most accounts have few.
//!
//! Invariant kept by every plan: `balance == Σ lots.remaining − lot_debt`, never negative.
use super::model::{EntryKind, Lot, LotTake, NEVER};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The most lots one transaction updates: 100 actions minus the idempotency record, the
/// balance, the entry and room for extras (check-in state, stock, redemption record).
pub const MAX_LOT_UPDATES: usize = 90;

/// An account as read (consistently) before planning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountState {
    /// Whether the balance item exists (it does after the first entry).
    pub exists: bool,
    /// Current balance.
    pub balance: i64,
    /// Entries so far (the last entry's `seq`).
    pub version: i64,
    /// Points already debited from the balance but not yet taken from lots.
    pub lot_debt: i64,
    /// Lots with points left, oldest expiry first.
    pub lots: Vec<Lot>,
}

impl AccountState {
    /// Σ remaining of the lots.
    pub fn lots_total(&self) -> i64 {
        self.lots.iter().map(|l| l.remaining).sum()
    }

    /// Points that can be spent on `today`: lots still valid, minus any debt.
    pub fn spendable(&self, today: NaiveDate) -> i64 {
        let valid: i64 = self
            .lots
            .iter()
            .filter(|l| !l.is_expired_on(today))
            .map(|l| l.remaining)
            .sum();
        (valid - self.lot_debt).max(0).min(self.balance)
    }
}

/// The balance-changing part of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Adds `amount` points expiring on `expires_on` (`None`: never).
    Credit {
        /// Earn or import.
        kind: EntryKind,
        /// Points (≥ 0; 0 writes no entry).
        amount: i64,
        /// First invalid local date.
        expires_on: Option<NaiveDate>,
    },
    /// Removes `amount` points, oldest lots first.
    Debit {
        /// Spend or deduct.
        kind: EntryKind,
        /// Points (≥ 1).
        amount: i64,
    },
    /// Removes every point.
    ClearAll {
        /// Clear or zero-on-leave.
        kind: EntryKind,
    },
    /// Expires what is left of the lot expiring on `expires_on`.
    ExpireLot {
        /// The lot.
        expires_on: String,
    },
}

/// What to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The kind of entry.
    pub kind: EntryKind,
    /// Signed change (0: no entry is written).
    pub amount: i64,
    /// Balance after.
    pub balance_after: i64,
    /// Version after (the new entry's seq), equal to the old one when nothing changes.
    pub version_after: i64,
    /// The lot credited, if any: its expiry date and the points added.
    pub credit: Option<(String, i64)>,
    /// The lots debited, at most [`MAX_LOT_UPDATES`].
    pub takes: Vec<LotTake>,
    /// Lot debt after (points debited but still to take from lots).
    pub lot_debt_after: i64,
    /// A credit already past its validity when written (a late event): its lot's date
    /// and points. It is written as two entries, the credit and its expiry, and no lot,
    /// so nothing is left behind the expiry sweep's cursor.
    pub expired_at_once: Option<(String, i64)>,
}

/// Why an operation cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Not enough points.
    #[error("insufficient points: {available} available, {requested} requested")]
    Insufficient {
        /// What could be spent.
        available: i64,
        /// What was asked.
        requested: i64,
    },
    /// The account owes lots from an earlier debit: settle first.
    #[error("lot debt outstanding")]
    DebtOutstanding,
    /// A negative or zero amount where a positive one is needed.
    #[error("amount must be positive")]
    BadAmount,
}

/// Takes `amount` from `lots` in order, returning the takes, or `None` if they hold less.
fn take_in_order<'a>(lots: impl Iterator<Item = &'a Lot>, amount: i64) -> Option<Vec<LotTake>> {
    let mut left = amount;
    let mut takes = Vec::new();
    for lot in lots {
        if left == 0 {
            break;
        }
        if lot.remaining <= 0 {
            continue;
        }
        let n = lot.remaining.min(left);
        takes.push(LotTake {
            expires_on: lot.expires_on.clone(),
            before: lot.remaining,
            taken: n,
        });
        left -= n;
    }
    (left == 0).then_some(takes)
}

/// The lots in the order debits take them: oldest expiry first; for a spend, valid lots
/// only come first (an expired lot waiting for the sweep is not spendable).
fn debit_order(state: &AccountState, today: NaiveDate, spend: bool) -> Vec<&Lot> {
    if spend {
        let mut v: Vec<&Lot> = state
            .lots
            .iter()
            .filter(|l| !l.is_expired_on(today))
            .collect();
        v.extend(state.lots.iter().filter(|l| l.is_expired_on(today)));
        v
    } else {
        state.lots.iter().collect()
    }
}

fn cap_takes(mut takes: Vec<LotTake>) -> (Vec<LotTake>, i64) {
    if takes.len() <= MAX_LOT_UPDATES {
        return (takes, 0);
    }
    let rest: i64 = takes[MAX_LOT_UPDATES..].iter().map(|t| t.taken).sum();
    takes.truncate(MAX_LOT_UPDATES);
    (takes, rest)
}

/// Plans a change on an account whose lot debt is settled.
pub fn plan(state: &AccountState, change: &Change, today: NaiveDate) -> Result<Plan, PlanError> {
    if state.lot_debt > 0 {
        return Err(PlanError::DebtOutstanding);
    }
    let next = state.version + 1;
    let unchanged = |kind| Plan {
        kind,
        amount: 0,
        balance_after: state.balance,
        version_after: state.version,
        credit: None,
        takes: Vec::new(),
        lot_debt_after: 0,
        expired_at_once: None,
    };
    match change {
        Change::Credit {
            kind,
            amount,
            expires_on,
        } => {
            if *amount < 0 {
                return Err(PlanError::BadAmount);
            }
            if *amount == 0 {
                return Ok(unchanged(*kind));
            }
            let date = expires_on
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| NEVER.to_string());
            if expires_on.is_some_and(|d| d <= today) {
                return Ok(Plan {
                    kind: *kind,
                    amount: *amount,
                    balance_after: state.balance,
                    version_after: next + 1,
                    credit: None,
                    takes: Vec::new(),
                    lot_debt_after: 0,
                    expired_at_once: Some((date, *amount)),
                });
            }
            Ok(Plan {
                kind: *kind,
                amount: *amount,
                balance_after: state.balance + amount,
                version_after: next,
                credit: Some((date, *amount)),
                takes: Vec::new(),
                lot_debt_after: 0,
                expired_at_once: None,
            })
        }
        Change::Debit { kind, amount } => {
            if *amount <= 0 {
                return Err(PlanError::BadAmount);
            }
            let spend = *kind == EntryKind::Spend;
            let available = if spend {
                state.spendable(today)
            } else {
                state.balance
            };
            if *amount > available {
                return Err(PlanError::Insufficient {
                    available,
                    requested: *amount,
                });
            }
            let takes = take_in_order(debit_order(state, today, spend).into_iter(), *amount)
                .ok_or(PlanError::Insufficient {
                    available,
                    requested: *amount,
                })?;
            let (takes, debt) = cap_takes(takes);
            Ok(Plan {
                kind: *kind,
                amount: -amount,
                balance_after: state.balance - amount,
                version_after: next,
                credit: None,
                takes,
                lot_debt_after: debt,
                expired_at_once: None,
            })
        }
        Change::ClearAll { kind } => {
            if state.balance == 0 {
                return Ok(unchanged(*kind));
            }
            let takes =
                take_in_order(state.lots.iter(), state.balance).ok_or(PlanError::Insufficient {
                    available: state.lots_total(),
                    requested: state.balance,
                })?;
            let (takes, debt) = cap_takes(takes);
            Ok(Plan {
                kind: *kind,
                amount: -state.balance,
                balance_after: 0,
                version_after: next,
                credit: None,
                takes,
                lot_debt_after: debt,
                expired_at_once: None,
            })
        }
        Change::ExpireLot { expires_on } => {
            let lot = state
                .lots
                .iter()
                .find(|l| &l.expires_on == expires_on && l.remaining > 0);
            let Some(lot) = lot else {
                return Ok(unchanged(EntryKind::Expire));
            };
            let n = lot.remaining.min(state.balance);
            if n == 0 {
                return Ok(unchanged(EntryKind::Expire));
            }
            Ok(Plan {
                kind: EntryKind::Expire,
                amount: -n,
                balance_after: state.balance - n,
                version_after: next,
                credit: None,
                takes: vec![LotTake {
                    expires_on: lot.expires_on.clone(),
                    before: lot.remaining,
                    taken: n,
                }],
                lot_debt_after: 0,
                expired_at_once: None,
            })
        }
    }
}

/// A lot-only transaction paying down lot debt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settle {
    /// Lots taken (at most [`MAX_LOT_UPDATES`]).
    pub takes: Vec<LotTake>,
    /// Debt after.
    pub lot_debt_after: i64,
}

/// Plans the next settlement step, `None` when there is no debt.
pub fn plan_settle(state: &AccountState, today: NaiveDate) -> Option<Settle> {
    if state.lot_debt <= 0 {
        return None;
    }
    let order = debit_order(state, today, true);
    let want = state.lot_debt.min(state.lots_total());
    let takes = take_in_order(order.into_iter(), want)?;
    let (takes, _) = cap_takes(takes);
    let paid: i64 = takes.iter().map(|t| t.taken).sum();
    Some(Settle {
        takes,
        lot_debt_after: state.lot_debt - paid,
    })
}

/// Applies a plan to a state (what the store does; used by tests and by the model in
/// the property tests).
pub fn apply_plan(state: &AccountState, plan: &Plan) -> AccountState {
    let mut next = state.clone();
    next.exists = next.exists || plan.version_after > state.version;
    next.balance = plan.balance_after;
    next.version = plan.version_after;
    next.lot_debt = plan.lot_debt_after;
    take_from(&mut next.lots, &plan.takes);
    if let Some((date, n)) = &plan.credit {
        match next.lots.iter_mut().find(|l| &l.expires_on == date) {
            Some(l) => l.remaining += n,
            None => {
                next.lots.push(Lot {
                    expires_on: date.clone(),
                    remaining: *n,
                });
                next.lots.sort_by(|a, b| a.expires_on.cmp(&b.expires_on));
            }
        }
    }
    next.lots.retain(|l| l.remaining > 0);
    next
}

/// Applies a settlement step to a state.
pub fn apply_settle(state: &AccountState, settle: &Settle) -> AccountState {
    let mut next = state.clone();
    next.lot_debt = settle.lot_debt_after;
    take_from(&mut next.lots, &settle.takes);
    next.lots.retain(|l| l.remaining > 0);
    next
}

fn take_from(lots: &mut [Lot], takes: &[LotTake]) {
    for t in takes {
        if let Some(l) = lots.iter_mut().find(|l| l.expires_on == t.expires_on) {
            l.remaining -= t.taken;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn lot(date: &str, n: i64) -> Lot {
        Lot {
            expires_on: date.into(),
            remaining: n,
        }
    }

    fn state(lots: Vec<Lot>) -> AccountState {
        let balance = lots.iter().map(|l| l.remaining).sum();
        AccountState {
            exists: true,
            balance,
            version: 3,
            lot_debt: 0,
            lots,
        }
    }

    #[test]
    fn spending_takes_the_oldest_lots_first() {
        let s = state(vec![
            lot("2026-02-01", 10),
            lot("2026-03-01", 10),
            lot(NEVER, 10),
        ]);
        let p = plan(
            &s,
            &Change::Debit {
                kind: EntryKind::Spend,
                amount: 15,
            },
            d("2026-01-15"),
        )
        .unwrap();
        assert_eq!(p.takes.len(), 2);
        assert_eq!((p.takes[0].taken, p.takes[1].taken), (10, 5));
        assert_eq!(p.balance_after, 15);
        assert_eq!(p.version_after, 4);
        let after = apply_plan(&s, &p);
        assert_eq!(after.lots_total(), after.balance);
    }

    #[test]
    fn a_spend_cannot_use_points_past_their_validity() {
        let s = state(vec![lot("2026-01-10", 10), lot(NEVER, 5)]);
        let err = plan(
            &s,
            &Change::Debit {
                kind: EntryKind::Spend,
                amount: 8,
            },
            d("2026-01-10"),
        )
        .unwrap_err();
        assert_eq!(
            err,
            PlanError::Insufficient {
                available: 5,
                requested: 8
            }
        );
        // An operator's deduction may still take them (they are the oldest).
        let p = plan(
            &s,
            &Change::Debit {
                kind: EntryKind::Deduct,
                amount: 8,
            },
            d("2026-01-10"),
        )
        .unwrap();
        assert_eq!(p.takes[0].expires_on, "2026-01-10");
    }

    #[test]
    fn never_below_zero() {
        let s = state(vec![lot(NEVER, 5)]);
        assert!(plan(
            &s,
            &Change::Debit {
                kind: EntryKind::Deduct,
                amount: 6
            },
            d("2026-01-01")
        )
        .is_err());
        let cleared = plan(
            &s,
            &Change::ClearAll {
                kind: EntryKind::Clear,
            },
            d("2026-01-01"),
        )
        .unwrap();
        assert_eq!((cleared.amount, cleared.balance_after), (-5, 0));
        let empty = apply_plan(&s, &cleared);
        let again = plan(
            &empty,
            &Change::ClearAll {
                kind: EntryKind::Clear,
            },
            d("2026-01-01"),
        )
        .unwrap();
        assert_eq!((again.amount, again.version_after), (0, empty.version));
    }

    #[test]
    fn a_debit_over_many_lots_is_capped_and_leaves_a_debt_to_settle() {
        let lots: Vec<Lot> = (0..200)
            .map(|i| lot(&(d("2026-01-01") + chrono::Days::new(i)).to_string(), 1))
            .collect();
        let s = state(lots);
        let p = plan(
            &s,
            &Change::Debit {
                kind: EntryKind::Spend,
                amount: 150,
            },
            d("2025-12-01"),
        )
        .unwrap();
        assert_eq!(p.takes.len(), MAX_LOT_UPDATES);
        assert_eq!(p.lot_debt_after, 60);
        let mut s = apply_plan(&s, &p);
        assert!(plan(
            &s,
            &Change::Debit {
                kind: EntryKind::Spend,
                amount: 1
            },
            d("2025-12-01")
        )
        .is_err());
        while let Some(step) = plan_settle(&s, d("2025-12-01")) {
            s = apply_settle(&s, &step);
        }
        assert_eq!(s.lot_debt, 0);
        assert_eq!(s.balance, 50);
        assert_eq!(s.lots_total(), 50);
        assert_eq!(s.lots[0].expires_on, "2026-05-31");
    }

    #[test]
    fn a_credit_already_past_its_validity_leaves_no_lot() {
        let s = state(vec![lot(NEVER, 5)]);
        let credit = |expires: &str| Change::Credit {
            kind: EntryKind::Earn,
            amount: 10,
            expires_on: Some(d(expires)),
        };
        let p = plan(&s, &credit("2026-01-10"), d("2026-01-10")).unwrap();
        assert_eq!(p.expired_at_once, Some(("2026-01-10".to_string(), 10)));
        assert_eq!((p.balance_after, p.version_after), (5, 5));
        let after = apply_plan(&s, &p);
        assert_eq!((after.balance, after.lots_total()), (5, 5));
        let p = plan(&s, &credit("2026-01-11"), d("2026-01-10")).unwrap();
        assert_eq!(p.expired_at_once, None);
        assert_eq!(p.credit, Some(("2026-01-11".to_string(), 10)));
    }

    #[test]
    fn expiring_a_lot_takes_what_is_left_of_it() {
        let s = state(vec![lot("2026-01-10", 7), lot(NEVER, 5)]);
        let p = plan(
            &s,
            &Change::ExpireLot {
                expires_on: "2026-01-10".into(),
            },
            d("2026-01-10"),
        )
        .unwrap();
        assert_eq!(
            (p.kind, p.amount, p.balance_after),
            (EntryKind::Expire, -7, 5)
        );
        let after = apply_plan(&s, &p);
        let again = plan(
            &after,
            &Change::ExpireLot {
                expires_on: "2026-01-10".into(),
            },
            d("2026-01-10"),
        )
        .unwrap();
        assert_eq!(again.amount, 0);
    }

    proptest! {
        #[test]
        fn plans_keep_the_balance_equal_to_the_lots(ops in proptest::collection::vec((0u8..4, 1i64..50, 0u64..200), 1..60)) {
            let today = d("2026-01-01");
            let mut s = AccountState::default();
            for (op, amount, days) in ops {
                let change = match op {
                    0 => Change::Credit { kind: EntryKind::Earn, amount, expires_on: Some(today + chrono::Days::new(days + 1)) },
                    1 => Change::Debit { kind: EntryKind::Spend, amount },
                    2 => Change::Debit { kind: EntryKind::Deduct, amount },
                    _ => Change::ClearAll { kind: EntryKind::Clear },
                };
                if let Ok(p) = plan(&s, &change, today) {
                    s = apply_plan(&s, &p);
                    while let Some(step) = plan_settle(&s, today) {
                        s = apply_settle(&s, &step);
                    }
                }
                prop_assert!(s.balance >= 0);
                prop_assert_eq!(s.balance, s.lots_total() - s.lot_debt);
                prop_assert_eq!(s.lot_debt, 0);
            }
        }
    }
}
