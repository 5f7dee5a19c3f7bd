//! The `bare` floor of the cold-start benchmark (infra/coldstart.py): what
//! every function of ours needs at the least. Configuration and a DynamoDB
//! client built once, the connection opened during init (one read), then
//! one read per event. A function's figures are read as ratios to these.
//!
//! The read is one GetItem. With `FLOOR_READ=batch` it is what a product's
//! page makes instead: one strongly consistent BatchGetItem of two keys in
//! one partition (the product and its stock item), so the benchmark can
//! tell the API's own cost from the cost of the DynamoDB call it makes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

const PARTITION: &str = "FLOOR#bare";

fn key(sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("PK".to_owned(), AttributeValue::S(PARTITION.to_owned())),
        ("SK".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// One read of the floor's keys (both absent): whether anything was found.
async fn read(
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    batch: bool,
) -> Result<bool, lambda_runtime::Error> {
    if !batch {
        let out = dynamodb
            .get_item()
            .table_name(table)
            .set_key(Some(key(PARTITION)))
            .send()
            .await?;
        return Ok(out.item.is_some());
    }
    let keys = KeysAndAttributes::builder()
        .keys(key(PARTITION))
        .keys(key("STOCK"))
        .consistent_read(true)
        .build()?;
    let out = dynamodb
        .batch_get_item()
        .request_items(&table, keys)
        .send()
        .await?;
    let found = out
        .responses
        .and_then(|mut tables| tables.remove(&table))
        .is_some_and(|items| !items.is_empty());
    Ok(found)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let table = std::env::var("TABLE_NAME")?;
    let batch = match std::env::var("FLOOR_READ").as_deref() {
        Ok("batch") => true,
        Ok("get") | Err(_) => false,
        Ok(other) => return Err(format!("FLOOR_READ is get or batch, not {other:?}").into()),
    };
    let sdk = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    read(dynamodb.clone(), table.clone(), batch).await?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        async move {
            let found = read(dynamodb, table, batch).await?;
            Ok::<_, lambda_runtime::Error>(json!({ "found": found }))
        }
    }))
    .await
}
