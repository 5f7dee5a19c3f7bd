//! The offline procedural generator: the default image provider for local
//! runs, tests and demos. It draws the garment's silhouette (from the
//! category) filled with a pattern (from the style) in the requested
//! palette, on a light background, at print resolution.
//!
//! Everything random comes from one RNG seeded with a SHA-256 of the
//! canonical inputs (prompt, category, style, colours), and the PNG encoder
//! is deterministic, so the same inputs always give the same bytes.

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, Rgb, RgbImage};
use serde_json::json;

use crate::model::{DesignCategory, DesignStyle};

pub const WIDTH: u32 = 1800;
pub const HEIGHT: u32 = 2400;
pub const THUMB_WIDTH: u32 = 300;
pub const THUMB_HEIGHT: u32 = 400;
/// Bumped when the drawing changes, so a recorded design says which
/// generator drew it.
pub const GENERATOR_VERSION: u32 = 1;
const BACKGROUND: [u8; 3] = [0xf4, 0xf1, 0xea];

/// What a design asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignInputs {
    pub prompt: String,
    pub category: DesignCategory,
    pub style: DesignStyle,
    /// `#rrggbb`, lower case.
    pub colors: Vec<String>,
}

impl DesignInputs {
    /// The inputs as one canonical text: what the seed is a hash of.
    pub fn canonical(&self) -> String {
        json!({
            "prompt": self.prompt.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase(),
            "category": self.category.as_str(),
            "style": self.style.as_str(),
            "colors": self.colors,
        })
        .to_string()
    }

    /// The first eight bytes of the canonical inputs' SHA-256.
    pub fn seed(&self) -> u64 {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.canonical().as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest.as_ref()[..8]);
        u64::from_be_bytes(bytes)
    }
}

/// The pattern a style draws.
pub fn pattern_of(style: DesignStyle) -> &'static str {
    match style {
        DesignStyle::Casual => "dots",
        DesignStyle::Formal => "pinstripes",
        DesignStyle::Sporty => "diagonal-bands",
        DesignStyle::Vintage => "gingham",
    }
}

/// A small, stable RNG (SplitMix64): its sequence never changes with a
/// dependency update, which "same input, same bytes" needs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + unit * (hi - lo)
    }
}

pub fn parse_hex(color: &str) -> [u8; 3] {
    let hex = color.trim_start_matches('#');
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    [channel(0), channel(2), channel(4)]
}

/// A drawn design: the print image, its thumbnail, and what drew them.
pub struct Drawing {
    pub png: Vec<u8>,
    pub thumbnail: Vec<u8>,
    pub seed: u64,
    pub parameters: serde_json::Value,
}

/// Where the garment is, in coordinates from 0 to 1 (x right, y down).
fn inside(category: DesignCategory, x: f32, y: f32) -> bool {
    let cx = (x - 0.5).abs();
    match category {
        DesignCategory::Dress => {
            // Straps, a fitted bodice, then an A-line skirt to the hem.
            let straps = (0.08..0.2).contains(&y) && (0.1..0.14).contains(&cx);
            let bodice = (0.2..0.45).contains(&y) && cx < 0.17 - (y - 0.2) * 0.12;
            let skirt = (0.45..0.92).contains(&y) && cx < 0.14 + (y - 0.45) * 0.62;
            straps || bodice || skirt
        }
        DesignCategory::Shirt => {
            // A torso, two short sleeves, a round neckline cut out.
            let neck = ((x - 0.5).powi(2) + ((y - 0.12) * 1.2).powi(2)).sqrt() < 0.08;
            let torso = (0.12..0.88).contains(&y) && cx < 0.25;
            let sleeves = (0.12..0.38).contains(&y) && cx < 0.25 + (0.38 - y) * 1.0 && cx < 0.45;
            (torso || sleeves) && !neck
        }
        DesignCategory::Pants => {
            // A waistband, then two legs with a gap that widens downwards.
            let waist = (0.08..0.2).contains(&y) && cx < 0.22;
            let legs = (0.2..0.95).contains(&y)
                && cx < 0.22 + (y - 0.2) * 0.04
                && cx > (y - 0.3).max(0.0) * 0.05 + if y > 0.3 { 0.01 } else { -1.0 };
            waist || legs
        }
        DesignCategory::Accessories => {
            // A tote bag: a body and a round handle.
            let body = (0.35..0.88).contains(&y) && cx < 0.32;
            let r = ((x - 0.5).powi(2) + ((y - 0.35) * 0.75).powi(2)).sqrt();
            let handle = y < 0.35 && (0.15..0.19).contains(&r);
            body || handle
        }
    }
}

/// Which palette colour the pattern puts at (x, y) in pixels.
struct Pattern {
    kind: DesignStyle,
    scale: f32,
    angle: f32,
    jitter: f32,
    colors: usize,
}

impl Pattern {
    fn color_at(&self, x: f32, y: f32) -> usize {
        let n = self.colors.max(1);
        match self.kind {
            DesignStyle::Casual => {
                // Dots on a grid, alternate rows offset; the base is colour 0.
                let cell = self.scale;
                let row = (y / cell).floor();
                let offset = if row as i64 % 2 == 0 { 0.0 } else { cell / 2.0 };
                let cx = ((x + offset) / cell).fract() - 0.5;
                let cy = (y / cell).fract() - 0.5;
                if (cx * cx + cy * cy).sqrt() < 0.28 + self.jitter * 0.1 {
                    let col = ((x + offset) / cell).floor() as i64;
                    1 + ((row as i64 + col).rem_euclid((n as i64 - 1).max(1))) as usize
                } else {
                    0
                }
            }
            DesignStyle::Formal => {
                // Thin pinstripes over the base, every `scale` pixels.
                let pos = x.rem_euclid(self.scale);
                if pos < 6.0 + self.jitter * 6.0 {
                    1 + ((x / self.scale).floor() as i64).rem_euclid((n as i64 - 1).max(1)) as usize
                } else {
                    0
                }
            }
            DesignStyle::Sporty => {
                // Wide diagonal bands cycling through the palette.
                let (s, c) = self.angle.sin_cos();
                let t = x * c + y * s;
                ((t / self.scale).floor() as i64).rem_euclid(n as i64) as usize
            }
            DesignStyle::Vintage => {
                // Gingham: horizontal and vertical bands; where they cross,
                // the next colour.
                let bx = ((x / self.scale).floor() as i64).rem_euclid(2);
                let by = ((y / self.scale).floor() as i64).rem_euclid(2);
                match (bx, by) {
                    (0, 0) => 0,
                    (1, 1) => 2 % n,
                    _ => 1 % n,
                }
            }
        }
    }
}

/// Draws a design. `colors` are `#rrggbb` (at least one).
pub fn draw(inputs: &DesignInputs) -> Drawing {
    let seed = inputs.seed();
    let mut rng = Rng::new(seed);
    let palette: Vec<[u8; 3]> = if inputs.colors.is_empty() {
        vec![[0x33, 0x33, 0x33]]
    } else {
        inputs.colors.iter().map(|c| parse_hex(c)).collect()
    };
    let pattern = Pattern {
        kind: inputs.style,
        scale: rng.range(90.0, 180.0).round(),
        angle: rng.range(0.5, 1.1),
        jitter: rng.range(0.0, 1.0),
        colors: palette.len(),
    };
    let mut image = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb(BACKGROUND));
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    for (px, py, pixel) in image.enumerate_pixels_mut() {
        let (x, y) = (px as f32, py as f32);
        if inside(inputs.category, x / w, y / h) {
            *pixel = Rgb(palette[pattern.color_at(x, y) % palette.len()]);
        }
    }
    let thumb = image::imageops::resize(
        &image,
        THUMB_WIDTH,
        THUMB_HEIGHT,
        image::imageops::FilterType::Triangle,
    );
    let parameters = json!({
        "width": WIDTH,
        "height": HEIGHT,
        "silhouette": inputs.category.as_str(),
        "pattern": pattern_of(inputs.style),
        "palette": inputs.colors,
        "scale": pattern.scale,
        "angle": pattern.angle,
        "jitter": pattern.jitter,
        "generatorVersion": GENERATOR_VERSION,
    });
    Drawing {
        png: encode_png(&image),
        thumbnail: encode_png(&thumb),
        seed,
        parameters,
    }
}

pub fn encode_png(image: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(
        Cursor::new(&mut bytes),
        CompressionType::Fast,
        FilterType::Sub,
    )
    .write_image(
        image.as_raw(),
        image.width(),
        image.height(),
        image::ExtendedColorType::Rgb8,
    )
    .expect("encoding a PNG in memory cannot fail");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(style: DesignStyle) -> DesignInputs {
        DesignInputs {
            prompt: "A  bold Summer dress".into(),
            category: DesignCategory::Dress,
            style,
            colors: vec!["#cc2233".into(), "#1144aa".into()],
        }
    }

    #[test]
    fn the_seed_depends_on_the_canonical_inputs_only() {
        let a = inputs(DesignStyle::Casual);
        let mut b = a.clone();
        b.prompt = "a bold summer   DRESS".into();
        assert_eq!(a.seed(), b.seed());
        b.colors.reverse();
        assert_ne!(a.seed(), b.seed());
    }

    #[test]
    fn the_rng_sequence_is_fixed() {
        let mut rng = Rng::new(42);
        assert_eq!(rng.next_u64(), 0xbdd7_3226_2feb_6e95);
    }

    #[test]
    fn same_inputs_same_bytes_at_print_size() {
        let a = draw(&inputs(DesignStyle::Sporty));
        let b = draw(&inputs(DesignStyle::Sporty));
        assert_eq!(a.png, b.png);
        let decoded = image::load_from_memory(&a.png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (WIDTH, HEIGHT));
        let thumb = image::load_from_memory(&a.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (THUMB_WIDTH, THUMB_HEIGHT));
        let c = draw(&inputs(DesignStyle::Vintage));
        assert_ne!(a.png, c.png);
    }
}
