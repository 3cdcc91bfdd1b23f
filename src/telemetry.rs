//! Logging: a tracing subscriber, and a middleware that gives every request an id and logs
//! one structured line per request — method, path without its query string (which may carry
//! tokens), status, latency. No headers, cookies, bodies or session ids are logged.

use actix_web::{
    HttpMessage as _,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};
use tracing_subscriber::{EnvFilter, fmt};

/// Process-wide counters exported at `/metrics`.
pub mod counters {
    use std::sync::atomic::{AtomicU64, Ordering};

    /// SQL statements started, across every connection of the process.
    pub static SQL_STATEMENTS: AtomicU64 = AtomicU64::new(0);
    /// HTTP responses by status class: 2xx, 3xx, 4xx, 5xx.
    pub static RESPONSES: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

    pub(super) fn count_response(status: u16) {
        if let Some(slot) = (status / 100)
            .checked_sub(2)
            .and_then(|i| RESPONSES.get(usize::from(i)))
        {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Makes every new database connection count its statements.
    pub fn install_sql_counter() {
        fn counter() -> Option<Box<dyn diesel::connection::Instrumentation>> {
            Some(Box::new(
                |event: diesel::connection::InstrumentationEvent<'_>| {
                    if matches!(
                        event,
                        diesel::connection::InstrumentationEvent::StartQuery { .. }
                    ) {
                        SQL_STATEMENTS.fetch_add(1, Ordering::Relaxed);
                    }
                },
            ))
        }
        let _ = diesel::connection::set_default_instrumentation(counter);
    }
}

/// The request's id, also returned as `X-Request-Id` and written to audit events.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Installs the global subscriber (`RUST_LOG` filters; `SWITCHBOARD_LOG_FORMAT=json` for JSON).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // rmcp logs each MCP request with its arguments at debug (and messages at trace): a
    // provider key given to a tool would reach the log. Capped whatever RUST_LOG says.
    let filter = filter.add_directive("rmcp=info".parse().expect("a valid directive"));
    let json = std::env::var("SWITCHBOARD_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Middleware: request id + one log line per request.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = ulid::Ulid::new().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = std::time::Instant::now();
    let result = next.call(req).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(res) => {
            let status = res.status().as_u16();
            counters::count_response(status);
            if status >= 500 {
                tracing::error!(request_id = %id, %method, %path, status, latency_ms, "request");
            } else {
                tracing::info!(request_id = %id, %method, %path, status, latency_ms, "request");
            }
        }
        Err(e) => {
            tracing::error!(request_id = %id, %method, %path, error = %e, latency_ms, "request failed")
        }
    }
    result.map(|mut res| {
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), value);
        }
        res
    })
}
