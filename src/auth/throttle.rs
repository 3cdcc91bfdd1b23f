//! Login throttling per account and per client IP: after too many failures in a window,
//! further attempts are refused until the window has passed. In memory, per process.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;

/// Failures allowed per account within [`WINDOW`].
pub const ACCOUNT_LIMIT: u32 = 5;
/// Failures allowed per IP address within [`WINDOW`].
pub const IP_LIMIT: u32 = 30;
/// How long failures are remembered.
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: DateTime<Utc>,
    failures: u32,
}

/// Counts failed logins.
#[derive(Debug)]
pub struct LoginThrottle {
    clock: Clock,
    windows: Mutex<HashMap<String, Window>>,
}

impl LoginThrottle {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// If the account or the IP is over its limit, the message that says how long to wait.
    pub fn refusal(&self, email: &str, ip: &str) -> Option<String> {
        self.retry_after(email, ip).map(|wait| {
            let minutes = wait.num_minutes() + 1;
            format!("Too many failed attempts. Try again in {minutes} minutes.")
        })
    }

    /// If either the account or the IP is over its limit, how long until it may try again.
    pub fn retry_after(&self, email: &str, ip: &str) -> Option<TimeDelta> {
        let now = self.clock.now();
        let windows = self.windows.lock().expect("throttle lock poisoned");
        [
            (format!("acct:{email}"), ACCOUNT_LIMIT),
            (format!("ip:{ip}"), IP_LIMIT),
        ]
        .into_iter()
        .filter_map(|(key, limit)| {
            let w = windows.get(&key)?;
            let ends = w.started + WINDOW;
            (w.failures >= limit && ends > now).then(|| ends - now)
        })
        .max()
    }

    /// Records a failed attempt against both the account and the IP.
    pub fn record_failure(&self, email: &str, ip: &str) {
        let now = self.clock.now();
        let mut windows = self.windows.lock().expect("throttle lock poisoned");
        if windows.len() > MAX_ENTRIES {
            windows.retain(|_, w| w.started + WINDOW > now);
        }
        for key in [format!("acct:{email}"), format!("ip:{ip}")] {
            let w = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if w.started + WINDOW <= now {
                *w = Window {
                    started: now,
                    failures: 0,
                };
            }
            w.failures += 1;
        }
    }

    /// Forgets an account's failures after it logs in.
    pub fn record_success(&self, email: &str) {
        self.windows
            .lock()
            .expect("throttle lock poisoned")
            .remove(&format!("acct:{email}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_the_limit_and_forgets_after_the_window() {
        let clock = Clock::default();
        let t = LoginThrottle::new(clock.clone());
        for _ in 0..ACCOUNT_LIMIT {
            assert!(t.retry_after("a@x.io", "1.1.1.1").is_none());
            t.record_failure("a@x.io", "1.1.1.1");
        }
        assert!(
            t.retry_after("a@x.io", "2.2.2.2").is_some(),
            "account limit follows the account"
        );
        assert!(
            t.retry_after("b@x.io", "1.1.1.1").is_none(),
            "ip limit not reached yet"
        );
        clock.advance(std::time::Duration::from_secs(15 * 60 + 1));
        assert!(t.retry_after("a@x.io", "1.1.1.1").is_none());
    }
}
