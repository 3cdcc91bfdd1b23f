//! MCP at `POST /mcp` over real HTTP on loopback: raw JSON-RPC (every body kept, to look for
//! the canary key), and rmcp's own client once. Each tool is called with an admin token
//! against the wiremock Anthropic server; tokens without the scope get a tool error naming
//! it and change nothing; no token is a 401.

use std::sync::Mutex;

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use rmcp::{
    ServiceExt as _,
    model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation},
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};
use switchboard::{
    db::schema::{audit_events, providers},
    models::{membership::Role, org::Org},
    ops::{Caller, Scope, skills},
};

use super::{all_scopes, app_with_org, http, token};
use crate::{
    helpers::TestApp,
    provider_ops::{BAD_KEY, GOOD_KEY, anthropic_mock},
};

pub const TOOLS: [&str; 22] = [
    "resolve-ai-route",
    "report-ai-outcome",
    "set-feature-route",
    "clear-feature-route",
    "get-catalog",
    "list-ai-providers",
    "list-provider-models",
    "get-ai-provider",
    "create-ai-provider",
    "update-ai-provider",
    "delete-ai-provider",
    "test-ai-provider",
    "activate-ai-provider",
    "deactivate-ai-provider",
    "get-ai-settings",
    "update-ai-settings",
    "list-skills",
    "get-skill",
    "create-skill",
    "update-skill",
    "delete-skill",
    "list-audit-events",
];

/// Raw JSON-RPC over `POST /mcp`, keeping every response body.
pub struct Mcp {
    client: reqwest::Client,
    url: String,
    pub token: Option<String>,
    bodies: &'static Mutex<Vec<String>>,
}

impl Mcp {
    pub fn new(app: &TestApp, token: Option<&str>, bodies: &'static Mutex<Vec<String>>) -> Self {
        Self {
            client: http(),
            url: app.url("/mcp"),
            token: token.map(str::to_owned),
            bodies,
        }
    }

    /// Sends one JSON-RPC message; the status and the body as JSON (`Null` if none).
    pub async fn send(&self, message: Value) -> (u16, Value) {
        let mut req = self
            .client
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&message);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        self.bodies.lock().unwrap().push(text.clone());
        let body = match text.is_empty() {
            true => Value::Null,
            false => serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
        };
        (status, body)
    }

    /// A request's `result` (panics on a JSON-RPC error).
    pub async fn request(&self, method: &str, params: Value) -> Value {
        let (status, body) = self
            .send(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .await;
        assert_eq!(status, 200, "{method}: {body}");
        assert!(body.get("error").is_none(), "{method}: {body}");
        body["result"].clone()
    }

    /// Calls a tool: `Ok(structuredContent)` or `Err(the error body of a tool error)`.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Value, Value> {
        let result = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await;
        match result["isError"].as_bool() {
            Some(true) => {
                let text = result["content"][0]["text"].as_str().unwrap();
                Err(serde_json::from_str(text).unwrap())
            }
            _ => {
                // The text block carries the same JSON, for clients without structured output.
                let text = result["content"][0]["text"].as_str().unwrap();
                let parsed: Value = serde_json::from_str(text).unwrap();
                assert_eq!(parsed, result["structuredContent"], "{tool}");
                Ok(result["structuredContent"].clone())
            }
        }
    }

    pub async fn ok(&self, tool: &str, arguments: Value) -> Value {
        self.call(tool, arguments)
            .await
            .unwrap_or_else(|e| panic!("{tool}: {e}"))
    }
}

pub fn bodies() -> &'static Mutex<Vec<String>> {
    Box::leak(Box::new(Mutex::new(Vec::new())))
}

pub fn assert_no_canary(bodies: &Mutex<Vec<String>>) {
    let bodies = bodies.lock().unwrap();
    assert!(!bodies.is_empty());
    for body in bodies.iter() {
        assert!(!body.contains(GOOD_KEY), "the key in an MCP answer: {body}");
        assert!(
            !body.contains("CANARY"),
            "part of the key in an MCP answer: {body}"
        );
    }
}

pub async fn counts(app: &TestApp) -> (i64, i64) {
    let mut conn = app.db().await;
    let p = providers::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    let a = audit_events::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    (p, a)
}

pub async fn actions(app: &TestApp) -> Vec<(String, String)> {
    let mut conn = app.db().await;
    audit_events::table
        .order(audit_events::seq.asc())
        .select((audit_events::action, audit_events::actor_kind))
        .load(&mut conn)
        .await
        .unwrap()
}

pub fn create_args(server: &wiremock::MockServer, name: &str) -> Value {
    json!({
        "name": name,
        "provider": "anthropic",
        "defaultModel": "claude-sonnet-4-20250514",
        "baseUrl": server.uri(),
        "apiKey": GOOD_KEY,
    })
}

#[tokio::test]
async fn an_admin_token_lists_the_tools_and_calls_each_one() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    skills::create_skill(
        &app.state,
        &Caller::operator(Some(org.clone())),
        skills::SkillInput {
            name: "Terse".to_owned(),
            description: "Short answers".to_owned(),
            instructions: "Answer in one sentence.".to_owned(),
            enabled: true,
        },
    )
    .await
    .unwrap();
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let seen = bodies();
    let mcp = Mcp::new(&app, Some(&admin), seen);

    // Initialise: no session is handed out; the initialized notification is accepted.
    let res = http()
        .post(app.url("/mcp"))
        .bearer_auth(&admin)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "it", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("mcp-session-id").is_none(), "stateless");
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let init: Value = res.json().await.unwrap();
    assert_eq!(init["result"]["serverInfo"]["name"], "switchboard");
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );
    let (status, _) = mcp
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    assert_eq!(status, 202);

    // The tools, each with a generated input schema of one JSON type per field.
    let listed = mcp.request("tools/list", json!({})).await;
    let tools = listed["tools"].as_array().unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    let mut expected = TOOLS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    let tool = |name: &str| tools.iter().find(|t| t["name"] == name).unwrap().clone();
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["outputSchema"]["type"], "object", "{t}");
        assert!(t["description"].as_str().unwrap().contains(':'), "{t}");
    }
    let create = tool("create-ai-provider");
    let schema = &create["inputSchema"];
    assert_eq!(schema["additionalProperties"], false);
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["defaultModel", "name", "provider"]);
    assert_eq!(schema["properties"]["provider"]["enum"][1], "anthropic");
    assert!(schema["properties"]["apiKey"].is_object());
    assert_eq!(schema["properties"]["baseUrl"]["type"], "string");
    assert!(schema["properties"]["secretId"].is_object());
    assert!(
        schema["properties"]["linkKeyFrom"].is_null(),
        "secretId only"
    );
    let update = tool("update-ai-settings");
    assert_eq!(
        update["inputSchema"]["properties"]["routingPolicy"],
        json!({"type": "string", "enum": ["fallback", "strict"],
               "description": "`fallback`: features the org's provider can't serve run on the platform's; `strict`: they are unavailable."}),
        "{update}"
    );
    let text = serde_json::to_string(&tools).unwrap();
    assert!(!text.contains("\"null\""), "no null types: {text}");
    assert!(!text.contains("$ref"), "subschemas inlined: {text}");
    assert_eq!(
        tool("get-ai-provider")["inputSchema"]["required"],
        json!(["aiProviderId"]),
        "as the AI Providers Module names it (`id` is still accepted)"
    );
    assert_eq!(
        tool("list-ai-providers")["annotations"]["readOnlyHint"],
        true
    );
    assert!(tool("create-ai-provider")["outputSchema"]["properties"]["keySet"].is_object());
    assert!(tool("create-ai-provider")["outputSchema"]["properties"]["apiKey"].is_null());

    let skills = mcp.ok("list-skills", json!({})).await;
    assert_eq!(skills["skills"][0]["name"], "Terse");
    assert_eq!(skills["skills"][0]["enabled"], true);

    let created = mcp
        .ok("create-ai-provider", create_args(&server, "Claude"))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["orgId"], "acme");
    assert_eq!(created["provider"], "anthropic");
    assert_eq!(created["keySet"], true);
    assert_eq!(created["keyPreview"], "sk-ant-...WXYZ");
    assert_eq!(created["lastCheck"]["status"], "ok");
    assert_eq!(created["active"], false);

    let listed = mcp.ok("list-ai-providers", json!({})).await;
    assert_eq!(listed["providers"][0]["id"], id.as_str());
    assert!(
        listed.get("activeProviderId").is_none(),
        "left out, not null"
    );

    let got = mcp.ok("get-ai-provider", json!({"id": id})).await;
    assert_eq!(got["name"], "Claude");
    let version = got["lockVersion"].as_i64().unwrap();

    // Fields left out keep their value; the stored key is used for the re-check.
    let updated = mcp
        .ok(
            "update-ai-provider",
            json!({"id": id, "lockVersion": version, "name": "Claude (prod)"}),
        )
        .await;
    assert_eq!(updated["name"], "Claude (prod)");
    assert_eq!(updated["defaultModel"], "claude-sonnet-4-20250514");
    assert_eq!(updated["keySet"], true);
    assert!(updated["lockVersion"].as_i64().unwrap() > version);
    let stale = mcp
        .call(
            "update-ai-provider",
            json!({"id": id, "lockVersion": version, "name": "Other"}),
        )
        .await
        .unwrap_err();
    assert_eq!(stale["error"]["code"], "conflict");
    assert_eq!(stale["error"]["status"], 409);

    let tested = mcp.ok("test-ai-provider", json!({"id": id})).await;
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(tested["provider"]["lastCheck"]["status"], "ok");

    let activated = mcp.ok("activate-ai-provider", json!({"id": id})).await;
    assert_eq!(activated["active"], true);

    let settings = mcp.ok("get-ai-settings", json!({})).await;
    assert_eq!(settings["activeProvider"]["id"], id.as_str());
    assert_eq!(settings["activeProvider"]["name"], "Claude (prod)");
    assert_eq!(settings["promptVariant"], "anthropic-native");
    assert_eq!(settings["routingPolicy"], "fallback");
    assert_eq!(settings["insightsEnabled"], false, "off by default");
    let features = settings["whatRunsWhere"].as_array().unwrap();
    assert_eq!(features.len(), 9);
    let route = |features: &Value, feature: &str| {
        features
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["feature"] == feature)
            .unwrap()
            .clone()
    };
    let summaries = route(&settings["whatRunsWhere"], "summaries");
    assert_eq!(summaries["servedBy"], "byo");
    assert_eq!(summaries["providerId"], id.as_str());
    assert_eq!(
        route(&settings["whatRunsWhere"], "insights")["servedBy"],
        "unavailable"
    );

    let changed = mcp
        .ok(
            "update-ai-settings",
            json!({"routingPolicy": "strict", "insightsEnabled": true,
                   "lockVersion": settings["lockVersion"]}),
        )
        .await;
    assert_eq!(changed["routingPolicy"], "strict");
    assert_eq!(changed["insightsEnabled"], true);
    assert_eq!(
        route(&changed["whatRunsWhere"], "insights")["servedBy"],
        "byo"
    );
    assert!(changed["lockVersion"].as_i64() > settings["lockVersion"].as_i64());
    let stale = mcp
        .call(
            "update-ai-settings",
            json!({"routingPolicy": "fallback", "lockVersion": settings["lockVersion"]}),
        )
        .await
        .unwrap_err();
    assert_eq!(stale["error"]["code"], "conflict");
    let same = mcp
        .ok("update-ai-settings", json!({"routingPolicy": "strict"}))
        .await;
    assert_eq!(
        same["lockVersion"], changed["lockVersion"],
        "nothing to write"
    );

    // Deleting the active provider is refused; after deactivating it goes.
    let refused = mcp
        .call("delete-ai-provider", json!({"id": id}))
        .await
        .unwrap_err();
    assert_eq!(refused["error"]["code"], "conflict");
    let off = mcp.ok("deactivate-ai-provider", json!({})).await;
    assert_eq!(off["changed"], true);
    let settings = mcp.ok("get-ai-settings", json!({})).await;
    assert!(settings.get("activeProvider").is_none());
    assert_eq!(settings["promptVariant"], "platform");
    let deleted = mcp.ok("delete-ai-provider", json!({"id": id})).await;
    assert_eq!(deleted["deleted"], true);
    let gone = mcp
        .call("get-ai-provider", json!({"id": id}))
        .await
        .unwrap_err();
    assert_eq!(gone["error"]["code"], "not_found");
    assert_eq!(gone["error"]["status"], 404);

    // Every change was audited once, as the token.
    let trail: Vec<(String, String)> = actions(&app)
        .await
        .into_iter()
        .filter(|(_, actor)| actor == "token")
        .collect();
    let trail: Vec<&str> = trail.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        trail,
        [
            "provider.created",
            "provider.updated",
            "provider.tested",
            "provider.activated",
            "routing_policy.changed",
            "insights.enabled",
            "provider.deactivated",
            "provider.deleted",
        ]
    );
    assert_no_canary(seen);
}

#[tokio::test]
async fn tokens_without_the_scope_get_a_permission_error_naming_it_and_change_nothing() {
    let (app, org, ada, mia) = app_with_org().await;
    let server = anthropic_mock().await;
    let seen = bodies();
    let admin = Mcp::new(
        &app,
        Some(&token(&app, &org, &ada, &all_scopes(), None).await),
        seen,
    );
    let created = admin
        .ok("create-ai-provider", create_args(&server, "Claude"))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    // An admin's token that only reads providers, and a member's with the member's scopes.
    let reader = token(
        &app,
        &org,
        &ada,
        &[Scope::AiProvidersList, Scope::AiProvidersGet],
        None,
    )
    .await;
    let member_scopes = [
        Scope::AiProvidersList,
        Scope::AiProvidersGet,
        Scope::SettingsGet,
        Scope::SkillsList,
        Scope::SkillsGet,
    ];
    let member = token(&app, &org, &mia, &member_scopes, None).await;
    let before = counts(&app).await;

    let reader = Mcp::new(&app, Some(&reader), seen);
    let refused: [(&str, Value, &str); 9] = [
        (
            "create-ai-provider",
            create_args(&server, "Other"),
            "aiProviders:create",
        ),
        (
            "update-ai-provider",
            json!({"id": id, "name": "Renamed"}),
            "aiProviders:update",
        ),
        (
            "delete-ai-provider",
            json!({"id": id}),
            "aiProviders:delete",
        ),
        ("test-ai-provider", json!({"id": id}), "aiProviders:test"),
        (
            "activate-ai-provider",
            json!({"id": id}),
            "aiProviders:activate",
        ),
        ("deactivate-ai-provider", json!({}), "aiProviders:activate"),
        ("get-ai-settings", json!({}), "settings:get"),
        (
            "update-ai-settings",
            json!({"routingPolicy": "strict"}),
            "settings:update",
        ),
        ("list-skills", json!({}), "skills:list"),
    ];
    for (tool, args, scope) in refused {
        let err = reader.call(tool, args).await.unwrap_err();
        assert_eq!(err["error"]["code"], "forbidden", "{tool}: {err}");
        assert_eq!(err["error"]["status"], 403, "{tool}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(scope), "{tool}: {message}");
    }
    let listed = reader.ok("list-ai-providers", json!({})).await;
    assert_eq!(listed["providers"][0]["name"], "Claude");
    assert_eq!(
        counts(&app).await,
        before,
        "nothing written, nothing audited"
    );
    // No live check went out for the refused test/activate/create either.
    let checks = server.received_requests().await.unwrap().len();
    assert_eq!(checks, 1, "only the admin's create checked the key");

    // The member's token reads, without key previews, and writes nothing.
    let member = Mcp::new(&app, Some(&member), seen);
    let listed = member.ok("list-ai-providers", json!({})).await;
    let provider = &listed["providers"][0];
    assert_eq!(provider["keySet"], true);
    assert!(
        provider.get("keyPreview").is_none(),
        "members see no preview"
    );
    let got = member.ok("get-ai-provider", json!({"id": id})).await;
    assert!(got.get("keyPreview").is_none());
    member.ok("get-ai-settings", json!({})).await;
    member.ok("list-skills", json!({})).await;
    let err = member
        .call("create-ai-provider", create_args(&server, "Mine"))
        .await
        .unwrap_err();
    assert_eq!(err["error"]["code"], "forbidden");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("aiProviders:create")
    );
    let err = member
        .call("update-ai-settings", json!({"insightsEnabled": false}))
        .await
        .unwrap_err();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("settings:update")
    );
    assert_eq!(counts(&app).await, before);
    assert_no_canary(seen);
}

#[tokio::test]
async fn a_failed_check_is_a_422_tool_error_and_a_token_only_sees_its_own_org() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let seen = bodies();
    let admin = Mcp::new(
        &app,
        Some(&token(&app, &org, &ada, &all_scopes(), None).await),
        seen,
    );

    // A key the provider rejects: refused with the check's reason, nothing saved...
    let mut args = create_args(&server, "Claude");
    args["apiKey"] = json!(BAD_KEY);
    let before = counts(&app).await;
    let err = admin
        .call("create-ai-provider", args.clone())
        .await
        .unwrap_err();
    assert_eq!(err["error"]["code"], "unprocessable", "{err}");
    assert_eq!(err["error"]["status"], 422);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("live check failed")
    );
    assert_eq!(counts(&app).await, before);
    // ...unless saved unverified; then activation fails the check and changes nothing,
    // and a test reports the failure as a result.
    args["saveUnverified"] = json!(true);
    let saved = admin.ok("create-ai-provider", args).await;
    assert_eq!(saved["lastCheck"]["status"], "unverified");
    let id = saved["id"].as_str().unwrap().to_owned();
    let err = admin
        .call("activate-ai-provider", json!({"id": id}))
        .await
        .unwrap_err();
    assert_eq!(err["error"]["status"], 422, "{err}");
    let settings = admin.ok("get-ai-settings", json!({})).await;
    assert!(settings.get("activeProvider").is_none());
    let tested = admin.ok("test-ai-provider", json!({"id": id})).await;
    assert_eq!(tested["ok"], false);
    assert_eq!(tested["code"], "auth_rejected");
    // A bad input is a 400 on its field.
    let mut blank = create_args(&server, " ");
    blank["name"] = json!(" ");
    let err = admin.call("create-ai-provider", blank).await.unwrap_err();
    assert_eq!(err["error"]["code"], "validation", "{err}");
    assert_eq!(err["error"]["status"], 400);

    // Another org's admin token: acme's provider does not exist for it.
    let gus = app.create_user("gus@globex.test", false).await;
    app.create_org("globex", &[(&gus, Role::Admin)]).await;
    let globex = Org::find_by_slug(&mut app.db().await, "globex")
        .await
        .unwrap()
        .unwrap();
    let other = Mcp::new(
        &app,
        Some(&token(&app, &globex, &gus, &all_scopes(), None).await),
        seen,
    );
    let listed = other.ok("list-ai-providers", json!({})).await;
    assert_eq!(listed["providers"], json!([]));
    for (tool, args) in [
        ("get-ai-provider", json!({"id": id})),
        ("delete-ai-provider", json!({"id": id})),
        ("update-ai-provider", json!({"id": id, "name": "Mine"})),
    ] {
        let err = other.call(tool, args).await.unwrap_err();
        assert_eq!(err["error"]["code"], "not_found", "{tool}: {err}");
    }
    assert_eq!(
        admin.ok("get-ai-provider", json!({"id": id})).await["name"],
        "Claude"
    );
    assert_no_canary(seen);
}

#[tokio::test]
async fn the_http_layer_wants_a_token_post_and_json() {
    let (app, org, ada, _) = app_with_org().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let c = http();
    let url = app.url("/mcp");
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let post = |auth: Option<&str>| {
        let mut req = c
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .json(&list);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req
    };

    for (auth, why) in [
        (None, "no token"),
        (Some("Bearer swb_unknown".to_owned()), "unknown token"),
        (Some("Basic YWRhOnB3".to_owned()), "not a bearer token"),
    ] {
        let res = post(auth.as_deref()).send().await.unwrap();
        assert_eq!(res.status(), 401, "{why}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "{why}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated", "{why}");
    }
    // A console session is no way in either.
    let res = c
        .post(&url)
        .header("cookie", "id=whatever")
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let bearer = format!("Bearer {admin}");
    let res = post(Some(&bearer)).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // Stateless: no stream to GET, no session to DELETE.
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let res = c
            .request(method.clone(), &url)
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method}");
        assert_eq!(res.headers()["allow"], "POST");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }

    // rmcp's refusals come back as the API's JSON errors, without echoing the body.
    let res = c
        .post(&url)
        .bearer_auth(&admin)
        .header("accept", "application/json")
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 406);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].is_string());
    let res = post(Some(&bearer))
        .header("mcp-protocol-version", "1999-01-01")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation");
    let res = c
        .post(&url)
        .bearer_auth(&admin)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "text/plain")
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = c
        .post(&url)
        .bearer_auth(&admin)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(format!(
            "{{\"jsonrpc\": \"2.0\", \"method\": \"{GOOD_KEY}\""
        ))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(body["error"]["code"].is_string(), "{text}");
    assert!(!text.contains("CANARY"), "{text}");
    let res = c
        .post(&url)
        .bearer_auth(&admin)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{{\"pad\":\"{}\"}}}}",
            "x".repeat(70 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large");

    // Arguments that don't fit the schema: a tool error (MCP 2025-11-25) that names the
    // problem, not the value (here a key sent where a flag belongs).
    let seen = bodies();
    let mcp = Mcp::new(&app, Some(&admin), seen);
    let (_, body) = mcp
        .send(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "update-ai-settings", "arguments": {"insightsEnabled": GOOD_KEY}}}),
        )
        .await;
    let tool_error = |body: &Value| -> Value {
        assert!(body.get("error").is_none(), "no JSON-RPC error: {body}");
        assert_eq!(body["result"]["isError"], true, "{body}");
        serde_json::from_str(body["result"]["content"][0]["text"].as_str().unwrap()).unwrap()
    };
    let error = tool_error(&body);
    assert_eq!(error["error"]["code"], "validation", "{error}");
    assert_eq!(error["error"]["status"], 400, "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("invalid type"), "{message}");
    let (_, body) = mcp
        .send(
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "create-ai-provider", "arguments": {"name": "X", "provider": GOOD_KEY,
            "defaultModel": "m"}}}),
        )
        .await;
    assert_eq!(tool_error(&body)["error"]["code"], "validation", "{body}");
    let (_, body) = mcp
        .send(
            json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "get-ai-provider", "arguments": {"id": "x", "extra": 1}}}),
        )
        .await;
    assert!(
        tool_error(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `extra`"),
        "{body}"
    );
    let (_, body) = mcp
        .send(
            json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
            "name": "get-ai-provider"}}),
        )
        .await;
    assert!(
        tool_error(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing field `aiProviderId`"),
        "{body}"
    );
    let (_, body) = mcp
        .send(
            json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
            "name": "no-such-tool", "arguments": {}}}),
        )
        .await;
    assert_eq!(
        body["error"]["code"], -32602,
        "an unknown tool is a protocol error: {body}"
    );
    assert_no_canary(seen);
}

#[tokio::test]
async fn rmcp_client_initialises_lists_and_calls_tools() {
    let (app, org, ada, _) = app_with_org().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let connect = |token: String| {
        let transport = StreamableHttpClientTransport::with_client(
            http(),
            StreamableHttpClientTransportConfig::with_uri(app.url("/mcp")).auth_header(token),
        );
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("switchboard-it", "1"),
        )
        .serve(transport)
    };
    let client = connect(admin).await.expect("initialise");
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().unwrap().name, "switchboard");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), TOOLS.len());
    let result = client
        .call_tool(CallToolRequestParams::new("get-ai-settings"))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true));
    let settings = result.structured_content.unwrap();
    assert_eq!(settings["promptVariant"], "platform");
    client.cancel().await.unwrap();

    // A token that may only list providers: the tool answers with an error naming the scope.
    let lister = token(&app, &org, &ada, &[Scope::AiProvidersList], None).await;
    let client = connect(lister).await.expect("initialise");
    let result = client
        .call_tool(CallToolRequestParams::new("get-ai-settings"))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    let text = serde_json::to_string(&result.content).unwrap();
    assert!(text.contains("settings:get"), "{text}");
    client.cancel().await.unwrap();

    // Without a valid token the handshake itself fails.
    assert!(connect("swb_nope".to_owned()).await.is_err());
}

/// Route answers and outcomes over MCP: the answer of `ai/route` without the key, whatever
/// the token holds (nothing released, nothing written); refusals and missing scopes as tool
/// errors; an outcome counted in the health loop's usage.
#[tokio::test]
async fn route_answers_and_outcomes_over_mcp_never_carry_the_key() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let seen = bodies();
    let admin = Mcp::new(
        &app,
        Some(&token(&app, &org, &ada, &all_scopes(), None).await),
        seen,
    );
    let created = admin
        .ok("create-ai-provider", create_args(&server, "Claude"))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    admin.ok("activate-ai-provider", json!({"id": id})).await;

    // A service token with ai:release, as an operator grants it: still no key over MCP.
    let releaser = crate::api::ai_route::release_token(&app, &org, &ada).await;
    let service = Mcp::new(&app, Some(&releaser), seen);
    let audit_before = actions(&app).await.len();
    let answer = service
        .ok("resolve-ai-route", json!({"feature": "summaries"}))
        .await;
    assert_eq!(answer["servedBy"], "byo", "{answer}");
    assert_eq!(answer["provider"]["id"], id.as_str());
    assert_eq!(answer["credentialWithheld"], true);
    assert!(answer.get("credential").is_none(), "{answer}");
    assert!(answer["version"].is_string());
    assert_eq!(
        actions(&app).await.len(),
        audit_before,
        "nothing released or recorded"
    );

    // Unknown feature: a validation tool error; no ai:resolve: a permission error.
    let bad = service
        .call("resolve-ai-route", json!({"feature": "poetry"}))
        .await
        .unwrap_err();
    assert_eq!(bad["error"]["code"], "validation", "{bad}");
    let reader = token(&app, &org, &ada, &[Scope::AiProvidersList], None).await;
    let reader = Mcp::new(&app, Some(&reader), seen);
    let denied = reader
        .call("resolve-ai-route", json!({"feature": "summaries"}))
        .await
        .unwrap_err();
    assert_eq!(denied["error"]["status"], 403, "{denied}");

    // An outcome: accepted and counted.
    let accepted = service
        .ok(
            "report-ai-outcome",
            json!({"feature": "summaries", "providerId": id, "status": 200, "latencyMs": 120,
                   "inputTokens": 5, "outputTokens": 2}),
        )
        .await;
    assert_eq!(accepted["accepted"], true);
    switchboard::ops::health::flush(&app.state).await.unwrap();
    let mut conn = app.db().await;
    let calls: i64 = switchboard::db::schema::provider_usage::table
        .select(switchboard::db::schema::provider_usage::calls)
        .load::<i64>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .sum();
    assert_eq!(calls, 1);
    // Contradicting fields: a tool error, nothing counted.
    let bad = service
        .call(
            "report-ai-outcome",
            json!({"feature": "summaries", "providerId": id, "status": 200,
                   "code": "auth_rejected", "latencyMs": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(bad["error"]["status"], 422, "{bad}");
    assert_no_canary(seen);
}
