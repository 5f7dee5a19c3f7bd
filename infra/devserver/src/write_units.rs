//! Write request units as DynamoDB's pricing counts them, for the bench's
//! meter (infra/devserver/benches/api.rs), beside what DynamoDB Local
//! reports.
//!
//! Local prices a single-item write as DynamoDB does (its item's started
//! KB, and the same again in each index the item is in), but a
//! TransactWriteItems as one lump per table and per index: the sizes of
//! all its items added up, rounded up once, doubled. DynamoDB prices each
//! item on its own (AWS's developer guide, "Capacity management for
//! transactions" and "Item sizes and formats"), so the lump is below a bill
//! whenever a transaction has several small items, and above it where
//! Local doubles index writes. The rules applied here:
//!
//! - an item's size is the sum over its attributes of the name's UTF-8
//!   length and the value's size: a string its UTF-8 length, a number one
//!   byte per two significant digits plus one, binary its length, a
//!   boolean or null one byte, a list or map 3 bytes plus, per element, one
//!   byte and the element (with its name in a map), a set its elements;
//! - each item in a transaction costs 2 units per started KB in the table
//!   (DynamoDB prepares and commits every item), with at least 1 KB; a Put
//!   or Update is sized on the larger of the item before and after, a
//!   Delete or ConditionCheck on the item as it was;
//! - the transaction's changes reach the global secondary indexes after it
//!   completes, as ordinary index writes: per index, a put of the new entry
//!   when the item enters the index or its projected attributes change, a
//!   delete of the old one when it leaves, both when its index key moves,
//!   each 1 unit per started KB of the entry (every index of the table
//!   projects ALL, so an entry is the whole item).
//!
//! An Update or Delete names only a key: the item as it was is the last
//! image this ledger saw for that key (from a read's answer or an earlier
//! write), else unknown and priced at the 1 KB minimum, with no index
//! entries. The bench reads every item its checkouts update or delete
//! within the same request (the cart, the stock items) except the buyer's
//! unpaid-order count, a few dozen bytes that the minimum prices right.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

/// Attributes of one item, as the SDK holds them.
pub type Item = HashMap<String, AttributeValue>;

/// The size of an item as DynamoDB counts it for capacity, in bytes.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(blob) => blob.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(entries) => {
            3 + entries
                .iter()
                .map(|(name, v)| 1 + name.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// One byte per two significant digits (leading and trailing zeros, the
/// sign and the point left out), plus one.
fn number_size(number: &str) -> usize {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    significant.len().div_ceil(2) + 1
}

/// Started KB, at least one.
fn kilobytes(size: usize) -> u64 {
    (size.div_ceil(1024)).max(1) as u64
}

/// What the ledger knows of an item: its size and, per index of the
/// table, its key in that index (None: not in it).
#[derive(Debug, Clone, PartialEq)]
struct Image {
    size: usize,
    entries: Vec<Option<(String, String)>>,
}

/// One transaction's units: in the table (already doubled) and in the
/// indexes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Units {
    pub table: u64,
    pub indexes: u64,
}

impl Units {
    pub fn total(&self) -> u64 {
        self.table + self.indexes
    }
}

/// The last image seen of each item, and the table's key and index key
/// attributes to read them with.
#[derive(Debug)]
pub struct Ledger {
    key: (&'static str, &'static str),
    /// (partition, sort) attribute of each global secondary index.
    indexes: Vec<(&'static str, &'static str)>,
    images: Mutex<HashMap<(String, String), Image>>,
}

/// What a transaction will change in the ledger once it succeeds.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    pub units: Units,
    changes: Vec<((String, String), Option<Image>)>,
}

impl Ledger {
    /// A ledger for the table `resources::TABLE` creates.
    pub fn for_table() -> Self {
        let table = &crate::resources::TABLE;
        Self::new(
            table.key,
            table
                .global_indexes
                .iter()
                .map(|(_, partition, sort, _)| (*partition, *sort))
                .collect(),
        )
    }

    pub fn new(
        key: (&'static str, &'static str),
        indexes: Vec<(&'static str, &'static str)>,
    ) -> Self {
        Self {
            key,
            indexes,
            images: Mutex::new(HashMap::new()),
        }
    }

    fn text(item: &Item, name: &str) -> Option<String> {
        match item.get(name)? {
            AttributeValue::S(text) => Some(text.clone()),
            AttributeValue::N(number) => Some(number.clone()),
            other => Some(format!("{other:?}")),
        }
    }

    fn key_of(&self, item: &Item) -> Option<(String, String)> {
        Some((
            Self::text(item, self.key.0)?,
            Self::text(item, self.key.1).unwrap_or_default(),
        ))
    }

    fn image_of(&self, item: &Item) -> Image {
        let entries = self
            .indexes
            .iter()
            .map(|(partition, sort)| Some((Self::text(item, partition)?, Self::text(item, sort)?)))
            .collect();
        Image {
            size: item_size(item),
            entries,
        }
    }

    /// Remembers items a read answered with (or a write stored).
    pub fn saw<'a>(&self, items: impl IntoIterator<Item = &'a Item>) {
        let mut images = self.images.lock().expect("ledger lock");
        for item in items {
            if let Some(key) = self.key_of(item) {
                images.insert(key, self.image_of(item));
            }
        }
    }

    /// The units a transaction of these writes costs, and what it changes
    /// in the ledger (`apply` it once the transaction succeeded).
    pub fn price(&self, writes: &[TransactWriteItem]) -> Pending {
        let images = self.images.lock().expect("ledger lock");
        let mut pending = Pending::default();
        for write in writes {
            let (key, before, after) = if let Some(put) = write.put() {
                let Some(key) = self.key_of(put.item()) else {
                    continue;
                };
                let after = self.image_of(put.item());
                (key.clone(), images.get(&key).cloned(), Some(after))
            } else {
                let key = write
                    .update()
                    .map(|u| u.key())
                    .or_else(|| write.delete().map(|d| d.key()))
                    .or_else(|| write.condition_check().map(|c| c.key()));
                let Some(key) = key.and_then(|k| self.key_of(k)) else {
                    continue;
                };
                let before = images.get(&key).cloned();
                // An update's new image is not in the request: priced (and
                // remembered) as the item was; a delete leaves nothing; a
                // condition check changes nothing.
                let after = if write.update().is_some() {
                    Some(before.clone().unwrap_or(Image {
                        size: 0,
                        entries: vec![None; self.indexes.len()],
                    }))
                } else if write.delete().is_some() {
                    None
                } else {
                    before.clone()
                };
                (key, before, after)
            };
            let size = |image: &Option<Image>| image.as_ref().map_or(0, |i| i.size);
            pending.units.table += 2 * kilobytes(size(&before).max(size(&after)));
            if write.condition_check().is_none() {
                pending.units.indexes += self.index_writes(before.as_ref(), after.as_ref());
                pending.changes.push((key, after));
            }
        }
        pending
    }

    /// Index units of one item's change from `before` to `after`.
    fn index_writes(&self, before: Option<&Image>, after: Option<&Image>) -> u64 {
        (0..self.indexes.len())
            .map(|index| {
                let old = before.and_then(|b| b.entries[index].as_ref().map(|k| (k, b.size)));
                let new = after.and_then(|a| a.entries[index].as_ref().map(|k| (k, a.size)));
                match (old, new) {
                    (None, None) => 0,
                    (None, Some((_, size))) | (Some((_, size)), None) => kilobytes(size),
                    (Some((old_key, old_size)), Some((new_key, new_size)))
                        if old_key != new_key =>
                    {
                        kilobytes(old_size) + kilobytes(new_size)
                    }
                    (Some(_), Some((_, new_size))) => kilobytes(new_size),
                }
            })
            .sum()
    }

    /// Records what a successful transaction changed.
    pub fn apply(&self, pending: Pending) {
        let mut images = self.images.lock().expect("ledger lock");
        for (key, after) in pending.changes {
            match after {
                Some(image) => images.insert(key, image),
                None => images.remove(&key),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, Update};

    use super::*;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn item(pk: &str, filler: usize, index_keys: &[(&str, &str)]) -> Item {
        let mut item = Item::from([
            ("PK".to_owned(), s(pk)),
            ("SK".to_owned(), s("X")),
            ("f".to_owned(), s(&"x".repeat(filler))),
        ]);
        for (name, value) in index_keys {
            item.insert((*name).to_owned(), s(value));
        }
        item
    }

    /// A transaction's (table, index) units.
    fn priced(ledger: &Ledger, writes: &[TransactWriteItem]) -> (u64, u64) {
        let units = ledger.price(writes).units;
        (units.table, units.indexes)
    }

    fn ledger() -> Ledger {
        Ledger::new(("PK", "SK"), vec![("G1PK", "G1SK"), ("G2PK", "G2SK")])
    }

    fn put(item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name("t")
            .set_item(Some(item))
            .build()
            .unwrap();
        TransactWriteItem::builder().put(put).build()
    }

    fn key(pk: &str) -> Item {
        Item::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s("X"))])
    }

    fn update(pk: &str) -> TransactWriteItem {
        let update = Update::builder()
            .table_name("t")
            .set_key(Some(key(pk)))
            .update_expression("SET a = :a")
            .build()
            .unwrap();
        TransactWriteItem::builder().update(update).build()
    }

    fn delete(pk: &str) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name("t")
            .set_key(Some(key(pk)))
            .build()
            .unwrap();
        TransactWriteItem::builder().delete(delete).build()
    }

    fn check(pk: &str) -> TransactWriteItem {
        let check = ConditionCheck::builder()
            .table_name("t")
            .set_key(Some(key(pk)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .unwrap();
        TransactWriteItem::builder().condition_check(check).build()
    }

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        // Names count: "PK" + "o1", "SK" + "X", "f" + 10.
        assert_eq!(item_size(&item("o1", 10, &[])), 4 + 3 + 11);
        assert_eq!(number_size("12345"), 4);
        assert_eq!(number_size("-0.0012300"), 3);
        assert_eq!(number_size("100"), 2);
        let nested = Item::from([(
            "m".to_owned(),
            AttributeValue::M(HashMap::from([
                (
                    "ab".to_owned(),
                    AttributeValue::L(vec![s("xyz"), AttributeValue::Bool(true)]),
                ),
                ("n".to_owned(), AttributeValue::Null(true)),
            ])),
        )]);
        // m: 3 + (1 + "ab" + list(3 + 1+3 + 1+1)) + (1 + "n" + 1)
        assert_eq!(item_size(&nested), 1 + 3 + (1 + 2 + 9) + (1 + 1 + 1));
    }

    #[test]
    fn each_item_is_priced_on_its_own_and_doubled_in_the_table_only() {
        let ledger = ledger();
        // 1.3 KB in two indexes, and three small items in none.
        let pending = ledger.price(&[
            put(item(
                "order",
                1300,
                &[("G1PK", "a"), ("G1SK", "1"), ("G2PK", "b"), ("G2SK", "1")],
            )),
            put(item("p1", 60, &[])),
            put(item("p2", 60, &[])),
            put(item("p3", 60, &[])),
        ]);
        assert_eq!(
            (pending.units.table, pending.units.indexes),
            (2 * 2 + 3 * 2, 2 + 2)
        );
        assert_eq!(pending.units.total(), 14);
    }

    #[test]
    fn an_index_key_that_moves_costs_the_old_entry_and_the_new() {
        let ledger = ledger();
        let first = item(
            "o",
            200,
            &[
                ("G1PK", "buyer"),
                ("G1SK", "1"),
                ("G2PK", "pending"),
                ("G2SK", "1"),
            ],
        );
        ledger.apply(ledger.price(&[put(first)]));
        let paid = item(
            "o",
            200,
            &[
                ("G1PK", "buyer"),
                ("G1SK", "1"),
                ("G2PK", "paid"),
                ("G2SK", "1"),
            ],
        );
        // G1: same key, attributes rewritten (1); G2: delete + put (2).
        assert_eq!(priced(&ledger, &[put(paid)]), (2, 3));
        let gone = item("o", 200, &[("G1PK", "buyer"), ("G1SK", "1")]);
        ledger.apply(ledger.price(&[put(gone.clone())]));
        assert_eq!(priced(&ledger, &[put(gone)]), (2, 1));
    }

    #[test]
    fn updates_deletes_and_checks_are_priced_on_the_item_last_seen() {
        let ledger = ledger();
        ledger.saw([
            &item("cart", 2500, &[]),
            &item("seen", 100, &[("G1PK", "a"), ("G1SK", "1")]),
        ]);
        // 2.5 KB cart deleted: 3 KB, doubled. Never seen: the 1 KB minimum.
        assert_eq!(priced(&ledger, &[delete("cart")]), (6, 0));
        assert_eq!(priced(&ledger, &[update("unseen")]), (2, 0));
        // An update of an indexed item rewrites its entry; a delete removes it.
        assert_eq!(priced(&ledger, &[update("seen")]), (2, 1));
        assert_eq!(priced(&ledger, &[delete("seen")]), (2, 1));
        assert_eq!(priced(&ledger, &[check("cart")]), (6, 0));
        // Applied, the delete forgets the cart: a later delete is unknown.
        ledger.apply(ledger.price(&[delete("cart")]));
        assert_eq!(priced(&ledger, &[delete("cart")]), (2, 0));
    }

    #[test]
    fn the_ledger_reads_the_tables_own_index_keys() {
        let ledger = Ledger::for_table();
        let order = item(
            "o",
            100,
            &[
                ("GSI1PK", "a"),
                ("GSI1SK", "1"),
                ("GSI4PK", "e"),
                ("GSI4SK", "1"),
            ],
        );
        assert_eq!(priced(&ledger, &[put(order)]), (2, 2));
    }
}
