//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations. Each endpoint module lists its paths in its own `Doc`; [`document`] merges
//! them. Scopes are the security requirements of each operation.

use actix_web::HttpResponse;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

/// `{"error": {"code", "message"}}`: every error of the API.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `validation`, `unauthenticated`, `forbidden`, `not_found`,
    /// `conflict`, `precondition_failed`, `too_large`, `unsupported_media_type`,
    /// `unprocessable`, `too_many_requests`, `unavailable`, `internal`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("swb_…")
                    .description(Some(
                        "An API token made on the org's Tokens page or with `switchboard token create`. \
                         Its scopes are cut at use time to what its creator may do now.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "switchboard_session",
                "The console's session cookie (`__Host-switchboard` over https); unsafe methods also need the `X-CSRF-Token` header.",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Choose and configure the LLM provider behind an organisation's AI features. \
                       Every operation is the console's, with the same rules and audit trail.",
        version = "1",
    ),
    paths(serve, super::catalog::get_catalog),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Security),
    tags(
        (name = "catalog", description = "Provider kinds"),
        (name = "meta", description = "This document"),
    ),
)]
struct ApiDoc;

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    use super::{ai_route, audit, providers, settings, skills};
    let mut doc = ApiDoc::openapi();
    for part in [
        providers::Doc::openapi(),
        settings::Doc::openapi(),
        skills::Doc::openapi(),
        audit::Doc::openapi(),
        ai_route::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

/// This document (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")),
    security(()),
)]
pub async fn serve() -> HttpResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        document()
            .to_json()
            .expect("the OpenAPI document serialises")
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.clone())
}
