//! Login throttling per account and per client address, kept in PostgreSQL
//! (`login_throttles`) so that every Switchboard instance on one database shares one limit.
//!
//! An attempt is *reserved* before any hashing, by one statement that counts it against both
//! keys atomically: the attempts of the window that failed plus those still being checked
//! (in flight) may not pass the key's limit. So twenty parallel guesses for one account get at
//! most [`ACCOUNT_LIMIT`] tries, whatever the timing. Once the password was checked the
//! reservation is settled, again with one statement: a failure is counted against both keys,
//! a success clears the account's failures (the address keeps its count, so one known account
//! cannot be used to reset an address). A reservation dropped unsettled (a cancelled request)
//! is settled as a failure in the background.
//!
//! What an attacker can make it store is bounded: keys are cut to [`MAX_KEY_BYTES`], IPv6
//! addresses count per /64 (one host usually owns a whole /64), a refused attempt adds nothing
//! to a row, and rows whose window ended are purged with the expired sessions
//! ([`purge_expired`]).

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Integer, Text, Timestamptz},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};

use crate::{
    clock::Clock,
    db::{Pool, prelude::QueryResult},
};

/// Attempts (failed or in flight) allowed per account within [`WINDOW`].
pub const ACCOUNT_LIMIT: i32 = 5;
/// Attempts (failed or in flight) allowed per client address within [`WINDOW`].
pub const IP_LIMIT: i32 = 30;
/// How long failures are remembered: the window starts with its first attempt.
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);
/// The longest key stored (the table refuses longer ones).
pub const MAX_KEY_BYTES: usize = 300;

/// The throttle key of an account: what was typed as the email, trimmed and lower-cased
/// (the normalised email when it is one), cut to [`MAX_KEY_BYTES`].
pub fn account_key(email: &str) -> String {
    cut(format!("acct:{}", email.trim().to_lowercase()))
}

/// The throttle key of a client address: the IPv4 address, or the /64 network of an IPv6
/// address (IPv4-mapped IPv6 counts as its IPv4 address); `ip:unknown` without one.
pub fn ip_key(ip: Option<&str>) -> String {
    let Some(ip) = ip.and_then(|s| s.trim().parse::<IpAddr>().ok()) else {
        return "ip:unknown".to_owned();
    };
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let net = ipnet::Ipv6Net::new(v6, 64)
                .expect("64 is a valid IPv6 prefix length")
                .trunc();
            format!("ip:{net}")
        }
    }
}

/// `key` cut to at most [`MAX_KEY_BYTES`] bytes on a character boundary.
fn cut(mut key: String) -> String {
    if key.len() > MAX_KEY_BYTES {
        let mut end = MAX_KEY_BYTES;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    key
}

/// An attempt refused before any hashing: what to tell the user and when to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    /// Seconds until an attempt may succeed (the `Retry-After` header).
    pub retry_after_secs: u64,
}

impl Refusal {
    fn after(wait: TimeDelta) -> Self {
        let secs = wait.num_seconds().max(1);
        let message = if secs >= 60 {
            let minutes = wait.num_minutes() + 1;
            format!("Too many failed attempts. Try again in {minutes} minutes.")
        } else {
            "Too many attempts at once. Try again in a few seconds.".to_owned()
        };
        Self {
            message,
            retry_after_secs: secs.unsigned_abs(),
        }
    }
}

/// The two keys an attempt counts against, account first (every statement locks rows in
/// this order — `acct:` sorts before `ip:` — so two attempts never deadlock).
#[derive(Debug, Clone)]
pub struct Keys {
    pub account: String,
    pub ip: String,
}

impl Keys {
    /// The keys of an attempt on `email` from `ip`.
    pub fn new(email: &str, ip: Option<&str>) -> Self {
        Self {
            account: account_key(email),
            ip: ip_key(ip),
        }
    }
}

/// Reserves and settles attempts in `login_throttles`.
pub struct LoginThrottle {
    pool: Pool,
    clock: Clock,
}

#[derive(QueryableByName)]
struct Granted {
    #[diesel(sql_type = Text)]
    key: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Timestamptz)]
    window_started_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    failures: i32,
    #[diesel(sql_type = Integer)]
    attempt_limit: i32,
}

/// One statement reserves an attempt on both keys. A new key, or one whose window ended,
/// starts a window with this attempt in flight; a current window takes it only while
/// `failures + in_flight` is under the limit. Rows whose `WHERE` fails are neither changed
/// nor returned: the keys missing from the answer refused the attempt.
const RESERVE: &str = "\
INSERT INTO login_throttles AS t (key, window_started_at, failures, in_flight, attempt_limit) \
VALUES ($1, $3, 0, 1, $4), ($2, $3, 0, 1, $5) \
ON CONFLICT (key) DO UPDATE SET \
    window_started_at = CASE WHEN t.window_started_at <= $6 THEN EXCLUDED.window_started_at \
                             ELSE t.window_started_at END, \
    failures = CASE WHEN t.window_started_at <= $6 THEN 0 ELSE t.failures END, \
    in_flight = CASE WHEN t.window_started_at <= $6 THEN 1 ELSE t.in_flight + 1 END, \
    attempt_limit = EXCLUDED.attempt_limit \
WHERE t.window_started_at <= $6 OR t.failures + t.in_flight < EXCLUDED.attempt_limit \
RETURNING t.key";

/// One statement settles a reservation on both keys (locked in key order): the attempt is no
/// longer in flight; a failure counts against both keys, a success (`$3` false) clears the
/// account's failures.
const SETTLE: &str = "\
WITH locked AS ( \
    SELECT key FROM login_throttles WHERE key IN ($1, $2) ORDER BY key FOR UPDATE \
) \
UPDATE login_throttles AS t SET \
    in_flight = GREATEST(t.in_flight - 1, 0), \
    failures = CASE WHEN $3 THEN t.failures + 1 WHEN t.key = $1 THEN 0 ELSE t.failures END \
FROM locked WHERE t.key = locked.key";

/// Gives back the reservation a key granted when the other key refused the attempt.
const RELEASE: &str = "\
UPDATE login_throttles SET in_flight = GREATEST(in_flight - 1, 0) WHERE key = $1";

/// The refusing keys' windows, to say how long to wait.
const WINDOWS: &str = "\
SELECT window_started_at, failures, attempt_limit FROM login_throttles WHERE key IN ($1, $2)";

impl LoginThrottle {
    pub fn new(pool: Pool, clock: Clock) -> Self {
        Self { pool, clock }
    }

    /// Reserves an attempt on both keys before any hashing, or says why not. One statement
    /// when the attempt is allowed (the common case); a refusal costs one or two more.
    pub async fn reserve(
        &self,
        conn: &mut AsyncPgConnection,
        keys: Keys,
    ) -> QueryResult<Result<Reservation, Refusal>> {
        let now = self.clock.now();
        let granted: Vec<Granted> = diesel::sql_query(RESERVE)
            .bind::<Text, _>(&keys.account)
            .bind::<Text, _>(&keys.ip)
            .bind::<Timestamptz, _>(now)
            .bind::<Integer, _>(ACCOUNT_LIMIT)
            .bind::<Integer, _>(IP_LIMIT)
            .bind::<Timestamptz, _>(now - WINDOW)
            .load(conn)
            .await?;
        let has = |key: &str| granted.iter().any(|g| g.key == key);
        let (account_ok, ip_ok) = (has(&keys.account), has(&keys.ip));
        if account_ok && ip_ok {
            return Ok(Ok(Reservation {
                keys,
                pool: self.pool.clone(),
                settled: false,
            }));
        }
        // Refused: give back what the other key granted, then find the longest wait.
        for (ok, key) in [(account_ok, &keys.account), (ip_ok, &keys.ip)] {
            if ok {
                diesel::sql_query(RELEASE)
                    .bind::<Text, _>(key)
                    .execute(conn)
                    .await?;
            }
        }
        let refusing = |ok: bool, key: &String| if ok { String::new() } else { key.clone() };
        let rows: Vec<Row> = diesel::sql_query(WINDOWS)
            .bind::<Text, _>(refusing(account_ok, &keys.account))
            .bind::<Text, _>(refusing(ip_ok, &keys.ip))
            .load(conn)
            .await?;
        let wait = rows
            .iter()
            .map(|row| {
                if row.failures >= row.attempt_limit {
                    row.window_started_at + WINDOW - now
                } else {
                    // Held back by attempts in flight: they settle within a second or so.
                    TimeDelta::seconds(1)
                }
            })
            .max()
            .unwrap_or(TimeDelta::seconds(1));
        Ok(Err(Refusal::after(wait)))
    }
}

/// A reserved attempt; settle it with [`Reservation::succeeded`] or [`Reservation::failed`].
pub struct Reservation {
    keys: Keys,
    pool: Pool,
    settled: bool,
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation")
            .field("settled", &self.settled)
            .finish_non_exhaustive()
    }
}

async fn settle(conn: &mut AsyncPgConnection, keys: &Keys, failed: bool) -> QueryResult<()> {
    diesel::sql_query(SETTLE)
        .bind::<Text, _>(&keys.account)
        .bind::<Text, _>(&keys.ip)
        .bind::<diesel::sql_types::Bool, _>(failed)
        .execute(conn)
        .await
        .map(drop)
}

impl Reservation {
    /// The password was right: the account's failures are forgotten.
    pub async fn succeeded(mut self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        settle(conn, &self.keys, false).await?;
        self.settled = true;
        Ok(())
    }

    /// The attempt failed: it counts against the account and the address.
    pub async fn failed(mut self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        settle(conn, &self.keys, true).await?;
        self.settled = true;
        Ok(())
    }
}

impl Drop for Reservation {
    /// A request cancelled (or failing) between reservation and settlement still used an
    /// attempt: it is settled as a failure in the background, so no slot stays in flight.
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (pool, keys) = (self.pool.clone(), self.keys.clone());
        runtime.spawn(async move {
            match pool.get().await {
                Ok(mut conn) => {
                    if let Err(e) = settle(&mut conn, &keys, true).await {
                        tracing::warn!(error = %e, "settling an abandoned login attempt failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "settling an abandoned login attempt failed"),
            }
        });
    }
}

/// Deletes the throttle rows whose window ended (run with the expired-session purge);
/// returns how many. Rows an attempt holds at that moment are skipped, not waited for, so the
/// purge never deadlocks with a login (the next purge takes them).
pub async fn purge_expired(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM login_throttles WHERE key IN ( \
             SELECT key FROM login_throttles WHERE window_started_at <= $1 \
             ORDER BY key FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(now - WINDOW)
    .execute(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_per_64() {
        assert_eq!(
            ip_key(Some("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            "ip:2001:db8:1:2::/64"
        );
        assert_eq!(
            ip_key(Some("2001:db8:1:2::1")),
            ip_key(Some("2001:db8:1:2:ffff::9")),
            "one /64, one counter"
        );
        assert_ne!(
            ip_key(Some("2001:db8:1:2::1")),
            ip_key(Some("2001:db8:1:3::1"))
        );
        assert_eq!(ip_key(Some("::1")), "ip:::/64");
    }

    #[test]
    fn ipv4_counts_per_address_in_any_spelling() {
        assert_eq!(ip_key(Some("127.0.0.9")), "ip:127.0.0.9");
        assert_eq!(ip_key(Some("::ffff:127.0.0.9")), "ip:127.0.0.9");
        assert_ne!(ip_key(Some("127.0.0.9")), ip_key(Some("127.0.0.10")));
        assert_eq!(ip_key(None), "ip:unknown");
        assert_eq!(ip_key(Some("not an address")), "ip:unknown");
    }

    #[test]
    fn keys_are_capped_in_length() {
        let long = format!("{}@example.com", "a".repeat(10_000));
        let key = account_key(&long);
        assert_eq!(key.len(), MAX_KEY_BYTES);
        assert!(key.starts_with("acct:aaaa"));
        // Cut on a character boundary: multi-byte characters never split.
        let wide = "é".repeat(1_000);
        let key = account_key(&wide);
        assert!(key.len() <= MAX_KEY_BYTES && key.len() >= MAX_KEY_BYTES - 1);
        assert!(key.ends_with('é'));
        assert!(ip_key(Some(&"1".repeat(5_000))).len() <= MAX_KEY_BYTES);
    }

    #[test]
    fn account_keys_ignore_case_and_surrounding_space() {
        assert_eq!(account_key("  Ada@Acme.Test "), "acct:ada@acme.test");
    }

    #[test]
    fn refusals_say_how_long_to_wait() {
        let r = Refusal::after(TimeDelta::minutes(14) + TimeDelta::seconds(30));
        assert_eq!(r.retry_after_secs, 14 * 60 + 30);
        assert_eq!(
            r.message,
            "Too many failed attempts. Try again in 15 minutes."
        );
        let r = Refusal::after(TimeDelta::seconds(1));
        assert_eq!(r.retry_after_secs, 1);
        assert!(r.message.contains("at once"));
        assert_eq!(Refusal::after(TimeDelta::seconds(-5)).retry_after_secs, 1);
    }
}
