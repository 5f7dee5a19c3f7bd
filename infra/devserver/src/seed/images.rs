//! Product pictures: drawn here (a gradient background and the product's
//! shape in its colour, 600 × 600 JPEG), then uploaded as a client would:
//! `POST /v1/uploads`, the presigned PUT to S3, the ingest step (run now
//! rather than waiting for the upload pump), and `ready` with a thumbnail.

use std::io::Cursor;

use anyhow::Context as _;
use image::{Rgb, RgbImage};
use serde::Deserialize;
use serde_json::{Value, json};

use super::text;
use crate::client::Api;

const SIZE: u32 = 600;
const JPEG_QUALITY: u8 = 88;

/// The outline a product is drawn as.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    Round,
    Tall,
    Square,
    Loaf,
    Wedge,
    Drop,
    Crescent,
}

/// How a product's picture looks: `#rrggbb` and a shape.
#[derive(Debug, Clone, Deserialize)]
pub struct Picture {
    pub colour: String,
    pub shape: Shape,
}

fn parse_colour(hex: &str) -> anyhow::Result<[f32; 3]> {
    let digits = hex.strip_prefix('#').unwrap_or(hex);
    anyhow::ensure!(
        digits.len() == 6 && digits.is_ascii(),
        "{hex:?} is not a #rrggbb colour"
    );
    let channel = |at: usize| {
        u8::from_str_radix(&digits[at..at + 2], 16)
            .map(f32::from)
            .with_context(|| format!("{hex:?} is not a #rrggbb colour"))
    };
    Ok([channel(0)?, channel(2)?, channel(4)?])
}

fn circle(x: f32, y: f32, radius: f32) -> f32 {
    x.hypot(y) - radius
}

fn ellipse(x: f32, y: f32, rx: f32, ry: f32) -> f32 {
    ((x / rx).hypot(y / ry) - 1.0) * rx.min(ry)
}

fn rounded_box(x: f32, y: f32, half_width: f32, half_height: f32, radius: f32) -> f32 {
    let (qx, qy) = (
        x.abs() - half_width + radius,
        y.abs() - half_height + radius,
    );
    qx.max(0.0).hypot(qy.max(0.0)) + qx.max(qy).min(0.0) - radius
}

/// Distance to a convex polygon (exact inside, close enough outside).
fn polygon(x: f32, y: f32, corners: &[(f32, f32)]) -> f32 {
    let n = corners.len() as f32;
    let centre = corners
        .iter()
        .fold((0.0, 0.0), |(cx, cy), (px, py)| (cx + px / n, cy + py / n));
    corners
        .iter()
        .zip(corners.iter().cycle().skip(1))
        .map(|(&(ax, ay), &(bx, by))| {
            let length = (bx - ax).hypot(by - ay);
            let (mut nx, mut ny) = ((by - ay) / length, (ax - bx) / length);
            if nx * (centre.0 - ax) + ny * (centre.1 - ay) > 0.0 {
                (nx, ny) = (-nx, -ny);
            }
            nx * (x - ax) + ny * (y - ay)
        })
        .fold(f32::MIN, f32::max)
}

/// Signed distance in pixels from a point (relative to the picture's
/// centre) to the shape's outline: negative inside.
fn distance(shape: Shape, x: f32, y: f32) -> f32 {
    match shape {
        Shape::Round => circle(x, y, 190.0),
        Shape::Tall => rounded_box(x, y, 95.0, 215.0, 45.0),
        Shape::Square => rounded_box(x, y, 175.0, 175.0, 32.0),
        Shape::Loaf => ellipse(x, y, 235.0, 140.0),
        Shape::Wedge => polygon(x, y, &[(-220.0, 150.0), (220.0, 150.0), (-220.0, -140.0)]),
        Shape::Drop => ellipse(x, y, 165.0, 205.0),
        Shape::Crescent => circle(x, y, 200.0).max(-circle(x - 110.0, y - 80.0, 170.0)),
    }
}

/// Where the shape's highlight sits, and how far below the centre its
/// lowest point is (for the shadow).
fn highlight_and_base(shape: Shape) -> ((f32, f32), f32) {
    match shape {
        Shape::Round => ((-75.0, -85.0), 190.0),
        Shape::Tall => ((-40.0, -150.0), 215.0),
        Shape::Square => ((-95.0, -95.0), 175.0),
        Shape::Loaf => ((-110.0, -60.0), 140.0),
        Shape::Wedge => ((-160.0, 70.0), 150.0),
        Shape::Drop => ((-65.0, -100.0), 205.0),
        Shape::Crescent => ((-110.0, -80.0), 200.0),
    }
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

const WHITE: [f32; 3] = [255.0; 3];
const BLACK: [f32; 3] = [0.0; 3];

/// The product's picture as a JPEG.
pub fn render(picture: &Picture) -> anyhow::Result<Vec<u8>> {
    let colour = parse_colour(&picture.colour)?;
    let (top, bottom) = (mix(colour, WHITE, 0.9), mix(colour, WHITE, 0.6));
    let centre = (SIZE as f32 / 2.0, SIZE as f32 / 2.0 - 10.0);
    let ((glint_x, glint_y), base) = highlight_and_base(picture.shape);
    let canvas = RgbImage::from_fn(SIZE, SIZE, |px, py| {
        let (x, y) = (px as f32 - centre.0, py as f32 - centre.1);
        let mut out = mix(top, bottom, (px + py) as f32 / (2 * SIZE) as f32);
        // A soft shadow under the shape.
        let shadow =
            (1.0 - ellipse(x, y - base - 30.0, 210.0, 26.0).max(0.0) / 30.0).clamp(0.0, 1.0);
        out = mix(out, BLACK, 0.22 * shadow);
        // The shape, lit from the upper left, with a highlight; edges antialiased.
        let cover = (0.5 - distance(picture.shape, x, y)).clamp(0.0, 1.0);
        let light = ((x + y) / 600.0).clamp(-0.5, 0.5);
        let mut body = if light < 0.0 {
            mix(colour, WHITE, -light * 0.4)
        } else {
            mix(colour, BLACK, light * 0.45)
        };
        let glint = (1.0 - circle(x - glint_x, y - glint_y, 32.0).max(0.0) / 25.0).clamp(0.0, 1.0);
        body = mix(body, WHITE, 0.45 * glint);
        out = mix(out, body, cover);
        Rgb(out.map(|c| c.round().clamp(0.0, 255.0) as u8))
    });
    let mut bytes = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
        .encode_image(&canvas)
        .context("encoding the picture as JPEG")?;
    Ok(bytes.into_inner())
}

/// Uploads `bytes` as a product image of `org_id` and returns the asset id
/// once the ingest step has made it `ready` (with its thumbnail).
pub(super) async fn upload_product_image(
    api: &Api,
    services: &shared::FullServices,
    token: &str,
    org_id: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> anyhow::Result<String> {
    let body = json!({
        "purpose": "product_image", "contentType": "image/jpeg", "size": bytes.len(),
        "orgId": org_id, "fileName": file_name,
    });
    let grant = api
        .post("/v1/uploads", Some(token), &body)
        .await?
        .data()
        .context("asking for an upload grant")?;
    let asset_id = text(&grant, "assetId")?.to_owned();
    put(&grant, bytes)
        .await
        .context("sending the picture with the presigned PUT")?;
    crate::pumps::ingest_asset(services, &asset_id)
        .await
        .context("ingesting the uploaded picture")?;
    let asset = api
        .get(&format!("/v1/assets/{asset_id}"), Some(token))
        .await?
        .data()
        .context("reading the uploaded picture's asset")?;
    anyhow::ensure!(
        asset["status"] == "ready" && asset["thumbnailUrl"].is_string(),
        "the picture is not ready with a thumbnail: {asset}"
    );
    Ok(asset_id)
}

/// The presigned request, with exactly the grant's headers, as a browser sends it.
async fn put(grant: &Value, bytes: Vec<u8>) -> anyhow::Result<()> {
    let method = reqwest::Method::from_bytes(text(grant, "method")?.as_bytes())?;
    let mut request = reqwest::Client::new()
        .request(method, text(grant, "url")?)
        .body(bytes);
    for (name, value) in grant["headers"].as_object().into_iter().flatten() {
        // The client sets these from the URL and the body.
        if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        request = request.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    request.send().await?.error_for_status()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(colour: &str, shape: Shape) -> Picture {
        Picture {
            colour: colour.to_owned(),
            shape,
        }
    }

    #[test]
    fn a_picture_is_a_600_px_jpeg_with_the_shape_in_its_colour() {
        let bytes = render(&picture("#d7301f", Shape::Round)).unwrap();
        let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
            .unwrap()
            .to_rgb8();
        assert_eq!(decoded.dimensions(), (SIZE, SIZE));
        // Right of the centre, below the highlight: the product's red.
        let Rgb([r, g, b]) = *decoded.get_pixel(340, 300);
        assert!(r > 150 && g < 90 && b < 80, "{r} {g} {b}");
        // A corner is the pale background.
        let Rgb([r, g, b]) = *decoded.get_pixel(5, 5);
        assert!(r > 220 && g > 200 && b > 200, "{r} {g} {b}");
    }

    #[test]
    fn shapes_and_colours_give_different_pictures() {
        let round = render(&picture("#d7301f", Shape::Round)).unwrap();
        let loaf = render(&picture("#d7301f", Shape::Loaf)).unwrap();
        let green = render(&picture("#8a9a1b", Shape::Round)).unwrap();
        assert_ne!(round, loaf);
        assert_ne!(round, green);
    }

    #[test]
    fn a_colour_must_be_hex() {
        assert!(parse_colour("#12345").is_err());
        assert!(parse_colour("#gg0000").is_err());
        assert_eq!(parse_colour("#ff8000").unwrap(), [255.0, 128.0, 0.0]);
    }
}
