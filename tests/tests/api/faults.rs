//! Faults as AWS really has them, injected between the API and DynamoDB
//! Local by a loopback proxy ([`FaultProxy`]): throttled calls, calls slower
//! than the request's deadline, connections reset after the write went
//! through. Money and stock still move exactly once; a slow dependency is a
//! quick 503 whose log line names the call.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bodega_tests::{
    FaultProxy, Faults, TestApp, TestResponse, checkout_body, eventually, product_body,
    spawn_app_via, unique_email,
};
use futures::future::join_all;
use serde_json::json;
use shared::store::Value as Attr;

struct Shop {
    app: TestApp,
    proxy: FaultProxy,
    admin: String,
    product: String,
}

/// A seller's product with `stock` units, on an app whose DynamoDB calls go
/// through a fault proxy (passing everything until the test says).
async fn shop_behind_proxy(seed: u64, stock: i64) -> Shop {
    let proxy = FaultProxy::dynamodb(seed).await;
    let app = spawn_app_via(&proxy.endpoint).await;
    let admin_email = unique_email("admin");
    app.signed_in_as(&admin_email).await;
    let admin = app.promote_to_platform_admin(&admin_email).await;
    let seller = app.signed_in_as(&unique_email("seller")).await;
    let org = app.new_org(&seller, "seller").await;
    let category = app.category(&admin, "vegetables").await;
    let mut body = product_body(&org, "faulty", &category, "Faulty", 500);
    body["stock"] = json!(stock);
    let product = app.new_product(&seller, &body).await;
    Shop {
        app,
        proxy,
        admin,
        product,
    }
}

/// A client that retries a 503 with the same Idempotency-Key, as the API
/// asks (`Retry-After`).
async fn checkout_retrying(app: &TestApp, token: &str, key: &str) -> TestResponse {
    let body = checkout_body("card");
    eventually(
        "an answer other than 503",
        30,
        Duration::from_millis(200),
        || async {
            let response = app.checkout(token, None, Some(key), &body).await;
            if response.status == StatusCode::SERVICE_UNAVAILABLE {
                assert!(response.headers.contains_key("retry-after"));
                return None;
            }
            Some(response)
        },
    )
    .await
}

/// Every item of the app's table by `type`, read past the proxy.
async fn items_by_type(app: &TestApp) -> HashMap<String, Vec<HashMap<String, Attr>>> {
    let sdk = shared::services::load_sdk_config().await;
    let direct = aws_sdk_dynamodb::Client::new(&sdk);
    let mut by_type: HashMap<String, Vec<_>> = HashMap::new();
    let mut start = None;
    loop {
        let page = direct
            .scan()
            .table_name(app.services.store.table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("a scan of the test's table");
        for item in page.items.unwrap_or_default() {
            let kind = match item.get("type") {
                Some(Attr::S(kind)) => kind.clone(),
                _ => String::new(),
            };
            by_type.entry(kind).or_default().push(item);
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return by_type;
        }
    }
}

fn count(items: &HashMap<String, Vec<HashMap<String, Attr>>>, kind: &str) -> usize {
    items.get(kind).map_or(0, Vec::len)
}

async fn stock(app: &TestApp, product: &str) -> (i64, i64) {
    let data = app.get_product(product).await;
    let stock = &data.assert_ok(StatusCode::OK)["stock"];
    (
        stock["available"].as_i64().unwrap(),
        stock["reserved"].as_i64().unwrap(),
    )
}

fn order_id(response: &TestResponse) -> String {
    response.body["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no order in {}", response.body))
        .to_owned()
}

#[tokio::test]
async fn with_a_fifth_of_calls_throttled_fifty_checkouts_sell_exactly_the_stock() {
    let shop = shop_behind_proxy(15, 10).await;
    let app = &shop.app;
    let mut buyers = Vec::new();
    for _ in 0..50 {
        let (token, _) = app.new_customer_token();
        app.add_to_cart(&token, None, &shop.product, 1)
            .await
            .assert_ok(StatusCode::OK);
        buyers.push(token);
    }
    shop.proxy.set(Faults::throttle(20));
    let outcomes = join_all(
        buyers
            .iter()
            .map(|token| checkout_retrying(app, token, "race")),
    )
    .await;
    shop.proxy.heal();
    assert!(
        shop.proxy
            .counts()
            .throttled
            .load(std::sync::atomic::Ordering::SeqCst)
            > 10,
        "the proxy throttled calls"
    );
    let mut orders = Vec::new();
    let mut sold_out = 0;
    for response in &outcomes {
        match response.status {
            StatusCode::CREATED | StatusCode::OK => orders.push(order_id(response)),
            StatusCode::CONFLICT => sold_out += 1,
            other => panic!("{other:?} {}", response.body),
        }
    }
    orders.sort();
    orders.dedup();
    assert_eq!((orders.len(), sold_out), (10, 40));
    assert_eq!(stock(app, &shop.product).await, (0, 10));
    // Nothing half-written: one order, one fulfilment and one used key per
    // sale; the forty who got nothing still have their carts.
    let items = items_by_type(app).await;
    assert_eq!(count(&items, "ORDER"), 10);
    assert_eq!(count(&items, "FULFILMENT"), 10);
    assert_eq!(count(&items, "CART"), 40);
    let listed = app.admin_orders(&shop.admin, "limit=100").await;
    assert_eq!(
        listed.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        10
    );
}

#[tokio::test]
async fn with_a_fifth_of_calls_throttled_one_key_sent_twenty_times_is_one_order() {
    let shop = shop_behind_proxy(16, 100).await;
    let app = &shop.app;
    let (buyer, _) = app.new_customer_token();
    app.add_to_cart(&buyer, None, &shop.product, 3)
        .await
        .assert_ok(StatusCode::OK);
    shop.proxy.set(Faults::throttle(20));
    let responses = join_all((0..20).map(|_| checkout_retrying(app, &buyer, "same"))).await;
    shop.proxy.heal();
    let mut ids: Vec<String> = responses
        .iter()
        .map(|r| {
            assert!(r.status.is_success(), "{:?} {}", r.status, r.body);
            order_id(r)
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(stock(app, &shop.product).await, (97, 3));
    let items = items_by_type(app).await;
    assert_eq!(count(&items, "ORDER"), 1);
    assert_eq!(count(&items, "FULFILMENT"), 1);
    assert_eq!(count(&items, "CART"), 0);
}

#[tokio::test]
async fn connections_reset_after_the_transaction_went_through_still_make_one_order() {
    let shop = shop_behind_proxy(17, 10).await;
    let app = &shop.app;
    let (buyer, _) = app.new_customer_token();
    app.add_to_cart(&buyer, None, &shop.product, 2)
        .await
        .assert_ok(StatusCode::OK);
    // Every transaction commits in DynamoDB and its answer is lost: the SDK
    // retries (each retry cancelled by the key the first one claimed, its
    // answer lost too) and the placement fails with an unknown outcome. The
    // API finds the order by its Idempotency-Key and answers with it; the
    // PaymentIntent it holds (started before placement) stays payable.
    shop.proxy
        .set(Faults::reset(100).only(&["TransactWriteItems"]));
    let first = app
        .checkout(&buyer, None, Some("reset-key"), &checkout_body("card"))
        .await;
    let order = first.assert_ok(StatusCode::OK);
    assert_eq!(first.headers["idempotent-replayed"], "true");
    let id = order_id(&first);
    let intent_id = order["payment"]["reference"].as_str().unwrap().to_owned();
    assert!(order["payment"]["clientSecret"].is_string(), "{order}");
    let stripe = bodega_tests::stack_config("unused").stripe;
    let Some(shared::config::SecretSource::Inline(key)) = stripe.secret_key else {
        panic!("the local stack sets STRIPE_SECRET_KEY");
    };
    let intent = bodega_tests::stripe_intent(&stripe.api_base, &key, &intent_id).await;
    assert_ne!(intent["status"], "canceled", "{intent}");
    let again = app
        .checkout(&buyer, None, Some("reset-key"), &checkout_body("card"))
        .await;
    assert_eq!(order_id(&again), id);
    assert_eq!(again.body["data"]["payment"], order["payment"]);

    // Half of them for another buyer: whatever got through, the client's
    // retries with its key converge on one order.
    shop.proxy
        .set(Faults::reset(50).only(&["TransactWriteItems"]));
    let (second, _) = app.new_customer_token();
    app.add_to_cart(&second, None, &shop.product, 2)
        .await
        .assert_ok(StatusCode::OK);
    let retried = checkout_retrying(app, &second, "reset-key-2").await;
    shop.proxy.heal();
    let second_id = order_id(retried.assert_ok_any());
    assert_ne!(second_id, id);
    let replayed = app
        .checkout(&second, None, Some("reset-key-2"), &checkout_body("card"))
        .await;
    assert_eq!(order_id(&replayed), second_id);
    assert!(
        shop.proxy
            .counts()
            .reset
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 3
    );
    assert_eq!(stock(app, &shop.product).await, (6, 4));
    let items = items_by_type(app).await;
    assert_eq!(count(&items, "ORDER"), 2);
    assert_eq!(count(&items, "FULFILMENT"), 2);
}

#[tokio::test]
async fn calls_slower_than_the_deadline_answer_503_in_time_naming_the_call() {
    let shop = shop_behind_proxy(18, 10).await;
    let app = &shop.app;
    let (buyer, _) = app.new_customer_token();
    app.add_to_cart(&buyer, None, &shop.product, 1)
        .await
        .assert_ok(StatusCode::OK);

    // Each call answers, slowly: the request's deadline stops the one that
    // would run past it, well inside Lambda's 10 s and API Gateway's 30 s.
    shop.proxy.set(Faults::latency(Duration::from_millis(2500)));
    let started = Instant::now();
    let slow = app
        .checkout(&buyer, None, Some("slow"), &checkout_body("card"))
        .await;
    let took = started.elapsed();
    slow.assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    assert_eq!(slow.headers["retry-after"], "1");
    assert!(
        took < Duration::from_millis(9500),
        "answered after {took:?}"
    );
    // The 503's log line is the error's chain: the handler's step, then
    // the DynamoDB call the deadline stopped.
    let (pk, sk) = ("PRODUCT#".to_owned() + &shop.product, "PRODUCT");
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1000);
    let stopped = shared::deadline::within(deadline, app.services.store.get_raw(&pk, sk))
        .await
        .expect_err("the deadline stops the call");
    let logged = format!(
        "{:?}",
        shared::http::ApiError::from(stopped).context("reading the product")
    );
    assert!(
        logged.contains("reading the product")
            && logged.contains("DynamoDB GetItem did not answer before the request's deadline"),
        "{logged}"
    );

    // One call that never answers in time: the SDK gives up after its
    // attempts (3 s each, 7 s in all), and says which operation it was.
    shop.proxy
        .set(Faults::latency(Duration::from_secs(4)).only(&["GetItem", "Query"]));
    let before = shop
        .proxy
        .counts()
        .delayed
        .load(std::sync::atomic::Ordering::SeqCst);
    let started = Instant::now();
    let timed_out = app
        .services
        .store
        .get_raw(&pk, sk)
        .await
        .expect_err("the SDK gives up");
    let took = started.elapsed();
    assert!(took < Duration::from_millis(7500), "gave up after {took:?}");
    let attempts = shop
        .proxy
        .counts()
        .delayed
        .load(std::sync::atomic::Ordering::SeqCst)
        - before;
    assert!((2..=3).contains(&attempts), "{attempts} attempts");
    let logged = format!("{timed_out:?}");
    assert!(
        matches!(timed_out, shared::store::StoreError::Unavailable(_))
            && logged.contains("DynamoDB GetItem")
            && logged.contains("timed out"),
        "{logged}"
    );
    shop.proxy.heal();
    // Healed, the same checkout goes through once.
    let placed = checkout_retrying(app, &buyer, "slow").await;
    placed.assert_ok_any();
    assert_eq!(stock(app, &shop.product).await, (9, 1));
}

trait AnySuccess {
    fn assert_ok_any(&self) -> &Self;
}

impl AnySuccess for TestResponse {
    fn assert_ok_any(&self) -> &Self {
        assert!(
            self.status == StatusCode::CREATED || self.status == StatusCode::OK,
            "{:?} {}",
            self.status,
            self.body
        );
        self
    }
}

/// S3 and SES clients that reach moto through `proxy`, without the SDK's
/// own retries so a test sees each fault at once (the client's own endpoint
/// wins over the stack's per-service endpoint variables).
pub(crate) fn through_moto(
    services: &shared::FullServices,
    proxy: &FaultProxy,
) -> (aws_sdk_s3::Client, shared::mail::Mailer) {
    let once = aws_config::retry::RetryConfig::standard().with_max_attempts(1);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&services.sdk)
            .endpoint_url(&proxy.endpoint)
            .force_path_style(true)
            .retry_config(once.clone())
            .build(),
    );
    let ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&services.sdk)
            .endpoint_url(&proxy.endpoint)
            .retry_config(once)
            .build(),
    );
    let mailer = shared::mail::Mailer::new(
        ses,
        services.config.sender_email.clone(),
        services.config.ses_configuration_set.clone(),
    );
    (s3, mailer)
}

/// A seller's product image, uploaded and not yet checked: (the owner's
/// token, the asset id, the bytes).
pub(crate) async fn uploaded_product_image(app: &TestApp) -> (String, String, Vec<u8>) {
    let owner = app.signed_in_as(&unique_email("owner")).await;
    let org = app.new_org(&owner, "seller").await;
    let bytes = crate::assets::png(64, 48);
    let body = json!({"purpose": "product_image", "contentType": "image/png", "size": bytes.len(), "orgId": org, "fileName": "pear.png"});
    let grant = app
        .request_upload(&owner, &body)
        .await
        .assert_ok(StatusCode::CREATED)
        .clone();
    let asset_id = grant["assetId"].as_str().unwrap().to_owned();
    assert_eq!(app.upload_with(&grant, &bytes).await, 200);
    (owner, asset_id, bytes)
}

#[tokio::test]
async fn an_upload_s3_fails_to_serve_stays_pending_and_the_retry_makes_it_ready() {
    let app = bodega_tests::spawn_app().await;
    let proxy = FaultProxy::moto(19).await;
    let (owner, asset_id, bytes) = uploaded_product_image(&app).await;
    let (faulty_s3, _) = through_moto(&app.services, &proxy);
    let (pk, sk) = assets::asset::asset_key(&asset_id);
    let stored: assets::asset::AssetRecord =
        app.services.store.get(&pk, sk).await.unwrap().unwrap();
    let event = devserver::pumps::s3_event(
        &app.services.config.bucket_name,
        &stored.object_key,
        bytes.len() as i64,
        "etag",
    );
    let mut state = assets::AssetsState::new(&app.services);
    state.s3 = faulty_s3;

    // Every S3 call fails: the handler fails too (Lambda retries the event,
    // then its failure destination keeps it); the asset is not judged.
    proxy.set(Faults::fail(100));
    let failed = assets::ingest::handle_event(&state, event.clone()).await;
    let err = failed.expect_err("a failed S3 read is an error, not a verdict");
    assert!(format!("{err:?}").contains("HeadObject"), "{err:?}");
    let pending = app.asset(&owner, &asset_id).await;
    assert_eq!(pending.assert_ok(StatusCode::OK)["status"], "pending");

    // Only the thumbnail write fails: still an error, still pending.
    proxy.set(Faults::fail(100).only(&["/thumbnails/"]));
    let err = assets::ingest::handle_event(&state, event.clone())
        .await
        .expect_err("a failed thumbnail write is an error");
    assert!(format!("{err:?}").contains("PutObject"), "{err:?}");
    let pending = app.asset(&owner, &asset_id).await;
    assert_eq!(pending.assert_ok(StatusCode::OK)["status"], "pending");

    // The retry, with S3 back, makes it ready.
    proxy.heal();
    assets::ingest::handle_event(&state, event).await.unwrap();
    let ready = app.asset(&owner, &asset_id).await;
    assert_eq!(ready.assert_ok(StatusCode::OK)["status"], "ready");
}

#[tokio::test]
async fn a_send_ses_fails_is_reported_for_redelivery_and_sent_once_on_the_retry() {
    use crate::mail::MailApi;
    use axum::http::Method;
    let app = crate::mail_delivery::app_with_queue().await;
    let proxy = FaultProxy::moto(20).await;
    let t = crate::mail::team(&app).await;
    let id = crate::mail_delivery::active_newsletter(&app, &t).await;
    let emails: Vec<String> = (0..3).map(|i| unique_email(&format!("ses{i}"))).collect();
    let recipients: Vec<_> = emails
        .iter()
        .map(
            |email| json!({ "email": email, "data": { "firstName": "Ada", "orderNumber": "N-1" } }),
        )
        .collect();
    let body = json!({ "templateId": id, "recipients": recipients });
    app.mail(
        Method::POST,
        &t.owner,
        &format!("/v1/orgs/{}/sends", t.org),
        Some(&body),
    )
    .await
    .assert_ok(StatusCode::ACCEPTED);

    // SES fails every send: the worker reports the message, so SQS delivers
    // it again (and after maxReceiveCount, to the dead-letter queue).
    let mut faulty = mail::MailState::new(&app.services, app.services.signing.clone());
    faulty.mailer = through_moto(&app.services, &proxy).1;
    proxy.set(Faults::fail(100).only(&["/outbound-emails"]));
    let batches = devserver::pumps::drain_send_queue(&faulty).await.unwrap();
    assert_eq!(batches.len(), 1);
    let message_id = batches[0].records[0].message_id.clone();
    let again = mail::worker::handle_batch(&faulty, batches[0].clone(), None).await;
    assert!(again.failed(&message_id), "{again:?}");
    assert!(
        proxy
            .counts()
            .failed
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 2
    );
    for email in &emails {
        assert!(
            app.emails_to(email).await.is_empty(),
            "nothing sent to {email}"
        );
    }

    // SES back: the redelivered message sends each recipient once.
    proxy.heal();
    let healthy = mail::MailState::new(&app.services, app.services.signing.clone());
    let done = mail::worker::handle_batch(&healthy, batches[0].clone(), None).await;
    assert!(done.batch_item_failures.is_empty(), "{done:?}");
    for email in &emails {
        assert_eq!(app.emails_to(email).await.len(), 1, "{email}");
    }
}

#[tokio::test]
async fn an_ses_without_the_account_operation_has_no_sending_status_and_a_failing_one_errs() {
    let app = bodega_tests::spawn_app().await;
    let proxy = FaultProxy::moto(29).await;
    let (_, mailer) = through_moto(&app.services, &proxy);
    // moto has no GetAccount and answers 404, which SES itself never does:
    // no status, not an error (the health check stays quiet about it).
    let status = mailer
        .sending_status()
        .await
        .expect("an SES without the operation is not an error");
    assert_eq!(status, None);
    // A failing SES is an error, named.
    proxy.set(Faults::fail(100));
    let err = mailer
        .sending_status()
        .await
        .expect_err("a failing SES is an error");
    assert!(
        format!("{err:#}").contains("reading the SES account"),
        "{err:#}"
    );
}
