//! `GET /v1/health`: the function's version, whether DynamoDB, S3 and SES
//! answer, and the SES account's sending status (GetAccount, where SES
//! answers it: moto does not). Each check has its own short deadline and
//! they run at once, so a dead dependency makes the answer 503 within about
//! two seconds, not a hang.
//!
//! The route needs no credentials, so its answer is kept for
//! [`CHECKS_KEPT_FOR`] (a failed one for [`FAILED_CHECKS_KEPT_FOR`], so a
//! dependency that comes back shows within a second): however often it is
//! called, a warm function asks its dependencies at most once in that time,
//! and concurrent requests wait for the one check under way. SES allows its
//! account-management calls (GetAccount, GetEmailIdentity) about one per
//! second per account, shared with the mail context's suppression-list
//! calls; a monitor polling every second, or anyone else, must not use that
//! up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use serde::Serialize;
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::mail::SendingStatus;
use utoipa::ToSchema;

use crate::PlatformState;

const CHECK_DEADLINE: Duration = Duration::from_secs(2);

/// How long a warm function answers with the checks it last made.
pub const CHECKS_KEPT_FOR: Duration = Duration::from_secs(10);
/// The same for checks of which one failed.
pub const FAILED_CHECKS_KEPT_FOR: Duration = Duration::from_secs(1);

/// The checks last made, and when: kept in the function's state.
#[derive(Clone, Default)]
pub struct LastChecks(Arc<tokio::sync::Mutex<Option<Checked>>>);

#[derive(Clone)]
struct Checked {
    /// Epoch seconds, for the age, and the same as RFC 3339 text.
    at: i64,
    checked_at: String,
    checks: Checks,
    ses_account: Option<SendingStatus>,
}

impl Checked {
    fn healthy(&self) -> bool {
        self.checks.dynamodb.ok && self.checks.s3.ok && self.checks.ses.ok
    }

    /// Seconds this answer is given again.
    fn kept_for(&self) -> i64 {
        let kept = match self.healthy() {
            true => CHECKS_KEPT_FOR,
            false => FAILED_CHECKS_KEPT_FOR,
        };
        kept.as_secs() as i64
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
    version: String,
    /// When the dependencies were asked (RFC 3339): a healthy answer is
    /// kept for ten seconds (a failed one for one), so it may be that old.
    checked_at: String,
    checks: Checks,
    /// The SES account's sending status and quota (GetAccount), when SES
    /// tells it; an account whose sending SES paused fails the `ses` check.
    #[serde(skip_serializing_if = "Option::is_none")]
    ses_account: Option<SendingStatus>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Checks {
    dynamodb: Check,
    s3: Check,
    ses: Check,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    ok: bool,
    latency_ms: u64,
    /// Why the check failed (no internals: the kind of failure only).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn check<F, E>(call: F) -> Check
where
    F: std::future::Future<Output = Result<(), E>>,
    E: Into<anyhow::Error>,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_DEADLINE, call).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(err)) => {
            tracing::warn!(error = %one_line(err), "health check failed");
            Some("the dependency returned an error".to_owned())
        }
        Err(_) => Some(format!(
            "no answer within {} ms",
            CHECK_DEADLINE.as_millis()
        )),
    };
    Check {
        ok: error.is_none(),
        latency_ms,
        error,
    }
}

/// An error and its causes on one log line ("reading the SES account:
/// service error: ..."), not the multi-line dump of its `Debug`.
fn one_line(err: impl Into<anyhow::Error>) -> String {
    format!("{:#}", err.into())
}

/// Reports the version and the state of every dependency.
#[utoipa::path(
    get,
    path = "/v1/health",
    tag = "platform",
    responses(
        (status = 200, description = "Every dependency answers", body = Envelope<Health>),
        (status = 503, description = "A dependency does not answer; `error.details` has the checks", body = ErrorEnvelope),
    ),
)]
pub async fn health(State(state): State<PlatformState>) -> ApiResult<ApiResponse<Health>> {
    let checked = {
        let mut last = state.last_checks.0.lock().await;
        let now = shared::domain::now_epoch();
        match last.as_ref() {
            Some(kept) if (kept.at..kept.at + kept.kept_for()).contains(&now) => kept.clone(),
            _ => {
                let fresh = run_checks(&state).await;
                *last = Some(fresh.clone());
                fresh
            }
        }
    };
    answer(&state, checked)
}

/// Asks every dependency, at once.
async fn run_checks(state: &PlatformState) -> Checked {
    let services = &state.services;
    let config = &services.config;
    let (s3_client, ses_client) = (&state.s3, &state.ses);
    let (at, checked_at) = (shared::domain::now_epoch(), shared::domain::now_rfc3339());
    let (dynamodb, s3, mut ses, account) = futures::join!(
        check(services.store.ping()),
        check(async {
            s3_client
                .head_bucket()
                .bucket(&config.bucket_name)
                .send()
                .await
                .map(drop)
        }),
        check(async {
            ses_client
                .get_email_identity()
                .email_identity(&config.sender_email)
                .send()
                .await
                .map(drop)
        }),
        tokio::time::timeout(CHECK_DEADLINE, state.mailer.sending_status()),
    );
    let ses_account = match account {
        Ok(Ok(status)) => status,
        Ok(Err(err)) => {
            tracing::warn!(error = %one_line(err), "SES did not tell the account's sending status");
            None
        }
        Err(_) => None,
    };
    if ses.ok && ses_account.as_ref().is_some_and(|a| !a.sending_enabled) {
        ses.ok = false;
        ses.error = Some("SES has paused sending for this account".to_owned());
    }
    Checked {
        at,
        checked_at,
        checks: Checks { dynamodb, s3, ses },
        ses_account,
    }
}

/// 200 with the checks when every dependency answered, else 503 naming
/// those that did not.
fn answer(state: &PlatformState, checked: Checked) -> ApiResult<ApiResponse<Health>> {
    let healthy = checked.healthy();
    let Checked {
        checked_at,
        checks,
        ses_account,
        ..
    } = checked;
    let health = Health {
        status: if healthy { "ok" } else { "degraded" },
        version: state.services.config.version.clone(),
        checked_at,
        checks,
        ses_account,
    };
    if healthy {
        return Ok(ApiResponse::ok(health));
    }
    let down: Vec<&str> = [
        ("dynamodb", health.checks.dynamodb.ok),
        ("s3", health.checks.s3.ok),
        ("ses", health.checks.ses.ok),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    let details = serde_json::to_value(&health).map_err(ApiError::internal)?;
    Err(
        ApiError::unavailable(anyhow::anyhow!("unhealthy: {}", down.join(", ")))
            .with_details(details),
    )
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_failed_check_logs_its_error_chain_on_one_line() {
        let err = std::io::Error::other("connection refused");
        let err = anyhow::Error::new(err).context("reading the SES account");
        assert!(
            format!("{err:?}").contains('\n'),
            "Debug is the multi-line dump"
        );
        assert_eq!(one_line(err), "reading the SES account: connection refused");
    }
}
