//! Order statistics for platform admins: the per-day counters that the
//! stream function keeps (`shared::projections::order_stats`, which
//! documents the items), read with one Query.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::auth::Caller;
use shared::http::{ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::projections::order_stats::{REFUNDED_PREFIX, REVENUE_PREFIX, STATS_PK, day_sk};
use shared::store::{Index, PartitionQuery, QueryRefinement};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use crate::OrdersState;
use crate::buyer::require_admin;

/// The longest range one request may ask for (one Query, under 1 MB).
pub const MAX_DAYS: i64 = 366;
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsRange {
    /// First day (UTC, `YYYY-MM-DD`); default (or empty) 29 days before `to`.
    #[param(
        pattern = r"^([0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31))?$"
    )]
    pub from: Option<String>,
    /// Last day, inclusive; default (or empty) today; at most 366 days after `from`.
    #[param(
        pattern = r"^([0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31))?$"
    )]
    pub to: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayStats {
    #[schema(example = "2026-11-22")]
    pub date: String,
    pub orders_placed: i64,
    pub orders_paid: i64,
    pub cancellations: i64,
    pub refunds: i64,
    /// Currency → paid order totals, in minor units.
    pub revenue: BTreeMap<String, i64>,
    /// Currency → refunded amounts, in minor units.
    pub refunded: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderStats {
    pub from: String,
    pub to: String,
    /// Days with any activity, oldest first.
    pub days: Vec<DayStats>,
    /// The sums over the range (`date` is empty).
    pub totals: DayStats,
}

fn day_of(item: &BTreeMap<String, Value>) -> DayStats {
    let count = |name: &str| item.get(name).and_then(Value::as_i64).unwrap_or(0);
    let by_currency = |prefix: &str| {
        item.iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_owned(), v.as_i64()?)))
            .collect()
    };
    DayStats {
        date: item
            .get("date")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        orders_placed: count("placed"),
        orders_paid: count("paid"),
        cancellations: count("cancelled"),
        refunds: count("refunded"),
        revenue: by_currency(REVENUE_PREFIX),
        refunded: by_currency(REFUNDED_PREFIX),
    }
}

fn add_into(total: &mut DayStats, day: &DayStats) {
    total.orders_placed += day.orders_placed;
    total.orders_paid += day.orders_paid;
    total.cancellations += day.cancellations;
    total.refunds += day.refunds;
    for (currency, amount) in &day.revenue {
        *total.revenue.entry(currency.clone()).or_default() += amount;
    }
    for (currency, amount) in &day.refunded {
        *total.refunded.entry(currency.clone()).or_default() += amount;
    }
}

fn parse_day(field: &str, raw: Option<&str>) -> ApiResult<Option<Date>> {
    raw.filter(|r| !r.is_empty())
        .map(|raw| {
            Date::parse(raw, format_description!("[year]-[month]-[day]"))
                .map_err(|_| ApiError::invalid_field(field, "must be a date as YYYY-MM-DD"))
        })
        .transpose()
}

/// Per-day order counts, revenue and refunds per currency, for platform
/// admins. One Query over the range.
#[utoipa::path(
    get,
    path = "/v1/admin/stats",
    tag = "orders",
    security(("bearer" = [])),
    params(StatsRange),
    responses(
        (status = 200, description = "The days of the range with activity, and their sums", body = Envelope<OrderStats>),
        (status = 403, description = "Not a platform admin", body = ErrorEnvelope),
        (status = 422, description = "A date is not YYYY-MM-DD, from is after to, or the range is over 366 days", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn order_stats(
    State(state): State<OrdersState>,
    caller: Caller,
    ApiQuery(range): ApiQuery<StatsRange>,
) -> ApiResult<ApiResponse<OrderStats>> {
    require_admin(&caller)?;
    let to =
        parse_day("to", range.to.as_deref())?.unwrap_or_else(|| OffsetDateTime::now_utc().date());
    let from =
        parse_day("from", range.from.as_deref())?.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
    if from > to {
        return Err(ApiError::invalid_field("from", "must not be after to"));
    }
    if (to - from).whole_days() >= MAX_DAYS {
        return Err(ApiError::invalid_field(
            "from",
            format!("the range may span at most {MAX_DAYS} days"),
        ));
    }
    let query = PartitionQuery {
        index: Index::Table,
        partition: STATS_PK.to_owned(),
        sort_prefix: None,
        ascending: true,
    };
    let refinement = QueryRefinement {
        sort_between: Some((day_sk(&from.to_string()), day_sk(&to.to_string()))),
        ..QueryRefinement::default()
    };
    let page = state
        .store
        .query_page_where::<BTreeMap<String, Value>>(&query, &refinement, MAX_DAYS as u32, None)
        .await?;
    let days: Vec<DayStats> = page.items.iter().map(day_of).collect();
    let mut totals = DayStats::default();
    for day in &days {
        add_into(&mut totals, day);
    }
    Ok(ApiResponse::ok(OrderStats {
        from: from.to_string(),
        to: to.to_string(),
        days,
        totals,
    }))
}
