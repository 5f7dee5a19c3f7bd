//! The matching worker (`sourcing-matching` Lambda, fed by the matching
//! queue): finishes publishing RFQs whose candidate set was too large for
//! the request. Each message names an RFQ in `matching`; the worker loads
//! the candidates, matches, stores the results and invitations, publishes
//! and emails the invited (`publish::finish_publishing`, the same code as
//! the request). An RFQ no longer `matching` is done: the message is
//! dropped, so a message delivered twice publishes once.

use anyhow::Context as _;
use shared::audit::Actor;

use crate::SourcingState;
use crate::access;
use crate::candidates::Candidates;
use crate::model::RfqStatus;
use crate::publish::{MatchingMessage, finish_publishing, load_candidates};
use crate::rfqs::load;

pub use shared::sqs::{BatchResponse, ItemFailure, SqsEvent, SqsMessage};

/// Handles one SQS batch; the messages that must come again are reported.
pub async fn handle_batch(state: &SourcingState, event: SqsEvent) -> BatchResponse {
    let mut failures = Vec::new();
    for message in event.records {
        let result = async {
            let body: MatchingMessage =
                serde_json::from_str(&message.body).context("reading a matching message")?;
            finish(state, &body).await
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(message_id = %message.message_id, error = ?err, "a matching will be retried");
            failures.push(ItemFailure {
                item_identifier: message.message_id,
            });
        }
    }
    BatchResponse {
        batch_item_failures: failures,
    }
}

async fn finish(state: &SourcingState, message: &MatchingMessage) -> anyhow::Result<()> {
    let rfq = match load(&state.store, &message.buyer_org_id, &message.rfq_id).await {
        Ok(rfq) => rfq,
        Err(err) if err.status() == axum::http::StatusCode::NOT_FOUND => return Ok(()),
        Err(err) => return Err(anyhow::anyhow!("{err:?}").context("reading the RFQ")),
    };
    if rfq.status != RfqStatus::Matching {
        return Ok(());
    }
    let actor = match message.published_by.split_once(':') {
        Some(("user", id)) => Actor::User(id.to_owned()),
        Some(("apikey", prefix)) => Actor::ApiKey(prefix.to_owned()),
        _ => Actor::Anonymous,
    };
    let buyer = access::org(&state.store, &rfq.buyer_org_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let candidates = match load_candidates(state, &rfq, None)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}").context("loading the candidates"))?
    {
        Candidates::Loaded(candidates) => candidates,
        Candidates::MoreThan(_) => anyhow::bail!("candidates were counted, not loaded"),
    };
    finish_publishing(state, &rfq, &candidates, &actor, &buyer.name)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}").context("finishing the matching"))?;
    Ok(())
}
