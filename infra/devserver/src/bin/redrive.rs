//! `redrive <dead-letter-queue-url> <queue-url> [--max N]`: moves dead
//! letters back to the queue their worker reads (docs/reliability.md).
//! The SDK finds credentials, region and endpoint as every function does
//! (`source .local/run/stack.env` points it at the local stack).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (from, to, max) = match args.as_slice() {
        [from, to] => (from, to, 1000),
        [from, to, flag, max] if flag == "--max" => (from, to, max.parse()?),
        _ => anyhow::bail!("usage: redrive <dead-letter-queue-url> <queue-url> [--max N]"),
    };
    let sdk = shared::services::load_sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let moved = devserver::redrive::redrive(&sqs, from, to, max).await?;
    println!("moved {moved} message(s) from {from} to {to}");
    Ok(())
}
