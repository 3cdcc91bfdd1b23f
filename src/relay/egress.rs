//! The relay's way out: every upstream connection goes through the egress guard (DESIGN.md
//! rule 9) — the host is resolved by the relay's own resolver, every address is vetted with
//! the server's [`EgressPolicy`], and the connection is made only to the vetted addresses
//! (hyper gets them from that resolver, so there is no second lookup to race). IP-literal
//! hosts skip DNS inside hyper, so they are vetted here before anything is sent. No proxy,
//! no redirects, connect and idle (per read) timeouts.
//!
//! Connections are pooled: one client per upstream port (a resolver only learns the host
//! name, and allow rules may name ports), built on first use and kept for the process.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::{Host, Url};

use crate::providers::check::FailureCode;
use crate::providers::egress::EgressPolicy;

/// Ports with a pooled client of their own; calls to further ports get a client each.
const MAX_PORTS: usize = 64;

/// Why no request was sent (or no answer came), in the checks' taxonomy.
#[derive(Debug, Clone)]
pub struct Blocked {
    pub code: FailureCode,
    pub message: String,
}

/// The shared, guarded HTTP clients of the relay.
pub struct Egress {
    policy: EgressPolicy,
    connect_timeout: Duration,
    idle_timeout: Duration,
    clients: Mutex<HashMap<u16, reqwest::Client>>,
}

impl Egress {
    pub fn new(policy: EgressPolicy, connect_timeout: Duration, idle_timeout: Duration) -> Self {
        crate::providers::check::install_crypto_provider();
        Self {
            policy,
            connect_timeout,
            idle_timeout,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The idle timeout (the longest an upstream may stay silent).
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The client for `url`, after vetting an IP-literal host (a name is vetted by the
    /// client's resolver when it connects).
    pub fn client_for(&self, url: &Url) -> Result<reqwest::Client, Blocked> {
        if self.policy.denies_all() {
            return Err(Blocked {
                code: FailureCode::BlockedAddress,
                message: "this server's egress policy allows no outgoing connections".to_owned(),
            });
        }
        let port = url.port_or_known_default().ok_or_else(|| Blocked {
            code: FailureCode::BadResponse,
            message: "the provider's base URL has no port".to_owned(),
        })?;
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(SocketAddr::new(ip.into(), port)),
            Some(Host::Ipv6(ip)) => Some(SocketAddr::new(ip.into(), port)),
            Some(Host::Domain(_)) => None,
            None => {
                return Err(Blocked {
                    code: FailureCode::BadResponse,
                    message: "the provider's base URL has no host".to_owned(),
                });
            }
        };
        if let Some(addr) = literal {
            self.policy.check_addr(addr).map_err(|refusal| Blocked {
                code: FailureCode::BlockedAddress,
                message: refusal.to_string(),
            })?;
        }
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&port) {
            return Ok(client.clone());
        }
        let client = self.build(port)?;
        if clients.len() < MAX_PORTS {
            clients.insert(port, client.clone());
        }
        Ok(client)
    }

    fn build(&self, port: u16) -> Result<reqwest::Client, Blocked> {
        let tls = tls_config().map_err(|e| Blocked {
            code: FailureCode::Tls,
            message: format!("could not load the system's root certificates: {e}"),
        })?;
        reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .no_proxy()
            .redirect(redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.idle_timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("switchboard-relay/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(VettingResolver {
                policy: self.policy.clone(),
                port,
            }))
            .build()
            .map_err(|e| Blocked {
                code: FailureCode::Unreachable,
                message: format!("could not set up the HTTP client: {}", e.without_url()),
            })
    }
}

/// TLS for the relay: rustls on ring with the platform's roots, loaded once per process.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            crate::providers::check::install_crypto_provider();
            let mut config = rustls::ClientConfig::builder()
                .with_platform_verifier()
                .map_err(|e| e.to_string())?
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(config)
        })
        .clone()
}

/// Resolves with the system, then admits the answer only if the policy admits every
/// address (a name resolving to a mix of public and private addresses is refused).
struct VettingResolver {
    policy: EgressPolicy,
    port: u16,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let port = self.port;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| -> Box<dyn StdError + Send + Sync> {
                    format!("could not resolve {host}: {e}").into()
                })?
                .collect();
            addrs.dedup();
            policy
                .check_addrs(&addrs)
                .map_err(|refusal| -> Box<dyn StdError + Send + Sync> {
                    Box::new(BlockedName(format!(
                        "{host} resolves to {}; {refusal}",
                        refusal.addr.ip()
                    )))
                })?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A refusal by the resolver, recognised in the error chain as `blocked_address`.
#[derive(Debug)]
pub struct BlockedName(pub String);

impl std::fmt::Display for BlockedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for BlockedName {}

/// Maps a failed send to the taxonomy, with a message that names no URL.
pub fn classify(error: &reqwest::Error) -> Blocked {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    let mut root = String::new();
    while let Some(e) = current {
        if let Some(blocked) = e.downcast_ref::<BlockedName>() {
            return Blocked {
                code: FailureCode::BlockedAddress,
                message: blocked.0.clone(),
            };
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Blocked {
                code: FailureCode::Tls,
                message: format!("TLS handshake failed: {tls}"),
            };
        }
        root = e.to_string();
        current = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    if error.is_timeout() {
        return Blocked {
            code: FailureCode::Timeout,
            message: "the provider did not answer within this server's relay timeout".to_owned(),
        };
    }
    Blocked {
        code: FailureCode::Unreachable,
        message: match error.is_connect() {
            true => format!("could not connect to the provider: {root}"),
            false => format!("the connection to the provider failed: {root}"),
        },
    }
}
