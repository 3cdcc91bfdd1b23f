//! XSS payloads in every name a user can choose — the user's name and the org's name (set
//! up through the first-run form) and a provider's name (the add form) — come back escaped
//! on every page and fragment that shows them, never as markup.

use crate::helpers::TestApp;
use crate::provider_ops::{GOOD_KEY, anthropic_mock};

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

fn assert_inert(place: &str, body: &str) {
    for payload in [SCRIPT, IMG, "<img src=x", "<script>"] {
        assert!(
            !body.contains(payload),
            "{place} carries {payload:?} raw:\n{body}"
        );
    }
}

#[tokio::test]
async fn names_with_markup_are_rendered_inert_everywhere() {
    let app = TestApp::spawn_with(&[("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")]).await;
    let server = anthropic_mock().await;
    let token = app.setup_token.clone().expect("setup token");
    let page = format!("/setup?token={token}");
    let csrf = app.csrf(&app.client, &page).await;
    let res = app
        .client
        .post(app.url("/setup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", token.as_str()),
            ("name", SCRIPT),
            ("email", "ada@acme.test"),
            ("password", "a long enough passphrase"),
            ("org_name", IMG),
            ("org_slug", "acme"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "set up");
    let tab = "/orgs/acme/settings/ai/provider";
    for name in [SCRIPT, IMG] {
        let res = app
            .post_form(
                &app.client,
                tab,
                "/orgs/acme/settings/ai/providers",
                &[
                    ("kind", "anthropic"),
                    ("name", name),
                    ("default_model", "claude-sonnet-4-20250514"),
                    ("base_url", &server.uri()),
                    ("api_key", GOOD_KEY),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "provider {name:?} created");
    }

    let provider_page = app.get(&app.client, tab).await.text().await.unwrap();
    assert!(
        provider_page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the provider's name is shown, escaped:\n{provider_page}"
    );
    assert!(provider_page.contains("&#60;img src=x onerror=alert(1)&#62;"));
    for path in [
        "/",
        tab,
        "/orgs/acme/settings/ai/insights",
        "/orgs/acme/settings/ai/audit",
        "/orgs/acme/settings/members",
        "/account/password",
    ] {
        let body = app.get(&app.client, path).await.text().await.unwrap();
        assert_inert(path, &body);
        let fragment = app
            .client
            .get(app.url(path))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_inert(&format!("{path} (htmx)"), &fragment);
    }
    let members = app
        .get(&app.client, "/orgs/acme/settings/members")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        members.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the user's name is shown, escaped:\n{members}"
    );
    // The org's name is in every org page's title and header.
    let insights = app
        .get(&app.client, "/orgs/acme/settings/ai/insights")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        insights.contains("&#34;&#62;&#60;img src=x onerror=alert(1)&#62;"),
        "the org's name is shown, escaped:\n{insights}"
    );
}
