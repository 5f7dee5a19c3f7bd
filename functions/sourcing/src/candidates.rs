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

/// Listed products of `category_id` (GSI1), oldest first.
pub async fn products_in_category(
    store: &Store,
    category_id: &str,
) -> ApiResult<Vec<ProductForSourcing>> {
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: category_partition(category_id),
        sort_prefix: None,
        ascending: true,
    };
    let mut products = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES_PER_CATEGORY {
        let page = store
            .query_page::<ProductForSourcing>(&query, 1000, cursor.as_deref())
            .await
            .map_err(|e| ApiError::from(e).context("reading a category's products"))?;
        products.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(products)
}

/// Every seller listing in `categories` (but `buyer_org_id`), with those
/// products.
pub async fn load(
    store: &Store,
    categories: &[String],
    buyer_org_id: &str,
) -> ApiResult<Vec<Candidate>> {
    let mut by_seller: BTreeMap<String, Vec<ProductForSourcing>> = BTreeMap::new();
    for category in categories {
        for product in products_in_category(store, category).await? {
            if product.seller_org_id != buyer_org_id {
                by_seller
                    .entry(product.seller_org_id.clone())
                    .or_default()
                    .push(product);
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
    Ok(orgs
        .into_iter()
        .filter_map(|org| {
            let products = by_seller.remove(&org.id)?;
            Some(Candidate { org, products })
        })
        .collect())
}
