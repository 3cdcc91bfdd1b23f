//! The health loop (DESIGN.md "Platform services: route, relay, health"; issue 21 item 4).
//!
//! - [`record`]: one call's outcome with an org's provider, as the relay (and
//!   `POST …/ai/outcomes`, [`report_outcome`]) report it, summed in memory per (org,
//!   provider, feature, minute, outcome class, code) — no I/O on the request path.
//! - [`flush`]: every few seconds the health job adds the sums to the per-minute counters
//!   table (`provider_usage`), one statement per flush. A crash loses the last seconds of
//!   counts, nothing else.
//! - A failure on the provider's side ([`OutcomeClass::ProviderError`]) asks for an
//!   immediate re-check; [`run_rechecks`] claims it once per provider per minute across
//!   instances and runs the same live check as the scheduled re-checks. A failed immediate
//!   re-check marks the provider "needs attention" ([`attention`], audited once per change
//!   of state); any passing check clears it.
//! - Prometheus gets aggregates only (calls by provider kind and outcome class, immediate
//!   re-checks by result, providers needing attention); per-org detail stays in the
//!   database.

pub mod attention;
mod cycle;
mod report;

use std::time::Duration;

pub use cycle::{RecheckPass, flush, purge, refresh_gauge, run_rechecks};
pub use report::{ReportedOutcome, report_outcome};

use crate::{
    models::provider_health::{OutcomeClass, UsageKey, UsageSums},
    providers::check::FailureCode,
    routing::Feature,
    state::AppState,
};

pub use crate::models::provider_health::WINDOW;

/// One call to an org's provider: who, which feature, how it went. Never a body, a key or
/// a header value.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    pub org_id: i64,
    pub feature: Feature,
    pub provider_id: String,
    /// The upstream's HTTP status; `None` when no answer came (refused, unreachable, timeout).
    pub status: Option<u16>,
    /// The failure in the check taxonomy's words; `None` for a success.
    pub code: Option<FailureCode>,
    /// From the request's start to the end of the answer (or the failure).
    pub latency: Duration,
    /// Tokens the provider reported (prompt/input and completion/output), when it did.
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

/// How a call went, from its status and code: a taxonomy code says so first; without one,
/// a 5xx is the provider's failure, another status ≥ 400 the request's.
pub fn classify(status: Option<u16>, code: Option<FailureCode>) -> OutcomeClass {
    match code {
        Some(
            FailureCode::AuthRejected
            | FailureCode::Unreachable
            | FailureCode::Timeout
            | FailureCode::Tls
            | FailureCode::QuotaExhausted,
        ) => OutcomeClass::ProviderError,
        Some(_) if status.is_some_and(|s| s >= 500) => OutcomeClass::ProviderError,
        Some(_) => OutcomeClass::ClientError,
        None => match status {
            Some(s) if s >= 500 => OutcomeClass::ProviderError,
            Some(s) if s >= 400 => OutcomeClass::ClientError,
            _ => OutcomeClass::Ok,
        },
    }
}

/// The counters' code: the taxonomy code, else `http_NNN` for a failed answer, else ''.
fn code_of(class: OutcomeClass, status: Option<u16>, code: Option<FailureCode>) -> String {
    match (class, code, status) {
        (OutcomeClass::Ok, _, _) => String::new(),
        (_, Some(code), _) => code.as_str().to_owned(),
        (_, None, Some(status)) => format!("http_{status}"),
        (_, None, None) => String::new(),
    }
}

/// The minute `at` falls in.
pub(crate) fn minute_of(at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound as _, TimeDelta};
    at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(at)
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Records one outcome. Cheap and non-blocking: callers on the request path call it inline
/// (a short mutex section; the database sees it at the next flush).
pub fn record(state: &AppState, outcome: CallOutcome) {
    let now = state.clock.now();
    let minute = minute_of(now);
    let class = classify(outcome.status, outcome.code);
    let latency_ms = clamp(u64::try_from(outcome.latency.as_millis()).unwrap_or(u64::MAX));
    if class == OutcomeClass::ProviderError {
        state
            .health
            .want_recheck(outcome.org_id, &outcome.provider_id, minute);
    }
    state.health.add(
        UsageKey {
            org_id: outcome.org_id,
            code: code_of(class, outcome.status, outcome.code),
            provider_id: outcome.provider_id,
            feature: outcome.feature.id(),
            minute,
            outcome: class,
        },
        UsageSums {
            calls: 1,
            latency_ms_sum: latency_ms,
            latency_ms_max: latency_ms,
            input_tokens: clamp(outcome.input_tokens.unwrap_or(0)),
            output_tokens: clamp(outcome.output_tokens.unwrap_or(0)),
            last_at: Some(now),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_classed_by_code_then_status() {
        use FailureCode as F;
        use OutcomeClass::*;
        assert_eq!(classify(Some(200), None), Ok);
        assert_eq!(classify(None, None), Ok);
        assert_eq!(classify(Some(404), None), ClientError);
        assert_eq!(classify(Some(503), None), ProviderError);
        for code in [
            F::AuthRejected,
            F::Unreachable,
            F::Timeout,
            F::Tls,
            F::QuotaExhausted,
        ] {
            assert_eq!(classify(None, Some(code)), ProviderError, "{code}");
        }
        assert_eq!(classify(Some(429), Some(F::RateLimited)), ClientError);
        assert_eq!(classify(Some(404), Some(F::ModelNotFound)), ClientError);
        assert_eq!(classify(Some(502), Some(F::BadResponse)), ProviderError);
        assert_eq!(code_of(ClientError, Some(404), None), "http_404");
        assert_eq!(code_of(Ok, Some(200), None), "");
        assert_eq!(code_of(ProviderError, None, Some(F::Tls)), "tls");
    }

    #[test]
    fn a_minute_starts_on_the_minute() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T12:34:56.789Z")
            .unwrap()
            .to_utc();
        assert_eq!(minute_of(at).to_rfc3339(), "2026-12-03T12:34:00+00:00");
    }
}
