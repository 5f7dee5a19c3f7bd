//! `POST /v1/designs/{designId}/publish`: a seller organization sells a
//! ready design as a garment made to order. The product is created by
//! `shared::catalog::create_product`, catalog's own command (validation,
//! the platform-wide SKU, the category check; the stream indexes it for
//! search), never by studio writing catalog's items. Studio keeps a
//! publication item beside it: which design and garment a product is, so
//! that a paid order line of it can be made by the print partner.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::auth::{Caller, Permission, Principal};
use shared::catalog::{
    NewProduct, PriceInput, Product, ProductInput, ProductSource, Supply, ValidProduct,
};
use shared::domain::{Money, now_rfc3339};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use shared::idempotency::{self, Begin, IdempotencyKey};
use shared::store::{Store, StoreError};
use utoipa::ToSchema;

use crate::StudioState;
use crate::designs;
use crate::garments::{Garment, MIN_DPI};
use crate::model::{DesignRecord, DesignStatus};

pub const PUBLICATION_TYPE: &str = "STUDIO_PUBLICATION";
pub const PUBLICATION_SK: &str = "PUBLICATION";
/// The product's `source.kind`.
pub const SOURCE_KIND: &str = "design";

pub fn publication_key(product_id: &str) -> (String, &'static str) {
    (format!("STUDIO#PRODUCT#{product_id}"), PUBLICATION_SK)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishDesignRequest {
    /// The seller organization that sells it (`product:write` there).
    pub seller_org_id: String,
    #[schema(value_type = Garment)]
    pub garment: String,
    pub price: PriceInput,
    /// The catalog category it is listed in.
    pub category_id: String,
    /// The product's name; default the design's title.
    #[serde(default)]
    pub name: Option<String>,
    /// Default the design's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Extra tags; the design's tags and `design` are always there.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// Which design and garment a product is: `STUDIO#PRODUCT#<productId> /
/// PUBLICATION`, written after the product.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicationRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub product_id: String,
    pub design_id: String,
    pub seller_org_id: String,
    pub garment: Garment,
    /// The print file: the design's full-size image.
    pub print_url: String,
    pub sku: String,
    pub created_at: String,
}

/// A design published as a product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishedDesign {
    pub product_id: String,
    pub sku: String,
    pub seller_org_id: String,
    pub design_id: String,
    pub garment: Garment,
    pub name: String,
    pub price: Money,
    /// The design's image and thumbnail.
    pub images: Vec<String>,
    /// Always true: the partner makes it when it is sold.
    pub made_to_order: bool,
    pub created_at: String,
}

impl PublishedDesign {
    fn new(product: &Product, publication: &PublicationRecord) -> Self {
        Self {
            product_id: product.id.clone(),
            sku: product.sku.clone(),
            seller_org_id: product.seller_org_id.clone(),
            design_id: publication.design_id.clone(),
            garment: publication.garment,
            name: product.name.clone(),
            price: product.price,
            images: product.images.clone(),
            made_to_order: product.made_to_order,
            created_at: product.created_at.clone(),
        }
    }
}

/// The SKU of a design as a garment: one product per design, garment and
/// platform (SKUs are unique platform-wide).
pub fn design_sku(design_id: &str, garment: Garment) -> String {
    format!("DSN-{design_id}-{garment}").to_ascii_uppercase()
}

pub async fn publication(
    store: &Store,
    product_id: &str,
) -> Result<Option<PublicationRecord>, StoreError> {
    let (pk, sk) = publication_key(product_id);
    store.get::<PublicationRecord>(&pk, sk).await
}

/// The design as a publisher for `seller_org_id` may use it: the caller
/// owns it, or the owner granted that organization the right to publish it
/// (`crate::grants`). Someone else's design is a 404 unless the caller may
/// see it (a gallery design: 403).
async fn publishable(
    store: &Store,
    principal: &Principal,
    design_id: &str,
    seller_org_id: &str,
) -> ApiResult<DesignRecord> {
    let design = designs::find(store, design_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such design"))?;
    if design.owner_id == principal.user_id
        || crate::grants::granted(store, design_id, seller_org_id).await?
    {
        return Ok(design);
    }
    if design.listed() {
        return Err(ApiError::forbidden(
            "only the design's owner, or an organization the owner granted it to, may publish it",
        ));
    }
    Err(ApiError::not_found("no such design"))
}

/// Refuses a design held for review, not ready, or whose image is too small for the
/// garment's print area.
fn check_printable(design: &DesignRecord, garment: Garment) -> ApiResult<()> {
    if design.held_at.is_some() {
        return Err(ApiError::invalid_field(
            "designId",
            "the design is held for review by moderators; it can be published once cleared",
        ));
    }
    match design.status {
        DesignStatus::Ready => {}
        DesignStatus::Generating => {
            return Err(ApiError::conflict(
                "the design is still being drawn; publish it once it is ready",
            ));
        }
        DesignStatus::Failed | DesignStatus::Blocked => {
            return Err(ApiError::invalid_field(
                "designId",
                format!("a {} design cannot be published", design.status),
            ));
        }
    }
    let image = design
        .image
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a ready design has no image")))?;
    let spec = garment.spec();
    if !spec.print_ready(image.width, image.height) {
        let (width, height) = spec.min_pixels();
        return Err(ApiError::invalid_field(
            "garment",
            format!(
                "the design's image ({}×{} px) is too small for a {garment}'s print area: it needs {width}×{height} px to print at {MIN_DPI} DPI",
                image.width, image.height
            ),
        )
        .with_details(serde_json::json!({
            "imageWidth": image.width, "imageHeight": image.height,
            "requiredWidth": width, "requiredHeight": height, "minDpi": MIN_DPI,
        })));
    }
    Ok(())
}

fn new_product(
    design: &DesignRecord,
    garment: Garment,
    request: PublishDesignRequest,
) -> ApiResult<NewProduct> {
    let image = design
        .image
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a ready design has no image")))?;
    let mut tags: Vec<String> = vec!["design".into(), garment.as_str().into()];
    for tag in design
        .tags
        .iter()
        .chain(request.tags.iter().flatten())
        .map(|t| t.trim().to_lowercase())
    {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let fields = ProductInput {
        name: Some(request.name.unwrap_or_else(|| design.title.clone())),
        description: request.description.or_else(|| design.description.clone()),
        category_id: Some(request.category_id),
        tags: Some(tags),
        price: Some(request.price),
        images: Some(vec![image.url.clone(), image.thumbnail_url.clone()]),
        attributes: Some(
            [
                ("garment".to_owned(), garment.as_str().to_owned()),
                ("designId".to_owned(), design.id.clone()),
            ]
            .into(),
        ),
        ..ProductInput::default()
    };
    Ok(NewProduct {
        seller_org_id: request.seller_org_id,
        sku: design_sku(&design.id, garment),
        supply: Supply::MadeToOrder {
            source: ProductSource {
                kind: SOURCE_KIND.into(),
                id: design.id.clone(),
            },
        },
        fields,
    })
}

fn publication_of(product: &Product, design: &DesignRecord, garment: Garment) -> PublicationRecord {
    let (pk, sk) = publication_key(&product.id);
    PublicationRecord {
        pk,
        sk: sk.to_owned(),
        item_type: PUBLICATION_TYPE.to_owned(),
        product_id: product.id.clone(),
        design_id: design.id.clone(),
        seller_org_id: product.seller_org_id.clone(),
        garment,
        print_url: design
            .image
            .as_ref()
            .map(|i| i.url.clone())
            .unwrap_or_default(),
        sku: product.sku.clone(),
        created_at: now_rfc3339(),
    }
}

/// Creates the product, or finds the one this design already is as this
/// garment for this seller (a publish whose answer was lost): `true` when
/// it was created now.
async fn create_or_find(
    store: &Store,
    design: &DesignRecord,
    garment: Garment,
    valid: ValidProduct,
) -> ApiResult<(Product, bool)> {
    let sku = valid.sku().as_str().to_owned();
    let seller = valid.seller_org_id().to_owned();
    let err = match shared::catalog::create_product(store, valid).await {
        Ok(product) => return Ok((product, true)),
        Err(err) if err.status() == StatusCode::CONFLICT && err.fields().contains_key("sku") => err,
        Err(err) => return Err(err),
    };
    let existing = shared::catalog::product_by_sku(store, &sku)
        .await?
        .filter(|p| {
            p.seller_org_id == seller
                && p.source
                    .as_ref()
                    .is_some_and(|s| s.kind == SOURCE_KIND && s.id == design.id)
        });
    match existing {
        Some(product) => {
            tracing::info!(product_id = %product.id, garment = %garment, "the design is this product already");
            Ok((product, false))
        }
        None => Err(err),
    }
}

/// Publishes a ready design as a made-to-order product of a seller
/// organization. Publishing the same design as the same garment for the
/// same seller again answers the existing product (200).
#[utoipa::path(
    post,
    path = "/v1/designs/{designId}/publish",
    tag = "studio",
    security(("bearer" = [])),
    params(
        ("designId" = String, Path, description = "The design's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first result"),
    ),
    request_body = PublishDesignRequest,
    responses(
        (status = 201, description = "The product was created, made to order", body = Envelope<PublishedDesign>),
        (status = 200, description = "The design is this garment of this seller already: the existing product", body = Envelope<PublishedDesign>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "No product:write permission in the organization, or a gallery design neither the caller's nor granted to the organization", body = ErrorEnvelope),
        (status = 404, description = "No such design (or a private design of someone else), or no such organization", body = ErrorEnvelope),
        (status = 409, description = "The design is still being drawn, the SKU is another product's, or a request with this Idempotency-Key is in progress", body = ErrorEnvelope),
        (status = 422, description = "A field is not valid, the design failed, was blocked or is held for review, or its image is too small for the garment's print area at 150 DPI (on `garment`)", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn publish_design(
    State(state): State<StudioState>,
    principal: Principal,
    Path(design_id): Path<String>,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    ApiJson(request): ApiJson<PublishDesignRequest>,
) -> ApiResult<ApiResponse<serde_json::Value>> {
    let mut problems = Problems::default();
    problems.text("sellerOrgId", &request.seller_org_id, 1, 64);
    let garment = Garment::parse(request.garment.trim());
    if garment.is_none() {
        problems.add("garment", "must be tshirt, long-sleeve, hoodie or tote-bag");
    }
    let garment = problems
        .finish("the request is not valid", || garment)?
        .unwrap_or(Garment::Tshirt);
    // A person publishes: designs belong to people, and no API key owns one.
    let caller = Caller::User(principal.clone());
    caller
        .require(
            &state.store,
            &request.seller_org_id,
            Permission::ProductWrite,
        )
        .await?;
    let design = publishable(&state.store, &principal, &design_id, &request.seller_org_id).await?;
    check_printable(&design, garment)?;
    let claim = match &idempotency_key {
        Some(key) => {
            let scope = format!("{}:publish", caller.actor());
            let fingerprint = format!("{design_id}:{request:?}");
            match idempotency::begin(&state.store, &scope, key, &fingerprint).await? {
                Begin::Replay(stored) => return Ok(idempotency::replayed(stored)),
                Begin::Fresh(claim) => Some(claim),
            }
        }
        None => None,
    };
    let outcome = publish(&state.store, &design, garment, request).await;
    match (outcome, claim) {
        (Ok((published, created)), claim) => {
            let data = serde_json::to_value(&published).map_err(ApiError::internal)?;
            if let Some(claim) = claim {
                idempotency::complete(&state.store, claim, &data).await?;
            }
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(ApiResponse::ok(data).with_status(status))
        }
        (Err(err), claim) => {
            if let Some(claim) = claim
                && let Err(release) = idempotency::release(&state.store, claim).await
            {
                tracing::warn!(error = ?release, "an idempotency claim could not be released");
            }
            Err(err)
        }
    }
}

async fn publish(
    store: &Store,
    design: &DesignRecord,
    garment: Garment,
    request: PublishDesignRequest,
) -> ApiResult<(PublishedDesign, bool)> {
    let valid = ValidProduct::try_from(new_product(design, garment, request)?)?;
    let (product, created) = create_or_find(store, design, garment, valid).await?;
    // A retry that found the product writes the record if it is missing.
    let record = publication_of(&product, design, garment);
    match store.put(&record, Some("attribute_not_exists(PK)")).await {
        Ok(()) | Err(StoreError::ConditionFailed) => {}
        Err(err) => return Err(ApiError::from(err).context("recording the publication")),
    }
    Ok((PublishedDesign::new(&product, &record), created))
}
