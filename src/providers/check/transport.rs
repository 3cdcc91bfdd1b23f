//! The one way a check talks to the network: resolve the host ourselves (through a
//! [`Lookup`]), let the egress policy judge every address, then connect only to those
//! addresses (a resolver that knows nothing else, so there is no second lookup), with no
//! proxy, no redirects, a connect and total timeout, and at most 1 MiB of response body read.

use std::error::Error as StdError;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Once};
use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, redirect};
use url::{Host, Url};

use super::outcome::{Failure, FailureCode};
use crate::providers::egress::EgressPolicy;

/// The most response body a check reads.
pub const BODY_CAP: usize = 1024 * 1024;

/// One HTTP request a protocol wants sent.
pub(crate) struct Probe {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
}

/// What came back, body capped.
pub(crate) struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The body was longer than [`BODY_CAP`] and reading stopped there.
    pub truncated: bool,
}

/// Installs rustls' ring provider as the process default once (reqwest is built with
/// `rustls-no-provider`). Harmless if the application installed one already.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Name resolution before the egress check. The system's in production; tests substitute
/// their own answers to show that only the checked addresses are ever connected to.
pub(crate) trait Lookup: Send + Sync + fmt::Debug {
    /// The addresses `host` stands for, on `port`.
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>>;
}

/// TLS for every check: rustls on ring with the platform's root certificates, built once
/// per process. Each check still gets a client of its own (its resolver is pinned to the
/// addresses it checked), but loading and parsing the system's roots — most of what
/// building a client cost, about 5 ms per check (docs/PERFORMANCE.md) — happens once.
fn tls_config() -> Result<rustls::ClientConfig, Failure> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    static CONFIG: std::sync::OnceLock<Result<rustls::ClientConfig, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            install_crypto_provider();
            let mut config = rustls::ClientConfig::builder()
                .with_platform_verifier()
                .map_err(|e| e.to_string())?
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(config)
        })
        .clone()
        .map_err(|e| {
            Failure::new(
                FailureCode::Tls,
                format!("could not load the system's root certificates: {e}"),
            )
        })
}

/// The system resolver (`tokio::net::lookup_host`).
#[derive(Debug)]
pub(crate) struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Sends `probe` under `policy`, resolving names with `lookup`. Every failure is already
/// mapped to a code.
pub(crate) async fn send(
    policy: &EgressPolicy,
    lookup: &dyn Lookup,
    timeout: Duration,
    probe: Probe,
) -> Result<RawResponse, Failure> {
    let addrs = checked_addrs(policy, lookup, &probe.url).await?;
    let host = probe.url.host_str().unwrap_or_default().to_owned();
    tracing::debug!(%host, addrs = ?addrs, "provider check: connecting to checked addresses");
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls_config()?)
        .no_proxy()
        .redirect(redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .user_agent(concat!(
            "switchboard/",
            env!("CARGO_PKG_VERSION"),
            " provider-check"
        ))
        .dns_resolver(Arc::new(PinnedResolver { host, addrs }))
        .build()
        .map_err(|e| {
            Failure::new(
                FailureCode::Unreachable,
                format!("could not set up the HTTP client: {}", e.without_url()),
            )
        })?;
    let mut request = client
        .request(probe.method, probe.url)
        .headers(probe.headers);
    if let Some(body) = probe.body {
        request = request.body(body);
    }
    let mut response = request.send().await.map_err(|e| map_error(e, timeout))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| map_body_error(e, timeout))?
    {
        let room = BODY_CAP - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawResponse {
        status,
        headers,
        body,
        truncated,
    })
}

/// The addresses the URL's host stands for, every one admitted by `policy`.
async fn checked_addrs(
    policy: &EgressPolicy,
    lookup: &dyn Lookup,
    url: &Url,
) -> Result<Vec<SocketAddr>, Failure> {
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Failure::new(FailureCode::BadResponse, "the base URL has no port"))?;
    let blocked = |refusal| Failure::new(FailureCode::BlockedAddress, format!("{refusal}"));
    if policy.denies_all() {
        // Before any name is resolved: `none` sends nothing anywhere, DNS included.
        return Err(Failure::new(
            FailureCode::BlockedAddress,
            "this server's egress policy allows no outgoing checks; save without verifying, or ask your platform operator".to_owned(),
        ));
    }
    match url.host() {
        Some(Host::Ipv4(ip)) => {
            let addrs = vec![SocketAddr::new(ip.into(), port)];
            policy.check_addrs(&addrs).map_err(blocked)?;
            Ok(addrs)
        }
        Some(Host::Ipv6(ip)) => {
            let addrs = vec![SocketAddr::new(ip.into(), port)];
            policy.check_addrs(&addrs).map_err(blocked)?;
            Ok(addrs)
        }
        Some(Host::Domain(name)) => {
            let unresolved = |why: String| {
                Failure::new(
                    FailureCode::Unreachable,
                    format!("could not resolve {name}: {why}"),
                )
            };
            let mut addrs = lookup
                .lookup(name, port)
                .await
                .map_err(|e| unresolved(e.to_string()))?;
            addrs.dedup();
            if addrs.is_empty() {
                return Err(unresolved("no addresses".to_owned()));
            }
            policy.check_addrs(&addrs).map_err(|refusal| {
                Failure::new(
                    FailureCode::BlockedAddress,
                    format!("{name} resolves to {}; {refusal}", refusal.addr.ip()),
                )
            })?;
            Ok(addrs)
        }
        None => Err(Failure::new(
            FailureCode::BadResponse,
            "the base URL has no host",
        )),
    }
}

/// A resolver that answers only the checked host, with the checked addresses.
struct PinnedResolver {
    host: String,
    addrs: Vec<SocketAddr>,
}

impl Resolve for PinnedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let answer: Result<Addrs, Box<dyn StdError + Send + Sync>> = match name
            .as_str()
            .eq_ignore_ascii_case(&self.host)
        {
            true => Ok(Box::new(self.addrs.clone().into_iter())),
            false => Err(format!("{} was not checked by the egress guard", name.as_str()).into()),
        };
        Box::pin(std::future::ready(answer))
    }
}

fn map_error(error: reqwest::Error, timeout: Duration) -> Failure {
    let error = error.without_url();
    if error.is_timeout() {
        return timed_out(timeout);
    }
    if let Some(tls) = tls_cause(&error) {
        return Failure::new(FailureCode::Tls, format!("TLS handshake failed: {tls}"));
    }
    let cause = root_cause(&error);
    match error.is_connect() {
        true => Failure::new(
            FailureCode::Unreachable,
            format!("could not connect: {cause}"),
        ),
        false => Failure::new(
            FailureCode::Unreachable,
            format!("the connection failed: {cause}"),
        ),
    }
}

fn map_body_error(error: reqwest::Error, timeout: Duration) -> Failure {
    let error = error.without_url();
    match error.is_timeout() {
        true => timed_out(timeout),
        false => Failure::new(
            FailureCode::BadResponse,
            format!(
                "the connection broke while reading the answer: {}",
                root_cause(&error)
            ),
        ),
    }
}

pub(crate) fn timed_out(timeout: Duration) -> Failure {
    Failure::new(
        FailureCode::Timeout,
        format!(
            "no complete answer within {} s, this server's time limit for checks",
            timeout.as_secs_f32()
        ),
    )
}

/// The next error down the chain. `io::Error::source` skips the error it wraps (it
/// returns that error's source), so an `io::Error` is looked into with `get_ref`.
fn next_cause<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    match error.downcast_ref::<std::io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => error.source(),
    }
}

/// The rustls error somewhere in the chain.
fn tls_cause(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        current = next_cause(e);
    }
    None
}

/// The innermost error's message (an OS error such as "Connection refused").
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = next_cause(current) {
        current = next;
    }
    current.to_string()
}
