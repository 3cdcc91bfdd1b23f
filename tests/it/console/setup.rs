//! First run: a one-time token creates the first admin and org, then is dead.

use crate::helpers::{TestApp, client, location, meta_csrf};

#[tokio::test]
async fn the_setup_token_creates_the_first_admin_and_org_once() {
    let app = TestApp::spawn().await;
    let token = app
        .setup_token
        .clone()
        .expect("no users yet: a setup token exists");
    assert_eq!(
        app.get(&app.client, "/setup?token=wrong").await.status(),
        404
    );
    assert_eq!(app.get(&app.client, "/setup").await.status(), 404);

    let page = app.get(&app.client, &format!("/setup?token={token}")).await;
    assert_eq!(page.status(), 200);
    let csrf = meta_csrf(&page.text().await.unwrap()).unwrap();
    let mut form = vec![
        ("csrf_token", csrf.as_str()),
        ("token", token.as_str()),
        ("name", "Ada Admin"),
        ("email", "ada@acme.test"),
        ("password", "short"),
        ("org_name", "Acme"),
        ("org_slug", "acme"),
    ];
    let res = app
        .client
        .post(app.url("/setup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "too short a password");
    assert!(res.text().await.unwrap().contains("at least 10 characters"));

    form[4] = ("password", "a long enough passphrase");
    let res = app
        .client
        .post(app.url("/setup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/orgs/acme/settings/ai");
    // Logged in as the new admin straight away.
    let res = app
        .get(&app.client, "/orgs/acme/settings/ai/insights")
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Turn insights on"));
    assert_eq!(app.audit_count("org.created").await, 1);

    // The token is dead now, for the page and the form alike.
    let other = client();
    assert_eq!(
        app.get(&other, &format!("/setup?token={token}"))
            .await
            .status(),
        404
    );
    let csrf = meta_csrf(&app.get(&other, "/login").await.text().await.unwrap()).unwrap();
    form[0] = ("csrf_token", csrf.as_str());
    form[5] = ("org_name", "Evil");
    form[6] = ("org_slug", "evil");
    let res = other
        .post(app.url("/setup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn no_setup_token_once_a_user_exists() {
    use switchboard::{
        config::Config,
        startup::{Application, Options},
    };
    let app = TestApp::spawn().await;
    assert!(app.setup_token.is_some());
    app.create_user("ada@acme.test", false).await;
    // The next start over the same database offers no setup link.
    let config = Config::from_lookup(|k| match k {
        "SWITCHBOARD_BIND" => Some("127.0.0.1:0".to_owned()),
        "SWITCHBOARD_MASTER_KEYS" => Some(crate::helpers::MASTER_KEYS.to_owned()),
        _ => None,
    })
    .unwrap();
    let restarted = Application::build(config, &app.db_url, Options::default())
        .await
        .unwrap();
    assert!(restarted.setup_token().is_none());
}
