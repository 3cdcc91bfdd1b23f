//! The Audit tab under a large trail (issue 10): `SWITCHBOARD_BENCH_AUDIT=1 cargo bench
//! --bench load` runs only this scenario.
//!
//! Starts the release server on its embedded PostgreSQL, creates the admin and org
//! `bench-00` through the CLI, and measures the Audit tab's first page on that nearly empty
//! database. Then a generator (SQL `INSERT … SELECT generate_series`, through the chain
//! trigger, so every seeded event carries a valid hash) writes the rest of 1 000 000 events: 99 968 more in
//! `bench-00` (so page 500 exists; 100 090 with the earlier ones) and 90 in each of 9 999 more orgs. After a full
//! `switchboard audit verify` (timed: it also moves the tab's checkpoint to the head, as a
//! deployment's periodic verify would), it measures the first page, page 500 through its
//! keyset cursor, and the JSON Lines export of `bench-00`'s 100 090 events. The first page
//! is compared with the same full page (50 events) measured on the small database (only
//! `bench-00`'s 122 events), and with the 2-event page of the empty database. One connection,
//! sequential requests; p50/p99 over the measured window.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, SimpleAsyncConnection as _};

use crate::{
    client,
    seed::{self, EMAIL, PASSWORD},
    server::Server,
};

/// Events the generator adds to the measured org: with its 2 CLI events, the 120 of the
/// small-database phase and the fillers' 899 910, the database holds exactly 1 000 000.
const BIG_ORG_EVENTS: i64 = 99_968;
/// Other orgs, and events in each.
const FILLER_ORGS: i64 = 9_999;
const FILLER_EVENTS: i64 = 90;
const PAGE: i64 = 50;

struct Latency {
    p50: Duration,
    p99: Duration,
    n: usize,
}

async fn measure(http: &reqwest::Client, url: &str, window: Duration) -> anyhow::Result<Latency> {
    for _ in 0..20 {
        let res = http.get(url).send().await?;
        ensure!(res.status().is_success(), "{url} answered {}", res.status());
        res.bytes().await?;
    }
    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < window && samples.len() < 20_000 {
        let t = Instant::now();
        let res = http.get(url).send().await?;
        ensure!(res.status().is_success(), "{url} answered {}", res.status());
        res.bytes().await?;
        samples.push(t.elapsed());
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Ok(Latency {
        p50: at(0.50),
        p99: at(0.99),
        n: samples.len(),
    })
}

/// `INSERT … SELECT` of generated events for the org `org_expr`, one per row of `from`
/// (which binds `g`).
fn event_rows(org_expr: &str, from: &str) -> String {
    format!(
        "INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_label, action, target, before, after, ip, request_id) \
         SELECT {org_expr}, 'user', 1, 'admin' || (g % 7) || '@bench.example', \
                (ARRAY['provider.updated','insights.enabled','insights.disabled','support.viewed','member.added','provider.tested'])[1 + g % 6], \
                'provider:aip_' || g, jsonb_build_object('name', 'Primary', 'default_model', 'm' || (g - 1), 'key', 'sk-...AAAA'), \
                jsonb_build_object('name', 'Primary', 'default_model', 'm' || g, 'key', 'sk-...BBBB'), \
                '10.0.0.' || (g % 250), 'req-' || g {from}"
    )
}

/// Writes the trail through the chain trigger, in statements small enough that no chain
/// head is updated more than 500 times in one transaction.
async fn generate(database_url: &str, org: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let row = event_rows;
    let big = format!("(SELECT id FROM orgs WHERE slug = '{org}')");
    let mut from = 1;
    while from <= BIG_ORG_EVENTS {
        let to = (from + 499).min(BIG_ORG_EVENTS);
        conn.batch_execute(&row(
            &big,
            &format!("FROM generate_series({from}, {to}) AS g"),
        ))
        .await?;
        from = to + 1;
    }
    conn.batch_execute(&format!(
        "INSERT INTO orgs (slug, name) SELECT 'audit-filler-' || i, 'Audit filler ' || i FROM generate_series(1, {FILLER_ORGS}) AS i"
    ))
    .await?;
    for chunk in 0..10 {
        conn.batch_execute(&row(
            "o.id",
            &format!(
                "FROM orgs o, generate_series(1, {FILLER_EVENTS}) AS g \
                 WHERE o.slug LIKE 'audit-filler-%' AND o.id % 10 = {chunk}"
            ),
        ))
        .await?;
    }
    conn.batch_execute("ANALYZE audit_events; ANALYZE orgs; ANALYZE audit_chain_heads")
        .await?;
    Ok(started.elapsed())
}

async fn total_events(database_url: &str) -> anyhow::Result<i64> {
    use diesel::{QueryDsl as _, dsl::count_star};
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::audit_events;
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    Ok(audit_events::table
        .select(count_star())
        .first(&mut conn)
        .await?)
}

async fn head_seq(database_url: &str, org: &str) -> anyhow::Result<i64> {
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::{audit_chain_heads, orgs};
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let id: i64 = orgs::table
        .filter(orgs::slug.eq(org))
        .select(orgs::id)
        .first(&mut conn)
        .await?;
    Ok(audit_chain_heads::table
        .find(id)
        .select(audit_chain_heads::seq)
        .first(&mut conn)
        .await?)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs the scenario and prints its numbers; `Ok(false)` when the server did not stop cleanly.
pub async fn run(window: Duration) -> anyhow::Result<bool> {
    let (master_keys, _) = seed::master_keys()?;
    let server = Server::start(master_keys).await?;
    seed::through_cli(&server, 1)?;
    let org = seed::org_slug(0);
    let http = client::http()?;
    client::log_in(&http, &server.base, EMAIL, PASSWORD).await?;
    let tab = format!("{}/orgs/{org}/settings/ai/audit", server.base);
    let db = server.database_url();

    let empty = measure(&http, &tab, window).await?;
    // The same full page (50 events with diffs) on an otherwise empty database.
    let mut conn = AsyncPgConnection::establish(&db).await?;
    conn.batch_execute(&event_rows(
        &format!("(SELECT id FROM orgs WHERE slug = '{org}')"),
        "FROM generate_series(1, 120) AS g",
    ))
    .await?;
    drop(conn);
    let small = measure(&http, &tab, window).await?;
    let seeded = generate(&db, &org).await.context("seeding the trail")?;
    let total = total_events(&db).await?;
    let verify_started = Instant::now();
    server.cli(&["audit", "verify"], None)?;
    let verify = verify_started.elapsed();

    let first = measure(&http, &tab, window).await?;
    let cursor = head_seq(&db, &org).await? - PAGE * 499 + 1;
    let deep_url = format!("{tab}?cursor={cursor}");
    let deep = measure(&http, &deep_url, window).await?;
    let page = http.get(&deep_url).send().await?.text().await?;
    ensure!(
        page.matches("id=\"event-").count() == PAGE as usize,
        "page 500 is full"
    );

    let export_started = Instant::now();
    let mut res = http
        .get(format!(
            "{}/orgs/{org}/settings/ai/audit/export.jsonl",
            server.base
        ))
        .send()
        .await?;
    ensure!(
        res.status().is_success(),
        "export answered {}",
        res.status()
    );
    let (mut lines, mut bytes) = (0usize, 0usize);
    while let Some(chunk) = res.chunk().await? {
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        bytes += chunk.len();
    }
    let export = export_started.elapsed();
    let rss = server.rss_bytes()?;
    let shutdown = server.stop()?;

    println!("\n== Audit trail (issue 10) ==");
    println!(
        "seeded {total} audit events in {} orgs in {:.1} s (through the chain trigger)",
        FILLER_ORGS + 1,
        seeded.as_secs_f64()
    );
    println!(
        "switchboard audit verify (every chain, from the first event): {:.1} s = {:.0} events/s",
        verify.as_secs_f64(),
        total as f64 / verify.as_secs_f64()
    );
    println!(
        "{:<44} {:>10} {:>10} {:>7}",
        "Audit tab (1 connection, sequential)", "p50", "p99", "n"
    );
    for (name, l) in [
        ("first page, empty database (2 events)", &empty),
        ("first page, 120 events (full page)", &small),
        ("first page, 1 000 000 events", &first),
        ("page 500 (keyset cursor), 1 000 000 events", &deep),
    ] {
        println!("{name:<44} {:>10} {:>10} {:>7}", ms(l.p50), ms(l.p99), l.n);
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "same full page vs 120 events: first page p50 {:.2}x p99 {:.2}x, page 500 p50 {:.2}x p99 {:.2}x (aim <= 1.5x)",
        ratio(first.p50, small.p50),
        ratio(first.p99, small.p99),
        ratio(deep.p50, small.p50),
        ratio(deep.p99, small.p99)
    );
    println!(
        "vs the 2-event page: first page p50 {:.2}x, page 500 p50 {:.2}x (the difference is rendering 50 rows)",
        ratio(first.p50, empty.p50),
        ratio(deep.p50, empty.p50)
    );
    println!(
        "export JSON Lines: {lines} events, {:.1} MB in {:.2} s = {:.0} events/s (aim >= 50 000); server RSS after: {:.0} MB",
        bytes as f64 / 1e6,
        export.as_secs_f64(),
        lines as f64 / export.as_secs_f64(),
        rss as f64 / 1e6
    );
    Ok(shutdown.status.success() && shutdown.cluster_stopped)
}
