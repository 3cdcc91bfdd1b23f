//! The health loop's job (`ops::health`): every few seconds this instance flushes its
//! provider call counters; immediate re-checks run as soon as a failed call asks for one
//! (which instance checks is decided in PostgreSQL); the needs-attention gauge is refreshed
//! and old counters are purged now and then.

use std::time::Duration;

use actix_web::web;

use crate::{ops::health, state::AppState};

/// How often counters are flushed (and pending re-checks looked at).
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// Passes between refreshes of the needs-attention gauge (about a minute).
const GAUGE_EVERY: u32 = 12;
/// Passes between purges of old counters (about an hour).
const PURGE_EVERY: u32 = 720;

/// Runs the health loop forever (until the runtime stops).
pub async fn health_loop(state: web::Data<AppState>) {
    let mut pass: u32 = 0;
    loop {
        tokio::select! {
            () = tokio::time::sleep(FLUSH_EVERY) => {
                pass = pass.wrapping_add(1);
                if let Err(e) = health::flush(&state).await {
                    tracing::warn!(error = %e, "provider usage counters not flushed (kept for the next try)");
                }
                if pass % GAUGE_EVERY == 1
                    && let Err(e) = health::refresh_gauge(&state).await
                {
                    tracing::warn!(error = %e, "needs-attention gauge not refreshed");
                }
                if pass.is_multiple_of(PURGE_EVERY)
                    && let Err(e) = health::purge(&state).await
                {
                    tracing::warn!(error = %e, "old provider usage counters not purged");
                }
            }
            () = state.health.woken() => {}
        }
        // Re-checks run beside the loop: a slow provider must not hold up the counters.
        let state = state.clone();
        tokio::spawn(async move {
            match health::run_rechecks(&state).await {
                Ok(pass) if pass.checked > 0 => tracing::info!(
                    checked = pass.checked,
                    failed = pass.failed,
                    flagged = pass.flagged,
                    cleared = pass.cleared,
                    "immediate provider re-checks"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "immediate provider re-checks failed"),
            }
        });
    }
}
