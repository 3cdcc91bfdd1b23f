//! The log subscriber: text (colours only on a terminal) or JSON lines, and the rule that
//! keeps bad input from flooding the log — client errors are logged at most at WARN and
//! sampled; ERROR is for server faults.
//!
//! actix-http logs every request it cannot parse (`stream error: …`) at ERROR from its
//! dispatcher; those are the client's fault. They are kept out of the output and relayed as
//! sampled WARN lines (`malformed request refused`, with how many were suppressed).

use std::{
    fmt::Write as _,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tracing::{Event, Level, Metadata, Subscriber, field::Field};
use tracing_subscriber::{
    EnvFilter, Layer, filter::filter_fn, fmt::MakeWriter, layer::Context, prelude::*,
};

/// At most this many client-error lines per [`WINDOW`]; the rest are counted.
const PER_WINDOW: u64 = 10;
const WINDOW: Duration = Duration::from_secs(10);

/// Admits a few events per window and counts the rest.
pub struct Sampler {
    window: Mutex<(Instant, u64)>,
    suppressed: AtomicU64,
}

impl Sampler {
    /// `Some(suppressed since the last admitted line)` when this event may be logged.
    pub fn admit(&self) -> Option<u64> {
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(window.0) >= WINDOW {
            *window = (now, 0);
        }
        if window.1 < PER_WINDOW {
            window.1 += 1;
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// The process-wide sampler of client-error log lines.
pub fn client_error_sampler() -> &'static Sampler {
    static SAMPLER: std::sync::OnceLock<Sampler> = std::sync::OnceLock::new();
    SAMPLER.get_or_init(|| Sampler {
        window: Mutex::new((Instant::now(), 0)),
        suppressed: AtomicU64::new(0),
    })
}

/// Whether `meta` is actix-http's ERROR about a connection it could not parse or finish.
fn is_client_stream_error(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::ERROR && meta.target().starts_with("actix_http::h1")
}

/// Relays actix-http's client-fault ERROR events as sampled WARN lines.
struct ClientErrorRelay;

impl<S: Subscriber> Layer<S> for ClientErrorRelay {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !is_client_stream_error(event.metadata()) {
            return;
        }
        let Some(suppressed) = client_error_sampler().admit() else {
            return;
        };
        let mut message = Message(String::new());
        event.record(&mut message);
        tracing::warn!(
            target: "switchboard::http",
            error = %message.0,
            suppressed,
            "malformed request refused"
        );
    }
}

struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

/// The subscriber `init` installs, over `filter` (plus the caps below), writing to `writer`:
/// JSON lines when `json`, otherwise text with colours only when `ansi`.
pub fn subscriber<W>(
    filter: EnvFilter,
    json: bool,
    ansi: bool,
    writer: W,
) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // rmcp logs each MCP request with its arguments at debug (and messages at trace): a
    // provider key given to a tool would reach the log. Capped whatever RUST_LOG says.
    let filter = filter.add_directive("rmcp=info".parse().expect("a valid directive"));
    let output = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed()
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(output.with_filter(filter_fn(|meta| !is_client_stream_error(meta))))
        .with(ClientErrorRelay)
}
