//! Printful's API v2 (`https://api.printful.com/v2`): private token as a
//! bearer, JSON bodies, answers wrapped in `{"data": ...}`, errors as
//! RFC 9457 problem details, 429 with `Retry-After`.
//!
//! Calls: `POST /v2/orders` (draft), `GET /v2/orders/{id}`,
//! `POST /v2/orders/{id}/confirmation`, `DELETE /v2/orders/{id}` (cancel),
//! `GET /v2/orders/{id}/shipments`; `{id}` is Printful's id or
//! `@<external_id>`.

use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    CostStatus, DraftOrder, PartnerCosts, PartnerError, PartnerOrder, PartnerOrderRef,
    PartnerOrderStatus, PrintPartner, Shipment, minor_units,
};

/// Printful's API, for deployments.
pub const DEFAULT_API_BASE: &str = "https://api.printful.com";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
/// When a 429 names no wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The real Printful client; base URL and token are configuration.
#[derive(Clone)]
pub struct PrintfulClient {
    client: reqwest::Client,
    api_base: String,
    token: String,
    store_id: Option<String>,
}

impl std::fmt::Debug for PrintfulClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintfulClient")
            .field("api_base", &self.api_base)
            .field("store_id", &self.store_id)
            .finish_non_exhaustive()
    }
}

impl PrintfulClient {
    /// `api_base` without `/v2` (e.g. [`DEFAULT_API_BASE`]); `store_id`
    /// for account-level tokens (sent as `X-PF-Store-Id`).
    pub fn new(api_base: &str, token: &str, store_id: Option<&str>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            client,
            api_base: api_base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            store_id: store_id.map(str::to_owned),
        })
    }

    fn path(order: &PartnerOrderRef) -> String {
        match order {
            PartnerOrderRef::Partner(id) => format!("/v2/orders/{id}"),
            PartnerOrderRef::External(id) => format!("/v2/orders/@{}", id.as_str()),
        }
    }

    #[tracing::instrument(skip(self, body), fields(partner = "printful"), err(level = "debug"))]
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, PartnerError> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.api_base))
            .bearer_auth(&self.token)
            .header(header::ACCEPT, "application/json");
        if let Some(store) = &self.store_id {
            request = request.header("X-PF-Store-Id", store);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|err| transport(path, &err))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let text = response.text().await.map_err(|err| transport(path, &err))?;
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            let value: Value = serde_json::from_str(&text)
                .map_err(|err| PartnerError::BadAnswer(format!("{path}: {err}")))?;
            return Ok(value.get("data").cloned().unwrap_or(value));
        }
        Err(refusal(status, retry_after, &text))
    }

    async fn order_at(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<PartnerOrder, PartnerError> {
        let data = self.call(method, path, body).await?;
        read_order(data)
    }
}

fn transport(path: &str, err: &reqwest::Error) -> PartnerError {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let err = PartnerError::Unavailable(format!("the call to Printful {path} {what}"));
    tracing::warn!(error = %err, "Printful call failed");
    err
}

fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let raw = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    raw.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// RFC 9457 problem details, as Printful v2 sends errors.
#[derive(Deserialize, Default)]
struct Problem {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

fn refusal(status: StatusCode, retry_after: Option<Duration>, body: &str) -> PartnerError {
    let problem: Problem = serde_json::from_str(body).unwrap_or_default();
    let message = problem
        .detail
        .or(problem.title)
        .unwrap_or_else(|| format!("Printful answered {status}"));
    match status.as_u16() {
        404 => PartnerError::NotFound,
        429 => PartnerError::RateLimited {
            retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
        },
        code @ 400..=499 => PartnerError::Rejected {
            status: code,
            message,
        },
        _ => PartnerError::Unavailable(format!("Printful answered {status}: {message}")),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn amount(value: &Value) -> Option<i64> {
    text(value).as_deref().and_then(minor_units)
}

fn read_order(data: Value) -> Result<PartnerOrder, PartnerError> {
    let id =
        text(&data["id"]).ok_or_else(|| PartnerError::BadAnswer("an order has no id".into()))?;
    let status = data["status"]
        .as_str()
        .map(PartnerOrderStatus::parse)
        .ok_or_else(|| PartnerError::BadAnswer(format!("order {id} has no status")))?;
    let costs = &data["costs"];
    let cost_status = match costs["calculation_status"].as_str() {
        Some("done") => CostStatus::Done,
        Some("failed") => CostStatus::Failed,
        _ => CostStatus::Calculating,
    };
    Ok(PartnerOrder {
        id,
        external_id: text(&data["external_id"]),
        status,
        costs: PartnerCosts {
            status: cost_status,
            currency: text(&costs["currency"]),
            subtotal: amount(&costs["subtotal"]),
            shipping: amount(&costs["shipping"]),
            tax: amount(&costs["tax"]),
            total: amount(&costs["total"]),
        },
    })
}

fn read_shipment(value: &Value) -> Shipment {
    Shipment {
        id: text(&value["id"]).unwrap_or_default(),
        carrier: text(&value["carrier"]),
        tracking_number: text(&value["tracking_number"]),
        tracking_url: text(&value["tracking_url"]),
        status: text(&value["shipment_status"]),
        shipped_at: text(&value["shipped_at"]),
    }
}

pub(super) fn shipment_of(value: &Value) -> Shipment {
    read_shipment(value)
}

fn draft_body(order: &DraftOrder) -> Value {
    let items: Vec<Value> = order
        .items
        .iter()
        .map(|item| {
            json!({
                "source": "catalog",
                "catalog_variant_id": item.catalog_variant_id,
                "quantity": item.quantity,
                "placements": [{
                    "placement": item.placement,
                    "technique": item.technique,
                    "layers": [{"type": "file", "url": item.image_url}],
                }],
            })
        })
        .collect();
    json!({
        "external_id": order.external_id.as_str(),
        "shipping": order.shipping,
        "recipient": order.recipient,
        "order_items": items,
    })
}

impl PrintPartner for PrintfulClient {
    fn name(&self) -> &'static str {
        "printful"
    }

    async fn create_draft(&self, order: &DraftOrder) -> Result<PartnerOrder, PartnerError> {
        let created = self
            .order_at(Method::POST, "/v2/orders", Some(&draft_body(order)))
            .await;
        match created {
            // A retry of a create whose answer was lost: the external id is
            // taken, by our own order.
            Err(PartnerError::Rejected { status, message }) if status == 400 || status == 409 => {
                let existing = PartnerOrderRef::External(order.external_id.clone());
                match self.order(&existing).await {
                    Ok(found) => Ok(found),
                    Err(_) => Err(PartnerError::Rejected { status, message }),
                }
            }
            other => other,
        }
    }

    async fn order(&self, order: &PartnerOrderRef) -> Result<PartnerOrder, PartnerError> {
        self.order_at(Method::GET, &Self::path(order), None).await
    }

    async fn confirm(&self, order: &PartnerOrderRef) -> Result<PartnerOrder, PartnerError> {
        let path = format!("{}/confirmation", Self::path(order));
        self.order_at(Method::POST, &path, None).await
    }

    async fn cancel(&self, order: &PartnerOrderRef) -> Result<PartnerOrder, PartnerError> {
        self.order_at(Method::DELETE, &Self::path(order), None)
            .await
    }

    async fn shipments(&self, order: &PartnerOrderRef) -> Result<Vec<Shipment>, PartnerError> {
        let path = format!("{}/shipments", Self::path(order));
        let data = self.call(Method::GET, &path, None).await?;
        let list = data
            .as_array()
            .ok_or_else(|| PartnerError::BadAnswer(format!("{path}: not a list")))?;
        Ok(list.iter().map(read_shipment).collect())
    }
}
