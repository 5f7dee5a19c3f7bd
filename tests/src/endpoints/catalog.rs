//! Categories, products, stock, search and reviews: one method per endpoint.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Auth, TestApp, TestResponse};

impl TestApp {
    pub async fn list_categories(&self) -> TestResponse {
        self.call(Method::GET, "/v1/categories", None, None).await
    }

    pub async fn get_category(&self, slug: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/categories/{slug}"), None, None)
            .await
    }

    pub async fn create_category(&self, token: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, "/v1/categories", Some(token), Some(body))
            .await
    }

    pub async fn update_category(
        &self,
        token: &str,
        slug: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/categories/{slug}");
        self.call_if_match(Method::PATCH, &path, Some(token), if_match, Some(body))
            .await
    }

    /// Creates a category as `admin_token`; returns its id.
    pub async fn category(&self, admin_token: &str, slug: &str) -> String {
        let body = json!({ "slug": slug, "name": slug });
        self.create_category(admin_token, &body)
            .await
            .assert_ok(StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `GET /v1/products?<query>`
    pub async fn list_products(&self, query: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/products?{query}"), None, None)
            .await
    }

    pub async fn create_product(&self, token: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, "/v1/products", Some(token), Some(body))
            .await
    }

    /// Creates a product that must succeed; returns its id.
    pub async fn new_product(&self, token: &str, body: &Value) -> String {
        self.create_product(token, body)
            .await
            .assert_ok(StatusCode::CREATED)["id"]
            .as_str()
            .expect("a product id")
            .to_owned()
    }

    pub async fn bulk_create_products(&self, token: &str, products: &[Value]) -> TestResponse {
        let body = json!({ "products": products });
        self.call(Method::POST, "/v1/products/bulk", Some(token), Some(&body))
            .await
    }

    /// `PATCH /v1/products/bulk`: each item is `{"id", "ifMatch"?, ...changes}`.
    pub async fn bulk_update_products(&self, token: &str, products: &[Value]) -> TestResponse {
        let body = json!({ "products": products });
        self.call(Method::PATCH, "/v1/products/bulk", Some(token), Some(&body))
            .await
    }

    pub async fn get_product(&self, id: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/products/{id}"), None, None)
            .await
    }

    pub async fn update_product(
        &self,
        token: &str,
        id: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/products/{id}");
        self.call_if_match(Method::PATCH, &path, Some(token), if_match, Some(body))
            .await
    }

    pub async fn archive_product(&self, token: &str, id: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/v1/products/{id}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn adjust_stock(&self, token: &str, id: &str, delta: i64) -> TestResponse {
        let body = json!({ "delta": delta });
        self.call(
            Method::POST,
            &format!("/v1/products/{id}/stock"),
            Some(token),
            Some(&body),
        )
        .await
    }

    /// A stock adjustment with an `Idempotency-Key`.
    pub async fn adjust_stock_once(
        &self,
        token: &str,
        id: &str,
        delta: i64,
        key: &str,
    ) -> TestResponse {
        let body = json!({ "delta": delta });
        let path = format!("/v1/products/{id}/stock");
        self.request(
            Method::POST,
            &path,
            Auth::Bearer(token),
            Some(&body),
            &[("idempotency-key", key)],
        )
        .await
    }

    /// `GET /v1/search?<query>`
    pub async fn search(&self, query: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/search?{query}"), None, None)
            .await
    }

    pub async fn suggest(&self, prefix: &str) -> TestResponse {
        let path = format!("/v1/search/suggest?prefix={prefix}");
        self.call(Method::GET, &path, None, None).await
    }

    /// `GET /v1/search/queries?<query>`
    pub async fn search_queries(&self, token: &str, query: &str) -> TestResponse {
        let path = format!("/v1/search/queries?{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn list_reviews(&self, product_id: &str, query: &str) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews?{query}");
        self.call(Method::GET, &path, None, None).await
    }

    pub async fn create_review(&self, token: &str, product_id: &str, body: &Value) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }

    pub async fn update_my_review(
        &self,
        token: &str,
        product_id: &str,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews/mine");
        self.call(Method::PATCH, &path, Some(token), Some(body))
            .await
    }

    pub async fn delete_my_review(&self, token: &str, product_id: &str) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews/mine");
        self.call(Method::DELETE, &path, Some(token), None).await
    }

    pub async fn hide_review(
        &self,
        token: &str,
        product_id: &str,
        author_id: &str,
    ) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews/{author_id}/hide");
        let body = json!({ "reason": "Breaks the review rules" });
        self.call(Method::POST, &path, Some(token), Some(&body))
            .await
    }

    pub async fn restore_review(
        &self,
        token: &str,
        product_id: &str,
        author_id: &str,
    ) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews/{author_id}/restore");
        self.call(Method::POST, &path, Some(token), None).await
    }

    pub async fn report_review(
        &self,
        token: &str,
        product_id: &str,
        author_id: &str,
        reason: &str,
    ) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews/{author_id}/reports");
        let body = json!({ "reason": reason });
        self.call(Method::POST, &path, Some(token), Some(&body))
            .await
    }

    /// `GET /v1/moderation/reports` with `query` (`?limit=2`).
    pub async fn moderation_queue(&self, token: &str, query: &str) -> TestResponse {
        let path = format!("/v1/moderation/reports{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }
}

/// A valid product body for `POST /v1/products`.
pub fn product_body(org: &str, sku: &str, category_id: &str, name: &str, price: i64) -> Value {
    json!({
        "sellerOrgId": org,
        "sku": sku,
        "name": name,
        "categoryId": category_id,
        "price": { "amount": price, "currency": "EUR" },
        "stock": 10,
    })
}

/// A made-to-order product as another context publishes it through
/// `shared::catalog` (no stock; images are references; a source).
pub fn made_to_order_product(
    org: &str,
    sku: &str,
    category_id: &str,
    name: &str,
    price: i64,
) -> shared::catalog::NewProduct {
    let fields = serde_json::from_value(json!({
        "name": name,
        "categoryId": category_id,
        "price": { "amount": price, "currency": "EUR" },
        "images": [format!("https://cdn.bodega.test/designs/{sku}/print.png")],
        "tags": ["design"],
    }))
    .expect("valid product fields");
    shared::catalog::NewProduct {
        seller_org_id: org.to_owned(),
        sku: sku.to_owned(),
        supply: shared::catalog::Supply::MadeToOrder {
            source: shared::catalog::ProductSource {
                kind: "design".into(),
                id: format!("design-{sku}"),
            },
        },
        fields,
    }
}

impl TestApp {
    /// Publishes `new` through the catalog's creation command, as a context
    /// other than catalog does.
    pub async fn publish_product(
        &self,
        new: shared::catalog::NewProduct,
    ) -> Result<shared::catalog::Product, shared::http::ApiError> {
        let valid = shared::catalog::ValidProduct::try_from(new)?;
        shared::catalog::create_product(&self.services.store, valid).await
    }
}
