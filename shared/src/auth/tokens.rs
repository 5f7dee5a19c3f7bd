//! Access tokens: short-lived JWTs signed with Ed25519 (`EdDSA`).
//!
//! Two halves, so that only the function that issues tokens holds a secret:
//! - [`SigningKeys`], the private key set, kept in Secrets Manager in AWS and
//!   loaded only where tokens or signed links are issued:
//!   `{"activeKid": "k2", "keys": [{"kid": "k2", "privateKeyPem": "..."}, {"kid": "k1", ...}]}`.
//!   New tokens are signed with the active key.
//! - [`TokenKeys`], the public halves as a JWKS (`JWT_PUBLIC_KEYS`, not a
//!   secret: configuration), which every function verifies with, with no
//!   call to anything at start. Identity publishes the same set.
//!
//! Rotating is: add the new key's public half to the JWKS, add the key to the
//! set and make it active, then drop the old one from both once its last
//! tokens have expired. The signing set refuses to start when its active key
//! is not in the published JWKS, so a token nobody can verify is never issued.
//!
//! Verification pins the algorithm to EdDSA and requires a known `kid`, so
//! `alg: none`, HS256-with-the-public-key and tokens from retired keys fail.

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

const ALGORITHM: Algorithm = Algorithm::EdDSA;
/// Clock skew tolerated between the issuer and a verifier.
const LEEWAY_SECS: u64 = 30;
const ACCESS_TOKEN_TYPE: &str = "access";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeySetJson {
    active_kid: String,
    keys: Vec<KeyJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyJson {
    kid: String,
    private_key_pem: String,
}

impl std::fmt::Debug for KeyJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyJson")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    #[error(
        "the signing key set is not valid JSON of the form {{\"activeKid\", \"keys\": [{{\"kid\", \"privateKeyPem\"}}]}}: {0}"
    )]
    Format(String),
    #[error("signing key {kid:?} is not an Ed25519 PKCS#8 PEM private key")]
    Key { kid: String },
    #[error("the active key id {0:?} is not in the key set")]
    NoActiveKey(String),
    #[error("key id {0:?} appears twice in the key set")]
    DuplicateKid(String),
    #[error(
        "the public key set is not a JWKS of Ed25519 keys ({{\"keys\": [{{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"kid\", \"x\"}}]}}): {0}"
    )]
    Jwks(String),
    #[error(
        "the active signing key {0:?} is not in the public key set (JWT_PUBLIC_KEYS): publish its public half first"
    )]
    ActiveKeyNotPublished(String),
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// The platform role (`customer`, `admin`).
    pub role: String,
    pub iss: String,
    pub iat: u64,
    pub exp: u64,
    /// A unique token id, for audit and revocation lists.
    pub jti: String,
    /// Always `access`; other token kinds never pass for access tokens.
    pub typ: String,
    /// The sign-in session (refresh-token family) the token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the user proved who they are (RFC 8176 values): `pwd`, and
    /// `otp` + `mfa` after an authenticator code, or `mfa` after a
    /// recovery code. Refreshing keeps the sign-in's methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

impl AccessClaims {
    /// Whether the sign-in took a second factor.
    pub fn has_mfa(&self) -> bool {
        self.amr.iter().any(|m| m == AMR_MFA)
    }
}

/// The `amr` value of a password.
pub const AMR_PASSWORD: &str = "pwd";
/// The `amr` value of a one-time password (an authenticator's code).
pub const AMR_OTP: &str = "otp";
/// The `amr` value of a sign-in that took more than one factor.
pub const AMR_MFA: &str = "mfa";

#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token was signed with an unknown key")]
    UnknownKey,
    #[error("the access token is expired")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
}

/// The public keys that verify access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    issuer: String,
    verifying_keys: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .field("kids", &self.verifying_keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Deserialize)]
struct JwksJson {
    keys: Vec<JwkJson>,
}

#[derive(Deserialize)]
struct JwkJson {
    kty: String,
    crv: String,
    kid: String,
    x: String,
    #[serde(default)]
    alg: Option<String>,
}

impl TokenKeys {
    /// The verifying keys from configuration (`JWT_PUBLIC_KEYS`): a JWKS, or
    /// the short form `kid:x[,kid:x...]` (`x` the base64url public key, as
    /// in the JWKS), which passes through a deploy parameter unquoted.
    pub fn from_public_keys(text: &str, issuer: impl Into<String>) -> Result<Self, KeySetError> {
        let text = text.trim();
        if text.starts_with('{') {
            return Self::from_jwks(text, issuer);
        }
        let keys = text
            .split(',')
            .map(|pair| {
                let (kid, x) = pair
                    .trim()
                    .split_once(':')
                    .ok_or_else(|| KeySetError::Jwks(format!("{pair:?} is not kid:x")))?;
                Ok(public_jwk(kid.trim(), x.trim()))
            })
            .collect::<Result<Vec<_>, KeySetError>>()?;
        Self::from_jwks(&serde_json::json!({ "keys": keys }).to_string(), issuer)
    }

    /// The verifying keys from a JWKS of Ed25519 public keys, as identity
    /// publishes it at `/.well-known/jwks.json`.
    pub fn from_jwks(json: &str, issuer: impl Into<String>) -> Result<Self, KeySetError> {
        let set: JwksJson =
            serde_json::from_str(json).map_err(|e| KeySetError::Jwks(e.to_string()))?;
        let mut verifying_keys = HashMap::new();
        let mut jwks = Vec::new();
        for key in &set.keys {
            if key.kty != "OKP"
                || key.crv != "Ed25519"
                || key.alg.as_deref().unwrap_or("EdDSA") != "EdDSA"
            {
                return Err(KeySetError::Jwks(format!(
                    "key {:?} is not an Ed25519 (EdDSA) key",
                    key.kid
                )));
            }
            let decoding =
                DecodingKey::from_ed_components(&key.x).map_err(|_| KeySetError::Key {
                    kid: key.kid.clone(),
                })?;
            if verifying_keys.insert(key.kid.clone(), decoding).is_some() {
                return Err(KeySetError::DuplicateKid(key.kid.clone()));
            }
            jwks.push(public_jwk(&key.kid, &key.x));
        }
        if verifying_keys.is_empty() {
            return Err(KeySetError::Jwks("it has no keys".into()));
        }
        Ok(Self {
            issuer: issuer.into(),
            verifying_keys,
            jwks: serde_json::json!({ "keys": jwks }),
        })
    }

    /// The base64url public key of `kid`, as the JWKS has it.
    fn public_key_of(&self, kid: &str) -> Option<&str> {
        self.jwks["keys"]
            .as_array()?
            .iter()
            .find(|key| key["kid"] == kid)?["x"]
            .as_str()
    }

    /// The public keys as a JSON Web Key Set.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn verify_access_token(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != ALGORITHM {
            return Err(TokenError::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying_keys.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            }
        })?;
        if data.claims.typ != ACCESS_TOKEN_TYPE {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

fn public_jwk(kid: &str, x: &str) -> serde_json::Value {
    serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x,
    })
}

/// The private key set: issues access tokens and signed links. Only the
/// functions that issue them load it (a secret read at start); it also
/// verifies, as [`TokenKeys`] (through `Deref`), what it signed.
pub struct SigningKeys {
    ttl: Duration,
    active_kid: String,
    signing_key: EncodingKey,
    /// HMAC keys of signed links, one per kid, derived from its private key.
    link_keys: HashMap<String, hmac::Key>,
    public: TokenKeys,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("issuer", &self.public.issuer)
            .field("active_kid", &self.active_kid)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for SigningKeys {
    type Target = TokenKeys;

    fn deref(&self) -> &TokenKeys {
        &self.public
    }
}

impl SigningKeys {
    pub fn from_json(
        json: &str,
        issuer: impl Into<String>,
        ttl: Duration,
    ) -> Result<Self, KeySetError> {
        let set: KeySetJson =
            serde_json::from_str(json).map_err(|e| KeySetError::Format(e.to_string()))?;
        let mut verifying_keys = HashMap::new();
        let mut jwks = Vec::new();
        let mut signing_key = None;
        let mut link_keys = HashMap::new();
        for key in &set.keys {
            let invalid = || KeySetError::Key {
                kid: key.kid.clone(),
            };
            let der = pem::parse(key.private_key_pem.trim()).map_err(|_| invalid())?;
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.contents())
                .map_err(|_| invalid())?;
            let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
            let decoding = DecodingKey::from_ed_components(&x).map_err(|_| invalid())?;
            if verifying_keys.insert(key.kid.clone(), decoding).is_some() {
                return Err(KeySetError::DuplicateKid(key.kid.clone()));
            }
            jwks.push(public_jwk(&key.kid, &x));
            link_keys.insert(key.kid.clone(), link_key(der.contents()));
            if key.kid == set.active_kid {
                signing_key = Some(EncodingKey::from_ed_der(der.contents()));
            }
        }
        let signing_key =
            signing_key.ok_or_else(|| KeySetError::NoActiveKey(set.active_kid.clone()))?;
        Ok(Self {
            ttl,
            active_kid: set.active_kid,
            signing_key,
            link_keys,
            public: TokenKeys {
                issuer: issuer.into(),
                verifying_keys,
                jwks: serde_json::json!({ "keys": jwks }),
            },
        })
    }

    /// The same set, verifying with the published public keys (`published`),
    /// after checking that the active key is among them.
    pub fn verified_by(mut self, published: TokenKeys) -> Result<Self, KeySetError> {
        let ours = self.public.public_key_of(&self.active_kid);
        if ours.is_none() || published.public_key_of(&self.active_kid) != ours {
            return Err(KeySetError::ActiveKeyNotPublished(self.active_kid));
        }
        self.public = published;
        Ok(self)
    }

    /// The public halves, as every other function verifies with.
    pub fn public_keys(&self) -> &TokenKeys {
        &self.public
    }

    /// A token for a password sign-in (`amr: ["pwd"]`).
    pub fn issue_access_token(
        &self,
        user_id: &str,
        role: &str,
        session_id: Option<&str>,
    ) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        self.issue_access_token_with(user_id, role, session_id, &[AMR_PASSWORD])
    }

    /// A token naming how the user signed in (`amr`).
    pub fn issue_access_token_with(
        &self,
        user_id: &str,
        role: &str,
        session_id: Option<&str>,
        amr: &[&str],
    ) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        self.sign(user_id, role, session_id, amr, now)
    }

    /// Issues a password sign-in's token as if it were `now` (seconds since
    /// the epoch).
    pub fn issue_access_token_at(
        &self,
        user_id: &str,
        role: &str,
        session_id: Option<&str>,
        now: u64,
    ) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        self.sign(user_id, role, session_id, &[AMR_PASSWORD], now)
    }

    fn sign(
        &self,
        user_id: &str,
        role: &str,
        session_id: Option<&str>,
        amr: &[&str],
        now: u64,
    ) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            role: role.to_owned(),
            iss: self.public.issuer.clone(),
            iat: now,
            exp: now + self.ttl.as_secs(),
            jti: ulid::Ulid::new().to_string(),
            typ: ACCESS_TOKEN_TYPE.to_owned(),
            sid: session_id.map(str::to_owned),
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.active_kid.clone());
        header.typ = Some("JWT".into());
        let token = jsonwebtoken::encode(&header, &claims, &self.signing_key)?;
        Ok(IssuedToken {
            token,
            expires_in: self.ttl.as_secs(),
        })
    }
}

/// The HMAC key of signed links for one signing key: an HMAC of a fixed
/// label under the private key, so it is as secret as the key, needs no
/// secret of its own, and differs from anything the key signs.
fn link_key(private_der: &[u8]) -> hmac::Key {
    let derive = hmac::Key::new(hmac::HMAC_SHA256, private_der);
    let material = hmac::sign(&derive, b"bodega signed links v1");
    hmac::Key::new(hmac::HMAC_SHA256, material.as_ref())
}

impl SigningKeys {
    /// A token that proves the platform issued `payload` for `purpose`
    /// (e.g. an unsubscribe link for one address of one org):
    /// `<kid>.<payload, base64url>.<HMAC-SHA256 of purpose and payload>`.
    /// It does not expire; it stays valid while its kid is in the key set.
    pub fn sign_link(&self, purpose: &str, payload: &str) -> String {
        let key = &self.link_keys[&self.active_kid];
        let encoded = URL_SAFE_NO_PAD.encode(payload);
        let tag = hmac::sign(
            key,
            link_message(purpose, &self.active_kid, &encoded).as_bytes(),
        );
        format!(
            "{}.{encoded}.{}",
            self.active_kid,
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The payload of a token from [`SigningKeys::sign_link`] for `purpose`;
    /// `None` when it is garbled, forged, for another purpose or signed by a
    /// key no longer in the set.
    pub fn verify_link(&self, purpose: &str, token: &str) -> Option<String> {
        let mut parts = token.splitn(3, '.');
        let (kid, encoded, tag) = (parts.next()?, parts.next()?, parts.next()?);
        let key = self.link_keys.get(kid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(key, link_message(purpose, kid, encoded).as_bytes(), &tag).ok()?;
        String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()
    }
}

fn link_message(purpose: &str, kid: &str, encoded: &str) -> String {
    format!("{purpose}\n{kid}\n{encoded}")
}

/// The public halves of a private key set's JSON: for a local stack or a
/// test that configures only the inline key set.
pub fn public_keys_of_key_set(
    json: &str,
    issuer: impl Into<String>,
) -> Result<TokenKeys, KeySetError> {
    SigningKeys::from_json(json, issuer, Duration::ZERO).map(|keys| keys.public)
}

/// Test and local-stack support: a fresh Ed25519 key set as the JSON that
/// `SigningKeys::from_json` reads.
pub fn generate_key_set_json(kid: &str) -> String {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("the system RNG works");
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
    serde_json::json!({ "activeKid": kid, "keys": [{ "kid": kid, "privateKeyPem": pem }] })
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kid: &str) -> SigningKeys {
        SigningKeys::from_json(
            &generate_key_set_json(kid),
            "bodega-test",
            Duration::from_secs(900),
        )
        .unwrap()
    }

    #[test]
    fn signed_links_verify_only_for_their_purpose_and_key() {
        let set = keys("k1");
        let token = set.sign_link("unsubscribe", "org-1 ada@example.com");
        assert_eq!(
            set.verify_link("unsubscribe", &token).as_deref(),
            Some("org-1 ada@example.com")
        );
        assert_eq!(set.verify_link("reset", &token), None);
        let mut forged = token.clone();
        forged.replace_range(3..4, if &token[3..4] == "A" { "B" } else { "A" });
        assert_eq!(set.verify_link("unsubscribe", &forged), None);
        assert_eq!(set.verify_link("unsubscribe", "garbage"), None);
        assert_eq!(set.verify_link("unsubscribe", "k1.."), None);
        assert_eq!(keys("k1").verify_link("unsubscribe", &token), None);
    }

    fn b64(value: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn issues_tokens_that_verify() {
        let keys = keys("k1");
        let issued = keys
            .issue_access_token("user-1", "customer", Some("s1"))
            .unwrap();
        let claims = keys.verify_access_token(&issued.token).unwrap();
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.role, "customer");
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(issued.expires_in, 900);
        assert_eq!(claims.amr, ["pwd"]);
        assert!(!claims.has_mfa());
        let second = keys
            .issue_access_token_with("user-1", "customer", Some("s1"), &["pwd", "otp", "mfa"])
            .unwrap();
        let claims = keys.verify_access_token(&second.token).unwrap();
        assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
        assert!(claims.has_mfa());
    }

    #[test]
    fn a_rotated_key_still_verifies_until_retired() {
        let ttl = Duration::from_secs(900);
        let old_json: serde_json::Value =
            serde_json::from_str(&generate_key_set_json("old")).unwrap();
        let new_json: serde_json::Value =
            serde_json::from_str(&generate_key_set_json("new")).unwrap();
        let old = SigningKeys::from_json(&old_json.to_string(), "bodega-test", ttl).unwrap();
        let token = old.issue_access_token("u", "customer", None).unwrap().token;

        let rotated_json = serde_json::json!({
            "activeKid": "new",
            "keys": [new_json["keys"][0], old_json["keys"][0]],
        });
        let rotated =
            SigningKeys::from_json(&rotated_json.to_string(), "bodega-test", ttl).unwrap();
        assert!(
            rotated.verify_access_token(&token).is_ok(),
            "old tokens verify during rotation"
        );
        let fresh = rotated
            .issue_access_token("u", "customer", None)
            .unwrap()
            .token;
        assert_eq!(
            jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(),
            Some("new")
        );
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);

        let retired = SigningKeys::from_json(&new_json.to_string(), "bodega-test", ttl).unwrap();
        assert_eq!(
            retired.verify_access_token(&token),
            Err(TokenError::UnknownKey)
        );
        assert!(retired.verify_access_token(&fresh).is_ok());
    }

    #[test]
    fn refuses_alg_none_unknown_kid_and_tampering() {
        let keys = keys("k1");
        let token = keys
            .issue_access_token("u", "customer", None)
            .unwrap()
            .token;
        let parts: Vec<&str> = token.split('.').collect();

        let none = format!(
            "{}.{}.",
            b64(serde_json::json!({"alg": "none", "kid": "k1"})),
            parts[1]
        );
        assert!(keys.verify_access_token(&none).is_err());

        let other_kid = format!(
            "{}.{}.{}",
            b64(serde_json::json!({"alg": "EdDSA", "kid": "k9"})),
            parts[1],
            parts[2]
        );
        assert_eq!(
            keys.verify_access_token(&other_kid),
            Err(TokenError::UnknownKey)
        );

        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        let tampered = format!("{}.{}.{}", parts[0], b64(claims), parts[2]);
        assert_eq!(
            keys.verify_access_token(&tampered),
            Err(TokenError::Invalid)
        );

        assert_eq!(
            keys.verify_access_token("not-a-token"),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn refuses_hs256_signed_with_the_public_key() {
        let keys = keys("k1");
        let x = keys.jwks()["keys"][0]["x"].as_str().unwrap().to_owned();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        let claims = AccessClaims {
            sub: "u".into(),
            role: "admin".into(),
            iss: "bodega-test".into(),
            iat: now,
            exp: now + 60,
            jti: "j".into(),
            typ: "access".into(),
            sid: None,
            amr: Vec::new(),
        };
        for secret in [x.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(&x).unwrap()] {
            let forged =
                jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
            assert_eq!(keys.verify_access_token(&forged), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn refuses_expired_tokens_and_other_issuers() {
        let keys = keys("k1");
        let other = SigningKeys::from_json(
            &generate_key_set_json("k1"),
            "someone-else",
            Duration::from_secs(900),
        )
        .unwrap();
        let foreign = other
            .issue_access_token("u", "customer", None)
            .unwrap()
            .token;
        assert!(keys.verify_access_token(&foreign).is_err());

        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        let claims = AccessClaims {
            sub: "u".into(),
            role: "customer".into(),
            iss: "bodega-test".into(),
            iat: now - 4000,
            exp: now - 3000,
            jti: "j".into(),
            typ: "access".into(),
            sid: None,
            amr: Vec::new(),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some("k1".into());
        let expired = jsonwebtoken::encode(&header, &claims, &keys.signing_key).unwrap();
        assert_eq!(keys.verify_access_token(&expired), Err(TokenError::Expired));
    }

    #[test]
    fn verifies_with_the_published_jwks_alone() {
        let signing = keys("k1");
        let published = TokenKeys::from_jwks(&signing.jwks().to_string(), "bodega-test").unwrap();
        let token = signing
            .issue_access_token("u", "customer", None)
            .unwrap()
            .token;
        assert_eq!(published.verify_access_token(&token).unwrap().sub, "u");
        assert_eq!(published.jwks(), signing.jwks());
        assert!(matches!(
            keys("k2").verified_by(published.clone()),
            Err(KeySetError::ActiveKeyNotPublished(kid)) if kid == "k2"
        ));
        // The same kid with another key is not the published key.
        assert!(matches!(
            keys("k1").verified_by(published.clone()),
            Err(KeySetError::ActiveKeyNotPublished(_))
        ));
        let x = signing.jwks()["keys"][0]["x"].as_str().unwrap();
        let short = TokenKeys::from_public_keys(&format!(" k1:{x} "), "bodega-test").unwrap();
        assert_eq!(short.jwks(), signing.jwks());
        assert!(short.verify_access_token(&token).is_ok());
        assert!(matches!(
            TokenKeys::from_public_keys("k1", "i"),
            Err(KeySetError::Jwks(_))
        ));
        assert!(signing.verified_by(published).is_ok());
        assert!(matches!(
            TokenKeys::from_jwks(r#"{"keys":[]}"#, "i"),
            Err(KeySetError::Jwks(_))
        ));
        let rsa = r#"{"keys":[{"kty":"RSA","crv":"Ed25519","kid":"a","x":"AA"}]}"#;
        assert!(matches!(
            TokenKeys::from_jwks(rsa, "i"),
            Err(KeySetError::Jwks(_))
        ));
    }

    #[test]
    fn explains_a_broken_key_set() {
        let err = SigningKeys::from_json("{}", "i", Duration::from_secs(60)).unwrap_err();
        assert!(matches!(err, KeySetError::Format(_)));
        let bad = r#"{"activeKid":"a","keys":[{"kid":"a","privateKeyPem":"nope"}]}"#;
        assert!(matches!(
            SigningKeys::from_json(bad, "i", Duration::from_secs(60)),
            Err(KeySetError::Key { .. })
        ));
        let json = generate_key_set_json("a").replace("\"activeKid\":\"a\"", "\"activeKid\":\"b\"");
        assert!(matches!(
            SigningKeys::from_json(&json, "i", Duration::from_secs(60)),
            Err(KeySetError::NoActiveKey(_))
        ));
    }
}
