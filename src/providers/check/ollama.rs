//! Ollama: `GET {base}/api/tags` (Bearer only when a key is set, for Ollama behind an
//! authenticating proxy); the model must be pulled. `llama3` and `llama3:latest` are
//! the same model.

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use url::Url;

use super::classify::{ErrorInfo, generic_failure, model_not_listed, success_json};
use super::headers::KeyHeader;
use super::openai_compat::join;
use super::outcome::{Failure, FailureCode};
use super::request::{CheckRequest, ValidationError};
use super::transport::{Probe, RawResponse};

/// `GET {base}/api/tags`.
pub(crate) fn probe(req: &CheckRequest, base: &Url) -> Result<Probe, ValidationError> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    if let Some(key) = req.key() {
        KeyHeader::Bearer.insert(&mut headers, key)?;
    }
    Ok(Probe {
        method: Method::GET,
        url: join(base, &["api", "tags"]),
        headers,
        body: None,
    })
}

/// Reads the pulled models, or maps the error.
pub(crate) fn interpret(req: &CheckRequest, resp: &RawResponse) -> Result<String, Failure> {
    if !resp.status.is_success() {
        return Err(generic_failure(resp, &ErrorInfo::of(resp)));
    }
    let json = success_json(resp, "Ollama's model list")?;
    let Some(models) = json.get("models").and_then(|m| m.as_array()) else {
        return Err(Failure::new(
            FailureCode::BadResponse,
            "the endpoint answered JSON that is not Ollama's model list (no \"models\" array)",
        ));
    };
    let names: Vec<String> = models
        .iter()
        .filter_map(|m| {
            m.get("name")
                .or_else(|| m.get("model"))
                .and_then(|n| n.as_str())
        })
        .map(str::to_owned)
        .collect();
    match names.iter().any(|name| same_model(name, &req.model)) {
        true => Ok(format!("model {:?} is pulled on this Ollama", req.model)),
        false => Err(model_not_listed(&req.model, &names)),
    }
}

fn same_model(listed: &str, wanted: &str) -> bool {
    let bare = |s: &str| s.strip_suffix(":latest").unwrap_or(s).to_owned();
    bare(listed) == bare(wanted)
}
