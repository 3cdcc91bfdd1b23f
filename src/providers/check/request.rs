//! What to check, and the validation that runs before any network traffic: key
//! presence and prefix (from the catalog), model, base URL, and the kind-specific fields.

use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::outcome::FailureCode;
use crate::providers::catalog::{BaseUrlSpec, ProviderKind};

/// One provider configuration to check. `Debug` never shows the key or header values
/// (they are `SecretString`s, which print as `[REDACTED]`).
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// The provider kind.
    pub kind: ProviderKind,
    /// The model to look for (Azure: informational; the deployment is what is called).
    pub model: String,
    /// Overrides the kind's default base URL; required for some kinds.
    pub base_url: Option<String>,
    /// The key, when there is one.
    pub api_key: Option<SecretString>,
    /// Azure deployment name.
    pub deployment: Option<String>,
    /// Azure `api-version`.
    pub api_version: Option<String>,
    /// Bedrock region.
    pub region: Option<String>,
    /// Extra headers (gateway), name and secret value.
    pub extra_headers: Vec<(String, SecretString)>,
}

impl CheckRequest {
    /// A request for `kind` and `model` with every optional field empty.
    pub fn new(kind: ProviderKind, model: impl Into<String>) -> Self {
        Self {
            kind,
            model: model.into(),
            base_url: None,
            api_key: None,
            deployment: None,
            api_version: None,
            region: None,
            extra_headers: Vec::new(),
        }
    }

    /// Checks everything that can be checked without the network and returns the base
    /// URL the check will use (trailing slash removed).
    pub fn validate(&self) -> Result<Url, ValidationError> {
        self.validate_key()?;
        validate_model(&self.model)?;
        for (name, value) in &self.extra_headers {
            header_pair(name, value)?;
        }
        match self.kind {
            ProviderKind::Azure => {
                let deployment = required(&self.deployment, "deployment")?;
                if !plain_name(deployment, 64) {
                    return Err(ValidationError::BadField {
                        field: "deployment",
                        why: "use letters, digits, '-', '_' or '.' (at most 64)",
                    });
                }
                let version = required(&self.api_version, "api_version")?;
                if !plain_name(version, 40) {
                    return Err(ValidationError::BadField {
                        field: "api_version",
                        why: "expected something like 2024-10-21 or 2025-01-01-preview",
                    });
                }
            }
            ProviderKind::Bedrock => {
                let region = required(&self.region, "region")?;
                let ok_chars = region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if !ok_chars || !region.contains('-') || region.len() > 32 {
                    return Err(ValidationError::BadField {
                        field: "region",
                        why: "expected an AWS region such as us-east-1",
                    });
                }
            }
            _ => {}
        }
        let base = match (
            self.base_url.as_deref().map(str::trim),
            self.kind.entry().base_url,
        ) {
            (Some(url), _) if !url.is_empty() => parse_base_url(url)?,
            (_, BaseUrlSpec::Default { url }) => parse_base_url(url)?,
            (_, BaseUrlSpec::FromRegion { template }) => {
                let region = self.region.as_deref().unwrap_or_default().trim();
                parse_base_url(&template.replace("{region}", region))?
            }
            (_, BaseUrlSpec::Required) => return Err(ValidationError::MissingBaseUrl),
        };
        Ok(base)
    }

    fn validate_key(&self) -> Result<(), ValidationError> {
        let spec = self.kind.entry().key;
        let key = self
            .api_key
            .as_ref()
            .map(|k| k.expose_secret())
            .filter(|k| !k.is_empty());
        let Some(key) = key else {
            return match spec.required {
                true => Err(ValidationError::MissingKey),
                false => Ok(()),
            };
        };
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ValidationError::BadKey);
        }
        match spec.prefix {
            Some(prefix) if !key.starts_with(prefix) => Err(ValidationError::KeyPrefix {
                label: self.kind.entry().label,
                expected: prefix,
            }),
            _ => Ok(()),
        }
    }

    /// The key, when present and non-empty.
    pub(crate) fn key(&self) -> Option<&str> {
        self.api_key
            .as_ref()
            .map(|k| k.expose_secret())
            .filter(|k| !k.is_empty())
    }
}

/// A request that can't be checked as entered. The web layer shows it as a 400 on the
/// field; [`Checker::check`](super::Checker::check) reports it under [`Self::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A key is required for this kind.
    #[error("an API key is required for this provider")]
    MissingKey,
    /// The key does not start with the kind's prefix.
    #[error("this does not look like a {label} key: {label} keys start with \"{expected}\"")]
    KeyPrefix {
        /// The kind's label.
        label: &'static str,
        /// The expected prefix.
        expected: &'static str,
    },
    /// The key contains whitespace or control characters.
    #[error("the API key contains spaces or control characters")]
    BadKey,
    /// The model field is empty.
    #[error("a model name is required")]
    MissingModel,
    /// The model name can't be a model name.
    #[error("the model name is not valid: {0}")]
    BadModel(&'static str),
    /// The kind needs a base URL and none was entered.
    #[error("a base URL is required for this provider")]
    MissingBaseUrl,
    /// The base URL is not usable.
    #[error("the base URL is not valid: {0}")]
    BadBaseUrl(&'static str),
    /// The base URL uses a scheme other than http/https.
    #[error("only http and https base URLs are allowed (got {0:?})")]
    BadScheme(String),
    /// A required kind-specific field is empty.
    #[error("{0} is required for this provider")]
    MissingField(&'static str),
    /// A kind-specific field is malformed.
    #[error("{field} is not valid: {why}")]
    BadField {
        /// The field name.
        field: &'static str,
        /// What is expected.
        why: &'static str,
    },
    /// An extra header is malformed or not allowed.
    #[error("extra header {name:?} is not allowed: {why}")]
    BadHeader {
        /// The header name as entered.
        name: String,
        /// Why.
        why: &'static str,
    },
}

impl ValidationError {
    /// The failure code a check reports for this error.
    pub fn code(&self) -> FailureCode {
        use ValidationError::*;
        match self {
            MissingKey | KeyPrefix { .. } | BadKey | BadHeader { .. } => FailureCode::AuthRejected,
            MissingModel | BadModel(_) => FailureCode::ModelNotFound,
            MissingField("api_version")
            | BadField {
                field: "api_version",
                ..
            } => FailureCode::BadApiVersion,
            MissingField("deployment")
            | BadField {
                field: "deployment",
                ..
            } => FailureCode::ModelNotFound,
            BadScheme(_) => FailureCode::BlockedAddress,
            MissingBaseUrl | BadBaseUrl(_) | MissingField(_) | BadField { .. } => {
                FailureCode::Unreachable
            }
        }
    }
}

fn required<'a>(
    value: &'a Option<String>,
    field: &'static str,
) -> Result<&'a str, ValidationError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(ValidationError::MissingField(field))
}

/// Letters, digits, `-`, `_` and `.`, at most `max` long, not only dots: safe as a
/// path segment or query value.
fn plain_name(value: &str, max: usize) -> bool {
    value.len() <= max
        && !value.chars().all(|c| c == '.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn validate_model(model: &str) -> Result<(), ValidationError> {
    if model.trim().is_empty() {
        return Err(ValidationError::MissingModel);
    }
    if model.len() > 256 {
        return Err(ValidationError::BadModel("longer than 256 characters"));
    }
    if model.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValidationError::BadModel(
            "contains spaces or control characters",
        ));
    }
    if model == "." || model == ".." {
        return Err(ValidationError::BadModel(
            "'.' and '..' are not model names",
        ));
    }
    Ok(())
}

fn parse_base_url(raw: &str) -> Result<Url, ValidationError> {
    if raw.len() > 2048 {
        return Err(ValidationError::BadBaseUrl("longer than 2048 characters"));
    }
    let mut url =
        Url::parse(raw).map_err(|_| ValidationError::BadBaseUrl("not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ValidationError::BadScheme(url.scheme().to_owned()));
    }
    if url.host().is_none() {
        return Err(ValidationError::BadBaseUrl("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::BadBaseUrl(
            "credentials in the URL are not allowed; use the key field",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ValidationError::BadBaseUrl(
            "a query string or fragment is not allowed",
        ));
    }
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
    }
    Ok(url)
}

/// Validates and converts one extra header; the value is marked sensitive.
pub(crate) fn header_pair(
    name: &str,
    value: &SecretString,
) -> Result<(HeaderName, HeaderValue), ValidationError> {
    let bad = |why| ValidationError::BadHeader {
        name: name.to_owned(),
        why,
    };
    let header =
        HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad("not a header name"))?;
    const RESERVED: [&str; 8] = [
        "host",
        "authorization",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "te",
        "upgrade",
    ];
    if RESERVED.contains(&header.as_str()) {
        return Err(bad("Switchboard sets this header itself"));
    }
    let mut value = HeaderValue::from_str(value.expose_secret())
        .map_err(|_| bad("the value has characters a header can't carry"))?;
    value.set_sensitive(true);
    Ok((header, value))
}
