//! Prometheus metrics (issue 23), a library: one [`Metrics`] handle per serving instance,
//! built by `AppState` and cloned into the request middleware, the live checker and the
//! operations that count. Every family carries HELP and TYPE; labels are bounded sets
//! (route patterns, status classes, provider kinds, failure codes) — never an org, a user
//! or a raw path. Per-org detail stays in the database.
//!
//! The exposition is OpenMetrics text (`prometheus-client`), which Prometheus scrapes as is.

use std::sync::{
    Arc,
    atomic::{AtomicI64, AtomicU64, Ordering},
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
        info::Info,
    },
    registry::Registry,
};

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request that matched no route (404s of unknown paths): one value,
/// so a scan of random paths cannot grow the label set.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    kind: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderCallLabels {
    kind: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// No labels: a family of these holds one sample once set, none before.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NoLabels {}

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s in 15 doublings: pages (ms), logins (argon2, ~100 ms), live checks (s).
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    rate_limited: Family<RouteLabels, Counter>,
    checks: Family<CheckLabels, Counter>,
    logins: Family<OutcomeLabels, Counter>,
    rechecks: Family<OutcomeLabels, Counter>,
    provider_calls: Family<ProviderCallLabels, Counter>,
    immediate_rechecks: Family<ResultLabels, Counter>,
    needing_attention: Gauge,
    pool: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    audit_age: Family<NoLabels, Gauge<f64, AtomicU64>>,
    /// Unix seconds of the last successful audit verification; `i64::MIN` before any.
    audit_verified_at: AtomicI64,
}

/// The metrics of one instance; cheap to clone (one shared registry).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every family registered (and the process-wide SQL counter).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "switchboard_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route pattern and status class",
            requests.clone(),
        );
        let rate_limited = Family::<RouteLabels, Counter>::default();
        registry.register(
            "switchboard_http_rate_limited",
            "Requests answered 429 (rate limit or login throttle), by route pattern",
            rate_limited.clone(),
        );
        let checks = Family::<CheckLabels, Counter>::default();
        registry.register(
            "switchboard_live_checks",
            "Live provider checks by provider kind and outcome code (ok, or the failure code)",
            checks.clone(),
        );
        let logins = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "switchboard_logins",
            "Login attempts by outcome: succeeded, failed, throttled",
            logins.clone(),
        );
        let rechecks = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "switchboard_rechecks",
            "Scheduled provider re-checks by result: passed, failed, skipped, alerted",
            rechecks.clone(),
        );
        let provider_calls = Family::<ProviderCallLabels, Counter>::default();
        registry.register(
            "switchboard_provider_calls",
            "Calls to orgs' providers (relayed or reported), counted when flushed, by provider kind and outcome class: ok, client_error, provider_error",
            provider_calls.clone(),
        );
        let immediate_rechecks = Family::<ResultLabels, Counter>::default();
        registry.register(
            "switchboard_immediate_rechecks",
            "Immediate provider re-checks after failed calls, by result: passed, failed, flagged (started needing attention), cleared, skipped (another instance had it)",
            immediate_rechecks.clone(),
        );
        let needing_attention = Gauge::default();
        registry.register(
            "switchboard_providers_needing_attention",
            "Providers (all orgs) whose calls failed and whose re-check failed too",
            needing_attention.clone(),
        );
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "switchboard_db_pool_connections",
            "Pooled database connections by state: idle, in_use",
            pool.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "switchboard_db_pool_max_connections",
            "The size limit of the database pool",
            pool_max.clone(),
        );
        let audit_age = Family::<NoLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "switchboard_audit_verification_age_seconds",
            "Seconds since the audit trail was last verified (no sample until a verification ran)",
            audit_age.clone(),
        );
        registry.register(
            "switchboard_sql_statements",
            "SQL statements sent to PostgreSQL by this process",
            counters::sql_statements().clone(),
        );
        registry.register(
            "switchboard_build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        Self(Arc::new(Inner {
            registry,
            requests,
            rate_limited,
            checks,
            logins,
            rechecks,
            provider_calls,
            immediate_rechecks,
            needing_attention,
            pool,
            pool_max,
            audit_age,
            audit_verified_at: AtomicI64::new(i64::MIN),
        }))
    }

    /// Counts one answered request. `route` is the matched pattern (`/orgs/{org}/…`), or
    /// `None` for a path no route matched; methods outside the standard set count as `OTHER`.
    pub fn request(&self, method: &str, route: Option<&str>, status: u16, seconds: f64) {
        let route = route.unwrap_or(UNMATCHED).to_owned();
        let method = match method {
            "GET" => "GET",
            "HEAD" => "HEAD",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            "OPTIONS" => "OPTIONS",
            _ => "OTHER",
        };
        let status_class = match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        };
        if status == 429 {
            self.0
                .rate_limited
                .get_or_create(&RouteLabels {
                    route: route.clone(),
                })
                .inc();
        }
        self.0
            .requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status: status_class,
            })
            .observe(seconds);
    }

    /// Counts one live check of a provider `kind`: `code` is `ok` or the failure code.
    pub fn live_check(&self, kind: &'static str, code: &'static str) {
        self.0
            .checks
            .get_or_create(&CheckLabels { kind, code })
            .inc();
    }

    /// Counts one login attempt: `succeeded`, `failed` or `throttled`.
    pub fn login(&self, outcome: &'static str) {
        self.0
            .logins
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts scheduled re-check results: `passed`, `failed`, `skipped` or `alerted`.
    pub fn rechecks(&self, outcome: &'static str, n: usize) {
        self.0
            .rechecks
            .get_or_create(&OutcomeLabels { outcome })
            .inc_by(n as u64);
    }

    /// Counts `calls` calls to providers of `kind` with outcome class `outcome` (`ok`,
    /// `client_error`, `provider_error`; anything else counts as `provider_error`).
    pub fn provider_calls(&self, kind: &str, outcome: &str, calls: i64) {
        let outcome = match outcome {
            "ok" => "ok",
            "client_error" => "client_error",
            _ => "provider_error",
        };
        self.0
            .provider_calls
            .get_or_create(&ProviderCallLabels {
                kind: kind.to_owned(),
                outcome,
            })
            .inc_by(u64::try_from(calls).unwrap_or(0));
    }

    /// Counts immediate re-check results: `passed`, `failed`, `flagged`, `cleared`,
    /// `skipped`.
    pub fn immediate_rechecks(&self, result: &'static str, n: usize) {
        self.0
            .immediate_rechecks
            .get_or_create(&ResultLabels { result })
            .inc_by(n as u64);
    }

    /// Sets how many providers need attention now (all orgs).
    pub fn set_providers_needing_attention(&self, n: i64) {
        self.0.needing_attention.set(n);
    }

    /// The hook for the audit verification job: call it with the time (Unix seconds) a
    /// verification of the audit trail last succeeded; the scrape then reports its age.
    pub fn set_audit_verified_at(&self, unix_seconds: i64) {
        self.0
            .audit_verified_at
            .store(unix_seconds, Ordering::Relaxed);
    }

    /// The exposition at `now` (Unix seconds, for the audit age) with the pool's current
    /// state: `size` open connections of which `idle` are free, at most `max`.
    pub fn render(&self, now: i64, size: usize, idle: usize, max: usize) -> String {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let inner = &self.0;
        inner
            .pool
            .get_or_create(&StateLabels { state: "idle" })
            .set(gauge(idle));
        inner
            .pool
            .get_or_create(&StateLabels { state: "in_use" })
            .set(gauge(size.saturating_sub(idle)));
        inner.pool_max.set(gauge(max));
        let verified = inner.audit_verified_at.load(Ordering::Relaxed);
        if verified != i64::MIN {
            inner
                .audit_age
                .get_or_create(&NoLabels {})
                .set(now.saturating_sub(verified).max(0) as f64);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &inner.registry);
        out
    }
}

/// Process-wide counters exported at `/metrics` (through [`Metrics`]).
pub mod counters {
    use std::sync::LazyLock;

    use prometheus_client::metrics::counter::Counter;

    /// SQL statements started, across every connection of the process. A process-wide
    /// static because diesel's default instrumentation is a plain function; every
    /// instance's registry exports this same counter.
    static SQL_STATEMENTS: LazyLock<Counter> = LazyLock::new(Counter::default);

    /// The process-wide SQL statement counter.
    pub fn sql_statements() -> &'static Counter {
        &SQL_STATEMENTS
    }

    /// Makes every new database connection count its statements.
    pub fn install_sql_counter() {
        fn counter() -> Option<Box<dyn diesel::connection::Instrumentation>> {
            Some(Box::new(
                |event: diesel::connection::InstrumentationEvent<'_>| {
                    if matches!(
                        event,
                        diesel::connection::InstrumentationEvent::StartQuery { .. }
                    ) {
                        SQL_STATEMENTS.inc();
                    }
                },
            ))
        }
        let _ = diesel::connection::set_default_instrumentation(counter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_carry_help_and_type_and_bounded_labels() {
        let m = Metrics::new();
        m.request("GET", Some("/orgs/{org}/settings"), 200, 0.003);
        m.request("BREW", None, 429, 0.001);
        let text = m.render(100, 3, 1, 16);
        assert!(text.contains("# TYPE switchboard_http_request_duration_seconds histogram"));
        assert!(text.contains("route=\"/orgs/{org}/settings\""), "{text}");
        assert!(text.contains("method=\"OTHER\",route=\"unmatched\",status=\"4xx\""));
        assert!(text.contains("switchboard_http_rate_limited_total{route=\"unmatched\"} 1"));
        assert!(text.contains("switchboard_db_pool_connections{state=\"in_use\"} 2"));
        assert!(!text.contains("switchboard_audit_verification_age_seconds "));
        m.set_audit_verified_at(40);
        let text = m.render(100, 3, 1, 16);
        assert!(
            text.contains("switchboard_audit_verification_age_seconds{} 60"),
            "{text}"
        );
    }
}
