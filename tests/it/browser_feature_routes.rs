//! The What-runs-where editor (issue 20) in a real headless Chromium, with JavaScript (htmx
//! swaps the preview and the tab in place) and without (plain GET and POST, new pages):
//! summaries routed to a second provider with another model while the active provider serves
//! the rest, then turned off. axe-core checks the editor and the preview.

use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::browser::{Browser, JavaScript};
use crate::helpers::{PASSWORD, TestApp};
use crate::provider_ops::app_with_org;

const PROVIDER: &str = "/orgs/acme/settings/ai/provider";
const CREATE: &str = "/orgs/acme/settings/ai/providers";

async fn vllm_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [{"id": "llama3", "object": "model"}, {"id": "phi3", "object": "model"}]})))
        .mount(&server)
        .await;
    server
}

/// Adds a custom provider with tool calling over HTTP; returns its id.
async fn add(app: &TestApp, server: &MockServer, name: &str) -> String {
    let base = format!("{}/v1", server.uri());
    let form = [
        ("kind", "custom"),
        ("name", name),
        ("default_model", "llama3"),
        ("base_url", base.as_str()),
        ("supports_tools", "on"),
    ];
    let res = app.post_form(&app.client, PROVIDER, CREATE, &form).await;
    assert_eq!(res.status(), 303);
    let page = app.get(&app.client, PROVIDER).await.text().await.unwrap();
    let (i, _) = page.match_indices("id=\"provider-aip_").last().unwrap();
    page[i + 13..i + 13 + 30].to_owned()
}

async fn row_text(browser: &Browser, feature: &str) -> Option<String> {
    let script = format!(
        "const row = document.querySelector('#route-{feature}'); \
         return row ? row.getAttribute('data-server') + ' ' + row.textContent : null"
    );
    let value = browser.client.execute(&script, vec![]).await.ok()?;
    value.as_str().map(str::to_owned)
}

async fn route_and_turn_off(js: JavaScript) {
    let (app, _, _, _) = app_with_org().await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let server = vllm_mock().await;
    let big = add(&app, &server, "Big").await;
    let res = app
        .post_form(
            &app.client,
            PROVIDER,
            &format!("{CREATE}/{big}/activate"),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    let small = add(&app, &server, "Small").await;

    let browser = Browser::start(js).await;
    browser.log_in(&app, "ada@acme.test").await;
    browser.goto(&app.url(PROVIDER)).await;
    browser
        .execute("window.sbMarker = 'same document'; return true")
        .await;
    browser.assert_accessible("the route editor").await;

    // Summaries to Small with phi3: the preview first, then apply.
    browser
        .execute(&format!(
            "document.querySelector('#route-choice-summaries').value = 'provider:{small}'; \
             document.querySelector('#route-model-summaries').value = 'phi3'; return true"
        ))
        .await;
    browser
        .find("#route-preview-summaries")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#route-preview").await;
    let changes = browser.text("#route-changes").await;
    assert!(changes.contains("Small (phi3)"), "{changes}");
    browser.assert_accessible("the route preview").await;
    browser.find("#route-confirm").await.click().await.unwrap();
    browser
        .eventually("summaries on Small", || async {
            row_text(&browser, "summaries")
                .await
                .is_some_and(|t| t.starts_with("byo") && t.contains("Small") && t.contains("phi3"))
        })
        .await;
    assert!(row_text(&browser, "triage").await.unwrap().contains("Big"));

    // Off: unavailable.
    browser
        .execute("document.querySelector('#route-choice-summaries').value = 'off'; document.querySelector('#route-model-summaries').value = ''; return true")
        .await;
    browser
        .find("#route-preview-summaries")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#route-confirm").await.click().await.unwrap();
    browser
        .eventually("summaries off", || async {
            row_text(&browser, "summaries")
                .await
                .is_some_and(|t| t.starts_with("unavailable"))
        })
        .await;
    browser
        .assert_accessible("the matrix with a route off")
        .await;
    let marker = browser.execute("return window.sbMarker || null").await;
    match js {
        JavaScript::On => assert_eq!(marker, "same document", "htmx swapped every step"),
        JavaScript::Off => assert_eq!(marker, Value::Null, "plain requests loaded new pages"),
    }
    browser.assert_no_console_errors("the route editor").await;
    browser.close().await;
    assert_eq!(app.audit_count("feature_route.set").await, 2);
}

#[tokio::test]
async fn with_javascript_routes_are_previewed_and_applied_in_place() {
    route_and_turn_off(JavaScript::On).await;
}

#[tokio::test]
async fn without_javascript_routes_are_previewed_and_applied_as_plain_requests() {
    route_and_turn_off(JavaScript::Off).await;
}
