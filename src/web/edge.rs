//! Edge validation: every text input that arrives in a path, a query string, a form body or
//! a JSON body is checked once, here, before any handler, session or database sees it.
//! NUL and the other C0/C1 control characters (and DEL) are refused: PostgreSQL cannot store
//! NUL in `text` (it used to surface as a 500), and control characters in names are a way to
//! spoof or garble what other people see (terminal escapes, bidi tricks in logs).
//!
//! - a path segment with one ⇒ 404 (no such thing can exist);
//! - a query parameter, form field or JSON string with one ⇒ 400 naming the field;
//! - fields named in [`MULTI_LINE_FIELDS`] may also hold tab, CR and LF (multi-line text);
//!   every other field is single-line, so tab/CR/LF are refused there too.
//!
//! The error is raised as an [`AppError`], so it renders as a page, an htmx fragment or JSON
//! like every other error.

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{Method, header},
    middleware::Next,
};

use crate::{
    auth::csrf::{FORM_LIMIT, read_capped},
    error::AppError,
};

/// Fields that hold multi-line text and so may contain tab, CR and LF (skills' Markdown).
/// A new `<textarea>` opts in by being named here.
pub const MULTI_LINE_FIELDS: &[&str] = &["description", "instructions"];

/// Largest JSON body read for the check (the API's JSON extractor caps bodies itself too).
pub const JSON_LIMIT: usize = 256 * 1024;

/// Whether `c` is refused in single-line text: C0 controls (incl. NUL, tab, CR, LF), DEL and
/// C1 controls.
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// Whether `text` is acceptable for a field: no control characters, except tab/CR/LF when
/// `multi_line`.
pub fn clean_text(text: &str, multi_line: bool) -> bool {
    !text
        .chars()
        .any(|c| is_control(c) && !(multi_line && matches!(c, '\t' | '\n' | '\r')))
}

/// The middleware.
pub async fn reject_control_chars(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The relay passes bodies through unread (prompts hold line breaks) and judges its
    // own paths (`src/relay`).
    if crate::relay::is_relay_path(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    if !clean_text(&String::from_utf8_lossy(&percent_decode(req.path())), false) {
        return Ok(req.error_response(AppError::NotFound));
    }
    if let Err(e) = check_query(req.query_string()) {
        return Ok(req.error_response(e));
    }
    if has_body(req.method())
        && let Some(kind) = body_kind(&req)
    {
        let limit = match kind {
            BodyKind::Form => FORM_LIMIT,
            BodyKind::Json => JSON_LIMIT,
        };
        let body = match read_capped(&mut req, limit, "request body").await {
            Ok(body) => body,
            Err(e) => return Ok(req.error_response(e)),
        };
        let verdict = match kind {
            BodyKind::Form => check_form(&body),
            BodyKind::Json => check_json(&body),
        };
        req.set_payload(Payload::from(body));
        if let Err(e) = verdict {
            return Ok(req.error_response(e));
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[derive(Clone, Copy)]
enum BodyKind {
    Form,
    Json,
}

fn has_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

fn body_kind(req: &ServiceRequest) -> Option<BodyKind> {
    let ct = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let ct = ct.trim_start().to_ascii_lowercase();
    if ct.starts_with("application/x-www-form-urlencoded") {
        Some(BodyKind::Form)
    } else if ct.starts_with("application/json") {
        Some(BodyKind::Json)
    } else {
        None
    }
}

fn refused(field: &str) -> AppError {
    // The name is the client's; only a plain identifier is worth repeating back.
    let plain = !field.is_empty()
        && field.len() <= 40
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match plain {
        true => AppError::Validation(format!(
            "The field \u{201c}{field}\u{201d} contains a control character (such as NUL or \
             a line break); remove it and try again."
        )),
        false => AppError::Validation(
            "A field contains a control character (such as NUL or a line break); remove it \
             and try again."
                .to_owned(),
        ),
    }
}

fn check_query(query: &str) -> Result<(), AppError> {
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if !clean_text(&key, false) || !clean_text(&value, false) {
            return Err(refused(if clean_text(&key, false) { &key } else { "" }));
        }
    }
    Ok(())
}

fn check_form(body: &[u8]) -> Result<(), AppError> {
    for (key, value) in url::form_urlencoded::parse(body) {
        if !clean_text(&key, false) {
            return Err(refused(""));
        }
        if !clean_text(&value, MULTI_LINE_FIELDS.contains(&key.as_ref())) {
            return Err(refused(&key));
        }
    }
    Ok(())
}

/// Walks every string (keys and values) of a JSON body. A body that isn't JSON is left to
/// the handler's extractor to refuse.
fn check_json(body: &[u8]) -> Result<(), AppError> {
    fn walk(value: &serde_json::Value, field: &str) -> Result<(), AppError> {
        match value {
            serde_json::Value::String(s) => match clean_text(s, MULTI_LINE_FIELDS.contains(&field))
            {
                true => Ok(()),
                false => Err(refused(field)),
            },
            serde_json::Value::Array(items) => items.iter().try_for_each(|v| walk(v, field)),
            serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
                if !clean_text(k, false) {
                    return Err(refused(""));
                }
                walk(v, k)
            }),
            _ => Ok(()),
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => walk(&value, ""),
        Err(_) => Ok(()),
    }
}

/// Percent-decodes a URL path (no `+` rule: that is for query strings and forms only).
fn percent_decode(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_paths_and_spots_controls() {
        assert_eq!(percent_decode("/orgs/%00/x"), b"/orgs/\0/x");
        assert_eq!(percent_decode("/a%2"), b"/a%2");
        assert_eq!(percent_decode("/a%41"), b"/aA");
        assert!(!clean_text("a\0b", false));
        assert!(!clean_text("a\u{85}b", false));
        assert!(!clean_text("a\u{7f}b", false));
        assert!(!clean_text("a\tb", false));
        assert!(clean_text("a\tb\r\nc", true));
        assert!(!clean_text("a\0b", true));
        assert!(clean_text("Ünïcødé — ok", false));
        assert!(check_json(br#"{"name": "x\u0000y"}"#).is_err());
        assert!(check_json(br#"{"instructions": "x\ny"}"#).is_ok());
        assert!(check_json(br#"{"name": ["ok", "x\u001b[31m"]}"#).is_err());
        assert!(check_json(b"not json").is_ok());
        assert!(check_form(b"email=a%00b").is_err());
        assert!(check_form(b"description=a%0Ab").is_ok());
        assert!(check_query("q=%0d").is_err());
    }
}
