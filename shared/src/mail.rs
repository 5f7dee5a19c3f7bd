//! Sending email through SES v2 (moto locally), from the configured sender
//! and through the configured configuration set.

use anyhow::Context as _;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::Services;
use crate::domain::Email;

/// Sends plain-text mail as `SENDER_EMAIL`. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    client: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: Option<String>,
}

impl Mailer {
    pub fn new(services: &Services) -> Self {
        Self {
            client: services.ses.clone(),
            from: services.config.sender_email.clone(),
            configuration_set: services.config.ses_configuration_set.clone(),
        }
    }

    /// Sends one plain-text message. The body may hold a secret (a token):
    /// it is never logged here.
    #[tracing::instrument(skip_all)]
    pub async fn send_text(&self, to: &Email, subject: &str, body: &str) -> anyhow::Result<()> {
        let text = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        let message = Message::builder()
            .subject(text(subject)?)
            .body(Body::builder().text(text(body)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .context("SES did not accept the message")?;
        Ok(())
    }
}
