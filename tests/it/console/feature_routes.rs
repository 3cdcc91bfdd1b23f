//! The What-runs-where editor (issue 20) without JavaScript and with htmx headers: a row's
//! control opens a preview that changes nothing, its form applies the route (audited once),
//! a stale form is a visible 409, and members see the routes read-only.

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{PASSWORD, TestApp, client},
    provider_ops::app_with_org,
};

const TAB: &str = "/orgs/acme/settings/ai/provider";
const CREATE: &str = "/orgs/acme/settings/ai/providers";
const SUMMARIES: &str = "/orgs/acme/settings/ai/provider/features/summaries/route";

/// A self-hosted OpenAI-compatible server on loopback listing `llama3` and `phi3`.
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

/// Adds a custom provider `name` with tool calling; returns its id (the last card's).
async fn add_custom(app: &TestApp, server: &MockServer, name: &str) -> String {
    let base = format!("{}/v1", server.uri());
    let form = vec![
        ("kind", "custom"),
        ("name", name),
        ("default_model", "llama3"),
        ("base_url", base.as_str()),
        ("api_key", ""),
        ("supports_tools", "on"),
    ];
    let res = app.post_form(&app.client, TAB, CREATE, &form).await;
    assert_eq!(res.status(), 303, "create {name}");
    let page = tab_html(app, &app.client).await;
    let marker = "id=\"provider-aip_";
    let (i, _) = page.match_indices(marker).last().expect("a card");
    page[i + 13..i + 13 + 30].to_owned()
}

async fn tab_html(app: &TestApp, http: &reqwest::Client) -> String {
    let res = app.get(http, TAB).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// The text of `feature`'s row.
fn row(page: &str, feature: &str) -> String {
    let start = page
        .find(&format!("<tr id=\"route-{feature}\""))
        .unwrap_or_else(|| panic!("no row for {feature}"));
    let rest = &page[start..];
    rest[..rest.find("</tr>").unwrap()].to_owned()
}

#[tokio::test]
async fn admins_preview_and_apply_a_route_without_javascript_and_members_only_read() {
    let (app, _, _, _) = app_with_org().await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let server = vllm_mock().await;
    let big = add_custom(&app, &server, "Big").await;
    let res = app
        .post_form(&app.client, TAB, &format!("{CREATE}/{big}/activate"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let small = add_custom(&app, &server, "Small").await;

    let page = tab_html(&app, &app.client).await;
    let summaries = row(&page, "summaries");
    assert!(
        summaries.contains("id=\"route-form-summaries\""),
        "{summaries}"
    );
    assert!(summaries.contains("method=\"get\""));
    assert!(summaries.contains(&format!("value=\"provider:{small}\"")));
    assert!(summaries.contains("<option value=\"inherit\" selected>"));

    // The preview (a plain GET) shows what would change and changes nothing.
    let choice = format!("provider:{small}");
    let res = app
        .client
        .get(app.url(&format!("{SUMMARIES}?choice=provider%3A{small}&model=phi3")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let preview = res.text().await.unwrap();
    assert!(preview.contains("Route Summaries?"), "{preview}");
    assert!(preview.contains("id=\"route-changes\""));
    assert!(preview.contains("Small (phi3)"));
    assert!(
        preview.contains("<html"),
        "a page of its own without JavaScript"
    );
    assert_eq!(app.audit_count("feature_route.set").await, 0);

    // Applying it: 303 back to the tab, which now shows the route.
    let res = app
        .post_form(
            &app.client,
            TAB,
            SUMMARIES,
            &[
                ("choice", &choice),
                ("model", "phi3"),
                ("lock_version", "0"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = tab_html(&app, &app.client).await;
    let summaries = row(&page, "summaries");
    assert!(summaries.contains("Your provider: Small"), "{summaries}");
    assert!(summaries.contains("phi3"));
    assert!(summaries.contains("A feature route sends it"));
    assert!(row(&page, "triage").contains("Your provider: Big"));
    assert_eq!(app.audit_count("feature_route.set").await, 1);

    // The same form again is stale: a visible 409, nothing written.
    let res = app
        .post_form(
            &app.client,
            TAB,
            SUMMARIES,
            &[("choice", "off"), ("model", ""), ("lock_version", "0")],
        )
        .await;
    assert_eq!(res.status(), 409);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("Someone else changed the route of Summaries"),
        "{text}"
    );
    assert_eq!(app.audit_count("feature_route.set").await, 1);

    // With htmx the preview and the change swap in place (fragments).
    let res = app
        .client
        .get(app.url(&format!("{SUMMARIES}?choice=off&model=")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let fragment = res.text().await.unwrap();
    assert!(!fragment.contains("<html") && fragment.contains("Route Summaries?"));
    let at = fragment.find("name=\"lock_version\" value=\"").unwrap() + 27;
    let version = fragment[at..at + fragment[at..].find('"').unwrap()].to_owned();
    assert_ne!(version, "0");
    let token = app.csrf(&app.client, TAB).await;
    let res = app
        .client
        .post(app.url(SUMMARIES))
        .header("HX-Request", "true")
        .form(&[
            ("choice", "off"),
            ("model", ""),
            ("lock_version", version.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let fragment = res.text().await.unwrap();
    assert!(row(&fragment, "summaries").contains("data-server=\"unavailable\""));
    assert!(fragment.contains("Summaries is routed as you chose."));
    assert_eq!(app.audit_count("feature_route.set").await, 2);

    // The Advanced tab names the prompt variant of a feature routed elsewhere.
    let res = app
        .post_form(
            &app.client,
            TAB,
            "/orgs/acme/settings/ai/provider/features/triage/route",
            &[("choice", "platform"), ("model", ""), ("lock_version", "0")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let advanced = app
        .get(&app.client, "/orgs/acme/settings/ai/advanced")
        .await
        .text()
        .await
        .unwrap();
    let at = advanced
        .find("id=\"feature-variants\"")
        .expect("the per-feature variants");
    let table = &advanced[at..];
    assert!(
        table.contains("Triage") && table.contains("platform"),
        "{table}"
    );
    assert!(
        !table[..table.find("</table>").unwrap()].contains("Summaries"),
        "off: no prompt"
    );

    // Members see the routes and why, read-only.
    let member = client();
    assert_eq!(
        app.login(&member, "mia@acme.test", PASSWORD).await.status(),
        303
    );
    let page = tab_html(&app, &member).await;
    assert!(!page.contains("route-form-"), "no editor for members");
    assert!(page.contains("id=\"routes-read-only\""));
    assert!(row(&page, "summaries").contains("Off"));
    let res = app
        .post_form(
            &member,
            TAB,
            SUMMARIES,
            &[("choice", "inherit"), ("lock_version", &version)],
        )
        .await;
    assert!(
        res.status() == 403 || res.status() == 404,
        "{}",
        res.status()
    );
    assert_eq!(app.audit_count("feature_route.cleared").await, 0);
}
