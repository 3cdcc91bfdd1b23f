//! The headers that carry secrets: the key, however a protocol presents it, and a
//! gateway's extra headers. Every such value is marked sensitive, so hyper never logs it
//! and `Debug` never prints it; this file is the one place that builds them.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use super::invalid::ValidationError;

/// Headers Switchboard (or the HTTP client) sets itself, hop-by-hop headers, and headers
/// that speak for the client's path through proxies: an extra header may not be one.
/// (No catalog kind needs to override `Authorization`; one that did would say so there.)
const RESERVED: [&str; 18] = [
    "host",
    "authorization",
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-connection",
    "content-length",
    "content-type",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "forwarded",
    "cookie",
    "via",
];

/// How a protocol presents the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyHeader {
    /// `Authorization: Bearer {key}` (OpenAI-compatible, Ollama, Bedrock).
    Bearer,
    /// The bare key in a header of its own (`x-api-key`, `api-key`, `x-goog-api-key`);
    /// the name must be a lowercase constant.
    Named(&'static str),
}

impl KeyHeader {
    /// Adds `key` to `headers`, marked sensitive.
    pub(crate) fn insert(self, headers: &mut HeaderMap, key: &str) -> Result<(), ValidationError> {
        let (name, value) = match self {
            KeyHeader::Bearer => (AUTHORIZATION, sensitive(&format!("Bearer {key}"))),
            KeyHeader::Named(name) => (HeaderName::from_static(name), sensitive(key)),
        };
        headers.insert(name, value.ok_or(ValidationError::BadKey)?);
        Ok(())
    }
}

/// `raw` as a header value marked sensitive; `None` when a header can't carry it.
fn sensitive(raw: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(raw).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Validates one extra header name: a valid HTTP name that Switchboard does not set itself.
pub(crate) fn header_name(name: &str) -> Result<HeaderName, ValidationError> {
    let bad = |why| ValidationError::BadHeader {
        name: name.to_owned(),
        why,
    };
    let header =
        HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad("not a header name"))?;
    if RESERVED.contains(&header.as_str()) || header.as_str().starts_with("x-forwarded-") {
        return Err(bad("Switchboard sets this header itself"));
    }
    Ok(header)
}

/// Validates and converts one extra header; the value is marked sensitive.
pub(crate) fn header_pair(
    name: &str,
    value: &SecretString,
) -> Result<(HeaderName, HeaderValue), ValidationError> {
    let header = header_name(name)?;
    let value = sensitive(value.expose_secret()).ok_or_else(|| ValidationError::BadHeader {
        name: name.to_owned(),
        why: "the value has characters a header can't carry",
    })?;
    Ok((header, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_headers_are_sensitive_and_bad_keys_refused() {
        let mut headers = HeaderMap::new();
        KeyHeader::Bearer
            .insert(&mut headers, "sk-abc")
            .expect("bearer");
        KeyHeader::Named("x-api-key")
            .insert(&mut headers, "sk-ant-abc")
            .expect("named");
        let bearer = &headers[AUTHORIZATION];
        assert!(bearer.is_sensitive());
        assert_eq!(bearer, "Bearer sk-abc");
        assert!(headers["x-api-key"].is_sensitive());
        assert_eq!(
            KeyHeader::Bearer.insert(&mut headers, "sk-\nabc"),
            Err(ValidationError::BadKey)
        );
        let (_, value) = header_pair("X-Tenant", &SecretString::from("t-1")).expect("extra header");
        assert!(value.is_sensitive());
        assert!(header_pair("Host", &SecretString::from("x")).is_err());
    }
}
