//! Google Gemini: `GET {base}/v1beta/models/{model}` with the key in the
//! `x-goog-api-key` header — never in the URL, where proxies and logs would keep it.

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use super::classify::{ErrorInfo, generic_failure, quota, rate_limited, success_json};
use super::headers::KeyHeader;
use super::openai_compat::join;
use super::outcome::{Failure, FailureCode};
use super::request::{CheckRequest, ValidationError};
use super::transport::{Probe, RawResponse};

/// `GET {base}/v1beta/models/{model}` (a leading `models/` in the name is accepted).
pub(crate) fn probe(req: &CheckRequest, base: &Url) -> Result<Probe, ValidationError> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let key = req.key().ok_or(ValidationError::MissingKey)?;
    KeyHeader::Named("x-goog-api-key").insert(&mut headers, key)?;
    Ok(Probe {
        method: Method::GET,
        url: join(base, &["v1beta", "models", model_id(&req.model)]),
        headers,
        body: None,
    })
}

fn model_id(model: &str) -> &str {
    model.strip_prefix("models/").unwrap_or(model)
}

/// Maps Google's `google.rpc.Status` errors (`API_KEY_INVALID`, `NOT_FOUND`, …).
pub(crate) fn interpret(req: &CheckRequest, resp: &RawResponse) -> Result<String, Failure> {
    if resp.status.is_success() {
        let json = success_json(resp, "a model description")?;
        return match json.get("name").and_then(|n| n.as_str()) {
            Some(name) => Ok(format!("key accepted; model {name:?} exists")),
            None => Err(Failure::new(
                FailureCode::BadResponse,
                "the endpoint answered JSON that is not a Gemini model description",
            )),
        };
    }
    let info = ErrorInfo::of(resp);
    let code = resp.status.as_u16();
    let key_reasons = [
        "api_key_invalid",
        "api_key_expired",
        "api_key_service_blocked",
        "api_key_http_referrer_blocked",
    ];
    if key_reasons.iter().any(|r| info.has_tag(r))
        || info.says(&["api key not valid", "api key expired"])
    {
        return Err(Failure::new(
            FailureCode::AuthRejected,
            format!("Google rejected the key (HTTP {code})"),
        ));
    }
    if info.has_tag("billing_disabled") {
        return Err(quota(code));
    }
    match resp.status {
        StatusCode::NOT_FOUND => Err(Failure::new(
            FailureCode::ModelNotFound,
            format!("Gemini has no model {:?} in v1beta", model_id(&req.model)),
        )),
        // Gemini says "quota" for per-minute limits too: only a daily quota (or billing)
        // is exhausted; anything else passes with time.
        StatusCode::TOO_MANY_REQUESTS if info.tag_contains("perday") || info.says(&["billing"]) => {
            Err(quota(code))
        }
        StatusCode::TOO_MANY_REQUESTS => Err(rate_limited(code)),
        StatusCode::FORBIDDEN => Err(Failure::new(
            FailureCode::AuthRejected,
            format!("Google refused this key access to the Gemini API (HTTP {code})"),
        )),
        _ => Err(generic_failure(resp, &info)),
    }
}
