//! `replay <dead-letter-queue-url> [--max N]`: does again the work that the
//! stream's or the upload trigger's on-failure records name, with the
//! functions' own handlers (docs/reliability.md). It needs the functions'
//! environment (TABLE_NAME, BUCKET_NAME, SENDER_EMAIL, ...) and finds
//! credentials, region and endpoints as every function does
//! (`source .local/run/stack.env` points it at the local stack). Exits 1
//! when a message could not be replayed; that message stays in the queue.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, max) = match args.as_slice() {
        [url] => (url, 1000),
        [url, flag, max] if flag == "--max" => (url, max.parse()?),
        _ => {
            eprintln!("usage: replay <dead-letter-queue-url> [--max N]");
            std::process::exit(2);
        }
    };
    let services = shared::Services::init().await?;
    let sdk = shared::services::load_sdk_config().await;
    let replayer = devserver::replay::Replayer::new(&services, &sdk);
    let outcome = replayer.replay(url, max).await?;
    println!("replayed {} message(s) from {url}", outcome.replayed);
    for (id, reason) in &outcome.kept {
        eprintln!("kept {id}: {reason}");
    }
    if !outcome.kept.is_empty() {
        eprintln!(
            "{} message(s) could not be replayed and stay in the queue",
            outcome.kept.len()
        );
        std::process::exit(1);
    }
    Ok(())
}
