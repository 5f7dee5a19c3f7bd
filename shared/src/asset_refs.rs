//! References to uploaded assets from other contexts. The assets context
//! owns the items; a product (or a template, a design) may point only at an
//! asset that passed its checks and belongs to the same owner, and checks so
//! in the same transaction as the write that adds the reference.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};

use crate::store::{Store, StoreError, attr};

pub fn asset_key(asset_id: &str) -> (String, &'static str) {
    (format!("ASSET#{asset_id}"), "ASSET")
}

/// A transaction item that holds only while `asset_id` is a `ready`
/// product image owned by the organization `org_id`.
pub fn require_ready_product_image(
    store: &Store,
    asset_id: &str,
    org_id: &str,
) -> Result<TransactWriteItem, StoreError> {
    let (pk, sk) = asset_key(asset_id);
    let check = ConditionCheck::builder()
        .table_name(store.table())
        .key(attr::PK, AttributeValue::S(pk))
        .key(attr::SK, AttributeValue::S(sk.to_owned()))
        .condition_expression(
            "#status = :ready AND purpose = :purpose AND #owner.#kind = :org AND #owner.#id = :owner",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#owner", "owner")
        .expression_attribute_names("#kind", "kind")
        .expression_attribute_names("#id", "id")
        .expression_attribute_values(":ready", AttributeValue::S("ready".into()))
        .expression_attribute_values(":purpose", AttributeValue::S("product_image".into()))
        .expression_attribute_values(":org", AttributeValue::S("org".into()))
        .expression_attribute_values(":owner", AttributeValue::S(org_id.to_owned()))
        .build()
        .map_err(|e| StoreError::Other(e.into()))?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}
