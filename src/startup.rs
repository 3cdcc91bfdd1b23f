//! Builds the HTTP server: state, middleware stack and routes. Tests start the real server
//! in-process through [`Application::build`] on port 0.

use std::net::TcpListener;

use actix_session::{
    SessionMiddleware,
    config::{BrowserSession, CookieContentSecurity},
};
use actix_web::{
    App, HttpServer,
    cookie::{Key, SameSite, time::Duration as CookieDuration},
    dev::Server,
    error::UrlencodedError,
    middleware::{Compress, from_fn},
    web,
};

use crate::{
    auth::{csrf, session_store::PgSessionStore},
    clock::Clock,
    config::Config,
    db,
    error::AppError,
    ops::setup::StartupSetup,
    state::AppState,
    telemetry, web as console,
};

/// Knobs that differ between production and tests.
#[derive(Clone, Debug)]
pub struct Options {
    pub clock: Clock,
    /// HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// Database connections in the pool.
    pub pool_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Clock::default(),
            workers: None,
            pool_size: 16,
        }
    }
}

/// A built, listening server that has not been awaited yet.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    setup: StartupSetup,
    /// The `SWITCHBOARD_METRICS_BIND` listener's port and server, when set.
    metrics: Option<(u16, Server)>,
    /// The `SWITCHBOARD_RELAY_BIND` listener's port and server, when set.
    relay: Option<(u16, Server)>,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port) and builds the server over the
    /// already-migrated database at `database_url`.
    pub async fn build(
        config: Config,
        database_url: &str,
        options: Options,
    ) -> anyhow::Result<Self> {
        crate::metrics::counters::install_sql_counter();
        let pool = db::pool(database_url, options.pool_size)?;
        // One argon2 hash per two cores: a login storm then leaves at least half the
        // machine to the pages being served (docs/PERFORMANCE.md, "Login storm").
        let parallel_hashes =
            (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).max(1);
        let https = config.is_https();
        if let Some(warning) = config.bind_warning() {
            tracing::warn!("{warning}");
        }
        if db::roles::is_superuser(database_url).await? {
            tracing::warn!(
                "the database connection is a superuser's: whoever holds it can disable the audit \
                 trail's append-only triggers and read the server's files. Set DATABASE_URL to a \
                 role that owns Switchboard's tables but is not a superuser (README, \"Database role\")"
            );
        }
        let session_key = config
            .session_key
            .as_deref()
            .map_or_else(Key::generate, Key::from);
        let state = web::Data::new(
            AppState::new(
                config.clone(),
                pool.clone(),
                options.clock.clone(),
                parallel_hashes,
            )
            .await?,
        );
        // Refuse to serve while a stored secret names a master key that is not configured:
        // failing now, with the key named, beats failing later one secret at a time.
        crate::ops::master_keys::check_configured(&state).await?;
        let limiter = web::Data::new(crate::api::rate::Limiter::new(config.api_rate));
        // Every instance starts here; the setup token lives in the database, so one of
        // several starting together makes it and the others say so.
        let setup = crate::ops::setup::on_start(&state)
            .await
            .map_err(|e| match e {
                crate::ops::OpError::Internal(cause) => cause.context("setup token"),
                other => anyhow::anyhow!("setup token: {other}"),
            })?;
        let store = PgSessionStore::new(pool.clone(), options.clock.clone());
        tokio::spawn(crate::jobs::purge_periodically(pool, options.clock.clone()));
        {
            let limiter = limiter.clone();
            tokio::spawn(crate::jobs::every(
                std::time::Duration::from_secs(60),
                move || limiter.shrink(),
            ));
        }
        if let Some(interval) = config.recheck_interval {
            tokio::spawn(crate::jobs::recheck_periodically(state.clone(), interval));
        }
        crate::jobs::audit::start(state.clone());
        tokio::spawn(crate::jobs::health_loop(state.clone()));
        // Route answers (issue 21 item 3): keys leave only to ai:release tokens; say so while
        // any exist, and keep adding the per-call release counts to the database.
        if let Err(e) = crate::ops::providers::release::warn_about_release_tokens(&state).await {
            tracing::warn!(error = %e, "could not count the tokens that receive keys");
        }
        tokio::spawn(
            crate::ops::providers::release::flush_release_counts_periodically(state.clone()),
        );

        let listener = bind(config.bind, "SWITCHBOARD_BIND")?;
        let port = listener.local_addr()?.port();
        let metrics = match config.serving.metrics_bind {
            Some(addr) => Some(metrics_server(
                bind(addr, "SWITCHBOARD_METRICS_BIND")?,
                state.clone(),
            )?),
            None => None,
        };
        let relay = web::Data::new(crate::relay::Relay::new(
            config.check.egress.clone(),
            &config.relay,
        ));
        let relay_server = match config.relay.bind {
            Some(addr) => Some(relay_server(
                bind(addr, "SWITCHBOARD_RELAY_BIND")?,
                state.clone(),
                relay.clone(),
            )?),
            None => None,
        };
        let app_state = state.clone();
        let compat_apis = config.compat_apis;
        let mut server = HttpServer::new(move || {
            let sessions = || {
                SessionMiddleware::builder(store.clone(), session_key.clone())
                    .cookie_name(if https {
                        "__Host-switchboard".to_owned()
                    } else {
                        "switchboard_session".to_owned()
                    })
                    .cookie_secure(https)
                    .cookie_http_only(true)
                    .cookie_path("/".to_owned())
                    .cookie_same_site(if https {
                        SameSite::Strict
                    } else {
                        SameSite::Lax
                    })
                    .cookie_content_security(CookieContentSecurity::Signed)
                    .session_lifecycle(
                        BrowserSession::default().state_ttl(CookieDuration::hours(12)),
                    )
                    .build()
            };
            App::new()
                .app_data(app_state.clone())
                .app_data(limiter.clone())
                .app_data(relay.clone())
                .app_data(app_state.metrics.clone())
                .app_data(form_config())
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    AppError::Validation(format!("Bad query string: {e}")).into()
                }))
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                )
                .configure(console::public_routes)
                // The machine-facing stack: bearer tokens (or the session with the CSRF
                // header) and JSON errors.
                .service(crate::api::v1(sessions(), compat_apis))
                .service(crate::mcp::scope())
                // The relay: tokens only, never a session (issue 21 item 1).
                .service(crate::relay::scope())
                // The console stack: session + CSRF around every page and form. Last, as
                // its empty prefix matches every path the others did not take.
                .service(
                    web::scope("")
                        .wrap(from_fn(csrf::csrf_guard))
                        .wrap(sessions())
                        .configure(console::console_routes),
                )
                // Inside the error renderer, so its 400/404 render like any other error.
                .wrap(from_fn(console::edge::reject_control_chars))
                .wrap(from_fn(console::errors::render_errors))
                // Outside the error renderer: its 408 closes the connection.
                .wrap(from_fn(console::body_deadline::body_deadline))
                .wrap(console::headers::security_headers(https))
                .wrap(from_fn(telemetry::request_log))
                // gzip only (pure Rust); see docs/DECISIONS.md on BREACH.
                .wrap(Compress::default())
        })
        .on_connect(no_delay)
        .listen(listener)?
        .shutdown_timeout(10);
        if let Some(n) = options.workers {
            server = server.workers(n);
        }
        Ok(Self {
            port,
            server: server.run(),
            state,
            setup,
            metrics,
            relay: relay_server,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The first-run setup token, when this instance made it (no user yet).
    pub fn setup_token(&self) -> Option<String> {
        match &self.setup {
            StartupSetup::Issued(token) => Some(token.clone()),
            _ => None,
        }
    }

    /// What this instance found about first-run setup when it started.
    pub fn setup(&self) -> &StartupSetup {
        &self.setup
    }

    /// The shared state (tests reach the pool and clock through it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The port of the `SWITCHBOARD_METRICS_BIND` listener, when set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// The port of the `SWITCHBOARD_RELAY_BIND` listener, when set.
    pub fn relay_port(&self) -> Option<u16> {
        self.relay.as_ref().map(|(port, _)| *port)
    }

    /// Serves until stopped (SIGINT/SIGTERM stop it gracefully), with the metrics and relay
    /// listeners when set.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let side: Vec<Server> = [self.metrics, self.relay]
            .into_iter()
            .flatten()
            .map(|(_, server)| server)
            .collect();
        let handles: Vec<_> = side.iter().map(Server::handle).collect();
        let tasks: Vec<_> = side.into_iter().map(tokio::spawn).collect();
        let served = self.server.await;
        for handle in handles {
            handle.stop(true).await;
        }
        for task in tasks {
            let _ = task.await;
        }
        served
    }
}

/// Binds `addr`, naming the variable that chose it when that fails (a busy port, an
/// address this machine does not have).
fn bind(addr: std::net::SocketAddr, var: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                " — another process is listening there; stop it or choose a free address"
            }
            _ => "",
        };
        anyhow::anyhow!("cannot listen on {addr} ({var}={addr}): {e}{hint}")
    })
}

/// The `SWITCHBOARD_METRICS_BIND` server: `/metrics` and nothing else.
fn metrics_server(
    listener: TcpListener,
    state: web::Data<AppState>,
) -> anyhow::Result<(u16, Server)> {
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(console::health::MetricsListener)
            .route("/metrics", web::get().to(console::health::metrics))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((port, server))
}

/// The `SWITCHBOARD_RELAY_BIND` server: the relay and nothing else (no session, no console).
fn relay_server(
    listener: TcpListener,
    state: web::Data<AppState>,
    relay: web::Data<crate::relay::Relay>,
) -> anyhow::Result<(u16, Server)> {
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(relay.clone())
            .service(crate::relay::scope())
            .default_service(web::to(crate::relay::not_relayed))
            .wrap(from_fn(console::body_deadline::body_deadline))
            .wrap(from_fn(telemetry::request_log))
    })
    .on_connect(no_delay)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((port, server))
}

/// Sends small writes at once (`TCP_NODELAY`) on every accepted connection. A streamed
/// answer (the relay's, chunk by chunk) is many small writes; with Nagle's algorithm on, a
/// write waited for the client's delayed ACK of the one before: 40 ms stalls in 1 % of
/// relayed calls (docs/PERFORMANCE.md "The relay").
fn no_delay(conn: &dyn std::any::Any, _: &mut actix_web::dev::Extensions) {
    if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>()
        && let Err(e) = tcp.set_nodelay(true)
    {
        tracing::debug!(error = %e, "could not set TCP_NODELAY on a connection");
    }
}

fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(csrf::FORM_LIMIT)
        .error_handler(|err, _| match err {
            UrlencodedError::Overflow { .. } => AppError::TooLarge(format!(
                "The form is larger than {} KiB.",
                csrf::FORM_LIMIT / 1024
            ))
            .into(),
            UrlencodedError::ContentType => AppError::Validation(
                "Expected a form (application/x-www-form-urlencoded).".to_owned(),
            )
            .into(),
            other => AppError::Validation(format!("The form is invalid: {other}")).into(),
        })
}
