//! The operator CLI against a real database: users, orgs, memberships, migrations.

use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;

use switchboard::web::login::LOGIN_FAILED;

use crate::helpers::{INSIGHTS, PASSWORD, TestApp, location};

/// Runs `switchboard args…` on the test database with `stdin`; returns (exit code, stdout, stderr).
pub(crate) async fn switchboard(
    app: &TestApp,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("DATABASE_URL", &app.db_url)
        .env("SWITCHBOARD_MASTER_KEYS", crate::helpers::MASTER_KEYS)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn switchboard");
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin.as_bytes()).await;
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn operators_create_users_orgs_and_members_from_the_cli() {
    let app = TestApp::spawn().await;
    let (code, out, err) = switchboard(&app, &["migrate"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("up to date"));

    let pw = format!("{PASSWORD}\n");
    let (code, out, err) = switchboard(
        &app,
        &[
            "user",
            "create",
            "--email",
            "Ada@Acme.test",
            "--name",
            "Ada",
            "--password-stdin",
        ],
        &pw,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created user ada@acme.test"), "{out}");
    assert!(
        !out.contains(PASSWORD) && !err.contains(PASSWORD),
        "the password is never echoed"
    );

    let (code, _, err) = switchboard(
        &app,
        &["org", "create", "--slug", "acme", "--name", "Acme"],
        "",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = switchboard(
        &app,
        &[
            "member",
            "add",
            "--org",
            "acme",
            "--email",
            "ada@acme.test",
            "--role",
            "admin",
        ],
        "",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("added ada@acme.test to acme as admin"));

    // The CLI-made admin can log in and administer.
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let page = app.get(&app.client, INSIGHTS).await.text().await.unwrap();
    assert!(page.contains("Turn insights on"));
    assert_eq!(app.audit_count("member.added").await, 1);

    let (code, _, err) = switchboard(
        &app,
        &[
            "user",
            "create",
            "--email",
            "sam@support.test",
            "--support",
            "--password-stdin",
        ],
        &pw,
    )
    .await;
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn cli_errors_are_one_clear_line_and_a_non_zero_exit() {
    let app = TestApp::spawn().await;
    let pw = format!("{PASSWORD}\n");
    switchboard(
        &app,
        &[
            "user",
            "create",
            "--email",
            "ada@acme.test",
            "--password-stdin",
        ],
        &pw,
    )
    .await;
    switchboard(
        &app,
        &["org", "create", "--slug", "acme", "--name", "Acme"],
        "",
    )
    .await;
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec![
                "user",
                "create",
                "--email",
                "ada@acme.test",
                "--password-stdin",
            ],
            pw.as_str(),
            "already exists",
        ),
        (
            vec![
                "user",
                "create",
                "--email",
                "not-an-email",
                "--password-stdin",
            ],
            pw.as_str(),
            "valid email",
        ),
        (
            vec![
                "user",
                "create",
                "--email",
                "bo@acme.test",
                "--password-stdin",
            ],
            "short\n",
            "at least 10",
        ),
        (
            vec!["user", "create", "--email", "bo@acme.test"],
            "",
            "--password-stdin",
        ),
        (
            vec!["org", "create", "--slug", "Bad Slug", "--name", "X"],
            "",
            "slug",
        ),
        (
            vec!["org", "create", "--slug", "acme", "--name", "Again"],
            "",
            "already exists",
        ),
        (
            vec![
                "member",
                "add",
                "--org",
                "nope",
                "--email",
                "ada@acme.test",
                "--role",
                "admin",
            ],
            "",
            "no org",
        ),
        (
            vec![
                "member",
                "add",
                "--org",
                "acme",
                "--email",
                "x@acme.test",
                "--role",
                "admin",
            ],
            "",
            "no user",
        ),
        (
            vec![
                "user",
                "set-password",
                "--email",
                "x@acme.test",
                "--password-stdin",
            ],
            pw.as_str(),
            "no user",
        ),
        (
            vec!["user", "set-password", "--email", "ada@acme.test"],
            "",
            "--password-stdin",
        ),
        (
            vec![
                "user",
                "set-password",
                "--email",
                "ada@acme.test",
                "--password-stdin",
            ],
            "short\n",
            "at least 10",
        ),
        (
            vec!["user", "disable", "--email", "x@acme.test"],
            "",
            "no user",
        ),
    ];
    for (args, stdin, expected) in cases {
        let (code, _, err) = switchboard(&app, &args, stdin).await;
        assert_ne!(code, 0, "{args:?}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(
            lines[0].starts_with("switchboard: ") && lines[0].contains(expected),
            "{args:?}: {err}"
        );
    }
    // A bad configuration value names its variable.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("migrate")
        .env("SWITCHBOARD_BIND", "not-an-address")
        .output()
        .await
        .unwrap();
    assert_eq!(child.status.code(), Some(2));
    let err = String::from_utf8_lossy(&std::mem::take(&mut child.stderr)).into_owned();
    assert!(
        err.contains("SWITCHBOARD_BIND") && err.lines().count() == 1,
        "{err}"
    );
}

#[tokio::test]
async fn operators_disable_enable_and_reset_a_user_and_each_ends_their_sessions() {
    const NEW_PASSWORD: &str = "a brand new operator-set password";
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let logged_in = |res: reqwest::Response| res.status() == 200;
    assert!(logged_in(app.get(&app.client, INSIGHTS).await));

    let (code, out, err) =
        switchboard(&app, &["user", "disable", "--email", "Admin@Acme.test"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("disabled admin@acme.test"), "{out}");
    let res = app.get(&app.client, INSIGHTS).await;
    assert_eq!(res.status(), 303, "the session ended");
    assert_eq!(location(&res), "/login");
    // A disabled account gets the one answer every failed login gets.
    let res = app.login(&app.client, "admin@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains(LOGIN_FAILED));
    let (code, out, _) =
        switchboard(&app, &["user", "disable", "--email", "admin@acme.test"], "").await;
    assert_eq!(code, 0);
    assert!(out.contains("already disabled"), "{out}");

    let (code, out, err) =
        switchboard(&app, &["user", "enable", "--email", "admin@acme.test"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("enabled admin@acme.test"), "{out}");
    assert_eq!(
        app.login(&app.client, "admin@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    assert!(logged_in(app.get(&app.client, INSIGHTS).await));

    let (code, out, err) = switchboard(
        &app,
        &[
            "user",
            "set-password",
            "--email",
            "admin@acme.test",
            "--password-stdin",
        ],
        &format!("{NEW_PASSWORD}\n"),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("set a new password for admin@acme.test"),
        "{out}"
    );
    assert!(!out.contains(NEW_PASSWORD) && !err.contains(NEW_PASSWORD));
    assert_eq!(
        app.get(&app.client, INSIGHTS).await.status(),
        303,
        "the session ended"
    );
    assert_eq!(
        app.login(&app.client, "admin@acme.test", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        app.login(&app.client, "admin@acme.test", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    assert!(logged_in(app.get(&app.client, INSIGHTS).await));

    for action in ["user.disabled", "user.enabled", "user.password_reset"] {
        assert_eq!(app.audit_count(action).await, 1, "{action}");
    }
}
