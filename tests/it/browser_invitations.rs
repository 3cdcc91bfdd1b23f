//! The invitation flow in a real headless Chromium, with JavaScript (the invitation form
//! swaps the page body with htmx) and without (plain form posts): an admin invites, copies
//! the link from the page, logs out; the link opened as a new user asks for a name and
//! password and lands in the org. axe-core checks the members page with the new link and
//! with a pending invitation, the invitation page (anonymous, another account, the invited
//! user logged in) and the spent link's page.

use switchboard::{
    models::{membership::Role, org::Org},
    ops::{
        Caller,
        invitations::{self, CreateInvitation},
    },
};

use crate::browser::{Browser, JavaScript, log_out};
use crate::helpers::TestApp;

const MEMBERS: &str = "/orgs/acme/settings/members";
const NEW_PASSWORD: &str = "nina's long new password";

/// An operator's invitation to org `slug` (the CLI's caller), returning the link's token.
async fn operator_invites(app: &TestApp, slug: &str, email: &str) -> String {
    use secrecy::ExposeSecret as _;
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, slug).await.unwrap().unwrap();
    let input = CreateInvitation {
        email: email.to_owned(),
        role: Role::Member,
    };
    invitations::create_invitation(&app.state, &Caller::operator(Some(org)), input)
        .await
        .expect("invitation")
        .token
        .expose_secret()
        .to_owned()
}

async fn invite_and_join(js: JavaScript) {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin@acme.test", false).await;
    app.create_org("acme", &[(&admin, Role::Admin)]).await;
    let browser = Browser::start(js).await;
    browser.log_in(&app, "admin@acme.test").await;

    // The admin invites Nina.
    browser.goto(&app.url(MEMBERS)).await;
    browser.find("#no-invitations").await;
    browser
        .execute("window.sbMarker = 'same document'; return true")
        .await;
    browser
        .find("#invite-email")
        .await
        .send_keys("nina@new.test")
        .await
        .unwrap();
    browser
        .find("#invite-role")
        .await
        .select_by_value("member")
        .await
        .unwrap();
    browser
        .find("#invite-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#invitation-link").await;
    assert!(
        browser
            .text(".flash.ok")
            .await
            .contains("Invitation created.")
    );
    let marker = browser.execute("return window.sbMarker || null").await;
    match js {
        JavaScript::On => assert_eq!(marker, "same document", "htmx swapped the body"),
        JavaScript::Off => assert!(marker.is_null(), "a plain post answered a new page"),
    }
    let link = browser
        .execute("return document.getElementById('invitation-link').value")
        .await;
    let link = link.as_str().expect("the link's text").to_owned();
    assert!(
        link.starts_with(&app.url("/invitations?token=")),
        "an absolute link to this server: {link}"
    );
    browser
        .assert_accessible("the members page showing the new link")
        .await;

    // Shown once: the page again lists the invitation, not the link.
    browser.goto(&app.url(MEMBERS)).await;
    browser.find("#invitations").await;
    assert!(browser.text_now("#invitation-link").await.is_none());
    assert!(browser.text("#invitations").await.contains("nina@new.test"));
    browser
        .assert_accessible("the members page with a pending invitation")
        .await;
    browser.assert_no_console_errors("inviting").await;

    // Nina opens the link (after the admin logged out) and creates her account.
    log_out(&browser).await;
    browser.goto(&link).await;
    browser.find("#sign-up-form").await;
    assert!(browser.text("h1").await.contains("Join Org acme"));
    browser.assert_accessible("the invitation page").await;
    for (field, value) in [
        ("#signup-name", "Nina"),
        ("#signup-password", NEW_PASSWORD),
        ("#signup-confirm", NEW_PASSWORD),
    ] {
        browser.find(field).await.send_keys(value).await.unwrap();
    }
    browser.find("#sign-up").await.click().await.unwrap();
    browser
        .eventually("Nina's landing in the org", || async {
            browser.path().await == "/orgs/acme/settings/ai/provider"
        })
        .await;
    assert!(
        browser
            .text(".flash.ok")
            .await
            .contains("Welcome to Org acme: you joined as member.")
    );
    assert!(browser.text(".who").await.contains("Nina"));
    browser
        .assert_accessible("Nina's first page in the org")
        .await;

    // Logged in, Nina opens an invitation for someone else (told so), then one for her to
    // another org (one button), and joins that one too.
    app.create_org("beta", &[]).await;
    let other = operator_invites(&app, "beta", "someone@else.test").await;
    browser
        .goto(&app.url(&format!("/invitations?token={other}")))
        .await;
    browser.find("#invitation").await;
    assert!(
        browser
            .text("#invitation")
            .await
            .contains("this invitation is for someone@else.test")
    );
    browser
        .assert_accessible("an invitation for another account")
        .await;
    let mine = operator_invites(&app, "beta", "nina@new.test").await;
    browser
        .goto(&app.url(&format!("/invitations?token={mine}")))
        .await;
    browser.find("#accept").await;
    browser
        .assert_accessible("an invitation for the logged-in user")
        .await;
    browser.find("#accept").await.click().await.unwrap();
    browser
        .eventually("Nina's landing in beta", || async {
            browser.path().await == "/orgs/beta/settings/ai/provider"
        })
        .await;
    assert!(
        browser
            .text(".flash.ok")
            .await
            .contains("Welcome to Org beta")
    );
    browser.assert_no_console_errors("joining beta").await;

    // The link is spent.
    browser.goto(&link).await;
    browser.find("#invitation-invalid").await;
    assert!(
        browser
            .text("#invitation-invalid")
            .await
            .contains("used already")
    );
    // (Its 410 is the one entry the browser logs here, as a failed load.)
    browser.assert_accessible("a spent invitation link").await;
    browser.close().await;
    assert_eq!(
        app.audit_count("invitation.accepted").await,
        2,
        "acme and beta"
    );
}

#[tokio::test]
async fn with_javascript_an_invited_newcomer_joins() {
    invite_and_join(JavaScript::On).await;
}

#[tokio::test]
async fn without_javascript_an_invited_newcomer_joins() {
    invite_and_join(JavaScript::Off).await;
}
