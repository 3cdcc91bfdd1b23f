//! Reading provider error bodies and the status mapping every protocol shares; each
//! protocol module handles its provider's specific answers first and falls back here.

use reqwest::StatusCode;
use serde_json::Value;

use super::outcome::{Failure, FailureCode};
use super::transport::RawResponse;

/// The interesting parts of an error body, whatever its shape: OpenAI
/// (`{"error":{"message","type","code"}}`), Anthropic (`{"type":"error","error":{...}}`),
/// Google (`{"error":{"code","status","message","details":[{"reason"}]}}`), xAI
/// (`{"code","error":"..."}`), AWS (`{"message"}` + `x-amzn-ErrorType`).
#[derive(Debug, Default)]
pub(crate) struct ErrorInfo {
    /// Codes, types, statuses and reasons, lowercased.
    pub tags: Vec<String>,
    /// The human message, lowercased.
    pub message: String,
}

impl ErrorInfo {
    /// Parses a response body (anything not JSON gives an empty info).
    pub fn of(resp: &RawResponse) -> Self {
        let mut info = ErrorInfo::default();
        if let Some(aws) = resp
            .headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
        {
            info.push_tag(aws.split(':').next().unwrap_or(aws));
        }
        let Ok(json) = serde_json::from_slice::<Value>(&resp.body) else {
            return info;
        };
        let error = json.get("error").unwrap_or(&json);
        for key in ["type", "code", "status", "__type"] {
            for v in [error.get(key), json.get(key)].into_iter().flatten() {
                info.push_value(v);
            }
        }
        let message = [
            error.get("message"),
            json.get("message"),
            json.get("Message"),
        ]
        .into_iter()
        .flatten()
        .chain(json.get("error").filter(|e| e.is_string()))
        .find_map(Value::as_str)
        .unwrap_or_default();
        info.message = message.to_lowercase();
        if let Some(details) = error.get("details").and_then(Value::as_array) {
            for detail in details {
                detail
                    .get("reason")
                    .into_iter()
                    .for_each(|v| info.push_value(v));
                let violations = detail.get("violations").and_then(Value::as_array);
                for violation in violations.into_iter().flatten() {
                    violation
                        .get("quotaId")
                        .into_iter()
                        .for_each(|v| info.push_value(v));
                }
            }
        }
        info
    }

    fn push_value(&mut self, v: &Value) {
        match v {
            Value::String(s) => self.push_tag(s),
            Value::Number(n) => self.push_tag(&n.to_string()),
            _ => {}
        }
    }

    fn push_tag(&mut self, tag: &str) {
        self.tags.push(tag.trim().to_lowercase());
    }

    /// Whether any tag equals `tag` (lowercase).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// Whether any tag contains `part` (lowercase).
    pub fn tag_contains(&self, part: &str) -> bool {
        self.tags.iter().any(|t| t.contains(part))
    }

    /// Whether the message contains any of `parts` (lowercase).
    pub fn says(&self, parts: &[&str]) -> bool {
        parts.iter().any(|p| self.message.contains(p))
    }

    /// Whether the answer talks about an exhausted quota, credits or billing rather
    /// than a short-term rate limit.
    pub fn is_quota(&self) -> bool {
        self.tag_contains("quota")
            || self.tag_contains("billing")
            || self.says(&[
                "exceeded your current quota",
                "insufficient_quota",
                "quota exceeded",
                "out of call volume quota",
                "billing",
                "credit",
                "payment required",
            ])
    }
}

/// Whether a body is an HTML page (a login wall, a proxy's error page, a web UI).
pub(crate) fn is_html(resp: &RawResponse) -> bool {
    let content_type = resp
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let start = String::from_utf8_lossy(&resp.body[..resp.body.len().min(64)])
        .trim_start()
        .to_ascii_lowercase();
    content_type.contains("html") || start.starts_with("<!doctype") || start.starts_with("<html")
}

/// Parses a successful body as JSON, or says why it isn't the provider's API.
pub(crate) fn success_json(resp: &RawResponse, what: &str) -> Result<Value, Failure> {
    if is_html(resp) {
        return Err(Failure::new(
            FailureCode::BadResponse,
            format!("the endpoint answered an HTML page instead of {what}; check the base URL"),
        ));
    }
    serde_json::from_slice(&resp.body).map_err(|_| {
        Failure::new(
            FailureCode::BadResponse,
            format!("the endpoint did not answer JSON ({what} expected)"),
        )
    })
}

/// The mapping shared by every protocol, for answers it has no specific rule for.
pub(crate) fn generic_failure(resp: &RawResponse, info: &ErrorInfo) -> Failure {
    let status = resp.status;
    let code = status.as_u16();
    match status {
        StatusCode::UNAUTHORIZED => Failure::new(
            FailureCode::AuthRejected,
            format!("the provider rejected the key (HTTP {code})"),
        ),
        StatusCode::PAYMENT_REQUIRED => quota(code),
        StatusCode::FORBIDDEN if info.is_quota() => quota(code),
        StatusCode::FORBIDDEN => Failure::new(
            FailureCode::AuthRejected,
            format!("the provider refused this key access (HTTP {code})"),
        ),
        StatusCode::TOO_MANY_REQUESTS if info.is_quota() => quota(code),
        StatusCode::TOO_MANY_REQUESTS => rate_limited(code),
        s if s.is_server_error() => Failure::new(
            FailureCode::Unreachable,
            format!(
                "the provider answered HTTP {code}: its service is failing or overloaded; try again later"
            ),
        ),
        _ if is_html(resp) => Failure::new(
            FailureCode::BadResponse,
            format!("the endpoint answered HTTP {code} with an HTML page; check the base URL"),
        ),
        _ => Failure::new(
            FailureCode::BadResponse,
            format!("the endpoint answered an unexpected HTTP {code}"),
        ),
    }
}

/// A quota / billing failure.
pub(crate) fn quota(code: u16) -> Failure {
    Failure::new(
        FailureCode::QuotaExhausted,
        format!(
            "the account behind this key is out of quota or credits (HTTP {code}); check its plan and billing"
        ),
    )
}

/// A short-term throttle: the key itself was accepted.
pub(crate) fn rate_limited(code: u16) -> Failure {
    Failure::new(
        FailureCode::RateLimited,
        format!(
            "the key was accepted but the provider is rate limiting it (HTTP {code}); try again shortly"
        ),
    )
}

/// Up to `n` candidates closest to `wanted` (by edit distance, then name), for
/// "did you mean" messages.
pub(crate) fn closest<'a>(wanted: &str, candidates: &'a [String], n: usize) -> Vec<&'a str> {
    let wanted = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .iter()
        .map(|c| (edit_distance(&wanted, &c.to_lowercase()), c.as_str()))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The "model not listed" failure with the closest listed ids.
pub(crate) fn model_not_listed(model: &str, listed: &[String]) -> Failure {
    let message = match closest(model, listed, 3).as_slice() {
        [] => format!("model {model:?} is not available: the endpoint lists no models"),
        near => format!(
            "model {model:?} is not listed by the endpoint; closest listed: {}",
            near.join(", ")
        ),
    };
    Failure::new(FailureCode::ModelNotFound, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_orders_by_distance() {
        let listed: Vec<String> = ["gpt-4o", "gpt-4o-mini", "o3", "whisper-1"]
            .map(String::from)
            .into();
        assert_eq!(closest("gpt-40", &listed, 2), vec!["gpt-4o", "gpt-4o-mini"]);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
