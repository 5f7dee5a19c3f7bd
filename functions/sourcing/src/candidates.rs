//! Where matching's candidates come from, without a Scan: catalog's
//! products-by-category index (GSI1, `PRODUCTS#CATEGORY#<categoryId>`,
//! listed products only) gives every seller listing in each of the RFQ's
//! categories with its compliance data, and one BatchGet per 100 sellers
//! reads their organizations (identity's `shared::contracts::org`).

use std::collections::BTreeMap;

use shared::contracts::org::{OrgForSourcing, org_profile_key};
use shared::contracts::product::{ProductForSourcing, category_partition};
use shared::http::{ApiError, ApiResult};
use shared::store::{Index, PartitionQuery, Store};

use crate::matching::Candidate;

/// Pages of 1,000 products read per category at most: 10,000 products.
const MAX_PAGES_PER_CATEGORY: usize = 10;

/// One page of listed products of `category_id` (GSI1), oldest first.
async fn category_page(
    store: &Store,
    category_id: &str,
    cursor: Option<&str>,
) -> ApiResult<shared::store::Page<ProductForSourcing>> {
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: category_partition(category_id),
        sort_prefix: None,
        ascending: true,
    };
    store
        .query_page::<ProductForSourcing>(&query, 1000, cursor)
        .await
        .map_err(|e| ApiError::from(e).context("reading a category's products"))
}

/// Listed products of `category_id` (GSI1), oldest first.
pub async fn products_in_category(
    store: &Store,
    category_id: &str,
) -> ApiResult<Vec<ProductForSourcing>> {
    let mut products = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES_PER_CATEGORY {
        let page = category_page(store, category_id, cursor.as_deref()).await?;
        products.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(products)
}

/// What [`load`] found.
pub enum Candidates {
    /// Every candidate, with its organization and products.
    Loaded(Vec<Candidate>),
    /// More sellers than the limit asked for: reading stopped there, before
    /// any organization was read (matching goes to the background).
    MoreThan(usize),
}

/// Every seller listing in `categories` (but `buyer_org_id`), with those
/// products. With `stop_above`, reading stops as soon as more sellers than
/// that are seen: the request that publishes only needs to know the
/// matching is large, and the background worker reads everything.
pub async fn load(
    store: &Store,
    categories: &[String],
    buyer_org_id: &str,
    stop_above: Option<usize>,
) -> ApiResult<Candidates> {
    let mut by_seller: BTreeMap<String, Vec<ProductForSourcing>> = BTreeMap::new();
    for category in categories {
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES_PER_CATEGORY {
            let page = category_page(store, category, cursor.as_deref()).await?;
            for product in page.items {
                if product.seller_org_id != buyer_org_id {
                    by_seller
                        .entry(product.seller_org_id.clone())
                        .or_default()
                        .push(product);
                }
            }
            if let Some(limit) = stop_above
                && by_seller.len() > limit
            {
                return Ok(Candidates::MoreThan(limit));
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    let ids: Vec<String> = by_seller.keys().cloned().collect();
    let mut orgs: Vec<OrgForSourcing> = Vec::new();
    for chunk in ids.chunks(100) {
        let keys: Vec<(String, String)> = chunk
            .iter()
            .map(|id| {
                let (pk, sk) = org_profile_key(id);
                (pk, sk.to_owned())
            })
            .collect();
        orgs.extend(
            store
                .batch_get::<OrgForSourcing>(&keys)
                .await
                .map_err(|e| ApiError::from(e).context("reading the candidates' organizations"))?,
        );
    }
    Ok(Candidates::Loaded(
        orgs.into_iter()
            .filter_map(|org| {
                let products = by_seller.remove(&org.id)?;
                Some(Candidate { org, products })
            })
            .collect(),
    ))
}
