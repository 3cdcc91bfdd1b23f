//! `/api/v1/orgs/{org}/providers…`: the org's provider records (DESIGN.md "REST API" and
//! rules 1–5, 8), each endpoint a translation of one operation of `ops::providers`.
//!
//! - The key is write-only: it comes in as `apiKey` (or `secretId` links an existing secret
//!   of the org) and never goes out; admins see `keyPreview`, everyone else `keySet` only.
//! - Records carry `ETag: "v{lockVersion}"`; `PATCH` and `DELETE` honour `If-Match` (412 on
//!   a mismatch). A change by someone else between that comparison and the write is still
//!   caught by the operation's own version check (409).
//! - `PATCH` is partial: the current record is read, the given fields laid over it, and the
//!   whole is saved through `update_provider` (the same rules as the console's edit form).

mod body;
mod models;

use crate::api::errors::{Guarded, JsonBody, PreconditionFailed};
use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, ETag},
    web,
};
use secrecy::SecretString;

pub use body::{
    ConfigInput, ConfigJson, Deactivated, LastCheckJson, NewProvider, ProviderJson,
    ProviderListJson, ProviderPatch, Tested, present,
};
pub use models::{ModelJson, ModelListJson, listing_error};

use super::{
    auth::ApiCaller,
    errors::ErrorBody,
    json::{etag, if_match, precondition},
};
use crate::{
    error::AppError,
    ops::{
        Caller,
        providers::{self as ops, KeyInput, ProviderView},
    },
    state::AppState,
};

/// This module's routes, relative to `/api/v1`. `deactivate` comes before `{id}` so it is
/// never taken for a provider id.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/providers", web::get().to(list_providers))
        .route("/orgs/{org}/providers", web::post().to(create_provider))
        .route(
            "/orgs/{org}/providers/deactivate",
            web::post().to(deactivate_provider),
        )
        .route("/orgs/{org}/providers/{id}", web::get().to(get_provider))
        .route(
            "/orgs/{org}/providers/{id}",
            web::patch().to(update_provider),
        )
        .route(
            "/orgs/{org}/providers/{id}",
            web::delete().to(delete_provider),
        )
        .route(
            "/orgs/{org}/providers/{id}/test",
            web::post().to(test_provider),
        )
        .route(
            "/orgs/{org}/providers/{id}/activate",
            web::post().to(activate_provider),
        )
        .route(
            "/orgs/{org}/providers/{id}/models",
            web::get().to(models::list_provider_models),
        );
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_providers,
        create_provider,
        get_provider,
        update_provider,
        delete_provider,
        test_provider,
        activate_provider,
        deactivate_provider,
        models::list_provider_models
    ),
    components(schemas(
        ProviderJson,
        ProviderListJson,
        ConfigJson,
        LastCheckJson,
        NewProvider,
        ProviderPatch,
        ConfigInput,
        Tested,
        Deactivated,
        ModelListJson,
        ModelJson,
        crate::providers::ProviderKind
    )),
    tags((name = "providers", description = "The org's LLM provider records")),
)]
pub struct Doc;

/// The org's slug (every caller of these endpoints has the org of the path).
fn org_slug(caller: &Caller) -> Result<&str, AppError> {
    Ok(caller.org()?.slug.as_str())
}

/// `200` with a provider and its `ETag`.
fn record(caller: &Caller, view: &ProviderView) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .insert_header(ETag(etag(view.lock_version)))
        .json(ProviderJson::of(org_slug(caller)?, view)))
}

/// Where a key comes from: `apiKey` (typed), `secretId` (an existing secret), or neither.
fn key_input(api_key: Option<String>, secret_id: Option<String>) -> Result<KeyInput, AppError> {
    match (api_key, secret_id) {
        (Some(_), Some(_)) => Err(AppError::Validation(
            "Send either apiKey or secretId, not both.".to_owned(),
        )),
        (Some(key), None) => Ok(KeyInput::New(SecretString::from(key))),
        (None, Some(id)) => Ok(KeyInput::LinkSecret(id)),
        (None, None) => Ok(KeyInput::Keep),
    }
}

/// The org's providers, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}/providers",
    tag = "providers",
    params(("org" = String, Path, description = "The org's slug")),
    responses(
        (status = 200, description = "The org's providers", body = ProviderListJson),
        Guarded,
    ),
    security(("bearer" = ["aiProviders:list"]), ("session" = [])),
)]
pub async fn list_providers(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let list = ops::list_providers_for_api(&state, &caller).await?;
    let org = org_slug(&caller)?;
    Ok(HttpResponse::Ok().json(ProviderListJson {
        providers: list
            .providers
            .iter()
            .map(|p| ProviderJson::of(org, p))
            .collect(),
    }))
}

/// Adds a provider. The key's prefix is checked, then a live check runs; on failure
/// nothing is saved (422) unless `saveUnverified` is set.
#[utoipa::path(
    post,
    path = "/api/v1/orgs/{org}/providers",
    tag = "providers",
    params(("org" = String, Path, description = "The org's slug")),
    request_body = NewProvider,
    responses(
        (status = 201, description = "Saved", body = ProviderJson, headers(
            ("ETag" = String, description = "The record's version"),
            ("Location" = String, description = "The new record's URL"),
        )),
        Guarded,
        JsonBody,
        (status = 409, description = "Another provider of the org already has this name; nothing was saved", body = ErrorBody),
        (status = 422, description = "The kind needs a key and none was given, the key does not have the kind's prefix (see `GET /api/v1/catalog`), the live check failed, or the linked key may not go to this host; nothing was saved", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:create"]), ("session" = [])),
)]
pub async fn create_provider(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    body: web::Json<NewProvider>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner().into_input()?;
    let view = ops::create_provider(&state, &caller, input).await?;
    let org = org_slug(&caller)?;
    Ok(HttpResponse::Created()
        .insert_header(ETag(etag(view.lock_version)))
        .insert_header((
            header::LOCATION,
            format!("/api/v1/orgs/{org}/providers/{}", view.id),
        ))
        .json(ProviderJson::of(org, &view)))
}

/// One provider.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}/providers/{id}",
    tag = "providers",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("id" = String, Path, description = "The provider's id (`aip_…`)"),
    ),
    responses(
        (status = 200, description = "The provider", body = ProviderJson, headers(
            ("ETag" = String, description = "The record's version"),
        )),
        Guarded,
    ),
    security(("bearer" = ["aiProviders:get"]), ("session" = [])),
)]
pub async fn get_provider(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let view = ops::get_provider(&state, &caller, &id).await?;
    record(&caller, &view)
}

/// Changes some of a provider's fields; the others stay. The stored key stays unless
/// `apiKey`, `secretId` or `removeKey` says otherwise, and a new `provider` kind or
/// `baseUrl` needs the key again (422 without it), so a saved key never goes to another
/// host. Any change but `removeKey` runs the live check again (422 on failure, nothing
/// saved) unless `saveUnverified` is set. Needs both `aiProviders:get` (the current record
/// is read to merge into) and `aiProviders:update`.
#[utoipa::path(
    patch,
    path = "/api/v1/orgs/{org}/providers/{id}",
    tag = "providers",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("id" = String, Path, description = "The provider's id (`aip_…`)"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 if the record moved on"),
    ),
    request_body = ProviderPatch,
    responses(
        (status = 200, description = "Saved", body = ProviderJson, headers(
            ("ETag" = String, description = "The record's new version"),
        )),
        Guarded,
        JsonBody,
        (status = 412, response = PreconditionFailed),
        (status = 409, description = "Someone else changed it between this request's read and its write, or another provider of the org already has the new name; nothing was saved", body = ErrorBody),
        (status = 422, description = "The kind needs a key and the record would have none, the key does not have the kind's prefix (see `GET /api/v1/catalog`), the live check failed, or the key must be entered again; nothing was saved", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:get", "aiProviders:update"]), ("session" = [])),
)]
pub async fn update_provider(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<ProviderPatch>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let patch = body.into_inner().into_patch()?;
    let expected = if_match(&req)?;
    let view = ops::patch_provider(&state, &caller, &id, patch, |current| {
        precondition(expected, current.lock_version)
    })
    .await?;
    record(&caller, &view)
}

/// Deletes a provider; refused (409) while it is the active one. Its secret goes when no
/// other provider uses it.
#[utoipa::path(
    delete,
    path = "/api/v1/orgs/{org}/providers/{id}",
    tag = "providers",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("id" = String, Path, description = "The provider's id (`aip_…`)"),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on (checked with aiProviders:get); 412 if the record moved on"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        Guarded,
        (status = 412, response = PreconditionFailed),
        (status = 409, description = "It is the active provider", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:delete"]), ("session" = [])),
)]
pub async fn delete_provider(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    if let Some(expected) = if_match(&req)? {
        let current = ops::get_provider(&state, &caller, &id).await?;
        precondition(Some(expected), current.lock_version)?;
    }
    ops::delete_provider(&state, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Runs a live check of the saved provider with its stored key and records the result. A
/// failed check is an answer here (200 with `ok: false`), not an error.
#[utoipa::path(
    post,
    path = "/api/v1/orgs/{org}/providers/{id}/test",
    tag = "providers",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("id" = String, Path, description = "The provider's id (`aip_…`)"),
    ),
    responses(
        (status = 200, description = "The check's outcome and the provider with it recorded", body = Tested, headers(
            ("ETag" = String, description = "The record's version"),
        )),
        Guarded,
        (status = 422, description = "The stored key can't be opened; enter it again", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:test"]), ("session" = [])),
)]
pub async fn test_provider(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let (view, outcome) = ops::test_provider(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(ETag(etag(view.lock_version)))
        .json(Tested::of(
            &outcome,
            ProviderJson::of(org_slug(&caller)?, &view),
        )))
}

/// Makes the provider the org's active one, behind a passing live check (422 and nothing
/// changed otherwise). Exactly one provider is active afterwards.
#[utoipa::path(
    post,
    path = "/api/v1/orgs/{org}/providers/{id}/activate",
    tag = "providers",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("id" = String, Path, description = "The provider's id (`aip_…`)"),
    ),
    responses(
        (status = 200, description = "Active", body = ProviderJson, headers(
            ("ETag" = String, description = "The record's version"),
        )),
        Guarded,
        (status = 422, description = "No key, or the live check failed; nothing changed", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:activate"]), ("session" = [])),
)]
pub async fn activate_provider(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let view = ops::activate_provider(&state, &caller, &id).await?;
    record(&caller, &view)
}

/// Back to the platform default; the provider records are kept.
#[utoipa::path(
    post,
    path = "/api/v1/orgs/{org}/providers/deactivate",
    tag = "providers",
    params(("org" = String, Path, description = "The org's slug")),
    responses(
        (status = 200, description = "The platform default serves the org", body = Deactivated),
        Guarded,
    ),
    security(("bearer" = ["aiProviders:activate"]), ("session" = [])),
)]
pub async fn deactivate_provider(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let changed = ops::deactivate(&state, &caller).await?;
    Ok(HttpResponse::Ok().json(Deactivated { changed }))
}
