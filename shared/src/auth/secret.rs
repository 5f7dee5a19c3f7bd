//! Random bearer secrets (invitation tokens, API keys, and later refresh and
//! reset tokens) and how they are kept: only a SHA-256 hash is ever stored,
//! and a presented secret is compared with a stored hash in constant time.

use aws_lc_rs::digest::{SHA256, digest};

/// `bytes` bytes from the system's CSPRNG, as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("the system random source works");
    hex(&buf)
}

/// The SHA-256 of `secret`, as lowercase hex: what is stored instead of it.
pub fn sha256_hex(secret: &str) -> String {
    hex(digest(&SHA256, secret.as_bytes()).as_ref())
}

/// Whether `secret` hashes to `stored_hash`, in time that does not depend on
/// where the two differ.
pub fn matches_hash(secret: &str, stored_hash: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(
        sha256_hex(secret).as_bytes(),
        stored_hash.as_bytes(),
    )
    .is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_secrets_are_long_and_distinct() {
        let a = random_hex(32);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_hex(32));
    }

    #[test]
    fn hashes_are_sha256_and_compare_exactly() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches_hash("abc", &sha256_hex("abc")));
        assert!(!matches_hash("abd", &sha256_hex("abc")));
        assert!(!matches_hash("abc", ""));
    }
}
