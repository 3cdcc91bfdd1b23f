//! The relay's knobs (issue 21 item 1, DESIGN.md "Platform services"): its own listener,
//! the body cap, the budget of request bytes in flight, the concurrency per token and the
//! upstream timeouts.

use std::{net::SocketAddr, time::Duration};

use super::ConfigError;

/// `SWITCHBOARD_RELAY_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelaySettings {
    /// `SWITCHBOARD_RELAY_BIND`: serve the relay (only) on this address too, e.g. an
    /// interface only the platform's services reach.
    pub bind: Option<SocketAddr>,
    /// `SWITCHBOARD_RELAY_MAX_BODY` (MiB, default 20): the largest request body relayed.
    pub max_body: usize,
    /// `SWITCHBOARD_RELAY_BUDGET` (MiB, default 256): request bytes held in flight by every
    /// relayed call together; beyond it a call is refused (503) rather than buffered.
    pub budget: usize,
    /// `SWITCHBOARD_RELAY_TOKEN_CONCURRENCY` (default 256): calls one token may have open
    /// at once; beyond it 429 with `Retry-After`.
    pub per_token: u32,
    /// `SWITCHBOARD_RELAY_TIMEOUT` (seconds, default 120): the longest the upstream may stay
    /// silent (before its answer starts, or between two chunks of it) before the call ends
    /// (504 before the answer started).
    pub idle_timeout: Duration,
    /// `SWITCHBOARD_RELAY_CONNECT_TIMEOUT` (seconds, default 10): name resolution and
    /// connection set-up.
    pub connect_timeout: Duration,
}

const MIB: usize = 1024 * 1024;

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            bind: None,
            max_body: 20 * MIB,
            budget: 256 * MIB,
            per_token: 256,
            idle_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl RelaySettings {
    /// Reads the variables through `get` (which already drops blank values).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let number = |var: &'static str,
                      min: u64,
                      max: u64,
                      unit: &str|
         -> Result<Option<u64>, ConfigError> {
            let Some(v) = get(var) else { return Ok(None) };
            let v = v.trim().to_owned();
            let digits = v
                .strip_suffix('s')
                .filter(|_| unit == "seconds")
                .unwrap_or(&v);
            match digits.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(ConfigError::new(
                    var,
                    format!("'{v}' is not a whole number of {unit} from {min} to {max}"),
                )),
            }
        };
        let bind = match get("SWITCHBOARD_RELAY_BIND") {
            Some(v) => Some(v.trim().parse().map_err(|_| {
                ConfigError::new(
                    "SWITCHBOARD_RELAY_BIND",
                    format!("'{v}' is not an address like 127.0.0.1:8081"),
                )
            })?),
            None => None,
        };
        let mib = |n: u64| usize::try_from(n).unwrap_or(usize::MAX / MIB) * MIB;
        Ok(Self {
            bind,
            max_body: number("SWITCHBOARD_RELAY_MAX_BODY", 1, 1024, "MiB")?.map_or(d.max_body, mib),
            budget: number("SWITCHBOARD_RELAY_BUDGET", 1, 65_536, "MiB")?.map_or(d.budget, mib),
            per_token: number("SWITCHBOARD_RELAY_TOKEN_CONCURRENCY", 1, 1_000_000, "calls")?
                .map_or(d.per_token, |n| n as u32),
            idle_timeout: number("SWITCHBOARD_RELAY_TIMEOUT", 1, 3600, "seconds")?
                .map_or(d.idle_timeout, Duration::from_secs),
            connect_timeout: number("SWITCHBOARD_RELAY_CONNECT_TIMEOUT", 1, 300, "seconds")?
                .map_or(d.connect_timeout, Duration::from_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<RelaySettings, ConfigError> {
        RelaySettings::from_lookup(crate::config::lookup(pairs))
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(with(&[]).unwrap(), RelaySettings::default());
        let s = with(&[
            ("SWITCHBOARD_RELAY_BIND", "127.0.0.1:8081"),
            ("SWITCHBOARD_RELAY_MAX_BODY", "1"),
            ("SWITCHBOARD_RELAY_BUDGET", "2"),
            ("SWITCHBOARD_RELAY_TOKEN_CONCURRENCY", "3"),
            ("SWITCHBOARD_RELAY_TIMEOUT", "4s"),
            ("SWITCHBOARD_RELAY_CONNECT_TIMEOUT", "5"),
        ])
        .unwrap();
        assert_eq!(s.bind, Some("127.0.0.1:8081".parse().unwrap()));
        assert_eq!((s.max_body, s.budget, s.per_token), (MIB, 2 * MIB, 3));
        assert_eq!(s.idle_timeout, Duration::from_secs(4));
        assert_eq!(s.connect_timeout, Duration::from_secs(5));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, bad) in [
            ("SWITCHBOARD_RELAY_BIND", "localhost"),
            ("SWITCHBOARD_RELAY_MAX_BODY", "0"),
            ("SWITCHBOARD_RELAY_MAX_BODY", "20MiB"),
            ("SWITCHBOARD_RELAY_BUDGET", "-1"),
            ("SWITCHBOARD_RELAY_TOKEN_CONCURRENCY", "0"),
            ("SWITCHBOARD_RELAY_TIMEOUT", "1h"),
            ("SWITCHBOARD_RELAY_CONNECT_TIMEOUT", "0"),
        ] {
            assert_eq!(with(&[(var, bad)]).unwrap_err().var, var, "{bad}");
        }
    }
}
