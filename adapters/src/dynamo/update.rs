//! The one builder of DynamoDB update expressions ([`Update`]) and of conditions
//! ([`Cond`]), so that adapters write `u.set("name", s(..))` instead of hand-numbering
//! placeholders.
//!
//! Every method has one meaning:
//! - [`Update::set`]: `SET #a = :a`;
//! - [`Update::set_if_some`]: `SET #a = :a` when a value is given, nothing otherwise (the
//!   stored attribute is left as it is; call [`Update::remove`] to drop it);
//! - [`Update::set_if_not_exists`]: `SET #a = if_not_exists(#a, :a)` (the first writer wins);
//! - [`Update::increment`]: `SET #a = #a + :a` (the attribute must exist);
//! - [`Update::increment_from`]: `SET #a = if_not_exists(#a, :a_from) + :a`;
//! - [`Update::add`]: `ADD #a :a` (numbers; a missing attribute counts as 0);
//! - [`Update::remove`]: `REMOVE #a`.
//!
//! Conditions name attributes through [`Update::name`] / [`Cond::name`] (`#a`) and bind
//! values under placeholders the caller picks ([`Update::value`] / [`Cond::value`]); clauses
//! added with `when` are joined with `AND`. Attribute names are the tables' own (letters,
//! digits, `_`), so `#a` and `:a` are always valid placeholders.
use super::schema::PK;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// A condition expression (also a filter expression) with its placeholders. An empty one
/// means "unconditional".
#[derive(Debug, Default, Clone)]
pub struct Cond {
    clauses: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Cond {
    /// No condition (yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// The item does not exist (yet): `attribute_not_exists(pk)`.
    pub fn item_absent() -> Self {
        let mut c = Self::new();
        c.when(item_absent());
        c
    }

    /// The item exists: `attribute_exists(pk)`.
    pub fn item_exists() -> Self {
        let mut c = Self::new();
        c.when(item_exists());
        c
    }

    /// Adds a clause; clauses are joined with `AND` (a clause with an `OR` outside
    /// parentheses is parenthesised; DynamoDB rejects redundant parentheses, so no others
    /// are added).
    pub fn when(&mut self, clause: impl Into<String>) -> &mut Self {
        self.clauses.push(clause.into());
        self
    }

    /// The name placeholder of `attr` (`#attr`), declared.
    pub fn name(&mut self, attr: &str) -> String {
        let n = format!("#{attr}");
        self.names.insert(n.clone(), attr.to_string());
        n
    }

    /// Binds a value placeholder (`:name`). Binding one placeholder to two different
    /// values is a bug.
    pub fn value(&mut self, placeholder: &str, v: AttributeValue) -> &mut Self {
        let previous = self.values.insert(placeholder.to_string(), v);
        debug_assert!(
            previous.is_none() || previous == self.values.get(placeholder).cloned(),
            "placeholder {placeholder} bound twice to different values"
        );
        self
    }

    /// Whether there is no clause.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The expression text, if any.
    pub fn expression(&self) -> Option<String> {
        match self.clauses.len() {
            0 => None,
            1 => Some(self.clauses[0].clone()),
            _ => Some(
                self.clauses
                    .iter()
                    .map(|c| {
                        if has_top_level_or(c) {
                            format!("({c})")
                        } else {
                            c.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" AND "),
            ),
        }
    }

    /// The name placeholders, `None` when there are none (DynamoDB rejects an empty map).
    pub(crate) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The value placeholders, `None` when there are none.
    pub(crate) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Whether `clause` has an `OR` outside parentheses (it binds looser than `AND`).
fn has_top_level_or(clause: &str) -> bool {
    let upper = clause.to_ascii_uppercase();
    let mut depth = 0i32;
    for (i, c) in upper.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ' ' if depth == 0 && upper[i..].starts_with(" OR ") => return true,
            _ => {}
        }
    }
    false
}

/// The clause "the item does not exist": `attribute_not_exists(pk)`.
pub fn item_absent() -> String {
    format!("attribute_not_exists({PK})")
}

/// The clause "the item exists": `attribute_exists(pk)`.
pub fn item_exists() -> String {
    format!("attribute_exists({PK})")
}

/// An update expression under construction, with its condition.
#[derive(Debug, Default, Clone)]
pub struct Update {
    sets: Vec<String>,
    adds: Vec<String>,
    removes: Vec<String>,
    cond: Cond,
}

impl Update {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }

    fn bind(&mut self, attr: &str, v: AttributeValue) -> (String, String) {
        let n = self.cond.name(attr);
        let p = format!(":{attr}");
        self.cond.value(&p, v);
        (n, p)
    }

    /// `SET #attr = :attr`.
    pub fn set(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (n, p) = self.bind(attr, v);
        self.sets.push(format!("{n} = {p}"));
        self
    }

    /// `SET #attr = :attr` when `v` is given; nothing otherwise (the stored value stays).
    pub fn set_if_some(&mut self, attr: &str, v: Option<AttributeValue>) -> &mut Self {
        if let Some(v) = v {
            self.set(attr, v);
        }
        self
    }

    /// `SET #attr = if_not_exists(#attr, :attr)`: only the first writer sets it.
    pub fn set_if_not_exists(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (n, p) = self.bind(attr, v);
        self.sets.push(format!("{n} = if_not_exists({n}, {p})"));
        self
    }

    /// `SET #attr = #attr + :attr`: the attribute must exist (a negative `by` decrements).
    pub fn increment(&mut self, attr: &str, by: i64) -> &mut Self {
        let (n, p) = self.bind(attr, AttributeValue::N(by.to_string()));
        self.sets.push(format!("{n} = {n} + {p}"));
        self
    }

    /// `SET #attr = if_not_exists(#attr, :attr_from) + :attr`: counts from `from` when the
    /// attribute is missing.
    pub fn increment_from(&mut self, attr: &str, from: i64, by: i64) -> &mut Self {
        let (n, p) = self.bind(attr, AttributeValue::N(by.to_string()));
        let start = format!(":{attr}_from");
        self.cond.value(&start, AttributeValue::N(from.to_string()));
        self.sets
            .push(format!("{n} = if_not_exists({n}, {start}) + {p}"));
        self
    }

    /// `ADD #attr :attr` (numbers; a missing attribute counts as 0).
    pub fn add(&mut self, attr: &str, by: i64) -> &mut Self {
        let (n, p) = self.bind(attr, AttributeValue::N(by.to_string()));
        self.adds.push(format!("{n} {p}"));
        self
    }

    /// `REMOVE #attr`.
    pub fn remove(&mut self, attr: &str) -> &mut Self {
        let n = self.cond.name(attr);
        self.removes.push(n);
        self
    }

    /// The name placeholder of `attr` (`#attr`), for conditions.
    pub fn name(&mut self, attr: &str) -> String {
        self.cond.name(attr)
    }

    /// Binds a value placeholder for conditions (pick one no `set`/`add` uses: those are
    /// `:attr`).
    pub fn value(&mut self, placeholder: &str, v: AttributeValue) -> &mut Self {
        self.cond.value(placeholder, v);
        self
    }

    /// Adds a condition clause (clauses are joined with `AND`).
    pub fn when(&mut self, clause: impl Into<String>) -> &mut Self {
        self.cond.when(clause);
        self
    }

    /// The update expression text.
    pub fn expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.sets.is_empty() {
            parts.push(format!("SET {}", self.sets.join(", ")));
        }
        if !self.adds.is_empty() {
            parts.push(format!("ADD {}", self.adds.join(", ")));
        }
        if !self.removes.is_empty() {
            parts.push(format!("REMOVE {}", self.removes.join(", ")));
        }
        parts.join(" ")
    }

    /// The condition with every placeholder of the update.
    pub(crate) fn condition(&self) -> &Cond {
        &self.cond
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::item::{n, s};

    #[test]
    fn builds_set_add_and_remove_clauses() {
        let mut u = Update::new();
        u.set("name", s("x"))
            .set_if_not_exists("created", s("t"))
            .set_if_some("absent", None)
            .add("member_count", 1)
            .remove("left_at");
        assert_eq!(
            u.expression(),
            "SET #name = :name, #created = if_not_exists(#created, :created) ADD #member_count :member_count REMOVE #left_at"
        );
        assert_eq!(u.cond.names.len(), 4);
        assert_eq!(u.cond.values.len(), 3);
        assert_eq!(u.condition().expression(), None);
    }

    #[test]
    fn increments_and_conditions() {
        let mut u = Update::new();
        u.increment("stock", -1).increment_from("redeemed", 0, 1);
        let stock = u.name("stock");
        u.value(":one", n(1))
            .when(item_exists())
            .when(format!("{stock} >= :one"));
        assert_eq!(
            u.expression(),
            "SET #stock = #stock + :stock, #redeemed = if_not_exists(#redeemed, :redeemed_from) + :redeemed"
        );
        assert_eq!(
            u.condition().expression().as_deref(),
            Some("attribute_exists(pk) AND #stock >= :one")
        );
        assert_eq!(u.condition().values().map(|v| v.len()), Some(4));
    }

    #[test]
    fn only_clauses_with_a_top_level_or_get_parentheses() {
        let mut c = Cond::new();
        c.when("(attribute_not_exists(#a) OR #a <= :at)")
            .when("#b = :b OR attribute_not_exists(#b)")
            .when("#c = :c AND #d = :d");
        assert_eq!(
            c.expression().as_deref(),
            Some(
                "(attribute_not_exists(#a) OR #a <= :at) AND (#b = :b OR attribute_not_exists(#b)) \
                 AND #c = :c AND #d = :d"
            )
        );
    }

    #[test]
    fn a_single_clause_is_kept_verbatim() {
        assert_eq!(
            Cond::item_absent().expression().as_deref(),
            Some("attribute_not_exists(pk)")
        );
        assert!(Cond::new().is_empty() && Cond::new().names().is_none());
    }
}
