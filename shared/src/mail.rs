//! Outgoing email through SES v2, from the configured sender.
//!
//! With the `mail` feature, [`render`] is the pipeline that turns a template
//! and its data into the subject, HTML and text of a [`RichMessage`]; the
//! `ses` feature alone sends rendered messages and reads the account's
//! sending status, and links none of the rendering. The platform's own
//! emails are not sent from here by any context: they go through
//! [`crate::outbox`] to the mail context's outbox worker.

#[cfg(feature = "mail")]
pub mod builtin;
#[cfg(feature = "mail")]
pub mod render;

pub use crate::outbox::{EmailLine, PlatformEmail};

use anyhow::Context as _;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{
    Body, Content, Destination, EmailContent, Message as SesMessage, MessageHeader, MessageTag,
};

#[derive(Clone)]
pub struct Mailer {
    ses: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: Option<String>,
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
}

/// A rendered email with an HTML and a text part, SES message tags (for
/// the events SES publishes about it) and extra headers (`List-Unsubscribe`).
#[derive(Debug, Clone)]
pub struct RichMessage {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Tag names and values: letters, digits, `_` and `-` only (SES's rule).
    pub tags: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

/// Why SES did not take a message.
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    /// Over the account's send rate or quota: worth a retry later.
    #[error("SES is throttling this account")]
    Throttled(#[source] anyhow::Error),
    /// SES refused this message (the address, the content): a retry fails again.
    #[error("SES rejected the message: {0}")]
    Rejected(String),
    /// SES did not answer, or sending is paused: worth a retry.
    #[error("SES is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl Mailer {
    /// Sends a [`RichMessage`] with SES v2 `SendEmail` (simple content, the
    /// configuration set); returns SES's message id.
    #[tracing::instrument(skip_all)]
    pub async fn send_rich(&self, email: RichMessage) -> Result<String, SendFailure> {
        let utf8 = |text: String| {
            Content::builder()
                .data(text)
                .charset("UTF-8")
                .build()
                .map_err(|e| SendFailure::Rejected(e.to_string()))
        };
        let headers = email
            .headers
            .into_iter()
            .map(|(name, value)| MessageHeader::builder().name(name).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SendFailure::Rejected(e.to_string()))?;
        let tags = email
            .tags
            .into_iter()
            .map(|(name, value)| MessageTag::builder().name(name).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SendFailure::Rejected(e.to_string()))?;
        let message = SesMessage::builder()
            .subject(utf8(email.subject)?)
            .body(
                Body::builder()
                    .html(utf8(email.html)?)
                    .text(utf8(email.text)?)
                    .build(),
            )
            .set_headers((!headers.is_empty()).then_some(headers))
            .build();
        let output = self
            .ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_email_tags((!tags.is_empty()).then_some(tags))
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(classify_send_error)?;
        Ok(output.message_id.unwrap_or_default())
    }
}

fn classify_send_error<R>(err: SdkError<SendEmailError, R>) -> SendFailure
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => match service.err() {
            SendEmailError::TooManyRequestsException(_)
            | SendEmailError::LimitExceededException(_) => SendFailure::Throttled(err.into()),
            SendEmailError::MessageRejected(rejected) => {
                SendFailure::Rejected(rejected.message().unwrap_or("message rejected").to_owned())
            }
            SendEmailError::BadRequestException(bad) => {
                SendFailure::Rejected(bad.message().unwrap_or("bad request").to_owned())
            }
            _ => SendFailure::Unavailable(err.into()),
        },
        _ => SendFailure::Unavailable(err.into()),
    }
}

/// What SES says about the account's sending (GetAccount).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendingStatus {
    /// Whether the account may send at all (SES pauses it after abuse).
    pub sending_enabled: bool,
    /// `HEALTHY`, `PROBATION` or `SHUTDOWN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforcement_status: Option<String>,
    /// Out of the sandbox (may send to any address).
    pub production_access: bool,
    /// Emails per second SES accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_send_rate: Option<f64>,
    /// Emails per 24 hours, and how many were sent in the last 24 hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_24_hour_send: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_last_24_hours: Option<f64>,
}

impl Mailer {
    /// The account's sending status and quota (SES v2 `GetAccount`);
    /// `None` where the endpoint has no such operation (404): SES always
    /// has an account to read, so that is an SES stand-in, the local
    /// stack's moto. Any other failure is an error.
    pub async fn sending_status(&self) -> anyhow::Result<Option<SendingStatus>> {
        let account = match self.ses.get_account().send().await {
            Ok(account) => account,
            Err(err) if err.raw_response().map(|r| r.status().as_u16()) == Some(404) => {
                return Ok(None);
            }
            Err(err) => return Err(err).context("reading the SES account"),
        };
        let quota = account.send_quota();
        Ok(Some(SendingStatus {
            sending_enabled: account.sending_enabled(),
            enforcement_status: account.enforcement_status().map(str::to_owned),
            production_access: account.production_access_enabled(),
            max_send_rate: quota.map(|q| q.max_send_rate()).filter(|r| *r > 0.0),
            max_24_hour_send: quota.map(|q| q.max24_hour_send()),
            sent_last_24_hours: quota.map(|q| q.sent_last24_hours()),
        }))
    }
}
