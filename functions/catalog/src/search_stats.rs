//! Search statistics: what people search for, a counter per normalized
//! query per day, so an admin can see the top queries and the ones that
//! found nothing (`GET /v1/search/queries`). `search` records each query.
//!
//! Items: `SEARCHQ#<YYYY-MM-DD> / <normalized query>` with `count` and
//! `noResults` (atomic ADDs, never read-modify-write) and a 90-day `ttl`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::http::{ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{Index, PartitionQuery, Store, StoreError, Update, attr, n, s};
use utoipa::{IntoParams, ToSchema};

use crate::CatalogState;
use crate::access::require_admin;
use shared::projections::search_index::text::words;

pub const QUERY_STAT_TYPE: &str = "SEARCH_QUERY_STAT";
const KEEP_DAYS: i64 = 90;
const MAX_QUERY_CHARS: usize = 100;
/// A day's statistics are read whole, up to this many 1 MB pages.
const MAX_DAY_PAGES: usize = 10;

fn day_partition(day: &str) -> String {
    format!("SEARCHQ#{day}")
}

fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

/// The form a query is counted under: its words, lower-cased, one space apart.
pub fn normalize(query: &str) -> String {
    words(query)
        .join(" ")
        .chars()
        .take(MAX_QUERY_CHARS)
        .collect()
}

/// Counts one search of `query` today, and whether it found nothing.
pub async fn record(store: &Store, query: &str, no_results: bool) -> Result<(), StoreError> {
    let normalized = normalize(query);
    if normalized.is_empty() {
        return Ok(());
    }
    let expires = time::OffsetDateTime::now_utc().unix_timestamp() + KEEP_DAYS * 86_400;
    let count = Update::new(
        day_partition(&today()),
        normalized.clone(),
        "ADD #count :one, noResults :none SET #type = :type, #query = :query, #ttl = :ttl",
    )
    .name("#count", "count")
    .name("#type", attr::TYPE)
    .name("#query", "query")
    .name("#ttl", attr::TTL)
    .value(":one", n(1))
    .value(":none", n(i64::from(no_results)))
    .value(":type", s(QUERY_STAT_TYPE))
    .value(":query", s(normalized))
    .value(":ttl", n(expires));
    store.apply_update(count).await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryStat {
    /// The normalized query.
    pub query: String,
    /// Searches for it that day.
    pub count: i64,
    /// Of those, searches that found nothing.
    #[serde(default)]
    pub no_results: i64,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct QueryStatsParams {
    /// How many queries, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub top: Option<String>,
    /// The UTC day, `YYYY-MM-DD` (default today).
    #[param(
        pattern = r"^[0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)$"
    )]
    pub day: Option<String>,
    /// `true`: only queries that found nothing, most frequent first.
    #[param(value_type = Option<bool>)]
    pub no_results: Option<String>,
}

/// The most frequent search queries of a day (admins only); with
/// `noResults=true`, the most frequent ones that found nothing.
#[utoipa::path(
    get,
    path = "/v1/search/queries",
    tag = "catalog",
    security(("bearer" = [])),
    params(QueryStatsParams),
    responses(
        (status = 200, description = "Queries, most frequent first", body = Envelope<Vec<QueryStat>>),
        (status = 403, description = "The caller is not a platform admin", body = ErrorEnvelope),
        (status = 422, description = "A parameter is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn query_stats(
    State(state): State<CatalogState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<QueryStatsParams>,
) -> ApiResult<ApiResponse<Vec<QueryStat>>> {
    require_admin(&principal)?;
    let top = match params.top.as_deref().map(str::parse::<usize>) {
        None => 20,
        Some(Ok(top)) if (1..=100).contains(&top) => top,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "top",
                "must be a whole number from 1 to 100",
            ));
        }
    };
    let day = params.day.unwrap_or_else(today);
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if time::Date::parse(&day, &format).is_err() {
        return Err(ApiError::invalid_field(
            "day",
            "must be a date such as 2026-11-22",
        ));
    }
    let only_failed = match params.no_results.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "noResults",
                "must be true or false",
            ));
        }
    };
    let query = PartitionQuery {
        index: Index::Table,
        partition: day_partition(&day),
        sort_prefix: None,
        ascending: true,
    };
    let mut stats: Vec<QueryStat> = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_DAY_PAGES {
        let page = state
            .store
            .query_page::<QueryStat>(&query, 1000, cursor.as_deref())
            .await?;
        stats.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if only_failed {
        stats.retain(|s| s.no_results > 0);
        stats.sort_by(|a, b| {
            b.no_results
                .cmp(&a.no_results)
                .then_with(|| a.query.cmp(&b.query))
        });
    } else {
        stats.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.query.cmp(&b.query)));
    }
    stats.truncate(top);
    Ok(ApiResponse::ok(stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_counted_by_their_words() {
        assert_eq!(normalize("  Fresh   TOMATOES!! "), "fresh tomatoes");
        assert_eq!(normalize("the"), "");
        assert_eq!(normalize(&"word ".repeat(100)).chars().count(), 100);
    }
}
