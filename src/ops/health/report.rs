//! Outcomes reported by services that call providers themselves
//! (`POST /api/v1/orgs/{org}/ai/outcomes`, scope `ai:resolve`): checked, then fed to
//! [`super::record`] like the relay's.

use std::time::Duration;

use super::{CallOutcome, record};
use crate::{
    models::provider_health,
    ops::{Actor, Caller, OpError, OpResult, Scope, providers::release::parse_feature},
    providers::check::FailureCode,
    state::AppState,
};

/// The longest call a report may claim: a day.
pub const MAX_LATENCY_MS: u64 = 86_400_000;
/// The most tokens one call may report (each way).
pub const MAX_TOKENS: u64 = 100_000_000;

/// One call as a service reports it (unchecked).
#[derive(Debug, Clone, Default)]
pub struct ReportedOutcome {
    pub feature: String,
    pub provider_id: String,
    /// The provider's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The failure's taxonomy code (`auth_rejected`, …), when it failed.
    pub code: Option<String>,
    pub latency_ms: u64,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

fn code_of(code: Option<&str>) -> OpResult<Option<FailureCode>> {
    let Some(code) = code else { return Ok(None) };
    FailureCode::ALL
        .into_iter()
        .find(|c| c.as_str() == code)
        .map(Some)
        .ok_or_else(|| {
            OpError::invalid(
                "code",
                format!(
                    "There is no failure code “{}”: use one of {}.",
                    code.chars().take(64).collect::<String>(),
                    FailureCode::ALL.map(FailureCode::as_str).join(", ")
                ),
            )
        })
}

/// Records one reported outcome of a call to the org's provider `provider_id` (scope
/// `ai:resolve`, API tokens only). A provider of another org is "not found".
pub async fn report_outcome(
    state: &AppState,
    caller: &Caller,
    input: ReportedOutcome,
) -> OpResult<()> {
    let org = caller.require(Scope::AiResolve)?;
    if !matches!(caller.actor, Actor::Token { .. }) {
        return Err(OpError::Forbidden(
            "Outcomes are reported by platform services with an API token holding ai:resolve, never from a console session.".to_owned(),
        ));
    }
    let feature = parse_feature(Some(&input.feature))?;
    let code = code_of(input.code.as_deref())?;
    if let Some(status) = input.status
        && !(100..=599).contains(&status)
    {
        return Err(OpError::invalid(
            "status",
            "status is the provider's HTTP status, 100 to 599.",
        ));
    }
    if input.latency_ms > MAX_LATENCY_MS {
        return Err(OpError::invalid(
            "latencyMs",
            format!("latencyMs is at most {MAX_LATENCY_MS} (a day)."),
        ));
    }
    for (field, n) in [
        ("inputTokens", input.input_tokens),
        ("outputTokens", input.output_tokens),
    ] {
        if n.is_some_and(|n| n > MAX_TOKENS) {
            return Err(OpError::invalid(
                field,
                format!("{field} is at most {MAX_TOKENS}."),
            ));
        }
    }
    if code.is_some() && input.status.is_some_and(|s| s < 400) {
        // Two well-formed fields that contradict each other: 422, as the document says.
        return Err(OpError::Unprocessable {
            field: Some("code"),
            message: "A failure code goes with a failed call: leave it out for a status below 400."
                .to_owned(),
        });
    }
    let mut conn = state.pool.get().await?;
    if !provider_health::exists(&mut conn, org.id, &input.provider_id).await? {
        return Err(OpError::NotFound);
    }
    drop(conn);
    record(
        state,
        CallOutcome {
            org_id: org.id,
            feature,
            provider_id: input.provider_id,
            status: input.status,
            code,
            latency: Duration::from_millis(input.latency_ms),
            input_tokens: input.input_tokens,
            output_tokens: input.output_tokens,
        },
    );
    Ok(())
}
