//! The API tokens page in a real headless Chromium, with JavaScript (the form and the
//! Revoke button swap the page body with htmx) and without (plain form posts): an admin
//! ticks scopes, creates a token, copies it from the page, sees it once, and revokes it;
//! the API takes the token until then and refuses it after. axe-core checks every page on
//! the way (the empty page, the answer showing the token, the list, the list after a revoke).

use switchboard::models::membership::Role;

use crate::browser::{Browser, JavaScript};
use crate::helpers::TestApp;

const TOKENS: &str = "/orgs/acme/settings/tokens";

/// GETs the catalog with `token`; the status.
async fn catalog_with(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(app.url("/api/v1/catalog"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn create_see_once_and_revoke(js: JavaScript) {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin@acme.test", false).await;
    app.create_org("acme", &[(&admin, Role::Admin)]).await;
    let browser = Browser::start(js).await;
    browser.log_in(&app, "admin@acme.test").await;

    // The nav links the page for an admin.
    browser
        .find(&format!("a[href='{TOKENS}']"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .eventually("the tokens page", || async {
            browser.path().await == TOKENS
        })
        .await;
    browser.find("#no-tokens").await;
    browser.assert_accessible("the empty tokens page").await;
    browser
        .execute("window.sbMarker = 'same document'; return true")
        .await;

    // Name, two scopes from two groups, 30 days.
    browser
        .find("#token-name")
        .await
        .send_keys("deploy pipeline")
        .await
        .unwrap();
    for scope in ["#scope-aiProviders-list", "#scope-settings-get"] {
        browser.find(scope).await.click().await.unwrap();
    }
    browser
        .find("#token-expires")
        .await
        .select_by_value("30d")
        .await
        .unwrap();
    browser.find("#create-token").await.click().await.unwrap();
    browser.find("#token-secret").await;
    assert!(
        browser
            .text("#token-created")
            .await
            .contains("Copy it now; it won't be shown again.")
    );
    let marker = browser.execute("return window.sbMarker || null").await;
    match js {
        JavaScript::On => assert_eq!(marker, "same document", "htmx swapped the body"),
        JavaScript::Off => assert!(marker.is_null(), "a plain post answered a new page"),
    }
    let token = browser
        .execute("return document.getElementById('token-secret').value")
        .await;
    let token = token.as_str().expect("the token's text").to_owned();
    assert!(token.starts_with("swb_") && token.len() == 47, "{token}");
    let html = browser
        .execute("return document.documentElement.outerHTML")
        .await;
    assert_eq!(
        html.as_str().unwrap().matches(&token[8..]).count(),
        1,
        "the token is on the page once"
    );
    browser
        .assert_accessible("the tokens page showing the new token")
        .await;
    assert_eq!(catalog_with(&app, &token).await, 200, "the token works");

    // Shown once: the page again lists the token by its prefix, never the token.
    browser.goto(&app.url(TOKENS)).await;
    browser.find("#tokens").await;
    assert!(browser.text_now("#token-secret").await.is_none());
    let listed = browser.text("#tokens").await;
    assert!(
        listed.contains("deploy pipeline")
            && listed.contains(&format!("{}…", &token[..8]))
            && listed.contains("aiProviders:list settings:get"),
        "{listed}"
    );
    let html = browser
        .execute("return document.documentElement.outerHTML")
        .await;
    assert!(!html.as_str().unwrap().contains(&token[8..]));

    // Revoke it.
    browser
        .execute("window.sbMarker = 'same document'; return true")
        .await;
    crate::browser_confirm::press_and_confirm(&browser, js, "#tokens a.button.danger").await;
    browser
        .eventually("the revocation's message", || async {
            browser
                .text_now(".flash.ok")
                .await
                .is_some_and(|t| t.contains("Revoked the token deploy pipeline"))
        })
        .await;
    let marker = browser.execute("return window.sbMarker || null").await;
    assert_eq!(
        marker.is_null(),
        js == JavaScript::Off,
        "htmx revokes in place; a plain post follows the redirect"
    );
    assert!(browser.text("#tokens").await.contains("revoked"));
    assert!(browser.text_now("#tokens a.button.danger").await.is_none());
    browser
        .assert_accessible("the tokens page after a revocation")
        .await;
    browser
        .assert_no_console_errors("creating and revoking")
        .await;
    assert_eq!(catalog_with(&app, &token).await, 401, "revoked at once");
    browser.close().await;
    assert_eq!(app.audit_count("token.created").await, 1);
    assert_eq!(app.audit_count("token.revoked").await, 1);
}

#[tokio::test]
async fn with_javascript_an_admin_creates_sees_once_and_revokes_a_token() {
    create_see_once_and_revoke(JavaScript::On).await;
}

#[tokio::test]
async fn without_javascript_an_admin_creates_sees_once_and_revokes_a_token() {
    create_see_once_and_revoke(JavaScript::Off).await;
}
