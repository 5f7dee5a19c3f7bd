//! Domain values that cross contexts. Holding one means it is valid.

pub mod address;
pub mod country;
pub mod email;
pub mod money;
pub mod sku;
mod string_enum;

pub use address::{Address, AddressInput};
pub use country::{CountryCode, InvalidCountry};
pub use email::{Email, InvalidEmail};
pub use money::{Currency, InvalidMoney, Money};
pub use sku::{InvalidSku, Sku};

/// A new time-ordered id (ULID): sorts by creation time, so "newest first"
/// is a reverse key order.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

/// Now, as RFC 3339 text, the form timestamps take in items and responses.
pub fn now_rfc3339() -> String {
    crate::clock::now()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time always formats")
}

/// Now, as Unix epoch seconds (the form of `ttl` and expiry attributes).
pub fn now_epoch() -> i64 {
    crate::clock::now().unix_timestamp()
}

/// Epoch seconds as RFC 3339 text.
pub fn epoch_to_rfc3339(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// RFC 3339 text as epoch seconds, if it is RFC 3339.
pub fn rfc3339_to_epoch(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Trimmed single-line text of 1 to `max_chars` characters, or why not.
pub fn plain_text(raw: &str, max_chars: usize) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        Err("is required".into())
    } else if text.chars().count() > max_chars || text.chars().any(char::is_control) {
        Err(format!(
            "must be at most {max_chars} characters, without control characters"
        ))
    } else {
        Ok(text.to_owned())
    }
}

/// Text without HTML: tags and comments are dropped, so user text (a
/// review, a public profile) can never carry markup into a page that
/// forgets to escape it.
pub fn strip_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_tag = c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
        if starts_tag {
            for inner in chars.by_ref() {
                if inner == '>' {
                    break;
                }
            }
        } else if c != '<' && c != '>' {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_stray_brackets_but_keeps_text() {
        assert_eq!(strip_html("<b>Great</b> tomatoes"), "Great tomatoes");
        assert_eq!(
            strip_html("<script>alert(1)</script>ok<!-- x -->"),
            "alert(1)ok"
        );
        assert_eq!(strip_html("3 < 5 and 7 > 2"), "3  5 and 7  2");
        assert_eq!(strip_html("<img src=x onerror=alert(1)>"), "");
        assert_eq!(strip_html("plain"), "plain");
    }
}
