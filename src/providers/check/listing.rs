//! Model lists from the endpoint itself, for the provider form's "Load models": one
//! `GET` per protocol, sent like a live check (validated first, through the egress guard,
//! no redirects, the check's timeout and body cap) and failing with the same taxonomy.
//!
//! | protocol | request | list |
//! |---|---|---|
//! | OpenAI-compatible | `GET {base}/models`, Bearer | `data[].id` |
//! | Anthropic | `GET {base}/v1/models?limit=1000`, `x-api-key` | `data[].id` |
//! | Gemini | `GET {base}/v1beta/models?pageSize=1000`, `x-goog-api-key` | `models[].name` without `models/` |
//! | Ollama | `GET {base}/api/tags` | `models[].name` |
//! | Bedrock | `GET {base}/foundation-models`, Bearer | `modelSummaries[].modelId` |
//!
//! Azure OpenAI calls deployments, which its data-plane API doesn't list: no listing.

use std::time::Instant;

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde_json::Value;
use url::Url;

use super::classify::{ErrorInfo, generic_failure, success_json};
use super::headers::{KeyHeader, header_pair};
use super::openai_compat::join;
use super::outcome::{CheckOutcome, Failure, FailureCode};
use super::request::{CheckRequest, ValidationError};
use super::transport::{self, Probe, RawResponse};
use super::{Checker, redactor_for};
use crate::providers::catalog::{Protocol, ProviderKind};

/// The most model ids one listing keeps (a listing longer than that is cut, sorted first).
pub const MAX_MODELS: usize = 2000;

/// Whether `kind`'s endpoint can list its models.
pub fn lists_models(kind: ProviderKind) -> bool {
    kind.entry().protocol != Protocol::Azure
}

impl Checker {
    /// The models the endpoint of `req` lists, sorted and deduplicated; a failure is a
    /// failed [`CheckOutcome`] with its code and a scrubbed excerpt. `req.model` may be
    /// blank. Never panics, never returns the key in any text.
    pub async fn list_models(&self, req: &CheckRequest) -> Result<Vec<String>, CheckOutcome> {
        let started = Instant::now();
        let redactor = redactor_for(req);
        let mut req = req.clone();
        if req.model.trim().is_empty() {
            // Validation wants a model; a listing doesn't use it.
            req.model = "any".to_owned();
        }
        let timeout = self.settings.timeout;
        let run = async {
            let probe = match probe(&req) {
                Ok(probe) => probe,
                Err(invalid) => {
                    return (Err(Failure::new(invalid.code(), invalid.to_string())), None);
                }
            };
            match transport::send(&self.settings.egress, &*self.lookup, timeout, probe).await {
                Ok(resp) => (read(&req, &resp), Some(resp)),
                Err(failure) => (Err(failure), None),
            }
        };
        let (result, response) = match tokio::time::timeout(timeout, run).await {
            Ok(done) => done,
            Err(_) => (Err(transport::timed_out(timeout)), None),
        };
        let latency = started.elapsed();
        tracing::info!(
            kind = %req.kind,
            ok = result.is_ok(),
            code = result.as_ref().err().map(|f| f.code.as_str()),
            latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            "provider model listing finished"
        );
        result.map_err(|failure| CheckOutcome {
            ok: false,
            latency,
            code: Some(failure.code),
            message: redactor.scrub(&failure.message),
            excerpt: response.as_ref().and_then(|r| redactor.excerpt(&r.body)),
            http_status: response.as_ref().map(|r| r.status.as_u16()),
        })
    }
}

/// The listing request of `req`'s protocol.
fn probe(req: &CheckRequest) -> Result<Probe, ValidationError> {
    let base = req.validate()?;
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let key = req.key();
    let required = || key.ok_or(ValidationError::MissingKey);
    let url = match req.kind.entry().protocol {
        Protocol::OpenaiCompatible => {
            if let Some(key) = key {
                KeyHeader::Bearer.insert(&mut headers, key)?;
            }
            for (name, value) in &req.extra_headers {
                let (name, value) = header_pair(name, value)?;
                headers.insert(name, value);
            }
            join(&base, &["models"])
        }
        Protocol::Ollama => {
            if let Some(key) = key {
                KeyHeader::Bearer.insert(&mut headers, key)?;
            }
            join(&base, &["api", "tags"])
        }
        Protocol::Anthropic => {
            KeyHeader::Named("x-api-key").insert(&mut headers, required()?)?;
            headers.insert(
                "anthropic-version",
                HeaderValue::from_static(super::ANTHROPIC_VERSION),
            );
            with_query(join(&base, &["v1", "models"]), "limit", "1000")
        }
        Protocol::Gemini => {
            KeyHeader::Named("x-goog-api-key").insert(&mut headers, required()?)?;
            with_query(join(&base, &["v1beta", "models"]), "pageSize", "1000")
        }
        Protocol::Bedrock => {
            KeyHeader::Bearer.insert(&mut headers, required()?)?;
            join(&base, &["foundation-models"])
        }
        Protocol::Azure => {
            return Err(ValidationError::UnknownField("model list".to_owned()));
        }
    };
    Ok(Probe {
        method: Method::GET,
        url,
        headers,
        body: None,
    })
}

fn with_query(mut url: Url, name: &str, value: &str) -> Url {
    url.query_pairs_mut().append_pair(name, value);
    url
}

/// The ids in a successful answer, or the failure an error answer maps to (each
/// protocol's own mapping, as its check uses it).
fn read(req: &CheckRequest, resp: &RawResponse) -> Result<Vec<String>, Failure> {
    if resp.status.is_redirection() {
        return Err(Failure::new(
            FailureCode::BadResponse,
            format!(
                "the endpoint answered a redirect (HTTP {}), which is not followed; enter the final URL as base URL",
                resp.status.as_u16()
            ),
        ));
    }
    if !resp.status.is_success() {
        return Err(error_of(req, resp));
    }
    if resp.truncated {
        return Err(Failure::new(
            FailureCode::BadResponse,
            "the model list is larger than 1 MiB; reading stopped there",
        ));
    }
    let json = success_json(resp, "a model list")?;
    let protocol = req.kind.entry().protocol;
    let (array, field) = match protocol {
        Protocol::OpenaiCompatible | Protocol::Anthropic => ("data", "id"),
        Protocol::Ollama => ("models", "name"),
        Protocol::Gemini => ("models", "name"),
        Protocol::Bedrock => ("modelSummaries", "modelId"),
        Protocol::Azure => ("", ""),
    };
    let Some(items) = json.get(array).and_then(Value::as_array) else {
        return Err(Failure::new(
            FailureCode::BadResponse,
            format!("the endpoint answered JSON that is not a model list (no {array:?} array)"),
        ));
    };
    let mut ids: Vec<String> = items
        .iter()
        .filter_map(|m| m.get(field).and_then(Value::as_str))
        .map(|id| match protocol {
            Protocol::Gemini => id.strip_prefix("models/").unwrap_or(id),
            _ => id,
        })
        .filter(|id| is_model_id(id))
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    ids.truncate(MAX_MODELS);
    Ok(ids)
}

/// Whether a listed id can be offered as a model name (what a check would accept).
fn is_model_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 256
        && !id.chars().any(|c| c.is_whitespace() || c.is_control())
        && id != "."
        && id != ".."
}

/// An error answer, mapped by the protocol's own rules; a 404 means there is no list here.
fn error_of(req: &CheckRequest, resp: &RawResponse) -> Failure {
    if resp.status == reqwest::StatusCode::NOT_FOUND {
        return Failure::new(
            FailureCode::BadResponse,
            "the endpoint has no model list here (HTTP 404); check the base URL",
        );
    }
    let specific = match req.kind.entry().protocol {
        Protocol::OpenaiCompatible => super::openai_compat::interpret(req, resp),
        Protocol::Anthropic => super::anthropic::interpret(req, resp),
        Protocol::Gemini => super::gemini::interpret(req, resp),
        Protocol::Ollama => super::ollama::interpret(req, resp),
        Protocol::Bedrock => super::bedrock::interpret(req, resp),
        Protocol::Azure => return generic_failure(resp, &ErrorInfo::of(resp)),
    };
    specific
        .err()
        .unwrap_or_else(|| generic_failure(resp, &ErrorInfo::of(resp)))
}
