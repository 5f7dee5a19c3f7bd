//! Opaque page cursors.
//!
//! A cursor is DynamoDB's LastEvaluatedKey, as JSON, base64url-encoded. On the
//! way back in it is checked: it must name exactly the key attributes of the
//! index being queried, all strings, and its partition must be the one being
//! queried. A cursor forged to start in someone else's partition is refused
//! (400) instead of followed.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const MAX_CURSOR_LEN: usize = 2048;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the cursor is not valid for this list; start again without it")]
pub struct InvalidCursor;

pub fn encode_cursor(key: &HashMap<String, AttributeValue>) -> String {
    let plain: BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(name, value)| value.as_s().ok().map(|s| (name.as_str(), s.as_str())))
        .collect();
    let json = serde_json::to_vec(&plain).expect("a map of strings always serializes");
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes `raw`, requiring exactly `attrs` and `partition.0 == partition.1`.
pub fn decode_cursor(
    raw: &str,
    attrs: &[&str],
    partition: (&str, &str),
) -> Result<HashMap<String, AttributeValue>, InvalidCursor> {
    if raw.len() > MAX_CURSOR_LEN {
        return Err(InvalidCursor);
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| InvalidCursor)?;
    let map: BTreeMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| InvalidCursor)?;
    let same_attrs = map.len() == attrs.len() && attrs.iter().all(|a| map.contains_key(*a));
    if !same_attrs || map.get(partition.0).map(String::as_str) != Some(partition.1) {
        return Err(InvalidCursor);
    }
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    const ATTRS: &[&str] = &["PK", "SK"];

    #[test]
    fn round_trips_a_key() {
        let original = key(&[("PK", "USER#1"), ("SK", "ORDER#9")]);
        let cursor = encode_cursor(&original);
        assert_eq!(
            decode_cursor(&cursor, ATTRS, ("PK", "USER#1")),
            Ok(original)
        );
    }

    #[test]
    fn refuses_a_cursor_for_another_partition() {
        let cursor = encode_cursor(&key(&[("PK", "USER#2"), ("SK", "ORDER#9")]));
        assert_eq!(
            decode_cursor(&cursor, ATTRS, ("PK", "USER#1")),
            Err(InvalidCursor)
        );
    }

    #[test]
    fn refuses_missing_extra_or_non_string_attributes() {
        let missing = encode_cursor(&key(&[("PK", "USER#1")]));
        let extra = encode_cursor(&key(&[("PK", "USER#1"), ("SK", "x"), ("GSI1PK", "y")]));
        let numeric = URL_SAFE_NO_PAD.encode(br#"{"PK":"USER#1","SK":5}"#);
        for cursor in [missing, extra, numeric] {
            assert_eq!(
                decode_cursor(&cursor, ATTRS, ("PK", "USER#1")),
                Err(InvalidCursor)
            );
        }
    }

    #[test]
    fn refuses_garbage_and_oversized_input() {
        assert_eq!(decode_cursor("%%%", ATTRS, ("PK", "x")), Err(InvalidCursor));
        assert_eq!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("[1]"), ATTRS, ("PK", "x")),
            Err(InvalidCursor)
        );
        assert_eq!(
            decode_cursor(&"A".repeat(5000), ATTRS, ("PK", "x")),
            Err(InvalidCursor)
        );
    }
}
