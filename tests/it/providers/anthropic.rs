//! Anthropic: `POST {base}/v1/messages`, one token.

use serde_json::json;
use switchboard::providers::ProviderKind;
use switchboard::providers::check::FailureCode;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::helpers::*;

const KIND: ProviderKind = ProviderKind::Anthropic;

fn error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    json(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

fn message() -> ResponseTemplate {
    json(
        200,
        json!({"id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant",
               "model": model_for(KIND), "content": [{"type": "text", "text": "Pong"}],
               "stop_reason": "max_tokens", "stop_sequence": null,
               "usage": {"input_tokens": 8, "output_tokens": 1}}),
    )
}

fn script() -> Script {
    Script {
        success: message(),
        unauthorized: error(
            401,
            "authentication_error",
            &format!("invalid x-api-key: {}", canary_key(KIND)),
        ),
        forbidden: error(
            403,
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        model_missing: error(404, "not_found_error", "model: claude-sonnet-4-20250514"),
        rate_limited: error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        ),
        quota: error(
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        ),
        server_error: error(529, "overloaded_error", "Overloaded"),
    }
}

#[tokio::test]
async fn anthropic_maps_the_answer_matrix() {
    run_matrix(KIND, script()).await;
}

#[tokio::test]
async fn anthropic_other_errors() {
    let (outcome, _) = check_against(KIND, error(500, "api_error", "Internal server error")).await;
    assert_failed(&outcome, FailureCode::Unreachable, KIND, "500 api_error");
    let (outcome, _) = check_against(KIND, error(402, "billing_error", "Payment required")).await;
    assert_failed(
        &outcome,
        FailureCode::QuotaExhausted,
        KIND,
        "402 billing_error",
    );
    let (outcome, _) = check_against(KIND, json(200, json!({"ok": true}))).await;
    assert_failed(&outcome, FailureCode::BadResponse, KIND, "not a message");
}

#[tokio::test]
async fn anthropic_sends_a_one_token_message_with_its_headers() {
    let server = MockServer::start().await;
    let key = canary_key(KIND);
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", key.as_str()))
        .and(header("anthropic-version", "2023-06-01"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "model": model_for(KIND),
            "max_tokens": 1,
            "messages": [{"role": "user", "content": "ping"}],
        })))
        .respond_with(message())
        .expect(1)
        .mount(&server)
        .await;
    let outcome = loopback_checker().check(&request_for(KIND, &server)).await;
    assert!(outcome.ok, "{outcome:?}");
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests[0].url.query(), None);
    assert!(!requests[0].url.as_str().contains(&key));
    assert!(requests[0].headers.get("authorization").is_none());
    server.verify().await;
}
