//! Login throttling that cannot be raced (issue 8, items 1, 2 and 7): parallel guesses on
//! `/login` and `/account/password`, one limit shared by two instances on one database, the
//! per-address limit, purging, the client address behind trusted proxies, the connection
//! given back before hashing, and failed logins in the member orgs' trails (issue 10).

use std::time::Duration;

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use futures_util::future::join_all;
use switchboard::{
    db::schema::{audit_events, login_throttles, orgs},
    models::login_throttle::{ACCOUNT_LIMIT, IP_LIMIT},
    models::membership::Role,
};

use crate::helpers::{PASSWORD, TestApp, client};

const ACCOUNT: &str = "/account/password";

/// POSTs the login form with a given CSRF token (the session of `http`), and any extra
/// headers; returns (status, Retry-After).
async fn post_login(
    app: &TestApp,
    http: &reqwest::Client,
    token: &str,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>) {
    let mut req = http.post(app.url("/login")).form(&[
        ("email", email),
        ("password", password),
        ("csrf_token", token),
    ]);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("POST /login");
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (res.status().as_u16(), retry)
}

fn count(statuses: &[(u16, Option<String>)], status: u16) -> usize {
    statuses.iter().filter(|(s, _)| *s == status).count()
}

/// The `login_throttles` keys in the app's database.
async fn throttle_keys(app: &TestApp) -> Vec<String> {
    let mut conn = app.db().await;
    login_throttles::table
        .select(login_throttles::key)
        .order(login_throttles::key)
        .load(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn parallel_wrong_passwords_for_one_account_get_at_most_the_limit_of_tries() {
    let app = TestApp::spawn().await;
    app.create_user("ada@acme.test", false).await;
    let http = client();
    let token = app.csrf(&http, "/login").await;
    let answers = join_all(
        (0..24).map(|_| post_login(&app, &http, &token, "ada@acme.test", "wrong password!", &[])),
    )
    .await;
    let (tried, throttled) = (count(&answers, 401), count(&answers, 429));
    assert_eq!(tried + throttled, 24, "{answers:?}");
    assert!(
        (1..=ACCOUNT_LIMIT as usize).contains(&tried),
        "at most {ACCOUNT_LIMIT} guesses may be tried, {tried} were: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .filter(|(s, _)| *s == 429)
            .all(|(_, retry)| retry.as_deref().is_some_and(|r| r.parse::<u64>().is_ok())),
        "every 429 says when to retry: {answers:?}"
    );
    assert_eq!(app.audit_count("login.failed").await, tried as i64);
    // Whatever the timing, the account is now locked, even for the right password.
    let (status, retry) = post_login(&app, &http, &token, "ada@acme.test", PASSWORD, &[]).await;
    assert_eq!(status, 429);
    let secs: u64 = retry.unwrap().parse().unwrap();
    assert!(secs > 60 && secs <= 15 * 60, "{secs}");
}

#[tokio::test]
async fn parallel_wrong_current_passwords_get_at_most_the_limit_of_tries() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let token = app.csrf(&app.client, ACCOUNT).await;
    let answers = join_all((0..20).map(|_| async {
        let res = app
            .client
            .post(app.url(ACCOUNT))
            .form(&[
                ("current_password", "a wrong guess!"),
                ("new_password", "canary-new-password-7d1f"),
                ("confirm_password", "canary-new-password-7d1f"),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        let retry = res.headers().get("retry-after").is_some();
        (res.status().as_u16(), retry)
    }))
    .await;
    let tried = answers.iter().filter(|(s, _)| *s == 400).count();
    let throttled: Vec<_> = answers.iter().filter(|(s, _)| *s == 429).collect();
    assert_eq!(tried + throttled.len(), 20, "{answers:?}");
    assert!(
        (1..=ACCOUNT_LIMIT as usize).contains(&tried),
        "at most {ACCOUNT_LIMIT} guesses may be tried, {tried} were: {answers:?}"
    );
    assert!(throttled.iter().all(|(_, retry)| *retry), "{answers:?}");
    assert_eq!(app.audit_count("user.password_changed").await, 0);
}

#[tokio::test]
async fn two_instances_on_one_database_share_the_limit() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_sharing(&first, &[]).await;
    first.create_user("ada@acme.test", false).await;
    for (i, app) in [&first, &second, &first, &second, &first]
        .into_iter()
        .enumerate()
    {
        let res = app
            .login(&client(), "ada@acme.test", "wrong password!")
            .await;
        assert_eq!(res.status(), 401, "guess {i}");
    }
    for app in [&first, &second] {
        let res = app.login(&client(), "ada@acme.test", PASSWORD).await;
        assert_eq!(
            res.status(),
            429,
            "five guesses across both instances lock both"
        );
    }
}

#[tokio::test]
async fn the_address_limit_holds_across_accounts_under_parallel_attempts() {
    let app = TestApp::spawn().await;
    let http = client();
    let token = app.csrf(&http, "/login").await;
    let emails: Vec<String> = (0..40).map(|i| format!("nobody{i}@acme.test")).collect();
    let answers = join_all(
        emails
            .iter()
            .map(|email| post_login(&app, &http, &token, email, "wrong password!", &[])),
    )
    .await;
    let tried = count(&answers, 401);
    assert_eq!(tried + count(&answers, 429), 40, "{answers:?}");
    assert!(
        tried <= IP_LIMIT as usize,
        "at most {IP_LIMIT} tries per address, {tried} were"
    );
    // A refused attempt left nothing in flight behind: the window is full of failures now.
    let (status, _) = post_login(&app, &http, &token, "someone@acme.test", "x", &[]).await;
    assert_eq!(status, 429);
    let mut conn = app.db().await;
    let (failures, in_flight): (i32, i32) = login_throttles::table
        .filter(login_throttles::key.eq("ip:127.0.0.1"))
        .select((login_throttles::failures, login_throttles::in_flight))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((failures, in_flight), (tried as i32, 0));
}

#[tokio::test]
async fn ended_windows_are_purged_with_the_sessions() {
    let app = TestApp::spawn().await;
    app.create_user("ada@acme.test", false).await;
    let res = app
        .login(&client(), "ada@acme.test", "wrong password!")
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        throttle_keys(&app).await,
        ["acct:ada@acme.test", "ip:127.0.0.1"]
    );
    let mut conn = app.db().await;
    let purge = switchboard::models::login_throttle::purge_expired;
    assert_eq!(purge(&mut conn, app.clock.now()).await.unwrap(), 0);
    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(purge(&mut conn, app.clock.now()).await.unwrap(), 2);
    assert!(throttle_keys(&app).await.is_empty());
}

#[tokio::test]
async fn a_login_gives_its_connection_back_before_waiting_to_hash() {
    // The test app has 4 pooled connections. Hold the only hashing permit, start twice as
    // many logins as there are connections, and let them all queue at the permit.
    let app = TestApp::spawn().await;
    assert_eq!(app.state.pool.status().max_size, 4);
    let held = app.state.hasher.hold_all_permits().await;
    let http = client();
    let token = app.csrf(&http, "/login").await;
    let logins: Vec<_> = (0..8)
        .map(|i| {
            let (url, http, token) = (app.url("/login"), http.clone(), token.clone());
            tokio::spawn(async move {
                http.post(url)
                    .form(&[
                        ("email", format!("nobody{i}@acme.test")),
                        ("password", "wrong password!".to_owned()),
                        ("csrf_token", token),
                    ])
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    // All eight are reserved (so past their database work) and waiting for the permit,
    // holding no connection.
    let mut conn = app.db().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let in_flight: i32 = login_throttles::table
            .filter(login_throttles::key.eq("ip:127.0.0.1"))
            .select(login_throttles::in_flight)
            .first(&mut conn)
            .await
            .unwrap_or(0);
        let status = app.state.pool.status();
        if in_flight == 8 && status.size == status.available {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "logins in flight: {in_flight}, pool: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A page that needs the database is served at once.
    let page = tokio::time::timeout(
        Duration::from_secs(3),
        client().get(app.url("/login")).send(),
    )
    .await
    .expect("a page is served while logins wait to hash")
    .unwrap();
    assert_eq!(page.status(), 200);
    drop(held);
    for login in logins {
        assert_eq!(login.await.unwrap().unwrap(), 401);
    }
}

/// An audit event's ip, actor label, target, actor kind and after value.
type EventRow = (
    Option<String>,
    String,
    String,
    String,
    Option<serde_json::Value>,
);

/// The `login.failed` events of org `slug`, as (ip, the whole row as text).
async fn failed_logins_in(app: &TestApp, slug: &str) -> Vec<(Option<String>, String)> {
    let mut conn = app.db().await;
    let rows: Vec<EventRow> = audit_events::table
        .inner_join(orgs::table)
        .filter(orgs::slug.eq(slug))
        .filter(audit_events::action.eq("login.failed"))
        .select((
            audit_events::ip,
            audit_events::actor_label,
            audit_events::target,
            audit_events::actor_kind,
            audit_events::after,
        ))
        .load(&mut conn)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(ip, label, target, kind, after)| (ip, format!("{label} {target} {kind} {after:?}")))
        .collect()
}

#[tokio::test]
async fn failed_logins_reach_the_trail_of_every_org_of_the_account() {
    const GUESS: &str = "canary-guess-8c41e";
    let app = TestApp::spawn().await;
    let ada = app.create_user("ada@acme.test", false).await;
    let other = app.create_user("bob@beta.test", false).await;
    app.create_org("acme", &[(&ada, Role::Member)]).await;
    app.create_org("beta", &[(&ada, Role::Admin), (&other, Role::Admin)])
        .await;
    app.create_org("gamma", &[(&other, Role::Admin)]).await;
    let res = app.login(&client(), "Ada@Acme.Test", GUESS).await;
    assert_eq!(res.status(), 401);
    for slug in ["acme", "beta"] {
        let events = failed_logins_in(&app, slug).await;
        assert_eq!(events.len(), 1, "{slug}: {events:?}");
        let (ip, row) = &events[0];
        assert_eq!(ip.as_deref(), Some("127.0.0.1"));
        assert!(row.contains("user:ada@acme.test"), "{row}");
        assert!(!row.contains(GUESS), "never the password: {row}");
    }
    assert!(failed_logins_in(&app, "gamma").await.is_empty());
    // Unknown accounts reach no org; throttled attempts write nothing.
    app.login(&client(), "nobody@acme.test", GUESS).await;
    for _ in 1..ACCOUNT_LIMIT {
        app.login(&client(), "ada@acme.test", GUESS).await;
    }
    for _ in 0..3 {
        let res = app.login(&client(), "ada@acme.test", GUESS).await;
        assert_eq!(res.status(), 429);
    }
    assert_eq!(
        failed_logins_in(&app, "acme").await.len(),
        ACCOUNT_LIMIT as usize
    );
    let mut conn = app.db().await;
    let everything: Vec<String> = audit_events::table
        .select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "audit_events::text",
        ))
        .load(&mut conn)
        .await
        .unwrap();
    assert!(everything.iter().all(|e| !e.contains(GUESS)));
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let xff = [("X-Forwarded-For", "127.0.0.7, 127.0.0.9")];
    // Without SWITCHBOARD_TRUSTED_PROXIES the header is ignored: the peer is the client.
    let app = TestApp::spawn().await;
    let http = client();
    let token = app.csrf(&http, "/login").await;
    let (status, _) = post_login(&app, &http, &token, "a@acme.test", "x", &xff).await;
    assert_eq!(status, 401);
    assert_eq!(
        throttle_keys(&app).await,
        ["acct:a@acme.test", "ip:127.0.0.1"]
    );
    assert_eq!(last_event_ip(&app).await.as_deref(), Some("127.0.0.1"));

    // Behind a trusted proxy, the right-most forwarded address that is not a proxy.
    let app = TestApp::spawn_with(&[("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let http = client();
    let token = app.csrf(&http, "/login").await;
    let (status, _) = post_login(&app, &http, &token, "a@acme.test", "x", &xff).await;
    assert_eq!(status, 401);
    assert_eq!(
        throttle_keys(&app).await,
        ["acct:a@acme.test", "ip:127.0.0.9"]
    );
    assert_eq!(last_event_ip(&app).await.as_deref(), Some("127.0.0.9"));

    // So one client using up its address's allowance does not lock out the others.
    let one = [("X-Forwarded-For", "127.0.0.9")];
    let emails: Vec<String> = (0..IP_LIMIT).map(|i| format!("n{i}@acme.test")).collect();
    join_all(
        emails
            .iter()
            .map(|email| post_login(&app, &http, &token, email, "x", &one)),
    )
    .await;
    let (status, _) = post_login(&app, &http, &token, "z@acme.test", "x", &one).await;
    assert_eq!(status, 429, "127.0.0.9 is over its limit");
    let another = [("X-Forwarded-For", "127.0.0.10")];
    let (status, _) = post_login(&app, &http, &token, "z@acme.test", "x", &another).await;
    assert_eq!(status, 401, "127.0.0.10 is not");
}

async fn last_event_ip(app: &TestApp) -> Option<String> {
    let mut conn = app.db().await;
    audit_events::table
        .order(audit_events::id.desc())
        .select(audit_events::ip)
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_bad_trusted_proxies_value_stops_start_up_naming_the_variable() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("migrate")
        .env_remove("DATABASE_URL")
        .env(
            "SWITCHBOARD_TRUSTED_PROXIES",
            "127.0.0.1/32, proxy.internal",
        )
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SWITCHBOARD_TRUSTED_PROXIES")
            && err.contains("proxy.internal")
            && err.lines().count() == 1,
        "{err}"
    );
}
