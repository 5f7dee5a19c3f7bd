//! Dead letters back to work: moves the messages of a dead-letter queue to
//! the queue its worker reads (`cargo run -p devserver --bin redrive`),
//! locally against moto and in AWS with the deployer's credentials. A
//! dead letter of a queue is the whole unit of work (the message body as
//! it was sent), and every worker is idempotent, so a message moved twice
//! (the tool stopped between sending and deleting) does its work once.

use anyhow::Context as _;

/// Moves up to `max` messages from `from` to `to`, each sent before it is
/// deleted; returns how many moved.
pub async fn redrive(
    sqs: &aws_sdk_sqs::Client,
    from: &str,
    to: &str,
    max: usize,
) -> anyhow::Result<usize> {
    let mut moved = 0;
    while moved < max {
        let batch = (max - moved).min(10) as i32;
        let received = sqs
            .receive_message()
            .queue_url(from)
            .max_number_of_messages(batch)
            .message_attribute_names("All")
            .send()
            .await
            .with_context(|| format!("receiving from {from}"))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            sqs.send_message()
                .queue_url(to)
                .message_body(message.body.clone().unwrap_or_default())
                .set_message_attributes(message.message_attributes.clone())
                .send()
                .await
                .with_context(|| format!("sending to {to}"))?;
            sqs.delete_message()
                .queue_url(from)
                .receipt_handle(message.receipt_handle.unwrap_or_default())
                .send()
                .await
                .with_context(|| format!("deleting a moved message from {from}"))?;
            moved += 1;
        }
    }
    Ok(moved)
}
