//! Live provider checks: validate the request, send one probe per provider protocol
//! through the egress guard, and map the answer to a [`CheckOutcome`].

mod anthropic;
mod azure;
mod bedrock;
mod classify;
mod fields;
mod gemini;
mod headers;
mod invalid;
mod listing;
mod ollama;
mod openai_compat;
mod outcome;
#[cfg(test)]
mod pinning_tests;
mod redact;
mod request;
mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;

pub use anthropic::ANTHROPIC_VERSION;
pub use fields::validate_extra_field;
pub use listing::{MAX_MODELS, lists_models};
pub use outcome::{CheckOutcome, FailureCode};
pub use redact::{EXCERPT_CHARS, REDACTED};
pub use request::{CheckRequest, ValidationError};
pub use transport::{BODY_CAP, install_crypto_provider};

use crate::providers::catalog::Protocol;
use crate::providers::egress::{EGRESS_ENV, EgressPolicy};
use outcome::Failure;
pub(crate) use redact::Redactor;
use transport::{Lookup, Probe, RawResponse, SystemLookup};

/// The environment variable holding the check timeout in seconds.
pub const TIMEOUT_ENV: &str = "SWITCHBOARD_CHECK_TIMEOUT";

/// The timeout when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How checks reach the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSettings {
    /// Which addresses checks may connect to.
    pub egress: EgressPolicy,
    /// Connect and total timeout of one check (name resolution included).
    pub timeout: Duration,
}

impl Default for CheckSettings {
    fn default() -> Self {
        Self {
            egress: EgressPolicy::closed(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A bad configuration value; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// `SWITCHBOARD_EGRESS_ALLOW` does not parse.
    #[error("{EGRESS_ENV}: {0}")]
    Egress(String),
    /// `SWITCHBOARD_CHECK_TIMEOUT` is not a whole number of seconds in range.
    #[error("{TIMEOUT_ENV}: {0}")]
    Timeout(String),
}

impl CheckSettings {
    /// Builds settings from the values of `SWITCHBOARD_EGRESS_ALLOW` and
    /// `SWITCHBOARD_CHECK_TIMEOUT` (`None` = unset), which `Config` read once at start-up.
    pub fn from_values(egress: Option<&str>, timeout: Option<&str>) -> Result<Self, SettingsError> {
        let egress =
            EgressPolicy::parse(egress.unwrap_or_default()).map_err(SettingsError::Egress)?;
        let timeout = match timeout.map(str::trim) {
            None | Some("") => DEFAULT_TIMEOUT,
            Some(raw) => match raw.parse::<u64>() {
                Ok(secs @ 1..=300) => Duration::from_secs(secs),
                _ => {
                    return Err(SettingsError::Timeout(format!(
                        "expected a whole number of seconds from 1 to 300, got {raw:?}"
                    )));
                }
            },
        };
        Ok(Self { egress, timeout })
    }
}

/// Runs live checks under one set of [`CheckSettings`].
#[derive(Debug, Clone)]
pub struct Checker {
    settings: CheckSettings,
    lookup: Arc<dyn Lookup>,
    /// Where outcomes are counted, by kind and code.
    metrics: Option<crate::metrics::Metrics>,
}

impl Checker {
    /// A checker; installs rustls' ring crypto provider if none is installed yet.
    pub fn new(settings: CheckSettings) -> Self {
        Self::with_lookup(settings, Arc::new(SystemLookup))
    }

    /// A checker that resolves host names with `lookup` instead of the system.
    pub(crate) fn with_lookup(settings: CheckSettings, lookup: Arc<dyn Lookup>) -> Self {
        transport::install_crypto_provider();
        Self {
            settings,
            lookup,
            metrics: None,
        }
    }

    /// This checker, counting every outcome in `metrics`.
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> &CheckSettings {
        &self.settings
    }

    /// Checks one provider configuration. Never fails: every problem is an outcome.
    pub async fn check(&self, req: &CheckRequest) -> CheckOutcome {
        let started = Instant::now();
        let redactor = redactor_for(req);
        let timeout = self.settings.timeout;
        let (result, response) = match tokio::time::timeout(timeout, self.run(req)).await {
            Ok(done) => done,
            Err(_) => (Err(transport::timed_out(timeout)), None),
        };
        let latency = started.elapsed();
        let http_status = response.as_ref().map(|r| r.status.as_u16());
        let outcome = match result {
            Ok(message) => CheckOutcome {
                ok: true,
                latency,
                code: None,
                message: redactor.scrub(&message),
                excerpt: None,
                http_status,
            },
            Err(failure) => CheckOutcome {
                ok: false,
                latency,
                code: Some(failure.code),
                message: redactor.scrub(&failure.message),
                excerpt: response.as_ref().and_then(|r| redactor.excerpt(&r.body)),
                http_status,
            },
        };
        tracing::info!(
            kind = %req.kind,
            ok = outcome.ok,
            code = outcome.code.map(FailureCode::as_str),
            latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            "provider check finished"
        );
        if let Some(metrics) = &self.metrics {
            let code = outcome.code.map_or("ok", FailureCode::as_str);
            metrics.live_check(req.kind.as_str(), code);
        }
        outcome
    }

    async fn run(&self, req: &CheckRequest) -> (Result<String, Failure>, Option<RawResponse>) {
        let probe = match build_probe(req) {
            Ok(probe) => probe,
            Err(invalid) => return (Err(Failure::new(invalid.code(), invalid.to_string())), None),
        };
        let (egress, timeout) = (&self.settings.egress, self.settings.timeout);
        let response = match transport::send(egress, &*self.lookup, timeout, probe).await {
            Ok(response) => response,
            Err(failure) => return (Err(failure), None),
        };
        let result = interpret(req, &response);
        (result, Some(response))
    }
}

fn build_probe(req: &CheckRequest) -> Result<Probe, ValidationError> {
    let base = req.validate()?;
    match req.kind.entry().protocol {
        Protocol::OpenaiCompatible => openai_compat::probe(req, &base),
        Protocol::Anthropic => anthropic::probe(req, &base),
        Protocol::Gemini => gemini::probe(req, &base),
        Protocol::Azure => azure::probe(req, &base),
        Protocol::Ollama => ollama::probe(req, &base),
        Protocol::Bedrock => bedrock::probe(req, &base),
    }
}

/// Scrubs text of everything secret the check sends: the key and every extra header value.
fn redactor_for(req: &CheckRequest) -> Redactor {
    Redactor::new(
        req.key()
            .into_iter()
            .chain(req.extra_headers.iter().map(|(_, v)| v.expose_secret())),
    )
}

fn interpret(req: &CheckRequest, resp: &RawResponse) -> Result<String, Failure> {
    if resp.status.is_redirection() {
        let to = resp
            .headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            // Scrubbed before the cut: a cut could leave a fragment too short to recognise.
            .map(|l| format!(" to {}", redact::truncate(&redactor_for(req).scrub(l), 120)))
            .unwrap_or_default();
        return Err(Failure::new(
            FailureCode::BadResponse,
            format!(
                "the endpoint answered a redirect (HTTP {}){to}, which checks do not follow; \
                 enter the final URL as base URL",
                resp.status.as_u16()
            ),
        ));
    }
    if resp.truncated && resp.status.is_success() {
        return Err(Failure::new(
            FailureCode::BadResponse,
            format!(
                "the answer is larger than {} KiB; reading stopped there",
                BODY_CAP / 1024
            ),
        ));
    }
    match req.kind.entry().protocol {
        Protocol::OpenaiCompatible => openai_compat::interpret(req, resp),
        Protocol::Anthropic => anthropic::interpret(req, resp),
        Protocol::Gemini => gemini::interpret(req, resp),
        Protocol::Azure => azure::interpret(req, resp),
        Protocol::Ollama => ollama::interpret(req, resp),
        Protocol::Bedrock => bedrock::interpret(req, resp),
    }
}
