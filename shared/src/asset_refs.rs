//! References to uploaded assets from other contexts. The assets context
//! owns the items; a product (or a template, a design) may point only at an
//! asset that passed its checks and belongs to the same owner, and checks so
//! in the same transaction as the write that adds the reference.

use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::store::{Store, StoreError, s};

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
    store.transact_check(
        &pk,
        sk,
        "#status = :ready AND purpose = :purpose AND #owner.#kind = :org AND #owner.#id = :owner",
        &[
            ("#status", "status"),
            ("#owner", "owner"),
            ("#kind", "kind"),
            ("#id", "id"),
        ],
        &[
            (":ready", s("ready")),
            (":purpose", s("product_image")),
            (":org", s("org")),
            (":owner", s(org_id)),
        ],
    )
}
