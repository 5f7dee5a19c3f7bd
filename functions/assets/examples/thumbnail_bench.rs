//! `make bench` (thumbnails): how long and how much memory the ingest
//! function's decode-and-thumbnail step takes for a 12-megapixel JPEG.
//!
//! The photo is synthetic (a gradient with texture, so the JPEG is not
//! trivially compressible) and made here, so the figures are repeatable.
//! Memory is the process's peak resident set during the runs (Linux
//! /proc/self/status VmHWM, reset through /proc/self/clear_refs) above what
//! was resident before them.
//!
//! `--quick` (what `make test` runs) makes one run: it proves the benchmark
//! still works; its figures mean nothing.

use std::io::Cursor;
use std::time::Instant;

use assets::asset::MediaType;
use assets::inspect::decode_raster;
use image::codecs::jpeg::JpegEncoder;

const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;
const FULL_RUNS: usize = 5;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let runs = if std::env::args().any(|arg| arg == "--quick") {
        1
    } else {
        FULL_RUNS
    };
    let photo = image::RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let texture = ((x * 7 + y * 13) ^ (x * y)) % 64;
        image::Rgb([
            ((x / 16) % 256) as u8,
            ((y / 12) % 256) as u8,
            (128 + texture) as u8,
        ])
    });
    let mut jpeg = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&photo)
        .expect("encoding the test photo");
    let jpeg = jpeg.into_inner();
    drop(photo);

    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let resident_before = status_kib("VmRSS:").unwrap_or(0);
    let mut millis = Vec::with_capacity(runs);
    let mut thumbnail_bytes = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let raster = decode_raster(&jpeg, MediaType::Jpeg).expect("the photo decodes");
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!((raster.width, raster.height), (WIDTH, HEIGHT));
        thumbnail_bytes = raster.thumbnail_png.len();
    }
    let peak = status_kib("VmHWM:").unwrap_or(0);
    millis.sort_by(f64::total_cmp);

    println!(
        "thumbnail of a {WIDTH}x{HEIGHT} ({:.1} MP) JPEG, {:.1} MiB, {runs} runs",
        (WIDTH * HEIGHT) as f64 / 1e6,
        jpeg.len() as f64 / 1048576.0
    );
    println!(
        "  time:   min {:.0} ms, median {:.0} ms, max {:.0} ms",
        millis[0],
        millis[runs / 2],
        millis[runs - 1]
    );
    println!(
        "  memory: peak resident {:.0} MiB, {:.0} MiB above the {:.0} MiB resident before",
        peak as f64 / 1024.0,
        peak.saturating_sub(resident_before) as f64 / 1024.0,
        resident_before as f64 / 1024.0
    );
    println!(
        "  thumbnail: 256 px PNG, {:.1} KiB",
        thumbnail_bytes as f64 / 1024.0
    );
}
