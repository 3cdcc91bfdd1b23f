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
use tracing_subscriber::EnvFilter;

pub mod logs;

use logs::client_error_sampler;

/// The request's id, also returned as `X-Request-Id` and written to audit events.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Installs the global subscriber (`RUST_LOG` filters; `SWITCHBOARD_LOG_FORMAT=json` for JSON
/// lines; ANSI colours only when standard error is a terminal).
pub fn init() {
    use std::io::IsTerminal as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("SWITCHBOARD_LOG_FORMAT").is_ok_and(|v| v == "json");
    let ansi = std::io::stderr().is_terminal();
    let _ = logs::subscriber(filter, json, ansi, std::io::stderr).try_init();
}

/// Middleware: request id + one log line per request.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = ulid::Ulid::new().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let metrics = req.app_data::<crate::metrics::Metrics>().cloned();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = std::time::Instant::now();
    let result = next.call(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    let latency_ms = elapsed * 1000.0;
    let (status, route) = match &result {
        Ok(res) => (res.status().as_u16(), res.request().match_pattern()),
        Err(e) => (e.as_response_error().status_code().as_u16(), None),
    };
    if let Some(metrics) = &metrics {
        metrics.request(method.as_str(), route.as_deref(), status, elapsed);
    }
    match &result {
        // A server fault: always logged, at ERROR.
        Ok(_) if status >= 500 => {
            tracing::error!(request_id = %id, %method, %path, status, latency_ms, "request")
        }
        Ok(_) => tracing::info!(request_id = %id, %method, %path, status, latency_ms, "request"),
        Err(e) if status >= 500 => {
            tracing::error!(request_id = %id, %method, %path, status, error = %e, latency_ms, "request failed")
        }
        // The client's fault (a malformed request refused before any handler): at most
        // WARN, and sampled, so a flood of bad input cannot flood the log.
        Err(e) => {
            if let Some(suppressed) = client_error_sampler().admit() {
                tracing::warn!(request_id = %id, %method, %path, status, error = %e, latency_ms, suppressed, "request refused")
            }
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
