//! A small builder for DynamoDB update expressions, so that adapters write
//! `u.set("name", s(..))` instead of hand-numbering placeholders. Attribute names are the
//! table's own (letters, digits, `_`), so `#name` and `:name` are always valid.
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// An update expression under construction.
#[derive(Debug, Default, Clone)]
pub struct Update {
    sets: Vec<String>,
    adds: Vec<String>,
    removes: Vec<String>,
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: HashMap<String, AttributeValue>,
}

impl Update {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn name(&mut self, attr: &str) -> String {
        let n = format!("#{attr}");
        self.names.insert(n.clone(), attr.to_string());
        n
    }

    /// A value placeholder usable in conditions.
    pub(crate) fn value(&mut self, placeholder: &str, v: AttributeValue) -> &mut Self {
        self.values.insert(placeholder.to_string(), v);
        self
    }

    /// A name placeholder usable in conditions (`#attr`).
    pub(crate) fn named(&mut self, attr: &str) -> String {
        self.name(attr)
    }

    /// `SET #attr = :attr`.
    pub(crate) fn set(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let n = self.name(attr);
        let p = format!(":{attr}");
        self.values.insert(p.clone(), v);
        self.sets.push(format!("{n} = {p}"));
        self
    }

    /// `SET #attr = :attr` when `v` is given; nothing otherwise.
    pub(crate) fn set_opt(&mut self, attr: &str, v: Option<AttributeValue>) -> &mut Self {
        if let Some(v) = v {
            self.set(attr, v);
        }
        self
    }

    /// `SET #attr = if_not_exists(#attr, :attr)`: only the first writer sets it.
    pub(crate) fn set_if_absent(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let n = self.name(attr);
        let p = format!(":{attr}");
        self.values.insert(p.clone(), v);
        self.sets.push(format!("{n} = if_not_exists({n}, {p})"));
        self
    }

    /// `ADD #attr :attr` (numbers).
    pub(crate) fn add(&mut self, attr: &str, by: i64) -> &mut Self {
        let n = self.name(attr);
        let p = format!(":{attr}");
        self.values
            .insert(p.clone(), AttributeValue::N(by.to_string()));
        self.adds.push(format!("{n} {p}"));
        self
    }

    /// `REMOVE #attr`.
    pub(crate) fn remove(&mut self, attr: &str) -> &mut Self {
        let n = self.name(attr);
        self.removes.push(n);
        self
    }

    /// The expression text.
    pub(crate) fn expression(&self) -> String {
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
}

/// The condition "this change is not older than what the item already holds": the item
/// keeps the epoch seconds of the newest change applied in `event_at`, so a late
/// re-delivery or a reordered callback never overwrites newer facts.
pub fn not_older(u: &mut Update, at: i64) -> String {
    let n = u.named("event_at");
    u.value(":at", AttributeValue::N(at.to_string()));
    format!("(attribute_not_exists({n}) OR {n} <= :at)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::item::s;

    #[test]
    fn builds_set_add_and_remove_clauses() {
        let mut u = Update::new();
        u.set("name", s("x"))
            .set_if_absent("created", s("t"))
            .add("member_count", 1)
            .remove("left_at");
        assert_eq!(
            u.expression(),
            "SET #name = :name, #created = if_not_exists(#created, :created) ADD #member_count :member_count REMOVE #left_at"
        );
        assert_eq!(u.names.len(), 4);
        assert_eq!(u.values.len(), 3);
    }
}
