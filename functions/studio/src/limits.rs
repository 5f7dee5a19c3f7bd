//! Generation limits: ten designs per user per rolling hour, and the
//! escalation of repeated blocked prompts to a temporary ban.
//!
//! The hour is ten slot items `STUDIO#USER#<id>#LIMITS / SLOT#0..9`, each
//! held by one design until an hour after it was created. A new design
//! takes a free slot (absent, or held past its hour) in the same
//! transaction that creates it, conditioned on the slot still being free,
//! so two requests at once can never take the same slot; with none free
//! the answer is 429 with Retry-After = when the oldest slot frees. A
//! design that fails or is blocked gives its slot back (deletes it, only
//! while it still holds it).
//!
//! Blocked prompts count per user per day (`BLOCKS#<day>`, an atomic ADD);
//! the [`BLOCKS_BEFORE_BAN`]th in a day writes `BAN` (until [`BAN_SECS`]
//! later) and both are audited in the user's trail.

use serde::Deserialize;
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::Principal;
use shared::domain::now_epoch;
use shared::http::{ApiError, ApiResult};
use shared::store::{PartitionQuery, Store, Transaction, Update, attr, n, s};

use crate::model::{SLOT_TYPE, limits_partition};

pub const DESIGNS_PER_HOUR: u32 = 10;
pub const WINDOW_SECS: i64 = 3600;
pub const BLOCKS_BEFORE_BAN: i64 = 3;
pub const BAN_SECS: i64 = 24 * 3600;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LimitItem {
    #[serde(rename = "SK")]
    sk: String,
    #[serde(default)]
    until: i64,
}

/// The slot a new design may take now.
#[derive(Debug, Clone, Copy)]
pub struct FreeSlot {
    pub index: u32,
    /// When the slot was last held until (0: never held).
    pub held_until: i64,
}

/// One Query of the user's limits partition: refuses a banned user, else
/// finds a free slot, else 429 with the wait until the oldest frees.
pub async fn free_slot(store: &Store, user_id: &str) -> ApiResult<FreeSlot> {
    let query = PartitionQuery {
        index: shared::store::Index::Table,
        partition: limits_partition(user_id),
        sort_prefix: None,
        ascending: true,
    };
    let page = store
        .query_page::<LimitItem>(&query, 100, None)
        .await
        .map_err(ApiError::from)?;
    let now = now_epoch();
    if let Some(ban) = page.items.iter().find(|i| i.sk == "BAN")
        && ban.until > now
    {
        return Err(ApiError::rate_limited(
            "generation is suspended after repeated blocked prompts; try again later",
            (ban.until - now) as u64,
        ));
    }
    let mut held = [0i64; DESIGNS_PER_HOUR as usize];
    for item in &page.items {
        if let Some(index) = item
            .sk
            .strip_prefix("SLOT#")
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|i| *i < held.len())
        {
            held[index] = item.until;
        }
    }
    if let Some((index, until)) = held.iter().enumerate().find(|(_, until)| **until <= now) {
        return Ok(FreeSlot {
            index: index as u32,
            held_until: *until,
        });
    }
    let oldest = held.iter().min().copied().unwrap_or(now);
    Err(ApiError::rate_limited(
        format!("at most {DESIGNS_PER_HOUR} designs an hour; try again later"),
        (oldest - now).max(1) as u64,
    ))
}

pub fn slot_sk(index: u32) -> String {
    format!("SLOT#{index}")
}

/// The write that takes `slot` for `design_id` until an hour from now,
/// only if it is still as [`free_slot`] saw it.
pub fn take_slot(
    store: &Store,
    user_id: &str,
    slot: FreeSlot,
    design_id: &str,
) -> ApiResult<aws_sdk_dynamodb::types::TransactWriteItem> {
    let now = now_epoch();
    let update = Update::new(
        limits_partition(user_id),
        slot_sk(slot.index),
        "SET #type = :type, designId = :design, #until = :until, #ttl = :ttl",
    )
    .condition("attribute_not_exists(PK) OR #until = :seen")
    .name("#type", attr::TYPE)
    .name("#until", "until")
    .name("#ttl", attr::TTL)
    .value(":type", s(SLOT_TYPE))
    .value(":design", s(design_id))
    .value(":until", n(now + WINDOW_SECS))
    .value(":ttl", n(now + WINDOW_SECS + 3600))
    .value(":seen", n(slot.held_until));
    Ok(store.transact_update(update)?)
}

/// The write that gives a design's slot back, only while it holds it.
pub fn release_slot(
    store: &Store,
    user_id: &str,
    slot: u32,
    design_id: &str,
) -> ApiResult<aws_sdk_dynamodb::types::TransactWriteItem> {
    Ok(store.transact_delete(
        &limits_partition(user_id),
        &slot_sk(slot),
        Some("designId = :design"),
        &[(":design", s(design_id))],
    )?)
}

/// Records a blocked prompt: counts it, audits it, and bans the user for
/// a while at the [`BLOCKS_BEFORE_BAN`]th of the day.
pub async fn record_block(
    store: &Store,
    principal: &Principal,
    category: &str,
    source: &str,
) -> ApiResult<()> {
    let now = now_epoch();
    let day = now - now.rem_euclid(86_400);
    let user = &principal.user_id;
    #[derive(Deserialize)]
    struct Count {
        count: i64,
    }
    let counter = Update::new(
        limits_partition(user),
        format!("BLOCKS#{day}"),
        "ADD #count :one SET #type = :type, #ttl = :ttl",
    )
    .name("#count", "count")
    .name("#type", attr::TYPE)
    .name("#ttl", attr::TTL)
    .value(":one", n(1))
    .value(":type", s("STUDIO_BLOCKS"))
    .value(":ttl", n(day + 2 * 86_400));
    let count = store.update::<Count>(counter).await?.count;
    let actor = shared::audit::Actor::User(user.clone());
    let scope = AuditScope::User(user.clone());
    let mut tx = Transaction::new();
    tx.push(
        AuditEvent::new(&scope, &actor, AuditAction::StudioPromptBlocked)
            .details(serde_json::json!({ "category": category, "source": source, "today": count }))
            .transact_item(store)?,
    );
    if count == BLOCKS_BEFORE_BAN {
        let ban = Update::new(
            limits_partition(user),
            "BAN",
            "SET #type = :type, #until = :until, #ttl = :ttl",
        )
        .name("#type", attr::TYPE)
        .name("#until", "until")
        .name("#ttl", attr::TTL)
        .value(":type", s("STUDIO_BAN"))
        .value(":until", n(now + BAN_SECS))
        .value(":ttl", n(now + BAN_SECS + 3600));
        tx.push(store.transact_update(ban)?);
        tx.push(
            AuditEvent::new(&scope, &actor, AuditAction::StudioGenerationSuspended)
                .details(serde_json::json!({ "blocksToday": count, "seconds": BAN_SECS }))
                .transact_item(store)?,
        );
        tracing::warn!(user_id = %user, "generation suspended after repeated blocked prompts");
    }
    store.transact(tx).await?;
    Ok(())
}
