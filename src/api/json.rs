//! JSON in and out: the body extractor's limits and errors, and `ETag`/`If-Match`.

use actix_web::{
    HttpRequest,
    error::JsonPayloadError,
    http::header::{self, EntityTag},
    web,
};

use crate::error::AppError;

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = 64 * 1024;

/// The `web::Json` configuration of the API: 64 KiB (413 beyond), `application/json` only
/// (415 otherwise), and a 400 naming what is wrong for malformed JSON, wrong types and
/// unknown fields (input types deny unknown fields). Messages never echo a submitted value:
/// a key sent in the wrong field must not come back in the error.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .content_type_required(true)
        .content_type(|mime| mime.type_() == "application" && mime.subtype() == "json")
        .error_handler(|err, _| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> AppError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            AppError::TooLarge(format!(
                "The body is larger than {} KiB.",
                JSON_LIMIT / 1024
            ))
        }
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType(
            "Send the body as JSON (Content-Type: application/json).".to_owned(),
        ),
        JsonPayloadError::Deserialize(e) => AppError::Validation(describe(&e)),
        other => AppError::Validation(format!("The body could not be read: {other}.")),
    }
}

/// A serde_json error as a message that quotes nothing from the body but short names.
pub fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => format!(
            "The body is not valid JSON (line {}, column {}).",
            e.line(),
            e.column()
        ),
        Category::Data | Category::Io => {
            let text = e.to_string();
            let text = text.split(" at line ").next().unwrap_or_default();
            format!("The body is invalid: {}.", redact_quoted(text))
        }
    }
}

/// Replaces what serde quotes from the input: every `"…"` value, and every `` `…` `` name
/// that is not a short identifier (an unknown field or variant could be a pasted key;
/// `unknown field \`nmae\`, expected one of \`name\`, …` keeps its help).
pub fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(['"', '`']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(len) = after.find(quote) else {
            out.push('…');
            return out;
        };
        let inner = &after[..len];
        let short_name = quote == '`'
            && inner.len() <= 32
            && inner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match short_name {
            true => out.push_str(&format!("`{inner}`")),
            false => out.push('…'),
        }
        rest = &after[len + 1..];
    }
    out.push_str(rest);
    out
}

/// The entity tag of a record at `lock_version`.
pub fn etag(lock_version: i32) -> EntityTag {
    EntityTag::new_strong(format!("v{lock_version}"))
}

/// The version an `If-Match` header asks for: `None` without the header (or `*`); a 412
/// when it names no version of ours.
pub fn if_match(req: &HttpRequest) -> Result<Option<i32>, AppError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .strip_prefix("\"v")
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|n| n.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            AppError::PreconditionFailed(
                "If-Match names no version of this record; send the ETag you were given."
                    .to_owned(),
            )
        })
}

/// A 412 unless `expected` (from `If-Match`) is `current`.
pub fn precondition(expected: Option<i32>, current: i32) -> Result<(), AppError> {
    match expected {
        Some(v) if v != current => Err(AppError::PreconditionFailed(format!(
            "The record changed since version {v} (it is at version {current}); fetch it again."
        ))),
        _ => Ok(()),
    }
}

/// A whole number as JSON Schema's `integer` has it: `3` and `3.0` alike (a client may
/// write either; the document can't tell them apart), never `3.5` or a negative.
pub fn whole_number<'de, D>(d: D) -> Result<u64, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize as _;
    let n = serde_json::Number::deserialize(d)?;
    if let Some(v) = n.as_u64() {
        return Ok(v);
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Ok(f as u64),
        _ => Err(serde::de::Error::custom(format!(
            "expected a whole number of at least 0, not {n}"
        ))),
    }
}

/// [`whole_number`] for an optional field (`null` or absent: `None`).
pub fn whole_number_opt<'de, D>(d: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] u64);
    use serde::Deserialize as _;
    Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_quote_short_names_and_nothing_else() {
        assert_eq!(
            super::redact_quoted(
                "unknown field `nmae`, expected one of `name`, `baseUrl` or invalid type: string \"sk-1\""
            ),
            "unknown field `nmae`, expected one of `name`, `baseUrl` or invalid type: string …"
        );
        assert_eq!(
            super::redact_quoted("unknown variant `sk-ant-api03-abcdefghijklmnop`, expected `a`"),
            "unknown variant …, expected `a`"
        );
        assert_eq!(
            super::redact_quoted("unknown field `gsk_abcdefghijklmnopqrstuvwxyz0123456789`"),
            "unknown field …"
        );
    }
}
