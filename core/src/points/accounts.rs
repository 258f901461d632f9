//! Every member's points account in one list (the admin console's accounts page): balance,
//! lifetime points earned / spent / expired, last check-in and streak, with the
//! customer's name from the directory.
//!
//! A tenant may hold a million accounts, so no request reads them all. Two orders are
//! served by sparse, sharded indexes that the ledger write keeps up to date:
//! - `balance`: every balance item sits in one of [`super::ports::EXPIRY_SHARDS`] index
//!   partitions by a hash of the customer, sorted by `{balance:015}#{customer}`;
//! - `last_check_in`: every check-in state, sorted by `{last date}#{customer}` (accounts
//!   that never checked in are not in this order).
//!
//! A page reads at most `limit` entries from each shard strictly after the cursor (the
//! last position answered) and merges them ([`merge`]): the first `limit` positions after
//! the cursor over all shards are always among them, so pages are exact, never sorted
//! within a page only. The other orders (`earned`, `spent`, `expired`, `streak`) have no
//! live index: earned and the streak change on nearly every ledger write (each check-in),
//! so a sharded index of each would add an index write to every check-in against the
//! per-operation write budget. They are served from the tenant's latest ranking snapshot
//! ([`super::ranking`]): its per-shard orders are read after the cursor and merged the
//! same way, each row's figures read live, and the page says when it was ranked
//! (`ranked_at`); without a ranking the list answers `ranking_not_ready`.
//! A search takes no `sort`: `q` (a prefix of the external_userid) lists matching
//! customers in id order from the directory's customer index; `name` (a prefix of the
//! name) lists them in name order from the directory's sharded name index
//! ([`crate::contacts::search`]).
use super::model::CustomerId;
use super::ports::{AccountIndex, CustomerNames, RankingStore, EXPIRY_SHARDS};
use super::ranking::{chunks_for, page_rows, RankFigure};
use super::rules::CheckInState;
use crate::contacts::search::{find_by_name, NameSearch, SearchError};
use crate::contacts::NameIndex;
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::tenants::TenantId;
use chrono::{DateTime, NaiveDate, Utc};
use futures::future::try_join_all;
use serde::Serialize;

/// The largest page.
pub const MAX_PAGE: usize = 200;

/// An order the account list is served in from an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSort {
    /// By balance.
    Balance,
    /// By the last check-in date (accounts that checked in at least once).
    LastCheckIn,
}

/// An order the list is served in: a live index, or the latest ranking snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSort {
    /// From a live index.
    Index(AccountSort),
    /// From the latest ranking snapshot.
    Ranked(RankFigure),
}

impl ListSort {
    /// Parses `sort`.
    pub fn parse(raw: &str) -> Result<Self, AccountsError> {
        if let Some(figure) = RankFigure::parse(raw) {
            return Ok(Self::Ranked(figure));
        }
        AccountSort::parse(raw).map(Self::Index)
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// Why a list request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// A parameter is malformed.
    #[error("{0}")]
    Invalid(String),
    /// A ranked order asked for before any ranking was completed (or the last is too
    /// old to serve).
    #[error("no ranking of the accounts yet: ask for one (POST /v1/points/accounts/rankings) and sort by {0} once it is done")]
    RankingNotReady(&'static str),
    /// A search together with a sort.
    #[error("a search (q or name) lists matches in its own order and takes no sort")]
    SearchWithSort,
    /// Both searches at once.
    #[error("search by q (external_userid prefix) or by name, not both")]
    TwoSearches,
    /// A name search or its cursor is malformed.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AccountsError> for ApiError {
    fn from(e: AccountsError) -> Self {
        match e {
            AccountsError::Invalid(_) | AccountsError::TwoSearches => {
                ApiError::validation(e.to_string())
            }
            AccountsError::Search(s) => s.into(),
            AccountsError::SearchWithSort => {
                ApiError::bad_request("unsupported_sort", e.to_string())
            }
            AccountsError::RankingNotReady(_) => {
                ApiError::conflict("ranking_not_ready", e.to_string())
            }
            AccountsError::Store(s) => s.into(),
        }
    }
}

impl AccountSort {
    /// Parses `sort`.
    pub fn parse(raw: &str) -> Result<Self, AccountsError> {
        match raw {
            "balance" => Ok(Self::Balance),
            "last_check_in" => Ok(Self::LastCheckIn),
            _ => Err(AccountsError::Invalid(
                "sort must be balance, last_check_in, earned, spent, expired or streak".into(),
            )),
        }
    }
}

impl SortOrder {
    /// Parses `order`.
    pub fn parse(raw: &str) -> Result<Self, AccountsError> {
        match raw {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(AccountsError::Invalid("order must be asc or desc".into())),
        }
    }
}

/// An account's place in an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedAccount {
    /// Its sort key in the index (also the cursor after it).
    pub position: String,
    /// The customer.
    pub customer: CustomerId,
}

/// The balance index position: the balance zero-padded (balances are never negative),
/// then the customer, so equal balances have a stable order.
pub fn balance_position(balance: i64, customer: &CustomerId) -> String {
    format!("{:015}#{customer}", balance.max(0))
}

/// The last-check-in index position.
pub fn check_in_position(last_date: &str, customer: &CustomerId) -> String {
    format!("{last_date}#{customer}")
}

/// Whether `raw` is a position of `sort` (a cursor this API could have answered). A
/// ranking's positions have the balance index's shape (`{value:015}#{customer}`).
pub fn valid_position(sort: ListSort, raw: &str) -> bool {
    let Some((head, customer)) = raw.split_once('#') else {
        return false;
    };
    let head_ok = match sort {
        ListSort::Index(AccountSort::Balance) | ListSort::Ranked(_) => {
            head.len() == 15 && head.bytes().all(|b| b.is_ascii_digit())
        }
        ListSort::Index(AccountSort::LastCheckIn) => {
            NaiveDate::parse_from_str(head, "%Y-%m-%d").is_ok()
        }
    };
    head_ok && CustomerId::parse(customer).is_ok()
}

/// The first `limit` of the shards' pages in `order`. Each shard's page holds its first
/// `limit` positions after the cursor, so these are the first `limit` over every shard.
pub fn merge(
    shards: Vec<Vec<IndexedAccount>>,
    order: SortOrder,
    limit: usize,
) -> Vec<IndexedAccount> {
    let mut all: Vec<IndexedAccount> = shards.into_iter().flatten().collect();
    all.sort_by(|a, b| match order {
        SortOrder::Asc => a.position.cmp(&b.position),
        SortOrder::Desc => b.position.cmp(&a.position),
    });
    all.dedup_by(|a, b| a.position == b.position);
    all.truncate(limit);
    all
}

/// What the ledger holds about one account, for a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    /// The customer.
    pub customer: CustomerId,
    /// Balance (0 without a balance item).
    pub balance: i64,
    /// Lifetime totals `(earned, spent, expired)`; `None` for an account whose first
    /// entries predate these totals.
    pub totals: Option<(i64, i64, i64)>,
    /// Check-in state, if it ever checked in.
    pub check_in: Option<CheckInState>,
}

/// One row of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRow {
    /// The customer.
    pub external_userid: CustomerId,
    /// Their name in WeCom, if the directory knows them.
    pub name: Option<String>,
    /// Current balance.
    pub balance: i64,
    /// Points earned over the account's life (earned and imported).
    pub earned: Option<i64>,
    /// Points spent on rewards.
    pub spent: Option<i64>,
    /// Points expired.
    pub expired: Option<i64>,
    /// The last tenant-local day checked in.
    pub last_check_in: Option<String>,
    /// The streak as of today (0 once a day was missed).
    pub current_streak: u32,
    /// The longest streak.
    pub longest_streak: u32,
    /// Check-ins ever.
    pub total_check_ins: u32,
}

impl AccountRow {
    /// A row from the ledger's facts and the directory's name, as of tenant-local `today`.
    pub fn of(facts: AccountFacts, name: Option<String>, today: NaiveDate) -> Self {
        let check_in = facts.check_in.unwrap_or_default();
        AccountRow {
            external_userid: facts.customer,
            name,
            balance: facts.balance,
            earned: facts.totals.map(|t| t.0),
            spent: facts.totals.map(|t| t.1),
            expired: facts.totals.map(|t| t.2),
            last_check_in: check_in.last_date.clone(),
            current_streak: check_in.current_streak(today),
            longest_streak: check_in.longest,
            total_check_ins: check_in.total,
        }
    }
}

/// What is asked.
#[derive(Debug, Clone)]
pub struct AccountsQuery {
    /// The order (`None`: by balance, or id order for a search).
    pub sort: Option<ListSort>,
    /// Ascending or descending (default descending).
    pub order: SortOrder,
    /// A prefix of the external_userid.
    pub q: Option<String>,
    /// A prefix of the customer's name (as typed; normalized when checked).
    pub name: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
    /// Page size, 1 to [`MAX_PAGE`].
    pub limit: usize,
}

impl AccountsQuery {
    /// Checks the combination and the cursor's shape.
    pub fn check(&self) -> Result<(), AccountsError> {
        if !(1..=MAX_PAGE).contains(&self.limit) {
            return Err(AccountsError::Invalid(format!(
                "limit must be from 1 to {MAX_PAGE}"
            )));
        }
        if self.q.is_some() && self.name.is_some() {
            return Err(AccountsError::TwoSearches);
        }
        if self.name.is_some() && self.sort.is_some() {
            return Err(AccountsError::SearchWithSort);
        }
        if let Some(q) = &self.q {
            if self.sort.is_some() {
                return Err(AccountsError::SearchWithSort);
            }
            if q.is_empty() || q.chars().count() > 64 || CustomerId::parse(q).is_err() {
                return Err(AccountsError::Invalid(
                    "q must be 1-64 characters of an external_userid".into(),
                ));
            }
        }
        if let Some(name) = &self.name {
            NameSearch::parse(name, self.cursor.as_deref())?;
            return Ok(());
        }
        if let Some(c) = &self.cursor {
            let by = self.sort.unwrap_or(ListSort::Index(AccountSort::Balance));
            let ok = match (&self.q, by) {
                (Some(_), _) => CustomerId::parse(c).is_ok(),
                (None, sort) => valid_position(sort, c),
            };
            if !ok {
                return Err(AccountsError::Invalid(
                    "cursor is not one this API returned".into(),
                ));
            }
        }
        Ok(())
    }
}

/// A page of the list.
#[derive(Debug, Clone, Serialize)]
pub struct AccountsPage {
    /// The rows.
    pub items: Vec<AccountRow>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
    /// For a ranked order: when the ranking read the accounts (the order is as of then;
    /// the figures are live).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranked_at: Option<DateTime<Utc>>,
}

/// The first `limit` accounts after `cursor` of a shard-sharded order: at most `limit`
/// from each shard, merged, and the cursor of the next page.
fn merged_page(
    shards: Vec<Vec<IndexedAccount>>,
    order: SortOrder,
    limit: usize,
) -> (Vec<CustomerId>, Option<String>) {
    let fetched: usize = shards.iter().map(Vec::len).sum();
    let any_full = shards.iter().any(|s| s.len() == limit);
    let page = merge(shards, order, limit);
    let next = (page.len() == limit && (fetched > limit || any_full))
        .then(|| page.last().map(|a| a.position.clone()))
        .flatten();
    (page.into_iter().map(|a| a.customer).collect(), next)
}

/// A page of the tenant's accounts (see the module docs for what is read).
pub async fn accounts_page<S: AccountIndex + RankingStore, N: CustomerNames + NameIndex>(
    store: &S,
    names: &N,
    tenant: &TenantId,
    query: &AccountsQuery,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<AccountsPage, AccountsError> {
    query.check()?;
    let limit = query.limit;
    let mut ranked_at = None;
    let (customers, next_cursor) = match (&query.q, &query.name) {
        (_, Some(name)) => {
            let search = NameSearch::parse(name, query.cursor.as_deref())?;
            let found = find_by_name(names, tenant, &search, limit).await?;
            let page = found
                .external_userids
                .iter()
                .filter_map(|id| CustomerId::parse(id).ok())
                .collect();
            (page, found.next_cursor)
        }
        (Some(prefix), None) => {
            let found = names
                .customers_with_prefix(tenant, prefix, query.cursor.as_deref(), limit + 1)
                .await?;
            let more = found.len() > limit;
            let page: Vec<CustomerId> = found.into_iter().take(limit).collect();
            let next = more
                .then(|| page.last().map(|c| c.as_str().to_string()))
                .flatten();
            (page, next)
        }
        (None, None) => match query.sort.unwrap_or(ListSort::Index(AccountSort::Balance)) {
            ListSort::Index(sort) => {
                let shards = try_join_all((0..EXPIRY_SHARDS).map(|shard| {
                    store.index_page(
                        tenant,
                        sort,
                        query.order,
                        shard,
                        query.cursor.as_deref(),
                        limit,
                    )
                }))
                .await?;
                merged_page(shards, query.order, limit)
            }
            ListSort::Ranked(figure) => {
                let snapshot = match store.latest_ranking(tenant).await?.0 {
                    Some(s) if s.served_at(now) => s,
                    _ => return Err(AccountsError::RankingNotReady(figure.as_str())),
                };
                let after = query.cursor.as_deref();
                let shards = try_join_all((0..EXPIRY_SHARDS).map(|shard| {
                    let snapshot = &snapshot;
                    async move {
                        let rows = store
                            .ranking_rows(
                                tenant,
                                snapshot,
                                figure,
                                shard,
                                query.order,
                                after,
                                chunks_for(limit),
                            )
                            .await?;
                        Ok::<_, StoreError>(page_rows(rows, query.order, after, limit))
                    }
                }))
                .await?;
                ranked_at = Some(snapshot.ranked_at);
                merged_page(shards, query.order, limit)
            }
        },
    };
    let (facts, mut known) = futures::try_join!(
        store.account_rows(tenant, &customers),
        names.customer_names(tenant, &customers)
    )?;
    let mut by_customer: std::collections::HashMap<CustomerId, AccountFacts> =
        facts.into_iter().map(|f| (f.customer.clone(), f)).collect();
    let items = customers
        .into_iter()
        .map(|c| {
            // A customer without a balance item has no entries: nothing earned yet.
            let facts = by_customer.remove(&c).unwrap_or(AccountFacts {
                customer: c.clone(),
                balance: 0,
                totals: Some((0, 0, 0)),
                check_in: None,
            });
            AccountRow::of(facts, known.remove(&c), today)
        })
        .collect();
    Ok(AccountsPage {
        items,
        next_cursor,
        ranked_at,
    })
}

/// The CSV header of an export.
pub const CSV_HEADER: [&str; 10] = [
    "external_userid",
    "name",
    "balance",
    "earned",
    "spent",
    "expired",
    "last_check_in",
    "current_streak",
    "longest_streak",
    "total_check_ins",
];

/// A row as CSV fields (absent figures are empty; a name starting with a formula
/// character is prefixed with `'` so spreadsheets do not evaluate it).
pub fn csv_fields(r: &AccountRow) -> [String; 10] {
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let name = r.name.clone().unwrap_or_default();
    let name = if name.starts_with(['=', '+', '-', '@']) {
        format!("'{name}")
    } else {
        name
    };
    [
        r.external_userid.as_str().to_string(),
        name,
        r.balance.to_string(),
        opt(r.earned),
        opt(r.spent),
        opt(r.expired),
        r.last_check_in.clone().unwrap_or_default(),
        r.current_streak.to_string(),
        r.longest_streak.to_string(),
        r.total_check_ins.to_string(),
    ]
}

/// Rows as CSV text (RFC 4180 quoting), with the header line first when `header`.
pub fn to_csv(rows: &[AccountRow], header: bool) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing into memory cannot fail.
    if header {
        let _ = w.write_record(CSV_HEADER);
    }
    for r in rows {
        let _ = w.write_record(csv_fields(r));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(balance: i64, id: &str) -> IndexedAccount {
        let c = CustomerId::parse(id).unwrap();
        IndexedAccount {
            position: balance_position(balance, &c),
            customer: c,
        }
    }

    #[test]
    fn merging_shard_pages_gives_the_global_order() {
        let shards = vec![
            vec![acc(900, "a"), acc(100, "b")],
            vec![acc(500, "c"), acc(400, "d")],
            vec![acc(950, "e"), acc(450, "f")],
        ];
        let top: Vec<String> = merge(shards.clone(), SortOrder::Desc, 3)
            .into_iter()
            .map(|a| a.customer.as_str().to_string())
            .collect();
        assert_eq!(top, ["e", "a", "c"]);
        let mut asc = shards;
        for s in &mut asc {
            s.reverse();
        }
        let low: Vec<String> = merge(asc, SortOrder::Asc, 2)
            .into_iter()
            .map(|a| a.customer.as_str().to_string())
            .collect();
        assert_eq!(low, ["b", "d"]);
    }

    #[test]
    fn positions_sort_numerically_and_cursors_are_checked() {
        let c = CustomerId::parse("wm1").unwrap();
        assert!(balance_position(9, &c) < balance_position(10, &c));
        let by = ListSort::Index;
        assert!(valid_position(
            by(AccountSort::Balance),
            &balance_position(42, &c)
        ));
        assert!(!valid_position(by(AccountSort::Balance), "42#wm1"));
        assert!(valid_position(
            by(AccountSort::LastCheckIn),
            &check_in_position("2026-03-02", &c)
        ));
        assert!(!valid_position(
            by(AccountSort::LastCheckIn),
            "yesterday#wm1"
        ));
        let ranked = ListSort::Ranked(RankFigure::Streak);
        assert!(valid_position(ranked, &balance_position(3, &c)));
        assert!(!valid_position(ranked, "2026-03-02#wm1"));
        assert!(!valid_position(ranked, "000000000000003#not an id"));
    }

    #[test]
    fn every_figure_sorts_and_a_search_takes_no_sort() {
        for (raw, figure) in [
            ("earned", RankFigure::Earned),
            ("spent", RankFigure::Spent),
            ("expired", RankFigure::Expired),
            ("streak", RankFigure::Streak),
        ] {
            assert_eq!(ListSort::parse(raw).unwrap(), ListSort::Ranked(figure));
        }
        assert_eq!(
            ListSort::parse("balance").unwrap(),
            ListSort::Index(AccountSort::Balance)
        );
        assert!(matches!(
            ListSort::parse("x"),
            Err(AccountsError::Invalid(_))
        ));
        let ranked_bad_cursor = AccountsQuery {
            sort: Some(ListSort::Ranked(RankFigure::Earned)),
            order: SortOrder::Asc,
            q: None,
            name: None,
            cursor: Some("2026-03-02#wm1".into()),
            limit: 20,
        };
        assert!(matches!(
            ranked_bad_cursor.check(),
            Err(AccountsError::Invalid(_))
        ));
        let q = AccountsQuery {
            sort: Some(ListSort::Index(AccountSort::Balance)),
            order: SortOrder::Desc,
            q: Some("wm".into()),
            name: None,
            cursor: None,
            limit: 20,
        };
        assert!(matches!(q.check(), Err(AccountsError::SearchWithSort)));
        let by_name = AccountsQuery {
            q: None,
            name: Some("张".into()),
            ..q.clone()
        };
        assert!(matches!(
            by_name.check(),
            Err(AccountsError::SearchWithSort)
        ));
        let both = AccountsQuery {
            sort: None,
            q: Some("wm".into()),
            ..by_name.clone()
        };
        assert!(matches!(both.check(), Err(AccountsError::TwoSearches)));
        let bad_cursor = AccountsQuery {
            q: None,
            cursor: Some("x".into()),
            ..both
        };
        assert!(matches!(bad_cursor.check(), Err(AccountsError::Search(_))));
    }

    #[test]
    fn csv_neutralises_formulas() {
        let row = AccountRow {
            external_userid: CustomerId::parse("wm1").unwrap(),
            name: Some("=cmd()".into()),
            balance: 5,
            earned: None,
            spent: Some(0),
            expired: Some(0),
            last_check_in: None,
            current_streak: 0,
            longest_streak: 0,
            total_check_ins: 0,
        };
        let f = csv_fields(&row);
        assert_eq!(f[1], "'=cmd()");
        assert_eq!(f[3], "");
        let text = to_csv(&[row], true);
        assert!(text.starts_with("external_userid,name,balance,"));
        assert!(text.ends_with("wm1,'=cmd(),5,,0,0,,0,0,0\n"), "{text}");
    }
}
