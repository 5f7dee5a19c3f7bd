//! Two-factor sign-in with an authenticator app (TOTP, RFC 6238) and
//! single-use recovery codes.
//!
//! Item `USER#<id> / MFA` (one per user):
//! - `pending` from `POST /v1/me/mfa/totp` until a code confirms it (it
//!   expires by TTL after 15 minutes; starting again replaces it);
//! - `enabled` from then on, with the hashes of the recovery codes (a
//!   string set: using one is a conditional `DELETE` from the set, so two
//!   concurrent uses of one code cannot both succeed) and the last time
//!   step a code was accepted at (`lastUsedStep`: each accepting write is
//!   conditional on a later step, so a code works once).
//!
//! The secret is sealed with AES-256-GCM ([`cipher`]), bound to the user id;
//! the user item's `mfaEnabled` says whether sign-in needs a second step, so
//! a password sign-in reads nothing more. Turning it on, off, using a
//! recovery code and making new ones each write an audit event in the same
//! transaction; the stream emails the person from it.
//!
//! The endpoints: enrolment and status in [`routes`], the sign-in's second
//! step in [`sign_in`].

pub mod cipher;
pub(crate) mod routes;
pub(crate) mod sign_in;
pub mod totp;

use serde::{Deserialize, Serialize};
use shared::crypto::{constant_time_eq, hash_secret};
use shared::http::{ApiError, ApiResult};
use utoipa::ToSchema;

use crate::IdentityState;
use cipher::{MfaKeys, Sealed};

pub const MFA_TYPE: &str = "MFA";
/// How long a started enrolment waits for its first code.
pub const PENDING_SECS: i64 = 15 * 60;
/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;
/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "Bodega";

pub fn mfa_key(user_id: &str) -> (String, &'static str) {
    (format!("USER#{user_id}"), "MFA")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaState {
    Pending,
    Enabled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub user_id: String,
    pub status: MfaState,
    /// The kid of the key that sealed the secret.
    pub secret_key_id: String,
    /// Nonce, ciphertext and tag, base64: never the secret itself.
    pub secret_ciphertext: String,
    /// The time step of the last code accepted; a code of it or an earlier
    /// step is refused.
    #[serde(default)]
    pub last_used_step: i64,
    /// SHA-256 of `<userId>:<code>` for each unused recovery code.
    #[serde(
        with = "serde_dynamo::string_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub recovery_codes: Vec<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled_at: Option<String>,
    /// Epoch seconds; while pending, also the TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

impl MfaRecord {
    pub fn sealed(&self) -> Sealed {
        Sealed {
            kid: self.secret_key_id.clone(),
            data: self.secret_ciphertext.clone(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.status == MfaState::Enabled
    }

    /// A pending enrolment still waiting for its code (TTL deletion lags).
    pub fn is_live_pending(&self) -> bool {
        self.status == MfaState::Pending
            && self
                .expires_at
                .is_some_and(|at| at > shared::domain::now_epoch())
    }

    /// Whether `code` is one of the unused recovery codes; returns its hash.
    /// Every stored hash is compared, so the time taken tells nothing.
    pub fn recovery_code_hash(&self, code: &str) -> Option<String> {
        let presented = recovery_hash(&self.user_id, &normalize_recovery_code(code)?);
        let mut found = false;
        for stored in &self.recovery_codes {
            found |= constant_time_eq(stored, &presented);
        }
        found.then_some(presented)
    }
}

/// The keys, or 503 when the deployment has none.
pub fn keys(state: &IdentityState) -> ApiResult<&MfaKeys> {
    state.mfa_keys.as_deref().ok_or_else(|| {
        ApiError::unavailable(anyhow::anyhow!(
            "two-factor sign-in is not configured: set MFA_ENCRYPTION_KEYS or MFA_ENCRYPTION_KEYS_SECRET_ID"
        ))
    })
}

/// The user's TOTP secret, opened.
pub fn open_secret(keys: &MfaKeys, record: &MfaRecord) -> ApiResult<Vec<u8>> {
    keys.open(&record.user_id, &record.sealed()).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!(
            "the TOTP secret of user {} does not open with key {:?}",
            record.user_id,
            record.secret_key_id
        ))
    })
}

/// The step of `code` if it is the authenticator's code now (±1 step) and
/// later than the last one accepted.
pub fn accepted_step(secret: &[u8], record: &MfaRecord, code: &str) -> Option<i64> {
    let code = totp::parse_code(code)?;
    let now = totp::step_at(shared::domain::now_epoch());
    totp::matching_step(secret, code, now).filter(|step| *step > record.last_used_step)
}

pub async fn find(state: &IdentityState, user_id: &str) -> ApiResult<Option<MfaRecord>> {
    let (pk, sk) = mfa_key(user_id);
    Ok(state.store.get::<MfaRecord>(&pk, sk).await?)
}

/// Crockford's base32 alphabet, lower case: no i, l, o or u to misread.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Ten new recovery codes (80 bits each, `xxxx-xxxx-xxxx-xxxx`) and their
/// hashes for `user_id`.
pub fn new_recovery_codes(user_id: &str) -> (Vec<String>, Vec<String>) {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let rng = SystemRandom::new();
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    while codes.len() < RECOVERY_CODES {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes).expect("the system RNG works");
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char)
            .collect();
        let code = chars
            .chunks(4)
            .map(|group| group.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-");
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let hashes = codes
        .iter()
        .map(|code| {
            recovery_hash(
                user_id,
                &normalize_recovery_code(code).expect("a code we made"),
            )
        })
        .collect();
    (codes, hashes)
}

/// A recovery code as typed: dashes and spaces dropped, lower case; `None`
/// unless 16 characters of the alphabet remain.
fn normalize_recovery_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == 16 && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

fn recovery_hash(user_id: &str, normalized: &str) -> String {
    hash_secret(&format!("{user_id}:{normalized}"))
}

/// The person's two-factor sign-in, as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaStatusView {
    /// Sign-in takes a code from the authenticator (or a recovery code).
    pub enabled: bool,
    /// A set-up was started and waits for its first code.
    pub pending: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "2026-11-27T01:10:00Z")]
    pub enrolled_at: Option<String>,
    /// Unused recovery codes.
    #[schema(example = 10)]
    pub recovery_codes_left: usize,
}

impl MfaStatusView {
    pub fn of(record: Option<&MfaRecord>) -> Self {
        let enabled = record.is_some_and(MfaRecord::is_enabled);
        Self {
            enabled,
            pending: record.is_some_and(MfaRecord::is_live_pending),
            enrolled_at: record
                .filter(|r| r.is_enabled())
                .and_then(|r| r.enrolled_at.clone()),
            recovery_codes_left: record
                .filter(|r| r.is_enabled())
                .map_or(0, |r| r.recovery_codes.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(user_id: &str, hashes: Vec<String>) -> MfaRecord {
        let (pk, sk) = mfa_key(user_id);
        MfaRecord {
            pk,
            sk: sk.to_owned(),
            item_type: MFA_TYPE.into(),
            user_id: user_id.into(),
            status: MfaState::Enabled,
            secret_key_id: "k".into(),
            secret_ciphertext: "c".into(),
            last_used_step: 0,
            recovery_codes: hashes,
            created_at: "2026-11-27T01:00:00Z".into(),
            enrolled_at: None,
            expires_at: None,
            ttl: None,
        }
    }

    #[test]
    fn recovery_codes_are_distinct_readable_and_tied_to_their_user() {
        let (codes, hashes) = new_recovery_codes("u1");
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(hashes.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            assert!(!code.contains(['i', 'l', 'o', 'u']), "{code}");
        }
        let mine = record("u1", hashes.clone());
        let code = &codes[3];
        assert_eq!(
            mine.recovery_code_hash(code).as_deref(),
            Some(hashes[3].as_str())
        );
        assert!(
            mine.recovery_code_hash(&code.to_uppercase().replace('-', " "))
                .is_some()
        );
        assert!(mine.recovery_code_hash("not-a-code").is_none());
        let theirs = record("u2", hashes);
        assert!(
            theirs.recovery_code_hash(code).is_none(),
            "hashed with the user id"
        );
    }

    #[test]
    fn the_item_stores_recovery_codes_as_a_string_set() {
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(record(
            "u1",
            vec!["a".into(), "b".into()],
        ))
        .unwrap();
        assert!(matches!(
            item["recoveryCodes"],
            serde_dynamo::AttributeValue::Ss(_)
        ));
        let none =
            serde_dynamo::to_item::<_, serde_dynamo::Item>(record("u1", Vec::new())).unwrap();
        assert!(
            !none.contains_key("recoveryCodes"),
            "DynamoDB has no empty sets"
        );
        let back: MfaRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back.recovery_codes, ["a", "b"]);
    }
}
