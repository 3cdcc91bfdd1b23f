//! Configuration from the environment (DESIGN.md "Running"). Every variable is read and
//! validated once at start-up; a bad value stops start-up with one line naming it.

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;

pub mod compat;
pub mod relay;
pub mod routes;
pub mod serving;

mod error;
mod proxies;

pub use error::ConfigError;
pub use proxies::TrustedProxies;

use crate::providers::check::{CheckSettings, SettingsError};

/// Requests per second allowed when nothing is configured, per token and per IP: enough for
/// the platform's AI services to resolve a route per request (docs/PERFORMANCE.md).
pub const DEFAULT_PER_SECOND: u32 = 1000;

/// The configured rates (requests per second; 0 = no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub per_token: u32,
    pub per_ip: u32,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            per_token: DEFAULT_PER_SECOND,
            per_ip: DEFAULT_PER_SECOND,
        }
    }
}

/// Everything the server needs to start, already validated.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: use this database and start no embedded cluster.
    pub database_url: Option<SecretString>,
    /// `SWITCHBOARD_BIND` (default `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// `SWITCHBOARD_DATA_DIR` (default `./data`): embedded cluster and generated master key.
    pub data_dir: PathBuf,
    /// `SWITCHBOARD_MASTER_KEYS` (`id:base64key,...`); `None` means use `data_dir/master.key`.
    pub master_keys: Option<SecretString>,
    /// `SWITCHBOARD_SESSION_KEY`: base64 of at least 64 bytes signing the session cookie.
    /// Absent, a random key is made per process (sessions are server-side anyway).
    pub session_key: Option<Vec<u8>>,
    /// `SWITCHBOARD_PUBLIC_URL`: the URL users reach; https makes the cookie `__Host-` + Secure.
    pub public_url: Option<url::Url>,
    /// `SWITCHBOARD_PLATFORM_PROVIDER`: the platform default's `kind:model`, shown in the UI.
    pub platform_provider: String,
    /// `SWITCHBOARD_EGRESS_ALLOW` and `SWITCHBOARD_CHECK_TIMEOUT`: where live provider checks
    /// may connect and how long they may take.
    pub check: CheckSettings,
    /// `SWITCHBOARD_RECHECK_INTERVAL` (default `6h`, `0` = off): how old a provider's last
    /// live check may get before the scheduled re-check runs it again.
    pub recheck_interval: Option<std::time::Duration>,
    /// `SWITCHBOARD_TRUSTED_PROXIES`: the proxies whose `X-Forwarded-For` is believed
    /// (empty: the TCP peer is always the client).
    pub trusted_proxies: TrustedProxies,
    /// `SWITCHBOARD_API_TOKEN_RATE` and `SWITCHBOARD_API_IP_RATE` (requests per second, bursts
    /// of twice that; `0` = no limit): the limits of `/api/v1` and `/mcp`.
    pub api_rate: Rates,
    /// `SWITCHBOARD_AUDIT_SIGNING_KEY` (`id:base64`): signs the audit trail's checkpoints;
    /// absent, the trail is unsigned (DESIGN.md "Audit trail trust").
    pub audit_signer: Option<crate::crypto::signing::AuditSigner>,
    /// `SWITCHBOARD_AUDIT_CHECKPOINTS`: the directory this instance appends signed
    /// checkpoints to (JSON Lines), for shipping to write-once storage.
    pub audit_checkpoints: Option<PathBuf>,
    /// `SWITCHBOARD_AUDIT_VERIFY_INTERVAL` (default `1d`, `0` = off): how often the whole
    /// trail is verified and the result recorded for the Audit tab.
    pub audit_verify_interval: Option<std::time::Duration>,
    /// Body read timeout and the metrics address (issue 23).
    pub serving: serving::Serving,
    /// `SWITCHBOARD_COMPAT_APIS` (`on`/`off`, default `off`): serve the seed documents' own
    /// APIs (`/api/v1/ai-providers`, `/api/v1/llm-providers`; `src/api/compat`).
    pub compat_apis: bool,
    /// `SWITCHBOARD_RELAY_URL` and `SWITCHBOARD_ROUTE_TTL`: route answers (issue 21 item 3).
    pub route_answers: routes::RouteAnswers,
    /// The relay's listener, body cap, in-flight budget, per-token concurrency and
    /// timeouts (`SWITCHBOARD_RELAY_*`, issue 21 item 1).
    pub relay: relay::RelaySettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url.as_ref().map(|_| "[set]"))
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("master_keys", &self.master_keys.as_ref().map(|_| "[set]"))
            .field("session_key", &self.session_key.as_ref().map(|_| "[set]"))
            .field(
                "public_url",
                &self.public_url.as_ref().map(url::Url::as_str),
            )
            .field("platform_provider", &self.platform_provider)
            .field("check_timeout", &self.check.timeout)
            .field("recheck_interval", &self.recheck_interval)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("api_rate", &self.api_rate)
            .field("audit_signer", &self.audit_signer)
            .field("audit_checkpoints", &self.audit_checkpoints)
            .field("audit_verify_interval", &self.audit_verify_interval)
            .field("serving", &self.serving)
            .field("compat_apis", &self.compat_apis)
            .field("route_answers", &self.route_answers)
            .field("relay", &self.relay)
            .finish()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (tests pass a map instead of the environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let database_url = get("DATABASE_URL").map(SecretString::from);
        let bind = match get("SWITCHBOARD_BIND") {
            Some(v) => v.trim().parse().map_err(|_| {
                ConfigError::new(
                    "SWITCHBOARD_BIND",
                    format!("'{v}' is not an address like 127.0.0.1:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let data_dir =
            get("SWITCHBOARD_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from);
        let master_keys = get("SWITCHBOARD_MASTER_KEYS").map(SecretString::from);
        if let Some(keys) = &master_keys {
            crate::crypto::keyring::Keyring::parse(keys)
                .map_err(|e| ConfigError::new("SWITCHBOARD_MASTER_KEYS", e.to_string()))?;
        }
        let session_key = match get("SWITCHBOARD_SESSION_KEY") {
            Some(v) => Some(parse_session_key(&v)?),
            None => None,
        };
        let public_url = match get("SWITCHBOARD_PUBLIC_URL") {
            Some(v) => {
                let url = url::Url::parse(v.trim()).map_err(|e| {
                    ConfigError::new("SWITCHBOARD_PUBLIC_URL", format!("not a URL ({e})"))
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(ConfigError::new(
                        "SWITCHBOARD_PUBLIC_URL",
                        "must be an http or https URL with a host",
                    ));
                }
                Some(url)
            }
            None => None,
        };
        let platform_provider = match get("SWITCHBOARD_PLATFORM_PROVIDER") {
            Some(v) => {
                let v = v.trim().to_owned();
                match v.split_once(':') {
                    Some((kind, model)) if !kind.is_empty() && !model.is_empty() => v,
                    _ => {
                        return Err(ConfigError::new(
                            "SWITCHBOARD_PLATFORM_PROVIDER",
                            "expected kind:model, e.g. anthropic:claude-sonnet-4-5",
                        ));
                    }
                }
            }
            None => "anthropic:claude-sonnet-4-5".to_owned(),
        };
        let check = CheckSettings::from_values(
            get("SWITCHBOARD_EGRESS_ALLOW").as_deref(),
            get("SWITCHBOARD_CHECK_TIMEOUT").as_deref(),
        )
        .map_err(|e| match e {
            SettingsError::Egress(p) => ConfigError::new("SWITCHBOARD_EGRESS_ALLOW", p),
            SettingsError::Timeout(p) => ConfigError::new("SWITCHBOARD_CHECK_TIMEOUT", p),
        })?;

        let recheck_interval = match get("SWITCHBOARD_RECHECK_INTERVAL") {
            Some(v) => parse_interval(v.trim())
                .map_err(|p| ConfigError::new("SWITCHBOARD_RECHECK_INTERVAL", p))?,
            None => Some(std::time::Duration::from_secs(6 * 3600)),
        };
        let trusted_proxies = match get("SWITCHBOARD_TRUSTED_PROXIES") {
            Some(v) => TrustedProxies::parse(&v)
                .map_err(|p| ConfigError::new("SWITCHBOARD_TRUSTED_PROXIES", p))?,
            None => TrustedProxies::default(),
        };

        let rate = |var: &'static str| match get(var) {
            None => Ok(DEFAULT_PER_SECOND),
            Some(v) => v.trim().parse::<u32>().map_err(|_| {
                ConfigError::new(
                    var,
                    format!("'{v}' is not a whole number of requests per second (0 = no limit)"),
                )
            }),
        };
        let api_rate = Rates {
            per_token: rate("SWITCHBOARD_API_TOKEN_RATE")?,
            per_ip: rate("SWITCHBOARD_API_IP_RATE")?,
        };

        let audit_signer = get("SWITCHBOARD_AUDIT_SIGNING_KEY")
            .map(|v| {
                crate::crypto::signing::AuditSigner::parse(&SecretString::from(v))
                    .map_err(|e| ConfigError::new("SWITCHBOARD_AUDIT_SIGNING_KEY", e.to_string()))
            })
            .transpose()?;
        let audit_checkpoints =
            get("SWITCHBOARD_AUDIT_CHECKPOINTS").map(|v| PathBuf::from(v.trim()));
        let audit_verify_interval = match get("SWITCHBOARD_AUDIT_VERIFY_INTERVAL") {
            Some(v) => parse_interval(v.trim())
                .map_err(|p| ConfigError::new("SWITCHBOARD_AUDIT_VERIFY_INTERVAL", p))?,
            None => Some(std::time::Duration::from_secs(86_400)),
        };
        let serving = serving::Serving::from_lookup(get)?;
        let compat_apis = compat::parse(get(compat::VAR).as_deref())?;
        let route_answers = routes::RouteAnswers::from_lookup(get)?;
        let relay = relay::RelaySettings::from_lookup(get)?;

        Ok(Self {
            serving,
            compat_apis,
            route_answers,
            relay,
            database_url,
            bind,
            data_dir,
            master_keys,
            session_key,
            public_url,
            platform_provider,
            check,
            recheck_interval,
            trusted_proxies,
            api_rate,
            audit_signer,
            audit_checkpoints,
            audit_verify_interval,
        })
    }

    /// True when the console is served over https (Secure `__Host-` cookie, Strict SameSite).
    pub fn is_https(&self) -> bool {
        self.public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https")
    }

    /// The start-up warning for a console reachable from other machines over plain http
    /// (passwords and session cookies would cross the network in clear), if that's the case.
    pub fn bind_warning(&self) -> Option<String> {
        (!self.bind.ip().is_loopback() && !self.is_https()).then(|| {
            format!(
                "SWITCHBOARD_BIND={} is not a loopback address but SWITCHBOARD_PUBLIC_URL is not \
                 https: serve the console behind a TLS proxy and set SWITCHBOARD_PUBLIC_URL=https://…",
                self.bind
            )
        })
    }
}

/// `0` (off) or a whole number with a unit: `90s`, `30m`, `6h`, `1d`; between a minute and
/// 30 days.
fn parse_interval(value: &str) -> Result<Option<std::time::Duration>, String> {
    if value == "0" {
        return Ok(None);
    }
    let problem = || format!("'{value}' is not 0 or a duration like 30m, 6h or 1d");
    let split = value.len().checked_sub(1).ok_or_else(problem)?;
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().map_err(|_| problem())?;
    let seconds = match unit {
        "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        "d" => number.saturating_mul(86_400),
        _ => return Err(problem()),
    };
    if !(60..=30 * 86_400).contains(&seconds) {
        return Err(format!(
            "'{value}' must be between 1m and 30d (or 0 for off)"
        ));
    }
    Ok(Some(std::time::Duration::from_secs(seconds)))
}

fn parse_session_key(value: &str) -> Result<Vec<u8>, ConfigError> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| ConfigError::new("SWITCHBOARD_SESSION_KEY", "not valid base64"))?;
    if bytes.len() < 64 {
        return Err(ConfigError::new(
            "SWITCHBOARD_SESSION_KEY",
            format!("must decode to at least 64 bytes, got {}", bytes.len()),
        ));
    }
    Ok(bytes)
}

/// A variable lookup over fixed pairs, as the configuration tests give it.
#[cfg(test)]
pub(crate) fn lookup<'a>(pairs: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = with(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.check.timeout, std::time::Duration::from_secs(10));
        assert!(
            c.trusted_proxies.is_empty(),
            "no proxy is trusted by default"
        );
    }

    #[test]
    fn trusted_proxies_are_a_cidr_list() {
        let c = with(&[("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.1/32, ::1")]).unwrap();
        assert!(c.trusted_proxies.contains("127.0.0.1".parse().unwrap()));
        assert!(c.trusted_proxies.contains("::1".parse().unwrap()));
        assert!(!c.trusted_proxies.contains("127.0.0.2".parse().unwrap()));
        let err = with(&[("SWITCHBOARD_TRUSTED_PROXIES", "10.0.0.0/8;")]).unwrap_err();
        assert_eq!(err.var, "SWITCHBOARD_TRUSTED_PROXIES");
        assert!(!err.to_string().contains('\n'), "one line: {err}");
    }

    #[test]
    fn the_recheck_interval_defaults_to_six_hours_and_zero_turns_it_off() {
        let hours = |h: u64| Some(std::time::Duration::from_secs(h * 3600));
        assert_eq!(with(&[]).unwrap().recheck_interval, hours(6));
        for (value, want) in [
            ("0", None),
            ("90m", hours(1).map(|d| d * 3 / 2)),
            ("1d", hours(24)),
        ] {
            let c = with(&[("SWITCHBOARD_RECHECK_INTERVAL", value)]).unwrap();
            assert_eq!(c.recheck_interval, want, "{value}");
        }
        for bad in [
            "6",
            "h",
            "-1h",
            "10s",
            "31d",
            "1.5h",
            "6 h",
            "99999999999999999999d",
        ] {
            let e = with(&[("SWITCHBOARD_RECHECK_INTERVAL", bad)]).unwrap_err();
            assert_eq!(e.var, "SWITCHBOARD_RECHECK_INTERVAL", "{bad}");
        }
    }

    #[test]
    fn debug_output_hides_every_secret() {
        let c = with(&[
            ("DATABASE_URL", "postgres://app:canary-db-pw@db/sb"),
            ("SWITCHBOARD_SESSION_KEY", &"Y2FuYXJ5".repeat(12)),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("canary-db-pw") && !shown.contains("Y2FuYXJ5"),
            "{shown}"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("SWITCHBOARD_BIND", "nope"),
            ("SWITCHBOARD_CHECK_TIMEOUT", "0"),
            ("SWITCHBOARD_EGRESS_ALLOW", "not-a-cidr"),
            ("SWITCHBOARD_SESSION_KEY", "c2hvcnQ="),
            ("SWITCHBOARD_PUBLIC_URL", "ftp://x"),
            ("SWITCHBOARD_MASTER_KEYS", "k1:notbase64!"),
            ("SWITCHBOARD_PLATFORM_PROVIDER", "openai"),
            ("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.1/32,not-a-cidr"),
            ("SWITCHBOARD_AUDIT_SIGNING_KEY", "a1:c2hvcnQ="),
            ("SWITCHBOARD_AUDIT_VERIFY_INTERVAL", "5"),
            ("SWITCHBOARD_COMPAT_APIS", "yes"),
        ] {
            let err = with(&[(var, value)]).unwrap_err();
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }
}
