//! A small hand-written HTTP/1.1 upstream on 127.0.0.1 (wiremock can't stream a body chunk
//! by chunk): it records what it was sent and answers as its test says — JSON, a stream
//! whose first chunk goes out while the rest waits for the test's go, a redirect, or
//! nothing at all (a hang). It notices when the relay drops a connection mid-answer.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Lowercased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How to answer.
#[derive(Clone)]
pub enum Reply {
    /// A complete JSON answer.
    Json(u16, String),
    /// `text/event-stream`, chunked: the first event at once, the others after
    /// [`Upstream::go`] is called.
    Events(Vec<String>),
    /// `text/event-stream`, chunked, every event at once (a few ms apart).
    Flow(Vec<String>),
    /// A 302 to somewhere else.
    Redirect(String),
    /// Reads the request and says nothing, until the connection closes.
    Hang,
}

type Answer = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

pub struct Upstream {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    gate: Arc<Notify>,
    /// Set when the relay closed a connection while an answer was still held open.
    pub dropped: Arc<AtomicBool>,
    /// Connections accepted.
    pub connections: Arc<AtomicUsize>,
}

impl Upstream {
    pub async fn start(answer: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(Notify::new());
        let dropped = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let answer: Answer = Arc::new(answer);
        {
            let (seen, gate, dropped, connections) = (
                seen.clone(),
                gate.clone(),
                dropped.clone(),
                connections.clone(),
            );
            tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (seen, gate, dropped, answer) =
                        (seen.clone(), gate.clone(), dropped.clone(), answer.clone());
                    tokio::spawn(serve(socket, seen, gate, dropped, answer));
                }
            });
        }
        Upstream {
            url,
            seen,
            gate,
            dropped,
            connections,
        }
    }

    /// Lets held streams send the rest.
    pub fn go(&self) {
        self.gate.notify_waiters();
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut socket: TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    gate: Arc<Notify>,
    dropped: Arc<AtomicBool>,
    answer: Answer,
) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut socket, &mut buf).await else {
            return;
        };
        seen.lock().unwrap().push(request.clone());
        match answer(&request) {
            Reply::Json(status, body) => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-upstream: yes\r\nset-cookie: up=1\r\n\r\n",
                    body.len()
                );
                if socket.write_all(head.as_bytes()).await.is_err()
                    || socket.write_all(body.as_bytes()).await.is_err()
                {
                    return;
                }
            }
            Reply::Redirect(to) => {
                let head =
                    format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\n\r\n");
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
            }
            reply @ (Reply::Events(_) | Reply::Flow(_)) => {
                let (events, hold) = match reply {
                    Reply::Events(events) => (events, true),
                    Reply::Flow(events) => (events, false),
                    _ => unreachable!(),
                };
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                let chunk = |e: &str| format!("{:x}\r\n{e}\r\n", e.len());
                let waiting = gate.notified();
                if socket.write_all(head.as_bytes()).await.is_err()
                    || socket
                        .write_all(chunk(&events[0]).as_bytes())
                        .await
                        .is_err()
                {
                    return;
                }
                let _ = socket.flush().await;
                // Hold the rest until the test says go, noticing a closed connection.
                let mut probe = [0u8; 1];
                tokio::select! {
                    _ = waiting, if hold => {}
                    _ = std::future::ready(()), if !hold => {}
                    r = socket.read(&mut probe) => {
                        if matches!(r, Ok(0) | Err(_)) {
                            dropped.store(true, Ordering::SeqCst);
                        }
                        return;
                    }
                }
                for e in &events[1..] {
                    if socket.write_all(chunk(e).as_bytes()).await.is_err() {
                        dropped.store(true, Ordering::SeqCst);
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if socket.write_all(b"0\r\n\r\n").await.is_err() {
                    return;
                }
            }
            Reply::Hang => {
                let mut probe = [0u8; 1];
                let r = socket.read(&mut probe).await;
                if matches!(r, Ok(0) | Err(_)) {
                    dropped.store(true, Ordering::SeqCst);
                }
                return;
            }
        }
    }
}

/// Reads one request (Content-Length bodies only), keeping any surplus in `buf`.
async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Seen> {
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 8192];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    buf.drain(..end + 4);
    while buf.len() < length {
        let mut chunk = [0u8; 65536];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body: Vec<u8> = buf.drain(..length).collect();
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}
