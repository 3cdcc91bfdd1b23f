//! Azure OpenAI: a one-token chat completion on
//! `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…` with the
//! `api-key` header; proves key, deployment and api-version together.

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

/// The one-token chat completion.
pub(crate) fn probe(req: &CheckRequest, base: &Url) -> Result<Probe, ValidationError> {
    let deployment = req.required_field("deployment")?;
    let version = req.required_field("api_version")?;
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let key = req.key().ok_or(ValidationError::MissingKey)?;
    KeyHeader::Named("api-key").insert(&mut headers, key)?;
    // Admins often paste the endpoint with its `/openai` suffix; don't double it.
    let mut endpoint = base.clone();
    if endpoint.path_segments().and_then(|mut s| s.next_back()) == Some("openai")
        && let Ok(mut path) = endpoint.path_segments_mut()
    {
        path.pop();
    }
    let mut url = join(
        &endpoint,
        &["openai", "deployments", deployment, "chat", "completions"],
    );
    url.query_pairs_mut().append_pair("api-version", version);
    let body = json!({"messages": [{"role": "user", "content": "ping"}], "max_tokens": 1});
    Ok(Probe {
        method: Method::POST,
        url,
        headers,
        body: Some(body.to_string().into_bytes()),
    })
}

/// Maps Azure's errors (`DeploymentNotFound`, "API version not supported", …).
pub(crate) fn interpret(req: &CheckRequest, resp: &RawResponse) -> Result<String, Failure> {
    let deployment = req.deployment.as_deref().unwrap_or_default().trim();
    let version = req.api_version.as_deref().unwrap_or_default().trim();
    if resp.status.is_success() {
        let json = success_json(resp, "a chat completion")?;
        return match json.get("choices").is_some_and(|c| c.is_array()) {
            true => Ok(format!("key accepted; deployment {deployment:?} answered")),
            false => Err(Failure::new(
                FailureCode::BadResponse,
                "the endpoint answered JSON that is not a chat completion",
            )),
        };
    }
    let info = ErrorInfo::of(resp);
    let code = resp.status.as_u16();
    if info.has_tag("deploymentnotfound") {
        return Err(Failure::new(
            FailureCode::ModelNotFound,
            format!("Azure has no deployment {deployment:?} on this resource"),
        ));
    }
    let bad_version = Failure::new(
        FailureCode::BadApiVersion,
        format!(
            "Azure does not accept api-version {version:?} here; use a version it supports (e.g. 2024-10-21)"
        ),
    );
    let client_error = matches!(resp.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND);
    if client_error
        && info.says(&[
            "api version not supported",
            "api-version",
            "enabled only for api versions",
        ])
    {
        return Err(bad_version);
    }
    // Reasoning deployments refuse `max_tokens`: key, deployment and version were
    // accepted before the parameters were judged, which is all this check asks.
    if resp.status == StatusCode::BAD_REQUEST
        && (info.has_tag("unsupported_parameter") || info.has_tag("unsupported_value"))
    {
        return Ok(format!(
            "key accepted; deployment {deployment:?} exists (it refused the 1-token probe's parameters)"
        ));
    }
    match resp.status {
        // An unknown api-version gets a bare 404 "Resource not found".
        StatusCode::NOT_FOUND if info.says(&["resource not found"]) => Err(bad_version),
        StatusCode::UNAUTHORIZED => Err(Failure::new(
            FailureCode::AuthRejected,
            format!("Azure rejected the key (HTTP {code})"),
        )),
        StatusCode::TOO_MANY_REQUESTS if info.is_quota() => Err(quota(code)),
        StatusCode::TOO_MANY_REQUESTS => Err(rate_limited(code)),
        _ => Err(generic_failure(resp, &info)),
    }
}
