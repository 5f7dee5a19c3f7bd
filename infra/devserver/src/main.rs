//! `cargo run -p devserver -- [--setup] [--seed] [--port 3000]`
//!
//! Serves every context's API on 127.0.0.1 from the same routers the Lambda
//! functions run, against whatever endpoints the environment names (the local
//! stack's, via `make dev`).

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;

struct Args {
    setup: bool,
    seed: bool,
    port: u16,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        setup: false,
        seed: false,
        port: 3000,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--setup" => args.setup = true,
            "--seed" => args.seed = true,
            "--port" => {
                let value = iter.next().context("--port needs a number")?;
                args.port = value
                    .parse()
                    .with_context(|| format!("--port {value:?} is not a port number"))?;
            }
            "-h" | "--help" => {
                println!(
                    "devserver [--setup] [--seed] [--port PORT]\n  --setup  create the table, bucket and SES sender identity if missing\n  --seed   seed the demo store of infra/seed/ (users, catalog, orgs, orders)"
                );
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    let args = parse_args()?;
    let services = shared::FullServices::from_env().await.context(
        "the devserver needs the local stack's environment: run `make dev`, or source .local/run/stack.env",
    )?;
    if args.setup {
        devserver::resources::ensure_all(&services)
            .await
            .context("creating the local resources")?;
    }
    if args.seed {
        let started = std::time::Instant::now();
        let summary = devserver::seed::seed(&services)
            .await
            .context("seeding the demo store")?;
        println!(
            "{summary}(seeded in {:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    let pumps = devserver::pumps::spawn_all(&services);
    for pump in &pumps {
        tracing::info!(pump = pump.name, "event pump running");
    }

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| {
            format!(
                "port {} is taken: stop what uses it or pass --port",
                args.port
            )
        })?;
    println!(
        "Bodega API on http://{address} (reference: http://{address}/docs, OpenAPI: http://{address}/v1/openapi.json)"
    );
    axum::serve(
        listener,
        devserver::app(&services).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    for pump in pumps {
        pump.task.abort();
    }
    Ok(())
}

/// Ctrl-C or SIGTERM (what `infra/dev.sh` sends when it stops).
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler works");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
