//! Shared application state handed to every handler through `web::Data<AppState>`, and to
//! every operation. Nothing reads the environment after it is built.

use std::sync::Arc;

use crate::{
    clock::Clock,
    config::Config,
    crypto::{keyring::Keyring, password::PasswordHasher},
    db::Pool,
    models::login_throttle::LoginThrottle,
    providers::check::Checker,
};

/// What every request and operation may need.
pub struct AppState {
    pub pool: Pool,
    pub clock: Clock,
    pub hasher: PasswordHasher,
    pub throttle: LoginThrottle,
    pub config: Arc<Config>,
    /// Master keys that seal and open stored secrets.
    pub keyring: Keyring,
    /// Live provider checks under the configured egress policy and timeout.
    pub checker: Checker,
    /// This instance's Prometheus metrics (`/metrics`).
    pub metrics: crate::metrics::Metrics,
    /// Model lists endpoints answered, per provider, for a few minutes (per process).
    pub model_lists: crate::providers::models::ModelListCache,
    /// Provider call outcomes not yet flushed to the counters, and the immediate re-checks
    /// failed calls asked for (the health loop: `ops::health`, `jobs::health`).
    pub health: crate::models::provider_health::UsageBuffer,
    /// Key releases in route answers: buckets recorded and calls not yet flushed (per process).
    pub releases: crate::models::release::ReleaseLedger,
    /// Token and routing rows of recent route answers and relayed calls, used again while
    /// the org's epoch holds (per process).
    pub route_cache: crate::models::route_cache::RouteCache,
}

impl AppState {
    /// Builds the state over `pool`: loads the keyring, starts the password hasher with
    /// `parallel_hashes` permits. (Start-up checks that every master key a stored secret
    /// names is in the keyring, `ops::master_keys::check_key_ids`, and makes the first-run
    /// setup token, `ops::setup::on_start`.)
    pub async fn new(
        config: Config,
        pool: Pool,
        clock: Clock,
        parallel_hashes: usize,
    ) -> anyhow::Result<Self> {
        let keyring = crate::crypto::keyring::load(config.master_keys.as_ref(), &config.data_dir)?;
        let hasher =
            tokio::task::spawn_blocking(move || PasswordHasher::new(parallel_hashes)).await?;
        let metrics = crate::metrics::Metrics::new();
        Ok(Self {
            throttle: LoginThrottle::new(pool.clone(), clock.clone()),
            pool,
            clock,
            hasher,
            checker: Checker::new(config.check.clone()).with_metrics(metrics.clone()),
            metrics,
            model_lists: Default::default(),
            health: Default::default(),
            releases: Default::default(),
            route_cache: Default::default(),
            config: Arc::new(config),
            keyring,
        })
    }

    /// A pooled connection (callers turn a pool error into their own error type: an outage
    /// becomes a 503).
    pub async fn conn(&self) -> Result<crate::db::Conn, crate::db::PoolError> {
        self.pool.get().await
    }
}
