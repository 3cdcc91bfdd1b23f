//! Scheduled provider re-checks: each instance looks for due providers now and then; which
//! instance checks which provider is decided in PostgreSQL (`ops::providers::recheck_due`).

use std::time::Duration;

use actix_web::web;
use rand::Rng as _;

use crate::{ops::providers::recheck_due, state::AppState};

/// How often an instance looks for due providers: a sixth of the interval, between a minute
/// and half an hour, each wait jittered ±20% so instances started together drift apart.
fn period(interval: Duration) -> Duration {
    (interval / 6).clamp(Duration::from_secs(60), Duration::from_secs(1800))
}

/// Runs the scheduled provider re-checks forever (until the runtime stops).
pub async fn recheck_periodically(state: web::Data<AppState>, interval: Duration) {
    let period = period(interval);
    loop {
        let jitter = rand::rng().random_range(0.8..1.2);
        tokio::time::sleep(period.mul_f64(jitter)).await;
        match recheck_due(&state, interval).await {
            Ok(report) if report.checked + report.skipped > 0 => tracing::info!(
                checked = report.checked,
                failed = report.failed,
                alerts = report.alerts,
                skipped = report.skipped,
                "scheduled provider re-checks"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scheduled provider re-checks failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_is_a_sixth_of_the_interval_within_bounds() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!(period(h(1)), Duration::from_secs(600));
        assert_eq!(period(h(6)), Duration::from_secs(1800));
        assert_eq!(period(Duration::from_secs(120)), Duration::from_secs(60));
        assert_eq!(period(h(24 * 30)), Duration::from_secs(1800));
    }
}
