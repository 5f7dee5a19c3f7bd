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

/// A message that can never be read is reported on both queues (so it
/// lands in the dead-letter queue after the retries), while the good
/// message beside it is handled.
#[tokio::test]
async fn unreadable_queue_messages_are_left_for_the_dead_letter_queue() {
    let app = spawn_app().await;
    let batch = |good: &str| -> shared::sqs::SqsEvent {
        let mut event = bodega_tests::sample_events()[good].clone();
        let mut poison = event["Records"][0].clone();
        poison["messageId"] = json!("poison-1");
        poison["body"] = json!("{not json");
        event["Records"].as_array_mut().unwrap().push(poison);
        serde_json::from_value(event).expect("an SQS event")
    };
    let failed = |r: shared::sqs::BatchResponse| -> Vec<String> {
        r.batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    };
    let made = studio::manufacturing::worker::handle_batch(
        &app.studio_state(),
        batch("studio/manufacturing-batch.json"),
    )
    .await;
    assert_eq!(failed(made), vec!["poison-1".to_owned()]);
    let shipped =
        orders::shipments::handle_batch(&app.services.store, batch("orders/shipments-batch.json"))
            .await;
    assert_eq!(failed(shipped), vec!["poison-1".to_owned()]);
}

fn webhook_secret() -> String {
    std::env::var("PRINTFUL_WEBHOOK_SECRET").expect("the stack sets PRINTFUL_WEBHOOK_SECRET")
}

/// A Printful event about the line's order, as Printful would sign it.
fn event(kind: &str, occurred_at: Value, line_id: &str, partner_id: &str, data: Value) -> String {
    let mut data = data;
    data["order"] = json!({"id": partner_id.parse::<u64>().unwrap(), "external_id": line_id});
    json!({"type": kind, "occurred_at": occurred_at, "retries": 0, "store_id": 1, "data": data})
        .to_string()
}

fn signed(payload: &str) -> String {
    shared::print_partner::webhook::sign(payload.as_bytes(), &webhook_secret())
}

async fn status_of(s: &Studio, line_id: &str) -> Value {
    s.app
        .manufacturing_order(&s.seller, &s.org, line_id)
        .await
        .assert_ok(StatusCode::OK)
        .clone()
}

/// A design sold, paid and confirmed at the partner; returns the buyer's
/// token and email, the order and its line's id.
async fn confirmed(s: &Studio) -> (String, String, Value, String) {
    let email = unique_email("buyer");
    let buyer = s.app.signed_in_as(&email).await;
    let order = bought_and_paid(&s.app, &buyer, &s.product, 1).await;
    let line_id = order["lines"][0]["lineId"].as_str().unwrap().to_owned();
    s.app.drain_manufacturing().await;
    assert_eq!(status_of(s, &line_id).await["status"], "confirmed");
    (buyer, email, order, line_id)
}

#[tokio::test]
async fn forged_replayed_old_and_backward_webhooks_change_nothing() {
    let s = design_shop(2900).await;
    let app = &s.app;
    let (_, _, _, line_id) = confirmed(&s).await;
    let partner_id = status_of(&s, &line_id).await["partnerOrderId"]
        .as_str()
        .unwrap()
        .to_owned();
    let delivered = event(
        "shipment_delivered",
        json!(shared::domain::now_rfc3339()),
        &line_id,
        &partner_id,
        json!({"shipment": {"id": 77, "carrier": "DHL", "tracking_number": "PF77",
                            "tracking_url": "https://track.example/PF77", "shipment_status": "delivered"}}),
    );

    // Forged (another secret), unsigned, or altered: refused, nothing moves.
    let forged = shared::print_partner::webhook::sign(delivered.as_bytes(), "00ff00ff");
    app.partner_webhook(&delivered, Some(&forged))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.partner_webhook(&delivered, None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let altered = delivered.replace("PF77", "PF78");
    app.partner_webhook(&altered, Some(&signed(&delivered)))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    // Signed, but captured long ago: refused too.
    let old = event(
        "shipment_delivered",
        json!(shared::domain::now_epoch() - 600),
        &line_id,
        &partner_id,
        json!({"shipment": {"id": 77, "tracking_number": "PF77"}}),
    );
    app.partner_webhook(&old, Some(&signed(&old)))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    // An unknown partner.
    app.send(
        axum::http::Request::post("/v1/manufacturing/webhooks/printify")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(delivered.clone()))
            .unwrap(),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let unchanged = status_of(&s, &line_id).await;
    assert_eq!(unchanged["status"], "confirmed");
    assert_eq!(unchanged["shipments"], json!([]));

    // A genuine v1-style `package_shipped` (unix `created`) ships it.
    let package_shipped = json!({
        "type": "package_shipped", "created": shared::domain::now_epoch(), "retries": 0,
        "store": 1, "data": {
            "shipment": {"id": 77, "carrier": "DHL", "tracking_number": "PF77"},
            "order": {"id": partner_id.parse::<u64>().unwrap(), "external_id": line_id, "status": "fulfilled"}
        }
    })
    .to_string();
    let applied = app
        .partner_webhook(&package_shipped, Some(&signed(&package_shipped)))
        .await;
    assert_eq!(applied.assert_ok(StatusCode::OK)["outcome"], "applied");
    let shipped = status_of(&s, &line_id).await;
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(shipped["shipments"][0]["trackingNumber"], "PF77");

    // The genuine delivery applies once, its tracking merged into the
    // parcel's; its replay is a duplicate.
    let applied = app
        .partner_webhook(&delivered, Some(&signed(&delivered)))
        .await;
    assert_eq!(applied.assert_ok(StatusCode::OK)["outcome"], "applied");
    let after = status_of(&s, &line_id).await;
    assert_eq!(after["status"], "delivered");
    assert_eq!(after["shipments"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after["shipments"][0]["trackingNumber"], "PF77");
    assert_eq!(after["shipments"][0]["carrier"], "DHL");
    assert_eq!(
        after["shipments"][0]["trackingUrl"],
        "https://track.example/PF77"
    );
    assert_eq!(after["shipments"][0]["status"], "delivered");
    let replayed = app
        .partner_webhook(&delivered, Some(&signed(&delivered)))
        .await;
    assert_eq!(replayed.assert_ok(StatusCode::OK)["outcome"], "duplicate");

    // A late report of an earlier status does not move it back.
    let late = event(
        "order_updated",
        json!(shared::domain::now_rfc3339()),
        &line_id,
        &partner_id,
        json!({}),
    )
    .replace(r#""external_id""#, r#""status":"inprocess","external_id""#);
    let answer = app.partner_webhook(&late, Some(&signed(&late))).await;
    assert_eq!(answer.assert_ok(StatusCode::OK)["outcome"], "unchanged");
    let last = status_of(&s, &line_id).await;
    assert_eq!(last["status"], "delivered");
    assert_eq!(last["updatedAt"], after["updatedAt"]);
    // Not one of ours.
    let stranger = event(
        "order_updated",
        json!(shared::domain::now_rfc3339()),
        "01JDD0NOTOURS0000000000000",
        "1",
        json!({}),
    );
    let answer = app
        .partner_webhook(&stranger, Some(&signed(&stranger)))
        .await;
    assert_eq!(answer.assert_ok(StatusCode::OK)["outcome"], "ignored");
}

/// The journey: a design published, bought and paid at localstripe, drafted
/// and confirmed at the partner, shipped there (its signed webhook posted
/// here over HTTP), the fulfilment shipped with tracking, the buyer emailed.
#[tokio::test]
async fn a_design_sold_is_made_shipped_and_the_buyer_told() {
    let s = design_shop(2900).await;
    let app = &s.app;
    let (buyer, email, order, line_id) = confirmed(&s).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    let made = status_of(&s, &line_id).await;
    let partner_id = made["partnerOrderId"].as_str().unwrap().to_owned();

    // The stand-in ships it and posts its signed shipment_sent webhook here.
    let url = format!("{}/v1/manufacturing/webhooks/printful", app.serve().await);
    let shipped = reqwest::Client::new()
        .post(format!(
            "{}/_standin/orders/{partner_id}/ship",
            std::env::var("PRINTFUL_API_BASE").unwrap()
        ))
        .json(&json!({"url": url}))
        .send()
        .await
        .expect("the stand-in answers")
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(shipped["delivered"], 200, "{shipped}");
    let tracking = shipped["event"]["data"]["shipment"]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let after = status_of(&s, &line_id).await;
    assert_eq!(after["status"], "shipped");
    assert_eq!(after["shipments"][0]["trackingNumber"], tracking.as_str());
    assert_eq!(after["shipments"][0]["carrier"], "DHL");

    // Orders marks the seller's fulfilment shipped; the buyer is emailed.
    assert_eq!(app.drain_shipments().await, 1);
    let fulfilment = app.fulfilment(&s.seller, &s.org, &order_id).await;
    let fulfilment = fulfilment.assert_ok(StatusCode::OK);
    assert_eq!(fulfilment["status"], "shipped", "{fulfilment}");
    assert_eq!(fulfilment["trackingNumber"], tracking.as_str());
    assert_eq!(fulfilment["carrier"], "DHL");
    let current = app.order(&buyer, &order_id).await;
    assert_eq!(current.assert_ok(StatusCode::OK)["status"], "shipped");
    let mails = app.emails_to(&email).await;
    let shipped_mails: Vec<_> = mails
        .iter()
        .filter(|m| m.body.contains(&tracking))
        .collect();
    assert_eq!(
        shipped_mails.len(),
        1,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_shipments_queue_sample_reaches_the_orders_worker() {
    let app = spawn_app().await;
    let event: shared::sqs::SqsEvent = serde_json::from_value(
        bodega_tests::sample_events()["orders/shipments-batch.json"].clone(),
    )
    .expect("an SQS event");
    // The sample's order does not exist here: nothing to ship, nothing to retry.
    let response = orders::shipments::handle_batch(&app.services.store, event).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
}

#[tokio::test]
async fn a_lost_webhook_is_caught_by_the_reconciliation_schedule() {
    let s = design_shop(2900).await;
    let app = &s.app;
    let (_, _, order, line_id) = confirmed(&s).await;
    let partner_id = status_of(&s, &line_id).await["partnerOrderId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Shipped at the partner; its webhook goes nowhere of ours.
    let shipped = reqwest::Client::new()
        .post(format!(
            "{}/_standin/orders/{partner_id}/ship",
            std::env::var("PRINTFUL_API_BASE").unwrap()
        ))
        .json(&json!({"url": "http://127.0.0.1:9/lost"}))
        .send()
        .await
        .expect("the stand-in answers")
        .json::<Value>()
        .await
        .unwrap();
    assert_ne!(shipped["delivered"], 200, "{shipped}");
    let tracking = shipped["event"]["data"]["shipment"]["tracking_number"].clone();
    assert_eq!(status_of(&s, &line_id).await["status"], "confirmed");

    // A run that reads only orders idle for an hour leaves it alone.
    let state = app.studio_state();
    let now = shared::domain::now_epoch();
    let reconcile = studio::manufacturing::reconcile::sweep;
    let early = reconcile(&state, now, 3600).await.unwrap();
    assert_eq!(early.checked, 0, "{early:?}");
    // An hour later it reads the partner and applies what was missed.
    let report = reconcile(&state, now + 3601, 3600).await.unwrap();
    assert_eq!(
        (report.checked, report.updated, report.failed),
        (1, 1, 0),
        "{report:?}"
    );
    let caught = status_of(&s, &line_id).await;
    assert_eq!(caught["status"], "shipped");
    assert_eq!(caught["shipments"][0]["trackingNumber"], tracking);
    assert_eq!(app.drain_shipments().await, 1);
    let fulfilment = app
        .fulfilment(&s.seller, &s.org, order["id"].as_str().unwrap())
        .await;
    let fulfilment = fulfilment.assert_ok(StatusCode::OK);
    assert_eq!(fulfilment["status"], "shipped");
    assert_eq!(fulfilment["trackingNumber"], tracking);

    // Nothing new at the partner: the next run applies nothing, sends nothing.
    let again = reconcile(&state, now + 7300, 3600).await.unwrap();
    assert_eq!((again.checked, again.updated), (1, 0), "{again:?}");
    assert_eq!(app.drain_shipments().await, 0);
}

#[tokio::test]
async fn the_reconcile_schedule_sample_runs_the_sweep() {
    let app = spawn_app().await;
    let event = bodega_tests::sample_events()
        .remove("studio/reconcile-schedule.json")
        .expect("events/studio/reconcile-schedule.json");
    // The studio-reconcile binary ignores what EventBridge sends.
    assert_eq!(event["detail-type"], "Scheduled Event");
    let report = studio::manufacturing::reconcile::sweep(
        &app.studio_state(),
        shared::domain::now_epoch(),
        studio::manufacturing::reconcile::DEFAULT_STALE_AFTER_SECS,
    )
    .await
    .expect("the sweep runs on a fresh table");
    assert_eq!(report.checked, 0, "{report:?}");
}
