//! TOTP secrets at rest: AES-256-GCM under a key from configuration
//! (`MFA_ENCRYPTION_KEYS`, or the Secrets Manager secret named by
//! `MFA_ENCRYPTION_KEYS_SECRET_ID`), with the user id as associated data,
//! so a ciphertext copied onto another user's item does not decrypt.
//!
//! The key set is JSON, like the signing keys:
//! `{"activeKid": "k2", "keys": [{"kid": "k2", "key": "<32 bytes, base64>"}, {"kid": "k1", ...}]}`.
//! New secrets are sealed with the active key and carry its kid; every key
//! in the set opens, so rotating is: add a key and make it active. A secret
//! sealed under an older key is sealed again under the active one the next
//! time its owner signs in with a code; drop the old key once no enrolment
//! names it (docs/data-model.md says how to count them).

use std::collections::HashMap;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeySetJson {
    active_kid: String,
    keys: Vec<KeyJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    kid: String,
    key: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MfaKeyError {
    #[error(
        "the MFA key set is not JSON of the form {{\"activeKid\", \"keys\": [{{\"kid\", \"key\"}}]}}"
    )]
    Format,
    #[error("MFA key {0:?} is not 32 bytes in base64")]
    Key(String),
    #[error("the active MFA key id {0:?} is not in the key set")]
    NoActiveKey(String),
    #[error("MFA key id {0:?} appears twice in the key set")]
    DuplicateKid(String),
}

/// A sealed secret as stored: the key id, and nonce || ciphertext || tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub kid: String,
    pub data: String,
}

pub struct MfaKeys {
    active_kid: String,
    keys: HashMap<String, LessSafeKey>,
}

impl std::fmt::Debug for MfaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaKeys")
            .field("active_kid", &self.active_kid)
            .finish_non_exhaustive()
    }
}

fn aad(user_id: &str) -> Vec<u8> {
    format!("bodega mfa totp secret v1\n{user_id}").into_bytes()
}

impl MfaKeys {
    pub fn from_json(json: &str) -> Result<Self, MfaKeyError> {
        let set: KeySetJson = serde_json::from_str(json).map_err(|_| MfaKeyError::Format)?;
        let mut keys = HashMap::new();
        for key in set.keys {
            let bytes = STANDARD
                .decode(key.key.trim())
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| MfaKeyError::Key(key.kid.clone()))?;
            let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| MfaKeyError::Key(key.kid.clone()))?;
            if keys
                .insert(key.kid.clone(), LessSafeKey::new(unbound))
                .is_some()
            {
                return Err(MfaKeyError::DuplicateKid(key.kid));
            }
        }
        if !keys.contains_key(&set.active_kid) {
            return Err(MfaKeyError::NoActiveKey(set.active_kid));
        }
        Ok(Self {
            active_kid: set.active_kid,
            keys,
        })
    }

    pub fn active_kid(&self) -> &str {
        &self.active_kid
    }

    /// Seals `secret` for `user_id` under the active key.
    pub fn seal(&self, user_id: &str, secret: &[u8]) -> Sealed {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system RNG works");
        let mut in_out = secret.to_vec();
        self.keys[&self.active_kid]
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(user_id)),
                &mut in_out,
            )
            .expect("AES-GCM seals any secret of a few bytes");
        let mut data = nonce.to_vec();
        data.extend_from_slice(&in_out);
        Sealed {
            kid: self.active_kid.clone(),
            data: STANDARD.encode(data),
        }
    }

    /// The secret sealed for `user_id`; `None` if the key is gone, the data
    /// was altered, or it was sealed for another user.
    pub fn open(&self, user_id: &str, sealed: &Sealed) -> Option<Vec<u8>> {
        let key = self.keys.get(&sealed.kid)?;
        let data = STANDARD.decode(&sealed.data).ok()?;
        if data.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = data.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(aad(user_id)), &mut in_out)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Test and local-stack support: a fresh key set as the JSON `from_json` reads.
pub fn generate_key_set_json(kid: &str) -> String {
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .expect("the system RNG works");
    serde_json::json!({ "activeKid": kid, "keys": [{ "kid": kid, "key": STANDARD.encode(key) }] })
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_for_one_user_only() {
        let keys = MfaKeys::from_json(&generate_key_set_json("k1")).unwrap();
        let sealed = keys.seal("user-1", b"12345678901234567890");
        assert_eq!(sealed.kid, "k1");
        assert!(
            !sealed.data.contains("MTIzNDU2Nzg5"),
            "not the base64 of the secret"
        );
        assert_eq!(
            keys.open("user-1", &sealed).as_deref(),
            Some(&b"12345678901234567890"[..])
        );
        assert_eq!(keys.open("user-2", &sealed), None, "bound to the user id");
        let mut tampered = sealed.clone();
        let mut bytes = STANDARD.decode(&tampered.data).unwrap();
        bytes[NONCE_LEN] ^= 1;
        tampered.data = STANDARD.encode(bytes);
        assert_eq!(keys.open("user-1", &tampered), None);
        assert_ne!(
            keys.seal("user-1", b"x").data,
            keys.seal("user-1", b"x").data
        );
    }

    #[test]
    fn a_rotated_set_opens_old_secrets_and_seals_with_the_new_key() {
        let old: serde_json::Value = serde_json::from_str(&generate_key_set_json("old")).unwrap();
        let new: serde_json::Value = serde_json::from_str(&generate_key_set_json("new")).unwrap();
        let before = MfaKeys::from_json(&old.to_string()).unwrap();
        let sealed = before.seal("u", b"secret");
        let rotated = serde_json::json!({
            "activeKid": "new", "keys": [new["keys"][0], old["keys"][0]],
        });
        let after = MfaKeys::from_json(&rotated.to_string()).unwrap();
        assert_eq!(after.open("u", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(after.seal("u", b"secret").kid, "new");
        let retired = MfaKeys::from_json(&new.to_string()).unwrap();
        assert_eq!(retired.open("u", &sealed), None);
    }

    #[test]
    fn explains_a_broken_key_set() {
        assert_eq!(MfaKeys::from_json("{}").unwrap_err(), MfaKeyError::Format);
        assert_eq!(
            MfaKeys::from_json(r#"{"activeKid":"a","keys":[{"kid":"a","key":"c2hvcnQ="}]}"#)
                .unwrap_err(),
            MfaKeyError::Key("a".into())
        );
        let json = generate_key_set_json("a").replace("\"activeKid\":\"a\"", "\"activeKid\":\"b\"");
        assert_eq!(
            MfaKeys::from_json(&json).unwrap_err(),
            MfaKeyError::NoActiveKey("b".into())
        );
        assert!(
            !format!(
                "{:?}",
                MfaKeys::from_json(&generate_key_set_json("a")).unwrap()
            )
            .contains("key:")
        );
    }
}
