//! What an operation can fail with. Transports map it: the console to a page, fragment or
//! flash, the API to `{"error": …}`, the CLI to one line on stderr.

/// A failed operation.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Bad input (400), with the form field it concerns when there is one.
    #[error("{message}")]
    Invalid {
        field: Option<&'static str>,
        message: String,
    },
    /// Understood but refused on its merits (422): a failed live check, a key that must be
    /// entered again.
    #[error("{message}")]
    Unprocessable {
        field: Option<&'static str>,
        message: String,
    },
    /// A live provider check failed (422): nothing was saved or changed.
    #[error("{}", check_message(.0))]
    CheckFailed(crate::providers::check::CheckOutcome),
    /// No valid credentials: a missing, malformed, expired or revoked API token (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Refused for another reason than a missing scope (403), in words for whoever asked.
    #[error("{0}")]
    Forbidden(String),
    /// The caller lacks the scope (403). The scope is kept as data: each transport words it
    /// (REST and MCP name it; the console says who can do it) — see [`scope_message`].
    #[error("{}", scope_message(*.0))]
    MissingScope(crate::ops::Scope),
    /// No such thing, or not in the caller's org (404).
    #[error("not found")]
    NotFound,
    /// Someone changed it first, or it would break an invariant (409).
    #[error("{0}")]
    Conflict(String),
    /// The value of `field` is already taken by another record of the org (409: the
    /// request is well-formed, the org's state refuses it), e.g. a skill's or a provider's
    /// name. Unlike [`Self::Conflict`] nothing changed under the caller: sending the same
    /// request again fails the same way, and the console shows it beside the field.
    #[error("{message}")]
    Taken {
        field: &'static str,
        message: String,
    },
    /// A feature nobody may serve for this org now (409; it fails closed, never onto the
    /// platform's key), with the routing reason: whether to give up or ask again
    /// ([`crate::routing::ReasonCode::ask_again`]). Transports without a field for the code
    /// answer it as a conflict with the message, which names the code too.
    #[error("{message}")]
    RouteRefused {
        code: crate::routing::ReasonCode,
        message: String,
    },
    /// Too many attempts (429).
    #[error("{0}")]
    TooManyRequests(String),
    /// The database cannot be reached right now (503, try again).
    #[error("the database is unavailable; try again in a few seconds")]
    Unavailable,
    /// Anything else: logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

fn check_message(outcome: &crate::providers::check::CheckOutcome) -> String {
    match outcome.code {
        Some(code) => format!(
            "The live check failed ({}): {}",
            code.as_str(),
            outcome.message
        ),
        None => format!("The live check failed: {}", outcome.message),
    }
}

/// The technical text of a missing scope, as REST, MCP and the logs give it: it names the
/// scope, so an API client whose token lacks it knows what to ask for.
pub fn scope_message(scope: crate::ops::Scope) -> String {
    if scope.is_read() {
        format!("You may not see this (it needs {scope}).")
    } else {
        format!("Only the org's admins can do this (it needs {scope}).")
    }
}

/// The same refusal in the console: who can do it, never the scope's identifier.
pub fn scope_message_for_people(scope: crate::ops::Scope) -> &'static str {
    if scope.is_read() {
        "Only the org's admins can see this. Ask one of them if you need it."
    } else {
        "Only the org's admins can do this. Ask one of them to do it, or to make you an admin."
    }
}

/// The result of an operation.
pub type OpResult<T> = Result<T, OpError>;

impl OpError {
    /// A 400 about `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: Some(field),
            message: message.into(),
        }
    }

    /// A 400 about the request as a whole.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::Invalid {
            field: None,
            message: message.into(),
        }
    }

    /// Whether the caller was refused (403), for a missing scope or another reason.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::Forbidden(_) | Self::MissingScope(_))
    }

    /// The form field this error concerns, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } | Self::Unprocessable { field, .. } => *field,
            Self::Taken { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for OpError {
    fn from(e: diesel::result::Error) -> Self {
        match crate::db::outage::is_outage_diesel(&e) {
            true => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable
            }
            false => Self::Internal(e.into()),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for OpError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        match crate::db::outage::is_outage_pool(&e) {
            true => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable
            }
            false => Self::Internal(anyhow::anyhow!("database pool: {e}")),
        }
    }
}
