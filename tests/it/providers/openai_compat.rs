//! OpenAI-compatible kinds (openai, xai, groq, gateway, custom): `GET {base}/models`.

use secrecy::SecretString;
use serde_json::json;
use switchboard::providers::ProviderKind;
use switchboard::providers::check::FailureCode;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::helpers::*;

const KINDS: [ProviderKind; 5] = [
    ProviderKind::Openai,
    ProviderKind::Xai,
    ProviderKind::Groq,
    ProviderKind::Gateway,
    ProviderKind::Custom,
];

fn model_list(ids: &[&str]) -> ResponseTemplate {
    let data: Vec<_> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_715_367_049, "owned_by": "system"}))
        .collect();
    json(200, json!({"object": "list", "data": data}))
}

fn openai_error(status: u16, message: &str, kind: &str, code: &str) -> ResponseTemplate {
    json(
        status,
        json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

fn script(kind: ProviderKind) -> Script {
    let key = canary_key(kind);
    Script {
        success: model_list(&["gpt-4o-mini", "gpt-4o", "o3"]),
        unauthorized: openai_error(
            401,
            &format!(
                "Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys."
            ),
            "invalid_request_error",
            "invalid_api_key",
        ),
        forbidden: openai_error(
            403,
            "Country, region, or territory not supported",
            "request_forbidden",
            "unsupported_country_region_territory",
        ),
        model_missing: model_list(&["gpt-4o-mini", "gpt-4.1", "o3", "whisper-1"]),
        rate_limited: openai_error(
            429,
            "Rate limit reached for requests per min (RPM): Limit 3, Used 3.",
            "requests",
            "rate_limit_exceeded",
        ),
        quota: openai_error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        ),
        server_error: openai_error(
            503,
            "The engine is currently overloaded",
            "server_error",
            "overloaded",
        ),
    }
}

#[tokio::test]
async fn every_openai_compatible_kind_maps_the_answer_matrix() {
    let runs = KINDS.map(|kind| run_matrix(kind, script(kind)));
    futures_util::future::join_all(runs).await;
}

#[tokio::test]
async fn sends_get_models_with_bearer_and_nothing_in_the_url() {
    for kind in KINDS {
        let server = MockServer::start().await;
        let key = canary_key(kind);
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .and(header("authorization", format!("Bearer {key}").as_str()))
            .and(header("accept", "application/json"))
            .respond_with(model_list(&["gpt-4o"]))
            .expect(1)
            .mount(&server)
            .await;
        let outcome = loopback_checker().check(&request_for(kind, &server)).await;
        assert!(outcome.ok, "{kind}: {outcome:?}");
        let requests = server.received_requests().await.unwrap_or_default();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].url.query(), None, "{kind}");
        assert!(
            !requests[0].url.as_str().contains(&key),
            "{kind}: key in URL"
        );
        assert!(requests[0].body.is_empty(), "{kind}: GET with a body");
        server.verify().await;
    }
}

#[tokio::test]
async fn missing_model_names_the_closest_listed_ids() {
    let (outcome, _) = check_against(
        ProviderKind::Openai,
        script(ProviderKind::Openai).model_missing,
    )
    .await;
    assert_failed(
        &outcome,
        FailureCode::ModelNotFound,
        ProviderKind::Openai,
        "model missing",
    );
    assert!(
        outcome.message.contains("gpt-4o-mini"),
        "{}",
        outcome.message
    );
    assert!(
        outcome.message.contains("\"gpt-4o\""),
        "{}",
        outcome.message
    );
}

#[tokio::test]
async fn gateway_sends_extra_headers_and_never_shows_their_values() {
    let server = MockServer::start().await;
    let tenant = "hdr-secret-5e6f7a8b9c";
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("x-gateway-tenant", tenant))
        .respond_with(json(
            401,
            json!({"error": {"message": format!("tenant {tenant} unknown")}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut req = request_for(ProviderKind::Gateway, &server);
    req.extra_headers = vec![(
        "X-Gateway-Tenant".into(),
        SecretString::from(tenant.to_owned()),
    )];
    assert!(
        !format!("{req:?}").contains(tenant),
        "Debug shows a header value"
    );
    let outcome = loopback_checker().check(&req).await;
    assert_failed(
        &outcome,
        FailureCode::AuthRejected,
        ProviderKind::Gateway,
        "extra header",
    );
    let excerpt = outcome.excerpt.clone().unwrap_or_default();
    assert!(excerpt.contains("tenant [redacted] unknown"), "{excerpt}");
    assert!(!format!("{outcome:?}").contains("5e6f7a8b9c"));
}

#[tokio::test]
async fn xai_quirks_bad_key_is_400_and_no_credits_is_403() {
    let kind = ProviderKind::Xai;
    let key = canary_key(kind);
    let bad_key = json(
        400,
        json!({"code": "Client specified an invalid argument",
               "error": format!("Incorrect API key provided: {key}. You can obtain an API key from https://console.x.ai.")}),
    );
    let (outcome, _) = check_against(kind, bad_key).await;
    assert_failed(&outcome, FailureCode::AuthRejected, kind, "400 bad key");
    let no_credits = json(
        403,
        json!({"code": "The caller does not have permission to execute the specified operation",
               "error": "Your newly created team doesn't have any credits yet."}),
    );
    let (outcome, _) = check_against(kind, no_credits).await;
    assert_failed(
        &outcome,
        FailureCode::QuotaExhausted,
        kind,
        "403 no credits",
    );
}

#[tokio::test]
async fn wrong_base_url_and_odd_shapes_are_bad_responses() {
    let kind = ProviderKind::Custom;
    let (outcome, _) = check_against(
        kind,
        ResponseTemplate::new(404).set_body_string("404 page not found"),
    )
    .await;
    assert_failed(&outcome, FailureCode::BadResponse, kind, "404");
    assert!(outcome.message.contains("base URL"), "{}", outcome.message);
    let (outcome, _) = check_against(kind, json(200, json!({"models": []}))).await;
    assert_failed(&outcome, FailureCode::BadResponse, kind, "no data array");
    let (outcome, _) = check_against(kind, ResponseTemplate::new(200).set_body_string("ok")).await;
    assert_failed(&outcome, FailureCode::BadResponse, kind, "not json");
}

#[tokio::test]
async fn a_body_past_one_mebibyte_is_cut_and_refused() {
    let big = "x".repeat(2 * 1024 * 1024);
    let (outcome, _) = check_against(
        ProviderKind::Custom,
        ResponseTemplate::new(200).set_body_string(big),
    )
    .await;
    assert_failed(
        &outcome,
        FailureCode::BadResponse,
        ProviderKind::Custom,
        "2 MiB body",
    );
    assert!(outcome.message.contains("1024 KiB"), "{}", outcome.message);
}

#[tokio::test]
async fn custom_without_key_sends_no_authorization() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(model_list(&["gpt-4o"]))
        .mount(&server)
        .await;
    let mut req = request_for(ProviderKind::Custom, &server);
    req.api_key = None;
    let outcome = loopback_checker().check(&req).await;
    assert!(outcome.ok, "{outcome:?}");
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(requests[0].headers.get("authorization").is_none());
}
