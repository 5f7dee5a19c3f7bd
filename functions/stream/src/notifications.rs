//! Security notification emails, sent from item changes:
//! - a user's password hash changed (reset or change) → "your password was changed";
//! - a session was revoked for refresh-token reuse → "we signed a session out";
//! - a moderator hid a person's review or design (the `content.hidden` event
//!   in their audit trail) → "a moderator hid ...", with the reason;
//! - a person's two-factor sign-in changed (the `mfa.*` events in their
//!   audit trail, written in the transaction of the change) → "your
//!   two-factor sign-in changed", saying what.
//!
//! Each email is queued at most once per stream record: a marker keyed by
//! the record's event id is written (conditionally) before queueing, and
//! removed again if queueing fails so the retry can queue it. The mail
//! context's outbox worker sends it, once per queued email.

use serde::{Deserialize, Serialize};
use shared::outbox::PlatformEmail;
use shared::store::StoreError;

use crate::{Change, StreamState};

/// Markers expire after a week; Lambda retries a record for at most a day.
const MARKER_TTL_SECS: i64 = 7 * 24 * 3600;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserImage {
    email: String,
    name: String,
    #[serde(default)]
    password_hash: String,
    #[serde(default)]
    deleted_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionImage {
    user_id: String,
    #[serde(default)]
    revoked_at: Option<String>,
    #[serde(default)]
    revoke_reason: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditImage {
    #[serde(rename = "PK")]
    pk: String,
    action: String,
    #[serde(default)]
    details: Option<serde_json::Value>,
}

pub async fn react(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    if change.is_insert() && change.item_type == shared::audit::AUDIT_TYPE {
        return audit_notice(state, change).await;
    }
    if !change.is_modify() {
        return Ok(());
    }
    match change.item_type.as_str() {
        "USER" => password_changed(state, change).await,
        "SESSION" => session_reuse(state, change).await,
        _ => Ok(()),
    }
}

async fn password_changed(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    let (Some(old), Some(new)) = (change.old::<UserImage>()?, change.new_image::<UserImage>()?)
    else {
        return Ok(());
    };
    let changed = !old.password_hash.is_empty() && old.password_hash != new.password_hash;
    if !changed || new.deleted_at.is_some() || new.email.is_empty() {
        return Ok(());
    }
    let email = PlatformEmail::PasswordChanged { name: new.name };
    send_once(state, change.event_id(), &new.email, email).await
}

async fn session_reuse(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    let (Some(old), Some(new)) = (
        change.old::<SessionImage>()?,
        change.new_image::<SessionImage>()?,
    ) else {
        return Ok(());
    };
    let newly_revoked_for_reuse = old.revoked_at.is_none()
        && new.revoked_at.is_some()
        && new.revoke_reason.as_deref() == Some("refresh_token_reuse");
    if !newly_revoked_for_reuse {
        return Ok(());
    }
    let user: Option<UserImage> = state
        .store
        .get(&format!("USER#{}", new.user_id), "PROFILE")
        .await?;
    let Some(user) = user.filter(|u| u.deleted_at.is_none() && !u.email.is_empty()) else {
        return Ok(());
    };
    let email = PlatformEmail::SessionSignedOut {
        name: user.name,
        device: new
            .user_agent
            .unwrap_or_else(|| "an unknown device".to_owned()),
    };
    send_once(state, change.event_id(), &user.email, email).await
}

/// What a person's two-factor sign-in event tells them, as a sentence.
fn mfa_summary(action: &str, details: &serde_json::Value) -> Option<String> {
    Some(match action {
        "mfa.enabled" => "Two-factor sign-in was turned on for your account: signing in now takes your authenticator's code (or one of your recovery codes).".to_owned(),
        "mfa.disabled" => "Two-factor sign-in was turned off for your account: signing in now takes your password only.".to_owned(),
        "mfa.recovery_codes_regenerated" => "New recovery codes were made for your account; the old ones no longer work.".to_owned(),
        "mfa.recovery_code_used" => match (
            details["purpose"].as_str(),
            details["recoveryCodesLeft"].as_u64(),
        ) {
            (Some("turn_off"), _) => {
                "One of your recovery codes was used to turn two-factor sign-in off.".to_owned()
            }
            (_, Some(left)) => format!(
                "One of your recovery codes was used to sign in; {left} are left. Make new ones once you have your authenticator again."
            ),
            _ => "One of your recovery codes was used.".to_owned(),
        },
        _ => return None,
    })
}

/// Emails the person whose trail an event was written to, for the events
/// that warrant it.
async fn audit_notice(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    let Some(event) = change.new_image::<AuditImage>()? else {
        return Ok(());
    };
    let Some(user_id) = event.pk.strip_prefix("AUDIT#USER#") else {
        return Ok(());
    };
    let details = event.details.unwrap_or_default();
    let mfa_summary = mfa_summary(&event.action, &details);
    if event.action != "content.hidden" && mfa_summary.is_none() {
        return Ok(());
    }
    let user: Option<UserImage> = state
        .store
        .get(&format!("USER#{user_id}"), "PROFILE")
        .await?;
    let Some(user) = user.filter(|u| u.deleted_at.is_none() && !u.email.is_empty()) else {
        return Ok(());
    };
    let email = match mfa_summary {
        Some(summary) => PlatformEmail::MfaChanged {
            name: user.name,
            summary,
        },
        None => PlatformEmail::ContentHidden {
            name: user.name,
            what: match details["kind"].as_str() {
                Some("design") => "your design",
                _ => "your review",
            }
            .to_owned(),
            reason: details["reason"].as_str().unwrap_or("not given").to_owned(),
        },
    };
    send_once(state, change.event_id(), &user.email, email).await
}

#[derive(Serialize)]
struct Marker {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: &'static str,
    ttl: i64,
}

/// Queues `email` to `to` once per stream record and kind of email.
pub(crate) async fn send_once(
    state: &StreamState,
    event_id: &str,
    to: &str,
    email: PlatformEmail,
) -> anyhow::Result<()> {
    let kind = email.id();
    let marker = Marker {
        pk: format!("NOTIFIED#{event_id}"),
        sk: kind.to_owned(),
        item_type: "NOTIFICATION_MARKER",
        ttl: time_now() + MARKER_TTL_SECS,
    };
    match state
        .store
        .put(&marker, Some("attribute_not_exists(PK)"))
        .await
    {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => {
            tracing::info!(event_id, kind, "notification already sent");
            return Ok(());
        }
        Err(err) => return Err(err.into()),
    }
    if let Err(err) = state.outbox.send(to, &email).await {
        // Forget the marker so the retry queues it.
        state.store.delete(&marker.pk, &marker.sk).await?;
        return Err(err);
    }
    tracing::info!(event_id, kind, "notification queued");
    Ok(())
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
