//! One seller's part of an order (`ORDER#<id> / FULFILMENT#<sellerOrgId>`)
//! and how its seller sees it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Address, FulfilmentStatus, HistoryEntry, OrderLine};

/// One seller's part of an order: `ORDER#<id> / FULFILMENT#<sellerOrgId>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfilmentRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub order_id: String,
    pub seller_org_id: String,
    pub status: FulfilmentStatus,
    pub lines: Vec<OrderLine>,
    pub currency: String,
    pub subtotal: i64,
    pub shipping: i64,
    pub shipping_address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    pub history: Vec<HistoryEntry>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// A fulfilment as its seller sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FulfilmentView {
    pub order_id: String,
    pub seller_org_id: String,
    pub status: FulfilmentStatus,
    pub lines: Vec<OrderLine>,
    #[schema(example = "EUR")]
    pub currency: String,
    pub subtotal: i64,
    pub shipping: i64,
    pub shipping_address: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "DHL")]
    pub carrier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "00340434161094042557")]
    pub tracking_number: Option<String>,
    pub history: Vec<HistoryEntry>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

impl From<FulfilmentRecord> for FulfilmentView {
    fn from(f: FulfilmentRecord) -> Self {
        Self {
            order_id: f.order_id,
            seller_org_id: f.seller_org_id,
            status: f.status,
            lines: f.lines,
            currency: f.currency,
            subtotal: f.subtotal,
            shipping: f.shipping,
            shipping_address: f.shipping_address,
            carrier: f.carrier,
            tracking_number: f.tracking_number,
            history: f.history,
            created_at: f.created_at,
            updated_at: f.updated_at,
            version: f.version,
        }
    }
}
