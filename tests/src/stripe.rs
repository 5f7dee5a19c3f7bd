//! The browser's and the dashboard's side of Stripe, against localstripe.

use serde_json::Value;

/// Confirms a PaymentIntent with a card the way Stripe.js does in a browser:
/// a PaymentMethod from the card details, set on the intent, then confirm.
/// Returns the confirm call's JSON whatever its status: the intent
/// (`status: "succeeded"`) or, for a declined test card, Stripe's error.
pub async fn stripe_confirm_card(
    api_base: &str,
    secret_key: &str,
    intent_id: &str,
    card_number: &str,
) -> Value {
    let client = reqwest::Client::new();
    let api_base = api_base.trim_end_matches('/');
    let post = |path: &str, form: &[(&str, &str)]| {
        client
            .post(format!("{api_base}{path}"))
            .bearer_auth(secret_key)
            .form(form)
            .send()
    };
    let method: Value = post(
        "/v1/payment_methods",
        &[
            ("type", "card"),
            ("card[number]", card_number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
        ],
    )
    .await
    .expect("Stripe answers")
    .error_for_status()
    .expect("the payment method is created")
    .json()
    .await
    .expect("a payment method");
    let method_id = method["id"].as_str().expect("a pm_ id");
    post(
        &format!("/v1/payment_intents/{intent_id}"),
        &[("payment_method", method_id)],
    )
    .await
    .expect("Stripe answers")
    .error_for_status()
    .expect("the payment method is set on the intent");
    post(&format!("/v1/payment_intents/{intent_id}/confirm"), &[])
        .await
        .expect("Stripe answers")
        .json()
        .await
        .expect("the confirmation is JSON")
}

/// A PaymentIntent as Stripe has it now.
pub async fn stripe_intent(api_base: &str, secret_key: &str, intent_id: &str) -> Value {
    reqwest::Client::new()
        .get(format!(
            "{}/v1/payment_intents/{intent_id}",
            api_base.trim_end_matches('/')
        ))
        .bearer_auth(secret_key)
        .send()
        .await
        .expect("Stripe answers")
        .json()
        .await
        .expect("the intent is JSON")
}
