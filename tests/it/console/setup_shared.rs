//! First run behind a balancer: the setup token lives in PostgreSQL, so the URL one
//! instance printed works on another, once; it expires; `switchboard setup-url` replaces it.

use std::time::Duration;

use switchboard::{
    config::Config,
    ops::setup::StartupSetup,
    startup::{Application, Options},
};

use crate::helpers::{TestApp, client, location, meta_csrf};

/// Posts the setup form to `app` with `token`, from a fresh browser.
async fn post_setup(app: &TestApp, token: &str, slug: &str) -> reqwest::Response {
    let browser = client();
    let csrf = meta_csrf(&app.get(&browser, "/login").await.text().await.unwrap()).unwrap();
    browser
        .post(app.url("/setup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", token),
            ("name", "Ada Admin"),
            ("email", &format!("ada@{slug}.test")),
            ("password", "a long enough passphrase"),
            ("org_name", slug),
            ("org_slug", slug),
        ])
        .send()
        .await
        .unwrap()
}

/// A refused setup link: 404 with the page that says why and what to do — before setup
/// (expired, replaced) a new link from the server; after it (used) sign in (issue 17).
async fn assert_refused(res: reqwest::Response) {
    assert_eq!(res.status(), 404);
    let body = res.text().await.unwrap();
    if body.contains("This setup link was already used — sign in") {
        assert!(body.contains("href=\"/login\""), "{body}");
    } else {
        assert!(body.contains("This setup link is not valid"), "{body}");
        assert!(body.contains("switchboard setup-url"), "{body}");
    }
}

/// Another instance start over `app`'s database, as `Application::build` sees it.
async fn start_over(app: &TestApp) -> Application {
    let config = Config::from_lookup(|k| match k {
        "SWITCHBOARD_BIND" => Some("127.0.0.1:0".to_owned()),
        "SWITCHBOARD_MASTER_KEYS" => Some(crate::helpers::MASTER_KEYS.to_owned()),
        _ => None,
    })
    .unwrap();
    Application::build(config, &app.db_url, Options::default())
        .await
        .unwrap()
}

async fn stored_tokens(app: &TestApp) -> i64 {
    use diesel_async::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let Count { n } = diesel::sql_query("SELECT count(*) AS n FROM setup_tokens")
        .get_result(&mut app.db().await)
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn the_url_printed_by_one_instance_works_on_another_once() {
    let first = TestApp::spawn().await;
    let token = first
        .setup_token
        .clone()
        .expect("the first instance made a token");
    let second = TestApp::spawn_sharing(&first, &[]).await;
    assert!(second.setup_token.is_none(), "one token per database");
    assert_eq!(
        *start_over(&first).await.setup(),
        StartupSetup::PrintedElsewhere
    );
    assert_eq!(stored_tokens(&first).await, 1);
    // Only its hash is stored.
    let stored: Vec<u8> = {
        use diesel_async::RunQueryDsl as _;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Bytea)]
            token_hash: Vec<u8>,
        }
        let rows: Vec<Row> = diesel::sql_query("SELECT token_hash FROM setup_tokens")
            .load(&mut first.db().await)
            .await
            .unwrap();
        rows.into_iter().next().unwrap().token_hash
    };
    assert_eq!(stored, switchboard::crypto::sha256(token.as_bytes()));

    // The other instance shows the form and takes it.
    let page = second
        .get(&second.client, &format!("/setup?token={token}"))
        .await;
    assert_eq!(page.status(), 200);
    let res = post_setup(&second, &token, "acme").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/orgs/acme/settings/ai");
    assert_eq!(stored_tokens(&first).await, 0);

    // Used: refused on both instances, page and form, with a clear page.
    let used = first
        .get(&first.client, &format!("/setup?token={token}"))
        .await;
    assert_eq!(used.status(), 404);
    let body = used.text().await.unwrap();
    assert!(
        body.contains("This setup link was already used — sign in"),
        "{body}"
    );
    assert_refused(post_setup(&first, &token, "evil").await).await;
    assert_refused(post_setup(&second, &token, "evil").await).await;
    assert_eq!(first.audit_count("org.created").await, 1);
    // A start once a user exists offers nothing.
    assert_eq!(*start_over(&first).await.setup(), StartupSetup::Done);
}

#[tokio::test]
async fn two_setups_racing_on_two_instances_create_one_admin() {
    let first = TestApp::spawn().await;
    let token = first.setup_token.clone().unwrap();
    let second = TestApp::spawn_sharing(&first, &[]).await;
    let (a, b) = tokio::join!(
        post_setup(&first, &token, "acme"),
        post_setup(&second, &token, "other")
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 404]);
    assert_eq!(first.audit_count("org.created").await, 1);
}

#[tokio::test]
async fn an_expired_setup_url_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.setup_token.clone().unwrap();
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_refused(app.get(&app.client, &format!("/setup?token={token}")).await).await;
    assert_refused(post_setup(&app, &token, "acme").await).await;
    assert_eq!(app.audit_count("org.created").await, 0);
}

#[tokio::test]
async fn setup_url_voids_the_old_url_and_is_refused_once_a_user_exists() {
    let app = TestApp::spawn().await;
    let old = app.setup_token.clone().unwrap();
    let (code, out, err) = super::cli::switchboard(&app, &["setup-url"], "").await;
    assert_eq!(code, 0, "{err}");
    let new = out
        .split("/setup?token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("a setup URL in: {out}"))
        .to_owned();
    assert_ne!(new, old);
    assert_eq!(stored_tokens(&app).await, 1, "one token per database");
    assert_refused(app.get(&app.client, &format!("/setup?token={old}")).await).await;
    assert_eq!(
        app.get(&app.client, &format!("/setup?token={new}"))
            .await
            .status(),
        200
    );
    assert_eq!(post_setup(&app, &new, "acme").await.status(), 303);

    let (code, out, err) = super::cli::switchboard(&app, &["setup-url"], "").await;
    assert_ne!(code, 0);
    assert!(!out.contains("token="), "{out}");
    assert!(err.contains("already set up"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
}
