//! The health loop's entry point (DESIGN.md "Platform services: route, relay, health"): one
//! call's outcome with an org's provider, as the relay (and `POST …/ai/outcomes`) report it.
//!
//! This is the interface the relay and the health loop share; the loop itself (per-minute
//! counters, immediate re-checks, "needs attention") is built behind [`record`].

use std::time::Duration;

use crate::{providers::check::FailureCode, routing::Feature, state::AppState};

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

/// Records one outcome. Cheap and non-blocking: callers on the request path call it inline.
pub fn record(state: &AppState, outcome: CallOutcome) {
    let _ = (state, outcome);
}
