//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of the whole API,
//! assembled from each context's own description of its routes.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, Tag};

use crate::PlatformState;

/// Every context's routes in one document, with the security schemes.
pub fn document() -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Bodega API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Serverless commerce platform. Every response is an envelope: \
                     `{success, data, meta, pagination?}` or `{success: false, error: {code, message, fields?}, meta}`.",
                ))
                .build(),
        )
        .build();
    doc.merge(identity::openapi());
    doc.merge(catalog::openapi());
    doc.merge(assets::openapi());
    doc.merge(orders::openapi());
    doc.merge(crate::openapi());

    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("An access token from POST /v1/auth/login"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "apiKey",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Api-Key",
            "An organization API key (bdg_<prefix>_<secret>); it may also be sent as Authorization: Bearer <key>",
        ))),
    );
    doc.tags = Some(vec![
        tag("identity", "Accounts, sign-in and access tokens"),
        tag(
            "organizations",
            "Companies, members, invitations, API keys and the audit trail. \
             A caller outside the organization gets 404; a member without the permission, 403.",
        ),
        tag(
            "assets",
            "Uploads to S3, checked by content, with thumbnails",
        ),
        tag(
            "catalog",
            "Categories, products, stock, B2B pricing and compliance data, reviews, search",
        ),
        tag(
            "orders",
            "Carts, checkout, orders, fulfilments, payments (Stripe, invoice), refunds and order statistics",
        ),
        tag("platform", "Health and the API description"),
    ]);
    doc
}

fn tag(name: &str, description: &str) -> Tag {
    let mut tag = Tag::new(name);
    tag.description = Some(description.to_owned());
    tag
}

/// This document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json(State(state): State<PlatformState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        state.openapi_json.to_string(),
    )
}
