//! Ollama: `GET {base}/api/tags`, model pulled.

use secrecy::SecretString;
use serde_json::json;
use switchboard::providers::ProviderKind;
use switchboard::providers::check::FailureCode;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::helpers::*;

const KIND: ProviderKind = ProviderKind::Ollama;

fn tags(names: &[&str]) -> ResponseTemplate {
    let models: Vec<_> = names
        .iter()
        .map(|n| json!({"name": n, "model": n, "modified_at": "2024-12-01T10:00:00Z", "size": 4_661_224_676_u64,
                        "digest": "a80c4f17acd5", "details": {"family": "llama", "parameter_size": "8.0B"}}))
        .collect();
    json(200, json!({"models": models}))
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    json(status, json!({"error": message}))
}

fn script() -> Script {
    Script {
        // "llama3.1" is the same model as "llama3.1:latest".
        success: tags(&["llama3.1:latest", "qwen2.5-coder:7b"]),
        unauthorized: error(401, &format!("invalid bearer token {}", canary_key(KIND))),
        forbidden: error(403, "forbidden"),
        model_missing: tags(&["llama3.2:latest", "qwen2.5-coder:7b"]),
        rate_limited: error(429, "too many requests"),
        quota: error(402, "usage limit reached for this plan"),
        server_error: error(500, "llama runner process has terminated: signal: killed"),
    }
}

#[tokio::test]
async fn ollama_maps_the_answer_matrix() {
    run_matrix(KIND, script()).await;
}

#[tokio::test]
async fn ollama_accepts_latest_either_way_and_suggests_close_names() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/tags"))
        .respond_with(tags(&["llama3.1"]))
        .mount(&server)
        .await;
    let mut req = request_for(KIND, &server);
    req.model = "llama3.1:latest".into();
    assert!(loopback_checker().check(&req).await.ok);

    let (outcome, _) = check_against(KIND, script().model_missing).await;
    assert!(
        outcome.message.contains("llama3.2:latest"),
        "{}",
        outcome.message
    );
}

#[tokio::test]
async fn ollama_sends_bearer_only_when_a_key_is_set() {
    let server = MockServer::start().await;
    let key = canary_key(KIND);
    Mock::given(method("GET"))
        .and(path("/api/tags"))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .respond_with(tags(&["llama3.1:latest"]))
        .expect(1)
        .mount(&server)
        .await;
    assert!(
        loopback_checker()
            .check(&request_for(KIND, &server))
            .await
            .ok
    );
    server.verify().await;

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/tags"))
        .respond_with(tags(&["llama3.1:latest"]))
        .mount(&server)
        .await;
    let mut req = request_for(KIND, &server);
    req.api_key = Some(SecretString::from(String::new()));
    assert!(loopback_checker().check(&req).await.ok);
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(requests[0].headers.get("authorization").is_none());
    assert_eq!(requests[0].url.query(), None);
}

#[tokio::test]
async fn ollama_needs_a_base_url() {
    let server = MockServer::start().await;
    let mut req = request_for(KIND, &server);
    req.base_url = None;
    let outcome = loopback_checker().check(&req).await;
    assert_failed(&outcome, FailureCode::Unreachable, KIND, "no base URL");
    assert!(outcome.message.contains("base URL"), "{}", outcome.message);
}
