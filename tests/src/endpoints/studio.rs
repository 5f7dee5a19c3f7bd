//! Studio: designs, their generation, the gallery, likes.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Auth, TestApp, TestResponse};

/// A valid design request; tests change what they need.
pub fn design_body(title: &str) -> Value {
    json!({
        "title": title,
        "prompt": "red poppies scattered over a light summer fabric",
        "category": "dress",
        "style": "casual",
        "colors": ["#cc2233", "#1144aa", "#f2d024"],
        "tags": ["summer", "floral"],
        "isPublic": true,
    })
}

/// A publish request for a t-shirt at 29.00 EUR.
pub fn publish_body(org: &str, category_id: &str) -> Value {
    json!({
        "sellerOrgId": org,
        "garment": "tshirt",
        "price": {"amount": 2900, "currency": "EUR"},
        "categoryId": category_id,
    })
}

/// Studio: one method per endpoint, plus the worker run on demand.
impl TestApp {
    pub async fn create_design(&self, token: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, "/v1/designs", Some(token), Some(body))
            .await
    }

    pub async fn get_design(&self, token: Option<&str>, id: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/designs/{id}"), token, None)
            .await
    }

    pub async fn my_designs(&self, token: &str, query: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/me/designs{query}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn update_design(
        &self,
        token: &str,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> TestResponse {
        self.call_if_match(
            Method::PATCH,
            &format!("/v1/designs/{id}"),
            Some(token),
            if_match,
            Some(body),
        )
        .await
    }

    pub async fn delete_design(&self, token: &str, id: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/v1/designs/{id}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn like_design(&self, token: &str, id: &str) -> TestResponse {
        self.call(
            Method::PUT,
            &format!("/v1/designs/{id}/like"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn unlike_design(&self, token: &str, id: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/v1/designs/{id}/like"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn gallery(&self, query: &str) -> TestResponse {
        self.request(
            Method::GET,
            &format!("/v1/gallery{query}"),
            Auth::None,
            None,
            &[],
        )
        .await
    }

    /// An access token of a new user, the `i`th fan. The studio needs no
    /// more of a user than a valid token, and registering dozens of users
    /// at once would trip the per-IP sign-up limit.
    pub async fn signed_in_as_fan(&self, i: usize) -> String {
        let user = format!("{}{i:02}", ulid::Ulid::new());
        self.services
            .signing
            .issue_access_token(&user, "customer", None)
            .expect("an access token is issued")
            .token
    }

    /// The studio's state as the devserver builds it for this app.
    pub fn studio_state(&self) -> studio::StudioState {
        studio::StudioState::from_env(&self.services, self.services.signing.clone())
    }

    /// Runs the generation worker on everything this app queued; returns
    /// how many messages it handled.
    pub async fn drain_generations(&self) -> usize {
        devserver::pumps::drain_generation_queue(&self.studio_state())
            .await
            .expect("the generation queue drains")
    }

    /// `POST /v1/designs/{id}/publish`, with an `Idempotency-Key` if given.
    pub async fn publish_design(
        &self,
        token: &str,
        id: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> TestResponse {
        let headers: Vec<(&str, &str)> = idempotency_key
            .map(|key| ("idempotency-key", key))
            .into_iter()
            .collect();
        self.request(
            Method::POST,
            &format!("/v1/designs/{id}/publish"),
            Auth::Bearer(token),
            Some(body),
            &headers,
        )
        .await
    }

    /// Runs the stream (which queues paid orders with made-to-order lines),
    /// then the manufacturing worker on what this app queued; returns how
    /// many messages it handled.
    pub async fn drain_manufacturing(&self) -> usize {
        self.drain_stream().await;
        let url = self
            .services
            .config
            .manufacturing_queue_url
            .clone()
            .expect("the stack sets STUDIO_MANUFACTURING_QUEUE_URL");
        let sqs = aws_sdk_sqs::Client::new(&self.services.sdk);
        devserver::pumps::drain_manufacturing_queue(&self.studio_state(), &sqs, &url)
            .await
            .expect("the manufacturing queue drains")
    }

    /// Runs orders' shipments worker on what this app queued, then the
    /// stream (which emails the buyer); returns how many notices it handled.
    pub async fn drain_shipments(&self) -> usize {
        let url = self
            .services
            .config
            .shipment_queue_url
            .clone()
            .expect("the stack sets ORDERS_SHIPMENT_QUEUE_URL");
        let sqs = aws_sdk_sqs::Client::new(&self.services.sdk);
        let handled = devserver::pumps::drain_shipment_queue(&self.services.store, &sqs, &url)
            .await
            .expect("the shipments queue drains");
        self.drain_stream().await;
        handled
    }

    /// `POST /v1/manufacturing/webhooks/printful` with a raw body and signature.
    pub async fn partner_webhook(&self, payload: &str, signature: Option<&str>) -> TestResponse {
        let mut request = axum::http::Request::post("/v1/manufacturing/webhooks/printful")
            .header("content-type", "application/json");
        if let Some(signature) = signature {
            request = request.header("x-pf-webhook-signature", signature);
        }
        self.send(
            request
                .body(axum::body::Body::from(payload.to_owned()))
                .expect("a valid request"),
        )
        .await
    }

    pub async fn manufacturing_orders(&self, token: &str, org: &str, query: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/orgs/{org}/manufacturing-orders{query}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn manufacturing_order(&self, token: &str, org: &str, id: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/orgs/{org}/manufacturing-orders/{id}"),
            Some(token),
            None,
        )
        .await
    }

    /// Creates a design and lets the worker draw it; returns it as shown.
    pub async fn ready_design(&self, token: &str, body: &Value) -> Value {
        let created = self.create_design(token, body).await;
        let id = created.assert_ok(StatusCode::ACCEPTED)["id"]
            .as_str()
            .expect("a design id")
            .to_owned();
        self.drain_generations().await;
        let shown = self.get_design(Some(token), &id).await;
        let design = shown.assert_ok(StatusCode::OK).clone();
        assert_eq!(design["status"], "ready", "{design}");
        design
    }
}
