//! The `bare` floor of the cold-start benchmark (infra/coldstart.py): what
//! every function of ours needs at the least. Configuration and a DynamoDB
//! client built once, the connection opened during init (one GetItem), then
//! one GetItem per event. A function's figures are read as ratios to these.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let table = std::env::var("TABLE_NAME")?;
    let sdk = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let get_item = |dynamodb: aws_sdk_dynamodb::Client, table: String| async move {
        dynamodb
            .get_item()
            .table_name(table)
            .key("PK", AttributeValue::S("FLOOR#bare".into()))
            .key("SK", AttributeValue::S("FLOOR#bare".into()))
            .send()
            .await
            .map(|out| out.item.is_some())
    };
    get_item(dynamodb.clone(), table.clone()).await?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        async move {
            let found = get_item(dynamodb, table).await?;
            Ok::<_, lambda_runtime::Error>(json!({ "found": found }))
        }
    }))
    .await
}
