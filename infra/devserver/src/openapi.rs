//! The OpenAPI 3.1 document of the whole API, assembled from each context's
//! own description of its routes. Only a composition root links every
//! context, so it is assembled here; `make openapi` writes it to
//! docs/openapi.json, a test fails while the two differ, and the platform
//! function serves the committed file.

use utoipa::Number;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Schema, SchemaType};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    Content, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Response, Tag, Type,
};

/// Merges one context's document. Schemas are global by name: a context
/// that names a schema like another context's, with other content, would
/// silently replace it (as a `Check` once did), so that panics instead.
fn merge_checked(doc: &mut OpenApi, context: &str, part: OpenApi) {
    if let (Some(have), Some(new)) = (&doc.components, &part.components) {
        for (name, schema) in &new.schemas {
            if let Some(existing) = have.schemas.get(name) {
                let same = serde_json::to_value(existing).ok() == serde_json::to_value(schema).ok();
                assert!(
                    same,
                    "{context} defines the schema `{name}` differently from another context; rename one \
                     (#[schema(as = ...)])"
                );
            }
        }
    }
    doc.merge(part);
}

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
    for (context, part) in [
        ("identity", identity::openapi()),
        ("catalog", catalog::openapi()),
        ("assets", assets::openapi()),
        ("orders", orders::openapi()),
        ("mail", mail::openapi()),
        ("studio", studio::openapi()),
        ("sourcing", sourcing::openapi()),
        ("platform", platform::openapi()),
    ] {
        merge_checked(&mut doc, context, part);
    }

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
    add_common_responses(&mut doc);
    add_links(&mut doc);
    widen_page_limits(&mut doc);
    parameters_are_never_null(&mut doc);
    close_flattened_bodies(&mut doc);
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
        tag(
            "mail",
            "Email templates with typed variables, immutable versions, approvals, previews and sending",
        ),
        tag(
            "studio",
            "AI-generated apparel designs drawn in the background, a public gallery, likes and views",
        ),
        tag(
            "sourcing",
            "Requests for quotation, explained supplier matching, invitations and sealed proposals",
        ),
        tag(
            "moderation",
            "Reports of reviews and designs, the report queue, and moderators hiding or restoring content",
        ),
        tag("platform", "Health and the API description"),
    ]);
    doc
}

/// The error responses that come from the shared layers and extractors
/// rather than from a handler, declared once in `components.responses` and
/// referenced by every operation they apply to (an operation's own wording
/// for the same status wins):
/// - a JSON body (`ApiJson`): 400 unreadable, 413 too large, 415 not JSON,
///   422 of the wrong shape;
/// - query parameters (`ApiQuery`): 400 unreadable;
/// - credentials: 401; an API key's request budget: 429;
/// - a path parameter naming something: 404;
/// - a dependency that does not answer in time: 503.
const COMMON_RESPONSES: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "The request cannot be read: the body is not valid JSON, or a query parameter or cursor is malformed",
    ),
    (
        "401",
        "Unauthenticated",
        "Missing, expired or invalid credentials (access token or API key)",
    ),
    (
        "404",
        "NotFound",
        "No such resource, or one the caller may not see",
    ),
    ("413", "PayloadTooLarge", "The body is larger than 256 KiB"),
    (
        "415",
        "UnsupportedMediaType",
        "The body is not sent as JSON (Content-Type: application/json)",
    ),
    (
        "422",
        "ValidationFailed",
        "A value breaks the rules; `error.fields` names each field and why",
    ),
    (
        "429",
        "RateLimited",
        "Too many requests; retry after the Retry-After header's seconds",
    ),
    (
        "503",
        "Unavailable",
        "A dependency is unavailable or the request ran out of time; retry",
    ),
];

fn add_common_responses(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    for (status, name, description) in COMMON_RESPONSES {
        let mut response = Response::new(*description);
        response.content.insert(
            "application/json".to_owned(),
            Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))),
        );
        if *status == "429" {
            let mut retry_after = Header::new(ObjectBuilder::new().schema_type(Type::Integer));
            retry_after.description = Some("Seconds to wait before retrying".to_owned());
            response
                .headers
                .insert("Retry-After".to_owned(), retry_after);
        }
        components
            .responses
            .insert((*name).to_owned(), RefOr::T(response));
    }
    for operation in operations(doc) {
        for status in common_statuses(operation) {
            let (_, name, _) = COMMON_RESPONSES
                .iter()
                .find(|(code, _, _)| *code == status)
                .expect("every common status has a response");
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
        }
    }
}

/// Which of the common responses an operation can answer, from what it
/// declares: its body, parameters and security.
fn common_statuses(operation: &Operation) -> Vec<&'static str> {
    let mut statuses = Vec::new();
    let json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"));
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has = |location: ParameterIn| {
        parameters
            .iter()
            .any(|p| std::mem::discriminant(&p.parameter_in) == std::mem::discriminant(&location))
    };
    let schemes = serde_json::to_value(&operation.security).unwrap_or_default();
    let needs = |scheme: &str| {
        schemes
            .as_array()
            .is_some_and(|alternatives| alternatives.iter().any(|a| a.get(scheme).is_some()))
    };
    if json_body || has(ParameterIn::Query) {
        statuses.push("400");
    }
    if needs("bearer") || needs("apiKey") {
        statuses.push("401");
    }
    if has(ParameterIn::Path) {
        statuses.push("404");
    }
    if json_body {
        statuses.extend(["413", "415", "422"]);
    }
    if needs("apiKey") {
        statuses.push("429");
    }
    if !matches!(
        operation.operation_id.as_deref(),
        Some("openapi_json" | "jwks")
    ) {
        statuses.push("503");
    }
    statuses
}

/// Where the id a response hands out is used next: (operation, status,
/// link name, target operation, the target's parameters as runtime
/// expressions). Clients and stateful fuzzers follow these to chain create →
/// read → update → delete.
type LinkSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const ORG_ID: &[(&str, &str)] = &[("orgId", "$response.body#/data/id")];
const PRODUCT_ID: &[(&str, &str)] = &[("productId", "$response.body#/data/id")];
const ORDER_ID: &[(&str, &str)] = &[("orderId", "$response.body#/data/id")];
const ASSET_ID: &[(&str, &str)] = &[("assetId", "$response.body#/data/assetId")];
const SLUG: &[(&str, &str)] = &[("slug", "$response.body#/data/slug")];
const FULFILMENT: &[(&str, &str)] = &[
    ("orgId", "$response.body#/data/lines/0/sellerOrgId"),
    ("orderId", "$response.body#/data/id"),
];
const CART_LINE: &[(&str, &str)] = &[("productId", "$request.body#/productId")];
const API_KEY: &[(&str, &str)] = &[
    ("orgId", "$request.path.orgId"),
    ("prefix", "$response.body#/data/prefix"),
];
const OWN_REVIEW: &[(&str, &str)] = &[("productId", "$request.path.productId")];
const REVIEW: &[(&str, &str)] = &[
    ("productId", "$request.path.productId"),
    ("authorId", "$response.body#/data/authorId"),
];

const LINKS: &[LinkSpec] = &[
    ("create_org", "201", "GetOrg", "get_org", ORG_ID),
    ("create_org", "201", "UpdateOrg", "update_org", ORG_ID),
    ("create_org", "201", "ListMembers", "list_members", ORG_ID),
    (
        "create_org",
        "201",
        "InviteMember",
        "create_invitation",
        ORG_ID,
    ),
    (
        "create_org",
        "201",
        "CreateApiKey",
        "create_api_key",
        ORG_ID,
    ),
    ("create_org", "201", "ListApiKeys", "list_api_keys", ORG_ID),
    ("create_org", "201", "ListAudit", "list_org_audit", ORG_ID),
    (
        "create_org",
        "201",
        "ListFulfilments",
        "list_fulfilments",
        ORG_ID,
    ),
    (
        "create_org",
        "201",
        "SetVerification",
        "set_verification",
        ORG_ID,
    ),
    (
        "create_api_key",
        "201",
        "RevokeApiKey",
        "revoke_api_key",
        API_KEY,
    ),
    (
        "create_category",
        "201",
        "GetCategory",
        "get_category",
        SLUG,
    ),
    (
        "create_category",
        "201",
        "UpdateCategory",
        "update_category",
        SLUG,
    ),
    (
        "create_product",
        "201",
        "GetProduct",
        "get_product",
        PRODUCT_ID,
    ),
    (
        "create_product",
        "201",
        "UpdateProduct",
        "update_product",
        PRODUCT_ID,
    ),
    (
        "create_product",
        "201",
        "ArchiveProduct",
        "archive_product",
        PRODUCT_ID,
    ),
    (
        "create_product",
        "201",
        "AdjustStock",
        "adjust_stock",
        PRODUCT_ID,
    ),
    (
        "create_product",
        "201",
        "ListReviews",
        "list_reviews",
        PRODUCT_ID,
    ),
    (
        "create_product",
        "201",
        "CreateReview",
        "create_review",
        PRODUCT_ID,
    ),
    (
        "create_review",
        "201",
        "UpdateReview",
        "update_review",
        OWN_REVIEW,
    ),
    (
        "create_review",
        "201",
        "DeleteReview",
        "delete_review",
        OWN_REVIEW,
    ),
    ("create_review", "201", "HideReview", "hide_review", REVIEW),
    ("add_item", "200", "SetQuantity", "set_quantity", CART_LINE),
    ("add_item", "200", "RemoveItem", "remove_item", CART_LINE),
    ("checkout", "201", "GetOrder", "get_order", ORDER_ID),
    ("checkout", "201", "CancelOrder", "cancel_order", ORDER_ID),
    (
        "checkout",
        "201",
        "MarkInvoicePaid",
        "mark_invoice_paid",
        ORDER_ID,
    ),
    ("checkout", "201", "RefundOrder", "refund_order", ORDER_ID),
    (
        "checkout",
        "201",
        "GetFulfilment",
        "get_fulfilment",
        FULFILMENT,
    ),
    (
        "checkout",
        "201",
        "AdvanceFulfilment",
        "advance_fulfilment",
        FULFILMENT,
    ),
    ("create_upload", "201", "GetAsset", "get_asset", ASSET_ID),
    (
        "create_upload",
        "201",
        "DeleteAsset",
        "delete_asset",
        ASSET_ID,
    ),
];

fn add_links(doc: &mut OpenApi) {
    for (from, status, name, to, parameters) in LINKS {
        let operation = operations(doc)
            .find(|operation| operation.operation_id.as_deref() == Some(*from))
            .unwrap_or_else(|| panic!("a link starts at {from}, which no route has"));
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) else {
            panic!("a link starts at {from}'s {status}, which it does not declare");
        };
        let parameters: serde_json::Map<String, serde_json::Value> = parameters
            .iter()
            .map(|(name, expression)| ((*name).to_owned(), (*expression).into()))
            .collect();
        // utoipa 5 writes `Link` with snake_case keys (`operation_id`), which
        // no client reads; the link objects are written as JSON instead.
        let links = response
            .extensions
            .get_or_insert_with(Default::default)
            .entry("links".to_owned())
            .or_insert_with(|| serde_json::json!({}));
        links[*name] = serde_json::json!({ "operationId": to, "parameters": parameters });
    }
}

/// `PageParams.limit` is a `u32` that lists clamp to 1..=100, so every value
/// up to `u32::MAX` is read; utoipa writes a `u32` as `int32` (which stops at
/// 2^31 - 1) with minimum 0.
fn widen_page_limits(doc: &mut OpenApi) {
    for operation in operations(doc) {
        for parameter in operation.parameters.iter_mut().flatten() {
            let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() else {
                continue;
            };
            let written = serde_json::to_value(&*schema).unwrap_or_default();
            let unbounded_u32 = written["format"] == "int32"
                && written["minimum"] == 0
                && written.get("maximum").is_none();
            if parameter.name == "limit" && unbounded_u32 {
                schema.format = None;
                schema.maximum = Some(Number::UInt(u32::MAX as usize));
                parameter.description = Some(
                    "Items per page, 1 to 100 (default 20); 0 counts as 1, more than 100 as 100."
                        .to_owned(),
                );
            }
        }
    }
}

/// An optional header or query parameter is absent, never `null`; utoipa
/// writes `Option<String>` header parameters as `["string", "null"]`, which
/// tells clients to send the text `null`.
fn parameters_are_never_null(doc: &mut OpenApi) {
    for operation in operations(doc) {
        for parameter in operation.parameters.iter_mut().flatten() {
            if let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut()
                && let SchemaType::Array(types) = &schema.schema_type
            {
                let types: Vec<Type> = types
                    .iter()
                    .filter(|t| **t != Type::Null)
                    .cloned()
                    .collect();
                if let [only] = types.as_slice() {
                    schema.schema_type = SchemaType::Type(only.clone());
                }
            }
        }
    }
}

/// Request bodies whose Rust type has a `#[serde(flatten)]` field: utoipa
/// writes them as an `allOf` of the flattened type and the rest, and leaves
/// out the `additionalProperties: false` their `deny_unknown_fields` means
/// (which inside an `allOf` part would refuse the other part's fields).
/// Each is written here as the one closed object serde reads. The OWASP
/// matrix (API3) checks that every request schema is closed.
const FLATTENED_BODIES: &[&str] = &[
    "NewProductRequest",
    "UpdateProductRequest",
    "BulkUpdateItem",
];

fn close_flattened_bodies(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    let all: serde_json::Map<String, serde_json::Value> = components
        .schemas
        .iter()
        .map(|(name, schema)| {
            (
                name.clone(),
                serde_json::to_value(schema).expect("a schema"),
            )
        })
        .collect();
    for name in FLATTENED_BODIES {
        let written = all
            .get(*name)
            .unwrap_or_else(|| panic!("{name} is in FLATTENED_BODIES but no context defines it"));
        let mut merged = serde_json::json!({"type": "object", "properties": {}});
        merge_all_of(&all, written, &mut merged);
        if let Some(description) = written.get("description") {
            merged["description"] = description.clone();
        }
        merged["additionalProperties"] = false.into();
        let schema = serde_json::from_value(merged).expect("a merged schema");
        components.schemas.insert((*name).to_owned(), schema);
    }
}

/// Adds the properties and required fields of `schema` (an object, a `$ref`
/// to one, or an `allOf` of those) to `into`.
fn merge_all_of(
    all: &serde_json::Map<String, serde_json::Value>,
    schema: &serde_json::Value,
    into: &mut serde_json::Value,
) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = all
            .get(name)
            .unwrap_or_else(|| panic!("{reference} names no schema"));
        return merge_all_of(all, target, into);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            merge_all_of(all, part, into);
        }
        return;
    }
    assert_eq!(
        schema["type"], "object",
        "a flattened body is made of objects"
    );
    for (field, property) in schema["properties"].as_object().into_iter().flatten() {
        into["properties"][field] = property.clone();
    }
    for field in schema["required"].as_array().into_iter().flatten() {
        let required = into["required"].as_array_mut();
        match required {
            Some(required) => required.push(field.clone()),
            None => into["required"] = serde_json::json!([field]),
        }
    }
}

/// Every operation of the document.
fn operations(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

fn tag(name: &str, description: &str) -> Tag {
    let mut tag = Tag::new(name);
    tag.description = Some(description.to_owned());
    tag
}

#[cfg(test)]
mod merge_tests {
    use utoipa::openapi::{ComponentsBuilder, ObjectBuilder, OpenApiBuilder};

    fn with_schema(description: &str) -> utoipa::openapi::OpenApi {
        OpenApiBuilder::new()
            .components(Some(
                ComponentsBuilder::new()
                    .schema("Check", ObjectBuilder::new().description(Some(description)))
                    .build(),
            ))
            .build()
    }

    #[test]
    #[should_panic(expected = "defines the schema `Check` differently")]
    fn two_contexts_may_not_name_different_schemas_alike() {
        let mut doc = with_schema("a health check");
        super::merge_checked(&mut doc, "mail", with_schema("a recipient's verdict"));
    }

    #[test]
    fn the_same_schema_from_two_contexts_merges() {
        let mut doc = with_schema("shared");
        super::merge_checked(&mut doc, "mail", with_schema("shared"));
        assert_eq!(doc.components.unwrap().schemas.len(), 1);
    }
}
