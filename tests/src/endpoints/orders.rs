//! Carts, checkout, orders, fulfilments and payments.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::{Auth, TestApp, TestResponse};

/// Carts, checkout, orders, fulfilments and payments: one method per
/// endpoint. `org` is the buying org (`?orgId=`), if any.
impl TestApp {
    /// An access token for a new customer who exists only as a token: for
    /// tests that need many buyers (registration is rate limited per IP).
    pub fn new_customer_token(&self) -> (String, String) {
        let user_id = ulid::Ulid::new().to_string();
        let issued = self
            .services
            .signing
            .issue_access_token(&user_id, "customer", None)
            .expect("a token is issued");
        (issued.token, user_id)
    }

    fn with_org(path: &str, org: Option<&str>) -> String {
        match org {
            Some(org) => format!("{path}?orgId={org}"),
            None => path.to_owned(),
        }
    }

    pub async fn cart(&self, token: &str, org: Option<&str>) -> TestResponse {
        let path = Self::with_org("/v1/cart", org);
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn clear_cart(&self, token: &str, org: Option<&str>) -> TestResponse {
        let path = Self::with_org("/v1/cart", org);
        self.call(Method::DELETE, &path, Some(token), None).await
    }

    pub async fn add_to_cart(
        &self,
        token: &str,
        org: Option<&str>,
        product_id: &str,
        quantity: i64,
    ) -> TestResponse {
        let path = Self::with_org("/v1/cart/items", org);
        let body = json!({ "productId": product_id, "quantity": quantity });
        self.call(Method::POST, &path, Some(token), Some(&body))
            .await
    }

    pub async fn set_cart_quantity(
        &self,
        token: &str,
        product_id: &str,
        quantity: i64,
    ) -> TestResponse {
        let path = format!("/v1/cart/items/{product_id}");
        let body = json!({ "quantity": quantity });
        self.call(Method::PUT, &path, Some(token), Some(&body))
            .await
    }

    pub async fn remove_from_cart(&self, token: &str, product_id: &str) -> TestResponse {
        let path = format!("/v1/cart/items/{product_id}");
        self.call(Method::DELETE, &path, Some(token), None).await
    }

    /// `POST /v1/checkout` with an Idempotency-Key (`None`: without one).
    pub async fn checkout(
        &self,
        token: &str,
        org: Option<&str>,
        key: Option<&str>,
        body: &Value,
    ) -> TestResponse {
        let path = Self::with_org("/v1/checkout", org);
        let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
        self.request(
            Method::POST,
            &path,
            Auth::Bearer(token),
            Some(body),
            &headers,
        )
        .await
    }

    /// Puts `quantity` of the product in the cart and checks out by card to
    /// Germany; returns the order.
    pub async fn buy(&self, token: &str, product_id: &str, quantity: i64) -> Value {
        self.add_to_cart(token, None, product_id, quantity)
            .await
            .assert_ok(StatusCode::OK);
        let key = ulid::Ulid::new().to_string();
        self.checkout(token, None, Some(&key), &checkout_body("card"))
            .await
            .assert_ok(StatusCode::CREATED)
            .clone()
    }

    pub async fn orders(&self, token: &str, query: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/orders?{query}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn order(&self, token: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/orders/{order_id}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn cancel_order(&self, token: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/orders/{order_id}/cancel");
        self.call(Method::POST, &path, Some(token), None).await
    }

    pub async fn fulfilments(&self, token: &str, org: &str, query: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/fulfilments?{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn fulfilment(&self, token: &str, org: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/fulfilments/{order_id}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn advance_fulfilment(
        &self,
        token: &str,
        org: &str,
        order_id: &str,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/orgs/{org}/fulfilments/{order_id}/status");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }

    pub async fn admin_orders(&self, token: &str, query: &str) -> TestResponse {
        let path = format!("/v1/admin/orders?{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn mark_invoice_paid(&self, token: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/admin/orders/{order_id}/invoice-payment");
        self.call(Method::POST, &path, Some(token), None).await
    }

    pub async fn refund_order(&self, token: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/admin/orders/{order_id}/refund");
        self.call(Method::POST, &path, Some(token), None).await
    }

    pub async fn order_stats(&self, token: &str, query: &str) -> TestResponse {
        let path = format!("/v1/admin/stats?{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    /// Delivers a Stripe event signed with `secret` (now), as Stripe would.
    pub async fn stripe_webhook(&self, event: &Value, secret: &str) -> TestResponse {
        let payload = event.to_string();
        let now = shared::domain::now_epoch();
        let signature = shared::payments::webhook::sign(payload.as_bytes(), secret, now);
        self.send_webhook(&payload, &signature).await
    }

    /// Posts a raw webhook body with the given Stripe-Signature header.
    pub async fn send_webhook(&self, payload: &str, signature: &str) -> TestResponse {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/payments/webhook")
            .header(header::CONTENT_TYPE, "application/json")
            .header("stripe-signature", signature)
            .body(Body::from(payload.to_owned()))
            .expect("a valid request");
        self.send(request).await
    }
}

/// A valid checkout body shipping to Germany, paid by `method`.
pub fn checkout_body(method: &str) -> Value {
    json!({
        "shippingAddress": {
            "name": "Erika Mustermann",
            "line1": "Hauptstraße 5",
            "postalCode": "10115",
            "city": "Berlin",
            "country": "DE",
        },
        "paymentMethod": method,
    })
}
