//! A user changes their own password: the current one is checked (and throttled like a
//! login), this session continues under the new epoch, every other session ends.

use crate::helpers::{INSIGHTS, PASSWORD, TestApp, client, location};

const ACCOUNT: &str = "/account/password";
const NEW_PASSWORD: &str = "canary-new-password-7d1f";

async fn change(app: &TestApp, current: &str, new: &str, confirm: &str) -> reqwest::Response {
    app.post_form(
        &app.client,
        ACCOUNT,
        ACCOUNT,
        &[
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", confirm),
        ],
    )
    .await
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_every_other() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let elsewhere = client();
    assert_eq!(
        app.login(&elsewhere, "admin@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let form = app.get(&app.client, ACCOUNT).await;
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    for field in ["current_password", "new_password", "confirm_password"] {
        assert!(form.contains(&format!("name=\"{field}\"")), "{field}");
    }
    let pre_change = app
        .client
        .get(app.url(ACCOUNT))
        .send()
        .await
        .unwrap()
        .cookies()
        .count();
    assert_eq!(pre_change, 0, "no new cookie on a plain page view");

    let res = change(&app, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), ACCOUNT);
    assert_eq!(
        res.cookies().count(),
        1,
        "this session was renewed under a new key"
    );
    let page = app.get(&app.client, ACCOUNT).await.text().await.unwrap();
    assert!(page.contains("Password changed."), "{page}");
    assert!(!page.contains(NEW_PASSWORD));
    assert_eq!(
        app.get(&app.client, INSIGHTS).await.status(),
        200,
        "still logged in here"
    );

    let res = app.get(&elsewhere, INSIGHTS).await;
    assert_eq!(res.status(), 303, "the other session ended");
    assert_eq!(location(&res), "/login");
    assert_eq!(
        app.login(&elsewhere, "admin@acme.test", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        app.login(&elsewhere, "admin@acme.test", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(app.audit_count("user.password_changed").await, 1);
}

#[tokio::test]
async fn a_wrong_current_password_or_a_bad_new_one_changes_nothing() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let elsewhere = client();
    app.login(&elsewhere, "admin@acme.test", PASSWORD).await;
    let cases = [
        (
            "not the password",
            NEW_PASSWORD,
            NEW_PASSWORD,
            "The current password is not right.",
        ),
        (
            PASSWORD,
            NEW_PASSWORD,
            "canary-new-password-typo",
            "The two new passwords differ.",
        ),
        (
            PASSWORD,
            "short",
            "short",
            "The password must be at least 10 characters.",
        ),
        (
            PASSWORD,
            PASSWORD,
            PASSWORD,
            "must differ from the current one",
        ),
    ];
    for (current, new, confirm, message) in cases {
        let res = change(&app, current, new, confirm).await;
        assert_eq!(res.status(), 400, "{message}");
        let body = res.text().await.unwrap();
        assert!(body.contains(message), "{message}: {body}");
        assert!(
            !body.contains(NEW_PASSWORD) && !body.contains(PASSWORD),
            "no password is echoed back"
        );
    }
    assert_eq!(
        app.get(&elsewhere, INSIGHTS).await.status(),
        200,
        "no session ended"
    );
    assert_eq!(app.audit_count("user.password_changed").await, 0);
    assert_eq!(
        app.login(&elsewhere, "admin@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_a_login() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    // The login that seeded the session succeeded; five wrong guesses use up the account's
    // allowance (models::login_throttle::ACCOUNT_LIMIT).
    for _ in 0..5 {
        let res = change(&app, "a wrong guess!", NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(res.status(), 400);
    }
    let res = change(&app, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), 429, "even the right password waits");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Too many failed attempts")
    );
    assert_eq!(app.audit_count("user.password_changed").await, 0);
}

#[tokio::test]
async fn the_account_page_needs_a_login_and_a_csrf_token() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let anonymous = client();
    let res = app.get(&anonymous, ACCOUNT).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    let res = app
        .client
        .post(app.url(ACCOUNT))
        .form(&[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "no CSRF token");
    assert_eq!(app.audit_count("user.password_changed").await, 0);
}
