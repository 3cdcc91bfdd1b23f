//! Edge validation (issue 8 item 4): NUL and control characters in a path, query, form or
//! JSON body are refused before anything reaches a handler or the database — 404 for a
//! path segment, 400 with a message otherwise — and nothing is written.

use crate::helpers::{INSIGHTS, PASSWORD, TestApp, meta_csrf};

const CONTROL: &str = "control character";

/// A form: the page its token comes from, its action and its fields.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

async fn count(app: &TestApp, table: &str) -> i64 {
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl as _;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db().await;
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<N>(&mut conn)
        .await
        .expect("count")
        .n
}

#[tokio::test]
async fn a_nul_in_the_login_form_is_a_400_with_a_message() {
    let app = TestApp::spawn().await;
    app.create_user("ada@acme.test", false).await;
    let res = app.login(&app.client, "a\0b", PASSWORD).await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("<!doctype html>") && body.contains(CONTROL),
        "{body}"
    );
    assert!(body.contains("email"), "names the field: {body}");
    // The login still works afterwards (nothing was left half-done).
    let res = app.login(&app.client, "ada@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn a_control_character_in_a_path_segment_is_a_404() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    for path in [
        "/orgs/%00/settings/ai/insights",
        "/orgs/acme%1b/settings/ai/insights",
        "/orgs/acme/settings/ai/providers/%C2%85/edit",
        "/static/%00",
        "/api/v1/orgs/%00/providers",
    ] {
        let res = app.get(&app.client, path).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = app.get(&app.client, "/api/v1/orgs/%00/providers").await;
    let body = res.text().await.unwrap();
    assert!(body.contains("\"not_found\""), "JSON on the API: {body}");
}

#[tokio::test]
async fn a_control_character_in_a_query_or_json_body_is_a_400() {
    let app = TestApp::spawn().await;
    let res = app.get(&app.client, "/setup?token=%00").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains(CONTROL));
    let res = app
        .client
        .post(app.url("/api/v1/orgs/acme/providers"))
        .header("Authorization", "Bearer x")
        .json(&serde_json::json!({ "name": "evil\u{1b}[31m" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains(CONTROL));
}

#[tokio::test]
async fn every_console_form_refuses_control_characters_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    app.create_user("bob@acme.test", false).await;
    let audited = count(&app, "audit_events").await;
    const TAB: &str = "/orgs/acme/settings/ai/provider";
    let cases: &[Case] = &[
        (
            TAB,
            "/orgs/acme/settings/ai/providers",
            &[
                ("kind", "openai"),
                ("name", "Evil\u{1b}[2J"),
                ("default_model", "gpt-4o"),
                ("api_key", "sk-x"),
                ("save_unverified", "true"),
            ],
        ),
        (
            TAB,
            "/orgs/acme/settings/ai/providers",
            &[
                ("kind", "openai"),
                ("name", "Two\nlines"),
                ("default_model", "gpt-4o"),
            ],
        ),
        (
            INSIGHTS,
            INSIGHTS,
            &[("enabled", "true\0"), ("lock_version", "0")],
        ),
        (
            "/orgs/acme/settings/members",
            "/orgs/acme/settings/members",
            &[("email", "bob@acme.test\0"), ("role", "member")],
        ),
        (
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a new long passphrase\u{85}"),
                ("confirm_password", "a new long passphrase\u{85}"),
            ],
        ),
    ];
    for (page, action, fields) in cases {
        let res = app.post_form(&app.client, page, action, fields).await;
        assert_eq!(res.status(), 400, "{action} {fields:?}");
        assert!(res.text().await.unwrap().contains(CONTROL), "{action}");
        // The same through htmx: a fragment, not a page.
        let token = meta_csrf(&app.get(&app.client, page).await.text().await.unwrap()).unwrap();
        let res = app
            .client
            .post(app.url(action))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token)
            .form(fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "htmx {action}");
        let body = res.text().await.unwrap();
        assert!(
            body.starts_with("<div class=\"flash error\"") && body.contains(CONTROL),
            "{body}"
        );
    }
    assert_eq!(count(&app, "providers").await, 0);
    assert_eq!(count(&app, "memberships").await, 1);
    assert!(!app.insights_enabled("acme").await);
    assert_eq!(count(&app, "audit_events").await, audited);
}

#[tokio::test]
async fn the_setup_form_refuses_control_characters_in_names() {
    let app = TestApp::spawn().await;
    let token = app.setup_token.clone().expect("setup token");
    let page = format!("/setup?token={token}");
    let csrf = app.csrf(&app.client, &page).await;
    for (field, value) in [
        ("name", "Ada\u{0}"),
        ("org_name", "Acme\u{1b}[31m"),
        ("org_slug", "acme\t"),
    ] {
        let mut form = vec![
            ("csrf_token", csrf.as_str()),
            ("token", token.as_str()),
            ("name", "Ada Admin"),
            ("email", "ada@acme.test"),
            ("password", "a long enough passphrase"),
            ("org_name", "Acme"),
            ("org_slug", "acme"),
        ];
        for pair in form.iter_mut() {
            if pair.0 == field {
                pair.1 = value;
            }
        }
        let res = app
            .client
            .post(app.url("/setup"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{field}");
        let body = res.text().await.unwrap();
        assert!(body.contains(CONTROL) && body.contains(field), "{body}");
    }
    assert_eq!(count(&app, "users").await, 0);
    assert_eq!(count(&app, "orgs").await, 0);
}
