//! Coupon code lists that fission tiers of kind `coupon` pay from: an operator uploads a
//! list of codes (the merchant's own coupon system made them), adds more later, and sees
//! the stock (codes not issued yet). A payout takes exactly one unused code for the
//! inviter's tier, once: the code leaves the unused set in the same conditional
//! transaction that records it as the tier's, so concurrent or repeated payouts never hand
//! out a second code; an empty list leaves the tier owed ("out of stock") until codes come.
use super::fission_admin::FissionError;
use super::model::Problem;
use super::ports::CouponStore;
use super::state::request_hash;
use crate::ports::StoreError;
use crate::tenants::admin::registered;
use crate::tenants::{TenantId, TenantLookup};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A list's name, in characters.
pub const LIST_NAME_CHARS: usize = 64;
/// A code's length, in characters.
pub const CODE_CHARS: usize = 64;
/// Codes one request may send (after removing blanks).
pub const MAX_CODES_PER_REQUEST: usize = 10_000;
/// Codes a list may hold in all (issued ones included).
pub const MAX_CODES_PER_LIST: i64 = 100_000;
/// The prefix of a list's id.
pub const LIST_PREFIX: &str = "cl";

fn problem(field: &str, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
    }
}

/// Codes as an operator sends them: a JSON array, or CSV text (one code per line or
/// separated by commas; blanks ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CodesInput {
    /// `["A1", "A2"]`.
    List(Vec<String>),
    /// `"A1\nA2"` or `"A1,A2"`.
    Text(String),
}

impl Default for CodesInput {
    fn default() -> Self {
        CodesInput::List(Vec::new())
    }
}

/// Codes after parsing: distinct, in the order first sent, and how many repeats were
/// dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedCodes {
    /// The distinct codes.
    pub codes: Vec<String>,
    /// Repeats within the request.
    pub repeated: usize,
}

fn valid_code(c: &str) -> bool {
    let n = c.chars().count();
    (1..=CODE_CHARS).contains(&n) && !c.chars().any(|ch| ch.is_whitespace() || ch.is_control())
}

impl CodesInput {
    /// The codes, repeats dropped; every problem otherwise. A list's codes are taken as they
    /// are; text is cut at line breaks, commas, quotes, tabs and spaces (which no code
    /// holds), so that a CSV column, quoted or not, reads as its codes.
    pub fn parse(&self) -> Result<ParsedCodes, Vec<Problem>> {
        let raw: Vec<String> = match self {
            CodesInput::List(items) => items.clone(),
            CodesInput::Text(text) => text
                .split(['\n', '\r', ',', '"', '\t', ' '])
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
        };
        let mut problems = Vec::new();
        if raw.is_empty() {
            problems.push(problem("codes", "at least one code"));
        }
        if raw.len() > MAX_CODES_PER_REQUEST {
            problems.push(problem(
                "codes",
                format!("at most {MAX_CODES_PER_REQUEST} codes per request"),
            ));
        }
        let mut bad = 0;
        for (i, c) in raw.iter().enumerate() {
            if !valid_code(c) {
                bad += 1;
                if bad <= 10 {
                    problems.push(problem(
                        &format!("codes[{i}]"),
                        format!("1-{CODE_CHARS} characters without spaces"),
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut seen = HashSet::with_capacity(raw.len());
        let mut out = ParsedCodes::default();
        for c in raw {
            if seen.insert(c.clone()) {
                out.codes.push(c);
            } else {
                out.repeated += 1;
            }
        }
        Ok(out)
    }
}

/// What an operator sends to create a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponListInput {
    /// A name for people.
    pub name: String,
    /// The first codes (may be added to later).
    #[serde(default)]
    pub codes: CodesInput,
}

/// More codes for a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddCodesInput {
    /// The codes.
    pub codes: CodesInput,
}

/// A list as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponList {
    /// `cl` + 16 hex digits, from the create's idempotency key.
    pub id: String,
    /// Its name.
    pub name: String,
    /// A hash of the create request (a retry with another body is refused).
    #[serde(default)]
    pub request_hash: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A list's counts, summed over its shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CouponCounts {
    /// Distinct codes ever added.
    pub added: i64,
    /// Codes issued.
    pub issued: i64,
}

impl CouponCounts {
    /// Codes not issued yet.
    pub fn stock(&self) -> i64 {
        (self.added - self.issued).max(0)
    }
}

/// A list with its counts, as the admin API answers it.
#[derive(Debug, Clone, Serialize)]
pub struct CouponListView {
    /// The list.
    #[serde(flatten)]
    pub list: CouponList,
    /// Distinct codes ever added.
    pub added: i64,
    /// Codes issued.
    pub issued: i64,
    /// Codes not issued yet.
    pub stock: i64,
}

/// What an upload did.
#[derive(Debug, Clone, Serialize)]
pub struct CodesAdded {
    /// The list after it.
    pub list: CouponListView,
    /// Codes added now.
    pub added: usize,
    /// Codes sent that the list had already (or that the request repeated): not added.
    pub duplicates: usize,
}

/// A code issued to an inviter for a tier (one per campaign, inviter and tier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCoupon {
    /// The campaign.
    pub campaign: String,
    /// The inviter's code's state.
    pub inviter_state: String,
    /// The inviter (external_userid).
    pub external_userid: String,
    /// The tier.
    pub tier: usize,
    /// The list it came from.
    pub list_id: String,
    /// The code.
    pub code: String,
    /// When.
    pub issued_at: DateTime<Utc>,
}

/// What an issue found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CouponIssue {
    /// A code was taken now.
    Issued(IssuedCoupon),
    /// The tier had its code already (a re-run, or a concurrent run won).
    Already(IssuedCoupon),
    /// No code left (or no such list): the tier stays owed.
    OutOfStock,
}

/// The id of the list created with `idempotency_key` in `tenant`.
pub fn list_id_for(tenant: &str, idempotency_key: &str) -> String {
    super::state::generate(LIST_PREFIX, b"coupon-list\0", tenant, idempotency_key)
}

/// Whether `raw` is a list id (path parameters are checked before any read).
pub fn is_list_id(raw: &str) -> bool {
    super::state::is_generated(LIST_PREFIX, raw)
}

async fn view<S: CouponStore>(
    store: &S,
    t: &TenantId,
    list: CouponList,
) -> Result<CouponListView, StoreError> {
    let c = store.coupon_counts(t, &list.id).await?;
    Ok(CouponListView {
        list,
        added: c.added,
        issued: c.issued,
        stock: c.stock(),
    })
}

async fn add_parsed<S: CouponStore>(
    store: &S,
    t: &TenantId,
    list: CouponList,
    parsed: ParsedCodes,
) -> Result<CodesAdded, FissionError> {
    let before = store.coupon_counts(t, &list.id).await?;
    if before.added + parsed.codes.len() as i64 > MAX_CODES_PER_LIST {
        return Err(FissionError::Invalid(vec![problem(
            "codes",
            format!(
                "a list holds at most {MAX_CODES_PER_LIST} codes; it has {}",
                before.added
            ),
        )]));
    }
    let added = store.add_coupon_codes(t, &list.id, &parsed.codes).await?;
    let duplicates = parsed.repeated + parsed.codes.len() - added;
    Ok(CodesAdded {
        list: view(store, t, list).await?,
        added,
        duplicates,
    })
}

/// Creates a list with its first codes, idempotently on `idempotency_key` (a retry adds
/// what a cut-off first attempt did not). `(answer, true)` when this call created it.
pub async fn create_list<S: CouponStore, L: TenantLookup>(
    store: &S,
    tenants: &L,
    t: &TenantId,
    idempotency_key: &str,
    input: CouponListInput,
    now: DateTime<Utc>,
) -> Result<(CodesAdded, bool), FissionError> {
    let name = input.name.trim().to_string();
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().count() > LIST_NAME_CHARS {
        problems.push(problem("name", format!("1-{LIST_NAME_CHARS} characters")));
    }
    let parsed = match &input.codes {
        CodesInput::List(c) if c.is_empty() => Ok(ParsedCodes::default()),
        codes => codes.parse(),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(mut more) => {
            problems.append(&mut more);
            ParsedCodes::default()
        }
    };
    if !problems.is_empty() {
        return Err(FissionError::Invalid(problems));
    }
    registered::<_, FissionError>(tenants, t).await?;
    let hash = request_hash(&serde_json::to_string(&input).unwrap_or_default());
    let fresh = CouponList {
        id: list_id_for(t.as_str(), idempotency_key),
        name,
        request_hash: hash.clone(),
        created_at: now,
    };
    let (list, created) = match store.create_coupon_list(t, &fresh).await? {
        None => (fresh, true),
        Some(stored) if stored.request_hash != hash => return Err(FissionError::KeyReused),
        Some(stored) => (stored, false),
    };
    if parsed.codes.is_empty() {
        return Ok((
            CodesAdded {
                list: view(store, t, list).await?,
                added: 0,
                duplicates: parsed.repeated,
            },
            created,
        ));
    }
    Ok((add_parsed(store, t, list, parsed).await?, created))
}

/// Adds codes to a list; codes it has already are skipped (a retry adds nothing twice).
pub async fn add_codes<S: CouponStore>(
    store: &S,
    t: &TenantId,
    id: &str,
    input: AddCodesInput,
) -> Result<CodesAdded, FissionError> {
    let parsed = input.codes.parse().map_err(FissionError::Invalid)?;
    let list = store
        .coupon_list(t, id)
        .await?
        .ok_or(FissionError::NoSuchList)?;
    add_parsed(store, t, list, parsed).await
}

/// The tenant's lists with their stock, newest first.
pub async fn lists<S: CouponStore>(
    store: &S,
    t: &TenantId,
) -> Result<Vec<CouponListView>, FissionError> {
    let mut out = Vec::new();
    for l in store.coupon_lists(t).await? {
        out.push(view(store, t, l).await?);
    }
    Ok(out)
}

/// One list with its stock.
pub async fn list<S: CouponStore>(
    store: &S,
    t: &TenantId,
    id: &str,
) -> Result<CouponListView, FissionError> {
    let l = store
        .coupon_list(t, id)
        .await?
        .ok_or(FissionError::NoSuchList)?;
    Ok(view(store, t, l).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_and_arrays_parse_to_distinct_codes() {
        let p = CodesInput::Text("A1\r\nA2, A3\n\n\"A1\",A4".into())
            .parse()
            .unwrap();
        assert_eq!(p.codes, ["A1", "A2", "A3", "A4"]);
        assert_eq!(p.repeated, 1);
        let p = CodesInput::List(vec!["x".into(), "x".into(), "y".into()])
            .parse()
            .unwrap();
        assert_eq!((p.codes.len(), p.repeated), (2, 1));
        // A list's codes are taken as they are: blanks around one are refused, not trimmed.
        let e = CodesInput::List(vec![" x".into(), String::new()])
            .parse()
            .unwrap_err();
        let fields: Vec<_> = e.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["codes[0]", "codes[1]"]);
        // Text: control characters are no separators, so the code holding one is refused.
        assert!(CodesInput::Text("G\u{93}".into()).parse().is_err());
    }

    #[test]
    fn bad_codes_are_refused_with_their_index() {
        let long = "c".repeat(CODE_CHARS + 1);
        let e = CodesInput::List(vec!["ok".into(), "has space".into(), long])
            .parse()
            .unwrap_err();
        let fields: Vec<_> = e.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["codes[1]", "codes[2]"]);
        assert_eq!(
            CodesInput::Text(" ,\n".into()).parse().unwrap_err()[0].field,
            "codes"
        );
        let many = CodesInput::List((0..=MAX_CODES_PER_REQUEST).map(|i| i.to_string()).collect());
        assert!(many.parse().is_err());
    }

    #[test]
    fn stock_is_what_was_not_issued() {
        let c = CouponCounts {
            added: 5,
            issued: 2,
        };
        assert_eq!(c.stock(), 3);
        assert!(is_list_id(&list_id_for("ww1", "k")));
        assert!(!is_list_id("fc0123456789abcdef"));
    }
}
