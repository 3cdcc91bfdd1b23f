//! Per-feature routes over real HTTP (issue 20, DESIGN.md rule 6): `PUT|DELETE
//! …/ai-settings/features/{feature}` with per-route versions, `GET …/ai-settings` listing
//! them, `ai/route` answering per route, and the rules around them — the live check with
//! the route's model, tool use, platform vs strict, deletion and key removal, racing
//! admins, read-only members, bad input — each change audited once.

use crate::api::traffic::SendChecked as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard::{
    models::{org::Org, user::User},
    ops::{
        Access, Caller, RequestMeta, Scope,
        providers::{self as ops, KeyInput, ProviderInput},
    },
    providers::ProviderKind,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

use super::{all_scopes, app_with_org, http, providers::MEMBER_SCOPES, token};
use crate::{
    helpers::TestApp,
    provider_ops::{GOOD_KEY, anthropic, anthropic_mock},
};

const SETTINGS: &str = "/api/v1/orgs/acme/ai-settings";
const OPENAI_KEY: &str = "sk-proj-CANARY-route-4f1c9e7a2b3d5e6f7a8b9c0d1e2fABCD";

fn admin(ada: &User, org: &Org) -> Caller {
    Caller::in_org(ada, org.clone(), Access::Admin, RequestMeta::default())
}

/// An OpenAI-compatible server on loopback whose `GET /v1/models` lists `gpt-4o` and
/// `gpt-4o-mini` for [`OPENAI_KEY`].
async fn openai_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", format!("Bearer {OPENAI_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [{"id": "gpt-4o", "object": "model"}, {"id": "gpt-4o-mini", "object": "model"}]})))
        .mount(&server)
        .await;
    server
}

/// A second provider: OpenAI at `server`, default model `gpt-4o`.
async fn openai(app: &TestApp, org: &Org, ada: &User, server: &MockServer) -> String {
    ops::create_provider(
        &app.state,
        &admin(ada, org),
        ProviderInput {
            kind: ProviderKind::Openai,
            name: "Cheap".to_owned(),
            default_model: "gpt-4o".to_owned(),
            base_url: Some(format!("{}/v1", server.uri())),
            deployment: None,
            api_version: None,
            region: None,
            supports_tools: false,
            key: KeyInput::New(OPENAI_KEY.to_owned().into()),
            extra_headers: Default::default(),
            save_unverified: false,
        },
    )
    .await
    .unwrap()
    .id
}

/// The active provider: Anthropic ("Claude") at `server`.
async fn active_claude(app: &TestApp, org: &Org, ada: &User, server: &MockServer) -> String {
    let caller = admin(ada, org);
    let p = ops::create_provider(
        &app.state,
        &caller,
        anthropic("Claude", server, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap();
    ops::activate_provider(&app.state, &caller, &p.id)
        .await
        .unwrap();
    p.id
}

/// A self-hosted endpoint without tool calling (saved unverified: never checked here).
async fn custom_without_tools(app: &TestApp, org: &Org, ada: &User) -> String {
    ops::create_provider(
        &app.state,
        &admin(ada, org),
        ProviderInput {
            kind: ProviderKind::Custom,
            name: "vLLM".to_owned(),
            default_model: "llama-3.1-8b".to_owned(),
            base_url: Some("http://127.0.0.1:9/v1".to_owned()),
            deployment: None,
            api_version: None,
            region: None,
            supports_tools: false,
            key: KeyInput::Keep,
            extra_headers: Default::default(),
            save_unverified: true,
        },
    )
    .await
    .unwrap()
    .id
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    feature: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = http()
        .request(method, app.url(&format!("{SETTINGS}/features/{feature}")))
        .bearer_auth(token);
    if let Some(v) = if_match {
        req = req.header("if-match", v);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn put(
    app: &TestApp,
    token: &str,
    feature: &str,
    if_match: &str,
    body: Value,
) -> reqwest::Response {
    call(app, token, Method::PUT, feature, Some(if_match), Some(body)).await
}

async fn settings(app: &TestApp, token: &str) -> Value {
    let res = http()
        .get(app.url(SETTINGS))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn row<'a>(settings: &'a Value, list: &str, feature: &str) -> &'a Value {
    settings[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["feature"] == feature)
        .unwrap_or_else(|| panic!("no {list} row for {feature}"))
}

async fn route(app: &TestApp, resolver: &str, feature: &str) -> (StatusCode, Value) {
    let res = http()
        .get(app.url(&format!("/api/v1/orgs/acme/ai/route?feature={feature}")))
        .bearer_auth(resolver)
        .send_checked()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap())
}

fn etag(res: &reqwest::Response) -> String {
    res.headers()["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn summaries_run_on_a_second_provider_with_its_own_model_while_the_active_serves_the_rest() {
    let (app, org, ada, _) = app_with_org().await;
    let claude_server = anthropic_mock().await;
    let claude = active_claude(&app, &org, &ada, &claude_server).await;
    let openai_server = openai_mock().await;
    let cheap = openai(&app, &org, &ada, &openai_server).await;
    let admin_token = token(&app, &org, &ada, &all_scopes(), None).await;
    // The key is in route answers only for ai:release (issue 21 item 3).
    let resolver = super::ai_route::release_token(&app, &org, &ada).await;

    // Every feature inherits at first, at version 0.
    let before = settings(&app, &admin_token).await;
    let routes = before["featureRoutes"].as_array().unwrap();
    assert_eq!(routes.len(), 9);
    assert!(
        routes
            .iter()
            .all(|r| r["mode"] == "inherit" && r["lockVersion"] == 0)
    );

    // A model the provider doesn't list fails the live check: 422, nothing written.
    let res = put(
        &app,
        &admin_token,
        "summaries",
        "\"v0\"",
        json!({"mode": "provider", "providerId": cheap, "model": "gpt-9-imaginary"}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(text.contains("model_not_found"), "{text}");
    assert!(!text.contains("CANARY"), "no key in the refusal");
    assert_eq!(app.audit_count("feature_route.set").await, 0);

    let res = put(
        &app,
        &admin_token,
        "summaries",
        "\"v0\"",
        json!({"mode": "provider", "providerId": cheap, "model": "gpt-4o-mini"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let version = etag(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["mode"], "provider");
    assert_eq!(body["providerId"], cheap.as_str());
    assert_eq!(body["providerName"], "Cheap");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(version, format!("\"v{}\"", body["lockVersion"]));
    assert_ne!(version, "\"v0\"");

    // What runs where: summaries on Cheap with its own model, the rest on Claude.
    let now = settings(&app, &admin_token).await;
    let summaries = row(&now, "whatRunsWhere", "summaries");
    assert_eq!(summaries["servedBy"], "byo");
    assert_eq!(summaries["providerId"], cheap.as_str());
    assert_eq!(summaries["model"], "gpt-4o-mini");
    assert_eq!(summaries["reasonCode"], "feature_route");
    let triage = row(&now, "whatRunsWhere", "triage");
    assert_eq!(triage["providerId"], claude.as_str());
    assert_eq!(triage["reasonCode"], "active_provider");
    assert_eq!(row(&now, "featureRoutes", "summaries")["mode"], "provider");
    assert!(!now.to_string().contains("CANARY"));

    // ai/route answers per feature, each with its own provider's key and model.
    let (status, answer) = route(&app, &resolver, "summaries").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["servedBy"], "byo");
    assert_eq!(answer["reasonCode"], "feature_route");
    assert_eq!(answer["provider"]["id"], cheap.as_str());
    assert_eq!(answer["provider"]["provider"], "openai");
    assert_eq!(answer["provider"]["model"], "gpt-4o-mini");
    assert_eq!(answer["credential"]["apiKey"], OPENAI_KEY);
    let (status, answer) = route(&app, &resolver, "triage").await;
    assert_eq!(status, 200);
    assert_eq!(answer["reasonCode"], "active_provider");
    assert_eq!(answer["provider"]["id"], claude.as_str());
    assert_eq!(answer["credential"]["apiKey"], GOOD_KEY);

    // The same route again changes nothing and records nothing.
    let res = put(
        &app,
        &admin_token,
        "summaries",
        &version,
        json!({"mode": "provider", "providerId": cheap, "model": "gpt-4o-mini"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(etag(&res), version);
    // A stale version is a 409, never an overwrite.
    let res = put(
        &app,
        &admin_token,
        "summaries",
        "\"v0\"",
        json!({"mode": "off"}),
    )
    .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        app.audit_count("feature_route.set").await,
        1,
        "audited once"
    );

    // Back to inherit: Claude serves summaries again.
    let res = call(
        &app,
        &admin_token,
        Method::DELETE,
        "summaries",
        Some(&version),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(etag(&res), "\"v0\"");
    assert_eq!(app.audit_count("feature_route.cleared").await, 1);
    let (_, answer) = route(&app, &resolver, "summaries").await;
    assert_eq!(answer["provider"]["id"], claude.as_str());
}

#[tokio::test]
async fn off_platform_and_strict_with_a_tool_using_feature() {
    let (app, org, ada, _) = app_with_org().await;
    let vllm = custom_without_tools(&app, &org, &ada).await;
    ops::activate_provider(&app.state, &admin(&ada, &org), &vllm)
        .await
        .expect_err("no live endpoint: the activation check fails");
    // Make it active without its check (activation's check is not what this tests).
    let mut conn = app.db().await;
    switchboard::models::provider::set_active(
        &mut conn,
        org.id,
        Some(&vllm),
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let claude_server = anthropic_mock().await;
    let claude = ops::create_provider(
        &app.state,
        &admin(&ada, &org),
        anthropic(
            "Claude",
            &claude_server,
            KeyInput::New(GOOD_KEY.to_owned().into()),
        ),
    )
    .await
    .unwrap()
    .id;
    let admin_token = token(&app, &org, &ada, &all_scopes(), None).await;
    // The key is in route answers only for ai:release (issue 21 item 3).
    let resolver = super::ai_route::release_token(&app, &org, &ada).await;

    // Off: the feature is unavailable, and says so with its code.
    assert_eq!(
        put(
            &app,
            &admin_token,
            "triage",
            "\"v0\"",
            json!({"mode": "off"})
        )
        .await
        .status(),
        200
    );
    let (status, body) = route(&app, &resolver, "triage").await;
    assert_eq!(status, 409);
    // The reason as data, shared with route answers: off means give up, not ask again.
    assert_eq!(body["error"]["reasonCode"], "feature_off", "{body}");
    assert_eq!(body["error"]["askAgain"], false, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("feature_off"),
        "{body}"
    );

    // Platform: the platform serves summaries although the org's provider is active.
    let res = put(
        &app,
        &admin_token,
        "summaries",
        "\"v0\"",
        json!({"mode": "platform"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let platform_version = etag(&res);
    let (status, body) = route(&app, &resolver, "summaries").await;
    assert_eq!(status, 200);
    assert_eq!(body["servedBy"], "platform");
    assert_eq!(body["reasonCode"], "feature_route");
    assert!(body.get("credential").is_none());

    // A tool-using feature can't be routed to a provider without tool calling.
    let res = put(
        &app,
        &admin_token,
        "assistant",
        "\"v0\"",
        json!({"mode": "provider", "providerId": vllm}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(text.contains("tool calling"), "{text}");
    // Fallback: the platform serves tool use the active provider can't.
    let (_, body) = route(&app, &resolver, "assistant").await;
    assert_eq!(body["reasonCode"], "tools_fallback");

    // Strict is refused while a platform route exists, naming it.
    let patch = |policy: &str| {
        http()
            .patch(app.url(SETTINGS))
            .bearer_auth(&admin_token)
            .json(&json!({"routingPolicy": policy}))
            .send()
    };
    let res = patch("strict").await.unwrap();
    assert_eq!(res.status(), 409);
    let text = res.text().await.unwrap();
    assert!(text.contains("Summaries"), "{text}");
    assert_eq!(
        settings(&app, &admin_token).await["routingPolicy"],
        "fallback"
    );

    let res = call(
        &app,
        &admin_token,
        Method::DELETE,
        "summaries",
        Some(&platform_version),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(patch("strict").await.unwrap().status(), 200);
    // Under strict a platform route is refused; tool use is unavailable…
    let res = put(
        &app,
        &admin_token,
        "summaries",
        "\"v0\"",
        json!({"mode": "platform"}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let (status, body) = route(&app, &resolver, "assistant").await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["reasonCode"], "strict_unavailable", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("strict_unavailable")
    );
    // …until a route sends it to a provider with tool calling.
    let res = put(
        &app,
        &admin_token,
        "assistant",
        "\"v0\"",
        json!({"mode": "provider", "providerId": claude}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let (status, body) = route(&app, &resolver, "assistant").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"]["id"], claude.as_str());
    assert_eq!(body["reasonCode"], "feature_route");
    let settings = settings(&app, &admin_token).await;
    assert_eq!(
        row(&settings, "whatRunsWhere", "incident_analysis")["servedBy"],
        "unavailable"
    );
    assert_eq!(
        row(&settings, "whatRunsWhere", "incident_analysis")["reasonCode"],
        "strict_unavailable"
    );
    assert_eq!(app.audit_count("feature_route.set").await, 3);
    assert_eq!(app.audit_count("feature_route.cleared").await, 1);
}

#[tokio::test]
async fn a_routed_provider_cant_be_deleted_and_removing_its_key_reverts_its_routes() {
    let (app, org, ada, _) = app_with_org().await;
    let claude_server = anthropic_mock().await;
    active_claude(&app, &org, &ada, &claude_server).await;
    let openai_server = openai_mock().await;
    let cheap = openai(&app, &org, &ada, &openai_server).await;
    let admin_token = token(&app, &org, &ada, &all_scopes(), None).await;
    for feature in ["summaries", "triage"] {
        let res = put(
            &app,
            &admin_token,
            feature,
            "\"v0\"",
            json!({"mode": "provider", "providerId": cheap}),
        )
        .await;
        assert_eq!(res.status(), 200);
    }
    // An unverified save of a routed provider is refused, like the active one's.
    let err = ops::update_provider(
        &app.state,
        &admin(&ada, &org),
        &cheap,
        0,
        ProviderInput {
            kind: ProviderKind::Openai,
            name: "Cheap".to_owned(),
            default_model: "gpt-4o".to_owned(),
            base_url: Some(format!("{}/v1", openai_server.uri())),
            deployment: None,
            api_version: None,
            region: None,
            supports_tools: false,
            key: KeyInput::Keep,
            extra_headers: Default::default(),
            save_unverified: true,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, switchboard::ops::OpError::Unprocessable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("feature routes"), "{err}");

    let res = http()
        .delete(app.url(&format!("/api/v1/orgs/acme/providers/{cheap}")))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("Summaries") && text.contains("Triage"),
        "{text}"
    );

    let (_, reverted) = ops::remove_key(&app.state, &admin(&ada, &org), &cheap)
        .await
        .unwrap();
    assert!(!reverted, "Cheap was not the active provider");
    let now = settings(&app, &admin_token).await;
    for feature in ["summaries", "triage"] {
        assert_eq!(row(&now, "featureRoutes", feature)["mode"], "inherit");
        assert_eq!(
            row(&now, "whatRunsWhere", feature)["reasonCode"],
            "active_provider"
        );
    }
    assert_eq!(
        app.audit_count("feature_route.cleared").await,
        2,
        "each revert audited"
    );
    let res = http()
        .delete(app.url(&format!("/api/v1/orgs/acme/providers/{cheap}")))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn two_admins_racing_on_one_route_one_wins_the_other_gets_409() {
    let (app, org, ada, _) = app_with_org().await;
    let bob = app.create_user("bob@acme.test", false).await;
    let mut conn = app.db().await;
    switchboard::models::membership::add(
        &mut conn,
        org.id,
        bob.id,
        switchboard::models::membership::Role::Admin,
    )
    .await
    .unwrap();
    let ada_token = token(&app, &org, &ada, &all_scopes(), None).await;
    let bob_token = token(&app, &org, &bob, &all_scopes(), None).await;
    for _ in 0..3 {
        let current = settings(&app, &ada_token).await;
        let version = format!(
            "\"v{}\"",
            row(&current, "featureRoutes", "summaries")["lockVersion"]
        );
        let (a, b) = tokio::join!(
            put(
                &app,
                &ada_token,
                "summaries",
                &version,
                json!({"mode": "off"})
            ),
            put(
                &app,
                &bob_token,
                "summaries",
                &version,
                json!({"mode": "platform"})
            ),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        // Reset to inherit for the next round.
        let current = settings(&app, &ada_token).await;
        let version = format!(
            "\"v{}\"",
            row(&current, "featureRoutes", "summaries")["lockVersion"]
        );
        let res = call(
            &app,
            &ada_token,
            Method::DELETE,
            "summaries",
            Some(&version),
            None,
        )
        .await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        app.audit_count("feature_route.set").await,
        3,
        "one event per winning change"
    );
    assert_eq!(app.audit_count("feature_route.cleared").await, 3);
}

#[tokio::test]
async fn members_read_routes_and_bad_input_is_a_clear_4xx_with_nothing_written() {
    let (app, org, ada, mia) = app_with_org().await;
    let openai_server = openai_mock().await;
    let cheap = openai(&app, &org, &ada, &openai_server).await;
    let admin_token = token(&app, &org, &ada, &all_scopes(), None).await;
    let member = token(&app, &org, &mia, &MEMBER_SCOPES, None).await;

    // Members read the routes; they can't change them.
    assert_eq!(
        settings(&app, &member).await["featureRoutes"]
            .as_array()
            .unwrap()
            .len(),
        9
    );
    let res = put(&app, &member, "summaries", "\"v0\"", json!({"mode": "off"})).await;
    assert_eq!(res.status(), 403);
    // settings:update alone may turn a feature off, not hand it to a provider.
    let update_only = token(
        &app,
        &org,
        &ada,
        &[Scope::SettingsGet, Scope::SettingsUpdate],
        None,
    )
    .await;
    let res = put(
        &app,
        &update_only,
        "summaries",
        "\"v0\"",
        json!({"mode": "provider", "providerId": cheap}),
    )
    .await;
    assert_eq!(res.status(), 403);

    // Unknown feature: 400 listing the ids.
    let res = put(&app, &admin_token, "chat", "\"v0\"", json!({"mode": "off"})).await;
    assert_eq!(res.status(), 400);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("summaries") && text.contains("fix_proposals"),
        "{text}"
    );
    // Unknown mode, a provider with another mode, unknown fields: 400.
    for body in [
        json!({"mode": "sometimes"}),
        json!({"mode": "off", "providerId": cheap}),
        json!({"mode": "provider"}),
        json!({"mode": "off", "extra": 1}),
        json!({"mode": "provider", "providerId": cheap, "model": "x".repeat(300)}),
    ] {
        let res = put(&app, &admin_token, "summaries", "\"v0\"", body.clone()).await;
        assert_eq!(res.status(), 400, "{body}");
    }
    // A provider of another org (or none): 404.
    app.create_org(
        "globex",
        &[(&ada, switchboard::models::membership::Role::Admin)],
    )
    .await;
    let globex = switchboard::models::org::Org::find_by_slug(&mut app.db().await, "globex")
        .await
        .unwrap()
        .unwrap();
    let theirs = openai(&app, &globex, &ada, &openai_server).await;
    let res = put(
        &app,
        &admin_token,
        "summaries",
        "\"v0\"",
        json!({"mode": "provider", "providerId": theirs}),
    )
    .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        app.audit_count("feature_route.set").await,
        0,
        "nothing written"
    );
    assert!(
        settings(&app, &admin_token).await["featureRoutes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["mode"] == "inherit")
    );
}

#[tokio::test]
async fn mcp_tools_set_and_clear_routes_with_the_same_rules() {
    use super::mcp::{Mcp, bodies};
    let (app, org, ada, mia) = app_with_org().await;
    let openai_server = openai_mock().await;
    let cheap = openai(&app, &org, &ada, &openai_server).await;
    let admin_token = token(&app, &org, &ada, &all_scopes(), None).await;
    let member_token = token(&app, &org, &mia, &MEMBER_SCOPES, None).await;
    let admin = Mcp::new(&app, Some(&admin_token), bodies());
    let member = Mcp::new(&app, Some(&member_token), bodies());

    let set = admin
        .ok(
            "set-feature-route",
            json!({"feature": "summaries", "mode": "provider", "providerId": cheap, "model": "gpt-4o-mini", "lockVersion": 0}),
        )
        .await;
    assert_eq!(set["mode"], "provider");
    assert_eq!(set["model"], "gpt-4o-mini");
    let version = set["lockVersion"].as_i64().unwrap();
    assert!(version > 0);
    // The settings tool shows the route and what it does.
    let settings = admin.ok("get-ai-settings", json!({})).await;
    assert_eq!(
        row(&settings, "featureRoutes", "summaries")["providerId"],
        cheap.as_str()
    );
    assert_eq!(
        row(&settings, "whatRunsWhere", "summaries")["reasonCode"],
        "feature_route"
    );

    // Tool errors: stale version 409, unknown feature 400, model not listed 422, member 403.
    let stale = admin
        .call(
            "set-feature-route",
            json!({"feature": "summaries", "mode": "off", "lockVersion": 0}),
        )
        .await
        .unwrap_err();
    assert_eq!(stale["error"]["status"], 409, "{stale}");
    let unknown = admin
        .call(
            "set-feature-route",
            json!({"feature": "chat", "mode": "off"}),
        )
        .await
        .unwrap_err();
    assert_eq!(unknown["error"]["status"], 400, "{unknown}");
    let unlisted = admin
        .call(
            "set-feature-route",
            json!({"feature": "triage", "mode": "provider", "providerId": cheap, "model": "nope"}),
        )
        .await
        .unwrap_err();
    assert_eq!(unlisted["error"]["status"], 422, "{unlisted}");
    let refused = member
        .call("clear-feature-route", json!({"feature": "summaries"}))
        .await
        .unwrap_err();
    assert_eq!(refused["error"]["status"], 403, "{refused}");

    let cleared = admin
        .ok(
            "clear-feature-route",
            json!({"feature": "summaries", "lockVersion": version}),
        )
        .await;
    assert_eq!(cleared["mode"], "inherit");
    assert_eq!(cleared["lockVersion"], 0);
    assert_eq!(app.audit_count("feature_route.set").await, 1);
    assert_eq!(app.audit_count("feature_route.cleared").await, 1);
}
