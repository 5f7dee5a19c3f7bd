//! Optimistic locking over HTTP: an item's `version` is its `ETag`, and a
//! write with `If-Match` happens only if the version is still the same
//! (else 412).

use axum::http::header::IF_MATCH;
use axum::http::{HeaderMap, HeaderValue};

use super::ApiError;

/// The strong ETag of an item version: `"7"`.
pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits and quotes are a valid header")
}

/// The version `If-Match` asks for: `None` without the header or with `*`.
/// A value that is no ETag of ours cannot match anything: 412.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let stale = || ApiError::precondition_failed("If-Match does not match the current ETag");
    let text = value.to_str().map_err(|_| stale())?.trim();
    if text == "*" {
        return Ok(None);
    }
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        HeaderMap::from_iter([(IF_MATCH, HeaderValue::from_str(value).unwrap())])
    }

    #[test]
    fn reads_our_etags_and_refuses_others() {
        assert_eq!(etag(7), "\"7\"");
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(if_match(&headers("*")).unwrap(), None);
        assert_eq!(if_match(&headers("\"7\"")).unwrap(), Some(7));
        for bad in ["7", "W/\"7\"", "\"x\"", "\"\""] {
            assert_eq!(
                if_match(&headers(bad)).unwrap_err().status(),
                axum::http::StatusCode::PRECONDITION_FAILED,
                "{bad}"
            );
        }
    }
}
