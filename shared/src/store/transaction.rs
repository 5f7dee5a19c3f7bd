//! The writes of one TransactWriteItems, each condition that a caller asks
//! about carrying a name (`"sku"`, `"stock:<productId>"`), so a cancellation
//! maps to the condition that failed by name, never by position: adding a
//! write to a transaction cannot make another check silently mean something
//! else.
//!
//! ```ignore
//! let mut tx = Transaction::new();
//! tx.push(store.transact_put(&product, Some(NEW_ITEM))?);
//! tx.push(store.transact_put(&marker, Some(NEW_ITEM))?).named("sku");
//! match store.transact(tx).await {
//!     Err(err) if err.condition_failed("sku") => /* 409 on `sku` */,
//!     ...
//! }
//! ```

use aws_sdk_dynamodb::types::TransactWriteItem;

/// The writes of one transaction, in request order, with their names.
#[derive(Debug, Default, Clone)]
pub struct Transaction {
    writes: Vec<TransactWriteItem>,
    names: Vec<Option<String>>,
}

/// A write just pushed; [`Named::named`] names its condition.
pub struct Named<'a>(&'a mut Option<String>);

impl Named<'_> {
    /// Names the write's condition, so [`super::StoreError::condition_failed`]
    /// can ask about it. Writes whose failures mean the same thing may share a
    /// name (every version guard of an order's transition is `"version"`).
    pub fn named(self, name: impl Into<String>) {
        *self.0 = Some(name.into());
    }
}

impl Transaction {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write; name it if a caller will ask whether its condition failed.
    pub fn push(&mut self, write: TransactWriteItem) -> Named<'_> {
        self.writes.push(write);
        self.names.push(None);
        Named(self.names.last_mut().expect("just pushed"))
    }

    /// Adds writes whose conditions nobody asks about by name.
    pub fn extend(&mut self, writes: impl IntoIterator<Item = TransactWriteItem>) {
        for write in writes {
            self.push(write);
        }
    }

    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub(super) fn into_parts(self) -> (Vec<TransactWriteItem>, Vec<Option<String>>) {
        (self.writes, self.names)
    }
}

/// Writes that no caller asks about by name (a single conditional write, or
/// writes whose failure means one thing whichever failed).
impl From<Vec<TransactWriteItem>> for Transaction {
    fn from(writes: Vec<TransactWriteItem>) -> Self {
        let mut tx = Transaction::new();
        tx.extend(writes);
        tx
    }
}
