//! Item types, keys and index partitions of the orders context.

use super::OrderStatus;

pub const ORDER_TYPE: &str = "ORDER";
pub const FULFILMENT_TYPE: &str = "FULFILMENT";
pub const CART_TYPE: &str = "CART";
pub const ORDER_SK: &str = "ORDER";
pub const EXPIRING_PARTITION: &str = "ORDERS#EXPIRING";
pub const ALL_ORDERS_PARTITION: &str = "ORDERS#ALL";

pub fn order_pk(order_id: &str) -> String {
    format!("ORDER#{order_id}")
}

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
