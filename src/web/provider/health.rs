//! What the Provider tab shows of the health loop: per provider its last 24 hours (calls,
//! error rate, last error) and whether it needs attention; the tab's banner names every
//! provider that does. Read from the tab's one list query (`ops::providers::list_providers`).

use chrono::{DateTime, Utc};

use crate::ops::providers::ProviderHealth;

/// A card's health line.
pub struct HealthView {
    /// "No calls in the last 24 hours" or "12 calls in the last 24 hours".
    pub calls: String,
    /// "8.3% failed"; `None` without calls.
    pub error_rate: Option<String>,
    /// The last failure, in words, with its time.
    pub last_error: Option<String>,
    /// Since when it needs attention (`YYYY-MM-DD HH:MM UTC`).
    pub attention_since: Option<String>,
}

/// Words for a counters code: a failure code of the live checks, or `http_NNN`.
pub fn code_words(code: &str) -> String {
    match code {
        "auth_rejected" => "key refused".to_owned(),
        "model_not_found" => "model not found".to_owned(),
        "rate_limited" => "rate limited".to_owned(),
        "quota_exhausted" => "out of quota or credits".to_owned(),
        "bad_api_version" => "API version refused".to_owned(),
        "unreachable" => "unreachable".to_owned(),
        "timeout" => "timed out".to_owned(),
        "tls" => "TLS handshake failed".to_owned(),
        "blocked_address" => "address blocked by the egress policy".to_owned(),
        "bad_response" => "unexpected answer".to_owned(),
        other => match other.strip_prefix("http_") {
            Some(status) => format!("HTTP {status}"),
            None => "failed".to_owned(),
        },
    }
}

/// How times are shown (as on the rest of the tab).
const TIME: &str = "%Y-%m-%d %H:%M UTC";

fn at(t: DateTime<Utc>) -> String {
    t.format(TIME).to_string()
}

impl HealthView {
    pub fn new(h: &ProviderHealth) -> Self {
        let u = &h.usage;
        let calls = match u.calls {
            0 => "No calls in the last 24 hours".to_owned(),
            1 => "1 call in the last 24 hours".to_owned(),
            n => format!("{n} calls in the last 24 hours"),
        };
        let error_rate = (u.calls > 0).then(|| {
            let rate = u.errors as f64 * 100.0 / u.calls as f64;
            if u.errors == 0 {
                "none failed".to_owned()
            } else if rate < 0.1 {
                "under 0.1% failed".to_owned()
            } else {
                format!("{rate:.1}% failed")
            }
        });
        let last_error = match (&u.last_error_code, u.last_error_at) {
            (Some(code), Some(t)) => Some(format!("{} ({})", code_words(code), at(t))),
            (Some(code), None) => Some(code_words(code)),
            _ => None,
        };
        Self {
            calls,
            error_rate,
            last_error,
            attention_since: h.attention_since.map(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::provider_health::Usage24h;

    #[test]
    fn the_line_says_calls_rate_and_last_error_in_words() {
        let h = ProviderHealth {
            attention_since: None,
            usage: Usage24h {
                calls: 12,
                errors: 1,
                last_error_code: Some("auth_rejected".to_owned()),
                last_error_at: Some(
                    DateTime::parse_from_rfc3339("2026-12-03T12:34:56Z")
                        .unwrap()
                        .to_utc(),
                ),
            },
        };
        let v = HealthView::new(&h);
        assert_eq!(v.calls, "12 calls in the last 24 hours");
        assert_eq!(v.error_rate.as_deref(), Some("8.3% failed"));
        assert_eq!(
            v.last_error.as_deref(),
            Some("key refused (2026-12-03 12:34 UTC)")
        );
        let none = HealthView::new(&ProviderHealth::default());
        assert_eq!(none.calls, "No calls in the last 24 hours");
        assert!(none.error_rate.is_none() && none.last_error.is_none());
        assert_eq!(code_words("http_404"), "HTTP 404");
    }
}
