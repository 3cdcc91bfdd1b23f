//! Operations: probes, metrics, security headers, the append-only audit table, and logs
//! that never carry secrets.

use diesel_async::RunQueryDsl as _;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::canary::{log_capture, spellings};
use crate::helpers::{PASSWORD, TestApp};
use crate::provider_ops::{GOOD_KEY, anthropic_mock, app_with_org};

#[tokio::test]
async fn probes_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let res = app.get(&app.client, "/healthz").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    assert_eq!(
        app.get(&app.client, "/readyz").await.text().await.unwrap(),
        "ready"
    );
    // Balancers probe with HEAD.
    for probe in ["/healthz", "/readyz"] {
        let res = app.client.head(app.url(probe)).send().await.unwrap();
        assert_eq!(res.status(), 200, "HEAD {probe}");
    }
    let metrics = app.get(&app.client, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("switchboard_sql_statements_total "),
        "{metrics}"
    );
    assert!(metrics.contains("switchboard_http_request_duration_seconds_count{"));
}

#[tokio::test]
async fn every_html_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/login", "/no/such/page", "/static/app.css"] {
        let res = app.get(&app.client, path).await;
        let h = res.headers();
        assert_eq!(
            h["content-security-policy"],
            switchboard::web::headers::CSP,
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
    }
    let res = app.get(&app.client, "/no/such/page").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
    let htmx = app.get(&app.client, "/static/htmx.min.js").await;
    assert_eq!(htmx.status(), 200);
    assert!(htmx.text().await.unwrap().contains("htmx"));
}

#[tokio::test]
async fn every_response_denies_browser_features_and_https_adds_hsts() {
    let app = TestApp::spawn().await;
    for path in [
        "/login",
        "/",
        "/no/such/page",
        "/readyz",
        "/static/app.css",
        "/api/v1/x",
    ] {
        let res = app.get(&app.client, path).await;
        let policy = res.headers()["permissions-policy"].to_str().unwrap();
        for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()"] {
            assert!(policy.contains(feature), "{path}: {policy}");
        }
        assert!(
            !res.headers().contains_key("strict-transport-security"),
            "no HSTS over plain http: {path}"
        );
    }
    let https = TestApp::spawn_with(&[("SWITCHBOARD_PUBLIC_URL", "https://console.example")]).await;
    for path in ["/login", "/no/such/page", "/static/app.css"] {
        let res = https.get(&https.client, path).await;
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
}

#[test]
fn a_non_loopback_bind_without_https_warns_at_start_up() {
    let config = |bind: &str, url: Option<&str>| {
        switchboard::config::Config::from_lookup(|k| match k {
            "SWITCHBOARD_BIND" => Some(bind.to_owned()),
            "SWITCHBOARD_PUBLIC_URL" => url.map(str::to_owned),
            "SWITCHBOARD_MASTER_KEYS" => Some(crate::helpers::MASTER_KEYS.to_owned()),
            _ => None,
        })
        .expect("config")
    };
    let warning = config("0.0.0.0:8080", None)
        .bind_warning()
        .expect("a warning");
    assert!(warning.contains("SWITCHBOARD_PUBLIC_URL"), "{warning}");
    assert!(
        config("10.1.2.3:8080", Some("http://x.example"))
            .bind_warning()
            .is_some()
    );
    assert!(
        config("0.0.0.0:8080", Some("https://x.example"))
            .bind_warning()
            .is_none()
    );
    assert!(config("127.0.0.1:8080", None).bind_warning().is_none());
    assert!(config("[::1]:8080", None).bind_warning().is_none());
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_audit_events() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    app.turn_insights_on(&app.client).await;
    let mut conn = app.db().await;
    for sql in [
        "UPDATE audit_events SET action = 'insights.disabled'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let err = diesel::sql_query(sql).execute(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(app.audit_count("insights.enabled").await, 1);
}

/// A key an upstream echoes back in its error body, as OpenAI does for a wrong key.
const ECHOED_KEY: &str = "sk-LOGCANARY-echoed-0a1b2c3d4e5f67890123";

#[tokio::test]
async fn logs_carry_no_secrets() {
    let logs = log_capture();
    tracing::info!("log capture on");
    let (app, _, _, _) = app_with_org().await;
    let res = app.login(&app.client, "ada@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 303, "login");
    let good = anthropic_mock().await;
    let echoing = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": format!("Incorrect API key provided: {ECHOED_KEY}"),
            "code": "invalid_api_key"}})))
        .mount(&echoing)
        .await;
    let tab = "/orgs/acme/settings/ai/provider";
    let create = "/orgs/acme/settings/ai/providers";
    // Created with a live check that passes, then tested again.
    let res = app
        .post_form(
            &app.client,
            tab,
            create,
            &[
                ("kind", "anthropic"),
                ("name", "Claude"),
                ("default_model", "claude-sonnet-4-20250514"),
                ("base_url", &good.uri()),
                ("api_key", GOOD_KEY),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "created");
    let id: String = {
        use diesel::QueryDsl as _;
        use switchboard::db::schema::providers;
        let mut conn = app.db().await;
        providers::table
            .select(providers::id)
            .first(&mut conn)
            .await
            .expect("the provider")
    };
    let res = app
        .post_form(&app.client, tab, &format!("{create}/{id}/test"), &[])
        .await;
    assert_eq!(res.status(), 303, "tested");
    // A failed check whose upstream repeats the key.
    let res = app
        .post_form(
            &app.client,
            tab,
            create,
            &[
                ("kind", "custom"),
                ("name", "Echo"),
                ("default_model", "gpt-4o"),
                ("base_url", &format!("{}/v1", echoing.uri())),
                ("api_key", ECHOED_KEY),
            ],
        )
        .await;
    assert_eq!(res.status(), 422, "the failed check");
    assert!(
        !res.text().await.unwrap().contains(ECHOED_KEY),
        "the answer is redacted"
    );
    assert_eq!(
        echoing.received_requests().await.unwrap_or_default().len(),
        1
    );

    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("provider check finished"),
        "the log capture works"
    );
    for secret in [GOOD_KEY, ECHOED_KEY, PASSWORD] {
        for spelling in spellings(secret) {
            assert!(
                !logged.contains(&spelling),
                "a secret is in the logs as {spelling:?}"
            );
        }
    }
}
