//! Searching the directory: customers by name prefix over a sharded name index, by exact
//! external_userid, and groups by a part of their name.
//!
//! A tenant may hold a million customers, so a name search never reads them all and no
//! index partition takes a whole tenant's writes: each customer with a name has one entry
//! in one of [`NAME_SHARDS`] index partitions (by a hash of its id), sorted by its
//! position `{normalized name}#{external_userid}`. A page reads at most `limit + 1`
//! positions that start with the searched prefix from every shard, strictly after the
//! cursor, and merges them: the first `limit` over all shards are always among them, so
//! every page is exact and in the global name order. The cursor is the last position
//! answered (base64url), so it is the same for every shard.
//!
//! Names are compared normalized ([`normalize_name`]): lower case, full-width ASCII folded
//! to half-width, runs of white space as one space; Chinese names are kept as they are.
//!
//! Groups (at most 10,000 a tenant) need no index of their own: a search reads the
//! tenant's group listing in id order and keeps the groups whose normalized name contains
//! the text, until the page is full (see `DirectoryRead::groups_named`).
use super::admin::valid_id;
use super::model::{CustomerView, Page};
use super::ports::{DirectoryRead, NameIndex};
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::tenants::TenantId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::future::try_join_all;
use sha2::{Digest, Sha256};

/// Shards of the customer name index.
pub const NAME_SHARDS: u32 = 16;
/// The longest search text, in characters.
pub const MAX_SEARCH_CHARS: usize = 64;
/// A name is indexed by at most this many of its normalized characters (a key stays far
/// below DynamoDB's 1 KiB sort-key limit).
pub const MAX_INDEXED_NAME_CHARS: usize = 100;
/// The longest cursor a name search answers (base64url of a position).
pub const MAX_NAME_CURSOR_LEN: usize = 1024;

/// Why a search request was refused.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The search text is empty after normalization, too long or has control characters.
    #[error("{0} must be 1 to 64 characters (not only spaces), without control characters")]
    InvalidText(&'static str),
    /// The cursor is not one this search answered.
    #[error("cursor is not one this search returned")]
    InvalidCursor,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::InvalidText(_) | SearchError::InvalidCursor => {
                ApiError::validation(e.to_string())
            }
            SearchError::Store(s) => s.into(),
        }
    }
}

/// A name as the index and the searches compare it: full-width ASCII (U+FF01–U+FF5E) and
/// the ideographic space folded to half-width, lower case, control characters dropped,
/// runs of white space as one space, trimmed; other characters (Chinese names) as they
/// are. At most [`MAX_INDEXED_NAME_CHARS`] characters.
pub fn normalize_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = 0;
    let mut pending_space = false;
    for ch in raw.chars() {
        let ch = match ch {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
            c => c,
        };
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if ch.is_control() {
            continue;
        }
        if pending_space {
            out.push(' ');
            chars += 1;
            pending_space = false;
        }
        for lower in ch.to_lowercase() {
            if chars == MAX_INDEXED_NAME_CHARS {
                return out;
            }
            out.push(lower);
            chars += 1;
        }
    }
    out
}

/// The shard of a customer in the name index: stable across runs and processes.
pub fn name_shard(external_userid: &str) -> u32 {
    let d = Sha256::digest(external_userid.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % NAME_SHARDS
}

/// A customer's position in the name index (`None` for a customer without a name: such a
/// customer is found by its id only).
pub fn name_position(name: &str, external_userid: &str) -> Option<String> {
    let normalized = normalize_name(name);
    (!normalized.is_empty()).then(|| format!("{normalized}#{external_userid}"))
}

/// A checked search text, normalized (`what` names the parameter in the error).
pub fn search_text(raw: &str, what: &'static str) -> Result<String, SearchError> {
    if raw.chars().count() > MAX_SEARCH_CHARS || raw.chars().any(char::is_control) {
        return Err(SearchError::InvalidText(what));
    }
    let normalized = normalize_name(raw);
    if normalized.is_empty() {
        return Err(SearchError::InvalidText(what));
    }
    Ok(normalized)
}

/// A name search: the normalized prefix and where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSearch {
    /// The normalized prefix.
    pub prefix: String,
    /// The last position answered.
    pub after: Option<String>,
}

impl NameSearch {
    /// Checks the text and the cursor: a cursor must be one a search with the same prefix
    /// answered.
    pub fn parse(raw_name: &str, cursor: Option<&str>) -> Result<Self, SearchError> {
        let prefix = search_text(raw_name, "name")?;
        let after = cursor.map(|c| decode_cursor(c, &prefix)).transpose()?;
        Ok(Self { prefix, after })
    }
}

/// The cursor after `position`.
pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position.as_bytes())
}

fn decode_cursor(raw: &str, prefix: &str) -> Result<String, SearchError> {
    if raw.is_empty() || raw.len() > MAX_NAME_CURSOR_LEN {
        return Err(SearchError::InvalidCursor);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| SearchError::InvalidCursor)?;
    let position = String::from_utf8(bytes).map_err(|_| SearchError::InvalidCursor)?;
    let ok = position.starts_with(prefix)
        && position
            .rsplit_once('#')
            .is_some_and(|(name, id)| !name.is_empty() && valid_id(id, "cursor").is_ok());
    if ok {
        Ok(position)
    } else {
        Err(SearchError::InvalidCursor)
    }
}

/// The external_userid a position ends with.
pub fn position_customer(position: &str) -> Option<&str> {
    position.rsplit_once('#').map(|(_, id)| id)
}

/// One page of a name search: the customers' ids in name order, and the next cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameMatches {
    /// The customers, in name order.
    pub external_userids: Vec<String>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The first `limit` positions of the shards' pages (each ascending, each its first
/// positions after the cursor), and whether any position remains after them.
pub fn merge_positions(shards: Vec<Vec<String>>, limit: usize) -> (Vec<String>, bool) {
    let mut all: Vec<String> = shards.into_iter().flatten().collect();
    all.sort_unstable();
    all.dedup();
    let more = all.len() > limit;
    all.truncate(limit);
    (all, more)
}

/// A page of customers whose normalized name starts with the search's prefix, in name
/// order, reading every shard at once.
pub async fn find_by_name<I: NameIndex>(
    index: &I,
    t: &TenantId,
    search: &NameSearch,
    limit: usize,
) -> Result<NameMatches, StoreError> {
    let shards = try_join_all((0..NAME_SHARDS).map(|shard| {
        index.name_positions(t, shard, &search.prefix, search.after.as_deref(), limit + 1)
    }))
    .await?;
    let (page, more) = merge_positions(shards, limit);
    let next_cursor = more
        .then(|| page.last().map(|p| encode_cursor(p)))
        .flatten();
    Ok(NameMatches {
        external_userids: page
            .iter()
            .filter_map(|p| position_customer(p).map(str::to_string))
            .collect(),
        next_cursor,
    })
}

/// A page of customers (with their follow relations) found by name.
pub async fn customers_by_name<D: DirectoryRead + NameIndex>(
    dir: &D,
    t: &TenantId,
    search: &NameSearch,
    limit: usize,
) -> Result<Page<CustomerView>, StoreError> {
    let found = find_by_name(dir, t, search, limit).await?;
    let views = try_join_all(
        found
            .external_userids
            .iter()
            .map(|id| dir.customer(t, id.as_str())),
    )
    .await?;
    Ok(Page {
        items: views.into_iter().flatten().collect(),
        next_cursor: found.next_cursor,
    })
}

/// The customer with this exact id, as a page of at most one; with a name prefix too,
/// only if the customer's name starts with it.
pub async fn customer_by_id<D: DirectoryRead>(
    dir: &D,
    t: &TenantId,
    external_userid: &str,
    name_prefix: Option<&str>,
) -> Result<Page<CustomerView>, StoreError> {
    let view = dir.customer(t, external_userid).await?.filter(|v| {
        name_prefix.is_none_or(|p| {
            normalize_name(v.customer.name.as_deref().unwrap_or_default()).starts_with(p)
        })
    });
    Ok(Page {
        items: view.into_iter().collect(),
        next_cursor: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_width_and_spaces_and_keep_chinese() {
        assert_eq!(normalize_name("  Ｚｈａｎｇ　San "), "zhang san");
        assert_eq!(normalize_name("ALICE\tBob"), "alice bob");
        assert_eq!(normalize_name("张三丰"), "张三丰");
        assert_eq!(normalize_name("Ａ１２"), "a12");
        assert_eq!(normalize_name("a\u{7}b"), "ab");
        assert_eq!(normalize_name(" \u{3000} "), "");
        assert_eq!(
            normalize_name(&"x".repeat(300)).chars().count(),
            MAX_INDEXED_NAME_CHARS
        );
    }

    #[test]
    fn positions_sort_by_name_then_id_and_carry_the_id() {
        let p = name_position("Ｂｏｂ", "wm2").unwrap();
        assert_eq!(p, "bob#wm2");
        assert_eq!(position_customer(&p), Some("wm2"));
        assert_eq!(name_position("  ", "wm1"), None);
        assert!(name_shard("wm1") < NAME_SHARDS);
        assert_eq!(name_shard("wm1"), name_shard("wm1"));
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_prefix() {
        let s = NameSearch::parse("Bo", None).unwrap();
        assert_eq!(s.prefix, "bo");
        let c = encode_cursor("bob#wm2");
        let s = NameSearch::parse("BO", Some(&c)).unwrap();
        assert_eq!(s.after.as_deref(), Some("bob#wm2"));
        for bad in [
            "",
            "!!",
            "bm90LWJhc2U2NA",
            &encode_cursor("alice#wm1"),
            &encode_cursor("bob"),
            &"A".repeat(2000),
        ] {
            assert!(
                matches!(
                    NameSearch::parse("bo", Some(bad)),
                    Err(SearchError::InvalidCursor)
                ),
                "{bad}"
            );
        }
        for bad in ["", "   ", &"x".repeat(65), "a\nb"] {
            assert!(NameSearch::parse(bad, None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn merging_gives_the_global_order_and_says_whether_more_remain() {
        let shards = vec![
            vec!["amy#wm3".to_string(), "bob#wm1".to_string()],
            vec!["al#wm9".to_string()],
            vec![],
        ];
        let (page, more) = merge_positions(shards.clone(), 2);
        assert_eq!(page, ["al#wm9", "amy#wm3"]);
        assert!(more);
        let (page, more) = merge_positions(shards, 3);
        assert_eq!(page.len(), 3);
        assert!(!more);
    }
}
