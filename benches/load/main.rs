//! Load benchmark (issue 2; not a test): `cargo bench --bench load`.
//!
//! Starts the release `switchboard` on its embedded PostgreSQL in a temporary data dir,
//! seeds one admin with one org per connection through the CLI, logs every connection in,
//! and drives 32 keep-alive connections (everything on 127.0.0.1) through `/readyz`, the
//! Insights page, its htmx fragment, the htmx toggle, and the page again during a storm of
//! 16 concurrent logins. Prints req/s, p50 and p99 per scenario, SQL statements per request
//! (from `/metrics`), the server's RSS, and the targets of issue 2 with pass/fail; then
//! stops the server with SIGTERM and checks that it and its cluster shut down cleanly.
//!
//! `SWITCHBOARD_BENCH_SECONDS` (default 6) sets each measured phase; each has a 2 s warm-up.

mod client;
mod cpu;
mod report;
mod server;

use std::{
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use client::{Kind, Outcome, Samples, Session};
use report::{Phase, Report};
use server::Server;

/// Keep-alive connections, each its own logged-in session on its own org.
const CONNECTIONS: usize = 32;
/// Concurrent login loops in the storm.
const STORM: usize = 16;
const WARM_UP: Duration = Duration::from_secs(2);
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "bench passphrase, long enough";

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
    match runtime.block_on(run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("load bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every scenario; `Ok(false)` when the server did not shut down cleanly.
async fn run() -> anyhow::Result<bool> {
    let measure = std::env::var("SWITCHBOARD_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(6), Duration::from_secs_f64);
    let mut report = Report::new(measure, CONNECTIONS, STORM);
    report.print_machine();

    let server = Server::start().await?;
    seed(&server)?;
    report.rss_start = server.rss_bytes()?;
    let mut sessions = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        sessions.push(Session::open(&server.base, EMAIL, PASSWORD, &org_slug(i)).await?);
    }
    let probe = Probe {
        server: &server,
        metrics: client::probe()?,
    };

    // Warm up every path once, then let the server settle before reading its idle RSS.
    for kind in [Kind::Readyz, Kind::Page, Kind::Fragment] {
        sessions = drive(sessions, kind, WARM_UP).await.0;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    report.rss_idle = server.rss_bytes()?;

    for (name, kind) in [
        ("/readyz", Kind::Readyz),
        ("Insights page (full)", Kind::Page),
        ("Insights tab (htmx GET fragment)", Kind::Fragment),
        ("Insights toggle (htmx POST fragment)", Kind::Toggle),
    ] {
        sessions = drive(sessions, kind, WARM_UP).await.0;
        let before = probe.read().await?;
        let (back, samples, elapsed) = drive(sessions, kind, measure).await;
        sessions = back;
        let (sql, cpu) = probe.since(before).await?;
        report
            .phases
            .push(Phase::new(name, kind, samples, elapsed, Some(sql)).with_cpu(cpu));
    }

    // The page again, while 16 loops log in as fast as the server lets them.
    let stop = Arc::new(AtomicBool::new(false));
    let storm: Vec<_> = (0..STORM)
        .map(|_| tokio::spawn(login_loop(server.base.clone(), stop.clone())))
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
    report
        .phases
        .push(Phase::new("  logins (POST /login)", Kind::Page, logins, elapsed, None).logins());

    tokio::time::sleep(Duration::from_secs(1)).await;
    report.rss_end = server.rss_bytes()?;
    drop(probe);
    let pid = server.pid();
    let shutdown = server.stop()?;
    report.print(pid, &shutdown);
    Ok(shutdown.status.success() && shutdown.cluster_stopped)
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

fn org_slug(i: usize) -> String {
    format!("bench-{i:02}")
}

/// One admin, and one org per connection so concurrent toggles never contend for a row.
fn seed(server: &Server) -> anyhow::Result<()> {
    server.cli(
        &[
            "user",
            "create",
            "--email",
            EMAIL,
            "--name",
            "Bench Admin",
            "--password-stdin",
        ],
        Some(PASSWORD),
    )?;
    for i in 0..CONNECTIONS {
        let slug = org_slug(i);
        let name = format!("Bench {i}");
        server.cli(&["org", "create", "--slug", &slug, "--name", &name], None)?;
        server.cli(
            &[
                "member", "add", "--org", &slug, "--email", EMAIL, "--role", "admin",
            ],
            None,
        )?;
    }
    Ok(())
}

/// Every session sends `kind` back to back for `length`; returns the sessions, the samples
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
                while Instant::now() < until {
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
async fn login_loop(base: String, stop: Arc<AtomicBool>) -> Vec<(Instant, Duration, Outcome)> {
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
        match client::log_in(&http, &base, EMAIL, PASSWORD).await {
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
