//! What to check, and the validation that runs before any network traffic: key
//! presence and prefix, model, base URL, and the kind-specific fields — each judged by
//! what the catalog says of it (see [`super::fields`]).

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::fields::{check_field, filled};
use super::headers::header_pair;
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
        for field in self.kind.entry().extra_fields {
            check_field(field, self.field_value(field.name))?;
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

    /// The request's value of the catalog field `name` (`deployment`, `api_version`,
    /// `region`), as entered. `None` for fields a check does not carry as text:
    /// `supports_tools`, and `extra_headers` (name/value pairs in [`Self::extra_headers`]).
    pub fn field_value(&self, name: &str) -> Option<&str> {
        match name {
            "deployment" => self.deployment.as_deref(),
            "api_version" => self.api_version.as_deref(),
            "region" => self.region.as_deref(),
            _ => None,
        }
    }

    /// The trimmed value of the catalog field `name`, or `MissingField` when it is empty.
    pub(crate) fn required_field(&self, name: &'static str) -> Result<&str, ValidationError> {
        filled(self.field_value(name)).ok_or(ValidationError::MissingField(name))
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
    /// A field name the provider kind does not have.
    #[error("{0:?} is not a field of this provider")]
    UnknownField(String),
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
            MissingBaseUrl
            | BadBaseUrl(_)
            | MissingField(_)
            | BadField { .. }
            | UnknownField(_) => FailureCode::Unreachable,
        }
    }
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
