//! Renders every error for the request that caused it: a full HTML page, an htmx fragment,
//! or `{"error": {"code", "message"}}` for the API. 5xx details are logged, never shown.

use actix_web::{
    HttpRequest, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    error::InternalError,
    http::{StatusCode, header},
    middleware::Next,
};
use askama::Template;

use super::Chrome;
use crate::{db::outage::Outage, error::AppError};

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

/// What decides an error's form, read before the request moves on down the stack.
#[derive(Clone, Copy)]
struct Wants {
    json: bool,
    htmx: bool,
    https: bool,
}

impl Wants {
    fn of(req: &HttpRequest) -> Self {
        Self {
            json: crate::api::is_api_path(req.path()),
            htmx: req.headers().get("hx-request").is_some(),
            https: req
                .app_data::<actix_web::web::Data<crate::state::AppState>>()
                .is_some_and(|s| s.config.is_https()),
        }
    }
}

/// The middleware.
pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Errors raised as `Err` by middleware (not handlers) come back without the request:
    // holding a clone of it across `next.call` would break routing. So what the rendering
    // needs is read first, and such errors are answered through `InternalError`.
    let wants = Wants::of(req.request());
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(err) => return Err(render_middleware_error(wants, err)),
    };
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    let (code, message, unauthenticated) = match res.response().error() {
        Some(err) => describe(status, err),
        // Already a complete response of our own (e.g. readyz's 503): leave it alone.
        None => return Ok(res),
    };
    let (req, _) = res.into_parts();
    let rendered = render(wants, status, code, &message, unauthenticated);
    Ok(ServiceResponse::new(req, rendered))
}

/// The code, public message and whether it means "log in" for an error.
fn describe(status: StatusCode, err: &actix_web::Error) -> (&'static str, String, bool) {
    match err.as_error::<AppError>() {
        Some(app) => (
            app.code(),
            app.public_message(),
            matches!(app, AppError::Unauthenticated),
        ),
        None if Outage::is(err) => (
            AppError::Unavailable.code(),
            AppError::Unavailable.public_message(),
            false,
        ),
        None if status.is_client_error() => ("bad_request", err.to_string(), false),
        None => (
            "internal",
            AppError::Internal(anyhow::anyhow!("")).public_message(),
            false,
        ),
    }
}

/// An error a middleware returned (the session store failing, the org guard refusing):
/// rendered like a handler's, with the security headers `DefaultHeaders` cannot add to it.
fn render_middleware_error(wants: Wants, err: actix_web::Error) -> actix_web::Error {
    let status = match Outage::is(&err) {
        true => StatusCode::SERVICE_UNAVAILABLE,
        false => err.as_response_error().status_code(),
    };
    let (code, message, unauthenticated) = describe(status, &err);
    let mut res = render(wants, status, code, &message, unauthenticated);
    for (name, value) in super::headers::SECURITY_HEADERS {
        res.headers_mut().insert(
            header::HeaderName::from_static(name),
            header::HeaderValue::from_static(value),
        );
    }
    if wants.https {
        res.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            header::HeaderValue::from_static(super::headers::HSTS),
        );
    }
    InternalError::from_response(err, res).into()
}

fn render(
    wants: Wants,
    status: StatusCode,
    code: &str,
    message: &str,
    unauthenticated: bool,
) -> HttpResponse {
    let mut res = render_body(wants, status, code, message, unauthenticated);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(crate::db::outage::RETRY_AFTER_SECS),
        );
    }
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

fn render_body(
    wants: Wants,
    status: StatusCode,
    code: &str,
    message: &str,
    unauthenticated: bool,
) -> HttpResponse {
    if wants.json {
        let mut res = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        let message = match unauthenticated {
            true => "Send an API token (Authorization: Bearer swb_…) or use a console session.",
            false => message,
        };
        return res.json(serde_json::json!({ "error": { "code": code, "message": message } }));
    }
    let htmx = wants.htmx;
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
