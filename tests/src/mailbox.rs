//! What the local SES sent, read from moto's state. The platform's own
//! emails reach SES through the platform email queue and the mail
//! context's outbox worker: `TestApp::emails_to` hands the app's queue to
//! the worker first, as the devserver's pump does a moment after the
//! request, so a test reads what a user would find in their inbox.

use serde_json::Value;

use crate::TestApp;

/// An address no other test uses: moto's mailbox is shared by all tests.
pub fn unique_email(name: &str) -> String {
    format!(
        "{name}.{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

/// An email the local SES accepted.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub subject: String,
    pub body: String,
}

impl SentEmail {
    /// The single-use code in the email (after "code: ").
    pub fn code(&self) -> String {
        let start = self.body.find("code: ").expect("the email has a code") + "code: ".len();
        self.body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

impl TestApp {
    /// Hands every email on this app's platform email queue to the outbox
    /// worker (the `mail-outbox` Lambda's handler); returns how many
    /// messages it handed over.
    pub async fn deliver_queued_emails(&self) -> usize {
        let url = self
            .services
            .config
            .platform_email_queue_url
            .clone()
            .expect("the app has a platform email queue");
        let worker = mail::outbox::OutboxWorker::new(&self.services);
        let sqs = aws_sdk_sqs::Client::new(&self.services.sdk);
        let batches = self
            .clock
            .run(devserver::pumps::drain_outbox_queue(&worker, &sqs, &url))
            .await
            .expect("the platform email queue drains");
        batches.iter().map(|b| b.records.len()).sum()
    }

    /// Every email sent to `to` so far, oldest first, once the queued
    /// platform emails are delivered.
    pub async fn emails_to(&self, to: &str) -> Vec<SentEmail> {
        self.deliver_queued_emails().await;
        sent_to(to).await
    }

    /// The one email to `to` whose subject contains `subject`, once the
    /// queued platform emails are delivered; none, or a duplicate, fails
    /// the test.
    pub async fn only_email_to(&self, to: &str, subject: &str) -> SentEmail {
        let mut found: Vec<SentEmail> = self
            .emails_to(to)
            .await
            .into_iter()
            .filter(|m| m.subject.contains(subject))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "emails to {to} with {subject:?} in the subject: {found:?}"
        );
        found.remove(0)
    }
}

/// Every email SES accepted for `to` so far, oldest first, from moto's state.
async fn sent_to(to: &str) -> Vec<SentEmail> {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL_SESV2").expect("the stack names its SES endpoint");
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("moto answers");
    let request = format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut response)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    let body = text.split_once("\r\n\r\n").expect("an HTTP response").1;
    let data: Value = serde_json::from_str(body).expect("moto's state is JSON");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|to_list| to_list.iter().any(|a| a == to))
        })
        .map(|m| SentEmail {
            subject: m["subject"].as_str().unwrap_or_default().to_owned(),
            body: m["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}
