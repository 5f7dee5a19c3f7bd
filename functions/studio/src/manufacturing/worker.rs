//! The `studio-manufacturing` worker: the stream queues each order that
//! becomes paid with made-to-order lines; for each such line of a design
//! product this creates the manufacturing order (once: it is keyed by the
//! line id) and drives it at the partner: a draft with the line id as
//! external id, wait until its costs are calculated, check them against
//! what the line sells for, confirm. What cannot be finished now (the
//! partner down, costs still calculating) is reported failed, and the
//! message comes back; after five tries it goes to the dead-letter queue.

use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;
use shared::contracts::order::{LineToManufacture, ORDER_SK, OrderToManufacture, order_pk};
use shared::print_partner::{
    CostStatus, DraftItem, DraftOrder, ExternalId, PartnerError, PartnerOrder, PartnerOrderRef,
    PrintPartner, Recipient,
};
use shared::sqs::{BatchResponse, ItemFailure, SqsEvent};
use shared::store::{Store, StoreError};

use super::{
    MFG_TYPE, ManufacturingCosts, ManufacturingRecord, ManufacturingStatus, load, mfg_key,
    org_partition, save,
};
use crate::StudioState;
use crate::publish::{PublicationRecord, publication};

/// How long one delivery waits for the partner's costs.
const COSTS_WAIT: Duration = Duration::from_secs(6);
const COSTS_POLL: Duration = Duration::from_millis(250);
/// Steps one line may take in one delivery (draft, costs, confirm, and
/// retries of a write that lost a race).
const MAX_STEPS: usize = 8;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    order_id: String,
}

/// One SQS batch; the messages that must come again are reported.
pub async fn handle_batch(state: &StudioState, event: SqsEvent) -> BatchResponse {
    let mut response = BatchResponse::default();
    for message in event.records {
        let order_id = match serde_json::from_str::<Message>(&message.body) {
            Ok(m) => m.order_id,
            Err(err) => {
                // Reported, not dropped: after the queue's retries it lands
                // in the dead-letter queue, where it can be read and replayed.
                tracing::error!(message_id = %message.message_id, error = %err, "not a manufacturing message; left for the dead-letter queue");
                response.batch_item_failures.push(ItemFailure {
                    item_identifier: message.message_id,
                });
                continue;
            }
        };
        if let Err(err) = make_order(state, &order_id).await {
            tracing::warn!(order_id = %order_id, error = ?err, "manufacturing not finished; the message comes back");
            response.batch_item_failures.push(ItemFailure {
                item_identifier: message.message_id,
            });
        }
    }
    response
}

/// Makes every paid line of a design product of the order.
#[tracing::instrument(skip(state))]
pub async fn make_order(state: &StudioState, order_id: &str) -> anyhow::Result<()> {
    let partner = state
        .partner
        .as_ref()
        .context("no print partner is configured (PRINTFUL_TOKEN)")?;
    let order: Option<OrderToManufacture> = state
        .store
        .get(&order_pk(order_id), ORDER_SK)
        .await
        .context("reading the order")?;
    let Some(order) = order.filter(OrderToManufacture::is_paid) else {
        tracing::info!("the order is not paid (or gone): nothing to make");
        return Ok(());
    };
    let mut unfinished = None;
    for line in order.lines_to_make() {
        let Some(publication) = publication(&state.store, &line.product_id).await? else {
            continue;
        };
        let result = async {
            open(&state.store, &order, line, &publication).await?;
            drive(&state.store, partner, &line.line_id).await
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(line_id = %line.line_id, error = ?err, "a line is not finished");
            unfinished = Some(err);
        }
    }
    unfinished.map_or(Ok(()), Err)
}

fn recipient(order: &OrderToManufacture) -> Recipient {
    let a = &order.shipping_address;
    Recipient {
        name: a.name.clone(),
        address1: a.line1.clone(),
        address2: a.line2.clone(),
        city: a.city.clone(),
        state_code: a.region.clone(),
        country_code: a.country.clone(),
        zip: a.postal_code.clone(),
        email: None,
    }
}

/// Creates the line's manufacturing order unless it exists.
async fn open(
    store: &Store,
    order: &OrderToManufacture,
    line: &LineToManufacture,
    publication: &PublicationRecord,
) -> anyhow::Result<()> {
    let (pk, sk) = mfg_key(&line.line_id);
    let now = shared::domain::now_rfc3339();
    let mut record = ManufacturingRecord {
        pk,
        sk: sk.to_owned(),
        item_type: MFG_TYPE.to_owned(),
        gsi1pk: org_partition(&line.seller_org_id),
        gsi1sk: line.line_id.clone(),
        gsi4pk: None,
        gsi4sk: None,
        id: line.line_id.clone(),
        order_id: order.id.clone(),
        seller_org_id: line.seller_org_id.clone(),
        product_id: line.product_id.clone(),
        design_id: publication.design_id.clone(),
        garment: publication.garment,
        sku: line.sku.clone(),
        name: line.name.clone(),
        quantity: line.quantity,
        print_url: publication.print_url.clone(),
        recipient: recipient(order),
        currency: order.totals.currency.clone(),
        max_cost: line.line_total,
        provider: "printful".into(),
        partner_order_id: None,
        status: ManufacturingStatus::Drafting,
        status_reason: None,
        costs: None,
        shipments: Vec::new(),
        partner_reported_at: 0,
        fulfilment_shipped: false,
        created_at: now.clone(),
        updated_at: now,
        updated_epoch: 0,
        version: 1,
    };
    record.touch(shared::domain::now_epoch());
    match store.put(&record, Some("attribute_not_exists(PK)")).await {
        Ok(()) => {
            tracing::info!(line_id = %record.id, order_id = %order.id, "manufacturing order opened");
            Ok(())
        }
        Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(anyhow::Error::new(err).context("opening the manufacturing order")),
    }
}

fn draft_of(record: &ManufacturingRecord) -> anyhow::Result<DraftOrder> {
    let spec = record.garment.spec();
    Ok(DraftOrder {
        external_id: ExternalId::parse(&record.id).context("the line id is an external id")?,
        recipient: record.recipient.clone(),
        items: vec![DraftItem {
            catalog_variant_id: spec.catalog_variant_id,
            quantity: u32::try_from(record.quantity).context("the quantity fits")?,
            placement: spec.placement.into(),
            technique: spec.technique.into(),
            image_url: record.print_url.clone(),
        }],
        shipping: "STANDARD".into(),
    })
}

/// Takes what the partner says of the order into the record.
pub fn absorb(record: &mut ManufacturingRecord, order: &PartnerOrder) {
    record.partner_order_id = Some(order.id.clone());
    record.costs = Some(ManufacturingCosts::from(&order.costs));
    if let Some(status) = ManufacturingStatus::from_partner(&order.status) {
        record.move_to(status, None);
    }
}

/// Whether the partner's costs are within what the line sells for: same
/// currency, total at most the line's price.
fn costs_refusal(record: &ManufacturingRecord, order: &PartnerOrder) -> Option<String> {
    let costs = &order.costs;
    if costs.status == CostStatus::Failed {
        return Some("the partner could not calculate the costs".into());
    }
    let currency = costs.currency.as_deref().unwrap_or_default();
    if !currency.eq_ignore_ascii_case(&record.currency) {
        return Some(format!(
            "the partner charges in {currency}, the line sells in {}",
            record.currency
        ));
    }
    match costs.total {
        Some(total) if total <= record.max_cost => None,
        Some(total) => Some(format!(
            "the partner's costs ({total}) exceed what the line sells for ({})",
            record.max_cost
        )),
        None => Some("the partner named no total".into()),
    }
}

/// The order once its costs are no longer calculating, within `COSTS_WAIT`.
async fn priced(
    partner: &impl PrintPartner,
    id: &ExternalId,
) -> Result<PartnerOrder, PartnerError> {
    let reference = PartnerOrderRef::External(id.clone());
    let deadline = tokio::time::Instant::now() + COSTS_WAIT;
    loop {
        let order = partner.order(&reference).await?;
        if order.costs.status != CostStatus::Calculating || tokio::time::Instant::now() >= deadline
        {
            return Ok(order);
        }
        tokio::time::sleep(COSTS_POLL).await;
    }
}

fn partner_failed(err: PartnerError) -> anyhow::Error {
    anyhow::Error::new(err)
}

/// Moves one manufacturing order as far as it goes now.
#[tracing::instrument(skip(store, partner))]
pub async fn drive(store: &Store, partner: &impl PrintPartner, id: &str) -> anyhow::Result<()> {
    for _ in 0..MAX_STEPS {
        let mut record = load(store, id)
            .await?
            .context("the manufacturing order exists")?;
        let external_id = ExternalId::parse(&record.id).context("the line id is an external id")?;
        match record.status {
            ManufacturingStatus::Drafting => {
                match partner.create_draft(&draft_of(&record)?).await {
                    Ok(order) => {
                        absorb(&mut record, &order);
                        if record.status == ManufacturingStatus::Drafting {
                            record.status = ManufacturingStatus::Draft;
                        }
                    }
                    Err(PartnerError::Rejected { message, .. }) => {
                        record.move_to(
                            ManufacturingStatus::Failed,
                            Some(format!("the partner refused the draft: {message}")),
                        );
                    }
                    Err(err) => return Err(partner_failed(err)),
                }
            }
            ManufacturingStatus::Draft => {
                let order = priced(partner, &external_id)
                    .await
                    .map_err(partner_failed)?;
                absorb(&mut record, &order);
                if record.status == ManufacturingStatus::Draft {
                    if order.costs.status == CostStatus::Calculating {
                        save(store, &mut record, Vec::new()).await.ok();
                        anyhow::bail!("the partner is still calculating the costs");
                    }
                    match costs_refusal(&record, &order) {
                        Some(reason) => {
                            tracing::warn!(line_id = %record.id, %reason, "costs refused; the order is held, not confirmed");
                            record.move_to(ManufacturingStatus::OnHold, Some(reason));
                        }
                        None => {
                            let reference = PartnerOrderRef::External(external_id.clone());
                            match partner.confirm(&reference).await {
                                Ok(order) => absorb(&mut record, &order),
                                // Confirmed by an earlier delivery whose answer was lost.
                                Err(PartnerError::Rejected { status: 409, .. }) => {
                                    let order =
                                        partner.order(&reference).await.map_err(partner_failed)?;
                                    absorb(&mut record, &order);
                                }
                                Err(err) => return Err(partner_failed(err)),
                            }
                        }
                    }
                }
            }
            _ => return Ok(()),
        }
        match save(store, &mut record, Vec::new()).await {
            Ok(()) => {
                tracing::info!(line_id = %record.id, status = %record.status, "manufacturing order moved");
            }
            // Changed meanwhile (a webhook): decide again from a fresh read.
            Err(StoreError::TransactionCanceled(_)) => continue,
            Err(err) => {
                return Err(anyhow::Error::new(err).context("saving the manufacturing order"));
            }
        }
    }
    Ok(())
}
