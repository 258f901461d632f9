//! The points domain's values: validated newtypes for what crosses the boundary
//! (customers, amounts, idempotency keys), and the ledger's entries and lots.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest amount one operation may move. Keeps sums far from `i64` overflow and
/// catches typos such as an order total pasted in cents times a thousand.
pub const MAX_POINTS: i64 = 100_000_000;

/// A customer's external_userid, validated so that it can sit inside keys: 1 to 128
/// letters, digits, `_` or `-` (WeCom's ids are `wm…`/`wo…` followed by such characters).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CustomerId(String);

/// An id that cannot be a customer's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid external_userid: 1 to 128 letters, digits, `_` or `-`")]
pub struct InvalidCustomerId;

impl CustomerId {
    /// Validates an external_userid.
    pub fn parse(raw: &str) -> Result<Self, InvalidCustomerId> {
        let ok = (1..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(InvalidCustomerId)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CustomerId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        CustomerId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerId({})", self.0)
    }
}

/// A positive amount of points (1 to [`MAX_POINTS`]). Points are integers: there are no
/// fractional points anywhere in the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Points(i64);

/// An amount that is not a positive whole number of points in range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("points must be a whole number from 1 to {MAX_POINTS}")]
pub struct InvalidPoints;

impl Points {
    /// Validates an amount.
    pub fn new(value: i64) -> Result<Self, InvalidPoints> {
        if (1..=MAX_POINTS).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidPoints)
        }
    }

    /// Parses a decimal integer as written in a CSV cell or a form: surrounding spaces
    /// are allowed, signs, decimals and exponents are not.
    pub fn parse(raw: &str) -> Result<Self, InvalidPoints> {
        let t = raw.trim();
        if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidPoints);
        }
        t.parse::<i64>()
            .map_err(|_| InvalidPoints)
            .and_then(Self::new)
    }

    /// The amount.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = i64::deserialize(d)?;
        Points::new(raw).map_err(serde::de::Error::custom)
    }
}

/// The key that makes a write idempotent: a retry with the same key answers the first
/// result and changes nothing. 1 to 128 printable ASCII characters without spaces.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid idempotency key: 1 to 128 printable ASCII characters without spaces")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    /// Validates a key.
    pub fn parse(raw: &str) -> Result<Self, InvalidIdempotencyKey> {
        let ok = (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(InvalidIdempotencyKey)
        }
    }

    /// A key made by the system itself (`checkin:2026-01-02`, `newcomer`, ...).
    pub fn system(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for IdempotencyKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        IdempotencyKey::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.0)
    }
}

/// What kind of change an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Points earned by a rule (newcomer, check-in, profile, follow) or awarded by an operator.
    Earn,
    /// Points imported from a file.
    Import,
    /// Points spent by the customer (a redemption).
    Spend,
    /// Points deducted by an operator.
    Deduct,
    /// Every point removed by an operator.
    Clear,
    /// Points that reached the end of their validity.
    Expire,
    /// Every point removed because the customer left a group.
    ZeroOnLeave,
}

impl EntryKind {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Import => "import",
            EntryKind::Spend => "spend",
            EntryKind::Deduct => "deduct",
            EntryKind::Clear => "clear",
            EntryKind::Expire => "expire",
            EntryKind::ZeroOnLeave => "zero_on_leave",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "earn" => EntryKind::Earn,
            "import" => EntryKind::Import,
            "spend" => EntryKind::Spend,
            "deduct" => EntryKind::Deduct,
            "clear" => EntryKind::Clear,
            "expire" => EntryKind::Expire,
            "zero_on_leave" => EntryKind::ZeroOnLeave,
            _ => return None,
        })
    }

    /// Whether the kind adds points (creates a lot) rather than removing them.
    pub fn is_credit(&self) -> bool {
        matches!(self, EntryKind::Earn | EntryKind::Import)
    }
}

/// Why, from where and by whom a change was made: carried by every entry so that the
/// ledger explains itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Why (`check_in`, `newcomer`, `redeem`, an operator's note...).
    pub reason: String,
    /// Where the change came from (`customer-api`, `event:<id>`, `import:<file>`...).
    pub source: String,
    /// Who made it (`customer:<id>`, `key:<api key id>`, `system`).
    pub operator: String,
}

impl Origin {
    /// Builds an origin.
    pub fn new(
        reason: impl Into<String>,
        source: impl Into<String>,
        operator: impl Into<String>,
    ) -> Self {
        Self {
            reason: reason.into(),
            source: source.into(),
            operator: operator.into(),
        }
    }
}

/// The date a lot never expires on: lots without expiry sort after every dated lot, so
/// spending still takes the expiring points first.
pub const NEVER: &str = "9999-12-31";

/// A lot: points earned together that expire together. There is one lot per account and
/// expiry date; earning on the same day adds to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// The first local date on which the points are no longer valid, or [`NEVER`].
    pub expires_on: String,
    /// Points left.
    pub remaining: i64,
}

impl Lot {
    /// The expiry date, if the lot expires.
    pub fn expiry_date(&self) -> Option<NaiveDate> {
        if self.expires_on == NEVER {
            None
        } else {
            NaiveDate::parse_from_str(&self.expires_on, "%Y-%m-%d").ok()
        }
    }

    /// Whether the lot is past its validity on `today` (tenant-local).
    pub fn is_expired_on(&self, today: NaiveDate) -> bool {
        self.expiry_date().map(|d| d <= today).unwrap_or(false)
    }
}

/// How many points one lot gives up to a debit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotTake {
    /// The lot's expiry date (its key).
    pub expires_on: String,
    /// Points left before.
    pub before: i64,
    /// Points taken.
    pub taken: i64,
}

/// A lot an entry changed: points added (credits) or taken (negative, debits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryLot {
    /// The lot's expiry date (its key).
    pub expires_on: String,
    /// Points added (positive) or taken (negative).
    pub points: i64,
}

/// One ledger entry as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The account's entry number: 1, 2, 3... with no gaps.
    pub seq: i64,
    /// What kind of change.
    pub kind: EntryKind,
    /// Signed change: positive for earn/import, negative otherwise.
    pub amount: i64,
    /// The balance after this entry.
    pub balance_after: i64,
    /// Why, from where, by whom.
    #[serde(flatten)]
    pub origin: Origin,
    /// The idempotency key the change was made with.
    pub idempotency_key: String,
    /// When (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The tenant-local date it counts for.
    pub local_date: String,
    /// The lots it took from (debits) or added to (credits).
    pub lots: Vec<EntryLot>,
    /// Rule-specific details (check-in bonuses, the reward redeemed...).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

/// What a ledger write answered: kept with the idempotency record, so that a retry
/// answers exactly the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The entry written, or `None` when nothing changed (clearing an empty account, a
    /// check-in worth 0 points).
    pub seq: Option<i64>,
    /// What kind of change.
    pub kind: EntryKind,
    /// Signed change.
    pub amount: i64,
    /// Balance right after the change.
    pub balance: i64,
    /// Rule-specific details.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

/// A ledger write's answer plus whether it is the replay of an earlier identical request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The (first) result.
    #[serde(flatten)]
    pub applied: Applied,
    /// `true` when this request repeated an idempotency key already applied: nothing
    /// changed now.
    pub replayed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_are_validated() {
        assert!(CustomerId::parse("wmAbC-12_x").is_ok());
        assert!(CustomerId::parse("").is_err());
        assert!(CustomerId::parse("wm#1").is_err());
        assert!(CustomerId::parse("wm 1").is_err());
        assert!(CustomerId::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn points_parse_only_positive_whole_numbers() {
        assert_eq!(Points::parse(" 120 ").unwrap().get(), 120);
        for bad in [
            "",
            "0",
            "-5",
            "1.5",
            "1e3",
            "abc",
            "+3",
            "100000001",
            "99999999999999",
        ] {
            assert!(Points::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn idempotency_keys_are_printable() {
        assert!(IdempotencyKey::parse("order-123:abc").is_ok());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("é").is_err());
    }

    #[test]
    fn lots_expire_on_their_date_not_before() {
        let lot = Lot {
            expires_on: "2026-03-10".into(),
            remaining: 5,
        };
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(!lot.is_expired_on(d("2026-03-09")));
        assert!(lot.is_expired_on(d("2026-03-10")));
        let never = Lot {
            expires_on: NEVER.into(),
            remaining: 5,
        };
        assert!(!never.is_expired_on(d("9000-01-01")));
    }
}
