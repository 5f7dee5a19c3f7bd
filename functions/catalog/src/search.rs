//! Full-text search over products and suggestions, read from the search
//! index that the stream function keeps (`shared::projections::search_index`
//! documents its items and how a product change moves them).
//!
//! A query looks every term up (one Query each, concurrently), intersects
//! (AND), ranks by matched terms and name matches, then reads the page's
//! products in one BatchGetItem and applies the listing filters to them, so
//! a product archived a moment ago is never shown even if the index lags.

use std::collections::{BTreeSet, HashMap};

use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use shared::http::{ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use shared::projections::search_index::text::{tokenize, words};
use shared::projections::search_index::{SUGGEST_PREFIX_CHARS, TermItem, term_partition};
use shared::stock;
use shared::store::{Index, PartitionQuery};
use utoipa::{IntoParams, ToSchema};

use crate::CatalogState;
use crate::listing::{FilterParams, ProductFilters};
use crate::product::{Product, ProductSummary};
use crate::search_stats;

/// Words in one query that are looked up; more are ignored.
const MAX_QUERY_TERMS: usize = 8;
/// Products read per term: the newest this many that contain it.
const MAX_POSTINGS_PER_TERM: u32 = 1000;
const MAX_SUGGESTIONS: usize = 10;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to find; every word must match (stemmed: "tomatoes" finds "tomato").
    /// At least one word of 2 to 40 letters or digits that is not a stop word
    /// (a, the, of, ...); the first 8 such words count.
    #[param(
        required = true,
        pattern = r"(^|[^A-Za-z0-9])(?!([Aa]|[Aa][Nn]|[Aa][Nn][Dd]|[Aa][Rr][Ee]|[Aa][Ss]|[Aa][Tt]|[Bb][Ee]|[Bb][Yy]|[Ff][Oo][Rr]|[Ff][Rr][Oo][Mm]|[Ii][Nn]|[Ii][Ss]|[Ii][Tt]|[Oo][Ff]|[Oo][Nn]|[Oo][Rr]|[Tt][Hh][Ee]|[Tt][Oo]|[Ww][Ii][Tt][Hh])([^A-Za-z0-9]|$))[A-Za-z0-9]{2,40}([^A-Za-z0-9]|$)"
    )]
    pub q: Option<String>,
    /// The filters: documented by `FilterParams` beside this in `params(...)`.
    #[serde(flatten)]
    #[param(ignore)]
    pub filters: FilterParams,
}

struct SearchRequest {
    query: String,
    terms: Vec<String>,
    filters: ProductFilters,
    limit: u32,
    offset: usize,
}

fn encode_offset(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_offset(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}

impl TryFrom<SearchParams> for SearchRequest {
    type Error = ApiError;

    fn try_from(params: SearchParams) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        let query = params.q.unwrap_or_default();
        let mut terms = tokenize(&query);
        terms.truncate(MAX_QUERY_TERMS);
        if terms.is_empty() {
            problems.add("q", "give at least one word of two or more letters");
        }
        let (filters, limit, cursor) = params.filters.check(&mut problems);
        let offset = match cursor.as_deref() {
            None => 0,
            Some(cursor) => decode_offset(cursor).ok_or_else(|| {
                ApiError::bad_request(
                    "the cursor is not valid for this list; start again without it",
                )
            })?,
        };
        problems.finish("the search parameters are invalid", || Self {
            query,
            terms,
            filters,
            limit,
            offset,
        })
    }
}

/// Product ids matching every term, best first: more matching terms in the
/// name rank higher, then fewer terms matched only by the category's name,
/// then newer products.
fn rank(postings: &[Vec<TermItem>]) -> Vec<String> {
    let mut scores: HashMap<&str, (usize, usize, usize)> = HashMap::new();
    for (i, items) in postings.iter().enumerate() {
        for item in items {
            let entry = scores.entry(item.product_id.as_str()).or_default();
            // Count each term once per product; postings are per term.
            if entry.0 == i {
                entry.0 += 1;
                entry.1 += usize::from(item.in_name);
                entry.2 += usize::from(item.in_category);
            }
        }
    }
    let mut matched: Vec<(&str, usize, usize)> = scores
        .into_iter()
        .filter(|(_, (terms, _, _))| *terms == postings.len())
        .map(|(id, (_, in_name, in_category))| (id, in_name, in_category))
        .collect();
    matched.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.2.cmp(&b.2))
            .then_with(|| b.0.cmp(a.0))
    });
    matched
        .into_iter()
        .map(|(id, _, _)| id.to_owned())
        .collect()
}

/// Finds active products by words in their name, description, tags and
/// category name.
#[utoipa::path(
    get,
    path = "/v1/search",
    tag = "catalog",
    params(SearchParams, FilterParams),
    responses(
        (status = 200, description = "One page of products, best match first", body = Envelope<Vec<ProductSummary>>),
        (status = 400, description = "The cursor is not valid", body = ErrorEnvelope),
        (status = 422, description = "No usable word, or a filter is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn search(
    State(state): State<CatalogState>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<ApiResponse<Vec<ProductSummary>>> {
    let request = SearchRequest::try_from(params)?;
    let lookups = request.terms.iter().map(|term| {
        let query = PartitionQuery {
            index: Index::Table,
            partition: term_partition(term),
            sort_prefix: None,
            ascending: false,
        };
        let store = &state.store;
        async move {
            store
                .query_page::<TermItem>(&query, MAX_POSTINGS_PER_TERM, None)
                .await
        }
    });
    let mut postings = Vec::new();
    for page in futures::future::join_all(lookups).await {
        postings.push(page?.items);
    }
    let ranked = rank(&postings);
    let page_ids: Vec<String> = ranked
        .iter()
        .skip(request.offset)
        .take(request.limit as usize)
        .cloned()
        .collect();
    // The products alone: a page shows `inStock`, not the counters of each
    // product's stock item.
    let keys: Vec<(String, String)> = page_ids
        .iter()
        .map(|id| {
            let (pk, sk) = stock::product_key(id);
            (pk, sk.to_owned())
        })
        .collect();
    let mut found: HashMap<String, Product> = if keys.is_empty() {
        HashMap::new()
    } else {
        state
            .store
            .batch_get::<Product>(&keys)
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect()
    };
    let products: Vec<ProductSummary> = page_ids
        .iter()
        .filter_map(|id| found.remove(id))
        .filter(|p| request.filters.admit(p))
        .map(ProductSummary::from)
        .collect();
    let end = request.offset + request.limit as usize;
    let next_cursor = (end < ranked.len()).then(|| encode_offset(end));
    // Count a search once, not once per page.
    if request.offset == 0
        && let Err(err) =
            search_stats::record(&state.store, &request.query, ranked.is_empty()).await
    {
        // Statistics must never fail a search.
        tracing::warn!(error = ?err, "recording the search query failed");
    }
    Ok(ApiResponse::ok(products).paginated(next_cursor, request.limit))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// The start of a word of a product name: 2 to 40 letters or digits,
    /// not a stop word (a, the, of, ...).
    #[param(
        required = true,
        pattern = r"(^|[^A-Za-z0-9])(?!([Aa]|[Aa][Nn]|[Aa][Nn][Dd]|[Aa][Rr][Ee]|[Aa][Ss]|[Aa][Tt]|[Bb][Ee]|[Bb][Yy]|[Ff][Oo][Rr]|[Ff][Rr][Oo][Mm]|[Ii][Nn]|[Ii][Ss]|[Ii][Tt]|[Oo][Ff]|[Oo][Nn]|[Oo][Rr]|[Tt][Hh][Ee]|[Tt][Oo]|[Ww][Ii][Tt][Hh])([^A-Za-z0-9]|$))[A-Za-z0-9]{2,40}([^A-Za-z0-9]|$)"
    )]
    pub prefix: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    /// A product name with a word that starts with the prefix.
    pub name: String,
    pub product_id: String,
}

/// Autocomplete: product names with a word starting with `prefix`.
#[utoipa::path(
    get,
    path = "/v1/search/suggest",
    tag = "catalog",
    params(SuggestParams),
    responses(
        (status = 200, description = "Up to 10 suggestions", body = Envelope<Vec<Suggestion>>),
        (status = 422, description = "The prefix is shorter than 2 letters", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn suggest(
    State(state): State<CatalogState>,
    ApiQuery(params): ApiQuery<SuggestParams>,
) -> ApiResult<ApiResponse<Vec<Suggestion>>> {
    let prefix = words(params.prefix.as_deref().unwrap_or(""))
        .into_iter()
        .next()
        .filter(|p| p.chars().count() >= SUGGEST_PREFIX_CHARS)
        .ok_or_else(|| {
            ApiError::invalid_field("prefix", "give the start of a word, 2 letters or more")
        })?;
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: format!(
            "SUGGEST#{}",
            prefix
                .chars()
                .take(SUGGEST_PREFIX_CHARS)
                .collect::<String>()
        ),
        sort_prefix: Some(prefix),
        ascending: true,
    };
    let page = state
        .store
        .query_page::<TermItem>(&query, 100, None)
        .await?;
    let mut seen = BTreeSet::new();
    let suggestions = page
        .items
        .into_iter()
        .filter_map(|t| Some((t.name?, t.product_id)))
        .filter(|(name, _)| seen.insert(name.to_lowercase()))
        .take(MAX_SUGGESTIONS)
        .map(|(name, product_id)| Suggestion { name, product_id })
        .collect();
    Ok(ApiResponse::ok(suggestions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posting(term: usize, id: &str, in_name: bool) -> TermItem {
        TermItem {
            pk: format!("SEARCH#{term}"),
            sk: id.into(),
            item_type: shared::projections::search_index::TERM_TYPE.into(),
            gsi1pk: None,
            gsi1sk: None,
            term: term.to_string(),
            product_id: id.into(),
            in_name,
            in_category: false,
            name: None,
        }
    }

    #[test]
    fn category_only_matches_rank_below_other_matches() {
        let mut weak = posting(0, "b", false);
        weak.in_category = true;
        let strong = posting(0, "a", false);
        assert_eq!(rank(&[vec![weak, strong]]), vec!["a", "b"]);
    }

    #[test]
    fn ranks_all_term_matches_by_name_hits_then_newest() {
        let postings = vec![
            vec![
                posting(0, "A", false),
                posting(0, "B", true),
                posting(0, "C", true),
                posting(0, "D", false),
            ],
            vec![
                posting(1, "A", false),
                posting(1, "B", true),
                posting(1, "C", false),
            ],
        ];
        assert_eq!(rank(&postings), vec!["B", "C", "A"]);
    }

    #[test]
    fn offsets_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_offset(&encode_offset(40)), Some(40));
        assert_eq!(decode_offset("%%"), None);
        assert_eq!(decode_offset(&URL_SAFE_NO_PAD.encode("offset:x")), None);
    }
}
