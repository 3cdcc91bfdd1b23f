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
