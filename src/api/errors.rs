//! The one error body of the API, `{"error": {"code", "message"}}`, as a schema the endpoints'
//! annotations and the OpenAPI document share (rendered by `web::errors`).

/// `{"error": {"code", "message"}}`: every error of the API.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `validation`, `unauthenticated`, `forbidden`, `not_found`,
    /// `no_endpoint`, `method_not_allowed`, `conflict`, `precondition_failed`, `too_large`,
    /// `unsupported_media_type`, `unprocessable`, `too_many_requests`, `unavailable`,
    /// `internal`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
}
