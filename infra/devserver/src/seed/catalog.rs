//! The demo catalog: a two-level category tree (admin), each seller's
//! products with a picture, price tiers, compliance data and stock (the
//! seller's owner), and reviews by the demo users.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use axum::http::StatusCode;
use catalog::slug::Slug;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::contracts::product::ProductForIndex;
use shared::domain::{Email, Sku};
use shared::projections::search_index;

use super::images::{self, Picture};
use super::orgs::Orgs;
use super::text;
use super::users::Accounts;
use super::{Kind, Summary};
use crate::client::Api;

#[derive(Debug, Clone, Deserialize)]
pub struct SeedCategory {
    pub slug: Slug,
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub children: Vec<SeedCategory>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeedProduct {
    pub sku: Sku,
    /// The seller organization's name.
    pub seller: String,
    /// The category's slug.
    pub category: Slug,
    pub stock: i64,
    pub image: Picture,
    /// The body of `POST /v1/products` without the SKU, seller, category,
    /// stock and images, which the seed fills in.
    pub product: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeedReview {
    pub sku: Sku,
    /// The author's email (a demo user).
    pub author: Email,
    pub rating: i64,
    pub title: String,
    pub body: String,
}

/// Creates the categories missing from the tree (found by slug); returns
/// every category's id by slug.
pub(super) async fn seed_categories(
    api: &Api,
    admin: &str,
    tree: &[SeedCategory],
    summary: &mut Summary,
) -> anyhow::Result<BTreeMap<String, String>> {
    let existing = api
        .get("/v1/categories", None)
        .await?
        .data()
        .context("reading the category tree")?;
    let mut ids = BTreeMap::new();
    collect_ids(&existing, &mut ids)?;
    for root in tree {
        let root_id = ensure_category(api, admin, root, None, &mut ids, summary).await?;
        for child in &root.children {
            ensure_category(api, admin, child, Some(&root_id), &mut ids, summary).await?;
        }
    }
    Ok(ids)
}

/// Slug → id of every category in a tree as `GET /v1/categories` shows it.
fn collect_ids(categories: &Value, ids: &mut BTreeMap<String, String>) -> anyhow::Result<()> {
    for category in categories.as_array().into_iter().flatten() {
        ids.insert(
            text(category, "slug")?.to_owned(),
            text(category, "id")?.to_owned(),
        );
        collect_ids(&category["children"], ids)?;
    }
    Ok(())
}

async fn ensure_category(
    api: &Api,
    admin: &str,
    category: &SeedCategory,
    parent_id: Option<&str>,
    ids: &mut BTreeMap<String, String>,
    summary: &mut Summary,
) -> anyhow::Result<String> {
    if let Some(id) = ids.get(category.slug.as_str()) {
        summary.count(Kind::Categories, false);
        return Ok(id.clone());
    }
    let body = json!({
        "slug": category.slug, "name": category.name,
        "description": category.description, "parentId": parent_id,
    });
    let created = api
        .post("/v1/categories", Some(admin), &body)
        .await?
        .data()
        .with_context(|| format!("creating the category {}", category.slug))?;
    let id = text(&created, "id")?.to_owned();
    ids.insert(category.slug.as_str().to_owned(), id.clone());
    summary.count(Kind::Categories, true);
    Ok(id)
}

/// Creates the products their sellers do not list yet (found by SKU), each
/// with a freshly drawn and uploaded picture; returns every product's id
/// by SKU.
pub(super) async fn seed_products(
    api: &Api,
    services: &shared::FullServices,
    accounts: &Accounts,
    orgs: &Orgs,
    categories: &BTreeMap<String, String>,
    products: &[SeedProduct],
    summary: &mut Summary,
) -> anyhow::Result<BTreeMap<Sku, String>> {
    let mut listed: BTreeMap<String, Value> = BTreeMap::new();
    let sellers: BTreeSet<&str> = products.iter().map(|p| p.seller.as_str()).collect();
    for seller in sellers {
        let org = orgs.get(seller)?;
        let path = format!("/v1/products?sellerOrgId={}&limit=100", org.id);
        for product in api.list_all(&path, None).await? {
            listed.insert(text(&product, "sku")?.to_owned(), product);
        }
    }
    let mut ids = BTreeMap::new();
    let mut missing = Vec::new();
    for product in products {
        match listed.get(product.sku.as_str()) {
            Some(found) => {
                summary.count(Kind::Products, false);
                for _ in found["images"].as_array().into_iter().flatten() {
                    summary.count(Kind::Images, false);
                }
                ids.insert(product.sku.clone(), text(found, "id")?.to_owned());
            }
            None => missing.push(product),
        }
    }
    // The missing products at once: drawing a picture is CPU work and an
    // upload mostly waiting, so they overlap well.
    let created = futures::future::try_join_all(missing.into_iter().map(|product| async move {
        let org = orgs.get(&product.seller)?;
        let slug = product.category.as_str();
        let category_id = categories
            .get(slug)
            .with_context(|| format!("no category {slug} (categories.json)"))?;
        let seller = Seller {
            org_id: &org.id,
            name: &product.seller,
            token: accounts.token(&org.owner)?,
        };
        let id = create_product(api, services, &seller, category_id, product)
            .await
            .with_context(|| format!("creating the product {}", product.sku))?;
        anyhow::Ok((product.sku.clone(), id))
    }))
    .await?;
    for (sku, id) in created {
        summary.count(Kind::Images, true);
        summary.count(Kind::Products, true);
        ids.insert(sku, id);
    }
    Ok(ids)
}

/// The seller organization a product is created for, and its owner's token.
struct Seller<'a> {
    org_id: &'a str,
    name: &'a str,
    token: &'a str,
}

/// Draws and uploads the product's picture and creates the product with it.
async fn create_product(
    api: &Api,
    services: &shared::FullServices,
    seller: &Seller<'_>,
    category_id: &str,
    product: &SeedProduct,
) -> anyhow::Result<String> {
    let sku = &product.sku;
    let image = product.image.clone();
    let picture = tokio::task::spawn_blocking(move || images::render(&image))
        .await
        .context("drawing the product's picture")??;
    let file_name = format!("{}.jpg", sku.as_str().to_lowercase());
    let image_id = images::upload_product_image(
        api,
        services,
        seller.token,
        seller.org_id,
        &file_name,
        picture,
    )
    .await?;

    let mut body = product.product.clone();
    let fields = body
        .as_object_mut()
        .with_context(|| format!("the product {sku} is not a JSON object"))?;
    fields.insert("sku".into(), json!(sku));
    fields.insert("sellerOrgId".into(), json!(seller.org_id));
    fields.insert("categoryId".into(), json!(category_id));
    fields.insert("stock".into(), json!(product.stock));
    fields.insert("images".into(), json!([image_id]));
    let reply = api.post("/v1/products", Some(seller.token), &body).await?;
    if reply.status == StatusCode::CONFLICT {
        anyhow::bail!(
            "the SKU {sku} belongs to a product {} does not list (archived, or another seller's): \
             start from an empty table",
            seller.name
        );
    }
    Ok(text(&reply.data()?, "id")?.to_owned())
}

/// Writes each review its author has not written yet (a second one is a 409).
pub(super) async fn seed_reviews(
    api: &Api,
    accounts: &Accounts,
    products: &BTreeMap<Sku, String>,
    reviews: &[SeedReview],
    summary: &mut Summary,
) -> anyhow::Result<()> {
    for review in reviews {
        let product_id = products
            .get(&review.sku)
            .with_context(|| format!("no product {} (products.json)", review.sku))?;
        let body = json!({ "rating": review.rating, "title": review.title, "body": review.body });
        let path = format!("/v1/products/{product_id}/reviews");
        let reply = api
            .post(&path, Some(accounts.token(&review.author)?), &body)
            .await?;
        let created = reply.status == StatusCode::CREATED;
        reply
            .data_if(&[StatusCode::CREATED, StatusCode::CONFLICT])
            .with_context(|| format!("{} reviewing {}", review.author, review.sku))?;
        summary.count(Kind::Reviews, created);
    }
    Ok(())
}

/// Puts the products in the search index now, as the stream function does
/// a moment after each change (it does again under `make dev`; applying a
/// product twice has the effect of once).
pub(super) async fn index_for_search(
    services: &shared::FullServices,
    products: &BTreeMap<Sku, String>,
) -> anyhow::Result<()> {
    for id in products.values() {
        let (pk, sk) = shared::stock::product_key(id);
        let product: Option<ProductForIndex> = services.store.get(&pk, sk).await?;
        search_index::apply_product_change(&services.store, None, product)
            .await
            .with_context(|| format!("indexing the product {id} for search"))?;
    }
    Ok(())
}
