//! The relay's own refusals, each with the API's JSON error shape and
//! `x-should-retry: false`, and each leaving the upstream untouched.

use switchboard::ops::Scope;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::upstream::{Reply, Upstream};
use super::{Kind, activate, chat, http, refused, world};
use crate::helpers::PASSWORD;

/// Sends `raw` to the app and returns the status line's code and the whole answer.
async fn raw(address: &str, raw: &str) -> (u16, String) {
    let addr = address.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(raw.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.windows(4).any(|w| w == b"\r\n\r\n") && out.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[tokio::test]
async fn who_may_call_tokens_with_ai_relay_of_the_org_only() {
    let upstream = Upstream::start(|_| Reply::Json(200, "{}".into())).await;
    let w = world(&[], Kind::openai(), &upstream.url).await;
    upstream.seen.lock().unwrap().clear();
    let url = format!("{}/chat/completions", w.base("summaries"));
    let send = |auth: Option<(&'static str, String)>| {
        let mut req = http()
            .post(&url)
            .header("content-type", "application/json")
            .body(chat("gpt-relay", false));
        if let Some((name, value)) = auth {
            req = req.header(name, value);
        }
        req.send()
    };

    // No token, a malformed one, an unknown one: 401.
    refused(send(None).await.unwrap(), 401).await;
    refused(
        send(Some(("authorization", "Basic eDp5".into())))
            .await
            .unwrap(),
        401,
    )
    .await;
    refused(
        send(Some(("authorization", "Bearer swb_unknown".into())))
            .await
            .unwrap(),
        401,
    )
    .await;
    // A logged-in console session is never a relay caller.
    let browser = crate::helpers::client();
    assert_eq!(
        w.app
            .login(&browser, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let res = browser
        .post(&url)
        .header("content-type", "application/json")
        .body(chat("gpt-relay", false))
        .send()
        .await
        .unwrap();
    refused(res, 401).await;
    // A token without ai:relay (even with every other scope): 403.
    let others: Vec<Scope> = crate::api::all_scopes()
        .into_iter()
        .filter(|s| *s != Scope::AiRelay)
        .collect();
    let no_relay = w.token(&others).await;
    let body = refused(
        send(Some(("authorization", format!("Bearer {no_relay}"))))
            .await
            .unwrap(),
        403,
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ai:relay"),
        "{body}"
    );
    // A token of another org: 404, as if acme did not exist.
    let mut conn = w.app.db().await;
    let other = switchboard::models::org::Org::find_by_slug(&mut conn, "other")
        .await
        .unwrap()
        .unwrap();
    let theirs = crate::api::token(&w.app, &other, &w.bob, &[Scope::AiRelay], None).await;
    refused(send(Some(("x-api-key", theirs))).await.unwrap(), 404).await;
    assert!(
        upstream.requests().is_empty(),
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn what_is_refused_unknown_features_paths_models_and_routes_that_fail_closed() {
    let upstream = Upstream::start(|_| Reply::Json(200, "{}".into())).await;
    let w = world(&[], Kind::openai(), &upstream.url).await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();
    let post = |url: String, body: String| {
        http()
            .post(url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // An unknown feature: 400 naming the valid ones.
    let body = refused(
        post(
            format!("{}/chat/completions", w.base("poetry")),
            chat("gpt-relay", false),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("summaries"),
        "{body}"
    );
    // A method the relay doesn't take: 405 naming GET and POST, not worth a retry.
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let res = http()
            .request(
                method.clone(),
                format!("{}/chat/completions", w.base("summaries")),
            )
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], "GET, POST", "{method}");
        let body = refused(res, 405).await;
        assert_eq!(body["error"]["code"], "method_not_allowed", "{method}");
    }
    // Paths outside the protocol's allow-list: 404.
    for path in [
        "files",
        "fine_tuning/jobs",
        "v1/messages",
        "chat/completions/../../admin",
        "",
    ] {
        let res = post(format!("{}/{path}", w.base("summaries")), "{}".into())
            .await
            .unwrap();
        refused(res, 404).await;
    }
    // A body that isn't JSON: 400. No model: 409.
    refused(
        post(
            format!("{}/chat/completions", w.base("summaries")),
            "not json".into(),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    let body = refused(
        post(
            format!("{}/embeddings", w.base("summaries")),
            r#"{"input":"x"}"#.into(),
        )
        .await
        .unwrap(),
        409,
    )
    .await;
    assert_eq!(body["error"]["reasonCode"], "model_not_routed");

    // Served by the platform (no active provider): 409 served_by_platform, give up.
    activate(&w.app, &w.org, None).await;
    let body = refused(
        post(
            format!("{}/chat/completions", w.base("summaries")),
            chat("gpt-relay", false),
        )
        .await
        .unwrap(),
        409,
    )
    .await;
    assert_eq!(body["error"]["reasonCode"], "served_by_platform");
    assert_eq!(body["error"]["askAgain"], false);
    // Insights are off by default: the feature is unavailable, whoever is active.
    activate(&w.app, &w.org, Some(&w.provider_id)).await;
    let body = refused(
        post(
            format!("{}/chat/completions", w.base("insights")),
            chat("gpt-relay", false),
        )
        .await
        .unwrap(),
        409,
    )
    .await;
    assert_eq!(body["error"]["reasonCode"], "insights_off");
    assert!(
        upstream.requests().is_empty(),
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn framing_no_length_411_over_the_cap_413_conflicting_or_broken_400_upstream_untouched() {
    let upstream = Upstream::start(|_| Reply::Json(200, "{}".into())).await;
    let w = world(
        &[("SWITCHBOARD_RELAY_MAX_BODY", "1")],
        Kind::openai(),
        &upstream.url,
    )
    .await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();
    let path = "/relay/orgs/acme/features/summaries/chat/completions";
    let head = |extra: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\n{extra}\r\n"
        )
    };
    let body = chat("gpt-relay", false);
    // Chunked without a Content-Length: 411.
    let chunked = format!(
        "{}{:x}\r\n{body}\r\n0\r\n\r\n",
        head("transfer-encoding: chunked\r\n"),
        body.len()
    );
    let (code, text) = raw(&w.app.address, &chunked).await;
    assert_eq!(code, 411, "{text}");
    assert!(text.contains("x-should-retry: false"), "{text}");
    // Both Content-Length and Transfer-Encoding: 400.
    let both = format!(
        "{}{:x}\r\n{body}\r\n0\r\n\r\n",
        head(&format!(
            "content-length: {}\r\ntransfer-encoding: chunked\r\n",
            body.len()
        )),
        body.len()
    );
    let (code, text) = raw(&w.app.address, &both).await;
    assert_eq!(code, 400, "{text}");
    // CR/LF in the path (encoded: a raw one ends the request line): 400.
    let crlf = format!(
        "POST /relay/orgs/acme/features/summaries/chat%0d%0aX-Injected:%201/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let (code, text) = raw(&w.app.address, &crlf).await;
    assert_eq!(code, 400, "{text}");
    // Over the cap (1 MiB here): 413 before anything is read or sent.
    let res = http()
        .post(w.app.url(path))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    refused(res, 413).await;
    // Just under it passes (a prompt with a few MiB of images passes the default 20 MiB).
    let mut big = chat("gpt-relay", false).into_bytes();
    big.extend(std::iter::repeat_n(b' ', 1024 * 1024 - big.len()));
    let res = http()
        .post(w.app.url(path))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        upstream.requests().len(),
        1,
        "only the well-framed call went out"
    );
}
