//! The Provider tab end to end over HTTP, against a wiremock server speaking Anthropic's
//! Messages API on loopback: add (right and wrong key, with and without htmx), edit, test,
//! activate, delete while active, deactivate, remove the key; members and support read
//! without forms or previews and every POST is refused; the kind switch.

use diesel::QueryDsl as _;
use diesel_async::RunQueryDsl as _;
use switchboard::{db::schema::providers, models::membership::Role};
use wiremock::MockServer;

use crate::{
    helpers::{PASSWORD, TestApp, client, location, meta_csrf},
    provider_ops::{BAD_KEY, GOOD_KEY, anthropic_mock, app_with_org},
};

const TAB: &str = "/orgs/acme/settings/ai/provider";
const CREATE: &str = "/orgs/acme/settings/ai/providers";
const PREVIEW: &str = "sk-ant-...WXYZ";

/// `app_with_org` (admin ada, member mia) with ada logged in on `app.client`.
async fn admin_app() -> (TestApp, MockServer) {
    let (app, _, _, _) = app_with_org().await;
    let res = app.login(&app.client, "ada@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 303, "admin login");
    (app, anthropic_mock().await)
}

/// The add form of an Anthropic provider called `name` at `server`, with `key`.
fn anthropic_form(server: &MockServer, name: &str, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("kind", "anthropic".to_owned()),
        ("name", name.to_owned()),
        ("default_model", "claude-sonnet-4-20250514".to_owned()),
        ("base_url", server.uri()),
        ("api_key", key.to_owned()),
    ]
}

fn fields<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A plain form post (CSRF token from the tab).
async fn post(
    app: &TestApp,
    http: &reqwest::Client,
    path: &str,
    form: &[(&'static str, String)],
) -> reqwest::Response {
    app.post_form(http, TAB, path, &fields(form)).await
}

/// An htmx post: `HX-Request` and the token in `X-CSRF-Token`, as the page's `hx-headers`.
async fn hx_post(app: &TestApp, path: &str, form: &[(&'static str, String)]) -> reqwest::Response {
    let page = app.get(&app.client, TAB).await.text().await.unwrap();
    let token = meta_csrf(&page).expect("csrf meta");
    app.client
        .post(app.url(path))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .form(&fields(form))
        .send()
        .await
        .unwrap()
}

async fn tab_html(app: &TestApp, http: &reqwest::Client) -> String {
    let res = app.get(http, TAB).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

async fn provider_ids(app: &TestApp) -> Vec<String> {
    let mut conn = app.db().await;
    providers::table
        .select(providers::id)
        .order(providers::created_at)
        .load(&mut conn)
        .await
        .unwrap()
}

fn action(id: &str, what: &str) -> String {
    format!("/orgs/acme/settings/ai/providers/{id}/{what}")
}

/// Adds an Anthropic provider with the good key through the plain form; returns its id.
async fn add_primary(app: &TestApp, server: &MockServer) -> String {
    let res = post(
        app,
        &app.client,
        CREATE,
        &anthropic_form(server, "Primary", GOOD_KEY),
    )
    .await;
    assert_eq!(res.status(), 303);
    provider_ids(app).await.pop().expect("a provider row")
}

fn assert_no_key(body: &str) {
    for key in [GOOD_KEY, BAD_KEY] {
        assert!(!body.contains(key), "a key leaked into the page");
    }
}

#[tokio::test]
async fn admin_adds_a_provider_with_the_right_key_and_sees_its_preview_and_check() {
    let (app, server) = admin_app().await;
    assert_eq!(
        location(&app.get(&app.client, "/orgs/acme/settings/ai").await),
        TAB,
        "the Provider tab comes first"
    );
    let empty = tab_html(&app, &app.client).await;
    assert!(empty.contains("Platform default: Anthropic, model claude-sonnet-4-5"));
    assert!(empty.contains("Platform AI quotas apply."));
    assert!(empty.contains("id=\"provider-add\""));

    let res = post(
        &app,
        &app.client,
        CREATE,
        &anthropic_form(&server, "Primary", GOOD_KEY),
    )
    .await;
    assert_eq!(res.status(), 303);
    // A plain post lands on the saved card's anchor, so it is in view.
    let to = location(&res);
    let card = to
        .strip_prefix(&format!("{TAB}#provider-aip_"))
        .unwrap_or_else(|| panic!("the saved card's anchor: {to}"));
    assert_eq!(card.len(), 26, "a provider id's ULID: {to}");
    let page = tab_html(&app, &app.client).await;
    assert!(
        page.contains(&format!("id=\"provider-aip_{card}\"")),
        "the anchor exists"
    );
    assert!(page.contains("Saved Primary."), "flash");
    assert!(page.contains(PREVIEW), "admins see the masked preview");
    assert!(
        page.contains("<span class=\"check ok\">ok</span>"),
        "{page}"
    );
    assert!(page.contains(&server.uri()), "the effective base URL");
    assert_no_key(&page);
    assert_eq!(provider_ids(&app).await.len(), 1);
}

#[tokio::test]
async fn a_rejected_key_re_renders_the_form_with_the_input_and_writes_nothing() {
    let (app, server) = admin_app().await;
    let res = post(
        &app,
        &app.client,
        CREATE,
        &anthropic_form(&server, "My Claude", BAD_KEY),
    )
    .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.starts_with("<!doctype html>"), "the full form page");
    assert!(
        body.contains("value=\"My Claude\""),
        "the name typed is kept"
    );
    assert!(body.contains(&format!("value=\"{}\"", server.uri())));
    assert!(body.contains("auth_rejected"), "{body}");
    assert!(body.contains("role=\"alert\""));
    assert!(
        body.contains(
            "aria-invalid=\"true\" aria-describedby=\"pf-api_key-help pf-api_key-error\""
        ),
        "the key field is marked: {body}"
    );
    assert_no_key(&body);
    assert!(provider_ids(&app).await.is_empty(), "nothing saved");

    // Ticking "save without verifying" saves it anyway, marked unverified.
    let mut form = anthropic_form(&server, "My Claude", BAD_KEY);
    form.push(("save_unverified", "true".to_owned()));
    let res = post(&app, &app.client, CREATE, &form).await;
    assert_eq!(res.status(), 303);
    let page = tab_html(&app, &app.client).await;
    assert!(page.contains("Saved My Claude without verifying."));
    assert!(page.contains("<span class=\"check unverified\">unverified</span>"));
}

#[tokio::test]
async fn with_htmx_a_save_answers_the_tab_fragment_and_a_refusal_the_form_fragment() {
    let (app, server) = admin_app().await;
    let res = hx_post(&app, CREATE, &anthropic_form(&server, "Wrong", BAD_KEY)).await;
    assert_eq!(res.status(), 422);
    let frag = res.text().await.unwrap();
    assert!(!frag.contains("<html"), "a fragment");
    assert!(frag.contains("id=\"provider-form\"") && frag.contains("value=\"Wrong\""));
    assert!(frag.contains("auth_rejected"));
    assert_no_key(&frag);
    assert!(provider_ids(&app).await.is_empty());

    let res = hx_post(&app, CREATE, &anthropic_form(&server, "Right", GOOD_KEY)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["hx-push-url"],
        TAB,
        "the address bar leaves the form"
    );
    assert_eq!(res.headers()["vary"], "HX-Request");
    let frag = res.text().await.unwrap();
    assert!(!frag.contains("<html"));
    assert!(frag.contains("Saved Right.") && frag.contains(PREVIEW));
    assert!(frag.contains("<span class=\"check ok\">ok</span>"));
    assert_no_key(&frag);
    let page = tab_html(&app, &app.client).await;
    assert!(
        !page.contains("Saved Right."),
        "the fragment carried the message"
    );
}

#[tokio::test]
async fn activate_delete_while_active_deactivate_and_delete() {
    let (app, server) = admin_app().await;
    let id = add_primary(&app, &server).await;
    let res = post(&app, &app.client, &action(&id, "test"), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(
        tab_html(&app, &app.client)
            .await
            .contains("Primary passed the check.")
    );

    let res = post(&app, &app.client, &action(&id, "activate"), &[]).await;
    assert_eq!(res.status(), 303);
    let page = tab_html(&app, &app.client).await;
    assert!(page.contains("Primary is now active."));
    assert!(
        page.contains("Your provider: Primary (Anthropic, model claude-sonnet-4-20250514)"),
        "{page}"
    );
    assert!(page.contains("platform quotas do not apply"));
    assert!(page.contains("<span class=\"badge active\">Active</span>"));

    let res = post(&app, &app.client, &action(&id, "delete"), &[]).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("is the active provider"));
    assert_eq!(provider_ids(&app).await.len(), 1);

    let res = post(
        &app,
        &app.client,
        "/orgs/acme/settings/ai/provider/deactivate",
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = tab_html(&app, &app.client).await;
    assert!(page.contains("Back on the platform default."));
    assert!(
        page.contains("Platform default: Anthropic") && page.contains("Platform AI quotas apply.")
    );

    let res = hx_post(&app, &action(&id, "delete"), &[]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Deleted Primary."));
    assert!(provider_ids(&app).await.is_empty());
}

#[tokio::test]
async fn removing_the_key_of_the_active_provider_reverts_to_the_platform_default() {
    let (app, server) = admin_app().await;
    let id = add_primary(&app, &server).await;
    assert_eq!(
        post(&app, &app.client, &action(&id, "activate"), &[])
            .await
            .status(),
        303
    );
    let res = hx_post(&app, &action(&id, "remove-key"), &[]).await;
    assert_eq!(res.status(), 200);
    let frag = res.text().await.unwrap();
    assert!(
        frag.contains("Removed the key of Primary. The org is back on the platform default."),
        "{frag}"
    );
    assert!(frag.contains("No key") && frag.contains("Platform default:"));
    // Without a key, activation is refused where the kind needs one: 422, nothing changes.
    let res = hx_post(&app, &action(&id, "activate"), &[]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("has no key"));
}

#[tokio::test]
async fn editing_keeps_the_key_when_blank_and_refuses_a_stale_lock_version() {
    let (app, server) = admin_app().await;
    let id = add_primary(&app, &server).await;
    let edit = format!("/orgs/acme/settings/ai/providers/{id}/edit");
    let form_page = app.get(&app.client, &edit).await.text().await.unwrap();
    assert!(form_page.contains("name=\"lock_version\" value=\"0\""));
    assert!(form_page.contains("Leave blank to keep the stored key"));
    assert!(
        !form_page.contains("name=\"api_key\" type=\"password\" value"),
        "never pre-filled"
    );

    let update = format!("/orgs/acme/settings/ai/providers/{id}");
    let mut form = anthropic_form(&server, "Renamed", "");
    form.push(("lock_version", "0".to_owned()));
    let res = post(&app, &app.client, &update, &form).await;
    assert_eq!(res.status(), 303);
    let page = tab_html(&app, &app.client).await;
    assert!(
        page.contains("Saved Renamed.") && page.contains(PREVIEW),
        "key kept"
    );

    // A second admin still holding version 0 gets a conflict, not a silent overwrite.
    let res = post(&app, &app.client, &update, &form).await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"provider-form\"") && body.contains("role=\"alert\""));
    // The form now holds the saved version, so saving it again works.
    assert!(body.contains("name=\"lock_version\" value=\"1\""), "{body}");
    let mut again = anthropic_form(&server, "Renamed again", "");
    again.push(("lock_version", "1".to_owned()));
    assert_eq!(post(&app, &app.client, &update, &again).await.status(), 303);

    let mut bad = form.clone();
    bad.retain(|(k, _)| *k != "lock_version");
    bad.push(("lock_version", "zero".to_owned()));
    assert_eq!(post(&app, &app.client, &update, &bad).await.status(), 400);

    let mut unknown = anthropic_form(&server, "X", GOOD_KEY);
    unknown[0].1 = "skynet".to_owned();
    let res = post(&app, &app.client, CREATE, &unknown).await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"pf-kind-error\"") && body.contains("unknown provider kind"));
}

#[tokio::test]
async fn the_kind_switch_swaps_in_that_kinds_fields() {
    let (app, _server) = admin_app().await;
    let res = app
        .client
        .get(app.url("/orgs/acme/settings/ai/provider/new?kind=azure&name=Prod"))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let frag = res.text().await.unwrap();
    assert!(!frag.contains("<html"), "a fragment");
    for field in ["deployment", "api_version"] {
        assert!(
            frag.contains(&format!("<label for=\"pf-{field}\"")),
            "{field}"
        );
        assert!(frag.contains(&format!("name=\"{field}\"")), "{field}");
    }
    assert!(frag.contains("name=\"kind\" value=\"azure\""));
    assert!(
        frag.contains("value=\"Prod\""),
        "the typed name survives the switch"
    );

    let page = app
        .get(
            &app.client,
            "/orgs/acme/settings/ai/provider/new?kind=anthropic",
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(!page.contains("name=\"deployment\""));
    assert!(page.contains("placeholder=\"https://api.anthropic.com\""));
    assert!(
        page.contains("<option value=\"claude-sonnet-4-20250514\">"),
        "example models"
    );
}

/// Every POST route of the tab for provider `id`.
fn post_routes(id: &str) -> Vec<String> {
    let mut routes = vec![
        CREATE.to_owned(),
        format!("{CREATE}/{id}"),
        "/orgs/acme/settings/ai/provider/deactivate".to_owned(),
        "/orgs/acme/settings/ai/provider/routing-policy".to_owned(),
    ];
    routes.extend(["test", "activate", "delete", "remove-key"].map(|a| action(id, a)));
    routes
}

#[tokio::test]
async fn members_and_support_read_without_forms_or_previews_and_may_not_post() {
    let (app, server) = admin_app().await;
    let id = add_primary(&app, &server).await;
    app.create_user("sam@support.test", true).await;

    for email in ["mia@acme.test", "sam@support.test"] {
        let http = client();
        assert_eq!(app.login(&http, email, PASSWORD).await.status(), 303);
        let page = tab_html(&app, &http).await;
        assert!(
            page.contains("Primary") && page.contains("Key set"),
            "{email}"
        );
        assert!(!page.contains(PREVIEW), "{email} sees no preview");
        assert!(
            !page.contains("<form method=\"post\" action=\"/orgs"),
            "{email}"
        );
        let frag = http
            .get(app.url(TAB))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !frag.contains("<form") && !frag.contains("<button"),
            "{email}: {frag}"
        );
        assert!(
            !frag.contains("provider-add") && !frag.contains("/edit"),
            "{email}"
        );
        for path in [
            "/orgs/acme/settings/ai/provider/new".to_owned(),
            format!("{CREATE}/{id}/edit"),
            action(&id, "activate"),
        ] {
            assert_eq!(app.get(&http, &path).await.status(), 403, "{email} {path}");
        }
        for path in post_routes(&id) {
            let res = post(
                &app,
                &http,
                &path,
                &anthropic_form(&server, "Mine", GOOD_KEY),
            )
            .await;
            assert_eq!(res.status(), 403, "{email} {path}");
        }
    }
    assert_eq!(provider_ids(&app).await, vec![id], "nothing changed");
}

#[tokio::test]
async fn non_members_do_not_see_the_org() {
    let (app, server) = admin_app().await;
    let id = add_primary(&app, &server).await;
    let eve = app.create_user("eve@other.test", false).await;
    app.create_org("other", &[(&eve, Role::Admin)]).await;
    let http = client();
    assert_eq!(
        app.login(&http, "eve@other.test", PASSWORD).await.status(),
        303
    );
    assert_eq!(app.get(&http, TAB).await.status(), 404);
    assert_eq!(
        app.get(&http, &format!("{CREATE}/{id}/edit"))
            .await
            .status(),
        404
    );
    let token = app.csrf(&http, "/orgs/other/settings/ai/provider").await;
    for path in post_routes(&id) {
        let res = http
            .post(app.url(&path))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    // Their own org's URLs with another org's provider id: not found either.
    let res = http
        .post(app.url(&format!("/orgs/other/settings/ai/providers/{id}/delete")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(provider_ids(&app).await.len(), 1);
}
