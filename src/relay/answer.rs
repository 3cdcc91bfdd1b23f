//! What the relay answers: its own refusals (the API's JSON error shape, `x-should-retry`),
//! upstream errors passed through redacted, and upstream answers streamed chunk by chunk —
//! each relayed call recorded once with the health loop (`ops::health`) when it ends,
//! however it ends (finished, failed, or dropped by a client that went away).

use std::time::{Duration, Instant};

use actix_web::{
    HttpResponse,
    http::{
        StatusCode,
        header::{self, HeaderName, HeaderValue},
    },
    web,
};
use bytes::Bytes;
use serde_json::{Value, json};

use super::protocol::response_header_passes;
use crate::{
    ops::health::{self, CallOutcome},
    providers::check::FailureCode,
    routing::{Feature, ReasonCode},
    state::AppState,
};

/// The header naming an upstream failure in the checks' taxonomy.
pub const ERROR_CODE_HEADER: &str = "x-switchboard-error-code";

/// How much of an answer is kept to read its usage from, and of an error body to show.
const CAPTURE: usize = 256 * 1024;
const ERROR_BODY_CAP: usize = 64 * 1024;

/// A refusal of the relay's own: `{"error": {"code", "message", "reasonCode"?}}` with
/// `x-should-retry` (`false` unless waiting may help: the SDKs retry 409/5xx otherwise).
pub fn refusal(
    status: StatusCode,
    code: &str,
    message: &str,
    reason: Option<ReasonCode>,
    retry: Option<u64>,
) -> HttpResponse {
    let mut error = json!({"code": code, "message": message});
    if let Some(reason) = reason {
        error["reasonCode"] = json!(reason);
        error["askAgain"] = json!(reason.ask_again());
    }
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    match retry {
        Some(seconds) => {
            res.insert_header((header::RETRY_AFTER, seconds.to_string()));
            res.insert_header(("x-should-retry", "true"));
        }
        None => {
            let again = reason.is_some_and(ReasonCode::ask_again);
            res.insert_header(("x-should-retry", again.to_string()));
        }
    }
    res.json(json!({ "error": error }))
}

/// A failure to reach the provider (no answer at all): 504 for a timeout, 502 otherwise,
/// with the taxonomy code in [`ERROR_CODE_HEADER`]. A blocked address is not worth a retry.
pub fn unreachable(code: FailureCode, message: &str) -> HttpResponse {
    let status = match code {
        FailureCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    };
    let retry = !matches!(code, FailureCode::BlockedAddress | FailureCode::BadResponse);
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((ERROR_CODE_HEADER, code.as_str()))
        .insert_header(("x-should-retry", retry.to_string()))
        .json(json!({"error": {"code": code.as_str(), "message": message}}))
}

/// The taxonomy code of an upstream error status (and body).
pub fn code_of(status: u16, body: &[u8]) -> FailureCode {
    let says = |words: &[&str]| {
        let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_lowercase();
        words.iter().any(|w| text.contains(w))
    };
    match status {
        401 | 403 => FailureCode::AuthRejected,
        402 => FailureCode::QuotaExhausted,
        404 => FailureCode::ModelNotFound,
        429 if says(&["quota", "billing", "credit"]) => FailureCode::QuotaExhausted,
        429 => FailureCode::RateLimited,
        500..=599 => FailureCode::Unreachable,
        _ => FailureCode::BadResponse,
    }
}

/// One relayed call, recorded with the health loop exactly once, when it is dropped.
pub struct Call {
    pub state: web::Data<AppState>,
    pub org_id: i64,
    pub feature: Feature,
    pub provider_id: String,
    pub started: Instant,
    pub status: Option<u16>,
    pub code: Option<FailureCode>,
    /// The answer so far, for its usage (JSON answers only, up to [`CAPTURE`] bytes).
    capture: Option<Vec<u8>>,
    /// Held for the call's lifetime: the token's place in its concurrency allowance.
    pub slot: Option<super::limits::TokenSlot>,
}

impl Call {
    pub fn new(
        state: web::Data<AppState>,
        org_id: i64,
        feature: Feature,
        provider_id: String,
        started: Instant,
    ) -> Self {
        Self {
            state,
            org_id,
            feature,
            provider_id,
            started,
            status: None,
            code: None,
            capture: None,
            slot: None,
        }
    }

    fn keep(&mut self, chunk: &[u8]) {
        if let Some(buf) = &mut self.capture {
            if buf.len() + chunk.len() > CAPTURE {
                self.capture = None;
            } else {
                buf.extend_from_slice(chunk);
            }
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let (input_tokens, output_tokens) = self
            .capture
            .as_deref()
            .filter(|_| self.code.is_none())
            .map_or((None, None), usage);
        health::record(
            &self.state,
            CallOutcome {
                org_id: self.org_id,
                feature: self.feature,
                provider_id: std::mem::take(&mut self.provider_id),
                status: self.status,
                code: self.code,
                latency: self.started.elapsed(),
                input_tokens,
                output_tokens,
            },
        );
    }
}

/// The tokens a JSON answer reports: OpenAI (`usage.prompt_tokens`/`completion_tokens`),
/// Anthropic (`usage.input_tokens`/`output_tokens`), Gemini (`usageMetadata`), Ollama
/// (`prompt_eval_count`/`eval_count`).
pub fn usage(body: &[u8]) -> (Option<u64>, Option<u64>) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64);
    if let Some(u) = v.get("usage") {
        return (
            n(u, "prompt_tokens").or_else(|| n(u, "input_tokens")),
            n(u, "completion_tokens").or_else(|| n(u, "output_tokens")),
        );
    }
    if let Some(u) = v.get("usageMetadata") {
        return (n(u, "promptTokenCount"), n(u, "candidatesTokenCount"));
    }
    (n(&v, "prompt_eval_count"), n(&v, "eval_count"))
}

/// Copies the upstream's response headers that may pass onto `res`.
fn copy_headers(res: &mut HttpResponse, upstream: &reqwest::header::HeaderMap) {
    for (name, value) in upstream {
        if !response_header_passes(name.as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            res.headers_mut().append(n, v);
        }
    }
    // Compression would buffer a stream: the relay passes the body as it comes.
    if !res.headers().contains_key(header::CONTENT_ENCODING) {
        res.headers_mut().insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static("identity"),
        );
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn status_of(resp: &reqwest::Response) -> StatusCode {
    StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY)
}

/// An upstream error answer: its status and headers, its body (capped) with every secret
/// the call carried removed, and the taxonomy code in [`ERROR_CODE_HEADER`].
pub(crate) async fn upstream_error(
    mut resp: reqwest::Response,
    redactor: &crate::providers::check::Redactor,
    call: &mut Call,
) -> HttpResponse {
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = ERROR_BODY_CAP - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= ERROR_BODY_CAP {
            break;
        }
    }
    let code = code_of(status, &body);
    call.status = Some(status);
    call.code = Some(code);
    let text = redactor.scrub(&String::from_utf8_lossy(&body));
    let mut res = HttpResponse::build(status_of(&resp)).body(text);
    copy_headers(&mut res, resp.headers());
    res.headers_mut().insert(
        HeaderName::from_static(ERROR_CODE_HEADER),
        HeaderValue::from_static(code.as_str()),
    );
    res
}

/// A successful upstream answer, streamed back chunk by chunk as it arrives. Dropping the
/// stream (the client went away) drops the upstream response, which closes its connection.
pub fn stream(resp: reqwest::Response, mut call: Call) -> HttpResponse {
    call.status = Some(resp.status().as_u16());
    let json = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if json {
        call.capture = Some(Vec::new());
    }
    let mut res = HttpResponse::build(status_of(&resp)).finish();
    copy_headers(&mut res, resp.headers());
    let body = futures_util::stream::unfold(Some((resp, call)), |state| async move {
        let (mut resp, mut call) = state?;
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                call.keep(&chunk);
                Some((Ok::<Bytes, std::io::Error>(chunk), Some((resp, call))))
            }
            Ok(None) => None,
            Err(e) => {
                let failure = super::egress::classify(&e);
                call.code = Some(failure.code);
                tracing::warn!(
                    provider = %call.provider_id,
                    code = failure.code.as_str(),
                    "relay: the provider's answer broke off"
                );
                Some((Err(std::io::Error::other(failure.message)), None))
            }
        }
    });
    res.set_body(actix_web::body::BoxBody::new(
        actix_web::body::BodyStream::new(body),
    ))
}

/// Whole seconds, at least one (for `Retry-After`).
pub fn seconds(d: Duration) -> u64 {
    d.as_secs().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_statuses_map_to_the_taxonomy() {
        assert_eq!(code_of(401, b""), FailureCode::AuthRejected);
        assert_eq!(code_of(403, b""), FailureCode::AuthRejected);
        assert_eq!(code_of(404, b""), FailureCode::ModelNotFound);
        assert_eq!(code_of(429, b"slow down"), FailureCode::RateLimited);
        assert_eq!(
            code_of(429, br#"{"error":{"code":"insufficient_quota"}}"#),
            FailureCode::QuotaExhausted
        );
        assert_eq!(code_of(503, b""), FailureCode::Unreachable);
        assert_eq!(code_of(400, b""), FailureCode::BadResponse);
    }

    #[test]
    fn usage_is_read_from_each_providers_shape() {
        let u = |s: &str| usage(s.as_bytes());
        assert_eq!(
            u(r#"{"usage":{"prompt_tokens":7,"completion_tokens":2}}"#),
            (Some(7), Some(2))
        );
        assert_eq!(
            u(r#"{"usage":{"input_tokens":3,"output_tokens":4}}"#),
            (Some(3), Some(4))
        );
        assert_eq!(
            u(r#"{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":6}}"#),
            (Some(5), Some(6))
        );
        assert_eq!(
            u(r#"{"prompt_eval_count":8,"eval_count":9}"#),
            (Some(8), Some(9))
        );
        assert_eq!(u("data: {}"), (None, None));
    }
}
