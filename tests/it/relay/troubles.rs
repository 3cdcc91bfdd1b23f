//! When the upstream misbehaves or may not be reached: redirects are not followed, the
//! egress guard refuses loopback without the allow list, a hang is a 504 after the relay
//! timeout, a client that goes away cancels the upstream call, upstream errors pass with
//! their status and a redacted body, a token's concurrency is limited — and the key shows
//! nowhere (answers, log lines).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::upstream::{Reply, Upstream};
use super::{KEY, Kind, chat, http, world};

async fn call(base: &str, token: &str, stream: bool) -> reqwest::Response {
    http()
        .post(format!("{base}/chat/completions"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(chat("gpt-relay", stream))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn redirects_are_not_followed_and_loopback_needs_the_allow_list() {
    let target = Upstream::start(|_| Reply::Json(200, r#"{"followed":true}"#.into())).await;
    let to = format!("{}/chat/completions", target.url);
    let upstream = Upstream::start(move |_| Reply::Redirect(to.clone())).await;
    let w = world(&[], Kind::openai(), &upstream.url).await;
    let token = w.relay_token().await;
    let res = call(&w.base("summaries"), &token, false).await;
    assert_eq!(res.status(), 502);
    assert_eq!(res.headers()["x-switchboard-error-code"], "bad_response");
    assert_eq!(res.headers()["x-should-retry"], "false");
    assert!(
        res.headers().get("location").is_none(),
        "the redirect is not passed on"
    );
    assert!(res.text().await.unwrap().contains("redirect"));
    assert!(target.requests().is_empty(), "the redirect was followed");

    // Without SWITCHBOARD_EGRESS_ALLOW, a loopback upstream is never connected to.
    let upstream = Upstream::start(|_| Reply::Json(200, "{}".into())).await;
    let w = world(
        &[("SWITCHBOARD_EGRESS_ALLOW", "")],
        Kind::openai(),
        &upstream.url,
    )
    .await;
    let token = w.relay_token().await;
    let before = upstream.connections.load(Ordering::SeqCst);
    let res = call(&w.base("summaries"), &token, false).await;
    assert_eq!(res.status(), 502);
    assert_eq!(res.headers()["x-switchboard-error-code"], "blocked_address");
    assert_eq!(res.headers()["x-should-retry"], "false");
    assert_eq!(upstream.connections.load(Ordering::SeqCst), before);
    // Nor through a name that resolves to it.
    let w2 = world(
        &[("SWITCHBOARD_EGRESS_ALLOW", "")],
        Kind::openai(),
        &upstream.url.replace("127.0.0.1", "localhost"),
    )
    .await;
    let token = w2.relay_token().await;
    let res = call(&w2.base("summaries"), &token, false).await;
    assert_eq!(res.status(), 502);
    assert_eq!(res.headers()["x-switchboard-error-code"], "blocked_address");
    assert_eq!(upstream.connections.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn a_hanging_upstream_is_a_504_after_the_timeout_and_a_client_gone_cancels_the_call() {
    let upstream = Upstream::start(|seen| {
        let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
        match body["stream"] == true {
            true => Reply::Events(
                std::iter::once("data: {\"first\":1}\n\n".to_owned())
                    .chain((0..400).map(|i| format!("data: {{\"n\":{i}}}\n\n")))
                    .collect(),
            ),
            false => Reply::Hang,
        }
    })
    .await;
    let w = world(
        &[("SWITCHBOARD_RELAY_TIMEOUT", "1")],
        Kind::openai(),
        &upstream.url,
    )
    .await;
    let token = w.relay_token().await;
    let started = Instant::now();
    let res = call(&w.base("summaries"), &token, false).await;
    assert_eq!(res.status(), 504);
    assert_eq!(res.headers()["x-switchboard-error-code"], "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The hung upstream connection was closed, not left open.
    tokio::time::timeout(Duration::from_secs(5), async {
        while !upstream.dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the hung upstream call was closed");

    // A client that leaves mid-stream: the upstream sees its connection close (at the
    // latest when the relay next has something to write to the client that left).
    upstream.dropped.store(false, Ordering::SeqCst);
    let w = world(&[], Kind::openai(), &upstream.url).await;
    let token = w.relay_token().await;
    let mut res = call(&w.base("summaries"), &token, true).await;
    assert_eq!(res.status(), 200);
    let first = res.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("first"));
    drop(res);
    tokio::time::sleep(Duration::from_millis(100)).await;
    upstream.go();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !upstream.dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the upstream call was cancelled when the client left");
}

#[tokio::test]
async fn upstream_errors_pass_with_their_status_a_redacted_body_and_the_taxonomy_code() {
    let _logs = crate::canary::log_capture();
    let upstream = Upstream::start(|seen| {
        // A provider that echoes the key it was sent, whole and in part.
        let sent = seen.header("authorization").unwrap_or_default().to_owned();
        let key = sent.trim_start_matches("Bearer ");
        Reply::Json(
            401,
            format!(
                r#"{{"error":{{"message":"Incorrect API key provided: {key} ({}...)","type":"invalid_request_error"}}}}"#,
                &key[..20]
            ),
        )
    })
    .await;
    let w = world(&[], Kind::openai(), &upstream.url).await;
    let token = w.relay_token().await;
    let res = call(&w.base("summaries"), &token, false).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["x-switchboard-error-code"], "auth_rejected");
    let text = res.text().await.unwrap();
    assert!(
        text.contains("Incorrect API key provided: [redacted]"),
        "{text}"
    );
    for spelling in crate::canary::spellings(KEY) {
        assert!(!text.contains(&spelling), "{text}");
    }
    assert!(!text.contains(&KEY[..20]), "{text}");

    // Every call of this test and its log lines: no key, no token body.
    let logs = String::from_utf8_lossy(&crate::canary::log_capture().lock().unwrap()).into_owned();
    assert!(
        logs.contains("/relay/orgs/acme/features/summaries"),
        "the calls were logged"
    );
    for spelling in crate::canary::spellings(KEY) {
        assert!(!logs.contains(&spelling), "the key is in the logs");
    }
    assert!(!logs.contains("line one"), "a body is in the logs");
}

#[tokio::test]
async fn a_token_may_hold_only_its_share_of_calls_open() {
    let upstream =
        Upstream::start(|_| Reply::Events(vec!["data: 1\n\n".into(), "data: [DONE]\n\n".into()]))
            .await;
    let w = world(
        &[("SWITCHBOARD_RELAY_TOKEN_CONCURRENCY", "2")],
        Kind::openai(),
        &upstream.url,
    )
    .await;
    let token = w.relay_token().await;
    let other = w.relay_token().await;
    let mut a = call(&w.base("summaries"), &token, true).await;
    let mut b = call(&w.base("summaries"), &token, true).await;
    a.chunk().await.unwrap();
    b.chunk().await.unwrap();
    let res = call(&w.base("summaries"), &token, true).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    // Another token has its own share; a finished call gives its place back.
    let c = call(&w.base("summaries"), &other, true).await;
    assert_eq!(c.status(), 200);
    upstream.go();
    while a.chunk().await.unwrap().is_some() {}
    drop(a);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let d = call(&w.base("summaries"), &token, true).await;
    assert_eq!(d.status(), 200);
}
