//! ETags and If-Match for optimistic locking: an item's `version` attribute
//! is its ETag (`"v7"`); a write with If-Match succeeds only at that version.

use axum::http::{HeaderMap, HeaderValue, header};

use super::{ApiError, ApiResult};

/// The ETag of version `version` of a resource.
pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"v{version}\"")).expect("an ETag is ASCII")
}

/// The version an `If-Match` header names, if the client sent one; 400 if it
/// is not an ETag this API hands out.
pub fn if_match_version(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .strip_prefix('v')
        })
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::bad_request("If-Match must be an ETag this API returned"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_if_match(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_back_the_etags_it_hands_out() {
        assert_eq!(etag(7), "\"v7\"");
        assert_eq!(if_match_version(&with_if_match("\"v7\"")).unwrap(), Some(7));
        assert_eq!(
            if_match_version(&with_if_match("W/\"v3\"")).unwrap(),
            Some(3)
        );
        assert_eq!(if_match_version(&HeaderMap::new()).unwrap(), None);
        assert!(if_match_version(&with_if_match("*")).is_err());
        assert!(if_match_version(&with_if_match("\"abc\"")).is_err());
    }
}
