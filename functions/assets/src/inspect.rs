//! What an uploaded file really is, judged by its bytes, never by its name
//! or declared type; image dimensions and thumbnails, with decoding limits
//! so a crafted file cannot exhaust the function's memory.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

use crate::asset::MediaType;

pub const THUMBNAIL_MAX_SIDE: u32 = 256;
/// Larger images are refused before decoding: 16k × 16k is far beyond any
/// product photo and keeps decoding within the function's memory.
const MAX_SIDE: u32 = 16_384;
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

/// The type the first bytes announce, if it is one we accept.
pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(MediaType::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(MediaType::Png);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(MediaType::Webp);
    }
    if bytes.starts_with(b"%PDF-") {
        return Some(MediaType::Pdf);
    }
    if looks_like_svg(bytes) {
        return Some(MediaType::Svg);
    }
    None
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(&bytes[..bytes.len().min(4096)]) else {
        return false;
    };
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    // Skip an XML declaration, comments and a doctype before the root.
    loop {
        if rest.starts_with("<?")
            || rest.starts_with("<!--")
            || rest.starts_with("<!DOCTYPE")
            || rest.starts_with("<!doctype")
        {
            let end = if rest.starts_with("<!--") {
                rest.find("-->").map(|i| i + 3)
            } else {
                rest.find('>').map(|i| i + 1)
            };
            match end {
                Some(end) => rest = rest[end..].trim_start(),
                None => return false,
            }
        } else {
            break;
        }
    }
    rest.starts_with("<svg")
}

/// Why an SVG is refused. SVG is a document format: scripts, event
/// handlers, embedded HTML and references to other resources all run or
/// load in a viewer, so artwork with any of them is rejected rather than
/// rewritten (a sanitizer that misses one case is worse than a clear no).
pub fn svg_problem(bytes: &[u8]) -> Option<&'static str> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some("the SVG is not UTF-8 text");
    };
    let lower = text.to_ascii_lowercase();
    if lower.contains("<script") {
        return Some("the SVG contains a script");
    }
    if lower.contains("<foreignobject") {
        return Some("the SVG embeds foreign (HTML) content");
    }
    if lower.contains("<!entity") {
        return Some("the SVG declares XML entities");
    }
    if lower.contains("javascript:") || lower.contains("data:text/html") {
        return Some("the SVG contains a script URL");
    }
    // on…= attributes: onload, onclick, onmouseover, ...
    let bytes = lower.as_bytes();
    for (i, window) in bytes.windows(3).enumerate() {
        if window == b" on" || window == b"\ton" || window == b"\non" {
            let name: String = lower[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            let after = lower[i + 1 + name.len()..].trim_start();
            if name.len() > 2 && after.starts_with('=') {
                return Some("the SVG has an event handler attribute");
            }
        }
    }
    for attribute in ["href=\"", "href='"] {
        let mut from = 0;
        while let Some(at) = lower[from..].find(attribute) {
            let value_start = from + at + attribute.len();
            if !lower[value_start..].starts_with('#') {
                return Some("the SVG references an external resource");
            }
            from = value_start;
        }
    }
    if lower.contains("url(http") || lower.contains("@import") {
        return Some("the SVG references an external resource");
    }
    None
}

/// An SVG's size from its `width`/`height` attributes, else its `viewBox`.
pub fn svg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let root_start = text.find("<svg")?;
    let root = &text[root_start..root_start + text[root_start..].find('>')?];
    let attribute = |name: &str| -> Option<&str> {
        let at = root.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(&root[at..at + root[at..].find('"')?])
    };
    let number = |raw: &str| {
        raw.trim_end_matches("px")
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| *n > 0.0)
    };
    if let (Some(w), Some(h)) = (
        attribute("width").and_then(number),
        attribute("height").and_then(number),
    ) {
        return Some((w.round() as u32, h.round() as u32));
    }
    let view_box: Vec<f64> = attribute("viewBox")?
        .split([' ', ','])
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    match view_box.as_slice() {
        [_, _, w, h] if *w > 0.0 && *h > 0.0 => Some((w.round() as u32, h.round() as u32)),
        _ => None,
    }
}

/// A decoded raster image's dimensions and its PNG thumbnail.
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub thumbnail_png: Vec<u8>,
}

fn image_format(media: MediaType) -> Option<ImageFormat> {
    match media {
        MediaType::Jpeg => Some(ImageFormat::Jpeg),
        MediaType::Png => Some(ImageFormat::Png),
        MediaType::Webp => Some(ImageFormat::WebP),
        MediaType::Svg | MediaType::Pdf => None,
    }
}

/// Decodes (within limits) and makes a thumbnail at most 256 px on its long
/// side. CPU-bound: call it on the blocking pool.
pub fn decode_raster(bytes: &[u8], media: MediaType) -> Result<Raster, String> {
    let format = image_format(media).ok_or("not a raster image")?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| format!("the image cannot be decoded: {e}"))?;
    let thumbnail = image.thumbnail(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE);
    let mut png = Cursor::new(Vec::new());
    thumbnail
        .write_to(&mut png, ImageFormat::Png)
        .map_err(|e| format!("the thumbnail cannot be written: {e}"))?;
    Ok(Raster {
        width: image.width(),
        height: image.height(),
        thumbnail_png: png.into_inner(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(sniff(&png(2, 2)), Some(MediaType::Png));
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(MediaType::Jpeg));
        assert_eq!(
            sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 "),
            Some(MediaType::Webp)
        );
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(MediaType::Pdf));
        assert_eq!(
            sniff(b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- art -->\n<svg xmlns=\"x\"/>"),
            Some(MediaType::Svg)
        );
        assert_eq!(sniff(b"<html><svg/></html>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn thumbnails_keep_the_aspect_ratio() {
        let raster = decode_raster(&png(1024, 512), MediaType::Png).unwrap();
        assert_eq!((raster.width, raster.height), (1024, 512));
        let thumb = image::load_from_memory(&raster.thumbnail_png).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (256, 128));
    }

    #[test]
    fn a_truncated_image_is_refused() {
        let mut bytes = png(64, 64);
        bytes.truncate(bytes.len() / 2);
        assert!(decode_raster(&bytes, MediaType::Png).is_err());
    }

    #[test]
    fn dangerous_svgs_are_named() {
        let clean = br##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="10" height="10"/><use href="#g"/></svg>"##;
        assert_eq!(svg_problem(clean), None);
        assert_eq!(svg_dimensions(clean), Some((120, 80)));
        for bad in [
            &br#"<svg><script>alert(1)</script></svg>"#[..],
            br#"<svg onload="alert(1)"></svg>"#,
            br#"<svg><a href="javascript:alert(1)">x</a></svg>"#,
            br#"<svg><image href="https://evil.example/x.png"/></svg>"#,
            br#"<svg><foreignObject><iframe/></foreignObject></svg>"#,
            br#"<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>"#,
        ] {
            assert!(
                svg_problem(bad).is_some(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn svg_dimensions_fall_back_to_the_view_box() {
        assert_eq!(
            svg_dimensions(br#"<svg viewBox="0 0 300 150"></svg>"#),
            Some((300, 150))
        );
        assert_eq!(svg_dimensions(br#"<svg></svg>"#), None);
    }
}
