//! Item types, keys and index partitions of the orders context.

use super::OrderStatus;

pub use shared::contracts::order::{FULFILMENT_TYPE, ORDER_SK, ORDER_TYPE, order_pk};

pub const CART_TYPE: &str = "CART";
pub const EXPIRING_PARTITION: &str = "ORDERS#EXPIRING";
pub const ALL_ORDERS_PARTITION: &str = "ORDERS#ALL";

pub fn fulfilment_sk(seller_org_id: &str) -> String {
    format!("FULFILMENT#{seller_org_id}")
}

pub fn status_partition(status: OrderStatus) -> String {
    format!("ORDERS#STATUS#{}", status.as_str())
}

pub fn buyer_partition(buyer_key: &str) -> String {
    format!("ORDERS#BUYER#{buyer_key}")
}

pub fn seller_partition(org_id: &str) -> String {
    format!("FULFILMENTS#SELLER#{org_id}")
}

/// The sort key of an order in the expiry queue: due time first.
pub fn expiring_sk(expires_at: i64, order_id: &str) -> String {
    format!("{expires_at:010}#{order_id}")
}
