//! Order statistics: per-day counters the stream function keeps, read by
//! admins with one Query.
//!
//! `STATS#ORDERS / DAY#<yyyy-mm-dd>` (UTC) holds `placed`, `paid`,
//! `cancelled`, `refunded` (orders) and per currency `revenue_<CUR>` (order
//! totals as they were paid) and `refundedAmount_<CUR>`, in minor units.
//! Every counter moves by an atomic ADD in a transaction with a marker
//! keyed by the stream record's id, so a redelivered record counts once.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::auth::Caller;
use shared::domain::now_epoch;
use shared::http::{ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{
    Index, PartitionQuery, QueryRefinement, Store, StoreError, Transaction, Update, n, s,
};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use crate::OrdersState;
use crate::buyer::require_admin;
use crate::model::{OrderStatus, PaymentState};

const STATS_PK: &str = "STATS#ORDERS";
const MARKER_TTL_SECS: i64 = 7 * 24 * 3600;
/// The longest range one request may ask for (one Query, under 1 MB).
pub const MAX_DAYS: i64 = 366;
const DEFAULT_DAYS: i64 = 30;
const REVENUE_PREFIX: &str = "revenue_";
const REFUNDED_PREFIX: &str = "refundedAmount_";

fn day_sk(day: &str) -> String {
    format!("DAY#{day}")
}

/// The fields of an order image the counters need.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderImage {
    pub status: OrderStatus,
    pub created_at: String,
    pub updated_at: String,
    pub totals: ImageTotals,
    pub payment: ImagePayment,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageTotals {
    pub currency: String,
    pub total: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagePayment {
    pub state: PaymentState,
    #[serde(default)]
    pub refund: Option<ImageRefund>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImageRefund {
    pub amount: i64,
}

/// What one change of an order adds to which day.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Increments {
    pub day: String,
    pub counts: Vec<(&'static str, i64)>,
    /// (attribute, amount): `revenue_EUR`, `refundedAmount_EUR`.
    pub amounts: Vec<(String, i64)>,
}

fn currency_attr(prefix: &str, currency: &str) -> Option<String> {
    (currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()))
        .then(|| format!("{prefix}{currency}"))
}

/// The counters a change moves (none for most changes).
pub fn increments(old: Option<&OrderImage>, new: Option<&OrderImage>) -> Option<Increments> {
    let new = new?;
    let mut inc = Increments {
        day: new.updated_at.get(..10)?.to_owned(),
        ..Increments::default()
    };
    let Some(old) = old else {
        inc.day = new.created_at.get(..10)?.to_owned();
        inc.counts.push(("placed", 1));
        return Some(inc);
    };
    let currency = &new.totals.currency;
    if old.status != new.status {
        match new.status {
            OrderStatus::Paid if old.status == OrderStatus::PendingPayment => {
                inc.counts.push(("paid", 1));
            }
            OrderStatus::Cancelled => inc.counts.push(("cancelled", 1)),
            OrderStatus::Refunded => inc.counts.push(("refunded", 1)),
            _ => {}
        }
    }
    // Revenue is money received: also a payment that arrived after the order
    // was cancelled (it is then refunded, and counted there too).
    if old.payment.state != PaymentState::Succeeded && new.payment.state == PaymentState::Succeeded
    {
        inc.amounts
            .push((currency_attr(REVENUE_PREFIX, currency)?, new.totals.total));
    }
    if old.payment.state != PaymentState::Refunded && new.payment.state == PaymentState::Refunded {
        let amount = new
            .payment
            .refund
            .as_ref()
            .map_or(new.totals.total, |r| r.amount);
        inc.amounts
            .push((currency_attr(REFUNDED_PREFIX, currency)?, amount));
    }
    (!inc.counts.is_empty() || !inc.amounts.is_empty()).then_some(inc)
}

#[derive(Serialize)]
struct Marker {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: &'static str,
    #[serde(rename = "type")]
    item_type: &'static str,
    ttl: i64,
}

/// Applies one stream record's change to the counters, once per record id.
pub async fn apply_order_change(
    store: &Store,
    event_id: &str,
    old: Option<OrderImage>,
    new: Option<OrderImage>,
) -> Result<(), StoreError> {
    let Some(inc) = increments(old.as_ref(), new.as_ref()) else {
        return Ok(());
    };
    let marker = Marker {
        pk: format!("STATS#EVENT#{event_id}"),
        sk: "MARKER",
        item_type: "STATS_MARKER",
        ttl: now_epoch() + MARKER_TTL_SECS,
    };
    let mut adds = Vec::new();
    let mut names = vec![
        ("#type".to_owned(), "type".to_owned()),
        ("#date".to_owned(), "date".to_owned()),
    ];
    let mut values = vec![
        (":type".to_owned(), s("ORDER_STATS")),
        (":date".to_owned(), s(inc.day.clone())),
    ];
    for (i, (attribute, amount)) in inc
        .counts
        .iter()
        .map(|(a, v)| ((*a).to_owned(), *v))
        .chain(inc.amounts.iter().cloned())
        .enumerate()
    {
        adds.push(format!("#a{i} :v{i}"));
        names.push((format!("#a{i}"), attribute));
        values.push((format!(":v{i}"), n(amount)));
    }
    let expression = format!("SET #type = :type, #date = :date ADD {}", adds.join(", "));
    let mut update = Update::new(STATS_PK, day_sk(&inc.day), expression);
    for (placeholder, attribute) in &names {
        update = update.name(placeholder, attribute);
    }
    for (placeholder, value) in values {
        update = update.value(&placeholder, value);
    }
    let mut tx = Transaction::new();
    tx.push(store.transact_put(&marker, Some("attribute_not_exists(PK)"))?)
        .named("counted");
    tx.push(store.transact_update(update)?);
    match store.transact(tx).await {
        Ok(()) => Ok(()),
        // The marker exists: this record was counted before.
        Err(err) if err.condition_failed("counted") => Ok(()),
        Err(err) => Err(err),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn image(status: OrderStatus, payment: PaymentState, updated: &str) -> OrderImage {
        OrderImage {
            status,
            created_at: "2026-11-20T10:00:00Z".into(),
            updated_at: updated.into(),
            totals: ImageTotals {
                currency: "EUR".into(),
                total: 1_845,
            },
            payment: ImagePayment {
                state: payment,
                refund: None,
            },
        }
    }

    #[test]
    fn a_new_order_counts_as_placed_on_its_creation_day() {
        let new = image(
            OrderStatus::PendingPayment,
            PaymentState::Pending,
            "2026-11-21T00:00:00Z",
        );
        let inc = increments(None, Some(&new)).unwrap();
        assert_eq!(inc.day, "2026-11-20");
        assert_eq!(inc.counts, vec![("placed", 1)]);
    }

    #[test]
    fn payment_adds_revenue_in_its_currency_on_the_day_it_was_paid() {
        let old = image(
            OrderStatus::PendingPayment,
            PaymentState::Pending,
            "2026-11-20T10:00:00Z",
        );
        let new = image(
            OrderStatus::Paid,
            PaymentState::Succeeded,
            "2026-11-21T09:00:00Z",
        );
        let inc = increments(Some(&old), Some(&new)).unwrap();
        assert_eq!(inc.day, "2026-11-21");
        assert_eq!(inc.counts, vec![("paid", 1)]);
        assert_eq!(inc.amounts, vec![("revenue_EUR".to_owned(), 1_845)]);
    }

    #[test]
    fn cancellations_and_refunds_count_and_other_changes_do_not() {
        let paid = image(
            OrderStatus::Paid,
            PaymentState::Succeeded,
            "2026-11-21T09:00:00Z",
        );
        let mut cancelled = image(
            OrderStatus::Cancelled,
            PaymentState::Refunded,
            "2026-11-22T09:00:00Z",
        );
        cancelled.payment.refund = Some(ImageRefund { amount: 1_845 });
        let inc = increments(Some(&paid), Some(&cancelled)).unwrap();
        assert_eq!(inc.counts, vec![("cancelled", 1)]);
        assert_eq!(inc.amounts, vec![("refundedAmount_EUR".to_owned(), 1_845)]);
        let mut late = image(
            OrderStatus::Cancelled,
            PaymentState::Succeeded,
            "2026-11-22T09:00:00Z",
        );
        let mut expired = late.clone();
        expired.payment.state = PaymentState::Pending;
        late.payment.refund = Some(ImageRefund { amount: 1_845 });
        let inc = increments(Some(&expired), Some(&late)).unwrap();
        assert_eq!(inc.counts, vec![]);
        assert_eq!(inc.amounts, vec![("revenue_EUR".to_owned(), 1_845)]);
        let shipped = image(
            OrderStatus::Shipped,
            PaymentState::Succeeded,
            "2026-11-22T09:00:00Z",
        );
        assert_eq!(increments(Some(&paid), Some(&shipped)), None);
        assert_eq!(increments(Some(&paid), None), None);
    }
}
