//! `switchboard provider check`, run as operators run it: the built binary, key on stdin.

use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-CLI-CANARY-0a1b2c3d4e5f6789";

/// Runs the binary with `args`, `stdin` piped in, and only the given environment.
async fn run(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .args(args)
        .env_remove("SWITCHBOARD_EGRESS_ALLOW")
        .env_remove("SWITCHBOARD_CHECK_TIMEOUT")
        // A proxy exemption (or a CGI marker, which makes reqwest skip proxies) would make
        // the proxy test pass without proving anything.
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("REQUEST_METHOD")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("spawn switchboard");
    let mut input = child.stdin.take().expect("stdin");
    // A CLI that refuses its configuration exits before reading stdin: a broken pipe is fine.
    if let Err(e) = input.write_all(stdin.as_bytes()).await {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write key: {e}");
    }
    drop(input);
    let output: Output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the CLI finished")
        .expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stdout.contains("0a1b2c3d4e5f6789") && !stderr.contains("0a1b2c3d4e5f6789"),
        "key printed"
    );
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

const LOOPBACK: [(&str, &str); 2] = [
    ("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8"),
    ("SWITCHBOARD_CHECK_TIMEOUT", "1"),
];

async fn openai_server(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn check_args(base: &str) -> Vec<String> {
    [
        "provider",
        "check",
        "--kind",
        "openai",
        "--model",
        "gpt-4o",
        "--base-url",
        base,
    ]
    .map(String::from)
    .to_vec()
}

async fn check(server: &MockServer, env: &[(&str, &str)]) -> (i32, String, String) {
    let args = check_args(&format!("{}/v1", server.uri()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, &format!("{KEY}\n"), env).await
}

#[tokio::test]
async fn cli_passes_with_exit_zero() {
    let server = openai_server(
        ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "gpt-4o"}]})),
    )
    .await;
    let (code, stdout, _) = check(&server, &LOOPBACK).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with("PASS: key accepted; model \"gpt-4o\" is listed ("),
        "{stdout}"
    );
    assert!(stdout.contains(" ms)"), "{stdout}");
}

#[tokio::test]
async fn cli_fails_non_zero_with_a_useful_line_per_failure_class() {
    let rejected = openai_server(
        ResponseTemplate::new(401).set_body_json(json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "code": "invalid_api_key"}})),
    )
    .await;
    let (code, stdout, _) = check(&rejected, &LOOPBACK).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.starts_with("FAIL auth_rejected: the provider rejected the key (HTTP 401)"),
        "{stdout}"
    );
    assert!(stdout.contains("upstream said: "), "{stdout}");

    let missing = openai_server(
        ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "gpt-4o-mini"}]})),
    )
    .await;
    let (code, stdout, _) = check(&missing, &LOOPBACK).await;
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with("FAIL model_not_found:") && stdout.contains("gpt-4o-mini"),
        "{stdout}"
    );

    let slow = openai_server(ResponseTemplate::new(200).set_delay(Duration::from_secs(3))).await;
    let (code, stdout, _) = check(&slow, &LOOPBACK).await;
    assert_eq!(code, 1);
    assert!(stdout.starts_with("FAIL timeout:"), "{stdout}");

    // Without the operator's allow-list, loopback is refused.
    let (code, stdout, _) = check(&missing, &[]).await;
    assert_eq!(code, 1);
    assert!(stdout.starts_with("FAIL blocked_address:"), "{stdout}");
    assert!(stdout.contains("SWITCHBOARD_EGRESS_ALLOW"), "{stdout}");
}

#[tokio::test]
async fn cli_prints_upstream_text_without_terminal_escapes() {
    // A hostile endpoint answering ANSI escapes (colour, clear screen, a title change) in
    // its error body and in a model id.
    let hostile = openai_server(
        ResponseTemplate::new(500)
            .set_body_string("\u{1b}[31mboom\u{1b}[0m \u{1b}]0;pwned\u{7} \u{9b}2J"),
    )
    .await;
    let (code, stdout, _) = check(&hostile, &LOOPBACK).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("upstream said: "), "{stdout}");
    assert!(stdout.contains("boom"), "{stdout}");
    let escaped = openai_server(
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": [{"id": "gpt-4o-\u{1b}[2J\u{1b}[31mmini"}]})),
    )
    .await;
    let (code, stdout_2, _) = check(&escaped, &LOOPBACK).await;
    assert_eq!(code, 1, "{stdout_2}");
    for out in [&stdout, &stdout_2] {
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "a control character reached the terminal: {out:?}"
        );
    }
}

#[tokio::test]
async fn cli_ignores_environment_proxies() {
    // A "proxy" that only lets connections queue: reqwest without `no_proxy()` would send
    // the check here (it exempts no host, loopback included, unless NO_PROXY says so).
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let proxy_url = format!("http://{}", proxy.local_addr().expect("proxy address"));
    let server = openai_server(
        ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "gpt-4o"}]})),
    )
    .await;
    let mut env = LOOPBACK.to_vec();
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        env.push((name, proxy_url.as_str()));
    }

    let (code, stdout, _) = check(&server, &env).await;

    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("PASS: "), "{stdout}");
    let received = server.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 1);
    // The kernel queues a connection whether or not it is accepted.
    let connected = tokio::time::timeout(Duration::from_millis(200), proxy.accept()).await;
    assert!(connected.is_err(), "the check went through the proxy");
}

#[tokio::test]
async fn cli_rejects_a_wrong_prefix_and_reads_optional_keys_as_absent() {
    let (code, stdout, _) = run(
        &[
            "provider",
            "check",
            "--kind",
            "anthropic",
            "--model",
            "claude-sonnet-4-20250514",
        ],
        "sk-proj-0a1b2c3d4e5f6789\n",
        &LOOPBACK,
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with("FAIL auth_rejected:") && stdout.contains("\"sk-ant-\""),
        "{stdout}"
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/tags"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"models": [{"name": "llama3.1:latest"}]})),
        )
        .mount(&server)
        .await;
    let uri = server.uri();
    let (code, stdout, _) = run(
        &[
            "provider",
            "check",
            "--kind",
            "ollama",
            "--model",
            "llama3.1",
            "--base-url",
            &uri,
        ],
        "",
        &LOOPBACK,
    )
    .await;
    assert_eq!(code, 0, "{stdout}");
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(requests[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn cli_bad_environment_values_name_the_variable() {
    let args = check_args("http://127.0.0.1:9/v1");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) =
        run(&args, KEY, &[("SWITCHBOARD_EGRESS_ALLOW", "10.0.0.0/99")]).await;
    assert_eq!(code, 2, "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("SWITCHBOARD_EGRESS_ALLOW: "), "{stderr}");
    let (code, _, stderr) = run(&args, KEY, &[("SWITCHBOARD_CHECK_TIMEOUT", "soon")]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("SWITCHBOARD_CHECK_TIMEOUT: "), "{stderr}");
    let (code, _, stderr) = run(
        &["provider", "check", "--kind", "openia", "--model", "x"],
        KEY,
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("openia"), "{stderr}");
}
