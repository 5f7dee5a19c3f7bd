//! The platform's own emails (verification, password reset, invitations,
//! security notices, order and RFQ emails) and the outbox they go through.
//!
//! A context that sends one does not render it: it puts a [`QueuedEmail`]
//! on the platform email queue ([`Outbox`], feature `outbox`), and the
//! mail context's `mail-outbox` worker renders it with its built-in
//! template (`mail::builtin`) and sends it through SES. So the contexts
//! link neither SES nor the rendering stack, and an email SES throttles or
//! refuses for a while is sent again from the queue instead of lost.
//!
//! An email may carry a single-use code: neither a message nor its data is
//! ever logged, only the template id and the outbox id.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of an order, as an email shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailLine {
    pub quantity: i64,
    pub name: String,
    /// The line's total, formatted with its currency (`12.34 EUR`).
    pub total: String,
}

/// Every email the platform itself sends, with its data. On the queue it
/// reads `{"template": "<id>", "data": {...}}`: the built-in template's id
/// and its variables, the names the template uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "template",
    content = "data",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum PlatformEmail {
    VerifyEmail {
        name: String,
        code: String,
        /// The web app's confirmation page with the code, when
        /// `PUBLIC_APP_URL` is set.
        action_url: Option<String>,
    },
    ResetPassword {
        name: String,
        code: String,
        action_url: Option<String>,
    },
    Invitation {
        org_name: String,
        role: String,
        invited_email: String,
        code: String,
        expires_at: String,
    },
    PasswordChanged {
        name: String,
    },
    SessionSignedOut {
        name: String,
        device: String,
    },
    OrderConfirmed {
        name: String,
        order_id: String,
        lines: Vec<EmailLine>,
        total: String,
    },
    OrderShipped {
        name: String,
        order_id: String,
        lines: Vec<EmailLine>,
        carrier: Option<String>,
        tracking_number: Option<String>,
    },
    OrderCancelled {
        name: String,
        order_id: String,
        /// The amount being refunded; none when nothing was charged.
        refunded: Option<String>,
    },
    ReviewRequested {
        template_name: String,
        version: u32,
        step: String,
    },
    RfqInvitation {
        buyer_name: String,
        rfq_title: String,
        city: String,
        window_from: String,
        window_to: String,
        closes_at: String,
        /// Where the supplier reads the RFQ (`GET /v1/orgs/{orgId}/rfqs/{rfqId}`).
        rfq_path: String,
    },
    /// A supplier's proposal was awarded (with the order) or not selected.
    RfqOutcome {
        rfq_title: String,
        order_id: Option<String>,
    },
    TemperatureExcursion {
        name: String,
        order_id: String,
        seller_org_id: String,
        temperature: String,
        at: String,
    },
    /// A moderator hid the person's review or design.
    ContentHidden {
        name: String,
        /// What was hidden, as a phrase: `your review of Tomatoes`.
        what: String,
        reason: String,
    },
    /// A published RFQ was amended; sent to its invited suppliers.
    RfqAmended {
        buyer_name: String,
        rfq_title: String,
        number: u32,
        text: String,
        /// The changed fields, one line each (`closesAt: a → b`); may be empty.
        changes: Vec<String>,
        closes_at: String,
        rfq_path: String,
    },
    /// 48 hours before an RFQ closes, to invitees without a proposal.
    RfqClosingSoon {
        rfq_title: String,
        closes_at: String,
        rfq_path: String,
    },
    /// The person's two-factor sign-in changed: turned on or off, a
    /// recovery code used, new recovery codes made.
    MfaChanged {
        name: String,
        /// What happened, as a sentence: `Two-factor sign-in was turned on for your account.`
        summary: String,
    },
    /// A new clarification message, to the other side of the thread.
    RfqMessage {
        rfq_title: String,
        from_name: String,
        text: String,
        messages_path: String,
    },
}

impl PlatformEmail {
    /// The built-in template's id; also the email's `template` message tag.
    pub fn id(&self) -> &'static str {
        match self {
            PlatformEmail::VerifyEmail { .. } => "verify_email",
            PlatformEmail::ResetPassword { .. } => "reset_password",
            PlatformEmail::Invitation { .. } => "invitation",
            PlatformEmail::PasswordChanged { .. } => "password_changed",
            PlatformEmail::SessionSignedOut { .. } => "session_signed_out",
            PlatformEmail::OrderConfirmed { .. } => "order_confirmed",
            PlatformEmail::OrderShipped { .. } => "order_shipped",
            PlatformEmail::OrderCancelled { .. } => "order_cancelled",
            PlatformEmail::ReviewRequested { .. } => "review_requested",
            PlatformEmail::RfqInvitation { .. } => "rfq_invitation",
            PlatformEmail::RfqOutcome { .. } => "rfq_outcome",
            PlatformEmail::TemperatureExcursion { .. } => "temperature_excursion",
            PlatformEmail::ContentHidden { .. } => "content_hidden",
            PlatformEmail::RfqAmended { .. } => "rfq_amended",
            PlatformEmail::RfqClosingSoon { .. } => "rfq_closing_soon",
            PlatformEmail::RfqMessage { .. } => "rfq_message",
            PlatformEmail::MfaChanged { .. } => "mfa_changed",
        }
    }

    /// The template's variables as JSON: what rendering binds.
    pub fn data(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut tagged)) => tagged.remove("data").unwrap_or_default(),
            _ => Value::Null,
        }
    }
}

/// One message on the platform email queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedEmail {
    /// Chosen when the email is queued: the worker sends each id once,
    /// however often SQS delivers it.
    pub id: String,
    pub to: String,
    pub email: PlatformEmail,
}

impl QueuedEmail {
    pub fn new(to: impl Into<String>, email: PlatformEmail) -> Self {
        Self {
            id: crate::domain::new_id(),
            to: to.into(),
            email,
        }
    }
}

/// Puts platform emails on the queue (`PLATFORM_EMAIL_QUEUE_URL`).
#[cfg(feature = "outbox")]
#[derive(Clone)]
pub struct Outbox {
    sqs: aws_sdk_sqs::Client,
    url: Option<String>,
}

/// SQS takes at most this many messages in one `SendMessageBatch`.
#[cfg(feature = "outbox")]
const SQS_BATCH: usize = 10;

#[cfg(feature = "outbox")]
impl Outbox {
    /// `url`: none when `PLATFORM_EMAIL_QUEUE_URL` is unset; every send
    /// then fails and says so.
    pub fn new(sqs: aws_sdk_sqs::Client, url: Option<String>) -> Self {
        Self { sqs, url }
    }

    /// The SQS client, for a context that has a queue of its own to use
    /// over the same connections.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        &self.sqs
    }

    fn url(&self) -> anyhow::Result<&str> {
        self.url
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("PLATFORM_EMAIL_QUEUE_URL is not set"))
    }

    /// Queues `email` to `to`; returns the outbox id. Once this returns,
    /// the email is the worker's to send.
    #[tracing::instrument(skip_all, fields(template = email.id()))]
    pub async fn send(&self, to: &str, email: &PlatformEmail) -> anyhow::Result<String> {
        let queued = QueuedEmail::new(to, email.clone());
        let body = serde_json::to_string(&queued)?;
        self.sqs
            .send_message()
            .queue_url(self.url()?)
            .message_body(body)
            .send()
            .await
            .map_err(|err| anyhow::Error::new(err).context("queueing a platform email"))?;
        Ok(queued.id)
    }

    /// Queues several emails, ten to a call. Returns the recipients whose
    /// email was not queued, each with why; the others are queued.
    pub async fn send_all(
        &self,
        emails: Vec<(String, PlatformEmail)>,
    ) -> Vec<(String, anyhow::Error)> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

        let mut failed = Vec::new();
        let url = match self.url() {
            Ok(url) => url.to_owned(),
            Err(err) => {
                return emails
                    .into_iter()
                    .map(|(to, _)| (to, anyhow::anyhow!("{err}")))
                    .collect();
            }
        };
        let mut emails = emails.into_iter().peekable();
        while emails.peek().is_some() {
            let chunk: Vec<QueuedEmail> = emails
                .by_ref()
                .take(SQS_BATCH)
                .map(|(to, email)| QueuedEmail::new(to, email))
                .collect();
            let mut entries = Vec::with_capacity(chunk.len());
            for (n, queued) in chunk.iter().enumerate() {
                let entry = serde_json::to_string(queued)
                    .map_err(anyhow::Error::new)
                    .and_then(|body| {
                        SendMessageBatchRequestEntry::builder()
                            .id(n.to_string())
                            .message_body(body)
                            .build()
                            .map_err(anyhow::Error::new)
                    });
                match entry {
                    Ok(entry) => entries.push(entry),
                    Err(err) => failed.push((queued.to.clone(), err)),
                }
            }
            if entries.is_empty() {
                continue;
            }
            match self
                .sqs
                .send_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(output) => {
                    for refused in output.failed() {
                        let to = refused
                            .id()
                            .parse::<usize>()
                            .ok()
                            .and_then(|n| chunk.get(n))
                            .map(|q| q.to.clone())
                            .unwrap_or_default();
                        let why = refused.message().unwrap_or(refused.code()).to_owned();
                        failed.push((to, anyhow::anyhow!("SQS refused the message: {why}")));
                    }
                }
                Err(err) => {
                    let err = anyhow::Error::new(err).context("queueing platform emails");
                    for queued in &chunk {
                        failed.push((queued.to.clone(), anyhow::anyhow!("{err:#}")));
                    }
                }
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_email_names_its_template_and_carries_the_templates_variables() {
        let queued = QueuedEmail {
            id: "01J0".into(),
            to: "ada@example.com".into(),
            email: PlatformEmail::OrderShipped {
                name: "Ada".into(),
                order_id: "o-1".into(),
                lines: vec![EmailLine {
                    quantity: 2,
                    name: "Tomatoes".into(),
                    total: "6.00 EUR".into(),
                }],
                carrier: None,
                tracking_number: Some("TR-1".into()),
            },
        };
        let wire = serde_json::to_value(&queued).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({
                "id": "01J0",
                "to": "ada@example.com",
                "email": {
                    "template": "order_shipped",
                    "data": {
                        "name": "Ada", "orderId": "o-1",
                        "lines": [{ "quantity": 2, "name": "Tomatoes", "total": "6.00 EUR" }],
                        "carrier": null, "trackingNumber": "TR-1"
                    }
                }
            })
        );
        let back: QueuedEmail = serde_json::from_value(wire).unwrap();
        assert_eq!(back, queued);
        assert_eq!(back.email.data()["trackingNumber"], "TR-1");
    }

    #[test]
    fn the_tag_on_the_queue_is_the_template_id() {
        let email = PlatformEmail::MfaChanged {
            name: "Ada".into(),
            summary: "Two-factor sign-in was turned on.".into(),
        };
        let wire = serde_json::to_value(&email).unwrap();
        assert_eq!(wire["template"], email.id());
        let unknown = serde_json::json!({ "template": "nope", "data": {} });
        assert!(serde_json::from_value::<PlatformEmail>(unknown).is_err());
    }
}
