//! The clarification thread of a published RFQ: one thread between the
//! buyer and each invited supplier. A supplier sees only its own thread
//! and the answers the buyer published to every invitee; the buyer sees
//! all. Anyone else gets 404.
//!
//! Items: `RFQ#<rfqId> / MESSAGE#<supplierOrgId>#<messageId>` for a
//! thread, `RFQ#<rfqId> / MESSAGE#ALL#<messageId>` for an answer to all.
//!
//! An answer to all is published as an amendment (text only) in the same
//! transaction, so invitees see it among the amendments and are emailed
//! as for any amendment; a message in one thread emails the other side
//! (the supplier's owners and sellers, or the buyer's owners and buyers).

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shared::auth::{Caller, Permission};
use shared::domain::{new_id, now_rfc3339};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use shared::outbox::PlatformEmail;
use utoipa::ToSchema;

use crate::SourcingState;
use crate::access;
use crate::amendments;
use crate::model::{RfqRecord, RfqStatus, all_under, invitation_key, rfq_key, rfq_pk};
use crate::publish::{buyer_recipients, supplier_recipients};
use crate::supplier::invitation_and_rfq;

const MESSAGE_TYPE: &str = "RFQ_MESSAGE";
const MAX_TEXT_CHARS: usize = 4000;
const TO_ALL: &str = "ALL";

fn message_prefix(thread: &str) -> String {
    format!("MESSAGE#{thread}#")
}

/// One message as stored and shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RfqMessage {
    pub id: String,
    pub rfq_id: String,
    /// The supplier whose thread this is; none for an answer to all invitees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_org_id: Option<String>,
    /// `buyer` or `supplier`.
    #[schema(example = "supplier")]
    pub from: String,
    pub text: String,
    pub sent_by: String,
    pub sent_at: String,
    /// The amendment that published an answer to all invitees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amendment_number: Option<u32>,
}

/// A message as stored.
#[derive(Debug, Serialize, Deserialize)]
struct MessageRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    #[serde(flatten)]
    message: RfqMessage,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageRequest {
    /// 1 to 4000 characters.
    #[schema(example = "Is a 6 kg case acceptable?")]
    text: String,
    /// The buyer's message: to this supplier's thread.
    supplier_org_id: Option<String>,
    /// The buyer's answer to every invitee (visible in every thread).
    #[serde(default)]
    to_all: bool,
}

/// Who is writing or reading: the RFQ's buyer, or an invited supplier.
pub(crate) enum Party {
    Buyer(Box<RfqRecord>),
    Supplier(Box<RfqRecord>),
}

pub(crate) async fn party(
    state: &SourcingState,
    caller: &Caller,
    org_id: &str,
    rfq_id: &str,
    buyer_needs: Permission,
    supplier_needs: Permission,
) -> ApiResult<Party> {
    let org_access = caller.access(&state.store, org_id).await?;
    let (pk, sk) = rfq_key(org_id, rfq_id);
    if let Some(rfq) = state.store.get::<RfqRecord>(&pk, &sk).await? {
        org_access.require(buyer_needs)?;
        if rfq.status == RfqStatus::Draft {
            return Err(ApiError::conflict(
                "a draft has no invitees to talk to: publish it first",
            ));
        }
        return Ok(Party::Buyer(Box::new(rfq)));
    }
    let (_, rfq) = invitation_and_rfq(&state.store, org_id, rfq_id).await?;
    org_access.require(supplier_needs)?;
    Ok(Party::Supplier(Box::new(rfq)))
}

/// The thread(s) this org sees, oldest first. The buyer needs `rfq:read`
/// and sees every thread; an invited supplier (`rfq:read`) its own and the
/// answers to all.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/messages",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer's, or an invited supplier's, organization id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    responses(
        (status = 200, body = Envelope<Vec<RfqMessage>>),
        (status = 403, description = "Without rfq:read", body = ErrorEnvelope),
        (status = 404, description = "Neither the buyer nor an invited supplier", body = ErrorEnvelope),
        (status = 409, description = "A draft", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn list_rfq_messages(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<Vec<RfqMessage>>> {
    let party = party(
        &state,
        &caller,
        &org_id,
        &rfq_id,
        Permission::RfqRead,
        Permission::RfqRead,
    )
    .await?;
    let pk = rfq_pk(&rfq_id);
    let records: Vec<MessageRecord> = match party {
        Party::Buyer(_) => all_under(&state.store, pk, "MESSAGE#").await?,
        Party::Supplier(_) => {
            let mut own: Vec<MessageRecord> =
                all_under(&state.store, pk.clone(), &message_prefix(&org_id)).await?;
            own.extend(
                all_under::<MessageRecord>(&state.store, pk, &message_prefix(TO_ALL)).await?,
            );
            own
        }
    };
    let mut messages: Vec<RfqMessage> = records.into_iter().map(|r| r.message).collect();
    messages.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ApiResponse::ok(messages))
}

/// Posts a message. An invited supplier (`proposal:submit`) writes to its
/// own thread; the buyer (`rfq:create`) names a supplier's thread
/// (`supplierOrgId`) or answers every invitee (`toAll`).
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/messages",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer's, or an invited supplier's, organization id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    request_body = MessageRequest,
    responses(
        (status = 201, body = Envelope<RfqMessage>),
        (status = 403, description = "Without rfq:create (buyer) or proposal:submit (supplier)", body = ErrorEnvelope),
        (status = 404, description = "Neither the buyer nor an invited supplier", body = ErrorEnvelope),
        (status = 409, description = "A draft", body = ErrorEnvelope),
        (status = 422, description = "No text; the buyer named no thread, or one of a supplier that was not invited", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn post_rfq_message(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<MessageRequest>,
) -> ApiResult<ApiResponse<RfqMessage>> {
    let party = party(
        &state,
        &caller,
        &org_id,
        &rfq_id,
        Permission::RfqCreate,
        Permission::ProposalSubmit,
    )
    .await?;
    let mut problems = Problems::default();
    let text = problems.text("text", &request.text, 1, MAX_TEXT_CHARS);
    let (from, thread) = match &party {
        Party::Supplier(_) => {
            if request.supplier_org_id.is_some() || request.to_all {
                problems.add("supplierOrgId", "a supplier writes to its own thread only");
            }
            ("supplier", Some(org_id.clone()))
        }
        Party::Buyer(_) => match (&request.supplier_org_id, request.to_all) {
            (None, true) => ("buyer", None),
            (Some(supplier), false) => {
                let (pk, sk) = invitation_key(supplier, &rfq_id);
                if state.store.get_raw(&pk, &sk).await?.is_none() {
                    problems.add("supplierOrgId", "not a supplier invited to this RFQ");
                }
                ("buyer", Some(supplier.clone()))
            }
            _ => {
                problems.add("supplierOrgId", "name one supplier's thread, or send toAll");
                ("buyer", None)
            }
        },
    };
    problems.finish("the message has invalid fields", || ())?;
    let id = new_id();
    let thread_key = thread.clone().unwrap_or_else(|| TO_ALL.to_owned());
    let sk = format!("{}{id}", message_prefix(&thread_key));
    let mut message = RfqMessage {
        id: id.clone(),
        rfq_id: rfq_id.clone(),
        supplier_org_id: thread.clone(),
        from: from.to_owned(),
        text: text.clone(),
        sent_by: caller.actor().to_string(),
        sent_at: now_rfc3339(),
        amendment_number: None,
    };
    match (&party, &thread) {
        (Party::Buyer(rfq), None) => {
            let prepared = amendments::prepare(
                &state.store,
                &caller,
                rfq,
                (**rfq).clone(),
                text,
                Vec::new(),
                Some(id),
            )?;
            message.amendment_number = Some(prepared.amendment.number);
            let record = MessageRecord {
                pk: rfq_pk(&rfq_id),
                sk,
                item_type: MESSAGE_TYPE.to_owned(),
                message: message.clone(),
            };
            let write = state
                .store
                .transact_put(&record, Some("attribute_not_exists(PK)"))?;
            prepared.commit(&state, vec![write]).await?;
        }
        (_, _) => {
            let record = MessageRecord {
                pk: rfq_pk(&rfq_id),
                sk,
                item_type: MESSAGE_TYPE.to_owned(),
                message: message.clone(),
            };
            state
                .store
                .put(&record, Some("attribute_not_exists(PK)"))
                .await
                .map_err(|e| ApiError::from(e).context("saving the message"))?;
            notify_other_side(&state, &party, &org_id, &message).await;
        }
    }
    Ok(ApiResponse::created(message))
}

/// Emails the other side of a thread: the buyer's owners and buyers for a
/// supplier's message, the supplier's owners and sellers for the buyer's.
/// Failures are logged; the message stands.
async fn notify_other_side(
    state: &SourcingState,
    party: &Party,
    org_id: &str,
    message: &RfqMessage,
) {
    let (rfq, to_org, reader_org) = match party {
        Party::Supplier(rfq) => (rfq, rfq.buyer_org_id.clone(), rfq.buyer_org_id.clone()),
        Party::Buyer(rfq) => {
            let Some(supplier) = message.supplier_org_id.clone() else {
                return;
            };
            (rfq, supplier.clone(), supplier)
        }
    };
    let from_name = match access::org(&state.store, org_id).await {
        Ok(org) => org.name,
        Err(_) => "The other side".to_owned(),
    };
    let email = PlatformEmail::RfqMessage {
        rfq_title: rfq.content.title.clone(),
        from_name,
        text: message.text.clone(),
        messages_path: format!("/v1/orgs/{reader_org}/rfqs/{}/messages", rfq.id),
    };
    let recipients = match party {
        Party::Supplier(_) => buyer_recipients(state, &to_org).await,
        Party::Buyer(_) => supplier_recipients(state, &to_org).await,
    };
    crate::email_all(
        state,
        &to_org,
        recipients,
        &email,
        "could not email a clarification message",
    )
    .await;
}
