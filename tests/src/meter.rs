//! Write units per partition: an SDK interceptor on a DynamoDB client that asks every write
//! for its consumed capacity (`ReturnConsumedCapacity=INDEXES`) and attributes the units to
//! the partitions written, base table and each index partition alike.
//!
//! - Before serialization: the write's tables, keys, index keys (from the item of a put, or
//!   from the `SET gsi…pk = :v` of an update) and sizes are remembered in the request's
//!   config bag.
//! - After execution: the output's consumed capacity is read. A batch's units are
//!   aggregated per table; they are split over that table's items by item size. An index's
//!   units go to the items that carry the index's key, or to the key the item was last
//!   written with through this meter; otherwise they are left for [`Meter::resolve`],
//!   which reads the item's index keys after the phase.
//! - Transactions: DynamoDB Local's figure is not summed over the items, so they are counted
//!   from item sizes (2 units per KB started, per item and per index entry); an update's
//!   size is the item's size when last written through this meter, at least its key and
//!   values.
//! - A conditional write that fails is charged by DynamoDB but reported without capacity:
//!   it is counted at the item's size on its base partition (no index writes).
//! - Reads (GetItem, BatchGetItem, Query, Scan, TransactGetItems) are counted too, in total
//!   only (`ReturnConsumedCapacity=TOTAL`): read requests and read units, for the cost model.
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsInput, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, KeysAndAttributes};
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef, Input, Output,
};
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use scrm_adapters::dynamo::schema::{self, GsiDef};
use scrm_core::config::TableNames;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

type Item = HashMap<String, AttributeValue>;
/// An item by table, partition key and sort key.
type ItemRef = (String, String, String);

/// A partition written: of a table (`index: None`) or of one of its indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    /// The table's name.
    pub table: String,
    /// The index, or `None` for the base table.
    pub index: Option<String>,
    /// The partition key's value.
    pub key: String,
}

/// Index units whose partition the request did not say (an update of an indexed item, a
/// delete): resolved by [`Meter::resolve`].
#[derive(Debug, Clone)]
struct Unresolved {
    table: String,
    index: &'static str,
    key: Item,
    units: f64,
    /// Counted from the item's size, not reported: dropped if the item is not indexed.
    estimated: bool,
}

/// What the writes of a phase cost.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Write requests (PutItem, UpdateItem, DeleteItem, TransactWriteItems and
    /// BatchWriteItem calls).
    pub requests: u64,
    /// Of which failed (a condition not met, a transaction cancelled).
    pub failed: u64,
    /// Write units, base tables and indexes.
    pub units: f64,
    /// Write units per partition.
    pub by_partition: HashMap<Partition, f64>,
    /// Read requests (GetItem, BatchGetItem, Query, Scan, TransactGetItems calls).
    pub read_requests: u64,
    /// Read units of those requests, as DynamoDB reports them.
    pub read_units: f64,
    unresolved: Vec<Unresolved>,
}

impl Tally {
    fn add(&mut self, table: &str, index: Option<&str>, key: String, units: f64) {
        *self
            .by_partition
            .entry(Partition {
                table: table.to_string(),
                index: index.map(str::to_string),
                key,
            })
            .or_default() += units;
    }

    /// Adds the counts of `other` (another meter's tally, already resolved) to these.
    pub fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.failed += other.failed;
        self.units += other.units;
        self.read_requests += other.read_requests;
        self.read_units += other.read_units;
        for (p, units) in other.by_partition {
            *self.by_partition.entry(p).or_default() += units;
        }
        self.unresolved.extend(other.unresolved);
    }

    /// Units on one partition.
    pub fn units_on(&self, table: &str, index: Option<&str>, key: &str) -> f64 {
        self.by_partition
            .get(&Partition {
                table: table.to_string(),
                index: index.map(str::to_string),
                key: key.to_string(),
            })
            .copied()
            .unwrap_or(0.0)
    }
}

/// The partition key given to index units whose item is gone when they are resolved (a
/// delete, a TTL expiry) or no longer carries the index's key.
pub const UNKNOWN_INDEX_PARTITION: &str = "(item deleted or no longer indexed)";

/// What the meter last saw written of an item: its size and its index partitions.
#[derive(Debug, Clone, Default)]
struct Known {
    size: usize,
    indexes: HashMap<&'static str, String>,
}

/// The interceptor and its tally. Clones share the tally.
#[derive(Debug, Clone)]
pub struct Meter {
    tables: TableNames,
    tally: Arc<Mutex<Tally>>,
    /// Items written through this meter, by (table, pk, sk): an update or a delete that does
    /// not carry an index key is attributed to the key the item was last written with.
    known: Arc<Mutex<HashMap<ItemRef, Known>>>,
}

/// One item a write touches.
#[derive(Debug, Clone)]
struct Action {
    table: String,
    /// Base table key (pk and sk).
    key: Item,
    /// Per index of the table: `Some(partition)` when the request carries the index key,
    /// `None` when the item may be in the index under a key the request does not carry.
    /// Absent: the item is not written to that index.
    indexes: Vec<(&'static str, Option<String>)>,
    /// Size in bytes (item of a put; key and values of an update; key of a delete).
    size: usize,
}

/// A write request as remembered between serialization and its outcome.
#[derive(Debug, Clone)]
struct Pending {
    actions: Vec<Action>,
    transaction: bool,
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

/// A read request between serialization and its outcome.
#[derive(Debug, Clone)]
struct PendingRead;

impl Storable for PendingRead {
    type Storer = StoreReplace<Self>;
}

/// Asks a read request for its total consumed capacity; whether it is a read.
fn ask_read_capacity(input: &mut Input) -> bool {
    let total = Some(ReturnConsumedCapacity::Total);
    if let Some(i) = input.downcast_mut::<GetItemInput>() {
        i.return_consumed_capacity = total;
    } else if let Some(i) = input.downcast_mut::<QueryInput>() {
        i.return_consumed_capacity = total;
    } else if let Some(i) = input.downcast_mut::<ScanInput>() {
        i.return_consumed_capacity = total;
    } else if let Some(i) = input.downcast_mut::<BatchGetItemInput>() {
        i.return_consumed_capacity = total;
    } else if let Some(i) = input.downcast_mut::<TransactGetItemsInput>() {
        i.return_consumed_capacity = total;
    } else {
        return false;
    }
    true
}

/// The read units a read's output reports.
fn read_units(output: &Output) -> f64 {
    let sum = |c: &[ConsumedCapacity]| c.iter().filter_map(|c| c.capacity_units()).sum::<f64>();
    if let Some(o) = output.downcast_ref::<GetItemOutput>() {
        return o
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
    }
    if let Some(o) = output.downcast_ref::<QueryOutput>() {
        return o
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
    }
    if let Some(o) = output.downcast_ref::<ScanOutput>() {
        return o
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
    }
    if let Some(o) = output.downcast_ref::<BatchGetItemOutput>() {
        return sum(o.consumed_capacity());
    }
    if let Some(o) = output.downcast_ref::<TransactGetItemsOutput>() {
        return sum(o.consumed_capacity());
    }
    0.0
}

fn av_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + av_size(v)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + av_size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// DynamoDB's item size: attribute names plus values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + av_size(v)).sum()
}

fn string_of(v: &AttributeValue) -> String {
    match v {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.clone(),
        other => format!("{other:?}"),
    }
}

/// `attr = :value` assignments of an update expression's SET clause, names resolved.
fn set_assignments(
    expression: &str,
    names: Option<&HashMap<String, String>>,
    values: Option<&Item>,
) -> HashMap<String, AttributeValue> {
    let mut out = HashMap::new();
    // Clauses start with SET / REMOVE / ADD / DELETE; only SET assigns.
    let mut rest = expression;
    let mut clauses = Vec::new();
    let keywords = ["SET ", "REMOVE ", "ADD ", "DELETE "];
    loop {
        let upper = rest.to_ascii_uppercase();
        let next = keywords
            .iter()
            .filter_map(|k| {
                upper
                    .match_indices(k)
                    .find(|(i, _)| *i == 0 || upper.as_bytes()[i - 1] == b' ')
                    .map(|(i, _)| (i, *k))
            })
            .min_by_key(|(i, _)| *i);
        let Some((at, kw)) = next else { break };
        let body_start = at + kw.len();
        let upper_rest = &upper[body_start..];
        let end = keywords
            .iter()
            .filter_map(|k| upper_rest.find(&format!(" {k}")))
            .min()
            .map(|e| body_start + e)
            .unwrap_or(rest.len());
        clauses.push((kw, rest[body_start..end].to_string()));
        rest = &rest[end..];
        if rest.is_empty() {
            break;
        }
    }
    for (kw, body) in clauses {
        if kw != "SET " {
            continue;
        }
        // Top-level commas only (if_not_exists(a, b) has one inside).
        let mut depth = 0;
        let mut part = String::new();
        let mut parts = Vec::new();
        for c in body.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut part));
                    continue;
                }
                _ => {}
            }
            part.push(c);
        }
        parts.push(part);
        for p in parts {
            let Some((lhs, rhs)) = p.split_once('=') else {
                continue;
            };
            let (lhs, rhs) = (lhs.trim(), rhs.trim());
            let attr = match names.and_then(|n| n.get(lhs)) {
                Some(real) => real.clone(),
                None => lhs.to_string(),
            };
            if let Some(v) = values.and_then(|v| v.get(rhs)) {
                out.insert(attr, v.clone());
            }
        }
    }
    out
}

impl Meter {
    /// A meter for the tables of `tables` (their index definitions come from the schema).
    pub fn new(tables: TableNames) -> Self {
        Self {
            tables,
            tally: Arc::new(Mutex::new(Tally::default())),
            known: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn known_key(table: &str, key: &Item) -> ItemRef {
        (
            table.to_string(),
            key.get(schema::PK).map(string_of).unwrap_or_default(),
            key.get(schema::SK).map(string_of).unwrap_or_default(),
        )
    }

    /// A client that is `client` with this meter on it.
    pub fn client(&self, client: &aws_sdk_dynamodb::Client) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            client
                .config()
                .to_builder()
                .interceptor(self.clone())
                .build(),
        )
    }

    /// Takes what was counted so far, leaving an empty tally.
    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.tally.lock().expect("meter lock"))
    }

    fn gsis(&self, table: &str) -> &'static [GsiDef] {
        schema::ALL
            .iter()
            .find(|d| d.name_in(&self.tables) == table)
            .map(|d| d.gsis)
            .unwrap_or(&[])
    }

    fn base_key(item: &Item) -> Item {
        item.iter()
            .filter(|(k, _)| *k == schema::PK || *k == schema::SK)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn put_action(&self, table: &str, item: &Item) -> Action {
        let key = Self::base_key(item);
        let mut known = self.known.lock().expect("meter lock");
        let before = known
            .remove(&Self::known_key(table, &key))
            .unwrap_or_default();
        let now: HashMap<&'static str, String> = self
            .gsis(table)
            .iter()
            .filter_map(|g| item.get(g.pk).map(|v| (g.name, string_of(v))))
            .collect();
        // An entry replaced or removed from an index is written there too.
        let indexes = self
            .gsis(table)
            .iter()
            .filter_map(|g| {
                now.get(g.name)
                    .or_else(|| before.indexes.get(g.name))
                    .map(|k| (g.name, Some(k.clone())))
            })
            .collect();
        let size = item_size(item);
        known.insert(Self::known_key(table, &key), Known { size, indexes: now });
        Action {
            table: table.to_string(),
            key,
            indexes,
            size,
        }
    }

    fn update_action(
        &self,
        table: &str,
        key: &Item,
        expression: &str,
        names: Option<&HashMap<String, String>>,
        values: Option<&Item>,
    ) -> Action {
        let set = set_assignments(expression, names, values);
        let mut known = self.known.lock().expect("meter lock");
        let item = known.entry(Self::known_key(table, key)).or_default();
        let indexes = self
            .gsis(table)
            .iter()
            .map(|g| {
                let now = set
                    .get(g.pk)
                    .map(string_of)
                    .or_else(|| item.indexes.get(g.name).cloned());
                if let Some(k) = &now {
                    item.indexes.insert(g.name, k.clone());
                }
                (g.name, now)
            })
            .collect();
        let values_size: usize = values.map(|v| v.values().map(av_size).sum()).unwrap_or(0);
        // The item's size after the update: at least what it was when last written.
        item.size = item.size.max(item_size(key) + values_size);
        Action {
            table: table.to_string(),
            key: key.clone(),
            indexes,
            size: item.size,
        }
    }

    fn key_action(&self, table: &str, key: &Item, deleted: bool) -> Action {
        let mut known = self.known.lock().expect("meter lock");
        let before = if deleted {
            known.remove(&Self::known_key(table, key))
        } else {
            known.get(&Self::known_key(table, key)).cloned()
        };
        Action {
            table: table.to_string(),
            key: key.clone(),
            indexes: if deleted {
                self.gsis(table)
                    .iter()
                    .map(|g| {
                        (
                            g.name,
                            before.as_ref().and_then(|b| b.indexes.get(g.name).cloned()),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            },
            size: before.map(|b| b.size).unwrap_or(0).max(item_size(key)),
        }
    }

    /// The items of a write request, asking it for its consumed capacity on the way.
    fn actions(&self, input: &mut Input) -> Option<Vec<Action>> {
        if let Some(i) = input.downcast_mut::<PutItemInput>() {
            i.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
            let table = i.table_name.clone().unwrap_or_default();
            return Some(vec![self.put_action(&table, i.item.as_ref()?)]);
        }
        if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
            i.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
            let table = i.table_name.clone().unwrap_or_default();
            return Some(vec![self.update_action(
                &table,
                i.key.as_ref()?,
                i.update_expression.as_deref().unwrap_or(""),
                i.expression_attribute_names.as_ref(),
                i.expression_attribute_values.as_ref(),
            )]);
        }
        if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
            i.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
            let table = i.table_name.clone().unwrap_or_default();
            return Some(vec![self.key_action(&table, i.key.as_ref()?, true)]);
        }
        if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
            i.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
            let actions = i
                .transact_items
                .iter()
                .flatten()
                .filter_map(|t| {
                    if let Some(p) = t.put() {
                        Some(self.put_action(p.table_name(), p.item()))
                    } else if let Some(u) = t.update() {
                        Some(self.update_action(
                            u.table_name(),
                            u.key(),
                            u.update_expression(),
                            u.expression_attribute_names(),
                            u.expression_attribute_values(),
                        ))
                    } else if let Some(d) = t.delete() {
                        Some(self.key_action(d.table_name(), d.key(), true))
                    } else {
                        t.condition_check()
                            .map(|c| self.key_action(c.table_name(), c.key(), false))
                    }
                })
                .collect();
            return Some(actions);
        }
        if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
            i.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
            let mut actions = Vec::new();
            for (table, writes) in i.request_items.iter().flatten() {
                for w in writes {
                    if let Some(p) = w.put_request() {
                        actions.push(self.put_action(table, p.item()));
                    } else if let Some(d) = w.delete_request() {
                        actions.push(self.key_action(table, d.key(), true));
                    }
                }
            }
            return Some(actions);
        }
        None
    }

    fn consumed(output: &Output) -> Option<Vec<ConsumedCapacity>> {
        if let Some(o) = output.downcast_ref::<PutItemOutput>() {
            return Some(o.consumed_capacity().cloned().into_iter().collect());
        }
        if let Some(o) = output.downcast_ref::<UpdateItemOutput>() {
            return Some(o.consumed_capacity().cloned().into_iter().collect());
        }
        if let Some(o) = output.downcast_ref::<DeleteItemOutput>() {
            return Some(o.consumed_capacity().cloned().into_iter().collect());
        }
        if let Some(o) = output.downcast_ref::<TransactWriteItemsOutput>() {
            return Some(o.consumed_capacity().to_vec());
        }
        if let Some(o) = output.downcast_ref::<BatchWriteItemOutput>() {
            return Some(o.consumed_capacity().to_vec());
        }
        None
    }

    /// A transaction's units from its items' sizes: DynamoDB Local reports a transaction's
    /// capacity per table but not summed over its items (ten 1-unit puts report 2 units),
    /// so each item counts 2 units per KB started, on its partition and on each index
    /// partition it is in (a keys-only index: 2 units).
    fn transaction_units(&self, tally: &mut Tally, actions: &[Action]) {
        for a in actions {
            let units = 2.0 * a.size.div_ceil(1024).max(1) as f64;
            let pk = a.key.get(schema::PK).map(string_of).unwrap_or_default();
            tally.units += units;
            tally.add(&a.table, None, pk, units);
            for (index, key) in &a.indexes {
                let keys_only = self
                    .gsis(&a.table)
                    .iter()
                    .any(|g| g.name == *index && g.projection == schema::IndexProjection::KeysOnly);
                let units = if keys_only { 2.0 } else { units };
                tally.units += units;
                match key {
                    Some(k) => tally.add(&a.table, Some(*index), k.clone(), units),
                    None => tally.unresolved.push(Unresolved {
                        table: a.table.clone(),
                        index,
                        key: a.key.clone(),
                        units,
                        estimated: true,
                    }),
                }
            }
        }
    }

    /// Splits each table's consumed units over the request's items of that table.
    fn attribute(tally: &mut Tally, actions: &[Action], consumed: &[ConsumedCapacity]) {
        for cc in consumed {
            let table = cc.table_name().unwrap_or_default();
            let of_table: Vec<&Action> = actions.iter().filter(|a| a.table == table).collect();
            let gsi_units: f64 = cc
                .global_secondary_indexes()
                .map(|m| m.values().filter_map(|c| c.capacity_units()).sum())
                .unwrap_or(0.0);
            let total = cc.capacity_units().unwrap_or(0.0);
            tally.units += total;
            let base_units = cc
                .table()
                .and_then(|c| c.capacity_units())
                .unwrap_or(total - gsi_units);
            let weight: f64 = of_table.iter().map(|a| a.size.max(1) as f64).sum();
            for a in &of_table {
                let share = base_units * a.size.max(1) as f64 / weight.max(1.0);
                let pk = a.key.get(schema::PK).map(string_of).unwrap_or_default();
                tally.add(table, None, pk, share);
            }
            for (index, cap) in cc.global_secondary_indexes().into_iter().flatten() {
                let units = cap.capacity_units().unwrap_or(0.0);
                if units == 0.0 {
                    continue;
                }
                let candidates: Vec<(&Action, &Option<String>)> = of_table
                    .iter()
                    .filter_map(|a| {
                        a.indexes
                            .iter()
                            .find(|(name, _)| name == index)
                            .map(|(_, key)| (*a, key))
                    })
                    .collect();
                if candidates.is_empty() {
                    tally.add(
                        table,
                        Some(index.as_str()),
                        UNKNOWN_INDEX_PARTITION.into(),
                        units,
                    );
                    continue;
                }
                let weight: f64 = candidates.iter().map(|(a, _)| a.size.max(1) as f64).sum();
                for (a, key) in candidates {
                    let share = units * a.size.max(1) as f64 / weight;
                    match key {
                        Some(k) => tally.add(table, Some(index.as_str()), k.clone(), share),
                        None => {
                            let Some(static_name) =
                                a.indexes.iter().find(|(n, _)| n == index).map(|(n, _)| *n)
                            else {
                                continue;
                            };
                            tally.unresolved.push(Unresolved {
                                table: table.to_string(),
                                index: static_name,
                                key: a.key.clone(),
                                units: share,
                                estimated: false,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Resolves the index partitions the requests did not carry: reads the items' index
    /// keys as they are now (with `client`, which should not be metered).
    pub async fn resolve(
        &self,
        tally: &mut Tally,
        client: &aws_sdk_dynamodb::Client,
    ) -> Result<(), aws_sdk_dynamodb::Error> {
        let pending = std::mem::take(&mut tally.unresolved);
        let mut by_table: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        for u in &pending {
            let keys = by_table.entry(u.table.clone()).or_default();
            if !keys.contains(&u.key) {
                keys.push(u.key.clone());
            }
        }
        // (table, pk, sk) -> the item's attributes that are index keys.
        let mut found: HashMap<(String, String, String), Item> = HashMap::new();
        for (table, keys) in by_table {
            let attrs: Vec<&str> = self.gsis(&table).iter().map(|g| g.pk).collect();
            let mut names: HashMap<String, String> = HashMap::new();
            let mut projection = vec!["#pk".to_string(), "#sk".to_string()];
            names.insert("#pk".into(), schema::PK.into());
            names.insert("#sk".into(), schema::SK.into());
            for (i, a) in attrs.iter().enumerate() {
                names.insert(format!("#i{i}"), a.to_string());
                projection.push(format!("#i{i}"));
            }
            for chunk in keys.chunks(100) {
                let mut request = Some(
                    KeysAndAttributes::builder()
                        .set_keys(Some(chunk.to_vec()))
                        .projection_expression(projection.join(", "))
                        .set_expression_attribute_names(Some(names.clone()))
                        .build()
                        .expect("keys and attributes"),
                );
                while let Some(r) = request.take() {
                    let out = client
                        .batch_get_item()
                        .request_items(&table, r)
                        .send()
                        .await?;
                    for item in out
                        .responses()
                        .and_then(|m| m.get(&table))
                        .into_iter()
                        .flatten()
                    {
                        let pk = item.get(schema::PK).map(string_of).unwrap_or_default();
                        let sk = item.get(schema::SK).map(string_of).unwrap_or_default();
                        found.insert((table.clone(), pk, sk), item.clone());
                    }
                    request = out
                        .unprocessed_keys()
                        .and_then(|m| m.get(&table))
                        .filter(|k| !k.keys().is_empty())
                        .cloned();
                }
            }
        }
        for u in pending {
            let pk = u.key.get(schema::PK).map(string_of).unwrap_or_default();
            let sk = u.key.get(schema::SK).map(string_of).unwrap_or_default();
            let attr = self
                .gsis(&u.table)
                .iter()
                .find(|g| g.name == u.index)
                .map(|g| g.pk)
                .unwrap_or_default();
            let item = found.get(&(u.table.clone(), pk, sk));
            if u.estimated && item.is_some_and(|i| !i.contains_key(attr)) {
                // Counted in case the item was indexed; it is not.
                tally.units -= u.units;
                continue;
            }
            let key = item
                .and_then(|item| item.get(attr))
                .map(string_of)
                .unwrap_or_else(|| UNKNOWN_INDEX_PARTITION.to_string());
            tally.add(&u.table, Some(u.index), key, u.units);
        }
        Ok(())
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "WriteUnitsMeter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let transaction = context
            .input()
            .downcast_ref::<TransactWriteItemsInput>()
            .is_some();
        if let Some(actions) = self.actions(context.input_mut()) {
            cfg.interceptor_state().store_put(Pending {
                actions,
                transaction,
            });
        } else if ask_read_capacity(context.input_mut()) {
            cfg.interceptor_state().store_put(PendingRead);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<PendingRead>().is_some() {
            let mut tally = self.tally.lock().expect("meter lock");
            tally.read_requests += 1;
            if let Some(Ok(output)) = context.output_or_error() {
                tally.read_units += read_units(output);
            }
            return Ok(());
        }
        let Some(Pending {
            actions,
            transaction,
        }) = cfg.load::<Pending>().cloned()
        else {
            return Ok(());
        };
        let mut tally = self.tally.lock().expect("meter lock");
        tally.requests += 1;
        match context.output_or_error() {
            Some(Ok(_)) if transaction => self.transaction_units(&mut tally, &actions),
            Some(Ok(output)) => {
                if let Some(consumed) = Self::consumed(output) {
                    Self::attribute(&mut tally, &actions, &consumed);
                }
            }
            Some(Err(_)) => {
                // Charged by DynamoDB, reported without capacity: the items' sizes on their
                // base partitions (1 unit per KB started).
                tally.failed += 1;
                for a in &actions {
                    let units = a.size.div_ceil(1024).max(1) as f64;
                    let pk = a.key.get(schema::PK).map(string_of).unwrap_or_default();
                    tally.units += units;
                    tally.add(&a.table, None, pk, units);
                }
            }
            None => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_clauses_resolve_names_and_values() {
        let names = HashMap::from([("#a".to_string(), "gsi1pk".to_string())]);
        let values = HashMap::from([
            (":a".to_string(), AttributeValue::S("T#X".into())),
            (":b".to_string(), AttributeValue::N("1".into())),
        ]);
        let set = set_assignments(
            "SET #a = :a, c = if_not_exists(c, :b) ADD n :b REMOVE z",
            Some(&names),
            Some(&values),
        );
        assert_eq!(set.get("gsi1pk"), Some(&AttributeValue::S("T#X".into())));
        assert_eq!(set.len(), 1);
    }
}
