//! Amazon Bedrock: `GET {base}/foundation-models/{model}` with a Bedrock API key.

use serde_json::json;
use switchboard::providers::ProviderKind;
use switchboard::providers::check::FailureCode;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::helpers::*;

const KIND: ProviderKind = ProviderKind::Bedrock;

/// An AWS REST-JSON error: type in `x-amzn-ErrorType`, message in the body.
fn aws_error(status: u16, error_type: &str, message: &str) -> ResponseTemplate {
    json(status, json!({"message": message})).insert_header(
        "x-amzn-errortype",
        format!("{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/").as_str(),
    )
}

fn details() -> ResponseTemplate {
    let id = model_for(KIND);
    json(
        200,
        json!({"modelDetails": {"modelArn": format!("arn:aws:bedrock:us-east-1::foundation-model/{id}"),
                                "modelId": id, "modelName": "Claude 3.5 Sonnet", "providerName": "Anthropic",
                                "inputModalities": ["TEXT", "IMAGE"], "outputModalities": ["TEXT"],
                                "responseStreamingSupported": true,
                                "modelLifecycle": {"status": "ACTIVE"}}}),
    )
}

fn script() -> Script {
    Script {
        success: details(),
        unauthorized: aws_error(
            401,
            "UnrecognizedClientException",
            &format!(
                "The security token included in the request is invalid: {}",
                canary_key(KIND)
            ),
        ),
        forbidden: aws_error(
            403,
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/x is not authorized to perform: bedrock:GetFoundationModel",
        ),
        model_missing: aws_error(
            400,
            "ValidationException",
            "The provided model identifier is invalid.",
        ),
        rate_limited: aws_error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ),
        quota: aws_error(
            400,
            "ServiceQuotaExceededException",
            "Your account has exceeded its service quota.",
        ),
        server_error: aws_error(500, "InternalServerException", "Internal server error"),
    }
}

#[tokio::test]
async fn bedrock_maps_the_answer_matrix() {
    run_matrix(KIND, script()).await;
}

#[tokio::test]
async fn bedrock_resource_not_found_in_the_body_type_is_model_not_found() {
    let answer = json(
        404,
        json!({"__type": "ResourceNotFoundException", "message": "Model not found"}),
    );
    let (outcome, _) = check_against(KIND, answer).await;
    assert_failed(
        &outcome,
        FailureCode::ModelNotFound,
        KIND,
        "404 ResourceNotFound",
    );
    assert!(outcome.message.contains("us-east-1"), "{}", outcome.message);
}

#[tokio::test]
async fn bedrock_sends_get_foundation_model_with_bearer() {
    let server = MockServer::start().await;
    let key = canary_key(KIND);
    Mock::given(method("GET"))
        .and(path(format!("/foundation-models/{}", model_for(KIND))))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .respond_with(details())
        .expect(1)
        .mount(&server)
        .await;
    let outcome = loopback_checker().check(&request_for(KIND, &server)).await;
    assert!(outcome.ok, "{outcome:?}");
    assert!(outcome.message.contains("us-east-1"));
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests[0].url.query(), None);
    assert!(!requests[0].url.as_str().contains(&key));
    server.verify().await;
}

#[tokio::test]
async fn bedrock_region_must_look_like_a_region() {
    let server = MockServer::start().await;
    let mut req = request_for(KIND, &server);
    req.region = Some("evil.example.com/x".into());
    let outcome = loopback_checker().check(&req).await;
    assert_eq!(outcome.code, Some(FailureCode::Unreachable), "{outcome:?}");
    assert!(outcome.message.contains("region"), "{}", outcome.message);
    req.region = None;
    let outcome = loopback_checker().check(&req).await;
    assert!(outcome.message.contains("region"), "{}", outcome.message);
}
