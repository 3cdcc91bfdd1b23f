//! `/api/v1` and `/mcp`: the machine-facing stack (DESIGN.md "REST API").
//!
//! - Callers authenticate with a bearer token (`Authorization: Bearer swb_…`) or, so the
//!   console's own scripts may call the API, with the console session plus the CSRF header.
//!   A request with an `Authorization` header is judged by it alone: it never meets the
//!   session or the CSRF check; one without never authenticates by header.
//! - Every handler is a thin translation of an operation in `crate::ops`: it builds the
//!   typed input, calls the operation with the [`auth::ApiCaller`]'s caller and maps the
//!   result to camelCase JSON. Errors are `{"error": {"code", "message"}}` (rendered by
//!   `web::errors` for every API path).
//! - Every endpoint is annotated for the OpenAPI 3.1 document served at
//!   `/api/v1/openapi.json` ([`openapi`]); a test walks the route table against it.

pub mod ai_route;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod compat;
pub mod errors;
pub mod feature_routes;
pub mod json;
pub mod openapi;
pub mod outcomes;
pub mod providers;
pub mod rate;
pub mod relay_doc;
pub mod settings;
pub mod skills;

use actix_session::{SessionMiddleware, storage::SessionStore};
use actix_web::{
    HttpRequest, HttpResponse, dev::HttpServiceFactory, http::StatusCode, middleware::from_fn, web,
};

use crate::error::AppError;

/// Whether `path` belongs to the machine-facing stack (errors answer JSON there).
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/")
        || path == "/mcp"
        || path.starts_with("/mcp/")
        || path.starts_with("/relay/")
}

/// The `/api/v1` scope: session (for console callers) around the CSRF check for
/// session-authenticated unsafe requests, around the endpoints. `compat_apis`
/// (`SWITCHBOARD_COMPAT_APIS=on`) adds the seed-compatible surfaces ([`compat`]).
pub fn v1<S: SessionStore + 'static>(
    sessions: SessionMiddleware<S>,
    compat_apis: bool,
) -> impl HttpServiceFactory {
    web::scope("/api/v1")
        .app_data(json::json_config())
        .configure(routes)
        .configure(|cfg| {
            if compat_apis {
                compat::routes(cfg);
            }
        })
        .default_service(web::to(no_endpoint))
        .wrap(from_fn(auth::session_csrf))
        .wrap(sessions)
        .wrap(from_fn(rate::limit))
}

/// The route table of `/api/v1` (paths relative to it). Each route's handler carries the
/// `#[utoipa::path]` that documents it; `tests/it/api` checks the two agree.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi::serve))
        .route("/catalog", web::get().to(catalog::get_catalog))
        .configure(providers::routes)
        .configure(settings::routes)
        .configure(feature_routes::routes)
        .configure(skills::routes)
        .configure(audit::routes)
        .configure(ai_route::routes)
        .configure(outcomes::routes);
}

/// No such endpoint: 401 without credentials (a token is always asked first), else 404
/// with the code `no_endpoint` (a record that does not exist is `not_found`), or 405 when
/// the path exists with other methods.
pub async fn no_endpoint(req: HttpRequest) -> Result<HttpResponse, AppError> {
    if !auth::presents_credentials(&req) {
        return Err(AppError::Unauthenticated);
    }
    let allow = req.match_pattern().and_then(|p| openapi::allowed(&p));
    let (status, code) = match &allow {
        Some(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        None => (StatusCode::NOT_FOUND, "no_endpoint"),
    };
    let mut res = HttpResponse::build(status);
    if let Some(allow) = allow {
        res.insert_header((actix_web::http::header::ALLOW, allow));
    }
    Ok(res.json(serde_json::json!({"error": {
        "code": code,
        "message": format!(
            "There is no {} {}; see /api/v1/openapi.json for the endpoints.",
            req.method(),
            req.path()
        ),
    }})))
}
