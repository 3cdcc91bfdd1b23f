//! Azure OpenAI: a one-token chat completion on the deployment.

use serde_json::json;
use switchboard::providers::ProviderKind;
use switchboard::providers::check::FailureCode;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::helpers::*;

const KIND: ProviderKind = ProviderKind::Azure;

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    json(status, json!({"error": {"code": code, "message": message}}))
}

fn completion() -> ResponseTemplate {
    json(
        200,
        json!({"id": "chatcmpl-9", "object": "chat.completion", "created": 1_717_000_000, "model": "gpt-4o-2024-08-06",
               "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "P"}}],
               "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9}}),
    )
}

fn script() -> Script {
    Script {
        success: completion(),
        unauthorized: error(
            401,
            "401",
            &format!(
                "Access denied due to invalid subscription key {} or wrong API endpoint.",
                canary_key(KIND)
            ),
        ),
        forbidden: error(
            403,
            "403",
            "Access denied due to Virtual Network/Firewall rules.",
        ),
        model_missing: error(
            404,
            "DeploymentNotFound",
            "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
        ),
        rate_limited: error(
            429,
            "429",
            "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 2 seconds.",
        ),
        quota: error(
            403,
            "403",
            "Out of call volume quota for OpenAI API. Quota will be replenished in 2.05:04:17.",
        ),
        server_error: error(
            500,
            "InternalServerError",
            "The server had an error processing your request.",
        ),
    }
}

#[tokio::test]
async fn azure_maps_the_answer_matrix() {
    run_matrix(KIND, script()).await;
}

#[tokio::test]
async fn azure_unknown_api_version_is_bad_api_version() {
    let (outcome, _) =
        check_against(KIND, error(400, "BadRequest", "API version not supported")).await;
    assert_failed(
        &outcome,
        FailureCode::BadApiVersion,
        KIND,
        "400 API version not supported",
    );
    assert!(
        outcome.message.contains("2024-10-21"),
        "{}",
        outcome.message
    );
    let (outcome, _) = check_against(KIND, error(404, "404", "Resource not found")).await;
    assert_failed(
        &outcome,
        FailureCode::BadApiVersion,
        KIND,
        "404 Resource not found",
    );
}

#[tokio::test]
async fn azure_reasoning_deployment_refusing_max_tokens_still_passes() {
    let answer = json(
        400,
        json!({"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                         "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}}),
    );
    let (outcome, _) = check_against(KIND, answer).await;
    assert!(outcome.ok, "{outcome:?}");
}

#[tokio::test]
async fn azure_sends_one_token_chat_to_the_deployment() {
    let server = MockServer::start().await;
    let key = canary_key(KIND);
    Mock::given(method("POST"))
        .and(path("/openai/deployments/my-deploy/chat/completions"))
        .and(query_param("api-version", "2024-10-21"))
        .and(header("api-key", key.as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}),
        ))
        .respond_with(completion())
        .expect(2)
        .mount(&server)
        .await;
    let outcome = loopback_checker().check(&request_for(KIND, &server)).await;
    assert!(outcome.ok, "{outcome:?}");
    // The endpoint pasted with its /openai suffix and a trailing slash lands on the same URL.
    let mut req = request_for(KIND, &server);
    req.base_url = Some(format!("{}/openai/", server.uri()));
    let outcome = loopback_checker().check(&req).await;
    assert!(outcome.ok, "{outcome:?}");
    for request in server.received_requests().await.unwrap_or_default() {
        assert_eq!(request.url.query(), Some("api-version=2024-10-21"));
        assert!(!request.url.as_str().contains(&key));
        assert!(request.headers.get("authorization").is_none());
    }
    server.verify().await;
}

#[tokio::test]
async fn azure_missing_fields_fail_before_any_request() {
    let server = MockServer::start().await;
    let mut req = request_for(KIND, &server);
    req.api_version = None;
    let outcome = loopback_checker().check(&req).await;
    assert_failed(&outcome, FailureCode::BadApiVersion, KIND, "no api_version");
    let mut req = request_for(KIND, &server);
    req.deployment = Some("..".into());
    let outcome = loopback_checker().check(&req).await;
    assert_failed(&outcome, FailureCode::ModelNotFound, KIND, "bad deployment");
    assert_eq!(server.received_requests().await.map_or(0, |r| r.len()), 0);
}
