//! `ai/route` against `/readyz`, side by side in one run (issue 21 item 3):
//!
//! - `/readyz` (one pooled `SELECT 1`): the anchor;
//! - `ai/route` revalidated: `If-None-Match` with the current version ⇒ `304`;
//! - `ai/route` keyless: the full answer to an `ai:resolve` token (`credentialWithheld`);
//! - `ai/route` with `ai:release`: the full answer with the key (one `credential.released`
//!   per token and hour; the calls counted in memory and flushed every few seconds);
//! - `/readyz` again, so the ratios are taken against the better of the two anchors.
//!
//! All on one org (`bench-00`, among the 10 000 filler orgs with 10 providers each), each
//! connection with its own token (so per-token limits and buckets are per connection, as
//! for a fleet of service instances), at 8 and at 32 keep-alive connections. Prints req/s,
//! p50/p99, SQL statements per request and each ratio against its target.
//!
//! Run alone: `SWITCHBOARD_BENCH_ROUTE=1 cargo bench --bench load` or
//! `cargo bench --bench load -- route`.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use reqwest::{Client, StatusCode, header};
use switchboard::models::{api_token::NewApiToken, org::Org, user::User};

use crate::{
    client::{self, Outcome, Samples},
    mock::Mock,
    seed::{self, EMAIL},
    server::Server,
};

/// The loads measured: few connections (as the first figure), and the main bench's.
const LOADS: [usize; 2] = [8, 32];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ask {
    Readyz,
    NotModified,
    Keyless,
    Release,
}

impl Ask {
    fn name(self) -> &'static str {
        match self {
            Ask::Readyz => "/readyz",
            Ask::NotModified => "ai/route 304 (If-None-Match)",
            Ask::Keyless => "ai/route keyless (200)",
            Ask::Release => "ai/route with ai:release (200, key)",
        }
    }

    /// The least share of `/readyz`'s rate the issue asks for.
    fn target(self) -> Option<f64> {
        match self {
            Ask::Readyz => None,
            Ask::NotModified => Some(0.8),
            Ask::Keyless | Ask::Release => Some(0.5),
        }
    }
}

/// One connection: its own client (one keep-alive connection), its tokens, its ETag.
struct Conn {
    http: Client,
    base: String,
    keyless: String,
    release: String,
    etag: Option<String>,
}

impl Conn {
    async fn once(&mut self, ask: Ask) -> Outcome {
        match self.request(ask).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Error(format!("{e:#}")),
        }
    }

    async fn request(&mut self, ask: Ask) -> anyhow::Result<Outcome> {
        let route = format!(
            "{}/api/v1/orgs/{}/ai/route?feature=summaries",
            self.base,
            seed::org_slug(0)
        );
        let req = match ask {
            Ask::Readyz => self.http.get(format!("{}/readyz", self.base)),
            Ask::NotModified => {
                if self.etag.is_none() {
                    let res = self
                        .http
                        .get(&route)
                        .bearer_auth(&self.keyless)
                        .send()
                        .await?;
                    self.etag = res
                        .headers()
                        .get(header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    res.bytes().await?;
                }
                let etag = self.etag.clone().context("no ETag on the answer")?;
                self.http
                    .get(&route)
                    .bearer_auth(&self.keyless)
                    .header(header::IF_NONE_MATCH, etag)
            }
            Ask::Keyless => self.http.get(&route).bearer_auth(&self.keyless),
            Ask::Release => self.http.get(&route).bearer_auth(&self.release),
        };
        let res = req.send().await?;
        let status = res.status();
        let body = res.text().await?;
        let expected = match ask {
            Ask::NotModified => StatusCode::NOT_MODIFIED,
            _ => StatusCode::OK,
        };
        if status != expected {
            return Ok(Outcome::Error(format!(
                "{} answered {status}: {}",
                ask.name(),
                body.chars().take(200).collect::<String>()
            )));
        }
        let right = match ask {
            Ask::Keyless => {
                body.contains("\"credentialWithheld\":true") && !body.contains("apiKey")
            }
            Ask::Release => body.contains("\"apiKey\":\""),
            Ask::NotModified => body.is_empty(),
            Ask::Readyz => true,
        };
        Ok(if right {
            Outcome::Ok
        } else {
            Outcome::Error(format!("{} answered an unexpected body", ask.name()))
        })
    }
}

/// Every connection asks `ask` back to back for `length`; the samples and the elapsed time.
async fn drive(conns: Vec<Conn>, ask: Ask, length: Duration) -> (Vec<Conn>, Samples, Duration) {
    let started = Instant::now();
    let until = started + length;
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            tokio::spawn(async move {
                let mut samples = Samples::default();
                while Instant::now() < until && samples.latencies.len() < super::MAX_REQUESTS {
                    let sent = Instant::now();
                    let outcome = conn.once(ask).await;
                    samples.record(sent.elapsed(), outcome);
                }
                (conn, samples, Instant::now())
            })
        })
        .collect();
    let mut conns = Vec::new();
    let mut all = Samples::default();
    let mut last = started;
    for task in tasks {
        let (conn, samples, done) = task.await.expect("route load task panicked");
        conns.push(conn);
        all.merge(samples);
        last = last.max(done);
    }
    (conns, all, last - started)
}

/// One measured phase's figures.
struct Row {
    conns: usize,
    ask: Ask,
    rate: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
    first_error: Option<String>,
    sql_per: f64,
}

/// Runs the route scenarios; `Ok(false)` when a target was missed, a request failed or the
/// server did not shut down cleanly.
pub async fn run(measure: Duration) -> anyhow::Result<bool> {
    let mock = Mock::start()?;
    let (master_keys, keyring) = seed::master_keys()?;
    let server = Server::start(master_keys).await?;
    let result = measure_all(&server, &mock, &keyring, measure).await;
    let shutdown = server.stop()?;
    let rows = result?;
    let passed = report(measure, &rows);
    println!(
        "server stopped in {:.1} s (exit {}, cluster stopped: {})",
        shutdown.took.as_secs_f64(),
        shutdown.status,
        shutdown.cluster_stopped
    );
    Ok(passed && shutdown.status.success() && shutdown.cluster_stopped)
}

async fn measure_all(
    server: &Server,
    mock: &Mock,
    keyring: &switchboard::crypto::keyring::Keyring,
    measure: Duration,
) -> anyhow::Result<Vec<Row>> {
    seed::through_cli(server, 1)?;
    let url = server.database_url();
    seed::providers(&url, keyring, 1, &mock.base_url).await?;
    let most = LOADS.into_iter().max().unwrap_or(1);
    let keyless = tokens(&url, most, "personal", &["ai:resolve"]).await?;
    let release = tokens(&url, most, "service", &["ai:resolve", "ai:release"]).await?;
    let metrics = client::probe()?;
    let mut conns = Vec::with_capacity(most);
    for (keyless, release) in keyless.into_iter().zip(release) {
        conns.push(Conn {
            http: client::probe()?,
            base: server.base.clone(),
            keyless,
            release,
            etag: None,
        });
    }
    let mut rows = Vec::new();
    for load in LOADS {
        for ask in [
            Ask::Readyz,
            Ask::NotModified,
            Ask::Keyless,
            Ask::Release,
            Ask::Readyz,
        ] {
            let rest = conns.split_off(load.min(conns.len()));
            let active = drive(std::mem::take(&mut conns), ask, super::WARM_UP)
                .await
                .0;
            let before = super::sql_statements(&metrics, &server.base).await?;
            let (active, mut samples, elapsed) = drive(active, ask, measure).await;
            let sql = super::sql_statements(&metrics, &server.base).await? - before;
            conns = active;
            conns.extend(rest);
            let count = samples.count().max(1);
            rows.push(Row {
                conns: load,
                ask,
                rate: samples.count() as f64 / elapsed.as_secs_f64(),
                p50: samples.quantile(0.50),
                p99: samples.quantile(0.99),
                errors: samples.errors,
                first_error: samples.first_error.clone(),
                // `/metrics` reads itself twice per phase: negligible against thousands.
                sql_per: sql as f64 / count as f64,
            });
        }
    }
    Ok(rows)
}

/// `n` tokens of `kind` with `scopes` on `bench-00` for the bench admin, inserted as
/// `ops::tokens` stores them.
async fn tokens(url: &str, n: usize, kind: &str, scopes: &[&str]) -> anyhow::Result<Vec<String>> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to the server's database")?;
    let user = User::find_by_email(&mut conn, EMAIL)
        .await?
        .context("no bench admin")?;
    let org = Org::find_by_slug(&mut conn, &seed::org_slug(0))
        .await?
        .context("no bench-00")?;
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let token = format!("swb_{}", switchboard::crypto::random_token(32));
        let prefix: String = token.chars().take(8).collect();
        NewApiToken {
            org_id: org.id,
            user_id: user.id,
            name: "route bench",
            scopes: &scopes,
            token_hash: &switchboard::crypto::sha256(token.as_bytes()),
            prefix: &prefix,
            created_at: Utc::now(),
            expires_at: None,
            kind,
        }
        .insert(&mut conn)
        .await
        .context("seeding a route token")?;
        out.push(token);
    }
    Ok(out)
}

/// Prints the table and the ratios; whether every target was met with no error.
fn report(measure: Duration, rows: &[Row]) -> bool {
    println!(
        "\nai/route vs /readyz, one org, {:.0} s per phase (2 s warm-up), each connection its own token",
        measure.as_secs_f64()
    );
    println!(
        "{:>5}  {:<38} {:>9} {:>9} {:>9} {:>7} {:>7}",
        "conns", "scenario", "req/s", "p50 ms", "p99 ms", "SQL/req", "errors"
    );
    let mut passed = true;
    for row in rows {
        println!(
            "{:>5}  {:<38} {:>9.0} {:>9.2} {:>9.2} {:>7.2} {:>7}",
            row.conns,
            row.ask.name(),
            row.rate,
            row.p50.as_secs_f64() * 1e3,
            row.p99.as_secs_f64() * 1e3,
            row.sql_per,
            row.errors
        );
        if let Some(e) = &row.first_error {
            println!("       first error: {e}");
            passed = false;
        }
    }
    println!("\nratios against the better /readyz of the same load:");
    for load in LOADS {
        let anchor = rows
            .iter()
            .filter(|r| r.conns == load && r.ask == Ask::Readyz)
            .map(|r| r.rate)
            .fold(0.0, f64::max);
        for row in rows.iter().filter(|r| r.conns == load) {
            let Some(target) = row.ask.target() else {
                continue;
            };
            let ratio = row.rate / anchor.max(1.0);
            let ok = ratio >= target;
            passed &= ok;
            println!(
                "{:>5}  {:<38} {:>5.2}× (target ≥ {target:.1}×) {}",
                load,
                row.ask.name(),
                ratio,
                if ok { "PASS" } else { "FAIL" }
            );
        }
    }
    passed
}
