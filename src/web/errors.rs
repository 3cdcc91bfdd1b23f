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

use super::{Chrome, OrgHeader, Tab, urls};
use crate::{auth::context::OrgContext, db::outage::Outage, error::AppError};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    heading: &'a str,
    message: &'a str,
    /// The way on: (label, href).
    back: (&'a str, &'a str),
}

/// An error inside an org: in the org's frame (header and tabs), with links back
/// (issue 17, item 6) instead of a dead end.
#[derive(Template)]
#[template(path = "error_in_org.html")]
struct OrgErrorPage<'a> {
    chrome: Chrome,
    org: OrgHeader,
    heading: &'a str,
    message: &'a str,
    back: BackLinks,
}

/// Fallback for unknown URLs.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// Fallback for unknown URLs inside `/orgs/{org}`: the org guard has run, so the 404 is
/// rendered in the org's frame.
pub async fn not_found_in_org(_ctx: OrgContext) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// `GET /orgs/{org}` and `/orgs/{org}/settings`: the AI settings are the org's page.
pub async fn to_ai_settings(ctx: OrgContext) -> HttpResponse {
    super::see_other(&urls::ai_settings(&ctx.org().slug))
}

/// The heading of an error page with `status`: words for people, not HTTP's.
fn heading_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 | 415 => "Check what was entered",
        403 => "Not allowed",
        404 => "Page not found",
        409 | 412 | 422 => "This could not be done",
        429 => "Too many attempts",
        503 => "Unavailable right now",
        _ if status.is_server_error() => "Something went wrong",
        _ => "This could not be done",
    }
}

/// The message of an error page: a 404 explains itself.
fn page_message(status: StatusCode, message: &str, org: Option<&str>) -> String {
    match (status, org) {
        (StatusCode::NOT_FOUND, Some(org)) => format!(
            "{org} has no such page: the address may be mistyped, or what it showed was deleted."
        ),
        (StatusCode::NOT_FOUND, None) => {
            "There is no such page: the address may be mistyped, or what it showed was deleted, or it is not yours to see.".to_owned()
        }
        _ => message.to_owned(),
    }
}

/// The org's frame for an error page, when the request reached an org's routes.
/// Links back from an error page: (label, href).
type BackLinks = Vec<(&'static str, String)>;

fn org_frame_of(req: &HttpRequest) -> Option<(Chrome, OrgHeader, BackLinks)> {
    use actix_web::HttpMessage as _;
    let ctx = req.extensions().get::<OrgContext>().cloned()?;
    let csrf_token = req
        .extensions()
        .get::<crate::auth::context::FrameCsrf>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let chrome = Chrome {
        title: ctx.org().name.clone(),
        csrf_token,
        user_label: Some(ctx.user.display_name().to_owned()),
        flash: None,
    };
    let org = OrgHeader::new(&ctx, None);
    let slug = &ctx.org().slug;
    let mut back = vec![("The AI settings", urls::ai_settings(slug))];
    if ctx.caller.may(crate::ops::Scope::MembersList) {
        back.push(("Members", urls::members(slug)));
    }
    if ctx.caller.may(crate::ops::Scope::AuditRead) {
        back.push(("The audit trail", urls::tab(slug, Tab::Audit)));
    }
    back.push(("All your orgs", "/".to_owned()));
    Some((chrome, org, back))
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
        Some(err) => describe(wants, status, err),
        // Already a complete response of our own (e.g. readyz's 503): leave it alone.
        None => return Ok(res),
    };
    let (req, _) = res.into_parts();
    if !(wants.json || wants.htmx || unauthenticated)
        && let Some((chrome, org, back)) = org_frame_of(&req)
    {
        let heading = heading_of(status);
        let message = page_message(status, &message, Some(&org.name));
        let page = OrgErrorPage {
            chrome: Chrome {
                title: format!("{heading} · {}", chrome.title),
                ..chrome
            },
            org,
            heading,
            message: &message,
            back,
        };
        if let Ok(body) = page.render() {
            let mut res = HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(body);
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            return Ok(ServiceResponse::new(req, res));
        }
    }
    let rendered = render(wants, status, code, &message, unauthenticated);
    Ok(ServiceResponse::new(req, rendered))
}

/// The code, public message and whether it means "log in" for an error.
fn describe(
    wants: Wants,
    status: StatusCode,
    err: &actix_web::Error,
) -> (&'static str, String, bool) {
    match err.as_error::<AppError>() {
        Some(app) => (
            app.code(),
            match wants.json {
                true => app.public_message(),
                false => app.message_for_people(),
            },
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
    let (code, message, unauthenticated) = describe(wants, status, &err);
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
    let heading = heading_of(status);
    let message = &page_message(status, message, None);
    let page = ErrorPage {
        chrome: Chrome {
            title: heading.to_owned(),
            csrf_token: String::new(),
            user_label: None,
            flash: None,
        },
        heading,
        message,
        back: ("Back to Switchboard", "/"),
    };
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(_) => HttpResponse::build(status).body(message.to_owned()),
    }
}

pub(crate) fn escape_html(text: &str) -> String {
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
