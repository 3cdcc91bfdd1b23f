//! The real binary: `serve` on the embedded cluster (first run, reuse by a second process,
//! clean shutdown on SIGTERM that stops the cluster last), and logs free of secrets.

use std::{path::PathBuf, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
};

use crate::helpers::client;

/// A `switchboard serve` child process and what it printed.
struct Served {
    child: Child,
    base: String,
    setup_url: Option<String>,
    logs: tokio::task::JoinHandle<String>,
}

/// Starts `switchboard serve` with `env` and waits until it listens (the log names the
/// address); on a first run it also waits for the setup URL on stdout.
async fn serve(env: &[(&str, &str)], first_run: bool) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.arg("serve")
        .env_remove("DATABASE_URL")
        .env("SWITCHBOARD_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn serve");
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut tx = Some(tx);
        let mut lines = BufReader::new(stderr).lines();
        let mut all = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("Switchboard is listening")
                && let Some(addr) = line.split("address=").nth(1)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(addr.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let base = tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .expect("serve listened in time")
        .unwrap_or_else(|_| panic!("serve exited before listening"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let setup_url = if first_run {
        let line = tokio::time::timeout(Duration::from_secs(10), stdout.next_line())
            .await
            .expect("setup URL printed")
            .unwrap()
            .unwrap_or_default();
        Some(
            line.split("at: ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .expect("setup URL line")
                .to_owned(),
        )
    } else {
        None
    };
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    Served {
        child,
        base,
        setup_url,
        logs,
    }
}

async fn sigterm_and_wait(served: &mut Served) -> i32 {
    let pid = served.child.id().expect("running") as i32;
    nix_kill(pid);
    let status = tokio::time::timeout(Duration::from_secs(60), served.child.wait())
        .await
        .expect("serve stopped after SIGTERM")
        .unwrap();
    status.code().unwrap_or(-1)
}

fn nix_kill(pid: i32) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn fresh_data_dir(name: &str) -> PathBuf {
    // Not a 0700 temp dir: when tests run as root, the postgres user must reach it.
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn postmaster_running(data_dir: &std::path::Path) -> bool {
    data_dir.join("pg/postmaster.pid").exists()
}

#[tokio::test]
async fn serve_runs_on_its_own_cluster_shares_it_and_stops_it_last() {
    let data = fresh_data_dir("serve");
    let data_str = data.to_str().unwrap();
    let mut first = serve(&[("SWITCHBOARD_DATA_DIR", data_str)], true).await;
    assert!(postmaster_running(&data));
    let key = data.join("master.key");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let http = client();
    assert_eq!(
        http.get(format!("{}/readyz", first.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Create the first admin through the printed setup URL, with a canary password.
    let canary_password = "canary-pw-7f3a9c1e5b";
    let setup_url = first.setup_url.clone().unwrap();
    let page = http
        .get(&setup_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::meta_csrf(&page).unwrap();
    let token = setup_url.split("token=").nth(1).unwrap().to_owned();
    let res = http
        .post(format!("{}/setup", first.base))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", token.as_str()),
            ("name", "Ada"),
            ("email", "ada@acme.test"),
            ("password", canary_password),
            ("org_name", "Acme"),
            ("org_slug", "acme"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // A failed login with another canary, to see it stays out of the logs too.
    let other = client();
    let page = other
        .get(format!("{}/login", first.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::meta_csrf(&page).unwrap();
    other
        .post(format!("{}/login", first.base))
        .form(&[
            ("email", "ada@acme.test"),
            ("password", "canary-wrong-2d8e4f"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();

    // A second process on the same data dir reuses the running cluster (no second postmaster).
    let mut second = serve(&[("SWITCHBOARD_DATA_DIR", data_str)], false).await;
    assert_eq!(
        http.get(format!("{}/readyz", second.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Stopping the first leaves the cluster up for the second.
    assert_eq!(sigterm_and_wait(&mut first).await, 0);
    assert!(
        postmaster_running(&data),
        "still used by the second process"
    );
    assert_eq!(
        http.get(format!("{}/readyz", second.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The last one out stops it.
    assert_eq!(sigterm_and_wait(&mut second).await, 0);
    assert!(
        !postmaster_running(&data),
        "the cluster stopped with the last process"
    );

    let logs = first.logs.await.unwrap() + &second.logs.await.unwrap();
    assert!(logs.contains("request"), "request lines are logged: {logs}");
    assert!(
        logs.contains("SWITCHBOARD_MASTER_KEYS"),
        "the generated key is flagged for production"
    );
    for secret in [
        canary_password,
        "canary-wrong-2d8e4f",
        token.as_str(),
        "switchboard_session=",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
    let _ = std::fs::remove_dir_all(&data);
}
