//! Operating at scale (issue 23): metrics that parse with a Prometheus text parser and carry
//! the latency histogram by route pattern, `/metrics` on its own listener, the body read
//! timeout, and a burst of malformed requests that leaves no ERROR line in the log.

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    time::{Duration, Instant},
};

use crate::{
    canary::log_capture,
    helpers::{PASSWORD, TestApp},
};

/// The families of an OpenMetrics exposition as read by the reference parser (Python
/// `prometheus_client.openmetrics.parser`, strict: HELP, TYPE, sample names, `# EOF`).
#[derive(serde::Deserialize, Debug)]
struct Family {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    help: String,
    samples: Vec<(String, std::collections::HashMap<String, String>, f64)>,
}

const PARSE: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
print(json.dumps([
    {"name": f.name, "type": f.type, "help": f.documentation,
     "samples": [[s.name, s.labels, s.value] for s in f.samples]}
    for f in text_string_to_metric_families(sys.stdin.read())]))
"#;

async fn parse(text: &str) -> Vec<Family> {
    use tokio::io::AsyncWriteExt as _;
    let python = crate::api::schemathesis::python_tools()
        .await
        .join("bin/python");
    let mut child = tokio::process::Command::new(&python)
        .args(["-c", PARSE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("parser output")
}

async fn scrape(url: &str) -> (String, Vec<Family>) {
    let res = reqwest::Client::new()
        .get(url)
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = res.text().await.unwrap();
    let parsed = parse(&text).await;
    (text, parsed)
}

#[tokio::test]
async fn metrics_parse_and_carry_the_latency_histogram_by_route_pattern() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let stranger = crate::helpers::client();
    assert_eq!(
        app.login(&stranger, "admin@acme.test", "wrong")
            .await
            .status(),
        401
    );
    app.get(&app.client, "/orgs/acme/settings/ai/provider")
        .await;
    app.get(&app.client, "/no/such/page-3f9a").await;

    let (text, families) = scrape(&app.url("/metrics")).await;
    for family in &families {
        assert!(!family.help.is_empty(), "{} has no HELP", family.name);
        assert_ne!(family.kind, "unknown", "{} has no TYPE", family.name);
    }
    let family = |name: &str| {
        families
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no family {name}:\n{text}"))
    };
    let histogram = family("switchboard_http_request_duration_seconds");
    assert_eq!(histogram.kind, "histogram");
    let provider_tab: Vec<_> = histogram
        .samples
        .iter()
        .filter(|(_, labels, _)| {
            labels.get("route").map(String::as_str) == Some("/orgs/{org}/settings/ai/provider")
                && labels.get("status").map(String::as_str) == Some("2xx")
                && labels.get("method").map(String::as_str) == Some("GET")
        })
        .collect();
    let buckets = provider_tab
        .iter()
        .filter(|(name, _, _)| name.ends_with("_bucket"))
        .count();
    assert!(buckets > 5, "{provider_tab:?}");
    let count = provider_tab
        .iter()
        .find(|(name, _, _)| name.ends_with("_count"))
        .map(|(_, _, v)| *v);
    assert_eq!(count, Some(1.0), "one request: {provider_tab:?}");
    // Route patterns only: never a raw path, never an org.
    assert!(!text.contains("page-3f9a"), "raw path in metrics");
    assert!(!text.contains("acme"), "org in metrics");
    assert!(text.contains("route=\"unmatched\""));
    let sql = family("switchboard_sql_statements");
    assert_eq!(sql.kind, "counter");
    assert_eq!(sql.samples[0].0, "switchboard_sql_statements_total");
    for needle in [
        "switchboard_logins_total{outcome=\"failed\"} 1",
        "switchboard_logins_total{outcome=\"succeeded\"} 1",
        "switchboard_db_pool_max_connections 4",
        "switchboard_build_info{version=",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    // No sample (and so no family in the exposition) before any verification ran.
    assert!(!text.contains("switchboard_audit_verification_age_seconds"));

    // The audit verification hook: the age appears once a verification is recorded.
    let now = app.state.clock.now().timestamp();
    app.state.metrics.set_audit_verified_at(now - 90);
    let (_, families) = scrape(&app.url("/metrics")).await;
    let age = families
        .iter()
        .find(|f| f.name == "switchboard_audit_verification_age_seconds")
        .unwrap();
    assert_eq!(age.samples[0].2, 90.0);
    assert_eq!(age.kind, "gauge");
}

#[tokio::test]
async fn metrics_bind_moves_metrics_to_its_own_listener() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[("SWITCHBOARD_METRICS_BIND", &bind)]).await;
    assert_eq!(app.get(&app.client, "/metrics").await.status(), 404);
    let (text, _) = scrape(&format!("http://{bind}/metrics")).await;
    assert!(text.contains("switchboard_sql_statements_total "));
    let console = reqwest::get(format!("http://{bind}/login")).await.unwrap();
    assert_eq!(
        console.status(),
        404,
        "the metrics listener serves nothing else"
    );
}

/// Sends `head` then the body a byte every 500 ms on a raw loopback connection; returns
/// the status line and how long the answer took.
fn trickle(addr: &str, head: &str, body: Vec<u8>) -> (String, Duration) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    stream.write_all(head.as_bytes()).unwrap();
    let mut reader = stream.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        for byte in body {
            if stream.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let took = started.elapsed();
    drop(reader);
    let _ = writer;
    let text = String::from_utf8_lossy(&answer).to_string();
    (text.lines().next().unwrap_or("").to_owned(), took)
}

/// Logs in as the seeded admin without a cookie store: the session cookie (`name=value`) and
/// a CSRF token of that session, for requests written by hand.
async fn session_by_hand(app: &TestApp) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie_of = |res: &reqwest::Response| {
        let set = res.headers()["set-cookie"].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    };
    let res = http.get(app.url("/login")).send().await.unwrap();
    let cookie = cookie_of(&res);
    let token = crate::helpers::meta_csrf(&res.text().await.unwrap()).unwrap();
    let res = http
        .post(app.url("/login"))
        .header("cookie", &cookie)
        .form(&[
            ("email", "admin@acme.test"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login by hand");
    let cookie = cookie_of(&res);
    let page = http
        .get(app.url("/orgs/acme/settings/ai/provider"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let token = crate::helpers::meta_csrf(&page.text().await.unwrap()).unwrap();
    (cookie, token)
}

#[tokio::test]
async fn a_slow_body_is_cut_with_408() {
    let app = TestApp::spawn_with(&[("SWITCHBOARD_BODY_TIMEOUT", "2s")]).await;
    app.seed_and_login_admin().await;
    let (cookie, token) = session_by_hand(&app).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let body = format!(
        "csrf_token={token}&name=Slow&kind=anthropic&padding={}",
        "x".repeat(40)
    );
    let head = format!(
        "POST /orgs/acme/settings/ai/providers HTTP/1.1\r\nHost: {addr}\r\n\
         Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let (status, took) =
        tokio::task::spawn_blocking(move || trickle(&addr, &head, body.into_bytes()))
            .await
            .unwrap();
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert!(took < Duration::from_secs(6), "held for {took:?}");

    // A body that arrives in time is served as usual.
    let res = app
        .login(&crate::helpers::client(), "admin@acme.test", PASSWORD)
        .await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn a_burst_of_malformed_requests_logs_no_error() {
    let logs = log_capture();
    let app = TestApp::spawn().await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let marker = "zz-malformed-7c1e";
    let from = logs.lock().unwrap().len();
    let raw: Vec<String> = vec![
        format!("GARBAGE /{marker} HTTP/1.1\r\n\r\n"),
        format!("GET /{marker} HTTP/9.9\r\nHost: x\r\n\r\n"),
        format!("GET /{marker} HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
        format!("POST /{marker} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n"),
        format!("POST /{marker} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
        format!("GET /{marker}\x01 HTTP/1.1\r\nHost: x\r\n\r\n"),
        format!("GET /{marker}%00 HTTP/1.1\r\nHost: x\r\n\r\n"),
        format!(
            "GET /{marker} HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
            "a".repeat(70_000)
        ),
        "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03".to_owned(),
    ];
    let sent = tokio::task::spawn_blocking(move || {
        let mut sent = 0;
        for _ in 0..25 {
            for req in &raw {
                let Ok(mut s) = TcpStream::connect(&addr) else {
                    continue;
                };
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let _ = s.write_all(req.as_bytes());
                let _ = s.shutdown(std::net::Shutdown::Write);
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink);
                sent += 1;
            }
        }
        sent
    })
    .await
    .unwrap();
    // Malformed requests that do reach the app.
    let http = crate::helpers::client();
    for _ in 0..20 {
        http.post(app.url(&format!("/{marker}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("%%%")
            .send()
            .await
            .unwrap();
        http.post(app.url("/api/v1/orgs/acme/providers"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = String::from_utf8_lossy(&logs.lock().unwrap()[from..]).to_string();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" ERROR "))
        .filter(|l| l.contains(marker) || l.contains("actix_http"))
        .collect();
    assert!(
        errors.is_empty(),
        "{} of {sent} gave ERROR lines: {errors:?}",
        errors.len()
    );
    let warns = text
        .lines()
        .filter(|l| l.contains("malformed request refused"))
        .count();
    assert!(warns >= 1, "the malformed requests are still seen, sampled");
    assert!(
        warns <= 20,
        "{warns} WARN lines for {sent} malformed requests: not sampled"
    );
    assert!(
        !text.contains('\x1b'),
        "ANSI colours in a log that is not a terminal"
    );
}
