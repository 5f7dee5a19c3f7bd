//! `make bench` (API): latency of catalog reads and of checkouts (1, 10 and
//! 50 lines) through the router against DynamoDB Local, with the DynamoDB
//! calls and consumed capacity (read and write units) each request costs,
//! beside a bare GetItem measured in the same run. Write units are printed
//! twice: as DynamoDB Local reports them, and as DynamoDB's pricing counts
//! them (`devserver::write_units`), which the cost table prices.
//!
//! Needs the local stack's environment (infra/bench.sh starts one). Figures
//! are printed, never asserted: they depend on the machine. (One check is
//! made: the meter must price a plain transaction as the pricing does.)
//!
//! Then the mail figures (`support/mail.rs`): render time of an MJML template
//! with 20 variables, and a bulk send's throughput through the queue and
//! the worker.
//!
//! Then the studio figures (`support/studio.rs`): the offline generator's
//! time for one print-size design, and gallery pages beside a bare Query.
//!
//! Then a warm process (`support/warm.rs`): the catalog function's router
//! driven with 100,000 mixed requests, its resident memory, open files and
//! sockets printed at the start and after each tenth.
//!
//! Last, the cost table (`devserver::cost`): for each operation measured
//! through a route, its DynamoDB read and (priced) write request units, Lambda's
//! billed duration (the p50 rounded up to the ms) at the memory template.yaml
//! gives the function serving it, and the dollars per million requests of
//! DynamoDB on-demand, Lambda (arm64 GB-seconds and requests) and the HTTP
//! API, at the list prices in `devserver::cost::PRICES`.
//!
//! `--quick` (what `make test` runs, with the dev profile) seeds and measures
//! a handful of each, so the benchmark cannot rot; its figures mean nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use axum::Router;
use axum::http::{Method, StatusCode};
use devserver::write_units::{Ledger, Pending};
use serde_json::{Value, json};
use shared::contracts::product::ProductForIndex;
use shared::projections::search_index;
use shared::store::Store;

#[path = "support/mail.rs"]
mod mail_bench;
#[path = "support/studio.rs"]
mod studio_bench;
#[path = "support/warm.rs"]
mod warm_bench;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const CHECKOUT_LINES: &[usize] = &[1, 10, 50];
const SEARCH_PATH: &str = "/v1/search?q=organic%20tomato&limit=20";

/// How much to seed and how often to measure.
#[derive(Debug, Clone, Copy)]
struct Plan {
    products: usize,
    warmup: usize,
    runs: usize,
    /// Checkouts are slower to set up (a cart per run): fewer runs.
    checkout_warmup: usize,
    checkout_runs: usize,
    /// Bulk sends, and recipients per send (150 keeps a request under 256 KB).
    bulk_sends: usize,
    bulk_per_send: usize,
    /// Requests through one warm function's router.
    warm_requests: usize,
}

impl Plan {
    const FULL: Plan = Plan {
        products: 300,
        warmup: 20,
        runs: 200,
        checkout_warmup: 3,
        checkout_runs: 30,
        bulk_sends: 4,
        bulk_per_send: 150,
        warm_requests: 100_000,
    };
    const QUICK: Plan = Plan {
        products: 25,
        warmup: 1,
        runs: 3,
        checkout_warmup: 0,
        checkout_runs: 1,
        bulk_sends: 1,
        bulk_per_send: 5,
        warm_requests: 200,
    };

    /// `cargo bench` passes `--bench`; `--quick` picks the quick plan;
    /// `--warm-requests N` (after it) sets the warm-process run's length,
    /// e.g. the full 100,000 with the quick plan's other parts.
    fn from_args() -> anyhow::Result<Plan> {
        let mut plan = Plan::FULL;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => plan = Plan::QUICK,
                "--warm-requests" => {
                    plan.warm_requests = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| *n >= 10)
                        .context("--warm-requests needs a number of requests (10 or more)")?;
                }
                "--bench" => {}
                other => anyhow::bail!("unknown argument {other:?} (--quick, --warm-requests N)"),
            }
        }
        Ok(plan)
    }
}

/// Counts DynamoDB calls and sums the capacity they consumed (read units
/// of GetItem, Query and BatchGetItem; write units of PutItem, UpdateItem,
/// DeleteItem and TransactWriteItems), asking every call for it. Beside
/// DynamoDB Local's write units it sums them as DynamoDB's pricing counts
/// them (`devserver::write_units`): the same for a single-item write, each
/// item on its own for a transaction.
#[derive(Debug, Clone)]
struct Meter {
    calls: Arc<AtomicU64>,
    /// Read capacity units × 1000, summed.
    milli_reads: Arc<AtomicU64>,
    /// Write capacity units × 1000 as DynamoDB Local reports them, summed.
    milli_writes: Arc<AtomicU64>,
    /// Write capacity units × 1000 as DynamoDB's pricing counts them.
    milli_priced: Arc<AtomicU64>,
    /// The items' last images, to price updates and deletes.
    ledger: Arc<Ledger>,
}

/// A transaction's priced units, from the hook that sees its request to
/// the one that sees whether it succeeded.
#[derive(Debug, Clone)]
struct PricedTransaction(Pending);

impl Storable for PricedTransaction {
    type Storer = StoreReplace<Self>;
}

/// What a measured request cost.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    calls: u64,
    reads: f64,
    /// Write units as DynamoDB Local reports them.
    writes: f64,
    /// Write units as DynamoDB's pricing counts them.
    priced_writes: f64,
}

impl Meter {
    fn new() -> Self {
        Self {
            calls: Arc::default(),
            milli_reads: Arc::default(),
            milli_writes: Arc::default(),
            milli_priced: Arc::default(),
            ledger: Arc::new(Ledger::for_table()),
        }
    }

    fn reset(&self) {
        self.calls.store(0, Ordering::SeqCst);
        self.milli_reads.store(0, Ordering::SeqCst);
        self.milli_writes.store(0, Ordering::SeqCst);
        self.milli_priced.store(0, Ordering::SeqCst);
    }

    fn read(&self) -> Cost {
        let units = |counter: &AtomicU64| counter.load(Ordering::SeqCst) as f64 / 1000.0;
        Cost {
            calls: self.calls.load(Ordering::SeqCst),
            reads: units(&self.milli_reads),
            writes: units(&self.milli_writes),
            priced_writes: units(&self.milli_priced),
        }
    }

    fn add(counter: &AtomicU64, capacity: Option<&ConsumedCapacity>) {
        let units = capacity.and_then(|c| c.capacity_units()).unwrap_or(0.0);
        counter.fetch_add((units * 1000.0).round() as u64, Ordering::SeqCst);
    }

    /// A single-item write: Local's units are the pricing's.
    fn add_write(&self, capacity: Option<&ConsumedCapacity>) {
        Self::add(&self.milli_writes, capacity);
        Self::add(&self.milli_priced, capacity);
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "bench-meter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let total = Some(ReturnConsumedCapacity::Total);
        let input = context.input_mut();
        if let Some(get) = input.downcast_mut::<GetItemInput>() {
            get.return_consumed_capacity = total;
        } else if let Some(query) = input.downcast_mut::<QueryInput>() {
            query.return_consumed_capacity = total;
        } else if let Some(batch) = input.downcast_mut::<BatchGetItemInput>() {
            batch.return_consumed_capacity = total;
        } else if let Some(put) = input.downcast_mut::<PutItemInput>() {
            put.return_consumed_capacity = total;
        } else if let Some(update) = input.downcast_mut::<UpdateItemInput>() {
            update.return_consumed_capacity = total;
        } else if let Some(delete) = input.downcast_mut::<DeleteItemInput>() {
            delete.return_consumed_capacity = total;
        } else if let Some(transaction) = input.downcast_mut::<TransactWriteItemsInput>() {
            transaction.return_consumed_capacity = total;
            let pending = self.ledger.price(transaction.transact_items());
            cfg.interceptor_state()
                .store_put(PricedTransaction(pending));
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let reads = &self.milli_reads;
        if let Some(Ok(output)) = context.output_or_error() {
            if let Some(get) = output.downcast_ref::<GetItemOutput>() {
                Self::add(reads, get.consumed_capacity());
                self.ledger.saw(get.item());
            } else if let Some(query) = output.downcast_ref::<QueryOutput>() {
                Self::add(reads, query.consumed_capacity());
                self.ledger.saw(query.items());
            } else if let Some(batch) = output.downcast_ref::<BatchGetItemOutput>() {
                for capacity in batch.consumed_capacity() {
                    Self::add(reads, Some(capacity));
                }
                self.ledger.saw(
                    batch
                        .responses()
                        .into_iter()
                        .flat_map(|r| r.values().flatten()),
                );
            } else if let Some(put) = output.downcast_ref::<PutItemOutput>() {
                self.add_write(put.consumed_capacity());
            } else if let Some(update) = output.downcast_ref::<UpdateItemOutput>() {
                self.add_write(update.consumed_capacity());
            } else if let Some(delete) = output.downcast_ref::<DeleteItemOutput>() {
                self.add_write(delete.consumed_capacity());
            } else if let Some(transaction) = output.downcast_ref::<TransactWriteItemsOutput>() {
                for capacity in transaction.consumed_capacity() {
                    Self::add(&self.milli_writes, Some(capacity));
                }
                if let Some(PricedTransaction(pending)) = cfg.load::<PricedTransaction>().cloned() {
                    self.milli_priced
                        .fetch_add(pending.units.total() * 1000, Ordering::SeqCst);
                    self.ledger.apply(pending);
                }
            }
        }
        Ok(())
    }
}

async fn call(
    app: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    call_with(app, method, path, token, body, &[]).await
}

async fn call_with(
    app: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let reply = devserver::client::Api::over(app.clone())
        .call(method, path, token, body.as_ref(), headers)
        .await
        .expect("the router answers");
    (reply.status, reply.body)
}

async fn expect(
    app: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    want: StatusCode,
) -> anyhow::Result<Value> {
    let (status, value) = call(app, method.clone(), path, token, body).await;
    anyhow::ensure!(status == want, "{method} {path}: {status} {value}");
    Ok(value["data"].clone())
}

async fn sign_in(app: &Router, email: &str) -> anyhow::Result<(String, String)> {
    let password = "benchmark passphrase";
    let body = json!({"email": email, "password": password, "name": "Bench"});
    let user = expect(
        app,
        Method::POST,
        "/v1/auth/register",
        None,
        Some(body),
        StatusCode::CREATED,
    )
    .await?;
    let body = json!({"email": email, "password": password});
    let session = expect(
        app,
        Method::POST,
        "/v1/auth/login",
        None,
        Some(body),
        StatusCode::OK,
    )
    .await?;
    Ok((
        session["accessToken"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        user["id"].as_str().unwrap_or_default().to_owned(),
    ))
}

const WORDS: &[&str] = &[
    "Tomato", "Pepper", "Basil", "Olive", "Lemon", "Garlic", "Onion", "Carrot", "Fennel", "Leek",
];
const KINDS: &[&str] = &["Fresh", "Organic", "Dried", "Smoked", "Pickled", "Roasted"];

/// Creates `products` with `POST /v1/products/bulk`, 25 at a time; their ids
/// in request order, or an error unless every one was created. A bulk
/// request creates its products concurrently, and on a loaded machine one
/// can lose a race on the category's condition (409) or run past its
/// deadline (503) alone: those, and only those, are sent again, as a client
/// would, up to `ATTEMPTS` times.
async fn bulk_create(
    app: &Router,
    seller: &str,
    products: &[Value],
) -> anyhow::Result<Vec<String>> {
    let mut ids: Vec<Option<String>> = vec![None; products.len()];
    for attempt in 1..=ATTEMPTS {
        let missing: Vec<usize> = (0..products.len()).filter(|&i| ids[i].is_none()).collect();
        if missing.is_empty() {
            break;
        }
        for chunk in missing.chunks(25) {
            let body: Vec<&Value> = chunk.iter().map(|&i| &products[i]).collect();
            let results = expect(
                app,
                Method::POST,
                "/v1/products/bulk",
                Some(seller),
                Some(json!({ "products": body })),
                StatusCode::OK,
            )
            .await?;
            for result in results["results"].as_array().into_iter().flatten() {
                let position = result["index"].as_u64().unwrap_or(u64::MAX) as usize;
                let Some(&index) = chunk.get(position) else {
                    continue;
                };
                if let Some(id) = result["product"]["id"].as_str() {
                    ids[index] = Some(id.to_owned());
                } else {
                    let status = result["status"].as_u64().unwrap_or(0);
                    anyhow::ensure!(
                        (status == 409 || status == 503) && attempt < ATTEMPTS,
                        "bulk create refused product {index}: {result}"
                    );
                }
            }
        }
    }
    let made = ids.iter().flatten().count();
    anyhow::ensure!(
        made == products.len(),
        "bulk create made {made} of {} products",
        products.len()
    );
    Ok(ids.into_iter().flatten().collect())
}

/// How many times the bench sends a product or a checkout a loaded local
/// stack answered 409 (a lost race) or 503 (past the deadline).
const ATTEMPTS: u32 = 3;

/// A checkout's write units per cart size as DynamoDB's pricing counts
/// them, beside the goals for them and what DynamoDB Local reports (the
/// figures from before the stock item and the single order write are in the
/// README, measured then; they are not printed as if measured now).
fn print_checkout_writes(figures: &[Figures]) {
    let checkouts: Vec<(usize, &Figures)> = CHECKOUT_LINES
        .iter()
        .filter_map(|lines| {
            let name = format!("POST /v1/checkout ({lines} lines)");
            Some((*lines, figures.iter().find(|f| f.name == name)?))
        })
        .collect();
    let list = |units: fn(&Figures) -> f64| {
        checkouts
            .iter()
            .map(|(lines, figure)| format!("{lines} lines {:.0}", units(figure)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "checkout write units, priced: {} (goal: 1 line <= 25, 10 lines <= 50); \
         DynamoDB Local reports {} (the figures before the stock item are in the README)",
        list(|f| f.priced_writes),
        list(|f| f.writes),
    );
}

/// Items in the accounting probe's transaction.
const PROBE_ITEMS: usize = 3;

/// What DynamoDB Local reports for a transaction of small items, beside
/// what DynamoDB's pricing charges for it (2 write units per item and
/// started KB), which the meter's priced units must give: the line shows
/// how far Local's accounting is from a bill, and the bench stops if the
/// meter does not price this plain case as the pricing does. Written
/// through the store and counted by the same meter as the checkouts.
async fn print_transaction_accounting(store: &Store, meter: &Meter) -> anyhow::Result<()> {
    #[derive(serde::Serialize)]
    struct ProbeItem {
        #[serde(rename = "PK")]
        pk: String,
        #[serde(rename = "SK")]
        sk: &'static str,
        filler: String,
    }
    let run = ulid::Ulid::new();
    let items: Vec<ProbeItem> = (0..PROBE_ITEMS)
        .map(|i| ProbeItem {
            pk: format!("BENCH#PROBE#{run}#{i}"),
            sk: "PROBE",
            filler: "x".repeat(60),
        })
        .collect();
    let mut transaction = shared::store::Transaction::new();
    for item in &items {
        transaction.push(store.transact_put(item, None)?);
    }
    meter.reset();
    store.transact(transaction).await?;
    let cost = meter.read();
    for item in &items {
        store.delete(&item.pk, item.sk).await?;
    }
    let charged = 2 * PROBE_ITEMS;
    anyhow::ensure!(
        cost.priced_writes == charged as f64,
        "the meter priced a transaction of {PROBE_ITEMS} small Puts at {} WCU, not {charged}",
        cost.priced_writes
    );
    println!(
        "DynamoDB Local's accounting: one TransactWriteItems of {PROBE_ITEMS} Puts of about 100 bytes \
         reports {:.0} WCU; DynamoDB's pricing charges {charged} (2 per item and started KB), as the \
         meter's priced units do: the cost table prices those",
        cost.writes
    );
    Ok(())
}

fn record(figures: &mut Vec<Figures>, figure: Figures) {
    figure.print();
    figures.push(figure);
}

struct Figures {
    name: String,
    /// The request as API Gateway would route it, for the cost table.
    route: Option<(Method, String)>,
    p50: f64,
    p99: f64,
    calls: f64,
    reads: f64,
    /// Write units as DynamoDB Local reports them.
    writes: f64,
    /// Write units as DynamoDB's pricing counts them (what the cost table
    /// prices).
    priced_writes: f64,
}

/// Runs `setup` (not measured) then `run` (measured), `runs` times after
/// `warmup` unmeasured rounds; the median, p99 and mean cost of `run`.
async fn measure_with<S, SFut, F, Fut>(
    name: impl Into<String>,
    meter: &Meter,
    (warmup, runs): (usize, usize),
    mut setup: S,
    mut run: F,
) -> anyhow::Result<Figures>
where
    S: FnMut() -> SFut,
    SFut: std::future::Future<Output = anyhow::Result<()>>,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..warmup {
        setup().await?;
        run().await?;
    }
    let mut millis = Vec::with_capacity(runs);
    let mut total = Cost::default();
    for _ in 0..runs {
        setup().await?;
        meter.reset();
        let started = Instant::now();
        run().await?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        let cost = meter.read();
        total.calls += cost.calls;
        total.reads += cost.reads;
        total.writes += cost.writes;
        total.priced_writes += cost.priced_writes;
    }
    millis.sort_by(f64::total_cmp);
    let at = |q: f64| millis[((millis.len() as f64 - 1.0) * q).round() as usize];
    Ok(Figures {
        name: name.into(),
        route: None,
        p50: at(0.50),
        p99: at(0.99),
        calls: total.calls as f64 / runs as f64,
        reads: total.reads / runs as f64,
        writes: total.writes / runs as f64,
        priced_writes: total.priced_writes / runs as f64,
    })
}

async fn measure<F, Fut>(
    name: &'static str,
    meter: &Meter,
    plan: Plan,
    run: F,
) -> anyhow::Result<Figures>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    measure_with(
        name,
        meter,
        (plan.warmup, plan.runs),
        || async { Ok(()) },
        run,
    )
    .await
}

impl Figures {
    /// The operation is `method path` through API Gateway: it gets a row in
    /// the cost table.
    fn via(mut self, method: Method, path: &str) -> Self {
        self.route = Some((method, path.to_owned()));
        self
    }

    /// One line of the table, printed as soon as it is measured.
    fn print(&self) {
        println!(
            "{:<36} {:>9.2} {:>9.2} {:>16.2} {:>10.2} {:>10.2} {:>12.2}",
            self.name, self.p50, self.p99, self.calls, self.reads, self.writes, self.priced_writes
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let plan = Plan::from_args()?;
    let products = plan.products;
    let sdk = shared::services::load_sdk_config().await;
    let mut config = shared::config::Config::from_env()
        .context("run through infra/bench.sh (make bench), which starts the local stack")?;
    config.table_name = format!("bench-{}", ulid::Ulid::new().to_string().to_lowercase());
    // The bulk-send figure measures the pipeline, not SES's pacing.
    config.mail_send_rate = 1_000_000.0;
    let meter = Meter::new();
    let metered = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(meter.clone())
            .build(),
    );
    let table = config.table_name.clone();
    let services = shared::FullServices::build(config, &sdk)
        .await?
        .with_store(Store::new(metered, table.as_str()));
    devserver::resources::ensure_all(&services).await?;
    let app = devserver::app(&services);

    println!("seeding {products} products in table {table} ...");
    let (seller, _) = sign_in(&app, "seller@bench.local").await?;
    let (_, admin_id) = sign_in(&app, "admin@bench.local").await?;
    devserver::seed::grant_admin(&services, &admin_id).await?;
    let (admin, _) = {
        let body = json!({"email": "admin@bench.local", "password": "benchmark passphrase"});
        let session = expect(
            &app,
            Method::POST,
            "/v1/auth/login",
            None,
            Some(body),
            StatusCode::OK,
        )
        .await?;
        (
            session["accessToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            (),
        )
    };
    let org_body = json!({"kind": "seller", "name": "Bench Foods", "legalName": "Bench Foods Lda", "taxId": "PT123456789", "country": "PT"});
    let org = expect(
        &app,
        Method::POST,
        "/v1/orgs",
        Some(&seller),
        Some(org_body),
        StatusCode::CREATED,
    )
    .await?;
    let org = org["id"].as_str().unwrap_or_default().to_owned();
    let category = expect(
        &app,
        Method::POST,
        "/v1/categories",
        Some(&admin),
        Some(json!({"slug": "produce", "name": "Produce"})),
        StatusCode::CREATED,
    )
    .await?;
    let category = category["id"].as_str().unwrap_or_default().to_owned();

    let seeded: Vec<Value> = (0..products)
        .map(|i| {
            json!({
                "sellerOrgId": org, "sku": format!("BENCH-{i:05}"), "categoryId": category,
                "name": format!("{} {}", KINDS[i % KINDS.len()], WORDS[i % WORDS.len()]),
                "description": format!("Lot {i} of {} from the bench farm", WORDS[(i / 3) % WORDS.len()].to_lowercase()),
                "price": {"amount": 100 + (i as i64 * 37) % 5000, "currency": "EUR"}, "stock": 10 + i % 7,
            })
        })
        .collect();
    let product_ids = bulk_create(&app, &seller, &seeded).await?;
    for id in &product_ids {
        let (pk, sk) = shared::stock::product_key(id);
        let product: Option<ProductForIndex> = services.store.get(&pk, sk).await?;
        search_index::apply_product_change(&services.store, None, product).await?;
    }

    let probe = product_ids[products / 2].clone();
    let store = services.store.clone();
    let mut figures = Vec::new();
    println!(
        "\n{} requests each after {} warm-up, in-process router, DynamoDB Local on loopback",
        plan.runs, plan.warmup
    );
    println!(
        "(checkouts: {} each after {} warm-up; their latency includes creating the Stripe PaymentIntent at localstripe)",
        plan.checkout_runs, plan.checkout_warmup
    );
    println!(
        "{:<36} {:>9} {:>9} {:>16} {:>10} {:>10} {:>12}",
        "operation", "p50 ms", "p99 ms", "DynamoDB calls", "RCU/req", "WCU/req", "priced WCU"
    );
    record(
        &mut figures,
        measure("bare GetItem (SDK, no router)", &meter, plan, || {
            let (pk, sk) = shared::stock::product_key(&probe);
            let store = store.clone();
            async move {
                store
                    .client()
                    .get_item()
                    .table_name(store.table())
                    .key("PK", AttributeValue::S(pk))
                    .key("SK", AttributeValue::S(sk.to_owned()))
                    .send()
                    .await?;
                Ok(())
            }
        })
        .await?,
    );
    let get_path = format!("/v1/products/{probe}");
    record(
        &mut figures,
        measure("GET /v1/products/{id}", &meter, plan, || async {
            expect(&app, Method::GET, &get_path, None, None, StatusCode::OK)
                .await
                .map(drop)
        })
        .await?
        .via(Method::GET, &get_path),
    );
    let list_path = format!("/v1/products?categoryId={category}&limit=20");
    record(
        &mut figures,
        measure("GET /v1/products (category, 20)", &meter, plan, || async {
            expect(&app, Method::GET, &list_path, None, None, StatusCode::OK)
                .await
                .map(drop)
        })
        .await?
        .via(Method::GET, &list_path),
    );
    record(
        &mut figures,
        measure("GET /v1/search?q=organic tomato", &meter, plan, || async {
            expect(&app, Method::GET, SEARCH_PATH, None, None, StatusCode::OK)
                .await
                .map(drop)
        })
        .await?
        .via(Method::GET, SEARCH_PATH),
    );

    // Checkout: a buyer's cart of n lines (refilled before each run, not
    // measured), checked out by card with a fresh Idempotency-Key.
    let goods: Vec<Value> = (0..50)
        .map(|i| {
            json!({
                "sellerOrgId": org, "sku": format!("STOCKED-{i:02}"), "categoryId": category,
                "name": format!("Stocked {}", WORDS[i % WORDS.len()]),
                "price": {"amount": 250 + i as i64, "currency": "EUR"}, "stock": 1_000_000,
            })
        })
        .collect();
    let goods_ids = bulk_create(&app, &seller, &goods).await?;
    let checkout = json!({
        "shippingAddress": {"name": "Bench Buyer", "line1": "Rua 1", "postalCode": "1000-001", "city": "Lisboa", "country": "PT"},
        "paymentMethod": "card",
    });
    // Each run has a buyer of its own (a buyer may hold only a few unpaid
    // orders), signed in by a token issued here rather than by a login.
    let buyer = std::sync::Mutex::new(String::new());
    for &lines in CHECKOUT_LINES {
        let (app, buyer, goods_ids, checkout, tokens) =
            (&app, &buyer, &goods_ids, &checkout, &services.signing);
        record(
            &mut figures,
            measure_with(
                format!("POST /v1/checkout ({lines} lines)"),
                &meter,
                (plan.checkout_warmup, plan.checkout_runs),
                || async move {
                    let user = ulid::Ulid::new().to_string();
                    let token = tokens.issue_access_token(&user, "customer", None)?.token;
                    for id in &goods_ids[..lines] {
                        let body = json!({"productId": id, "quantity": 1});
                        expect(
                            app,
                            Method::POST,
                            "/v1/cart/items",
                            Some(&token),
                            Some(body),
                            StatusCode::OK,
                        )
                        .await?;
                    }
                    *buyer.lock().expect("not poisoned") = token;
                    Ok(())
                },
                || async move {
                    let token = buyer.lock().expect("not poisoned").clone();
                    let key = ulid::Ulid::new().to_string();
                    let headers = [("idempotency-key", key.as_str())];
                    // A loaded DynamoDB Local can take a large transaction
                    // past the request's deadline (503): a client retries
                    // with the same key and gets its one order (201, or 200
                    // when the first attempt committed).
                    for attempt in 1..=ATTEMPTS {
                        let (status, body) = call_with(
                            app,
                            Method::POST,
                            "/v1/checkout",
                            Some(&token),
                            Some(checkout.clone()),
                            &headers,
                        )
                        .await;
                        match status {
                            StatusCode::CREATED | StatusCode::OK => return Ok(()),
                            StatusCode::SERVICE_UNAVAILABLE if attempt < ATTEMPTS => {
                                eprintln!("checkout answered 503 (attempt {attempt}); retrying with the same key");
                            }
                            _ => anyhow::bail!("checkout: {status} {body}"),
                        }
                    }
                    anyhow::bail!("checkout: no answer after {ATTEMPTS} attempts")
                },
            )
            .await?
            .via(Method::POST, "/v1/checkout"),
        );
    }
    print_checkout_writes(&figures);
    print_transaction_accounting(&services.store, &meter).await?;

    // Mail: rendering, then a bulk send drained through the worker.
    let template = mail_bench::template();
    let variables: Vec<shared::mail::render::Variable> =
        serde_json::from_value(template["variables"].clone())?;
    let source = shared::mail::render::Source {
        subject: template["subject"].as_str().unwrap_or_default(),
        body: template["body"].as_str().unwrap_or_default(),
        format: shared::mail::render::BodyFormat::Mjml,
        text: None,
        assets: shared::mail::render::NO_ASSETS,
    };
    let sample = mail_bench::data(7);
    let sample = sample.as_object().context("the bench data is an object")?;
    record(
        &mut figures,
        measure("render MJML (20 variables)", &meter, plan, || async {
            let bound = shared::mail::render::bind(&variables, sample)
                .map_err(|fields| anyhow::anyhow!("the bench data does not fit: {fields:?}"))?;
            shared::mail::render::render(&source, &bound)
                .map_err(|problems| anyhow::anyhow!("the bench template fails: {problems:?}"))?;
            Ok(())
        })
        .await?,
    );
    bulk_send(&app, &services, &meter, &seller, &org, plan).await?;
    studio_bench::run(&app, &services, &meter, plan, &mut figures).await?;
    // The catalog function's router as its main builds it.
    let catalog = shared::http::service(catalog::routes(catalog::CatalogState::new(&services)));
    warm_bench::run(catalog, &product_ids, &category, plan.warm_requests).await?;

    let bare = figures[0].p50;
    println!("\nmedian latency as a multiple of the bare GetItem:");
    for f in &figures[1..] {
        println!("  {:<34} {:>5.1}x", f.name, f.p50 / bare);
    }
    print_cost_table(&figures)?;
    Ok(())
}

/// Every operation measured through a route, priced: DynamoDB request units
/// as measured, Lambda's billed duration (the p50, rounded up to the ms) at
/// the memory template.yaml gives the function that serves the route, and
/// one HTTP API request (`devserver::cost`).
fn print_cost_table(figures: &[Figures]) -> anyhow::Result<()> {
    use devserver::cost::{Measured, PRICES, RequestCost, functions, serving};
    let functions = functions(devserver::cors::TEMPLATE_YAML)?;
    println!(
        "\ncost per million requests in dollars ({}): DynamoDB on-demand request units, \
         Lambda GB-seconds + requests at the function's memory, HTTP API requests; \
         duration measured here, not in Lambda",
        PRICES.as_of
    );
    println!(
        "{:<36} {:<30} {:>7} {:>7} {:>6} {:>9} {:>8} {:>8} {:>8}",
        "operation", "function", "RRU", "WRU", "ms", "DynamoDB", "Lambda", "HTTP API", "total"
    );
    for figure in figures {
        let Some((method, path)) = &figure.route else {
            continue;
        };
        let function = serving(&functions, method, path)
            .with_context(|| format!("no function of template.yaml serves {method} {path}"))?;
        let measured = Measured {
            p50_ms: figure.p50,
            read_units: figure.reads,
            write_units: figure.priced_writes,
        };
        let cost = RequestCost::of(measured, function, &PRICES);
        let arch = if function.arm64 { "arm64" } else { "x86-64" };
        println!(
            "{:<36} {:<30} {:>7.2} {:>7.2} {:>6} {:>9.2} {:>8.2} {:>8.2} {:>8.2}",
            figure.name,
            format!("{} {} MB {arch}", function.name, function.memory_mb),
            figure.reads,
            figure.priced_writes,
            cost.billed_ms,
            cost.dynamodb * 1e6,
            cost.lambda * 1e6,
            cost.api * 1e6,
            cost.total() * 1e6,
        );
    }
    Ok(())
}

/// Queues `plan.bulk_sends` sends of the bench template,
/// then drains the queue through the worker (as the devserver's pump and
/// Lambda's SQS event source do) and prints recipients per second.
async fn bulk_send(
    app: &Router,
    services: &shared::FullServices,
    meter: &Meter,
    token: &str,
    org: &str,
    plan: Plan,
) -> anyhow::Result<()> {
    let per_send = plan.bulk_per_send;
    if services.config.mail_send_queue_url.is_none() {
        println!("bulk send: skipped (MAIL_SEND_QUEUE_URL is not set)");
        return Ok(());
    }
    let templates = format!("/v1/orgs/{org}/templates");
    let created = expect(
        app,
        Method::POST,
        &templates,
        Some(token),
        Some(mail_bench::template()),
        StatusCode::CREATED,
    )
    .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let submit = format!("{templates}/{id}/submit");
    expect(
        app,
        Method::POST,
        &submit,
        Some(token),
        None,
        StatusCode::CREATED,
    )
    .await?;
    let sends = format!("/v1/orgs/{org}/sends");
    let mut send_ids = Vec::new();
    for batch in 0..plan.bulk_sends {
        let recipients: Vec<Value> = (0..per_send)
            .map(|i| {
                let n = batch * per_send + i;
                json!({ "email": format!("reader{n}@bench.example"), "data": mail_bench::data(n) })
            })
            .collect();
        let body = json!({ "templateId": id, "recipients": recipients });
        let send = expect(
            app,
            Method::POST,
            &sends,
            Some(token),
            Some(body),
            StatusCode::ACCEPTED,
        )
        .await?;
        send_ids.push(send["id"].as_str().unwrap_or_default().to_owned());
    }
    let state = mail::MailState::new(services, services.signing.clone());
    meter.reset();
    let started = Instant::now();
    devserver::pumps::drain_send_queue(&state).await?;
    let seconds = started.elapsed().as_secs_f64();
    let cost = meter.read();
    let mut sent = 0;
    for send_id in &send_ids {
        let send = expect(
            app,
            Method::GET,
            &format!("{sends}/{send_id}"),
            Some(token),
            None,
            StatusCode::OK,
        )
        .await?;
        sent += send["sent"].as_u64().unwrap_or_default();
    }
    let total = (plan.bulk_sends * per_send) as f64;
    anyhow::ensure!(sent as f64 == total, "the worker sent {sent} of {total}");
    println!(
        "\nbulk send: {total} recipients (rendered, checked against the suppressions, sent to moto's SES, recorded) \
         in {seconds:.2} s by one worker: {:.0} emails/s; per recipient {:.1} DynamoDB calls, {:.1} RCU, {:.1} WCU",
        total / seconds,
        cost.calls as f64 / total,
        cost.reads / total,
        cost.writes / total,
    );
    Ok(())
}
