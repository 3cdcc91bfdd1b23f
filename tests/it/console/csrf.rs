//! CSRF: every unsafe request needs the session's token and a same-origin source.

use crate::helpers::{INSIGHTS, TestApp, meta_csrf};

#[tokio::test]
async fn unsafe_requests_without_a_valid_token_or_from_another_site_are_refused() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let token = meta_csrf(&app.get(&app.client, INSIGHTS).await.text().await.unwrap()).unwrap();
    let form = [("enabled", "true"), ("lock_version", "0")];

    let missing = app
        .client
        .post(app.url(INSIGHTS))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403, "no token");

    let mut wrong = form.to_vec();
    wrong.push(("csrf_token", "not-the-token"));
    let res = app
        .client
        .post(app.url(INSIGHTS))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "wrong token");

    let res = app
        .client
        .post(app.url(INSIGHTS))
        .header("X-CSRF-Token", "not-the-token")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "wrong header token");

    let mut good = form.to_vec();
    good.push(("csrf_token", &token));
    for (name, value) in [
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
        ("Origin", "https://evil.example"),
    ] {
        let res = app
            .client
            .post(app.url(INSIGHTS))
            .header(name, value)
            .form(&good)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}: {value}");
    }
    assert!(!app.insights_enabled("acme").await, "nothing changed");
    assert_eq!(app.audit_count("insights.enabled").await, 0);

    // The same request from our own origin with the token goes through.
    let res = app
        .client
        .post(app.url(INSIGHTS))
        .header("Sec-Fetch-Site", "same-origin")
        .header("Origin", app.address.as_str())
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(app.insights_enabled("acme").await);
}

#[tokio::test]
async fn login_needs_the_token_too() {
    let app = TestApp::spawn().await;
    app.create_user("ada@acme.test", false).await;
    app.get(&app.client, "/login").await;
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@acme.test"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_cross_site_refusal_is_rendered_for_each_kind_of_client() {
    // A valid token, so the only reason to refuse is where the request comes from.
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let token = meta_csrf(&app.get(&app.client, INSIGHTS).await.text().await.unwrap()).unwrap();
    let form = [
        ("enabled", "true"),
        ("lock_version", "0"),
        ("csrf_token", token.as_str()),
    ];
    for (name, value) in [
        ("Sec-Fetch-Site", "cross-site"),
        ("Origin", "https://evil.example"),
    ] {
        let res = app
            .client
            .post(app.url(INSIGHTS))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token.as_str())
            .header(name, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "htmx, {name}");
        let body = res.text().await.unwrap();
        assert!(
            body.starts_with("<div class=\"flash error\"") && body.contains("Cross-site"),
            "htmx gets a fragment: {body}"
        );
        let res = app
            .client
            .post(app.url(INSIGHTS))
            .header(name, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "form, {name}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains("<!doctype html>")
                && body.contains("Not allowed")
                && body.contains("Cross-site"),
            "a page: {body}"
        );
    }
    assert!(!app.insights_enabled("acme").await, "nothing changed");
}

#[tokio::test]
async fn text_plain_and_json_posts_without_the_token_header_are_refused() {
    // What a cross-site `<form enctype="text/plain">` or a `fetch` with a JSON body could
    // send: the token would have to be in the header, and it isn't.
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let token = meta_csrf(&app.get(&app.client, INSIGHTS).await.text().await.unwrap()).unwrap();
    let plain = format!("enabled=true\r\nlock_version=0\r\ncsrf_token={token}\r\n");
    let res = app
        .client
        .post(app.url(INSIGHTS))
        .header("Content-Type", "text/plain")
        .body(plain)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "text/plain");
    let res = app
        .client
        .post(app.url(INSIGHTS))
        .json(&serde_json::json!({"enabled": "true", "lock_version": "0", "csrf_token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "JSON");
    let res = app
        .client
        .post(app.url("/logout"))
        .header("Content-Type", "text/plain")
        .body(format!("csrf_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "text/plain logout");
    assert!(!app.insights_enabled("acme").await, "nothing changed");
    assert_eq!(app.audit_count("insights.enabled").await, 0);
    // Still logged in: the refused logout did nothing.
    assert_eq!(app.get(&app.client, INSIGHTS).await.status(), 200);
}
