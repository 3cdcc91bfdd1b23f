//! CSRF protection for every unsafe method: the request must come from our own origin
//! (`Sec-Fetch-Site: same-origin`, or a matching `Origin`) and carry the session's CSRF token,
//! either in the `X-CSRF-Token` header (htmx, through `hx-headers`) or as the `csrf_token`
//! form field (plain forms). Form bodies are capped at 64 KiB here as everywhere.

use actix_session::SessionExt as _;
use actix_web::HttpMessage as _;
use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{Method, header},
    middleware::Next,
    web::{self, Bytes, BytesMut},
};
use futures_util::StreamExt as _;
use subtle::ConstantTimeEq as _;

use crate::{error::AppError, state::AppState};

/// Largest form body accepted.
pub const FORM_LIMIT: usize = 64 * 1024;

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The middleware.
pub async fn csrf_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_safe(req.method()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    if let Err(why) = check_origin(&req) {
        return Ok(req.error_response(AppError::Forbidden(why.to_owned())));
    }
    let Some(expected) = req.get_session().get::<String>("csrf").ok().flatten() else {
        return Ok(req.error_response(AppError::Forbidden(
            "Your session has expired. Reload the page and try again.".to_owned(),
        )));
    };

    let submitted = match req.headers().get("x-csrf-token") {
        Some(value) => value.to_str().ok().map(str::to_owned),
        None if is_form(&req) => {
            let body = match read_capped(&mut req, FORM_LIMIT, "form").await {
                Ok(body) => body,
                Err(e) => return Ok(req.error_response(e)),
            };
            let token = form_field(&body, "csrf_token");
            req.set_payload(Payload::from(body));
            token
        }
        None => None,
    };
    let valid = submitted.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())));
    if !valid {
        return Ok(req.error_response(AppError::Forbidden(
            "The form's security token is missing or stale. Reload the page and try again."
                .to_owned(),
        )));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// Same-origin check: `Sec-Fetch-Site` when the browser sends it, else `Origin` when present.
/// Non-browser clients that send neither still need the token.
fn check_origin(req: &ServiceRequest) -> Result<(), &'static str> {
    const CROSS: &str = "Cross-site requests are refused.";
    if let Some(site) = req.headers().get("sec-fetch-site") {
        return if site.as_bytes() == b"same-origin" {
            Ok(())
        } else {
            Err(CROSS)
        };
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let expected = match req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.config.public_url.clone())
    {
        Some(url) => url.origin().ascii_serialization(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    };
    if origin.as_bytes() == expected.as_bytes() {
        Ok(())
    } else {
        Err(CROSS)
    }
}

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// Reads the request body, refusing one over `limit` bytes (by `Content-Length` first, then
/// as it streams) with "The {what} is larger than … KiB." Shared by the CSRF guard and the
/// edge check, which both look into a body and hand it on.
pub(crate) async fn read_capped(
    req: &mut ServiceRequest,
    limit: usize,
    what: &str,
) -> Result<Bytes, AppError> {
    let too_large =
        || AppError::TooLarge(format!("The {what} is larger than {} KiB.", limit / 1024));
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(too_large());
    }
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| AppError::Validation("The request body could not be read.".to_owned()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded_pairs(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn form_urlencoded_pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned()))
}
