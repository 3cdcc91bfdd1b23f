//! `POST /mcp` over actix: authenticate the bearer token, then hand the request to rmcp's
//! own streamable-HTTP transport (`StreamableHttpService`, a tower service written for
//! `http` 1.x) and give its answer back to actix.
//!
//! - Stateless: no `Mcp-Session-Id`, no server-side session, every request stands alone
//!   (instances are stateless, DESIGN.md "Architecture"); answers are JSON, not SSE.
//! - Authentication happens here, before rmcp sees the request: a missing or bad token is a
//!   401 JSON error; the [`Caller`](crate::ops::Caller) rides in the request's extensions to
//!   the tools. The `Authorization` and `Cookie` headers are not passed on.
//! - rmcp's own HTTP-level refusals (wrong `Accept`, a body that is no JSON-RPC message, an
//!   unknown protocol version) come back as the API's JSON errors with fixed messages: its
//!   texts may quote what the client sent.

use std::{convert::Infallible, sync::Arc};

use actix_web::{
    HttpRequest, HttpResponse,
    error::InternalError,
    http::{StatusCode, header},
    web,
};
use bytes::Bytes;
use http_body_util::{BodyDataStream, BodyExt as _, Full};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
};

use super::tools::{Authenticated, Switchboard};
use crate::{
    api::json::JSON_LIMIT, auth::context::request_meta, error::AppError, ops::tokens,
    state::AppState,
};

/// rmcp's transport serving the tools, without sessions.
pub type Service = StreamableHttpService<Switchboard, NeverSessionManager>;

/// The transport: stateless, JSON answers, the API's body limit. rmcp's `Host` check (an
/// allow-list against DNS rebinding of servers on localhost) is off: Switchboard is served
/// under its own hostname, and `/mcp` only acts for a bearer token, which a rebound page
/// cannot send; for the same reason its `Origin` check is left off.
pub fn service() -> Service {
    let tools = Switchboard::default();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_sse_retry(None)
        .disable_allowed_hosts()
        .with_max_request_body_bytes(JSON_LIMIT);
    StreamableHttpService::new(
        move || Ok(tools.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    )
}

/// The token of an `Authorization: Bearer …` header; a 401 without one.
fn bearer(req: &HttpRequest) -> Result<&str, AppError> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            AppError::BadToken("Send an API token: Authorization: Bearer swb_….".to_owned())
        })
}

/// `POST /mcp`.
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    service: web::Data<Service>,
) -> Result<HttpResponse, actix_web::Error> {
    let caller = tokens::authenticate(&state, bearer(&req)?, request_meta(&req))
        .await
        .map_err(AppError::from)?;
    let body = match payload.to_bytes_limited(JSON_LIMIT).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            return Err(AppError::Validation("The body could not be read.".to_owned()).into());
        }
        Err(_) => {
            return Err(AppError::TooLarge(format!(
                "The body is larger than {} KiB.",
                JSON_LIMIT / 1024
            ))
            .into());
        }
    };
    let request = to_http(&req, body, Authenticated { state, caller })?;
    let response = service.handle(request).await;
    from_http(response).await
}

/// Any other method: a stateless server offers no stream to `GET` and no session to
/// `DELETE` (MCP streamable HTTP: 405).
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": {
            "code": "method_not_allowed",
            "message": "This MCP server is stateless: send each JSON-RPC message with POST."
        }}))
}

/// The actix request as an `http` 1.x request for rmcp, with the caller in its extensions.
fn to_http(
    req: &HttpRequest,
    body: Bytes,
    who: Authenticated,
) -> Result<http::Request<Full<Bytes>>, AppError> {
    let mut builder = http::Request::builder()
        .method(http::Method::POST)
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        if name == header::AUTHORIZATION || name == header::COOKIE {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    if !req.headers().contains_key(header::HOST) {
        // rmcp wants a host even with its check off (HTTP/1.0 may send none).
        builder = builder.header(http::header::HOST, req.connection_info().host());
    }
    let mut request = builder
        .body(Full::new(body))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("mcp request: {e}")))?;
    request.extensions_mut().insert(who);
    Ok(request)
}

/// rmcp's answer for actix: a success as it is (JSON, `202 Accepted`, or an event stream
/// should rmcp fall back to one); a refusal as the API's JSON error.
async fn from_http(
    response: http::Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>,
) -> Result<HttpResponse, actix_web::Error> {
    let (parts, body) = response.into_parts();
    let status = StatusCode::from_u16(parts.status.as_u16())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("mcp status: {e}")))?;
    if status.is_client_error() || status.is_server_error() {
        return Err(refusal(status, body).await);
    }
    let mut out = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.insert_header((header::CACHE_CONTROL, "no-store"));
    let streams = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if streams {
        return Ok(out.streaming(BodyDataStream::new(body)));
    }
    let Ok(collected) = body.collect().await;
    Ok(out.body(collected.to_bytes()))
}

/// An rmcp refusal as the API's error, with a message of ours.
async fn refusal(
    status: StatusCode,
    body: http_body_util::combinators::BoxBody<Bytes, Infallible>,
) -> actix_web::Error {
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::TooLarge(format!("The body is larger than {} KiB.", JSON_LIMIT / 1024))
        }
        // rmcp answers 415 both for another content type and for a body that is no
        // JSON-RPC message.
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType(
            "Send one JSON-RPC message as JSON (Content-Type: application/json).".to_owned(),
        ),
        StatusCode::NOT_ACCEPTABLE => {
            return InternalError::new(
                "Accept both application/json and text/event-stream (MCP streamable HTTP).",
                status,
            )
            .into();
        }
        s if s.is_client_error() => AppError::Validation(
            "This is not an MCP request this server can serve: check the JSON-RPC message and the MCP-Protocol-Version header.".to_owned(),
        ),
        _ => {
            let Ok(collected) = body.collect().await;
            let text = String::from_utf8_lossy(&collected.to_bytes()).into_owned();
            AppError::Internal(anyhow::anyhow!("mcp transport answered {status}: {text}"))
        }
    };
    error.into()
}
