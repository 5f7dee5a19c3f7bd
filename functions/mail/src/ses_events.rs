//! SES's events about the messages it took: the `mail-events` Lambda.
//!
//! The configuration set publishes bounces and complaints to EventBridge
//! (template.yaml: `MailEventsDestination`, and a rule on the default bus
//! that matches our configuration set). A permanent bounce or a complaint
//! suppresses the recipient for the org that sent the message (its `org`
//! message tag) and marks the message `bounced` or `complained` (its
//! `message` tag). Transient bounces change nothing: SES retried already.
//! Mail without an org tag (the platform's own) is left alone. Handling an
//! event twice has the effect of once.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use shared::audit::Actor;
use shared::domain::Email;
use shared::store::{Store, StoreError, Update, s};

use crate::model::{MessageStatus, SuppressionReason, messages_pk};
use crate::suppressions;

/// An EventBridge event from SES (`source: aws.ses`); `detail` is the SES
/// event as a configuration set publishes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SesEventBridgeEvent {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "detail-type", default)]
    pub detail_type: String,
    pub detail: SesEvent,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesEvent {
    pub event_type: String,
    pub mail: SesMail,
    #[serde(default)]
    pub bounce: Option<Bounce>,
    #[serde(default)]
    pub complaint: Option<Complaint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesMail {
    #[serde(default)]
    pub message_id: String,
    /// Message tags, each with its values (SES adds its own `ses:*` tags).
    #[serde(default)]
    pub tags: std::collections::HashMap<String, Vec<String>>,
}

impl SesMail {
    fn tag(&self, name: &str) -> Option<&str> {
        self.tags.get(name)?.first().map(String::as_str)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounce {
    /// `Permanent`, `Transient` or `Undetermined`.
    pub bounce_type: String,
    #[serde(default)]
    pub bounced_recipients: Vec<Recipient>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complaint {
    #[serde(default)]
    pub complained_recipients: Vec<Recipient>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub email_address: String,
}

/// What an event asks for: suppress these addresses for this reason.
fn verdict(event: &SesEvent) -> Option<(SuppressionReason, MessageStatus, Vec<&str>)> {
    match event.event_type.as_str() {
        "Bounce" => {
            let bounce = event.bounce.as_ref()?;
            (bounce.bounce_type == "Permanent").then(|| {
                (
                    SuppressionReason::Bounced,
                    MessageStatus::Bounced,
                    bounce
                        .bounced_recipients
                        .iter()
                        .map(|r| r.email_address.as_str())
                        .collect(),
                )
            })
        }
        "Complaint" => {
            let complaint = event.complaint.as_ref()?;
            Some((
                SuppressionReason::Complained,
                MessageStatus::Complained,
                complaint
                    .complained_recipients
                    .iter()
                    .map(|r| r.email_address.as_str())
                    .collect(),
            ))
        }
        _ => None,
    }
}

/// Applies one SES event; an error makes EventBridge deliver it again.
pub async fn handle_event(store: &Store, event: &SesEvent) -> anyhow::Result<()> {
    let Some(org_id) = event.mail.tag("org") else {
        tracing::debug!(event_type = %event.event_type, "SES event about mail of no org");
        return Ok(());
    };
    let Some((reason, status, recipients)) = verdict(event) else {
        tracing::info!(event_type = %event.event_type, "SES event needs no action");
        return Ok(());
    };
    let message_id = event.mail.tag("message").map(str::to_owned);
    for raw in recipients {
        // SES may write `Name <address>`; the address is what we keep.
        let address = raw
            .rsplit_once('<')
            .map_or(raw, |(_, rest)| rest.trim_end_matches('>'));
        let Ok(email) = Email::parse(address) else {
            tracing::warn!("SES reported a recipient that is no email address");
            continue;
        };
        suppressions::suppress(
            store,
            org_id,
            &email,
            reason,
            message_id.clone(),
            &Actor::Anonymous,
        )
        .await
        .context("suppressing a recipient SES reported")?;
    }
    if let Some(message_id) = &message_id {
        mark_message(store, org_id, message_id, status)
            .await
            .context("marking the message SES reported")?;
    }
    tracing::info!(org_id, ?reason, "SES event applied");
    Ok(())
}

/// Sets the message's status, if we recorded it.
async fn mark_message(
    store: &Store,
    org_id: &str,
    message_id: &str,
    status: MessageStatus,
) -> Result<(), StoreError> {
    let value = match status {
        MessageStatus::Bounced => "bounced",
        MessageStatus::Complained => "complained",
        _ => return Ok(()),
    };
    let update = Update::new(messages_pk(org_id), message_id, "SET #status = :status")
        .condition("attribute_exists(PK)")
        .name("#status", "status")
        .value(":status", s(value));
    match store.apply_update(update).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> SesEvent {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn only_hard_bounces_and_complaints_suppress() {
        let mail = serde_json::json!({ "messageId": "x", "tags": { "org": ["o"] } });
        let hard = event(serde_json::json!({ "eventType": "Bounce", "mail": mail,
            "bounce": { "bounceType": "Permanent", "bouncedRecipients": [{ "emailAddress": "a@example.com" }] } }));
        let soft = event(serde_json::json!({ "eventType": "Bounce", "mail": mail,
            "bounce": { "bounceType": "Transient", "bouncedRecipients": [{ "emailAddress": "a@example.com" }] } }));
        let complaint = event(serde_json::json!({ "eventType": "Complaint", "mail": mail,
            "complaint": { "complainedRecipients": [{ "emailAddress": "b@example.com" }] } }));
        let delivery = event(serde_json::json!({ "eventType": "Delivery", "mail": mail }));
        assert_eq!(
            verdict(&hard).map(|v| (v.0, v.2)),
            Some((SuppressionReason::Bounced, vec!["a@example.com"]))
        );
        assert!(verdict(&soft).is_none());
        assert_eq!(
            verdict(&complaint).map(|v| (v.0, v.2)),
            Some((SuppressionReason::Complained, vec!["b@example.com"]))
        );
        assert!(verdict(&delivery).is_none());
    }
}
