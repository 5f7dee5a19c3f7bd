//! Emails about orders, sent to the person who placed them:
//! - the order was paid → "Order confirmed", with its lines and total;
//! - a seller shipped its part → "Your order has shipped", with the carrier
//!   and tracking number;
//! - the order was cancelled → "Order cancelled", saying whether money
//!   goes back;
//! - a seller recorded a temperature excursion → an alert.
//!
//! Orders placed by an API key (an integration) have no person to write
//! to and get no email. Each email is sent once per stream record (see
//! `notifications::send_once`).

use serde::Deserialize;
use shared::contracts::order::{
    FULFILMENT_TYPE, FulfilmentStatus, FulfilmentSummary, LineSummary, MilestoneSummary, ORDER_SK,
    ORDER_TYPE, OrderStatus, OrderSummary, PaymentState, order_pk,
};
use shared::domain::Money;
use shared::outbox::{EmailLine, PlatformEmail};

use crate::notifications::send_once;
use crate::{Change, StreamState};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Person {
    email: String,
    name: String,
    #[serde(default)]
    deleted_at: Option<String>,
}

/// `1234` EUR → `12.34 EUR`, as `Money` shows amounts; a currency the
/// order could not have (it was validated at checkout) shows as stored.
fn amount(minor: i64, currency: &str) -> String {
    Money::parse(minor, currency).map_or_else(|_| format!("{minor} {currency}"), |m| m.to_string())
}

async fn person(state: &StreamState, user_id: Option<&str>) -> anyhow::Result<Option<Person>> {
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let person: Option<Person> = state
        .store
        .get(&format!("USER#{user_id}"), "PROFILE")
        .await?;
    Ok(person.filter(|p| p.deleted_at.is_none() && !p.email.is_empty()))
}

fn email_lines(lines: &[LineSummary], currency: &str) -> Vec<EmailLine> {
    lines
        .iter()
        .map(|l| EmailLine {
            quantity: l.quantity,
            name: l.name.clone(),
            total: amount(l.line_total, currency),
        })
        .collect()
}

pub async fn react(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    match change.item_type.as_str() {
        ORDER_TYPE => order_changed(state, change).await,
        FULFILMENT_TYPE => fulfilment_changed(state, change).await,
        _ => Ok(()),
    }
}

async fn order_changed(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    let (Some(old), Some(new)) = (
        change.old::<OrderSummary>()?,
        change.new_image::<OrderSummary>()?,
    ) else {
        return Ok(());
    };
    if new.milestones.len() > old.milestones.len() {
        excursion_alert(state, change, &new, &new.milestones[old.milestones.len()..]).await?;
    }
    if old.status == new.status {
        return Ok(());
    }
    if !matches!(new.status, OrderStatus::Paid | OrderStatus::Cancelled) {
        return Ok(());
    }
    let Some(person) = person(state, new.buyer.user_id.as_deref()).await? else {
        return Ok(());
    };
    let currency = &new.totals.currency;
    let email = if new.status == OrderStatus::Paid {
        PlatformEmail::OrderConfirmed {
            name: person.name,
            order_id: new.id,
            lines: email_lines(&new.lines, currency),
            total: amount(new.totals.total, currency),
        }
    } else {
        let refunded = new.payment.refund.is_some() || new.payment.state == PaymentState::Refunded;
        PlatformEmail::OrderCancelled {
            name: person.name,
            order_id: new.id,
            refunded: refunded.then(|| amount(new.totals.total, currency)),
        }
    };
    send_once(state, change.event_id(), &person.email, email).await
}

/// A temperature excursion a seller recorded alerts the buyer of a
/// cold-chain order (one from an RFQ that asked for cold-chain delivery);
/// on any other order the milestone is only logged on the order.
async fn excursion_alert(
    state: &StreamState,
    change: &Change<'_>,
    order: &OrderSummary,
    added: &[MilestoneSummary],
) -> anyhow::Result<()> {
    if !order.sourced_from.as_ref().is_some_and(|f| f.cold_chain) {
        return Ok(());
    }
    let Some(excursion) = added.iter().find(|m| m.kind == "temperature_excursion") else {
        return Ok(());
    };
    let Some(person) = person(state, order.buyer.user_id.as_deref()).await? else {
        return Ok(());
    };
    let temperature = excursion.temperature_c.map_or_else(
        || "an unknown temperature".to_owned(),
        |t| format!("{t} °C"),
    );
    let email = PlatformEmail::TemperatureExcursion {
        name: person.name,
        order_id: order.id.clone(),
        seller_org_id: excursion.seller_org_id.clone(),
        temperature,
        at: excursion.at.clone(),
    };
    send_once(state, change.event_id(), &person.email, email).await
}

async fn fulfilment_changed(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    let (Some(old), Some(new)) = (
        change.old::<FulfilmentSummary>()?,
        change.new_image::<FulfilmentSummary>()?,
    ) else {
        return Ok(());
    };
    if old.status == new.status || new.status != FulfilmentStatus::Shipped {
        return Ok(());
    }
    let order: Option<OrderSummary> = state.store.get(&order_pk(&new.order_id), ORDER_SK).await?;
    let Some(order) = order else {
        return Ok(());
    };
    let Some(person) = person(state, order.buyer.user_id.as_deref()).await? else {
        return Ok(());
    };
    let email = PlatformEmail::OrderShipped {
        name: person.name,
        order_id: new.order_id,
        lines: email_lines(&new.lines, &order.totals.currency),
        carrier: new.carrier,
        tracking_number: new.tracking_number,
    };
    send_once(state, change.event_id(), &person.email, email).await
}

#[cfg(test)]
mod tests {
    use super::amount;

    #[test]
    fn amounts_follow_the_currency_minor_unit() {
        assert_eq!(amount(3_094, "EUR"), "30.94 EUR");
        assert_eq!(amount(5, "EUR"), "0.05 EUR");
        assert_eq!(amount(800, "JPY"), "800 JPY");
        assert_eq!(amount(1_500, "KWD"), "1.500 KWD");
    }
}
