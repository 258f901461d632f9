//! CSV import of points (批量导入), e.g. points from past orders. The file is checked as a
//! whole first: a malformed file is refused before anything is applied. Then each row is
//! judged on its own and reported: applied, already applied (a re-upload), or rejected
//! with a reason.
//!
//! Columns (header row required, any order, case-insensitive): `external_userid`,
//! `points`, optional `ref` (an external reference such as an order number) and `reason`.
//! Other columns are ignored. A row's idempotency key is its `ref` when given, otherwise
//! its content (customer, points, reason), so re-uploading a file, or a later export that
//! repeats its rows, applies nothing twice. Two identical rows without a `ref` in one file
//! are a duplicate; give them refs to import both.
use super::model::{CustomerId, Points};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The largest file accepted.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// The most data rows accepted.
pub const MAX_ROWS: usize = 100_000;
/// The longest `ref`, in bytes.
pub const MAX_REF_BYTES: usize = 100;
/// The longest `reason` kept, in characters (a longer one is cut).
pub const MAX_REASON_CHARS: usize = 200;
/// How much of a rejected row's customer id the report repeats, in bytes: a file may hold
/// megabytes in one field, and the report is stored.
pub const MAX_ECHOED_ID_BYTES: usize = 128;

/// Why a whole file is refused (nothing is applied).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedCsv {
    /// No content.
    #[error("the file is empty")]
    Empty,
    /// Too big.
    #[error("the file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    /// Not UTF-8 text.
    #[error("the file is not UTF-8 text (save it as CSV UTF-8)")]
    NotUtf8,
    /// Required columns missing from the header.
    #[error("the header lacks required column(s): {0}")]
    MissingColumns(String),
    /// A column named twice.
    #[error("the header names column `{0}` twice")]
    DuplicateColumn(String),
    /// No data rows.
    #[error("the file has a header but no rows")]
    NoRows,
    /// Too many rows.
    #[error("the file has more than {MAX_ROWS} rows")]
    TooManyRows,
    /// The CSV structure is broken on a line (unequal field counts, bad quoting).
    #[error("line {line}: {problem}")]
    Broken {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        problem: String,
    },
}

/// Why one row is not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowProblem {
    /// No customer id.
    MissingCustomer,
    /// Not a valid external_userid.
    InvalidCustomer,
    /// The directory does not know the customer.
    UnknownCustomer,
    /// `points` is not a positive whole number in range.
    BadNumber,
    /// `ref` too long or with spaces.
    BadRef,
    /// The same row (same ref, or same content without ref) appears earlier in the file.
    DuplicateRow,
}

impl RowProblem {
    /// The stable code in the report.
    pub fn code(&self) -> &'static str {
        match self {
            RowProblem::MissingCustomer => "missing_customer",
            RowProblem::InvalidCustomer => "invalid_customer",
            RowProblem::UnknownCustomer => "unknown_customer",
            RowProblem::BadNumber => "bad_number",
            RowProblem::BadRef => "bad_ref",
            RowProblem::DuplicateRow => "duplicate_row",
        }
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// The customer id as written.
    pub external_userid: String,
    /// Points, when valid.
    pub points: Option<Points>,
    /// The reason, when given.
    pub reason: Option<String>,
    /// The row's idempotency key.
    pub key: String,
    /// Why it will not be applied, if so.
    pub problem: Option<RowProblem>,
}

impl ImportRow {
    /// The customer, when the id is valid.
    pub fn customer(&self) -> Option<CustomerId> {
        CustomerId::parse(&self.external_userid).ok()
    }
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedImport {
    /// SHA-256 of the file (hex): the file's identity.
    pub sha256: String,
    /// Every data row, in order.
    pub rows: Vec<ImportRow>,
}

fn hex_sha(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

/// Parses and checks a file.
pub fn parse(bytes: &[u8]) -> Result<ParsedImport, MalformedCsv> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(MalformedCsv::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| MalformedCsv::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(MalformedCsv::Empty);
    }
    let sha256 = hex::encode(Sha256::digest(bytes));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| broken(&e, 1))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect::<Vec<_>>();
    let mut seen = HashSet::new();
    for h in &headers {
        if !h.is_empty() && !seen.insert(h.clone()) {
            return Err(MalformedCsv::DuplicateColumn(h.clone()));
        }
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c_id), Some(c_points)) = (col("external_userid"), col("points")) else {
        let missing: Vec<&str> = ["external_userid", "points"]
            .into_iter()
            .filter(|n| col(n).is_none())
            .collect();
        return Err(MalformedCsv::MissingColumns(missing.join(", ")));
    };
    let c_ref = col("ref");
    let c_reason = col("reason");
    let mut rows = Vec::new();
    let mut keys = HashSet::new();
    for record in reader.records() {
        let record = record.map_err(|e| broken(&e, 0))?;
        if rows.len() == MAX_ROWS {
            return Err(MalformedCsv::TooManyRows);
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        let field = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::to_string)
                .filter(|s| !s.is_empty())
        };
        let ext = field(Some(c_id)).unwrap_or_default();
        let raw_points = field(Some(c_points)).unwrap_or_default();
        let reference = field(c_ref);
        let reason = field(c_reason).map(|r| r.chars().take(MAX_REASON_CHARS).collect::<String>());
        let points = Points::parse(&raw_points).ok();
        let bad_ref = reference
            .as_deref()
            .is_some_and(|r| r.len() > MAX_REF_BYTES || !r.bytes().all(|b| b.is_ascii_graphic()));
        // A bad ref is never a key: the row's content names it, bounded whatever its length.
        let key = match reference.as_deref().filter(|_| !bad_ref) {
            Some(r) => format!("import:ref:{r}"),
            None => format!(
                "import:row:{}",
                &hex_sha(&[
                    &ext,
                    &raw_points,
                    reason.as_deref().unwrap_or(""),
                    reference.as_deref().unwrap_or("")
                ])[..40]
            ),
        };
        let problem = if ext.is_empty() {
            Some(RowProblem::MissingCustomer)
        } else if CustomerId::parse(&ext).is_err() {
            Some(RowProblem::InvalidCustomer)
        } else if points.is_none() {
            Some(RowProblem::BadNumber)
        } else if bad_ref {
            Some(RowProblem::BadRef)
        } else if !keys.insert(key.clone()) {
            Some(RowProblem::DuplicateRow)
        } else {
            None
        };
        rows.push(ImportRow {
            line,
            external_userid: echoed(ext),
            points,
            reason,
            key,
            problem,
        });
    }
    if rows.is_empty() {
        return Err(MalformedCsv::NoRows);
    }
    Ok(ParsedImport { sha256, rows })
}

/// The customer id as the report repeats it: whole if it fits, else its first
/// [`MAX_ECHOED_ID_BYTES`] bytes (at a character boundary) and `…`. A cut id is never a
/// valid one, so the row is rejected either way.
fn echoed(mut id: String) -> String {
    if id.len() > MAX_ECHOED_ID_BYTES {
        let mut end = MAX_ECHOED_ID_BYTES;
        while !id.is_char_boundary(end) {
            end -= 1;
        }
        id.truncate(end);
        id.push('…');
    }
    id
}

fn broken(e: &csv::Error, fallback_line: u64) -> MalformedCsv {
    let line = e.position().map(|p| p.line()).unwrap_or(fallback_line);
    let problem = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
        _ => "not valid CSV".to_string(),
    };
    MalformedCsv::Broken { line, problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_judged_one_by_one() {
        let file = "\u{feff}External_UserID,points,ref,reason\n\
                    wm1,100,o-1,order\n\
                    wm2,abc,o-2,\n\
                    wm1,100,o-1,order\n\
                    ,5,,\n\
                    wm#3,5,,\n\
                    wm4,7,,\n\
                    wm4,7,,\n\
                    wm5,-3,,\n";
        let parsed = parse(file.as_bytes()).unwrap();
        let problems: Vec<Option<&str>> = parsed
            .rows
            .iter()
            .map(|r| r.problem.map(|p| p.code()))
            .collect();
        assert_eq!(
            problems,
            vec![
                None,
                Some("bad_number"),
                Some("duplicate_row"),
                Some("missing_customer"),
                Some("invalid_customer"),
                None,
                Some("duplicate_row"),
                Some("bad_number"),
            ]
        );
        assert_eq!(parsed.rows[0].line, 2);
        assert_eq!(parsed.rows[0].key, "import:ref:o-1");
        assert!(parsed.rows[5].key.starts_with("import:row:"));
    }

    #[test]
    fn malformed_files_are_refused_whole() {
        assert_eq!(parse(b""), Err(MalformedCsv::Empty));
        assert_eq!(parse(&[0xff, 0xfe, 0x00]), Err(MalformedCsv::NotUtf8));
        assert!(matches!(
            parse(b"customer,points\nwm1,3\n"),
            Err(MalformedCsv::MissingColumns(c)) if c == "external_userid"
        ));
        assert_eq!(
            parse(b"external_userid,points\n"),
            Err(MalformedCsv::NoRows)
        );
        assert!(matches!(
            parse(b"external_userid,points\nwm1,3\nwm2,4,extra\n"),
            Err(MalformedCsv::Broken { line: 3, .. })
        ));
        assert!(matches!(
            parse(b"external_userid,points,points\nwm1,3,3\n"),
            Err(MalformedCsv::DuplicateColumn(_))
        ));
    }

    #[test]
    fn long_invalid_values_are_rejected_and_kept_short() {
        let long_id = "客".repeat(100_000);
        let long_ref = "r".repeat(300_000);
        let file = format!(
            "external_userid,points,ref,reason\n{long_id},5,,\nwm1,5,{long_ref},\nwm2,5,,{}\n",
            "理".repeat(1000)
        );
        let parsed = parse(file.as_bytes()).unwrap();
        let codes: Vec<Option<&str>> = parsed
            .rows
            .iter()
            .map(|r| r.problem.map(|p| p.code()))
            .collect();
        assert_eq!(codes, vec![Some("invalid_customer"), Some("bad_ref"), None]);
        for row in &parsed.rows {
            assert!(
                row.external_userid.len() <= MAX_ECHOED_ID_BYTES + 3,
                "{}",
                row.external_userid.len()
            );
            assert!(row.key.len() <= 60, "{}", row.key);
        }
        assert!(parsed.rows[0].external_userid.ends_with('…'));
        assert_eq!(
            parsed.rows[2].reason.as_ref().unwrap().chars().count(),
            MAX_REASON_CHARS
        );
    }

    #[test]
    fn the_same_content_has_the_same_keys() {
        let a = parse(b"external_userid,points\nwm1,3\n").unwrap();
        let b = parse(b"points,external_userid\n3,wm1\n").unwrap();
        assert_eq!(a.rows[0].key, b.rows[0].key);
        assert_ne!(a.sha256, b.sha256);
    }
}
