//! The Audit tab and the support console in a real Chromium, with JavaScript (htmx swaps in
//! place) and without (plain GET links and forms): filter, page, open a diff, find the
//! export links; axe-core finds nothing on either page.

use switchboard::models::membership::Role;

use crate::{
    browser::{Browser, JavaScript},
    console::audit_trail::{AUDIT, seed_events},
    helpers::{PASSWORD, TestApp},
};

async fn app_with_trail() -> TestApp {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin@acme.test", false).await;
    app.create_user("sam@support.test", true).await;
    app.create_org("acme", &[(&admin, Role::Admin)]).await;
    seed_events(&mut app.db().await, "acme", 120).await;
    app
}

/// The number of event rows now (0 while the document is being replaced).
async fn rows(browser: &Browser) -> usize {
    browser
        .client
        .find_all(fantoccini::Locator::Css("#audit-rows tr.event"))
        .await
        .map_or(0, |rows| rows.len())
}

/// The element's text now, if it is there (the page may be mid-navigation).
async fn text_of(browser: &Browser, css: &str) -> Option<String> {
    let element = browser
        .client
        .find(fantoccini::Locator::Css(css))
        .await
        .ok()?;
    element.text().await.ok()
}

async fn the_audit_tab(js: JavaScript) {
    let app = app_with_trail().await;
    let browser = Browser::start(js).await;
    browser.log_in(&app, "admin@acme.test").await;
    browser.goto(&app.url(AUDIT)).await;
    assert!(
        browser
            .text("#audit-chain")
            .await
            .starts_with("Chain verified up to event")
    );
    browser.assert_accessible("the Audit tab").await;
    assert_eq!(rows(&browser).await, 50);

    // Open a diff.
    let details = browser.find("tr.event details.diff").await;
    assert!(details.attr("open").await.unwrap().is_none());
    browser
        .find("tr.event details.diff summary")
        .await
        .click()
        .await
        .unwrap();
    assert!(
        details.attr("open").await.unwrap().is_some(),
        "the diff opened"
    );
    assert!(details.text().await.unwrap().contains("new "));

    // Page: with htmx the older rows join the table; without, the link opens page 2.
    browser.find("#audit-older").await.click().await.unwrap();
    match js {
        JavaScript::On => {
            browser
                .eventually("the older rows swapped in", || async {
                    rows(&browser).await == 100
                })
                .await;
            assert_eq!(browser.path().await, AUDIT);
        }
        JavaScript::Off => {
            browser
                .eventually("page 2", || async {
                    rows(&browser).await == 50
                        && text_of(&browser, "#audit-rows tr.event")
                            .await
                            .is_some_and(|t| t.contains("new 70"))
                })
                .await;
        }
    }

    // Filter: only provider events; the URL carries the filter, and so do the export links.
    browser
        .find("#af-family")
        .await
        .select_by_value("provider")
        .await
        .unwrap();
    browser.find("#audit-apply").await.click().await.unwrap();
    browser
        .eventually("the filtered view", || async {
            browser
                .find("#af-family option[value=provider]")
                .await
                .attr("selected")
                .await
                .ok()
                .flatten()
                .is_some()
        })
        .await;
    let url = browser.client.current_url().await.unwrap().to_string();
    assert!(url.contains("family=provider"), "{url}");
    for row in browser
        .find("#audit-rows")
        .await
        .find_all(fantoccini::Locator::Css("tr.event"))
        .await
        .unwrap()
    {
        assert!(row.text().await.unwrap().contains("provider.updated"));
    }
    let csv = browser
        .find("#audit-export-csv")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(csv.ends_with("/audit/export.csv?family=provider"), "{csv}");
    browser.assert_accessible("the filtered Audit tab").await;
    if js == JavaScript::On {
        browser.assert_no_console_errors("the Audit tab").await;
    }
    browser.close().await;
}

#[tokio::test]
async fn the_audit_tab_filters_pages_and_opens_diffs_with_javascript() {
    the_audit_tab(JavaScript::On).await;
}

#[tokio::test]
async fn the_audit_tab_filters_pages_and_opens_diffs_without_javascript() {
    the_audit_tab(JavaScript::Off).await;
}

#[tokio::test]
async fn the_support_console_is_accessible_and_searchable() {
    let app = app_with_trail().await;
    app.create_org("beta", &[]).await;
    let browser = Browser::start(JavaScript::Off).await;
    browser.goto(&app.url("/login")).await;
    browser
        .find("#email")
        .await
        .send_keys("sam@support.test")
        .await
        .unwrap();
    browser
        .find("#password")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .find("form[action='/login'] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    browser
        .eventually("the support console", || async {
            browser.path().await == "/support/orgs"
        })
        .await;
    browser.find("#support-orgs").await;
    browser.assert_accessible("the support console").await;
    browser
        .find("#support-q")
        .await
        .send_keys("bet")
        .await
        .unwrap();
    browser
        .find("#support-search button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    browser
        .eventually("the search result", || async {
            text_of(&browser, "#support-orgs tbody")
                .await
                .is_some_and(|t| t.contains("Org beta") && !t.contains("Org acme"))
        })
        .await;
    // Support reads the org's Audit tab too.
    browser.goto(&app.url(AUDIT)).await;
    browser.find("#audit-chain").await;
    browser.assert_accessible("the Audit tab as support").await;
    browser.close().await;
}
