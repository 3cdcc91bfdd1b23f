//! What a live check reports: pass or one of the ten failure codes of DESIGN.md rule 1,
//! with a short human message and a redacted upstream excerpt.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

/// Why a check failed: exactly the fixed set of DESIGN.md rule 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The key is missing, malformed (wrong prefix) or refused by the provider.
    AuthRejected,
    /// The model (or Azure deployment) does not exist for this key.
    ModelNotFound,
    /// The key was accepted but the provider is throttling it; try again later.
    RateLimited,
    /// The account is out of quota, credits or billing.
    QuotaExhausted,
    /// The Azure `api_version` is unknown to the endpoint.
    BadApiVersion,
    /// No working service answered: DNS, connection refused, or a 5xx / overload.
    Unreachable,
    /// No complete answer within the configured timeout.
    Timeout,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The egress policy refused the address before any connection was made.
    BlockedAddress,
    /// The endpoint answered something that is not the provider's API (HTML, a
    /// redirect, an unexpected status or shape, an over-long body).
    BadResponse,
}

impl FailureCode {
    /// Every code, in DESIGN.md order.
    pub const ALL: [FailureCode; 10] = [
        FailureCode::AuthRejected,
        FailureCode::ModelNotFound,
        FailureCode::RateLimited,
        FailureCode::QuotaExhausted,
        FailureCode::BadApiVersion,
        FailureCode::Unreachable,
        FailureCode::Timeout,
        FailureCode::Tls,
        FailureCode::BlockedAddress,
        FailureCode::BadResponse,
    ];

    /// The snake_case code, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::AuthRejected => "auth_rejected",
            FailureCode::ModelNotFound => "model_not_found",
            FailureCode::RateLimited => "rate_limited",
            FailureCode::QuotaExhausted => "quota_exhausted",
            FailureCode::BadApiVersion => "bad_api_version",
            FailureCode::Unreachable => "unreachable",
            FailureCode::Timeout => "timeout",
            FailureCode::Tls => "tls",
            FailureCode::BlockedAddress => "blocked_address",
            FailureCode::BadResponse => "bad_response",
        }
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one live check. Serialises to camelCase JSON with `latencyMs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutcome {
    /// Whether the check passed.
    pub ok: bool,
    /// Wall time of the whole check, name resolution included.
    #[serde(rename = "latencyMs", serialize_with = "as_millis")]
    pub latency: Duration,
    /// Why it failed; `None` when `ok`.
    pub code: Option<FailureCode>,
    /// One short human sentence (never contains the key).
    pub message: String,
    /// Up to 300 characters of what the endpoint answered, with the key and every
    /// header value the check sent removed.
    pub excerpt: Option<String>,
    /// The HTTP status the endpoint answered, when it answered.
    pub http_status: Option<u16>,
}

fn as_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl fmt::Display for CheckOutcome {
    /// `PASS: message (12 ms)` or `FAIL code: message (12 ms)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.latency.as_millis();
        match self.code {
            None if self.ok => write!(f, "PASS: {} ({ms} ms)", self.message),
            None => write!(f, "FAIL: {} ({ms} ms)", self.message),
            Some(code) => write!(f, "FAIL {code}: {} ({ms} ms)", self.message),
        }
    }
}

/// A failed step inside a check, before latency and excerpt are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub code: FailureCode,
    pub message: String,
}

impl Failure {
    pub fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
