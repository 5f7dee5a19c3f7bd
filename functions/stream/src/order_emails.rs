//! Emails about orders, sent to the person who placed them:
//! - the order was paid → "Order confirmed", with its lines and total;
//! - a seller shipped its part → "Your order has shipped", with the carrier
//!   and tracking number;
//! - the order was cancelled → "Order cancelled", saying whether money
//!   goes back.
//!
//! Orders placed by an API key (an integration) have no person to write
//! to and get no email. Each email is sent once per stream record (see
//! `notifications::send_once`).

use serde::Deserialize;
use shared::domain::Currency;
use shared::mail::Message;

use crate::notifications::send_once;
use crate::{Change, StreamState};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderImage {
    id: String,
    status: String,
    buyer: BuyerImage,
    lines: Vec<LineImage>,
    totals: TotalsImage,
    payment: PaymentImage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuyerImage {
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineImage {
    name: String,
    quantity: i64,
    line_total: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TotalsImage {
    currency: String,
    total: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentImage {
    state: String,
    #[serde(default)]
    refund: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfilmentImage {
    order_id: String,
    status: String,
    lines: Vec<LineImage>,
    #[serde(default)]
    carrier: Option<String>,
    #[serde(default)]
    tracking_number: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Person {
    email: String,
    name: String,
    #[serde(default)]
    deleted_at: Option<String>,
}

/// `1234` EUR → `12.34 EUR`; `1234` JPY → `1234 JPY`.
pub fn amount(minor: i64, currency: &str) -> String {
    let digits = Currency::parse(currency).map_or(2, |c| c.minor_digits());
    if digits == 0 {
        return format!("{minor} {currency}");
    }
    let scale = 10_i64.pow(digits);
    format!(
        "{}.{:0width$} {currency}",
        minor / scale,
        minor % scale,
        width = digits as usize
    )
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

fn lines_text(lines: &[LineImage], currency: &str) -> String {
    lines
        .iter()
        .map(|l| {
            format!(
                "  {} × {}  {}\n",
                l.quantity,
                l.name,
                amount(l.line_total, currency)
            )
        })
        .collect()
}

pub async fn react(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    match change.item_type.as_str() {
        "ORDER" => order_changed(state, change).await,
        "FULFILMENT" => fulfilment_changed(state, change).await,
        _ => Ok(()),
    }
}

async fn order_changed(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    let (Some(old), Some(new)) = (
        change.old::<OrderImage>()?,
        change.new_image::<OrderImage>()?,
    ) else {
        return Ok(());
    };
    if old.status == new.status {
        return Ok(());
    }
    let (kind, subject, text) = match new.status.as_str() {
        "paid" => (
            "order_paid",
            format!("Order {} confirmed", new.id),
            format!(
                "Thank you, we have your payment.\n\n{}\nTotal (with shipping and tax): {}\n\n\
                 We will write again when it ships.\n",
                lines_text(&new.lines, &new.totals.currency),
                amount(new.totals.total, &new.totals.currency)
            ),
        ),
        "cancelled" => {
            let money = if new.payment.refund.is_some() || new.payment.state == "refunded" {
                format!(
                    "The {} you paid is being refunded to your payment method.",
                    amount(new.totals.total, &new.totals.currency)
                )
            } else {
                "Nothing was charged.".to_owned()
            };
            (
                "order_cancelled",
                format!("Order {} cancelled", new.id),
                format!("Your order {} was cancelled. {money}\n", new.id),
            )
        }
        _ => return Ok(()),
    };
    let Some(person) = person(state, new.buyer.user_id.as_deref()).await? else {
        return Ok(());
    };
    let email = Message {
        to: person.email,
        subject,
        text: format!("Hello {},\n\n{text}", person.name),
    };
    send_once(state, change.event_id(), kind, email).await
}

async fn fulfilment_changed(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    let (Some(old), Some(new)) = (
        change.old::<FulfilmentImage>()?,
        change.new_image::<FulfilmentImage>()?,
    ) else {
        return Ok(());
    };
    if old.status == new.status || new.status != "shipped" {
        return Ok(());
    }
    let order: Option<OrderImage> = state
        .store
        .get(&format!("ORDER#{}", new.order_id), "ORDER")
        .await?;
    let Some(order) = order else {
        return Ok(());
    };
    let Some(person) = person(state, order.buyer.user_id.as_deref()).await? else {
        return Ok(());
    };
    let tracking = match (&new.carrier, &new.tracking_number) {
        (Some(carrier), Some(number)) => format!("Carrier: {carrier}\nTracking number: {number}\n"),
        _ => String::new(),
    };
    let email = Message {
        to: person.email,
        subject: format!("Your order {} has shipped", new.order_id),
        text: format!(
            "Hello {},\n\nA parcel of your order is on its way:\n\n{}\n{tracking}",
            person.name,
            lines_text(&new.lines, &order.totals.currency)
        ),
    };
    send_once(state, change.event_id(), "order_shipped", email).await
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
