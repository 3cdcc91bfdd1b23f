//! Login, logout, sessions and their revocation.

use std::time::Duration;

use switchboard::models::{membership::Role, user::User};

use crate::helpers::{INSIGHTS, PASSWORD, TestApp, client, location};

/// The status of the admin's next look at the Insights tab: 200 while the session holds.
async fn insights_status(app: &TestApp) -> reqwest::StatusCode {
    app.get(&app.client, INSIGHTS).await.status()
}

/// The `switchboard_session` cookie a response sets, as `name=value`.
fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("switchboard_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// GET `path` with only the given cookie (no jar): what a replayed cookie gets.
async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_logs_in_and_reaches_the_provider_tab_then_insights() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let res = app.get(&app.client, "/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/orgs/acme/settings/ai");
    let res = app.get(&app.client, "/orgs/acme/settings/ai").await;
    assert_eq!(location(&res), "/orgs/acme/settings/ai/provider");
    let res = app.get(&app.client, INSIGHTS).await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("Insights are off"), "{body}");
    assert!(body.contains("Turn insights on"), "admins get the form");
}

#[tokio::test]
async fn unauthenticated_pages_redirect_to_login() {
    let app = TestApp::spawn().await;
    for path in ["/", INSIGHTS, "/support/orgs"] {
        let res = app.get(&app.client, path).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(location(&res), "/login", "{path}");
    }
    // htmx gets a 401 with HX-Redirect instead of a redirect it would follow silently.
    let res = app
        .client
        .get(app.url(INSIGHTS))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["hx-redirect"], "/login");
}

#[tokio::test]
async fn unknown_email_wrong_password_and_disabled_account_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let user = app.create_user("ada@acme.test", false).await;
    let disabled = app.create_user("gone@acme.test", false).await;
    {
        use diesel::{ExpressionMethods as _, QueryDsl as _};
        use diesel_async::RunQueryDsl as _;
        use switchboard::db::schema::users;
        let mut conn = app.db().await;
        diesel::update(users::table.find(disabled.id))
            .set(users::disabled.eq(true))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let mut answers = Vec::new();
    for (email, password) in [
        ("nobody@acme.test", PASSWORD),
        (user.email.as_str(), "wrong password!"),
        ("gone@acme.test", PASSWORD),
        ("not-an-email", PASSWORD),
    ] {
        let res = app.login(&client(), email, password).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        let message = body
            .split("role=\"alert\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_default()
            .to_owned();
        answers.push((status, message));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0].1, "Invalid email or password.");
    assert_eq!(app.audit_count("login.failed").await, 4);
}

#[tokio::test]
async fn login_is_case_insensitive_on_email() {
    let app = TestApp::spawn().await;
    app.create_user("ada@acme.test", false).await;
    let res = app.login(&app.client, "  ADA@Acme.Test ", PASSWORD).await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn a_session_key_from_before_login_is_useless_after_it() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin@acme.test", false).await;
    app.create_org("acme", &[(&admin, Role::Admin)]).await;
    let pre = app.get(&app.client, "/login").await;
    let planted = session_cookie(&pre).expect("login page starts a session");
    let res = app.login(&app.client, "admin@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let renewed = session_cookie(&res).expect("login sets a new session cookie");
    assert_ne!(planted, renewed);
    let replay = get_with_cookie(&app, INSIGHTS, &planted).await;
    assert_eq!(
        replay.status(),
        303,
        "the pre-login key must not be logged in"
    );
    let fresh = get_with_cookie(&app, INSIGHTS, &renewed).await;
    assert_eq!(fresh.status(), 200);
}

#[tokio::test]
async fn logout_revokes_the_session_server_side() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin@acme.test", false).await;
    app.create_org("acme", &[(&admin, Role::Admin)]).await;
    let res = app.login(&app.client, "admin@acme.test", PASSWORD).await;
    let cookie = session_cookie(&res).unwrap();
    let res = app.post_form(&app.client, INSIGHTS, "/logout", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    let replay = get_with_cookie(&app, INSIGHTS, &cookie).await;
    assert_eq!(
        replay.status(),
        303,
        "a logged-out cookie replayed must not work"
    );
}

#[tokio::test]
async fn bumping_the_user_epoch_revokes_every_session() {
    let app = TestApp::spawn().await;
    let admin = app.seed_and_login_admin().await;
    let second = client();
    assert_eq!(
        app.login(&second, "admin@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let mut conn = app.db().await;
    User::bump_session_epoch(&mut conn, admin.id).await.unwrap();
    for c in [&app.client, &second] {
        let res = app.get(c, INSIGHTS).await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "/login");
    }
    // And the revoked session was purged: logging in again works normally.
    assert_eq!(
        app.login(&app.client, "admin@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(insights_status(&app).await, 200);
}

#[tokio::test]
async fn sessions_expire_after_30_idle_minutes() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    app.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(insights_status(&app).await, 200);
    // Activity pushed the idle deadline out: another 29 minutes is still fine.
    app.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(insights_status(&app).await, 200);
    app.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(insights_status(&app).await, 303);
}

#[tokio::test]
async fn sessions_end_after_12_hours_however_busy() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    // 28 × 25 min = 11 h 40 min of steady use: still logged in.
    for _ in 0..28 {
        app.clock.advance(Duration::from_secs(25 * 60));
        assert_eq!(insights_status(&app).await, 200);
    }
    // One more step crosses 12 h although the session was never idle for long.
    app.clock.advance(Duration::from_secs(25 * 60));
    let res = app.get(&app.client, INSIGHTS).await;
    assert_eq!(res.status(), 303, "absolute timeout");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    app.create_user("ada@acme.test", false).await;
    for _ in 0..5 {
        assert_eq!(
            app.login(&client(), "ada@acme.test", "wrong password!")
                .await
                .status(),
            401
        );
    }
    let res = app.login(&client(), "ada@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Too many failed attempts")
    );
    app.clock.advance(Duration::from_secs(16 * 60));
    assert_eq!(
        app.login(&client(), "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_lax() {
    let app = TestApp::spawn().await;
    let res = app.get(&app.client, "/login").await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("switchboard_session="))
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
}

#[tokio::test]
async fn https_public_url_makes_a_host_prefixed_secure_strict_cookie() {
    let app =
        TestApp::spawn_with(&[("SWITCHBOARD_PUBLIC_URL", "https://switchboard.example")]).await;
    let res = app.get(&app.client, "/login").await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-switchboard="))
        .expect("__Host- cookie")
        .to_owned();
    assert!(
        cookie.contains("Secure") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

#[tokio::test]
async fn expired_sessions_are_purged_from_the_table() {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::sessions;
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let mut conn = app.db().await;
    let count = async |conn: &mut diesel_async::AsyncPgConnection| -> i64 {
        sessions::table.count().get_result(conn).await.unwrap()
    };
    assert_eq!(count(&mut conn).await, 1);
    let purged = switchboard::models::session::purge_expired(&mut conn, app.clock.now())
        .await
        .unwrap();
    assert_eq!(purged, 0, "a live session stays");
    app.clock.advance(Duration::from_secs(31 * 60));
    let purged = switchboard::models::session::purge_expired(&mut conn, app.clock.now())
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(count(&mut conn).await, 0);
}

#[tokio::test]
async fn page_views_do_not_rewrite_the_session_each_time() {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::sessions;
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let mut conn = app.db().await;
    let deadline = async |conn: &mut diesel_async::AsyncPgConnection| {
        sessions::table
            .select(sessions::idle_expires_at)
            .first::<chrono::DateTime<chrono::Utc>>(conn)
            .await
            .unwrap()
    };
    let at_login = deadline(&mut conn).await;
    for _ in 0..3 {
        assert_eq!(insights_status(&app).await, 200);
    }
    assert_eq!(
        deadline(&mut conn).await,
        at_login,
        "reads within a minute write nothing"
    );
    app.clock.advance(Duration::from_secs(120));
    app.get(&app.client, INSIGHTS).await;
    assert!(
        deadline(&mut conn).await > at_login,
        "the idle deadline moves after a minute"
    );
}
