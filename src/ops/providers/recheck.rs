//! Scheduled re-checks (issue 9): the live check of every saved provider runs again once its
//! last check is older than the interval. Each instance claims due providers with a lease
//! (`FOR UPDATE SKIP LOCKED`), so with several instances on one database each provider is
//! checked once per interval. Checks run outside any transaction, a few at a time. A result
//! is written only if the provider was not edited meanwhile. When the org's *active*
//! provider goes from passing (or unverified) to failing, `provider.check_failed` is recorded
//! once; the tabs then show admins a "needs attention" banner. Nothing is ever switched:
//! the org stays on its provider (fail closed) until an admin acts.

use std::time::Duration;

use diesel_async::AsyncConnection as _;
use futures_util::{StreamExt as _, stream};

use super::{check_saved, provider};
use crate::{
    models::{org::Org, provider::CheckStatus},
    ops::{Action, Caller, Change, OpError, OpResult, Target, audit, health::attention},
    state::AppState,
};

/// Providers claimed per statement.
const BATCH: i64 = 16;
/// Checks in flight at once per instance.
const CONCURRENCY: usize = 4;
/// How long a claim keeps other instances off a provider: well beyond a check's timeout,
/// but never longer than the interval (a claim whose holder died must not outlive the next
/// due time). Writing the result gives the claim up (issue 23: a 1-minute interval was
/// served every 5 minutes while the lease outlived the result).
const LEASE: chrono::Duration = chrono::Duration::minutes(5);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecheckReport {
    /// Checks run and recorded.
    pub checked: usize,
    /// Of those, how many failed.
    pub failed: usize,
    /// Active providers that started failing (one `provider.check_failed` each).
    pub alerts: usize,
    /// Claimed providers that could not be checked (logged).
    pub skipped: usize,
}

/// Re-checks every provider whose last check is older than `interval`, until none is due.
pub async fn recheck_due(state: &AppState, interval: Duration) -> OpResult<RecheckReport> {
    let now = state.clock.now();
    let age = chrono::Duration::from_std(interval)
        .map_err(|e| OpError::Internal(anyhow::anyhow!("recheck interval: {e}")))?;
    let mut report = RecheckReport::default();
    loop {
        let claimed = {
            let mut conn = state.pool.get().await?;
            provider::claim_due(&mut conn, now, now - age, now + LEASE.min(age), BATCH).await?
        };
        if claimed.is_empty() {
            let m = &state.metrics;
            m.rechecks("passed", report.checked - report.failed);
            m.rechecks("failed", report.failed);
            m.rechecks("skipped", report.skipped);
            m.rechecks("alerted", report.alerts);
            return Ok(report);
        }
        let results: Vec<_> = stream::iter(claimed)
            .map(|c| async move { (recheck_one(state, c.org_id, &c.id, false).await, c.id) })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (result, id) in results {
            match result {
                Ok(Some(done)) => {
                    report.checked += 1;
                    report.failed += usize::from(!done.ok);
                    report.alerts += usize::from(done.alerted);
                }
                Ok(None) => report.skipped += 1,
                Err(e) => {
                    report.skipped += 1;
                    tracing::warn!(provider = %id, error = %e, "scheduled re-check skipped");
                }
            }
        }
    }
}

/// What one re-check did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rechecked {
    /// The check passed.
    pub ok: bool,
    /// `provider.check_failed` was recorded (the active provider started failing).
    pub alerted: bool,
    /// The provider started needing attention (an immediate re-check that failed).
    pub flagged: bool,
    /// It needed attention and passed: cleared.
    pub cleared: bool,
}

/// The immediate re-check the health loop asks for after failed calls (its lease already
/// claimed): the scheduled re-check's check and recording, and on failure the provider
/// needs attention. `None` when the provider changed or went meanwhile.
pub async fn recheck_now(state: &AppState, org_id: i64, id: &str) -> OpResult<Option<Rechecked>> {
    recheck_one(state, org_id, id, true).await
}

/// Checks one provider and records the result; `None` when it changed or went meanwhile.
/// A pass clears "needs attention"; an `immediate` failure sets it.
async fn recheck_one(
    state: &AppState,
    org_id: i64,
    id: &str,
    immediate: bool,
) -> OpResult<Option<Rechecked>> {
    let org = {
        let mut conn = state.pool.get().await?;
        Org::find(&mut conn, org_id)
            .await?
            .ok_or(OpError::NotFound)?
    };
    let caller = Caller::system(org);
    let org = caller.org()?;
    let (seen, outcome, status) = check_saved(state, org, id).await?;
    let code = outcome.code.filter(|_| !outcome.ok).map(|c| c.as_str());
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        // Lock order as everywhere: the settings row, then the provider row.
        let settings = provider::lock_settings(conn, org.id).await?;
        let Some(before) = provider::lock(conn, org.id, id).await? else {
            return Ok(None);
        };
        provider::release_claim(conn, org.id, id).await?;
        if before.lock_version != seen.lock_version {
            // Edited while we checked the old settings: the next pass checks the new ones.
            return Ok(None);
        }
        provider::set_check(conn, org.id, id, status, code, Some(&outcome.message), now).await?;
        let mut done = Rechecked {
            ok: outcome.ok,
            ..Rechecked::default()
        };
        if outcome.ok {
            done.cleared = attention::clear_in(conn, &caller, org.id, id).await?;
        } else if immediate {
            done.flagged =
                attention::mark_in(conn, &caller, org.id, id, code, &outcome.message, now).await?;
        }
        let active = settings.active_provider_id.as_deref() == Some(id);
        let alert =
            active && status == CheckStatus::Failed && before.check_status != CheckStatus::Failed;
        if alert {
            audit::record(
                conn,
                &caller,
                Action::ProviderCheckFailed,
                Target::Provider(id.to_owned()),
                Some(
                    Change::new()
                        .text("name", &before.name)
                        .text("checkStatus", before.check_status.as_str()),
                ),
                Some(
                    Change::new()
                        .text("name", &before.name)
                        .text("checkStatus", status.as_str())
                        .opt_text("code", code)
                        .text("message", &outcome.message),
                ),
            )
            .await?;
        }
        done.alerted = alert;
        Ok(Some(done))
    })
    .await
}
