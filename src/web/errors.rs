//! Renders every error for the request that caused it: a full HTML page, an htmx fragment,
//! or `{"error": {"code", "message"}}` for the API. 5xx details are logged, never shown.

use actix_web::{
    HttpRequest, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
};
use askama::Template;

use super::Chrome;
use crate::error::AppError;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    heading: &'a str,
    message: &'a str,
}

/// Fallback for unknown URLs.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// The middleware.
pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Errors raised as `Err` by middleware (not handlers) keep actix's own rendering: holding
    // a clone of the request across `next.call` would break routing.
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    let (code, message, unauthenticated) = match res.response().error() {
        Some(err) => match err.as_error::<AppError>() {
            Some(app) => (
                app.code(),
                app.public_message(),
                matches!(app, AppError::Unauthenticated),
            ),
            None if status.is_client_error() => ("bad_request", err.to_string(), false),
            None => (
                "internal",
                AppError::Internal(anyhow::anyhow!("")).public_message(),
                false,
            ),
        },
        // Already a complete response of our own (e.g. readyz's 503): leave it alone.
        None => return Ok(res),
    };
    let (req, _) = res.into_parts();
    let rendered = render(&req, status, code, &message, unauthenticated);
    Ok(ServiceResponse::new(req, rendered))
}

fn render(
    req: &HttpRequest,
    status: StatusCode,
    code: &str,
    message: &str,
    unauthenticated: bool,
) -> HttpResponse {
    if crate::api::is_api_path(req.path()) {
        return HttpResponse::build(status)
            .json(serde_json::json!({ "error": { "code": code, "message": message } }));
    }
    let htmx = req.headers().get("hx-request").is_some();
    if unauthenticated {
        return if htmx {
            HttpResponse::Unauthorized()
                .insert_header(("HX-Redirect", "/login"))
                .finish()
        } else {
            super::see_other("/login")
        };
    }
    if htmx {
        let body = format!(
            "<div class=\"flash error\" role=\"alert\">{}</div>",
            escape_html(message)
        );
        return HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body);
    }
    let heading = status.canonical_reason().unwrap_or("Error");
    let page = ErrorPage {
        chrome: Chrome {
            title: heading.to_owned(),
            csrf_token: String::new(),
            user_label: None,
            flash: None,
        },
        heading,
        message,
    };
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(_) => HttpResponse::build(status).body(message.to_owned()),
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
