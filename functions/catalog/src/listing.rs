//! `GET /v1/products`: the product lists, each served by one Query.
//!
//! | filter given | sort | index and key condition |
//! |---|---|---|
//! | categoryId | newest | GSI1 `PRODUCTS#CATEGORY#<id>`, descending |
//! | categoryId | price_asc / price_desc | GSI2 `PRODUCTS#CATEGORY#<id>`, `BETWEEN <min> AND <max>` when a price range is given |
//! | sellerOrgId only | newest | GSI3 `PRODUCTS#SELLER#<id>`, descending |
//! | sellerOrgId only | price_asc / price_desc | GSI4 `PRODUCTS#SELLER#<id>`, `BETWEEN <min> AND <max>` when a price range is given |
//!
//! The other filters (price range under newest, in stock, currency, seller
//! within a category) are FilterExpressions of the same Query. The in-stock
//! filter reads the product's `inStock` flag, which the stream flips when
//! its stock crosses zero: eventually consistent, as search is. A page is
//! answered from the product items alone, one DynamoDB call: entries carry
//! `inStock`, not the exact counts, which live in each product's stock item
//! (`shared::stock`) and show on the product's own page.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use serde::Deserialize;
use shared::domain::Currency;
use shared::domain::money::MAX_AMOUNT;
use shared::http::Problems;
use shared::http::{
    ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
};
use shared::stock;
use shared::store::{Index, PartitionQuery, QueryRefinement};
use utoipa::{IntoParams, ToSchema};

use crate::CatalogState;
use crate::product::{Product, ProductSummary, category_partition, seller_partition};

const DEFAULT_LIMIT: u32 = PageParams::DEFAULT_LIMIT;
const MAX_LIMIT: u32 = PageParams::MAX_LIMIT;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    Newest,
    PriceAsc,
    PriceDesc,
}

/// The product filters of lists and search, as query parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// Products of this category.
    pub category_id: Option<String>,
    /// Products of this seller organization.
    pub seller_org_id: Option<String>,
    /// Lowest price, in minor units.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 9_999_999_999_999_i64)]
    pub min_price: Option<String>,
    /// Highest price, in minor units; not below `minPrice`.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 9_999_999_999_999_i64)]
    pub max_price: Option<String>,
    /// Only prices in this currency.
    #[param(value_type = Option<shared::domain::Currency>, inline)]
    pub currency: Option<String>,
    /// `true`: only products with available stock.
    #[param(value_type = Option<bool>)]
    pub in_stock: Option<String>,
    /// 1 to 100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `pagination.nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Query parameters of the product list; all optional but one of
/// `categoryId` and `sellerOrgId`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The filters: documented by `FilterParams` beside this in `params(...)`.
    #[serde(flatten)]
    #[param(ignore)]
    pub filters: FilterParams,
    /// newest (default), price_asc or price_desc; price order needs categoryId.
    #[param(value_type = Option<ProductSort>, inline)]
    pub sort: Option<String>,
}

/// Product filters whose every value is valid.
#[derive(Debug, Default)]
pub struct ProductFilters {
    pub category_id: Option<String>,
    pub seller_org_id: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub currency: Option<Currency>,
    pub in_stock: bool,
}

impl ProductFilters {
    /// Whether a product passes every filter (search checks the products
    /// it found; lists ask the table with [`Filters`]).
    pub fn admit(&self, p: &Product) -> bool {
        p.is_listed()
            && self
                .category_id
                .as_ref()
                .is_none_or(|c| *c == p.category_id)
            && self
                .seller_org_id
                .as_ref()
                .is_none_or(|s| *s == p.seller_org_id)
            && self.min_price.is_none_or(|min| p.price.amount >= min)
            && self.max_price.is_none_or(|max| p.price.amount <= max)
            && self.currency.is_none_or(|c| c == p.price.currency)
            && (!self.in_stock || p.in_stock)
    }
}

impl FilterParams {
    /// Checks every filter and the limit, recording each problem; the
    /// cursor is returned as given (lists and search read it differently).
    pub fn check(self, problems: &mut Problems) -> (ProductFilters, u32, Option<String>) {
        let non_empty =
            |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let min_price = parse_price(problems, "minPrice", self.min_price.as_deref());
        let max_price = parse_price(problems, "maxPrice", self.max_price.as_deref());
        if let (Some(min), Some(max)) = (min_price, max_price)
            && min > max
        {
            problems.add("maxPrice", "must not be below minPrice");
        }
        let filters = ProductFilters {
            category_id: non_empty(self.category_id),
            seller_org_id: non_empty(self.seller_org_id),
            min_price,
            max_price,
            currency: self
                .currency
                .as_deref()
                .and_then(|c| problems.parsed("currency", Currency::parse(c))),
            in_stock: parse_in_stock(problems, self.in_stock.as_deref()),
        };
        let limit = parse_limit(problems, self.limit.as_deref());
        (filters, limit, self.cursor)
    }
}

/// A list request whose every parameter is valid.
#[derive(Debug)]
pub struct ListRequest {
    pub filters: ProductFilters,
    pub sort: ProductSort,
    pub limit: u32,
    pub cursor: Option<String>,
}

fn parse_price(problems: &mut Problems, field: &str, raw: Option<&str>) -> Option<i64> {
    let raw = raw?;
    match raw.trim().parse::<i64>() {
        Ok(value) if (0..=MAX_AMOUNT).contains(&value) => Some(value),
        _ => {
            problems.add(field, "must be whole minor units, 0 or more");
            None
        }
    }
}

/// `inStock=true|false`, default false.
fn parse_in_stock(problems: &mut Problems, raw: Option<&str>) -> bool {
    match raw {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            problems.add("inStock", "must be true or false");
            false
        }
    }
}

/// The limit of a list request: 1 to 100, default 20.
pub(crate) fn parse_limit(problems: &mut Problems, raw: Option<&str>) -> u32 {
    match raw.map(|r| r.trim().parse::<u32>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(limit)) if (1..=MAX_LIMIT).contains(&limit) => limit,
        Some(_) => {
            problems.add(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            );
            DEFAULT_LIMIT
        }
    }
}

impl TryFrom<ListParams> for ListRequest {
    type Error = ApiError;

    fn try_from(params: ListParams) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        let (filters, limit, cursor) = params.filters.check(&mut problems);
        if filters.category_id.is_none() && filters.seller_org_id.is_none() {
            problems.add("categoryId", "give categoryId or sellerOrgId");
        }
        let sort = match params.sort.as_deref() {
            None | Some("newest") => ProductSort::Newest,
            Some("price_asc") => ProductSort::PriceAsc,
            Some("price_desc") => ProductSort::PriceDesc,
            Some(_) => {
                problems.add("sort", "must be newest, price_asc or price_desc");
                ProductSort::Newest
            }
        };
        problems.finish("the list parameters are invalid", || Self {
            filters,
            sort,
            limit,
            cursor,
        })
    }
}

/// Filters shared by listing and search: applied to product items.
#[derive(Debug, Default)]
pub struct Filters {
    conditions: Vec<&'static str>,
    pub refinement: QueryRefinement,
}

impl Filters {
    fn name(&mut self, placeholder: &str, attribute: &str) {
        if !self.refinement.names.iter().any(|(p, _)| p == placeholder) {
            self.refinement
                .names
                .push((placeholder.to_owned(), attribute.to_owned()));
        }
    }

    fn value(&mut self, placeholder: &str, value: AttributeValue) {
        self.refinement.values.push((placeholder.to_owned(), value));
    }

    pub fn price_range(&mut self, min: Option<i64>, max: Option<i64>) {
        if min.is_none() && max.is_none() {
            return;
        }
        self.name("#price", "price");
        self.name("#amount", "amount");
        self.conditions
            .push("#price.#amount BETWEEN :minPrice AND :maxPrice");
        self.value(":minPrice", AttributeValue::N(min.unwrap_or(0).to_string()));
        self.value(
            ":maxPrice",
            AttributeValue::N(max.unwrap_or(MAX_AMOUNT).to_string()),
        );
    }

    pub fn currency(&mut self, currency: Option<Currency>) {
        if let Some(currency) = currency {
            self.name("#price", "price");
            self.name("#currency", "currency");
            self.conditions.push("#price.#currency = :currency");
            self.value(":currency", AttributeValue::S(currency.to_string()));
        }
    }

    pub fn in_stock(&mut self, in_stock: bool) {
        if in_stock {
            // The product's flag, which the stream keeps (may lag a moment).
            self.name("#inStock", stock::IN_STOCK);
            self.conditions.push("#inStock = :inStock");
            self.value(":inStock", AttributeValue::Bool(true));
        }
    }

    pub fn seller(&mut self, seller_org_id: Option<&str>) {
        if let Some(seller) = seller_org_id {
            self.name("#seller", "sellerOrgId");
            self.conditions.push("#seller = :seller");
            self.value(":seller", AttributeValue::S(seller.to_owned()));
        }
    }

    pub fn category(&mut self, category_id: Option<&str>) {
        if let Some(category) = category_id {
            self.name("#category", "categoryId");
            self.conditions.push("#category = :category");
            self.value(":category", AttributeValue::S(category.to_owned()));
        }
    }

    /// Only listed products (active, not archived): the search index may lag.
    pub fn listed(&mut self) {
        self.name("#active", "active");
        self.conditions
            .push("#active = :true AND attribute_not_exists(archivedAt)");
        self.value(":true", AttributeValue::Bool(true));
    }

    pub fn finish(mut self) -> QueryRefinement {
        if !self.conditions.is_empty() {
            self.refinement.filter = Some(self.conditions.join(" AND "));
        }
        self.refinement
    }
}

/// The one Query a list request makes.
pub fn plan(request: &ListRequest) -> (PartitionQuery, QueryRefinement) {
    let mut filters = Filters::default();
    filters.in_stock(request.filters.in_stock);
    filters.currency(request.filters.currency);
    let query = match (&request.filters.category_id, request.sort) {
        (Some(category), ProductSort::Newest) => {
            filters.price_range(request.filters.min_price, request.filters.max_price);
            filters.seller(request.filters.seller_org_id.as_deref());
            PartitionQuery {
                index: Index::Gsi1,
                partition: category_partition(category),
                sort_prefix: None,
                ascending: false,
            }
        }
        (Some(category), sort) => {
            filters.seller(request.filters.seller_org_id.as_deref());
            filters.refinement.sort_between =
                price_bounds(request.filters.min_price, request.filters.max_price);
            PartitionQuery {
                index: Index::Gsi2,
                partition: category_partition(category),
                sort_prefix: None,
                ascending: sort == ProductSort::PriceAsc,
            }
        }
        (None, ProductSort::Newest) => {
            filters.price_range(request.filters.min_price, request.filters.max_price);
            PartitionQuery {
                index: Index::Gsi3,
                partition: seller_partition(
                    request.filters.seller_org_id.as_deref().unwrap_or_default(),
                ),
                sort_prefix: None,
                ascending: false,
            }
        }
        (None, sort) => {
            filters.refinement.sort_between =
                price_bounds(request.filters.min_price, request.filters.max_price);
            PartitionQuery {
                index: Index::Gsi4,
                partition: seller_partition(
                    request.filters.seller_org_id.as_deref().unwrap_or_default(),
                ),
                sort_prefix: None,
                ascending: sort == ProductSort::PriceAsc,
            }
        }
    };
    (query, filters.finish())
}

/// The sort-key range of a price range on the by-price indexes (GSI2, GSI4).
fn price_bounds(min: Option<i64>, max: Option<i64>) -> Option<(String, String)> {
    // `~` sorts after every id character: the bound takes every id.
    (min.is_some() || max.is_some()).then(|| {
        (
            format!("{:013}#", min.unwrap_or(0)),
            format!("{:013}#~", max.unwrap_or(MAX_AMOUNT)),
        )
    })
}

/// Lists active products by category or seller, newest first or by price,
/// one page at a time. A page can hold fewer than `limit` products when
/// filters apply; follow `nextCursor` until it is absent. Entries say
/// whether the product is in stock (`inStock`, may lag a moment behind a
/// sale); the exact counts are on `GET /v1/products/{productId}`.
#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "catalog",
    params(FilterParams, ListParams),
    responses(
        (status = 200, description = "One page of products", body = Envelope<Vec<ProductSummary>>),
        (status = 400, description = "The cursor is not from this list", body = ErrorEnvelope),
        (status = 422, description = "A parameter is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_products(
    State(state): State<CatalogState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<ApiResponse<Vec<ProductSummary>>> {
    let request = ListRequest::try_from(params)?;
    let (query, refinement) = plan(&request);
    let page = state
        .store
        .query_page_where::<Product>(
            &query,
            &refinement,
            request.limit,
            request.cursor.as_deref(),
        )
        .await?;
    let products = page.items.into_iter().map(ProductSummary::from).collect();
    Ok(ApiResponse::ok(products).paginated(page.next_cursor, request.limit))
}
