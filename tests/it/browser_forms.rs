//! Forms that help (issue 18) in a real headless Chromium, with JavaScript (htmx swaps the
//! form in place) and without (plain posts): a failed save followed by a successful one
//! without typing the key again; "Load models" filling the model field's datalist from a
//! wiremock `/models` (a model only the mock lists is offered); a stored key never sent to a
//! changed base URL (the new URL's mock sees no key); a draft that expires on the app's mock
//! clock. The key is in no page along the way, and axe-core checks every form state.

use std::time::Duration;

use serde_json::Value;
use switchboard::{
    db::schema::key_drafts,
    models::{membership::Role, org::Org},
    ops::{
        Access, Caller, RequestMeta,
        providers::{self as ops, KeyInput, ProviderInput},
    },
    providers::ProviderKind,
};

use crate::browser::{Browser, JavaScript};
use crate::forms::{MOCK_ONLY, OPENAI_KEY, models_mock};
use crate::helpers::TestApp;

const PROVIDER: &str = "/orgs/acme/settings/ai/provider";
const NEW_OPENAI: &str = "/orgs/acme/settings/ai/provider/new?kind=openai";

/// Fails if any spelling of the key is in the current document.
async fn assert_no_key(browser: &Browser, when: &str) {
    let html = browser
        .execute("return document.documentElement.outerHTML")
        .await;
    assert!(
        !html.as_str().unwrap_or_default().contains("CANARY"),
        "the key is in the page {when}"
    );
}

/// Clears and types into each field.
async fn fill(browser: &Browser, fields: &[(&str, &str)]) {
    for (css, value) in fields {
        let input = browser.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
}

async fn click(browser: &Browser, css: &str) {
    browser.find(css).await.click().await.unwrap();
}

/// Waits until the text of `css` contains `part`.
async fn until_text(browser: &Browser, css: &str, part: &str) {
    browser
        .eventually(&format!("{css} to say {part:?}"), || async {
            browser
                .text_now(css)
                .await
                .is_some_and(|t| t.contains(part))
        })
        .await;
}

async fn drafts(app: &TestApp) -> i64 {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    let mut conn = app.db().await;
    key_drafts::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

/// Console errors other than the 4xx answers of refused posts (which Chromium logs).
async fn assert_quiet_console(browser: &Browser, during: &str) {
    let unexpected: Vec<Value> = browser
        .console()
        .await
        .into_iter()
        .filter(|e| {
            e["level"] == "SEVERE"
                && !e["message"].as_str().is_some_and(|m| {
                    m.contains("/settings/ai/provider") && (m.contains("422") || m.contains("400"))
                })
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "console errors during {during}: {unexpected:?}"
    );
}

async fn forms_help(js: JavaScript) {
    let app = TestApp::spawn_with(&[("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")]).await;
    let admin = app.create_user("admin@acme.test", false).await;
    app.create_org("acme", &[(&admin, Role::Admin)]).await;
    let home = models_mock(Some(OPENAI_KEY)).await;
    let elsewhere = models_mock(None).await;
    let (home_uri, elsewhere_uri) = (home.uri(), elsewhere.uri());
    let browser = Browser::start(js).await;
    browser.log_in(&app, "admin@acme.test").await;

    // 1. A failed save (wrong model) keeps the key; the form says so and shows no key.
    browser.goto(&app.url(NEW_OPENAI)).await;
    browser
        .execute("window.sbForms = 'same document'; return true")
        .await;
    let required = browser
        .execute("return document.querySelector('#pf-api_key').required")
        .await;
    assert_eq!(required, true, "the key field is marked required");
    fill(
        &browser,
        &[
            ("#pf-name", "GPT"),
            ("#pf-default_model", "gpt-4o-typo"),
            ("#pf-base_url", &home_uri),
            ("#pf-api_key", OPENAI_KEY),
        ],
    )
    .await;
    click(&browser, "#provider-save").await;
    until_text(
        &browser,
        "#pf-key-draft",
        "Using the key you typed (…WXYZ) — replace",
    )
    .await;
    assert!(
        browser
            .text("#provider-check-failure")
            .await
            .contains("model_not_found")
    );
    assert_no_key(&browser, "after the failed save").await;
    browser
        .assert_accessible("the form keeping a typed key")
        .await;
    assert_eq!(drafts(&app).await, 1);

    // 2. Load models: the mock's own model is offered in the datalist.
    click(&browser, "#provider-load-models").await;
    until_text(
        &browser,
        "#pf-models-status",
        "Loaded 2 models from the endpoint.",
    )
    .await;
    let offered = browser
        .execute(&format!(
            "return !!document.querySelector('#pf-models option[value=\"{MOCK_ONLY}\"]')"
        ))
        .await;
    assert_eq!(offered, true, "the mock's model is offered");
    assert_eq!(
        browser
            .execute("return document.querySelector('#pf-default_model').getAttribute('list')")
            .await,
        "pf-models"
    );
    until_text(&browser, "#pf-key-draft", "Using the key you typed (…WXYZ)").await;
    assert_no_key(&browser, "after loading models").await;
    browser
        .assert_accessible("the form with a loaded model list")
        .await;

    // 3. Fix only the model and save, without typing the key again.
    fill(&browser, &[("#pf-default_model", MOCK_ONLY)]).await;
    click(&browser, "#provider-save").await;
    until_text(&browser, "#providers .provider .key", "sk-...WXYZ").await;
    assert_eq!(browser.path().await, PROVIDER);
    assert_no_key(&browser, "after the save").await;
    assert_eq!(app.audit_count("provider.created").await, 1);
    assert_eq!(drafts(&app).await, 0, "the draft is dropped on use");
    let marker = browser.execute("return window.sbForms || null").await;
    match js {
        JavaScript::On => assert_eq!(marker, "same document", "htmx swapped every step"),
        JavaScript::Off => assert_eq!(marker, Value::Null, "plain posts loaded new pages"),
    }

    // 4. A stored key never goes to a changed base URL: a self-hosted provider (key
    // optional) is listed at the new URL without it.
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    let caller = Caller::in_org(&admin, org, Access::Admin, RequestMeta::default());
    let local = ops::create_provider(
        &app.state,
        &caller,
        ProviderInput {
            kind: ProviderKind::Custom,
            name: "Local".to_owned(),
            default_model: "gpt-4o".to_owned(),
            base_url: Some(home_uri.clone()),
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
    .unwrap();
    browser
        .goto(&app.url(&format!(
            "/orgs/acme/settings/ai/providers/{}/edit",
            local.id
        )))
        .await;
    fill(&browser, &[("#pf-base_url", &elsewhere_uri)]).await;
    click(&browser, "#provider-load-models").await;
    until_text(
        &browser,
        "#pf-models-status",
        "Loaded 2 models from the endpoint.",
    )
    .await;
    let requests = elsewhere.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].headers.get("authorization").is_none(),
        "the stored key went to the new base URL"
    );
    assert_no_key(&browser, "after listing at a new base URL").await;

    // 5. A draft expires: 16 minutes on the app's clock, then "type the key again".
    browser.goto(&app.url(NEW_OPENAI)).await;
    fill(
        &browser,
        &[
            ("#pf-name", "GPT 2"),
            ("#pf-default_model", "gpt-4o-typo"),
            ("#pf-base_url", &home_uri),
            ("#pf-api_key", OPENAI_KEY),
        ],
    )
    .await;
    click(&browser, "#provider-save").await;
    until_text(&browser, "#pf-key-draft", "Using the key you typed").await;
    app.clock.advance(Duration::from_secs(16 * 60));
    fill(&browser, &[("#pf-default_model", "gpt-4o")]).await;
    click(&browser, "#provider-save").await;
    until_text(&browser, "#pf-api_key-error", "type the key again").await;
    let required = browser
        .execute("return document.querySelector('#pf-api_key').required")
        .await;
    assert_eq!(required, true, "the key is asked for again");
    assert_no_key(&browser, "after the draft expired").await;
    browser
        .assert_accessible("the form after the draft expired")
        .await;
    assert_eq!(
        app.audit_count("provider.created").await,
        2,
        "only GPT and Local"
    );
    assert_quiet_console(&browser, "the provider form").await;
    browser.close().await;
}

#[tokio::test]
async fn with_javascript_the_form_keeps_the_key_and_loads_models() {
    forms_help(JavaScript::On).await;
}

#[tokio::test]
async fn without_javascript_the_form_keeps_the_key_and_loads_models() {
    forms_help(JavaScript::Off).await;
}
