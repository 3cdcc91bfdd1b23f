//! The settings write against its anchor (issue 16 item 3), at one connection:
//!
//! - **bare committed write**: one `UPDATE` + one `INSERT` in one committed transaction,
//!   from this process over the same pool kind the server uses (`switchboard::db::pool`,
//!   diesel-async, one connection) on the server's database, into two scratch tables;
//! - **settings write**: `PATCH /api/v1/orgs/bench-00/ai-settings {"insightsEnabled": …}`
//!   with a bearer token (`settings:get`, `settings:update`), flipping Insights each time,
//!   on one keep-alive connection.
//!
//! Each: 2 s warm-up, then the measured window. Prints p50/mean/p99, the ratio of the
//! settings write to the bare write, SQL statements per write (the bare write's counted by
//! the same instrumentation the server uses, in this process) and commits per write
//! (`pg_stat_database.xact_commit` over the phase, after waiting for the backends to report
//! their counters; every autocommit statement is a commit of its own).
//!
//! Run alone: `SWITCHBOARD_BENCH_WRITE=1 cargo bench --bench load` or
//! `cargo bench --bench load -- settings-write`.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use diesel::sql_types::BigInt;
use diesel_async::{
    AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _, SimpleAsyncConnection as _,
};
use switchboard::metrics::counters::sql_statements;

use crate::{
    client::{self, Outcome, Samples},
    seed::{self, EMAIL},
    server::Server,
};

/// How long the backends may hold their statistics before reporting them (PostgreSQL
/// flushes an idle backend's counters within 10 s).
const STATS_SETTLE: Duration = Duration::from_secs(11);

/// One measured loop.
struct Measured {
    samples: Samples,
    elapsed: Duration,
    statements: u64,
    commits: i64,
}

impl Measured {
    fn per(&self, n: f64) -> f64 {
        n / self.samples.count().max(1) as f64
    }

    fn mean(&self) -> Duration {
        let total: Duration = self.samples.latencies.iter().sum();
        total / u32::try_from(self.samples.count().max(1)).unwrap_or(u32::MAX)
    }
}

/// Runs the two loops; `Ok(false)` when the server did not shut down cleanly.
pub async fn run(measure: Duration) -> anyhow::Result<bool> {
    switchboard::metrics::counters::install_sql_counter();
    let (master_keys, _) = seed::master_keys()?;
    let server = Server::start(master_keys).await?;
    let result = measure_both(&server, measure).await;
    let shutdown = server.stop()?;
    let (bare, write) = result?;
    report(measure, &bare, &write);
    println!(
        "server stopped in {:.1} s (exit {}, cluster stopped: {})",
        shutdown.took.as_secs_f64(),
        shutdown.status,
        shutdown.cluster_stopped
    );
    Ok(shutdown.status.success() && shutdown.cluster_stopped)
}

async fn measure_both(server: &Server, measure: Duration) -> anyhow::Result<(Measured, Measured)> {
    seed::through_cli(server, 1)?;
    let url = server.database_url();
    let token = settings_token(&url).await?;
    let mut stats = AsyncPgConnection::establish(&url).await?;
    stats
        .batch_execute(
            "CREATE TABLE bench_bare_row (id INT PRIMARY KEY, n BIGINT NOT NULL); \
             INSERT INTO bench_bare_row VALUES (1, 0); \
             CREATE TABLE bench_bare_log (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
               n BIGINT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;

    // The anchor.
    let pool = switchboard::db::pool(&url, 1)?;
    let mut conn = pool.get().await?;
    bare_loop(&mut conn, super::WARM_UP).await;
    let before = settle(&mut stats).await?;
    let sql_before = statements_here();
    let (samples, elapsed) = bare_loop(&mut conn, measure).await;
    let statements = statements_here() - sql_before;
    drop(conn);
    let commits = settle(&mut stats).await? - before - 1;
    let bare = Measured {
        samples,
        elapsed,
        statements,
        commits,
    };

    // The settings write through the API.
    let http = client::probe()?;
    let metrics = client::probe()?;
    let patch = format!(
        "{}/api/v1/orgs/{}/ai-settings",
        server.base,
        seed::org_slug(0)
    );
    let mut enabled = false;
    patch_loop(&http, &patch, &token, &mut enabled, super::WARM_UP).await;
    let before = settle(&mut stats).await?;
    let sql_before = super::sql_statements(&metrics, &server.base).await?;
    let (samples, elapsed) = patch_loop(&http, &patch, &token, &mut enabled, measure).await;
    let statements = super::sql_statements(&metrics, &server.base).await? - sql_before;
    let commits = settle(&mut stats).await? - before - 1;
    let write = Measured {
        samples,
        elapsed,
        statements,
        commits,
    };
    Ok((bare, write))
}

/// SQL statements this process has sent (the server's instrumentation, installed here).
fn statements_here() -> u64 {
    sql_statements().get()
}

/// Waits for every backend to report its counters, then reads the database's commits.
async fn settle(stats: &mut AsyncPgConnection) -> anyhow::Result<i64> {
    #[derive(diesel::QueryableByName)]
    struct Commits {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    tokio::time::sleep(STATS_SETTLE).await;
    // One autocommit statement: a fresh statistics snapshot, and its own commit is counted
    // only by the next read (hence the `- 1` after each phase).
    let Commits { n } = diesel::sql_query(
        "SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()",
    )
    .get_result(stats)
    .await?;
    Ok(n)
}

/// One committed transaction with one UPDATE and one INSERT, back to back for `length`.
async fn bare_loop(conn: &mut AsyncPgConnection, length: Duration) -> (Samples, Duration) {
    let started = Instant::now();
    let mut samples = Samples::default();
    while started.elapsed() < length && samples.latencies.len() < super::MAX_REQUESTS {
        let sent = Instant::now();
        let done = conn
            .transaction::<_, diesel::result::Error, _>(async |c| {
                diesel::sql_query("UPDATE bench_bare_row SET n = n + 1 WHERE id = 1")
                    .execute(c)
                    .await?;
                diesel::sql_query("INSERT INTO bench_bare_log (n) VALUES ($1)")
                    .bind::<BigInt, _>(1)
                    .execute(c)
                    .await?;
                Ok(())
            })
            .await;
        let outcome = match done {
            Ok(()) => Outcome::Ok,
            Err(e) => Outcome::Error(e.to_string()),
        };
        samples.record(sent.elapsed(), outcome);
    }
    (samples, started.elapsed())
}

/// `PATCH ai-settings` flipping Insights, back to back for `length`.
async fn patch_loop(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    enabled: &mut bool,
    length: Duration,
) -> (Samples, Duration) {
    let started = Instant::now();
    let mut samples = Samples::default();
    while started.elapsed() < length && samples.latencies.len() < super::MAX_REQUESTS {
        let sent = Instant::now();
        let next = !*enabled;
        let res = http
            .patch(url)
            .bearer_auth(token)
            .json(&serde_json::json!({ "insightsEnabled": next }))
            .send()
            .await;
        let outcome = match res {
            Ok(res) if res.status() == reqwest::StatusCode::OK => match res.bytes().await {
                Ok(_) => {
                    *enabled = next;
                    Outcome::Ok
                }
                Err(e) => Outcome::Error(e.to_string()),
            },
            Ok(res) if res.status() == reqwest::StatusCode::CONFLICT => Outcome::Conflict,
            Ok(res) => Outcome::Error(format!("status {}", res.status())),
            Err(e) => Outcome::Error(e.to_string()),
        };
        samples.record(sent.elapsed(), outcome);
    }
    (samples, started.elapsed())
}

/// An API token of the bench admin on `bench-00` that may read and change its settings,
/// stored the way `ops::tokens` stores one.
async fn settings_token(url: &str) -> anyhow::Result<String> {
    use switchboard::models::{api_token::NewApiToken, org::Org, user::User};
    let mut conn = AsyncPgConnection::establish(url).await?;
    let user = User::find_by_email(&mut conn, EMAIL)
        .await?
        .context("no bench admin")?;
    let org = Org::find_by_slug(&mut conn, &seed::org_slug(0))
        .await?
        .context("no bench org")?;
    let token = format!("swb_{}", switchboard::crypto::random_token(32));
    let prefix: String = token.chars().take(8).collect();
    let scopes = ["settings:get".to_owned(), "settings:update".to_owned()];
    NewApiToken {
        org_id: org.id,
        user_id: user.id,
        name: "bench settings",
        scopes: &scopes,
        token_hash: &switchboard::crypto::sha256(token.as_bytes()),
        prefix: &prefix,
        created_at: Utc::now(),
        expires_at: None,
        kind: "personal",
    }
    .insert(&mut conn)
    .await?;
    Ok(token)
}

fn report(measure: Duration, bare: &Measured, write: &Measured) {
    println!(
        "\nSettings write vs bare committed write (1 connection, {:.0} s each)",
        measure.as_secs_f64()
    );
    println!(
        "| scenario | writes | writes/s | p50 ms | mean ms | p99 ms | SQL/write | commits/write | errors |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut medians = Vec::new();
    for (name, m) in [
        ("bare UPDATE+INSERT, one commit", bare),
        ("PATCH ai-settings insightsEnabled", write),
    ] {
        let mut samples = Samples {
            latencies: m.samples.latencies.clone(),
            ..Samples::default()
        };
        let (p50, p99) = (samples.quantile(0.5), samples.quantile(0.99));
        medians.push((p50, m.mean()));
        println!(
            "| {name} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {}{} |",
            m.samples.count(),
            m.samples.count() as f64 / m.elapsed.as_secs_f64(),
            p50.as_secs_f64() * 1e3,
            m.mean().as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            m.per(m.statements as f64),
            m.per(m.commits as f64),
            m.samples.errors + m.samples.conflicts,
            m.samples
                .first_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default(),
        );
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let p50 = ratio(medians[1].0, medians[0].0);
    let mean = ratio(medians[1].1, medians[0].1);
    println!(
        "settings write / bare write: {p50:.2}x at p50, {mean:.2}x on the mean (aim <= 1.5x: {})",
        if p50 <= 1.5 { "PASS" } else { "FAIL" }
    );
}
