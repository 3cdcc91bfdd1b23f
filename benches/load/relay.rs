//! The relay (issue 21 item 1), measured side by side in one run:
//!
//! - **overhead**: the same local upstream (an OpenAI-compatible chat endpoint on
//!   127.0.0.1, run on a thread of its own) called directly and through
//!   `/relay/orgs/bench-00/features/summaries/chat/completions`, at a fixed offered rate with
//!   8 keep-alive connections, alternating a plain call (latency to the last byte) and a
//!   streamed one (time to the first streamed byte). Prints p50/p99 of each, the
//!   differences and the ratios.
//! - **held streams**: 1 000 concurrent slow streams held open through the relay (an event
//!   every second for `HOLD`); the server's RSS while they are open, and whether every
//!   stream got every event (none starved). The bench raises its file-descriptor limit (the
//!   server inherits it).
//!
//! Run alone: `SWITCHBOARD_BENCH_RELAY=1 cargo bench --bench load` or
//! `cargo bench --bench load -- relay`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use secrecy::SecretString;
use switchboard::{
    crypto::{keyring::Keyring, secret as sealing},
    models::{
        api_token::NewApiToken,
        org::Org,
        provider::{self, CheckStatus, NewProvider},
        secret::{self, NewSecret},
        user::User,
    },
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{
    seed::{self, EMAIL},
    server::Server,
};

/// Connections of the overhead phase, and the requests per second they offer together.
const CONNECTIONS: usize = 8;
const OFFERED_PER_SECOND: f64 = 400.0;
/// Streams held open at once, for how long, and how many tokens share them.
const STREAMS: usize = 1000;
const HOLD: Duration = Duration::from_secs(15);
const TOKENS: usize = 8;
const MODEL: &str = "bench-model";

/// Runs both phases; `Ok(false)` when a target is missed or the server did not stop cleanly.
pub async fn run(measure: Duration) -> anyhow::Result<bool> {
    raise_fd_limit();
    let upstream = start_upstream()?;
    let (master_keys, keyring) = seed::master_keys()?;
    let server = Server::start(master_keys).await?;
    let result = measure_all(&server, &keyring, &upstream, measure).await;
    let shutdown = server.stop()?;
    let ok = result?;
    println!(
        "server stopped in {:.1} s (exit {}, cluster stopped: {})",
        shutdown.took.as_secs_f64(),
        shutdown.status,
        shutdown.cluster_stopped
    );
    Ok(ok && shutdown.status.success() && shutdown.cluster_stopped)
}

fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    println!("file descriptors: {}", limit.rlim_cur);
}

async fn measure_all(
    server: &Server,
    keyring: &Keyring,
    upstream: &str,
    measure: Duration,
) -> anyhow::Result<bool> {
    seed::through_cli(server, 1)?;
    let tokens = seed_relay(&server.database_url(), keyring, upstream).await?;
    let direct = format!("{upstream}/chat/completions");
    let relayed = format!(
        "{}/relay/orgs/{}/features/summaries/chat/completions",
        server.base,
        seed::org_slug(0)
    );

    // Overhead: warm both paths, then measure direct and relayed back to back.
    drive(&direct, &tokens[0], super::WARM_UP).await;
    drive(&relayed, &tokens[0], super::WARM_UP).await;
    let d = drive(&direct, &tokens[0], measure).await;
    let r = drive(&relayed, &tokens[0], measure).await;
    println!();
    println!(
        "Relay overhead at {OFFERED_PER_SECOND} req/s offered over {CONNECTIONS} connections ({:.0} s each):",
        measure.as_secs_f64()
    );
    println!(
        "  {:<28} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "", "p50 ms", "p99 ms", "TTFB p50", "TTFB p99", "errors"
    );
    for (name, m) in [("direct to the upstream", &d), ("through the relay", &r)] {
        println!(
            "  {:<28} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7}",
            name,
            ms(pct(&m.plain, 50)),
            ms(pct(&m.plain, 99)),
            ms(pct(&m.first_byte, 50)),
            ms(pct(&m.first_byte, 99)),
            m.errors
        );
    }
    let diff = |a: Duration, b: Duration| ms(b) - ms(a);
    let ratio = |a: Duration, b: Duration| ms(b) / ms(a).max(1e-9);
    let p50 = diff(pct(&d.plain, 50), pct(&r.plain, 50));
    let p99 = diff(pct(&d.plain, 99), pct(&r.plain, 99));
    let ttfb = diff(pct(&d.first_byte, 50), pct(&r.first_byte, 50));
    println!(
        "  relay adds: p50 {p50:+.3} ms ({:.2}x), p99 {p99:+.3} ms ({:.2}x), first byte p50 {ttfb:+.3} ms ({:.2}x)",
        ratio(pct(&d.plain, 50), pct(&r.plain, 50)),
        ratio(pct(&d.plain, 99), pct(&r.plain, 99)),
        ratio(pct(&d.first_byte, 50), pct(&r.first_byte, 50)),
    );
    let mut ok = r.errors == 0 && d.errors == 0;
    for (what, got, target) in [
        ("p50 overhead", p50, 1.0),
        ("p99 overhead", p99, 3.0),
        ("first-byte overhead", ttfb, 2.0),
    ] {
        let pass = got <= target;
        ok &= pass;
        println!(
            "  target {what} <= +{target} ms: {}",
            if pass { "PASS" } else { "FAIL" }
        );
    }

    // Held streams.
    let idle_rss = server.rss_bytes()?;
    let held = hold_streams(server, &tokens).await?;
    println!();
    println!(
        "{STREAMS} slow streams held {:.0} s through the relay ({TOKENS} tokens):",
        HOLD.as_secs_f64()
    );
    println!(
        "  server RSS idle {:.1} MB, with every stream open {:.1} MB (peak seen {:.1} MB)",
        mb(idle_rss),
        mb(held.rss_open),
        mb(held.rss_peak)
    );
    println!(
        "  opened {} / {STREAMS}, complete {} / {STREAMS}, first byte p50 {:.1} ms p99 {:.1} ms, longest gap between events {:.0} ms",
        held.opened,
        held.complete,
        ms(pct(&held.first_byte, 50)),
        ms(pct(&held.first_byte, 99)),
        ms(held.longest_gap)
    );
    let rss_ok = held.rss_peak <= 100 * 1024 * 1024;
    let starved_ok = held.complete == STREAMS;
    println!(
        "  target RSS <= 100 MB: {}; none starved: {}",
        if rss_ok { "PASS" } else { "FAIL" },
        if starved_ok { "PASS" } else { "FAIL" }
    );
    Ok(ok && rss_ok && starved_ok)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn pct(samples: &[Duration], p: usize) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) * p) / 100]
}

/// Bench org `bench-00`'s provider at the upstream (active), and `TOKENS` relay tokens.
async fn seed_relay(url: &str, keyring: &Keyring, upstream: &str) -> anyhow::Result<Vec<String>> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to the server's database")?;
    let org = Org::find_by_slug(&mut conn, &seed::org_slug(0))
        .await?
        .context("no bench org")?;
    let user = User::find_by_email(&mut conn, EMAIL)
        .await?
        .context("no bench admin")?;
    let now = Utc::now();
    let secret_id = secret::new_id();
    let key = SecretString::from(format!("sk-bench-relay-{}", ulid::Ulid::new()));
    let sealed = sealing::seal(keyring, org.id, &secret_id, &key, None)?;
    NewSecret {
        id: &secret_id,
        org_id: org.id,
        key_id: &sealed.key_id,
        version: sealed.version,
        envelope: &sealed.envelope,
        preview: sealed.preview.as_str(),
        last4: &sealed.last4,
        created_at: now,
        created_by: None,
    }
    .insert(&mut conn)
    .await?;
    let id = provider::new_id();
    let config = serde_json::json!({});
    NewProvider {
        id: &id,
        org_id: org.id,
        name: "Local model",
        kind: "custom",
        default_model: MODEL,
        base_url: Some(upstream),
        config: &config,
        secret_id: Some(&secret_id),
        check_status: CheckStatus::Ok,
        check_code: None,
        check_message: None,
        checked_at: Some(now),
        created_at: now,
        created_by: None,
    }
    .insert(&mut conn)
    .await?;
    provider::set_active(&mut conn, org.id, Some(&id), None, now).await?;
    let scopes = vec!["ai:relay".to_owned()];
    let mut tokens = Vec::new();
    for _ in 0..TOKENS {
        let token = format!("swb_{}", switchboard::crypto::random_token(32));
        let prefix: String = token.chars().take(8).collect();
        NewApiToken {
            org_id: org.id,
            user_id: user.id,
            name: "relay bench",
            scopes: &scopes,
            token_hash: &switchboard::crypto::sha256(token.as_bytes()),
            prefix: &prefix,
            created_at: now,
            expires_at: None,
            kind: "personal",
        }
        .insert(&mut conn)
        .await?;
        tokens.push(token);
    }
    Ok(tokens)
}

#[derive(Default)]
struct Overhead {
    plain: Vec<Duration>,
    first_byte: Vec<Duration>,
    errors: u64,
}

fn body(stream: bool, slow: bool) -> String {
    serde_json::json!({
        "model": MODEL,
        "stream": stream,
        "slow": slow,
        "messages": [{"role": "user", "content": "Summarise this deploy log."}],
    })
    .to_string()
}

/// `CONNECTIONS` loops at the offered rate, each on its own keep-alive connection,
/// alternating plain and streamed calls.
async fn drive(url: &str, token: &str, window: Duration) -> Overhead {
    let interval = Duration::from_secs_f64(CONNECTIONS as f64 / OFFERED_PER_SECOND);
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let url = url.to_owned();
            let token = token.to_owned();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .no_proxy()
                    .build()
                    .expect("client");
                let mut out = Overhead::default();
                let start = Instant::now();
                // Spread the connections' ticks over one interval.
                let mut next = start + interval * i as u32 / CONNECTIONS as u32;
                let mut n = 0u64;
                while next < start + window {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                    n += 1;
                    let stream = n.is_multiple_of(2);
                    let sent = Instant::now();
                    let res = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body(stream, false))
                        .send()
                        .await;
                    let mut res = match res {
                        Ok(r) if r.status().is_success() => r,
                        _ => {
                            out.errors += 1;
                            continue;
                        }
                    };
                    match stream {
                        true => {
                            let first = res.chunk().await;
                            out.first_byte.push(sent.elapsed());
                            if !matches!(first, Ok(Some(_))) {
                                out.errors += 1;
                            }
                            while let Ok(Some(_)) = res.chunk().await {}
                        }
                        false => {
                            let ok = res.bytes().await.is_ok();
                            out.plain.push(sent.elapsed());
                            if !ok {
                                out.errors += 1;
                            }
                        }
                    }
                }
                out
            })
        })
        .collect();
    let mut all = Overhead::default();
    for t in tasks {
        if let Ok(o) = t.await {
            all.plain.extend(o.plain);
            all.first_byte.extend(o.first_byte);
            all.errors += o.errors;
        }
    }
    all
}

struct Held {
    opened: usize,
    complete: usize,
    first_byte: Vec<Duration>,
    longest_gap: Duration,
    rss_open: u64,
    rss_peak: u64,
}

/// Opens `STREAMS` slow streams at once and reads every event of each.
async fn hold_streams(server: &Server, tokens: &[String]) -> anyhow::Result<Held> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(STREAMS)
        .build()?;
    let url = format!(
        "{}/relay/orgs/{}/features/summaries/chat/completions",
        server.base,
        seed::org_slug(0)
    );
    let events = HOLD.as_secs() as usize + 1;
    let tasks: Vec<_> = (0..STREAMS)
        .map(|i| {
            let (client, url) = (client.clone(), url.clone());
            let token = tokens[i % tokens.len()].clone();
            tokio::spawn(async move {
                let sent = Instant::now();
                let mut res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body(true, true))
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())?;
                let mut first = None;
                let mut text = Vec::new();
                let mut last = Instant::now();
                let mut gap = Duration::ZERO;
                while let Ok(Some(chunk)) = res.chunk().await {
                    first.get_or_insert(sent.elapsed());
                    gap = gap.max(last.elapsed());
                    last = Instant::now();
                    text.extend_from_slice(&chunk);
                }
                let got = text.windows(5).filter(|w| w == b"data:").count();
                Some((first?, got, gap))
            })
        })
        .collect();
    // Sample the server's RSS while the streams are open.
    let mut rss_peak = 0;
    let mut rss_open = 0;
    let sampling = Instant::now();
    while sampling.elapsed() < HOLD {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss = server.rss_bytes()?;
        rss_peak = rss_peak.max(rss);
        if sampling.elapsed() >= HOLD / 2 && rss_open == 0 {
            rss_open = rss;
        }
    }
    let mut held = Held {
        opened: 0,
        complete: 0,
        first_byte: Vec::new(),
        longest_gap: Duration::ZERO,
        rss_open,
        rss_peak,
    };
    for t in tasks {
        if let Ok(Some((first, got, gap))) = t.await {
            held.opened += 1;
            held.first_byte.push(first);
            held.longest_gap = held.longest_gap.max(gap);
            // Every event plus the closing `[DONE]`.
            if got > events {
                held.complete += 1;
            }
        }
    }
    Ok(held)
}

/// The upstream, on a thread of its own: `POST /chat/completions` answers JSON, a stream of
/// three events, or (`"slow": true`) an event a second for `HOLD`.
fn start_upstream() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::Builder::new()
        .name("relay-upstream".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("upstream runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let listener = Arc::new(listener);
                while let Ok((socket, _)) = listener.accept().await {
                    let _ = socket.set_nodelay(true);
                    tokio::spawn(serve(socket));
                }
            });
        })?;
    Ok(url)
}

async fn serve(mut socket: tokio::net::TcpStream) {
    const JSON: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"The deploy went fine."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#;
    let event = |n: usize| {
        let e = format!(
            "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"word {n} \"}}}}]}}\n\n"
        );
        format!("{:x}\r\n{e}\r\n", e.len())
    };
    let mut buf = Vec::with_capacity(4096);
    loop {
        // One request: headers, then a Content-Length body.
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        buf.drain(..end + 4);
        while buf.len() < length {
            let mut chunk = [0u8; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[..length]).into_owned();
        buf.drain(..length);
        let stream = body.contains("\"stream\":true");
        let slow = body.contains("\"slow\":true");
        let written = if !stream {
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{JSON}",
                JSON.len()
            );
            socket.write_all(answer.as_bytes()).await
        } else {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
            let mut result = socket.write_all(head.as_bytes()).await;
            let (count, pause) = match slow {
                true => (HOLD.as_secs() as usize + 1, Duration::from_secs(1)),
                false => (3, Duration::ZERO),
            };
            for n in 0..count {
                if result.is_err() {
                    break;
                }
                if n > 0 && !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
                result = socket.write_all(event(n).as_bytes()).await;
            }
            if result.is_ok() {
                let done = "data: [DONE]\n\n";
                let tail = format!("{:x}\r\n{done}\r\n0\r\n\r\n", done.len());
                result = socket.write_all(tail.as_bytes()).await;
            }
            result
        };
        if written.is_err() {
            return;
        }
    }
}
