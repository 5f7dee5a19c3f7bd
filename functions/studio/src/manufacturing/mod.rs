//! Manufacturing orders: the print partner's order for each paid order line
//! of a design product (see docs/studio.md, "Manufacturing").
//!
//! - `MFG#<lineId> / MFG`: one manufacturing order, keyed by the order
//!   line's id, which is also the partner order's `external_id`: one line is
//!   made once, however often its order is queued. In GSI1
//!   `STUDIO#ORG#<sellerOrgId>#MFG / <lineId>` (the seller's, newest first);
//!   while not final, in GSI4 `STUDIO#MFG#OPEN#<shard> / <updated epoch>#<id>`
//!   for the reconciliation schedule.
//!
//! [`worker`] creates and drives them, [`webhooks`] applies the partner's
//! events, [`reconcile`] catches what webhooks missed; the routes here show
//! them to the seller organization (`order:read`); another org's is a 404.

pub mod reconcile;
pub mod webhooks;
pub mod worker;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shared::auth::{Caller, Permission};
use shared::http::{
    ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
};
use shared::print_partner::{CostStatus, PartnerCosts, PartnerOrderStatus, Recipient, Shipment};
use shared::store::{Index, PartitionQuery, Store, StoreError, Transaction};
use utoipa::ToSchema;

use crate::StudioState;
use crate::garments::Garment;

pub const MFG_TYPE: &str = "STUDIO_MFG_ORDER";
pub const MFG_SK: &str = "MFG";
/// How many partitions the open manufacturing orders are spread over.
pub const OPEN_SHARDS: u32 = 4;

pub fn mfg_key(id: &str) -> (String, &'static str) {
    (format!("MFG#{id}"), MFG_SK)
}

pub fn org_partition(org_id: &str) -> String {
    format!("STUDIO#ORG#{org_id}#MFG")
}

pub fn open_partition(shard: u32) -> String {
    format!("STUDIO#MFG#OPEN#{shard}")
}

fn shard_of(id: &str) -> u32 {
    id.bytes().map(u32::from).sum::<u32>() % OPEN_SHARDS
}

shared::string_enum! {
    /// Where a manufacturing order is (see docs/studio.md): `drafting` →
    /// `draft` (at the partner, costs calculated) → `confirmed` →
    /// `in_production` → `shipped` → `delivered`; `on_hold` (the partner
    /// holds it, or its costs were not what the sale allows), `returned`,
    /// `failed`, `canceled`.
    ManufacturingStatus {
        Drafting = "drafting",
        Draft = "draft",
        Confirmed = "confirmed",
        InProduction = "in_production",
        OnHold = "on_hold",
        Shipped = "shipped",
        Delivered = "delivered",
        Returned = "returned",
        Failed = "failed",
        Canceled = "canceled",
    }
}

impl ManufacturingStatus {
    /// How far along it is: a status moves only to a higher rank (or
    /// between `in_production` and `on_hold`, which share one).
    pub fn rank(self) -> u8 {
        use ManufacturingStatus::*;
        match self {
            Drafting => 0,
            Draft => 1,
            Confirmed => 2,
            InProduction | OnHold => 3,
            Shipped => 4,
            Delivered => 5,
            Returned => 6,
            Failed | Canceled => 7,
        }
    }

    /// Nothing more happens to it.
    pub fn is_final(self) -> bool {
        use ManufacturingStatus::*;
        matches!(self, Delivered | Returned | Failed | Canceled)
    }

    /// Whether `self` may become `to`: forward only; failing or cancelling
    /// only before anything shipped.
    pub fn may_become(self, to: ManufacturingStatus) -> bool {
        use ManufacturingStatus::*;
        if self == to || self.is_final() {
            return false;
        }
        match to {
            Failed | Canceled => self.rank() < Shipped.rank(),
            _ if to.rank() == self.rank() => matches!(to, InProduction | OnHold),
            _ => to.rank() > self.rank(),
        }
    }

    /// Ours for the partner's status; `None` for one we do not know.
    pub fn from_partner(status: &PartnerOrderStatus) -> Option<Self> {
        Some(match status {
            PartnerOrderStatus::Draft => Self::Draft,
            PartnerOrderStatus::Pending => Self::Confirmed,
            PartnerOrderStatus::InProcess => Self::InProduction,
            PartnerOrderStatus::OnHold => Self::OnHold,
            PartnerOrderStatus::Partial | PartnerOrderStatus::Fulfilled => Self::Shipped,
            PartnerOrderStatus::Failed => Self::Failed,
            PartnerOrderStatus::Canceled => Self::Canceled,
            PartnerOrderStatus::Other(_) => return None,
        })
    }
}

/// What the partner charges, in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManufacturingCosts {
    /// `calculating`, `done` or `failed`.
    #[schema(example = "done")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

impl From<&PartnerCosts> for ManufacturingCosts {
    fn from(costs: &PartnerCosts) -> Self {
        Self {
            status: match costs.status {
                CostStatus::Calculating => "calculating",
                CostStatus::Done => "done",
                CostStatus::Failed => "failed",
            }
            .into(),
            currency: costs.currency.clone(),
            subtotal: costs.subtotal,
            shipping: costs.shipping,
            tax: costs.tax,
            total: costs.total,
        }
    }
}

/// A parcel with its tracking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManufacturingShipment {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "DHL")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    /// E.g. `shipped`, `delivered`, `returned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<String>,
}

impl From<&Shipment> for ManufacturingShipment {
    fn from(s: &Shipment) -> Self {
        Self {
            id: s.id.clone(),
            carrier: s.carrier.clone(),
            tracking_number: s.tracking_number.clone(),
            tracking_url: s.tracking_url.clone(),
            status: s.status.clone(),
            shipped_at: s.shipped_at.clone(),
        }
    }
}

/// Merges what the partner reports of a shipment into the ones known: a
/// known shipment keeps what the report leaves out; a new one is added.
pub fn merge_shipment(shipments: &mut Vec<ManufacturingShipment>, report: &Shipment) -> bool {
    let reported = ManufacturingShipment::from(report);
    let slot = shipments
        .iter_mut()
        .find(|s| !reported.id.is_empty() && s.id == reported.id);
    let Some(known) = slot else {
        shipments.push(reported);
        return true;
    };
    let before = known.clone();
    let keep = |new: Option<String>, old: &Option<String>| new.or_else(|| old.clone());
    known.carrier = keep(reported.carrier, &known.carrier);
    known.tracking_number = keep(reported.tracking_number, &known.tracking_number);
    known.tracking_url = keep(reported.tracking_url, &known.tracking_url);
    known.status = keep(reported.status, &known.status);
    known.shipped_at = keep(reported.shipped_at, &known.shipped_at);
    *known != before
}

/// One manufacturing order as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManufacturingRecord {
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
    #[serde(rename = "GSI4PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi4pk: Option<String>,
    #[serde(rename = "GSI4SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi4sk: Option<String>,
    /// The order line's id (the partner's `external_id`).
    pub id: String,
    pub order_id: String,
    pub seller_org_id: String,
    pub product_id: String,
    pub design_id: String,
    pub garment: Garment,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub print_url: String,
    pub recipient: Recipient,
    /// The most the partner may charge (what the buyer pays for the line),
    /// in minor units of `currency`.
    pub currency: String,
    pub max_cost: i64,
    /// `printful`.
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_order_id: Option<String>,
    pub status: ManufacturingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub costs: Option<ManufacturingCosts>,
    #[serde(default)]
    pub shipments: Vec<ManufacturingShipment>,
    /// When the partner last reported (unix seconds): older reports do not
    /// move it between `in_production` and `on_hold`.
    #[serde(default)]
    pub partner_reported_at: i64,
    /// The order's fulfilment was marked shipped for this line.
    #[serde(default)]
    pub fulfilment_shipped: bool,
    pub created_at: String,
    pub updated_at: String,
    pub updated_epoch: i64,
    pub version: u64,
}

impl ManufacturingRecord {
    /// Sets the time of the change and the reconciliation index (none once
    /// final).
    pub fn touch(&mut self, now_epoch: i64) {
        self.updated_at = shared::domain::now_rfc3339();
        self.updated_epoch = now_epoch;
        if self.status.is_final() {
            self.gsi4pk = None;
            self.gsi4sk = None;
        } else {
            self.gsi4pk = Some(open_partition(shard_of(&self.id)));
            self.gsi4sk = Some(format!("{now_epoch:012}#{}", self.id));
        }
    }

    /// Moves the status if it may; `false` when it may not.
    pub fn move_to(&mut self, to: ManufacturingStatus, reason: Option<String>) -> bool {
        if !self.status.may_become(to) {
            return false;
        }
        self.status = to;
        self.status_reason = reason;
        true
    }
}

pub async fn load(store: &Store, id: &str) -> Result<Option<ManufacturingRecord>, StoreError> {
    let (pk, sk) = mfg_key(id);
    store.get::<ManufacturingRecord>(&pk, sk).await
}

/// Writes `record` (as changed from version `read`), with `extra` items in
/// the same transaction (e.g. a webhook's applied-once marker, named
/// `event`). A concurrent change cancels it on `version`.
pub async fn save(
    store: &Store,
    record: &mut ManufacturingRecord,
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<(), StoreError> {
    let read = record.version;
    record.version = read + 1;
    record.touch(shared::domain::now_epoch());
    let mut tx = Transaction::new();
    tx.push(store.transact_put_if_version(&*record, read)?)
        .named("version");
    for item in extra {
        tx.push(item).named("event");
    }
    let result = store.transact(tx).await;
    if result.is_err() {
        record.version = read;
    }
    result
}

/// A manufacturing order as its seller sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManufacturingOrderView {
    /// The order line's id, also the partner order's external id.
    pub id: String,
    pub order_id: String,
    pub seller_org_id: String,
    pub product_id: String,
    pub design_id: String,
    pub garment: Garment,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    /// `printful`.
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_order_id: Option<String>,
    pub status: ManufacturingStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// What the partner charges, once calculated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs: Option<ManufacturingCosts>,
    /// The most it may cost (the line's price), in minor units of `currency`.
    pub max_cost: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    pub shipments: Vec<ManufacturingShipment>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ManufacturingRecord> for ManufacturingOrderView {
    fn from(r: ManufacturingRecord) -> Self {
        Self {
            id: r.id,
            order_id: r.order_id,
            seller_org_id: r.seller_org_id,
            product_id: r.product_id,
            design_id: r.design_id,
            garment: r.garment,
            sku: r.sku,
            name: r.name,
            quantity: r.quantity,
            provider: r.provider,
            partner_order_id: r.partner_order_id,
            status: r.status,
            status_reason: r.status_reason,
            costs: r.costs,
            max_cost: r.max_cost,
            currency: r.currency,
            shipments: r.shipments,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The seller organization's manufacturing orders, newest first.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/manufacturing-orders",
    tag = "studio",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The seller organization"), PageParams),
    responses(
        (status = 200, description = "One page of manufacturing orders, newest first", body = Envelope<Vec<ManufacturingOrderView>>),
        (status = 400, description = "The cursor is not from this list", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "No order:read permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization (or not the caller's)", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn list_manufacturing_orders(
    State(state): State<StudioState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<ManufacturingOrderView>>> {
    caller
        .require(&state.store, &org_id, Permission::OrderRead)
        .await?;
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: org_partition(&org_id),
        sort_prefix: None,
        ascending: false,
    };
    let found = state
        .store
        .query_page::<ManufacturingRecord>(&query, page.limit(), page.cursor())
        .await?;
    let views = found
        .items
        .into_iter()
        .map(ManufacturingOrderView::from)
        .collect();
    Ok(ApiResponse::ok(views).paginated(found.next_cursor, page.limit()))
}

/// One manufacturing order of the seller organization.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/manufacturing-orders/{manufacturingOrderId}",
    tag = "studio",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The seller organization"),
        ("manufacturingOrderId" = String, Path, description = "The manufacturing order (its order line's id)"),
    ),
    responses(
        (status = 200, description = "The manufacturing order: status, costs, tracking", body = Envelope<ManufacturingOrderView>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "No order:read permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such manufacturing order of this organization", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, id = %id))]
pub async fn get_manufacturing_order(
    State(state): State<StudioState>,
    caller: Caller,
    Path((org_id, id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<ManufacturingOrderView>> {
    caller
        .require(&state.store, &org_id, Permission::OrderRead)
        .await?;
    match load(&state.store, &id).await? {
        Some(record) if record.seller_org_id == org_id => Ok(ApiResponse::ok(record.into())),
        _ => Err(ApiError::not_found("no such manufacturing order")),
    }
}

#[cfg(test)]
mod tests {
    use super::ManufacturingStatus::*;
    use super::*;

    #[test]
    fn a_status_only_moves_forward() {
        assert!(Drafting.may_become(Draft));
        assert!(Draft.may_become(Confirmed));
        assert!(Confirmed.may_become(Shipped));
        assert!(InProduction.may_become(OnHold) && OnHold.may_become(InProduction));
        assert!(!Shipped.may_become(InProduction));
        assert!(!Confirmed.may_become(Draft));
        assert!(!Shipped.may_become(Shipped));
        assert!(Confirmed.may_become(Failed));
        assert!(
            !Shipped.may_become(Canceled),
            "a shipped order is not cancelled"
        );
        assert!(Shipped.may_become(Delivered) && Delivered.is_final());
        assert!(!Delivered.may_become(Returned) || Delivered.is_final());
        assert!(!Canceled.may_become(Delivered));
    }

    #[test]
    fn tracking_is_merged_by_shipment() {
        let mut known = vec![ManufacturingShipment {
            id: "9".into(),
            carrier: Some("DHL".into()),
            tracking_number: Some("PF1".into()),
            tracking_url: None,
            status: Some("shipped".into()),
            shipped_at: None,
        }];
        let report = Shipment {
            id: "9".into(),
            tracking_url: Some("https://track.example/PF1".into()),
            status: Some("delivered".into()),
            ..Shipment::default()
        };
        assert!(merge_shipment(&mut known, &report));
        assert_eq!(known.len(), 1);
        assert_eq!(known[0].carrier.as_deref(), Some("DHL"));
        assert_eq!(known[0].status.as_deref(), Some("delivered"));
        assert!(
            !merge_shipment(&mut known, &report),
            "the same report again changes nothing"
        );
        let other = Shipment {
            id: "10".into(),
            ..Shipment::default()
        };
        assert!(merge_shipment(&mut known, &other));
        assert_eq!(known.len(), 2);
    }
}
