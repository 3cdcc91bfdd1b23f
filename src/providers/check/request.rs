//! What to check, and the validation that runs before any network traffic: key
//! presence and prefix, model, base URL, and the kind-specific fields — each judged by
//! what the catalog says of it (see [`super::fields`]).

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::fields::{check_field, filled};
use super::headers::header_pair;
pub use super::invalid::ValidationError;
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
