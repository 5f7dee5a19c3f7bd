//! The Printful client (`shared::print_partner`) against the stack's
//! Printful stand-in, over HTTP: drafts whose costs are calculated, then
//! confirmed; cancels; shipments with a signed webhook; errors mapped to
//! what a caller can act on.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use bodega_tests::eventually;
use serde_json::{Value, json};
use shared::print_partner::webhook::{self, PartnerChange, WebhookError};
use shared::print_partner::{
    CostStatus, DraftItem, DraftOrder, ExternalId, PartnerError, PartnerOrderRef,
    PartnerOrderStatus, PrintPartner, PrintfulClient, Recipient,
};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the local stack sets {name}"))
}

fn client() -> PrintfulClient {
    PrintfulClient::new(
        &env("BODEGA_PRINTFUL_URL"),
        &env("BODEGA_PRINTFUL_TOKEN"),
        None,
    )
    .unwrap()
}

fn draft(external_id: &ExternalId, quantity: u32) -> DraftOrder {
    DraftOrder {
        external_id: external_id.clone(),
        recipient: Recipient {
            name: "Erika Mustermann".into(),
            address1: "Hauptstraße 5".into(),
            address2: None,
            city: "Berlin".into(),
            state_code: None,
            country_code: "DE".into(),
            zip: "10115".into(),
            email: Some("erika@example.com".into()),
        },
        items: vec![DraftItem {
            catalog_variant_id: 4012,
            quantity,
            placement: "front".into(),
            technique: "dtg".into(),
            image_url: "https://cdn.bodega.test/designs/01J/print.png".into(),
        }],
        shipping: "STANDARD".into(),
    }
}

fn new_external_id() -> ExternalId {
    ExternalId::parse(&ulid::Ulid::new().to_string()).unwrap()
}

async fn control(path: &str, body: Value) -> Value {
    let url = format!("{}{path}", env("BODEGA_PRINTFUL_URL"));
    let response = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_draft_is_priced_then_confirmed_once_its_costs_are_done() {
    let partner = client();
    let external_id = new_external_id();
    let created = partner.create_draft(&draft(&external_id, 2)).await.unwrap();
    assert_eq!(created.status, PartnerOrderStatus::Draft);
    assert_eq!(created.external_id.as_deref(), Some(external_id.as_str()));
    assert_eq!(created.costs.status, CostStatus::Calculating);
    assert_eq!(created.costs.total, None);
    let by_id = PartnerOrderRef::Partner(created.id.clone());

    // Confirming before the costs are known is refused.
    let early = partner.confirm(&by_id).await.unwrap_err();
    assert!(
        matches!(early, PartnerError::Rejected { status: 409, .. }),
        "{early:?}"
    );

    let priced = eventually(
        "the costs are calculated",
        50,
        Duration::from_millis(100),
        || {
            let partner = partner.clone();
            let by_id = by_id.clone();
            async move {
                let order = partner.order(&by_id).await.ok()?;
                (order.costs.status == CostStatus::Done).then_some(order)
            }
        },
    )
    .await;
    assert_eq!(priced.costs.currency.as_deref(), Some("EUR"));
    assert_eq!(priced.costs.subtotal, Some(2500));
    assert_eq!(priced.costs.shipping, Some(499));
    assert_eq!(priced.costs.total, Some(2999));

    // Creating it again (a retry) finds the same order; so does our id.
    let again = partner.create_draft(&draft(&external_id, 2)).await.unwrap();
    assert_eq!(again.id, created.id);
    let by_ours = PartnerOrderRef::External(external_id.clone());
    assert_eq!(partner.order(&by_ours).await.unwrap().id, created.id);

    let confirmed = partner.confirm(&by_ours).await.unwrap();
    assert_eq!(confirmed.status, PartnerOrderStatus::Pending);
    let twice = partner.confirm(&by_id).await.unwrap_err();
    assert!(
        matches!(twice, PartnerError::Rejected { status: 409, .. }),
        "{twice:?}"
    );
}

#[tokio::test]
async fn a_draft_is_cancelled_and_unknown_orders_are_not_found() {
    let partner = client();
    let external_id = new_external_id();
    partner.create_draft(&draft(&external_id, 1)).await.unwrap();
    let ours = PartnerOrderRef::External(external_id);
    let cancelled = partner.cancel(&ours).await.unwrap();
    assert_eq!(cancelled.status, PartnerOrderStatus::Canceled);
    assert_eq!(
        partner.order(&ours).await.unwrap().status,
        PartnerOrderStatus::Canceled
    );
    assert_eq!(
        partner
            .order(&PartnerOrderRef::External(new_external_id()))
            .await
            .unwrap_err(),
        PartnerError::NotFound
    );
    assert!(partner.shipments(&ours).await.unwrap().is_empty());
}

/// A one-request webhook receiver: the URL to post to, and what arrived.
async fn webhook_receiver() -> (String, tokio::sync::oneshot::Receiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Arc::new(std::sync::Mutex::new(Some(tx)));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send((headers, body));
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

#[tokio::test]
async fn a_shipped_order_has_tracking_and_sends_a_signed_webhook() {
    let partner = client();
    let secret = env("BODEGA_PRINTFUL_WEBHOOK_SECRET");
    let external_id = new_external_id();
    let created = partner.create_draft(&draft(&external_id, 1)).await.unwrap();
    let ours = PartnerOrderRef::External(external_id.clone());
    eventually(
        "the costs are calculated",
        50,
        Duration::from_millis(100),
        || {
            let partner = partner.clone();
            let ours = ours.clone();
            async move { partner.confirm(&ours).await.ok() }
        },
    )
    .await;

    let (url, received) = webhook_receiver().await;
    let shipped = control(
        &format!("/_standin/orders/{}/ship", created.id),
        json!({"url": url}),
    )
    .await;
    assert_eq!(shipped["delivered"], 200, "{shipped}");
    let (headers, body) = tokio::time::timeout(Duration::from_secs(5), received)
        .await
        .expect("the webhook arrives")
        .unwrap();
    let signature = headers
        .get(webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let now = shared::domain::now_epoch();
    let event = webhook::verify(&body, signature.as_deref(), &secret, now).unwrap();
    assert_eq!(event.kind, "shipment_sent");
    assert_eq!(event.external_id.as_deref(), Some(external_id.as_str()));
    assert_eq!(event.order_id.as_deref(), Some(created.id.as_str()));
    let PartnerChange::Shipped(shipment) = &event.change else {
        panic!("{event:?}");
    };
    let shipments = partner.shipments(&ours).await.unwrap();
    assert_eq!(shipments.len(), 1);
    assert_eq!(&shipments[0], shipment);
    assert!(shipment.tracking_number.is_some() && shipment.tracking_url.is_some());
    assert_eq!(
        partner.order(&ours).await.unwrap().status,
        PartnerOrderStatus::Fulfilled
    );

    // Forged, unsigned and replayed deliveries are refused.
    let mut forged = body.to_vec();
    let at = forged.len() / 2;
    forged[at] ^= 0x01;
    assert_eq!(
        webhook::verify(&forged, signature.as_deref(), &secret, now),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        webhook::verify(&body, Some(&webhook::sign(&body, "0badc0de")), &secret, now),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        webhook::verify(&body, None, &secret, now),
        Err(WebhookError::MissingSignature)
    );
    assert_eq!(
        webhook::verify(&body, signature.as_deref(), &secret, now + 3600),
        Err(WebhookError::Expired)
    );

    // A failed order says why.
    let doomed_id = new_external_id();
    let doomed = partner.create_draft(&draft(&doomed_id, 1)).await.unwrap();
    let (url, received) = webhook_receiver().await;
    control(
        &format!("/_standin/orders/{}/fail", doomed.id),
        json!({"url": url, "reason": "the print file is too small"}),
    )
    .await;
    let (headers, body) = tokio::time::timeout(Duration::from_secs(5), received)
        .await
        .expect("the webhook arrives")
        .unwrap();
    let signature = headers
        .get(webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let failed = webhook::verify(&body, signature, &secret, now).unwrap();
    assert_eq!(
        failed.change,
        PartnerChange::Failed {
            reason: Some("the print file is too small".into())
        }
    );
    assert_eq!(failed.external_id.as_deref(), Some(doomed_id.as_str()));
    assert_eq!(
        partner
            .order(&PartnerOrderRef::External(doomed_id))
            .await
            .unwrap()
            .status,
        PartnerOrderStatus::Failed
    );

    // An order that is not in production does not ship.
    let draft_only = partner
        .create_draft(&draft(&new_external_id(), 1))
        .await
        .unwrap();
    let url = format!(
        "{}/_standin/orders/{}/ship",
        env("BODEGA_PRINTFUL_URL"),
        draft_only.id
    );
    let refused = reqwest::Client::new().post(url).send().await.unwrap();
    assert_eq!(refused.status(), 409);
}

#[tokio::test]
async fn partner_errors_say_whether_to_retry() {
    let partner = client();
    let mut invalid = draft(&new_external_id(), 1);
    invalid.items.clear();
    invalid.recipient.zip = String::new();
    let err = partner.create_draft(&invalid).await.unwrap_err();
    let PartnerError::Rejected { status, message } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*status, 400);
    assert!(
        message.contains("order_items") && message.contains("zip"),
        "{message}"
    );
    assert!(!err.is_retryable());

    let stranger = PrintfulClient::new(&env("BODEGA_PRINTFUL_URL"), "pf_wrong", None).unwrap();
    let refused = stranger
        .order(&PartnerOrderRef::Partner("1".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PartnerError::Rejected { status: 401, .. }),
        "{refused:?}"
    );

    let external_id = new_external_id();
    partner.create_draft(&draft(&external_id, 1)).await.unwrap();
    control(
        "/_standin/rate-limit",
        json!({"count": 1, "retryAfter": 7, "path": format!("/v2/orders/@{}", external_id.as_str())}),
    )
    .await;
    let ours = PartnerOrderRef::External(external_id);
    let limited = partner.order(&ours).await.unwrap_err();
    assert_eq!(
        limited,
        PartnerError::RateLimited {
            retry_after: Duration::from_secs(7)
        }
    );
    assert!(limited.is_retryable());
    assert!(partner.order(&ours).await.is_ok(), "the limit has passed");

    // Nobody listening: retryable.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let gone = PrintfulClient::new(&dead_url, "pf", None)
        .unwrap()
        .order(&ours)
        .await
        .unwrap_err();
    assert!(
        matches!(gone, PartnerError::Unavailable(_)) && gone.is_retryable(),
        "{gone:?}"
    );
}
