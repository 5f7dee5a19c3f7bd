//! Print-on-demand manufacturing: a paid line of a design product is
//! drafted at the partner (the Printful stand-in, over HTTP), priced,
//! checked and confirmed; the seller org sees it, no other org does.

use std::time::Duration;

use axum::http::StatusCode;
use bodega_tests::{
    TestApp, design_body, eventually, publish_body, spawn_app, stripe_confirm_card, unique_email,
};
use serde_json::{Value, json};
use shared::config::SecretSource;
use shared::print_partner::{
    ExternalId, PartnerOrderRef, PartnerOrderStatus, PrintPartner, PrintfulClient,
};

pub struct Studio {
    pub app: TestApp,
    pub seller: String,
    pub org: String,
    pub product: String,
}

/// A seller org whose owner published a design as a t-shirt at `price`.
pub async fn design_shop(price: i64) -> Studio {
    let app = spawn_app().await;
    let admin_email = unique_email("admin");
    app.signed_in_as(&admin_email).await;
    let admin = app.promote_to_platform_admin(&admin_email).await;
    let category = app.category(&admin, "apparel").await;
    let seller = app.signed_in_as(&unique_email("designer")).await;
    let org = app.new_org(&seller, "seller").await;
    let design = app.ready_design(&seller, &design_body("Waves")).await;
    let mut body = publish_body(&org, &category);
    body["price"]["amount"] = json!(price);
    let published = app
        .publish_design(&seller, design["id"].as_str().unwrap(), &body, None)
        .await;
    let product = published.assert_ok(StatusCode::CREATED)["productId"]
        .as_str()
        .unwrap()
        .to_owned();
    Studio {
        app,
        seller,
        org,
        product,
    }
}

fn stripe() -> (String, String, String) {
    let config = bodega_tests::stack_config("unused").stripe;
    let (Some(SecretSource::Inline(key)), Some(SecretSource::Inline(secret))) =
        (config.secret_key, config.webhook_secret)
    else {
        panic!("the local stack sets STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET");
    };
    (config.api_base, key, secret)
}

/// The buyer checks out `quantity` by card and pays at localstripe, whose
/// webhook pays the order in this app; returns the paid order.
pub async fn bought_and_paid(app: &TestApp, buyer: &str, product: &str, quantity: i64) -> Value {
    let (api_base, key, secret) = stripe();
    let url = format!("{}/v1/payments/webhook", app.serve().await);
    let hook = reqwest::Client::new()
        .post(format!("{api_base}/_config/webhooks/{}", ulid::Ulid::new()))
        .form(&[("url", url.as_str()), ("secret", secret.as_str())])
        .send()
        .await
        .expect("localstripe answers");
    assert!(hook.status().is_success());
    let order = app.buy(buyer, product, quantity).await;
    let intent = order["payment"]["reference"].as_str().unwrap();
    let confirmed = stripe_confirm_card(&api_base, &key, intent, "4242424242424242").await;
    assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    eventually(
        "localstripe's webhook paying the order",
        120,
        Duration::from_millis(250),
        || async {
            let current = app.order(buyer, &order_id).await;
            (current.body["data"]["status"] == "paid").then(|| current.body["data"].clone())
        },
    )
    .await
}

pub fn partner() -> PrintfulClient {
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("the stack sets {name}"));
    PrintfulClient::new(&env("PRINTFUL_API_BASE"), &env("PRINTFUL_TOKEN"), None).unwrap()
}

pub async fn at_partner(line_id: &str) -> shared::print_partner::PartnerOrder {
    partner()
        .order(&PartnerOrderRef::External(
            ExternalId::parse(line_id).unwrap(),
        ))
        .await
        .expect("the partner has the order")
}

#[tokio::test]
async fn a_paid_design_line_is_drafted_priced_and_confirmed_at_the_partner() {
    let s = design_shop(2900).await;
    let app = &s.app;
    let (buyer, _) = app.new_customer_token();
    let order = bought_and_paid(app, &buyer, &s.product, 2).await;
    let line_id = order["lines"][0]["lineId"].as_str().unwrap().to_owned();

    assert_eq!(app.drain_manufacturing().await, 1);
    let listed = app.manufacturing_orders(&s.seller, &s.org, "").await;
    let listed = listed.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let made = &listed[0];
    assert_eq!(made["id"], line_id.as_str());
    assert_eq!(made["orderId"], order["id"]);
    assert_eq!(made["status"], "confirmed", "{made}");
    assert_eq!(made["quantity"], 2);
    assert_eq!(made["garment"], "tshirt");
    // The stand-in's price: 12.50 a unit and 4.99 shipping, within 58.00.
    assert_eq!(made["costs"]["status"], "done");
    assert_eq!(made["costs"]["total"], 2999);
    assert_eq!(made["costs"]["currency"], "EUR");
    assert_eq!(made["maxCost"], 5800);
    let partner_order = at_partner(&line_id).await;
    assert_eq!(partner_order.status, PartnerOrderStatus::Pending);
    assert_eq!(made["partnerOrderId"], partner_order.id.as_str());

    // Queued again (a record delivered twice): nothing new is made.
    let state = app.studio_state();
    studio::manufacturing::worker::make_order(&state, order["id"].as_str().unwrap())
        .await
        .unwrap();
    let again = app.manufacturing_order(&s.seller, &s.org, &line_id).await;
    assert_eq!(again.assert_ok(StatusCode::OK)["status"], "confirmed");
    let listed = app.manufacturing_orders(&s.seller, &s.org, "").await;
    assert_eq!(
        listed.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        1
    );

    // Another org's manufacturing order does not exist for it.
    let other = app.signed_in_as(&unique_email("rival")).await;
    let other_org = app.new_org(&other, "seller").await;
    app.manufacturing_order(&other, &other_org, &line_id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let theirs = app.manufacturing_orders(&other, &other_org, "").await;
    assert_eq!(theirs.assert_ok(StatusCode::OK), &json!([]));
    app.manufacturing_orders(&other, &s.org, "")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.manufacturing_order(&buyer, &s.org, &line_id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn costs_above_what_the_line_sells_for_hold_the_order_unconfirmed() {
    // 15.00 a shirt; the partner charges 12.50 + 4.99 shipping.
    let s = design_shop(1500).await;
    let app = &s.app;
    let (buyer, _) = app.new_customer_token();
    let order = bought_and_paid(app, &buyer, &s.product, 1).await;
    let line_id = order["lines"][0]["lineId"].as_str().unwrap().to_owned();

    app.drain_manufacturing().await;
    let made = app.manufacturing_order(&s.seller, &s.org, &line_id).await;
    let made = made.assert_ok(StatusCode::OK);
    assert_eq!(made["status"], "on_hold", "{made}");
    assert!(
        made["statusReason"].as_str().unwrap().contains("exceed"),
        "{made}"
    );
    assert_eq!(made["costs"]["total"], 1749);
    assert_eq!(at_partner(&line_id).await.status, PartnerOrderStatus::Draft);
}

#[tokio::test]
async fn the_manufacturing_queue_sample_reaches_the_worker() {
    let app = spawn_app().await;
    let event: shared::sqs::SqsEvent = serde_json::from_value(
        bodega_tests::sample_events()["studio/manufacturing-batch.json"].clone(),
    )
    .expect("an SQS event");
    // The sample's order does not exist here: nothing to make, nothing to retry.
    let response = studio::manufacturing::worker::handle_batch(&app.studio_state(), event).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
}
