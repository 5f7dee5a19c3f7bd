//! Carts, checkout, orders, fulfilments and payments, against DynamoDB
//! Local and localstripe: money and stock move exactly once, whatever
//! retries and races happen.

use std::time::Duration;

use axum::http::StatusCode;
use bodega_tests::{
    TestApp, checkout_body, eventually, made_to_order_product, product_body, spawn_app,
    stripe_confirm_card, stripe_intent, unique_email,
};
use futures::future::join_all;
use serde_json::{Value, json};
use shared::config::SecretSource;
use shared::contracts::order::OrderSummary;
use shared::domain::now_epoch;
use shared::projections::order_stats;

/// A shop: admin, a seller org with a category, and the seller's token.
struct Shop {
    app: TestApp,
    admin: String,
    seller: String,
    seller_org: String,
    category: String,
}

async fn shop() -> Shop {
    shop_with(|_| {}).await
}

/// A shop whose configuration is adjusted first (e.g. its Stripe).
async fn shop_with(adjust: impl FnOnce(&mut shared::config::Config)) -> Shop {
    let app = bodega_tests::spawn_app_with(adjust).await;
    let admin_email = unique_email("admin");
    app.signed_in_as(&admin_email).await;
    let admin = app.promote_to_platform_admin(&admin_email).await;
    let seller = app.signed_in_as(&unique_email("seller")).await;
    let seller_org = app.new_org(&seller, "seller").await;
    let category = app.category(&admin, "vegetables").await;
    Shop {
        app,
        admin,
        seller,
        seller_org,
        category,
    }
}

impl Shop {
    /// A product of the shop's seller at `price` cents with `stock` units.
    async fn product(&self, sku: &str, price: i64, stock: i64) -> String {
        let mut body = product_body(&self.seller_org, sku, &self.category, sku, price);
        body["stock"] = json!(stock);
        self.app.new_product(&self.seller, &body).await
    }

    async fn stock(&self, product_id: &str) -> (i64, i64) {
        let product = self.app.get_product(product_id).await;
        let data = product.assert_ok(StatusCode::OK);
        let stock = &data["stock"];
        (
            stock["available"]
                .as_i64()
                .unwrap_or_else(|| panic!("{data}")),
            stock["reserved"]
                .as_i64()
                .unwrap_or_else(|| panic!("{data}")),
        )
    }
}

fn stripe_env() -> (String, String, String) {
    let config = bodega_tests::stack_config("unused").stripe;
    let (Some(SecretSource::Inline(key)), Some(SecretSource::Inline(secret))) =
        (config.secret_key, config.webhook_secret)
    else {
        panic!("the local stack sets STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET");
    };
    (config.api_base, key, secret)
}

fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}

/// A Stripe event about the payment of `order`, as Stripe would send it.
fn intent_event(event_id: &str, kind: &str, order: &Value) -> Value {
    json!({
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": now_epoch(),
        "data": { "object": {
            "id": order["payment"]["reference"],
            "object": "payment_intent",
            "amount": order["totals"]["total"],
            "currency": order["totals"]["currency"].as_str().unwrap().to_lowercase(),
            "metadata": { "order_id": order["id"] },
            "last_payment_error": { "message": "Your card was declined." },
        }},
    })
}

async fn paid(shop: &Shop, token: &str, product: &str, quantity: i64) -> Value {
    let order = shop.app.buy(token, product, quantity).await;
    let (_, _, secret) = stripe_env();
    let event = intent_event(
        &format!("evt_{}", ulid::Ulid::new()),
        "payment_intent.succeeded",
        &order,
    );
    shop.app
        .stripe_webhook(&event, &secret)
        .await
        .assert_ok(StatusCode::OK);
    let paid = shop.app.order(token, &id(&order)).await;
    let data = paid.assert_ok(StatusCode::OK).clone();
    assert_eq!(data["status"], "paid", "{data}");
    data
}

#[tokio::test]
async fn a_cart_holds_lines_at_current_prices_and_refuses_what_cannot_be_bought() {
    let shop = shop().await;
    let app = &shop.app;
    let (buyer, _) = app.new_customer_token();
    let mut tiered = product_body(
        &shop.seller_org,
        "tomatoes",
        &shop.category,
        "Tomatoes",
        1_000,
    );
    tiered["priceTiers"] = json!([{ "minQuantity": 10, "unitPrice": 900 }]);
    tiered["minimumOrderQuantity"] = json!(2);
    tiered["stock"] = json!(50);
    let tomatoes = app.new_product(&shop.seller, &tiered).await;

    app.add_to_cart(&buyer, None, &tomatoes, 1)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let cart = app.add_to_cart(&buyer, None, &tomatoes, 3).await;
    let data = cart.assert_ok(StatusCode::OK);
    assert_eq!(data["currency"], "EUR");
    assert_eq!(data["lines"][0]["unitPrice"], 1_000);
    assert_eq!(data["lines"][0]["stockStatus"], "in_stock");
    // Adding again adds up, and the tier price applies from 10.
    let data = app
        .add_to_cart(&buyer, None, &tomatoes, 7)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(data["lines"][0]["quantity"], 10);
    assert_eq!(data["lines"][0]["unitPrice"], 900);
    assert_eq!(data["subtotal"], 9_000);
    assert_eq!(data["readyForCheckout"], true);
    let data = app
        .set_cart_quantity(&buyer, &tomatoes, 60)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(data["lines"][0]["stockStatus"], "insufficient");
    assert_eq!(data["readyForCheckout"], false);

    let mut usd = product_body(&shop.seller_org, "usd-beans", &shop.category, "Beans", 500);
    usd["price"]["currency"] = json!("USD");
    let beans = app.new_product(&shop.seller, &usd).await;
    let mixed = app.add_to_cart(&buyer, None, &beans, 1).await;
    mixed.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        mixed.body["error"]["fields"]["productId"].is_array(),
        "{}",
        mixed.body
    );

    let archived = shop.product("gone", 100, 5).await;
    app.archive_product(&shop.seller, &archived).await;
    app.add_to_cart(&buyer, None, &archived, 1)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.add_to_cart(&buyer, None, "no-such-product", 1)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.add_to_cart(&buyer, None, &tomatoes, 0)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    app.remove_from_cart(&buyer, "not-in-cart")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let emptied = app.remove_from_cart(&buyer, &tomatoes).await;
    assert_eq!(emptied.assert_ok(StatusCode::OK)["lines"], json!([]));
    app.add_to_cart(&buyer, None, &tomatoes, 2)
        .await
        .assert_ok(StatusCode::OK);
    app.clear_cart(&buyer, None).await.assert_ok(StatusCode::OK);
    assert_eq!(
        app.cart(&buyer, None).await.assert_ok(StatusCode::OK)["lines"],
        json!([])
    );
    app.cart("not-a-token", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
}

#[tokio::test]
async fn checkout_prices_on_the_server_reserves_stock_and_empties_the_cart() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("carrots", 1_050, 10).await;
    let (buyer, buyer_id) = app.new_customer_token();
    app.add_to_cart(&buyer, None, &product, 2)
        .await
        .assert_ok(StatusCode::OK);
    let mut body = checkout_body("card");
    // Prices or totals the buyer sends are refused by name, and nothing is
    // held: the order's prices are the catalog's.
    for (field, value) in [
        ("totals", json!({ "total": 1 })),
        (
            "lines",
            json!([{ "productId": product, "quantity": 2, "unitPrice": 1 }]),
        ),
    ] {
        let mut sneaky = body.clone();
        sneaky[field] = value;
        let refused = app.checkout(&buyer, None, Some(field), &sneaky).await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(
            refused.body["error"]["fields"].get(field).is_some(),
            "{}",
            refused.body
        );
    }
    assert_eq!(shop.stock(&product).await, (10, 0), "nothing was held");
    body["note"] = json!("Leave at the door");
    let placed = app.checkout(&buyer, None, Some("first-try"), &body).await;
    let order = placed.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["buyer"]["userId"], buyer_id.as_str());
    // 2 × 10.50 = 21.00, shipping 5.00, 19 % German VAT on 26.00 = 4.94.
    assert_eq!(
        order["totals"],
        json!({ "currency": "EUR", "subtotal": 2_100, "shipping": 500, "taxRateBasisPoints": 1900, "tax": 494, "total": 3_094 })
    );
    assert_eq!(order["billingAddress"], order["shippingAddress"]);
    assert_eq!(order["note"], "Leave at the door");
    assert!(
        order["payment"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("pi_"),
        "{order}"
    );
    assert!(
        order["payment"]["clientSecret"].as_str().is_some(),
        "{order}"
    );
    assert!(order["expiresAt"].as_str().is_some());
    assert_eq!(order["history"][0]["status"], "pending_payment");
    // The order was written once, with the payment's reference.
    assert_eq!(order["version"], 1);
    assert_eq!(order["updatedAt"], order["createdAt"]);
    assert_eq!(shop.stock(&product).await, (8, 2));
    assert_eq!(
        app.cart(&buyer, None).await.assert_ok(StatusCode::OK)["lines"],
        json!([])
    );

    // A buyer who says what total they saw is not charged more.
    app.add_to_cart(&buyer, None, &product, 1)
        .await
        .assert_ok(StatusCode::OK);
    let mut agreed = checkout_body("card");
    agreed["expectedTotal"] = json!(1_845);
    app.update_product(
        &shop.seller,
        &product,
        None,
        &json!({ "price": { "amount": 1_100, "currency": "EUR" } }),
    )
    .await
    .assert_ok(StatusCode::OK);
    let changed = app.checkout(&buyer, None, Some("agreed"), &agreed).await;
    changed.assert_error(StatusCode::CONFLICT, "CONFLICT");
    assert_eq!(
        changed.body["error"]["details"]["totals"]["total"], 1_904,
        "{}",
        changed.body
    );
    assert_eq!(shop.stock(&product).await, (8, 2), "nothing was held");
    agreed["expectedTotal"] = json!(1_904);
    app.checkout(&buyer, None, Some("agreed-2"), &agreed)
        .await
        .assert_ok(StatusCode::CREATED);

    // The seller sees its fulfilment, waiting for payment.
    let fulfilments = app.fulfilments(&shop.seller, &shop.seller_org, "").await;
    let list = fulfilments.assert_ok(StatusCode::OK);
    assert_eq!(list[1]["orderId"], order["id"]);
    assert_eq!(list[1]["status"], "pending_payment");
    assert_eq!(list[1]["shippingAddress"]["city"], "Berlin");

    let mine = app.orders(&buyer, "").await;
    assert_eq!(
        mine.assert_ok(StatusCode::OK)[1]["id"],
        order["id"],
        "newest first"
    );
}

#[tokio::test]
async fn checkout_refuses_bad_requests_and_writes_nothing() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("leeks", 300, 5).await;
    let (buyer, _) = app.new_customer_token();
    app.checkout(&buyer, None, Some("k1"), &checkout_body("card"))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.add_to_cart(&buyer, None, &product, 1)
        .await
        .assert_ok(StatusCode::OK);
    app.checkout(&buyer, None, None, &checkout_body("card"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let mut bad = checkout_body("cash");
    bad["shippingAddress"]["country"] = json!("XX");
    bad["shippingAddress"]["city"] = json!("");
    let refused = app.checkout(&buyer, None, Some("k2"), &bad).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = &refused.body["error"]["fields"];
    for field in [
        "shippingAddress.country",
        "shippingAddress.city",
        "paymentMethod",
    ] {
        assert!(fields[field].is_array(), "{field}: {}", refused.body);
    }
    // Invoices are for verified organizations only.
    let invoice = app
        .checkout(&buyer, None, Some("k3"), &checkout_body("invoice"))
        .await;
    invoice.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    // Stock sold elsewhere meanwhile: 409 naming the product.
    app.set_cart_quantity(&buyer, &product, 5)
        .await
        .assert_ok(StatusCode::OK);
    app.adjust_stock(&shop.seller, &product, -1)
        .await
        .assert_ok(StatusCode::OK);
    let short = app
        .checkout(&buyer, None, Some("k4"), &checkout_body("card"))
        .await;
    short.assert_error(StatusCode::CONFLICT, "CONFLICT");
    let lines = &short.body["error"]["details"]["lines"];
    assert_eq!(lines[0]["productId"], product.as_str(), "{}", short.body);
    assert_eq!(lines[0]["available"], 4);
    assert_eq!(lines[0]["problem"], "insufficient_stock");
    assert_eq!(shop.stock(&product).await, (4, 0));
    assert_eq!(
        app.orders(&buyer, "").await.assert_ok(StatusCode::OK),
        &json!([])
    );
    assert_eq!(
        app.cart(&buyer, None).await.assert_ok(StatusCode::OK)["lines"][0]["quantity"],
        5
    );
}

#[tokio::test]
async fn a_cart_too_large_for_one_transaction_is_refused_with_the_limit() {
    let shop = shop().await;
    let app = &shop.app;
    // One product at a time: concurrent creations (bulk) contend on the
    // category's condition check and, under load, some fail alone; the
    // limit is what this test is about, not bulk creation.
    let mut ids = Vec::new();
    for i in 0..94 {
        ids.push(shop.product(&format!("bulk-{i}"), 100, 5).await);
    }
    let other_seller = app.signed_in_as(&unique_email("other-seller")).await;
    let other_org = app.new_org(&other_seller, "seller").await;
    let other = app
        .new_product(
            &other_seller,
            &product_body(&other_org, "other-1", &shop.category, "Other", 100),
        )
        .await;
    let (buyer, _) = app.new_customer_token();
    for id in &ids[..93] {
        app.add_to_cart(&buyer, None, id, 1)
            .await
            .assert_ok(StatusCode::OK);
    }
    app.add_to_cart(&buyer, None, &other, 1)
        .await
        .assert_ok(StatusCode::OK);
    // A cart holds at most 94 lines.
    let full = app.add_to_cart(&buyer, None, &ids[93], 1).await;
    full.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    // 94 lines from 2 sellers: 5 + 94 + 2 = 101 writes, one too many. The
    // refusal comes before any payment or write, whatever the load.
    let refused = checkout_as_a_client(app, &buyer, "big", &checkout_body("card")).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let message = refused.body["error"]["fields"]["cart"][0].as_str().unwrap();
    assert!(
        message.contains("101") && message.contains("100"),
        "{message}"
    );
    assert_eq!(shop.stock(&ids[0]).await, (5, 0));
    // Without the second seller's line: 5 + 93 + 1 = 99 writes. A 99-item
    // transaction can outlast the request's deadline on a loaded DynamoDB
    // Local: the client retries its 503 with the same key, and gets the
    // one order either way (201, or 200 when the first attempt committed).
    app.remove_from_cart(&buyer, &other)
        .await
        .assert_ok(StatusCode::OK);
    let placed = checkout_as_a_client(app, &buyer, "big-2", &checkout_body("card")).await;
    assert!(
        matches!(placed.status, StatusCode::CREATED | StatusCode::OK),
        "{:?} {}",
        placed.status,
        placed.body
    );
    let lines = placed.body["data"]["lines"].as_array().unwrap().len();
    assert_eq!(lines, 93);
    assert_eq!(shop.stock(&ids[0]).await, (4, 1));
    let orders = app.admin_orders(&shop.admin, "limit=100").await;
    assert_eq!(
        orders.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        1
    );
}

/// A checkout as a well-behaved client sends it: on a 503 (DynamoDB Local
/// slows down under heavy contention) it waits and retries with the same
/// Idempotency-Key, so a lost answer never places a second order.
async fn checkout_as_a_client(
    app: &TestApp,
    token: &str,
    key: &str,
    body: &Value,
) -> bodega_tests::TestResponse {
    eventually(
        "an available checkout",
        10,
        Duration::from_millis(300),
        || async {
            let response = app.checkout(token, None, Some(key), body).await;
            (response.status != StatusCode::SERVICE_UNAVAILABLE).then_some(response)
        },
    )
    .await
}

#[tokio::test]
async fn fifty_concurrent_checkouts_of_ten_units_make_exactly_ten_orders() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("last-ten", 500, 10).await;
    let mut buyers = Vec::new();
    for _ in 0..50 {
        let (token, _) = app.new_customer_token();
        app.add_to_cart(&token, None, &product, 1)
            .await
            .assert_ok(StatusCode::OK);
        buyers.push(token);
    }
    let body = checkout_body("card");
    // Each buyer checks out once, as a client would: on a 503 (DynamoDB
    // Local slows down under this contention) it retries with the same key.
    let outcomes = join_all(
        buyers
            .iter()
            .map(|token| checkout_as_a_client(app, token, "checkout-1", &body)),
    )
    .await;
    let mut orders = Vec::new();
    let mut conflicts = 0;
    for response in &outcomes {
        match response.status {
            StatusCode::CREATED | StatusCode::OK => orders.push(id(&response.body["data"])),
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("{other:?} {}", response.body),
        }
    }
    orders.sort();
    orders.dedup();
    assert_eq!((orders.len(), conflicts), (10, 40));
    assert_eq!(shop.stock(&product).await, (0, 10));
    let all = app.admin_orders(&shop.admin, "limit=100").await;
    assert_eq!(all.assert_ok(StatusCode::OK).as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn one_idempotency_key_sent_twenty_times_at_once_places_one_order() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("once", 700, 100).await;
    let (buyer, _) = app.new_customer_token();
    app.add_to_cart(&buyer, None, &product, 3)
        .await
        .assert_ok(StatusCode::OK);
    let body = checkout_body("card");
    let responses =
        join_all((0..20).map(|_| checkout_as_a_client(app, &buyer, "same-key", &body))).await;
    let mut order_ids: Vec<String> = responses
        .iter()
        .map(|r| {
            assert!(r.status.is_success(), "{:?} {}", r.status, r.body);
            id(&r.body["data"])
        })
        .collect();
    order_ids.dedup();
    assert_eq!(order_ids.len(), 1, "{order_ids:?}");
    // One created it (unless its answer was lost to a timeout and its
    // retry was a replay); every other answer is a replay.
    assert!(
        responses
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count()
            <= 1
    );
    assert!(
        responses
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .all(|r| r.headers["idempotent-replayed"] == "true")
    );
    assert_eq!(shop.stock(&product).await, (97, 3));
    // Every answer carries the one order's client secret.
    let secret = &responses[0].body["data"]["payment"]["clientSecret"];
    assert!(secret.is_string(), "{}", responses[0].body);
    assert!(
        responses
            .iter()
            .all(|r| r.body["data"]["payment"]["clientSecret"] == *secret)
    );
    // Later: the same key and body replays; another body is refused.
    let replay = app.checkout(&buyer, None, Some("same-key"), &body).await;
    assert_eq!(id(replay.assert_ok(StatusCode::OK)), order_ids[0]);
    assert_eq!(replay.body["data"]["payment"]["clientSecret"], *secret);
    let mut other = body.clone();
    other["note"] = json!("changed my mind");
    app.checkout(&buyer, None, Some("same-key"), &other)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(
        app.orders(&buyer, "")
            .await
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_card_payment_confirmed_at_stripe_pays_the_order_through_its_webhook() {
    let shop = shop().await;
    let app = &shop.app;
    let (api_base, key, secret) = stripe_env();
    // localstripe delivers its events to this app over HTTP.
    let url = format!("{}/v1/payments/webhook", app.serve().await);
    let hook = reqwest::Client::new()
        .post(format!("{api_base}/_config/webhooks/{}", ulid::Ulid::new()))
        .form(&[("url", url.as_str()), ("secret", secret.as_str())])
        .send()
        .await
        .expect("localstripe answers");
    assert!(hook.status().is_success());

    let product = shop.product("paid-by-card", 2_000, 5).await;
    let (buyer, _) = app.new_customer_token();
    let order = app.buy(&buyer, &product, 2).await;
    let intent = order["payment"]["reference"].as_str().unwrap();
    let confirmed = stripe_confirm_card(&api_base, &key, intent, "4242424242424242").await;
    assert_eq!(confirmed["status"], "succeeded", "{confirmed}");

    eventually(
        "localstripe's webhook paying the order",
        60,
        Duration::from_millis(250),
        || async {
            let current = app.order(&buyer, &id(&order)).await;
            (current.body["data"]["status"] == "paid").then_some(())
        },
    )
    .await;
    assert_eq!(shop.stock(&product).await, (3, 0));
    let fulfilment = app
        .fulfilment(&shop.seller, &shop.seller_org, &id(&order))
        .await;
    assert_eq!(fulfilment.assert_ok(StatusCode::OK)["status"], "paid");
}

#[tokio::test]
async fn webhooks_apply_once_and_forged_ones_are_refused() {
    let shop = shop().await;
    let app = &shop.app;
    let (_, _, secret) = stripe_env();
    let product = shop.product("webhooked", 1_000, 5).await;
    let (buyer, _) = app.new_customer_token();
    let order = app.buy(&buyer, &product, 1).await;

    let failed = intent_event("evt_failed_1", "payment_intent.payment_failed", &order);
    let response = app.stripe_webhook(&failed, &secret).await;
    assert_eq!(response.assert_ok(StatusCode::OK)["outcome"], "applied");
    let current = app.order(&buyer, &id(&order)).await;
    let data = current.assert_ok(StatusCode::OK);
    assert_eq!(
        (data["status"].as_str(), data["payment"]["state"].as_str()),
        (Some("pending_payment"), Some("failed"))
    );
    assert_eq!(data["payment"]["lastError"], "Your card was declined.");

    let succeeded = intent_event("evt_paid_1", "payment_intent.succeeded", &order);
    // Forged: another secret, a stale timestamp, a tampered body, no header.
    app.stripe_webhook(&succeeded, "whsec_not_ours")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let payload = succeeded.to_string();
    let stale = shared::payments::webhook::sign(payload.as_bytes(), &secret, now_epoch() - 3600);
    app.send_webhook(&payload, &stale)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let signed = shared::payments::webhook::sign(payload.as_bytes(), &secret, now_epoch());
    let tampered = payload.replace("evt_paid_1", "evt_paid_2");
    app.send_webhook(&tampered, &signed)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.send_webhook(&payload, "")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert_eq!(
        app.order(&buyer, &id(&order)).await.body["data"]["status"],
        "pending_payment"
    );

    // The real event, delivered three times: one change.
    let outcomes: Vec<Value> = join_all((0..3).map(|_| app.stripe_webhook(&succeeded, &secret)))
        .await
        .iter()
        .map(|r| r.assert_ok(StatusCode::OK)["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "applied").count(),
        1,
        "{outcomes:?}"
    );
    let current = app.order(&buyer, &id(&order)).await;
    let data = current.assert_ok(StatusCode::OK);
    assert_eq!(data["status"], "paid");
    let paid_entries = data["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["status"] == "paid")
        .count();
    assert_eq!(paid_entries, 1);
    assert_eq!(shop.stock(&product).await, (4, 0));
    // A payment for an amount other than the order's is not applied.
    let other = app.buy(&buyer, &product, 1).await;
    let mut wrong = intent_event("evt_wrong_amount", "payment_intent.succeeded", &other);
    wrong["data"]["object"]["amount"] = json!(1);
    assert_eq!(
        app.stripe_webhook(&wrong, &secret)
            .await
            .assert_ok(StatusCode::OK)["outcome"],
        "ignored"
    );
    assert_eq!(
        app.order(&buyer, &id(&other)).await.body["data"]["status"],
        "pending_payment"
    );
}

#[tokio::test]
async fn buyers_see_only_their_orders_and_sellers_only_their_fulfilments() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("private", 1_000, 10).await;
    let (alice, _) = app.new_customer_token();
    let (bob, _) = app.new_customer_token();
    let order = paid(&shop, &alice, &product, 1).await;
    let order_id = id(&order);
    app.order(&bob, &order_id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.cancel_order(&bob, &order_id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(
        app.orders(&bob, "").await.assert_ok(StatusCode::OK),
        &json!([])
    );
    let admin_view = app.order(&shop.admin, &order_id).await;
    let admin_view = admin_view.assert_ok(StatusCode::OK);
    assert!(
        admin_view["payment"]["clientSecret"].is_null(),
        "only the buyer sees the client secret"
    );

    // Another seller can neither see nor move this fulfilment.
    let rival = app.signed_in_as(&unique_email("rival")).await;
    let rival_org = app.new_org(&rival, "seller").await;
    let step = json!({ "status": "fulfilling" });
    app.advance_fulfilment(&rival, &rival_org, &order_id, &step)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.fulfilment(&rival, &rival_org, &order_id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.advance_fulfilment(&rival, &shop.seller_org, &order_id, &step)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(
        app.fulfilments(&rival, &rival_org, "")
            .await
            .assert_ok(StatusCode::OK),
        &json!([])
    );
    // A buyer without a seller role cannot move it either.
    app.advance_fulfilment(&alice, &shop.seller_org, &order_id, &step)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.admin_orders(&alice, "")
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // A member of the seller org without order:fulfil sees but cannot move it.
    let (viewer, _) = app
        .joins_org(
            &shop.seller,
            &shop.seller_org,
            &unique_email("viewer"),
            "member",
            &["viewer"],
        )
        .await;
    app.fulfilment(&viewer, &shop.seller_org, &order_id)
        .await
        .assert_ok(StatusCode::OK);
    app.advance_fulfilment(&viewer, &shop.seller_org, &order_id, &step)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // Cancelling takes an optional reason, which must be readable and short.
    let path = format!("/v1/orders/{order_id}/cancel");
    let long = json!({ "reason": "x".repeat(501) });
    app.call(axum::http::Method::POST, &path, Some(&alice), Some(&long))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let garbled = axum::http::Request::post(&path)
        .header("authorization", format!("Bearer {alice}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    app.send(garbled)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let reason = json!({ "reason": "Ordered twice by mistake" });
    let cancelled = app
        .call(axum::http::Method::POST, &path, Some(&alice), Some(&reason))
        .await;
    let history = cancelled.assert_ok(StatusCode::OK)["history"].clone();
    assert_eq!(
        history.as_array().unwrap().last().unwrap()["note"],
        "Ordered twice by mistake"
    );
}

#[tokio::test]
async fn sellers_ship_and_deliver_and_the_order_follows() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("shipped", 1_000, 10).await;
    let (buyer, _) = app.new_customer_token();
    let unpaid = app.buy(&buyer, &product, 1).await;
    app.advance_fulfilment(
        &shop.seller,
        &shop.seller_org,
        &id(&unpaid),
        &json!({ "status": "fulfilling" }),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let order = paid(&shop, &buyer, &product, 2).await;
    let order_id = id(&order);
    let (seller, org) = (&shop.seller, &shop.seller_org);
    app.advance_fulfilment(seller, org, &order_id, &json!({ "status": "delivered" }))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.advance_fulfilment(seller, org, &order_id, &json!({ "status": "shipped" }))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.advance_fulfilment(seller, org, &order_id, &json!({ "status": "fulfilling" }))
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(
        app.order(&buyer, &order_id).await.body["data"]["status"],
        "fulfilling"
    );
    // The buyer can no longer cancel once it is being fulfilled.
    app.cancel_order(&buyer, &order_id)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let shipped = app
        .advance_fulfilment(seller, org, &order_id, &json!({ "status": "shipped", "carrier": "DHL", "trackingNumber": "00340434161094042557" }))
        .await;
    let data = shipped.assert_ok(StatusCode::OK);
    assert_eq!(
        (data["carrier"].as_str(), data["trackingNumber"].as_str()),
        (Some("DHL"), Some("00340434161094042557"))
    );
    assert_eq!(
        app.order(&buyer, &order_id).await.body["data"]["status"],
        "shipped"
    );
    app.cancel_order(&shop.admin, &order_id)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.advance_fulfilment(seller, org, &order_id, &json!({ "status": "delivered" }))
        .await
        .assert_ok(StatusCode::OK);
    let done = app.order(&buyer, &order_id).await;
    let data = done.assert_ok(StatusCode::OK);
    assert_eq!(data["status"], "delivered");
    let steps: Vec<&str> = data["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "pending_payment",
            "paid",
            "fulfilling",
            "shipped",
            "delivered"
        ]
    );
    assert!(
        data["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["by"].as_str().is_some() && h["at"].as_str().is_some())
    );
    let ready = app.fulfilments(seller, org, "status=delivered").await;
    assert_eq!(ready.assert_ok(StatusCode::OK).as_array().unwrap().len(), 1);
    app.fulfilments(seller, org, "status=lost")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    // Delivered orders can still be refunded by an admin; stock stays sold.
    let refunded = app.refund_order(&shop.admin, &order_id).await;
    let data = refunded.assert_ok(StatusCode::OK);
    assert_eq!(data["status"], "refunded");
    assert_eq!(
        data["payment"]["refund"]["state"], "failed",
        "the intent was never charged at Stripe: {data}"
    );
    assert_eq!(data["payment"]["refund"]["failedAttempts"], 1);
    // An admin retries: a new attempt reaches Stripe (and fails again here).
    let retried = app.refund_order(&shop.admin, &order_id).await;
    let data = retried.assert_ok(StatusCode::OK);
    assert_eq!(data["payment"]["refund"]["failedAttempts"], 2, "{data}");
    let history = data["history"].as_array().unwrap();
    assert_eq!(
        history.iter().filter(|h| h["status"] == "refunded").count(),
        1
    );
    assert_eq!(shop.stock(&product).await, (7, 1));
}

#[tokio::test]
async fn cancelling_returns_stock_and_refunds_a_card_payment_at_stripe() {
    let shop = shop().await;
    let app = &shop.app;
    let (api_base, key, secret) = stripe_env();
    let product = shop.product("cancelled", 1_500, 10).await;
    let (buyer, _) = app.new_customer_token();
    // Unpaid: the reservation is released.
    let unpaid = app.buy(&buyer, &product, 2).await;
    assert_eq!(shop.stock(&product).await, (8, 2));
    let cancelled = app.cancel_order(&buyer, &id(&unpaid)).await;
    assert_eq!(cancelled.assert_ok(StatusCode::OK)["status"], "cancelled");
    assert_eq!(shop.stock(&product).await, (10, 0));
    // Its PaymentIntent is voided, so the browser can no longer pay it.
    let intent = unpaid["payment"]["reference"].as_str().unwrap();
    assert_eq!(
        stripe_intent(&api_base, &key, intent).await["status"],
        "canceled"
    );
    app.cancel_order(&buyer, &id(&unpaid))
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(
        shop.stock(&product).await,
        (10, 0),
        "a second cancel releases nothing"
    );

    // Paid at Stripe: the refund goes through Stripe and stock is back on sale.
    let order = app.buy(&buyer, &product, 3).await;
    let intent = order["payment"]["reference"].as_str().unwrap();
    assert_eq!(
        stripe_confirm_card(&api_base, &key, intent, "4242424242424242").await["status"],
        "succeeded"
    );
    let event = intent_event("evt_cancel_paid", "payment_intent.succeeded", &order);
    app.stripe_webhook(&event, &secret)
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(shop.stock(&product).await, (7, 0));
    let cancelled = app.cancel_order(&buyer, &id(&order)).await;
    let data = cancelled.assert_ok(StatusCode::OK);
    assert_eq!(data["status"], "cancelled");
    assert_eq!(data["payment"]["state"], "refunded", "{data}");
    assert!(
        data["payment"]["refund"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("re_"),
        "{data}"
    );
    assert_eq!(shop.stock(&product).await, (10, 0));
    // Paid at Stripe while the buyer cancelled (before the webhook came):
    // the intent cannot be voided any more, so the payment is refunded.
    let late = app.buy(&buyer, &product, 1).await;
    let intent = late["payment"]["reference"].as_str().unwrap();
    let confirmed = stripe_confirm_card(&api_base, &key, intent, "4242424242424242").await;
    assert_eq!(confirmed["status"], "succeeded");
    app.cancel_order(&buyer, &id(&late))
        .await
        .assert_ok(StatusCode::OK);
    let event = intent_event("evt_late", "payment_intent.succeeded", &late);
    app.stripe_webhook(&event, &secret)
        .await
        .assert_ok(StatusCode::OK);
    let data = app.order(&buyer, &id(&late)).await.body["data"].clone();
    assert_eq!(
        (data["status"].as_str(), data["payment"]["state"].as_str()),
        (Some("cancelled"), Some("refunded")),
        "{data}"
    );
    assert!(
        data["payment"]["refund"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("re_"),
        "{data}"
    );
    assert_eq!(shop.stock(&product).await, (10, 0));
}

#[tokio::test]
async fn the_expiry_sweep_cancels_unpaid_orders_once_even_run_twice_at_once() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("expiring", 1_000, 10).await;
    let mut unpaid = Vec::new();
    for _ in 0..4 {
        let (buyer, _) = app.new_customer_token();
        unpaid.push(app.buy(&buyer, &product, 2).await);
    }
    let (payer, _) = app.new_customer_token();
    let kept = paid(&shop, &payer, &product, 1).await;
    assert_eq!(shop.stock(&product).await, (1, 8));
    let (store, payments) = (&app.services.store, &app.services.payments);
    // Not due yet: nothing happens.
    let early = orders::expiry::sweep(store, payments, now_epoch())
        .await
        .unwrap();
    assert_eq!(early.cancelled, 0);
    let later = now_epoch() + 31 * 60;
    let (a, b) = tokio::join!(
        orders::expiry::sweep(store, payments, later),
        orders::expiry::sweep(store, payments, later)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.cancelled + b.cancelled, 4, "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    assert_eq!(shop.stock(&product).await, (9, 0));
    for order in &unpaid {
        let data = app.order(&shop.admin, &id(order)).await.body["data"].clone();
        assert_eq!(data["status"], "cancelled");
        let cancels = data["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["status"] == "cancelled")
            .count();
        assert_eq!(cancels, 1);
        assert_eq!(
            data["history"].as_array().unwrap().last().unwrap()["by"],
            "system"
        );
    }
    assert_eq!(
        app.order(&payer, &id(&kept)).await.body["data"]["status"],
        "paid"
    );
    let (api_base, key, _) = stripe_env();
    let intent = unpaid[0]["payment"]["reference"].as_str().unwrap();
    assert_eq!(
        stripe_intent(&api_base, &key, intent).await["status"],
        "canceled"
    );
    let again = orders::expiry::sweep(store, payments, later).await.unwrap();
    assert_eq!(again.due, 0, "cancelled orders leave the queue");
}

#[tokio::test]
async fn verified_buyer_orgs_pay_by_invoice_and_admins_mark_it_paid() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("invoiced", 10_000, 10).await;
    let purchaser = app.signed_in_as(&unique_email("purchaser")).await;
    let buyer_org = app.new_org(&purchaser, "buyer").await;
    let org = Some(buyer_org.as_str());
    app.add_to_cart(&purchaser, org, &product, 1)
        .await
        .assert_ok(StatusCode::OK);
    let mut body = checkout_body("invoice");
    body["netTermsDays"] = json!(60);
    app.checkout(&purchaser, org, Some("inv-1"), &body)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.set_verification(
        &shop.admin,
        &buyer_org,
        &json!({ "businessVerified": true, "taxIdVerified": true }),
    )
    .await
    .assert_ok(StatusCode::OK);
    let placed = app.checkout(&purchaser, org, Some("inv-2"), &body).await;
    let order = placed.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(order["buyer"]["orgId"], buyer_org.as_str());
    assert_eq!(order["payment"]["method"], "invoice");
    assert_eq!(order["payment"]["netTermsDays"], 60);
    assert!(order["payment"]["dueDate"].as_str().is_some());
    assert!(order["expiresAt"].is_null(), "invoice orders do not expire");
    // The org's cart and orders are the org's, not the purchaser's own.
    assert_eq!(
        app.orders(&purchaser, "").await.assert_ok(StatusCode::OK),
        &json!([])
    );
    let org_orders = app.orders(&purchaser, &format!("orgId={buyer_org}")).await;
    assert_eq!(org_orders.assert_ok(StatusCode::OK)[0]["id"], order["id"]);
    let sweep = orders::expiry::sweep(
        &app.services.store,
        &app.services.payments,
        now_epoch() + 3600,
    )
    .await
    .unwrap();
    assert_eq!(sweep.due, 0);

    app.mark_invoice_paid(&purchaser, &id(&order))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let marked = app.mark_invoice_paid(&shop.admin, &id(&order)).await;
    assert_eq!(marked.assert_ok(StatusCode::OK)["status"], "paid");
    app.mark_invoice_paid(&shop.admin, &id(&order))
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(shop.stock(&product).await, (9, 0));
    let by_status = app.admin_orders(&shop.admin, "status=paid").await;
    assert_eq!(by_status.assert_ok(StatusCode::OK)[0]["id"], order["id"]);
    app.admin_orders(&shop.admin, "status=lost")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    // A card order cannot be marked paid by invoice.
    let (card_buyer, _) = app.new_customer_token();
    let card = app.buy(&card_buyer, &product, 1).await;
    app.mark_invoice_paid(&shop.admin, &id(&card))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    // Refunding an invoice order issues a credit note.
    let refunded = app.refund_order(&shop.admin, &id(&order)).await;
    let data = refunded.assert_ok(StatusCode::OK);
    assert_eq!(data["status"], "refunded");
    assert_eq!(
        data["payment"]["refund"]["reference"],
        format!("credit_{}", id(&order))
    );
    assert_eq!(
        shop.stock(&product).await,
        (9, 1),
        "unshipped goods are back on sale"
    );
}

#[tokio::test]
async fn the_stream_keeps_daily_order_statistics() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("counted", 1_000, 10).await;
    let (buyer, _) = app.new_customer_token();
    let order = paid(&shop, &buyer, &product, 2).await;
    let cancelled = app.buy(&buyer, &product, 1).await;
    app.cancel_order(&buyer, &id(&cancelled))
        .await
        .assert_ok(StatusCode::OK);
    let today = &order["createdAt"].as_str().unwrap()[..10];
    let query = format!("from={today}&to={today}");
    app.drain_stream().await;
    let stats = app.order_stats(&shop.admin, &query).await;
    let totals = stats.assert_ok(StatusCode::OK)["totals"].clone();
    assert_eq!(totals["ordersPlaced"], 2, "{totals}");
    assert_eq!(totals["ordersPaid"], 1, "{totals}");
    assert_eq!(totals["cancellations"], 1, "{totals}");
    assert_eq!(
        totals["revenue"]["EUR"], order["totals"]["total"],
        "{totals}"
    );
    app.order_stats(&buyer, "")
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.order_stats(&shop.admin, "from=2026-01-01&to=2025-01-01")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.order_stats(&shop.admin, "from=yesterday")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_stream_record_delivered_twice_counts_once() {
    let app = spawn_app().await;
    let store = &app.services.store;
    let image = |status: &str, state: &str| -> Option<OrderSummary> {
        serde_json::from_value(json!({
            "id": "o-1",
            "buyer": {},
            "lines": [],
            "status": status,
            "createdAt": "2026-03-01T10:00:00Z",
            "updatedAt": "2026-03-02T10:00:00Z",
            "totals": { "currency": "EUR", "total": 1_234 },
            "payment": { "state": state },
        }))
        .ok()
    };
    for _ in 0..2 {
        order_stats::apply_order_change(
            store,
            "event-1",
            image("pending_payment", "pending"),
            image("paid", "succeeded"),
        )
        .await
        .unwrap();
    }
    let email = unique_email("admin");
    app.signed_in_as(&email).await;
    let admin = app.promote_to_platform_admin(&email).await;
    let stats = app
        .order_stats(&admin, "from=2026-03-01&to=2026-03-31")
        .await;
    let data = stats.assert_ok(StatusCode::OK);
    assert_eq!(data["days"][0]["date"], "2026-03-02");
    assert_eq!(data["totals"]["ordersPaid"], 1);
    assert_eq!(data["totals"]["revenue"]["EUR"], 1_234);
}

#[tokio::test]
async fn an_organizations_api_key_buys_for_it_within_its_permissions() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("integrated", 800, 10).await;
    let purchaser = app.signed_in_as(&unique_email("purchaser")).await;
    let buyer_org = app.new_org(&purchaser, "buyer").await;
    let (key, prefix) = app
        .new_api_key(&purchaser, &buyer_org, &["order:create", "order:read"])
        .await;
    app.add_to_cart(&key, None, &product, 2)
        .await
        .assert_ok(StatusCode::OK);
    let placed = app
        .checkout(&key, None, Some("erp-4711"), &checkout_body("card"))
        .await;
    let order = placed.assert_ok(StatusCode::CREATED);
    assert_eq!(order["buyer"]["orgId"], buyer_org.as_str());
    assert_eq!(order["buyer"]["placedBy"], format!("apikey:{prefix}"));
    // The org's members see the order; the key reads it too.
    let listed = app.orders(&purchaser, &format!("orgId={buyer_org}")).await;
    assert_eq!(listed.assert_ok(StatusCode::OK)[0]["id"], order["id"]);
    app.order(&key, &id(order)).await.assert_ok(StatusCode::OK);
    // A key acts only for its own org, and only with its permissions.
    let other = app.signed_in_as(&unique_email("other-buyer")).await;
    let other_org = app.new_org(&other, "buyer").await;
    app.cart(&key, Some(&other_org))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let (reader, _) = app
        .new_api_key(&purchaser, &buyer_org, &["order:read"])
        .await;
    app.add_to_cart(&reader, None, &product, 2)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // Another org's member cannot see it.
    app.order(&other, &id(order))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn without_a_card_provider_card_checkouts_are_refused_before_stock_is_held() {
    let app = bodega_tests::spawn_app_with(|config| {
        config.stripe.secret_key = None;
        config.stripe.webhook_secret = None;
    })
    .await;
    // Without a webhook secret nothing is read: Stripe retries later.
    app.send_webhook("{}", "t=1,v1=00")
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    let admin_email = unique_email("admin");
    app.signed_in_as(&admin_email).await;
    let admin = app.promote_to_platform_admin(&admin_email).await;
    let seller = app.signed_in_as(&unique_email("seller")).await;
    let org = app.new_org(&seller, "seller").await;
    let category = app.category(&admin, "vegetables").await;
    let product = app
        .new_product(
            &seller,
            &product_body(&org, "no-card", &category, "No card", 100),
        )
        .await;
    let (buyer, _) = app.new_customer_token();
    app.add_to_cart(&buyer, None, &product, 1)
        .await
        .assert_ok(StatusCode::OK);
    app.checkout(&buyer, None, Some("no-card"), &checkout_body("card"))
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    let stock = app.get_product(&product).await;
    assert_eq!(stock.assert_ok(StatusCode::OK)["stock"]["reserved"], 0);
    assert_eq!(
        app.orders(&buyer, "").await.assert_ok(StatusCode::OK),
        &json!([])
    );
}

/// The one email titled `subject` sent to `to`, once the stream has caught up.
async fn the_email(app: &TestApp, to: &str, subject: &str) -> bodega_tests::SentEmail {
    app.drain_stream().await;
    app.only_email_to(to, subject).await
}

#[tokio::test]
async fn the_buyer_hears_about_payment_shipping_and_cancellation_once() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("mailed", 1_234, 10).await;
    let email = unique_email("buyer");
    let buyer = app.signed_in_as(&email).await;
    let order = paid(&shop, &buyer, &product, 2).await;
    let order_id = id(&order);
    let confirmed = the_email(app, &email, &format!("Order {order_id} confirmed")).await;
    assert!(confirmed.body.contains("2 × mailed"), "{}", confirmed.body);
    assert!(
        confirmed.body.contains(&format!(
            "{}.{:02} EUR",
            order["totals"]["total"].as_i64().unwrap() / 100,
            order["totals"]["total"].as_i64().unwrap() % 100
        )),
        "{}",
        confirmed.body
    );
    let step = json!({ "status": "shipped", "carrier": "DHL", "trackingNumber": "JJD0099" });
    app.advance_fulfilment(&shop.seller, &shop.seller_org, &order_id, &step)
        .await
        .assert_ok(StatusCode::OK);
    let shipped = the_email(app, &email, &format!("Your order {order_id} has shipped")).await;
    assert!(
        shipped.body.contains("JJD0099") && shipped.body.contains("DHL"),
        "{}",
        shipped.body
    );

    let unpaid = app.buy(&buyer, &product, 1).await;
    app.cancel_order(&buyer, &id(&unpaid))
        .await
        .assert_ok(StatusCode::OK);
    let cancelled = the_email(app, &email, &format!("Order {} cancelled", id(&unpaid))).await;
    assert!(
        cancelled.body.contains("Nothing was charged"),
        "{}",
        cancelled.body
    );
    app.drain_stream().await;
    let all = app.emails_to(&email).await;
    let confirmations = all
        .iter()
        .filter(|m| m.subject == format!("Order {order_id} confirmed"))
        .count();
    assert_eq!(confirmations, 1);
}

#[tokio::test]
async fn a_buyer_holds_at_most_five_unpaid_card_orders() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("hoarded", 100, 100).await;
    let (buyer, _) = app.new_customer_token();
    let mut orders = Vec::new();
    for _ in 0..5 {
        orders.push(app.buy(&buyer, &product, 1).await);
    }
    app.add_to_cart(&buyer, None, &product, 1)
        .await
        .assert_ok(StatusCode::OK);
    let refused = app
        .checkout(&buyer, None, Some("sixth"), &checkout_body("card"))
        .await;
    refused.assert_error(StatusCode::CONFLICT, "CONFLICT");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unpaid")
    );
    assert_eq!(
        shop.stock(&product).await,
        (95, 5),
        "the refused checkout held nothing"
    );
    // Paying one and cancelling another each free a place.
    let (_, _, secret) = stripe_env();
    let event = intent_event("evt_hoard_paid", "payment_intent.succeeded", &orders[0]);
    app.stripe_webhook(&event, &secret)
        .await
        .assert_ok(StatusCode::OK);
    app.checkout(&buyer, None, Some("sixth"), &checkout_body("card"))
        .await
        .assert_ok(StatusCode::CREATED);
    app.add_to_cart(&buyer, None, &product, 1)
        .await
        .assert_ok(StatusCode::OK);
    app.checkout(&buyer, None, Some("seventh"), &checkout_body("card"))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.cancel_order(&buyer, &id(&orders[1]))
        .await
        .assert_ok(StatusCode::OK);
    app.checkout(&buyer, None, Some("seventh"), &checkout_body("card"))
        .await
        .assert_ok(StatusCode::CREATED);
    // Another buyer is not affected.
    let (other, _) = app.new_customer_token();
    app.buy(&other, &product, 1).await;
}

/// The stream reads orders' items through `shared::contracts::order`: the
/// read models must see what orders stored, field for field.
#[tokio::test]
async fn the_stream_read_models_read_the_stored_order_and_fulfilment() {
    use orders::model::{FulfilmentRecord, OrderRecord, fulfilment_sk};
    use shared::contracts::order::{FulfilmentSummary, ORDER_SK, order_pk};

    let shop = shop().await;
    let app = &shop.app;
    let store = &app.services.store;
    let product = shop.product("summarised", 1_234, 10).await;
    let buyer = app.signed_in_as(&unique_email("buyer")).await;
    let order_id = id(&paid(&shop, &buyer, &product, 2).await);
    let step = json!({ "status": "shipped", "carrier": "DHL", "trackingNumber": "JJD0042" });
    app.advance_fulfilment(&shop.seller, &shop.seller_org, &order_id, &step)
        .await
        .assert_ok(StatusCode::OK);

    let pk = order_pk(&order_id);
    let full: OrderRecord = store.get(&pk, ORDER_SK).await.unwrap().unwrap();
    let summary: OrderSummary = store.get(&pk, ORDER_SK).await.unwrap().unwrap();
    assert_eq!(summary.id, full.id);
    assert_eq!(summary.status, full.status);
    assert_eq!(summary.buyer.user_id, full.buyer.user_id);
    assert!(summary.buyer.user_id.is_some());
    let lines = |lines: &[orders::model::OrderLine]| -> Vec<(String, i64, i64)> {
        lines
            .iter()
            .map(|l| (l.name.clone(), l.quantity, l.line_total))
            .collect()
    };
    let summary_lines: Vec<(String, i64, i64)> = summary
        .lines
        .iter()
        .map(|l| (l.name.clone(), l.quantity, l.line_total))
        .collect();
    assert_eq!(summary_lines, lines(&full.lines));
    assert_eq!(summary.totals.currency, full.totals.currency);
    assert_eq!(summary.totals.total, full.totals.total);
    assert_eq!(summary.payment.state, full.payment.state);
    assert_eq!(summary.created_at, full.created_at);
    assert_eq!(summary.updated_at, full.updated_at);

    let sk = fulfilment_sk(&shop.seller_org);
    let full: FulfilmentRecord = store.get(&pk, &sk).await.unwrap().unwrap();
    let summary: FulfilmentSummary = store.get(&pk, &sk).await.unwrap().unwrap();
    assert_eq!(summary.order_id, full.order_id);
    assert_eq!(summary.status, full.status);
    assert_eq!(summary.carrier.as_deref(), Some("DHL"));
    assert_eq!(summary.carrier, full.carrier);
    assert_eq!(summary.tracking_number, full.tracking_number);
    assert_eq!(
        summary
            .lines
            .iter()
            .map(|l| (l.name.clone(), l.quantity, l.line_total))
            .collect::<Vec<_>>(),
        lines(&full.lines)
    );
}

#[tokio::test]
async fn a_made_to_order_product_sells_without_stock_and_moves_none() {
    let shop = shop().await;
    let app = &shop.app;
    let made = app
        .publish_product(made_to_order_product(
            &shop.seller_org,
            "DESIGN-TEE",
            &shop.category,
            "Wave tee",
            2500,
        ))
        .await
        .expect("the product is created")
        .id;
    let stocked = shop.product("socks", 500, 1).await;

    // No stock at all, yet the cart and checkout take any quantity.
    let (buyer, _) = app.new_customer_token();
    app.add_to_cart(&buyer, None, &made, 7)
        .await
        .assert_ok(StatusCode::OK);
    let cart = app.cart(&buyer, None).await;
    assert_eq!(
        cart.assert_ok(StatusCode::OK)["lines"][0]["stockStatus"],
        "in_stock"
    );
    app.clear_cart(&buyer, None).await.assert_ok(StatusCode::OK);
    let order = paid(&shop, &buyer, &made, 7).await;
    assert_eq!(order["lines"][0]["madeToOrder"], true, "{order}");
    assert_eq!(order["lines"][0]["quantity"], 7);
    assert_eq!(shop.stock(&made).await, (0, 0));

    // The manufacturing read model reads the stored order field for field.
    {
        use orders::model::OrderRecord;
        use shared::contracts::order::{ORDER_SK, OrderToManufacture, order_pk};
        let pk = order_pk(&id(&order));
        let store = &app.services.store;
        let full: OrderRecord = store.get(&pk, ORDER_SK).await.unwrap().unwrap();
        let read: OrderToManufacture = store.get(&pk, ORDER_SK).await.unwrap().unwrap();
        assert!(read.is_paid());
        assert_eq!(read.id, full.id);
        assert_eq!(read.status, full.status);
        let address = &full.shipping_address;
        assert_eq!(read.shipping_address.name, address.name);
        assert_eq!(read.shipping_address.line1, address.line1);
        assert_eq!(read.shipping_address.line2, address.line2);
        assert_eq!(read.shipping_address.postal_code, address.postal_code);
        assert_eq!(read.shipping_address.city, address.city);
        assert_eq!(read.shipping_address.region, address.region);
        assert_eq!(read.shipping_address.company, address.company);
        assert_eq!(read.shipping_address.phone, address.phone);
        assert_eq!(read.shipping_address.country, address.country.to_string());
        assert_eq!(read.totals.currency, full.totals.currency);
        assert_eq!(read.totals.total, full.totals.total);
        let to_make: Vec<_> = read.lines_to_make().collect();
        assert_eq!(to_make.len(), 1);
        let (line, stored) = (to_make[0], &full.lines[0]);
        assert_eq!(line.line_id, stored.line_id);
        assert_eq!(line.line_id.len(), 26, "a ULID fits Printful's external id");
        assert_eq!(line.product_id, made);
        assert_eq!(
            (&line.seller_org_id, &line.sku, &line.name, line.quantity),
            (
                &stored.seller_org_id,
                &stored.sku,
                &stored.name,
                stored.quantity
            )
        );
        assert_eq!(line.line_total, stored.line_total);
    }

    // Refunding it puts nothing back on sale: nothing was taken.
    app.refund_order(&shop.admin, &id(&order))
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(shop.stock(&made).await, (0, 0));

    // Cancelling an unpaid order, and a mixed order, move only counted stock.
    let (other, _) = app.new_customer_token();
    app.add_to_cart(&other, None, &stocked, 1)
        .await
        .assert_ok(StatusCode::OK);
    let mixed = app.buy(&other, &made, 2).await;
    assert_eq!(mixed["lines"].as_array().unwrap().len(), 2, "{mixed}");
    {
        use shared::contracts::order::{ORDER_SK, OrderToManufacture, order_pk};
        let unpaid: OrderToManufacture = app
            .services
            .store
            .get(&order_pk(&id(&mixed)), ORDER_SK)
            .await
            .unwrap()
            .unwrap();
        assert!(!unpaid.is_paid());
        assert_eq!(
            unpaid.lines_to_make().count(),
            1,
            "the stocked line is not made"
        );
    }
    assert_eq!(shop.stock(&stocked).await, (0, 1));
    app.cancel_order(&other, &id(&mixed))
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(shop.stock(&stocked).await, (1, 0));
    assert_eq!(shop.stock(&made).await, (0, 0));

    // An archived made-to-order product is not for sale.
    app.add_to_cart(&other, None, &made, 1)
        .await
        .assert_ok(StatusCode::OK);
    app.archive_product(&shop.seller, &made)
        .await
        .assert_ok(StatusCode::OK);
    app.checkout(&other, None, Some("mto-archived"), &checkout_body("card"))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
}

/// The product item as stored, for byte-for-byte comparisons.
async fn product_item(app: &TestApp, product_id: &str) -> shared::store::Item {
    let (pk, sk) = shared::stock::product_key(product_id);
    app.services
        .store
        .get_raw(&pk, sk)
        .await
        .unwrap()
        .expect("the product item")
}

#[tokio::test]
async fn a_checkout_moves_the_stock_item_and_leaves_the_product_item_untouched() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("stock-item", 700, 10).await;
    let before = product_item(app, &product).await;
    assert!(
        !before.contains_key("available") && !before.contains_key("stockAvailable"),
        "no counters on the indexed product item: {before:?}"
    );
    let (buyer, _) = app.new_customer_token();
    let order = app.buy(&buyer, &product, 3).await;
    assert_eq!(shop.stock(&product).await, (7, 3));
    let (pk, sk) = shared::stock::stock_key(&product);
    let stock: shared::stock::StockItem = app.services.store.get(&pk, sk).await.unwrap().unwrap();
    assert_eq!((stock.available, stock.reserved), (7, 3));
    assert!(stock.for_sale && !stock.made_to_order);
    // Cancelling releases it, again without a product write.
    app.cancel_order(&buyer, &id(&order))
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(shop.stock(&product).await, (10, 0));
    app.drain_stream().await;
    assert_eq!(
        product_item(app, &product).await,
        before,
        "the product item (version, bytes) is unchanged"
    );
}

#[tokio::test]
async fn the_in_stock_flag_follows_the_stock_through_the_stream_and_the_list_filter_with_it() {
    let shop = shop().await;
    let app = &shop.app;
    let product = shop.product("last-two", 400, 2).await;
    let in_stock_list = || async {
        app.list_products(&format!("categoryId={}&inStock=true", shop.category))
            .await
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect::<Vec<String>>()
    };
    app.drain_stream().await;
    assert_eq!(in_stock_list().await, vec![product.clone()]);
    let version = product_item(app, &product).await["version"].clone();

    let listed = || async {
        app.list_products(&format!("categoryId={}", shop.category))
            .await
            .assert_ok(StatusCode::OK)[0]
            .clone()
    };
    let entry = listed().await;
    assert_eq!(entry["inStock"], true);
    assert!(
        entry.get("stock").is_none(),
        "a list entry carries no counts: {entry}"
    );

    let (buyer, _) = app.new_customer_token();
    app.buy(&buyer, &product, 2).await;
    // The product's page is exact at once; the list follows the stream.
    let page = app.get_product(&product).await;
    let page = page.assert_ok(StatusCode::OK);
    assert_eq!(page["stock"], json!({"available": 0, "reserved": 2}));
    assert_eq!(page["inStock"], false);
    assert_eq!(
        listed().await["inStock"],
        true,
        "not yet seen by the stream"
    );
    app.drain_stream().await;
    let sold_out = product_item(app, &product).await;
    assert_eq!(sold_out["inStock"], shared::store::Value::Bool(false));
    assert_eq!(sold_out["version"], version, "the flag is no edit");
    assert!(in_stock_list().await.is_empty());
    // Unfiltered, the product is still listed, out of stock.
    let entry = listed().await;
    assert_eq!(entry["id"], json!(product));
    assert_eq!(entry["inStock"], false);

    app.adjust_stock(&shop.seller, &product, 5)
        .await
        .assert_ok(StatusCode::OK);
    app.drain_stream().await;
    assert_eq!(
        product_item(app, &product).await["inStock"],
        shared::store::Value::Bool(true)
    );
    assert_eq!(in_stock_list().await, vec![product.clone()]);
    assert_eq!(listed().await["inStock"], true);
    // A move that does not cross zero writes no product.
    let before = product_item(app, &product).await;
    app.adjust_stock(&shop.seller, &product, 1)
        .await
        .assert_ok(StatusCode::OK);
    app.drain_stream().await;
    assert_eq!(product_item(app, &product).await, before);
}

/// Neither a reservation nor the buyer's checkout takes `product`'s stock.
async fn refuses_to_sell(shop: &Shop, buyer: &str, product: &str, key: &str) {
    assert!(matches!(
        shared::stock::reserve(&shop.app.services.store, product, 1).await,
        Err(shared::stock::StockError::NotForSale)
    ));
    let refused = shop
        .app
        .checkout(buyer, None, Some(key), &checkout_body("card"))
        .await;
    refused.assert_error(StatusCode::CONFLICT, "CONFLICT");
    assert_eq!(shop.stock(product).await, (10, 0));
}

#[tokio::test]
async fn a_deactivated_or_archived_product_cannot_be_reserved_or_checked_out() {
    let shop = shop().await;
    let app = &shop.app;
    let store = &app.services.store;
    let product = shop.product("on-and-off", 300, 10).await;
    let (buyer, _) = app.new_customer_token();
    app.add_to_cart(&buyer, None, &product, 1)
        .await
        .assert_ok(StatusCode::OK);

    app.update_product(&shop.seller, &product, None, &json!({"active": false}))
        .await
        .assert_ok(StatusCode::OK);
    // The stock item's flag moved with the product: a reservation racing
    // the change (as checkout's transaction) is refused.
    refuses_to_sell(&shop, &buyer, &product, "inactive").await;

    app.update_product(&shop.seller, &product, None, &json!({"active": true}))
        .await
        .assert_ok(StatusCode::OK);
    shared::stock::reserve(store, &product, 1).await.unwrap();
    shared::stock::release(store, &product, 1).await.unwrap();

    app.archive_product(&shop.seller, &product)
        .await
        .assert_ok(StatusCode::OK);
    refuses_to_sell(&shop, &buyer, &product, "archived").await;
}

#[tokio::test]
async fn the_backfill_creates_missing_stock_items_once() {
    let shop = shop().await;
    let app = &shop.app;
    let store = &app.services.store;
    let legacy = shop.product("legacy", 500, 1).await;
    let current = shop.product("current", 500, 4).await;
    // A product as stored before stock items: counters on the product item.
    let (pk, sk) = shared::stock::stock_key(&legacy);
    store.delete(&pk, sk).await.unwrap();
    let (pk, sk) = shared::stock::product_key(&legacy);
    store
        .apply_update(
            shared::store::Update::new(
                pk,
                sk,
                "SET stockAvailable = :a, stockReserved = :r REMOVE inStock",
            )
            .value(":a", shared::store::n(12))
            .value(":r", shared::store::n(3)),
        )
        .await
        .unwrap();

    let first = shared::stock::backfill(store).await.unwrap();
    assert_eq!((first.created, first.changed), (1, 0), "{first:?}");
    assert!(first.present >= 1, "{first:?}");
    assert_eq!(shop.stock(&legacy).await, (12, 3));
    assert_eq!(shop.stock(&current).await, (4, 0));
    let item = product_item(app, &legacy).await;
    assert!(!item.contains_key("stockAvailable") && !item.contains_key("stockReserved"));
    assert_eq!(item["inStock"], shared::store::Value::Bool(true));

    let again = shared::stock::backfill(store).await.unwrap();
    assert_eq!((again.created, again.changed), (0, 0), "{again:?}");
    assert_eq!(again.present, first.present + 1);
    assert_eq!(shop.stock(&legacy).await, (12, 3));
    // The backfilled product sells as any other.
    let (buyer, _) = app.new_customer_token();
    app.buy(&buyer, &legacy, 2).await;
    assert_eq!(shop.stock(&legacy).await, (10, 5));
}

/// Every PaymentIntent at localstripe of `amount` (minor units) that no
/// order of `placed` refers to (all pages: localstripe lists oldest first).
async fn stray_intents(amount: i64, placed: &[Value]) -> Vec<Value> {
    let (api_base, key, _) = stripe_env();
    let placed: Vec<&Value> = placed.iter().map(|o| &o["id"]).collect();
    let mut strays = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{api_base}/v1/payment_intents?limit=100");
        if let Some(id) = &after {
            url.push_str(&format!("&starting_after={id}"));
        }
        let page: Value = reqwest::Client::new()
            .get(url)
            .basic_auth(&key, None::<&str>)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let intents = page["data"].as_array().unwrap();
        strays.extend(
            intents
                .iter()
                .filter(|pi| {
                    pi["amount"] == json!(amount) && !placed.contains(&&pi["metadata"]["order_id"])
                })
                .cloned(),
        );
        match intents.last() {
            Some(last) if page["has_more"] == json!(true) => {
                after = last["id"].as_str().map(str::to_owned);
            }
            _ => return strays,
        }
    }
}

/// A Stripe `charge.refunded` event for the whole charge of `intent`: the
/// charge names its PaymentIntent and carries no order id.
fn charge_refunded_event(intent: &str, amount: i64) -> Value {
    json!({
        "id": format!("evt_{}", ulid::Ulid::new()),
        "object": "event",
        "type": "charge.refunded",
        "created": now_epoch(),
        "data": { "object": {
            "id": format!("ch_{}", ulid::Ulid::new()),
            "object": "charge",
            "payment_intent": intent,
            "amount": amount,
            "amount_refunded": amount,
            "refunds": { "data": [ { "id": format!("re_{}", ulid::Ulid::new()) } ] },
        }},
    })
}

#[tokio::test]
async fn a_refund_event_that_names_only_the_payment_finds_its_order_through_the_link() {
    let shop = shop().await;
    let (token, _) = shop.app.new_customer_token();
    let product = shop.product("linked", 1_500, 10).await;
    let order = paid(&shop, &token, &product, 1).await;
    let (_, _, secret) = stripe_env();
    let event = charge_refunded_event(
        order["payment"]["reference"].as_str().unwrap(),
        order["totals"]["total"].as_i64().unwrap(),
    );
    let receipt = shop.app.stripe_webhook(&event, &secret).await;
    assert_eq!(receipt.assert_ok(StatusCode::OK)["outcome"], "applied");
    let refunded = shop.app.order(&token, &id(&order)).await;
    assert_eq!(refunded.assert_ok(StatusCode::OK)["status"], "refunded");
    // Stripe delivers events more than once: the second changes nothing.
    let again = shop.app.stripe_webhook(&event, &secret).await;
    assert_ne!(again.assert_ok(StatusCode::OK)["outcome"], "applied");
    let history = shop.app.order(&token, &id(&order)).await;
    let history = history.assert_ok(StatusCode::OK)["history"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        history.iter().filter(|h| h["status"] == "refunded").count(),
        1,
        "{history:?}"
    );
}

#[tokio::test]
async fn a_placement_that_fails_after_the_payment_started_cancels_its_payment_intent() {
    let shop = shop().await;
    let app = &shop.app;
    // A price no other test uses, to find this test's intents.
    let product = shop.product("hoarded", 1_237, 100).await;
    let (buyer, _) = app.new_customer_token();
    let mut orders = Vec::new();
    for _ in 0..5 {
        orders.push(app.buy(&buyer, &product, 1).await);
    }
    let amount = orders[0]["totals"]["total"].as_i64().unwrap();
    // localstripe keeps earlier runs' intents: only new ones count.
    let before = stray_intents(amount, &orders).await;
    app.add_to_cart(&buyer, None, &product, 1)
        .await
        .assert_ok(StatusCode::OK);
    // The sixth unpaid order loses in the placement's transaction, after
    // its PaymentIntent was created.
    app.checkout(&buyer, None, Some("sixth"), &checkout_body("card"))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let strays: Vec<Value> = stray_intents(amount, &orders)
        .await
        .into_iter()
        .filter(|pi| !before.iter().any(|old| old["id"] == pi["id"]))
        .collect();
    assert_eq!(strays.len(), 1, "{strays:?}");
    assert_eq!(strays[0]["status"], "canceled", "{}", strays[0]);
    assert_eq!(shop.stock(&product).await, (95, 5));
    // The cancelled transaction wrote no link for that payment: an event
    // about it finds no order and changes none.
    let (_, _, secret) = stripe_env();
    let event = charge_refunded_event(strays[0]["id"].as_str().unwrap(), amount);
    let receipt = app.stripe_webhook(&event, &secret).await;
    assert_eq!(receipt.assert_ok(StatusCode::OK)["outcome"], "ignored");
    for order in &orders {
        let unchanged = app.order(&buyer, &id(order)).await;
        assert_eq!(
            unchanged.assert_ok(StatusCode::OK)["status"],
            "pending_payment"
        );
    }
}

#[tokio::test]
async fn a_refused_or_unreachable_payment_provider_places_nothing_and_holds_no_stock() {
    for (api_base, status, code) in [
        // localstripe answers 404 under an unknown prefix: a refusal.
        (
            Some("/refusing"),
            StatusCode::PAYMENT_REQUIRED,
            "PAYMENT_FAILED",
        ),
        (None, StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
    ] {
        let shop = shop_with(|config| {
            config.stripe.api_base = match api_base {
                Some(prefix) => format!("{}{prefix}", config.stripe.api_base),
                // Nothing listens on the discard port.
                None => "http://127.0.0.1:9".to_owned(),
            };
        })
        .await;
        let app = &shop.app;
        let product = shop.product("unpaid", 800, 10).await;
        let (buyer, _) = app.new_customer_token();
        app.add_to_cart(&buyer, None, &product, 2)
            .await
            .assert_ok(StatusCode::OK);
        let refused = app
            .checkout(&buyer, None, Some("try"), &checkout_body("card"))
            .await;
        refused.assert_error(status, code);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(refused.headers.contains_key("retry-after"));
        }
        assert_eq!(shop.stock(&product).await, (10, 0));
        assert_eq!(
            app.orders(&buyer, "").await.assert_ok(StatusCode::OK),
            &json!([])
        );
        let cart = app.cart(&buyer, None).await;
        assert_eq!(cart.assert_ok(StatusCode::OK)["lines"][0]["quantity"], 2);
        // Nothing of an order was written: no order, payment link or claim.
        let orders = app
            .services
            .store
            .client()
            .scan()
            .table_name(app.services.store.table())
            .filter_expression("begins_with(PK, :order) OR begins_with(PK, :payment)")
            .expression_attribute_values(":order", shared::store::s("ORDER#"))
            .expression_attribute_values(":payment", shared::store::s("PAYMENT#"))
            .send()
            .await
            .unwrap();
        assert_eq!(orders.count(), 0, "{:?}", orders.items());
    }
}
