//! What runs where on the Provider tab (DESIGN.md rule 6): the matrix follows the active
//! provider, its `supports_tools` setting, the routing policy and the Insights switch; the
//! policy switch (plain post and htmx, stale version, bad value, members); and the
//! activation preview, which shows the rows whose server would change and changes nothing.
//! Self-hosted endpoints are wiremock servers on loopback speaking OpenAI's `GET /models`.

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{PASSWORD, TestApp, client, meta_csrf},
    provider_ops::app_with_org,
};

const TAB: &str = "/orgs/acme/settings/ai/provider";
const CREATE: &str = "/orgs/acme/settings/ai/providers";
const POLICY: &str = "/orgs/acme/settings/ai/provider/routing-policy";
const TOOL_FEATURES: [&str; 4] = [
    "assistant",
    "insights",
    "cicd_generation",
    "incident_analysis",
];
const PLAIN_FEATURES: [&str; 5] = [
    "summaries",
    "stack_descriptions",
    "triage",
    "severity_grading",
    "fix_proposals",
];

/// A self-hosted OpenAI-compatible server on loopback that serves `llama3`.
async fn vllm_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [{"id": "llama3", "object": "model", "owned_by": "vllm"}]})))
        .mount(&server)
        .await;
    server
}

/// `app_with_org` with ada (admin) logged in on `app.client`, Insights on.
async fn admin_app() -> TestApp {
    let (app, _, _, _) = app_with_org().await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(app.turn_insights_on(&app.client).await.status(), 303);
    app
}

/// Adds a custom provider `name` at `server`, with or without tool calling; returns its id.
async fn add_custom(app: &TestApp, server: &MockServer, name: &str, tools: bool) -> String {
    let base = format!("{}/v1", server.uri());
    let mut form = vec![
        ("kind", "custom"),
        ("name", name),
        ("default_model", "llama3"),
        ("base_url", base.as_str()),
        ("api_key", ""),
    ];
    if tools {
        form.push(("supports_tools", "on"));
    }
    let res = app.post_form(&app.client, TAB, CREATE, &form).await;
    assert_eq!(res.status(), 303, "create {name}");
    let page = tab_html(app, &app.client).await;
    let marker = "id=\"provider-aip_";
    let ids: Vec<&str> = page
        .match_indices(marker)
        .map(|(i, _)| &page[i + 13..i + 13 + 30])
        .collect();
    let id = ids.last().expect("a card").to_string();
    assert!(page.contains(name));
    id
}

async fn tab_html(app: &TestApp, http: &reqwest::Client) -> String {
    let res = app.get(http, TAB).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// The server (`byo`, `platform`, `unavailable`) of every feature's row, as the page says.
fn servers(page: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (i, _) in page.match_indices("<tr id=\"route-") {
        let rest = &page[i + 14..];
        let id = &rest[..rest.find('"').unwrap()];
        let at = rest.find("data-server=\"").unwrap() + 13;
        let server = &rest[at..at + rest[at..].find('"').unwrap()];
        rows.push((id.to_owned(), server.to_owned()));
    }
    rows
}

fn server_of(page: &str, feature: &str) -> String {
    servers(page)
        .into_iter()
        .find(|(id, _)| id == feature)
        .unwrap_or_else(|| panic!("no row for {feature}"))
        .1
}

fn lock_version(page: &str) -> String {
    let form = &page[page
        .find("id=\"routing-policy-form\"")
        .expect("policy form")..];
    let at = form.find("name=\"lock_version\" value=\"").unwrap() + 27;
    form[at..at + form[at..].find('"').unwrap()].to_owned()
}

async fn activate(app: &TestApp, id: &str) {
    let res = app
        .post_form(&app.client, TAB, &format!("{CREATE}/{id}/activate"), &[])
        .await;
    assert_eq!(res.status(), 303, "activate");
}

#[tokio::test]
async fn the_matrix_follows_provider_tools_policy_and_insights() {
    let app = admin_app().await;
    let server = vllm_mock().await;

    // Platform default: nine rows, all served by the platform.
    let page = tab_html(&app, &app.client).await;
    let rows = servers(&page);
    assert_eq!(rows.len(), 9, "{rows:?}");
    assert!(rows.iter().all(|(_, s)| s == "platform"), "{rows:?}");
    assert!(
        page.contains("Platform (Anthropic)"),
        "the platform default is named"
    );

    // A self-hosted endpoint without tool calling, policy fallback (the default): tool
    // features stay on the platform, plain ones go to the org's provider.
    let plain = add_custom(&app, &server, "Local vLLM", false).await;
    activate(&app, &plain).await;
    let page = tab_html(&app, &app.client).await;
    for f in TOOL_FEATURES {
        assert_eq!(server_of(&page, f), "platform", "{f}");
    }
    for f in PLAIN_FEATURES {
        assert_eq!(server_of(&page, f), "byo", "{f}");
    }
    assert!(page.contains("Your provider: Local vLLM"));
    assert!(page.contains("policy fallback sends it to the platform"));

    // Strict: the tool features become unavailable, never the platform.
    let version = lock_version(&page);
    let res = app
        .post_form(
            &app.client,
            TAB,
            POLICY,
            &[("routing_policy", "strict"), ("lock_version", &version)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = tab_html(&app, &app.client).await;
    assert!(page.contains("Routing policy is now strict."));
    for f in TOOL_FEATURES {
        assert_eq!(server_of(&page, f), "unavailable", "{f}");
    }
    assert!(!servers(&page).iter().any(|(_, s)| s == "platform"));
    assert!(page.contains("id=\"routing-policy-strict\" value=\"strict\" aria-describedby=\"routing-policy-strict-help\" checked"));
    assert_eq!(app.audit_count("routing_policy.changed").await, 1);
    let (before, after) = last_event(&app, "routing_policy.changed").await;
    assert_eq!(before, json!({"routingPolicy": "fallback"}));
    assert_eq!(after, json!({"routingPolicy": "strict"}));

    // Insights off: the insights row is unavailable whatever the provider.
    let res = app
        .post_form(
            &app.client,
            "/orgs/acme/settings/ai/insights",
            "/orgs/acme/settings/ai/insights",
            &[("enabled", "false"), ("lock_version", &lock_version(&page))],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = tab_html(&app, &app.client).await;
    assert_eq!(server_of(&page, "insights"), "unavailable");
    assert!(page.contains("Proactive AI Insights are off for this org."));

    // A provider with tool calling serves everything but the switched-off insights.
    let tools = add_custom(&app, &server, "Tools vLLM", true).await;
    activate(&app, &tools).await;
    let page = tab_html(&app, &app.client).await;
    for (f, s) in servers(&page) {
        let want = if f == "insights" {
            "unavailable"
        } else {
            "byo"
        };
        assert_eq!(s, want, "{f}");
    }
}

async fn last_event(app: &TestApp, action: &str) -> (serde_json::Value, serde_json::Value) {
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::audit_events as a;
    let mut conn = app.db().await;
    let (before, after): (Option<serde_json::Value>, Option<serde_json::Value>) = a::table
        .filter(a::action.eq(action))
        .order(a::id.desc())
        .select((a::before, a::after))
        .first(&mut conn)
        .await
        .unwrap();
    (before.unwrap(), after.unwrap())
}

#[tokio::test]
async fn the_policy_switch_refuses_stale_and_unknown_values_and_answers_htmx_in_place() {
    let app = admin_app().await;
    let page = tab_html(&app, &app.client).await;
    let version = lock_version(&page);

    for (value, version, status, message) in [
        (
            "lenient",
            version.as_str(),
            400,
            "the routing policy must be fallback or strict",
        ),
        ("strict", "-1", 409, "Someone else changed these settings"),
    ] {
        let res = app
            .post_form(
                &app.client,
                TAB,
                POLICY,
                &[("routing_policy", value), ("lock_version", version)],
            )
            .await;
        assert_eq!(res.status(), status, "{value}");
        let body = res.text().await.unwrap();
        assert!(body.contains(message), "{value}: {body}");
    }
    assert_eq!(app.audit_count("routing_policy.changed").await, 0);

    // htmx: the tab fragment with the new matrix and message, no redirect.
    let token = meta_csrf(&page).unwrap();
    let res = app
        .client
        .post(app.url(POLICY))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .form(&[
            ("routing_policy", "strict"),
            ("lock_version", version.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let frag = res.text().await.unwrap();
    assert!(!frag.contains("<html"), "a fragment");
    assert!(
        frag.contains("Routing policy is now strict.") && frag.contains("id=\"routing-matrix\"")
    );

    // The same value again: nothing to change, nothing written.
    let page = tab_html(&app, &app.client).await;
    let res = app
        .post_form(
            &app.client,
            TAB,
            POLICY,
            &[
                ("routing_policy", "strict"),
                ("lock_version", &lock_version(&page)),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.audit_count("routing_policy.changed").await, 1);
}

#[tokio::test]
async fn members_see_the_matrix_and_policy_read_only() {
    let app = admin_app().await;
    let server = vllm_mock().await;
    let id = add_custom(&app, &server, "Local vLLM", false).await;
    let http = client();
    assert_eq!(
        app.login(&http, "mia@acme.test", PASSWORD).await.status(),
        303
    );
    let page = tab_html(&app, &http).await;
    assert_eq!(servers(&page).len(), 9);
    assert!(page.contains("Routing policy: <strong>Fall back to the platform</strong>"));
    assert!(!page.contains("routing-policy-form"));
    let token = meta_csrf(&page).unwrap();
    let res = http
        .post(app.url(POLICY))
        .form(&[
            ("csrf_token", token.as_str()),
            ("routing_policy", "strict"),
            ("lock_version", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let preview = format!("{CREATE}/{id}/activate");
    assert_eq!(app.get(&http, &preview).await.status(), 403);
    assert_eq!(app.audit_count("routing_policy.changed").await, 0);
}

#[tokio::test]
async fn the_activation_preview_lists_what_would_change_and_changes_nothing() {
    let app = admin_app().await;
    let server = vllm_mock().await;
    let id = add_custom(&app, &server, "Local vLLM", false).await;
    let page = tab_html(&app, &app.client).await;
    let res = app
        .post_form(
            &app.client,
            TAB,
            POLICY,
            &[
                ("routing_policy", "strict"),
                ("lock_version", &lock_version(&page)),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);

    let preview = format!("{CREATE}/{id}/activate");
    let res = app.get(&app.client, &preview).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("Activate Local vLLM?"));
    let table = &page[page.find("id=\"activate-changes\"").expect("changes")..];
    let table = &table[..table.find("</table>").unwrap()];
    // Every feature changes: the tool ones become unavailable (strict), the plain ones move
    // from the platform to the org's provider.
    assert_eq!(table.matches("scope=\"row\"").count(), 9, "{table}");
    assert_eq!(table.matches("Unavailable").count(), 4, "{table}");
    assert_eq!(
        table.matches("Your provider: Local vLLM (llama3)").count(),
        5
    );
    assert!(
        page.contains(&format!("action=\"{preview}\"")),
        "the confirm form posts"
    );

    // Nothing changed by looking.
    let tab = tab_html(&app, &app.client).await;
    assert!(servers(&tab).iter().all(|(_, s)| s == "platform"));
    assert_eq!(app.audit_count("provider.activated").await, 0);

    // With fallback, only the plain features change.
    let res = app
        .post_form(
            &app.client,
            TAB,
            POLICY,
            &[
                ("routing_policy", "fallback"),
                ("lock_version", &lock_version(&tab)),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = app.get(&app.client, &preview).await.text().await.unwrap();
    let table = &page[page.find("id=\"activate-changes\"").expect("changes")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("scope=\"row\"").count(), 5, "{table}");

    // htmx gets the preview as a fragment; an unknown provider is not found.
    let res = app
        .client
        .get(app.url(&preview))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.text().await.unwrap().contains("<html"));
    let missing = format!("{CREATE}/aip_01JZZZZZZZZZZZZZZZZZZZZZZZ/activate");
    assert_eq!(app.get(&app.client, &missing).await.status(), 404);

    // Confirming activates.
    activate(&app, &id).await;
    assert_eq!(app.audit_count("provider.activated").await, 1);
}
