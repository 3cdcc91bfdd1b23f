//! Amazon Bedrock: `GET {base}/foundation-models/{model}` on the region's control-plane
//! endpoint (`https://bedrock.{region}.amazonaws.com`) with a Bedrock API key as Bearer.

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use url::Url;

use super::classify::{ErrorInfo, generic_failure, quota, rate_limited, success_json};
use super::headers::KeyHeader;
use super::openai_compat::join;
use super::outcome::{Failure, FailureCode};
use super::request::{CheckRequest, ValidationError};
use super::transport::{Probe, RawResponse};

/// `GET {base}/foundation-models/{model}`; an ARN's `/` is percent-encoded.
pub(crate) fn probe(req: &CheckRequest, base: &Url) -> Result<Probe, ValidationError> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let key = req.key().ok_or(ValidationError::MissingKey)?;
    KeyHeader::Bearer.insert(&mut headers, key)?;
    Ok(Probe {
        method: Method::GET,
        url: join(base, &["foundation-models", &req.model]),
        headers,
        body: None,
    })
}

/// Maps AWS error types (`x-amzn-ErrorType` or `__type`).
pub(crate) fn interpret(req: &CheckRequest, resp: &RawResponse) -> Result<String, Failure> {
    let region = req.region.as_deref().unwrap_or_default().trim();
    if resp.status.is_success() {
        let json = success_json(resp, "a foundation model description")?;
        return match json
            .get("modelDetails")
            .and_then(|d| d.get("modelId"))
            .and_then(|m| m.as_str())
        {
            Some(id) => Ok(format!("key accepted; model {id:?} is offered in {region}")),
            None => Err(Failure::new(
                FailureCode::BadResponse,
                "the endpoint answered JSON that is not a Bedrock model description",
            )),
        };
    }
    let info = ErrorInfo::of(resp);
    let code = resp.status.as_u16();
    let is = |t: &str| info.has_tag(t) || info.tag_contains(&format!("#{t}"));
    if is("resourcenotfoundexception") || is("validationexception") || code == 404 {
        return Err(Failure::new(
            FailureCode::ModelNotFound,
            format!(
                "Bedrock in {region} has no foundation model {:?}",
                req.model
            ),
        ));
    }
    if is("servicequotaexceededexception") {
        return Err(quota(code));
    }
    if is("throttlingexception") || is("toomanyrequestsexception") {
        return Err(rate_limited(code));
    }
    let auth = [
        "accessdeniedexception",
        "unrecognizedclientexception",
        "expiredtokenexception",
        "invalidsignatureexception",
    ];
    if auth.iter().any(|t| is(t)) {
        return Err(Failure::new(
            FailureCode::AuthRejected,
            format!("Bedrock rejected the key (HTTP {code})"),
        ));
    }
    Err(generic_failure(resp, &info))
}
