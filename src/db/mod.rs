//! Database access: the async connection pool used by request paths, embedded migrations,
//! and the private PostgreSQL cluster started when no `DATABASE_URL` is given.

pub mod embedded;
pub mod outage;
pub mod prelude;
pub mod roles;
pub mod schema;

use diesel_async::{
    AsyncPgConnection,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

/// The pool handed to request handlers.
pub type Pool = deadpool::Pool<AsyncPgConnection>;
/// A connection checked out of [`Pool`].
pub type Conn = deadpool::Object<AsyncPgConnection>;
/// Why no connection could be checked out of [`Pool`].
pub type PoolError = deadpool::PoolError;

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Builds a pool of at most `max_size` connections to `url` (connections open lazily).
pub fn pool(url: &str, max_size: usize) -> anyhow::Result<Pool> {
    // Fast recycling: no `SELECT 1` on every checkout (it was half of a page's statements);
    // connections diesel-async knows to be broken are still dropped on return.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Ok(deadpool::Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(std::time::Duration::from_secs(10)))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()?)
}

/// Applies pending migrations through a synchronous connection (diesel-async's
/// `AsyncConnectionWrapper`), on a thread of its own so any caller runtime works.
/// Returns the versions applied.
pub async fn run_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    use diesel::Connection as _;
    type SyncPg = diesel_async::async_connection_wrapper::AsyncConnectionWrapper<AsyncPgConnection>;

    let url = url.to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = (|| -> anyhow::Result<Vec<String>> {
            let mut conn = SyncPg::establish(&url)?;
            let applied = conn
                .run_pending_migrations(MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
            Ok(applied.iter().map(ToString::to_string).collect())
        })();
        let _ = tx.send(result);
    });
    rx.await?
}

/// Creates database `name` through `admin_url` unless it exists (concurrent creators are fine).
pub async fn ensure_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    use diesel::{OptionalExtension as _, sql_types::Text};
    use diesel_async::{AsyncConnection as _, RunQueryDsl as _};

    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Int4)]
        #[allow(dead_code)]
        one: i32,
    }
    anyhow::ensure!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name '{name}' must be letters, digits and underscores"
    );
    let mut conn = AsyncPgConnection::establish(admin_url).await?;
    let exists = diesel::sql_query("SELECT 1 AS one FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .get_result::<Found>(&mut conn)
        .await
        .optional()?
        .is_some();
    if !exists {
        match diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
        {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("already exists") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn migrate(url: &str) -> anyhow::Result<()> {
    let applied = run_migrations(url).await?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied database migrations");
    }
    Ok(())
}

/// The database the process uses: the configured `DATABASE_URL`, or the embedded cluster.
pub struct Database {
    pub url: String,
    cluster: Option<embedded::EmbeddedCluster>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster under `data_dir` and makes
    /// sure its `switchboard` database exists; then applies pending migrations.
    pub async fn open(
        database_url: Option<&secrecy::SecretString>,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret as _;
        let db = match database_url {
            Some(url) => {
                let url = url.expose_secret().to_owned();
                migrate(&url).await?;
                Self { url, cluster: None }
            }
            None => {
                let root = data_dir.to_owned();
                let cluster = tokio::task::spawn_blocking(move || {
                    embedded::EmbeddedCluster::start(&root, embedded::StartOptions::default())
                })
                .await??;
                ensure_database(&cluster.url("postgres"), "switchboard").await?;
                // Migrations as the cluster's superuser, then the application connects as
                // its own non-superuser role.
                let admin = cluster.url("switchboard");
                migrate(&admin).await?;
                roles::grant_app_role(&admin).await?;
                Self {
                    url: cluster.url_as("switchboard", roles::APP_ROLE),
                    cluster: Some(cluster),
                }
            }
        };
        Ok(db)
    }

    /// Leaves the embedded cluster (stopping it if no other Switchboard process uses it).
    pub async fn close(self) {
        if let Some(cluster) = self.cluster {
            match tokio::task::spawn_blocking(move || cluster.release()).await {
                Ok(Ok(true)) => tracing::info!("embedded PostgreSQL cluster stopped"),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "stopping the embedded PostgreSQL cluster")
                }
                Err(e) => tracing::error!(error = %e, "stopping the embedded PostgreSQL cluster"),
            }
        }
    }
}
