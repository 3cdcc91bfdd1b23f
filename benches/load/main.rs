//! Load benchmark (issue 2, extended for the Provider tab; not a test):
//! `cargo bench --bench load`.
//!
//! Starts the release `switchboard` on its embedded PostgreSQL in a temporary data dir,
//! seeds one admin with one org per connection through the CLI, then 10 000 more orgs with
//! 10 providers each and 10 providers on every measured org with SQL straight into the
//! server's database, logs every connection in, and drives keep-alive connections
//! (everything on 127.0.0.1): at 32 connections `/readyz`, the Insights page, its htmx
//! fragment, the htmx toggle, the Provider page and its fragment; at 8 connections the
//! Insights page, the Provider page and its fragment; at 1 connection the mock provider's
//! `GET /v1/models` directly and the Provider tab's Test action (a live check against that
//! mock); and the Insights page again during a storm of 16 concurrent logins. Prints req/s,
//! p50 and p99 per scenario, SQL statements per request (from `/metrics`), the server's RSS,
//! and the targets with pass/fail; then stops the server with SIGTERM and checks that it
//! and its cluster shut down cleanly.
//!
//! The REST API (issue 11), at 32 connections with a bearer token each: the providers list
//! (10 providers), and route resolution (keyless since issue 21: the tokens hold
//! `ai:resolve`, not `ai:release`; `route.rs` measures the release) — once with each
//! connection on its own org, once with all 32 on one org; `/readyz` runs
//! again after them, so the ratio is taken on a comparable machine.
//!
//! `SWITCHBOARD_BENCH_SECONDS` (default 6) sets each measured phase; each has a 2 s warm-up.
//! `SWITCHBOARD_BENCH_ASYNC_COMMIT=1` is an experiment, not a configuration Switchboard
//! supports: the cluster runs with `synchronous_commit = off`, to see how much of the one-org
//! `ai/route` limit is the WAL flush each release waits for while it holds the org's audit
//! chain head.
//! `SWITCHBOARD_BENCH_AUDIT=1` runs only the audit trail scenario instead (`audit.rs`).
//! `SWITCHBOARD_BENCH_ROUTE=1` (or the argument `route`) runs only `ai/route` (304, keyless,
//! with `ai:release`) side by side with `/readyz` instead (`route.rs`).
//! `SWITCHBOARD_BENCH_WRITE=1` (or the argument `settings-write`) runs only the settings
//! write against its bare-write anchor instead (`write.rs`).
//! `SWITCHBOARD_BENCH_API=1` (or the argument `api`) seeds as usual but measures only
//! `/readyz`, the API providers list and `/readyz` again (about a minute): the side-by-side
//! ratio of issue 24 item 5.
//! `SWITCHBOARD_BENCH_RELAY=1` (or the argument `relay`) runs only the relay's overhead and
//! held-streams scenario instead (`relay.rs`).

mod audit;
mod client;
mod cpu;
mod mock;
mod relay;
mod report;
mod route;
mod seed;
mod server;
mod throttle;
mod write;

use std::{
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use client::{ApiTokens, Kind, Outcome, Samples, Session};
use mock::Mock;
use report::{Phase, Report};
use seed::{EMAIL, PASSWORD};
use server::Server;

/// Keep-alive connections, each its own logged-in session on its own org.
const CONNECTIONS: usize = 32;
/// The smaller load at which the Provider page's p99 is compared with the Insights page's.
const FEW: usize = 8;
/// Concurrent login loops in the storm.
const STORM: usize = 16;
const WARM_UP: Duration = Duration::from_secs(2);
/// The most requests one connection sends in one phase (warm-up or measured), whatever
/// the time: a bound for when everything is faster than expected.
const MAX_REQUESTS: usize = 100_000;

fn main() -> ExitCode {
    // `cargo test --benches` runs bench targets without `--bench`: nothing to do there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("load: a benchmark; run it with `cargo bench --bench load`");
        return ExitCode::SUCCESS;
    }
    switchboard::providers::check::install_crypto_provider();
    // One thread for the load generator, so it takes at most one of the machine's cores.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = if std::env::var("SWITCHBOARD_BENCH_AUDIT").is_ok_and(|v| v == "1") {
        runtime.block_on(audit::run(measure_window()))
    } else if std::env::var("SWITCHBOARD_BENCH_ROUTE").is_ok_and(|v| v == "1")
        || std::env::args().any(|a| a == "route")
    {
        runtime.block_on(route::run(measure_window()))
    } else if std::env::var("SWITCHBOARD_BENCH_RELAY").is_ok_and(|v| v == "1")
        || std::env::args().any(|a| a == "relay")
    {
        runtime.block_on(relay::run(measure_window()))
    } else if std::env::var("SWITCHBOARD_BENCH_WRITE").is_ok_and(|v| v == "1")
        || std::env::args().any(|a| a == "settings-write")
    {
        runtime.block_on(write::run(measure_window()))
    } else {
        runtime.block_on(run())
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("load bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Each measured phase: `SWITCHBOARD_BENCH_SECONDS`, default 6.
fn measure_window() -> Duration {
    std::env::var("SWITCHBOARD_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(6), Duration::from_secs_f64)
}

/// Runs every scenario; `Ok(false)` when the server did not shut down cleanly.
async fn run() -> anyhow::Result<bool> {
    let measure = measure_window();
    let api_only = std::env::var("SWITCHBOARD_BENCH_API").is_ok_and(|v| v == "1")
        || std::env::args().any(|a| a == "api");
    let mut report = Report::new(measure, CONNECTIONS, FEW, STORM);
    report.print_machine();

    let mock = Mock::start()?;
    let (master_keys, keyring) = seed::master_keys()?;
    let server = Server::start(master_keys).await?;
    seed::through_cli(&server, CONNECTIONS)?;
    let seeded = seed::providers(
        &server.database_url(),
        &keyring,
        CONNECTIONS,
        &mock.base_url,
    )
    .await?;
    seed::storm_users(&server.database_url(), STORM).await?;
    seed::skills(&server.database_url(), CONNECTIONS).await?;
    let api_tokens = seed::api_tokens(&server.database_url(), CONNECTIONS).await?;
    if std::env::var("SWITCHBOARD_BENCH_ASYNC_COMMIT").is_ok_and(|v| v == "1") {
        seed::async_commit(&server.database_url()).await?;
        println!(
            "EXPERIMENT: synchronous_commit = off on the whole cluster (not a supported setting)"
        );
    }
    report.print_seeding(
        i64::from(seed::FILLER_ORGS) + CONNECTIONS as i64,
        seeded.total,
        seeded.took,
    );
    report.rss_start = server.rss_bytes()?;
    let mut sessions = Vec::with_capacity(CONNECTIONS);
    for ((i, providers), token) in seeded.by_org.into_iter().enumerate().zip(&api_tokens) {
        let api = ApiTokens {
            own: token.clone(),
            first_org: api_tokens[0].clone(),
        };
        sessions.push(
            Session::open(
                &server.base,
                EMAIL,
                PASSWORD,
                &seed::org_slug(i),
                providers,
                api,
            )
            .await?,
        );
    }
    let probe = Probe {
        server: &server,
        metrics: client::probe()?,
    };

    // Warm up every path once, then let the server settle before reading its idle RSS.
    let warm: &[Kind] = match api_only {
        true => &[Kind::Readyz, Kind::ApiProviders],
        false => &[
            Kind::Readyz,
            Kind::Page,
            Kind::Fragment,
            Kind::ProviderPage,
            Kind::ProviderFragment,
            Kind::SkillsPage,
            Kind::ApiProviders,
            Kind::AiRoute,
        ],
    };
    for kind in warm {
        sessions = drive(sessions, *kind, WARM_UP).await.0;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    report.rss_idle = server.rss_bytes()?;

    let api_phases = [
        (CONNECTIONS, "/readyz", Kind::Readyz),
        (
            CONNECTIONS,
            "API providers list (token, 10)",
            Kind::ApiProviders,
        ),
        (CONNECTIONS, "/readyz (again, after the API)", Kind::Readyz),
    ];
    if api_only {
        for (conns, name, kind) in api_phases {
            let phase = measured(&probe, &mut sessions, conns, name, kind, measure, None).await?;
            report.phases.push(phase);
        }
        report.rss_end = server.rss_bytes()?;
        drop(probe);
        let pid = server.pid();
        let shutdown = server.stop()?;
        report.print(pid, &shutdown);
        return Ok(shutdown.status.success() && shutdown.cluster_stopped);
    }

    for (conns, name, kind) in [
        (CONNECTIONS, "/readyz", Kind::Readyz),
        (CONNECTIONS, "Insights page (full)", Kind::Page),
        (
            CONNECTIONS,
            "Insights tab (htmx GET fragment)",
            Kind::Fragment,
        ),
        (
            CONNECTIONS,
            "Insights toggle (htmx POST fragment)",
            Kind::Toggle,
        ),
        (CONNECTIONS, "Provider page (full)", Kind::ProviderPage),
        (
            CONNECTIONS,
            "Provider tab (htmx GET fragment)",
            Kind::ProviderFragment,
        ),
        (
            CONNECTIONS,
            "Skills page (full, 50 skills)",
            Kind::SkillsPage,
        ),
        (
            CONNECTIONS,
            "API providers list (token, 10)",
            Kind::ApiProviders,
        ),
        (
            CONNECTIONS,
            "API ai/route (32 orgs, keyless)",
            Kind::AiRoute,
        ),
        (
            CONNECTIONS,
            "API ai/route (one org, keyless)",
            Kind::AiRouteOneOrg,
        ),
        (CONNECTIONS, "/readyz (again, after the API)", Kind::Readyz),
        (FEW, "Insights page (full)", Kind::Page),
        (FEW, "Provider page (full)", Kind::ProviderPage),
        (
            FEW,
            "Provider tab (htmx GET fragment)",
            Kind::ProviderFragment,
        ),
    ] {
        let phase = measured(&probe, &mut sessions, conns, name, kind, measure, None).await?;
        report.phases.push(phase);
    }

    // The check's own cost: the mock straight from here, then through the Test action.
    mock::direct_loop(&mock, WARM_UP, MAX_REQUESTS).await?;
    let before = probe.read().await?;
    let (samples, elapsed) = mock::direct_loop(&mock, measure, MAX_REQUESTS).await?;
    let (_, cpu) = probe.since(before).await?;
    report.phases.push(
        Phase::new(
            "mock GET /v1/models (direct)",
            Kind::MockDirect,
            1,
            samples,
            elapsed,
            None,
        )
        .with_cpu(cpu),
    );
    let phase = measured(
        &probe,
        &mut sessions,
        1,
        "Provider Test (htmx POST, live check)",
        Kind::ProviderTest,
        measure,
        Some(&mock),
    )
    .await?;
    report.phases.push(phase);

    // The page again, while 16 loops log in as fast as the server lets them.
    let stop = Arc::new(AtomicBool::new(false));
    let storm: Vec<_> = (0..STORM)
        .map(|i| tokio::spawn(login_loop(server.base.clone(), i, stop.clone())))
        .collect();
    sessions = drive(sessions, Kind::Page, WARM_UP).await.0;
    let before = probe.read().await?;
    let measured_from = Instant::now();
    let (_, samples, elapsed) = drive(sessions, Kind::Page, measure).await;
    stop.store(true, Ordering::Relaxed);
    let (_, cpu) = probe.since(before).await?;
    report.phases.push(
        Phase::new(
            "Insights page during login storm",
            Kind::Page,
            CONNECTIONS,
            samples,
            elapsed,
            None,
        )
        .with_cpu(cpu),
    );
    let mut logins = Samples::default();
    for task in storm {
        for (started, took, outcome) in task.await? {
            if started >= measured_from {
                logins.record(took, outcome);
            }
        }
    }
    report.phases.push(
        Phase::new(
            "  logins (POST /login)",
            Kind::Page,
            STORM,
            logins,
            elapsed,
            None,
        )
        .logins(),
    );

    // The logins alone: their rate and the SQL statements of one GET + POST /login.
    let stop = Arc::new(AtomicBool::new(false));
    let alone: Vec<_> = (0..STORM)
        .map(|i| tokio::spawn(login_loop(server.base.clone(), i, stop.clone())))
        .collect();
    tokio::time::sleep(WARM_UP).await;
    let before = probe.read().await?;
    let measured_from = Instant::now();
    tokio::time::sleep(measure).await;
    let elapsed = measured_from.elapsed();
    let (sql, cpu) = probe.since(before).await?;
    stop.store(true, Ordering::Relaxed);
    let mut logins = Samples::default();
    for task in alone {
        for (started, took, outcome) in task.await? {
            if started >= measured_from && started < measured_from + elapsed {
                logins.record(took, outcome);
            }
        }
    }
    report.phases.push(
        Phase::new(
            "logins alone (SQL: GET+POST /login)",
            Kind::Page,
            STORM,
            logins,
            elapsed,
            Some(sql),
        )
        .with_cpu(cpu)
        .logins(),
    );

    let mut throttle_cost = throttle::measure(&server.database_url()).await?;

    tokio::time::sleep(Duration::from_secs(1)).await;
    report.rss_end = server.rss_bytes()?;
    drop(probe);
    let pid = server.pid();
    let shutdown = server.stop()?;
    report.print(pid, &shutdown);
    throttle_cost.print();
    Ok(shutdown.status.success() && shutdown.cluster_stopped)
}

/// One scenario on the first `conns` sessions: 2 s warm-up, then `length` measured with
/// the SQL statements and CPU it took. The sessions come back in their order. With `mock`,
/// each measured request must also have reached it (see [`require_checks_reached`]).
async fn measured(
    probe: &Probe<'_>,
    sessions: &mut Vec<Session>,
    conns: usize,
    name: &'static str,
    kind: Kind,
    length: Duration,
    mock: Option<&Mock>,
) -> anyhow::Result<Phase> {
    let rest = sessions.split_off(conns.min(sessions.len()));
    let active = drive(std::mem::take(sessions), kind, WARM_UP).await.0;
    let reached_before = mock.map(Mock::keyed_requests);
    let before = probe.read().await?;
    let (active, samples, elapsed) = drive(active, kind, length).await;
    let (sql, cpu) = probe.since(before).await?;
    *sessions = active;
    sessions.extend(rest);
    let mut phase = Phase::new(name, kind, conns, samples, elapsed, Some(sql)).with_cpu(cpu);
    if let (Some(mock), Some(reached_before)) = (mock, reached_before) {
        require_checks_reached(&mut phase, mock.keyed_requests() - reached_before);
    }
    Ok(phase)
}

/// A Test that answered 200 without its check reaching the mock with the provider's key
/// (egress refused, key not sent, …) did not measure a check: it counts as an error.
fn require_checks_reached(phase: &mut Phase, reached: u64) {
    let answered = phase.count - phase.errors - phase.conflicts;
    if reached < answered {
        let missing = answered - reached;
        phase.errors += missing;
        phase.first_error.get_or_insert_with(|| {
            format!(
                "{missing} of {answered} Tests answered without a keyed GET /v1/models reaching \
                 the mock (the check failed: see the tab's message)"
            )
        });
    }
}

/// Reads the server's SQL statement counter and everyone's CPU time around a phase.
struct Probe<'a> {
    server: &'a Server,
    metrics: reqwest::Client,
}

impl Probe<'_> {
    async fn read(&self) -> anyhow::Result<(u64, cpu::Snapshot)> {
        let sql = sql_statements(&self.metrics, &self.server.base).await?;
        let cpu = cpu::Snapshot::take(self.server.pid(), self.server.postmaster());
        Ok((sql, cpu))
    }

    /// SQL statements sent and cores used since `before`.
    async fn since(&self, before: (u64, cpu::Snapshot)) -> anyhow::Result<(u64, cpu::CpuUse)> {
        let cpu = before.1.until(&cpu::Snapshot::take(
            self.server.pid(),
            self.server.postmaster(),
        ));
        let sql = sql_statements(&self.metrics, &self.server.base).await?;
        Ok((sql - before.0, cpu))
    }
}

/// Every session sends `kind` back to back for `length` (at most `MAX_REQUESTS` each); returns the sessions, the samples
/// of every request started in that time, and the time until the last one finished.
async fn drive(
    sessions: Vec<Session>,
    kind: Kind,
    length: Duration,
) -> (Vec<Session>, Samples, Duration) {
    let started = Instant::now();
    let until = started + length;
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|mut session| {
            tokio::spawn(async move {
                let mut samples = Samples::default();
                while Instant::now() < until && samples.latencies.len() < MAX_REQUESTS {
                    let sent = Instant::now();
                    let outcome = session.once(kind).await;
                    samples.record(sent.elapsed(), outcome);
                }
                (session, samples, Instant::now())
            })
        })
        .collect();
    let mut sessions = Vec::with_capacity(tasks.len());
    let mut all = Samples::default();
    let mut last = started;
    for task in tasks {
        let (session, samples, done) = task.await.expect("load task panicked");
        sessions.push(session);
        all.merge(samples);
        last = last.max(done);
    }
    (sessions, all, last - started)
}

/// Logs in over and over on one connection until `stop`; (start, latency, outcome) each.
async fn login_loop(
    base: String,
    i: usize,
    stop: Arc<AtomicBool>,
) -> Vec<(Instant, Duration, Outcome)> {
    let email = seed::storm_email(i);
    let mut out = Vec::new();
    let http = match client::http() {
        Ok(http) => http,
        Err(e) => {
            return vec![(
                Instant::now(),
                Duration::ZERO,
                Outcome::Error(e.to_string()),
            )];
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match client::log_in(&http, &base, &email, PASSWORD).await {
            Ok(took) => out.push((started, took, Outcome::Ok)),
            Err(e) => out.push((started, started.elapsed(), Outcome::Error(format!("{e:#}")))),
        }
    }
    out
}

/// The process-wide SQL statement counter from `/metrics`.
async fn sql_statements(http: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    text.lines()
        .find_map(|l| l.strip_prefix("switchboard_sql_statements_total "))
        .and_then(|v| v.trim().parse().ok())
        .context("no switchboard_sql_statements_total in /metrics")
}
