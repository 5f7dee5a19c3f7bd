//! The reconciliation schedule (`studio-reconcile`, EventBridge every 15
//! minutes; the devserver runs it on a timer): webhooks can be lost, so
//! manufacturing orders that are not final and have not changed for a
//! while are read at the partner, and what the webhooks would have said is
//! applied (status forward only, tracking merged, the fulfilment marked
//! shipped). Orders still drafting or waiting for their costs are driven
//! on as the worker would. Each order checked is touched, so the next run
//! reads it only once it is stale again.

use serde::Serialize;
use shared::print_partner::{ExternalId, PartnerError, PartnerOrderRef, PrintPartner};
use shared::store::{Index, PartitionQuery, QueryRefinement, StoreError};

use super::webhooks::notify_shipped;
use super::{
    ManufacturingRecord, ManufacturingStatus, OPEN_SHARDS, load, merge_shipment, open_partition,
    save, worker,
};
use crate::StudioState;

/// Orders not updated for this long are read at the partner.
pub const DEFAULT_STALE_AFTER_SECS: i64 = 3600;
/// The most orders one run reads per shard.
const PAGE: u32 = 100;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileReport {
    pub checked: usize,
    /// Orders something was applied to.
    pub updated: usize,
    pub failed: usize,
}

/// Reads every open order not updated since `now - stale_after` and
/// applies what the partner says.
pub async fn sweep(
    state: &StudioState,
    now: i64,
    stale_after: i64,
) -> anyhow::Result<ReconcileReport> {
    let mut report = ReconcileReport::default();
    let Some(partner) = state.partner.as_ref() else {
        tracing::warn!("no print partner is configured: nothing to reconcile");
        return Ok(report);
    };
    let cutoff = format!("{:012}#~", now - stale_after);
    for shard in 0..OPEN_SHARDS {
        let query = PartitionQuery {
            index: Index::Gsi4,
            partition: open_partition(shard),
            sort_prefix: None,
            ascending: true,
        };
        let refinement = QueryRefinement {
            sort_between: Some(("0".into(), cutoff.clone())),
            ..QueryRefinement::default()
        };
        let page = state
            .store
            .query_page_where::<ManufacturingRecord>(&query, &refinement, PAGE, None)
            .await?;
        for record in page.items {
            report.checked += 1;
            match reconcile_one(state, partner, &record.id).await {
                Ok(true) => report.updated += 1,
                Ok(false) => {}
                Err(err) => {
                    report.failed += 1;
                    tracing::warn!(line_id = %record.id, error = ?err, "a manufacturing order could not be reconciled");
                }
            }
        }
    }
    tracing::info!(?report, "manufacturing orders reconciled");
    Ok(report)
}

/// `true` when something was applied.
async fn reconcile_one(
    state: &StudioState,
    partner: &impl PrintPartner,
    id: &str,
) -> anyhow::Result<bool> {
    let Some(record) = load(&state.store, id).await? else {
        return Ok(false);
    };
    if matches!(
        record.status,
        ManufacturingStatus::Drafting | ManufacturingStatus::Draft
    ) {
        worker::drive(&state.store, partner, id).await?;
        let after = load(&state.store, id).await?;
        return Ok(after.is_some_and(|a| a.status != record.status));
    }
    let reference = PartnerOrderRef::External(ExternalId::parse(id)?);
    let (order, shipments) = match partner.order(&reference).await {
        Ok(order) => (order, partner.shipments(&reference).await?),
        Err(PartnerError::NotFound) => {
            tracing::warn!(line_id = %id, "the partner has no such order");
            return Ok(false);
        }
        Err(err) => return Err(err.into()),
    };
    for _ in 0..3 {
        let Some(mut record) = load(&state.store, id).await? else {
            return Ok(false);
        };
        let mut changed = false;
        for shipment in &shipments {
            changed |= merge_shipment(&mut record.shipments, shipment);
        }
        if let Some(status) = ManufacturingStatus::from_partner(&order.status) {
            changed |= record.move_to(status, None);
        }
        // Shipments delivered or returned say more than the order's status.
        if shipments
            .iter()
            .any(|s| s.status.as_deref() == Some("delivered"))
        {
            changed |= record.move_to(ManufacturingStatus::Delivered, None);
        }
        if changed {
            record.partner_reported_at =
                record.partner_reported_at.max(shared::domain::now_epoch());
            tracing::info!(line_id = %id, status = %record.status, "reconciliation applied what a webhook missed");
        }
        // Saved even unchanged: the order leaves the stale end of the index.
        match save(&state.store, &mut record, Vec::new()).await {
            Ok(()) => {
                notify_shipped(state, &mut record).await;
                return Ok(changed);
            }
            Err(StoreError::TransactionCanceled(_)) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    anyhow::bail!("the manufacturing order kept changing")
}
