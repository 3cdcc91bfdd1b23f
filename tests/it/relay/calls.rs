//! Calls that go through: per protocol, the caller's token taken from the header its SDK
//! uses, the provider's key injected in the provider's own header, the caller's
//! credentials and other headers stripped, the path mapped onto the base URL, and answers
//! streamed back chunk by chunk.

use std::time::Duration;

use switchboard::providers::ProviderKind;

use super::upstream::{Reply, Seen, Upstream};
use super::{KEY, Kind, chat, http, refused, world};

fn openai_answers(seen: &Seen) -> Reply {
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
    match (seen.method.as_str(), seen.target.as_str()) {
        ("GET", "/models") => Reply::Json(200, r#"{"data":[{"id":"gpt-relay"}]}"#.into()),
        ("POST", "/chat/completions") if body["stream"] == true => Reply::Events(vec![
            "data: {\"choices\":[{\"delta\":{\"content\":\"first\"}}]}\n\n".into(),
            "data: {\"choices\":[{\"delta\":{\"content\":\"second\"}}]}\n\n".into(),
            "data: [DONE]\n\n".into(),
        ]),
        ("POST", "/chat/completions") => Reply::Json(
            200,
            r#"{"id":"c1","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":7,"completion_tokens":2}}"#.into(),
        ),
        _ => Reply::Json(404, r#"{"error":{"message":"no"}}"#.into()),
    }
}

#[tokio::test]
async fn an_openai_call_carries_the_providers_key_and_none_of_the_callers_headers() {
    let upstream = Upstream::start(openai_answers).await;
    let w = world(&[], Kind::openai(), &upstream.url).await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();

    let body = chat("gpt-relay", false);
    let res = http()
        .post(format!("{}/chat/completions", w.base("summaries")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("openai-beta", "assistants=v2")
        .header("openai-organization", "org-caller")
        .header("openai-project", "proj-caller")
        .header("cookie", "switchboard_session=abc")
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-api-key", "swb_second_copy")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["x-upstream"],
        "yes",
        "the provider's headers pass"
    );
    assert!(res.headers().get("set-cookie").is_none(), "cookies don't");
    let text = res.text().await.unwrap();
    assert!(
        text.contains("\"prompt_tokens\":7") && !text.contains(KEY),
        "{text}"
    );

    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    let call = &seen[0];
    assert_eq!(
        (call.method.as_str(), call.target.as_str()),
        ("POST", "/chat/completions")
    );
    assert_eq!(call.body, body.as_bytes(), "the body passes unchanged");
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(call.header("openai-beta"), Some("assistants=v2"));
    assert_eq!(call.header("content-type"), Some("application/json"));
    for stripped in [
        "cookie",
        "x-forwarded-for",
        "openai-organization",
        "openai-project",
        "x-api-key",
    ] {
        assert_eq!(
            call.header(stripped),
            None,
            "{stripped} reached the upstream"
        );
    }
    assert!(
        !format!("{:?}", call.headers).contains(&token),
        "the Switchboard token reached the upstream"
    );

    // Listing models is free; another model than the routed one is refused, unsent.
    let res = http()
        .get(format!("{}/models", w.base("summaries")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = http()
        .post(format!("{}/chat/completions", w.base("summaries")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(chat("gpt-other", false))
        .send()
        .await
        .unwrap();
    let body = refused(res, 409).await;
    assert_eq!(body["error"]["reasonCode"], "model_not_routed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gpt-relay")
    );
    assert_eq!(upstream.requests().len(), 2, "the refused call never left");
}

#[tokio::test]
async fn a_stream_arrives_chunk_by_chunk_while_the_upstream_still_holds_the_rest() {
    let upstream = Upstream::start(openai_answers).await;
    let w = world(&[], Kind::openai(), &upstream.url).await;
    let token = w.relay_token().await;

    let mut res = http()
        .post(format!("{}/chat/completions", w.base("assistant")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("accept-encoding", "gzip")
        .body(chat("gpt-relay", true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_ne!(
        res.headers().get("content-encoding").map(|v| v.as_bytes()),
        Some(&b"gzip"[..]),
        "a stream is never compressed (compression buffers)"
    );
    // The upstream holds everything after the first event until told to go.
    let first = tokio::time::timeout(Duration::from_secs(5), res.chunk())
        .await
        .expect("the first event arrives before the upstream finishes")
        .unwrap()
        .unwrap();
    let first = String::from_utf8_lossy(&first).into_owned();
    assert!(
        first.contains("first") && !first.contains("second"),
        "{first}"
    );
    upstream.go();
    let mut rest = String::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        rest.contains("second") && rest.ends_with("data: [DONE]\n\n"),
        "{rest}"
    );
}

#[tokio::test]
async fn anthropic_calls_carry_the_key_in_x_api_key_and_their_version_headers() {
    let upstream = Upstream::start(|seen: &Seen| match seen.target.as_str() {
        "/v1/messages" => Reply::Events(vec![
            "event: message_start\ndata: {}\n\n".into(),
            "event: message_stop\ndata: {}\n\n".into(),
        ]),
        _ => Reply::Json(404, "{}".into()),
    })
    .await;
    let kind = Kind {
        kind: ProviderKind::Anthropic,
        model: "claude-relay",
        deployment: None,
        key: Some(KEY),
        headers: &[],
    };
    let w = world(&[], kind, &upstream.url).await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();
    let body = serde_json::json!({"model": "claude-relay", "max_tokens": 5, "stream": true,
        "messages": [{"role": "user", "content": "hi"}]})
    .to_string();
    let mut res = http()
        .post(format!("{}/v1/messages", w.base("summaries")))
        .header("x-api-key", &token)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "prompt-caching-2024-07-31")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let first = res.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("message_start"));
    upstream.go();
    while res.chunk().await.unwrap().is_some() {}
    let call = &upstream.requests()[0];
    assert_eq!(call.target, "/v1/messages");
    assert_eq!(call.header("x-api-key"), Some(KEY));
    assert_eq!(call.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        call.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(call.header("authorization"), None);
}

#[tokio::test]
async fn gemini_azure_and_ollama_paths_map_onto_the_base_url_with_their_own_credentials() {
    let answer = |_: &Seen| Reply::Json(200, r#"{"usage":{"input_tokens":1}}"#.into());
    // Gemini: the model is in the path; the key in x-goog-api-key, never in the query.
    let upstream = Upstream::start(answer).await;
    let kind = Kind {
        kind: ProviderKind::Google,
        model: "gemini-relay",
        deployment: None,
        key: Some(KEY),
        headers: &[],
    };
    let w = world(&[], kind, &upstream.url).await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();
    let url = format!(
        "{}/v1beta/models/gemini-relay:streamGenerateContent?alt=sse&key=caller",
        w.base("summaries")
    );
    let res = http()
        .post(&url)
        .header("x-goog-api-key", &token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let call = &upstream.requests()[0];
    assert_eq!(
        call.target,
        "/v1beta/models/gemini-relay:streamGenerateContent?alt=sse"
    );
    assert_eq!(call.header("x-goog-api-key"), Some(KEY));
    let other = url.replace("gemini-relay:", "gemini-other:");
    let res = http()
        .post(other)
        .header("x-goog-api-key", &token)
        .header("content-length", "2")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(res, 409).await["error"]["reasonCode"],
        "model_not_routed"
    );

    // Azure: the deployment's paths, the key in api-key, the api-version kept.
    let upstream = Upstream::start(answer).await;
    let kind = Kind {
        kind: ProviderKind::Azure,
        model: "gpt-4o",
        deployment: Some("dep1"),
        key: Some(KEY),
        headers: &[],
    };
    let w = world(&[], kind, &upstream.url).await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();
    let res = http()
        .post(format!(
            "{}/openai/deployments/dep1/chat/completions?api-version=2024-10-21",
            w.base("summaries")
        ))
        .header("api-key", &token)
        .header("content-type", "application/json")
        .body(chat("dep1", false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let call = &upstream.requests()[0];
    assert_eq!(
        call.target,
        "/openai/deployments/dep1/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(call.header("api-key"), Some(KEY));

    // Ollama without a key: nothing injected, nothing of the caller's passed.
    let upstream = Upstream::start(answer).await;
    let kind = Kind {
        kind: ProviderKind::Ollama,
        model: "llama-relay",
        deployment: None,
        key: None,
        headers: &[],
    };
    let w = world(&[], kind, &upstream.url).await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();
    let res = http()
        .post(format!("{}/api/chat", w.base("summaries")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"model":"llama-relay","messages":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let call = &upstream.requests()[0];
    assert_eq!(call.target, "/api/chat");
    assert_eq!(call.header("authorization"), None);
}

/// A gateway's extra headers value: must reach the upstream and never show anywhere else.
const TENANT: &str = "tenant-CANARY-5e1d9a77";

#[tokio::test]
async fn a_gateways_extra_headers_are_sent_after_the_key_and_scrubbed_from_errors() {
    // The upstream echoes the tenant header back in a refusal (as a misconfigured gateway
    // might), so the relay's redaction of it is seen.
    let upstream = Upstream::start(|seen: &Seen| {
        let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
        if body["messages"][0]["content"] == "fail" {
            let echoed = seen.header("x-tenant").unwrap_or("").to_owned();
            return Reply::Json(
                403,
                format!(r#"{{"error":{{"message":"tenant {echoed} is not allowed"}}}}"#),
            );
        }
        openai_answers(seen)
    })
    .await;
    let _logs = crate::canary::log_capture();
    let kind = Kind::gateway(&[("X-Tenant", TENANT)]);
    let w = world(&[], kind, &upstream.url).await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();

    let res = http()
        .post(format!("{}/chat/completions", w.base("summaries")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        // A caller can't set (or override) the gateway's header.
        .header("x-tenant", "caller-chosen")
        .body(chat("gpt-relay", false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains(TENANT) && !text.contains(KEY), "{text}");
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("x-tenant"), Some(TENANT));
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );

    let failing = serde_json::json!({
        "model": "gpt-relay",
        "messages": [{"role": "user", "content": "fail"}],
    })
    .to_string();
    let res = http()
        .post(format!("{}/chat/completions", w.base("summaries")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(failing)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "the upstream's status passes through");
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(TENANT),
        "the header's value is scrubbed from the error: {text}"
    );
    assert!(
        text.contains("is not allowed"),
        "the rest of the error passes: {text}"
    );
    let logs = String::from_utf8_lossy(&crate::canary::log_capture().lock().unwrap()).into_owned();
    assert!(
        !logs.contains(TENANT),
        "the header's value is in a log line"
    );
}

/// Bedrock's runtime API with a Bedrock API key: the model is one path segment (as boto3
/// percent-encodes it) and must be the routed one; the key goes as a bearer token; the
/// caller's own signing headers never pass; an event stream comes back as it is.
#[tokio::test]
async fn bedrock_runtime_calls_carry_the_key_as_a_bearer_token_and_only_the_routed_model() {
    let answer = |seen: &Seen| {
        if seen.target.ends_with("/converse-stream") {
            Reply::Flow(vec!["\u{0}\u{0}\u{0}event-one".into(), "event-two".into()])
        } else {
            Reply::Json(200, r#"{"output":{"message":{"content":[{"text":"hi"}]}},"usage":{"inputTokens":3,"outputTokens":1}}"#.into())
        }
    };
    let upstream = Upstream::start(answer).await;
    let kind = Kind {
        kind: ProviderKind::Bedrock,
        model: "anthropic.claude-3-haiku-20240307-v1:0",
        deployment: None,
        key: Some(KEY),
        headers: &[],
    };
    let w = world(&[], kind, &upstream.url).await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();
    let send = async |op: &str, model: &str| {
        http()
            .post(format!("{}/model/{model}/{op}", w.base("summaries")))
            .bearer_auth(&token)
            .header("x-amz-date", "20261203T000000Z")
            .header("x-amz-security-token", "caller-session")
            .header("content-type", "application/json")
            .body(r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#)
            .send()
            .await
            .unwrap()
    };

    let res = send("converse", "anthropic.claude-3-haiku-20240307-v1%3A0").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("inputTokens"));
    let call = &upstream.requests()[0];
    assert_eq!(
        call.target,
        "/model/anthropic.claude-3-haiku-20240307-v1:0/converse"
    );
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(call.header("x-amz-date"), None);
    assert_eq!(call.header("x-amz-security-token"), None);

    let res = send(
        "converse-stream",
        "anthropic.claude-3-haiku-20240307-v1%3A0",
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("event-one"));

    // Another model: 409 model_not_routed, the upstream untouched; another verb: 404.
    let before = upstream.requests().len();
    let res = send("converse", "amazon.titan-text-express-v1").await;
    assert_eq!(
        refused(res, 409).await["error"]["reasonCode"],
        "model_not_routed"
    );
    let res = send("delete", "anthropic.claude-3-haiku-20240307-v1%3A0").await;
    assert_eq!(res.status(), 404);
    assert_eq!(upstream.requests().len(), before);
}
