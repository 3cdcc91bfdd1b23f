//! The health loop's storage (issue 21 item 4): the in-memory usage buffer each instance
//! keeps ([`UsageBuffer`], in `AppState`), the per-minute counters table it is flushed to
//! (`provider_usage`, one upsert per flush), and the providers' "needs attention" state
//! with the lease that lets one instance re-check a failing provider once per minute.
//! Codes and numbers only: never a body, a header or a key.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Text, Timestamptz};
use diesel_async::AsyncPgConnection;

use crate::db::{prelude::*, schema::providers};

/// The window the Provider tab sums: the last 24 hours.
pub const WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// The buffer holds at most this many keys; past it, new keys are dropped (and counted) so
/// a database outage can't grow memory without bound.
pub const MAX_KEYS: usize = 50_000;

/// Whether a call went well, failed on the caller's side, or failed on the provider's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeClass {
    Ok,
    /// Refused for the request's sake (a 4xx, an unknown model, throttling): the provider
    /// works.
    ClientError,
    /// The provider broke (`auth_rejected`, `unreachable`, `timeout`, `tls`,
    /// `quota_exhausted`, a 5xx): an immediate re-check follows.
    ProviderError,
}

impl OutcomeClass {
    /// The stored spelling (also the metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeClass::Ok => "ok",
            OutcomeClass::ClientError => "client_error",
            OutcomeClass::ProviderError => "provider_error",
        }
    }
}

/// What one counters row is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsageKey {
    pub org_id: i64,
    pub provider_id: String,
    pub feature: &'static str,
    pub minute: DateTime<Utc>,
    pub outcome: OutcomeClass,
    /// The taxonomy code, `http_NNN`, or '' for a success.
    pub code: String,
}

/// What one counters row sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageSums {
    pub calls: i64,
    pub latency_ms_sum: i64,
    pub latency_ms_max: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub last_at: Option<DateTime<Utc>>,
}

impl UsageSums {
    fn add(&mut self, other: &UsageSums) {
        self.calls = self.calls.saturating_add(other.calls);
        self.latency_ms_sum = self.latency_ms_sum.saturating_add(other.latency_ms_sum);
        self.latency_ms_max = self.latency_ms_max.max(other.latency_ms_max);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.last_at = self.last_at.max(other.last_at);
    }
}

/// One instance's unflushed counters and the re-checks its failures asked for. Cheap to
/// call on the request path: a short mutex section, no I/O.
#[derive(Default)]
pub struct UsageBuffer {
    counters: Mutex<HashMap<UsageKey, UsageSums>>,
    /// Providers (org, id) whose calls failed on the provider's side since the last pass.
    rechecks: Mutex<Rechecks>,
    /// Woken when a re-check is wanted, so it runs now rather than at the next flush.
    wake: tokio::sync::Notify,
    dropped: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Rechecks {
    wanted: HashSet<(i64, String)>,
    /// The minute each provider was last asked for on this instance: the database lease
    /// decides across instances, this spares it a statement per failed call.
    asked: HashMap<String, DateTime<Utc>>,
}

impl std::fmt::Debug for UsageBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UsageBuffer")
    }
}

impl UsageBuffer {
    /// Adds one call (or a batch) to `key`'s sums.
    pub fn add(&self, key: UsageKey, sums: UsageSums) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let len = counters.len();
        match counters.get_mut(&key) {
            Some(s) => s.add(&sums),
            None if len < MAX_KEYS => {
                counters.insert(key, sums);
            }
            None => {
                self.dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Takes every unflushed sum, leaving the buffer empty.
    pub fn take(&self) -> HashMap<UsageKey, UsageSums> {
        std::mem::take(&mut *self.counters.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Puts back sums a failed flush took (merged with what arrived meanwhile).
    pub fn restore(&self, sums: HashMap<UsageKey, UsageSums>) {
        for (key, s) in sums {
            self.add(key, s);
        }
    }

    /// Calls dropped because the buffer was full (for the log).
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, std::sync::atomic::Ordering::Relaxed)
    }

    /// Asks for an immediate re-check of provider `id` of `org_id` in `minute`; once per
    /// provider per minute on this instance. Wakes the health job.
    pub fn want_recheck(&self, org_id: i64, id: &str, minute: DateTime<Utc>) {
        let mut r = self.rechecks.lock().unwrap_or_else(|e| e.into_inner());
        if r.asked.get(id).is_some_and(|m| *m >= minute) {
            return;
        }
        r.asked.insert(id.to_owned(), minute);
        r.wanted.insert((org_id, id.to_owned()));
        drop(r);
        self.wake.notify_one();
    }

    /// Takes the wanted re-checks (and forgets what was asked before `minute`).
    pub fn take_rechecks(&self, minute: DateTime<Utc>) -> Vec<(i64, String)> {
        let mut r = self.rechecks.lock().unwrap_or_else(|e| e.into_inner());
        r.asked.retain(|_, m| *m >= minute);
        r.wanted.drain().collect()
    }

    /// Waits until a re-check is wanted.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// Adds `rows` to the counters in one statement; rows of a provider that is gone (or not
/// the org's) are skipped. Returns the calls written per (provider kind, outcome class),
/// for the metrics.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    rows: &HashMap<UsageKey, UsageSums>,
) -> QueryResult<Vec<(String, String, i64)>> {
    #[derive(diesel::QueryableByName)]
    struct Written {
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Text)]
        outcome: String,
        #[diesel(sql_type = BigInt)]
        calls: i64,
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let n = rows.len();
    let (mut org, mut provider, mut feature, mut minute, mut outcome, mut code) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut calls, mut lat_sum, mut lat_max, mut input, mut output, mut last) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (k, s) in rows {
        org.push(k.org_id);
        provider.push(k.provider_id.clone());
        feature.push(k.feature.to_owned());
        minute.push(k.minute);
        outcome.push(k.outcome.as_str().to_owned());
        code.push(k.code.clone());
        calls.push(s.calls);
        lat_sum.push(s.latency_ms_sum);
        lat_max.push(s.latency_ms_max);
        input.push(s.input_tokens);
        output.push(s.output_tokens);
        last.push(s.last_at.unwrap_or(k.minute));
    }
    let written: Vec<Written> = diesel::sql_query(
        "WITH u AS ( \
           SELECT u.*, p.kind FROM unnest($1::int8[], $2::text[], $3::text[], $4::timestamptz[], \
               $5::text[], $6::text[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], \
               $11::int8[], $12::timestamptz[]) \
             AS u(org_id, provider_id, feature, minute, outcome, code, calls, latency_ms_sum, \
                  latency_ms_max, input_tokens, output_tokens, last_at) \
           JOIN providers p ON p.id = u.provider_id AND p.org_id = u.org_id), \
         ins AS ( \
           INSERT INTO provider_usage (org_id, provider_id, feature, minute, outcome, code, \
               calls, latency_ms_sum, latency_ms_max, input_tokens, output_tokens, last_at) \
           SELECT org_id, provider_id, feature, minute, outcome, code, calls, latency_ms_sum, \
               latency_ms_max, input_tokens, output_tokens, last_at FROM u \
           ON CONFLICT (org_id, provider_id, minute, feature, outcome, code) DO UPDATE SET \
             calls = provider_usage.calls + excluded.calls, \
             latency_ms_sum = provider_usage.latency_ms_sum + excluded.latency_ms_sum, \
             latency_ms_max = GREATEST(provider_usage.latency_ms_max, excluded.latency_ms_max), \
             input_tokens = provider_usage.input_tokens + excluded.input_tokens, \
             output_tokens = provider_usage.output_tokens + excluded.output_tokens, \
             last_at = GREATEST(provider_usage.last_at, excluded.last_at)) \
         SELECT kind, outcome, sum(calls)::int8 AS calls FROM u GROUP BY kind, outcome",
    )
    .bind::<Array<BigInt>, _>(org)
    .bind::<Array<Text>, _>(provider)
    .bind::<Array<Text>, _>(feature)
    .bind::<Array<Timestamptz>, _>(minute)
    .bind::<Array<Text>, _>(outcome)
    .bind::<Array<Text>, _>(code)
    .bind::<Array<BigInt>, _>(calls)
    .bind::<Array<BigInt>, _>(lat_sum)
    .bind::<Array<BigInt>, _>(lat_max)
    .bind::<Array<BigInt>, _>(input)
    .bind::<Array<BigInt>, _>(output)
    .bind::<Array<Timestamptz>, _>(last)
    .load(conn)
    .await?;
    Ok(written
        .into_iter()
        .map(|w| (w.kind, w.outcome, w.calls))
        .collect())
}

/// Deletes counters of minutes before `before` (retention).
pub async fn purge_before(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM provider_usage WHERE minute < $1")
        .bind::<Timestamptz, _>(before)
        .execute(conn)
        .await
}

/// Claims the immediate re-check of provider `id` for `minute`: `true` for exactly one
/// caller per provider and minute across instances (the row's update is the lease).
pub async fn claim_immediate(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    minute: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::sql_query(
        "UPDATE providers SET immediate_recheck_minute = $3 \
         WHERE org_id = $1 AND id = $2 \
           AND (immediate_recheck_minute IS NULL OR immediate_recheck_minute < $3)",
    )
    .bind::<BigInt, _>(org_id)
    .bind::<Text, _>(id)
    .bind::<Timestamptz, _>(minute)
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// Marks provider `id` as needing attention since `at`; its name when it did not before
/// (the caller audits the change), `None` when it already did (or is gone).
pub async fn mark_attention(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    at: DateTime<Utc>,
) -> QueryResult<Option<String>> {
    diesel::update(
        providers::table
            .filter(providers::org_id.eq(org_id))
            .filter(providers::id.eq(id))
            .filter(providers::attention_since.is_null()),
    )
    .set(providers::attention_since.eq(Some(at)))
    .returning(providers::name)
    .get_result(conn)
    .await
    .optional()
}

/// Clears provider `id`'s "needs attention"; its name when it was set (the caller audits
/// the change), `None` when it was not.
pub async fn clear_attention(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<Option<String>> {
    diesel::update(
        providers::table
            .filter(providers::org_id.eq(org_id))
            .filter(providers::id.eq(id))
            .filter(providers::attention_since.is_not_null()),
    )
    .set(providers::attention_since.eq(None::<DateTime<Utc>>))
    .returning(providers::name)
    .get_result(conn)
    .await
    .optional()
}

/// How many providers (all orgs) need attention now: the metrics gauge.
pub async fn count_attention(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    providers::table
        .filter(providers::attention_since.is_not_null())
        .count()
        .get_result(conn)
        .await
}

/// Whether provider `id` belongs to org `org_id`.
pub async fn exists(conn: &mut AsyncPgConnection, org_id: i64, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        providers::table
            .filter(providers::org_id.eq(org_id))
            .filter(providers::id.eq(id)),
    ))
    .get_result(conn)
    .await
}

#[diesel::declare_sql_function]
extern "SQL" {
    /// Each of the org's providers' calls since `since`, as a JSON object by provider id
    /// (the SQL function of migration `2026-12-06-000001_list_functions`): the Provider
    /// tab's one list query asks for it once and takes each provider's entry.
    fn org_usage_json(
        org_id: diesel::sql_types::BigInt,
        since: diesel::sql_types::Timestamptz,
    ) -> diesel::sql_types::Jsonb;
}

/// A provider's last 24 hours, as [`org_usage_json`] reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage24h {
    pub calls: i64,
    pub errors: i64,
    pub last_error_code: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}
