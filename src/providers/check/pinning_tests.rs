//! Rule 9 through a test resolver: every resolved address is judged before any connection,
//! and the connection goes only to the addresses that were judged (no second lookup).
//! Only loopback is ever connected to; 169.254.169.254 appears in an answer but is refused
//! before any connection is made, and it comes after a loopback address, so even a broken
//! guard would connect to the loopback trap first (and the test would see it).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::json;
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::transport::Lookup;
use super::{CheckRequest, CheckSettings, Checker, FailureCode};
use crate::providers::ProviderKind;
use crate::providers::egress::EgressPolicy;

/// Answers `first` to the first lookup and `later` to every other one, counting calls.
#[derive(Debug)]
struct ScriptedLookup {
    first: Vec<SocketAddr>,
    later: Vec<SocketAddr>,
    calls: AtomicUsize,
}

impl ScriptedLookup {
    fn new(first: Vec<SocketAddr>, later: Vec<SocketAddr>) -> Arc<Self> {
        Arc::new(Self {
            first,
            later,
            calls: AtomicUsize::new(0),
        })
    }
}

impl Lookup for ScriptedLookup {
    fn lookup<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
        let answer = match self.calls.fetch_add(1, Ordering::SeqCst) {
            0 => self.first.clone(),
            _ => self.later.clone(),
        };
        Box::pin(std::future::ready(Ok(answer)))
    }
}

fn loopback(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), port)
}

fn checker(allow: &str, lookup: Arc<ScriptedLookup>) -> Checker {
    let settings = CheckSettings {
        egress: EgressPolicy::parse(allow).expect("allow-list"),
        timeout: Duration::from_secs(5),
    };
    Checker::with_lookup(settings, lookup)
}

/// An OpenAI check of `gpt-4o` at `http://localhost:{port}/v1`: the name goes through the
/// test resolver (and, were the pinning gone, the system would resolve it to loopback).
fn request(port: u16) -> CheckRequest {
    CheckRequest {
        base_url: Some(format!("http://localhost:{port}/v1")),
        api_key: Some("sk-pinning-test-key".to_owned().into()),
        ..CheckRequest::new(ProviderKind::Openai, "gpt-4o")
    }
}

/// True when a connection to `listener` is waiting (the kernel completes the handshake
/// whether or not it is accepted, so a finished check leaves it queued).
async fn was_connected(listener: &TcpListener) -> bool {
    tokio::time::timeout(Duration::from_millis(200), listener.accept())
        .await
        .is_ok()
}

#[tokio::test]
async fn every_resolved_address_is_judged_before_any_connection() {
    let trap = TcpListener::bind(loopback(1, 0)).await.expect("bind trap");
    let port = trap.local_addr().expect("trap address").port();
    let metadata = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)), port);
    let lookup = ScriptedLookup::new(vec![loopback(1, port), metadata], Vec::new());

    let outcome = checker("127.0.0.0/8", lookup).check(&request(port)).await;

    assert!(!outcome.ok, "{outcome}");
    assert_eq!(outcome.code, Some(FailureCode::BlockedAddress), "{outcome}");
    assert!(outcome.message.contains("169.254.169.254"), "{outcome}");
    assert!(
        !was_connected(&trap).await,
        "connected although one address was refused"
    );
}

#[tokio::test]
async fn the_connection_goes_only_to_the_checked_address() {
    // The provider on 127.0.0.2; traps on the same port at 127.0.0.3 (what a second lookup
    // would answer) and 127.0.0.1 (what the system says localhost is).
    let std_listener = std::net::TcpListener::bind(loopback(2, 0)).expect("bind provider");
    let port = std_listener.local_addr().expect("provider address").port();
    let server = MockServer::builder().listener(std_listener).start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "gpt-4o"}]})))
        .mount(&server)
        .await;
    let rebound = TcpListener::bind(loopback(3, port))
        .await
        .expect("bind trap");
    let system = TcpListener::bind(loopback(1, port))
        .await
        .expect("bind trap");
    let lookup = ScriptedLookup::new(vec![loopback(2, port)], vec![loopback(3, port)]);

    let outcome = checker("127.0.0.2/32", Arc::clone(&lookup))
        .check(&request(port))
        .await;

    assert!(outcome.ok, "{outcome}");
    assert_eq!(lookup.calls.load(Ordering::SeqCst), 1, "a second lookup");
    let received = server.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 1);
    assert!(
        !was_connected(&rebound).await,
        "connected to a re-resolved address"
    );
    assert!(
        !was_connected(&system).await,
        "connected to the system's answer"
    );
}
