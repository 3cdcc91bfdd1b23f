//! A database outage mid-test (issue 8 item 5): the test's own database stops accepting
//! connections and its backends are terminated. Pages, htmx fragments and `/readyz` answer
//! 503 with `Retry-After` (never 500); once the database is back everything recovers and
//! the change committed before the outage is still there.

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};

use crate::helpers::{INSIGHTS, TestApp};

/// Closes the app's database to new connections and ends its open ones, through a
/// connection to the server's `postgres` database that the test keeps (to open it again).
async fn take_database_down(app: &TestApp) -> AsyncPgConnection {
    let admin_url = app
        .db_url
        .replacen(&format!("/{}", app.db_name), "/postgres", 1);
    let mut admin = AsyncPgConnection::establish(&admin_url)
        .await
        .expect("admin connection");
    diesel::sql_query(format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS false",
        app.db_name
    ))
    .execute(&mut admin)
    .await
    .expect("close the database");
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1",
    )
    .bind::<diesel::sql_types::Text, _>(&app.db_name)
    .execute(&mut admin)
    .await
    .expect("terminate backends");
    admin
}

async fn bring_database_back(app: &TestApp, mut admin: AsyncPgConnection) {
    diesel::sql_query(format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS true",
        app.db_name
    ))
    .execute(&mut admin)
    .await
    .expect("open the database");
}

fn retry_after(res: &reqwest::Response) -> Option<u64> {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn an_outage_answers_503_with_retry_after_and_recovers() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let res = app.turn_insights_on(&app.client).await;
    assert_eq!(res.status(), 303, "the change before the outage");

    let admin = take_database_down(&app).await;

    // Twice each: the first meets a terminated pooled connection, the second a refused
    // new one; both are outages.
    for round in 0..2 {
        let res = app.get(&app.client, INSIGHTS).await;
        assert_eq!(res.status(), 503, "page, round {round}");
        assert!(retry_after(&res).is_some_and(|s| s > 0), "page Retry-After");
        assert!(res.headers().contains_key("content-security-policy"));
        let body = res.text().await.unwrap();
        assert!(
            body.contains("<!doctype html>") && body.contains("database is unavailable"),
            "{body}"
        );

        let res = app
            .client
            .get(app.url(INSIGHTS))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 503, "fragment, round {round}");
        assert!(retry_after(&res).is_some(), "fragment Retry-After");
        let body = res.text().await.unwrap();
        assert!(
            body.starts_with("<div class=\"flash error\"") && body.contains("unavailable"),
            "{body}"
        );

        let res = app.get(&app.client, "/readyz").await;
        assert_eq!(res.status(), 503, "readyz, round {round}");
        assert!(retry_after(&res).is_some(), "readyz Retry-After");
    }
    // A form post during the outage: 503 too, nothing half-done.
    let res = app
        .client
        .post(app.url(INSIGHTS))
        .form(&[("enabled", "false"), ("lock_version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503, "post");
    // The login page without a session (its new session cannot be stored).
    let res = app.get(&crate::helpers::client(), "/login").await;
    assert_eq!(res.status(), 503, "login page");

    bring_database_back(&app, admin).await;

    let res = app.get(&app.client, "/readyz").await;
    assert_eq!(res.status(), 200, "readyz after");
    let res = app.get(&app.client, INSIGHTS).await;
    assert_eq!(res.status(), 200, "page after: the session survived");
    assert!(app.insights_enabled("acme").await, "the committed change");
    assert_eq!(app.audit_count("insights.enabled").await, 1);
}
