//! The one application error. Each variant maps to a status; the `render_errors` middleware
//! (in `web::errors`) turns it into an HTML page, an htmx fragment or JSON for the request.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};

use crate::ops::OpError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input: 400 with a message for the user.
    #[error("{0}")]
    Validation(String),
    /// Not logged in: 303 to /login (401 for htmx and JSON).
    #[error("please log in")]
    Unauthenticated,
    /// A missing, malformed, expired or revoked API token: 401 with why (the API's
    /// `Unauthenticated`, which never redirects).
    #[error("{0}")]
    BadToken(String),
    /// The record changed since the `If-Match` version the client sent: 412.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A body in a media type the endpoint does not take: 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Logged in but not allowed: 403.
    #[error("{0}")]
    Forbidden(String),
    /// Lacking a scope: 403. JSON (REST, MCP) names the scope; the console's pages say who
    /// can do it instead ([`AppError::message_for_people`]).
    #[error("{}", crate::ops::error::scope_message(*.0))]
    MissingScope(crate::ops::Scope),
    /// No such thing, or not yours: 404.
    #[error("not found")]
    NotFound,
    /// Understood but refused on its merits (a failed live check): 422.
    #[error("{0}")]
    Unprocessable(String),
    /// Someone else changed it first, or it would break an invariant: 409.
    #[error("{0}")]
    Conflict(String),
    /// The request body is over its cap: 413.
    #[error("{0}")]
    TooLarge(String),
    /// Too many attempts: 429.
    #[error("{0}")]
    TooManyRequests(String),
    /// The database cannot be reached right now: 503 with `Retry-After`.
    #[error("database unavailable")]
    Unavailable,
    /// Anything else: an opaque 500 whose cause chain is logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// A short machine-readable code for JSON bodies and logs.
    pub fn code(&self) -> &'static str {
        if self.is_unavailable() {
            return "unavailable";
        }
        match self {
            Self::Validation(_) => "validation",
            Self::Unauthenticated | Self::BadToken(_) => "unauthenticated",
            Self::PreconditionFailed(_) => "precondition_failed",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Forbidden(_) | Self::MissingScope(_) => "forbidden",
            Self::NotFound => "not_found",
            Self::Unprocessable(_) => "unprocessable",
            Self::Conflict(_) => "conflict",
            Self::TooLarge(_) => "too_large",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The message safe to show a user.
    pub fn public_message(&self) -> String {
        if self.is_unavailable() {
            return UNAVAILABLE_MESSAGE.to_owned();
        }
        match self {
            Self::Internal(_) => "Something went wrong on our side. It has been logged.".to_owned(),
            other => other.to_string(),
        }
    }
}

impl AppError {
    /// The message for the console's pages: as [`AppError::public_message`], except that a
    /// missing scope says who can do it rather than naming the scope.
    pub fn message_for_people(&self) -> String {
        match self {
            Self::MissingScope(scope) => {
                crate::ops::error::scope_message_for_people(*scope).to_owned()
            }
            other => other.public_message(),
        }
    }
}

/// What a user sees during a database outage.
pub const UNAVAILABLE_MESSAGE: &str = "The database is unavailable right now, so this could not be done. Nothing was lost; \
     try again in a few seconds.";

impl AppError {
    /// Whether this is a database outage: [`AppError::Unavailable`], or an internal error
    /// whose cause chain is a lost or refused database connection.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable => true,
            Self::Internal(cause) => crate::db::outage::is_outage_anyhow(cause),
            _ => false,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        if self.is_unavailable() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        match self {
            Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::BadToken(_) => StatusCode::UNAUTHORIZED,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Forbidden(_) | Self::MissingScope(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) if self.is_unavailable() => {
                tracing::warn!(error = %cause, "database unavailable");
            }
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            _ => {}
        }
        // The body is filled in by the render_errors middleware, which knows the request.
        HttpResponse::build(self.status_code()).finish()
    }
}

impl From<diesel::result::Error> for AppError {
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

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
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

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// An operation's error, as the web answers it.
impl From<OpError> for AppError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Invalid { message, .. } => AppError::Validation(message),
            OpError::Unprocessable { message, .. } => AppError::Unprocessable(message),
            e @ OpError::CheckFailed(_) => AppError::Unprocessable(e.to_string()),
            OpError::Unauthenticated(m) => AppError::BadToken(m),
            OpError::Forbidden(m) => AppError::Forbidden(m),
            OpError::MissingScope(scope) => AppError::MissingScope(scope),
            OpError::NotFound => AppError::NotFound,
            OpError::Conflict(m) => AppError::Conflict(m),
            OpError::Taken { message, .. } => AppError::Conflict(message),
            OpError::RouteRefused { message, .. } => AppError::Conflict(message),
            OpError::TooManyRequests(m) => AppError::TooManyRequests(m),
            OpError::Unavailable => AppError::Unavailable,
            OpError::Internal(e) => AppError::Internal(e),
        }
    }
}

/// Result type of handlers.
pub type AppResult<T> = Result<T, AppError>;
