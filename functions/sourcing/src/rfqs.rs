//! A buyer's requests for quotation: create, list, read, edit the draft
//! (If-Match). `rfq:create` to write, `rfq:read` to see. A supplier reads
//! an RFQ it was invited to at the same path under its own org (see
//! `supplier::invited_view`); anyone else gets 404.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::contracts::address::{AddressBook, SavedAddress};
use shared::contracts::sourced_order::NET_TERMS_DAYS;
use shared::domain::{CountryCode, Currency, new_id, now_rfc3339, rfc3339_to_epoch};
use shared::http::precondition::{etag, if_match};
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
    Problems,
};
use shared::store::{Index, PartitionQuery, QueryRefinement, Store, Transaction, Value};
use utoipa::{IntoParams, ToSchema};

use crate::SourcingState;
use crate::access;
use crate::matching::{ScoreWeights, parse_date};
use crate::model::{
    Delivery, MatchingSummary, PaymentTerms, RFQ_SK_PREFIX, RFQ_TYPE, Requirements, RfqContent,
    RfqLine, RfqRecord, RfqStatus, RfqUnit, org_pk, rfq_key,
};
use crate::supplier;

const MAX_TITLE_CHARS: usize = 200;
const MAX_LINES: usize = 50;
const MAX_SPEC_CHARS: usize = 1000;
const MAX_QUANTITY: i64 = 1_000_000_000;
const MAX_UNIT_PRICE: i64 = 9_999_999_999;
const MAX_FREE_FROM: usize = 14;
const MAX_MIN_SUPPLIERS: u32 = 50;
pub const CERTIFICATE_SCHEMES: &[&str] = &[
    "haccp",
    "iso22000",
    "fssc22000",
    "brcgs",
    "ifs",
    "organic",
    "halal",
    "kosher",
    "fairtrade",
];

/// An RFQ as its buyer sees it. Before closing, `proposalCount` is all
/// the buyer learns of the proposals: never prices or names.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RfqView {
    #[schema(example = "01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub id: String,
    pub buyer_org_id: String,
    #[serde(flatten)]
    pub content: RfqContent,
    pub status: RfqStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matching: Option<MatchingSummary>,
    /// Proposals standing (submitted, not withdrawn).
    pub proposal_count: i64,
    /// Amendments published (`GET .../amendments`).
    pub amendment_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Also the ETag; send it as If-Match to edit the draft.
    pub version: u64,
}

impl From<RfqRecord> for RfqView {
    fn from(record: RfqRecord) -> Self {
        Self {
            id: record.id,
            buyer_org_id: record.buyer_org_id,
            content: record.content,
            status: record.status,
            matching: record.matching,
            proposal_count: record.proposal_count,
            amendment_count: record.amendment_count,
            published_at: record.published_at,
            closed_at: record.closed_at,
            created_at: record.created_at,
            updated_at: record.updated_at,
            version: record.version,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineInput {
    #[schema(example = "produce")]
    category_id: String,
    #[schema(example = "Roma tomatoes, class I")]
    spec: Option<String>,
    product_id: Option<String>,
    #[schema(example = 500, minimum = 1, maximum = 1_000_000_000)]
    quantity: i64,
    /// kg, case or piece
    #[schema(value_type = RfqUnit)]
    unit: String,
    #[schema(minimum = 1, maximum = 9_999_999_999_i64)]
    target_unit_price: Option<i64>,
    #[schema(minimum = 1, maximum = 9_999_999_999_i64)]
    max_unit_price: Option<i64>,
    #[schema(minimum = 1)]
    min_order_quantity: Option<i64>,
    #[serde(default)]
    #[schema(example = json!(["peanuts"]))]
    free_from: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryInput {
    #[schema(value_type = CountryCode)]
    country: String,
    #[schema(example = "Berlin")]
    city: String,
    #[schema(example = "2026-12-14", format = Date)]
    window_from: String,
    #[schema(example = "2026-12-18", format = Date)]
    window_to: String,
    #[serde(default)]
    cold_chain: bool,
    /// A saved address of the buyer organization (its address book) in
    /// `country`: where the awarded orders ship.
    #[schema(example = "01JDC1ADDRESS0000000000000")]
    address_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequirementsInput {
    #[serde(default)]
    #[schema(example = json!(["haccp"]))]
    certificates: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRfqRequest {
    #[schema(example = "Tomatoes for the winter menu")]
    title: String,
    #[schema(value_type = Currency)]
    currency: String,
    lines: Vec<LineInput>,
    delivery: DeliveryInput,
    payment_terms: Option<PaymentTerms>,
    requirements: Option<RequirementsInput>,
    #[schema(format = DateTime)]
    closes_at: String,
    #[schema(format = DateTime)]
    award_by: String,
    weights: Option<ScoreWeights>,
    #[schema(minimum = 1, maximum = 50)]
    min_suppliers: Option<u32>,
}

/// Every field optional; what is sent replaces the draft's (lines as a whole).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRfqRequest {
    title: Option<String>,
    #[schema(value_type = Option<Currency>)]
    currency: Option<String>,
    lines: Option<Vec<LineInput>>,
    delivery: Option<DeliveryInput>,
    payment_terms: Option<PaymentTerms>,
    requirements: Option<RequirementsInput>,
    #[schema(format = DateTime)]
    closes_at: Option<String>,
    #[schema(format = DateTime)]
    award_by: Option<String>,
    weights: Option<ScoreWeights>,
    #[schema(minimum = 1, maximum = 50)]
    min_suppliers: Option<u32>,
}

/// The draft as sent, before checking.
struct Draft {
    title: String,
    currency: String,
    lines: Vec<LineInput>,
    delivery: DeliveryInput,
    payment_terms: PaymentTerms,
    certificates: Vec<String>,
    closes_at: String,
    award_by: String,
    weights: ScoreWeights,
    min_suppliers: u32,
}

impl From<CreateRfqRequest> for Draft {
    fn from(r: CreateRfqRequest) -> Self {
        Self {
            title: r.title,
            currency: r.currency,
            lines: r.lines,
            delivery: r.delivery,
            payment_terms: r.payment_terms.unwrap_or(PaymentTerms { net_days: 30 }),
            certificates: r.requirements.map(|r| r.certificates).unwrap_or_default(),
            closes_at: r.closes_at,
            award_by: r.award_by,
            weights: r.weights.unwrap_or_default(),
            min_suppliers: r.min_suppliers.unwrap_or(3),
        }
    }
}

impl Draft {
    fn of(content: &RfqContent) -> Self {
        Self {
            title: content.title.clone(),
            currency: content.currency.clone(),
            lines: content
                .lines
                .iter()
                .map(|l| LineInput {
                    category_id: l.category_id.clone(),
                    spec: l.spec.clone(),
                    product_id: l.product_id.clone(),
                    quantity: l.quantity,
                    unit: l.unit.as_str().to_owned(),
                    target_unit_price: l.target_unit_price,
                    max_unit_price: l.max_unit_price,
                    min_order_quantity: l.min_order_quantity,
                    free_from: l.free_from.clone(),
                })
                .collect(),
            delivery: DeliveryInput {
                country: content.delivery.country.as_str().to_owned(),
                city: content.delivery.city.clone(),
                window_from: content.delivery.window_from.clone(),
                window_to: content.delivery.window_to.clone(),
                cold_chain: content.delivery.cold_chain,
                address_id: content.delivery.address_id.clone(),
            },
            payment_terms: content.payment_terms.clone(),
            certificates: content.requirements.certificates.clone(),
            closes_at: content.closes_at.clone(),
            award_by: content.award_by.clone(),
            weights: content.weights,
            min_suppliers: content.min_suppliers,
        }
    }

    fn apply(&mut self, r: UpdateRfqRequest) {
        if let Some(v) = r.title {
            self.title = v;
        }
        if let Some(v) = r.currency {
            self.currency = v;
        }
        if let Some(v) = r.lines {
            self.lines = v;
        }
        if let Some(v) = r.delivery {
            self.delivery = v;
        }
        if let Some(v) = r.payment_terms {
            self.payment_terms = v;
        }
        if let Some(v) = r.requirements {
            self.certificates = v.certificates;
        }
        if let Some(v) = r.closes_at {
            self.closes_at = v;
        }
        if let Some(v) = r.award_by {
            self.award_by = v;
        }
        if let Some(v) = r.weights {
            self.weights = v;
        }
        if let Some(v) = r.min_suppliers {
            self.min_suppliers = v;
        }
    }

    /// Checks every field; all problems at once (422 naming each field).
    fn check(self) -> ApiResult<RfqContent> {
        let mut problems = Problems::default();
        let title = problems.text("title", &self.title, 1, MAX_TITLE_CHARS);
        let currency = problems
            .parsed("currency", Currency::parse(self.currency.trim()))
            .map(|c| c.as_str().to_owned());
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            problems.add("lines", format!("1 to {MAX_LINES} lines"));
        }
        let mut lines = Vec::new();
        for (i, line) in self.lines.into_iter().enumerate() {
            if let Some(line) = check_line(&mut problems, i, line) {
                lines.push(line);
            }
        }
        let delivery = check_delivery(&mut problems, self.delivery);
        if !NET_TERMS_DAYS.contains(&i64::from(self.payment_terms.net_days)) {
            problems.add(
                "paymentTerms.netDays",
                "must be 14, 30 or 60 (invoice terms)",
            );
        }
        let mut certificates: Vec<String> = Vec::new();
        for (i, raw) in self.certificates.iter().enumerate() {
            let scheme = raw.trim().to_lowercase();
            if !CERTIFICATE_SCHEMES.contains(&scheme.as_str()) {
                problems.add(
                    format!("requirements.certificates[{i}]"),
                    format!("must be one of {}", CERTIFICATE_SCHEMES.join(", ")),
                );
            } else if !certificates.contains(&scheme) {
                certificates.push(scheme);
            }
        }
        let closes = rfc3339_to_epoch(self.closes_at.trim());
        let award = rfc3339_to_epoch(self.award_by.trim());
        match closes {
            None => problems.add("closesAt", "must be an RFC 3339 time"),
            Some(at) if at <= shared::domain::now_epoch() => {
                problems.add("closesAt", "must be in the future")
            }
            Some(_) => {}
        }
        match (closes, award) {
            (_, None) => problems.add("awardBy", "must be an RFC 3339 time"),
            (Some(closes), Some(award)) if award <= closes => {
                problems.add("awardBy", "must be after closesAt")
            }
            _ => {}
        }
        if let (Some(closes), Some(delivery)) = (closes, &delivery)
            && let Some(window_to) = parse_date(&delivery.window_to)
            && closes >= window_to.midnight().assume_utc().unix_timestamp()
        {
            problems.add(
                "closesAt",
                "must be before the last day of the delivery window",
            );
        }
        let w = self.weights;
        let weights = [w.price, w.lead_time, w.rating, w.certification, w.on_time];
        if weights.iter().any(|w| *w > 100) || weights.iter().all(|w| *w == 0) {
            problems.add("weights", "each weight 0 to 100, and at least one above 0");
        }
        if !(1..=MAX_MIN_SUPPLIERS).contains(&self.min_suppliers) {
            problems.add("minSuppliers", format!("1 to {MAX_MIN_SUPPLIERS}"));
        }
        match (currency, delivery) {
            (Some(currency), Some(delivery)) if problems.is_empty() => Ok(RfqContent {
                title,
                currency,
                lines,
                delivery,
                payment_terms: self.payment_terms,
                requirements: Requirements { certificates },
                closes_at: self.closes_at.trim().to_owned(),
                award_by: self.award_by.trim().to_owned(),
                weights: self.weights,
                min_suppliers: self.min_suppliers,
            }),
            _ => Err(ApiError::validation(
                "the request for quotation has invalid fields",
                problems,
            )),
        }
    }
}

fn check_line(problems: &mut Problems, i: usize, line: LineInput) -> Option<RfqLine> {
    let field = |name: &str| format!("lines[{i}].{name}");
    let before = problems.len();
    let category_id = problems.text(&field("categoryId"), &line.category_id, 1, 100);
    let spec = problems.plain_text(&field("spec"), line.spec.as_deref(), MAX_SPEC_CHARS, false);
    let product_id = line
        .product_id
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    if spec.is_none() && product_id.is_none() && line.spec.is_none() {
        problems.add(field("spec"), "a spec or a productId is required");
    }
    if !(1..=MAX_QUANTITY).contains(&line.quantity) {
        problems.add(field("quantity"), format!("1 to {MAX_QUANTITY}"));
    }
    let unit = RfqUnit::parse(line.unit.trim());
    if unit.is_none() {
        problems.add(field("unit"), "must be kg, case or piece");
    }
    for (name, price) in [
        ("targetUnitPrice", line.target_unit_price),
        ("maxUnitPrice", line.max_unit_price),
    ] {
        if price.is_some_and(|p| !(1..=MAX_UNIT_PRICE).contains(&p)) {
            problems.add(field(name), format!("1 to {MAX_UNIT_PRICE} minor units"));
        }
    }
    if let (Some(target), Some(max)) = (line.target_unit_price, line.max_unit_price)
        && target > max
    {
        problems.add(field("targetUnitPrice"), "must not be above maxUnitPrice");
    }
    if line
        .min_order_quantity
        .is_some_and(|m| m < 1 || m > line.quantity)
    {
        problems.add(field("minOrderQuantity"), "1 to the line's quantity");
    }
    let mut free_from: Vec<String> = Vec::new();
    if line.free_from.len() > MAX_FREE_FROM {
        problems.add(
            field("freeFrom"),
            format!("at most {MAX_FREE_FROM} allergens"),
        );
    }
    for (j, raw) in line.free_from.iter().enumerate() {
        let allergen = raw.trim().to_lowercase();
        if allergen.is_empty()
            || allergen.chars().count() > 50
            || allergen.chars().any(char::is_control)
        {
            problems.add(format!("lines[{i}].freeFrom[{j}]"), "1 to 50 characters");
        } else if !free_from.contains(&allergen) {
            free_from.push(allergen);
        }
    }
    (problems.len() == before).then(|| RfqLine {
        id: format!("L{}", i + 1),
        category_id,
        spec,
        product_id,
        quantity: line.quantity,
        unit: unit.expect("checked above"),
        target_unit_price: line.target_unit_price,
        max_unit_price: line.max_unit_price,
        min_order_quantity: line.min_order_quantity,
        free_from,
    })
}

fn check_delivery(problems: &mut Problems, input: DeliveryInput) -> Option<Delivery> {
    let country = problems.parsed("delivery.country", CountryCode::parse(&input.country));
    let city = problems.plain_text("delivery.city", Some(&input.city), 100, true);
    let from = parse_date(input.window_from.trim());
    let to = parse_date(input.window_to.trim());
    if from.is_none() {
        problems.add("delivery.windowFrom", "must be a date such as 2026-12-14");
    }
    if to.is_none() {
        problems.add("delivery.windowTo", "must be a date such as 2026-12-18");
    }
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        problems.add("delivery.windowTo", "must not be before windowFrom");
    }
    Some(Delivery {
        country: country?,
        city: city?,
        window_from: from?.to_string(),
        window_to: to?.to_string(),
        cold_chain: input.cold_chain,
        address_id: input
            .address_id
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty()),
    })
}

/// The delivery's saved address, if it names one: it must be in the buyer
/// organization's address book and in the delivery country (else 422).
pub(crate) async fn check_delivery_address(
    store: &Store,
    buyer_org_id: &str,
    delivery: &Delivery,
) -> ApiResult<()> {
    let Some(address_id) = &delivery.address_id else {
        return Ok(());
    };
    let saved = match AddressBook::Org(buyer_org_id.to_owned()).entry_key(address_id) {
        Some((pk, sk)) => store.get::<SavedAddress>(&pk, &sk).await?,
        None => None,
    };
    match saved {
        None => Err(ApiError::invalid_field(
            "delivery.addressId",
            "not a saved address of this organization",
        )),
        Some(saved) if saved.address.country != delivery.country => Err(ApiError::invalid_field(
            "delivery.addressId",
            "the address is not in delivery.country",
        )),
        Some(_) => Ok(()),
    }
}

/// The buyer's RFQ `rfq_id`, or 404.
pub(crate) async fn load(store: &Store, buyer_org_id: &str, rfq_id: &str) -> ApiResult<RfqRecord> {
    let (pk, sk) = rfq_key(buyer_org_id, rfq_id);
    store
        .get(&pk, &sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such request for quotation"))
}

pub(crate) fn with_etag(record: RfqRecord) -> ApiResponse<RfqView> {
    let version = record.version;
    ApiResponse::ok(RfqView::from(record)).header(header::ETAG, etag(version))
}

/// Creates a draft RFQ. Needs `rfq:create`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/rfqs",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The buyer organization's id")),
    request_body = CreateRfqRequest,
    responses(
        (status = 201, description = "The draft; the ETag header is its version", body = Envelope<RfqView>),
        (status = 403, description = "Without rfq:create (e.g. a seller organization)", body = ErrorEnvelope),
        (status = 404, description = "Not a member of the organization", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn create_rfq(
    State(state): State<SourcingState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiJson(request): ApiJson<CreateRfqRequest>,
) -> ApiResult<ApiResponse<RfqView>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqCreate).await?;
    let content = Draft::from(request).check()?;
    check_delivery_address(&state.store, &org_id, &content.delivery).await?;
    let id = new_id();
    let (pk, sk) = rfq_key(&org_id, &id);
    let actor = caller.actor();
    let now = now_rfc3339();
    let (closes_at_epoch, award_by_epoch) = content.epochs();
    let record = RfqRecord {
        pk,
        sk,
        item_type: RFQ_TYPE.to_owned(),
        gsi1pk: None,
        gsi1sk: None,
        id,
        buyer_org_id: org_id.clone(),
        content,
        status: RfqStatus::Draft,
        matching: None,
        closes_at_epoch,
        award_by_epoch,
        proposal_count: 0,
        amendment_count: 0,
        published_at: None,
        closed_at: None,
        created_by: actor.to_string(),
        created_at: now.clone(),
        updated_at: now,
        version: 1,
    };
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &actor,
        AuditAction::RfqCreated,
    )
    .target(format!("rfq:{}", record.id))
    .details(serde_json::json!({ "title": record.content.title }));
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put(&record, Some("attribute_not_exists(PK)"))?,
    );
    tx.push(event.transact_item(&state.store)?);
    state
        .store
        .transact(tx)
        .await
        .map_err(|e| ApiError::from(e).context("saving the draft"))?;
    tracing::info!(rfq_id = %record.id, "rfq created");
    let version = record.version;
    Ok(ApiResponse::created(record.into()).header(header::ETAG, etag(version)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RfqFilter {
    /// Only RFQs in this status.
    status: Option<RfqStatus>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "shared::http::page_limit")]
    limit: Option<u32>,
    /// `pagination.nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The buyer's RFQs, newest first. Needs `rfq:read`.
///
/// One Query of the org's partition (`RFQ#` prefix); the status filter is a
/// FilterExpression, so a page may hold fewer than `limit`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/rfqs",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The buyer organization's id"), RfqFilter),
    responses(
        (status = 200, body = Envelope<Vec<RfqView>>),
        (status = 400, description = "A cursor that is not one of this list's", body = ErrorEnvelope),
        (status = 403, description = "Without rfq:read", body = ErrorEnvelope),
        (status = 404, description = "Not a member of the organization", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn list_rfqs(
    State(state): State<SourcingState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(filter): ApiQuery<RfqFilter>,
) -> ApiResult<ApiResponse<Vec<RfqView>>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqRead).await?;
    let page_params = PageParams {
        limit: filter.limit,
        cursor: filter.cursor.clone(),
    };
    let limit = page_params.limit();
    let mut refinement = QueryRefinement::default();
    let mut conditions = vec!["#type = :type".to_owned()];
    refinement.names.push(("#type".into(), "type".into()));
    refinement
        .values
        .push((":type".into(), Value::S(RFQ_TYPE.into())));
    if let Some(status) = filter.status {
        conditions.push("#status = :status".into());
        refinement.names.push(("#status".into(), "status".into()));
        refinement
            .values
            .push((":status".into(), Value::S(status.as_str().into())));
    }
    refinement.filter = Some(conditions.join(" AND "));
    let query = PartitionQuery {
        index: Index::Table,
        partition: org_pk(&org_id),
        sort_prefix: Some(RFQ_SK_PREFIX.to_owned()),
        ascending: false,
    };
    let page = state
        .store
        .query_page_where::<RfqRecord>(&query, &refinement, limit, page_params.cursor())
        .await?;
    let views = page.items.into_iter().map(RfqView::from).collect();
    Ok(ApiResponse::ok(views).paginated(page.next_cursor, limit))
}

/// An RFQ as this org sees it: its buyer sees the whole RFQ with a count
/// of proposals (never prices or names before closing), with `rfq:read`;
/// an invited supplier sees the RFQ's request and its own invitation
/// (never the other suppliers), which marks the invitation viewed.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer's, or an invited supplier's, organization id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    responses(
        (status = 200, description = "The buyer's view (ETag = version), or the supplier's (`invitation` set)", body = Envelope<RfqForOrg>),
        (status = 403, description = "Without rfq:read", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ for this org: neither its buyer nor an invited supplier", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn get_rfq(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<RfqForOrg>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqRead).await?;
    let (pk, sk) = rfq_key(&org_id, &rfq_id);
    if let Some(record) = state.store.get::<RfqRecord>(&pk, &sk).await? {
        let version = record.version;
        return Ok(ApiResponse::ok(RfqForOrg::Buyer(Box::new(record.into())))
            .header(header::ETAG, etag(version)));
    }
    let view = supplier::invited_view(&state, &org_id, &rfq_id).await?;
    Ok(ApiResponse::ok(RfqForOrg::Supplier(Box::new(view))))
}

/// An RFQ as its buyer, or as an invited supplier, sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum RfqForOrg {
    Buyer(Box<RfqView>),
    Supplier(Box<supplier::InvitedRfqView>),
}

/// Edits a draft; published RFQs change only through amendments. With
/// `If-Match`, only while the draft is at that ETag (else 412). Needs
/// `rfq:create`.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag from GET", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    request_body = UpdateRfqRequest,
    responses(
        (status = 200, description = "The draft with its new ETag", body = Envelope<RfqView>),
        (status = 403, description = "Without rfq:create", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ of this org", body = ErrorEnvelope),
        (status = 409, description = "The RFQ is no longer a draft, or changed meanwhile", body = ErrorEnvelope),
        (status = 412, description = "The draft changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn update_rfq(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdateRfqRequest>,
) -> ApiResult<ApiResponse<RfqView>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqCreate).await?;
    let expected = if_match(&headers)?;
    let current = load(&state.store, &org_id, &rfq_id).await?;
    check_if_match(expected, current.version)?;
    if current.status != RfqStatus::Draft {
        return Err(ApiError::conflict(
            "only a draft can be edited; this request for quotation is published",
        ));
    }
    let mut draft = Draft::of(&current.content);
    draft.apply(request);
    let mut next = current.clone();
    next.content = draft.check()?;
    check_delivery_address(&state.store, &org_id, &next.content.delivery).await?;
    (next.closes_at_epoch, next.award_by_epoch) = next.content.epochs();
    next.version = current.version + 1;
    next.updated_at = now_rfc3339();
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &caller.actor(),
        AuditAction::RfqUpdated,
    )
    .target(format!("rfq:{}", next.id));
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put_if_version(&next, current.version)?,
    )
    .named("rfq");
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("rfq") => {
            return Err(match expected {
                Some(_) => stale(),
                None => {
                    ApiError::conflict("the request for quotation changed meanwhile; try again")
                }
            });
        }
        Err(err) => return Err(err.into()),
    }
    Ok(with_etag(next))
}

/// 412 when the client's `If-Match` names another version than `current`.
pub(crate) fn check_if_match(expected: Option<u64>, current: u64) -> ApiResult<()> {
    match expected {
        Some(v) if v != current => Err(stale()),
        _ => Ok(()),
    }
}

fn stale() -> ApiError {
    ApiError::precondition_failed(
        "the request for quotation changed since that ETag; fetch it again",
    )
}
