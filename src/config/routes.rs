//! Route answers (issue 21 item 3): where the relay is reached and how long a keyless
//! answer may be reused.

use std::time::Duration;

use super::ConfigError;

/// `SWITCHBOARD_RELAY_URL` and `SWITCHBOARD_ROUTE_TTL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteAnswers {
    /// `SWITCHBOARD_RELAY_URL`: the base URL services reach the relay at (e.g. its own
    /// listener's); `None`: the public URL. Never the request's `Host`.
    pub relay_url: Option<url::Url>,
    /// `SWITCHBOARD_ROUTE_TTL` (default `30s`, 0–3600 s): `Cache-Control: private,
    /// max-age=…` of a keyless route answer.
    pub ttl: Duration,
}

/// The default reuse time of a keyless route answer.
pub const DEFAULT_ROUTE_TTL: Duration = Duration::from_secs(30);

impl Default for RouteAnswers {
    fn default() -> Self {
        Self {
            relay_url: None,
            ttl: DEFAULT_ROUTE_TTL,
        }
    }
}

impl RouteAnswers {
    /// Reads both variables through `get` (which already drops blank values).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let relay_url = match get("SWITCHBOARD_RELAY_URL") {
            Some(v) => {
                let url = url::Url::parse(v.trim()).map_err(|e| {
                    ConfigError::new("SWITCHBOARD_RELAY_URL", format!("not a URL ({e})"))
                })?;
                if !matches!(url.scheme(), "http" | "https")
                    || url.host_str().is_none()
                    || url.query().is_some()
                    || url.fragment().is_some()
                {
                    return Err(ConfigError::new(
                        "SWITCHBOARD_RELAY_URL",
                        "must be an http or https URL with a host and no query or fragment",
                    ));
                }
                Some(url)
            }
            None => None,
        };
        let ttl = match get("SWITCHBOARD_ROUTE_TTL") {
            Some(v) => {
                let v = v.trim();
                let seconds: u64 = v.strip_suffix('s').unwrap_or(v).parse().map_err(|_| {
                    ConfigError::new(
                        "SWITCHBOARD_ROUTE_TTL",
                        format!("'{v}' is not a number of seconds like 30s"),
                    )
                })?;
                if seconds > 3600 {
                    return Err(ConfigError::new(
                        "SWITCHBOARD_ROUTE_TTL",
                        format!("'{v}' must be between 0s and 3600s"),
                    ));
                }
                Duration::from_secs(seconds)
            }
            None => DEFAULT_ROUTE_TTL,
        };
        Ok(Self { relay_url, ttl })
    }

    /// The base the relay's paths hang off: `SWITCHBOARD_RELAY_URL`, else `public_url`
    /// (without a trailing slash); `None` when neither is set.
    pub fn relay_base(&self, public_url: Option<&url::Url>) -> Option<String> {
        self.relay_url
            .as_ref()
            .or(public_url)
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<RouteAnswers, ConfigError> {
        RouteAnswers::from_lookup(crate::config::lookup(pairs))
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(with(&[]).unwrap(), RouteAnswers::default());
        let r = with(&[
            ("SWITCHBOARD_RELAY_URL", "https://relay.internal:8443/"),
            ("SWITCHBOARD_ROUTE_TTL", "0"),
        ])
        .unwrap();
        assert_eq!(r.ttl, Duration::ZERO);
        let public = url::Url::parse("https://sb.example/").unwrap();
        assert_eq!(
            r.relay_base(Some(&public)).as_deref(),
            Some("https://relay.internal:8443")
        );
        assert_eq!(
            with(&[]).unwrap().relay_base(Some(&public)).as_deref(),
            Some("https://sb.example")
        );
        assert_eq!(with(&[]).unwrap().relay_base(None), None);
        assert_eq!(
            with(&[("SWITCHBOARD_ROUTE_TTL", "45s")]).unwrap().ttl,
            Duration::from_secs(45)
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("SWITCHBOARD_RELAY_URL", "ftp://x"),
            ("SWITCHBOARD_RELAY_URL", "https://x/?a=1"),
            ("SWITCHBOARD_RELAY_URL", "relay"),
            ("SWITCHBOARD_ROUTE_TTL", "-1"),
            ("SWITCHBOARD_ROUTE_TTL", "3601"),
            ("SWITCHBOARD_ROUTE_TTL", "1m"),
        ] {
            let err = with(&[(var, value)]).unwrap_err();
            assert!(err.to_string().starts_with(var), "{value}: {err}");
        }
    }
}
