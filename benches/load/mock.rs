//! The local provider the Test action checks against: an OpenAI-compatible `GET /v1/models`
//! on 127.0.0.1, on a thread and runtime of its own so it never waits for the load
//! generator, and a direct client loop that measures its own latency.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

use crate::client::{Outcome, Samples};

/// The model the mock lists; the measured providers' default model.
pub const MODEL: &str = "bench-model";
/// Every measured provider's key starts with this; the mock counts requests that carry one.
pub const KEY_PREFIX: &str = "sk-bench-";

const BODY: &str = r#"{"object":"list","data":[{"id":"bench-model","object":"model"}]}"#;
/// The most a request head may take; a longer one closes the connection.
const MAX_HEAD: usize = 16 * 1024;

/// A running mock; it stops when the bench process exits.
pub struct Mock {
    /// `http://127.0.0.1:{port}/v1`, the measured providers' base URL.
    pub base_url: String,
    /// `GET /v1/models` answered with the list, carrying a bench key as a Bearer token.
    keyed: Arc<AtomicU64>,
}

impl Mock {
    /// Binds a free 127.0.0.1 port and serves it from a thread of its own.
    pub fn start() -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding the mock")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let keyed = Arc::new(AtomicU64::new(0));
        let counter = keyed.clone();
        std::thread::Builder::new()
            .name("provider-mock".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("mock runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("mock listener");
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(serve(stream, counter.clone()));
                    }
                });
            })?;
        Ok(Self {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            keyed,
        })
    }

    /// Keyed `GET /v1/models` requests answered so far.
    pub fn keyed_requests(&self) -> u64 {
        self.keyed.load(Ordering::Relaxed)
    }
}

/// HTTP/1.1 keep-alive on one connection: reads each request head, answers it, and closes
/// on EOF, an oversized head or `Connection: close`.
async fn serve(mut stream: TcpStream, keyed: Arc<AtomicU64>) {
    let mut buf = Vec::with_capacity(1024);
    loop {
        let head_end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            if buf.len() > MAX_HEAD {
                return;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut close = false;
        let mut bearer_key = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
                close = true;
            }
            if name.eq_ignore_ascii_case("authorization")
                && value
                    .strip_prefix("Bearer ")
                    .is_some_and(|k| k.starts_with(KEY_PREFIX))
            {
                bearer_key = true;
            }
        }
        // Checks and the direct loop send GETs without a body, so nothing else to read.
        let response = if request_line.starts_with("GET /v1/models ") {
            if bearer_key {
                keyed.fetch_add(1, Ordering::Relaxed);
            }
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{BODY}",
                BODY.len()
            )
        } else {
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_owned()
        };
        if stream.write_all(response.as_bytes()).await.is_err() || close {
            return;
        }
    }
}

/// `GET {base}/models` back to back for `length` (at most `max` requests), one at a time,
/// each on a new connection as a check opens one. Returns the samples and the time taken.
pub async fn direct_loop(
    mock: &Mock,
    length: Duration,
    max: usize,
) -> anyhow::Result<(Samples, Duration)> {
    // No idle connections kept: every request connects anew, as Switchboard's checker does.
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()?;
    let url = format!("{}/models", mock.base_url);
    let key = format!("Bearer {KEY_PREFIX}direct");
    let started = Instant::now();
    let until = started + length;
    let mut samples = Samples::default();
    while Instant::now() < until && samples.latencies.len() < max {
        let sent = Instant::now();
        let outcome = match http
            .get(&url)
            .header("authorization", &key)
            .header("accept", "application/json")
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => match r.bytes().await {
                Ok(b) if b.len() == BODY.len() => Outcome::Ok,
                Ok(b) => Outcome::Error(format!("mock answered {} bytes", b.len())),
                Err(e) => Outcome::Error(e.to_string()),
            },
            Ok(r) => Outcome::Error(format!("mock answered HTTP {}", r.status())),
            Err(e) => Outcome::Error(e.to_string()),
        };
        samples.record(sent.elapsed(), outcome);
    }
    Ok((samples, started.elapsed()))
}
