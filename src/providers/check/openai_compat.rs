//! OpenAI-compatible endpoints (OpenAI, xAI, Groq, gateways, self-hosted):
//! `GET {base}/models` with `Authorization: Bearer`, and the model must be listed.

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use super::classify::{ErrorInfo, generic_failure, model_not_listed, success_json};
use super::headers::{KeyHeader, header_pair};
use super::outcome::{Failure, FailureCode};
use super::request::{CheckRequest, ValidationError};
use super::transport::{Probe, RawResponse};

/// `GET {base}/models`.
pub(crate) fn probe(req: &CheckRequest, base: &Url) -> Result<Probe, ValidationError> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    if let Some(key) = req.key() {
        KeyHeader::Bearer.insert(&mut headers, key)?;
    }
    for (name, value) in &req.extra_headers {
        let (name, value) = header_pair(name, value)?;
        headers.insert(name, value);
    }
    Ok(Probe {
        method: Method::GET,
        url: join(base, &["models"]),
        headers,
        body: None,
    })
}

/// Reads the model list, or maps the error.
pub(crate) fn interpret(req: &CheckRequest, resp: &RawResponse) -> Result<String, Failure> {
    if resp.status.is_success() {
        let json = success_json(resp, "a model list")?;
        let Some(data) = json.get("data").and_then(|d| d.as_array()) else {
            return Err(Failure::new(
                FailureCode::BadResponse,
                "the endpoint answered JSON that is not an OpenAI-style model list (no \"data\" array)",
            ));
        };
        let ids: Vec<String> = data
            .iter()
            .filter_map(|m| m.get("id").and_then(|id| id.as_str()))
            .map(str::to_owned)
            .collect();
        return match ids.contains(&req.model) {
            true => Ok(format!("key accepted; model {:?} is listed", req.model)),
            false => Err(model_not_listed(&req.model, &ids)),
        };
    }
    let info = ErrorInfo::of(resp);
    let code = resp.status.as_u16();
    let key_words = ["api key", "api_key", "invalid_api_key", "incorrect api key"];
    match resp.status {
        // xAI answers a bad key with 400 "Incorrect API key provided".
        StatusCode::BAD_REQUEST if info.says(&key_words) || info.tag_contains("api_key") => {
            Err(Failure::new(
                FailureCode::AuthRejected,
                format!("the provider rejected the key (HTTP {code})"),
            ))
        }
        StatusCode::NOT_FOUND => Err(Failure::new(
            FailureCode::BadResponse,
            "the endpoint has no /models (HTTP 404); check the base URL (it usually ends in /v1)",
        )),
        _ => Err(generic_failure(resp, &info)),
    }
}

/// `base` with `segments` appended (each percent-encoded as one path segment).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}
