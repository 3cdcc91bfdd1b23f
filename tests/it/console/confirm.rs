//! Issue 17 over HTTP: the org's own address and its settings redirect to the AI settings;
//! a mistyped address inside an org is a 404 in the org's frame; every destructive action
//! has a confirmation page (GET) that changes nothing and whose form POSTs the action; a
//! refusal answers in place, in words that name no scope.

use crate::browser_confirm::{org_with_everything, provider_id};
use crate::helpers::{PASSWORD, TestApp, client, location, meta_csrf};

const PROVIDER: &str = "/orgs/acme/settings/ai/provider";

async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let res = app.get(c, path).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn events(app: &TestApp) -> i64 {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::audit_events;
    let mut conn = app.db().await;
    audit_events::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn org_addresses_redirect_and_mistyped_ones_are_framed_404s() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let c = &app.client;
    let token = app.csrf(c, "/orgs/acme/settings/ai/provider").await;
    for path in ["/orgs/acme", "/orgs/acme/", "/orgs/acme/settings"] {
        let res = app.get(c, path).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(location(&res), "/orgs/acme/settings/ai", "{path}");
    }
    for path in [
        "/orgs/acme/settings/ai/nonsense",
        "/orgs/acme/settings/ai/skills/no-such-skill",
        "/orgs/acme/settings/ai/providers/aip_nope/edit",
        "/orgs/acme/settings/ai/providers/aip_nope/delete",
        "/orgs/acme/whatever",
    ] {
        let (status, html) = page(&app, c, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("class=\"org-head\""), "{path}: framed");
        assert!(html.contains("id=\"tab-provider\""), "{path}: the tabs");
        assert!(html.contains("Page not found"), "{path}");
        assert!(
            html.contains("Org acme has no such page"),
            "{path}: explains itself"
        );
        assert!(
            html.contains("<a href=\"/orgs/acme/settings/ai\">"),
            "{path}: a link back"
        );
        // The session's own CSRF token, so Log out works from the error page too.
        assert_eq!(meta_csrf(&html), Some(token.clone()), "{path}");
    }
    // An org that isn't there (for this user) is a plain 404 with a way back.
    let (status, html) = page(&app, c, "/orgs/nope/settings/ai").await;
    assert_eq!(status, 404);
    assert!(html.contains("Page not found") && html.contains("href=\"/\""));
}

#[tokio::test]
async fn confirmation_pages_ask_change_nothing_and_post_the_action() {
    let (app, _server) = org_with_everything().await;
    let c = &app.client;
    let tab = page(&app, c, PROVIDER).await.1;
    let (claude, spare) = (provider_id(&tab, "Claude"), provider_id(&tab, "Spare"));
    let before = events(&app).await;
    let tokens = page(&app, c, "/orgs/acme/settings/tokens").await.1;
    let token_revoke = tokens
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|h| h.ends_with("/revoke"))
        .expect("a token's revoke link")
        .to_owned();
    let members = page(&app, c, "/orgs/acme/settings/members").await.1;
    let links: Vec<&str> = members
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .collect();
    let invitation = links
        .iter()
        .find(|h| h.contains("/invitations/") && h.ends_with("/revoke"))
        .expect("the invitation's revoke link");
    let mia = {
        let mut conn = app.db().await;
        switchboard::models::user::User::find_by_email(&mut conn, "mia@acme.test")
            .await
            .unwrap()
            .unwrap()
    };
    let provider =
        |id: &str, action: &str| format!("/orgs/acme/settings/ai/providers/{id}/{action}");
    let cases = [
        (
            provider(&claude, "remove-key"),
            "Remove the key of the active provider Claude?",
            "The org goes back to the platform default",
        ),
        (
            provider(&spare, "remove-key"),
            "Remove the key of Spare?",
            "cannot be tested or activated until a key is entered again",
        ),
        (
            provider(&spare, "delete"),
            "Delete Spare?",
            "deleted for good",
        ),
        (
            "/orgs/acme/settings/ai/provider/deactivate".to_owned(),
            "Deactivate Claude?",
            "back to the platform default",
        ),
        (
            token_revoke.clone(),
            "Revoke the token deploy",
            "refused from now on",
        ),
        (
            (*invitation).to_owned(),
            "Revoke the invitation for new@acme.test?",
            "Its link stops working",
        ),
        (
            format!("/orgs/acme/settings/members/{}/remove", mia.id),
            "Remove mia@acme.test from Org acme?",
            "lose access",
        ),
    ];
    for (path, question, consequence) in &cases {
        let (status, html) = page(&app, c, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains(question), "{path}: {question}");
        assert!(html.contains(consequence), "{path}: {consequence}");
        assert!(
            html.contains(&format!("<form method=\"post\" action=\"{path}\">")),
            "{path}: its form posts the action"
        );
        assert!(html.contains("id=\"confirm-submit\""), "{path}");
        assert!(html.contains("class=\"org-head\""), "{path}: framed");
    }
    // The active provider cannot be deleted: its page says why, with no button.
    let (status, html) = page(&app, c, &provider(&claude, "delete")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Claude is the active provider, so it cannot be deleted"));
    assert!(!html.contains("id=\"confirm-submit\""));
    assert_eq!(events(&app).await, before, "a GET changes nothing");

    // The confirmation page's form performs the action (a plain POST, as the browser sends).
    let res = app
        .post_form(
            c,
            &provider(&spare, "remove-key"),
            &provider(&spare, "remove-key"),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    let tab = page(&app, c, PROVIDER).await.1;
    let card = &tab[tab.find(&format!("id=\"provider-{spare}\"")).unwrap()..];
    let card = &card[..card.find("</article>").unwrap()];
    assert!(card.contains("No key"), "{card}");
    assert!(
        !card.contains("key accepted") && !card.contains(">ok<"),
        "no stale verdict: {card}"
    );

    // Members may not: a 403 in the frame, saying who can, naming no scope.
    let mias = client();
    assert_eq!(
        app.login(&mias, "mia@acme.test", PASSWORD).await.status(),
        303
    );
    let (status, html) = page(&app, &mias, &provider(&spare, "delete")).await;
    assert_eq!(status, 403);
    assert!(
        html.contains("Only the org&#39;s admins can do this")
            || html.contains("Only the org's admins can do this"),
        "{html}"
    );
    assert!(!html.contains("aiProviders:") && !html.contains("it needs"));
    assert!(html.contains("class=\"org-head\""));
}

#[tokio::test]
async fn demoting_the_last_admin_is_answered_on_the_members_page() {
    let app = TestApp::spawn().await;
    let admin = app.seed_and_login_admin().await;
    let members = "/orgs/acme/settings/members";
    let res = app
        .post_form(
            &app.client,
            members,
            &format!("{members}/{}/role", admin.id),
            &[("role", "member")],
        )
        .await;
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"members-table\""),
        "the page itself, in place"
    );
    assert!(html.contains("class=\"flash error\""), "{html}");
}
