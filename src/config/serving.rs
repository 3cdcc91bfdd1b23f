//! Serving knobs of issue 23: how long a request body may take to arrive, and where
//! `/metrics` is served.

use std::{net::SocketAddr, time::Duration};

use super::ConfigError;

/// `SWITCHBOARD_BODY_TIMEOUT` and `SWITCHBOARD_METRICS_BIND`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Serving {
    /// `SWITCHBOARD_BODY_TIMEOUT` (default `10s`, 1–300 s): a request whose body has not
    /// fully arrived this long after its headers is answered `408` and its connection closed.
    pub body_timeout: Duration,
    /// `SWITCHBOARD_METRICS_BIND`: serve `/metrics` on this address only (not on
    /// `SWITCHBOARD_BIND`), e.g. a private interface the scraper reaches.
    pub metrics_bind: Option<SocketAddr>,
}

impl Default for Serving {
    fn default() -> Self {
        Self {
            body_timeout: DEFAULT_BODY_TIMEOUT,
            metrics_bind: None,
        }
    }
}

/// The default body read timeout: far beyond any form or JSON body on a slow link, far
/// below the 30 s a slow sender could hold a worker's connection before.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

impl Serving {
    /// Reads both variables through `get` (which already drops blank values).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let body_timeout = match get("SWITCHBOARD_BODY_TIMEOUT") {
            Some(v) => {
                let v = v.trim();
                let seconds: u64 = v.strip_suffix('s').unwrap_or(v).parse().map_err(|_| {
                    ConfigError::new(
                        "SWITCHBOARD_BODY_TIMEOUT",
                        format!("'{v}' is not a number of seconds like 10s"),
                    )
                })?;
                if !(1..=300).contains(&seconds) {
                    return Err(ConfigError::new(
                        "SWITCHBOARD_BODY_TIMEOUT",
                        format!("'{v}' must be between 1s and 300s"),
                    ));
                }
                Duration::from_secs(seconds)
            }
            None => DEFAULT_BODY_TIMEOUT,
        };
        let metrics_bind = match get("SWITCHBOARD_METRICS_BIND") {
            Some(v) => Some(v.trim().parse().map_err(|_| {
                ConfigError::new(
                    "SWITCHBOARD_METRICS_BIND",
                    format!("'{v}' is not an address like 127.0.0.1:9090"),
                )
            })?),
            None => None,
        };
        Ok(Self {
            body_timeout,
            metrics_bind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Serving, ConfigError> {
        Serving::from_lookup(crate::config::lookup(pairs))
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(with(&[]).unwrap(), Serving::default());
        let s = with(&[
            ("SWITCHBOARD_BODY_TIMEOUT", "3s"),
            ("SWITCHBOARD_METRICS_BIND", "127.0.0.1:9090"),
        ])
        .unwrap();
        assert_eq!(s.body_timeout, Duration::from_secs(3));
        assert_eq!(s.metrics_bind, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(
            with(&[("SWITCHBOARD_BODY_TIMEOUT", "20")])
                .unwrap()
                .body_timeout,
            Duration::from_secs(20)
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, bad) in [
            ("SWITCHBOARD_BODY_TIMEOUT", "0"),
            ("SWITCHBOARD_BODY_TIMEOUT", "1h"),
            ("SWITCHBOARD_BODY_TIMEOUT", "301"),
            ("SWITCHBOARD_METRICS_BIND", "localhost"),
        ] {
            assert_eq!(with(&[(var, bad)]).unwrap_err().var, var, "{bad}");
        }
    }
}
