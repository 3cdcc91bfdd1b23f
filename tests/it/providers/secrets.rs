//! Keys never leak, and key problems are caught before any request.

use secrecy::SecretString;
use serde_json::json;
use switchboard::providers::ProviderKind;
use switchboard::providers::check::{CheckRequest, FailureCode, ValidationError};
use wiremock::MockServer;

use super::helpers::*;

#[test]
fn request_debug_never_shows_the_key() {
    let mut req = CheckRequest::new(ProviderKind::Openai, "gpt-4o");
    req.api_key = Some(SecretString::from(canary_key(ProviderKind::Openai)));
    let shown = format!("{req:?}");
    assert!(!shown.contains("CANARY"), "{shown}");
    assert!(shown.contains("REDACTED"), "{shown}");
}

#[tokio::test]
async fn a_key_echoed_whole_or_in_part_is_removed_from_the_excerpt() {
    let kind = ProviderKind::Openai;
    let key = canary_key(kind);
    let echo = format!(
        "key={key} prefix={} tail={} url-encoded={}",
        &key[..14],
        &key[key.len() - 12..],
        key.replace('-', "%2D")
    );
    let (outcome, _) = check_against(kind, json(401, json!({"error": {"message": echo}}))).await;
    assert_failed(&outcome, FailureCode::AuthRejected, kind, "echo");
    let excerpt = outcome.excerpt.expect("an excerpt");
    assert!(excerpt.contains("[redacted]"), "{excerpt}");
    for fragment in ["CANARY-openai", "9f8e7d6c5b4a3210", "5b4a3210"] {
        assert!(!excerpt.contains(fragment), "{fragment} in {excerpt}");
    }
}

#[tokio::test]
async fn wrong_prefix_or_missing_key_fails_before_any_request() {
    let server = MockServer::start().await;
    for (kind, bad) in [
        (ProviderKind::Openai, "pk-live-123"),
        (ProviderKind::Anthropic, "sk-proj-123"),
        (ProviderKind::Xai, "sk-123"),
        (ProviderKind::Groq, "gsk-123"),
    ] {
        let mut req = request_for(kind, &server);
        req.api_key = Some(SecretString::from(bad.to_owned()));
        let expected = kind.entry().key.prefix.expect("kind has a prefix");
        assert_eq!(
            req.validate(),
            Err(ValidationError::KeyPrefix {
                label: kind.entry().label,
                expected
            })
        );
        let outcome = loopback_checker().check(&req).await;
        assert_eq!(outcome.code, Some(FailureCode::AuthRejected), "{kind}");
        assert!(
            outcome.message.contains(&format!("\"{expected}\"")),
            "{kind}: {}",
            outcome.message
        );
        assert!(
            !outcome.message.contains(bad),
            "{kind}: the key is repeated"
        );
    }
    for kind in [
        ProviderKind::Google,
        ProviderKind::Azure,
        ProviderKind::Bedrock,
        ProviderKind::Gateway,
    ] {
        let mut req = request_for(kind, &server);
        req.api_key = None;
        let outcome = loopback_checker().check(&req).await;
        assert_eq!(outcome.code, Some(FailureCode::AuthRejected), "{kind}");
        assert!(
            outcome.message.contains("required"),
            "{kind}: {}",
            outcome.message
        );
    }
    assert_eq!(server.received_requests().await.map_or(0, |r| r.len()), 0);
}

#[test]
fn base_urls_with_credentials_or_queries_are_refused() {
    for (url, code) in [
        (
            "https://user:pw@api.example.com/v1",
            FailureCode::Unreachable,
        ),
        ("https://api.example.com/v1?key=1", FailureCode::Unreachable),
        ("not a url", FailureCode::Unreachable),
        ("javascript:alert(1)", FailureCode::BlockedAddress),
    ] {
        let mut req = CheckRequest::new(ProviderKind::Custom, "m");
        req.base_url = Some(url.into());
        let err = req.validate().expect_err(url);
        assert_eq!(err.code(), code, "{url}: {err}");
    }
}
