//! `cargo run -p devserver --bin backfill-stock`
//!
//! A one-off for tables created before products kept their stock in a
//! stock item (`PRODUCT#<id> / STOCK`): creates each missing stock item
//! from the counters its product item held, sets the product's `inStock`
//! and removes the old counters, each product in one transaction
//! (`shared::stock::backfill`). Idempotent: run it again until it reports
//! nothing changed. Reads `TABLE_NAME` and the usual AWS environment (the
//! local stack's `stack.env`, or a deployed stack's credentials and region).

use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    let table = std::env::var("TABLE_NAME").context("set TABLE_NAME to the table to backfill")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = shared::store::Store::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone());
    let done = shared::stock::backfill(&store)
        .await
        .with_context(|| format!("backfilling the stock items of {table}"))?;
    println!(
        "{table}: {} stock items created, {} present already, {} products changed meanwhile{}",
        done.created,
        done.present,
        done.changed,
        if done.changed > 0 { " (run again)" } else { "" }
    );
    Ok(())
}
