//! `/api/v1` and `/mcp`: the machine-facing stack. It never meets the console's session
//! cookie or its form CSRF check; callers authenticate with a bearer token (the REST API
//! issue adds tokens and endpoints as thin translations of `ops`). Until then every path
//! answers a JSON error, so the stack and its error format are in place and tested.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::AppError;

/// Whether `path` belongs to the machine-facing stack (errors answer JSON there).
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/mcp" || path.starts_with("/mcp/")
}

/// The API's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/v1").default_service(web::to(no_endpoint)))
        .service(web::scope("/mcp").default_service(web::to(no_endpoint)));
}

/// No endpoint here yet: 401 without a bearer token (a token is always asked first), 404
/// with one.
async fn no_endpoint(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let bearer = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    if bearer {
        Err(AppError::NotFound)
    } else {
        Err(AppError::Unauthenticated)
    }
}
