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

/// The Audit tab's trust lines (issue 22, item 2) in Chromium, each state checked by
/// axe-core: signed and fully verified against the external checkpoint store; a failed
/// full verification with the signing job's alert (an old row edited by the database's
/// superuser); and an unsigned trail.
#[tokio::test]
async fn the_audit_tabs_trust_lines_are_accessible_in_each_state() {
    use diesel_async::RunQueryDsl as _;
    use secrecy::ExposeSecret as _;
    use switchboard::{crypto::signing::AuditSigner, ops::trail::signing};
    let day = std::time::Duration::from_secs(86_400);

    let dir = tempfile::tempdir().unwrap();
    let key = AuditSigner::generate_entry("b1").unwrap();
    let app = TestApp::spawn_with(&[
        ("SWITCHBOARD_AUDIT_SIGNING_KEY", key.expose_secret()),
        (
            "SWITCHBOARD_AUDIT_CHECKPOINTS",
            dir.path().to_str().unwrap(),
        ),
    ])
    .await;
    let admin = app.create_user("admin@acme.test", false).await;
    app.create_org("acme", &[(&admin, Role::Admin)]).await;
    let mut db = app.db().await;
    seed_events(&mut db, "acme", 12).await;
    assert!(signing::sign_due(&app.state).await.unwrap().signed >= 1);
    let report = signing::verify_scheduled(&app.state, day)
        .await
        .unwrap()
        .expect("the lease is free");
    assert!(report.problems().is_empty(), "{:?}", report.problems());

    let browser = Browser::start(JavaScript::On).await;
    browser.log_in(&app, "admin@acme.test").await;
    browser.goto(&app.url(AUDIT)).await;
    let full = browser.text("#audit-full").await;
    assert!(
        full.starts_with("Full verification of all 12 events passed at")
            && full.contains("verified against the external checkpoint of"),
        "{full}"
    );
    assert!(
        browser
            .text("#audit-trust")
            .await
            .contains("Last signed checkpoint: event #12")
    );
    assert!(browser.text_now("#audit-unsigned").await.is_none());
    browser
        .assert_accessible("the Audit tab, verified externally")
        .await;

    // The superuser edits an old row and one written after the last checkpoint: the next
    // full verification fails, and the signing job refuses to sign over the newer one;
    // both show, as alerts.
    seed_events(&mut db, "acme", 2).await;
    for sql in [
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "UPDATE audit_events SET target = 'provider:forged' WHERE seq IN (2, 13) \
           AND org_id = (SELECT id FROM orgs WHERE slug = 'acme')",
        "ALTER TABLE audit_events ENABLE TRIGGER USER",
        "DELETE FROM job_leases WHERE name = 'audit.verify'",
    ] {
        diesel::sql_query(sql).execute(&mut db).await.unwrap();
    }
    let signed = signing::sign_due(&app.state).await.unwrap();
    assert_eq!(signed.signed, 0);
    assert_eq!(signed.alerts.len(), 1, "{:?}", signed.alerts);
    let report = signing::verify_scheduled(&app.state, day)
        .await
        .unwrap()
        .expect("the lease was freed");
    assert!(!report.problems().is_empty());
    browser.goto(&app.url(AUDIT)).await;
    assert!(
        browser
            .text("#audit-full")
            .await
            .starts_with("Full verification failed at"),
    );
    assert!(
        browser
            .text("#audit-signing-alert")
            .await
            .starts_with("Signing stopped at")
    );
    assert!(
        !browser
            .text("#audit-trust")
            .await
            .contains("verified against the external")
    );
    browser
        .assert_accessible("the Audit tab, verification failed")
        .await;
    browser.close().await;

    // No signing key: the tab says the trail is unsigned.
    let unsigned = TestApp::spawn().await;
    let admin = unsigned.create_user("admin@acme.test", false).await;
    unsigned.create_org("acme", &[(&admin, Role::Admin)]).await;
    seed_events(&mut unsigned.db().await, "acme", 3).await;
    let browser = Browser::start(JavaScript::Off).await;
    browser.log_in(&unsigned, "admin@acme.test").await;
    browser.goto(&unsigned.url(AUDIT)).await;
    assert!(
        browser
            .text("#audit-unsigned")
            .await
            .starts_with("The trail is unsigned")
    );
    assert!(
        browser
            .text("#audit-full")
            .await
            .starts_with("No full verification")
    );
    browser.assert_accessible("the Audit tab, unsigned").await;
    browser.close().await;
}
