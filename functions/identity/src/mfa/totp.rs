//! Time-based one-time passwords (RFC 6238): HMAC-SHA1 over the number of
//! 30-second steps since the epoch, truncated to 6 digits (RFC 4226), which
//! is what authenticator apps compute from an `otpauth://` URI.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps of clock drift accepted either side of now.
pub const DRIFT_STEPS: i64 = 1;
/// 160 bits, the size RFC 4226 recommends for an HMAC-SHA1 key.
pub const SECRET_BYTES: usize = 20;

/// The step `epoch_secs` falls in.
pub fn step_at(epoch_secs: i64) -> i64 {
    epoch_secs.div_euclid(STEP_SECS)
}

/// The code of `step` for `secret` (RFC 4226 dynamic truncation).
pub fn code_at_step(secret: &[u8], step: i64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    binary % 10u32.pow(DIGITS)
}

/// A code as the user typed it: six digits, spaces ignored.
pub fn parse_code(raw: &str) -> Option<u32> {
    let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The step whose code `code` is, within the drift either side of
/// `now_step`, newest first; `None` if it matches none. Every candidate
/// is computed, so the time taken does not tell which one matched.
pub fn matching_step(secret: &[u8], code: u32, now_step: i64) -> Option<i64> {
    let mut found = None;
    for step in (now_step - DRIFT_STEPS..=now_step + DRIFT_STEPS).rev() {
        let matches = constant_time_eq_u32(code_at_step(secret, step), code);
        if matches && found.is_none() {
            found = Some(step);
        }
    }
    found
}

fn constant_time_eq_u32(a: u32, b: u32) -> bool {
    (a ^ b) == 0
}

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    SystemRandom::new()
        .fill(&mut secret)
        .expect("the system RNG works");
    secret
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding: what authenticator apps read.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` URI an authenticator app scans as a QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label = format!("{}:{}", percent(issuer), percent(account));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        base32(secret),
        percent(issuer)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 rows (8 digits there; the last 6
    /// are ours, since truncation is modulo 10^digits).
    #[test]
    fn matches_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight_digits) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000_i64, 65353130),
        ] {
            assert_eq!(
                code_at_step(secret, step_at(time)),
                eight_digits % 1_000_000,
                "T = {time}"
            );
        }
    }

    #[test]
    fn accepts_one_step_of_drift_either_side_and_no_more() {
        let secret = new_secret();
        let now = step_at(1_800_000_000);
        for offset in -1..=1 {
            let code = code_at_step(&secret, now + offset);
            assert_eq!(matching_step(&secret, code, now), Some(now + offset));
        }
        for offset in [-3, -2, 2, 3] {
            let code = code_at_step(&secret, now + offset);
            // A code of a far step may collide with a near one by chance.
            let near = (-1..=1).any(|o| code_at_step(&secret, now + o) == code);
            assert_eq!(matching_step(&secret, code, now).is_some(), near);
        }
    }

    #[test]
    fn parses_six_digits_only() {
        assert_eq!(parse_code("012345"), Some(12345));
        assert_eq!(parse_code(" 012 345 "), Some(12345));
        assert_eq!(parse_code("12345"), None);
        assert_eq!(parse_code("1234567"), None);
        assert_eq!(parse_code("12345a"), None);
        assert_eq!(parse_code("١٢٣٤٥٦"), None);
    }

    #[test]
    fn encodes_base32_as_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert_eq!(base32(&new_secret()).len(), 32);
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri("Bodega", "ada+shop@example.com", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Bodega:ada%2Bshop%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bodega&algorithm=SHA1&digits=6&period=30"
        );
    }
}
