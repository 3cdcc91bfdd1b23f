//! What the health job does each pass: flush the counters, run the immediate re-checks
//! asked for, refresh the needs-attention gauge, forget old counters.

use futures_util::{StreamExt as _, stream};

use super::minute_of;
use crate::{
    models::provider_health,
    ops::{OpResult, providers::recheck_now},
    state::AppState,
};

/// How long counters are kept: a week (the tab shows a day).
pub const RETENTION: chrono::Duration = chrono::Duration::days(7);

/// Immediate re-checks in flight at once per instance.
const CONCURRENCY: usize = 4;

/// Adds this instance's unflushed counters to the table (one statement); on a database
/// error they are put back for the next flush. Returns the calls written.
pub async fn flush(state: &AppState) -> OpResult<i64> {
    let dropped = state.health.take_dropped();
    if dropped > 0 {
        tracing::warn!(dropped, "provider usage buffer full: calls not counted");
    }
    let sums = state.health.take();
    if sums.is_empty() {
        return Ok(0);
    }
    let written = async {
        let mut conn = state.pool.get().await?;
        Ok::<_, crate::ops::OpError>(provider_health::upsert(&mut conn, &sums).await?)
    }
    .await;
    match written {
        Ok(written) => {
            let mut total = 0;
            for (kind, outcome, calls) in written {
                state.metrics.provider_calls(&kind, &outcome, calls);
                total += calls;
            }
            Ok(total)
        }
        Err(e) => {
            state.health.restore(sums);
            Err(e)
        }
    }
}

/// What one pass of immediate re-checks did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecheckPass {
    /// Re-checks this instance claimed and ran.
    pub checked: usize,
    pub failed: usize,
    /// Providers that started needing attention.
    pub flagged: usize,
    /// Providers that passed and no longer need attention.
    pub cleared: usize,
    /// Asked for, but another instance (or an earlier pass) had this minute's re-check.
    pub skipped: usize,
}

/// Runs the immediate re-checks failed calls asked for: each provider's is claimed in the
/// database for the current minute first, so across instances it runs once per minute.
pub async fn run_rechecks(state: &AppState) -> OpResult<RecheckPass> {
    let minute = minute_of(state.clock.now());
    let wanted = state.health.take_rechecks(minute);
    let mut pass = RecheckPass::default();
    if wanted.is_empty() {
        return Ok(pass);
    }
    let results: Vec<_> = stream::iter(wanted)
        .map(|(org_id, id)| async move {
            let claimed = {
                let mut conn = state.pool.get().await?;
                provider_health::claim_immediate(&mut conn, org_id, &id, minute).await?
            };
            if !claimed {
                return Ok(None);
            }
            // `None`: edited or deleted meanwhile (the next failure asks again).
            recheck_now(state, org_id, &id).await
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for result in results {
        match result {
            Ok(Some(done)) => {
                pass.checked += 1;
                pass.failed += usize::from(!done.ok);
                pass.flagged += usize::from(done.flagged);
                pass.cleared += usize::from(done.cleared);
            }
            Ok(None) => pass.skipped += 1,
            Err(e) => {
                tracing::warn!(error = %e, "immediate provider re-check skipped");
                pass.skipped += 1;
            }
        }
    }
    let m = &state.metrics;
    m.immediate_rechecks("passed", pass.checked - pass.failed);
    m.immediate_rechecks("failed", pass.failed);
    m.immediate_rechecks("flagged", pass.flagged);
    m.immediate_rechecks("cleared", pass.cleared);
    m.immediate_rechecks("skipped", pass.skipped);
    Ok(pass)
}

/// Sets the needs-attention gauge from the database (every instance reports the same
/// number: the providers of all orgs that need attention now).
pub async fn refresh_gauge(state: &AppState) -> OpResult<i64> {
    let mut conn = state.pool.get().await?;
    let n = provider_health::count_attention(&mut conn).await?;
    state.metrics.set_providers_needing_attention(n);
    Ok(n)
}

/// Deletes counters older than [`RETENTION`].
pub async fn purge(state: &AppState) -> OpResult<usize> {
    let mut conn = state.pool.get().await?;
    Ok(provider_health::purge_before(&mut conn, state.clock.now() - RETENTION).await?)
}
