//! Background jobs of a serving instance: every loop the server runs besides serving. Jobs
//! act through the operation layer as the system; whatever must hold across instances (who
//! checks which provider) is decided in PostgreSQL, so any number of instances may run them.

pub mod audit;
mod health;
mod purge;
mod recheck;

pub use health::health_loop;
pub use purge::purge_periodically;
pub use recheck::recheck_periodically;

/// Runs `f` every `period` forever (until the runtime stops); for in-process upkeep such as
/// forgetting idle rate-limit buckets.
pub async fn every(period: std::time::Duration, mut f: impl FnMut() + Send + 'static) {
    let mut ticks = tokio::time::interval(period);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        f();
    }
}
