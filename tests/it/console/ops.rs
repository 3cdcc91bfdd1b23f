//! Operations: probes, metrics, security headers, the append-only audit table, and logs
//! that never carry secrets.

use diesel_async::RunQueryDsl as _;

use crate::helpers::TestApp;

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
    let metrics = app.get(&app.client, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("switchboard_sql_statements_total "),
        "{metrics}"
    );
    assert!(metrics.contains("switchboard_http_responses_total{class=\"2xx\"}"));
}

#[tokio::test]
async fn every_html_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/login", "/no/such/page", "/static/app.css"] {
        let res = app.get(&app.client, path).await;
        let h = res.headers();
        assert_eq!(
            h["content-security-policy"],
            switchboard::startup::CSP,
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
    }
    let res = app.get(&app.client, "/no/such/page").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Not Found"));
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
