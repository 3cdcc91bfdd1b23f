//! Anthropic: `POST {base}/v1/messages` with `x-api-key`, `anthropic-version` and a
//! one-token request, the cheapest call that proves key and model together.

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::json;
use url::Url;

use super::classify::{ErrorInfo, generic_failure, quota, rate_limited, success_json};
use super::headers::KeyHeader;
use super::openai_compat::join;
use super::outcome::{Failure, FailureCode};
use super::request::{CheckRequest, ValidationError};
use super::transport::{Probe, RawResponse};

/// The API version header value Anthropic documents for the Messages API.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// `POST {base}/v1/messages`, `max_tokens: 1`.
pub(crate) fn probe(req: &CheckRequest, base: &Url) -> Result<Probe, ValidationError> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        "anthropic-version",
        HeaderValue::from_static(ANTHROPIC_VERSION),
    );
    let key = req.key().ok_or(ValidationError::MissingKey)?;
    KeyHeader::Named("x-api-key").insert(&mut headers, key)?;
    let body = json!({
        "model": req.model,
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "ping"}],
    });
    Ok(Probe {
        method: Method::POST,
        url: join(base, &["v1", "messages"]),
        headers,
        body: Some(body.to_string().into_bytes()),
    })
}

/// Maps Anthropic's typed errors (`authentication_error`, `not_found_error`, …).
pub(crate) fn interpret(req: &CheckRequest, resp: &RawResponse) -> Result<String, Failure> {
    if resp.status.is_success() {
        let json = success_json(resp, "a message")?;
        return match json.get("type").and_then(|t| t.as_str()) {
            Some("message") => Ok(format!("key accepted; model {:?} answered", req.model)),
            _ => Err(Failure::new(
                FailureCode::BadResponse,
                "the endpoint answered JSON that is not an Anthropic message",
            )),
        };
    }
    let info = ErrorInfo::of(resp);
    let code = resp.status.as_u16();
    if info.has_tag("authentication_error") {
        return Err(Failure::new(
            FailureCode::AuthRejected,
            format!("Anthropic rejected the key (HTTP {code})"),
        ));
    }
    if info.has_tag("billing_error") || info.says(&["credit balance"]) {
        return Err(quota(code));
    }
    if info.has_tag("not_found_error")
        || (resp.status == StatusCode::NOT_FOUND && info.says(&["model"]))
    {
        return Err(Failure::new(
            FailureCode::ModelNotFound,
            format!(
                "Anthropic does not know model {:?} (or this key can't use it)",
                req.model
            ),
        ));
    }
    if info.has_tag("rate_limit_error") {
        return Err(rate_limited(code));
    }
    if info.has_tag("overloaded_error") || code == 529 {
        return Err(Failure::new(
            FailureCode::Unreachable,
            format!(
                "Anthropic is overloaded (HTTP {code}); the key was not judged, try again later"
            ),
        ));
    }
    if info.has_tag("permission_error") {
        return Err(Failure::new(
            FailureCode::AuthRejected,
            format!("Anthropic refused this key access (HTTP {code})"),
        ));
    }
    Err(generic_failure(resp, &info))
}
