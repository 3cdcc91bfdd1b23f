//! What the bench prints: the machine, one row per scenario, and the targets of issue 2
//! and of the Provider tab's issue with pass/fail.

use std::time::Duration;

use crate::{client::Kind, client::Samples, cpu::CpuUse, server::Shutdown};

/// The result of one measured scenario.
pub struct Phase {
    pub name: &'static str,
    pub kind: Kind,
    /// Concurrent connections (closed loops) that ran it.
    pub conns: usize,
    pub count: u64,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub conflicts: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// SQL statements the server sent during the phase.
    pub sql: Option<u64>,
    /// Average cores used by each party during the phase.
    pub cpu: Option<CpuUse>,
    pub login: bool,
}

impl Phase {
    pub fn new(
        name: &'static str,
        kind: Kind,
        conns: usize,
        mut samples: Samples,
        elapsed: Duration,
        sql: Option<u64>,
    ) -> Self {
        let count = samples.count();
        Self {
            name,
            kind,
            conns,
            count,
            per_second: count as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
            p50: samples.quantile(0.50),
            p99: samples.quantile(0.99),
            conflicts: samples.conflicts,
            errors: samples.errors,
            first_error: samples.first_error,
            sql,
            cpu: None,
            login: false,
        }
    }

    pub fn with_cpu(mut self, cpu: CpuUse) -> Self {
        self.cpu = Some(cpu);
        self
    }

    /// Marks the row as the login storm's logins.
    pub fn logins(mut self) -> Self {
        self.login = true;
        self
    }

    /// The page measured during the login storm.
    fn storm(&self) -> bool {
        self.name.contains("login storm")
    }

    fn sql_per_request(&self) -> Option<f64> {
        self.sql.map(|s| s as f64 / self.count.max(1) as f64)
    }
}

/// Everything measured in one run.
pub struct Report {
    measure: Duration,
    connections: usize,
    /// The smaller load of the Provider/Insights p99 comparison.
    few: usize,
    storm: usize,
    pub phases: Vec<Phase>,
    pub rss_start: u64,
    pub rss_idle: u64,
    pub rss_end: u64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

impl Report {
    pub fn new(measure: Duration, connections: usize, few: usize, storm: usize) -> Self {
        Self {
            measure,
            connections,
            few,
            storm,
            phases: Vec::new(),
            rss_start: 0,
            rss_idle: 0,
            rss_end: 0,
        }
    }

    /// Cores, CPU and load before the run (a busy machine skews every number).
    pub fn print_machine(&self) {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("Switchboard load bench: {}", crate::server::BIN);
        println!(
            "machine: {cores} cores, {cpu}; load average {} before the run",
            load.join(" ")
        );
        println!(
            "{} keep-alive connections ({} and 1 where the table says so), 2 s warm-up + {:.0} s \
             measured per scenario, login storm of {} loops; load generator on 1 thread",
            self.connections,
            self.few,
            self.measure.as_secs_f64(),
            self.storm
        );
    }

    /// What was seeded before the load.
    pub fn print_seeding(&self, orgs: i64, providers: i64, took: Duration) {
        println!(
            "database: {orgs} orgs, {providers} providers (seeded in {:.1} s)\n",
            took.as_secs_f64()
        );
    }

    /// The phase of `kind` at `conns` connections (not the storm's).
    fn phase(&self, kind: Kind, conns: usize) -> Option<&Phase> {
        self.phases
            .iter()
            .find(|p| p.kind == kind && p.conns == conns && !p.login && !p.storm())
    }

    fn storm_phase(&self) -> Option<&Phase> {
        self.phases.iter().find(|p| p.storm())
    }

    /// The table, the targets and the shutdown.
    pub fn print(&self, pid: u32, shutdown: &Shutdown) {
        println!(
            "{:<38} {:>5} {:>9} {:>8} {:>8} {:>8} {:>7}",
            "scenario", "conns", "req/s", "p50 ms", "p99 ms", "SQL/req", "errors"
        );
        for p in &self.phases {
            let conns = p.conns;
            let sql = p
                .sql_per_request()
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.2}"));
            let errors = if p.conflicts > 0 {
                format!("{} (+{} conflicts)", p.errors, p.conflicts)
            } else {
                p.errors.to_string()
            };
            println!(
                "{:<38} {:>5} {:>9.0} {:>8.2} {:>8.2} {:>8} {:>7}",
                p.name,
                conns,
                p.per_second,
                ms(p.p50),
                ms(p.p99),
                sql,
                errors
            );
        }
        for p in self.phases.iter().filter(|p| p.first_error.is_some()) {
            println!(
                "first error in '{}' ({} conns): {}",
                p.name.trim(),
                p.conns,
                p.first_error.as_deref().unwrap_or_default()
            );
        }
        self.print_cpu();
        println!(
            "\nserver (pid {pid}) RSS: {:.1} MB after start, {:.1} MB idle after {} logins and \
             warm-up, {:.1} MB idle at the end",
            mb(self.rss_start),
            mb(self.rss_idle),
            self.connections,
            mb(self.rss_end)
        );
        self.print_targets();
        println!(
            "\nshutdown on SIGTERM: {} in {:.1} s, embedded cluster {}",
            shutdown.status,
            shutdown.took.as_secs_f64(),
            if shutdown.cluster_stopped {
                "stopped"
            } else {
                "STILL RUNNING"
            }
        );
    }

    fn print_cpu(&self) {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "\nCPU used, in cores (of {cores}; \"load gen\" includes the mock provider's thread):"
        );
        println!(
            "{:<38} {:>5} {:>8} {:>10} {:>10} {:>8}",
            "scenario", "conns", "server", "PostgreSQL", "load gen", "other"
        );
        for p in &self.phases {
            if let Some(c) = p.cpu {
                println!(
                    "{:<38} {:>5} {:>8.2} {:>10.2} {:>10.2} {:>8.2}",
                    p.name, p.conns, c.server, c.postgres, c.bench, c.other
                );
            }
        }
    }

    fn print_targets(&self) {
        println!(
            "\n{:<44} {:>12} {:>10}  result",
            "target", "measured", "goal"
        );
        let row = |name: &str, measured: String, goal: &str, ok: bool| {
            println!("{name:<44} {measured:>12} {goal:>10}  {}", verdict(ok));
        };
        self.print_insights_targets(&row);
        self.print_provider_targets(&row);
        self.print_api_targets(&row);
        let errors: u64 = self.phases.iter().map(|p| p.errors + p.conflicts).sum();
        row(
            "errors and conflicts, all scenarios",
            errors.to_string(),
            "0",
            errors == 0,
        );
    }

    /// Issue 2's targets: the Insights tab at 32 connections, the storm, RSS.
    fn print_insights_targets(&self, row: &impl Fn(&str, String, &str, bool)) {
        let n = self.connections;
        let (Some(readyz), Some(page), Some(fragment), Some(toggle), Some(storm)) = (
            self.phase(Kind::Readyz, n),
            self.phase(Kind::Page, n),
            self.phase(Kind::Fragment, n),
            self.phase(Kind::Toggle, n),
            self.storm_phase(),
        ) else {
            return;
        };
        let ratio = page.per_second / readyz.per_second.max(f64::EPSILON);
        row(
            "page / readyz throughput",
            format!("{ratio:.2}x"),
            ">= 0.5x",
            ratio >= 0.5,
        );
        for (label, p) in [("page", page), ("fragment", fragment), ("toggle", toggle)] {
            row(
                &format!("p99 at {} connections: {label}", self.connections),
                format!("{:.2} ms", ms(p.p99)),
                "<= 20 ms",
                ms(p.p99) <= 20.0,
            );
        }
        for (label, p) in [("page", page), ("fragment", fragment)] {
            let sql = p.sql_per_request().unwrap_or(f64::NAN);
            row(
                &format!("SQL statements per {label}"),
                format!("{sql:.3}"),
                "<= 4",
                sql <= 4.0,
            );
        }
        let slowdown = storm.p99.as_secs_f64() / page.p99.as_secs_f64().max(f64::EPSILON);
        row(
            "page p99 during login storm / idle",
            format!("{slowdown:.2}x"),
            "<= 3x",
            slowdown <= 3.0,
        );
        row(
            "server RSS after start (no login yet)",
            format!("{:.1} MB", mb(self.rss_start)),
            "<= 40 MB",
            mb(self.rss_start) <= 40.0,
        );
        row(
            "server RSS idle after logins + warm-up",
            format!("{:.1} MB", mb(self.rss_idle)),
            "<= 40 MB",
            mb(self.rss_idle) <= 40.0,
        );
        row(
            "server RSS idle at the end",
            format!("{:.1} MB", mb(self.rss_end)),
            "<= 40 MB",
            mb(self.rss_end) <= 40.0,
        );
    }

    /// Issue 11's targets at 32 connections: the providers list against `/readyz` (both runs
    /// of it), route resolution's rate and p99, and SQL statements per request (the token's
    /// own SELECT included).
    fn print_api_targets(&self, row: &impl Fn(&str, String, &str, bool)) {
        let n = self.connections;
        let clean = |p: &Phase| p.errors + p.conflicts == 0;
        let readyz: Vec<&Phase> = self
            .phases
            .iter()
            .filter(|p| p.kind == Kind::Readyz && p.conns == n)
            .collect();
        if let Some(list) = self.phase(Kind::ApiProviders, n) {
            for (i, r) in readyz.iter().enumerate() {
                let ratio = list.per_second / r.per_second.max(f64::EPSILON);
                row(
                    &format!("API providers list / readyz (run {})", i + 1),
                    format!("{ratio:.2}x"),
                    ">= 0.6x",
                    ratio >= 0.6 && clean(list),
                );
            }
            let sql = list.sql_per_request().unwrap_or(f64::NAN);
            row(
                "SQL statements per API providers list",
                format!("{sql:.3}"),
                "<= 4",
                sql <= 4.0 && clean(list),
            );
        }
        for kind in [Kind::AiRoute, Kind::AiRouteOneOrg] {
            let Some(p) = self.phase(kind, n) else {
                continue;
            };
            let label = match kind {
                Kind::AiRoute => "ai/route, 32 orgs",
                _ => "ai/route, one org",
            };
            row(
                &format!("{label}: throughput"),
                format!("{:.0}/s", p.per_second),
                ">= 1000/s",
                p.per_second >= 1000.0 && clean(p),
            );
            row(
                &format!("{label}: p99"),
                format!("{:.2} ms", ms(p.p99)),
                "<= 20 ms",
                ms(p.p99) <= 20.0 && clean(p),
            );
            let sql = p.sql_per_request().unwrap_or(f64::NAN);
            row(
                &format!("{label}: SQL statements per call"),
                format!("{sql:.3}"),
                "<= 4",
                sql <= 4.0 && clean(p),
            );
        }
    }

    /// The Provider tab's targets: throughput against `/readyz` and SQL per page at 32
    /// connections, p99 against the Insights page at 8, and the Test action's overhead over
    /// the mock's own latency at 1.
    ///
    /// A number from a phase with errors measured failures (a 404 is fast), so such a row
    /// is FAIL whatever the number.
    fn print_provider_targets(&self, row: &impl Fn(&str, String, &str, bool)) {
        let n = self.connections;
        let clean = |p: &Phase| p.errors + p.conflicts == 0;
        let (Some(readyz), Some(page), Some(fragment)) = (
            self.phase(Kind::Readyz, n),
            self.phase(Kind::ProviderPage, n),
            self.phase(Kind::ProviderFragment, n),
        ) else {
            return;
        };
        let ratio = page.per_second / readyz.per_second.max(f64::EPSILON);
        row(
            "Provider page / readyz throughput",
            format!("{ratio:.2}x"),
            ">= 0.5x",
            ratio >= 0.5 && clean(page),
        );
        // Three decimals: each session's once-a-minute idle-deadline update adds a few
        // statements to a phase, enough to tip a page of exactly 4 over the goal.
        for (label, p) in [("page", page), ("fragment", fragment)] {
            let sql = p.sql_per_request().unwrap_or(f64::NAN);
            row(
                &format!("SQL statements per Provider {label}"),
                format!("{sql:.3}"),
                "<= 4",
                sql <= 4.0 && clean(p),
            );
        }
        if let Some(skills) = self.phase(Kind::SkillsPage, n) {
            let ratio = skills.per_second / readyz.per_second.max(f64::EPSILON);
            row(
                "Skills page (50 skills) / readyz throughput",
                format!("{ratio:.2}x"),
                ">= 0.5x",
                ratio >= 0.5 && clean(skills),
            );
            let sql = skills.sql_per_request().unwrap_or(f64::NAN);
            row(
                "SQL statements per Skills page",
                format!("{sql:.3}"),
                "<= 4",
                sql <= 4.0 && clean(skills),
            );
        }
        if let (Some(insights), Some(page)) = (
            self.phase(Kind::Page, self.few),
            self.phase(Kind::ProviderPage, self.few),
        ) {
            let ratio = page.p99.as_secs_f64() / insights.p99.as_secs_f64().max(f64::EPSILON);
            row(
                &format!("p99 at {} conns: Provider page / Insights", self.few),
                format!("{ratio:.2}x"),
                "<= 2x",
                ratio <= 2.0 && clean(page),
            );
        }
        if let (Some(mock), Some(test)) = (
            self.phase(Kind::MockDirect, 1),
            self.phase(Kind::ProviderTest, 1),
        ) {
            for (label, through, direct) in
                [("p50", test.p50, mock.p50), ("p99", test.p99, mock.p99)]
            {
                let overhead = ms(through) - ms(direct);
                row(
                    &format!("Test overhead over the mock, {label}"),
                    format!("{overhead:.2} ms"),
                    "<= 5 ms",
                    overhead <= 5.0 && clean(test) && clean(mock),
                );
            }
        }
    }
}
