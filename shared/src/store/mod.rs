//! The single-table access layer.
//!
//! One table with generic keys (`PK`, `SK`, `GSI1PK`, `GSI1SK`); items are
//! plain serde structs converted with serde_dynamo. This layer knows the
//! table's shape and DynamoDB's failure modes; it knows no entity. Contexts
//! build their keys with typed prefixes (`USER#<id>`) and decide what a failed
//! condition means for them.

mod cursor;
mod transaction;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, ReturnValue, Update as UpdateOp,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use cursor::{InvalidCursor, decode_cursor, encode_cursor};
pub use transaction::{Named, Transaction};

pub use aws_sdk_dynamodb::types::AttributeValue as Value;
pub use aws_sdk_dynamodb::types::TransactWriteItem;

pub type Item = HashMap<String, AttributeValue>;

/// Attribute names of the table's keys and indexes.
pub mod attr {
    pub const PK: &str = "PK";
    pub const SK: &str = "SK";
    pub const GSI1PK: &str = "GSI1PK";
    pub const GSI1SK: &str = "GSI1SK";
    pub const GSI2PK: &str = "GSI2PK";
    pub const GSI2SK: &str = "GSI2SK";
    pub const GSI3PK: &str = "GSI3PK";
    pub const GSI3SK: &str = "GSI3SK";
    pub const GSI4PK: &str = "GSI4PK";
    pub const GSI4SK: &str = "GSI4SK";
    pub const TYPE: &str = "type";
    pub const TTL: &str = "ttl";
    pub const VERSION: &str = "version";
}

/// The table's indexes, with the attributes a page cursor of each must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
}

impl Index {
    fn name(self) -> Option<&'static str> {
        match self {
            Index::Table => None,
            Index::Gsi1 => Some("GSI1"),
            Index::Gsi2 => Some("GSI2"),
            Index::Gsi3 => Some("GSI3"),
            Index::Gsi4 => Some("GSI4"),
        }
    }

    fn key_attrs(self) -> (&'static str, &'static str) {
        match self {
            Index::Table => (attr::PK, attr::SK),
            Index::Gsi1 => (attr::GSI1PK, attr::GSI1SK),
            Index::Gsi2 => (attr::GSI2PK, attr::GSI2SK),
            Index::Gsi3 => (attr::GSI3PK, attr::GSI3SK),
            Index::Gsi4 => (attr::GSI4PK, attr::GSI4SK),
        }
    }

    /// LastEvaluatedKey of a query holds the table's key and the index's key.
    fn cursor_attrs(self) -> &'static [&'static str] {
        match self {
            Index::Table => &[attr::PK, attr::SK],
            Index::Gsi1 => &[attr::PK, attr::SK, attr::GSI1PK, attr::GSI1SK],
            Index::Gsi2 => &[attr::PK, attr::SK, attr::GSI2PK, attr::GSI2SK],
            Index::Gsi3 => &[attr::PK, attr::SK, attr::GSI3PK, attr::GSI3SK],
            Index::Gsi4 => &[attr::PK, attr::SK, attr::GSI4PK, attr::GSI4SK],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition expression of a single write was false.
    #[error("a write condition failed")]
    ConditionFailed,
    /// A transaction was cancelled; one reason per write, in request order,
    /// with the write's name where it has one.
    #[error("the transaction was cancelled: {0:?}")]
    TransactionCanceled(Vec<CancellationReason>),
    /// DynamoDB did not answer, or asked us to slow down: worth a retry.
    #[error("DynamoDB is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// An item in the table does not have the shape the code expects.
    #[error("an item could not be read")]
    Corrupt(#[source] anyhow::Error),
    #[error("DynamoDB request failed")]
    Other(#[source] anyhow::Error),
}

impl StoreError {
    /// Names the DynamoDB operation in the error's chain, so the log line
    /// of a 503 or 500 says which call failed (`DynamoDB TransactWriteItems:
    /// request has timed out`).
    fn during(self, operation: &'static str) -> Self {
        let label = |source: anyhow::Error| source.context(format!("DynamoDB {operation}"));
        match self {
            StoreError::Unavailable(source) => StoreError::Unavailable(label(source)),
            StoreError::Corrupt(source) => StoreError::Corrupt(label(source)),
            StoreError::Other(source) => StoreError::Other(label(source)),
            other => other,
        }
    }

    /// True if the transaction was cancelled because the condition named
    /// `name` failed.
    pub fn condition_failed(&self, name: &str) -> bool {
        self.failed_conditions().any(|failed| failed == name)
    }

    /// The names of the conditions that failed (none for a single write's
    /// [`StoreError::ConditionFailed`] or for other errors).
    pub fn failed_conditions(&self) -> impl Iterator<Item = &str> {
        let reasons = match self {
            StoreError::TransactionCanceled(reasons) => reasons.as_slice(),
            _ => &[],
        };
        reasons
            .iter()
            .filter(|r| r.is_condition_failed())
            .filter_map(|r| r.name.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancellationReason {
    pub index: usize,
    /// The name the write was given ([`Transaction::push`]`.named(..)`).
    pub name: Option<String>,
    /// DynamoDB's code: `ConditionalCheckFailed`, `TransactionConflict`,
    /// `ThrottlingError`, ... (`None` for items that were fine).
    pub code: String,
}

impl CancellationReason {
    pub fn is_condition_failed(&self) -> bool {
        self.code == "ConditionalCheckFailed"
    }

    pub fn is_throttled(&self) -> bool {
        matches!(
            self.code.as_str(),
            "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded"
        )
    }
}

/// Tries of one transaction that another transaction's hold on an item
/// cancelled (`TransactionConflict` without a failed condition).
const TRANSACTION_CONFLICT_ATTEMPTS: u32 = 4;

/// True when every reason that is not `None` is a `TransactionConflict`.
fn only_conflicts(reasons: &[CancellationReason]) -> bool {
    let mut conflicts = reasons.iter().filter(|r| r.code != "None").peekable();
    conflicts.peek().is_some() && conflicts.all(|r| r.code == "TransactionConflict")
}

/// A few milliseconds of jitter, so retried transactions spread out.
fn rand_jitter_ms() -> u64 {
    u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            % 20,
    )
}

const RETRYABLE_SERVICE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

/// Sorts an SDK failure into what the API can say about it: unreachable or
/// throttled is a 503, a failed condition is the caller's to interpret,
/// anything else is a bug or a misconfiguration (500).
pub fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(err.into())
        }
        SdkError::ServiceError(service) => match service.err().code() {
            Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
            Some(code) if RETRYABLE_SERVICE_CODES.contains(&code) => {
                StoreError::Unavailable(err.into())
            }
            _ => StoreError::Other(err.into()),
        },
        _ => StoreError::Other(err.into()),
    }
}

/// One DynamoDB call: stopped at the request's deadline
/// ([`crate::deadline`]), its failure sorted by [`classify`] and labelled
/// with the operation.
async fn call<T, E, R>(
    operation: &'static str,
    request: impl std::future::Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    // Boxed: the SDK's request futures are large, and every store method
    // and layer above would otherwise carry (and in debug builds, copy) one.
    match crate::deadline::bounded(Box::pin(request)).await {
        Ok(answer) => answer.map_err(|err| classify(err).during(operation)),
        Err(left) => Err(past_deadline(operation, left)),
    }
}

fn past_deadline(operation: &'static str, left: std::time::Duration) -> StoreError {
    StoreError::Unavailable(if left.is_zero() {
        anyhow::anyhow!("DynamoDB {operation} was not started: the request's deadline had passed")
    } else {
        anyhow::anyhow!(
            "DynamoDB {operation} did not answer before the request's deadline ({} ms left when it started)",
            left.as_millis()
        )
    })
}

pub fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Other(anyhow::Error::new(e).context("encoding an item")))
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item)
        .map_err(|e| StoreError::Corrupt(anyhow::Error::new(e).context("decoding an item")))
}

/// Any serializable value as an attribute value (for update expressions).
pub fn to_value<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::Other(anyhow::Error::new(e).context("encoding a value")))
}

/// An UpdateItem on one item: an update expression, an optional condition,
/// and the names and values both use.
#[derive(Debug, Clone)]
pub struct Update {
    pk: String,
    sk: String,
    expression: String,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: Item,
}

impl Update {
    pub fn new(
        pk: impl Into<String>,
        sk: impl Into<String>,
        expression: impl Into<String>,
    ) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
            expression: expression.into(),
            condition: None,
            names: HashMap::new(),
            values: Item::new(),
        }
    }

    /// The write happens only if `condition` holds (else `ConditionFailed`).
    pub fn condition(mut self, condition: impl Into<String>) -> Self {
        self.condition = Some(condition.into());
        self
    }

    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    fn key(&self) -> Item {
        key(&self.pk, &self.sk)
    }
}

/// ExpressionAttributeValues from placeholder/value pairs; none if empty
/// (DynamoDB refuses an empty map).
fn expression_values(values: &[(&str, AttributeValue)]) -> Option<Item> {
    (!values.is_empty()).then(|| {
        values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    })
}

fn key(pk: &str, sk: &str) -> Item {
    Item::from([
        (attr::PK.to_owned(), AttributeValue::S(pk.to_owned())),
        (attr::SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// `AttributeValue::S`, for update values.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// `AttributeValue::N`, for update values.
pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// One page of a query.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A query over one partition of the table or an index.
#[derive(Debug, Clone)]
pub struct PartitionQuery {
    pub index: Index,
    pub partition: String,
    /// Only sort keys starting with this prefix.
    pub sort_prefix: Option<String>,
    /// Ascending sort key order if true; newest first (descending) if false.
    pub ascending: bool,
}

/// What narrows a [`PartitionQuery`] beyond its partition and prefix.
///
/// A filter is applied by DynamoDB after the key condition and the page
/// limit, so a filtered page may hold fewer items than asked for (and still
/// have a next cursor); it never costs a second call.
#[derive(Debug, Clone, Default)]
pub struct QueryRefinement {
    /// Only sort keys from `.0` to `.1`, both inclusive.
    pub sort_between: Option<(String, String)>,
    /// A FilterExpression; its placeholders go in `names` and `values`
    /// (`#pk`, `#sk`, `:pk`, `:prefix`, `:lo` and `:hi` are taken).
    pub filter: Option<String>,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
    /// A strongly consistent read (table only): for a write that decides
    /// from the partition as it is now.
    pub consistent_read: bool,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: Arc<str>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn get_request(
        &self,
        pk: &str,
        sk: &str,
    ) -> aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder {
        self.client
            .get_item()
            .table_name(&*self.table)
            .key(attr::PK, AttributeValue::S(pk.to_owned()))
            .key(attr::SK, AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
    }

    /// A strongly consistent read of one item, as DynamoDB returns it.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn get_raw(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = call("GetItem", self.get_request(pk, sk).send()).await?;
        Ok(output.item)
    }

    /// A strongly consistent read of one item.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn get<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        let output = call("GetItem", self.get_request(pk, sk).send()).await?;
        output.item.map(from_item).transpose()
    }

    /// Puts one item; `condition` (e.g. `attribute_not_exists(PK)`) turns a
    /// clash into `StoreError::ConditionFailed`.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn put<T: Serialize>(
        &self,
        value: &T,
        condition: Option<&str>,
    ) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(to_item(value)?))
            .set_condition_expression(condition.map(str::to_owned));
        call("PutItem", request.send()).await?;
        Ok(())
    }

    /// Deletes one item by key; deleting an absent item is no error.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let request = self
            .client
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(pk, sk)));
        call("DeleteItem", request.send()).await?;
        Ok(())
    }

    /// A Put for a transaction, with an optional condition.
    pub fn transact_put<T: Serialize>(
        &self,
        value: &T,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&*self.table)
            .set_item(Some(to_item(value)?))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A Put for a transaction with a condition that names values
    /// (`userId = :me`).
    pub fn transact_put_with<T: Serialize>(
        &self,
        value: &T,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&*self.table)
            .set_item(Some(to_item(value)?))
            .condition_expression(condition)
            .set_expression_attribute_values(expression_values(values))
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A Put for a transaction that replaces the item only while its
    /// `version` is still `expected` (optimistic locking).
    pub fn transact_put_if_version<T: Serialize>(
        &self,
        value: &T,
        expected: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&*self.table)
            .set_item(Some(to_item(value)?))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", attr::VERSION)
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A ConditionCheck for a transaction: the item `pk`/`sk` must exist when
    /// the transaction commits (e.g. the category a product names).
    pub fn transact_require_exists(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        self.transact_check(pk, sk, "attribute_exists(PK)", &[], &[])
    }

    /// A ConditionCheck for a transaction: `condition` must hold on the item
    /// `pk`/`sk` when the transaction commits; nothing is written to it.
    pub fn transact_check(
        &self,
        pk: &str,
        sk: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, StoreError> {
        let names: HashMap<String, String> = names
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let values: Item = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let check = ConditionCheck::builder()
            .table_name(&*self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// An Update for a transaction.
    pub fn transact_update(&self, update: Update) -> Result<TransactWriteItem, StoreError> {
        let op = UpdateOp::builder()
            .table_name(&*self.table)
            .set_key(Some(update.key()))
            .update_expression(update.expression)
            .set_condition_expression(update.condition)
            .set_expression_attribute_names((!update.names.is_empty()).then_some(update.names))
            .set_expression_attribute_values((!update.values.is_empty()).then_some(update.values))
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        Ok(TransactWriteItem::builder().update(op).build())
    }

    /// A Delete for a transaction, with an optional condition and the
    /// values it uses.
    pub fn transact_delete(
        &self,
        pk: &str,
        sk: &str,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, StoreError> {
        let op = Delete::builder()
            .table_name(&*self.table)
            .set_key(Some(key(pk, sk)))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values(expression_values(values))
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        Ok(TransactWriteItem::builder().delete(op).build())
    }

    /// Updates one item and returns it as it is after the update.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn update<T: DeserializeOwned>(&self, update: Update) -> Result<T, StoreError> {
        let request = self
            .update_request(update)
            .return_values(ReturnValue::AllNew);
        let output = call("UpdateItem", request.send()).await?;
        from_item(output.attributes.unwrap_or_default())
    }

    /// Updates one item; nothing is read back.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn apply_update(&self, update: Update) -> Result<(), StoreError> {
        call("UpdateItem", self.update_request(update).send()).await?;
        Ok(())
    }

    fn update_request(
        &self,
        update: Update,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(update.key()))
            .update_expression(update.expression)
            .set_condition_expression(update.condition)
            .set_expression_attribute_names((!update.names.is_empty()).then_some(update.names))
            .set_expression_attribute_values((!update.values.is_empty()).then_some(update.values))
    }

    /// Strongly consistent reads of the items with these keys, one
    /// BatchGetItem per 100 keys; items that do not exist are left out, the
    /// order is not kept.
    #[tracing::instrument(skip_all, fields(keys = keys.len()), err(level = "debug"))]
    pub async fn batch_get<T: DeserializeOwned>(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<T>, StoreError> {
        self.batch_get_raw(keys)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// [`Store::batch_get`] as DynamoDB returns the items (e.g. items of
    /// several kinds read together).
    #[tracing::instrument(skip_all, fields(keys = keys.len()), err(level = "debug"))]
    pub async fn batch_get_raw(&self, keys: &[(String, String)]) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending: Vec<Item> = chunk.iter().map(|(pk, sk)| key(pk, sk)).collect();
            // Unprocessed keys come back under load; a few rounds settle them.
            for _ in 0..5 {
                if pending.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Other(e.into()))?;
                let request = self
                    .client
                    .batch_get_item()
                    .request_items(&*self.table, request);
                let output = call("BatchGetItem", request.send()).await?;
                if let Some(mut responses) = output.responses
                    && let Some(items) = responses.remove(&*self.table)
                {
                    found.extend(items);
                }
                if let Some(mut unprocessed) = output.unprocessed_keys
                    && let Some(rest) = unprocessed.remove(&*self.table)
                {
                    pending = rest.keys;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(anyhow::anyhow!(
                    "{} keys stayed unprocessed",
                    pending.len()
                )));
            }
        }
        Ok(found)
    }

    /// Writes all items or none. A cancellation keeps DynamoDB's reasons with
    /// the writes' names, so the caller can say which condition failed.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn transact(&self, tx: impl Into<Transaction>) -> Result<(), StoreError> {
        let (items, names) = tx.into().into_parts();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()));
            let err = match crate::deadline::bounded(Box::pin(request.send())).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(err)) => err,
                Err(left) => return Err(past_deadline("TransactWriteItems", left)),
            };
            if let SdkError::ServiceError(service) = &err
                && let TransactWriteItemsError::TransactionCanceledException(cancelled) =
                    service.err()
            {
                let reasons: Vec<CancellationReason> = cancelled
                    .cancellation_reasons()
                    .iter()
                    .enumerate()
                    .map(|(index, reason)| CancellationReason {
                        index,
                        name: names.get(index).cloned().flatten(),
                        code: reason.code().unwrap_or("None").to_owned(),
                    })
                    .collect();
                // Another transaction held one of the items at that moment:
                // nothing was written and no condition failed, so the same
                // writes are tried again shortly, a few times.
                if attempt < TRANSACTION_CONFLICT_ATTEMPTS && only_conflicts(&reasons) {
                    tracing::debug!(attempt, "transaction conflict; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(
                        20 * attempt as u64 + rand_jitter_ms(),
                    ))
                    .await;
                    continue;
                }
                return Err(StoreError::TransactionCanceled(reasons));
            }
            return Err(classify(err).during("TransactWriteItems"));
        }
    }

    /// One page of a partition, newest or oldest first. `cursor` must come
    /// from a previous page of the same query: a cursor for another partition
    /// or index is refused, never followed.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn query_page<T: DeserializeOwned>(
        &self,
        query: &PartitionQuery,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<T>, QueryError> {
        let request = self.query_request(query, &QueryRefinement::default(), limit, cursor)?;
        page_of(call("Query", request.send()).await?)
    }

    /// `query_page` narrowed by a sort key range and/or a filter: still one
    /// Query call. `sort_prefix` and `sort_between` exclude each other.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn query_page_where<T: DeserializeOwned>(
        &self,
        query: &PartitionQuery,
        refinement: &QueryRefinement,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<T>, QueryError> {
        let request = self.query_request(query, refinement, limit, cursor)?;
        page_of(call("Query", request.send()).await?)
    }

    fn query_request(
        &self,
        query: &PartitionQuery,
        refinement: &QueryRefinement,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder, QueryError> {
        let (pk_attr, sk_attr) = query.index.key_attrs();
        let start_key = cursor
            .map(|raw| decode_cursor(raw, query.index.cursor_attrs(), (pk_attr, &query.partition)))
            .transpose()?;
        let mut request = self
            .client
            .query()
            .table_name(&*self.table)
            .set_index_name(query.index.name().map(str::to_owned))
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", AttributeValue::S(query.partition.clone()))
            .scan_index_forward(query.ascending)
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start_key);
        let mut key_condition = "#pk = :pk".to_owned();
        if let Some(prefix) = &query.sort_prefix {
            key_condition.push_str(" AND begins_with(#sk, :prefix)");
            request = request
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.clone()));
        }
        if let Some((lo, hi)) = &refinement.sort_between {
            key_condition.push_str(" AND #sk BETWEEN :lo AND :hi");
            request = request
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":lo", AttributeValue::S(lo.clone()))
                .expression_attribute_values(":hi", AttributeValue::S(hi.clone()));
        }
        request = request
            .key_condition_expression(key_condition)
            .set_filter_expression(refinement.filter.clone())
            .consistent_read(refinement.consistent_read);
        for (name, attribute) in &refinement.names {
            request = request.expression_attribute_names(name, attribute);
        }
        for (name, value) in &refinement.values {
            request = request.expression_attribute_values(name, value.clone());
        }
        Ok(request)
    }

    /// Every item of one table partition (e.g. an order and its
    /// fulfilments), strongly consistent, as DynamoDB returns them. For small
    /// partitions: it follows at most 10 pages.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn partition_items(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        for _ in 0..10 {
            let request = self
                .client
                .query()
                .table_name(&*self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            let output = call("Query", request.send()).await?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
        Err(StoreError::Other(anyhow::anyhow!(
            "partition {pk} has more than 10 pages"
        )))
    }

    /// A cheap call that proves the table exists and DynamoDB answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let request = self.client.describe_table().table_name(&*self.table);
        call("DescribeTable", request.send()).await?;
        Ok(())
    }
}

fn page_of<T: DeserializeOwned>(
    output: aws_sdk_dynamodb::operation::query::QueryOutput,
) -> Result<Page<T>, QueryError> {
    let items = output
        .items
        .unwrap_or_default()
        .into_iter()
        .map(from_item)
        .collect::<Result<Vec<T>, _>>()?;
    let next_cursor = output.last_evaluated_key.as_ref().map(encode_cursor);
    Ok(Page { items, next_cursor })
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    InvalidCursor(#[from] InvalidCursor),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(index: usize, name: Option<&str>, code: &str) -> CancellationReason {
        CancellationReason {
            index,
            name: name.map(str::to_owned),
            code: code.into(),
        }
    }

    #[test]
    fn only_a_cancellation_of_conflicts_alone_is_tried_again() {
        let conflict = [
            reason(0, None, "None"),
            reason(1, Some("stock"), "TransactionConflict"),
        ];
        assert!(only_conflicts(&conflict));
        let with_condition = [
            reason(0, Some("cart"), "ConditionalCheckFailed"),
            reason(1, Some("stock"), "TransactionConflict"),
        ];
        assert!(!only_conflicts(&with_condition));
        assert!(!only_conflicts(&[reason(0, None, "None")]));
    }

    #[test]
    fn only_failed_conditions_count_and_only_by_name() {
        let err = StoreError::TransactionCanceled(vec![
            reason(0, Some("product"), "None"),
            reason(1, Some("sku"), "ConditionalCheckFailed"),
            reason(2, None, "ConditionalCheckFailed"),
            reason(3, Some("stock:p1"), "TransactionConflict"),
        ]);
        assert!(err.condition_failed("sku"));
        assert!(!err.condition_failed("product"), "its write was fine");
        assert!(
            !err.condition_failed("stock:p1"),
            "a conflict is no failed condition"
        );
        assert_eq!(err.failed_conditions().collect::<Vec<_>>(), vec!["sku"]);
        assert!(!StoreError::ConditionFailed.condition_failed("sku"));
    }
}
