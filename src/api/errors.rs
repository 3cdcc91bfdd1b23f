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

// The shared error answers of the document: each status once, under
// `#/components/responses`, and every operation refers to them (`responses(Guarded, …)` or
// `(status = 412, response = PreconditionFailed)`) instead of repeating them. An operation
// whose `409` or `422` means something of its own says so in its own line. `429`, `500` and
// `503` (with `Retry-After` where it applies) are added to every operation by
// `openapi::finish`. Endpoints added later adopt the same types.

/// `400`.
#[derive(utoipa::ToResponse)]
#[response(
    description = "The request breaks the document: a malformed or unknown field, a parameter out of range, a control character; nothing was changed"
)]
pub struct BadRequest(pub ErrorBody);

/// `401`.
#[derive(utoipa::ToResponse)]
#[response(description = "No valid token (missing, malformed, expired or revoked) or session")]
pub struct Unauthenticated(pub ErrorBody);

/// `403`.
#[derive(utoipa::ToResponse)]
#[response(
    description = "The token lacks the operation's scope (scopes are cut to what its creator may do now), or a session request lacks the CSRF header"
)]
pub struct Forbidden(pub ErrorBody);

/// `404`.
#[derive(utoipa::ToResponse)]
#[response(description = "No such org for this caller, or no such record in it")]
pub struct NotFound(pub ErrorBody);

/// `405`, on any path of the document asked with a method it lacks.
#[derive(utoipa::ToResponse)]
#[response(
    description = "The path exists but not with this method; `Allow` lists its methods (RFC 9110)",
    headers(("Allow" = String, description = "The path's methods, e.g. `GET, PATCH, DELETE`"))
)]
pub struct MethodNotAllowed(pub ErrorBody);

/// `409`.
#[derive(utoipa::ToResponse)]
#[response(
    description = "Someone else changed it between this request's read and its write; nothing was saved"
)]
pub struct Conflict(pub ErrorBody);

/// `412`.
#[derive(utoipa::ToResponse)]
#[response(
    description = "`If-Match` names another version (or none of this record's); nothing was changed"
)]
pub struct PreconditionFailed(pub ErrorBody);

/// `413`.
#[derive(utoipa::ToResponse)]
#[response(description = "The body is over 64 KiB")]
pub struct TooLarge(pub ErrorBody);

/// `415`.
#[derive(utoipa::ToResponse)]
#[response(description = "The body is not `application/json`")]
pub struct UnsupportedMediaType(pub ErrorBody);

/// Every operation under `/api/v1/orgs/{org}`: who may ask, and whether the thing exists.
#[derive(utoipa::IntoResponses)]
pub enum Guarded {
    #[response(status = 401)]
    Unauthenticated(#[ref_response] Unauthenticated),
    #[response(status = 403)]
    Forbidden(#[ref_response] Forbidden),
    #[response(status = 404)]
    NotFound(#[ref_response] NotFound),
}

/// Every operation with a JSON body: the body's form.
#[derive(utoipa::IntoResponses)]
pub enum JsonBody {
    #[response(status = 400)]
    BadRequest(#[ref_response] BadRequest),
    #[response(status = 413)]
    TooLarge(#[ref_response] TooLarge),
    #[response(status = 415)]
    UnsupportedMediaType(#[ref_response] UnsupportedMediaType),
}
