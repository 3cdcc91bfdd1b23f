//! A CLI command on the embedded cluster must stop the cluster it started even when it is
//! interrupted (issue 23): SIGINT, SIGTERM or SIGHUP end the command and close the database
//! before the process exits, and so does a panic — which is what a closed pipe becomes
//! (Rust ignores SIGPIPE; writing to a closed stdout fails and `println!` panics).

use std::{future::Future, panic::AssertUnwindSafe};

use futures_util::FutureExt as _;

use super::Database;

/// Runs `work`, then closes `db` whatever happened: finished, interrupted, or panicked (the
/// panic resumes once the database is closed).
pub async fn run_then_close<T>(
    db: Database,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let outcome = tokio::select! {
        done = AssertUnwindSafe(work).catch_unwind() => done,
        signal = interrupted() => Ok(Err(anyhow::anyhow!("interrupted by {signal}"))),
    };
    db.close().await;
    match outcome {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Resolves with the signal's name when SIGINT, SIGTERM or SIGHUP arrives.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    }
}
