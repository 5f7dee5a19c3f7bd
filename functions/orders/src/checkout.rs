//! `POST /v1/checkout`: the cart becomes an order in one transaction.
//!
//! Prices come from the products as they are now (their tier for the
//! quantity), never from the client. One TransactWriteItems writes the
//! order, one fulfilment per seller, reserves every line's stock on the
//! condition that enough is available, deletes the cart (only if it is the
//! cart that was priced) and claims the Idempotency-Key with its result.
//! Any failed condition cancels it all: a 409 names the products short of
//! stock, and nothing is written. Then the payment starts (a Stripe
//! PaymentIntent the browser confirms, or an invoice).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::contracts::product::ProductForSale;
use shared::domain::{CountryCode, Currency, Money, new_id, now_epoch, now_rfc3339};
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, FieldErrors, FieldErrorsExt,
};
use shared::idempotency::{self, IdempotencyKey};
use shared::payments::{PaymentError, PaymentProvider, PaymentRequest, PaymentStatus};
use shared::stock;
use shared::store::{Store, StoreError, Transaction, n};
use utoipa::ToSchema;

use crate::OrdersState;
use crate::buyer::{BuyerParams, Purchaser};
use crate::cart::{self, CartRecord};
use crate::lifecycle::{self, Canceller, Loaded, Outcome, Plan};
use crate::model::{
    ALL_ORDERS_PARTITION, Address, Buyer, EXPIRING_PARTITION, FULFILMENT_TYPE, FulfilmentRecord,
    FulfilmentStatus, HistoryEntry, ORDER_SK, ORDER_TYPE, OrderLine, OrderRecord, OrderStatus,
    OrderView, Payment, PaymentMethod, PaymentState, Totals, buyer_partition, expiring_sk,
    fulfilment_sk, order_pk, seller_partition, status_partition,
};
use crate::pricing::{self, PricedLine};
use crate::webhook;

/// An unpaid card order is cancelled this long after checkout.
pub const PAYMENT_WINDOW_SECS: i64 = 30 * 60;
/// DynamoDB's limit on one TransactWriteItems.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// Items a checkout writes besides its lines and fulfilments: the order,
/// the cart, the idempotency key and (card orders) the buyer's unpaid-order
/// count.
const FIXED_ITEMS: usize = 4;
const NET_TERMS_DAYS: &[i64] = &[14, 30, 60];
const MAX_NOTE_CHARS: usize = 1000;
const MAX_ATTEMPTS: u32 = 10;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressInput {
    #[schema(example = "Erika Mustermann")]
    pub name: Option<String>,
    pub company: Option<String>,
    #[schema(example = "Hauptstraße 5")]
    pub line1: Option<String>,
    pub line2: Option<String>,
    #[schema(example = "10115")]
    pub postal_code: Option<String>,
    #[schema(example = "Berlin")]
    pub city: Option<String>,
    pub region: Option<String>,
    #[schema(example = "DE")]
    pub country: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutRequest {
    pub shipping_address: Option<AddressInput>,
    /// Defaults to the shipping address.
    pub billing_address: Option<AddressInput>,
    #[schema(example = "Please deliver to the loading dock")]
    pub note: Option<String>,
    /// `card` (Stripe) or `invoice` (verified buyer organizations only).
    #[schema(example = "card")]
    pub payment_method: Option<String>,
    /// Invoice only: 14, 30 (default) or 60 days.
    #[schema(example = 30)]
    pub net_terms_days: Option<i64>,
    /// The grand total (minor units) the buyer was shown. If sent and the
    /// prices changed since, the checkout is refused (409 with the new
    /// totals) instead of charging more than the buyer agreed to.
    #[schema(example = 3094)]
    pub expected_total: Option<i64>,
}

fn text(
    fields: &mut FieldErrors,
    name: &str,
    raw: Option<&str>,
    max: usize,
    required: bool,
) -> Option<String> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None if required => {
            fields.add(name, "is required");
            None
        }
        None => None,
        Some(value) => match shared::domain::plain_text(value, max) {
            Ok(value) => Some(value),
            Err(message) => {
                fields.add(name, message);
                None
            }
        },
    }
}

fn address(fields: &mut FieldErrors, prefix: &str, input: &AddressInput) -> Option<Address> {
    let before = fields.len();
    let field = |name: &str| format!("{prefix}.{name}");
    let name = text(fields, &field("name"), input.name.as_deref(), 100, true);
    let company = text(
        fields,
        &field("company"),
        input.company.as_deref(),
        100,
        false,
    );
    let line1 = text(fields, &field("line1"), input.line1.as_deref(), 200, true);
    let line2 = text(fields, &field("line2"), input.line2.as_deref(), 200, false);
    let postal_code = text(
        fields,
        &field("postalCode"),
        input.postal_code.as_deref(),
        20,
        true,
    );
    if let Some(code) = &postal_code
        && !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        fields.add(
            &field("postalCode"),
            "may hold letters, digits, spaces and dashes only",
        );
    }
    let city = text(fields, &field("city"), input.city.as_deref(), 100, true);
    let region = text(
        fields,
        &field("region"),
        input.region.as_deref(),
        100,
        false,
    );
    let phone = text(fields, &field("phone"), input.phone.as_deref(), 30, false);
    if let Some(phone) = &phone
        && !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()/.".contains(c))
    {
        fields.add(
            &field("phone"),
            "may hold digits, spaces and + - ( ) / . only",
        );
    }
    let country = match input
        .country
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => {
            fields.add(&field("country"), "is required");
            None
        }
        Some(raw) => CountryCode::parse(raw)
            .map_err(|err| fields.add(&field("country"), err.to_string()))
            .ok(),
    };
    if fields.len() != before {
        return None;
    }
    Some(Address {
        name: name?,
        company,
        line1: line1?,
        line2,
        postal_code: postal_code?,
        city: city?,
        region,
        country: country?,
        phone,
    })
}

/// A checkout request that passed validation.
#[derive(Debug)]
struct Checkout {
    shipping: Address,
    billing: Address,
    note: Option<String>,
    method: PaymentMethod,
    net_terms_days: Option<i64>,
    expected_total: Option<i64>,
}

fn validate(request: &CheckoutRequest) -> ApiResult<Checkout> {
    let mut fields = FieldErrors::new();
    let shipping = match &request.shipping_address {
        Some(input) => address(&mut fields, "shippingAddress", input),
        None => {
            fields.add("shippingAddress", "is required");
            None
        }
    };
    let billing = request
        .billing_address
        .as_ref()
        .map(|input| address(&mut fields, "billingAddress", input));
    let note = text(
        &mut fields,
        "note",
        request.note.as_deref(),
        MAX_NOTE_CHARS,
        false,
    );
    let method = match request.payment_method.as_deref().map(str::trim) {
        None | Some("") => {
            fields.add("paymentMethod", "is required: card or invoice");
            None
        }
        Some(raw) => PaymentMethod::parse(raw).or_else(|| {
            fields.add("paymentMethod", "must be card or invoice");
            None
        }),
    };
    let net_terms_days = match (method, request.net_terms_days) {
        (Some(PaymentMethod::Invoice), None) => Some(30),
        (Some(PaymentMethod::Invoice), Some(days)) if NET_TERMS_DAYS.contains(&days) => Some(days),
        (Some(PaymentMethod::Invoice), Some(_)) => {
            fields.add("netTermsDays", "must be 14, 30 or 60");
            None
        }
        (_, Some(_)) => {
            fields.add("netTermsDays", "applies to invoice payments only");
            None
        }
        (_, None) => None,
    };
    match (shipping, billing, method) {
        (Some(shipping), billing, Some(method)) if fields.is_empty() => Ok(Checkout {
            billing: billing.flatten().unwrap_or_else(|| shipping.clone()),
            shipping,
            note,
            method,
            net_terms_days,
            expected_total: request.expected_total,
        }),
        _ => Err(ApiError::validation(
            "the checkout request has invalid fields",
            fields,
        )),
    }
}

/// Invoices are for organizations a platform admin verified.
async fn require_invoice_allowed(store: &Store, buyer: &Buyer) -> ApiResult<()> {
    let Some(org_id) = &buyer.org_id else {
        return Err(ApiError::invalid_field(
            "paymentMethod",
            "invoice payment is for organizations: check out with ?orgId=",
        ));
    };
    let org = store
        .get::<serde_json::Value>(&format!("ORG#{org_id}"), "PROFILE")
        .await?
        .ok_or_else(|| ApiError::not_found("no such organization"))?;
    if org["verification"]["businessVerified"] != json!(true) {
        return Err(ApiError::invalid_field(
            "paymentMethod",
            "invoice payment needs a verified organization; pay by card",
        ));
    }
    Ok(())
}

/// A product a line cannot be bought as, for the 409/422 details.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineProblem {
    pub product_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub requested: i64,
    pub available: i64,
    /// `insufficient_stock`, `not_for_sale`, `below_minimum` or `currency_mismatch`.
    pub problem: &'static str,
}

fn problem(
    product: Option<&ProductForSale>,
    product_id: &str,
    requested: i64,
    problem: &'static str,
) -> LineProblem {
    LineProblem {
        product_id: product_id.to_owned(),
        name: product.map(|p| p.name.clone()),
        requested,
        available: product.map_or(0, |p| p.stock_available.max(0)),
        problem,
    }
}

fn names(problems: &[LineProblem]) -> String {
    problems
        .iter()
        .map(|p| p.name.clone().unwrap_or_else(|| p.product_id.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lines priced from the products; 409/422 if any cannot be bought.
fn price_cart(
    cart: &CartRecord,
    products: &BTreeMap<String, ProductForSale>,
) -> ApiResult<(Currency, Vec<OrderLine>)> {
    let mut unavailable = Vec::new();
    let mut invalid = Vec::new();
    let mut lines = Vec::new();
    let currency = Currency::parse(&cart.currency).map_err(ApiError::internal)?;
    for line in &cart.lines {
        let product = products.get(&line.product_id);
        let Some(product) = product.filter(|p| p.is_listed()) else {
            unavailable.push(problem(
                product,
                &line.product_id,
                line.quantity,
                "not_for_sale",
            ));
            continue;
        };
        if product.price.currency != currency {
            invalid.push(problem(
                Some(product),
                &product.id,
                line.quantity,
                "currency_mismatch",
            ));
            continue;
        }
        if line.quantity < product.minimum_order_quantity {
            invalid.push(problem(
                Some(product),
                &product.id,
                line.quantity,
                "below_minimum",
            ));
            continue;
        }
        if product.stock_available < line.quantity {
            unavailable.push(problem(
                Some(product),
                &product.id,
                line.quantity,
                "insufficient_stock",
            ));
            continue;
        }
        let unit_price =
            pricing::unit_price(product.price.amount, &product.price_tiers, line.quantity);
        let line_total = pricing::line_total(unit_price, line.quantity)
            .map_err(|err| ApiError::invalid_field("cart", err.to_string()))?;
        lines.push(OrderLine {
            product_id: product.id.clone(),
            seller_org_id: product.seller_org_id.clone(),
            sku: product.sku.clone(),
            name: product.name.clone(),
            quantity: line.quantity,
            unit_price,
            line_total,
        });
    }
    if !invalid.is_empty() {
        let message = format!(
            "some lines cannot be ordered as they are: {}",
            names(&invalid)
        );
        return Err(ApiError::validation(message, FieldErrors::new())
            .with_details(json!({ "lines": invalid })));
    }
    if !unavailable.is_empty() {
        return Err(short_of_stock(unavailable));
    }
    Ok((currency, lines))
}

fn short_of_stock(problems: Vec<LineProblem>) -> ApiError {
    shared::metrics::count("CheckoutsShortOfStock", 1);
    ApiError::conflict(format!(
        "not enough stock, or no longer for sale: {}",
        names(&problems)
    ))
    .with_details(json!({ "lines": problems }))
}

struct Draft {
    order: OrderRecord,
    fulfilments: Vec<FulfilmentRecord>,
}

fn draft(
    buyer: &Buyer,
    checkout: &Checkout,
    currency: Currency,
    lines: Vec<OrderLine>,
) -> ApiResult<Draft> {
    let priced: Vec<PricedLine> = lines
        .iter()
        .map(|l| PricedLine {
            seller_org_id: l.seller_org_id.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            line_total: l.line_total,
        })
        .collect();
    let quote = pricing::quote(currency, checkout.shipping.country.as_str(), &priced)
        .map_err(|err| ApiError::invalid_field("cart", err.to_string()))?;
    let id = new_id();
    let now = now_rfc3339();
    let pk = order_pk(&id);
    let expires_at =
        (checkout.method == PaymentMethod::Card).then(|| now_epoch() + PAYMENT_WINDOW_SECS);
    let due_date = checkout.net_terms_days.map(|days| {
        let due = time::OffsetDateTime::now_utc() + time::Duration::days(days);
        due.date().to_string()
    });
    let entry = HistoryEntry::new(
        OrderStatus::PendingPayment.as_str(),
        &now,
        &buyer.placed_by,
        None,
    );
    let fulfilments = quote
        .sellers
        .iter()
        .map(|(seller, (subtotal, shipping))| FulfilmentRecord {
            pk: pk.clone(),
            sk: fulfilment_sk(seller),
            item_type: FULFILMENT_TYPE.to_owned(),
            gsi1pk: seller_partition(seller),
            gsi1sk: id.clone(),
            order_id: id.clone(),
            seller_org_id: seller.clone(),
            status: FulfilmentStatus::PendingPayment,
            lines: lines
                .iter()
                .filter(|l| &l.seller_org_id == seller)
                .cloned()
                .collect(),
            currency: currency.as_str().to_owned(),
            subtotal: *subtotal,
            shipping: *shipping,
            shipping_address: checkout.shipping.clone(),
            carrier: None,
            tracking_number: None,
            history: vec![entry.clone()],
            created_at: now.clone(),
            updated_at: now.clone(),
            version: 1,
        })
        .collect::<Vec<_>>();
    let order = OrderRecord {
        pk: pk.clone(),
        sk: ORDER_SK.to_owned(),
        item_type: ORDER_TYPE.to_owned(),
        gsi1pk: buyer_partition(&buyer.key()),
        gsi1sk: id.clone(),
        gsi2pk: status_partition(OrderStatus::PendingPayment),
        gsi2sk: id.clone(),
        gsi3pk: ALL_ORDERS_PARTITION.to_owned(),
        gsi3sk: id.clone(),
        gsi4pk: expires_at.map(|_| EXPIRING_PARTITION.to_owned()),
        gsi4sk: expires_at.map(|at| expiring_sk(at, &id)),
        id: id.clone(),
        buyer: buyer.clone(),
        status: OrderStatus::PendingPayment,
        totals: Totals {
            currency: currency.as_str().to_owned(),
            subtotal: quote.subtotal,
            shipping: quote.shipping,
            tax_rate_basis_points: quote.tax_rate,
            tax: quote.tax,
            total: quote.total,
        },
        lines,
        shipping_address: checkout.shipping.clone(),
        billing_address: checkout.billing.clone(),
        note: checkout.note.clone(),
        payment: Payment {
            method: checkout.method,
            provider: match checkout.method {
                PaymentMethod::Card => "stripe".into(),
                PaymentMethod::Invoice => "invoice".into(),
            },
            state: PaymentState::Pending,
            reference: None,
            client_secret: None,
            net_terms_days: checkout.net_terms_days,
            due_date,
            paid_at: None,
            last_error: None,
            refund: None,
        },
        seller_org_ids: fulfilments
            .iter()
            .map(|f| f.seller_org_id.clone())
            .collect(),
        fulfilment_count: fulfilments.len() as i64,
        shipped_count: 0,
        delivered_count: 0,
        history: vec![entry],
        expires_at,
        created_at: now.clone(),
        updated_at: now,
        version: 1,
    };
    Ok(Draft { order, fulfilments })
}

/// What the Idempotency-Key stores: the order it created.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    order_id: String,
}

enum Placed {
    New(Box<Loaded>),
    /// The key was used before (by this request's twin).
    Replay,
}

/// Writes the draft in one transaction; again on a transient conflict.
async fn place(
    store: &Store,
    draft: Draft,
    cart: &CartRecord,
    claim: (&str, &str, &str),
) -> ApiResult<Placed> {
    let (scope, key, fingerprint) = claim;
    let result = serde_json::to_value(Created {
        order_id: draft.order.id.clone(),
    })
    .map_err(ApiError::internal)?;
    let mut tx = Transaction::new();
    tx.push(idempotency::claim_item(
        store,
        scope,
        key,
        fingerprint,
        &result,
    )?)
    .named("idempotency-key");
    tx.push(store.transact_put(&draft.order, Some("attribute_not_exists(PK)"))?);
    let (cart_pk, cart_sk) = (cart.pk.as_str(), cart.sk.as_str());
    tx.push(store.transact_delete(
        cart_pk,
        cart_sk,
        Some("version = :v"),
        &[(":v", n(cart.version as i64))],
    )?)
    .named("cart");
    for fulfilment in &draft.fulfilments {
        tx.push(store.transact_put(fulfilment, Some("attribute_not_exists(PK)"))?);
    }
    if draft.order.payment.method == PaymentMethod::Card {
        tx.push(lifecycle::open_unpaid_item(
            store,
            &draft.order.buyer.key(),
        )?)
        .named("unpaid-orders");
    }
    for line in &draft.order.lines {
        tx.push(stock::reserve_item(store, &line.product_id, line.quantity)?)
            .named(format!("stock:{}", line.product_id));
    }
    for attempt in 0..MAX_ATTEMPTS {
        match store.transact(tx.clone()).await {
            Ok(()) => {
                return Ok(Placed::New(Box::new(Loaded {
                    order: draft.order,
                    fulfilments: draft.fulfilments,
                })));
            }
            Err(err @ StoreError::TransactionCanceled(_)) => {
                if err.condition_failed("idempotency-key") {
                    return Ok(Placed::Replay);
                }
                if err.condition_failed("cart") {
                    return Err(ApiError::conflict(
                        "the cart changed during checkout; review it and check out again",
                    ));
                }
                if err.condition_failed("unpaid-orders") {
                    return Err(ApiError::conflict(format!(
                        "you have {} unpaid card orders; pay or cancel one before placing another",
                        lifecycle::MAX_UNPAID_CARD_ORDERS
                    )));
                }
                let short: Vec<&OrderLine> = draft
                    .order
                    .lines
                    .iter()
                    .filter(|line| err.condition_failed(&format!("stock:{}", line.product_id)))
                    .collect();
                if !short.is_empty() {
                    return Err(stock_conflict(store, &short).await);
                }
                // No condition failed: a conflicting transaction; try again.
                lifecycle::backoff(attempt).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::conflict(
        "checkout is very busy right now; please retry with the same Idempotency-Key",
    ))
}

/// 409 naming the lines the stock no longer covers, with what is left now.
async fn stock_conflict(store: &Store, short: &[&OrderLine]) -> ApiError {
    let now = cart::load_products(store, short.iter().map(|l| l.product_id.as_str()))
        .await
        .unwrap_or_default();
    let problems = short
        .iter()
        .map(|line| {
            let product = now.get(&line.product_id);
            let mut p = problem(
                product,
                &line.product_id,
                line.quantity,
                "insufficient_stock",
            );
            if p.name.is_none() {
                p.name = Some(line.name.clone());
            }
            if product.is_some_and(|p| !p.is_listed()) {
                p.problem = "not_for_sale";
            }
            p
        })
        .collect();
    short_of_stock(problems)
}

/// Starts the order's payment with its provider unless it has started:
/// Stripe's idempotency key (the order id) makes a repeat harmless.
pub async fn ensure_payment(state: &OrdersState, loaded: Loaded) -> ApiResult<Loaded> {
    let order = &loaded.order;
    if order.payment.reference.is_some() || order.status != OrderStatus::PendingPayment {
        return Ok(loaded);
    }
    let amount =
        Money::parse(order.totals.total, &order.totals.currency).map_err(ApiError::internal)?;
    let request = PaymentRequest {
        order_id: order.id.clone(),
        amount,
        description: format!("Bodega order {}", order.id),
    };
    let started = match order.payment.method {
        PaymentMethod::Card => match &state.payments.stripe {
            Some(stripe) => stripe.start(&request).await,
            None => Err(PaymentError::NotConfigured),
        },
        PaymentMethod::Invoice => state.payments.invoice.start(&request).await,
    };
    let started = match started {
        Ok(started) => started,
        Err(PaymentError::Rejected(message)) => {
            // The provider will not take this payment: give the stock back.
            let reason = format!("the payment could not be started: {message}");
            lifecycle::transition(&state.store, &order.id, |l| {
                lifecycle::plan_cancel(
                    &state.store,
                    l,
                    Canceller::Admin,
                    "system",
                    Some(reason.clone()),
                )
            })
            .await?;
            return Err(
                ApiError::payment_failed(reason).with_details(json!({ "orderId": order.id }))
            );
        }
        Err(err) => {
            tracing::warn!(order_id = %order.id, error = %err, "the payment could not be started");
            return Err(ApiError::unavailable(anyhow::anyhow!(err)).with_details(json!({
                "orderId": order.id,
                "retry": "the order is placed and its stock held; send the same request with the same Idempotency-Key to start the payment",
            })));
        }
    };
    let outcome = lifecycle::transition(&state.store, &order.id, |l| {
        if l.order.payment.reference.is_some() {
            return Ok(None);
        }
        let link = webhook::payment_link(&state.store, &started.reference, &l.order.id)?;
        let mut plan = if started.status == PaymentStatus::Succeeded {
            match lifecycle::plan_pay(&state.store, l, "stripe", Some(&started.reference))? {
                Some(plan) => plan,
                None => return Ok(None),
            }
        } else {
            let mut order = l.order.clone();
            order.payment.reference = Some(started.reference.clone());
            if started.status == PaymentStatus::Failed {
                order.payment.state = PaymentState::Failed;
            }
            Plan::of(order)
        };
        plan.order.payment.client_secret = started.client_secret.clone();
        plan.guards.push(link);
        Ok(Some(plan))
    })
    .await?;
    Ok(match outcome {
        Outcome::Applied(after) | Outcome::Unchanged(after) => after,
        Outcome::Duplicate => loaded,
    })
}

/// Places the order for the cart. Send an `Idempotency-Key`: a retry with
/// the same key and body returns the first order (200,
/// `Idempotent-Replayed: true`), never a second one; the same key with
/// another body is a 422. Keys are kept 24 hours.
#[utoipa::path(
    post,
    path = "/v1/checkout",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        BuyerParams,
        ("Idempotency-Key" = String, Header, description = "Required: 1 to 255 visible ASCII characters, unique per checkout attempt", min_length = 1, max_length = 255, pattern = r"^[\x21-\x7e]+$"),
    ),
    request_body = CheckoutRequest,
    responses(
        (status = 201, description = "The order, pending payment; for card payments `payment.clientSecret` is for Stripe.js", body = Envelope<OrderView>),
        (status = 200, description = "A replay: the order this Idempotency-Key placed", body = Envelope<OrderView>),
        (status = 400, description = "No Idempotency-Key, or the body is not JSON", body = ErrorEnvelope),
        (status = 403, description = "No order:create permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization (or not the caller's)", body = ErrorEnvelope),
        (status = 409, description = "Products short of stock or no longer for sale (details.lines names them), the total differs from expectedTotal (details.totals), the cart changed meanwhile, or too many unpaid card orders; nothing was written", body = ErrorEnvelope),
        (status = 402, description = "The payment provider refused the payment; the order was cancelled and its stock released", body = ErrorEnvelope),
        (status = 422, description = "Invalid addresses or payment method, an empty cart, a cart too large for one checkout, invoice without a verified organization, or the Idempotency-Key was used for another request", body = ErrorEnvelope),
        (status = 503, description = "A dependency is unavailable; retry with the same Idempotency-Key", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(order_id))]
pub async fn checkout(
    State(state): State<OrdersState>,
    Purchaser(buyer): Purchaser,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<CheckoutRequest>,
) -> ApiResult<ApiResponse<serde_json::Value>> {
    let store = &state.store;
    let key = key.ok_or_else(|| {
        ApiError::bad_request(
            "send an Idempotency-Key header: a retry with the same key never orders twice",
        )
    })?;
    let checkout = validate(&request)?;
    if checkout.method == PaymentMethod::Card {
        // Without a card provider the order could never be paid: refuse it
        // before any stock is held.
        state.payments.card()?;
    }
    let scope = format!("checkout:{}", buyer.key());
    let fingerprint = serde_json::to_string(&request).map_err(ApiError::internal)?;
    if let Some(stored) = idempotency::lookup(store, &scope, &key, &fingerprint).await? {
        return replay(&state, stored).await;
    }
    match place_fresh(&state, &buyer, &checkout, (&scope, &key, &fingerprint)).await {
        Ok(Placed::New(loaded)) => {
            shared::metrics::count("OrdersPlaced", 1);
            let loaded = ensure_payment(&state, *loaded).await?;
            let data = serde_json::to_value(OrderView::for_buyer(loaded.order))
                .map_err(ApiError::internal)?;
            Ok(ApiResponse::ok(data).with_status(StatusCode::CREATED))
        }
        Ok(Placed::Replay) => {
            let stored = idempotency::lookup(store, &scope, &key, &fingerprint)
                .await?
                .ok_or_else(|| ApiError::conflict("retry shortly"))?;
            replay(&state, stored).await
        }
        Err(err) => {
            // A twin request with this key may have just placed the order
            // (and emptied the cart, or taken the stock): answer with it.
            match idempotency::lookup(store, &scope, &key, &fingerprint).await {
                Ok(Some(stored)) => replay(&state, stored).await,
                _ => Err(err),
            }
        }
    }
}

/// Prices the cart and places the order, or says why not.
async fn place_fresh(
    state: &OrdersState,
    buyer: &Buyer,
    checkout: &Checkout,
    claim: (&str, &str, &str),
) -> ApiResult<Placed> {
    let store = &state.store;
    if checkout.method == PaymentMethod::Invoice {
        require_invoice_allowed(store, buyer).await?;
    }
    let cart = cart::load_cart(store, buyer)
        .await?
        .filter(|c| !c.lines.is_empty())
        .ok_or_else(|| ApiError::invalid_field("cart", "the cart is empty"))?;
    let products: BTreeMap<String, ProductForSale> =
        cart::load_products(store, cart.lines.iter().map(|l| l.product_id.as_str()))
            .await?
            .into_iter()
            .collect();
    let (currency, lines) = price_cart(&cart, &products)?;
    let draft = draft(buyer, checkout, currency, lines)?;
    if let Some(expected) = checkout.expected_total
        && expected != draft.order.totals.total
    {
        return Err(ApiError::conflict(format!(
            "the total is now {} (minor units), not {expected}: prices changed; review the cart",
            draft.order.totals.total
        ))
        .with_details(json!({ "totals": draft.order.totals })));
    }
    let fixed = FIXED_ITEMS - usize::from(draft.order.payment.method != PaymentMethod::Card);
    let items = fixed + draft.order.lines.len() + draft.fulfilments.len();
    if items > MAX_TRANSACTION_ITEMS {
        return Err(ApiError::invalid_field(
            "cart",
            format!(
                "this cart needs {items} writes in one checkout, more than the {MAX_TRANSACTION_ITEMS} allowed \
                 ({fixed} + one per product + one per seller); split it into smaller orders"
            ),
        ));
    }
    tracing::Span::current().record("order_id", draft.order.id.as_str());
    place(store, draft, &cart, claim).await
}

async fn replay(
    state: &OrdersState,
    stored: serde_json::Value,
) -> ApiResult<ApiResponse<serde_json::Value>> {
    let created: Created = serde_json::from_value(stored).map_err(ApiError::internal)?;
    let loaded = lifecycle::load(&state.store, &created.order_id)
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("an idempotency key names a missing order"))
        })?;
    let loaded = ensure_payment(state, loaded).await?;
    let data =
        serde_json::to_value(OrderView::for_buyer(loaded.order)).map_err(ApiError::internal)?;
    Ok(idempotency::replayed(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good_address() -> AddressInput {
        AddressInput {
            name: Some("Erika Mustermann".into()),
            company: None,
            line1: Some("Hauptstraße 5".into()),
            line2: None,
            postal_code: Some("10115".into()),
            city: Some("Berlin".into()),
            region: None,
            country: Some("de".into()),
            phone: Some("+49 30 123".into()),
        }
    }

    fn request(method: &str) -> CheckoutRequest {
        CheckoutRequest {
            shipping_address: Some(good_address()),
            billing_address: None,
            note: None,
            payment_method: Some(method.into()),
            net_terms_days: None,
            expected_total: None,
        }
    }

    #[test]
    fn billing_defaults_to_shipping_and_invoice_to_thirty_days() {
        let checkout = validate(&request("invoice")).unwrap();
        assert_eq!(checkout.billing, checkout.shipping);
        assert_eq!(checkout.shipping.country.as_str(), "DE");
        assert_eq!(checkout.net_terms_days, Some(30));
        assert_eq!(validate(&request("card")).unwrap().net_terms_days, None);
    }

    #[test]
    fn every_bad_field_is_named_with_its_path() {
        let mut bad = request("cash");
        bad.shipping_address = Some(AddressInput {
            name: Some(" ".into()),
            postal_code: Some("10115<script>".into()),
            country: Some("XX".into()),
            phone: Some("call me".into()),
            ..good_address()
        });
        bad.net_terms_days = Some(45);
        let err = validate(&bad).unwrap_err();
        let fields = err.fields();
        for name in [
            "shippingAddress.name",
            "shippingAddress.postalCode",
            "shippingAddress.country",
            "shippingAddress.phone",
            "paymentMethod",
        ] {
            assert!(fields.contains_key(name), "{name} missing from {fields:?}");
        }
        let mut card_terms = request("card");
        card_terms.net_terms_days = Some(30);
        assert!(
            validate(&card_terms)
                .unwrap_err()
                .fields()
                .contains_key("netTermsDays")
        );
        let mut no_address = request("card");
        no_address.shipping_address = None;
        assert!(
            validate(&no_address)
                .unwrap_err()
                .fields()
                .contains_key("shippingAddress")
        );
    }
}
