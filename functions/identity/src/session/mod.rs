//! Sign-in sessions and their refresh tokens.
//!
//! A session is one sign-in on one device: a refresh-token family. The
//! refresh token is `<sessionId>.<secret>`; only the secret's SHA-256 is
//! stored. Every refresh rotates the secret; the hashes of spent secrets are
//! kept, so presenting one again is recognised as theft and kills the whole
//! session (the thief and the owner both have to sign in again).
//!
//! A session also dies when the user's `tokenEpoch` moves past the epoch it
//! was started in ("sign out everywhere", password reset, erasure), when it is
//! revoked, and when it expires. Access tokens are not looked up per request:
//! they stop being renewed at once and lapse within their 15 minutes.
//!
//! Items: `SESSION#<id> / SESSION`, with `GSI1PK = USER#<userId>`,
//! `GSI1SK = SESSION#<id>` for the user's list.
//!
//! The endpoints (refresh, sign out, list, revoke) are in [`routes`].

pub(crate) mod routes;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use shared::audit::{self, Actor, AuditAction};
use shared::auth::tokens::AMR_PASSWORD;
use shared::crypto::{constant_time_eq, hash_secret, new_secret};
use shared::http::{ApiError, ApiResult, ClientInfo};
use shared::store::{StoreError, Update, s};
use utoipa::ToSchema;

use crate::IdentityState;
use crate::user::{UserRecord, UserView, user_key};

pub const SESSION_TYPE: &str = "SESSION";
/// How many spent secrets a session remembers for reuse detection.
const SPENT_SECRETS_KEPT: usize = 20;

pub fn session_key(session_id: &str) -> (String, &'static str) {
    (format!("SESSION#{session_id}"), "SESSION")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub session_id: String,
    pub user_id: String,
    pub secret_hash: String,
    #[serde(default)]
    pub spent_hashes: Vec<String>,
    pub epoch: u64,
    pub created_at: String,
    pub last_used_at: String,
    /// Epoch seconds; also the item's TTL.
    pub expires_at: i64,
    pub ttl: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
    /// How the sign-in was proven (`amr` of its access tokens); sessions
    /// from before it was recorded were password sign-ins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

impl SessionRecord {
    /// The `amr` its access tokens carry.
    pub fn methods(&self) -> Vec<&str> {
        if self.amr.is_empty() {
            vec![AMR_PASSWORD]
        } else {
            self.amr.iter().map(String::as_str).collect()
        }
    }

    pub fn is_live(&self, user: &UserRecord) -> bool {
        self.revoked_at.is_none()
            && self.epoch == user.token_epoch
            && user.is_active()
            && self.expires_at > now_secs()
    }
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What sign-in and refresh return.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    /// A JWT (EdDSA) to send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Opaque; exchange it at POST /v1/auth/refresh. Single use: each refresh
    /// returns a new one, and using a spent one signs the session out.
    pub refresh_token: String,
    /// Seconds until the session ends and a password is needed again.
    pub refresh_expires_in: u64,
    pub user: UserView,
}

/// The request body of refresh and sign-out.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthenticated("the refresh token is not valid; sign in again")
}

fn parse_refresh_token(token: &str) -> Option<(&str, &str)> {
    let (session_id, secret) = token.trim().split_once('.')?;
    let plausible = session_id.len() == 26 && session_id.bytes().all(|b| b.is_ascii_alphanumeric());
    (plausible && !secret.is_empty() && secret.len() <= 128).then_some((session_id, secret))
}

/// The token pair of `session`, whose current refresh secret is `secret`.
pub(crate) fn signed_in(
    state: &IdentityState,
    user: UserRecord,
    session: &SessionRecord,
    secret: &str,
) -> ApiResult<SignedIn> {
    let issued = state
        .signing
        .issue_access_token_with(
            &user.id,
            user.role.as_str(),
            Some(&session.session_id),
            &session.methods(),
        )
        .map_err(ApiError::internal)?;
    Ok(SignedIn {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        refresh_token: format!("{}.{secret}", session.session_id),
        refresh_expires_in: (session.expires_at - now_secs()).max(0) as u64,
        user: user.into(),
    })
}

/// Starts a session for `user`, who has just proven their password (and
/// has no second factor).
pub async fn start(
    state: &IdentityState,
    user: UserRecord,
    client: &ClientInfo,
) -> ApiResult<SignedIn> {
    let (session, secret) = new_session(state, &user, client, &[AMR_PASSWORD]);
    state
        .store
        .put(&session, Some("attribute_not_exists(PK)"))
        .await?;
    signed_in(state, user, &session, &secret)
}

/// A new session of `user`, signed in with `amr`, and its refresh secret:
/// for the caller to write (alone, or in the transaction that spends a
/// second factor).
pub(crate) fn new_session(
    state: &IdentityState,
    user: &UserRecord,
    client: &ClientInfo,
    amr: &[&str],
) -> (SessionRecord, String) {
    let session_id = shared::domain::new_id();
    let secret = new_secret();
    let now = shared::domain::now_rfc3339();
    let expires_at = now_secs() + state.session_ttl.as_secs() as i64;
    let (pk, sk) = session_key(&session_id);
    let (gsi1pk, _) = user_key(&user.id);
    let session = SessionRecord {
        pk,
        sk: sk.to_owned(),
        item_type: SESSION_TYPE.to_owned(),
        gsi1pk,
        gsi1sk: format!("SESSION#{session_id}"),
        session_id,
        user_id: user.id.clone(),
        secret_hash: hash_secret(&secret),
        spent_hashes: Vec::new(),
        epoch: user.token_epoch,
        created_at: now.clone(),
        last_used_at: now,
        expires_at,
        ttl: expires_at,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        revoked_at: None,
        revoke_reason: None,
        amr: amr.iter().map(|m| (*m).to_owned()).collect(),
    };
    (session, secret)
}

/// Exchanges a refresh token for a new pair; see the module doc for reuse.
pub async fn refresh(state: &IdentityState, token: &str) -> ApiResult<SignedIn> {
    let (session_id, secret) = parse_refresh_token(token).ok_or_else(invalid_refresh)?;
    let (pk, sk) = session_key(session_id);
    let session: SessionRecord = state
        .store
        .get(&pk, sk)
        .await?
        .ok_or_else(invalid_refresh)?;
    let presented = hash_secret(secret);

    if !constant_time_eq(&presented, &session.secret_hash) {
        if session
            .spent_hashes
            .iter()
            .any(|spent| constant_time_eq(spent, &presented))
        {
            return Err(revoke_for_reuse(state, &session).await?);
        }
        return Err(invalid_refresh());
    }

    let (user_pk, user_sk) = user_key(&session.user_id);
    let user: UserRecord = state
        .store
        .get(&user_pk, user_sk)
        .await?
        .ok_or_else(invalid_refresh)?;
    if !session.is_live(&user) {
        return Err(invalid_refresh());
    }

    let next_secret = new_secret();
    let mut spent = session.spent_hashes.clone();
    spent.push(session.secret_hash.clone());
    let overflow = spent.len().saturating_sub(SPENT_SECRETS_KEPT);
    spent.drain(..overflow);
    let rotate = Update::new(
        pk.clone(),
        sk,
        "SET secretHash = :next, spentHashes = :spent, lastUsedAt = :now",
    )
    // Two refreshes racing with one token: only the first rotates.
    .condition("secretHash = :current AND attribute_not_exists(revokedAt)")
    .value(":next", s(hash_secret(&next_secret)))
    .value(
        ":spent",
        AttributeValue::L(spent.into_iter().map(AttributeValue::S).collect()),
    )
    .value(":now", s(shared::domain::now_rfc3339()))
    .value(":current", s(&session.secret_hash));
    match state.store.apply_update(rotate).await {
        Ok(_) => signed_in(state, user, &session, &next_secret),
        Err(StoreError::ConditionFailed) => {
            // The token was spent by a concurrent request: treat it as reuse.
            Err(revoke_for_reuse(state, &session).await?)
        }
        Err(err) => Err(err.into()),
    }
}

/// Revokes a session whose refresh token was used twice, and says so in the
/// user's audit trail.
async fn revoke_for_reuse(state: &IdentityState, session: &SessionRecord) -> ApiResult<ApiError> {
    revoke(state, session, "refresh_token_reuse").await?;
    tracing::warn!(user_id = %session.user_id, session_id = %session.session_id, "refresh token reuse: session revoked");
    let details = serde_json::json!({ "sessionId": session.session_id });
    audit::record_user_event(
        &state.store,
        &session.user_id,
        &Actor::Anonymous,
        AuditAction::RefreshTokenReused,
        Some(details),
    )
    .await;
    Ok(ApiError::unauthenticated(
        "this refresh token was already used; the session has been signed out, sign in again",
    ))
}

/// Marks a session revoked; harmless if it already is.
pub async fn revoke(state: &IdentityState, session: &SessionRecord, reason: &str) -> ApiResult<()> {
    let (pk, sk) = session_key(&session.session_id);
    let revoke = Update::new(pk, sk, "SET revokedAt = :now, revokeReason = :reason")
        .condition("attribute_exists(PK) AND attribute_not_exists(revokedAt)")
        .value(":now", s(shared::domain::now_rfc3339()))
        .value(":reason", s(reason));
    match state.store.apply_update(revoke).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Signs out the session a refresh token belongs to, if the token is its
/// current one. Says nothing about tokens that do not match.
pub async fn sign_out(state: &IdentityState, token: &str) -> ApiResult<()> {
    let Some((session_id, secret)) = parse_refresh_token(token) else {
        return Ok(());
    };
    let (pk, sk) = session_key(session_id);
    let Some(session) = state.store.get::<SessionRecord>(&pk, sk).await? else {
        return Ok(());
    };
    if constant_time_eq(&hash_secret(secret), &session.secret_hash) {
        revoke(state, &session, "sign_out").await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_plausible_refresh_tokens() {
        let sid = "01M80SC4PTQK2Z601CGYYXPAHZ";
        assert_eq!(
            parse_refresh_token(&format!("{sid}.abc")),
            Some((sid, "abc"))
        );
        assert_eq!(parse_refresh_token("abc"), None);
        assert_eq!(parse_refresh_token(&format!("{sid}.")), None);
        assert_eq!(parse_refresh_token("short.abc"), None);
        assert_eq!(
            parse_refresh_token(&format!("{sid}.{}", "x".repeat(200))),
            None
        );
        assert_eq!(parse_refresh_token("01M80SC4PTQK2Z601CGYYXPA#Z.abc"), None);
    }
}
