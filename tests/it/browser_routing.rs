//! What runs where, the Skills editor and the Advanced tab in a real headless Chromium, with
//! JavaScript (htmx swaps the tab in place) and without (plain posts and redirects): the
//! matrix changes when a self-hosted provider without tool calling is activated (after the
//! preview) and when the policy flips; the Skills editor previews Markdown with hostile HTML
//! left inert; the Advanced tab names the prompt variant. axe-core checks every page and
//! every swapped state.

use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::browser::{Browser, JavaScript};
use crate::helpers::{PASSWORD, TestApp};
use crate::provider_ops::app_with_org;

const PROVIDER: &str = "/orgs/acme/settings/ai/provider";
const SKILLS: &str = "/orgs/acme/settings/ai/skills";
const ADVANCED: &str = "/orgs/acme/settings/ai/advanced";

/// A self-hosted OpenAI-compatible server on loopback serving `llama3`.
async fn vllm_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "data": [{"id": "llama3", "object": "model"}]}),
        ))
        .mount(&server)
        .await;
    server
}

/// Org `acme` with Insights on and a custom provider without tool calling, added over HTTP.
async fn arranged() -> (TestApp, MockServer) {
    let (app, _, _, _) = app_with_org().await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(app.turn_insights_on(&app.client).await.status(), 303);
    let server = vllm_mock().await;
    let base = format!("{}/v1", server.uri());
    let res = app
        .post_form(
            &app.client,
            PROVIDER,
            "/orgs/acme/settings/ai/providers",
            &[
                ("kind", "custom"),
                ("name", "Local vLLM"),
                ("default_model", "llama3"),
                ("base_url", &base),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    (app, server)
}

/// The feature row's server, read in one script (a page replaced mid-read, as after a plain
/// post, can't leave a stale element behind); `None` while the row is not there.
async fn server_of(browser: &Browser, feature: &str) -> Option<String> {
    let script = format!(
        "const row = document.querySelector('#route-{feature}'); \
         return row ? row.getAttribute('data-server') : null"
    );
    // A script that meets a page being replaced is retried by `eventually`, not fatal.
    let value = browser.client.execute(&script, vec![]).await.ok()?;
    value.as_str().map(str::to_owned)
}

async fn wait_for_server(browser: &Browser, feature: &str, want: &str) {
    browser
        .eventually(&format!("{feature} served by {want}"), || async {
            server_of(browser, feature).await.as_deref() == Some(want)
        })
        .await;
}

async fn routing_and_skills(js: JavaScript) {
    let (app, _server) = arranged().await;
    let browser = Browser::start(js).await;
    browser.log_in(&app, "ada@acme.test").await;
    browser.goto(&app.url(PROVIDER)).await;
    browser
        .execute("window.sbMarker = 'same document'; return true")
        .await;
    for f in ["assistant", "summaries"] {
        assert_eq!(server_of(&browser, f).await.as_deref(), Some("platform"));
    }

    // Activate: the preview first, then confirm.
    browser
        .find("#providers a[href$='/activate']")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#activate-preview").await;
    let changes = browser.text("#activate-changes").await;
    assert!(
        changes.contains("Your provider: Local vLLM (llama3)"),
        "{changes}"
    );
    browser.assert_accessible("the activation preview").await;
    browser
        .find("#activate-confirm")
        .await
        .click()
        .await
        .unwrap();
    wait_for_server(&browser, "summaries", "byo").await;
    assert_eq!(
        server_of(&browser, "assistant").await.as_deref(),
        Some("platform"),
        "tool use stays on the platform with policy fallback"
    );
    browser
        .assert_accessible("the matrix with a provider without tools")
        .await;

    // Strict: the tool-using features become unavailable.
    browser
        .find("#routing-policy-strict")
        .await
        .click()
        .await
        .unwrap();
    browser
        .find("#routing-policy-save")
        .await
        .click()
        .await
        .unwrap();
    wait_for_server(&browser, "assistant", "unavailable").await;
    assert_eq!(
        server_of(&browser, "summaries").await.as_deref(),
        Some("byo")
    );
    assert!(
        browser
            .text(".flash.ok")
            .await
            .contains("Routing policy is now strict.")
    );
    browser
        .assert_accessible("the matrix under policy strict")
        .await;
    let marker = browser.execute("return window.sbMarker || null").await;
    match js {
        JavaScript::On => assert_eq!(marker, "same document", "htmx swapped every step"),
        JavaScript::Off => assert_eq!(marker, Value::Null, "plain posts loaded new pages"),
    }

    // The Skills editor previews Markdown; hostile HTML stays inert.
    browser.goto(&app.url(SKILLS)).await;
    browser.find("#skill-add").await.click().await.unwrap();
    browser
        .find("#sk-name")
        .await
        .send_keys("Tone")
        .await
        .unwrap();
    browser
        .find("#sk-instructions")
        .await
        .send_keys("Answer **briefly**.\n\n<img src=x onerror=\"window.sbOwned=1\"><script>window.sbOwned=2</script>")
        .await
        .unwrap();
    browser
        .find("#skill-preview-button")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#skill-preview").await;
    assert_eq!(browser.text("#skill-preview strong").await, "briefly");
    assert_eq!(
        browser
            .execute("return document.querySelectorAll('#skill-preview img, #skill-preview script').length")
            .await,
        json!(0)
    );
    browser
        .assert_accessible("the skill editor with a preview")
        .await;
    browser.find("#skill-save").await.click().await.unwrap();
    browser
        .eventually("the saved skill's card", || async {
            browser
                .text_now("#skills .skill h3")
                .await
                .is_some_and(|t| t == "Tone")
        })
        .await;
    browser
        .assert_accessible("the Skills tab with a skill")
        .await;
    assert_eq!(
        browser.execute("return window.sbOwned || null").await,
        Value::Null
    );

    // The Advanced tab names the variant the active provider implies.
    browser.goto(&app.url(ADVANCED)).await;
    assert_eq!(browser.text("#prompt-variant").await, "openai-compatible");
    assert!(browser.text("#advanced-skills").await.contains("Tone"));
    browser.assert_no_console_errors("routing and skills").await;
    browser.close().await;
}

#[tokio::test]
async fn with_javascript_the_matrix_policy_and_skills_swap_in_place() {
    routing_and_skills(JavaScript::On).await;
}

#[tokio::test]
async fn without_javascript_the_matrix_policy_and_skills_work_as_plain_posts() {
    routing_and_skills(JavaScript::Off).await;
}
