//! Outgoing email through SES v2, from the configured sender.

use anyhow::Context as _;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};

#[derive(Clone)]
pub struct Mailer {
    ses: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: Option<String>,
}

/// A plain-text message. The body may hold a secret (a single-use code): it
/// is never logged. Links are full URLs the client builds from
/// `PUBLIC_APP_URL`.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl Mailer {
    pub fn new(
        ses: aws_sdk_sesv2::Client,
        from: impl Into<String>,
        configuration_set: Option<String>,
    ) -> Self {
        Self {
            ses,
            from: from.into(),
            configuration_set,
        }
    }

    #[tracing::instrument(skip_all, fields(subject = %email.subject))]
    pub async fn send(&self, email: Message) -> anyhow::Result<String> {
        let utf8 = |text: String| Content::builder().data(text).charset("UTF-8").build();
        let message = SesMessage::builder()
            .subject(utf8(email.subject)?)
            .body(Body::builder().text(utf8(email.text)?).build())
            .build();
        let output = self
            .ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .context("sending an email through SES")?;
        Ok(output.message_id.unwrap_or_default())
    }
}
