//! The palette score: how close a generated image's colours are to the
//! requested ones, computed from the image, 0 to 1.
//!
//! 1. The image is sampled on a grid (about 20,000 pixels) and each sample
//!    converted to CIE Lab (D65), where distance follows perceived difference.
//! 2. k-means (k = 6, deterministic start: k-means++ with a fixed RNG) finds
//!    the dominant colours and the share of the image each covers.
//! 3. Each dominant colour is matched to its nearest requested colour;
//!    a distance ΔE*ab of 0 is a perfect match and [`FAR`] or more none:
//!    closeness = max(0, 1 − ΔE / FAR).
//! 4. Precision: the share-weighted closeness of the dominant colours (how
//!    much of the image is in the palette). Recall: for each requested
//!    colour, its closeness to the nearest dominant colour that covers at
//!    least 2% of the image (is every requested colour there?).
//!    Score = the mean of the two.
//!
//! An off-palette background lowers precision honestly: the offline
//! generator's neutral background is part of the image.

use image::RgbImage;

use crate::generator::{Rng, parse_hex};

/// ΔE*ab at which a colour no longer counts as the requested one.
pub const FAR: f64 = 50.0;
const K: usize = 6;
const ITERATIONS: usize = 12;
const MIN_SHARE: f64 = 0.02;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lab {
    pub l: f64,
    pub a: f64,
    pub b: f64,
}

impl Lab {
    pub fn distance(&self, other: &Lab) -> f64 {
        ((self.l - other.l).powi(2) + (self.a - other.a).powi(2) + (self.b - other.b).powi(2))
            .sqrt()
    }
}

fn linear(c: u8) -> f64 {
    let c = c as f64 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn gamma(c: f64) -> u8 {
    let c = c.clamp(0.0, 1.0);
    let v = if c <= 0.003_130_8 {
        c * 12.92
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    };
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

pub fn rgb_to_lab(rgb: [u8; 3]) -> Lab {
    let (r, g, b) = (linear(rgb[0]), linear(rgb[1]), linear(rgb[2]));
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    Lab {
        l: 116.0 * fy - 16.0,
        a: 500.0 * (fx - fy),
        b: 200.0 * (fy - fz),
    }
}

pub fn lab_to_hex(lab: Lab) -> String {
    let fy = (lab.l + 16.0) / 116.0;
    let fx = fy + lab.a / 500.0;
    let fz = fy - lab.b / 200.0;
    let inv = |t: f64| {
        if t.powi(3) > 216.0 / 24389.0 {
            t.powi(3)
        } else {
            (116.0 * t - 16.0) / (24389.0 / 27.0)
        }
    };
    let (x, y, z) = (inv(fx) * 0.950_47, inv(fy), inv(fz) * 1.088_83);
    let r = 3.240_454_2 * x - 1.537_138_5 * y - 0.498_531_4 * z;
    let g = -0.969_266 * x + 1.876_010_8 * y + 0.041_556 * z;
    let b = 0.055_643_4 * x - 0.204_025_9 * y + 1.057_225_2 * z;
    format!("#{:02x}{:02x}{:02x}", gamma(r), gamma(g), gamma(b))
}

/// A dominant colour and the share of the image it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dominant {
    pub color: Lab,
    pub share: f64,
}

/// The image's dominant colours, largest share first.
pub fn dominant_colors(image: &RgbImage) -> Vec<Dominant> {
    let step = ((image.width() as u64 * image.height() as u64 / 20_000) as f64)
        .sqrt()
        .max(1.0) as u32;
    let mut samples = Vec::new();
    for y in (0..image.height()).step_by(step as usize) {
        for x in (0..image.width()).step_by(step as usize) {
            samples.push(rgb_to_lab(image.get_pixel(x, y).0));
        }
    }
    kmeans(&samples)
}

fn kmeans(samples: &[Lab]) -> Vec<Dominant> {
    if samples.is_empty() {
        return Vec::new();
    }
    // k-means++ start with a fixed seed: the same image, the same answer.
    let mut rng = Rng::new(0x5eed);
    let mut centers = vec![samples[0]];
    while centers.len() < K {
        let weights: Vec<f64> = samples
            .iter()
            .map(|s| {
                centers
                    .iter()
                    .map(|c| s.distance(c).powi(2))
                    .fold(f64::MAX, f64::min)
            })
            .collect();
        let total: f64 = weights.iter().sum();
        if total <= f64::EPSILON {
            break;
        }
        let mut target = rng.range(0.0, 1.0) as f64 * total;
        let mut chosen = samples.len() - 1;
        for (i, w) in weights.iter().enumerate() {
            if target < *w {
                chosen = i;
                break;
            }
            target -= w;
        }
        centers.push(samples[chosen]);
    }
    let mut assignment = vec![0usize; samples.len()];
    for _ in 0..ITERATIONS {
        for (i, s) in samples.iter().enumerate() {
            assignment[i] = nearest(&centers, s).0;
        }
        let mut sums = vec![(0.0, 0.0, 0.0, 0usize); centers.len()];
        for (s, &c) in samples.iter().zip(&assignment) {
            let e = &mut sums[c];
            e.0 += s.l;
            e.1 += s.a;
            e.2 += s.b;
            e.3 += 1;
        }
        for (center, (l, a, b, count)) in centers.iter_mut().zip(sums) {
            if count > 0 {
                let n = count as f64;
                *center = Lab {
                    l: l / n,
                    a: a / n,
                    b: b / n,
                };
            }
        }
    }
    let mut counts = vec![0usize; centers.len()];
    for &c in &assignment {
        counts[c] += 1;
    }
    let mut dominant: Vec<Dominant> = centers
        .into_iter()
        .zip(counts)
        .filter(|(_, count)| *count > 0)
        .map(|(color, count)| Dominant {
            color,
            share: count as f64 / samples.len() as f64,
        })
        .collect();
    dominant.sort_by(|a, b| b.share.total_cmp(&a.share));
    // Clusters that ended on the same colour are one colour.
    let mut merged: Vec<Dominant> = Vec::new();
    for d in dominant {
        match merged.iter_mut().find(|m| m.color.distance(&d.color) < 2.0) {
            Some(m) => m.share += d.share,
            None => merged.push(d),
        }
    }
    merged
}

fn nearest(centers: &[Lab], sample: &Lab) -> (usize, f64) {
    centers
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.distance(sample)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, f64::MAX))
}

fn closeness(distance: f64) -> f64 {
    (1.0 - distance / FAR).max(0.0)
}

/// The score of `dominant` colours against the `requested` `#rrggbb` ones.
pub fn score(dominant: &[Dominant], requested: &[String]) -> f64 {
    let wanted: Vec<Lab> = requested.iter().map(|c| rgb_to_lab(parse_hex(c))).collect();
    if wanted.is_empty() || dominant.is_empty() {
        return 0.0;
    }
    let precision: f64 = dominant
        .iter()
        .map(|d| d.share * closeness(nearest(&wanted, &d.color).1))
        .sum();
    let present: Vec<Lab> = dominant
        .iter()
        .filter(|d| d.share >= MIN_SHARE)
        .map(|d| d.color)
        .collect();
    let recall = wanted
        .iter()
        .map(|w| closeness(nearest(&present, w).1))
        .sum::<f64>()
        / wanted.len() as f64;
    let score = (precision + recall) / 2.0;
    (score * 1000.0).round() / 1000.0
}

/// Dominant colours (hex, largest first) and the score of a PNG.
pub fn analyse(png: &[u8], requested: &[String]) -> anyhow::Result<(Vec<String>, f64)> {
    let image = image::load_from_memory(png)?.to_rgb8();
    let dominant = dominant_colors(&image);
    let hex = dominant.iter().map(|d| lab_to_hex(d.color)).collect();
    Ok((hex, score(&dominant, requested)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn solid(rgb: [u8; 3]) -> RgbImage {
        RgbImage::from_pixel(120, 160, Rgb(rgb))
    }

    fn halves(left: [u8; 3], right: [u8; 3]) -> RgbImage {
        RgbImage::from_fn(120, 160, |x, _| Rgb(if x < 60 { left } else { right }))
    }

    fn score_of(image: &RgbImage, requested: &[&str]) -> f64 {
        let requested: Vec<String> = requested.iter().map(|s| s.to_string()).collect();
        score(&dominant_colors(image), &requested)
    }

    #[test]
    fn lab_round_trips_to_hex() {
        for hex in ["#cc2233", "#1144aa", "#f4f1ea", "#000000", "#ffffff"] {
            assert_eq!(lab_to_hex(rgb_to_lab(parse_hex(hex))), hex);
        }
        let white = rgb_to_lab([255, 255, 255]);
        assert!((white.l - 100.0).abs() < 0.01 && white.a.abs() < 0.01);
    }

    #[test]
    fn an_image_of_exactly_the_palette_scores_one() {
        assert_eq!(score_of(&solid([0xcc, 0x22, 0x33]), &["#cc2233"]), 1.0);
        let two = halves([0xcc, 0x22, 0x33], [0x11, 0x44, 0xaa]);
        assert_eq!(score_of(&two, &["#cc2233", "#1144aa"]), 1.0);
    }

    #[test]
    fn an_image_of_another_colour_scores_zero() {
        assert_eq!(score_of(&solid([0xcc, 0x22, 0x33]), &["#1144aa"]), 0.0);
    }

    #[test]
    fn half_the_image_in_the_palette_scores_in_between() {
        // Red asked, half red half blue: precision 0.5, recall 1.
        let two = halves([0xcc, 0x22, 0x33], [0x11, 0x44, 0xaa]);
        assert_eq!(score_of(&two, &["#cc2233"]), 0.75);
        // Red and green asked, only red there: precision 1, recall 0.5.
        let red = solid([0xcc, 0x22, 0x33]);
        assert_eq!(score_of(&red, &["#cc2233", "#22cc33"]), 0.75);
    }

    #[test]
    fn a_near_colour_scores_high_but_below_one() {
        let s = score_of(&solid([0xd0, 0x28, 0x30]), &["#cc2233"]);
        assert!(s > 0.9 && s < 1.0, "{s}");
    }

    #[test]
    fn finds_the_dominant_colours_in_order() {
        let image = RgbImage::from_fn(100, 100, |x, _| {
            Rgb(if x < 70 {
                [0xf4, 0xf1, 0xea]
            } else {
                [0x11, 0x44, 0xaa]
            })
        });
        let dominant = dominant_colors(&image);
        assert_eq!(dominant.len(), 2, "{dominant:?}");
        assert_eq!(lab_to_hex(dominant[0].color), "#f4f1ea");
        assert!((dominant[0].share - 0.7).abs() < 0.02);
    }
}
