//! A long-running warm function: the catalog Lambda's own router (the one
//! its `main` serves), built once, driven in-process with many mixed
//! requests one at a time, as Lambda reuses one process. Resident memory,
//! its peak, open file descriptors and sockets are read from /proc at the
//! start and after each tenth of the run, so a leak shows as a figure that
//! keeps climbing. Printed, never asserted.

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// What /proc says about this process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kb: u64,
    peak_kb: u64,
    fds: usize,
    sockets: usize,
}

fn status_kb(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

fn sample() -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let (mut fds, mut sockets) = (0, 0);
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        for entry in entries.flatten() {
            fds += 1;
            if std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
            {
                sockets += 1;
            }
        }
    }
    Sample {
        rss_kb: status_kb(&status, "VmRSS:"),
        peak_kb: status_kb(&status, "VmHWM:"),
        fds,
        sockets,
    }
}

/// The mix: what a storefront asks the catalog for, with some misses and
/// refusals among it.
fn path_of(n: usize, products: &[String], category: &str) -> String {
    let product = &products[(n * 7919) % products.len()];
    match n % 10 {
        0..=3 => format!("/v1/products/{product}"),
        4 | 5 => format!("/v1/products?categoryId={category}&limit=20"),
        6 => "/v1/search?q=organic%20tomato&limit=20".to_owned(),
        7 => "/v1/categories".to_owned(),
        8 => format!("/v1/products/{product}/reviews"),
        // A miss (404) or a refused page size (4xx): error paths allocate too.
        _ if n % 20 == 9 => "/v1/products/01JDZZNOSUCHPRODUCT00000000".to_owned(),
        _ => format!("/v1/products?categoryId={category}&limit=0"),
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Drives `requests` requests through `router` (the catalog function's
/// router, state built once) and prints the samples.
pub async fn run(
    router: Router,
    products: &[String],
    category: &str,
    requests: usize,
) -> anyhow::Result<()> {
    println!(
        "\nwarm process: the catalog function's router, {requests} mixed requests one at a time (product, list, search, categories, reviews, 404, 4xx)"
    );
    println!(
        "(figures of the whole bench process, its seed data and earlier figures included: what counts is whether they climb)"
    );
    println!(
        "{:>9} {:>9} {:>9} {:>6} {:>8} {:>11} {:>9}",
        "requests", "RSS MB", "peak MB", "fds", "sockets", "window s", "p50 ms"
    );
    let print = |done: usize, s: Sample, window: Option<(f64, f64)>| {
        let (secs, p50) = window.map_or(("-".to_owned(), "-".to_owned()), |(secs, p50)| {
            (format!("{secs:.1}"), format!("{p50:.2}"))
        });
        println!(
            "{done:>9} {:>9.1} {:>9.1} {:>6} {:>8} {secs:>11} {p50:>9}",
            mb(s.rss_kb),
            mb(s.peak_kb),
            s.fds,
            s.sockets,
        );
    };
    let start = sample();
    print(0, start, None);
    let step = (requests / 10).max(1);
    let mut after_first_tenth = None;
    let mut last = start;
    let mut done = 0;
    let mut statuses = [0usize; 6];
    while done < requests {
        let window_start = Instant::now();
        let mut latencies = Vec::with_capacity(step);
        for n in done..(done + step).min(requests) {
            let request = Request::get(path_of(n, products, category))
                .header("x-forwarded-for", "203.0.113.7")
                .body(Body::empty())?;
            let began = Instant::now();
            let response = router.clone().oneshot(request).await?;
            let status = response.status();
            response.into_body().collect().await?;
            latencies.push(began.elapsed().as_secs_f64() * 1000.0);
            statuses[usize::from(status.as_u16() / 100).min(5)] += 1;
            anyhow::ensure!(
                status != StatusCode::INTERNAL_SERVER_ERROR,
                "request {n} answered 500"
            );
        }
        done = (done + step).min(requests);
        latencies.sort_by(f64::total_cmp);
        let p50 = latencies[latencies.len() / 2];
        last = sample();
        after_first_tenth.get_or_insert(last);
        print(
            done,
            last,
            Some((window_start.elapsed().as_secs_f64(), p50)),
        );
    }
    let warm = after_first_tenth.unwrap_or(start);
    println!(
        "answers: {} 2xx, {} 4xx, {} 5xx; after the first tenth to the end: RSS {:+.1} MB, fds {:+}, sockets {:+}",
        statuses[2],
        statuses[4],
        statuses[5],
        mb(last.rss_kb) - mb(warm.rss_kb),
        last.fds as i64 - warm.fds as i64,
        last.sockets as i64 - warm.sockets as i64,
    );
    Ok(())
}
