//! Shared arrangements for provider-check tests: a checker allowed onto loopback, one
//! request per kind aimed at a wiremock server, and the matrix of answers every kind
//! must map (success, auth, model missing, rate limit, quota, 5xx, HTML, slow, redirect).

use std::time::Duration;

use secrecy::SecretString;
use switchboard::providers::check::{
    CheckOutcome, CheckRequest, CheckSettings, Checker, FailureCode,
};
use switchboard::providers::{EgressPolicy, ProviderKind};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The timeout checks get in tests: short, so the "slow" case is quick.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(1);

/// A key for `kind` with the right prefix and a recognisable canary body.
pub fn canary_key(kind: ProviderKind) -> String {
    let prefix = kind.entry().key.prefix.unwrap_or("");
    format!("{prefix}CANARY-{}-9f8e7d6c5b4a3210", kind.as_str())
}

/// A checker whose policy admits loopback explicitly (the default stays closed).
pub fn loopback_checker() -> Checker {
    Checker::new(CheckSettings {
        egress: EgressPolicy::parse("127.0.0.0/8").expect("valid policy"),
        timeout: TEST_TIMEOUT,
    })
}

/// The model each kind's tests look for.
pub fn model_for(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Anthropic => "claude-sonnet-4-20250514",
        ProviderKind::Google => "gemini-2.5-flash",
        ProviderKind::Ollama => "llama3.1",
        ProviderKind::Bedrock => "anthropic.claude-3-5-sonnet-20240620-v1:0",
        _ => "gpt-4o",
    }
}

/// The base URL a kind's check should use against `server`.
pub fn base_url_for(kind: ProviderKind, server: &MockServer) -> String {
    match kind.entry().protocol {
        switchboard::providers::catalog::Protocol::OpenaiCompatible => {
            format!("{}/v1", server.uri())
        }
        _ => server.uri(),
    }
}

/// A complete, valid request for `kind` aimed at `server`, with the canary key.
pub fn request_for(kind: ProviderKind, server: &MockServer) -> CheckRequest {
    let mut req = CheckRequest::new(kind, model_for(kind));
    req.base_url = Some(base_url_for(kind, server));
    req.api_key = Some(SecretString::from(canary_key(kind)));
    match kind {
        ProviderKind::Azure => {
            req.deployment = Some("my-deploy".into());
            req.api_version = Some("2024-10-21".into());
        }
        ProviderKind::Bedrock => req.region = Some("us-east-1".into()),
        _ => {}
    }
    req
}

/// Runs `req` against a fresh server that answers every request with `answer`.
/// Returns the outcome and how many requests reached the server.
pub async fn check_against(kind: ProviderKind, answer: ResponseTemplate) -> (CheckOutcome, usize) {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    let outcome = loopback_checker().check(&request_for(kind, &server)).await;
    let seen = server.received_requests().await.map_or(0, |r| r.len());
    (outcome, seen)
}

/// Asserts the outcome failed with `code`, and that no key shows anywhere in it.
pub fn assert_failed(outcome: &CheckOutcome, code: FailureCode, kind: ProviderKind, case: &str) {
    assert!(
        !outcome.ok,
        "{kind}/{case}: expected {code}, got a pass: {outcome:?}"
    );
    assert_eq!(outcome.code, Some(code), "{kind}/{case}: {outcome:?}");
    assert!(!outcome.message.is_empty(), "{kind}/{case}: empty message");
    assert_no_key(outcome, kind, case);
}

/// Asserts neither the message, the excerpt nor `Debug` carries the key or a long
/// fragment of it.
pub fn assert_no_key(outcome: &CheckOutcome, kind: ProviderKind, case: &str) {
    let key = canary_key(kind);
    let shown = format!("{} {:?} {outcome:?}", outcome.message, outcome.excerpt);
    assert!(!shown.contains(&key), "{kind}/{case}: key leaked: {shown}");
    assert!(
        !shown.contains("9f8e7d6c5b4a3210"),
        "{kind}/{case}: key fragment leaked: {shown}"
    );
    if let Some(excerpt) = &outcome.excerpt {
        assert!(
            excerpt.chars().count() <= 300,
            "{kind}/{case}: excerpt too long"
        );
    }
}

/// How one kind's provider answers each situation of the matrix, and what the
/// success body (model present) and model-missing answer look like.
pub struct Script {
    pub success: ResponseTemplate,
    pub unauthorized: ResponseTemplate,
    pub forbidden: ResponseTemplate,
    pub model_missing: ResponseTemplate,
    pub rate_limited: ResponseTemplate,
    pub quota: ResponseTemplate,
    pub server_error: ResponseTemplate,
}

/// Runs the whole matrix for `kind`: every case gets its own server and must map to
/// its code, with no key anywhere in the outcome.
pub async fn run_matrix(kind: ProviderKind, script: Script) {
    let (pass, _) = check_against(kind, script.success.clone()).await;
    assert!(pass.ok, "{kind}/success: {pass:?}");
    assert_eq!(pass.code, None);
    assert_no_key(&pass, kind, "success");

    let cases = [
        ("401", script.unauthorized, FailureCode::AuthRejected),
        ("403", script.forbidden, FailureCode::AuthRejected),
        (
            "model missing",
            script.model_missing,
            FailureCode::ModelNotFound,
        ),
        ("429", script.rate_limited, FailureCode::RateLimited),
        ("quota", script.quota, FailureCode::QuotaExhausted),
        ("5xx", script.server_error, FailureCode::Unreachable),
        ("html", html_page(), FailureCode::BadResponse),
    ];
    for (case, answer, code) in cases {
        let (outcome, seen) = check_against(kind, answer).await;
        assert_failed(&outcome, code, kind, case);
        assert_eq!(seen, 1, "{kind}/{case}: one request expected");
    }

    let (slow, _) = check_against(kind, script.success.set_delay(Duration::from_secs(3))).await;
    assert_failed(&slow, FailureCode::Timeout, kind, "slow");
    assert!(
        slow.latency < Duration::from_millis(2500),
        "{kind}/slow: {:?}",
        slow.latency
    );

    redirect_not_followed(kind).await;
}

async fn redirect_not_followed(kind: ProviderKind) {
    let server = MockServer::start().await;
    let target = format!("{}/elsewhere", server.uri());
    let answer = ResponseTemplate::new(302).insert_header("location", target.as_str());
    Mock::given(any()).respond_with(answer).mount(&server).await;
    let outcome = loopback_checker().check(&request_for(kind, &server)).await;
    assert_failed(&outcome, FailureCode::BadResponse, kind, "redirect");
    assert!(
        outcome.message.contains("redirect"),
        "{kind}/redirect: {}",
        outcome.message
    );
    assert_eq!(outcome.http_status, Some(302));
    let seen = server.received_requests().await.unwrap_or_default();
    assert_eq!(seen.len(), 1, "{kind}/redirect: the redirect was followed");
    assert!(!seen[0].url.path().contains("elsewhere"));
}

/// A web page where an API answer was expected.
pub fn html_page() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>",
        "text/html; charset=utf-8",
    )
}

/// A JSON answer with `status`.
pub fn json(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}
