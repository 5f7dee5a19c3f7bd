//! The `hello` floor of the cold-start benchmark (infra/coldstart.py): a
//! Lambda that answers every event with a constant, so its size, init and
//! memory are what the runtime alone costs.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, lambda_runtime::Error>(json!({ "hello": "world" }))
    }))
    .await
}
