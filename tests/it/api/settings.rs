//! `GET|PATCH /api/v1/orgs/{org}/ai-settings` over real HTTP: the active provider, policy,
//! Insights, prompt variant and what runs where, changed through their operations, with
//! ETag/If-Match — and the canary key in no answer.

use crate::api::traffic::SendChecked as _;
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use super::{
    all_scopes, app_with_org,
    providers::{MEMBER_SCOPES, Recorder, counts, new_anthropic},
    token,
};
use crate::provider_ops::{BAD_KEY, GOOD_KEY, anthropic_mock};

/// A self-hosted OpenAI-compatible server on loopback listing `llama3`.
async fn self_hosted() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "llama3"}]})))
        .mount(&server)
        .await;
    server
}

/// `feature` → (servedBy, model) of a settings answer.
fn served(settings: &Value, feature: &str) -> (String, Option<String>) {
    let row = settings["whatRunsWhere"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["feature"] == feature)
        .unwrap_or_else(|| panic!("no row for {feature}"));
    (
        row["servedBy"].as_str().unwrap().to_owned(),
        row["model"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn settings_show_what_runs_where_and_change_through_their_operations() {
    let (app, org, ada, mia) = app_with_org().await;
    let anthropic = anthropic_mock().await;
    let local = self_hosted().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let member = token(&app, &org, &mia, &MEMBER_SCOPES, None).await;
    let mut api = Recorder::new(&app);

    // The defaults: the platform serves everything but Insights, which are off.
    let start = api.call(Method::GET, "/ai-settings", &admin, None).await;
    assert_eq!(start.status, 200, "{}", start.body);
    let s = &start.body;
    assert!(s["activeProvider"].is_null());
    assert_eq!(s["routingPolicy"], "fallback");
    assert_eq!(s["insightsEnabled"], false);
    assert_eq!(s["promptVariant"], "platform");
    assert_eq!(start.etag(), format!("\"v{}\"", s["lockVersion"]));
    let rows = s["whatRunsWhere"].as_array().unwrap();
    let features: Vec<&str> = rows
        .iter()
        .map(|r| r["feature"].as_str().unwrap())
        .collect();
    assert_eq!(
        features,
        [
            "assistant",
            "insights",
            "cicd_generation",
            "incident_analysis",
            "summaries",
            "stack_descriptions",
            "triage",
            "severity_grading",
            "fix_proposals"
        ]
    );
    assert_eq!(served(s, "assistant").0, "platform");
    assert_eq!(served(s, "insights"), ("unavailable".to_owned(), None));
    let member_view = api.call(Method::GET, "/ai-settings", &member, None).await;
    assert_eq!(member_view.status, 200);
    assert_eq!(member_view.body, start.body);

    // Two providers: Anthropic (tools) and a self-hosted one without tool calling.
    let claude = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic("Claude", &anthropic.uri(), GOOD_KEY)),
        )
        .await;
    assert_eq!(claude.status, 201, "{}", claude.body);
    let claude_id = claude.body["id"].as_str().unwrap().to_owned();
    let llama = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(
                json!({"provider": "custom", "name": "Llama", "defaultModel": "llama3",
                        "baseUrl": format!("{}/v1", local.uri()),
                        "config": {"supportsTools": false}}),
            ),
        )
        .await;
    assert_eq!(llama.status, 201, "{}", llama.body);
    assert_eq!(llama.body["config"], json!({"supportsTools": false}));
    assert_eq!(llama.body["keySet"], false);
    let llama_id = llama.body["id"].as_str().unwrap().to_owned();

    // A member may read but not change.
    let before = counts(&app).await;
    let denied = api
        .call(
            Method::PATCH,
            "/ai-settings",
            &member,
            Some(json!({"routingPolicy": "strict"})),
        )
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.error_code(), "forbidden");
    assert_eq!(counts(&app).await, before);

    // Activate Claude and turn Insights on in one PATCH: Claude serves everything.
    let current = api.call(Method::GET, "/ai-settings", &admin, None).await;
    let on = api
        .send(
            api.req(Method::PATCH, "/ai-settings", Some(&admin))
                .header("if-match", current.etag())
                .json(&json!({"activeProviderId": claude_id, "insightsEnabled": true})),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    let s = &on.body;
    assert_eq!(
        s["activeProvider"],
        json!({"id": claude_id, "name": "Claude"})
    );
    assert_eq!(s["promptVariant"], "anthropic-native");
    assert_eq!(s["insightsEnabled"], true);
    for row in s["whatRunsWhere"].as_array().unwrap() {
        assert_eq!(row["servedBy"], "byo", "{row}");
        assert_eq!(row["providerId"], claude_id.as_str());
        assert_eq!(row["provider"], "anthropic");
        assert_eq!(row["model"], "claude-sonnet-4-20250514");
    }
    assert_eq!(on.etag(), format!("\"v{}\"", s["lockVersion"]));
    assert_eq!(app.audit_count("provider.activated").await, 1);
    assert_eq!(app.audit_count("insights.enabled").await, 1);

    // The old ETag is stale: 412, nothing changed.
    let before = counts(&app).await;
    let stale = api
        .send(
            api.req(Method::PATCH, "/ai-settings", Some(&admin))
                .header("if-match", current.etag())
                .json(&json!({"routingPolicy": "strict"})),
        )
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.error_code(), "precondition_failed");
    assert_eq!(counts(&app).await, before);

    // The same active provider again is no change (no second activation, no event).
    let same = api
        .send(
            api.req(Method::PATCH, "/ai-settings", Some(&admin))
                .header("if-match", on.etag())
                .json(&json!({"activeProviderId": claude_id, "insightsEnabled": true})),
        )
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(same.etag(), on.etag());
    assert_eq!(app.audit_count("provider.activated").await, 1);

    // The self-hosted provider without tools: with fallback the platform serves the
    // tool-using features; with strict they are unavailable.
    let local_on = api
        .call(
            Method::PATCH,
            "/ai-settings",
            &admin,
            Some(json!({"activeProviderId": llama_id})),
        )
        .await;
    assert_eq!(local_on.status, 200, "{}", local_on.body);
    let s = &local_on.body;
    assert_eq!(s["promptVariant"], "openai-compatible");
    assert_eq!(served(s, "assistant").0, "platform");
    assert_eq!(served(s, "insights").0, "platform");
    assert_eq!(
        served(s, "summaries"),
        ("byo".to_owned(), Some("llama3".to_owned()))
    );
    let strict = api
        .send(
            api.req(Method::PATCH, "/ai-settings", Some(&admin))
                .header("if-match", local_on.etag())
                .json(&json!({"routingPolicy": "strict"})),
        )
        .await;
    assert_eq!(strict.status, 200, "{}", strict.body);
    let s = &strict.body;
    assert_eq!(s["routingPolicy"], "strict");
    assert_eq!(served(s, "assistant"), ("unavailable".to_owned(), None));
    assert_eq!(served(s, "cicd_generation").0, "unavailable");
    assert_eq!(served(s, "triage").0, "byo");
    assert_eq!(app.audit_count("routing_policy.changed").await, 1);

    // A provider that fails its check can't be activated, and the policy change sent with
    // it is not made either.
    let mut bad = new_anthropic("Broken", &anthropic.uri(), BAD_KEY);
    bad["saveUnverified"] = json!(true);
    let broken = api
        .call(Method::POST, "/providers", &admin, Some(bad))
        .await;
    assert_eq!(broken.status, 201);
    let broken_id = broken.body["id"].as_str().unwrap();
    let before = counts(&app).await;
    let refused = api
        .call(
            Method::PATCH,
            "/ai-settings",
            &admin,
            Some(json!({"activeProviderId": broken_id, "routingPolicy": "fallback"})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(counts(&app).await, before);
    let unknown = api
        .call(
            Method::PATCH,
            "/ai-settings",
            &admin,
            Some(json!({"activeProviderId": "aip_nope"})),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    let now = api.call(Method::GET, "/ai-settings", &admin, None).await;
    assert_eq!(now.body["activeProvider"]["id"], llama_id.as_str());
    assert_eq!(now.body["routingPolicy"], "strict");

    // Back to the platform default.
    let off = api
        .call(
            Method::PATCH,
            "/ai-settings",
            &admin,
            Some(json!({"activeProviderId": null, "insightsEnabled": false})),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert!(off.body["activeProvider"].is_null());
    assert_eq!(off.body["promptVariant"], "platform");
    assert_eq!(served(&off.body, "assistant").0, "platform");
    assert_eq!(served(&off.body, "insights").0, "unavailable");
    assert_eq!(app.audit_count("provider.deactivated").await, 1);
    assert_eq!(app.audit_count("insights.disabled").await, 1);

    api.assert_never_saw(GOOD_KEY);
    api.assert_never_saw(BAD_KEY);
}

#[tokio::test]
async fn a_token_needs_every_scope_its_change_touches_before_anything_changes() {
    let (app, org, ada, _) = app_with_org().await;
    let anthropic = anthropic_mock().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let settings_only = token(
        &app,
        &org,
        &ada,
        &[
            switchboard::ops::Scope::SettingsGet,
            switchboard::ops::Scope::SettingsUpdate,
        ],
        None,
    )
    .await;
    let mut api = Recorder::new(&app);
    let claude = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic("Claude", &anthropic.uri(), GOOD_KEY)),
        )
        .await;
    let id = claude.body["id"].as_str().unwrap();
    let before = counts(&app).await;
    let res = api
        .call(
            Method::PATCH,
            "/ai-settings",
            &settings_only,
            Some(json!({"routingPolicy": "strict", "activeProviderId": id})),
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert_eq!(res.error_code(), "forbidden");
    assert_eq!(
        counts(&app).await,
        before,
        "the policy was not changed either"
    );
    let ok = api
        .call(
            Method::PATCH,
            "/ai-settings",
            &settings_only,
            Some(json!({"routingPolicy": "strict"})),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["routingPolicy"], "strict");
}

#[tokio::test]
async fn the_document_describes_these_endpoints_with_their_scopes() {
    let (app, _, _, _) = app_with_org().await;
    let doc: Value = super::http()
        .get(app.url("/api/v1/openapi.json"))
        .send_checked()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    std::fs::write(
        "/tmp/rest-openapi.json",
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    for (path, method, scopes) in [
        (
            "/api/v1/orgs/{org}/providers",
            "get",
            vec!["aiProviders:list"],
        ),
        (
            "/api/v1/orgs/{org}/providers",
            "post",
            vec!["aiProviders:create"],
        ),
        (
            "/api/v1/orgs/{org}/providers/{id}",
            "get",
            vec!["aiProviders:get"],
        ),
        (
            "/api/v1/orgs/{org}/providers/{id}",
            "patch",
            vec!["aiProviders:get", "aiProviders:update"],
        ),
        (
            "/api/v1/orgs/{org}/providers/{id}",
            "delete",
            vec!["aiProviders:delete"],
        ),
        (
            "/api/v1/orgs/{org}/providers/{id}/test",
            "post",
            vec!["aiProviders:test"],
        ),
        (
            "/api/v1/orgs/{org}/providers/{id}/activate",
            "post",
            vec!["aiProviders:activate"],
        ),
        (
            "/api/v1/orgs/{org}/providers/deactivate",
            "post",
            vec!["aiProviders:activate"],
        ),
        (
            "/api/v1/orgs/{org}/ai-settings",
            "get",
            vec!["settings:get"],
        ),
        (
            "/api/v1/orgs/{org}/ai-settings",
            "patch",
            vec!["settings:get", "settings:update"],
        ),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert_eq!(
            op["security"][0]["bearer"],
            json!(scopes),
            "{method} {path}"
        );
        assert!(
            op["security"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s.get("session").is_some())
        );
        for status in ["401", "403", "404"] {
            // The shared answer the operation refers to (`api::errors`).
            let shared = op["responses"][status]["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/responses/"))
                .unwrap_or_else(|| panic!("{method} {path} {status}: not a shared answer"));
            let answer = &doc["components"]["responses"][shared];
            let error = &answer["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(
                error, "#/components/schemas/ErrorBody",
                "{method} {path} {status}"
            );
        }
    }
    let provider = &doc["components"]["schemas"]["ProviderJson"]["properties"];
    assert!(provider.get("keyPreview").is_some() && provider.get("apiKey").is_none());
    let input = &doc["components"]["schemas"]["NewProvider"]["properties"]["apiKey"];
    assert_eq!(input["writeOnly"], true);
}
