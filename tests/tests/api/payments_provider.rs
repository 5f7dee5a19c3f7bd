//! The Stripe provider against the local stand-in (localstripe): a card
//! payment from intent to refund, and how failures are sorted.

use std::time::{Duration, Instant};

use bodega_tests::{kept_secret, spawn_app_with, stack_config, stripe_confirm_card};
use shared::config::SecretSource;
use shared::domain::Money;
use shared::payments::{
    PaymentError, PaymentProvider, PaymentRequest, PaymentStatus, RefundRequest, StripeProvider,
};

fn order_id() -> String {
    ulid::Ulid::new().to_string()
}

/// The stack's Stripe endpoint and key.
fn stack_stripe() -> (String, String) {
    let config = stack_config("unused").stripe;
    let Some(SecretSource::Inline(key)) = config.secret_key else {
        panic!("the local stack sets STRIPE_SECRET_KEY");
    };
    (config.api_base, key)
}

fn eur(amount: i64) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

#[tokio::test]
async fn a_card_payment_is_started_confirmed_and_refunded() {
    let app = spawn_app_with(|_| {}).await;
    let payments = &app.services.payments;
    assert!(payments.webhook_secret.is_some(), "the stack sets one");
    let stripe = payments.card().expect("the stack configures Stripe");
    assert_eq!(stripe.name(), "stripe");
    let order_id = order_id();

    let start = stripe
        .start(&PaymentRequest {
            order_id: order_id.clone(),
            amount: eur(1234),
            description: format!("Bodega order {order_id}"),
        })
        .await
        .unwrap();
    assert!(start.reference.starts_with("pi_"), "{start:?}");
    assert!(
        start
            .client_secret
            .as_deref()
            .is_some_and(|secret| secret.starts_with(&start.reference)),
        "{start:?}"
    );
    assert_eq!(start.status, PaymentStatus::RequiresAction);

    let (api_base, key) = stack_stripe();
    let intent = stripe_confirm_card(&api_base, &key, &start.reference, "4242424242424242").await;
    assert_eq!(intent["status"], "succeeded", "{intent}");
    assert_eq!(intent["amount"], 1234, "{intent}");
    assert_eq!(intent["currency"], "eur", "{intent}");
    assert_eq!(
        intent["metadata"]["order_id"],
        order_id.as_str(),
        "{intent}"
    );

    let refund = stripe
        .refund(&RefundRequest {
            order_id: order_id.clone(),
            reference: start.reference.clone(),
            amount: eur(1234),
            attempt: 0,
        })
        .await
        .unwrap();
    assert!(refund.reference.starts_with("re_"), "{refund:?}");
}

#[tokio::test]
async fn a_refund_of_an_unknown_payment_is_rejected() {
    let (api_base, key) = stack_stripe();
    let stripe = StripeProvider::new(&api_base, &key).unwrap();
    let err = stripe
        .refund(&RefundRequest {
            order_id: order_id(),
            reference: "pi_neverexisted".into(),
            amount: eur(100),
            attempt: 0,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, PaymentError::Rejected(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable_quickly() {
    let stripe = StripeProvider::new("http://127.0.0.1:9", "sk_test_bodegalocal").unwrap();
    let began = Instant::now();
    let err = stripe
        .start(&PaymentRequest {
            order_id: order_id(),
            amount: eur(1234),
            description: "never sent".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, PaymentError::Unavailable(_)), "{err:?}");
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_wrong_key_is_our_fault_not_the_customers() {
    let (api_base, _) = stack_stripe();
    // localstripe accepts any sk_ key; anything else is refused with 401.
    let stripe = StripeProvider::new(&api_base, "not-a-key").unwrap();
    let err = stripe
        .start(&PaymentRequest {
            order_id: order_id(),
            amount: eur(1234),
            description: "refused".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, PaymentError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn without_a_key_card_payments_are_not_configured() {
    let app = spawn_app_with(|config| {
        config.stripe.secret_key = None;
        config.stripe.webhook_secret = None;
    })
    .await;
    assert!(matches!(
        app.services.payments.card(),
        Err(PaymentError::NotConfigured)
    ));
    assert!(app.services.payments.webhook_secret.is_none());
}

#[tokio::test]
async fn secrets_are_read_from_secrets_manager() {
    let ids = [
        kept_secret("stripe-key", "sk_test_bodegalocal").await,
        kept_secret("stripe-webhook", "whsec_from_secrets_manager").await,
    ];
    let app = spawn_app_with(|config| {
        config.stripe.secret_key = Some(SecretSource::Secret(ids[0].clone()));
        config.stripe.webhook_secret = Some(SecretSource::Secret(ids[1].clone()));
    })
    .await;
    assert_eq!(
        app.services.payments.webhook_secret.as_deref(),
        Some("whsec_from_secrets_manager")
    );
    let start = app
        .services
        .payments
        .card()
        .unwrap()
        .start(&PaymentRequest {
            order_id: order_id(),
            amount: eur(500),
            description: "key from Secrets Manager".into(),
        })
        .await
        .unwrap();
    assert!(start.reference.starts_with("pi_"), "{start:?}");
}

#[tokio::test]
async fn secrets_a_function_needs_are_read_together_in_the_order_asked() {
    let token = kept_secret("token", "pf-token").await;
    let hook = kept_secret("hook", "pf-hook").await;
    let app = spawn_app_with(|_| {}).await;
    let (token, hook) = (SecretSource::Secret(token), SecretSource::Secret(hook));
    let inline = SecretSource::Inline("inline-value".into());
    let values = app
        .services
        .read_secrets([
            (Some(&hook), "the webhook secret"),
            (None, "an unset secret"),
            (Some(&inline), "an inline secret"),
            (Some(&token), "the token"),
            (Some(&hook), "the webhook secret again"),
        ])
        .await
        .expect("every secret reads");
    assert_eq!(
        values,
        [
            Some("pf-hook".to_owned()),
            None,
            Some("inline-value".to_owned()),
            Some("pf-token".to_owned()),
            Some("pf-hook".to_owned()),
        ]
    );
    // Only inline and unset: Secrets Manager is not asked at all.
    let [one, two] = app
        .services
        .read_secrets([(None, "unset"), (Some(&inline), "inline")])
        .await
        .unwrap();
    assert_eq!((one, two.as_deref()), (None, Some("inline-value")));
}

#[tokio::test]
async fn a_missing_secret_stops_the_start_naming_it_and_what_it_is_for() {
    let token = SecretSource::Secret(kept_secret("token", "pf-token").await);
    let (missing, missing_id) = missing_secret();
    let app = spawn_app_with(|_| {}).await;
    // Several at once (BatchGetSecretValue) and one alone (GetSecretValue).
    let together = app
        .services
        .read_secrets([
            (Some(&token), "the token"),
            (Some(&missing), "the Printful webhook secret"),
        ])
        .await
        .expect_err("a missing secret fails");
    let alone = app
        .services
        .read_secret(&missing, "the Printful webhook secret")
        .await
        .expect_err("a missing secret fails");
    for err in [together, alone] {
        let message = format!("{err:#}");
        assert!(
            message.contains("the Printful webhook secret") && message.contains(&missing_id),
            "{message}"
        );
    }
}

#[tokio::test]
async fn start_up_work_beside_the_dynamodb_warm_up_gives_its_value_or_stops_the_start() {
    let token = SecretSource::Secret(kept_secret("token", "pf-token").await);
    let (missing, _) = missing_secret();
    let app = spawn_app_with(|_| {}).await;
    // What a Lambda's main does: its secrets read while DynamoDB connects.
    let started = app
        .services
        .start_with(async |services| {
            let [token] = services.read_secrets([(Some(&token), "the token")]).await?;
            Ok(token)
        })
        .await
        .expect("the start-up work succeeds");
    assert_eq!(started.as_deref(), Some("pf-token"));
    let stopped = app
        .services
        .start_with(async |services| {
            services
                .read_secret(&missing, "the Printful webhook secret")
                .await
        })
        .await
        .expect_err("a missing secret stops the start");
    assert!(
        format!("{stopped:#}").contains("the Printful webhook secret"),
        "{stopped:#}"
    );
}

/// A secret id Secrets Manager holds nothing under, and the id itself.
fn missing_secret() -> (SecretSource, String) {
    let id = format!(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:test/missing-{}",
        order_id().to_lowercase()
    );
    (SecretSource::Secret(id.clone()), id)
}
