//! Housekeeping: expired sessions and ended login-throttle windows, deleted every ten
//! minutes by every instance (the deletes are idempotent).

use crate::{clock::Clock, db::Pool};

/// Deletes expired sessions (the login page creates anonymous ones) and ended login-throttle
/// windows every ten minutes.
pub async fn purge_periodically(pool: Pool, clock: Clock) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        let Ok(mut conn) = pool.get().await else {
            continue;
        };
        match crate::models::session::purge_expired(&mut conn, clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "purged expired sessions"),
            Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
        }
        match crate::models::login_throttle::purge_expired(&mut conn, clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(windows = n, "purged ended login-throttle windows"),
            Err(e) => tracing::warn!(error = %e, "purging login-throttle windows failed"),
        }
    }
}
