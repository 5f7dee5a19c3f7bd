//! Passwords: the rules a new one must meet, and argon2id hashing.
//!
//! Hashing is deliberately slow, so it runs on the blocking pool and never
//! stalls the runtime's workers. Sign-in for an unknown email verifies
//! against a dummy hash with the same parameters, so the response time does
//! not tell whether an account exists.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 256;

/// The most common passwords that meet the length rule, lower-cased; these
/// are the first ones tried in any credential-stuffing run.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "0123456789",
    "0987654321",
    "1111111111",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "qwertyuiop",
    "qwerty12345",
    "qwerty123456",
    "password1!",
    "password12",
    "password123",
    "password1234",
    "passw0rd12",
    "iloveyou12",
    "abcd123456",
    "abc1234567",
    "a123456789",
    "aa12345678",
    "asdfghjkl1",
    "zxcvbnm123",
    "football12",
    "baseball12",
    "princess12",
    "sunshine12",
    "welcome123",
    "letmein123",
    "trustno1234",
    "starwars12",
    "dragon1234",
    "monkey1234",
    "master1234",
    "superman12",
    "michael123",
    "jennifer12",
    "computer12",
    "whatever12",
    "changeme123",
    "administrator",
    "admin12345",
    "qwertyuiop1",
    "1234qwerasdf",
    "q1w2e3r4t5",
    "zaq12wsxcde",
    "password!@#",
    "p@ssw0rd12",
    "passwordpassword",
];

/// A new password that meets the rules. Never logged, never printed.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl NewPassword {
    /// `email` is refused as a password too.
    pub fn parse(raw: &str, email: Option<&str>) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if chars < MIN_LEN {
            return Err("must be at least 10 characters");
        }
        if chars > MAX_LEN {
            return Err("must be at most 256 characters");
        }
        let lowered = raw.to_lowercase();
        if COMMON.contains(&lowered.as_str()) || lowered.chars().all(|c| lowered.starts_with(c)) {
            return Err("is too common; choose a less guessable password");
        }
        if email.is_some_and(|email| lowered == email.to_lowercase()) {
            return Err("must not be your email address");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2()
        .hash_password(b"no account has this password")
        .expect("hashing a constant works")
        .to_string()
});

/// Hashes on the blocking pool; returns a PHC string.
pub async fn hash(password: NewPassword) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.expose().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
    })
    .await?
}

/// Verifies `password` against `stored`, or against the dummy hash when there
/// is no account, so both paths cost the same.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let matches = argon2()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        known && matches
    })
    .await
    .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_length_commonness_and_email() {
        assert!(NewPassword::parse("short", None).is_err());
        assert!(NewPassword::parse(&"x".repeat(257), None).is_err());
        assert!(NewPassword::parse("Password123", None).is_err());
        assert!(NewPassword::parse("aaaaaaaaaaaa", None).is_err());
        assert!(NewPassword::parse("ada@example.com", Some("Ada@example.com")).is_err());
        assert!(
            NewPassword::parse("correct horse battery staple", Some("ada@example.com")).is_ok()
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(
            NewPassword::parse("ééééééééé", None).is_err(),
            "9 characters, 18 bytes"
        );
        assert!(NewPassword::parse("ééééééééèè", None).is_ok());
    }

    #[tokio::test]
    async fn verifies_only_the_right_password() {
        let stored = hash(NewPassword::parse("correct horse battery staple", None).unwrap())
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify("correct horse battery staple".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery staple".into(), Some(stored))
                .await
                .unwrap()
        );
        assert!(
            !verify("no account has this password".into(), None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn never_prints_the_password() {
        let password = NewPassword::parse("correct horse battery staple", None).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
