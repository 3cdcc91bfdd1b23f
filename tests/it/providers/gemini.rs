//! Google Gemini: `GET {base}/v1beta/models/{model}`, key in `x-goog-api-key`.

use serde_json::json;
use switchboard::providers::ProviderKind;
use switchboard::providers::check::FailureCode;
use wiremock::matchers::{header, method, path, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::helpers::*;

const KIND: ProviderKind = ProviderKind::Google;

fn status(code: u16, status: &str, message: &str, details: serde_json::Value) -> ResponseTemplate {
    json(
        code,
        json!({"error": {"code": code, "message": message, "status": status, "details": details}}),
    )
}

fn model() -> ResponseTemplate {
    json(
        200,
        json!({"name": "models/gemini-2.5-flash", "version": "001", "displayName": "Gemini 2.5 Flash",
               "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
               "supportedGenerationMethods": ["generateContent", "countTokens"]}),
    )
}

fn script() -> Script {
    let key = canary_key(KIND);
    Script {
        success: model(),
        // Google answers a bad key with 400 INVALID_ARGUMENT / API_KEY_INVALID.
        unauthorized: status(
            400,
            "INVALID_ARGUMENT",
            &format!("API key not valid. Please pass a valid API key. ({key})"),
            json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]),
        ),
        forbidden: status(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity).",
            json!([]),
        ),
        model_missing: status(
            404,
            "NOT_FOUND",
            "models/gemini-2.5-flash is not found for API version v1beta, or is not supported for generateContent.",
            json!([]),
        ),
        rate_limited: status(
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
            json!([]),
        ),
        quota: status(
            429,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
            json!([{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]),
        ),
        server_error: status(
            503,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
            json!([]),
        ),
    }
}

#[tokio::test]
async fn gemini_maps_the_answer_matrix() {
    run_matrix(KIND, script()).await;
}

#[tokio::test]
async fn gemini_plain_401_is_auth_rejected() {
    let answer = status(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials.",
        json!([]),
    );
    let (outcome, _) = check_against(KIND, answer).await;
    assert_failed(&outcome, FailureCode::AuthRejected, KIND, "401");
}

#[tokio::test]
async fn gemini_key_goes_in_the_header_never_in_the_url() {
    let server = MockServer::start().await;
    let key = canary_key(KIND);
    Mock::given(method("GET"))
        .and(path("/v1beta/models/gemini-2.5-flash"))
        .and(header("x-goog-api-key", key.as_str()))
        .and(query_param_is_missing("key"))
        .respond_with(model())
        .expect(1)
        .mount(&server)
        .await;
    let mut req = request_for(KIND, &server);
    req.model = "models/gemini-2.5-flash".into();
    let outcome = loopback_checker().check(&req).await;
    assert!(outcome.ok, "{outcome:?}");
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests[0].url.query(), None);
    assert!(!requests[0].url.as_str().contains(&key));
    assert!(requests[0].headers.get("authorization").is_none());
    server.verify().await;
}

#[tokio::test]
async fn gemini_model_name_cannot_escape_its_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models/..%2F..%2Fadmin"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let mut req = request_for(KIND, &server);
    req.model = "../../admin".into();
    let outcome = loopback_checker().check(&req).await;
    assert_eq!(
        outcome.code,
        Some(FailureCode::ModelNotFound),
        "{outcome:?}"
    );
    server.verify().await;
}
