//! Why a check request can't be checked as entered (shared by the request, its extra fields
//! and its headers).

use super::outcome::FailureCode;

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
